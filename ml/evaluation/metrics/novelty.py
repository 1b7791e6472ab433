"""Novelty and popularity bias of the recommendations (ignore padding)."""

from __future__ import annotations

import numpy as np

from ml.evaluation.metrics.lists import as_recommended

__all__ = ["arp", "novelty"]


def _list_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean over users (with a non-empty list) of the mean over their list."""
    n = mask.sum(axis=1)
    keep = n > 0
    if not keep.any():
        return float("nan")
    per_user = np.where(mask, values, 0.0).sum(axis=1)[keep] / n[keep]
    return float(per_user.mean())


def novelty(recommended: np.ndarray, popularity: np.ndarray, n_train_users: int) -> float:
    """Mean self-information of the recommended items (Zhou et al., 2010).

    ``novelty = mean_u mean_{i in L_u} -log2 p(i)`` with ``p(i) = pop(i) / n_train_users`` the share
    of train users who interacted with ``i`` (``pop`` from :func:`item_popularity`). Items without
    train interactions are counted as if one user had them (``p = 1 / n_train_users``) so the value
    stays finite. Higher = less popular, more novel items.
    """
    rec, _ = as_recommended(recommended, None)
    pop = np.asarray(popularity, dtype=np.float64)
    if n_train_users <= 0:
        raise ValueError("n_train_users must be positive")
    mask = (rec >= 0) & (rec < pop.size)
    p = np.maximum(pop[np.where(mask, rec, 0)], 1.0) / n_train_users
    return _list_mean(-np.log2(p), mask)


def arp(recommended: np.ndarray, popularity: np.ndarray) -> float:
    """Average Recommended Popularity (Abdollahpouri et al., 2019).

    ``ARP = mean_u mean_{i in L_u} pop(i)`` with ``pop(i)`` the number of train users who interacted
    with ``i`` (:func:`item_popularity`). Lower = less popularity bias.
    """
    rec, _ = as_recommended(recommended, None)
    pop = np.asarray(popularity, dtype=np.float64)
    mask = (rec >= 0) & (rec < pop.size)
    return _list_mean(pop[np.where(mask, rec, 0)], mask)
