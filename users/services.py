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


def preferences_item_unhide(*, user: User, item_id: int) -> Preferences:
    """Undo a "not interested" on one item: it may be recommended again from the next feed load."""
    preferences = preferences_get_or_create(user=user)
    hidden = set(preferences.hidden_items.values_list("pk", flat=True))
    if item_id in hidden:
        preferences = preferences_update(user=user, data={"hidden_items": sorted(hidden - {item_id})})
    return preferences


def preferences_controls_update(
    *,
    user: User,
    category_weights: dict[int, float],
    excluded_category_ids: list[int],
    diversity_level: float,
    exploration_level: float,
    personalization_enabled: bool,
) -> Preferences:
    """Save the "Your recommendations" page. A weight or exclusion set on a category applies to every category
    below it too (recommendations match an item's own category), unless a subcategory has its own weight."""
    from catalog.selectors import category_children_map

    children = category_children_map()

    def below(category_id: int) -> list[int]:
        found, frontier = [], [category_id]
        while frontier:
            frontier = [child for parent in frontier for child in children.get(parent, []) if child not in found]
            found.extend(frontier)
        return found

    weights: dict[str, float] = {}
    for category_id, weight in sorted(category_weights.items()):
        for pk in [category_id, *below(category_id)]:
            if pk == category_id or pk not in category_weights:
                weights[str(pk)] = float(weight)
    weights = {key: value for key, value in weights.items() if value != 1.0}  # 1 is neutral: keep the map small
    excluded = set(excluded_category_ids)
    for category_id in excluded_category_ids:
        excluded.update(below(category_id))
    return preferences_update(
        user=user,
        data={
            "category_weights": weights,
            "excluded_categories": sorted(excluded),
            "diversity_level": diversity_level,
            "exploration_level": exploration_level,
            "personalization_enabled": personalization_enabled,
        },
    )


def _serving_state_touch(*, user_id: int) -> None:
    """The user's next recommendations are rebuilt (their history changed)."""
    from recommendations.serving.cache import actor_state_touch

    actor_state_touch(user_ids={user_id})


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything Vitrine stores about ``user``, as JSON-ready data (profile, preferences, events, impressions)."""
    from recommendations.models import Event, Impression

    preferences = preferences_get_or_create(user=user)
    events = Event.objects.filter(user=user).order_by("timestamp", "id").values(
        "id", "client_event_id", "item_id", "item__title", "event_type", "value", "context", "timestamp"
    )
    impressions = Impression.objects.filter(user=user).order_by("created_at", "id").values(
        "request_id", "item_id", "position", "source", "reason", "surface", "created_at"
    )
    return {
        "format": "vitrine-user-data/1",
        "user": {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "preferences": {
            "excluded_categories": sorted(preferences.excluded_categories.values_list("pk", flat=True)),
            "category_weights": preferences.category_weights,
            "diversity_level": preferences.diversity_level,
            "exploration_level": preferences.exploration_level,
            "personalization_enabled": preferences.personalization_enabled,
            "hidden_items": sorted(preferences.hidden_items.values_list("pk", flat=True)),
            "updated_at": preferences.updated_at.isoformat(),
        },
        "events": [
            {
                "id": row["id"],
                "client_event_id": row["client_event_id"],
                "item": row["item_id"],
                "item_title": row["item__title"],
                "event_type": row["event_type"],
                "value": row["value"],
                "context": row["context"],
                "timestamp": row["timestamp"].isoformat(),
            }
            for row in events.iterator(chunk_size=2000)
        ],
        "impressions": [
            {**row, "created_at": row["created_at"].isoformat()} for row in impressions.iterator(chunk_size=2000)
        ],
    }


def user_event_delete(*, user: User, event_id: int) -> bool:
    """Delete one of the user's own events (never anyone else's). Returns whether something was deleted."""
    from recommendations.models import Event

    deleted, _ = Event.objects.filter(pk=event_id, user=user).delete()
    if deleted:
        _serving_state_touch(user_id=user.pk)
    return bool(deleted)


def user_history_reset(*, user: User) -> int:
    """Forget the user's interaction history (events and impressions); preferences stay. Returns events deleted."""
    from recommendations.models import Event, Impression
    from recommendations.serving.impressions import impressions_forget

    impressions_forget(user_ids={user.pk})
    with transaction.atomic():
        deleted, _ = Event.objects.filter(user=user).delete()
        Impression.objects.filter(user=user).delete()
    _serving_state_touch(user_id=user.pk)
    return deleted


def user_delete(*, user: User) -> None:
    """Delete the account with its events, impressions and preferences (nothing about the user is kept)."""
    from recommendations.models import Event, Impression
    from recommendations.serving.impressions import impressions_forget

    user_id = user.pk
    impressions_forget(user_ids={user_id})
    with transaction.atomic():
        Event.objects.filter(user_id=user_id).delete()
        Impression.objects.filter(user_id=user_id).delete()
        Preferences.objects.filter(user_id=user_id).delete()
        user.delete()
    cache.delete(preferences_cache_key(user_id=user_id))
    _serving_state_touch(user_id=user_id)


def user_session_history_claim(*, user: User, session_key: str | None) -> int:
    """Move what an anonymous browser session did (events, impressions) onto ``user`` when they sign in or up.

    Call it with the session key from *before* login: Django gives the session a new key at login. Returns the
    number of events moved; the user's next recommendations are rebuilt from them.
    """
    from recommendations.models import Event, Impression
    from recommendations.serving.cache import actor_state_touch
    from recommendations.serving.impressions import impressions_claim

    if not session_key:
        return 0
    impressions_claim(session_key=session_key, user_id=user.pk)
    with transaction.atomic():
        moved = Event.objects.filter(user__isnull=True, session_key=session_key).update(user=user, session_key="")
        Impression.objects.filter(user__isnull=True, session_key=session_key).update(user=user, session_key="")
    if moved:
        actor_state_touch(user_ids={user.pk}, session_keys={session_key})
    return moved
