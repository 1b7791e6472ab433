"""The serving caches: per-actor state tokens and shared tables refreshed in the background.

Serving uses Django's cache directly (Redis in production, local memory by default). A broken Redis reads as
a miss because production sets django-redis ``IGNORE_EXCEPTIONS``, so serving degrades to recomputing instead
of failing.

Invalidation is by key, never by scanning: a per-actor *state token* is part of the key of that actor's
candidate list; a new event (``actor_state_touch``, called by event ingestion) replaces the token, so the next
request builds fresh candidates (real time without retraining). A missing token (evicted, fresh Redis) reads
as a brand-new token, never as an old one, so an eviction can only cause a rebuild, not a stale hit.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache

from recommendations.events import Actor

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Part of every serving key: bump it when a cached class (CandidateTable, PopularityTable, ...) changes shape,
# so a deploy never unpickles an old layout.
KEY_PREFIX = "serving:v2"
ACTOR_TOKEN_TTL = 7 * 24 * 3600
CANDIDATES_TTL = 600
FEED_SESSION_TTL = 24 * 3600


# ------------------------------------------------------------------------------------------- actor state
def actor_token_key(actor: str) -> str:
    return f"{KEY_PREFIX}:actor-state:{actor}"


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


def actor_state_token(actor: str, *, cached: dict[str, Any] | None = None) -> str:
    """The actor's current state token (created if missing). ``cached``: a prefetched ``get_many`` result."""
    key = actor_token_key(actor)
    token = (cached or {}).get(key) if cached is not None else cache.get(key)
    if token is None:
        token = _new_token()
        if not cache.add(key, token, ACTOR_TOKEN_TTL):
            token = cache.get(key) or token
    return token


def actor_state_touch(*, user_ids: Iterable[int] = (), session_keys: Iterable[str] = ()) -> None:
    """Something about these actors changed (new events): their next request rebuilds candidates."""
    keys = [actor_token_key(Actor(user_id=u).key) for u in set(user_ids) if u is not None]
    keys += [actor_token_key(Actor(session_key=s).key) for s in set(session_keys) if s]
    if keys:
        cache.set_many({key: _new_token() for key in keys}, ACTOR_TOKEN_TTL)


# ----------------------------------------------------------------------------------- shared tables
_refreshing: set[str] = set()
_refreshing_lock = threading.Lock()


def shared_table_get(name: str, builder: Callable[[], T], *, fresh_seconds: int, ttl: int = 3600) -> T:
    """A table shared by all users (popularity, new arrivals...), rebuilt off the request path when stale.

    The entry is kept ``ttl`` seconds but considered fresh for ``fresh_seconds``. A missing entry is built by
    the request that needs it. A stale one is returned as it is while one process (the one that wins a short
    lock in the cache) rebuilds it in a background thread, so no request waits for a rebuild and several
    processes never rebuild at once (``VITRINE_SERVING_BACKGROUND_REFRESH = False`` in settings: inline).
    """
    key = f"{KEY_PREFIX}:table:{name}"
    entry = cache.get(key)
    if entry is not None:
        built_at, value = entry
        if time.time() - built_at >= fresh_seconds and cache.add(f"{key}:lock", 1, 60):
            _rebuild(key, builder, ttl)
        return value
    return _store(key, builder(), ttl)


def _store(key: str, value: T, ttl: int) -> T:
    cache.set(key, (time.time(), value), ttl)
    cache.delete(f"{key}:lock")
    return value


def _rebuild(key: str, builder: Callable[[], Any], ttl: int) -> None:
    from django.conf import settings

    if not getattr(settings, "VITRINE_SERVING_BACKGROUND_REFRESH", True):
        _store(key, builder(), ttl)
        return
    with _refreshing_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)

    def run() -> None:
        from django.db import connection

        try:
            _store(key, builder(), ttl)
        except Exception:
            logger.exception("refreshing %s failed", key)
            cache.delete(f"{key}:lock")
        finally:
            connection.close()
            with _refreshing_lock:
                _refreshing.discard(key)

    threading.Thread(target=run, name=f"refresh-{key}", daemon=True).start()


def shared_table_clear(name: str) -> None:
    cache.delete(f"{KEY_PREFIX}:table:{name}")
