import numpy as np
import scipy.sparse as sp

from ml.dataset import Interactions
from ml.models.base import als_fold_in
from ml.models.ials import IALS
from ml.synthetic import planted_interactions


def test_als_fold_in_solves_the_normal_equations():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(12, 4))
    r = np.zeros(12)
    r[[1, 5, 7]] = [1.0, 2.0, 3.0]
    alpha, lam = 5.0, 0.3
    c = 1 + alpha * r
    p = (r > 0).astype(float)
    expected = np.linalg.solve(Y.T @ np.diag(c) @ Y + lam * np.eye(4), Y.T @ (c * p))
    got = als_fold_in(sp.csr_matrix(r[None, :]), Y, regularization=lam, alpha=alpha)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5)
    assert np.all(als_fold_in(sp.csr_matrix((1, 12)), Y, regularization=lam) == 0)


def test_fold_in_reproduces_trained_user_factors():
    data = planted_interactions(n_users=200, n_items=60, n_clusters=4, seed=0).to_interactions()
    model = IALS(factors=8, iterations=30, use_cg=False, random_state=0, num_threads=1).fit(data)
    users = np.arange(20)
    folded = model.fold_in_vectors(data.matrix[users])
    own = model.user_factors_[users]
    cos = (folded * own).sum(1) / (np.linalg.norm(folded, axis=1) * np.linalg.norm(own, axis=1))
    assert cos.min() > 0.99
    assert model.item_embeddings().shape == (60, 8)


def test_log_confidence_and_seed():
    data = Interactions.from_matrix(np.random.default_rng(0).integers(0, 3, (40, 15)))
    a = IALS(factors=4, iterations=3, confidence="log", random_state=1, num_threads=1).fit(data)
    b = IALS(factors=4, iterations=3, confidence="log", random_state=1, num_threads=1).fit(data)
    np.testing.assert_allclose(a.item_factors_, b.item_factors_)
