"""SLIM (Ning & Karypis 2011, "SLIM: Sparse Linear Methods for Top-N Recommender Systems").

For every item ``j`` an elastic net with non-negative weights and the item
itself excluded::

    min_w  ½‖x_j - X w‖² + (l2_reg / 2)‖w‖² + l1_reg ‖w‖₁,   w ≥ 0,  w_j = 0

solved with scikit-learn's coordinate descent (``ElasticNet(positive=True)``,
``alpha = (l1_reg + l2_reg) / n_users``, ``l1_ratio = l1_reg / (l1_reg + l2_reg)``
maps sklearn's per-sample objective to the paper's).  ``n_neighbors`` restricts
each regression to the item's most cosine-similar items (the paper's fsSLIM
feature selection), which makes training roughly linear in the catalogue size.
Columns are fitted in parallel with joblib (``n_jobs``; threads, as the
coordinate descent releases the GIL).  ``W`` is stored sparse; scores are
``x_u · W``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from ml.dataset import Interactions
from ml.models.base import Recommender
from ml.models.registry import register

__all__ = ["SLIM"]


def _fit_columns(
    X: sp.csc_matrix,
    targets: np.ndarray,
    candidates: list[np.ndarray] | None,
    alpha: float,
    l1_ratio: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    n_items = X.shape[1]
    rows, cols, vals = [], [], []
    model = ElasticNet(
        alpha=alpha,
        l1_ratio=l1_ratio,
        positive=True,
        fit_intercept=False,
        copy_X=False,
        precompute=True,  # Gram-based coordinate descent: ~2x faster than sparse CD here
        selection="cyclic",
        max_iter=max_iter,
        tol=tol,
    )
    all_items = np.arange(n_items)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        for pos, j in enumerate(targets):
            y = X[:, j].toarray().ravel()
            if not y.any():
                continue
            cand = all_items[all_items != j] if candidates is None else candidates[pos]
            if len(cand) == 0:
                continue
            model.fit(X[:, cand], y)
            coef = model.coef_
            nz = np.flatnonzero(coef > 0)
            rows.append(cand[nz])
            cols.append(np.full(len(nz), j, dtype=np.int64))
            vals.append(coef[nz])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


@register("slim")
class SLIM(Recommender):
    """Sparse linear item-item model with non-negative elastic-net weights."""

    def __init__(
        self,
        *,
        l1_reg: float = 1.0,
        l2_reg: float = 10.0,
        n_neighbors: int | None = 100,
        binary: bool = True,
        max_iter: int = 100,
        tol: float = 1e-4,
        n_jobs: int | None = -1,
    ):
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.n_neighbors = n_neighbors
        self.binary = binary
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        if self.l1_reg < 0 or self.l2_reg < 0 or self.l1_reg + self.l2_reg <= 0:
            raise ValueError("l1_reg and l2_reg must be >= 0 and not both 0")
        if self.n_neighbors is not None and self.n_neighbors < 1:
            raise ValueError("n_neighbors must be >= 1 or None")

    def _input(self, X: sp.csr_matrix) -> sp.csr_matrix:
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        if self.binary:
            X.data[:] = 1.0
        return X

    def _candidates(self, X: sp.csr_matrix) -> list[np.ndarray] | None:
        if self.n_neighbors is None or self.n_neighbors >= X.shape[1] - 1:
            return None
        from implicit.nearest_neighbours import CosineRecommender

        knn = CosineRecommender(K=int(self.n_neighbors) + 1, num_threads=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knn.fit(X, show_progress=False)
        S = sp.csr_matrix(knn.similarity)
        S.setdiag(0)
        S.eliminate_zeros()
        S.sort_indices()
        return [S.indices[S.indptr[j] : S.indptr[j + 1]].astype(np.int64) for j in range(S.shape[0])]

    def _fit(self, dataset: Interactions) -> None:
        X = self._input(dataset.matrix)
        n_users, n_items = X.shape
        l1, l2 = float(self.l1_reg), float(self.l2_reg)
        alpha = (l1 + l2) / max(n_users, 1)
        l1_ratio = l1 / (l1 + l2)
        candidates = self._candidates(X)
        Xc = sp.csc_matrix(X, dtype=np.float64)
        Xc.sort_indices()
        n_jobs = self.n_jobs if self.n_jobs not in (None, 0) else 1
        items = np.arange(n_items)
        n_chunks = 1 if n_jobs == 1 else min(n_items, 8 * (n_jobs if n_jobs > 0 else 8))
        chunks = [c for c in np.array_split(items, max(n_chunks, 1)) if len(c)]

        def run(chunk: np.ndarray):
            cand = None if candidates is None else [candidates[j] for j in chunk]
            return _fit_columns(Xc, chunk, cand, alpha, l1_ratio, int(self.max_iter), float(self.tol))

        with threadpool_limits(1, user_api="blas"):
            if n_jobs == 1:
                parts = [run(c) for c in chunks]
            else:
                parts = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(run)(c) for c in chunks)
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        vals = np.concatenate([p[2] for p in parts])
        W = sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(n_items, n_items))
        W.sort_indices()
        self.weights_ = W

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        W = self.weights_ if item_indices is None else sp.csr_matrix(self.weights_.tocsc()[:, item_indices])
        return np.asarray((self._input(history) @ W).toarray(), dtype=np.float32)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        rows = self.weights_[item_indices]
        if item_subset is not None:
            rows = rows[:, item_subset]
        return np.asarray(rows.toarray(), dtype=np.float32)
