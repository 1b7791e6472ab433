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
def staff_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.mark.parametrize(
    "method, url",
    [("post", "/api/v1/events/"), ("post", "/api/v1/feedback/"), ("put", "/api/v1/me/preferences/")],
)
def test_json_nested_deeper_than_the_parser_goes_is_a_parse_error(user_client, method, url):
    body = "[" * 100_000 + "]" * 100_000
    response = getattr(user_client, method)(url, data=body, content_type="application/json")
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
def test_a_lone_surrogate_anywhere_is_refused_and_nothing_is_stored(user_client, event):
    ItemFactory(pk=1)
    response = user_client.post("/api/v1/events/", data=f"[{event}]", content_type="application/json")
    assert "surrogate" in assert_shape(response, 400, "parse_error")["detail"]
    assert Event.objects.count() == 0
    assert user_client.get("/api/v1/events/").status_code == 200  # the list still renders


def test_integers_beyond_int64_are_refused(staff_api):
    ItemFactory(pk=1)
    response = staff_api.post(
        "/api/v1/events/", data='[{"item": 1, "event_type": "view", "user": 99999999999999999999}]',
        content_type="application/json",
    )
    assert "64-bit" in assert_shape(response, 400, "parse_error")["detail"]
    assert Event.objects.count() == 0


def test_a_category_key_beyond_int64_is_a_field_error(user_client):
    response = user_client.put(
        "/api/v1/me/preferences/", {"category_weights": {"99999999999999999999": 1}}, format="json"
    )
    assert "category_weights" in assert_shape(response, 400, "invalid")["errors"]


def test_too_many_query_fields_is_a_400(api_client):
    query = "&".join(f"x{n}=1" for n in range(1100))
    assert_shape(api_client.get(f"/api/v1/items/?{query}"), 400)
    assert_shape(api_client.get(f"/api/v1/recommendations/?{query}"), 400)


def test_too_many_form_fields_is_a_400(user_client):
    body = "&".join(f"a{n}=1" for n in range(2000))
    response = user_client.post("/api/v1/events/", data=body, content_type="application/x-www-form-urlencoded")
    assert_shape(response, 400)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", ["/api/nope/", "/api/v1/nope/", "/api/v1/items/abc/", "/api/v1/categories/99/"])
def test_unknown_api_urls_are_json_404_with_and_without_debug(api_client, settings, debug, url):
    settings.DEBUG = debug
    assert_shape(api_client.get(url), 404, "not_found")


def test_a_post_without_the_trailing_slash_says_where_to_go(user_client, settings):
    settings.DEBUG = True  # Django's APPEND_SLASH would raise a 500 for a POST here
    response = user_client.post("/api/v1/events", [{"item": 1, "event_type": "view"}], format="json")
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


# ------------------------------------------------------------- issue 13, fault 5: malformed input is never a 500
# Every test here runs on the database the environment gives: PostgreSQL refuses more than SQLite (NUL in text,
# timezone offsets beyond +-15:59), so run them with DATABASE_URL=postgres://... too.
@pytest.mark.parametrize(
    "event",
    [
        {"item": 1, "event_type": {}}, {"item": 1, "event_type": []}, {"item": 1, "type": {}}, {"item": 1, "event_type": 5},
        {"sku": {}, "event_type": "view"}, {"sku": [], "event_type": "view"}, {"item": {}, "event_type": "view"},
        {"item": [1], "event_type": "view"}, {"item": "²", "event_type": "view"}, {"item": 1.5, "event_type": "view"},
        {"item": 1, "event_type": "view", "client_event_id": {}}, {"item": 1, "event_type": "view", "client_event_id": 7},
        {"item": 1, "event_type": "rating", "value": {}}, {"item": 1, "event_type": "rating", "value": "5"},
        {"item": 1, "event_type": "view", "timestamp": {}}, {"item": 1, "event_type": "view", "timestamp": []},
        {"item": 1, "event_type": "view", "context": []}, {"item": 1, "event_type": "view", "context": {"device": {}}},
        {"item": 1, "event_type": "view", "context": {"device": ["mobile"]}},
        {"item": 1, "event_type": "view", "context": {"local_hour": {}}}, {"item": 1, "event_type": "view", "user": {}},
        {"item": 1, "event_type": "view", "user": "1"},
    ],
)
def test_wrong_typed_event_fields_are_field_errors(staff_api, event):
    ItemFactory(pk=1)
    body = assert_shape(staff_api.post("/api/v1/events/", [event], format="json"), 400, "invalid")
    assert list(body["errors"]) == ["0"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("post", "/api/v1/events/", '[{"item": 1, "event_type": "view", "client_event_id": "a\\u0000b"}]'),
        ("post", "/api/v1/events/", '[{"item": 1, "event_type": "view", "context": {"note": "\\u0000"}}]'),
        ("post", "/api/v1/events/", '[{"item": 1, "event_type": "view", "context": {"\\u0000": 1}}]'),
        ("post", "/api/v1/events/", '[{"sku": "\\u0000", "event_type": "view"}]'),
        ("post", "/api/v1/feedback/", '{"item": 1, "request_id": "\\u0000"}'),
        ("put", "/api/v1/me/preferences/", '{"category_weights": {"1\\u0000": 1}}'),
    ],
)
def test_a_nul_in_any_json_string_is_a_parse_error(user_client, method, url, body):
    ItemFactory(pk=1)
    response = getattr(user_client, method)(url, data=body, content_type="application/json")
    assert "NUL" in assert_shape(response, 400, "parse_error")["detail"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["/api/v1/items/?search=%00", "/api/v1/items/?q=a%00", "/api/v1/items/?%00=1", "/api/v1/recommendations/?cursor=%00",
     "/api/v1/events/?page=%00", "/api/v1/categories/?top_level=%00"],
)
def test_a_nul_in_an_api_query_string_is_a_json_400(user_client, url):
    assert "Null characters" in assert_shape(user_client.get(url), 400, "invalid")["detail"]


def test_a_nul_in_a_form_encoded_api_body_is_a_json_400(user_client):
    ItemFactory(pk=1)
    response = user_client.post(
        "/api/v1/events/", data="item=1&event_type=view&client_event_id=a%00b", content_type="application/x-www-form-urlencoded"
    )
    assert assert_shape(response, 400, "invalid")["errors"] == {"client_event_id": ["Null characters (\\x00) are not allowed."]}
    assert Event.objects.count() == 0


def test_a_nul_in_the_authorization_header_is_a_json_400(api_client):
    assert_shape(api_client.get("/api/v1/events/", HTTP_AUTHORIZATION="Token abc\x00def"), 400, "invalid")


@pytest.mark.parametrize(
    "offset, stored",
    [("+23:00", "2020-01-01T01:00:00+00:00"), ("-23:59:59.999000", "2020-01-02T23:59:59.999000+00:00"),
     ("+15:59", "2020-01-01T08:01:00+00:00"), ("+05:30", "2020-01-01T18:30:00+00:00")],
)
def test_any_python_offset_is_stored_in_utc(user_client, offset, stored):
    """PostgreSQL refuses offsets beyond +-15:59 ("time zone displacement out of range"): stored as UTC."""
    ItemFactory(pk=1)
    event = {"item": 1, "event_type": "view", "timestamp": f"2020-01-02T00:00:00{offset}"}
    assert user_client.post("/api/v1/events/", [event], format="json").status_code == 201
    assert Event.objects.get().timestamp.isoformat() == stored


@pytest.mark.parametrize(
    "timestamp",
    ["2026-01-01T00:00:00+25:00", "2020-01-01T00:00:00-99:99", "0000-01-01T00:00:00", "10000-01-01T00:00:00",
     "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2020-13-01T00:00:00", 1e20, -1e20],
)
def test_timestamps_outside_what_is_storable_are_field_errors(user_client, timestamp):
    ItemFactory(pk=1)
    response = user_client.post("/api/v1/events/", [{"item": 1, "event_type": "view", "timestamp": timestamp}], format="json")
    assert "timestamp" in assert_shape(response, 400, "invalid")["errors"]["0"]
    assert Event.objects.count() == 0


SITE_FORMS = [  # (url, fields): every site form that takes an id, a number or text
    ("/feed/react/", {"item": "{v}", "reaction": "like", "surface": "{v}", "request_id": "{v}", "client_event_id": "{v}"}),
    ("/feed/not-interested/", {"item": "{v}", "scope": "{v}", "request_id": "{v}"}),
    ("/swipe/decide/", {"item": "{v}", "decision": "like", "cursor": "{v}"}),
    ("/welcome/", {"categories": "{v}"}),
    ("/welcome/items/", {"categories": "{v}", "items": "{v}"}),
    ("/preferences/", {"excluded": "{v}", "diversity_level": "{v}", "exploration_level": "0.2", "weight_1": "{v}"}),
    ("/cart/add/1/", {"quantity": "{v}", "next": "{v}"}),
    ("/feed/wellbeing/dismiss/", {"next": "{v}"}),
    ("/accounts/data/reset/", {"confirm": "{v}"}),
]
SITE_PAGES = ["/search/?q={v}", "/search/?q=a&sort={v}&min_price={v}&page={v}", "/c/books/?sort={v}&max_price={v}",
              "/swipe/?cursor={v}", "/welcome/items/?categories={v}", "/accounts/data/?page={v}", "/?next={v}"]


@pytest.fixture
def shop(shopper):
    category = CategoryFactory(pk=1, slug="books")
    ItemFactory(pk=1, category=category)
    return shopper


def _form(fields: dict, value: str) -> dict:
    return {name: template.replace("{v}", value) for name, template in fields.items()}


@pytest.mark.parametrize("url, fields", SITE_FORMS)
@pytest.mark.parametrize("value", ["²", "١", "99999999999999999999", "-1", "1e309", "NaN", ""])
def test_site_forms_take_odd_numbers_without_a_500(shop, url, fields, value):
    response = shop.post(url, _form(fields, value))
    assert response.status_code in (200, 302, 400, 404), (url, value, response.status_code)
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url, fields", SITE_FORMS)
def test_a_nul_in_any_site_form_is_the_400_page(shop, url, fields):
    response = shop.post(url, _form(fields, "1\x00"))
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert b"Bad request" in response.content or b"400" in response.content
    scripted = shop.post(url, _form(fields, "1\x00"), HTTP_ACCEPT="application/json")
    assert_shape(scripted, 400, "invalid")
    assert Event.objects.count() == 0


@pytest.mark.parametrize("url", SITE_PAGES)
def test_a_nul_in_a_site_query_string_is_the_400_page(shop, url):
    response = shop.get(url.replace("{v}", "%00"))
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def test_site_search_for_a_nul_is_a_400_not_a_database_error(client):
    response = client.get("/search/?q=%00")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert client.get("/search/?q=fine").status_code == 200


def test_a_forged_form_with_a_nul_still_fails_its_csrf_check_first():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post("/feed/react/", {"item": "\x00"}).status_code == 403


def test_an_oversized_api_body_is_a_json_413(user_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = "[" + ",".join(['{"item": 1, "event_type": "view"}'] * 100) + "]"
    assert_shape(user_client.post("/api/v1/events/", data=big, content_type="application/json"), 413, "payload_too_large")
    form = "item=1&event_type=view&client_event_id=" + "x" * 2000
    response = user_client.post("/api/v1/events/", data=form, content_type="application/x-www-form-urlencoded")
    assert_shape(response, 413, "payload_too_large")
    assert Event.objects.count() == 0


def test_an_oversized_site_form_is_the_400_page(shop, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = shop.post("/feed/react/", {"item": "1", "reaction": "like", "surface": "x" * 2000})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    scripted = shop.post("/feed/react/", {"item": "1", "surface": "x" * 2000}, HTTP_ACCEPT="application/json")
    assert_shape(scripted, 413, "payload_too_large")


# A property-style sweep: nasty values in every field of every API operation that takes input; none is a 500.
NASTY_JSON = [None, True, -1, 0, 2**63 - 1, -(2**63), 1.5, 1e308, "", " ", "²", "١", "1\x00", "a" * 5000, "\u202e",
              "<script>", "9" * 30, [], {}, [[]], {"a": {}}, [{}], list(range(2000))]
API_FIELDS = {
    ("post", "/api/v1/events/"): ["item", "sku", "event_type", "type", "value", "timestamp", "context", "client_event_id", "user"],
    ("post", "/api/v1/feedback/"): ["item", "category", "scope", "request_id"],
    ("put", "/api/v1/me/preferences/"): ["excluded_categories", "category_weights", "diversity_level", "exploration_level",
                                         "personalization_enabled", "hidden_items"],
}
API_QUERIES = {"/api/v1/items/": ["category", "q", "in_stock", "min_price", "max_price", "ordering", "page", "page_size"],
               "/api/v1/recommendations/": ["n", "cursor", "context"], "/api/v1/items/1/similar/": ["n"],
               "/api/v1/events/": ["page", "page_size"]}
NASTY_TEXT = ["²", "١", "-1", "99999999999999999999", "1e309", "NaN", "", "%00", "%ff", "%ed%a0%80", "a" * 3000,
              "[]", "{}", "true", "1,2", "device:%00", "hour:99"]


def _base(url: str) -> dict:
    return {"item": 1, "event_type": "view"} if "events" in url else {"item": 1} if "feedback" in url else {}


@pytest.mark.parametrize("method, url", list(API_FIELDS))
def test_no_nasty_json_value_in_any_api_field_is_a_server_error(staff_api, method, url):
    ItemFactory(pk=1, category=CategoryFactory(pk=1))
    failures = []
    for field in API_FIELDS[(method, url)]:
        for value in NASTY_JSON:
            body = {**_base(url), field: value}
            response = getattr(staff_api, method)(url, [body] if "events" in url else body, format="json")
            if response.status_code >= 500 or not response["Content-Type"].startswith("application/json"):
                failures.append((field, repr(value)[:40], response.status_code))
    assert failures == []


@pytest.mark.parametrize("url", list(API_QUERIES))
def test_no_nasty_query_value_is_a_server_error(user_client, url):
    ItemFactory(pk=1, category=CategoryFactory(pk=1))
    failures = []
    for field in API_QUERIES[url]:
        for value in NASTY_TEXT:
            response = user_client.get(f"{url}?{field}={value}")
            if response.status_code >= 500 or not response["Content-Type"].startswith("application/json"):
                failures.append((field, value[:20], response.status_code))
    assert failures == []


@pytest.mark.parametrize("target", ["²", "home", "-1", "javascript:alert(1)", "//evil.example/", "https://evil.example/"])
def test_an_odd_next_target_falls_back_to_the_default_page(shop, target):
    """``redirect("²")`` reads text as a view name (NoReverseMatch, a 500): only paths on this site are followed."""
    for response in (shop.post("/cart/add/1/", {"quantity": "1", "next": target}), shop.get(f"/accounts/signup/?next={target}")):
        assert response.status_code == 302 and response["Location"].startswith("/"), response["Location"]
