"""Every metric against cases computed by hand (the arithmetic is in the comments)."""
import math

import numpy as np
import pytest
import scipy.sparse as sp

from ml.evaluation import metrics as M
from ml.evaluation.metrics import diversity


def rel_matrix(rows: list[dict[int, float] | set[int]], n_items: int) -> sp.csr_matrix:
    data, ri, ci = [], [], []
    for u, row in enumerate(rows):
        items = row.items() if isinstance(row, dict) else ((i, 1.0) for i in row)
        for i, g in items:
            ri.append(u)
            ci.append(i)
            data.append(g)
    return sp.csr_matrix((data, (ri, ci)), shape=(len(rows), n_items))


# Four users, k = 3, six items.
#   u0: rec [0, 1, 2]   rel {1, 4}  hits [0, 1, 0]
#   u1: rec [3, -1, -1] rel {3}     hits [1, 0, 0]  (padding)
#   u2: rec [5, 4, 0]   rel {}      -> excluded from every average
#   u3: rec [2, 0, 1]   rel {5}     hits [0, 0, 0]
REC = np.array([[0, 1, 2], [3, -1, -1], [5, 4, 0], [2, 0, 1]])
REL = rel_matrix([{1, 4}, {3}, set(), {5}], 6)
L3 = math.log2(3)


def test_precision_by_hand():
    # u0 1/3, u1 1/3 (padding is a miss), u3 0 -> (1/3 + 1/3 + 0) / 3 = 2/9
    assert M.precision_at_k(REC, REL, 3) == pytest.approx(2 / 9)
    per_user = M.precision_at_k(REC, REL, 3, per_user=True)
    assert np.isnan(per_user[2])
    assert per_user[[0, 1, 3]] == pytest.approx([1 / 3, 1 / 3, 0])


def test_recall_by_hand():
    # u0 1/2, u1 1/1, u3 0/1 -> 1.5 / 3 = 0.5
    assert M.recall_at_k(REC, REL, 3) == pytest.approx(0.5)


def test_recall_denominator_is_number_of_relevant_not_k():
    # rec [0, 1], rel {0, 1, 2, 3}, k = 2: recall = 2 / 4 (not 2 / min(4, 2) = 1)
    rec, rel = np.array([[0, 1]]), rel_matrix([{0, 1, 2, 3}], 5)
    assert M.recall_at_k(rec, rel, 2) == pytest.approx(0.5)
    # ...while MAP and NDCG normalise by min(|rel|, k) and reach 1: AP = (1/1 + 2/2) / 2
    assert M.map_at_k(rec, rel, 2) == pytest.approx(1.0)
    assert M.ndcg_at_k(rec, rel, 2) == pytest.approx(1.0)
    assert M.precision_at_k(rec, rel, 2) == pytest.approx(1.0)


def test_map_by_hand():
    # u0: hit at rank 2 -> P@2 = 1/2; AP = (1/2) / min(2, 3) = 0.25
    # u1: hit at rank 1 -> AP = 1 / 1 = 1; u3: 0  -> MAP = 1.25 / 3
    assert M.map_at_k(REC, REL, 3) == pytest.approx(1.25 / 3)


def test_average_precision_several_hits():
    # rec [0..4], rel {0, 2, 4}: hits at 1, 3, 5 -> (1/1 + 2/3 + 3/5) / min(3, 5) = 34/45
    rec, rel = np.array([[0, 1, 2, 3, 4]]), rel_matrix([{0, 2, 4}], 6)
    assert M.map_at_k(rec, rel, 5) == pytest.approx(34 / 45)


def test_ndcg_by_hand():
    # u0: DCG = 1/log2(3); IDCG = 1 + 1/log2(3) (two relevant, k = 3)
    u0 = (1 / L3) / (1 + 1 / L3)  # 0.386853
    # u1: DCG = IDCG = 1 -> 1;  u3: 0
    assert u0 == pytest.approx(0.386853, abs=1e-6)
    assert M.ndcg_at_k(REC, REL, 3) == pytest.approx((u0 + 1 + 0) / 3)


def test_ndcg_graded_by_hand():
    # rec [0, 1, 2]; grades {0: 1, 2: 3, 5: 2}
    # graded DCG = 1/log2(2) + 3/log2(4) = 2.5 ; IDCG = 3/1 + 2/log2(3) + 1/2 = 4.761860
    rec, rel = np.array([[0, 1, 2]]), rel_matrix([{0: 1.0, 2: 3.0, 5: 2.0}], 6)
    assert M.ndcg_at_k(rec, rel, 3, graded=True) == pytest.approx(2.5 / (3 + 2 / L3 + 0.5))
    # binary: DCG = 1 + 1/2 ; IDCG = 1 + 1/log2(3) + 1/2
    assert M.ndcg_at_k(rec, rel, 3) == pytest.approx(1.5 / (1.5 + 1 / L3))


def test_mrr_and_hit_rate_by_hand():
    # first hit: u0 rank 2, u1 rank 1, u3 none -> (1/2 + 1 + 0) / 3 = 0.5 ; hit rate 2/3
    assert M.mrr_at_k(REC, REL, 3) == pytest.approx(0.5)
    assert M.hit_rate_at_k(REC, REL, 3) == pytest.approx(2 / 3)


def test_ranking_metrics_matches_single_functions():
    out = M.ranking_metrics(REC, REL, 3)
    assert out["n_users"] == 3
    assert out["precision@3"] == pytest.approx(M.precision_at_k(REC, REL, 3))
    assert out["recall@3"] == pytest.approx(0.5)
    assert out["map@3"] == pytest.approx(1.25 / 3)
    assert out["ndcg@3"] == pytest.approx(M.ndcg_at_k(REC, REL, 3))
    assert out["mrr@3"] == pytest.approx(0.5)
    assert out["hit_rate@3"] == pytest.approx(2 / 3)


def test_k_truncates_and_pads():
    # k = 1 keeps only the first column: hits u0 0, u1 1, u3 0 -> precision 1/3, recall (0 + 1 + 0)/3
    assert M.precision_at_k(REC, REL, 1) == pytest.approx(1 / 3)
    assert M.recall_at_k(REC, REL, 1) == pytest.approx(1 / 3)
    # k = 5 on width-3 lists: the two extra slots are padding -> u0 1/5, u1 1/5, u3 0
    assert M.precision_at_k(REC, REL, 5) == pytest.approx(2 / 15)


def test_duplicates_count_once():
    # rec [1, 1, 2] is read as [1, -1, 2]: hits at 1 and 3 -> precision 2/3, AP = (1 + 2/3) / 2
    rec, rel = np.array([[1, 1, 2]]), rel_matrix([{1, 2}], 4)
    assert M.precision_at_k(rec, rel, 3) == pytest.approx(2 / 3)
    assert M.map_at_k(rec, rel, 3) == pytest.approx((1 + 2 / 3) / 2)


def test_all_padding_and_no_relevant_users():
    rec = np.full((2, 3), -1)
    rel = rel_matrix([{0}, set()], 3)
    assert M.ranking_metrics(rec, rel, 3)["ndcg@3"] == 0.0
    empty = M.ranking_metrics(rec, rel_matrix([set(), set()], 3), 3)
    assert empty["n_users"] == 0 and math.isnan(empty["recall@3"])


def test_negative_or_zero_entries_are_not_relevant():
    rel = sp.csr_matrix(np.array([[0.0, -1.0, 2.0]]))
    assert M.recall_at_k(np.array([[1, 2]]), rel, 2) == pytest.approx(1.0)  # only item 2 counts


def test_bad_inputs():
    with pytest.raises(ValueError):
        M.precision_at_k(np.array([0, 1]), REL, 2)  # 1-D
    with pytest.raises(TypeError):
        M.precision_at_k(np.array([[0.0, 1.0]]), rel_matrix([{0}], 2), 2)
    with pytest.raises(ValueError):
        M.precision_at_k(REC, REL[:2], 3)  # row mismatch


def test_rmse_mae_by_hand():
    # errors 0, -2, 3 -> squares 0, 4, 9 -> RMSE sqrt(13/3); MAE 5/3
    assert M.rmse([1, 2, 3], [1, 4, 0]) == pytest.approx(math.sqrt(13 / 3))
    assert M.mae([1, 2, 3], [1, 4, 0]) == pytest.approx(5 / 3)
    with pytest.raises(ValueError):
        M.rmse([1, 2], [1])


def test_coverage_by_hand():
    # union {0, 1, 2} of a 5-item catalogue -> 0.6
    assert M.catalog_coverage(np.array([[0, 1, -1], [1, 2, -1]]), 5) == pytest.approx(0.6)


def test_gini_by_hand():
    # counts item0 2, item1 1, item2 1, item3 0 -> sorted [0, 1, 1, 2], n 4, sum 4
    # sum (2j - n - 1) c_j = -3*0 - 1*1 + 1*1 + 3*2 = 6 -> 6 / (4 * 4) = 0.375
    assert M.gini_index(np.array([[0, 1], [0, 2]]), 4) == pytest.approx(0.375)
    assert M.gini_index(np.array([[0, 1], [2, 3]]), 4) == pytest.approx(0.0)  # uniform
    # one item takes every slot: [0, 0, 0, 2] -> 3*2 / (4*2) = (n-1)/n
    assert M.gini_index(np.array([[0], [0]]), 4) == pytest.approx(0.75)
    assert math.isnan(M.gini_index(np.full((2, 2), -1), 4))


# Train: 4 users; item0 seen by all 4, item1 by 2, item2 by none.
TRAIN = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [3, 0, 0]], dtype=float))


def test_item_popularity_counts_users():
    assert M.item_popularity(TRAIN).tolist() == [4, 2, 0]


def test_novelty_by_hand():
    # p = 4/4, 2/4, (0 clipped to 1)/4 -> self-information 0, 1, 2
    # u0 [0, 1] -> 0.5 ; u1 [2, pad] -> 2 ; mean 1.25
    pop = M.item_popularity(TRAIN)
    assert M.novelty(np.array([[0, 1], [2, -1]]), pop, 4) == pytest.approx(1.25)


def test_arp_by_hand():
    # pop 4, 2, 0: u0 (4 + 2)/2 = 3 ; u1 0 -> 1.5
    pop = M.item_popularity(TRAIN)
    assert M.arp(np.array([[0, 1], [2, -1]]), pop) == pytest.approx(1.5)


def test_ild_category_by_hand():
    cats = np.array([0, 0, 1, -1])  # item3 has no category
    # u0 [0, 1, 2]: pairs (0,1) same, (0,2) diff, (1,2) diff -> 2/3
    # u1 [0, 3, pad]: the only pair has an unknown category -> no pairs, excluded
    # u2 [1, 0, pad]: same -> 0   => mean (2/3 + 0) / 2 = 1/3
    rec = np.array([[0, 1, 2], [0, 3, -1], [1, 0, -1]])
    assert M.intra_list_diversity_category(rec, cats) == pytest.approx(1 / 3)
    assert M.intra_list_diversity_category(rec[:2], cats) == pytest.approx(2 / 3)


def test_ild_embedding_by_hand():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    # u0 [0, 1, 2]: d(0,1) = 1, d(0,2) = d(1,2) = 1 - 1/sqrt(2) -> (1 + 2(1 - 0.707107)) / 3
    u0 = (1 + 2 * (1 - 1 / math.sqrt(2))) / 3
    # u1 [0, 3]: zero vector -> cos 0 -> distance 1 ; u2 [2] alone: no pair, excluded
    rec = np.array([[0, 1, 2], [0, 3, -1], [2, -1, -1]])
    assert M.intra_list_diversity_embedding(rec, emb) == pytest.approx((u0 + 1) / 2)


def test_pairwise_metrics_chunk_consistently(monkeypatch):
    rng = np.random.default_rng(0)
    rec = rng.integers(-1, 30, size=(50, 6))
    cats = rng.integers(0, 4, size=30)
    full = M.intra_list_diversity_category(rec, cats)
    monkeypatch.setattr(diversity, "_PAIR_CHUNK", 7)  # the chunk size lives with the pairwise metrics
    assert M.intra_list_diversity_category(rec, cats) == pytest.approx(full)


def test_vectorised_matches_naive_loop():
    rng = np.random.default_rng(1)
    n_users, n_items, k = 40, 25, 5
    rec = np.array([rng.choice(n_items, k, replace=False) for _ in range(n_users)])
    rec[::7, 3:] = -1
    rel = sp.random(n_users, n_items, density=0.15, random_state=2, format="csr")
    rel.data[:] = 1.0
    got = M.ranking_metrics(rec, rel, k, per_user=True)
    for u in range(n_users):
        actual = set(rel[u].indices)
        if not actual:
            assert np.isnan(got[f"ndcg@{k}"][u])
            continue
        hits = [1.0 if i in actual else 0.0 for i in rec[u]]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(actual), k)))
        assert got[f"ndcg@{k}"][u] == pytest.approx(dcg / idcg)
        assert got[f"recall@{k}"][u] == pytest.approx(sum(hits) / len(actual))
