"""The pipeline still answers without a model, without an index, with a broken cache, in an empty shop."""
import dataclasses

import pytest
from django.core.cache import cache

from catalog.models import Item
from recommendations.events.ingest import Actor
from recommendations.models import Event
from recommendations.serving import feed_recommendations_get, similar_items_get
from tests.cache_support import redis_down
from tests.factories import CategoryFactory, ItemFactory
from tests.recommendations.serving_support import event_add, install_model, page_ids, serving_model_fit, world_create

pytestmark = pytest.mark.django_db
NON_MODEL_REASONS = {"popular", "trending_in_category", "new_arrival", "exploring_category", "because_you_interacted", "catalog"}


@pytest.fixture
def world(db):
    return world_create()


def test_without_a_model_the_feed_is_popularity_based_and_says_so(world, monkeypatch):
    install_model(monkeypatch, None)
    user = world.user_of_group(0)
    page = feed_recommendations_get(actor=Actor(user_id=user.pk), n=20)
    assert len(page.items) == 20 and page.degraded and page.model_version is None
    reasons = {e.explanation["type"] for e in page.items}
    assert reasons <= NON_MODEL_REASONS and "trending_in_category" in reasons
    assert len(set(page_ids(page))) == 20


def test_without_a_model_recent_items_still_steer_an_anonymous_session(world, monkeypatch):
    install_model(monkeypatch, None)
    viewed = world.items[3][0]
    event_add(item=viewed, session_key="no-model")
    page = feed_recommendations_get(actor=Actor(session_key="no-model"), n=20)
    cited = [e for e in page.items if e.explanation["type"] == "because_you_interacted"]
    assert cited and all(e.explanation["item"] == viewed.pk and e.item.category_id == viewed.category_id for e in cited)


def test_a_store_that_raises_means_no_model(world, monkeypatch):
    def broken(**_):
        raise RuntimeError("artifact store unreachable")

    monkeypatch.setattr("recommendations.training.serving_model_get", broken)
    page = feed_recommendations_get(actor=Actor(user_id=world.user_of_group(1).pk), n=10)
    assert page.degraded and len(page.items) == 10


def test_without_an_index_the_model_scores_exactly(world, monkeypatch):
    serving = dataclasses.replace(serving_model_fit(world), index=None)
    install_model(monkeypatch, serving)
    user = world.user_of_group(2)
    page = feed_recommendations_get(actor=Actor(user_id=user.pk), n=20)
    assert not page.degraded and any(e.source == "ann" for e in page.items)
    event_add(item=world.items[1][0], session_key="no-index")
    anonymous = feed_recommendations_get(actor=Actor(session_key="no-index"), n=20)
    assert any(e.source == "foldin" for e in anonymous.items)


def test_a_failing_cache_backend_degrades_to_recomputing(world, monkeypatch):
    """Every cache call fails (Redis down, read as a miss by django-redis IGNORE_EXCEPTIONS): pages are still served."""
    serving = serving_model_fit(world)
    install_model(monkeypatch, serving)
    user = world.user_of_group(3)
    feed_recommendations_get(actor=Actor(user_id=user.pk), n=10)  # warm: settings, tables, candidates cached
    with redis_down():
        cache.set("probe", 1)
        assert cache.get("probe") is None  # the backend really fails, and says nothing
        first = feed_recommendations_get(actor=Actor(user_id=user.pk), n=10)
        second = feed_recommendations_get(actor=Actor(user_id=user.pk), n=10, cursor=first.next_cursor)
        similar = similar_items_get(item=world.items[0][0], actor=Actor(user_id=user.pk), n=5)
    assert len(first.items) == 10 and not first.degraded and first.timings["candidates_cached"] == 0.0
    assert len(second.items) == 10 and not set(page_ids(first)) & set(page_ids(second))  # served set from impressions
    assert len(similar.items) == 5


def test_an_empty_shop_serves_its_newest_items(db, monkeypatch):
    install_model(monkeypatch, None)
    category = CategoryFactory()
    items = ItemFactory.create_batch(8, category=category)
    Item.objects.filter(pk__in=[i.pk for i in items[:3]]).update(is_active=False)
    assert not Event.objects.exists()
    cache.clear()
    page = feed_recommendations_get(actor=Actor(session_key="first-visitor"), n=10)
    assert sorted(page_ids(page)) == sorted(item.pk for item in items[3:])
    assert {e.explanation["type"] for e in page.items} <= {"new_arrival", "catalog", "exploring_category"}
