"""Password guessing and sign-up floods (#13 fault 1): throttles per client, lockout per account and per client."""
import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from tests.common.conftest import WINDOW_START
from tests.factories import UserFactory
from users.lockout import lockout_username, wait_phrase
from users.models import User

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pass-word-123"
LIMIT = 10  # AXES_FAILURE_LIMIT's default
SIGNUP = {"email": "", "password1": "Corr3ct-Horse!", "password2": "Corr3ct-Horse!"}


@pytest.fixture
def login_clock(monkeypatch) -> list[float]:
    """The throttles' clock, 10 s into a window; the login and sign-up scopes allow 5 requests a minute."""
    from rest_framework.throttling import SimpleRateThrottle

    now = [WINDOW_START + 10.0]
    rates = {"anon": "10000/min", "user": "10000/min", "login": "5/min", "signup": "5/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def token_post(username: str, password: str, *, address: str = "10.0.0.1", **extra):
    client = APIClient(REMOTE_ADDR=address, **extra)
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def site_login(username: str, password: str, *, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def assert_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "code", "errors"} and body["code"] == code
    return body


# ----------------------------------------------------------------------------------- the token API, throttled
def test_the_token_api_answers_429_in_the_one_shape_past_the_login_rate(login_clock):
    UserFactory(username="ada", password=PASSWORD)
    codes = [token_post("ada", "wrong").status_code for _ in range(5)]
    assert codes == [400] * 5
    body = assert_shape(token_post("ada", PASSWORD), 429, "throttled")  # even the right password now waits
    assert "throttled" in body["detail"].lower()
    assert token_post("ada", PASSWORD)["Retry-After"] == "50"
    assert token_post("ada", PASSWORD, address="10.0.0.2").status_code == 201  # another client has its own count
    login_clock[0] = WINDOW_START + 60  # the next window
    assert token_post("ada", PASSWORD).json()["token"]  # a new token: the server keeps only its digest


def test_the_token_api_and_the_site_login_share_one_count(login_clock):
    UserFactory(username="ada", password=PASSWORD)
    assert [token_post("ada", "wrong").status_code for _ in range(3)] == [400] * 3
    assert [site_login("ada", "wrong").status_code for _ in range(2)] == [200] * 2  # the form again, with its error
    response = site_login("ada", PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "50"
    assert response["Content-Type"].startswith("text/html")
    assert "Too many sign-in attempts from your network. Please try again in 50 seconds." in response.content.decode()


def test_viewing_the_login_page_is_not_an_attempt(login_clock):
    assert [Client().get(reverse("login")).status_code for _ in range(8)] == [200] * 8


# ---------------------------------------------------------------------------------------------- the lockout
def test_an_account_is_locked_after_repeated_failures_from_any_address():
    UserFactory(username="ada", password=PASSWORD)
    codes = [token_post("ada", f"guess-{n}", address=f"10.0.1.{n}").status_code for n in range(LIMIT - 1)]
    assert codes == [400] * (LIMIT - 1)
    body = assert_shape(token_post("ada", "guess-last", address="10.0.1.200"), 429, "locked_out")
    assert body["detail"] == "Too many failed sign-in attempts. Please try again in 15 minutes."
    locked = token_post("ada", PASSWORD, address="10.0.2.1")  # the right password, from a fresh address
    assert_shape(locked, 429, "locked_out")
    assert locked["Retry-After"] == str(15 * 60)
    # The site's login page refuses it too, with a page for people.
    browser = Client(REMOTE_ADDR="10.0.2.2")
    page = browser.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    assert page.status_code == 429 and page["Retry-After"] == "900"
    assert SESSION_KEY not in browser.session
    assert "Too many failed sign-in attempts. Please try again in 15 minutes." in page.content.decode()
    # Other accounts are not affected.
    UserFactory(username="grace", password=PASSWORD)
    assert token_post("grace", PASSWORD, address="10.0.2.3").status_code == 201


def test_the_account_count_ignores_case_and_width():
    UserFactory(username="ada", password=PASSWORD)
    names = ["ADA", "Ada", "ａｄａ", "aDa"]  # one count for every spelling of the name
    for n in range(LIMIT):
        token_post(names[n % len(names)], "wrong", address=f"10.0.3.{n}")
    assert_shape(token_post("ada", PASSWORD, address="10.0.4.1"), 429, "locked_out")


def test_a_client_guessing_many_accounts_is_locked_out():
    UserFactory(username="ada", password=PASSWORD)
    for n in range(LIMIT):
        token_post(f"user{n}", "wrong", address="10.0.5.5")
    assert_shape(token_post("ada", PASSWORD, address="10.0.5.5"), 429, "locked_out")
    assert token_post("ada", PASSWORD, address="10.0.5.6").status_code == 201  # the account itself is not locked


def test_a_success_does_not_reset_the_client_count():
    UserFactory(username="mallory", password=PASSWORD)
    for n in range(LIMIT - 1):
        token_post(f"victim{n}", "wrong", address="10.0.6.6")
    assert token_post("mallory", PASSWORD, address="10.0.6.6").status_code == 201
    assert_shape(token_post("victim0", "wrong", address="10.0.6.6"), 429, "locked_out")


def test_the_lockout_ends_after_the_cool_off(settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    UserFactory(username="ada", password=PASSWORD)
    for n in range(LIMIT):
        token_post("ada", "wrong", address=f"10.0.7.{n}")
    assert_shape(token_post("ada", PASSWORD, address="10.0.8.1"), 429, "locked_out")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)
    assert token_post("ada", PASSWORD, address="10.0.8.1").status_code == 201


def test_a_forged_forwarded_for_does_not_escape_the_lockout():
    UserFactory(username="ada", password=PASSWORD)
    for n in range(LIMIT):
        token_post(f"user{n}", "wrong", address="10.0.9.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert_shape(token_post("ada", PASSWORD, address="10.0.9.9", HTTP_X_FORWARDED_FOR="198.51.100.1"), 429, "locked_out")


def test_the_counted_name_is_folded_clean_and_bounded():
    request = RequestFactory().post("/accounts/login/", {"username": "Form-Name"})
    assert lockout_username(request, {"username": "ＡＤＡ\x00"}) == "ada"
    assert lockout_username(request, {"username": "x" * 5000}) == "x" * 150
    assert lockout_username(request, {}) == "form-name"
    assert lockout_username(RequestFactory().post("/"), {"username": ["a"]}) is None


def test_waits_read_as_people_say_them():
    assert [wait_phrase(s) for s in (1, 50, 89, 90, 900, 901)] == [
        "1 second", "50 seconds", "89 seconds", "2 minutes", "15 minutes", "16 minutes"
    ]


def test_a_long_or_odd_username_is_a_plain_failure():
    for username in ["x" * 5000, "ＡＤＡ"]:
        assert_shape(token_post(username, "wrong"), 400, "invalid")
    assert_shape(token_post("a\x00b", "wrong"), 400, "parse_error")  # NUL is refused at the door (common.parsers)


# ------------------------------------------------------------------------------------------------ sign-up
def test_sign_up_is_throttled_per_client(login_clock):
    codes = [
        Client(REMOTE_ADDR="10.1.0.1").post(reverse("signup"), {**SIGNUP, "username": f"user{n}"}).status_code
        for n in range(7)
    ]
    assert codes == [302] * 5 + [429] * 2
    assert User.objects.count() == 5
    refused = Client(REMOTE_ADDR="10.1.0.1").post(reverse("signup"), {**SIGNUP, "username": "late"})
    assert refused["Retry-After"] == "50" and "Too many sign-up attempts" in refused.content.decode()
    other = Client(REMOTE_ADDR="10.1.0.2").post(reverse("signup"), {**SIGNUP, "username": "other"})
    assert other.status_code == 302


def test_sign_up_ignores_a_forged_forwarded_for(login_clock):
    codes = [
        Client(REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        .post(reverse("signup"), {**SIGNUP, "username": f"user{n}"})
        .status_code
        for n in range(7)
    ]
    assert codes == [302] * 5 + [429] * 2
