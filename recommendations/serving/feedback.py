""""Not interested" feedback: hides an item or excludes a category, and records a skip event.

Signed-in users' choices go to their Preferences through ``users.services.preferences_update`` (which drops
the cached preference snapshot); anonymous sessions keep them in the session. The skip event replaces the
actor's state token, so the next page is rebuilt without the item either way.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings

from catalog.models import Category, Item
from recommendations.events import Actor, event_ingest
from recommendations.models import EventType
from recommendations.serving.actors import SESSION_PREFERENCES_KEY, SESSION_PREFERENCES_MAX


class FeedbackError(ValueError):
    pass


@dataclass(frozen=True)
class FeedbackResult:
    hidden_items: list[int]
    excluded_categories: list[int]
    event_recorded: bool


def feedback_not_interested(
    *, actor: Actor, item: Item | None = None, category: Category | None = None, scope: str = "item", request_id: str = "",
    session=None,
) -> FeedbackResult:
    """``scope="item"`` hides ``item``; ``scope="category"`` excludes ``category`` (default: the item's)."""
    if scope not in ("item", "category"):
        raise FeedbackError(f"Unknown scope {scope!r}; expected item or category.")
    if item is None and category is None:
        raise FeedbackError("Give an item, a category, or both.")
    if scope == "item" and item is None:
        scope = "category"
    if scope == "category" and category is None:
        category = item.category
    hide = [item.pk] if scope == "item" else []
    exclude = [category.pk] if scope == "category" else []

    if actor.user_id is not None:
        hidden, excluded = _user_preferences_extend(user_id=actor.user_id, hide=hide, exclude=exclude)
    else:
        if session is None:
            raise FeedbackError("Anonymous feedback needs a session.")
        data = dict(session.get(SESSION_PREFERENCES_KEY, {}))
        hidden = sorted(set(data.get("hidden_items", [])) | set(hide))[-SESSION_PREFERENCES_MAX:]
        excluded = sorted(set(data.get("excluded_categories", [])) | set(exclude))[-SESSION_PREFERENCES_MAX:]
        session[SESSION_PREFERENCES_KEY] = {"hidden_items": hidden, "excluded_categories": excluded}
        session.modified = True

    recorded = False
    if item is not None:
        context = {"feedback": "not_interested", "scope": scope}
        if request_id:
            context["request_id"] = request_id[:64]
        result = event_ingest(
            actor=actor,
            events=[{"client_event_id": f"feedback-{uuid.uuid4().hex}", "item": item.pk, "event_type": EventType.SKIP, "context": context}],
        )
        recorded = result.accepted == 1
    return FeedbackResult(hidden_items=hidden, excluded_categories=excluded, event_recorded=recorded)


def _user_preferences_extend(*, user_id: int, hide: list[int], exclude: list[int]) -> tuple[list[int], list[int]]:
    from users.models import Preferences, User
    from users.services import preferences_get_or_create, preferences_update

    user = User.objects.get(pk=user_id)
    preferences = preferences_get_or_create(user=user)
    hidden = set(Preferences.hidden_items.through.objects.filter(preferences_id=preferences.pk).values_list("item_id", flat=True))
    excluded = set(
        Preferences.excluded_categories.through.objects.filter(preferences_id=preferences.pk).values_list("category_id", flat=True)
    )
    data = {}
    if hide and not set(hide) <= hidden:
        cap = settings.PREFERENCES_MAX_HIDDEN_ITEMS  # the same cap as PUT /api/v1/me/preferences/
        if len(hidden) + len(hide) > cap:
            raise FeedbackError(f"You have hidden {cap} items already; unhide some in your preferences first.")
        hidden |= set(hide)
        data["hidden_items"] = sorted(hidden)
    if exclude and not set(exclude) <= excluded:
        if len(excluded) + len(exclude) > settings.API_MAX_LIST_ITEMS:
            raise FeedbackError(f"At most {settings.API_MAX_LIST_ITEMS} excluded categories (API_MAX_LIST_ITEMS).")
        excluded |= set(exclude)
        data["excluded_categories"] = sorted(excluded)
    if data:
        preferences_update(user=user, data=data)
    return sorted(hidden), sorted(excluded)
