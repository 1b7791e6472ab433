"""The two-stage serving pipeline: candidates -> ranking -> rules and re-ranking -> explanations -> log.

:func:`feed_recommendations_get` serves one page of a feed; :func:`similar_items_get` the "similar items" of
an item. Both answer without a model (popularity-based, ``degraded``), without an index (the model scores
exactly) and without a cache backend (everything is recomputed).

Per-actor candidate lists are cached under a key made of the actor, the model version, the settings
version, the actor's state token (replaced by every new event) and the revision of their preferences, so a
new event, a preference change, a new model or a settings change all take effect on the next request.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from catalog.models import Item
from catalog.services import CATALOG_REVISION_CACHE_KEY
from recommendations.events.ingest import DEVICES, Actor
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import (
    PreferenceSnapshot,
    actor_history_get,
    actor_name,
    preference_snapshot_get,
)
from recommendations.serving.cache import (
    CANDIDATES_TTL,
    KEY_PREFIX,
    actor_state_token,
    actor_token_key,
    cache_get,
    cache_get_many,
    cache_set,
)
from recommendations.serving.candidates import SOURCES, CandidateTable, candidates_build
from recommendations.serving.cards import ItemCard, catalog_revision_get, item_cards_get
from recommendations.serving.explanations import Reason, reason_for, reason_render
from recommendations.serving.feed_sessions import (
    FeedPosition,
    cursor_decode,
    cursor_encode,
    feed_served_add,
    feed_served_get,
    feed_served_key,
)
from recommendations.serving.impressions import ImpressionRow, impressions_log
from recommendations.serving.model import active_serving_model, item_embeddings
from recommendations.serving.ranking import (
    RANKER_CACHE_KEY,
    features_compute,
    fusion_scores,
    ranker_from_payload,
    ranker_get,
)
from recommendations.serving.rerank import allowed_mask, page_plan
from recommendations.serving.tables import (
    context_affinity_get,
    daypart_of_hour,
    new_arrivals_get,
    popularity_table_get,
)
from recommendations.training.model_store import ACTIVE_STAMP_KEY
from recommendations.tuning import SETTINGS_CACHE_KEY, recommender_settings_get

logger = logging.getLogger(__name__)

MAX_N = 100
SPARE = 4  # extra picks in case an item went out of stock since the candidates were built
SIMILAR_CANDIDATES = 100
SIMILAR_TTL = 600


@dataclass(frozen=True)
class RequestContext:
    """Where and when the request happens: ``device`` and local ``hour`` (optional)."""

    device: str | None = None
    hour: int | None = None

    @property
    def daypart(self) -> str | None:
        return daypart_of_hour(self.hour) if self.hour is not None else None

    def as_dict(self) -> dict:
        return {key: value for key, value in (("device", self.device), ("hour", self.hour)) if value is not None}


def request_context_parse(raw: str | None) -> RequestContext:
    """Parse ``device:mobile,hour:21`` (either part optional); raises ValueError with a readable message."""
    if not raw:
        return RequestContext()
    values: dict[str, str] = {}
    for part in raw.split(","):
        key, sep, value = part.strip().partition(":")
        if not sep or not key or not value:
            raise ValueError(f"Context must look like 'device:mobile,hour:21'; got {raw[:60]!r}.")
        if key not in ("device", "hour"):
            raise ValueError(f"Unknown context key {key!r}; expected device or hour.")
        if key in values:
            raise ValueError(f"Context key {key!r} is given twice.")
        values[key] = value
    device = values.get("device")
    if device is not None and device not in DEVICES:
        raise ValueError(f"Unknown device {device!r}; expected one of {', '.join(sorted(DEVICES))}.")
    hour = None
    if "hour" in values:
        if not values["hour"].isdigit() or not 0 <= int(values["hour"]) <= 23:
            raise ValueError("Context hour must be an integer from 0 to 23.")
        hour = int(values["hour"])
    return RequestContext(device=device, hour=hour)


@dataclass
class RecommendedItem:
    item: ItemCard
    position: int
    score: float
    source: str
    explanation: dict


@dataclass
class RecommendationPage:
    request_id: str
    items: list[RecommendedItem]
    model_version: int | None
    settings_version: int
    ranker: str  # "fusion" or "learned"
    degraded: bool  # no model: popularity-based
    next_cursor: str | None = None
    feed_id: str = ""
    page: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def serving_settings_get() -> RecommenderSettings:
    """The live settings; straight from the database when the cache backend fails."""
    try:
        return recommender_settings_get()
    except Exception as exc:
        logger.warning("recommender settings from the database (%s)", exc)
        return RecommenderSettings.objects.get_or_create(pk=1)[0]


# --------------------------------------------------------------------------------------------- candidates
def _candidates_key(actor: Actor) -> str:
    return f"{KEY_PREFIX}:cand:{actor_name(actor)}"


def _candidates_signature(*, serving, settings: RecommenderSettings, token: str, prefs: PreferenceSnapshot) -> str:
    """What a cached candidate list was built from; any change (model, settings, new event, preferences) -> rebuild."""
    return f"m{serving.version_id if serving else 0}:s{settings.version}:{token}:{prefs.revision}"


def actor_candidates_build(*, actor: Actor, prefs: PreferenceSnapshot, settings: RecommenderSettings, serving, token: str) -> CandidateTable:
    history = actor_history_get(actor=actor, settings=settings)
    return candidates_build(
        user_id=actor.user_id,
        history=history,
        prefs=prefs,
        settings=settings,
        serving=serving,
        table=popularity_table_get(settings=settings),
        pool=new_arrivals_get(settings=settings),
        seed=int.from_bytes(uuid.uuid5(uuid.NAMESPACE_OID, f"{actor_name(actor)}:{token}").bytes[:8], "little"),
    )


@dataclass
class _RequestState:
    """Everything a feed request reads from the cache, fetched in one round trip."""

    settings: RecommenderSettings | None = None
    prefs: PreferenceSnapshot | None = None
    token: str | None = None
    candidates: tuple[str, CandidateTable] | None = None
    served: list[int] | None = None
    ranker: dict | None = None
    catalog: str | None = None
    model_stamp: int | None = None


def _request_state(*, actor: Actor, page: int, feed_id: str) -> _RequestState:
    from users.services import preferences_cache_key

    keys = {
        "settings": SETTINGS_CACHE_KEY,
        "token": actor_token_key(actor_name(actor)),
        "candidates": _candidates_key(actor),
        "ranker": RANKER_CACHE_KEY,
        "catalog": CATALOG_REVISION_CACHE_KEY,
        "model_stamp": ACTIVE_STAMP_KEY,
    }
    if actor.user_id is not None:
        keys["prefs"] = preferences_cache_key(user_id=actor.user_id)
    if page > 0:
        keys["served"] = feed_served_key(feed_id)
    found = cache_get_many(keys.values())
    state = _RequestState(**{name: found.get(key) for name, key in keys.items()})
    if not isinstance(state.settings, RecommenderSettings):
        state.settings = None
    if not isinstance(state.prefs, PreferenceSnapshot):
        state.prefs = None
    if not isinstance(state.model_stamp, int):
        state.model_stamp = None
    return state


def _relevance(*, table: CandidateTable, settings: RecommenderSettings, context: RequestContext, ranker) -> tuple[np.ndarray, np.ndarray, str]:
    affinity = context_affinity_get(device=context.device, daypart=context.daypart, settings=settings)
    features = features_compute(table=table, context_affinity=affinity)
    if ranker is not None:
        return features, ranker.score(features), "learned"
    return features, fusion_scores(features=features, settings=settings), "fusion"


# ------------------------------------------------------------------------------------------------- feed
def feed_recommendations_get(
    *,
    actor: Actor,
    n: int = 20,
    cursor: str | None = None,
    context: RequestContext | None = None,
    session=None,
    settings: RecommenderSettings | None = None,
    prefs: PreferenceSnapshot | None = None,
    preview: bool = False,
    surface: str = "feed",
) -> RecommendationPage:
    """One page of the actor's feed. Later pages (``cursor``) never repeat an item of the same feed session.

    ``preview`` (the admin's before/after view, with unsaved ``settings``): no cache, no impressions, no
    feed-session state. Raises ``CursorError`` for a bad cursor.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    n = max(1, min(int(n), MAX_N))
    context = context or RequestContext()
    position = cursor_decode(actor=actor, cursor=cursor)
    state = _RequestState() if preview else _request_state(actor=actor, page=position.page, feed_id=position.feed_id)
    settings = settings or state.settings or serving_settings_get()
    prefs = prefs or state.prefs or preference_snapshot_get(actor=actor, session=session)
    token = state.token or actor_state_token(actor_name(actor))
    serving = active_serving_model(cached_stamp=state.model_stamp)
    timings["setup"] = time.perf_counter() - started

    mark = time.perf_counter()
    signature = _candidates_signature(serving=serving, settings=settings, token=token, prefs=prefs)
    cached = (
        isinstance(state.candidates, tuple) and len(state.candidates) == 2 and state.candidates[0] == signature
        and isinstance(state.candidates[1], CandidateTable)
    )
    if cached:
        table = state.candidates[1]
    else:
        table = actor_candidates_build(actor=actor, prefs=prefs, settings=settings, serving=serving, token=token)
        if not preview:
            cache_set(_candidates_key(actor), (signature, table), CANDIDATES_TTL)
    timings["candidates"] = time.perf_counter() - mark
    timings["candidates_cached"] = float(cached)

    mark = time.perf_counter()
    if preview:
        served: frozenset[int] = frozenset()
    elif position.page > 0 and state.served is not None:
        served = frozenset(state.served)
    else:
        served = feed_served_get(actor=actor, position=position)
    ranker = ranker_from_payload(state.ranker) if state.ranker is not None else ranker_get()
    features, relevance, ranker_kind = _relevance(table=table, settings=settings, context=context, ranker=ranker)
    plan = page_plan(
        table=table, relevance=relevance, prefs=prefs, settings=settings, served=served, n=n + SPARE,
        embeddings=item_embeddings(serving),
    )
    timings["rank"] = time.perf_counter() - mark

    mark = time.perf_counter()
    picked_ids = table.item_ids[plan.rows].tolist()
    evidence_ids = set(table.evidence_items[plan.rows, plan.sources].tolist()) - {-1}
    cards = item_cards_get(set(picked_ids) | evidence_ids, catalog_revision=None if preview else catalog_revision_get(known=state.catalog))
    titles = {pk: card.title for pk, card in cards.items()}
    rounded = np.round(features[plan.rows].astype(np.float64), 4).tolist()
    results: list[RecommendedItem] = []
    impression_rows: list[ImpressionRow] = []
    context_dict = context.as_dict()
    for k, (row, source, score) in enumerate(zip(plan.rows.tolist(), plan.sources.tolist(), plan.relevance.tolist(), strict=True)):
        card = cards.get(picked_ids[k])
        if card is None or not card.is_available:
            continue
        reason: Reason = reason_for(table=table, row=row, source=source)
        explanation = reason_render(
            reason, titles=titles, category_names={card.category.id: card.category.name}, interaction_types=table.interaction_types
        )
        results.append(RecommendedItem(item=card, position=len(results), score=round(score, 6), source=SOURCES[source], explanation=explanation))
        impression_context = {"feed": position.feed_id, "page": position.page, "f": rounded[k]}
        if context_dict:
            impression_context["ctx"] = context_dict
        impression_rows.append(
            ImpressionRow(item_id=card.pk, position=len(results) - 1, source=SOURCES[source], score=score, reason=reason.type,
                          context=impression_context)
        )
        if len(results) >= n:
            break
    timings["hydrate"] = time.perf_counter() - mark

    request_id = str(uuid.uuid4())
    page = RecommendationPage(
        request_id=request_id,
        items=results,
        model_version=serving.version_id if serving is not None else None,
        settings_version=settings.version,
        ranker=ranker_kind,
        degraded=serving is None,
        feed_id=position.feed_id,
        page=position.page,
        timings=timings,
    )
    if not preview:
        mark = time.perf_counter()
        feed_served_add(position=position, previous=served, item_ids=[r.item.pk for r in results])
        impressions_log(
            request_id=request_id, actor=actor, rows=impression_rows, surface=surface,
            model_version_id=page.model_version, settings_version=settings.version,
        )
        page.next_cursor = cursor_encode(actor=actor, position=FeedPosition(position.feed_id, position.page + 1))
        timings["log"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return page


# ---------------------------------------------------------------------------------------------- similar
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
    cached = cache_get(key)
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
    cache_set(key, result, SIMILAR_TTL)
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


__all__ = [
    "RequestContext",
    "RecommendationPage",
    "RecommendedItem",
    "SimilarPage",
    "allowed_mask",
    "feed_recommendations_get",
    "request_context_parse",
    "similar_items_get",
]
