"""Events mean what shoppers mean in serving: a rating's value, the latest re-rating, weak dwell never a reason."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from recommendations.events.ingest import Actor, event_ingest
from recommendations.serving import actor_history_get, feed_recommendations_get
from recommendations.tuning import recommender_settings_get, recommender_settings_update
from tests.factories import UserFactory
from tests.recommendations.serving_support import page_categories

pytestmark = pytest.mark.django_db


def record(actor: Actor, item, kind: str, *, value: float | None = None, minutes_ago: float = 1.0) -> None:
    event = {"item": item.pk, "event_type": kind, "timestamp": (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()}
    if value is not None:
        event["value"] = value
    event_ingest(actor=actor, events=[event])


def test_a_zero_rating_is_never_a_reason_and_does_not_boost_its_neighbours(world):
    rated = world.items[3][0]
    baseline = feed_recommendations_get(actor=Actor(user_id=UserFactory().pk), n=20)
    actor = Actor(user_id=UserFactory().pk)
    record(actor, rated, "rating", value=0)  # 0 out of 10
    page = feed_recommendations_get(actor=actor, n=20)
    assert len(page.items) == 20
    assert not [e for e in page.items if e.explanation["type"] == "because_you_interacted"]
    assert not [e for e in page.items if e.explanation.get("item") == rated.pk]
    assert rated.pk not in {e.item.pk for e in page.items}
    category = world.categories[3].pk
    assert page_categories(page).count(category) <= page_categories(baseline).count(category)
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert history.is_empty and rated.pk in history.negative_items


def test_a_high_rating_is_positive_evidence_cited_as_rated(world):
    actor = Actor(session_key="rated-high")
    liked = world.items[3][0]
    record(actor, liked, "rating", value=10)
    page = feed_recommendations_get(actor=actor, n=20)
    cited = [e for e in page.items if e.explanation["type"] == "because_you_interacted"]
    assert cited and all(e.explanation["item"] == liked.pk and "rated" in e.explanation["text"] for e in cited)


def test_the_latest_rating_is_the_opinion(world):
    actor = Actor(session_key="re-rated")
    item = world.items[2][0]
    record(actor, item, "view", minutes_ago=5)
    record(actor, item, "rating", value=10, minutes_ago=4)
    record(actor, item, "rating", value=1, minutes_ago=3)
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert item.pk in history.negative_items and item.pk not in history.recent_items.tolist()
    record(actor, item, "rating", value=10, minutes_ago=1)  # changed their mind again
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert history.recent_items.tolist() == [item.pk] and history.interaction_types[item.pk] == "rating"


def test_skip_and_not_interested_are_negative_evidence(world):
    actor = Actor(session_key="skipper")
    item = world.items[1][0]
    record(actor, item, "click", minutes_ago=3)
    record(actor, item, "skip", minutes_ago=1)
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert item.pk in history.negative_items and history.is_empty
    with pytest.raises(ValidationError):
        recommender_settings_update(data={"event_type_weights": {**recommender_settings_get().event_type_weights, "skip": 1.0}})


def test_a_like_is_cited_over_a_two_second_dwell(world):
    actor = Actor(session_key="scroller")
    liked, glanced = world.items[4][0], world.items[4][1]  # one category: both support the same items
    record(actor, liked, "like", minutes_ago=5)
    record(actor, glanced, "dwell", value=2.0, minutes_ago=1)
    page = feed_recommendations_get(actor=actor, n=20)
    cited = [e.explanation["item"] for e in page.items if e.explanation["type"] == "because_you_interacted"]
    assert cited and set(cited) == {liked.pk}
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert history.recent_items.tolist() == [liked.pk]  # under the minimum dwell: no evidence at all


def test_weak_dwell_comes_after_strong_evidence_and_is_not_cited_in_its_place(world):
    actor = Actor(session_key="long-scroll")
    liked = world.items[4][0]
    record(actor, liked, "like", minutes_ago=30)
    glanced = [world.items[k][j] for k in (0, 1, 2) for j in range(4)]  # 12 short looks after the like
    for minutes, item in enumerate(glanced):
        record(actor, item, "dwell", value=6.0, minutes_ago=20 - minutes)
    history = actor_history_get(actor=actor, settings=recommender_settings_get())
    assert history.recent_items[0] == liked.pk  # first in the fold-in window despite 12 newer glances
    page = feed_recommendations_get(actor=actor, n=20)
    because = [e for e in page.items if e.explanation["type"] == "because_you_interacted"]
    # Where the like stands behind an item (its own category), the like is the reason, never a glance beside it.
    near_like = [e.explanation["item"] for e in because if e.item.category_id == liked.category_id]
    assert near_like and set(near_like) == {liked.pk}


def test_the_rating_scale_is_admin_configurable(world):
    actor = Actor(session_key="ten-point")
    item = world.items[0][0]
    record(actor, item, "rating", value=4)  # 4 of 10 by default (the API's scale): below neutral
    assert item.pk in actor_history_get(actor=actor, settings=recommender_settings_get()).negative_items
    recommender_settings_update(data={"rating_neutral": 3.0, "rating_max": 5.0})  # a 1-5 star shop: 4 is positive
    assert actor_history_get(actor=actor, settings=recommender_settings_get()).recent_items.tolist() == [item.pk]
    with pytest.raises(ValidationError):
        recommender_settings_update(data={"rating_neutral": 10.0, "rating_max": 10.0})
