"""Serving: the two-stage recommendation pipeline (see ``pipeline``) and the services around it.

    from recommendations.services.serving import feed_recommendations_get, similar_items_get, feedback_not_interested
"""
from recommendations.services.serving.feed_sessions import CursorError
from recommendations.services.serving.feedback import FeedbackError, FeedbackResult, feedback_not_interested
from recommendations.services.serving.pipeline import (
    RecommendationPage,
    RecommendedItem,
    RequestContext,
    SimilarPage,
    feed_recommendations_get,
    request_context_parse,
    similar_items_get,
)
from recommendations.services.serving.ranking import RankerTrainResult, ranker_train

__all__ = [
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
