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

from recommendations.events import Actor
from recommendations.models import Event, EventType, RecommenderSettings

PREFERENCES_TTL = 60
SESSION_PREFERENCES_KEY = "vitrine_preferences"
SESSION_PREFERENCES_MAX = 500
RECENT_EVENTS = 200  # how many of the actor's latest events shape real-time candidates
RECENT_ITEMS = 20
HISTORY_HALF_LIFE_DAYS = 7.0
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
    """The actor's recent behaviour, most recent first. Built from at most RECENT_EVENTS events."""

    recent_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # positive, distinct
    recent_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    interaction_types: dict[int, str] = field(default_factory=dict)  # strongest event type per item
    recent_categories: dict[int, int] = field(default_factory=dict)  # item -> category
    recent_tags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    negative_items: frozenset[int] = frozenset()  # skipped (net negative weight)
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
            "item_id", "event_type", "timestamp", "item__category_id", "item__tags", "created_at"
        )[:RECENT_EVENTS]
    )
    type_weights = settings.event_type_weights or {}
    item_weight: dict[int, float] = {}
    last_seen: dict[int, int] = {}
    strongest: dict[int, tuple[float, str]] = {}
    categories: dict[int, int] = {}
    tags: dict[int, tuple[str, ...]] = {}
    for order, (item_id, event_type, timestamp, category_id, item_tags, _) in enumerate(rows):
        weight = float(type_weights.get(event_type, 0.0))
        age_days = max((now - timestamp).total_seconds() / 86400.0, 0.0)
        item_weight[item_id] = item_weight.get(item_id, 0.0) + weight * 0.5 ** (age_days / HISTORY_HALF_LIFE_DAYS)
        last_seen.setdefault(item_id, order)
        categories[item_id] = category_id
        tags[item_id] = tuple(str(tag) for tag in (item_tags or [])[:20]) if isinstance(item_tags, list) else ()
        if weight > 0 and weight > strongest.get(item_id, (0.0, ""))[0]:
            strongest[item_id] = (weight, event_type)
    positive = sorted((item for item, weight in item_weight.items() if weight > 0), key=last_seen.__getitem__)
    negative = frozenset(item for item, weight in item_weight.items() if weight <= 0)
    recent = positive[:RECENT_ITEMS]
    affinity: dict[int, float] = {}
    for item in positive:
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
        interaction_types={item: strongest[item][1] for item in recent if item in strongest},
        recent_categories={item: categories[item] for item in recent},
        recent_tags={item: tags[item] for item in recent},
        negative_items=negative,
        exclude_items=frozenset(exclude),
        category_affinity=affinity,
        n_events=len(rows),
        latest_stored_ts=max(row[5] for row in rows).timestamp() if rows else None,
    )
