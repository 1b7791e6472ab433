import math

import numpy as np
import pytest
import scipy.sparse as sp

from ml.dataset import Interactions, ItemFeatures
from ml.evaluation.evaluator import evaluate_model, evaluate_models, evaluation_users
from ml.models.base import Recommender


class PopScores(Recommender):
    """Scores every item by its train popularity, ties to the lower index (test-local, so the
    expected lists are obvious)."""

    def _fit(self, dataset):
        self.scores_ = self.item_popularity_ - 1e-3 * np.arange(self.item_popularity_.size)

    def _score_history(self, history, item_indices=None):
        pop = self.scores_ if item_indices is None else self.scores_[item_indices]
        return np.tile(pop, (history.shape[0], 1)).astype(np.float32)


class Oracle(Recommender):
    """Knows the test matrix: a perfect ranker."""

    def __init__(self, *, truth=None):
        self.truth = truth

    def _fit(self, dataset):
        self.truth_ = sp.csr_matrix(self.truth, dtype=np.float32)

    def _score_users(self, user_indices, item_indices=None):
        dense = self.truth_[user_indices].toarray()
        return dense if item_indices is None else dense[:, item_indices]


class RatingEcho(Oracle):
    """Predicts ratings = truth + 1 (to check RMSE/MAE plumbing)."""

    predicts_ratings = True

    def _score_users(self, user_indices, item_indices=None):
        return super()._score_users(user_indices, item_indices) + 1.0


#            items 0  1  2  3  4
TRAIN = np.array([[1, 1, 0, 0, 0],   # u0
                  [0, 0, 0, 0, 0],   # u1: unknown at train time -> skipped
                  [1, 0, 0, 0, 0],   # u2: no test items -> skipped
                  [0, 0, 0, 0, 1]])  # u3  # fmt: skip
TEST = np.array([[0, 1, 1, 0, 0],    # u0: item 1 repeats a train pair -> dropped, relevant {2}
                 [0, 0, 0, 1, 0],
                 [0, 0, 0, 0, 0],
                 [1, 1, 0, 0, 0]])   # u3: relevant {0, 1}  # fmt: skip


def split():
    features = ItemFeatures(category=np.array([0, 0, 1, 1, -1]))
    return (
        Interactions.from_matrix(TRAIN, item_features=features),
        Interactions.from_matrix(TEST, item_features=features),
    )


def test_eligible_users_and_relevant_items():
    train, test = split()
    users, relevant = evaluation_users(train, test)
    assert users.tolist() == [0, 3]
    assert [sorted(relevant[i].indices.tolist()) for i in range(2)] == [[2], [0, 1]]
    users, relevant = evaluation_users(train, test, exclude_seen=False)
    assert sorted(relevant[0].indices.tolist()) == [1, 2]


def test_popularity_by_hand():
    # train popularity: item0 2, item1 1, item4 1, others 0
    # u0 (train {0, 1} excluded): scores item2 0, item3 0, item4 1 -> [4, 2] ; rel {2}: hit at rank 2
    # u3 (train {4} excluded): [0, 1] ; rel {0, 1}: hits at 1 and 2
    train, test = split()
    result = evaluate_model(PopScores(), train, test, k=2)
    m = result["metrics"]
    assert result["n_users"] == 2 and result["n_train_users"] == 3 and result["n_items"] == 5
    assert m["ndcg@2"] == pytest.approx((1 / math.log2(3) + 1.0) / 2)
    assert m["recall@2"] == pytest.approx(1.0)
    assert m["precision@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["map@2"] == pytest.approx((0.5 + 1.0) / 2)  # u0: P@2 / min(1, 2)
    assert m["mrr@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["hit_rate@2"] == 1.0
    assert m["coverage@2"] == pytest.approx(4 / 5)  # {4, 2, 0, 1}
    # categories 0 0 1 1 -1: u0 [4, 2] has an unknown category -> no pair; u3 [0, 1] same -> 0
    assert m["ild_category@2"] == pytest.approx(0.0)
    # ARP: u0 (1 + 0)/2, u3 (2 + 1)/2 -> 1.0
    assert m["arp@2"] == pytest.approx(1.0)
    # novelty with 3 train users: p = 1/3 (item4), 1/3 (item2 clipped), 2/3, 1/3
    expected_nov = ((2 * math.log2(3)) / 2 + (math.log2(3 / 2) + math.log2(3)) / 2) / 2
    assert m["novelty@2"] == pytest.approx(expected_nov)
    assert "ild_embedding@2" not in m  # PopScores has no embeddings
    assert result["fit_seconds"] >= 0 and "rmse" not in m


def test_without_exclude_seen_train_items_count():
    # u0 gets [0, 1]; relevant {1, 2}: hit at rank 2 -> (1/log2 3) / (1 + 1/log2 3); u3 as before: 1
    train, test = split()
    m = evaluate_model(PopScores(), train, test, k=2, exclude_seen=False)["metrics"]
    u0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert m["ndcg@2"] == pytest.approx((u0 + 1.0) / 2)


def test_oracle_is_perfect_and_embeddings_are_used():
    train, test = split()
    m = evaluate_model(Oracle(truth=TEST), train, test, k=3)["metrics"]
    assert m["ndcg@3"] == pytest.approx(1.0) and m["map@3"] == pytest.approx(1.0)
    emb = np.eye(5)
    m = evaluate_model(Oracle(truth=TEST), train, test, k=2, item_embeddings=emb)["metrics"]
    assert m["ild_embedding@2"] == pytest.approx(1.0)  # orthogonal vectors: distance 1


def test_rating_errors_for_rating_predictors():
    data_tr = Interactions.from_events(user_ids=[0, 0, 1], item_ids=[0, 1, 0], values=[4.0, 5.0, 3.0])
    data_te = Interactions.from_events(
        user_ids=[0, 1, 1], item_ids=[2, 1, 2], values=[2.0, 4.0, 1.0], user_map=data_tr.user_map, item_map=data_tr.item_map
    )
    # item 2 is unknown to the train map -> dropped by the dataset; test pairs (1, 1) rating 4
    truth = sp.csr_matrix(([4.0], ([1], [1])), shape=(2, 2))
    m = evaluate_model(RatingEcho(truth=truth), data_tr, data_te, k=1)["metrics"]
    assert m["rmse"] == pytest.approx(1.0) and m["mae"] == pytest.approx(1.0)  # predicts 4 + 1


def test_mismatched_maps_are_rejected():
    train, _ = split()
    other = Interactions.from_matrix(TEST[:, :4])
    with pytest.raises(ValueError, match="share"):
        evaluate_model(PopScores(), train, other, k=2)


def test_evaluate_models_rejects_unknown_before_fitting():
    pytest.importorskip("ml.models.popularity")
    train, test = split()
    with pytest.raises(ValueError, match="unknown model"):
        evaluate_models(["pop", "no_such_model"], train, test, k=2)


# popularity ties: A and B have 2 users each, C and D one each; C's first event (t=5) comes before D's (t=6).
# Users 3 and 4 trained on B and buy C later, so the right top-2 for both is [A, C]: NDCG@2 = 1/log2(3).
_TIES_CSV = "user_id,item_id,timestamp\n{u1},{A},1\n{u2},{A},2\n{u3},{B},3\n{u4},{B},4\n{u1},{C},5\n{u2},{D},6\n{u3},{C},10\n{u4},{C},11\n"
_NAMINGS = {
    "letters": dict(u1="u1", u2="u2", u3="u3", u4="u4", A="A", B="B", C="C", D="D"),
    "reversed letters": dict(u1="u4", u2="u3", u3="u2", u4="u1", A="D", B="C", C="B", D="A"),
    "integers": dict(u1=1, u2=2, u3=3, u4=4, A=10, B=20, C=30, D=40),
    "reversed integers": dict(u1=4, u2=3, u3=2, u4=1, A=40, B=30, C=20, D=10),
    "hashed strings": dict(u1="9f2c", u2="03aa", u3="e71b", u4="5d40", A="sku-7c1e", B="sku-0b93", C="sku-f20a", D="sku-1d55"),
    "padded integers": dict(u1="004", u2="003", u3="002", u4="001", A="0040", B="0030", C="0020", D="0010"),
}


@pytest.mark.parametrize("naming", list(_NAMINGS))
def test_popularity_ndcg_does_not_depend_on_how_ids_are_named(tmp_path, naming):
    from ml.io import read_csv
    from ml.models.popularity import PopularityRecommender
    from ml.split import temporal_split

    path = tmp_path / "ties.csv"
    path.write_text(_TIES_CSV.format(**_NAMINGS[naming]))
    train, test = temporal_split(read_csv(path).to_interactions(), cutoff=10.0)
    result = evaluate_model(PopularityRecommender(), train, test, k=2)
    assert result["metrics"]["ndcg@2"] == pytest.approx(1 / math.log2(3))  # was 0.63 or 0 by naming
    model = PopularityRecommender().fit(train)
    names = _NAMINGS[naming]
    ids, _ = model.recommend([names["u3"], names["u4"]], k=2)
    assert ids.tolist() == [[names["A"], names["C"]]] * 2
