"""Serving: the two-stage recommendation pipeline (see ``pipeline``) and the services around it.

    from recommendations.serving import feed_recommendations_get, similar_items_get, feedback_not_interested
"""
from recommendations.serving.feed_sessions import CursorError
from recommendations.serving.feedback import FeedbackError, FeedbackResult, feedback_not_interested
from recommendations.serving.pipeline import (
    RecommendationPage,
    RecommendedItem,
    RequestContext,
    SimilarPage,
    feed_recommendations_get,
    request_context_parse,
    similar_items_get,
)
from recommendations.serving.popularity import (
    PopularItem,
    items_also_bought,
    popular_items,
    popularity_refresh,
    popularity_scores,
)
from recommendations.serving.ranking import RankerTrainResult, ranker_train

__all__ = [
    "PopularItem",
    "items_also_bought",
    "popular_items",
    "popularity_refresh",
    "popularity_scores",
    "CursorError",
    "FeedbackError",
    "FeedbackResult",
    "RankerTrainResult",
    "RecommendationPage",
    "RecommendedItem",
    "RequestContext",
    "SimilarPage",
    "feed_recommendations_get",
    "feedback_not_interested",
    "ranker_train",
    "request_context_parse",
    "similar_items_get",
]
