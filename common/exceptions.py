"""One error model for the whole API: ``ApplicationError`` and the one handler that maps every error to one shape.

Every API error answers ``{"detail": str, "code": str, "errors": {...}}``: a sentence for people, a machine code
(``ErrorCode`` or a domain's own), and field errors keyed by field name or batch position, whose values are lists
of messages or nested objects of the same kind (``{}`` when there are none). Services raise ``ApplicationError``
subclasses; DRF's and Django's own exceptions are translated by ``error_from_exception``; anything else is a 500
whose traceback goes to the log, never to the client.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.core import exceptions as django_exceptions
from django.core import signals
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from common.outage import outage_retry_after

# The logger Django writes its own 500s to: handlers configured for it (mail_admins, error trackers) still fire.
request_logger = logging.getLogger("django.request")

# A field error value: messages, or nested errors keyed by field name or position.
FieldErrors = dict[str, "list[str] | FieldErrors"]


class ErrorCode(StrEnum):
    """The machine codes shared by every app (DRF's own codes included); a domain may add its own strings."""

    BAD_REQUEST = "bad_request"
    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class ApplicationError(Exception):
    """An error a client can act on, answered with ``status_code`` and the one error shape.

    Parameters
    ----------
    message : str, optional
        The sentence for people (``detail``); the class's ``default_message`` when omitted.
    code : str, optional
        The machine code (``code``); the class's ``default_code`` when omitted.
    errors : Mapping, optional
        Field errors keyed by field name or batch position (ints become strings); values are a message, a list of
        messages, or nested errors of the same kind.
    headers : Mapping[str, str], optional
        Extra response headers (e.g. ``Retry-After``).
    status : int, optional
        Overrides the class's ``status_code``; for translating another library's exception, not for new code
        (raise the subclass that names the status).
    """

    status_code: int = 400
    default_code: str = ErrorCode.BAD_REQUEST
    default_message: str = "Bad request."
    #: already logged (an outage, once per outage by ``common.outage``): Django's log line per response is skipped
    logged: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Mapping[Any, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = str(code or self.default_code)
        self.errors: FieldErrors = normalize_errors(errors or {})
        self.headers: dict[str, str] = dict(headers or {})
        if status is not None:
            self.status_code = status
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"detail": ..., "code": ..., "errors": {...}}``."""
        return {"detail": self.message, "code": self.code, "errors": self.errors}


class ValidationFailed(ApplicationError):
    """400: the input is invalid; ``errors`` says where (field names, or positions in a batch)."""

    default_code = ErrorCode.INVALID
    default_message = "Invalid input."


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = ErrorCode.PERMISSION_DENIED
    default_message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status_code = 404
    default_code = ErrorCode.NOT_FOUND
    default_message = "Not found."


class Conflict(ApplicationError):
    """409: the request is valid but clashes with the current state (a duplicate, a stale version)."""

    status_code = 409
    default_code = ErrorCode.CONFLICT
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    default_code = ErrorCode.PAYLOAD_TOO_LARGE
    default_message = "The request body is too large."


class ServerError(ApplicationError):
    """500: what an unexpected exception becomes; its message never carries the exception's own text."""

    status_code = 500
    default_code = ErrorCode.SERVER_ERROR
    default_message = "A server error occurred."


class ServiceUnavailable(ApplicationError):
    """503: a dependency is down or the service is overloaded; ``retry_after`` (seconds) sets ``Retry-After``.

    Parameters
    ----------
    message, code, errors, headers
        As for ``ApplicationError``.
    retry_after : int, optional
        Seconds the client should wait before retrying.
    """

    status_code = 503
    default_code = ErrorCode.SERVICE_UNAVAILABLE
    default_message = "The service is temporarily unavailable. Please try again later."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Mapping[Any, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        headers = dict(headers or {})
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        super().__init__(message, code=code, errors=errors, headers=headers)


def normalize_errors(errors: Mapping[Any, Any]) -> FieldErrors:
    """Field errors as plain JSON: string keys, lists of message strings, nested positions as objects.

    A list of per-item errors (DRF's ``many=True``: ``[{}, {"item": [...]}]``) becomes an object keyed by the
    position of each item that has errors (``{"1": {"item": [...]}}``), the way batch errors are keyed.
    Django's ``"__all__"`` key becomes DRF's ``non_field_errors``.

    Parameters
    ----------
    errors : Mapping
        Keys are field names or positions; values are a message, a list of messages, or nested errors.

    Returns
    -------
    dict
        ``{str: list[str] | dict}``.
    """
    return {_error_key(key): _error_value(value) for key, value in errors.items()}


def _error_key(key: Any) -> str:
    return api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else str(key)


def _error_value(value: Any) -> list[str] | FieldErrors:
    if isinstance(value, Mapping):
        return normalize_errors(value)
    if isinstance(value, list | tuple):
        if any(isinstance(entry, Mapping | list | tuple) for entry in value):
            return {str(position): _error_value(entry) for position, entry in enumerate(value) if entry}
        return [str(entry) for entry in value]
    return [str(value)]


def _validation_error(detail: Any, *, code: str = ErrorCode.INVALID) -> ValidationFailed:
    """DRF's or Django's validation detail (a message, a list of them, per-field, or per-position) as one error."""
    if isinstance(detail, Mapping):
        errors = normalize_errors(detail)
    elif isinstance(detail, list | tuple) and any(isinstance(entry, Mapping | list | tuple) for entry in detail):
        errors = _error_value(detail)  # a top-level many=True serializer: errors by position
    else:
        errors = {api_settings.NON_FIELD_ERRORS_KEY: _error_value(detail)}
    non_field = errors.get(api_settings.NON_FIELD_ERRORS_KEY)
    # Errors that name no field read better as the sentence itself than as "Invalid input."
    message = " ".join(non_field) if set(errors) == {api_settings.NON_FIELD_ERRORS_KEY} and isinstance(non_field, list) else None
    return ValidationFailed(message, code=code, errors=errors)


def _drf_error(exc: drf_exceptions.APIException) -> ApplicationError:
    if isinstance(exc, drf_exceptions.ValidationError):
        return _validation_error(exc.detail)
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # whole seconds, as DRF sends it
    codes = exc.get_codes()
    return ApplicationError(
        str(exc.detail) if isinstance(exc.detail, str) else str(exc.default_detail),
        code=codes if isinstance(codes, str) else exc.default_code,
        errors=exc.detail if isinstance(exc.detail, Mapping | list) else None,
        headers=headers,
        status=exc.status_code,  # DRF's status, including a 401 it coerced to 403 (no WWW-Authenticate to send)
    )


def error_from_exception(exc: BaseException) -> ApplicationError | None:
    """The ``ApplicationError`` an exception is answered with, or ``None`` for an unexpected exception (a 500).

    Parameters
    ----------
    exc : BaseException
        An ``ApplicationError``; any DRF ``APIException`` (its status, code, ``WWW-Authenticate`` and
        ``Retry-After`` kept); Django's ``Http404``, ``PermissionDenied``, ``ValidationError`` or
        ``RequestDataTooBig``; an outage of the database, cache or broker (``common.outage``) is a 503
        ``ServiceUnavailable`` with ``Retry-After``, logged once per outage.

    Returns
    -------
    ApplicationError or None
    """
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, drf_exceptions.APIException):
        return _drf_error(exc)
    if isinstance(exc, Http404):
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None  # Resolver404 carries a dict
        return NotFound(message)
    if isinstance(exc, django_exceptions.PermissionDenied):
        return PermissionDenied(str(exc) or None)
    if isinstance(exc, django_exceptions.ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_error(detail, code=getattr(exc, "code", None) or ErrorCode.INVALID)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, django_exceptions.SuspiciousOperation):
        # Too many fields, a malformed multipart body, a bad Host...: the client's fault, never a 500.
        return ApplicationError(str(exc) or None)
    retry_after = outage_retry_after(exc)
    if retry_after is not None:
        error = ServiceUnavailable(retry_after=retry_after)
        error.logged = True
        return error
    return None


def error_log_unexpected(*, exc: BaseException, request: HttpRequest | None) -> ServerError:
    """Log an unexpected exception with its traceback, tell Django's listeners, and return the 500 to answer.

    ``got_request_exception`` is what error trackers and Django's test client listen to: the test client
    re-raises the original exception, as it would without this handler.
    """
    path = getattr(request, "path", "?")
    request_logger.error("Internal Server Error: %s", path, exc_info=exc, extra={"status_code": 500, "request": request})
    signals.got_request_exception.send(sender=None, request=request)
    return ServerError()


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every exception raised in an API view, answered in the one error shape.

    Parameters
    ----------
    exc : Exception
        What the view (or DRF's authentication, permission, throttling, parsing, negotiation) raised.
    context : dict
        DRF's handler context; ``context["request"]`` is the DRF request.

    Returns
    -------
    Response
        ``{"detail", "code", "errors"}`` with the error's status and headers; a 500 for an unexpected exception.
    """
    error = error_from_exception(exc)
    if error is None:
        request = context.get("request")
        error = error_log_unexpected(exc=exc, request=getattr(request, "_request", request))
    set_rollback()  # as DRF's own handler: an ATOMIC_REQUESTS transaction must not commit a failed request
    return _logged_mark(Response(error.body(), status=error.status_code, headers=error.headers), error)


def _logged_mark(response: HttpResponse, error: ApplicationError) -> HttpResponse:
    if error.logged:
        response._has_been_logged = True  # Django's log_response skips it
    return response


def json_error_response(
    *,
    detail: str,
    code: str,
    status: int = 400,
    errors: Mapping[Any, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """The one error shape for plain Django JSON views (the site's AJAX endpoints).

    Parameters
    ----------
    detail : str
        The sentence for people.
    code : str
        The machine code (an ``ErrorCode`` or a domain's own).
    status : int
        HTTP status, 400 by default.
    errors : Mapping, optional
        Field errors as for ``ApplicationError``.
    headers : Mapping[str, str], optional
        Extra response headers.

    Returns
    -------
    JsonResponse
    """
    return json_response_from_error(ApplicationError(detail, code=code, errors=errors, headers=headers, status=status))


def json_response_from_error(error: ApplicationError) -> JsonResponse:
    """An ``ApplicationError`` (raised, or made by ``error_from_exception``) as a Django ``JsonResponse``."""
    return _logged_mark(JsonResponse(error.body(), status=error.status_code, headers=error.headers), error)
