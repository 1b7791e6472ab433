import numpy as np
import pytest

from ml.dataset import Interactions
from ml.models.ease import EASE, EASEMemoryError
from ml.models.registry import model_from_config


def closed_form(X: np.ndarray, l2: float) -> np.ndarray:
    G = X.T @ X + l2 * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B


@pytest.fixture
def tiny() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((30, 8)) < 0.4).astype(np.float64)


def test_weights_equal_closed_form(tiny):
    model = EASE(l2=3.0, dtype="float64").fit(Interactions.from_matrix(tiny))
    np.testing.assert_allclose(model.weights_, closed_form(tiny, 3.0), rtol=1e-10, atol=1e-12)
    assert np.all(np.diag(model.weights_) == 0)
    f32 = EASE(l2=3.0).fit(Interactions.from_matrix(tiny))
    assert f32.weights_.dtype == np.float32
    np.testing.assert_allclose(f32.weights_, closed_form(tiny, 3.0), rtol=1e-4, atol=1e-5)


def test_scores_are_x_times_b_and_binarized(tiny):
    weighted = tiny * np.arange(1, 9)  # binary=True ignores the values
    model = EASE(l2=3.0, dtype="float64").fit(Interactions.from_matrix(weighted))
    np.testing.assert_allclose(model.score_indices([0, 1]), tiny[:2] @ closed_form(tiny, 3.0), rtol=1e-5)
    raw = EASE(l2=3.0, binary=False, dtype="float64").fit(Interactions.from_matrix(weighted))
    np.testing.assert_allclose(raw.weights_, closed_form(weighted, 3.0), rtol=1e-8, atol=1e-10)


def test_refuses_when_over_memory_budget(tiny):
    model = EASE(memory_budget_gb=1e-9)
    with pytest.raises(EASEMemoryError, match="memory_budget_gb"):
        model.fit(Interactions.from_matrix(tiny))
    assert issubclass(EASEMemoryError, MemoryError)


def test_invalid_l2():
    with pytest.raises(ValueError):
        model_from_config({"name": "ease", "l2": -1.0})
