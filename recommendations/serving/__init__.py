"""Serving: the recommendation pipeline (see ``pipeline`` and ``decide``) and the services around it.

This module is the package's one public face: other packages and apps import from here only.

    from recommendations.serving import feed_recommendations_get, similar_items_get, feedback_not_interested

(The API views live in ``recommendations.serving.apis`` for the URL configuration, the admin in ``admin``.)
"""
from recommendations.serving.actors import SESSION_PREFERENCES_KEY, PreferenceSnapshot, actor_history_get
from recommendations.serving.cache import (
    KEY_PREFIX,
    actor_state_token,
    actor_state_touch,
    actor_token_key,
    shared_table_get,
)
from recommendations.serving.cards import ItemCard, item_cards_forget, item_cards_get
from recommendations.serving.decide import PageDecision, PagePick, RecommendedItem, page_decide, page_items
from recommendations.serving.explanations import EXPLANATION_TYPES
from recommendations.serving.feed_sessions import CursorError, feed_transient_actor
from recommendations.serving.feedback import FeedbackError, FeedbackResult, feedback_not_interested
from recommendations.serving.impressions import (
    ImpressionRow,
    impressions_claim,
    impressions_flush,
    impressions_forget,
    impressions_log,
)
from recommendations.serving.pipeline import (
    MAX_N,
    FeedInputs,
    RecommendationPage,
    RequestContext,
    feed_inputs_get,
    feed_recommendations_get,
    page_items_get,
    request_context_parse,
)
from recommendations.serving.popularity import (
    PopularItem,
    items_also_bought,
    popular_items,
    popularity_refresh,
    popularity_scores,
)
from recommendations.serving.ranking import (
    FEATURES,
    RankerTrainResult,
    ranker_delete,
    ranker_get,
    ranker_train,
    ranker_training_data,
)
from recommendations.serving.similar import SimilarPage, similar_items_get

__all__ = [
    "EXPLANATION_TYPES",
    "FEATURES",
    "KEY_PREFIX",
    "MAX_N",
    "SESSION_PREFERENCES_KEY",
    "CursorError",
    "FeedInputs",
    "FeedbackError",
    "FeedbackResult",
    "ImpressionRow",
    "ItemCard",
    "PageDecision",
    "PagePick",
    "PopularItem",
    "PreferenceSnapshot",
    "RankerTrainResult",
    "RecommendationPage",
    "RecommendedItem",
    "RequestContext",
    "SimilarPage",
    "actor_history_get",
    "actor_state_token",
    "actor_state_touch",
    "actor_token_key",
    "feed_inputs_get",
    "feed_recommendations_get",
    "feed_transient_actor",
    "feedback_not_interested",
    "impressions_claim",
    "impressions_flush",
    "impressions_forget",
    "impressions_log",
    "item_cards_forget",
    "item_cards_get",
    "items_also_bought",
    "page_decide",
    "page_items",
    "page_items_get",
    "popular_items",
    "popularity_refresh",
    "popularity_scores",
    "ranker_delete",
    "ranker_get",
    "ranker_train",
    "ranker_training_data",
    "request_context_parse",
    "shared_table_get",
    "similar_items_get",
]
