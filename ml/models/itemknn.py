"""Item-based k-nearest-neighbours via ``implicit.nearest_neighbours``.

``weighting``: ``"cosine"`` (CosineRecommender), ``"bm25"`` (BM25Recommender,
``bm25_k1``/``bm25_b``), ``"tfidf"`` (TFIDFRecommender) or ``"none"`` (raw
co-occurrence dot products, ItemItemRecommender).  Each item keeps its
``k_neighbors`` most similar items (self excluded); a user's score for item ``j``
is ``Σ_i x_ui · S_ij`` (implicit's scorer).

``shrinkage`` (cosine only) damps similarities supported by little data, as
in Dacrema et al.'s ItemKNN-CF: ``dot / (‖x_i‖‖x_j‖ + shrinkage)``, applied to
the kept neighbours.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from ml.dataset import Interactions
from ml.models.base import Recommender
from ml.models.registry import register

__all__ = ["ItemKNN"]


@register("itemknn")
class ItemKNN(Recommender):
    """Item-item neighbourhood model (implicit)."""

    def __init__(
        self,
        *,
        weighting: Literal["cosine", "bm25", "tfidf", "none"] = "bm25",
        k_neighbors: int = 100,
        shrinkage: float = 0.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        num_threads: int = 0,
    ):
        self.weighting = weighting
        self.k_neighbors = k_neighbors
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        if self.weighting not in ("cosine", "bm25", "tfidf", "none"):
            raise ValueError("weighting must be one of 'cosine', 'bm25', 'tfidf', 'none'")
        if self.k_neighbors < 1:
            raise ValueError("k_neighbors must be >= 1")
        if self.shrinkage < 0:
            raise ValueError("shrinkage must be >= 0")
        if self.shrinkage > 0 and self.weighting != "cosine":
            raise ValueError("shrinkage is only defined for weighting='cosine'")

    def _implicit_model(self):
        from implicit import nearest_neighbours as nn

        K = int(self.k_neighbors) + 1  # implicit counts the item itself
        if self.weighting == "cosine":
            return nn.CosineRecommender(K=K, num_threads=self.num_threads)
        if self.weighting == "bm25":
            return nn.BM25Recommender(K=K, K1=self.bm25_k1, B=self.bm25_b, num_threads=self.num_threads)
        if self.weighting == "tfidf":
            return nn.TFIDFRecommender(K=K, num_threads=self.num_threads)
        return nn.ItemItemRecommender(K=K, num_threads=self.num_threads)

    def _fit(self, dataset: Interactions) -> None:
        X = sp.csr_matrix(dataset.matrix, dtype=np.float32)
        model = self._implicit_model()
        fit_input = X.astype(np.float64) if self.weighting == "none" else X  # implicit's raw kernel wants doubles
        with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(fit_input, show_progress=False)
        S = sp.csr_matrix(model.similarity, dtype=np.float32)
        S.setdiag(0.0)
        S.eliminate_zeros()
        if self.shrinkage > 0:
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel()).astype(np.float64)
            coo = S.tocoo()
            nn_ = norms[coo.row] * norms[coo.col]
            factor = nn_ / (nn_ + float(self.shrinkage))
            S = sp.csr_matrix((coo.data * factor.astype(np.float32), (coo.row, coo.col)), shape=S.shape)
        S.sort_indices()
        self.similarity_ = S

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        S = self.similarity_ if item_indices is None else self._cached_columns(item_indices)
        return np.asarray((history @ S).toarray(), dtype=np.float32)

    def _cached_columns(self, item_indices: np.ndarray) -> sp.csr_matrix:
        key = ("cols", item_indices.tobytes())
        cached = self._cache.get("cols")
        if cached is not None and cached[0] == key:
            return cached[1]
        cols = sp.csr_matrix(self.similarity_.tocsc()[:, item_indices])
        self._cache["cols"] = (key, cols)
        return cols

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        rows = self.similarity_[item_indices]
        if item_subset is not None:
            rows = rows[:, item_subset]
        return np.asarray(rows.toarray(), dtype=np.float32)
