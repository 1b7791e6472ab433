from users.models import Preferences, User


def preferences_get(*, user: User) -> Preferences:
    """The user's preferences (created with defaults the first time)."""
    preferences, _ = Preferences.objects.prefetch_related("excluded_categories", "hidden_items").get_or_create(user=user)
    return preferences
