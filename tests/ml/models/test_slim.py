import numpy as np
from sklearn.linear_model import ElasticNet

from ml.dataset import Interactions
from ml.models.slim import SLIM


def test_weights_are_positive_sparse_without_diagonal_and_match_elastic_net():
    rng = np.random.default_rng(3)
    X = (rng.random((80, 12)) < 0.3).astype(np.float64)
    data = Interactions.from_matrix(X)
    l1, l2 = 0.5, 2.0
    model = SLIM(l1_reg=l1, l2_reg=l2, n_neighbors=None, n_jobs=1, max_iter=1000, tol=1e-8).fit(data)
    W = model.weights_.toarray()
    assert (W >= 0).all() and np.all(np.diag(W) == 0)
    # column j solves  1/2||x_j - X w||^2 + l2/2 ||w||^2 + l1 ||w||_1,  w >= 0, w_j = 0
    j = 4
    others = np.delete(np.arange(12), j)
    ref = ElasticNet(alpha=(l1 + l2) / 80, l1_ratio=l1 / (l1 + l2), positive=True, fit_intercept=False,
                     max_iter=1000, tol=1e-8).fit(X[:, others], X[:, j])
    np.testing.assert_allclose(W[others, j], ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.score_indices([0])[0], X[0] @ W, rtol=1e-5, atol=1e-6)


def test_parallel_and_neighbour_restriction():
    rng = np.random.default_rng(4)
    X = (rng.random((60, 20)) < 0.3).astype(np.float64)
    data = Interactions.from_matrix(X)
    one = SLIM(l1_reg=0.1, l2_reg=1.0, n_neighbors=5, n_jobs=1).fit(data)
    two = SLIM(l1_reg=0.1, l2_reg=1.0, n_neighbors=5, n_jobs=2).fit(data)
    np.testing.assert_allclose(one.weights_.toarray(), two.weights_.toarray(), rtol=1e-6)
    assert (np.diff(one.weights_.tocsc().indptr) <= 5).all()  # at most 5 candidates per target column
