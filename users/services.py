"""Write-side logic for users and their recommendation preferences."""
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from common.services import model_update
from users.models import Preferences, User

PREFERENCE_FIELDS = [
    "excluded_categories",
    "category_weights",
    "diversity_level",
    "exploration_level",
    "personalization_enabled",
    "hidden_items",
]


def preferences_cache_key(*, user_id: int) -> str:
    return f"user-preferences:v1:{user_id}"


def preferences_get_or_create(*, user: User) -> Preferences:
    preferences, _ = Preferences.objects.get_or_create(user=user)
    return preferences


def preferences_update(*, user: User, data: dict[str, Any]) -> Preferences:
    """Apply a validated partial update; recommendations read the new values on their next request."""
    with transaction.atomic():
        preferences = preferences_get_or_create(user=user)
        preferences, _ = model_update(instance=preferences, fields=PREFERENCE_FIELDS, data=data)
    cache.delete(preferences_cache_key(user_id=user.pk))
    return preferences


def user_create(*, username: str, password: str, email: str = "") -> User:
    user_model = get_user_model()
    user = user_model(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    Preferences.objects.create(user=user)
    return user
