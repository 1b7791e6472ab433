"""Tables shared by every user's candidates, read from the database and kept in the cache.

* popularity: the time-decayed popularity of available items (``recommendations.serving.popularity.popularity_scores``),
  ranked globally and per category (trending sources, exploration pool, popularity feature); each actor counts
  once per item, event type and day, so repeated events cannot buy a place;
* new arrivals: available items created within ``settings.new_item_days`` with their tags;
* context affinity: how much more (or less) each category is used in a context (device, part of day).

Each is rebuilt by one process when stale (:func:`~recommendations.serving.cache.shared_table_get`).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from django.db.models import Count
from django.utils import timezone

from catalog.models import Item
from ml.utils.arrays import sorted_lookup
from recommendations.models import Event, RecommenderSettings
from recommendations.serving.cache import shared_table_clear, shared_table_get
from recommendations.serving.popularity import popularity_scores

logger = logging.getLogger(__name__)

POPULARITY_FRESH_SECONDS = 300
NEW_ARRIVALS_FRESH_SECONDS = 60
CONTEXT_FRESH_SECONDS = 900
POPULARITY_TOP = 20_000  # items kept in the table (the long tail has no trend to speak of)
PER_CATEGORY_TOP = 100
NEW_ARRIVALS_POOL = 500
DAYPARTS = {"night": range(6), "morning": range(6, 12), "afternoon": range(12, 18), "evening": range(18, 24)}


@dataclass(frozen=True)
class PopularityTable:
    item_ids: np.ndarray  # available items, most popular first
    scores: np.ndarray
    category_ids: np.ndarray
    created_ts: np.ndarray  # Unix seconds
    category_top: dict[int, np.ndarray]  # category -> positions into the arrays (most popular first)
    settings_version: int
    # (categories, PER_CATEGORY_TOP) positions, -1 padded: the same lists as category_top, for vectorized use
    top_categories: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    top_positions: np.ndarray = field(default_factory=lambda: np.zeros((0, PER_CATEGORY_TOP), dtype=np.int64))
    sorted_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sorter: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def max_score(self) -> float:
        return float(self.scores[0]) if len(self.scores) else 0.0

    def positions(self, item_ids: np.ndarray) -> np.ndarray:
        """Position of each id in the table (-1 for items not in it)."""
        return sorted_lookup(self.sorted_ids, np.asarray(item_ids, dtype=np.int64), self.sorter)

    def lookup(self, item_ids: np.ndarray) -> np.ndarray:
        """Popularity of each id (0 for items not in the table)."""
        position = self.positions(item_ids)
        return np.where(position >= 0, self.scores[np.maximum(position, 0)] if len(self.scores) else 0.0, 0.0).astype(np.float32)

    def normalized(self, item_ids: np.ndarray) -> np.ndarray:
        """log1p(popularity) / log1p(max): a [0, 1] popularity feature."""
        top = self.max_score
        if top <= 0:
            return np.zeros(len(item_ids), dtype=np.float32)
        return (np.log1p(self.lookup(item_ids)) / np.log1p(top)).astype(np.float32)


def _build_popularity(settings: RecommenderSettings) -> PopularityTable:
    try:
        scores = popularity_scores()
    except Exception:
        logger.exception("popularity unavailable")
        scores = {}
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:POPULARITY_TOP]
    meta: dict[int, tuple[int, float]] = {}
    ids = [item_id for item_id, _ in ranked]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for pk, category_id, created_at in Item.objects.filter(pk__in=chunk, is_active=True, in_stock=True).values_list(
            "pk", "category_id", "created_at"
        ):
            meta[pk] = (category_id, created_at.timestamp())
    kept = [(item_id, score) for item_id, score in ranked if item_id in meta]
    item_ids = np.asarray([item_id for item_id, _ in kept], dtype=np.int64)
    category_ids = np.asarray([meta[item_id][0] for item_id, _ in kept], dtype=np.int64)
    category_top: dict[int, np.ndarray] = {}
    if len(item_ids):
        order = np.argsort(category_ids, kind="stable")  # stable: keeps the popularity order inside a category
        bounds = np.flatnonzero(np.diff(category_ids[order])) + 1
        for group in np.split(order, bounds):
            category_top[int(category_ids[group[0]])] = group[:PER_CATEGORY_TOP]
    top_categories = np.asarray(sorted(category_top), dtype=np.int64)
    top_positions = np.full((len(top_categories), PER_CATEGORY_TOP), -1, dtype=np.int64)
    for row, category in enumerate(top_categories.tolist()):
        top_positions[row, : len(category_top[category])] = category_top[category]
    sorter = np.argsort(item_ids, kind="stable")
    return PopularityTable(
        item_ids=item_ids,
        scores=np.asarray([score for _, score in kept], dtype=np.float64),
        category_ids=category_ids,
        created_ts=np.asarray([meta[item_id][1] for item_id, _ in kept], dtype=np.float64),
        category_top=category_top,
        settings_version=settings.version,
        top_categories=top_categories,
        top_positions=top_positions,
        sorted_ids=item_ids[sorter],
        sorter=sorter,
    )


def popularity_table_get(*, settings: RecommenderSettings) -> PopularityTable:
    table = shared_table_get(
        f"popularity:s{settings.version}", lambda: _build_popularity(settings), fresh_seconds=POPULARITY_FRESH_SECONDS
    )
    return table


@dataclass(frozen=True)
class NewArrivals:
    item_ids: np.ndarray  # newest first
    category_ids: np.ndarray
    created_ts: np.ndarray
    tags: tuple[frozenset[str], ...]
    tag_vocabulary: dict[str, int] = field(default_factory=dict)
    tag_matrix: sp.csr_matrix | None = None  # (items, vocabulary) binary

    def tag_jaccard(self, tags: set[str]) -> np.ndarray:
        """Jaccard similarity of every pool item's tags with ``tags`` (vectorized)."""
        if self.tag_matrix is None or not tags or len(self.item_ids) == 0:
            return np.zeros(len(self.item_ids))
        known = [self.tag_vocabulary[tag] for tag in tags if tag in self.tag_vocabulary]
        intersection = np.asarray(self.tag_matrix[:, known].sum(axis=1)).ravel() if known else np.zeros(len(self.item_ids))
        sizes = np.diff(self.tag_matrix.indptr)
        union = sizes + len(tags) - intersection
        return np.divide(intersection, union, out=np.zeros(len(self.item_ids)), where=union > 0)


def _build_new_arrivals(new_item_days: int) -> NewArrivals:
    since = timezone.now() - dt.timedelta(days=new_item_days)
    rows = list(
        Item.objects.filter(is_active=True, in_stock=True, created_at__gte=since)
        .order_by("-created_at", "-id")
        .values_list("pk", "category_id", "created_at", "tags")[:NEW_ARRIVALS_POOL]
    )
    tags = tuple(frozenset(str(tag) for tag in row[3]) if isinstance(row[3], list) else frozenset() for row in rows)
    vocabulary = {tag: index for index, tag in enumerate(sorted(set().union(*tags)))} if tags else {}
    pairs = [(row, vocabulary[tag]) for row, item_tags in enumerate(tags) for tag in item_tags]
    matrix = sp.csr_matrix(
        (np.ones(len(pairs)), ([p[0] for p in pairs], [p[1] for p in pairs])), shape=(len(rows), max(len(vocabulary), 1))
    )
    return NewArrivals(
        item_ids=np.asarray([row[0] for row in rows], dtype=np.int64),
        category_ids=np.asarray([row[1] for row in rows], dtype=np.int64),
        created_ts=np.asarray([row[2].timestamp() for row in rows], dtype=np.float64),
        tags=tags,
        tag_vocabulary=vocabulary,
        tag_matrix=matrix,
    )


def new_arrivals_get(*, settings: RecommenderSettings) -> NewArrivals:
    return shared_table_get(
        f"new-arrivals:d{settings.new_item_days}",
        lambda: _build_new_arrivals(settings.new_item_days),
        fresh_seconds=NEW_ARRIVALS_FRESH_SECONDS,
    )


def daypart_of_hour(hour: int) -> str:
    for name, hours in DAYPARTS.items():
        if hour in hours:
            return name
    raise ValueError(f"hour must be 0-23, got {hour}")


def _build_context_affinity(*, device: str | None, daypart: str | None, window_days: int) -> dict[int, float]:
    since = timezone.now() - dt.timedelta(days=window_days)
    base = Event.objects.filter(timestamp__gte=since)
    in_context = base
    if device:
        in_context = in_context.filter(context__device=device)
    if daypart:
        hours = DAYPARTS[daypart]
        in_context = in_context.filter(context__local_hour__gte=hours.start, context__local_hour__lt=hours.stop)
    overall = dict(base.values_list("item__category_id").annotate(n=Count("id")).order_by())
    local = dict(in_context.values_list("item__category_id").annotate(n=Count("id")).order_by())
    n_overall, n_local = sum(overall.values()), sum(local.values())
    if n_local < 50 or n_overall == 0:  # too little evidence about this context: no effect
        return {}
    affinity = {}
    for category, count in overall.items():
        # log lift of the category's share in this context, smoothed and clipped to [-1, 1]
        lift = ((local.get(category, 0) + 1) / (n_local + len(overall))) / ((count + 1) / (n_overall + len(overall)))
        affinity[int(category)] = float(np.clip(np.log(lift), -1.0, 1.0))
    return affinity


def context_affinity_get(*, device: str | None, daypart: str | None, settings: RecommenderSettings) -> dict[int, float]:
    """Category -> lift in [-1, 1] for this context ({} without context or evidence)."""
    if not device and not daypart:
        return {}
    return shared_table_get(
        f"context:{device or '-'}:{daypart or '-'}",
        lambda: _build_context_affinity(device=device, daypart=daypart, window_days=settings.popularity_window_days),
        fresh_seconds=CONTEXT_FRESH_SECONDS,
    )


def shared_tables_clear(*, settings: RecommenderSettings) -> None:
    """Forget the shared tables (tests; after a bulk import)."""
    shared_table_clear(f"popularity:s{settings.version}")
    shared_table_clear(f"new-arrivals:d{settings.new_item_days}")
