"""Stage 1: candidates. :func:`candidates_build` runs every source (:mod:`~recommendations.serving.sources`) and
merges them into one :class:`CandidateTable` (per-source scores scaled to [0.1, 1], 0 meaning "not from this
source"). It is cached per actor by the pipeline.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np

from catalog.models import Item
from ml.utils.arrays import minmax_scale, sorted_lookup
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import ActorHistory, PreferenceSnapshot
from recommendations.serving.sources import (
    POPULAR_K,
    SourceResult,
    favourite_categories,
    source_ann,
    source_catalog,
    source_explore,
    source_foldin,
    source_neighbours,
    source_new_arrivals,
    source_popular,
    source_trending,
)
from recommendations.serving.tables import NewArrivals, PopularityTable

logger = logging.getLogger(__name__)

SOURCES = ("ann", "foldin", "neighbours", "trending", "popular", "new_arrival", "explore", "catalog")
SOURCE_INDEX = {name: position for position, name in enumerate(SOURCES)}
PERSONAL, POPULAR, EXPLORE = 0, 1, 2
GROUPS = ("personal", "popular", "explore")
SOURCE_GROUP = np.array([PERSONAL, PERSONAL, PERSONAL, POPULAR, POPULAR, PERSONAL, EXPLORE, POPULAR], dtype=np.int64)


@dataclass
class CandidateTable:
    item_ids: np.ndarray  # (m,)
    category_ids: np.ndarray  # (m,)
    scores: np.ndarray  # (m, n_sources) in [0.1, 1]; 0 = not from this source
    evidence_items: np.ndarray  # (m, n_sources); -1 = none
    popularity: np.ndarray  # (m,) [0, 1]
    freshness: np.ndarray  # (m,) [0, 1]: 1 = created now, 0 = older than new_item_days
    affinity: np.ndarray  # (m,) the actor's share of interest in the item's category
    model_rows: np.ndarray  # (m,) model item index, -1 unknown
    interaction_types: dict[int, str] = field(default_factory=dict)  # recent item -> strongest event type
    model_version: int | None = None
    personalized: bool = False
    built_at: float = field(default_factory=time.time)
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.item_ids)

    _ROW_FIELDS = ("item_ids", "category_ids", "scores", "evidence_items", "popularity", "freshness", "affinity", "model_rows")

    def take(self, rows: np.ndarray) -> CandidateTable:
        """The table restricted to ``rows`` (an index array or a boolean mask), in that order."""
        return replace(self, **{name: getattr(self, name)[rows] for name in self._ROW_FIELDS})

    def extended(self, other: CandidateTable) -> CandidateTable:
        """This table's rows followed by ``other``'s (the caller keeps item ids distinct)."""
        return replace(
            self, **{name: np.concatenate([getattr(self, name), getattr(other, name)]) for name in self._ROW_FIELDS},
            interaction_types={**other.interaction_types, **self.interaction_types},
        )

    @classmethod
    def empty(cls) -> CandidateTable:
        m = 0
        return cls(
            item_ids=np.zeros(m, dtype=np.int64), category_ids=np.zeros(m, dtype=np.int64),
            scores=np.zeros((m, len(SOURCES)), dtype=np.float32), evidence_items=np.full((m, len(SOURCES)), -1, dtype=np.int64),
            popularity=np.zeros(m, dtype=np.float32), freshness=np.zeros(m, dtype=np.float32),
            affinity=np.zeros(m, dtype=np.float32), model_rows=np.full(m, -1, dtype=np.int64),
        )


def _scale(raw: np.ndarray) -> np.ndarray:
    """Min-max to [0.1, 1]: membership in a source always counts a little."""
    return minmax_scale(np.asarray(raw, dtype=np.float64), low=0.1).astype(np.float32)


# -------------------------------------------------------------------------------------------------- merge
def candidates_build(
    *,
    user_id: int | None,
    history: ActorHistory,
    prefs: PreferenceSnapshot,
    settings: RecommenderSettings,
    serving,
    table: PopularityTable,
    pool: NewArrivals,
    seed: int,
    now: float | None = None,
) -> CandidateTable:
    """Run every source and merge them into one table (the expensive step; cached per actor by the pipeline)."""
    now = time.time() if now is None else now
    personalized = prefs.personalization_enabled
    results, timings = _sources_run(
        user_id=user_id, history=history, prefs=prefs, settings=settings, serving=serving, table=table, pool=pool, seed=seed, now=now,
    )
    non_empty = {name: result for name, result in results.items() if len(result)}
    merged = candidates_merge(
        results=non_empty, table=table, pool=pool, history=history, settings=settings, serving=serving, now=now,
        personalized=personalized,
    )
    merged.personalized = personalized and (not history.is_empty or "ann" in non_empty)
    merged.timings = timings
    return merged


def candidates_merge(
    *,
    results: dict[str, SourceResult],
    table: PopularityTable,
    pool: NewArrivals,
    history: ActorHistory,
    settings: RecommenderSettings,
    serving,
    now: float,
    personalized: bool,
) -> CandidateTable:
    """Merge source results (name -> result) into one table; items unknown to the catalog or unavailable are dropped.

    Parameters
    ----------
    results
        Source name (one of :data:`SOURCES`) -> its items with raw scores; each source's scores are min-max
        scaled to [0.1, 1].
    table, pool
        The shared popularity table and new arrivals (most items' category and creation time; the database is
        asked for the rest).
    history
        The actor's history (category affinity, the verbs of reasons).
    now
        Unix seconds (freshness).
    personalized
        Whether the actor's category affinity is used (0 otherwise).

    Returns
    -------
    CandidateTable
        One row per distinct item, sorted by item id (``personalized`` left False: the caller decides).
    """
    non_empty = {name: result for name, result in results.items() if len(result)}
    if not non_empty:
        return CandidateTable.empty()
    all_ids = np.unique(np.concatenate([result.item_ids for result in non_empty.values()]))
    m, n_sources = len(all_ids), len(SOURCES)
    scores = np.zeros((m, n_sources), dtype=np.float32)
    evidence = np.full((m, n_sources), -1, dtype=np.int64)
    for name, result in non_empty.items():
        unique, first = np.unique(result.item_ids, return_index=True)  # a source lists an item once
        rows = np.searchsorted(all_ids, unique)
        column = SOURCE_INDEX[name]
        scores[rows, column] = _scale(result.scores)[first]
        if result.evidence_items is not None:
            evidence[rows, column] = result.evidence_items[first]

    category, created = _items_meta(item_ids=all_ids, table=table, pool=pool)
    keep = category >= 0  # unknown to the database or unavailable: dropped
    all_ids, category, created, scores, evidence = all_ids[keep], category[keep], created[keep], scores[keep], evidence[keep]

    horizon = max(settings.new_item_days, 1) * 86400.0
    freshness = np.clip(1.0 - (now - created) / horizon, 0.0, 1.0).astype(np.float32)
    affinity = np.asarray([history.category_affinity.get(c, 0.0) for c in category.tolist()], dtype=np.float32)
    if not personalized:
        affinity[:] = 0.0
    model_rows = np.full(len(all_ids), -1, dtype=np.int64)
    if serving is not None:
        model_rows = serving.model.item_map_.to_index(all_ids, missing="ignore")
    return CandidateTable(
        item_ids=all_ids,
        category_ids=category,
        scores=scores,
        evidence_items=evidence,
        popularity=table.normalized(all_ids),
        freshness=freshness,
        affinity=affinity,
        model_rows=model_rows,
        interaction_types=dict(history.interaction_types),
        model_version=serving.version_id if serving is not None else None,
    )


def _sources_run(
    *, user_id: int | None, history: ActorHistory, prefs: PreferenceSnapshot, settings: RecommenderSettings, serving,
    table: PopularityTable, pool: NewArrivals, seed: int, now: float,
) -> tuple[dict[str, SourceResult], dict[str, float]]:
    """The results of the sources that apply to this actor, and the seconds each took. A failing source is empty."""
    personalized = prefs.personalization_enabled
    exclude = set(history.exclude_items) | set(prefs.hidden_items)
    results: dict[str, SourceResult] = {}
    timings: dict[str, float] = {}

    def run(name: str, function) -> None:
        started = time.perf_counter()
        try:
            results[name] = function()
        except Exception:
            logger.exception("candidate source %s failed", name)
            results[name] = SourceResult.empty()
        timings[name] = time.perf_counter() - started

    if personalized and serving is not None:
        run("ann", lambda: source_ann(serving=serving, user_id=user_id))
        # Fold-in is the real-time path: for anonymous sessions and users the model does not know, and for
        # known users once they did something after the model was trained (their trained vector is stale).
        known_user = user_id is not None and user_id in serving.model.user_map_
        if not known_user or (history.latest_stored_ts is not None and history.latest_stored_ts > serving.trained_at.timestamp()):
            run("foldin", lambda: source_foldin(serving=serving, history=history, exclude=exclude))
    if personalized:
        run("neighbours", lambda: source_neighbours(serving=serving, history=history, table=table, exclude=exclude))
        run("trending", lambda: source_trending(table=table, categories=favourite_categories(history=history, prefs=prefs), exclude=exclude))
    run("popular", lambda: source_popular(table=table, exclude=exclude))
    run("new_arrival", lambda: source_new_arrivals(pool=pool, history=history, settings=settings, exclude=exclude, personalized=personalized, now=now))
    run("explore", lambda: source_explore(table=table, pool=pool, history=history if personalized else ActorHistory(), prefs=prefs,
                                          settings=settings, exclude=exclude, seed=seed))
    if len(table.item_ids) < POPULAR_K:
        run("catalog", lambda: source_catalog(exclude=exclude | set(table.item_ids.tolist()), k=POPULAR_K - len(table.item_ids)))
    return results, timings


def _items_meta(*, item_ids: np.ndarray, table: PopularityTable, pool: NewArrivals) -> tuple[np.ndarray, np.ndarray]:
    """Category (-1: unknown or unavailable) and creation time of each item: the shared tables know most items;
    the database is asked for the rest."""
    m = len(item_ids)
    category = np.full(m, -1, dtype=np.int64)
    created = np.full(m, np.nan)
    in_table = table.positions(item_ids)
    hit = in_table >= 0
    category[hit], created[hit] = table.category_ids[in_table[hit]], table.created_ts[in_table[hit]]
    if len(pool.item_ids):
        pool_sorter = np.argsort(pool.item_ids, kind="stable")
        in_pool = sorted_lookup(pool.item_ids[pool_sorter], np.asarray(item_ids, dtype=np.int64), pool_sorter)
        hit = (category < 0) & (in_pool >= 0)
        category[hit], created[hit] = pool.category_ids[in_pool[hit]], pool.created_ts[in_pool[hit]]
    unknown = item_ids[category < 0]
    if len(unknown):
        meta = {
            pk: (category_id, created_at.timestamp())
            for pk, category_id, created_at in Item.objects.filter(pk__in=unknown.tolist(), is_active=True, in_stock=True).values_list(
                "pk", "category_id", "created_at"
            )
        }
        for position in np.flatnonzero(category < 0).tolist():
            found = meta.get(int(item_ids[position]))
            if found is not None:
                category[position], created[position] = found
    return category, created
