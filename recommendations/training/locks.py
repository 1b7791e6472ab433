"""Named locks with an expiry, for long jobs that must never run twice at once (one retrain per model).

A lock is a key in the shared cache holding a random token, set only if absent and expiring after ``ttl``
seconds, so a worker that dies (``kill -9``) cannot hold it forever. The holder keeps it alive with
:func:`lock_extend` (``LockHeartbeat`` does that from a background thread) and releases it with its token,
so it never deletes a lock that expired and was taken by someone else.

* With Redis (``django_redis``): ``SET NX PX`` and compare-and-extend / compare-and-delete in Lua, atomic
  across every worker on every machine.
* Otherwise (embedded default, local-memory cache): ``cache.add`` / ``cache.touch``, atomic inside the one
  process that runs the eager tasks. Across processes (``manage.py train`` next to ``runserver``) the
  database guards instead: at most one queued/running ModelVersion per model (a partial unique constraint).
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache

logger = logging.getLogger(__name__)

_EXTEND_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


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


def _redis():
    """The raw Redis client when the default cache is django_redis, else None."""
    client = getattr(cache, "client", None)
    if client is None or not type(cache).__module__.startswith("django_redis"):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def locks_are_shared() -> bool:
    """True when locks are seen by every process (Redis); False for a process-local cache."""
    return _redis() is not None or not type(cache).__module__.startswith("django.core.cache.backends.locmem")


def _key(name: str) -> str:
    return cache.make_key(f"lock:{name}")


def lock_acquire(*, name: str, ttl: float, owner: str = "") -> LockHandle | None:
    """Take the lock if it is free; returns a handle, or None when somebody holds it."""
    token = f"{owner}|{secrets.token_hex(8)}" if owner else secrets.token_hex(8)
    redis = _redis()
    if redis is not None:
        acquired = redis.set(_key(name), token, nx=True, px=max(1, int(ttl * 1000)))
    else:
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
    redis = _redis()
    if redis is not None:
        ok = bool(redis.eval(_EXTEND_SCRIPT, 1, _key(handle.name), handle.token, max(1, int(handle.ttl * 1000))))
    else:
        ok = cache.get(f"lock:{handle.name}") == handle.token and cache.touch(f"lock:{handle.name}", handle.ttl)
    if not ok:
        handle.lost = True
    return ok


def lock_release(*, handle: LockHandle) -> None:
    """Release the lock if we still hold it (never deletes a lock someone else took after ours expired)."""
    redis = _redis()
    if redis is not None:
        redis.eval(_RELEASE_SCRIPT, 1, _key(handle.name), handle.token)
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
