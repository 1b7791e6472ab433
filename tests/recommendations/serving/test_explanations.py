"""Explanations are faithful: removing the evidence an explanation cites removes (or changes) the recommendation."""
import datetime as dt

import numpy as np
import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Item
from recommendations.events.ingest import Actor
from recommendations.models import Event
from recommendations.serving import actor_history_get, actor_state_touch, feed_recommendations_get
from recommendations.serving.candidates import SOURCE_INDEX
from recommendations.serving.sources import _score_item_lists, source_foldin
from recommendations.tuning import recommender_settings_get, recommender_settings_update
from tests.factories import UserFactory
from tests.recommendations.serving_support import event_add, page_ids

pytestmark = pytest.mark.django_db


def by_item(page) -> dict:
    return {entry.item.pk: entry for entry in page.items}


def citing(page, kind: str, **evidence) -> list:
    return [e for e in page.items if e.explanation["type"] == kind and all(e.explanation[k] == v for k, v in evidence.items())]


def test_because_you_interacted_cites_the_item_whose_removal_removes_the_recommendation(world):
    # No exploration slots: once y is gone its category is unexplored again, and exploration may (rightly, with
    # another explanation) show its items; this test is about the personal part.
    recommender_settings_update(data={"feed_personal_share": 0.8, "feed_explore_share": 0.0})
    session = "faithful-session"
    x, y = world.items[2][0], world.items[3][0]
    event_add(item=x, session_key=session, minutes_ago=2)
    event_add(item=y, session_key=session, minutes_ago=1)
    actor = Actor(session_key=session)
    before = feed_recommendations_get(actor=actor, n=20)
    cited_y = citing(before, "because_you_interacted", item=y.pk)
    cited_x = citing(before, "because_you_interacted", item=x.pk)
    assert cited_y and cited_x
    assert "viewed" in cited_y[0].explanation["text"] and y.title in cited_y[0].explanation["text"]

    Event.objects.filter(session_key=session, item=y).delete()  # remove the cited evidence
    actor_state_touch(session_keys=[session])
    after = by_item(feed_recommendations_get(actor=actor, n=20))
    for entry in cited_y:
        again = after.get(entry.item.pk)
        assert again is None or again.explanation != entry.explanation
    assert sum(entry.item.pk in after for entry in cited_y) <= len(cited_y) // 2  # most are simply gone
    # what x explained is still explained by x: the evidence that was not removed still holds
    assert sum(1 for e in cited_x if after.get(e.item.pk) and after[e.item.pk].explanation["item"] == x.pk) >= len(cited_x) // 2


def test_fold_in_attribution_is_leave_one_out(world):
    """For every fold-in candidate, dropping the cited item from the history lowers its score the most."""
    user = UserFactory()
    recent = [world.items[0][1], world.items[2][2], world.items[4][3]]
    for minutes, item in enumerate(recent):
        event_add(item=item, user=user, minutes_ago=minutes + 1)
    history = actor_history_get(actor=Actor(user_id=user.pk), settings=recommender_settings_get())
    result = source_foldin(serving=world.serving, history=history, exclude=set())
    assert len(result) > 20 and set(result.evidence_items.tolist()) <= {item.pk for item in recent} | {-1}
    assert (result.evidence_items >= 0).mean() > 0.5
    items, weights = history.recent_items, history.recent_weights
    full = _score_item_lists(world.serving, [items], [weights], result.item_ids)[0]
    ablated = {
        int(items[j]): _score_item_lists(world.serving, [np.delete(items, j)], [np.delete(weights, j)], result.item_ids)[0]
        for j in range(len(items))
    }
    for position, cited in enumerate(result.evidence_items):
        drops = {r: full[position] - scores[position] for r, scores in ablated.items()}
        if cited < 0:  # no single item supports it: the reason falls back to the collaborative profile
            assert max(drops.values()) <= 1e-6
        else:
            assert drops[int(cited)] > 0 and drops[int(cited)] == max(drops.values())


def test_trending_in_category_disappears_with_the_trend(world):
    user = world.user_of_group(0)
    actor = Actor(user_id=user.pk)
    before = feed_recommendations_get(actor=actor, n=20)
    trending = citing(before, "trending_in_category")
    assert trending
    category = trending[0].explanation["category"]
    trending = [e for e in trending if e.explanation["category"] == category]
    own = set(Event.objects.filter(user=user).values_list("item_id", flat=True))
    Event.objects.filter(item__category_id=category).exclude(user=user).delete()  # the category's trend is gone
    cache.clear()  # shared popularity table and candidates are rebuilt
    after = by_item(feed_recommendations_get(actor=actor, n=20))
    for entry in trending:
        if entry.item.pk in own:
            continue
        again = after.get(entry.item.pk)
        assert again is None or again.explanation["type"] != "trending_in_category"


def test_new_arrival_is_explained_only_while_the_item_is_new(world):
    recommender_settings_update(data={"freshness_boost": 0.5})
    actor = Actor(session_key="new-arrivals")
    event_add(item=world.items[1][0], session_key="new-arrivals")  # a category 1 fan: the new items are category 1
    before = feed_recommendations_get(actor=actor, n=20)
    new = citing(before, "new_arrival")
    assert {e.item.pk for e in new} & {item.pk for item in world.new_items}
    Item.objects.filter(pk__in=[item.pk for item in world.new_items]).update(created_at=timezone.now() - dt.timedelta(days=60))
    cache.clear()
    after = feed_recommendations_get(actor=actor, n=20)
    assert not citing(after, "new_arrival")


def test_exploring_category_stops_once_the_category_is_explored(world):
    user = world.user_of_group(4)
    actor = Actor(user_id=user.pk)
    explored = citing(feed_recommendations_get(actor=actor, n=20), "exploring_category")
    assert explored
    category = explored[0].explanation["category"]
    assert not Event.objects.filter(user=user, item__category_id=category).exists()
    event_add(item=Item.objects.filter(category_id=category).first(), user=user, kind="like")
    after = feed_recommendations_get(actor=actor, n=20)
    assert not citing(after, "exploring_category", category=category)


def test_similar_users_needs_the_users_trained_profile(world):
    trained = world.user_of_group(1)
    assert citing(feed_recommendations_get(actor=Actor(user_id=trained.pk), n=20), "similar_users")
    # Same history, but unknown to the model: no collaborative profile, so no "similar users" reason.
    newcomer = UserFactory()
    for event in Event.objects.filter(user=trained):
        event_add(item=event.item, user=newcomer, kind=event.event_type)
    page = feed_recommendations_get(actor=Actor(user_id=newcomer.pk), n=20)
    assert page.items and not citing(page, "similar_users")
    assert citing(page, "because_you_interacted")


def test_every_cited_item_is_a_real_interaction(world):
    """Across users and anonymous sessions, a because_you_interacted reason only ever cites the actor's own items."""
    for group in range(5):
        user = world.user_of_group(group, 1)
        own = set(Event.objects.filter(user=user).values_list("item_id", flat=True))
        page = feed_recommendations_get(actor=Actor(user_id=user.pk), n=20)
        assert all(e.explanation["item"] in own for e in citing(page, "because_you_interacted"))
    assert SOURCE_INDEX["foldin"] != SOURCE_INDEX["neighbours"]
    page = feed_recommendations_get(actor=Actor(session_key="nobody"), n=10)
    assert page_ids(page) and not citing(page, "because_you_interacted")
