"""API tokens (issue 13, fault 3): hashed, named, expiring, listed and revoked by their owner, never handed out twice."""
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory
from users.models import AuthToken
from users.services import auth_token_create

pytestmark = pytest.mark.django_db
OBTAIN = "/api/v1/auth/token/"
LIST = "/api/v1/me/tokens/"
PASSWORD = "pass-word-123"  # UserFactory's


def obtain(user, **extra):
    return APIClient().post(OBTAIN, {"username": user.username, "password": PASSWORD, **extra}, format="json")


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_obtaining_a_token_answers_it_once_with_its_name_and_expiry(user, settings):
    settings.VITRINE_TOKEN_TTL_HOURS = 48
    before = timezone.now()
    response = obtain(user, name="my phone")
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"id", "name", "token", "created", "expiry"} and body["name"] == "my phone"
    row = AuthToken.objects.get(pk=body["id"])
    assert row.user == user and row.name == "my phone"
    assert before + timedelta(hours=48) <= row.expiry <= timezone.now() + timedelta(hours=48)
    assert len(body["token"]) == 64 and client_with(body["token"]).get("/api/v1/me/preferences/").status_code == 200


def test_tokens_are_stored_hashed_never_in_plain_text(user):
    token = obtain(user).json()["token"]
    row = AuthToken.objects.get()
    assert len(row.digest) == 128 and token not in row.digest and row.digest != token
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM users_authtoken")
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert token not in stored


def test_the_same_token_is_never_handed_out_twice(user):
    """Before: POST /auth/token/ answered the same plain-text token on every call, forever."""
    tokens = [obtain(user).json()["token"] for _ in range(3)]
    assert len(set(tokens)) == 3 and AuthToken.objects.filter(user=user).count() == 3
    assert all(client_with(token).get(LIST).status_code == 200 for token in tokens)  # one per device, all valid


def test_wrong_credentials_get_no_token(user):
    response = APIClient().post(OBTAIN, {"username": user.username, "password": "wrong"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert response.json()["errors"] == {"non_field_errors": ["Unable to log in with provided credentials."]}
    inactive = UserFactory(is_active=False)
    assert obtain(inactive).status_code == 400 and not AuthToken.objects.exists()


def test_a_name_longer_than_100_characters_is_a_field_error(user):
    response = obtain(user, name="x" * 101)
    assert response.status_code == 400 and "name" in response.json()["errors"]


def test_a_stale_token_header_does_not_stop_a_client_getting_a_new_token(user):
    response = client_with("0" * 64).post(OBTAIN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 201


def test_an_expired_token_is_refused(user):
    token = obtain(user).json()["token"]
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    response = client_with(token).get(LIST)
    assert response.status_code == 401 and response.json()["detail"] == "Token expired."


def test_the_owner_lists_live_tokens_without_the_tokens_themselves(user):
    phone = obtain(user, name="phone").json()
    laptop = obtain(user, name="laptop").json()
    expired, _ = auth_token_create(user=user, name="old")
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    auth_token_create(user=UserFactory(), name="someone else's")
    body = client_with(laptop["token"]).get(LIST).json()
    assert [row["name"] for row in body] == ["laptop", "phone"]  # newest first, live ones of this user only
    assert [row["current"] for row in body] == [True, False]
    assert set(body[0]) == {"id", "name", "created", "expiry", "current"}
    assert phone["token"] not in str(body) and laptop["token"] not in str(body)


def test_the_list_needs_authentication():
    response = APIClient().get(LIST)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_owner_revokes_a_token_and_it_stops_working_at_once(user):
    phone = obtain(user, name="phone").json()
    laptop = obtain(user, name="laptop").json()
    assert client_with(phone["token"]).get(LIST).status_code == 200  # now cached
    response = client_with(laptop["token"]).delete(f"{LIST}{phone['id']}/")
    assert response.status_code == 204
    assert client_with(phone["token"]).get(LIST).json()["detail"] == "Invalid token."
    assert client_with(laptop["token"]).get(LIST).status_code == 200


def test_revoking_the_current_token_logs_the_client_out(user):
    laptop = obtain(user).json()
    client = client_with(laptop["token"])
    assert client.delete(f"{LIST}{laptop['id']}/").status_code == 204
    assert client.get(LIST).status_code == 401


@pytest.mark.parametrize("token_id", ["someone", "unknown", "huge"])
def test_another_users_or_an_unknown_token_is_not_found(user, token_id):
    other, _ = auth_token_create(user=UserFactory())
    ids = {"someone": other.pk, "unknown": other.pk + 1000, "huge": 10**30}
    client = client_with(obtain(user).json()["token"])
    response = client.delete(f"{LIST}{ids[token_id]}/")
    assert response.status_code == 404 and response.json() == {"detail": "No such token.", "code": "not_found", "errors": {}}
    assert AuthToken.objects.filter(pk=other.pk).exists()


def test_tokens_per_user_are_capped(user, settings):
    settings.VITRINE_TOKEN_LIMIT_PER_USER = 2
    first = obtain(user).json()
    obtain(user)
    response = obtain(user)
    assert response.status_code == 409 and response.json()["code"] == "token_limit"
    client_with(first["token"]).delete(f"{LIST}{first['id']}/")
    assert obtain(user).status_code == 201


def test_expired_tokens_are_pruned_when_the_owner_gets_a_new_one(user, settings):
    settings.VITRINE_TOKEN_LIMIT_PER_USER = 1
    obtain(user)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert obtain(user).status_code == 201 and AuthToken.objects.count() == 1


def test_a_password_change_through_the_api_users_object_revokes_every_token(user):
    tokens = [obtain(user).json()["token"] for _ in range(2)]
    user.set_password("another-pass-456")
    user.save()
    assert not AuthToken.objects.filter(user=user).exists()
    assert all(client_with(token).get(LIST).status_code == 401 for token in tokens)


def test_other_saves_and_a_hash_upgrade_at_login_revoke_nothing(user, settings):
    obtain(user)
    user.email = "new@example.com"
    user.save()
    # A hash upgrade (here MD5 -> PBKDF2) rewrites the stored hash on a correct password: not a change.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    old_hash = user.password
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password != old_hash and AuthToken.objects.filter(user=user).count() == 1


def test_a_malformed_token_header_is_a_401_not_a_server_error(user):
    for header in ["Token", "Token a b", "Token " + "é" * 64]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(LIST)
        assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token \x00")  # NUL anywhere is a 400 before authentication (common.nul)
    response = client.get(LIST)
    assert response.status_code == 400 and response.json()["code"] in {"bad_request", "invalid", "parse_error"}
