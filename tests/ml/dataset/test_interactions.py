import time

import numpy as np
import pytest
import scipy.sparse as sp

from ml.dataset import IdMap, Interactions, ItemFeatures
from ml.synthetic import planted_interactions

DAY = 86400.0




def test_event_type_weights_values_and_unknown_types():
    data = Interactions.from_events(
        user_ids=["u1", "u1", "u1", "u2"],
        item_ids=["a", "a", "b", "b"],
        event_types=["view", "purchase", "impression", "view"],
        values=[5, 3, 1, 2],
        event_type_weights={"view": 1.0, "purchase": 4.0},
    )
    assert data.user_map.external_ids.tolist() == ["u1", "u2"]
    assert data.item_map.external_ids.tolist() == ["a", "b"]
    # values are not weights unless asked; the unknown type is dropped
    np.testing.assert_allclose(data.matrix.toarray(), [[5.0, 0.0], [0.0, 1.0]])
    assert len(data.log) == 3
    weighted = Interactions.from_events(
        user_ids=[1, 1, 2], item_ids=[1, 2, 1], values=[5.0, 2.0, 4.0], value_weighting=True, min_value=4.0
    )
    np.testing.assert_allclose(weighted.matrix.toarray(), [[5.0], [4.0]])  # item 2 only had a rating < 4


def test_time_decay_half_life():
    now = 1_000_000_000.0
    data = Interactions.from_events(
        user_ids=[1, 1, 1],
        item_ids=[10, 20, 30],
        timestamps=[now, now - 7 * DAY, now - 14 * DAY],
        half_life_days=7.0,
    )
    cols = data.item_map.to_index([10, 20, 30])
    np.testing.assert_allclose(data.matrix.toarray()[:, cols], [[1.0, 0.5, 0.25]], rtol=1e-6)
    later = Interactions.from_events(
        user_ids=[1], item_ids=[10], timestamps=[now], half_life_days=1.0, now=now + DAY
    )
    np.testing.assert_allclose(later.matrix.toarray(), [[0.5]])
    with pytest.raises(ValueError):
        Interactions.from_events(user_ids=[1], item_ids=[1], half_life_days=1.0)


@pytest.mark.parametrize("how, expected", [("sum", 6.0), ("max", 3.0), ("last", 1.0)])
def test_aggregation(how, expected):
    data = Interactions.from_events(
        user_ids=[1, 1, 1], item_ids=[7, 7, 7], values=[3.0, 2.0, 1.0], value_weighting=True,
        timestamps=[30.0, 10.0, 40.0], aggregate=how,
    )
    # time order: 2.0 @10, 3.0 @30, 1.0 @40
    assert data.matrix.toarray()[0, 0] == pytest.approx(expected)
    assert data.log.timestamp.tolist() == [10.0, 30.0, 40.0]


def test_negative_totals_are_dropped_but_logged():
    data = Interactions.from_events(
        user_ids=[1, 1, 1, 2, 3, 3],
        item_ids=[1, 1, 2, 2, 1, 9],
        event_types=["view", "skip", "view", "view", "view", "skip"],
        event_type_weights={"view": 1.0, "skip": -3.0},
    )
    dense = data.matrix.toarray()
    assert dense[0, 0] == 0 and dense[0, 1] == 1 and dense[1, 1] == 1 and dense[2, 0] == 1
    assert data.matrix.nnz == 3 and (data.matrix.data > 0).all()
    # item 9 never had a positive interaction: not in the map, its events are gone
    assert data.item_map.external_ids.tolist() == [1, 2]
    assert len(data.log) == 5 and len(data.log.positive()) == 4
    assert data.matrix.dtype == np.float32 and sp.isspmatrix_csr(data.matrix)


def test_min_interactions_is_iterative_k_core():
    # user 3 has 2 items, but item 4 only has user 3 -> after dropping item 4, user 3 has 1 item
    users = [1, 1, 2, 2, 3, 3]
    items = [1, 2, 1, 2, 1, 4]
    data = Interactions.from_events(user_ids=users, item_ids=items, min_user_interactions=2, min_item_interactions=2)
    assert data.user_map.external_ids.tolist() == [1, 2]
    assert data.item_map.external_ids.tolist() == [1, 2]
    assert data.nnz == 4


def test_given_maps_keep_alignment_and_drop_unknown():
    users, items = IdMap.from_values([1, 2, 3]), IdMap.from_values([10, 20, 30, 40])
    data = Interactions.from_events(
        user_ids=[2, 9, 3], item_ids=[40, 10, 99], user_map=users, item_map=items
    )
    assert data.user_map is users and data.item_map is items
    assert data.shape == (3, 4)
    assert data.matrix.toarray()[1, 3] == 1 and data.nnz == 1


def test_log_is_time_ordered_and_datetime64_accepted():
    ts = np.array(["2024-01-02", "2024-01-01", "2024-01-03"], dtype="datetime64[s]")
    data = Interactions.from_events(user_ids=[1, 2, 3], item_ids=[1, 1, 1], timestamps=ts)
    assert np.all(np.diff(data.log.timestamp) > 0)
    assert data.log.timestamp[0] == pytest.approx(1704067200.0)
    assert data.user_map.to_external(data.log.user_index).tolist() == [2, 1, 3]
    no_time = Interactions.from_events(user_ids=[5, 4], item_ids=[1, 2])
    assert no_time.log.timestamp.tolist() == [0.0, 1.0]


def test_item_features_are_aligned_by_ids():
    feats = ItemFeatures(text=["a", "b", "c"], category=[1, 2, 3], item_ids=np.array([30, 10, 20]))
    data = Interactions.from_events(user_ids=[1, 1, 1], item_ids=[10, 30, 40], item_features=feats)
    assert data.item_map.external_ids.tolist() == [10, 30, 40]
    assert data.item_features.text == ["b", "a", ""]
    assert data.item_features.category.tolist() == [2, 1, -1]
    with pytest.raises(ValueError):
        Interactions.from_events(user_ids=[1], item_ids=[1], item_features=ItemFeatures(text=["a", "b"]))


def test_filter_and_subset_keep_maps():
    syn = planted_interactions(n_users=50, n_items=40, n_clusters=4, seed=1)
    data = syn.to_interactions()
    sub = data.subset_users([0, 3])
    assert sub.user_map is data.user_map and set(np.flatnonzero(sub.user_counts())) <= {0, 3}
    np.testing.assert_allclose(sub.matrix[3].toarray(), data.matrix[3].toarray())
    keep = data.log.timestamp < np.median(data.log.timestamp)
    early = data.filter_events(keep)
    assert early.item_map is data.item_map and len(early.log) == keep.sum()
    rebuilt = data.filter_events(np.ones(len(data.log), bool))
    assert (rebuilt.matrix != data.matrix).nnz == 0


def test_from_matrix_defaults():
    data = Interactions.from_matrix(np.array([[0, 2], [1, -1]]))
    assert data.user_map.external_ids.tolist() == [0, 1] and data.nnz == 2 and data.log is None


def test_planted_interactions_is_deterministic_and_structured():
    a = planted_interactions(n_users=200, n_items=100, n_clusters=5, seed=3, repeat_probability=0.2,
                             sequential_strength=0.3)
    b = planted_interactions(n_users=200, n_items=100, n_clusters=5, seed=3, repeat_probability=0.2,
                             sequential_strength=0.3)
    c = planted_interactions(n_users=200, n_items=100, n_clusters=5, seed=4)
    np.testing.assert_array_equal(a.item_ids, b.item_ids)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    assert not np.array_equal(a.item_ids[:100], c.item_ids[:100])
    on_taste = a.item_clusters[a.item_ids - 5_000_000] == a.user_clusters[a.user_ids - 1_000_000]
    assert on_taste.mean() > 0.7
    data = a.to_interactions()
    assert len(data.log) > data.nnz  # repeat purchases
    assert len(a.item_texts) == 100 and data.item_features is not None


def test_from_events_scales_to_a_million_rows():
    syn = planted_interactions(n_users=50_000, n_items=5_000, n_clusters=20, interactions_per_user=20, seed=0)
    t = time.perf_counter()
    data = syn.to_interactions(half_life_days=30.0)
    assert time.perf_counter() - t < 15.0  # ~1-2 s on one core; generous for shared CI
    assert len(data.log) == len(syn)


def test_event_context_follows_filtering_sorting_and_splits():
    from ml.split import random_split

    data = Interactions.from_events(
        user_ids=[1, 1, 2, 2, 3, 3],
        item_ids=[10, 11, 10, 12, 11, 12],
        event_types=["view", "view", "skip", "view", "view", "view"],
        timestamps=[6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
        event_type_weights={"view": 1.0},  # the skip gets weight 0 and is dropped
        context={"device": ["a", "b", "c", "d", "e", "f"], "hour": [6, 5, 4, 3, 2, 1]},
    )
    log = data.log
    assert log.context["device"].tolist() == ["f", "e", "d", "b", "a"]  # time order, skip dropped
    assert np.array_equal(log.context["hour"], log.timestamp.astype(int))
    train, test = random_split(data, test_size=0.5, seed=0)
    for part in (train, test):
        assert np.array_equal(part.log.context["hour"], part.log.timestamp.astype(int))
    with pytest.raises(ValueError, match="context"):
        Interactions.from_events(user_ids=[1, 2], item_ids=[1, 2], context={"device": ["a"]})


def test_maps_number_ids_in_order_of_first_event_not_sorted():
    # "b" and "c" are named after "a" but act first; the 4th row has no timestamp order of its own
    data = Interactions.from_events(
        user_ids=["zed", "amy", "zed", "amy"], item_ids=["c", "b", "a", "b"], timestamps=[3.0, 1.0, 2.0, 1.0]
    )
    assert data.user_map.external_ids.tolist() == ["amy", "zed"]
    assert data.item_map.external_ids.tolist() == ["b", "a", "c"]  # time order, then input order
    ints = Interactions.from_events(user_ids=[9, 1], item_ids=[300, 20])  # no timestamps: input order
    assert ints.user_map.external_ids.tolist() == [9, 1] and ints.item_map.external_ids.tolist() == [300, 20]


def test_relabelled_ids_give_the_same_matrix():
    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 40, 600), rng.integers(0, 60, 600)
    ts = rng.integers(0, 100, 600).astype(float)
    base = Interactions.from_events(user_ids=users, item_ids=items, timestamps=ts, min_user_interactions=3)
    for u, i in [(999 - users, 999 - items), ([f"u{(v * 7919) % 10007:05d}" for v in users], [f"i-{v * 31 % 97}" for v in items])]:
        other = Interactions.from_events(user_ids=u, item_ids=i, timestamps=ts, min_user_interactions=3)
        assert (other.matrix != base.matrix).nnz == 0
        np.testing.assert_array_equal(other.log.item_index, base.log.item_index)
