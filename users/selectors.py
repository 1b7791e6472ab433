from django.db.models import QuerySet
from django.utils import timezone

from users.models import AuthToken, Preferences, User


def preferences_get(*, user: User) -> Preferences:
    """The user's preferences (created with defaults the first time)."""
    preferences, _ = Preferences.objects.prefetch_related("excluded_categories", "hidden_items").get_or_create(user=user)
    return preferences


def auth_token_list(*, user: User) -> QuerySet[AuthToken]:
    """The user's live API tokens, newest first (at most ``VITRINE_TOKEN_LIMIT_PER_USER``)."""
    return AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).only(
        "id", "name", "created", "expiry", "user_id"
    ).order_by("-created", "-id")
