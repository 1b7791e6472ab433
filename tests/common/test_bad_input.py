"""Hostile input never becomes a 500 or a non-JSON error answer (common.parsers, common.parsing,
common.middleware, the /api/ catch-all and the CSRF failure view), and a refused request writes nothing."""
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from common.parsing import ascii_int
from recommendations.models import Event
from tests.factories import CategoryFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db
SHAPE = {"detail", "code", "errors"}


def assert_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE and isinstance(body["detail"], str) and isinstance(body["errors"], dict)
    if code is not None:
        assert body["code"] == code
    return body


@pytest.fixture
def member_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.mark.parametrize(
    "method, url",
    [("post", "/api/v1/events/"), ("post", "/api/v1/feedback/"), ("put", "/api/v1/me/preferences/")],
)
def test_json_nested_deeper_than_the_parser_goes_is_a_parse_error(member_api, method, url):
    body = "[" * 100_000 + "]" * 100_000
    response = getattr(member_api, method)(url, data=body, content_type="application/json")
    assert_shape(response, 400, "parse_error")


@pytest.mark.parametrize(
    "event",
    [
        '{"client_event_id": "\\ud800", "item": 1, "event_type": "view"}',
        '{"sku": "\\ud800", "event_type": "view"}',
        '{"item": 1, "event_type": "view", "context": {"note": "\\udfff"}}',
        '{"item": 1, "event_type": "view", "context": {"\\udfff": 1}}',
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_and_nothing_is_stored(member_api, event):
    ItemFactory(pk=1)
    response = member_api.post("/api/v1/events/", data=f"[{event}]", content_type="application/json")
    assert "surrogate" in assert_shape(response, 400, "parse_error")["detail"]
    assert Event.objects.count() == 0
    assert member_api.get("/api/v1/events/").status_code == 200  # the list still renders


def test_integers_beyond_int64_are_refused(staff_api):
    ItemFactory(pk=1)
    response = staff_api.post(
        "/api/v1/events/", data='[{"item": 1, "event_type": "view", "user": 99999999999999999999}]',
        content_type="application/json",
    )
    assert "64-bit" in assert_shape(response, 400, "parse_error")["detail"]
    assert Event.objects.count() == 0


def test_a_category_key_beyond_int64_is_a_field_error(member_api):
    response = member_api.put(
        "/api/v1/me/preferences/", {"category_weights": {"99999999999999999999": 1}}, format="json"
    )
    assert "category_weights" in assert_shape(response, 400, "invalid")["errors"]


def test_too_many_query_fields_is_a_400(api_client):
    query = "&".join(f"x{n}=1" for n in range(1100))
    assert_shape(api_client.get(f"/api/v1/items/?{query}"), 400)
    assert_shape(api_client.get(f"/api/v1/recommendations/?{query}"), 400)


def test_too_many_form_fields_is_a_400(member_api):
    body = "&".join(f"a{n}=1" for n in range(2000))
    response = member_api.post("/api/v1/events/", data=body, content_type="application/x-www-form-urlencoded")
    assert_shape(response, 400)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", ["/api/nope/", "/api/v1/nope/", "/api/v1/items/abc/", "/api/v1/categories/99/"])
def test_unknown_api_urls_are_json_404_with_and_without_debug(api_client, settings, debug, url):
    settings.DEBUG = debug
    assert_shape(api_client.get(url), 404, "not_found")


def test_a_post_without_the_trailing_slash_says_where_to_go(member_api, settings):
    settings.DEBUG = True  # Django's APPEND_SLASH would raise a 500 for a POST here
    response = member_api.post("/api/v1/events", [{"item": 1, "event_type": "view"}], format="json")
    assert "/api/v1/events/" in assert_shape(response, 404, "not_found")["detail"]


def test_schema_errors_are_json(api_client):
    assert_shape(api_client.get("/api/schema/?format=bogus"), 404, "not_found")
    response = api_client.post("/api/schema/")
    assert_shape(response, 405, "method_not_allowed")


@pytest.fixture
def shopper(client) -> Client:
    client.force_login(UserFactory())
    return client


@pytest.mark.parametrize("url", ["/feed/react/", "/feed/not-interested/", "/swipe/decide/"])
def test_site_scripts_get_the_json_shape_for_a_wrong_method(shopper, url):
    response = shopper.get(url, HTTP_ACCEPT="application/json")
    assert "POST" in response["Allow"]
    assert_shape(response, 405, "method_not_allowed")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("value", ["²", "١", "abc", "99999999999999999999", "-1"])
def test_site_scripts_refuse_odd_ids_with_a_json_404(shopper, settings, debug, value):
    settings.DEBUG = debug
    response = shopper.post("/feed/react/", {"item": value, "reaction": "like"}, HTTP_ACCEPT="application/json")
    assert_shape(response, 404, "not_found")


def test_a_quantity_in_superscript_digits_is_not_a_500(shopper):
    item = ItemFactory(category=CategoryFactory())
    response = shopper.post(reverse("cart-add", args=[item.pk]), {"quantity": "²"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_a_failed_csrf_check_is_the_json_shape_for_scripts():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post("/feed/react/", {"item": "1"}, HTTP_ACCEPT="application/json")
    assert "CSRF" in assert_shape(response, 403, "permission_denied")["detail"]
    page = client.post("/feed/react/", {"item": "1"})
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "text, expected",
    [("12", 12), ("0", 0), ("²", None), ("١", None), ("-3", None), ("1.5", None), ("", None), (" 7", None),
     ("9223372036854775807", 2**63 - 1), ("9223372036854775808", None), (True, None), (5, 5), (None, None)],
)
def test_ascii_int(text, expected):
    assert ascii_int(text) == expected
