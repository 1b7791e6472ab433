"""Write-side logic for users, their API tokens, their recommendation preferences and their account data (export,
deletion)."""
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from common.exceptions import Conflict, ErrorCode, NotFound, ValidationFailed
from common.services import model_update
from users.identity import email_validate_unique, username_validate
from users.models import AuthToken, Preferences, User
from users.signals import session_history_claimed, user_data_requested, user_erasing

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
    """Create a shopper's account (and their preferences).

    Raises
    ------
    ValidationError
        A look-alike or taken username (case ignored), an email already in use (case ignored), or any field
        the model refuses.
    """
    user_model = get_user_model()
    user = user_model(username=username, email=email)
    user.set_password(password)
    username_validate(username=username)
    email_validate_unique(email=email)
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


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything Vitrine stores about ``user``, as JSON-ready data.

    Profile and preferences come from here; other apps add their sections (events, impressions) as receivers of
    ``users.signals.user_data_requested``.
    """
    preferences = preferences_get_or_create(user=user)
    data: dict[str, Any] = {
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
    }
    for _receiver, sections in user_data_requested.send(sender=User, user=user):
        data.update(sections or {})
    return data


def user_delete(*, user: User) -> None:
    """Delete the account with its preferences and, through ``users.signals.user_erasing``, everything other apps
    keep about the user (events, impressions): nothing about the user is kept."""
    user_id = user.pk
    with transaction.atomic():
        user_erasing.send(sender=User, user=user)
        Preferences.objects.filter(user_id=user_id).delete()
        user.delete()
    cache.delete(preferences_cache_key(user_id=user_id))


def user_session_history_claim(*, user: User, session_key: str | None) -> int:
    """Move what an anonymous browser session did onto ``user`` when they sign in or up (receivers of
    ``users.signals.session_history_claimed`` move their rows).

    Call it with the session key from *before* login: Django gives the session a new key at login. Returns the
    number of events moved.
    """
    if not session_key:
        return 0
    responses = session_history_claimed.send(sender=User, user=user, session_key=session_key)
    return sum(moved for _receiver, moved in responses if isinstance(moved, int))


# ------------------------------------------------------------------------------------------------- API tokens
def auth_token_create(*, user: User, name: str = "") -> tuple[AuthToken, str]:
    """A new API token for ``user``, valid ``VITRINE_TOKEN_TTL_HOURS`` from now; every call makes a new one.

    Parameters
    ----------
    user : User
        The owner.
    name : str, optional
        What the owner calls it ("my phone", "import script"); at most 100 characters.

    Returns
    -------
    tuple of (AuthToken, str)
        The stored row (its SHA-512 digest, never the token) and the token itself, which only this answer holds.

    Raises
    ------
    Conflict
        ``token_limit``: the user already holds ``VITRINE_TOKEN_LIMIT_PER_USER`` live tokens.
    """
    with transaction.atomic():
        # The owner's row lock serialises concurrent creations, so the limit holds (a no-op on SQLite, which
        # serialises writers anyway).
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()  # the expired ones, while here
        limit = settings.VITRINE_TOKEN_LIMIT_PER_USER
        if AuthToken.objects.filter(user=user).count() >= limit:
            raise Conflict(
                f"You already hold {limit} API tokens: revoke one first (GET /api/v1/me/tokens/).", code="token_limit"
            )
        return AuthToken.objects.create(user=user, expiry=timedelta(hours=settings.VITRINE_TOKEN_TTL_HOURS), name=name)


def auth_token_obtain(*, request: HttpRequest | None, username: str, password: str, name: str = "") -> tuple[AuthToken, str]:
    """Check a username and password, then create a token (``auth_token_create``).

    Raises
    ------
    ValidationFailed
        The credentials match no active account (one message, whichever part was wrong).
    Conflict
        See ``auth_token_create``.
    """
    # ``request`` lets authentication backends (lockouts, throttles) see the client.
    user = authenticate(request=request, username=username, password=password)
    if user is None or not user.is_active:
        message = "Unable to log in with provided credentials."
        raise ValidationFailed(message, code=ErrorCode.INVALID, errors={"non_field_errors": [message]})
    return auth_token_create(user=user, name=name)


def auth_token_revoke(*, user: User, token_id: int) -> None:
    """Delete one of ``user``'s tokens; it is refused from the next request on (the auth cache entry goes too).

    Raises
    ------
    NotFound
        ``token_id`` is not a token of ``user`` (another user's token is not found either).
    """
    deleted, _ = AuthToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound("No such token.")


def auth_token_revoke_all(*, user_id: int) -> int:
    """Delete every token of the user (a password change calls it); returns how many there were."""
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return deleted

