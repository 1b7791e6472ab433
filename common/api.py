"""Small pieces shared by the REST APIs."""
from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """Page-number pagination whose ``page_size`` query parameter is capped (default 24, max 100)."""

    page_size = 24
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read at request time so tests and env can change it
        return settings.API_MAX_PAGE_SIZE
