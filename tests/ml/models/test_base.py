import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.base

from ml.artifacts import ArtifactError
from ml.dataset import Interactions
from ml.models.base import Recommender, topk
from ml.models.ease import EASE
from ml.models.popularity import PopularityRecommender


def test_topk_orders_breaks_ties_and_pads():
    s = np.array([[0.1, 0.5, 0.5, -np.inf], [np.nan, 1.0, 0.0, 2.0]], dtype=np.float32)
    idx, val = topk(s, 5)
    assert idx[0].tolist() == [1, 2, 0, -1, -1]
    assert idx[1].tolist() == [3, 1, 2, -1, -1]
    assert np.isneginf(val[:, 3:]).all() and val.dtype == np.float32


@pytest.fixture
def data() -> Interactions:
    rng = np.random.default_rng(0)
    X = (rng.random((40, 30)) < 0.3).astype(np.float32)
    return Interactions.from_matrix(X, user_ids=[f"user{i}" for i in range(40)], item_ids=[f"sku-{i}" for i in range(30)])


def test_string_ids_end_to_end(data, tmp_path):
    model = EASE(l2=10.0).fit(data)
    ids, scores = model.recommend("user3", k=4)
    assert ids.shape == (1, 4) and ids.dtype.kind == "U"
    with pytest.raises(KeyError, match="recommend_for_items"):
        model.recommend(["user3", "ghost"], k=4)
    loaded = Recommender.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.recommend("user3", k=4)[0], ids)
    with pytest.raises(ArtifactError):
        PopularityRecommender.load(tmp_path / "m")  # wrong class


def test_small_batches_give_identical_results(data, monkeypatch):
    model = EASE(l2=10.0).fit(data)
    full = model.recommend_indices(np.arange(40), 5)
    monkeypatch.setattr(EASE, "score_batch_elements", 7)  # forces one user per batch
    small = model.recommend_indices(np.arange(40), 5)
    np.testing.assert_array_equal(full[0], small[0])
    np.testing.assert_allclose(full[1], small[1], rtol=1e-6)


def test_seen_argument_and_boolean_allowed_mask(data):
    model = EASE(l2=10.0).fit(data)
    seen = sp.csr_matrix(data.matrix.shape, dtype=np.float32)  # nothing seen -> seen items may come back
    idx, _ = model.recommend_indices([0], 30, seen=seen)
    assert (idx[0] >= 0).all()
    mask = np.zeros(30, dtype=bool)
    mask[[1, 2, 3]] = True
    idx, _ = model.recommend_indices([0], 5, allowed_items=mask, exclude_seen=False)
    assert set(idx[0, :3]) == {1, 2, 3} and (idx[0, 3:] == -1).all()


def test_users_without_history_fall_back_to_popularity():
    X = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=np.float32)
    model = EASE(l2=1.0).fit(Interactions.from_matrix(X))
    idx, _ = model.recommend_indices([2], 2)
    assert idx[0, 0] == 0  # most popular item


def test_hyperparameters_follow_scikit_learn_estimator_rules(data):
    model = EASE(l2=10.0)
    assert model.set_params(l2=20.0) is model and model.get_params()["l2"] == 20.0
    with pytest.raises(ValueError, match="no_such"):
        model.set_params(no_such=1)
    fitted = model.fit(data)
    cloned = sklearn.base.clone(fitted)
    assert cloned.get_params() == fitted.get_params() and not cloned.is_fitted
    assert repr(EASE(l2=10.0)) == "EASE(l2=10.0)"  # scikit-learn's repr: parameters changed from the defaults


def _topk_reference(scores: np.ndarray, k: int) -> np.ndarray:
    """Full sort: score descending, then column index ascending; -inf/NaN never returned."""
    out = np.full((scores.shape[0], k), -1, dtype=np.int64)
    for r, row in enumerate(scores):
        order = [int(c) for c in np.lexsort((np.arange(len(row)), -row)) if np.isfinite(row[c]) or row[c] > 0]
        out[r, : min(k, len(order))] = order[:k]
    return out


@pytest.mark.parametrize("levels", [1, 2, 3, 7])
def test_topk_keeps_the_lowest_indices_among_ties_at_the_cut(levels):
    # few distinct values, so ties straddle the k-th place in almost every row; the kept items
    # must be the lowest-indexed of the tied ones, not whichever argpartition happened to pick
    rng = np.random.default_rng(levels)
    scores = rng.integers(0, levels, (64, 97)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.05] = -np.inf
    for k in (1, 3, 10, 96, 97, 120):
        idx, vals = topk(scores, k)
        np.testing.assert_array_equal(idx, _topk_reference(scores, k))
        np.testing.assert_array_equal(vals, np.where(idx >= 0, np.take_along_axis(scores, np.maximum(idx, 0), 1), -np.inf))


def test_topk_on_a_constant_row_takes_the_first_columns():
    idx, _ = topk(np.zeros((2, 1000), dtype=np.float32), 5)
    assert idx.tolist() == [[0, 1, 2, 3, 4]] * 2
