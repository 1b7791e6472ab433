"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

Closed form with zero diagonal::

    P = (XᵀX + λI)⁻¹,    B = I - P · diagMat(1 ⊘ diag(P))   (B_ij = -P_ij / P_jj, B_jj = 0)

scores = X_u · B.  ``X`` is binarized by default (the paper's setting).  The
dense ``n_items x n_items`` solve needs about ``3 * n_items² * itemsize`` bytes;
``fit`` refuses with :class:`EASEMemoryError` when that exceeds
``memory_budget_gb``.  Default ``l2=500`` (Steck's value for ML-20M / Netflix
scale data; smaller catalogues and user bases usually want 100-500).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ml.dataset import Interactions
from ml.models.base import Recommender
from ml.models.registry import register

__all__ = ["EASE", "EASEMemoryError", "ease_weights"]


class EASEMemoryError(MemoryError):
    """The dense item-item solve does not fit the configured memory budget."""


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """``B`` from a dense Gram matrix ``XᵀX`` (modified in place), same dtype."""
    n = gram.shape[0]
    gram[np.diag_indices(n)] += l2
    try:
        # Cholesky inverse (G + λI is SPD): potrf + potri, upper triangle only
        potrf, potri = scipy.linalg.get_lapack_funcs(("potrf", "potri"), (gram,))
        c, info = potrf(gram, lower=False, overwrite_a=True, clean=False)
        if info != 0:
            raise np.linalg.LinAlgError(f"potrf info={info}")
        P, info = potri(c, lower=False, overwrite_c=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"potri info={info}")
        P = np.triu(P) + np.triu(P, 1).T
    except np.linalg.LinAlgError:
        P = np.linalg.inv(gram)
    diag = np.diag(P).copy()
    P /= -diag[None, :]
    P[np.diag_indices(n)] = 0.0
    return P


@register("ease")
class EASE(Recommender):
    """Linear item-item autoencoder with a closed-form solution."""

    def __init__(
        self,
        *,
        l2: float = 500.0,
        binary: bool = True,
        memory_budget_gb: float = 8.0,
        dtype: Literal["float32", "float64"] = "float32",
    ):
        self.l2 = l2
        self.binary = binary
        self.memory_budget_gb = memory_budget_gb
        self.dtype = dtype

    def _validate_params(self) -> None:
        if not self.l2 > 0:
            raise ValueError("l2 must be > 0")
        if self.dtype not in ("float32", "float64"):
            raise ValueError("dtype must be 'float32' or 'float64'")
        if not self.memory_budget_gb > 0:
            raise ValueError("memory_budget_gb must be > 0")

    def _input(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if self.binary:
            X = X.copy()
            X.data[:] = 1.0
        return X

    def _fit(self, dataset: Interactions) -> None:
        n = dataset.n_items
        itemsize = np.dtype(self.dtype).itemsize
        need = 3 * n * n * itemsize
        budget = float(self.memory_budget_gb) * 1024**3
        if need > budget:
            raise EASEMemoryError(
                f"EASE needs about {need / 1024**3:.1f} GiB for {n} items (3 dense {n}x{n} {self.dtype} "
                f"matrices) but memory_budget_gb={self.memory_budget_gb}; reduce the catalogue "
                "(e.g. min_item_interactions), raise the budget, or use SLIM / iALS"
            )
        X = self._input(dataset.matrix).astype(self.dtype)
        gram = np.asarray((X.T @ X).toarray(), dtype=self.dtype)
        self.weights_ = ease_weights(gram, float(self.l2)).astype(self.dtype, copy=False)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        B = self.weights_ if item_indices is None else self.weights_[:, item_indices]
        return np.asarray(self._input(history) @ B, dtype=np.float32)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        rows = self.weights_[item_indices]
        return np.array(rows if item_subset is None else rows[:, item_subset], dtype=np.float32)
