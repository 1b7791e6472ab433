import datetime as dt

import pytest
from django.utils import timezone

from recommendations.serving import popular_items, popularity_scores
from recommendations.tuning import recommender_settings_update
from tests.factories import EventFactory, ItemFactory, UserFactory


@pytest.mark.django_db
def test_recent_purchases_outrank_old_views_and_weights_come_from_settings():
    fresh, stale, unsold = ItemFactory(), ItemFactory(), ItemFactory(in_stock=False)
    user = UserFactory()
    now = timezone.now()
    for _ in range(3):  # three people (one person's repeats would count once)
        EventFactory(item=stale, event_type="view", timestamp=now - dt.timedelta(days=20))
    EventFactory(user=user, item=fresh, event_type="purchase", timestamp=now - dt.timedelta(hours=2))
    for _ in range(10):
        EventFactory(user=user, item=unsold, event_type="purchase")
    scores = popularity_scores()
    assert scores[fresh.pk] > scores[stale.pk] > 0
    ranked = [entry.item for entry in popular_items(limit=2)]
    assert ranked == [fresh, stale]  # out-of-stock item never shown
    recommender_settings_update(data={"event_type_weights": {"view": 100.0, "purchase": 1.0}})
    from django.core.cache import cache

    cache.clear()
    assert [entry.item for entry in popular_items(limit=2)][0] == stale


@pytest.mark.django_db
def test_popular_items_fill_with_newest_when_no_events():
    newest = ItemFactory(created_at=timezone.now())
    ItemFactory(created_at=timezone.now() - dt.timedelta(days=3))
    assert popular_items(limit=1)[0].item == newest


@pytest.mark.django_db
def test_settings_changes_are_versioned_and_validated():
    from django.core.exceptions import ValidationError

    from recommendations.models import RecommenderSettingsVersion
    from recommendations.tuning import recommender_settings_get

    first = recommender_settings_get()
    assert first.version == 1
    updated = recommender_settings_update(data={"mmr_lambda": 0.5})
    assert updated.version == 2
    assert RecommenderSettingsVersion.objects.get(version=2).snapshot["mmr_lambda"] == 0.5
    with pytest.raises(ValidationError):
        recommender_settings_update(data={"feed_personal_share": 0.9})  # shares no longer sum to 1
    with pytest.raises(ValidationError):
        recommender_settings_update(data={"event_type_weights": {"teleport": 1}})
    assert recommender_settings_get().version == 2


def _views(*, item, n, user=None, session_key="", when=None, tag=""):
    """``n`` view events of one actor on ``item`` (bulk, one query)."""
    from recommendations.models import Event

    when = when or timezone.now() - dt.timedelta(hours=1)
    Event.objects.bulk_create(
        Event(client_event_id=f"v{tag}-{item.pk}-{k}", user=user, session_key=session_key,
              item=item, event_type="view", timestamp=when - dt.timedelta(seconds=k))
        for k in range(n)
    )


@pytest.mark.django_db
def test_popularity_cannot_be_bought_by_repeating_events():
    """Issue 12, fault 12: 500 views from one shopper count as 1; anonymous sessions do not count at all."""
    bought, bought_anonymously, honest, liked = ItemFactory(), ItemFactory(), ItemFactory(), ItemFactory()
    _views(item=bought, n=500, user=UserFactory())
    _views(item=bought_anonymously, n=500, session_key="anon-1")
    _views(item=honest, n=1, user=UserFactory())
    _views(item=liked, n=1, user=UserFactory())
    _views(item=liked, n=1, session_key="anon-2")
    scores = popularity_scores()
    assert scores[bought.pk] == pytest.approx(scores[honest.pk])
    assert bought_anonymously.pk not in scores
    assert scores[liked.pk] == pytest.approx(scores[honest.pk])  # the anonymous view adds nothing


@pytest.mark.django_db
def test_many_cookieless_anonymous_clients_cannot_buy_popularity():
    """A script that posts without cookies is a new anonymous session each time: 100 of them move nothing."""
    target, honest = ItemFactory(), ItemFactory()
    for n in range(100):
        _views(item=target, n=1, session_key=f"fresh-{n}", tag=str(n))
    _views(item=honest, n=1, user=UserFactory())
    scores = popularity_scores()
    assert target.pk not in scores and scores[honest.pk] > 0


@pytest.mark.django_db
def test_each_actor_counts_once_per_item_type_and_day():
    item, user = ItemFactory(), UserFactory()
    now = timezone.now()
    for days_ago in (0, 1):  # the same actor on two days: two day buckets
        _views(item=item, n=3, user=user, when=now - dt.timedelta(days=days_ago, hours=1), tag=str(days_ago))
    EventFactory(user=user, item=item, event_type="purchase", timestamp=now - dt.timedelta(hours=1))
    settings = {"event_type_weights": {"view": 1.0, "purchase": 10.0}, "popularity_half_life_hours": 1e9}
    recommender_settings_update(data=settings)  # no decay: the score is the count of (actor, type, day)
    assert popularity_scores(now=now)[item.pk] == pytest.approx(2 * 1.0 + 10.0)


@pytest.mark.django_db
def test_trending_ranks_many_viewers_above_one_repeating_actor():
    from recommendations.serving.tables import popularity_table_get
    from recommendations.tuning import recommender_settings_get

    bought, shared = ItemFactory(), ItemFactory()
    _views(item=bought, n=500, user=UserFactory())
    for _ in range(2):
        _views(item=shared, n=1, user=UserFactory())
    table = popularity_table_get(settings=recommender_settings_get())
    assert table.item_ids.tolist()[:2] == [shared.pk, bought.pk]
    assert table.category_top[shared.category_id].tolist()[0] == table.positions([shared.pk])[0]
