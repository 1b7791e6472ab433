import numpy as np
import pytest

from ml.dataset import Interactions
from ml.models.itemknn import ItemKNN
from ml.models.registry import model_from_config


@pytest.fixture
def X() -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.random((60, 10)) < 0.35).astype(np.float64) * rng.integers(1, 4, (60, 10))


def cosine(X: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(X, axis=0)
    return (X.T @ X) / np.outer(n, n)


def test_cosine_similarity_topk_without_self(X):
    model = ItemKNN(weighting="cosine", k_neighbors=3, num_threads=1).fit(Interactions.from_matrix(X))
    S = model.similarity_.toarray()
    full = cosine(X)
    np.fill_diagonal(full, 0)
    assert np.all(np.diag(S) == 0)
    assert ((S > 0).sum(axis=1) <= 3).all()
    for i in range(X.shape[1]):
        kept = np.flatnonzero(S[i])
        np.testing.assert_allclose(S[i, kept], full[i, kept], rtol=1e-5)
        assert set(kept) == set(np.argsort(-full[i])[:3])
    np.testing.assert_allclose(model.score_indices([0])[0], X[0] @ S, rtol=1e-5)


def test_shrinkage(X):
    model = ItemKNN(weighting="cosine", k_neighbors=9, shrinkage=5.0, num_threads=1).fit(Interactions.from_matrix(X))
    n = np.linalg.norm(X, axis=0)
    expected = (X.T @ X) / (np.outer(n, n) + 5.0)
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="shrinkage"):
        model_from_config({"name": "itemknn", "weighting": "bm25", "shrinkage": 1.0})


@pytest.mark.parametrize("weighting", ["bm25", "tfidf", "none"])
def test_other_weightings_fit(X, weighting):
    model = model_from_config({"name": "itemknn", "weighting": weighting, "k_neighbors": 4, "num_threads": 1})
    model.fit(Interactions.from_matrix(X))
    assert model.similarity_.shape == (10, 10) and model.similarity_.diagonal().sum() == 0
