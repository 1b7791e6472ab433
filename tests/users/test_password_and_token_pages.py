"""The account pages of issue 13, fault 3: API tokens (/accounts/tokens/), password change and reset. Every way to
change a password (site, reset link, admin, manage.py) revokes the user's API tokens."""
import io
import re

import pytest
from django.core import mail
from django.core.management import call_command

from tests.factories import UserFactory
from users.models import AuthToken
from users.services import auth_token_create

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"  # UserFactory's
NEW_PASSWORD = "a-brand-new-secret-77"


@pytest.fixture
def member(client):
    user = UserFactory(username="ada", email="ada@example.com")
    client.force_login(user)
    return user


def tokens_of(user) -> int:
    return AuthToken.objects.filter(user=user).count()


# -------------------------------------------------------------------------------------------------- tokens page
def test_the_tokens_page_creates_a_token_shown_once(client, member):
    response = client.post("/accounts/tokens/", {"name": "my phone"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = re.search(r"<code data-token[^>]*>([0-9a-f]{64})</code>", response.content.decode()).group(1)
    row = AuthToken.objects.get(user=member)
    assert row.name == "my phone" and row.digest != token
    page = client.get("/accounts/tokens/").content.decode()
    assert "my phone" in page and token not in page  # listed, never shown again


def test_the_tokens_page_lists_only_the_owners_tokens_and_revokes_one(client, member):
    mine, _ = auth_token_create(user=member, name="laptop")
    auth_token_create(user=UserFactory(), name="not yours")
    page = client.get("/accounts/tokens/").content.decode()
    assert "laptop" in page and "not yours" not in page
    response = client.post(f"/accounts/tokens/{mine.pk}/revoke/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/tokens/" and tokens_of(member) == 0
    assert "Token revoked" in response.content.decode()


def test_a_member_cannot_revoke_someone_elses_token_from_the_page(client, member):
    theirs, _ = auth_token_create(user=UserFactory())
    client.post(f"/accounts/tokens/{theirs.pk}/revoke/")
    assert AuthToken.objects.filter(pk=theirs.pk).exists()


def test_the_tokens_page_needs_a_login(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_my_data_links_to_tokens_and_password_change(client, member):
    page = client.get("/accounts/data/").content.decode()
    assert 'href="/accounts/tokens/"' in page and 'href="/accounts/password/"' in page


# ------------------------------------------------------------------------------------------- password change
def test_changing_the_password_on_the_site_revokes_every_token_and_keeps_the_session(client, member):
    auth_token_create(user=member, name="phone")
    auth_token_create(user=member, name="laptop")
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/done/"
    assert tokens_of(member) == 0
    assert client.get("/accounts/tokens/").status_code == 200  # still signed in


def test_the_admins_password_form_revokes_every_token(client):
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    member = UserFactory()
    auth_token_create(user=member)
    client.force_login(admin)
    response = client.post(
        f"/admin/users/user/{member.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and tokens_of(member) == 0


def test_manage_py_changepassword_revokes_every_token(monkeypatch):
    member = UserFactory()
    auth_token_create(user=member)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", member.username, stdout=io.StringIO())
    assert tokens_of(member) == 0


# -------------------------------------------------------------------------------------------- password reset
def test_the_login_page_links_to_the_password_reset(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password-reset/"' in page and "Forgot password?" in page


def test_the_reset_flow_sets_a_new_password_and_revokes_every_token(client):
    member = UserFactory(username="ada", email="ada@example.com")
    auth_token_create(user=member)
    response = client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert "Check your email" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    assert mail.outbox[0].subject == "Set a new Vitrine password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    assert "Set a new password" in client.get(form_url).content.decode()
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/reset/done/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD) and tokens_of(member) == 0
    assert "This link no longer works" in client.get(link, follow=True).content.decode()  # used once


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_the_email_backend_comes_from_the_environment():
    import environ

    config = environ.Env().email_url_config("smtp+tls://mailer:secret@smtp.example.com:587")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend" and config["EMAIL_USE_TLS"]
    from config.settings import base

    assert base.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"  # the default without the variable
