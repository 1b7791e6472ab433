"""Token authentication (knox tokens, looked up by digest) with the digest -> user lookup cached
(users.authentication)."""
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from tests.cache_support import redis_down
from tests.factories import UserFactory
from users.authentication import CachedTokenAuthentication, auth_cache_key, token_digest
from users.models import AuthToken, User
from users.services import auth_token_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/preferences/"
PASSWORD = "pass-word-123"  # UserFactory's


@dataclass
class Token:
    """A created token: its row and the token itself (``key``), which only the creator sees."""

    row: AuthToken
    key: str

    @property
    def user_id(self) -> int:
        return self.row.user_id

    @property
    def created(self):
        return self.row.created

    def delete(self) -> None:
        self.row.delete()


def token_create(user) -> Token:
    return Token(*auth_token_create(user=user))


def cache_key(key: str) -> str:
    return auth_cache_key(token_digest(key))


@pytest.fixture
def token(user) -> Token:
    return token_create(user)


def authenticate(key: str):
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}"))
    return CachedTokenAuthentication().authenticate(request)


def get_with(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(URL)


def assert_rejected(response, detail: str) -> None:
    # 401 with a challenge: token authentication comes first in DEFAULT_AUTHENTICATION_CLASSES.
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": detail, "code": "authentication_failed", "errors": {}}


def test_the_api_uses_the_cached_authentication(token):
    assert get_with(token.key).status_code == 200
    entry = cache.get(cache_key(token.key))
    assert entry["user"]["id"] == token.user_id and "password" not in entry["user"]
    assert token.key not in cache_key(token.key) and token.key[:8] not in repr(entry)
    assert cache_key(token.key).endswith(token.row.digest)  # keyed by the stored digest, never the token


def test_a_warm_token_makes_no_query(token, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        authenticate(token.key)
    with django_assert_num_queries(0):
        cached_user, cached_token = authenticate(token.key)
    assert isinstance(cached_user, User) and cached_user.pk == user.pk and cached_user.username == user.username
    assert not cached_user._state.adding and cached_user.is_authenticated and cached_user.is_active
    assert cached_token.pk == token.row.pk and cached_token.digest == token.row.digest and cached_token.user is cached_user
    assert cached_token.created == token.created and cached_token.user_id == user.pk
    assert cached_token.expiry == token.row.expiry and cached_token.name == token.row.name


def test_the_cached_user_loads_its_password_only_when_asked(token, django_assert_num_queries):
    authenticate(token.key)
    cached_user, _ = authenticate(token.key)
    assert cached_user.get_deferred_fields() == {"password"}
    with django_assert_num_queries(1):
        assert cached_user.check_password(PASSWORD) and not cached_user.check_password("wrong")


def test_a_deactivated_user_is_refused_at_the_next_request(token, user):
    assert get_with(token.key).status_code == 200
    user.is_active = False
    user.save()
    assert_rejected(get_with(token.key), "User inactive or deleted.")
    assert cache.get(cache_key(token.key)) is None  # an inactive user is never cached


def test_a_regenerated_token_replaces_the_old_one(token, user):
    old_key = token.key  # delete() clears the instance's primary key
    assert get_with(old_key).status_code == 200
    token.delete()
    new = token_create(user)
    assert_rejected(get_with(old_key), "Invalid token.")
    assert get_with(new.key).status_code == 200


def test_a_password_change_revokes_the_token_and_drops_the_cached_user(token, user):
    authenticate(token.key)
    assert cache.get(cache_key(token.key)) is not None
    user.set_password("another-pass-456")
    user.save()
    assert cache.get(cache_key(token.key)) is None
    assert not AuthToken.objects.filter(user=user).exists()
    assert_rejected(get_with(token.key), "Invalid token.")


def test_a_revoked_token_is_refused_at_once_although_cached(token):
    assert get_with(token.key).status_code == 200
    assert cache.get(cache_key(token.key)) is not None
    token.delete()
    assert cache.get(cache_key(token.key)) is None
    assert_rejected(get_with(token.key), "Invalid token.")


def test_an_expired_token_is_refused_even_from_the_cache(token, django_assert_num_queries):
    assert get_with(token.key).status_code == 200
    entry = cache.get(cache_key(token.key))
    # Past the expiry: the cache entry (still there in this test) is not trusted, the database says expired.
    entry["token"]["expiry"] = timezone.now() - timedelta(seconds=1)
    cache.set(cache_key(token.key), entry)
    AuthToken.objects.filter(pk=token.row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    with django_assert_num_queries(1), pytest.raises(AuthenticationFailed, match="Token expired."):
        authenticate(token.key)
    assert_rejected(get_with(token.key), "Token expired.")


def test_the_cache_entry_never_outlives_the_token(user, settings):
    settings.VITRINE_AUTH_CACHE_SECONDS = 3600
    row, key = auth_token_create(user=user)
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() + timedelta(seconds=30))
    authenticate(key)
    if hasattr(cache, "ttl"):  # django-redis
        assert 0 < cache.ttl(cache_key(key)) <= 30
    else:  # local memory: its expiry table holds the deadline
        deadline = cache._expire_info[cache.make_and_validate_key(cache_key(key))]
        assert deadline <= timezone.now().timestamp() + 31


def test_a_malformed_token_is_refused_without_a_query(django_assert_num_queries):
    for key in ["short", "0" * 63, "g" * 64, "0" * 65, "é" * 64]:
        with django_assert_num_queries(0), pytest.raises(AuthenticationFailed, match="Invalid token."):
            authenticate(key)


def test_a_profile_change_is_seen_at_the_next_request(token, user):
    authenticate(token.key)
    user.email = "new@example.com"
    user.save()
    assert authenticate(token.key)[0].email == "new@example.com"


def test_a_deleted_account_is_refused_at_the_next_request(token, user):
    assert get_with(token.key).status_code == 200
    user.delete()
    assert_rejected(get_with(token.key), "Invalid token.")


def test_an_unknown_token_is_refused_and_not_cached(django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1), pytest.raises(AuthenticationFailed, match="Invalid token."):
            authenticate("0" * 64)
    assert cache.get(cache_key("0" * 64)) is None
    assert_rejected(get_with("0" * 64), "Invalid token.")


def test_an_inactive_user_is_never_cached(db):
    key = token_create(UserFactory(is_active=False)).key
    with pytest.raises(AuthenticationFailed, match="User inactive or deleted."):
        authenticate(key)
    assert cache.get(cache_key(key)) is None


def test_a_write_that_commits_later_drops_what_was_cached_meanwhile(
    token, user, django_capture_on_commit_callbacks
):
    authenticate(token.key)
    stale = cache.get(cache_key(token.key))
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
        cache.set(cache_key(token.key), stale)  # a concurrent request that read the old, committed row
    with pytest.raises(AuthenticationFailed, match="User inactive or deleted."):
        authenticate(token.key)


def test_a_broken_cache_falls_back_to_the_database(token, user, django_assert_num_queries):
    with redis_down():  # Redis down as production sees it: django-redis IGNORE_EXCEPTIONS reads it as a miss
        for _ in range(2):
            with django_assert_num_queries(1):
                assert authenticate(token.key)[0].pk == user.pk
        assert get_with(token.key).status_code == 200


def test_zero_seconds_turns_the_cache_off(token, settings, django_assert_num_queries):
    settings.VITRINE_AUTH_CACHE_SECONDS = 0
    for _ in range(2):
        with django_assert_num_queries(1):
            authenticate(token.key)
    assert cache.get(cache_key(token.key)) is None
