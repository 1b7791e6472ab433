"""REST API v1: recommendations (cursor paging), similar items, feedback; OpenAPI documentation; throttling."""
import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from recommendations.models import Event, Impression
from recommendations.serving.apis import ItemSimilarApi, RecommendationListApi
from users.models import Preferences

pytestmark = pytest.mark.django_db
URL = "/api/v1/recommendations/"
FEEDBACK = "/api/v1/feedback/"


@pytest.fixture
def client_of(world):
    def make(group: int, j: int = 0) -> APIClient:
        client = APIClient()
        client.force_authenticate(world.user_of_group(group, j))
        return client

    return make


def test_recommendations_payload_matches_the_documented_shape(world, client_of):
    response = client_of(0).get(URL, {"n": 12, "context": "device:mobile,hour:21"})
    assert response.status_code == 200, response.content
    body = response.json()
    documented = RecommendationListApi.OutputSerializer(data=body)
    assert documented.is_valid(), documented.errors
    assert len(body["items"]) == 12 and body["model_version"] == world.serving.version_id and body["degraded"] is False
    first = body["items"][0]
    assert set(first) == {"id", "title", "price", "category", "image_url", "url", "position", "score", "source", "explanation"}
    assert set(first["explanation"]) == {"type", "text", "item", "item_title", "category", "category_name"}
    assert first["price"] == "9.50" and first["category"]["name"].startswith("Category")
    assert "candidates;dur=" in response["Server-Timing"]
    assert Impression.objects.filter(request_id=body["request_id"]).count() == 12
    assert Impression.objects.filter(request_id=body["request_id"], context__ctx__device="mobile").count() == 12


def test_cursor_paging_never_repeats_and_is_bound_to_its_owner(world, client_of):
    client = client_of(1)
    seen, cursor = [], None
    for _ in range(4):
        body = client.get(URL, {"n": 10, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == 40 and len(set(seen)) == 40
    stolen = client_of(2).get(URL, {"cursor": cursor})
    assert stolen.status_code == 400 and "another" in stolen.json()["detail"]


def browser_with_session() -> APIClient:
    """An anonymous browser that already has a session (it wrote an event or feedback before)."""
    store = SessionStore()
    store.create()
    client = APIClient()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client


def test_anonymous_visitors_get_a_feed_through_their_session(world):
    client = browser_with_session()
    first = client.get(URL, {"n": 8})
    assert first.status_code == 200 and len(first.json()["items"]) == 8
    second = client.get(URL, {"n": 8, "cursor": first.json()["next_cursor"]})
    assert second.status_code == 200
    assert not {i["id"] for i in first.json()["items"]} & {i["id"] for i in second.json()["items"]}
    other_browser = APIClient().get(URL, {"cursor": first.json()["next_cursor"]})
    assert other_browser.status_code == 400


def test_a_cookieless_client_reads_pages_without_a_session_row(world):
    """Fault 8: reading recommendations (or similar items, or one's events) creates no session row and sets no
    cookie; the signed cursor carries a cookieless client's feed from page to page."""
    client = APIClient()
    seen, cursor = [], None
    for _ in range(3):
        response = client.get(URL, {"n": 8, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200 and settings.SESSION_COOKIE_NAME not in response.cookies
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
    assert len(seen) == 24 and len(set(seen)) == 24
    item = world.items[0][0]
    for url in (f"/api/v1/items/{item.pk}/similar/", "/api/v1/events/", "/api/v1/items/", "/api/v1/categories/"):
        response = client.get(url)
        assert response.status_code == 200 and settings.SESSION_COOKIE_NAME not in response.cookies, url
    assert Session.objects.count() == 0
    assert client.get("/api/v1/events/").json()["results"] == []
    impressions = Impression.objects.filter(surface="feed")
    assert impressions.count() == 24 and set(impressions.values_list("user", flat=True)) == {None}
    assert len(set(impressions.values_list("session_key", flat=True))) == 1  # one feed, one (transient) actor
    assert browser_with_session().get(URL, {"cursor": cursor}).status_code == 400  # bound to its feed's actor


def test_writing_an_event_gives_an_anonymous_client_its_session(world):
    client = APIClient()
    response = client.post("/api/v1/events/", {"item": world.items[0][0].pk, "event_type": "view"}, format="json")
    assert response.status_code == 201 and Session.objects.count() == 1
    assert client.get("/api/v1/events/").json()["count"] == 1


@pytest.mark.parametrize(
    "params, field",
    [({"n": 0}, "n"), ({"n": 101}, "n"), ({"n": "ten"}, "n"), ({"context": "device:fridge"}, "context"),
     ({"context": "hour:25"}, "context"), ({"context": "weather:rain"}, "context"), ({"cursor": "not-a-cursor"}, "cursor")],
)
def test_bad_parameters_are_400_with_a_clear_message(world, client_of, params, field):
    response = client_of(0).get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code", "errors"} and body["code"] == "invalid"
    assert body["errors"][field] and str(body["errors"][field])


def test_similar_items(world, client_of):
    anchor = world.items[2][0]
    response = APIClient().get(f"/api/v1/items/{anchor.pk}/similar/", {"n": 6})
    assert response.status_code == 200
    body = response.json()
    assert ItemSimilarApi.OutputSerializer(data=body).is_valid()
    assert body["item"] == anchor.pk and len(body["items"]) == 6 and anchor.pk not in [i["id"] for i in body["items"]]
    assert all(i["explanation"]["type"] == "similar_item" and i["explanation"]["item"] == anchor.pk for i in body["items"])
    assert sum(i["category"]["id"] == anchor.category_id for i in body["items"]) >= 4  # the model learned the groups
    assert APIClient().get("/api/v1/items/999999/similar/").status_code == 404
    assert APIClient().get(f"/api/v1/items/{anchor.pk}/similar/", {"n": -1}).status_code == 400
    # a user's controls apply: hidden items and excluded categories never appear
    user = world.user_of_group(0)
    preferences = Preferences.objects.get(user=user)
    hidden = body["items"][0]["id"]
    preferences.hidden_items.add(hidden)
    preferences.excluded_categories.add(world.categories[2])
    client = client_of(0)
    client.put("/api/v1/me/preferences/", {"diversity_level": 0.4}, format="json")  # goes through the service: cache dropped
    mine = client.get(f"/api/v1/items/{anchor.pk}/similar/", {"n": 6}).json()["items"]
    assert mine and hidden not in [i["id"] for i in mine] and world.categories[2].pk not in [i["category"]["id"] for i in mine]


def test_similar_items_of_an_item_unknown_to_the_model_use_content(world):
    body = APIClient().get(f"/api/v1/items/{world.new_items[0].pk}/similar/", {"n": 5}).json()
    assert body["items"] and all(i["explanation"]["type"] == "similar_content" for i in body["items"])
    assert all(i["category"]["id"] == world.new_items[0].category_id for i in body["items"])


def test_feedback_hides_an_item_records_a_skip_and_the_next_page_obeys(world, client_of):
    client = client_of(3)
    user = world.user_of_group(3)
    body = client.get(URL, {"n": 10}).json()
    target = body["items"][0]["id"]
    response = client.post(FEEDBACK, {"item": target, "request_id": body["request_id"]}, format="json")
    assert response.status_code == 201, response.json()
    assert target in response.json()["hidden_items"] and response.json()["event_recorded"] is True
    skip = Event.objects.get(user=user, item_id=target, event_type="skip")
    assert skip.context["request_id"] == body["request_id"]
    assert target in client.get("/api/v1/me/preferences/").json()["hidden_items"]
    for _ in range(3):
        assert target not in [i["id"] for i in client.get(URL, {"n": 20}).json()["items"]]


def test_feedback_can_exclude_a_whole_category(world, client_of):
    client = client_of(0)
    item = world.items[0][3]
    response = client.post(FEEDBACK, {"item": item.pk, "scope": "category"}, format="json")
    assert response.status_code == 201 and world.categories[0].pk in response.json()["excluded_categories"]
    assert world.categories[0].pk not in [i["category"]["id"] for i in client.get(URL, {"n": 30}).json()["items"]]
    only_category = client.post(FEEDBACK, {"category": world.categories[1].pk}, format="json")
    assert only_category.status_code == 201 and only_category.json()["event_recorded"] is False


def test_anonymous_feedback_is_kept_in_the_session(world):
    client = APIClient()
    first = client.get(URL, {"n": 10}).json()["items"]
    target = first[0]["id"]
    assert client.post(FEEDBACK, {"item": target}, format="json").status_code == 201
    assert Event.objects.filter(user__isnull=True, item_id=target, event_type="skip").count() == 1
    for _ in range(3):
        assert target not in [i["id"] for i in client.get(URL, {"n": 20}).json()["items"]]


@pytest.mark.parametrize("payload", [{}, {"item": 999999}, {"category": 999999}, {"item": "x"}, {"scope": "everything"}])
def test_bad_feedback_is_400(world, client_of, payload):
    response = client_of(0).post(FEEDBACK, payload, format="json")
    assert response.status_code == 400 and response.json()


def test_the_endpoints_are_in_the_openapi_schema(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/v1/recommendations/", "/api/v1/items/{item_id}/similar/", "/api/v1/feedback/"} <= set(paths)
    parameters = {p["name"] for p in paths["/api/v1/recommendations/"]["get"]["parameters"]}
    assert {"n", "cursor", "context"} <= parameters
    components = schema["components"]["schemas"]
    explanation = components["Explanation"]["properties"]
    assert {"type", "text", "item", "category"} <= set(explanation)


def test_recommendations_are_throttled(world, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "3/min"})
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_000_020.0)  # all four in one fixed window
    client = APIClient()
    codes = [client.get(URL, {"n": 2}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
