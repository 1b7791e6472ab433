"""Read-side queries for the shop pages (onboarding)."""
from catalog.models import Item
from recommendations.models import Event
from recommendations.serving import popular_items


def user_needs_onboarding(*, user_id: int) -> bool:
    """A signed-in user who has told us nothing yet: no events, no category weights, no exclusions."""
    from users.models import Preferences

    if Event.objects.filter(user_id=user_id).exists():
        return False
    preferences = Preferences.objects.filter(user_id=user_id).first()
    if preferences is None:
        return True
    return not preferences.category_weights and not preferences.excluded_categories.exists()


def onboarding_item_choices(*, category_ids: list[int], limit: int = 12) -> list[Item]:
    """Popular available items spread over the chosen categories (and the categories below them)."""
    from catalog.models import Category
    from catalog.selectors import category_descendant_ids

    categories = list(Category.objects.filter(pk__in=category_ids)) if category_ids else []
    if not categories:
        return [entry.item for entry in popular_items(limit=limit)]
    per_category = max(2, -(-limit // len(categories)))
    picked: list[Item] = []
    seen: set[int] = set()
    lists = [
        [entry.item for entry in popular_items(limit=per_category, category_ids=category_descendant_ids(category=category))]
        for category in categories
    ]
    for position in range(per_category):  # round robin, so every chosen category is represented
        for entries in lists:
            if position < len(entries) and entries[position].pk not in seen:
                seen.add(entries[position].pk)
                picked.append(entries[position])
    return picked[:limit]
