"""DRF's user and anon throttles with a fixed-window counter: one cache round trip per request.

Hand-written because DRF ships only the sliding-log throttle and no maintained package offers a fixed window.

DRF's throttles keep a sliding log: every request reads the client's pickled list of timestamps, appends to it
and writes it back, two round trips that move a list as long as the rate. Here each client has one counter per
window (``<key>:<window index>``), bumped with a single ``INCR`` + ``EXPIRE`` pipeline on Redis. The price of a
fixed window: a client may send up to twice its rate across a window boundary.

Scopes, cache keys and rates (``DEFAULT_THROTTLE_RATES``) are DRF's; so is the 429 with ``Retry-After``. A
throttle may weigh a request (``cost``): anonymous event ingestion counts events, not requests.
A cache that fails lets the request through: throttling protects the service, it must not take it down.

Who the client is: ``client_ip`` (the peer address, or with ``VITRINE_TRUSTED_PROXIES`` the address the
nearest untrusted hop was seen from), the one answer shared by every throttle here and by django-axes' lockout.
The site's login and sign-up pages use the same scoped throttles through ``throttle_wait``.
"""
from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.http import HttpRequest
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


def _ip_or_none(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: what throttles count and what login lockouts are keyed on.

    With ``VITRINE_TRUSTED_PROXIES = 0`` (the default) it is the peer address (``REMOTE_ADDR``) and no forwarding
    header is read, so a client cannot choose its own identity. With ``n`` trusted proxies, each of which appends
    the address it saw to ``X-Forwarded-For``, the client is the ``n``-th address from the right of that header
    (the rightmost one not written by a trusted proxy): what a client prepends to the header is never read.

    Parameters
    ----------
    request : HttpRequest
        Django's request, or any object with a ``META`` mapping (DRF's ``Request``).

    Returns
    -------
    str
        An IP address; the peer address when the header is missing, too short or not an address there (a request
        that reached Django without passing through every proxy); ``""`` when the server gives no peer address.
    """
    remote = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.VITRINE_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if trusted <= 0 or not forwarded:
        return remote
    hops = forwarded.split(",")
    return _ip_or_none(hops[-min(trusted, len(hops))]) or remote  # DRF's NUM_PROXIES rule, checked as an address


class FixedWindowRateThrottle(SimpleRateThrottle):
    def get_ident(self, request) -> str:
        """The client address (``client_ip``), never a header the client chose."""
        return client_ip(request)

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


class ClientRateThrottle(FixedWindowRateThrottle):
    """A scope counted per client address, signed in or not (``scope`` names the rate)."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(ClientRateThrottle):
    """Password attempts per client address (``THROTTLE_LOGIN_RATE``): the token API and the site's login page
    share one counter, so alternating between them gains nothing."""

    scope = "login"


class SignupRateThrottle(ClientRateThrottle):
    """Sign-up attempts per client address (``THROTTLE_SIGNUP_RATE``)."""

    scope = "signup"


def throttle_wait(*, request: HttpRequest, throttle_class: type[SimpleRateThrottle]) -> int | None:
    """Count one request of a plain Django view (a site form) against a throttle.

    Parameters
    ----------
    request : HttpRequest
        The request to count.
    throttle_class : type
        A throttle of this module, e.g. ``LoginRateThrottle``.

    Returns
    -------
    int or None
        ``None`` when the request is allowed; else the whole seconds to wait (``Retry-After``), at least 1.
    """
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return max(int(throttle.wait() + 0.999), 1)


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
