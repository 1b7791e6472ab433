"""Fixed-window API throttles (common.throttling)."""
import logging

import pytest
from django.core.cache import cache, caches
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from common import throttling
from common.throttling import CachedAnonRateThrottle, CachedUserRateThrottle
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
