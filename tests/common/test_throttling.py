"""Fixed-window API throttles (common.throttling)."""
import logging

import pytest
from django.core.cache import cache, caches
from django.test import RequestFactory
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from common import throttling
from common.throttling import CachedAnonRateThrottle, CachedUserRateThrottle, client_ip
from tests.common.conftest import WINDOW_START
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/categories/"


def codes(client: APIClient, n: int) -> list[int]:
    return [client.get(URL).status_code for _ in range(n)]


def user_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def test_the_api_uses_the_fixed_window_throttles():
    assert [CachedAnonRateThrottle, CachedUserRateThrottle] == api_settings.DEFAULT_THROTTLE_CLASSES
    assert CachedAnonRateThrottle.scope == "anon" and CachedUserRateThrottle.scope == "user"


def test_the_request_over_the_rate_is_429_until_the_window_ends(clock):
    client = APIClient()
    assert codes(client, 3) == [200, 200, 200]
    response = client.get(URL)
    assert response.status_code == 429 and response["Retry-After"] == "50"
    clock[0] = WINDOW_START + 59.5
    assert codes(client, 1) == [429]
    clock[0] = WINDOW_START + 60.0  # the next window
    assert codes(client, 4) == [200, 200, 200, 429]


def test_one_counter_per_client_and_window(clock):
    APIClient().get(URL)
    APIClient().get(URL)
    window = int(clock[0] // 60)
    # An anonymous request counts in both scopes (the user scope falls back to the address).
    assert cache.get(f"throttle_anon_127.0.0.1:{window}") == 2
    assert cache.get(f"throttle_user_127.0.0.1:{window}") == 2
    if hasattr(cache, "ttl"):  # django-redis: the EXPIRE went with the INCR
        assert 0 < cache.ttl(f"throttle_anon_127.0.0.1:{window}") <= 60


def test_anonymous_and_user_scopes_are_separate(clock):
    assert codes(APIClient(), 4) == [200, 200, 200, 429]
    first = user_client()
    assert codes(first, 4) == [200, 200, 200, 429]  # same address, own counter
    assert codes(user_client(), 3) == [200, 200, 200]  # and each user has their own
    assert codes(APIClient(REMOTE_ADDR="10.0.0.2"), 3) == [200, 200, 200]


def test_a_broken_cache_lets_requests_through(clock, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttling, "get_redis_connection", boom)
    monkeypatch.setattr(type(caches["default"]), "incr", boom)
    with caplog.at_level(logging.WARNING, logger="common.throttling"):
        assert codes(APIClient(), 5) == [200] * 5
    assert "cache failed, request allowed" in caplog.text


# ------------------------------------------------------------------------- who the client is (#13 fault 1)
def forwarded_codes(n: int, *, address: str = "10.0.0.7") -> list[int]:
    return [
        APIClient(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=f"198.51.{k // 250}.{k % 250}").get(URL).status_code
        for k in range(n)
    ]


def test_a_forged_forwarded_for_does_not_escape_the_anonymous_throttle(clock, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "10000/min"})
    codes_seen = forwarded_codes(300)
    assert codes_seen.count(200) == 100 and codes_seen[100:] == [429] * 200


def test_no_forwarding_header_is_trusted_by_default(settings):
    assert settings.VITRINE_TRUSTED_PROXIES == 0 and api_settings.NUM_PROXIES == 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.7"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),  # the proxy's own entry
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # what the client prepended is never read
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # two proxies: the second from the right
        (2, "203.0.113.9", "203.0.113.9"),  # fewer hops than proxies: the leftmost (DRF's rule)
        (1, "", "10.0.0.7"),  # no header: the peer (a request that bypassed the proxy)
        (1, "not-an-address", "10.0.0.7"),  # garbage never becomes an identity
        (1, "1.2.3.4,  2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_with_trusted_proxies_the_rightmost_untrusted_address_is_the_client(settings, trusted, forwarded, expected):
    settings.VITRINE_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_with_one_trusted_proxy_clients_behind_it_are_counted_apart(clock, settings):
    settings.VITRINE_TRUSTED_PROXIES = 1

    def get(chain: str) -> int:
        return APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=chain).get(URL).status_code

    # Client A forges a different left part each time; the proxy's rightmost entry is what counts.
    assert [get(f"9.9.9.{k}, 203.0.113.1") for k in range(4)] == [200, 200, 200, 429]
    assert [get("203.0.113.2") for _ in range(3)] == [200, 200, 200]  # client B has its own count
    window = int(clock[0] // 60)
    assert cache.get(f"throttle_anon_203.0.113.1:{window}") == 4
