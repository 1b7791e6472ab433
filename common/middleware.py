"""The one error shape for every error answer to the API, whatever produced it.

DRF views answer through ``common.exceptions.api_exception_handler`` and Django's own handlers through
``common.views``; a few answers come from neither: Django's debug pages when ``DEBUG`` is on (``make run``),
``require_POST``'s empty 405, the CSRF failure page, the schema view's YAML errors. For a request under ``/api/``
or one that asks for JSON, this middleware rewrites any such non-JSON error answer into the one shape, keeping
its status and its ``Allow``, ``Retry-After`` and ``WWW-Authenticate`` headers.
"""
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse

from common.exceptions import (
    ApplicationError,
    ErrorCode,
    ServiceUnavailable,
    error_from_exception,
    json_response_from_error,
)
from common.outage import outage_dependency
from common.views import answers_json, service_unavailable

KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
CODES: dict[int, str] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.THROTTLED,
    500: ErrorCode.SERVER_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


def error_as_json(response: HttpResponse) -> HttpResponse:
    """``response`` (an error answer that is not JSON) as the one error shape with the same status."""
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = CODES.get(status, ErrorCode.SERVER_ERROR if status >= 500 else ErrorCode.BAD_REQUEST)
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    return json_response_from_error(ApplicationError(f"{phrase}.", code=code, status=status, headers=headers))


class JsonErrorMiddleware:
    """Rewrites non-JSON error answers (status >= 400) to API and JSON clients into the one error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming or _is_json(response) or not answers_json(request):
            return response
        return error_as_json(response)


class OutageMiddleware:
    """A view that fails because the database, cache or broker is unreachable answers 503 with ``Retry-After``.

    JSON in the one error shape for the API and script clients, ``templates/503.html`` for pages; logged once per
    outage (``common.outage``), not with a traceback per request. DRF views get the same answer from
    ``common.exceptions.api_exception_handler``; failures outside any view from ``common.views.server_error``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if outage_dependency(exception) is None:
            return None  # Django's own handling: a logged 500
        error = error_from_exception(exception)  # a ServiceUnavailable, noted in the outage log
        return service_unavailable(request, error) if isinstance(error, ServiceUnavailable) else None
