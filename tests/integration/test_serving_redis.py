"""Serving against the real Redis cache and PostgreSQL: keys, invalidation by events and preferences, Redis down."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from recommendations.models import Impression
from recommendations.serving import KEY_PREFIX, actor_token_key
from tests.cache_support import redis_down
from tests.recommendations.serving_support import install_model, serving_model_fit, world_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/api/v1/recommendations/"


def candidate_signature(user_id: int) -> str | None:
    entry = cache.get(f"{KEY_PREFIX}:cand:u{user_id}")
    return entry[0] if entry else None


def test_candidates_live_in_redis_and_events_and_preferences_invalidate_them(monkeypatch):
    assert hasattr(cache, "keys"), "needs django-redis"
    world = world_create()
    install_model(monkeypatch, serving_model_fit(world))
    user = world.user_of_group(0)
    client = APIClient()
    client.force_authenticate(user)

    first = client.get(URL, {"n": 10})
    assert first.status_code == 200
    assert Impression.objects.filter(request_id=first.json()["request_id"]).count() == 10
    assert cache.keys(f"{KEY_PREFIX}:cand:u{user.pk}") == [f"{KEY_PREFIX}:cand:u{user.pk}"]
    signature = candidate_signature(user.pk)
    token = cache.get(actor_token_key(f"u{user.pk}"))
    assert token and token in signature
    client.get(URL, {"n": 10})
    assert candidate_signature(user.pk) == signature  # served from Redis, nothing rebuilt

    # A new event replaces the token in Redis: the next request builds a new candidate list from it.
    liked = world.items[3][7]
    assert client.post("/api/v1/events/", {"item": liked.pk, "event_type": "like"}, format="json").status_code == 201
    assert cache.get(actor_token_key(f"u{user.pk}")) != token
    body = client.get(URL, {"n": 20}).json()
    assert candidate_signature(user.pk) != signature
    assert any(i["explanation"]["type"] == "because_you_interacted" and i["explanation"]["item"] == liked.pk for i in body["items"])

    # A preference change through the API drops the cached snapshot: the next page obeys it.
    signature = candidate_signature(user.pk)
    excluded = world.categories[0].pk
    assert client.put("/api/v1/me/preferences/", {"excluded_categories": [excluded]}, format="json").status_code == 200
    body = client.get(URL, {"n": 30}).json()
    assert body["items"] and excluded not in [i["category"]["id"] for i in body["items"]]
    assert candidate_signature(user.pk) != signature


def test_redis_down_still_serves(monkeypatch, settings):
    world = world_create()
    install_model(monkeypatch, serving_model_fit(world))
    with redis_down():
        client = APIClient()
        client.force_authenticate(world.user_of_group(1))
        first = client.get(URL, {"n": 10})
        assert first.status_code == 200 and len(first.json()["items"]) == 10
        second = client.get(URL, {"n": 10, "cursor": first.json()["next_cursor"]})
        assert second.status_code == 200
        assert not {i["id"] for i in first.json()["items"]} & {i["id"] for i in second.json()["items"]}


@pytest.mark.django_db(transaction=True)
def test_impressions_are_written_in_their_own_asynchronously_committed_transaction():
    from django.db import connection

    from recommendations.events.ingest import Actor
    from recommendations.serving import ImpressionRow, impressions_log
    from tests.factories import ItemFactory

    items = ItemFactory.create_batch(3)
    assert not connection.in_atomic_block  # autocommit, as in a web request
    rows = [ImpressionRow(item_id=item.pk, position=k, source="popular", score=0.5 - k / 10, reason="popular",
                          context={"feed": "f1", "f": [0.1, 0.2]}) for k, item in enumerate(items)]
    assert impressions_log(request_id="req-1", actor=Actor(session_key="s1"), rows=rows, surface="feed",
                           model_version_id=None, settings_version=3) == 3
    stored = list(Impression.objects.filter(request_id="req-1").order_by("position"))
    assert [i.item_id for i in stored] == [item.pk for item in items]
    assert stored[1].context == {"feed": "f1", "f": [0.1, 0.2]} and stored[1].score == pytest.approx(0.4)
    assert stored[0].session_key == "s1" and stored[0].user_id is None and stored[0].settings_version == 3
    assert Impression.objects.filter(context__feed="f1").count() == 3


@pytest.mark.django_db(transaction=True)
def test_gunicorn_writes_buffered_impressions_when_it_shuts_down(tmp_path):
    """A web process holds impressions for up to a flush interval; a normal stop (SIGTERM) still writes them."""
    import http.client
    import json

    from django.db import connection

    from bench.gunicorn_server import gunicorn_start, gunicorn_stop
    from bench.serving import free_port
    from tests.factories import CategoryFactory, ItemFactory, UserFactory
    from tests.integration.conftest import _database_url_for
    from users.services import auth_token_create

    category = CategoryFactory()
    ItemFactory.create_batch(12, category=category)
    _, token = auth_token_create(user=UserFactory())
    port = free_port()
    server = gunicorn_start(port=port, workers=1, threads=2, env_extra={
        "DATABASE_URL": _database_url_for(connection.settings_dict),
        "VITRINE_IMPRESSIONS_FLUSH_SECONDS": "600",  # nothing is written before the stop
        "VITRINE_VAR_DIR": str(tmp_path),
    })
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        client.request("GET", "/api/v1/recommendations/?n=5", headers={"Authorization": f"Token {token}"})
        response = client.getresponse()
        body = json.loads(response.read())
        assert response.status == 200 and len(body["items"]) == 5
        assert not Impression.objects.filter(request_id=body["request_id"]).exists()  # still buffered
    finally:
        gunicorn_stop(server)
    assert Impression.objects.filter(request_id=body["request_id"]).count() == 5


def test_no_redis_key_names_an_anonymous_session(monkeypatch):
    """Fault 8: a visitor's session key never appears in Redis key names (a keyed hash names the session);
    reading the feed without a cookie creates no session row."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from recommendations.serving import impressions_claim, impressions_forget

    world = world_create()
    install_model(monkeypatch, serving_model_fit(world))
    client = APIClient(enforce_csrf_checks=True)
    assert client.get(URL, {"n": 8}).status_code == 200 and Session.objects.count() == 0
    assert client.post("/api/v1/events/", {"item": world.items[1][2].pk, "event_type": "like"}, format="json").status_code == 201
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}
    first = client.get(URL, {"n": 8}).json()
    assert client.get(URL, {"n": 8, "cursor": first["next_cursor"]}).status_code == 200
    assert client.post("/api/v1/feedback/", {"item": first["items"][0]["id"]}, format="json", **csrf).status_code == 201
    impressions_forget(session_keys={session_key})
    impressions_claim(session_key=session_key, user_id=world.user_of_group(0).pk)
    keys = [key.decode() if isinstance(key, bytes) else key for key in cache.client.get_client().keys("*")]
    assert any(":cand:s" in key for key in keys) and any(":imp-claim:s" in key for key in keys)
    assert not [key for key in keys if session_key in key]
