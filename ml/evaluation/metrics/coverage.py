"""Catalogue coverage and concentration of the recommendations (ignore padding)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ml.evaluation.metrics.lists import as_recommended

__all__ = ["catalog_coverage", "gini_index", "item_popularity", "recommendation_counts"]


def item_popularity(train) -> np.ndarray:
    """Number of distinct users with a positive train interaction per item (column degree).

    ``train`` is a user x item sparse matrix (an ``Interactions.matrix``).
    """
    m = sp.csr_matrix(train)
    positive = m.data > 0
    return np.bincount(m.indices[positive], minlength=m.shape[1]).astype(np.float64)


def recommendation_counts(recommended: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists each item appears in (padding and duplicates ignored), length ``n_items``."""
    rec, _ = as_recommended(recommended, None)
    flat = rec[(rec >= 0) & (rec < n_items)]
    return np.bincount(flat, minlength=n_items).astype(np.float64)


def catalog_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue recommended to at least one user: ``|union of lists| / n_items``."""
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    return float((recommendation_counts(recommended, n_items) > 0).sum() / n_items)


def gini_index(recommended: np.ndarray, n_items: int) -> float:
    """Gini index of how often each catalogue item is recommended (popularity bias / concentration).

    With ``c_(1) <= ... <= c_(n)`` the recommendation counts of all ``n = n_items`` items (items never
    recommended count as 0): ``G = sum_j (2j - n - 1) c_(j) / (n * sum_j c_j)``. 0 means every item is
    recommended equally often; ``(n - 1) / n`` (about 1) means one item takes every slot. NaN when
    nothing was recommended.
    """
    counts = np.sort(recommendation_counts(recommended, n_items))
    total = counts.sum()
    if total == 0:
        return float("nan")
    n = counts.size
    j = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * j - n - 1) * counts).sum() / (n * total))
