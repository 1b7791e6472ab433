"""Onboarding (cold start): a new user names favourite categories and likes a few items; the first feed uses both.

Favourite categories get a category weight above neutral (the serving pipeline treats categories weighted above
1 as favourites: their trending items become candidates and rank higher); each picked item is recorded as a
``like`` event (real time: the next feed folds them in). Client event ids are derived from the user and the item,
so submitting the form twice records nothing twice; ids are unique per actor, so another user sending the same id
stores their own event and cannot claim this user's in advance.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from catalog.models import Category, Item
from catalog.selectors import category_descendant_ids
from recommendations.events import Actor, event_ingest
from recommendations.models import EventType
from users.models import User
from users.selectors import preferences_get
from users.services import preferences_update

FAVOURITE_WEIGHT = 1.5
MAX_CATEGORIES = 12
MAX_ITEMS = 20


@dataclass(frozen=True)
class OnboardingResult:
    category_ids: list[int]  # every category that got the favourite weight (chosen ones and those below them)
    liked: int  # like events newly recorded


def onboarding_complete(*, user: User, category_ids: list[int], item_ids: list[int]) -> OnboardingResult:
    """Store the user's favourite categories (and the categories below them) and like the picked items."""
    category_ids = list(dict.fromkeys(int(pk) for pk in category_ids))
    item_ids = list(dict.fromkeys(int(pk) for pk in item_ids))
    if len(category_ids) > MAX_CATEGORIES:
        raise ValidationError(f"Pick at most {MAX_CATEGORIES} categories.")
    if len(item_ids) > MAX_ITEMS:
        raise ValidationError(f"Pick at most {MAX_ITEMS} items.")
    categories = list(Category.objects.filter(pk__in=category_ids))
    if len(categories) != len(category_ids):
        raise ValidationError("Unknown category.")
    known_items = set(Item.objects.filter(pk__in=item_ids, is_active=True).values_list("pk", flat=True))
    if known_items != set(item_ids):
        raise ValidationError("Unknown item.")

    weighted: list[int] = []
    for category in categories:
        weighted.extend(category_descendant_ids(category=category))
    weighted = list(dict.fromkeys(weighted))
    if weighted:
        weights = dict(preferences_get(user=user).category_weights or {})
        weights.update({str(pk): FAVOURITE_WEIGHT for pk in weighted})
        preferences_update(user=user, data={"category_weights": weights})

    liked = 0
    if item_ids:
        result = event_ingest(
            actor=Actor(user_id=user.pk),
            events=[
                {
                    "client_event_id": f"onboarding-{user.pk}-{item_id}",
                    "item": item_id,
                    "event_type": EventType.LIKE,
                    "context": {"surface": "onboarding"},
                }
                for item_id in item_ids
            ],
        )
        liked = result.accepted
    return OnboardingResult(category_ids=weighted, liked=liked)
