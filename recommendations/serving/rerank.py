"""Stage 3: rules and re-ranking, on top of ``ml.rerank``.

Hard rules first (a candidate that breaks one is removed, whatever its score): the user's hidden items and
excluded categories, categories weighted 0, items already served in this feed session. (Availability and the
seen / purchased exclusions are applied when candidates are built and re-checked against the database for
the final page.) Then the user's category weights multiply the relevance, and ``ml.rerank.rerank`` fills the
page: slots per group from the feed mix (personal / popular / explore), MMR with
``effective_lambda(admin mmr_lambda, user diversity_level)``, the admin's per-category cap.

Exploration share of a page = ``feed_explore_share * exploration_level / 0.2`` (capped at 0.5): the admin's
share at the default level 0.2, none at level 0. Personal slots give up what exploration takes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.rerank import RerankConfig, effective_lambda, rerank
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import DEFAULT_EXPLORATION_LEVEL, PreferenceSnapshot
from recommendations.serving.candidates import (
    EXPLORE,
    GROUPS,
    PERSONAL,
    POPULAR,
    SOURCE_GROUP,
    SOURCE_INDEX,
    CandidateTable,
)
from recommendations.serving.ranking import SOURCE_WEIGHTS

MAX_EXPLORE_SHARE = 0.5


@dataclass(frozen=True)
class PagePlan:
    rows: np.ndarray  # rows of the candidate table, in page order
    sources: np.ndarray  # the source (index into SOURCES) that produced each pick
    relevance: np.ndarray  # relevance of each pick after category weights
    mmr_lambda: float
    shares: tuple[float, float, float]


def feed_shares(*, settings: RecommenderSettings, prefs: PreferenceSnapshot, personalized: bool) -> tuple[float, float, float]:
    """(personal, popular, explore) slot shares for this user."""
    explore = settings.feed_explore_share * prefs.exploration_level / DEFAULT_EXPLORATION_LEVEL
    explore = float(np.clip(explore, 0.0, MAX_EXPLORE_SHARE))
    popular = float(np.clip(settings.feed_popular_share, 0.0, 1.0 - explore))
    personal = max(0.0, 1.0 - popular - explore)
    if not personalized:
        popular, personal = popular + personal, 0.0
    return personal, popular, explore


def allowed_mask(*, table: CandidateTable, prefs: PreferenceSnapshot, served: set[int] | frozenset[int]) -> np.ndarray:
    """Hard rules: never a hidden item, an excluded or zero-weighted category, or an item served in this feed."""
    mask = np.ones(len(table), dtype=bool)
    blocked_items = set(prefs.hidden_items) | set(served)
    if blocked_items:
        mask &= ~np.isin(table.item_ids, np.fromiter(blocked_items, dtype=np.int64, count=len(blocked_items)))
    blocked_categories = set(prefs.excluded_categories) | {c for c, w in prefs.category_weights.items() if w <= 0}
    if blocked_categories:
        mask &= ~np.isin(table.category_ids, np.fromiter(blocked_categories, dtype=np.int64, count=len(blocked_categories)))
    return mask


def page_plan(
    *,
    table: CandidateTable,
    relevance: np.ndarray,
    prefs: PreferenceSnapshot,
    settings: RecommenderSettings,
    served: set[int] | frozenset[int],
    n: int,
    embeddings: np.ndarray | None = None,
) -> PagePlan:
    """Choose the page: rows of ``table`` in order (at most ``n``)."""
    shares = feed_shares(settings=settings, prefs=prefs, personalized=table.personalized)
    lam = effective_lambda(settings.mmr_lambda, prefs.diversity_level)
    mask = allowed_mask(table=table, prefs=prefs, served=served)
    rows = np.flatnonzero(mask)
    if len(rows) == 0 or n <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return PagePlan(empty, empty, np.zeros(0, dtype=np.float32), lam, shares)
    rel = np.asarray(relevance, dtype=np.float64)[rows]
    if prefs.category_weights:
        rel = rel * np.asarray([prefs.category_weights.get(c, 1.0) for c in table.category_ids[rows].tolist()])
    # Exploration slots rank the pool by its own score (popular or random, per exploration_rate), plus a little of
    # the candidate's relevance; the other slots by relevance.
    explore_score = table.scores[rows, SOURCE_INDEX["explore"]].astype(np.float64)
    top = rel.max() if len(rel) and rel.max() > 0 else 1.0
    by_group = np.column_stack([rel, rel, explore_score + 0.3 * rel / top])
    # A candidate may fill a slot of every group one of its sources belongs to (an item found both by the
    # model and by the exploration pool can fill an exploration slot); the reason then comes from that group.
    present = table.scores[rows] > 0
    membership = np.zeros((len(rows), len(GROUPS)), dtype=bool)
    for group in range(len(GROUPS)):
        membership[:, group] = present[:, group == SOURCE_GROUP].any(axis=1)
    if not table.personalized:
        membership[:, POPULAR] |= membership[:, PERSONAL]
        membership[:, PERSONAL] = False
    if shares[EXPLORE] == 0:  # exploration off: exploration-only candidates are not shown at all
        membership[:, EXPLORE] = False
    keep = membership.any(axis=1)
    rows, rel, by_group, membership = rows[keep], rel[keep], by_group[keep], membership[keep]
    fallback = (PERSONAL, POPULAR) + ((EXPLORE,) if shares[EXPLORE] > 0 else ())
    vectors = None
    if embeddings is not None and len(rows):
        model_rows = table.model_rows[rows]
        vectors = np.zeros((len(rows), embeddings.shape[1]), dtype=np.float32)
        known = model_rows >= 0
        vectors[known] = embeddings[model_rows[known]]
    picks, pick_groups = rerank(
        by_group,
        table.category_ids[rows],
        RerankConfig(n=n, mmr_lambda=lam, category_cap=settings.category_cap or None, shares=shares, fallback=fallback),
        groups=membership,
        embeddings=vectors,
    )
    chosen = rows[picks]
    sources = sources_in_groups(table=table, rows=chosen, groups=pick_groups)
    return PagePlan(chosen, sources, rel[picks].astype(np.float32), lam, shares)


def sources_in_groups(*, table: CandidateTable, rows: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The source that put each candidate into a slot of its group: its largest weighted score in that group."""
    source_group = np.broadcast_to(SOURCE_GROUP, (len(rows), len(SOURCE_GROUP)))
    if not table.personalized:
        source_group = np.where(source_group == PERSONAL, POPULAR, source_group)
    scores = table.scores[rows]
    weighted = np.where((source_group == groups[:, None]) & (scores > 0), scores * SOURCE_WEIGHTS, -np.inf)
    return np.argmax(weighted, axis=1).astype(np.int64)
