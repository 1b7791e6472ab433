# Hand-written only for the embedded default: redis-py's Lock needs Redis and SQLite has no advisory locks.
"""Named locks with an expiry, for long jobs that must never run twice at once (one retrain per model).

A lock holds a random token and expires after ``ttl`` seconds, so a worker that dies (``kill -9``) cannot
hold it forever. The holder keeps it alive with :func:`lock_extend` (``LockHeartbeat`` does that from a
background thread) and releases it with its token, so it never deletes a lock that expired and was taken by
someone else.

* With Redis (``django_redis``, production): redis-py's ``Lock`` (``SET NX PX``, token-checked extend and
  release), atomic across every worker on every machine.
* Otherwise (embedded default, local-memory cache): ``cache.add`` / ``cache.touch``, atomic inside the one
  process that runs the eager tasks. Across processes (``manage.py train`` next to ``runserver``) the
  database guards instead: at most one queued/running ModelVersion per model (a partial unique constraint)
  and the row's heartbeat (``pipeline``'s claim).
"""
from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache, caches
from redis.exceptions import LockError

logger = logging.getLogger(__name__)


class LockBusy(Exception):
    """Somebody else holds the lock."""

    def __init__(self, name: str, owner: str | None) -> None:
        super().__init__(f"lock {name!r} is held by {owner or 'someone else'}")
        self.name = name
        self.owner = owner


@dataclass
class LockHandle:
    name: str
    token: str
    ttl: float
    lost: bool = field(default=False)  # set when an extension found the lock gone (expired and maybe retaken)
    redis_lock: Any = field(default=None, repr=False, compare=False)  # redis-py's Lock, with Redis


def _redis():
    """The raw Redis client when the default cache is django_redis, else None."""
    client = getattr(cache, "client", None)
    if client is None or not type(cache).__module__.startswith("django_redis"):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def locks_are_shared() -> bool:
    """True when locks are seen by every process (Redis); False for a process-local cache."""
    # caches["default"], not the `cache` proxy: the proxy's own type says nothing about the backend.
    return _redis() is not None or not type(caches["default"]).__module__.startswith("django.core.cache.backends.locmem")


def _key(name: str) -> str:
    return cache.make_key(f"lock:{name}")


def lock_acquire(*, name: str, ttl: float, owner: str = "") -> LockHandle | None:
    """Take the lock if it is free; returns a handle, or None when somebody holds it."""
    token = f"{owner}|{secrets.token_hex(8)}" if owner else secrets.token_hex(8)
    redis = _redis()
    if redis is not None:
        # thread_local=False: the heartbeat thread extends the lock the calling thread took.
        redis_lock = redis.lock(_key(name), timeout=max(0.001, ttl), thread_local=False)
        acquired = redis_lock.acquire(blocking=False, token=token)
        return LockHandle(name=name, token=token, ttl=ttl, redis_lock=redis_lock) if acquired else None
    acquired = cache.add(f"lock:{name}", token, timeout=ttl)
    return LockHandle(name=name, token=token, ttl=ttl) if acquired else None


def lock_owner(*, name: str) -> str | None:
    """The ``owner`` given by the current holder ('' when none was given), or None when the lock is free."""
    redis = _redis()
    if redis is not None:
        value = redis.get(_key(name))
        value = value.decode() if isinstance(value, bytes) else value
    else:
        value = cache.get(f"lock:{name}")
    if value is None:
        return None
    return value.rpartition("|")[0]


def lock_extend(*, handle: LockHandle) -> bool:
    """Push the expiry ``ttl`` seconds forward if we still hold the lock."""
    if handle.redis_lock is not None:
        try:
            ok = bool(handle.redis_lock.extend(max(0.001, handle.ttl), replace_ttl=True))
        except LockError:  # no longer ours: expired, maybe taken by someone else
            ok = False
    else:
        ok = cache.get(f"lock:{handle.name}") == handle.token and cache.touch(f"lock:{handle.name}", handle.ttl)
    if not ok:
        handle.lost = True
    return ok


def lock_release(*, handle: LockHandle) -> None:
    """Release the lock if we still hold it (never deletes a lock someone else took after ours expired)."""
    if handle.redis_lock is not None:
        with contextlib.suppress(LockError):  # expired: nothing of ours to release
            handle.redis_lock.release()
    elif cache.get(f"lock:{handle.name}") == handle.token:
        cache.delete(f"lock:{handle.name}")


class LockHeartbeat:
    """Context manager: extends ``handle`` every ``ttl / 3`` seconds from a daemon thread while the body runs.

    ``on_beat`` (optional) runs after each extension, e.g. to record a heartbeat in the database; its errors
    are logged, never raised. A failed extension marks ``handle.lost``: the body should check it before it
    does anything that must happen once (activating a version).
    """

    def __init__(self, handle: LockHandle, *, on_beat: Callable[[], None] | None = None, interval: float | None = None):
        self.handle = handle
        self.on_beat = on_beat
        self.interval = interval if interval is not None else max(0.2, handle.ttl / 3.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not lock_extend(handle=self.handle):
                        logger.error("Lost lock %s (expired before its heartbeat).", self.handle.name)
                    if self.on_beat is not None:
                        self.on_beat()
                except Exception:
                    logger.exception("Heartbeat for lock %s failed.", self.handle.name)
        finally:
            from django.db import connection

            connection.close()  # the thread's own database connection

    def __enter__(self) -> LockHandle:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.handle.name}", daemon=True)
        self._thread.start()
        return self.handle

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
