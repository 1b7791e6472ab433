"""Ranking (accuracy) metrics at a cut-off k, vectorised over users.

Inputs shared by the ranking metrics
------------------------------------
``recommended``
    int array ``(n_users, width)`` of item *indices*, best first. ``-1`` marks padding (a model that
    had fewer than ``width`` candidates). An item repeated within one row counts once (its first
    position); later copies are treated as padding.
``relevant``
    ``scipy.sparse`` matrix ``(n_users, n_items)`` whose row ``u`` holds the held-out items of the
    user in row ``u`` of ``recommended``. An entry is *relevant* when its value is ``> 0``; the value
    is the relevance *grade* (used by NDCG with ``graded=True``; everything else is binary).
``k``
    cut-off. ``None`` means ``recommended.shape[1]``. A narrower ``recommended`` is treated as padded
    up to ``k``; a wider one is truncated to its first ``k`` columns.

Conventions (``R_u`` = set of relevant items of user ``u``, ``rel_u(i)`` = 1 if the item at rank
``i`` (1-based) is relevant, ``hits_u = sum_{i<=k} rel_u(i)``):

* Precision@k = ``hits_u / k`` — padding counts as a miss, the denominator is always ``k``.
* Recall@k = ``hits_u / |R_u|`` — the plain definition, so a user with more than ``k`` relevant
  items cannot reach 1. (Some papers use ``min(|R_u|, k)``; we do that only for MAP and NDCG, whose
  ideal value must be 1.)
* AP@k = ``(1 / min(|R_u|, k)) * sum_{i<=k} Precision@i * rel_u(i)``; MAP@k is its mean.
  A perfect top-k list scores 1.
* NDCG@k = ``DCG@k / IDCG@k`` with ``DCG@k = sum_{i<=k} g_u(i) / log2(i + 1)``. Binary gain
  ``g = rel`` by default; with ``graded=True`` the gain is the grade itself (linear gain, as in
  scikit-learn's ``ndcg_score``). IDCG@k is the DCG of the user's ``min(|R_u|, k)`` best grades in
  descending order.
* MRR@k = ``1 / rank`` of the first relevant item within the top ``k``, 0 when there is none.
* HitRate@k = 1 if ``hits_u > 0`` else 0.

Averages are taken over the users (rows) with at least one relevant item; users with an empty
``R_u`` get NaN in per-user output and are left out of the mean. When no user has a relevant item the
mean is NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ml.evaluation.metrics.lists import as_recommended
from ml.utils.arrays import sorted_lookup

__all__ = [
    "RANKING_METRICS",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
]


def _as_relevant(relevant, n_rows: int) -> sp.csr_matrix:
    rel = sp.csr_matrix(relevant, dtype=np.float64, copy=True)
    if rel.shape[0] != n_rows:
        raise ValueError(f"relevant has {rel.shape[0]} rows but recommended has {n_rows}")
    rel.data[rel.data < 0] = 0.0
    rel.eliminate_zeros()
    rel.sum_duplicates()
    rel.sort_indices()
    return rel


def _gains(rec: np.ndarray, rel: sp.csr_matrix) -> np.ndarray:
    """Grade of each recommended item for its user (0 for misses and padding), shape of ``rec``."""
    n_users, k = rec.shape
    n_items = rel.shape[1]
    if rel.nnz == 0 or rec.size == 0:
        return np.zeros(rec.shape, dtype=np.float64)
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(rel.indptr))
    keys = rows * n_items + rel.indices.astype(np.int64)  # sorted: csr rows in order, indices sorted
    valid = (rec >= 0) & (rec < n_items)
    query = np.arange(n_users, dtype=np.int64)[:, None] * n_items + np.where(valid, rec, 0)
    pos = sorted_lookup(keys, query)
    found = valid & (pos >= 0)
    return np.where(found, rel.data[np.maximum(pos, 0)], 0.0)


def _n_relevant(rel: sp.csr_matrix) -> np.ndarray:
    return np.diff(rel.indptr).astype(np.float64)


def _with_nan(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64, copy=True)
    out[n_rel == 0] = np.nan
    return out


def _reduce(values: np.ndarray, per_user: bool):
    if per_user:
        return values
    valid = ~np.isnan(values)
    return float(values[valid].mean()) if valid.any() else float("nan")


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


# --------------------------------------------------------------------------------------------------
# Per-user ranking metrics from a precomputed gain matrix (used by both the single functions and
# ranking_metrics, so every metric has exactly one implementation).
# --------------------------------------------------------------------------------------------------
def _precision(hits: np.ndarray, rel: sp.csr_matrix, k: int) -> np.ndarray:
    return _with_nan(hits.sum(axis=1) / k, _n_relevant(rel))


def _recall(hits: np.ndarray, rel: sp.csr_matrix, k: int) -> np.ndarray:
    n_rel = _n_relevant(rel)
    return _with_nan(hits.sum(axis=1) / np.maximum(n_rel, 1.0), n_rel)


def _average_precision(hits: np.ndarray, rel: sp.csr_matrix, k: int) -> np.ndarray:
    n_rel = _n_relevant(rel)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    precision_at_i = np.cumsum(hits, axis=1) / ranks
    ap = (precision_at_i * hits).sum(axis=1) / np.maximum(np.minimum(n_rel, k), 1.0)
    return _with_nan(ap, n_rel)


def _ndcg(gains: np.ndarray, rel: sp.csr_matrix, k: int, graded: bool) -> np.ndarray:
    n_rel = _n_relevant(rel)
    disc = _discounts(k)
    if not graded:
        dcg = (gains > 0).astype(np.float64) @ disc
        ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
        idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    else:
        dcg = gains @ disc
        idcg = _ideal_dcg_graded(rel, k, disc)
    return _with_nan(dcg / np.where(idcg > 0, idcg, 1.0), n_rel)


def _ideal_dcg_graded(rel: sp.csr_matrix, k: int, disc: np.ndarray) -> np.ndarray:
    n_users = rel.shape[0]
    counts = np.diff(rel.indptr)
    rows = np.repeat(np.arange(n_users), counts)
    order = np.lexsort((-rel.data, rows))  # by row, then grade descending
    rank_in_row = np.arange(rel.nnz) - rel.indptr[rows]  # rows already sorted, order keeps rows
    keep = rank_in_row < k
    contrib = rel.data[order][keep] * disc[rank_in_row[keep]]
    return np.bincount(rows[keep], weights=contrib, minlength=n_users)


def _mrr(hits: np.ndarray, rel: sp.csr_matrix, k: int) -> np.ndarray:
    any_hit = hits.any(axis=1)
    first = np.argmax(hits > 0, axis=1)
    rr = np.where(any_hit, 1.0 / (first + 1.0), 0.0)
    return _with_nan(rr, _n_relevant(rel))


def _hit_rate(hits: np.ndarray, rel: sp.csr_matrix, k: int) -> np.ndarray:
    return _with_nan(hits.any(axis=1).astype(np.float64), _n_relevant(rel))


_BINARY: dict[str, Callable[[np.ndarray, sp.csr_matrix, int], np.ndarray]] = {
    "precision": _precision,
    "recall": _recall,
    "map": _average_precision,
    "mrr": _mrr,
    "hit_rate": _hit_rate,
}

#: Names of the ranking metrics computed by :func:`ranking_metrics`, in display order.
RANKING_METRICS: tuple[str, ...] = ("ndcg", "map", "recall", "precision", "mrr", "hit_rate")


def _binary_metric(name: str, recommended, relevant, k, per_user):
    rec, k = as_recommended(recommended, k)
    rel = _as_relevant(relevant, rec.shape[0])
    hits = (_gains(rec, rel) > 0).astype(np.float64)
    return _reduce(_BINARY[name](hits, rel, k), per_user)


def precision_at_k(recommended, relevant, k: int | None = None, *, per_user: bool = False):
    """Precision@k = hits in the top k / k (padding counts as a miss). See the module docstring."""
    return _binary_metric("precision", recommended, relevant, k, per_user)


def recall_at_k(recommended, relevant, k: int | None = None, *, per_user: bool = False):
    """Recall@k = hits in the top k / |relevant| (not capped at k). See the module docstring."""
    return _binary_metric("recall", recommended, relevant, k, per_user)


def map_at_k(recommended, relevant, k: int | None = None, *, per_user: bool = False):
    """MAP@k: mean of AP@k = sum_i P@i * rel(i) / min(|relevant|, k). See the module docstring."""
    return _binary_metric("map", recommended, relevant, k, per_user)


def mrr_at_k(recommended, relevant, k: int | None = None, *, per_user: bool = False):
    """MRR@k: mean of 1 / rank of the first hit within the top k (0 without a hit)."""
    return _binary_metric("mrr", recommended, relevant, k, per_user)


def hit_rate_at_k(recommended, relevant, k: int | None = None, *, per_user: bool = False):
    """HitRate@k: share of users with at least one hit in the top k."""
    return _binary_metric("hit_rate", recommended, relevant, k, per_user)


def ndcg_at_k(recommended, relevant, k: int | None = None, *, graded: bool = False, per_user: bool = False):
    """NDCG@k with log2(rank + 1) discount; binary gain, or the grade itself when ``graded``.

    IDCG@k uses the user's ``min(|relevant|, k)`` best grades, so a perfect list scores 1.
    """
    rec, k = as_recommended(recommended, k)
    rel = _as_relevant(relevant, rec.shape[0])
    return _reduce(_ndcg(_gains(rec, rel), rel, k, graded), per_user)


def ranking_metrics(
    recommended, relevant, k: int | None = None, *, graded: bool = False, per_user: bool = False
) -> dict[str, float | np.ndarray]:
    """All ranking metrics of :data:`RANKING_METRICS` in one pass over the gain matrix.

    Keys are ``"<name>@<k>"``; values are means over users with relevant items (or per-user arrays
    with NaN for the others when ``per_user``). ``n_users`` is the number of users averaged over.
    """
    rec, k = as_recommended(recommended, k)
    rel = _as_relevant(relevant, rec.shape[0])
    gains = _gains(rec, rel)
    hits = (gains > 0).astype(np.float64)
    out: dict[str, float | np.ndarray] = {f"ndcg@{k}": _reduce(_ndcg(gains, rel, k, graded), per_user)}
    for name in RANKING_METRICS[1:]:
        out[f"{name}@{k}"] = _reduce(_BINARY[name](hits, rel, k), per_user)
    if not per_user:
        out["n_users"] = int((_n_relevant(rel) > 0).sum())
    return out
