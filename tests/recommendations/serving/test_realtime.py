"""Real time (new events, preference changes, model swaps) and the per-actor candidate cache."""
from collections import Counter

import pytest

from recommendations.events.ingest import Actor
from recommendations.serving import SESSION_PREFERENCES_KEY, feed_recommendations_get
from tests.factories import UserFactory
from tests.recommendations.serving_support import (
    event_add,
    install_model,
    page_categories,
    page_ids,
    serving_model_fit,
)
from users.services import preferences_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world, monkeypatch):
    # Real time means no retraining: any attempt to fit during these tests fails them.
    monkeypatch.setattr(type(world.serving.model), "fit", lambda *a, **k: pytest.fail("the model was retrained"))
    return world


def test_a_new_event_changes_the_next_recommendations_of_an_anonymous_session(world):
    actor = Actor(session_key="realtime-anon")
    before = feed_recommendations_get(actor=actor, n=20)
    assert not [e for e in before.items if e.explanation["type"] == "because_you_interacted"]
    clicked = world.items[3][5]
    event_add(item=clicked, session_key="realtime-anon", kind="like")
    after = feed_recommendations_get(actor=actor, n=20)
    assert after.timings["candidates_cached"] == 0.0  # the event replaced the session's state token
    cited = [e for e in after.items if e.explanation["type"] == "because_you_interacted"]
    assert len(cited) >= 3 and all(e.explanation["item"] == clicked.pk for e in cited)
    # the best cited item is a neighbour of the clicked one; category caps spread the rest of the page, so
    # "most common category" was a coin flip between tied categories (3 each), decided by dict order
    assert cited[0].item.category_id == world.categories[3].pk
    assert Counter(e.item.category_id for e in cited)[world.categories[3].pk] >= 3
    assert page_ids(after) != page_ids(before)


def test_a_new_event_of_a_known_user_is_folded_in_without_retraining(world):
    user = world.user_of_group(0)
    actor = Actor(user_id=user.pk)
    feed_recommendations_get(actor=actor, n=20)
    warm = feed_recommendations_get(actor=actor, n=20)
    assert warm.timings["candidates_cached"] == 1.0
    new_interest = world.items[2][4]
    event_add(item=new_interest, user=user, kind="like")
    after = feed_recommendations_get(actor=actor, n=20)
    assert after.timings["candidates_cached"] == 0.0
    assert any(e.source == "foldin" for e in after.items)
    assert any(e.explanation["type"] == "because_you_interacted" and e.explanation["item"] == new_interest.pk for e in after.items)
    assert new_interest.pk not in page_ids(after)  # just interacted: not news to them (foldin excludes its own inputs)


def test_a_preference_change_applies_on_the_next_request(world):
    user = world.user_of_group(1)
    actor = Actor(user_id=user.pk)
    feed_recommendations_get(actor=actor, n=20)
    warm = feed_recommendations_get(actor=actor, n=20)
    assert warm.timings["candidates_cached"] == 1.0
    top_category = Counter(page_categories(warm)).most_common(1)[0][0]
    preferences_update(user=user, data={"excluded_categories": [top_category], "diversity_level": 0.9})
    after = feed_recommendations_get(actor=actor, n=20)
    assert after.timings["candidates_cached"] == 0.0 and top_category not in page_categories(after)
    preferences_update(user=user, data={"excluded_categories": []})
    assert top_category in page_categories(feed_recommendations_get(actor=actor, n=20))


def test_turning_personalization_off_gives_a_non_personal_feed(world):
    user = world.user_of_group(1)
    preferences_update(user=user, data={"personalization_enabled": False})
    page = feed_recommendations_get(actor=Actor(user_id=user.pk), n=20)
    assert len(page.items) == 20
    assert {e.explanation["type"] for e in page.items} <= {"popular", "exploring_category", "new_arrival"}


def test_anonymous_preferences_live_in_the_session(world):
    session = {SESSION_PREFERENCES_KEY: {"hidden_items": [world.items[0][0].pk], "excluded_categories": [world.categories[1].pk]}}
    page = feed_recommendations_get(actor=Actor(session_key="anon-prefs"), n=30, session=session)
    assert world.items[0][0].pk not in page_ids(page) and world.categories[1].pk not in page_categories(page)


def test_a_new_model_version_is_used_on_the_next_request(world, monkeypatch):
    user = world.user_of_group(2)
    first = feed_recommendations_get(actor=Actor(user_id=user.pk), n=10)
    monkeypatch.undo()  # allow fitting the next version
    newer = serving_model_fit(world)
    install_model(monkeypatch, newer)
    second = feed_recommendations_get(actor=Actor(user_id=user.pk), n=10)
    assert first.model_version == world.serving.version_id and second.model_version == newer.version_id
    assert second.timings["candidates_cached"] == 0.0


def test_a_newcomer_with_a_few_events_gets_personal_recommendations(world):
    newcomer = UserFactory()
    for item in world.items[4][:3]:
        event_add(item=item, user=newcomer)
    page = feed_recommendations_get(actor=Actor(user_id=newcomer.pk), n=20)
    personal = [e for e in page.items if e.source in ("foldin", "neighbours")]
    assert personal and Counter(page_categories(page))[world.categories[4].pk] == 4  # their category fills its cap
    assert {e.explanation["item"] for e in personal} <= {item.pk for item in world.items[4][:3]}
