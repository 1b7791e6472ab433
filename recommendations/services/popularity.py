"""Keeping the "Popular now" ranking fresh."""
from django.core.cache import cache

from recommendations.selectors import POPULAR_CACHE_SECONDS, popularity_scores


def popularity_refresh() -> int:
    """Recompute the global time-decayed popularity ranking and store it in the cache.

    Returns how many items have a positive score. Harmless to run twice.
    """
    scores = popularity_scores()
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:500]
    cache.set("popular:v1:all", ranked, POPULAR_CACHE_SECONDS)
    return len(scores)
