"""DRF's user and anon throttles with a fixed-window counter: one cache round trip per request.

Hand-written because DRF ships only the sliding-log throttle and no maintained package offers a fixed window.

DRF's throttles keep a sliding log: every request reads the client's pickled list of timestamps, appends to it
and writes it back, two round trips that move a list as long as the rate. Here each client has one counter per
window (``<key>:<window index>``), bumped with a single ``INCR`` + ``EXPIRE`` pipeline on Redis. The price of a
fixed window: a client may send up to twice its rate across a window boundary.

Scopes, cache keys and rates (``DEFAULT_THROTTLE_RATES``) are DRF's; so is the 429 with ``Retry-After``. A
throttle may weigh a request (``cost``): anonymous event ingestion counts events, not requests.
A cache that fails lets the request through: throttling protects the service, it must not take it down.
"""
from __future__ import annotations

import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django_redis import get_redis_connection
from django_redis.cache import RedisCache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


def _window_hit(*, key: str, duration: int, amount: int = 1) -> int:
    """Count ``amount`` in the window ``key`` (which expires ``duration`` seconds after its last hit)."""
    cache = caches[DEFAULT_CACHE_ALIAS]  # the cache DRF's throttles use
    if isinstance(cache, RedisCache):
        pipe = get_redis_connection(DEFAULT_CACHE_ALIAS).pipeline(transaction=False)  # no MULTI/EXEC: 2 commands, 1 trip
        raw_key = cache.make_key(key)
        pipe.incr(raw_key, amount)
        pipe.expire(raw_key, duration)
        count, _ = pipe.execute()
        return count
    cache.add(key, 0, duration)
    return cache.incr(key, amount)


class FixedWindowRateThrottle(SimpleRateThrottle):
    def cost(self, request) -> int:
        """How much of the rate this request uses (one request: 1)."""
        return 1

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        cost = self.cost(request)
        if cost <= 0:
            return True
        self.now = self.timer()
        try:
            count = _window_hit(key=f"{key}:{int(self.now // self.duration)}", duration=self.duration, amount=cost)
        except Exception as exc:
            logger.warning("throttle %s: cache failed, request allowed: %s", key, exc)
            return True
        if count > self.num_requests:
            if cost > 1:  # a refused batch is not counted: a smaller one may still fit in the window
                self._refund(key=f"{key}:{int(self.now // self.duration)}", amount=cost)
            return self.throttle_failure()
        return True

    @staticmethod
    def _refund(*, key: str, amount: int) -> None:
        try:
            caches[DEFAULT_CACHE_ALIAS].decr(key, amount)
        except Exception as exc:  # the window then ends sooner for this client: harmless
            logger.warning("throttle %s: refund failed: %s", key, exc)

    def wait(self) -> float:
        """Seconds until the current window ends."""
        return self.duration - self.now % self.duration


class CachedUserRateThrottle(FixedWindowRateThrottle, UserRateThrottle):
    pass


class CachedAnonRateThrottle(FixedWindowRateThrottle, AnonRateThrottle):
    pass


class EventsAnonRateThrottle(FixedWindowRateThrottle, AnonRateThrottle):
    """Anonymous event ingestion: at most ``THROTTLE_EVENTS_ANON_RATE`` *events* per client address and period.

    Counted in events, not requests: a batch of 20 uses 20 of the rate; a batch that does not fit in what is left
    of the window is refused (429) and not counted (a batch larger than the whole rate is always refused). Reads (GET) and signed-in clients are not counted here (they have their own scopes).
    Anonymous sessions cost nothing to create, so the client address is what bounds how many anonymous events,
    and so how many anonymous "actors" behind popularity, one client can make.
    """

    scope = "events_anon"

    def cost(self, request) -> int:
        if request.method != "POST":
            return 0
        payload = request.data  # parsed once; the view reads the same object
        if isinstance(payload, dict) and isinstance(payload.get("events"), list):
            payload = payload["events"]
        return max(len(payload), 1) if isinstance(payload, list) else 1
