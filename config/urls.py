from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from catalog.apis import CategoryListApi, ItemDetailApi, ItemListApi
from common.views import api_not_found
from recommendations.events.apis import EventApi
from recommendations.serving.apis import FeedbackCreateApi, ItemSimilarApi, RecommendationListApi
from users.apis import AuthTokenCreateApi, MePreferencesApi, MeTokenDeleteApi, MeTokenListApi

REDOC_CSP = {"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}

api_v1 = [
    path("items/", ItemListApi.as_view(), name="item-list"),
    path("items/<int:item_id>/", ItemDetailApi.as_view(), name="item-detail"),
    path("categories/", CategoryListApi.as_view(), name="category-list"),
    path("items/<int:item_id>/similar/", ItemSimilarApi.as_view(), name="item-similar"),
    path("events/", EventApi.as_view(), name="events"),
    path("recommendations/", RecommendationListApi.as_view(), name="recommendations"),
    path("feedback/", FeedbackCreateApi.as_view(), name="feedback"),
    path("me/preferences/", MePreferencesApi.as_view(), name="me-preferences"),
    path("me/tokens/", MeTokenListApi.as_view(), name="me-tokens"),
    path("me/tokens/<int:token_id>/", MeTokenDeleteApi.as_view(), name="me-token-delete"),
    path("auth/token/", AuthTokenCreateApi.as_view(), name="auth-token"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api-v1"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content-Security-Policy allows no inline one.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # ReDoc's bundled styled-components write <style> elements it cannot give a nonce, and its search runs in a
    # blob: worker: on this one page inline styles (never scripts) and blob: workers are allowed.
    path("api/redoc/", csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    re_path(r"^api/(?P<path>.*)$", api_not_found, name="api-not-found"),
    path("", include("recommendations.shop.urls")),
    path("", include("users.urls")),
    path("", include("catalog.urls")),
]

# Errors raised outside DRF views: JSON in the one error shape under /api/ (or when JSON is asked for), pages otherwise.
handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.page_not_found"
handler500 = "common.views.server_error"
