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
    for _ in range(3):
        EventFactory(user=user, item=stale, event_type="view", timestamp=now - dt.timedelta(days=20))
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
