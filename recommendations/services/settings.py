"""Reading and changing the singleton RecommenderSettings."""
from typing import Any

from django.core.cache import cache
from django.db import transaction

from common.services import model_update
from recommendations.models import RecommenderSettings

SETTINGS_CACHE_KEY = "recommender-settings:v1"
SETTINGS_CACHE_SECONDS = 30


def recommender_settings_get() -> RecommenderSettings:
    """The live settings row, created with defaults on first use; cached briefly (hot path)."""
    cached = cache.get(SETTINGS_CACHE_KEY)
    if cached is not None:
        return cached
    with transaction.atomic():
        instance, _ = RecommenderSettings.objects.get_or_create(pk=1)
    cache.set(SETTINGS_CACHE_KEY, instance, SETTINGS_CACHE_SECONDS)
    return instance


def recommender_settings_update(*, data: dict[str, Any]) -> RecommenderSettings:
    instance, _ = RecommenderSettings.objects.get_or_create(pk=1)
    instance, _ = model_update(
        instance=instance,
        fields=["event_type_weights", "popularity_half_life_hours", "popularity_window_days"],
        data=data,
    )
    cache.delete(SETTINGS_CACHE_KEY)
    return instance


def recommender_settings_invalidate() -> None:
    cache.delete(SETTINGS_CACHE_KEY)
