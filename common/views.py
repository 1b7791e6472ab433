"""Django's error handlers (``handler400/403/404/500`` in the root urlconf): JSON for the API, pages for people.

A request under ``/api/``, or one that asks for JSON (the site's AJAX calls), gets the one error shape of
``common.exceptions``; any other gets Django's own handler, which renders ``templates/<status>.html``.
These run for errors raised outside DRF views (an unknown URL, a plain Django view); DRF views answer through
``common.exceptions.api_exception_handler``.
"""
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from common.exceptions import (
    ApplicationError,
    NotFound,
    PermissionDenied,
    ServerError,
    error_from_exception,
    json_response_from_error,
)

API_PATH_PREFIX = "/api/"


def wants_json(request: HttpRequest) -> bool:
    """Whether the client asked for JSON (``Accept: application/json``): the site's scripts do."""
    return "application/json" in request.headers.get("Accept", "")


def _answers_json(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX) or wants_json(request)


def _error_response(
    request: HttpRequest, exception: Exception, *, html_handler, fallback: type[ApplicationError]
) -> HttpResponse:
    """JSON for the API (``fallback`` when ``error_from_exception`` has no answer of its own), else Django's page."""
    if not _answers_json(request):
        return html_handler(request, exception)
    return json_response_from_error(error_from_exception(exception) or fallback())


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: a ``SuspiciousOperation`` outside DRF; an oversized body (``RequestDataTooBig``) is a 413."""
    return _error_response(request, exception, html_handler=defaults.bad_request, fallback=ApplicationError)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler403``: Django's ``PermissionDenied`` outside DRF."""
    return _error_response(request, exception, html_handler=defaults.permission_denied, fallback=PermissionDenied)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: an unknown URL or an ``Http404`` outside DRF (``templates/404.html`` for pages)."""
    return _error_response(request, exception, html_handler=defaults.page_not_found, fallback=NotFound)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an unexpected exception outside DRF (``templates/500.html``, rendered without context).

    Django has already logged the exception; the client sees neither its text nor its traceback.
    """
    if _answers_json(request):
        return json_response_from_error(ServerError())
    return defaults.server_error(request)
