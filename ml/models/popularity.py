"""Non-personalized and lightly personalized popularity baselines.

* ``pop`` -- global popularity: distinct users per item (``by="users"``) or
  summed interaction weight (``by="weight"``).
* ``pop_category`` -- popularity re-weighted by the user's preferred categories:
  ``score(u, i) = (pref_u[cat(i)] + global_weight) * pop(i) / max(pop)`` where
  ``pref_u`` is the share of the user's interaction weight in each category,
  restricted to their ``n_categories`` top categories.  Without item categories
  it reduces to global popularity.
* ``trending`` -- time-decayed event counts: each positive event contributes
  ``0.5 ** (age_days / half_life_days)`` (times its weight with
  ``use_weights=True``), ages measured from the latest event in the log.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from ml.dataset import SECONDS_PER_DAY, Interactions
from ml.models.base import Recommender
from ml.models.registry import register

__all__ = ["PopularityRecommender", "CategoryPopularityRecommender", "TrendingRecommender"]


def _popularity(dataset: Interactions, by: str) -> np.ndarray:
    if by == "users":
        return dataset.item_counts().astype(np.float32)
    return np.asarray(dataset.matrix.sum(axis=0), dtype=np.float32).ravel()


class _StaticScores(Recommender):
    """Shared scoring for models whose item scores do not depend on the user."""

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        s = self.item_scores_ if item_indices is None else self.item_scores_[item_indices]
        return np.tile(s, (history.shape[0], 1))

    def _score_users(self, user_indices: np.ndarray, item_indices: np.ndarray | None = None) -> np.ndarray:
        s = self.item_scores_ if item_indices is None else self.item_scores_[item_indices]
        return np.tile(s, (len(user_indices), 1))


@register("pop")
class PopularityRecommender(_StaticScores):
    """Global most-popular items."""

    def __init__(self, *, by: Literal["users", "weight"] = "users"):
        self.by = by

    def _validate_params(self) -> None:
        if self.by not in ("users", "weight"):
            raise ValueError("by must be 'users' or 'weight'")

    def _fit(self, dataset: Interactions) -> None:
        self.item_scores_ = _popularity(dataset, self.by)


@register("trending")
class TrendingRecommender(_StaticScores):
    """Time-decayed popularity (needs the event log; without one: plain popularity)."""

    def __init__(self, *, half_life_days: float = 7.0, use_weights: bool = False):
        self.half_life_days = half_life_days
        self.use_weights = use_weights

    def _validate_params(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError("half_life_days must be > 0")

    def _fit(self, dataset: Interactions) -> None:
        if dataset.log is None or len(dataset.log) == 0:
            self.item_scores_ = _popularity(dataset, "weight" if self.use_weights else "users")
            self.reference_time_ = None
            return
        log = dataset.log.positive()
        now = float(log.timestamp.max()) if len(log) else 0.0
        decay = np.exp2(-(now - log.timestamp) / (SECONDS_PER_DAY * float(self.half_life_days)))
        w = decay * log.weight if self.use_weights else decay
        self.item_scores_ = np.bincount(log.item_index, weights=w, minlength=dataset.n_items).astype(np.float32)
        self.reference_time_ = now


@register("pop_category")
class CategoryPopularityRecommender(Recommender):
    """Popular items from the user's favourite categories."""

    def __init__(
        self,
        *,
        by: Literal["users", "weight"] = "users",
        n_categories: int = 3,
        global_weight: float = 0.05,
    ):
        self.by = by
        self.n_categories = n_categories
        self.global_weight = global_weight

    def _validate_params(self) -> None:
        if self.by not in ("users", "weight"):
            raise ValueError("by must be 'users' or 'weight'")
        if self.n_categories < 1:
            raise ValueError("n_categories must be >= 1")
        if self.global_weight < 0:
            raise ValueError("global_weight must be >= 0")

    def _fit(self, dataset: Interactions) -> None:
        pop = _popularity(dataset, self.by)
        self.item_scores_ = pop / max(float(pop.max(initial=0.0)), 1e-12)
        cats = None if dataset.item_features is None else dataset.item_features.category
        if cats is None:
            codes = np.full(dataset.n_items, -1, dtype=np.int64)
        else:
            known = cats >= 0
            uniq, inv = np.unique(cats[known], return_inverse=True)
            codes = np.full(dataset.n_items, -1, dtype=np.int64)
            codes[known] = inv.reshape(-1)
        self.item_category_ = codes
        self.n_category_codes_ = int(codes.max(initial=-1) + 1)

    def _category_matrix(self) -> sp.csr_matrix:
        onehot = self._cache.get("onehot")
        if onehot is None:
            known = np.flatnonzero(self.item_category_ >= 0)
            onehot = sp.csr_matrix(
                (np.ones(len(known), np.float32), (known, self.item_category_[known])),
                shape=(len(self.item_category_), max(self.n_category_codes_, 1)),
            )
            self._cache["onehot"] = onehot
        return onehot

    def category_preferences(self, history: sp.csr_matrix) -> np.ndarray:
        """Rows: share of weight per category code, only the top ``n_categories`` kept."""
        pref = np.asarray((sp.csr_matrix(history) @ self._category_matrix()).toarray(), dtype=np.float32)
        n_cat = pref.shape[1]
        if self.n_categories < n_cat:
            # top categories by weight, ties to the lower code (deterministic)
            order = np.lexsort((np.arange(n_cat)[None, :].repeat(len(pref), 0), -pref), axis=1)
            rank = np.empty_like(order)
            np.put_along_axis(rank, order, np.arange(n_cat)[None, :].repeat(len(pref), 0), axis=1)
            pref = np.where(rank < self.n_categories, pref, 0.0)
        total = pref.sum(axis=1, keepdims=True)
        return np.divide(pref, total, out=np.zeros_like(pref), where=total > 0)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        items = np.arange(len(self.item_category_)) if item_indices is None else item_indices
        pref = self.category_preferences(history)
        pref = np.concatenate([pref, np.zeros((len(pref), 1), np.float32)], axis=1)  # column -1 = unknown
        cat = self.item_category_[items]
        return ((pref[:, cat] + np.float32(self.global_weight)) * self.item_scores_[items]).astype(np.float32)
