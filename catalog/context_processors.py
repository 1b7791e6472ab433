from django.core.cache import cache
from django.http import HttpRequest

from catalog.models import Category

NAV_CACHE_SECONDS = 300


def navigation(request: HttpRequest) -> dict:
    """Top-level categories for the site menu (cached: every page renders it)."""
    categories = cache.get("nav-categories:v1")
    if categories is None:
        categories = list(Category.objects.filter(parent__isnull=True).values("name", "slug"))
        cache.set("nav-categories:v1", categories, NAV_CACHE_SECONDS)
    return {"nav_categories": categories}
