"""What events mean: signed ratings, dwell with a minimum, and re-ratings combined per pair before any threshold."""
import numpy as np
import pytest

from ml.cli.evaluate import load_interactions
from ml.dataset import EvidenceSemantics, IdMap, Interactions, dwell_evidence, event_evidence, rating_evidence
from ml.io import read_csv

SEMANTICS = EvidenceSemantics()  # 1-5 stars, neutral 3; dwell 5 s minimum, 30 s full


def test_a_rating_below_neutral_is_negative_and_scaled_by_value():
    assert rating_evidence([0, 1, 2, 3, 4, 5, 10], neutral=3, max_value=5, weight=2.0).tolist() == [-2, -2, -1, 0, 1, 2, 2]
    assert rating_evidence([0, 5, 10], neutral=5, max_value=10).tolist() == [-1, 0, 1]  # a 0-10 shop
    assert rating_evidence([np.nan], neutral=3, max_value=5).tolist() == [0.0]
    with pytest.raises(ValueError):
        rating_evidence([1], neutral=5, max_value=5)


def test_dwell_under_the_minimum_is_no_evidence_and_long_dwell_counts_fully():
    assert dwell_evidence([2.0, 4.9, 15.0, 30.0, 900.0], min_seconds=5, full_seconds=30, weight=0.5).tolist() == [0, 0, 0.25, 0.5, 0.5]


def test_event_evidence_applies_type_weights_and_value_mappings():
    types = ["rating", "rating", "dwell", "like", "skip", "view"]
    values = [0.0, 5.0, 2.0, np.nan, np.nan, np.nan]
    weights = {"rating": 1.0, "dwell": 0.5, "like": 5.0, "skip": -1.0}  # view missing: 0
    assert event_evidence(types, values, type_weights=weights, semantics=SEMANTICS).tolist() == [-1, 1, 0, 5, -1, 0]


def test_a_pair_rated_5_then_1_is_negative_and_1_then_5_positive():
    data = Interactions.from_events(
        user_ids=[1, 1, 2, 2], item_ids=[7, 7, 7, 7], event_types=["rating"] * 4, values=[5, 1, 1, 5], timestamps=[1, 2, 1, 2],
        semantics=SEMANTICS, user_map=IdMap([1, 2]),
    )
    assert data.matrix.toarray().tolist() == [[0.0], [1.0]]  # user 1: latest rating 1 (negative, not in the matrix)


def test_a_negative_latest_opinion_supersedes_earlier_purchases_and_clicks():
    weights = {"click": 2.0, "purchase": 8.0, "rating": 1.0, "skip": -1.0, "like": 5.0}
    data = Interactions.from_events(
        user_ids=[1, 1, 1, 2, 2, 3, 3], item_ids=[7] * 7,
        event_types=["click", "purchase", "rating", "click", "skip", "skip", "like"],
        values=[np.nan, np.nan, 1.0, np.nan, np.nan, np.nan, np.nan], timestamps=[1, 2, 3, 1, 2, 1, 2],
        event_type_weights=weights, semantics=SEMANTICS, user_map=IdMap([1, 2, 3]),
    )
    assert data.matrix.toarray()[:, 0].tolist() == [0.0, 0.0, 4.0]  # bought then 1 star; clicked then skipped; skip then like


def test_without_semantics_the_raw_weights_are_kept():
    data = Interactions.from_events(user_ids=[1, 1], item_ids=[7, 7], event_types=["rating"] * 2, values=[5, 1], timestamps=[1, 2])
    assert data.matrix.toarray().tolist() == [[2.0]]


def test_the_threshold_applies_after_re_ratings_are_combined(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,item_id,value,timestamp\n1,10,5,100\n1,10,1,200\n1,11,4,100\n2,10,2,100\n2,10,4,200\n")
    data = load_interactions(str(path), "csv", implicit_threshold=4)
    dense = {(int(u), int(i)) for u, i in zip(*data.matrix.nonzero(), strict=True)}
    users, items = data.user_map.external_ids, data.item_map.external_ids
    assert {(int(users[u]), int(items[i])) for u, i in dense} == {(1, 11), (2, 10)}  # (1, 10)'s latest rating is 1


def test_ml_io_reads_values_without_event_types_as_ratings(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,item_id,value,timestamp\n1,10,5,100\n1,11,1,100\n1,12,4,100\n")
    data = read_csv(path).to_interactions()
    row = dict(zip(data.item_map.external_ids.tolist(), data.matrix.toarray()[0].tolist(), strict=True))
    assert row == {10: 1.0, 12: 0.5}  # the 1-star item is negative evidence, not an interaction
