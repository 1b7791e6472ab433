"""Recommendation lists as every metric reads them: shape checks, padding to ``k``, duplicates."""

from __future__ import annotations

import numpy as np

__all__ = ["as_recommended", "mask_duplicates"]


def as_recommended(recommended: np.ndarray, k: int | None) -> tuple[np.ndarray, int]:
    """``(rows (n_users, k) int64, k)``: truncated or ``-1``-padded to ``k`` (``None``: its width),
    repeated items masked as padding; raises ``ValueError`` (shape, ``k``) / ``TypeError`` (dtype)."""
    rec = np.asarray(recommended)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-D (n_users, k), got shape {rec.shape}")
    if not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"recommended must hold integer item indices, got dtype {rec.dtype}")
    width = rec.shape[1]
    k = width if k is None else int(k)
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if width > k:
        rec = rec[:, :k]
    elif width < k:
        rec = np.hstack([rec, np.full((rec.shape[0], k - width), -1, dtype=rec.dtype)])
    return mask_duplicates(rec.astype(np.int64, copy=False)), k


def mask_duplicates(rec: np.ndarray) -> np.ndarray:
    """Replace the second and later copies of an item within a row by -1 (padding)."""
    if rec.shape[1] < 2:
        return rec
    order = np.argsort(rec, axis=1, kind="stable")
    ordered = np.take_along_axis(rec, order, axis=1)
    dup_sorted = np.zeros(rec.shape, dtype=bool)
    dup_sorted[:, 1:] = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if not dup_sorted.any():
        return rec
    dup = np.zeros(rec.shape, dtype=bool)
    np.put_along_axis(dup, order, dup_sorted, axis=1)  # stable sort: the first copy is never marked
    out = rec.copy()
    out[dup] = -1
    return out
