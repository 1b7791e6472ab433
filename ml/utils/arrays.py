"""Array helpers written once for the whole library (RecTools ``utils/array_set_ops.py``).

* :func:`sorted_lookup` / :func:`isin_sorted` -- vectorised lookup and membership against an
  ascending array with one ``np.searchsorted`` (no Python loop, no hashing);
* :func:`minmax_scale` -- min-max scaling of a 1-d score array to ``[low, 1]``;
* :func:`unit_rows` -- rows scaled to unit L2 norm (zero rows stay zero).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sorted_lookup", "isin_sorted", "minmax_scale", "unit_rows"]


def sorted_lookup(sorted_keys: np.ndarray, queries: np.ndarray, sorter: np.ndarray | None = None) -> np.ndarray:
    """Position of each query in ``sorted_keys``, ``-1`` where it is absent.

    Parameters
    ----------
    sorted_keys : ndarray, shape (n,)
        Ascending keys (duplicates allowed; the first match is returned).
    queries : ndarray, any shape
        Keys to look up (same dtype kind as ``sorted_keys``).
    sorter : ndarray of int, shape (n,), optional
        ``np.argsort`` of the original array: when given, positions in the *original*
        (unsorted) array are returned instead of positions in ``sorted_keys``.

    Returns
    -------
    ndarray of int64, shape of ``queries``
    """
    sorted_keys = np.asarray(sorted_keys)
    queries = np.asarray(queries)
    if len(sorted_keys) == 0:
        return np.full(queries.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    found = sorted_keys[pos] == queries
    if sorter is not None:
        pos = np.asarray(sorter)[pos]
    return np.where(found, pos, -1).astype(np.int64, copy=False)


def isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Boolean membership of ``values`` (any shape) in an ascending array ``sorted_set``.

    Same result as ``np.isin(values, sorted_set)``, in ``O(n log m)`` without a sort of ``values``.
    """
    return sorted_lookup(sorted_set, values) >= 0


def minmax_scale(values: np.ndarray, *, low: float = 0.0) -> np.ndarray:
    """Scale a 1-d array linearly to ``[low, 1]`` (min -> ``low``, max -> 1).

    A constant (or one-element) array maps to all ones; an empty array is returned
    as it is. The result keeps the input's floating dtype (float64 for integers).
    """
    values = np.asarray(values)
    if len(values) == 0:
        return values
    if values.dtype.kind not in "fc":
        values = values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.ones_like(values)
    scaled = (values - lo) / (hi - lo)
    return scaled if low == 0.0 else low + (1.0 - low) * scaled


def unit_rows(matrix: np.ndarray, dtype: np.dtype | type | None = np.float32) -> np.ndarray:
    """Rows of a 2-d array divided by their L2 norm; all-zero rows stay zero.

    Parameters
    ----------
    matrix : ndarray, shape (n, d)
    dtype : numpy dtype, optional
        Output dtype (default float32, the scoring precision); ``None`` keeps the input's
        (float64 for integers).

    Returns
    -------
    ndarray, shape (n, d)
        A new array (the input is never modified).
    """
    m = np.asarray(matrix, dtype=dtype)
    if m.dtype.kind not in "fc":
        m = m.astype(np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
