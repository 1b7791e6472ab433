"""The "Popular now" ranking (time-decayed popularity from real events) and "Customers also bought"."""
import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import Item
from recommendations.models import Event, EventType
from recommendations.tuning import recommender_settings_get

POPULAR_CACHE_SECONDS = 300


def _distinct_actors() -> Count:
    """Distinct signed-in shoppers of a group of events.

    Anonymous sessions do not count: any client makes a new one with each cookieless request, so counting them
    would let a script buy popularity one "visitor" at a time (accounts cost a throttled sign-up).
    """
    return Count("user_id", distinct=True)


@dataclass(frozen=True)
class PopularItem:
    item: Item
    score: float


def popularity_scores(*, category_ids: list[int] | None = None, now: dt.datetime | None = None) -> dict[int, float]:
    """Time-decayed popularity per item id: sum over (type, day) of actors x type weight x 0.5 ** (age / half-life).

    Each signed-in shopper counts at most once per item, event type and day: repeating an event cannot push an
    item up, only more people doing it can; anonymous sessions do not count (see ``_distinct_actors``). Events are aggregated in SQL by (item, type,
    day) over the settings' window, counting distinct actors, so the cost is one grouped query whatever the
    number of events; the decay is applied per day bucket with numpy (day granularity).
    """
    settings = recommender_settings_get()
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.popularity_window_days)
    queryset = Event.objects.filter(timestamp__gte=since, timestamp__lte=now, user__isnull=False)
    if category_ids is not None:
        queryset = queryset.filter(item__category_id__in=category_ids)
    rows = list(
        queryset.annotate(day=TruncDate("timestamp"))
        .values_list("item_id", "event_type", "day")
        .annotate(n=_distinct_actors())
        .order_by()
    )
    if not rows:
        return {}
    item_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    weights = settings.event_type_weights
    type_weight = np.fromiter((weights.get(row[1], 0.0) for row in rows), dtype=np.float64, count=len(rows))
    today = now.date()
    age_days = np.fromiter(((today - row[2]).days + 0.5 for row in rows), dtype=np.float64, count=len(rows))
    counts = np.fromiter((row[3] for row in rows), dtype=np.float64, count=len(rows))
    half_life_days = settings.popularity_half_life_hours / 24.0
    contribution = counts * type_weight * np.power(0.5, np.maximum(age_days, 0) / half_life_days)
    unique_ids, inverse = np.unique(item_ids, return_inverse=True)
    totals = np.bincount(inverse, weights=contribution)
    return {int(item_id): float(score) for item_id, score in zip(unique_ids, totals, strict=True) if score > 0}


def popular_items(*, limit: int = 12, category_ids: list[int] | None = None) -> list[PopularItem]:
    """The most popular available items now (cached for a few minutes; the ranking is global, not per user)."""
    cache_key = f"popular:v1:{','.join(map(str, sorted(category_ids))) if category_ids else 'all'}"
    ranked: list[tuple[int, float]] | None = cache.get(cache_key)
    if ranked is None:
        scores = popularity_scores(category_ids=category_ids)
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:500]
        cache.set(cache_key, ranked, POPULAR_CACHE_SECONDS)
    top_ids = [item_id for item_id, _ in ranked]
    items = Item.objects.select_related("category").in_bulk(top_ids[: limit * 3])
    result = []
    for item_id, score in ranked:
        item = items.get(item_id)
        if item is not None and item.is_available:
            result.append(PopularItem(item=item, score=score))
        if len(result) >= limit:
            break
    if len(result) < limit:
        # Not enough history yet (fresh shop): fill with the newest available items.
        taken = {entry.item.pk for entry in result}
        filler = Item.objects.filter(is_active=True, in_stock=True).exclude(pk__in=taken).select_related("category")
        if category_ids is not None:
            filler = filler.filter(category_id__in=category_ids)
        result.extend(PopularItem(item=item, score=0.0) for item in filler.order_by("-created_at")[: limit - len(result)])
    return result


def items_also_bought(*, item_id: int, limit: int = 8) -> list[Item]:
    """"Customers also bought": available items most purchased by the users who purchased ``item_id``.

    One aggregate query: the buyers are a subquery, the items are grouped and counted by distinct buyer
    (ties: most recent id first). Anonymous sessions' purchases are not linked across visits, so only signed-in
    buyers count.
    """
    buyers = Event.objects.filter(item_id=item_id, event_type=EventType.PURCHASE, user__isnull=False).values("user_id")
    return list(
        Item.objects.filter(
            is_active=True, in_stock=True, events__event_type=EventType.PURCHASE, events__user_id__in=buyers
        )
        .exclude(pk=item_id)
        .annotate(buyers=Count("events__user_id", distinct=True))
        .select_related("category")
        .order_by("-buyers", "-pk")[:limit]
    )


def popularity_refresh() -> int:
    """Recompute the global time-decayed popularity ranking and store it in the cache.

    Returns how many items have a positive score. Harmless to run twice.
    """
    scores = popularity_scores()
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:500]
    cache.set("popular:v1:all", ranked, POPULAR_CACHE_SECONDS)
    return len(scores)
