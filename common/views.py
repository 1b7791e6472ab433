"""Django's error handlers (``handler400/403/404/500`` in the root urlconf): JSON for the API, pages for people.

A request under ``/api/``, or one that asks for JSON (the site's AJAX calls), gets the one error shape of
``common.exceptions``; any other gets Django's own handler, which renders ``templates/<status>.html``.
These run for errors raised outside DRF views (an unknown URL, a plain Django view); DRF views answer through
``common.exceptions.api_exception_handler``.
"""
import sys

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import Resolver404, ResolverMatch, resolve
from django.views import csrf, defaults

from common.exceptions import (
    ApplicationError,
    NotFound,
    PermissionDenied,
    ServerError,
    ServiceUnavailable,
    error_from_exception,
    json_response_from_error,
)

API_PATH_PREFIX = "/api/"


def wants_json(request: HttpRequest) -> bool:
    """Whether the client asked for JSON (``Accept: application/json``): the site's scripts do."""
    return "application/json" in request.headers.get("Accept", "")


def answers_json(request: HttpRequest) -> bool:
    """Whether an error answer to ``request`` takes the one JSON shape: the API, or a client asking for JSON."""
    return request.path_info.startswith(API_PATH_PREFIX) or wants_json(request)


def _error_response(
    request: HttpRequest, exception: Exception, *, html_handler, fallback: type[ApplicationError]
) -> HttpResponse:
    """JSON for the API (``fallback`` when ``error_from_exception`` has no answer of its own), else Django's page."""
    if not answers_json(request):
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

    The client sees neither the exception's text nor its traceback. An outage of the database or cache raised
    outside a view (a middleware saving the session) is a 503 instead, logged once per outage by
    ``common.outage`` rather than with a traceback by Django.
    """
    error = error_from_exception(sys.exc_info()[1]) if sys.exc_info()[1] is not None else None
    if isinstance(error, ServiceUnavailable):
        return service_unavailable(request, error)  # logged once per outage, not with a traceback by Django
    if answers_json(request):
        return json_response_from_error(ServerError())
    return defaults.server_error(request)


def service_unavailable(request: HttpRequest, error: ServiceUnavailable) -> HttpResponse:
    """A 503 while a dependency is down: the one error shape for the API, ``templates/503.html`` for pages.

    The page is standalone (no context processors, no database), and both carry ``error``'s ``Retry-After``.
    """
    if answers_json(request):
        return json_response_from_error(error)
    response = HttpResponse(loader.get_template("503.html").render(), status=error.status_code, headers=error.headers)
    response._has_been_logged = error.logged  # an outage: Django's log line per response is skipped
    return response


def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last ``/api/`` route: an unknown API URL is a JSON 404 in any mode (also with ``DEBUG``), and a URL
    missing only its trailing slash says so instead of Django's redirect (which would drop a POST body)."""
    with_slash = f"{request.path_info}/"
    match = resolve_or_none(with_slash) if not request.path_info.endswith("/") else None
    if match is not None and match.func is not api_not_found:
        return json_response_from_error(NotFound(f"Not found. Did you mean {with_slash} (with the trailing slash)?"))
    return json_response_from_error(NotFound())


def resolve_or_none(path: str) -> ResolverMatch | None:
    try:
        return resolve(path)
    except Resolver404:
        return None


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the one error shape (with Django's reason) for API and script clients, else Django's
    own page."""
    if answers_json(request):
        return json_response_from_error(PermissionDenied(f"CSRF check failed: {reason}" if reason else None))
    return csrf.csrf_failure(request, reason=reason)
