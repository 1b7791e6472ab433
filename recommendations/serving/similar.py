"""Items similar to an item: the model's neighbours, or content similarity (tags, category, popularity)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from catalog.models import Item
from recommendations.events import Actor
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import PreferenceSnapshot, preference_snapshot_get
from recommendations.serving.cache import KEY_PREFIX
from recommendations.serving.cards import catalog_revision_get, item_cards_get
from recommendations.serving.decide import SPARE, RecommendedItem
from recommendations.serving.explanations import Reason, reason_render
from recommendations.serving.impressions import ImpressionRow, impressions_log
from recommendations.serving.model import active_serving_model
from recommendations.serving.pipeline import MAX_N, serving_settings_get
from recommendations.serving.tables import new_arrivals_get, popularity_table_get

SIMILAR_CANDIDATES = 100
SIMILAR_TTL = 600


@dataclass
class SimilarPage:
    request_id: str
    item: Item
    items: list[RecommendedItem]
    model_version: int | None
    degraded: bool


def _similar_candidates(*, item: Item, serving, settings: RecommenderSettings) -> list[tuple[int, float, str]]:
    """(item id, score, explanation type) for ``item``: the model's neighbours, or content similarity."""
    version = serving.version_id if serving is not None else 0
    key = f"{KEY_PREFIX}:similar:m{version}:{item.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    result: list[tuple[int, float, str]] = []
    if serving is not None and item.pk in serving.model.item_map_:
        ids, scores = serving.model.similar_items([item.pk], SIMILAR_CANDIDATES)
        result = [(int(i), float(s), "similar_item") for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and np.isfinite(s)]
    if not result:
        # Content similarity: the category's popular items and new arrivals, scored by shared tags + popularity.
        table = popularity_table_get(settings=settings)
        pool = new_arrivals_get(settings=settings)
        ids = table.item_ids[table.category_top.get(item.category_id, np.zeros(0, dtype=np.int64))].tolist()
        ids += pool.item_ids[pool.category_ids == item.category_id].tolist()
        ids += list(Item.objects.filter(category_id=item.category_id, is_active=True, in_stock=True).exclude(pk__in=ids)
                    .order_by("-created_at").values_list("pk", flat=True)[:SIMILAR_CANDIDATES])
        tags = set(item.tags or []) if isinstance(item.tags, list) else set()
        other_tags = dict(Item.objects.filter(pk__in=ids).values_list("pk", "tags"))
        popularity = table.normalized(np.asarray(ids, dtype=np.int64)) if ids else np.zeros(0)
        for pk, pop in zip(ids, popularity, strict=True):
            if pk == item.pk:
                continue
            theirs = set(other_tags.get(pk) or []) if isinstance(other_tags.get(pk), list) else set()
            jaccard = len(tags & theirs) / len(tags | theirs) if tags | theirs else 0.0
            result.append((int(pk), 0.6 * jaccard + 0.4 * float(pop), "similar_content"))
        result = sorted(dict((r[0], r) for r in result).values(), key=lambda r: (-r[1], r[0]))[:SIMILAR_CANDIDATES]
    cache.set(key, result, SIMILAR_TTL)
    return result


def similar_items_get(*, item: Item, actor: Actor | None, n: int = 10, session=None, log: bool = True) -> SimilarPage:
    """Items similar to ``item`` that are available and allowed by the actor's controls."""
    n = max(1, min(int(n), MAX_N))
    settings = serving_settings_get()
    serving = active_serving_model()
    prefs = preference_snapshot_get(actor=actor, session=session) if actor is not None else PreferenceSnapshot()
    candidates = _similar_candidates(item=item, serving=serving, settings=settings)
    blocked_categories = set(prefs.excluded_categories) | {c for c, w in prefs.category_weights.items() if w <= 0}
    ids = [pk for pk, _, _ in candidates if pk not in prefs.hidden_items]
    items = item_cards_get(set(ids[: (n + SPARE) * 3]), catalog_revision=catalog_revision_get())
    results: list[RecommendedItem] = []
    rows: list[ImpressionRow] = []
    for pk, score, kind in candidates:
        candidate = items.get(pk)
        if candidate is None or not candidate.is_available or candidate.category_id in blocked_categories or pk in prefs.hidden_items:
            continue
        explanation = reason_render(Reason(kind, item=item.pk), titles={item.pk: item.title}, category_names={}, interaction_types={})
        results.append(RecommendedItem(item=candidate, position=len(results), score=round(score, 6), source=kind, explanation=explanation))
        rows.append(ImpressionRow(item_id=pk, position=len(results) - 1, source=kind, score=score, reason=kind, context={"anchor": item.pk}))
        if len(results) >= n:
            break
    request_id = str(uuid.uuid4())
    if log and actor is not None:
        impressions_log(request_id=request_id, actor=actor, rows=rows, surface="similar",
                        model_version_id=serving.version_id if serving else None, settings_version=settings.version)
    return SimilarPage(request_id=request_id, item=item, items=results,
                       model_version=serving.version_id if serving else None, degraded=serving is None)
