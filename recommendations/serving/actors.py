"""Who asks for recommendations: their controls (preferences) and their recent history, as serving needs them.

Preferences of a signed-in user are cached as a :class:`PreferenceSnapshot` under
``users.services.preferences_cache_key``; ``preferences_update`` deletes that key, so a change applies on the
next request. The snapshot also lives at most ``PREFERENCES_TTL`` seconds, which bounds the delay for
writes that bypass the service (the admin). Anonymous sessions keep their "not interested" choices in the
session itself (:data:`SESSION_PREFERENCES_KEY`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from ml.dataset import event_evidence, superseded_events
from recommendations.events import Actor
from recommendations.models import Event, EventType, RecommenderSettings
from recommendations.tuning import evidence_semantics

PREFERENCES_TTL = 60
SESSION_PREFERENCES_KEY = "vitrine_preferences"
SESSION_PREFERENCES_MAX = 500
RECENT_EVENTS = 200  # how many of the actor's latest events shape real-time candidates
RECENT_ITEMS = 20
HISTORY_HALF_LIFE_DAYS = 7.0
# An item with under a quarter of the strongest item's evidence (a 6 s dwell next to a like is 0.02 of it) is weak:
# it comes after the strong items, so it neither takes a fold-in slot from them nor becomes a reason in their place.
WEAK_EVIDENCE_SHARE = 0.25
DEFAULT_DIVERSITY_LEVEL = 0.5
DEFAULT_EXPLORATION_LEVEL = 0.2
INTERACTION_VERBS = {
    EventType.VIEW: "viewed",
    EventType.CLICK: "opened",
    EventType.ADD_TO_CART: "added to your cart",
    EventType.PURCHASE: "bought",
    EventType.LIKE: "liked",
    EventType.RATING: "rated",
    EventType.DWELL: "spent time on",
}


@dataclass(frozen=True)
class PreferenceSnapshot:
    excluded_categories: frozenset[int] = frozenset()
    hidden_items: frozenset[int] = frozenset()
    category_weights: dict[int, float] = field(default_factory=dict)
    diversity_level: float = DEFAULT_DIVERSITY_LEVEL
    exploration_level: float = DEFAULT_EXPLORATION_LEVEL
    personalization_enabled: bool = True

    @property
    def revision(self) -> str:
        """Changes whenever any field changes (part of the candidate cache key)."""
        payload = json.dumps(
            [sorted(self.excluded_categories), sorted(self.hidden_items), sorted(self.category_weights.items()),
             self.diversity_level, self.exploration_level, self.personalization_enabled]
        )
        return hashlib.blake2b(payload.encode(), digest_size=6).hexdigest()

    def with_changes(self, **changes) -> PreferenceSnapshot:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return PreferenceSnapshot(**values)


def preference_snapshot_get(*, actor: Actor, session=None) -> PreferenceSnapshot:
    """The controls of ``actor``: cached for users, read from the session for anonymous visitors."""
    if actor.user_id is None:
        data = session.get(SESSION_PREFERENCES_KEY, {}) if session is not None else {}
        return PreferenceSnapshot(
            excluded_categories=frozenset(int(c) for c in data.get("excluded_categories", [])),
            hidden_items=frozenset(int(i) for i in data.get("hidden_items", [])),
        )
    from users.services import preferences_cache_key

    key = preferences_cache_key(user_id=actor.user_id)
    cached = cache.get(key)
    if isinstance(cached, PreferenceSnapshot):
        return cached
    snapshot = _snapshot_from_db(user_id=actor.user_id)
    cache.set(key, snapshot, PREFERENCES_TTL)
    return snapshot


def _snapshot_from_db(*, user_id: int) -> PreferenceSnapshot:
    from users.models import Preferences

    preferences = Preferences.objects.filter(user_id=user_id).first()
    if preferences is None:
        return PreferenceSnapshot()
    through_categories = Preferences.excluded_categories.through.objects.filter(preferences_id=preferences.pk)
    through_items = Preferences.hidden_items.through.objects.filter(preferences_id=preferences.pk)
    weights = {}
    for key, value in (preferences.category_weights or {}).items():
        try:
            weights[int(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return PreferenceSnapshot(
        excluded_categories=frozenset(through_categories.values_list("category_id", flat=True)),
        hidden_items=frozenset(through_items.values_list("item_id", flat=True)),
        category_weights=weights,
        diversity_level=float(preferences.diversity_level),
        exploration_level=float(preferences.exploration_level),
        personalization_enabled=bool(preferences.personalization_enabled),
    )


@dataclass(frozen=True)
class ActorHistory:
    """The actor's recent behaviour as evidence (strongest first, see :func:`_history_evidence`). Built from at most
    RECENT_EVENTS events."""

    # positive, distinct: the strong items by recency, then the weak ones (WEAK_EVIDENCE_SHARE)
    recent_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    recent_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    interaction_types: dict[int, str] = field(default_factory=dict)  # strongest event type per item
    recent_categories: dict[int, int] = field(default_factory=dict)  # item -> category
    recent_tags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    negative_items: frozenset[int] = frozenset()  # net evidence < 0: skipped, rated below neutral, "not interested"
    # never recommended: skipped items, plus purchased (settings.exclude_purchased) and everything interacted
    # with (settings.exclude_viewed)
    exclude_items: frozenset[int] = frozenset()
    category_affinity: dict[int, float] = field(default_factory=dict)  # share of positive weight, sums to 1
    n_events: int = 0
    latest_stored_ts: float | None = None  # when the newest of these events was stored (Unix time)

    @property
    def is_empty(self) -> bool:
        return len(self.recent_items) == 0


def actor_history_get(*, actor: Actor, settings: RecommenderSettings, now: dt.datetime | None = None) -> ActorHistory:
    """Read the actor's latest events (one indexed query, two more for exclusion rules when configured)."""
    now = now or timezone.now()
    events = Event.objects.all()
    if actor.user_id is not None:
        events = events.filter(user_id=actor.user_id)
    else:
        events = events.filter(user__isnull=True, session_key=actor.session_key)
    rows = list(
        events.order_by("-timestamp", "-id").values_list(
            "item_id", "event_type", "value", "timestamp", "item__category_id", "item__tags", "created_at"
        )[:RECENT_EVENTS]
    )
    evidence = _history_evidence(rows=rows, settings=settings, now=now)
    item_weight = dict(zip(evidence.items.tolist(), evidence.weights.tolist(), strict=True))
    categories = {row[0]: row[4] for row in rows}
    tags = {row[0]: tuple(str(tag) for tag in (row[5] or [])[:20]) if isinstance(row[5], list) else () for row in rows}
    positive = evidence.items[evidence.weights > 0]
    negative = frozenset(evidence.items[evidence.weights < 0].tolist())  # 0 (a glance, a neutral rating): neither
    recent = positive[:RECENT_ITEMS].tolist()
    affinity: dict[int, float] = {}
    for item in positive.tolist():
        affinity[categories[item]] = affinity.get(categories[item], 0.0) + item_weight[item]
    total = sum(affinity.values())
    affinity = {category: value / total for category, value in affinity.items()} if total > 0 else {}

    exclude = set(negative)
    if settings.exclude_viewed:
        exclude.update(item_weight)
    elif settings.exclude_purchased:
        exclude.update(item for item, event_type, *_ in rows if event_type == EventType.PURCHASE)
    if len(rows) == RECENT_EVENTS and (settings.exclude_purchased or settings.exclude_viewed):
        older = events  # a long history: older purchases / views need their own (indexed) query
        if not settings.exclude_viewed:
            older = older.filter(event_type=EventType.PURCHASE)
        exclude.update(older.order_by("-timestamp").values_list("item_id", flat=True)[:5000])
    return ActorHistory(
        recent_items=np.asarray(recent, dtype=np.int64),
        recent_weights=np.asarray([item_weight[item] for item in recent], dtype=np.float32),
        interaction_types={item: evidence.strongest[item] for item in recent if item in evidence.strongest},
        recent_categories={item: categories[item] for item in recent},
        recent_tags={item: tags[item] for item in recent},
        negative_items=negative,
        exclude_items=frozenset(exclude),
        category_affinity=affinity,
        n_events=len(rows),
        latest_stored_ts=max(row[6] for row in rows).timestamp() if rows else None,
    )


@dataclass(frozen=True)
class HistoryEvidence:
    """Per item of a history: net evidence, strongest first (see :func:`_history_evidence`)."""

    items: np.ndarray  # int64, distinct; strong positive items first (by recency), then weak ones, then the rest
    weights: np.ndarray  # float64, net decayed evidence per item
    strongest: dict[int, str]  # item -> the event type of its strongest positive evidence (the verb of a reason)


def _history_evidence(*, rows: list[tuple], settings: RecommenderSettings, now: dt.datetime) -> HistoryEvidence:
    """The actor's events (newest first) as evidence per item, the way training reads them.

    Each event weighs its signed evidence (:func:`ml.dataset.event_evidence`: a rating below the neutral point is
    negative, a dwell under the minimum is nothing), decayed with ``HISTORY_HALF_LIFE_DAYS``; superseded events
    (an earlier rating of the item, anything before a negative latest opinion) count nothing. Items whose net
    evidence is under ``WEAK_EVIDENCE_SHARE`` of the strongest item's come after the strong ones, so that a
    scroll of short dwells cannot push a like out of the fold-in window or become its reason.
    """
    if not rows:
        return HistoryEvidence(np.zeros(0, dtype=np.int64), np.zeros(0), {})
    items = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    types = np.asarray([row[1] for row in rows], dtype=str)
    values = np.fromiter((np.nan if row[2] is None else row[2] for row in rows), np.float64, len(rows))
    seconds = np.fromiter((row[3].timestamp() for row in rows), np.float64, len(rows))
    semantics = evidence_semantics(settings=settings)
    evidence = event_evidence(types, values, type_weights=settings.event_type_weights or {}, semantics=semantics)
    # rows come newest first; superseded_events breaks timestamp ties by row order, oldest first
    evidence[superseded_events(items[::-1], seconds[::-1], types[::-1], evidence[::-1], semantics=semantics)[::-1]] = 0.0
    age_days = np.maximum(now.timestamp() - seconds, 0.0) / 86400.0
    decayed = evidence * np.exp2(-age_days / HISTORY_HALF_LIFE_DAYS)
    unique, first, inverse = np.unique(items, return_index=True, return_inverse=True)  # first = most recent row
    net = np.bincount(inverse, weights=decayed, minlength=len(unique))
    weak = net < WEAK_EVIDENCE_SHARE * max(float(net.max()), 0.0)
    order = np.lexsort((first, weak, net <= 0))
    # strongest positive event type per item: the event with the largest (undecayed) evidence
    by_strength = np.lexsort((-evidence, inverse))
    top = by_strength[np.r_[0, np.flatnonzero(np.diff(inverse[by_strength])) + 1]]
    strongest = {int(unique[inverse[row]]): str(types[row]) for row in top.tolist() if evidence[row] > 0}
    return HistoryEvidence(unique[order], net[order], strongest)
