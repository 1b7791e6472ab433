"""Sign up, log in and log out pages through Django's test client."""
import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import UserFactory
from users.models import Preferences, User
from users.services import user_create

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SIGNUP_DATA = {"username": "grace", "email": "grace@example.com", "password1": "Corr3ct-Horse!", "password2": "Corr3ct-Horse!"}


def logged_in_user_id(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


class TestSignup:
    def test_form_renders_with_labels(self, client):
        response = client.get(reverse("signup"))
        html = response.content.decode()
        assert response.status_code == 200
        for field in ("username", "email", "password1", "password2"):
            assert f'<label for="id_{field}"' in html
        assert "csrfmiddlewaretoken" in html

    def test_creates_user_with_preferences_and_logs_in(self, client):
        response = client.post(reverse("signup"), SIGNUP_DATA, follow=True)
        user = User.objects.get(username="grace")
        assert response.redirect_chain == [(reverse("onboarding"), 302)]  # new users start with onboarding (#7)
        assert user.email == "grace@example.com" and user.check_password("Corr3ct-Horse!")
        assert Preferences.objects.filter(user=user).exists()
        assert logged_in_user_id(client) == user.pk
        html = response.content.decode()
        assert "Welcome to Vitrine, grace!" in html and "Log out" in html

    def test_email_is_optional(self, client):
        client.post(reverse("signup"), {**SIGNUP_DATA, "email": ""})
        assert User.objects.get(username="grace").email == ""

    def test_honours_safe_next(self, client):
        response = client.post(f"{reverse('signup')}?next=/search/%3Fq%3Dlamp", SIGNUP_DATA)
        assert response.status_code == 302 and response.url == "/search/?q=lamp"

    def test_next_is_carried_by_hidden_field(self, client):
        html = client.get(reverse("signup"), {"next": "/c/garden/"}).content.decode()
        assert '<input type="hidden" name="next" value="/c/garden/">' in html
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "next": "/c/garden/"})
        assert response.url == "/c/garden/"

    def test_ignores_offsite_next(self, client):
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "next": "https://evil.example.com/"})
        assert response.url == reverse("onboarding")

    def test_password_mismatch_shows_error_and_creates_nothing(self, client):
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "password2": "something-else-9"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "The two password fields didn’t match." in html
        assert 'role="alert"' in html and 'aria-invalid="true"' in html
        assert not User.objects.filter(username="grace").exists()
        assert logged_in_user_id(client) is None

    def test_weak_password_is_rejected(self, client):
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "password1": "123", "password2": "123"})
        assert "This password is too short." in response.content.decode()
        assert not User.objects.exists()

    def test_duplicate_username_is_rejected(self, client):
        UserFactory(username="grace")
        response = client.post(reverse("signup"), SIGNUP_DATA)
        assert "A user with that username already exists." in response.content.decode()
        assert User.objects.filter(username="grace").count() == 1

    @pytest.mark.parametrize("username", ["gr\u0430ce", "\u0430dmin", "\u03bfscar", "gr\u00e4ce", "grace\u200b"])
    def test_look_alike_usernames_are_refused(self, client, username):
        """Fault 8: a Cyrillic "а" (and any other non-ASCII letter) could pass for another user's name."""
        UserFactory(username="grace")
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "username": username})
        assert response.status_code == 200 and "Use only English letters" in response.content.decode()
        assert User.objects.count() == 1

    def test_a_taken_username_in_another_case_is_refused(self, client):
        UserFactory(username="grace")
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "username": "GRACE"})
        assert "A user with that username already exists." in response.content.decode()
        assert User.objects.count() == 1

    def test_a_duplicate_email_is_refused_whatever_its_case(self, client):
        """Fault 8: one account per email address."""
        UserFactory(username="ada", email="grace@example.com")
        response = client.post(reverse("signup"), {**SIGNUP_DATA, "email": "Grace@Example.COM"})
        assert response.status_code == 200 and "An account with this email already exists." in response.content.decode()
        assert User.objects.count() == 1

    def test_the_service_refuses_the_same_as_the_form(self, db):
        UserFactory(username="grace", email="grace@example.com")
        for fields in ({"username": "gr\u0430ce2"}, {"username": "Grace"}, {"username": "g2", "email": "GRACE@example.com"}):
            with pytest.raises(ValidationError):
                user_create(password="Corr3ct-Horse!", **fields)
        assert user_create(username="grace.h+1@x", password="Corr3ct-Horse!", email="other@example.com").pk

    def test_logged_in_user_is_redirected_home(self, client):
        client.force_login(UserFactory())
        response = client.get(reverse("signup"))
        assert response.status_code == 302 and response.url == reverse("home")


class TestLogin:
    def test_form_renders(self, client):
        response = client.get(reverse("login"))
        html = response.content.decode()
        assert response.status_code == 200
        assert '<label for="id_username"' in html and '<label for="id_password"' in html

    def test_valid_credentials_log_in_and_go_home(self, client):
        user = UserFactory(username="ada")
        response = client.post(reverse("login"), {"username": "ada", "password": PASSWORD}, follow=True)
        assert response.redirect_chain == [(reverse("home"), 302)]
        assert logged_in_user_id(client) == user.pk
        assert "Signed in as ada." in response.content.decode()

    def test_honours_next(self, client):
        UserFactory(username="ada")
        html = client.get(reverse("login"), {"next": "/c/garden/"}).content.decode()
        assert '<input type="hidden" name="next" value="/c/garden/">' in html
        response = client.post(reverse("login"), {"username": "ada", "password": PASSWORD, "next": "/c/garden/"})
        assert response.url == "/c/garden/"

    def test_ignores_offsite_next(self, client):
        UserFactory(username="ada")
        response = client.post(
            reverse("login"), {"username": "ada", "password": PASSWORD, "next": "//evil.example.com/"}
        )
        assert response.url == reverse("home")

    def test_wrong_password_shows_error(self, client):
        UserFactory(username="ada")
        response = client.post(reverse("login"), {"username": "ada", "password": "nope"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "Please enter a correct username and password." in html and 'role="alert"' in html
        assert logged_in_user_id(client) is None

    def test_login_link_in_header_carries_current_page(self, client, db):
        html = client.get(reverse("search"), {"q": "lamp"}).content.decode()
        assert 'href="/accounts/login/?next=/search/%3Fq%3Dlamp"' in html


class TestLogout:
    def test_post_logs_out_and_goes_home(self, client):
        client.force_login(UserFactory())
        response = client.post(reverse("logout"), follow=True)
        assert response.redirect_chain == [(reverse("home"), 302)]
        assert logged_in_user_id(client) is None
        assert "You have signed out." in response.content.decode()

    def test_get_is_not_allowed(self, client):
        client.force_login(UserFactory())
        assert client.get(reverse("logout")).status_code == 405
        assert logged_in_user_id(client) is not None
