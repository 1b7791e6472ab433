"""Intra-list diversity of the recommendations, by category or by embedding (ignore padding)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.evaluation.metrics.lists import as_recommended
from ml.utils.arrays import unit_rows

__all__ = ["intra_list_diversity_category", "intra_list_diversity_embedding"]

# Rows processed at once by the pairwise (k x k) beyond-accuracy metrics; bounds memory to
# roughly _PAIR_CHUNK * k * k floats.
_PAIR_CHUNK = 4096


def _pairwise_mean(recommended: np.ndarray, distance: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean over users (lists with >= 1 valid pair) of the mean distance over the list's pairs.

    ``distance(rec_chunk, valid_chunk)`` returns ``(d, pair_ok)``, both ``(rows, k, k)``.
    """
    rec, k = as_recommended(recommended, None)
    if k < 2:
        return float("nan")
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    totals, counts = [], []
    for start in range(0, rec.shape[0], _PAIR_CHUNK):
        chunk = rec[start : start + _PAIR_CHUNK]
        d, ok = distance(chunk, chunk >= 0)
        ok = ok & upper
        totals.append(np.where(ok, d, 0.0).sum(axis=(1, 2)))
        counts.append(ok.sum(axis=(1, 2)))
    total, count = np.concatenate(totals), np.concatenate(counts)
    keep = count > 0
    return float((total[keep] / count[keep]).mean()) if keep.any() else float("nan")


def intra_list_diversity_category(recommended: np.ndarray, item_categories: np.ndarray) -> float:
    """Intra-list diversity by category: share of item pairs in a list whose categories differ.

    For each list ``L_u`` take all unordered pairs ``{i, j}`` of recommended items whose categories
    are both known (code ``>= 0``); the list's diversity is the share of those pairs with different
    categories (0 = one category, 1 = all categories distinct). Averaged over lists with at least one
    such pair; NaN if none.
    """
    cats = np.asarray(item_categories, dtype=np.int64)

    def distance(chunk, valid):
        inside = valid & (chunk < cats.size)
        c = np.where(inside, cats[np.where(inside, chunk, 0)], -1) if cats.size else np.full(chunk.shape, -1)
        known = c >= 0
        return (c[:, :, None] != c[:, None, :]).astype(np.float64), known[:, :, None] & known[:, None, :]

    return _pairwise_mean(recommended, distance)


def intra_list_diversity_embedding(recommended: np.ndarray, embeddings: np.ndarray) -> float:
    """Intra-list diversity by embedding: mean pairwise cosine distance ``1 - cos(e_i, e_j)``.

    Averaged over the unordered pairs of each list, then over lists with at least two items. A
    zero vector has cosine 0 with everything (distance 1). Range [0, 2].
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n_items, dim), got shape {emb.shape}")
    if np.asarray(recommended).size and np.max(recommended) >= emb.shape[0]:
        raise ValueError(f"recommended item index {np.max(recommended)} outside embeddings of {emb.shape[0]} items")
    unit = unit_rows(emb, dtype=np.float64)

    def distance(chunk, valid):
        vecs = unit[np.where(valid, chunk, 0)]
        cos = np.einsum("nid,njd->nij", vecs, vecs)
        return 1.0 - cos, valid[:, :, None] & valid[:, None, :]

    return _pairwise_mean(recommended, distance)
