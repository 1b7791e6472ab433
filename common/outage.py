"""Outages of the database, the cache or the broker: which errors are one, and one log line per outage.

While PostgreSQL restarts (or Redis, or the broker), every request that touches it fails with the same error. A
traceback per request floods the log and says nothing new; the client can do nothing but retry. So such an error
is answered 503 with ``Retry-After`` (``common.exceptions.error_from_exception`` makes it a ``ServiceUnavailable``;
``common.middleware.OutageMiddleware`` and ``common.views.server_error`` answer it outside DRF), and it is logged
once per outage per process: one WARNING line when the first failing request of an outage arrives, nothing for the
next ones until the dependency has been quiet for ``OUTAGE_QUIET_SECONDS``. No data is lost: a write that failed
was rolled back, and clients retry with the same idempotency ids.

This module imports no other project module (``common.exceptions`` imports it).
"""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("vitrine.outage")

try:  # redis is a dependency of django-redis and of Celery's Redis broker
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    _CACHE_ERRORS: tuple[type[BaseException], ...] = (_RedisConnectionError, _RedisTimeoutError)
except ImportError:  # pragma: no cover - the embedded default may run without redis installed
    _CACHE_ERRORS = ()
try:  # kombu wraps a broker that cannot be reached (queuing a task) in its OperationalError
    from kombu.exceptions import OperationalError as _BrokerOperationalError

    _BROKER_ERRORS: tuple[type[BaseException], ...] = (_BrokerOperationalError,)
except ImportError:  # pragma: no cover
    _BROKER_ERRORS = ()

DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
#: errors that mean a dependency is unreachable (or, for SQLite, locked): worth a retry, never a client's fault
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, *_CACHE_ERRORS, *_BROKER_ERRORS)

# A dependency that has answered no failing request for this long is taken to be back: the next failure starts a
# new outage (and logs a new line). Longer than a PostgreSQL restart under load (9-30 failing requests in ~5 s).
OUTAGE_QUIET_SECONDS = 30.0
DEFAULT_RETRY_AFTER_SECONDS = 5


class _OutageLog:
    """Per-process state of the current outage of each dependency: when it started, when last seen, how many."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def note(self, *, dependency: str, exc: BaseException, now: float) -> None:
        with self._lock:
            last = self._last_seen.get(dependency)
            starts = last is None or now - last > OUTAGE_QUIET_SECONDS
            self._last_seen[dependency] = now
            self._failures[dependency] = 1 if starts else self._failures.get(dependency, 0) + 1
        if starts:  # outside the lock: a slow log handler must not serialise the failing requests
            logger.warning(
                "%s unavailable (%s: %s); answering 503 with Retry-After until it is back (logged once per outage)",
                dependency,
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "no message",
            )

    def failures(self, dependency: str) -> int:
        """Failing requests of ``dependency``'s current (or last) outage in this process."""
        with self._lock:
            return self._failures.get(dependency, 0)

    def reset(self) -> None:
        """Forget every outage (tests)."""
        with self._lock:
            self._last_seen.clear()
            self._failures.clear()


outage_log = _OutageLog()


def outage_dependency(exc: BaseException) -> str | None:
    """The dependency ``exc`` says is unreachable (``"database"``, ``"cache"``, ``"broker"``), or ``None``."""
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    if _CACHE_ERRORS and isinstance(exc, _CACHE_ERRORS):
        return "cache"
    if _BROKER_ERRORS and isinstance(exc, _BROKER_ERRORS):
        return "broker"
    return None


def outage_retry_after(exc: BaseException) -> int | None:
    """Seconds a client should wait when ``exc`` is an outage (noted in the outage log), else ``None``.

    Parameters
    ----------
    exc : BaseException
        Any exception a request raised.

    Returns
    -------
    int or None
        ``settings.VITRINE_OUTAGE_RETRY_AFTER`` (seconds, default 5) for an outage error; ``None`` otherwise.
    """
    dependency = outage_dependency(exc)
    if dependency is None:
        return None
    outage_log.note(dependency=dependency, exc=exc, now=time.monotonic())
    return int(getattr(settings, "VITRINE_OUTAGE_RETRY_AFTER", DEFAULT_RETRY_AFTER_SECONDS))
