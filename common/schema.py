"""The OpenAPI side of the one error model: an ``Error`` component on every operation's 4xx/5xx responses.

``AutoSchema`` is ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``. Each operation lists the errors any API view can
answer (400, 401, 403, 406, 429, 500, 503), 404 when its path has a parameter or it is a paginated list (a page
past the end), 413 and 415 when it takes a body, and any error status its ``@extend_schema(responses=...)``
names: the body is always ``Error``, since ``common.exceptions.api_exception_handler`` answers every error in
that shape. Declare a status your view raises (``responses={409: OpenApiResponse(description="...")}``): whatever
body it gives, ``Error`` is shown. 414 and 431 come from the HTTP server before the application (a request line
or header over its limit): documented with the server's own ``text/html`` body. Request bodies are documented as
JSON only, the API's contract (``tests/fuzz/run.py`` checks the whole schema against a live server).
"""
from http import HTTPStatus
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Invalid input (`code` invalid, with `errors` by field or batch position) or a malformed body (parse_error).",
    401: "No credentials, or wrong ones (not_authenticated, authentication_failed).",
    403: "Not allowed (permission_denied), e.g. a session request without its CSRF token.",
    404: "No such object (not_found).",
    409: "The request clashes with the current state (conflict).",
    413: "The request body is larger than the server accepts (payload_too_large).",
    406: "No representation the `Accept` header allows (not_acceptable): ask for application/json.",
    414: "The request line (URL) is longer than the HTTP server accepts (4094 bytes under gunicorn); the server's own text/html body.",
    415: "The body's Content-Type is not accepted (unsupported_media_type).",
    429: "Too many requests (throttled); retry after `Retry-After` seconds.",
    431: "A request header is larger than the HTTP server accepts (8190 bytes under gunicorn); the server's own text/html body.",
    500: "An unexpected error (server_error); it was logged.",
    503: "A dependency is unavailable (service_unavailable); retry after `Retry-After` seconds when sent.",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": "The scheme to authenticate with (`Token`)."},
    429: {"Retry-After": "Seconds until the client may retry."},
    503: {"Retry-After": "Seconds until the client may retry (when known)."},
}
# Answered by the HTTP server (gunicorn, or the proxy in front of it) before the application: not the Error shape.
SERVER_STATUSES = {414, 431}
BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_MEDIA_TYPE = "application/json"


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object", "additionalProperties": True}]
        },
    }
)
class FieldErrorsField(serializers.DictField):
    """Field name or batch position -> list of messages, or nested errors of the same kind."""


@extend_schema_serializer(
    component_name="Error",
    examples=[
        OpenApiExample(
            "validation",
            value={"detail": "Invalid input.", "code": "invalid", "errors": {"diversity_level": ["Ensure this value is less than or equal to 1.0."]}},
        ),
        OpenApiExample(
            "batch",
            value={"detail": "Invalid events.", "code": "invalid", "errors": {"3": {"item": ["Unknown item 999."]}}},
        ),
        OpenApiExample("not found", value={"detail": "No such item.", "code": "not_found", "errors": {}}),
    ],
)
class ErrorSerializer(serializers.Serializer):
    """Every API error: a sentence, a machine code, and field errors (``{}`` when none)."""

    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs: invalid, not_found, throttled, ...")
    errors = FieldErrorsField(help_text="Errors by field name or batch position; {} when there are none.")


def _error_status(code: Any) -> int | None:
    """The status of a response code (``404``, ``"404"``) when it is an error (>= 400), else ``None``."""
    code = str(code)
    return int(code) if code.isdigit() and int(code) >= 400 else None


class AutoSchema(openapi.AutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        """Nested ``InputSerializer`` / ``OutputSerializer`` (HackSoft style) are named after their API:
        ``RecommendationListApi.OutputSerializer`` -> ``RecommendationListOutput``, not a shared ``Output``."""
        name = super().get_serializer_name(serializer, direction)
        if name in ("InputSerializer", "OutputSerializer"):
            return type(self.view).__name__.removesuffix("Api") + name
        return name

    def _get_parameters(self) -> list[dict[str, Any]]:
        """Spectacular's parameters; an optional query parameter sent empty (``?q=``) counts as left out, as DRF
        reads query strings, so the schema allows the empty value (``allowEmptyValue``)."""
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters

    def map_parsers(self) -> list[str]:
        """Request bodies are documented as JSON only: the API's contract (form parsers stay for Django's own
        limits on form bodies, not as a second way in)."""
        return [JSON_MEDIA_TYPE]

    def error_statuses(self) -> set[int]:
        """The error statuses every operation like this one documents (besides those its ``extend_schema`` names)."""
        statuses = {400, 401, 403, 406, 429, 500, 503} | SERVER_STATUSES
        if "{" in self.path or self._is_paginated():
            statuses.add(404)
        if self.method in BODY_METHODS:
            statuses |= {413, 415}
        return statuses

    def _is_paginated(self) -> bool:
        """A GET list whose view pages it (``pagination_class``): a page past the end answers 404."""
        return self.method == "GET" and self._get_paginator() is not None and self._is_list_view()

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(ErrorSerializer, str(status), direction=direction)
        return dict(sorted(responses.items()))

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        """Spectacular's response for a status; for an error, ``Error`` whatever the view declared as its body."""
        status = _error_status(status_code)
        if status is None:
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        declared = serializer.description if isinstance(serializer, OpenApiResponse) else ""
        if status in SERVER_STATUSES:
            return {
                "description": declared or ERROR_DESCRIPTIONS[status],
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        response = super()._get_response_for_code(ErrorSerializer, status_code, media_types, direction)
        response["description"] = declared or ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        if status in ERROR_HEADERS:
            headers = {name: {"schema": {"type": "string"}, "description": text} for name, text in ERROR_HEADERS[status].items()}
            response["headers"] = {**headers, **response.get("headers", {})}
        return response
