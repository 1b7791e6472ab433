"""The feed: read what the request needs, decide the page (:mod:`~recommendations.serving.decide`), log it.

:func:`feed_recommendations_get` serves one page of a feed: stage 1 (candidates) is read from the cache or
built, stages 2-4 (ranking, rules and re-ranking, explanations) are the pure :func:`page_decide`, and the
page's impressions and the feed session's served items are written after it. It answers without a model
(popularity-based, ``degraded``), without an index (the model scores exactly) and without a cache (everything
is recomputed).

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
from django.core.cache import cache

from catalog.services import CATALOG_REVISION_CACHE_KEY
from common.parsing import ascii_int
from common.vocabulary import DEVICES
from recommendations.events import Actor
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import (
    PreferenceSnapshot,
    actor_history_get,
    preference_snapshot_get,
)
from recommendations.serving.cache import (
    CANDIDATES_TTL,
    FEED_SESSION_TTL,
    KEY_PREFIX,
    actor_state_token,
    actor_token_key,
)
from recommendations.serving.candidates import CandidateTable, candidates_build
from recommendations.serving.cards import catalog_revision_get, item_cards_get
from recommendations.serving.decide import PageDecision, RecommendedItem, page_items
from recommendations.serving.feed_sessions import (
    FeedPosition,
    cursor_decode,
    cursor_encode,
    feed_refill_key,
    feed_served_add,
    feed_served_get,
    feed_served_key,
)
from recommendations.serving.impressions import ImpressionRow, impressions_log
from recommendations.serving.model import active_serving_model, item_embeddings
from recommendations.serving.ranking import RANKER_CACHE_KEY, LearnedRanker, ranker_from_payload, ranker_get
from recommendations.serving.refill import PageFiller, RefillPool
from recommendations.serving.tables import (
    context_affinity_get,
    daypart_of_hour,
    new_arrivals_get,
    popularity_table_get,
)
from recommendations.training import ACTIVE_STAMP_KEY
from recommendations.tuning import SETTINGS_CACHE_KEY, recommender_settings_get

logger = logging.getLogger(__name__)

MAX_N = 100


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
        hour = ascii_int(values["hour"], high=23)
        if hour is None:
            raise ValueError("Context hour must be an integer from 0 to 23.")
    return RequestContext(device=device, hour=hour)


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
    return f"{KEY_PREFIX}:cand:{actor.key}"


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
        seed=int.from_bytes(uuid.uuid5(uuid.NAMESPACE_OID, f"{actor.key}:{token}").bytes[:8], "little"),
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
    refill: RefillPool | None = None


def _request_state(*, actor: Actor, page: int, feed_id: str) -> _RequestState:
    from users.services import preferences_cache_key

    keys = {
        "settings": SETTINGS_CACHE_KEY,
        "token": actor_token_key(actor.key),
        "candidates": _candidates_key(actor),
        "ranker": RANKER_CACHE_KEY,
        "catalog": CATALOG_REVISION_CACHE_KEY,
        "model_stamp": ACTIVE_STAMP_KEY,
    }
    if actor.user_id is not None:
        keys["prefs"] = preferences_cache_key(user_id=actor.user_id)
    if page > 0:
        keys["served"] = feed_served_key(feed_id)
        keys["refill"] = feed_refill_key(feed_id)
    found = cache.get_many(list(keys.values()))
    state = _RequestState(**{name: found.get(key) for name, key in keys.items()})
    if not isinstance(state.settings, RecommenderSettings):
        state.settings = None
    if not isinstance(state.prefs, PreferenceSnapshot):
        state.prefs = None
    if not isinstance(state.model_stamp, int):
        state.model_stamp = None
    if not isinstance(state.refill, RefillPool):
        state.refill = None
    return state


def _actor_candidates_get(
    *, actor: Actor, state: _RequestState, prefs: PreferenceSnapshot, settings: RecommenderSettings, serving, token: str
) -> tuple[CandidateTable, bool]:
    """The actor's candidate table and whether it came from the cache (a table built here is cached)."""
    signature = _candidates_signature(serving=serving, settings=settings, token=token, prefs=prefs)
    cached = state.candidates
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == signature and isinstance(cached[1], CandidateTable):
        return cached[1], True
    table = actor_candidates_build(actor=actor, prefs=prefs, settings=settings, serving=serving, token=token)
    cache.set(_candidates_key(actor), (signature, table), CANDIDATES_TTL)
    return table, False


def page_items_get(*, decision: PageDecision, catalog_revision: str | None = None) -> list[RecommendedItem]:
    """The decided page with its item cards (read under ``catalog_revision``; None: from the database)."""
    return page_items(decision=decision, cards=item_cards_get(decision.card_ids, catalog_revision=catalog_revision))


def _impression_rows(
    *, decision: PageDecision, items: list[RecommendedItem], position: FeedPosition, context: RequestContext
) -> list[ImpressionRow]:
    picks = {pick.item_id: pick for pick in decision.picks}
    context_dict = context.as_dict()
    rows = []
    for entry in items:
        pick = picks[entry.item.pk]
        impression_context = {"feed": position.feed_id, "page": position.page, "f": pick.features}
        if context_dict:
            impression_context["ctx"] = context_dict
        rows.append(
            ImpressionRow(item_id=entry.item.pk, position=entry.position, source=pick.source, score=pick.score,
                          reason=pick.reason.type, context=impression_context)
        )
    return rows


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
    surface: str = "feed",
) -> RecommendationPage:
    """One page of the actor's feed. Later pages (``cursor``) never repeat an item of the same feed session.

    When the actor's candidates run short, the page is filled from broader pools (:mod:`.refill`), so a page
    is full while anything unseen is left, and ``next_cursor`` is None only on the page that serves the last
    of it. Logs the page's impressions and remembers its items in the feed session. Raises ``CursorError``
    for a bad cursor.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    n = max(1, min(int(n), MAX_N))
    context = context or RequestContext()
    position = cursor_decode(actor=actor, cursor=cursor)
    state = _request_state(actor=actor, page=position.page, feed_id=position.feed_id)
    settings = settings or state.settings or serving_settings_get()
    prefs = prefs or state.prefs or preference_snapshot_get(actor=actor, session=session)
    token = state.token or actor_state_token(actor.key)
    serving = active_serving_model(cached_stamp=state.model_stamp)
    timings["setup"] = time.perf_counter() - started

    mark = time.perf_counter()
    table, cached = _actor_candidates_get(actor=actor, state=state, prefs=prefs, settings=settings, serving=serving, token=token)
    timings["candidates"] = time.perf_counter() - mark
    timings["candidates_cached"] = float(cached)

    mark = time.perf_counter()
    if position.page > 0 and state.served is not None:
        served = frozenset(state.served)
    else:
        served = feed_served_get(actor=actor, position=position)
    filler = PageFiller(
        actor=actor, table=table, settings=settings, prefs=prefs, serving=serving, n=n,
        signature=_candidates_signature(serving=serving, settings=settings, token=token, prefs=prefs),
        context_affinity=context_affinity_get(device=context.device, daypart=context.daypart, settings=settings),
        ranker=ranker_from_payload(state.ranker) if state.ranker is not None else ranker_get(),
        embeddings=item_embeddings(serving), refill=state.refill,
    )
    decision, items, passed_over, more = filler.fill(served=served, catalog_revision=catalog_revision_get(known=state.catalog))
    timings["rank"] = time.perf_counter() - mark - filler.hydrate_seconds
    timings["hydrate"] = filler.hydrate_seconds

    page = RecommendationPage(
        request_id=str(uuid.uuid4()),
        items=items,
        model_version=serving.version_id if serving is not None else None,
        settings_version=settings.version,
        ranker=decision.ranker,
        degraded=serving is None,
        feed_id=position.feed_id,
        page=position.page,
        timings=timings,
    )
    mark = time.perf_counter()
    feed_served_add(position=position, previous=served, item_ids=[entry.item.pk for entry in items] + passed_over)
    if filler.refill_grown:
        cache.set(feed_refill_key(position.feed_id), filler.refill, FEED_SESSION_TTL)
    impressions_log(
        request_id=page.request_id, actor=actor, rows=_impression_rows(decision=decision, items=items, position=position, context=context),
        surface=surface, model_version_id=page.model_version, settings_version=settings.version,
    )
    if more:  # null only when nothing unseen is left: the feed's end
        page.next_cursor = cursor_encode(actor=actor, position=FeedPosition(position.feed_id, position.page + 1))
    timings["log"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return page


# ------------------------------------------------------------------------------------- admin preview
@dataclass(frozen=True)
class FeedInputs:
    """What deciding an actor's page reads, for given settings (the arguments of :func:`page_decide`)."""

    candidates: CandidateTable
    prefs: PreferenceSnapshot
    ranker: LearnedRanker | None
    embeddings: np.ndarray | None


def feed_inputs_get(*, actor: Actor, settings: RecommenderSettings, session=None) -> FeedInputs:
    """The inputs of the actor's first feed page under ``settings`` (unsaved ones too): candidates built for
    them and not cached. Logs nothing and starts no feed session: the admin's before/after preview."""
    prefs = preference_snapshot_get(actor=actor, session=session)
    token = actor_state_token(actor.key)
    serving = active_serving_model()
    return FeedInputs(
        candidates=actor_candidates_build(actor=actor, prefs=prefs, settings=settings, serving=serving, token=token),
        prefs=prefs,
        ranker=ranker_get(),
        embeddings=item_embeddings(serving),
    )


__all__ = [
    "FeedInputs",
    "RecommendationPage",
    "RecommendedItem",
    "RequestContext",
    "feed_inputs_get",
    "feed_recommendations_get",
    "page_items_get",
    "request_context_parse",
    "serving_settings_get",
]
