"""One error model (common.exceptions, common.views, common.schema): every API error, one JSON shape.

The status walk goes through real endpoints where one produces the status, and through the test-only views
below (this module is their urlconf) for 409, 500 and 503, which no endpoint produces on demand.
"""
import json
import logging
from collections.abc import Callable

import pytest
from django.core import exceptions as django_exceptions
from django.http import Http404, HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework.views import APIView

from common.exceptions import (
    ApplicationError,
    Conflict,
    ErrorCode,
    ServiceUnavailable,
    ValidationFailed,
    api_exception_handler,
    json_error_response,
)
from config import urls as project_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


# ------------------------------------------------------------------------------------- test-only views
class ConflictApi(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Conflict("This address is already registered.", errors={"email": ["Taken."]})


class UnavailableApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise ServiceUnavailable("The model store is down.", retry_after=30)


class BrokenApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: password=hunter2")


def missing_view(request: HttpRequest) -> HttpResponse:
    raise Http404("No such widget.")


def form_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(len(request.POST)))  # reading POST checks DATA_UPLOAD_MAX_MEMORY_SIZE


urlpatterns = [
    path("api/test-errors/conflict/", ConflictApi.as_view()),
    path("api/test-errors/unavailable/", UnavailableApi.as_view()),
    path("api/test-errors/broken/", BrokenApi.as_view()),
    path("api/test-errors/plain-broken/", broken_view),
    path("api/test-errors/plain-form/", form_view),
    path("test-errors/broken/", broken_view),
    path("test-errors/missing/", missing_view),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def assert_error(response, status: int, code: str) -> dict:
    """The one shape: exactly detail (a non-empty string), code and errors (an object), as JSON, with ``status``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"detail", "code", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] == code
    assert isinstance(body["errors"], dict)
    return body


def quiet_client(**kwargs) -> APIClient:
    """A client that answers a 500 as the server would, instead of re-raising the view's exception."""
    client = APIClient(**kwargs)
    client.raise_request_exception = False
    return client


# --------------------------------------------------------------------------------- the status walk
def bad_payload(user, request):
    client = APIClient()
    client.force_authenticate(user)
    body = assert_error(client.put("/api/v1/me/preferences/", {"diversity_level": 3}, format="json"), 400, "invalid")
    assert body["detail"] == "Invalid input." and body["errors"] == {"diversity_level": ["Ensure this value is less than or equal to 1.0."]}


def no_credentials(user, request):
    response = APIClient().get("/api/v1/me/preferences/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def no_csrf_token(user, request):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)  # a browser session: unsafe methods need the CSRF token
    body = assert_error(client.put("/api/v1/me/preferences/", {"diversity_level": 0.2}, format="json"), 403, "permission_denied")
    assert body["detail"].startswith("CSRF Failed")


def unknown_id(user, request):
    body = assert_error(APIClient().get("/api/v1/items/999999/"), 404, "not_found")
    assert body["detail"] == "No such item."


def wrong_method(user, request):
    response = APIClient().delete("/api/v1/items/")
    body = assert_error(response, 405, "method_not_allowed")
    assert body["detail"] == 'Method "DELETE" not allowed.' and "GET" in response["Allow"]


def conflict(user, request):
    body = assert_error(APIClient().post("/api/test-errors/conflict/", {}, format="json"), 409, "conflict")
    assert body == {"detail": "This address is already registered.", "code": "conflict", "errors": {"email": ["Taken."]}}


def oversized_body(user, request):
    events = [{"client_event_id": f"e{i}", "item": 1, "event_type": "view"} for i in range(100)]
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024):
        response = APIClient().post("/api/v1/events/", events, format="json")
    assert_error(response, 413, "payload_too_large")


def wrong_content_type(user, request):
    response = APIClient().post("/api/v1/events/", "item=1", content_type="text/plain")
    body = assert_error(response, 415, "unsupported_media_type")
    assert "text/plain" in body["detail"]


def throttled(user, request):
    request.getfixturevalue("clock")
    client = APIClient()
    for _ in range(3):
        assert client.get("/api/v1/categories/").status_code == 200
    response = client.get("/api/v1/categories/")
    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "50"


def unexpected(user, request):
    caplog = request.getfixturevalue("caplog")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = quiet_client().get("/api/test-errors/broken/")
    body = assert_error(response, 500, "server_error")
    assert body["detail"] == "A server error occurred."
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    record = next(r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR)
    assert record.exc_info and "hunter2" in str(record.exc_info[1])  # the log has what the client does not


def unavailable(user, request):
    response = APIClient().get("/api/test-errors/unavailable/")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "30"


WALK: dict[int, Callable[..., None]] = {
    400: bad_payload,
    401: no_credentials,
    403: no_csrf_token,
    404: unknown_id,
    405: wrong_method,
    409: conflict,
    413: oversized_body,
    415: wrong_content_type,
    429: throttled,
    500: unexpected,
    503: unavailable,
}


@pytest.mark.parametrize("status", sorted(WALK))
def test_every_api_error_status_has_the_one_shape(status, user, request):
    WALK[status](user, request)


# ------------------------------------------------------------------------ more DRF errors, real endpoints
def test_a_malformed_json_body_is_a_parse_error():
    response = APIClient().post("/api/v1/events/", "{not json", content_type="application/json")
    assert assert_error(response, 400, "parse_error")["detail"].startswith("JSON parse error")


def test_a_bad_token_is_401_authentication_failed():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/v1/items/")  # authentication runs even where anyone may read
    assert assert_error(response, 401, "authentication_failed")["detail"] == "Invalid token."
    assert response["WWW-Authenticate"] == "Token"


def test_an_unacceptable_media_type_is_406():
    assert_error(APIClient().get("/api/v1/items/", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")


def test_a_bad_query_parameter_is_a_field_error():
    body = assert_error(APIClient().get("/api/v1/items/", {"category": "nope"}), 400, "invalid")
    assert body["errors"] == {"category": ["Unknown category 'nope'."]}


def test_login_with_wrong_credentials_names_no_field():
    body = assert_error(APIClient().post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json"), 400, "invalid")
    assert body["detail"] == "Unable to log in with provided credentials."
    assert body["errors"] == {"non_field_errors": ["Unable to log in with provided credentials."]}


# ------------------------------------------------------------------------------ outside DRF, under /api/
def test_an_unknown_api_url_is_a_json_404():
    body = assert_error(APIClient().get("/api/v1/no-such-thing/"), 404, "not_found")
    assert body["detail"] == "Not found."  # never the resolver's list of patterns


def test_an_unexpected_error_in_a_plain_api_view_is_a_json_500():
    response = quiet_client().get("/api/test-errors/plain-broken/")
    assert_error(response, 500, "server_error")
    assert b"hunter2" not in response.content


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64)
def test_an_oversized_form_to_a_plain_api_view_is_a_json_413():
    response = APIClient().post("/api/test-errors/plain-form/", {"text": "x" * 200}, format="multipart")
    assert_error(response, 413, "payload_too_large")


def test_the_test_client_still_raises_an_unexpected_error():
    # The handler tells got_request_exception, so tests see the real exception, as they would without it.
    with pytest.raises(RuntimeError, match="hunter2"):
        APIClient().get("/api/test-errors/broken/")


# ------------------------------------------------------------------------------------------ site pages
def test_an_unknown_page_renders_the_404_template(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert "404.html" in [t.name for t in response.templates] and "base.html" in [t.name for t in response.templates]
    assert b"We couldn't find that page" in response.content


def test_an_unknown_item_page_renders_the_404_template(client):
    response = client.get("/items/999999/")
    assert response.status_code == 404 and "404.html" in [t.name for t in response.templates]


def test_a_site_script_asking_for_json_gets_the_json_404(client):
    response = client.get("/test-errors/missing/", HTTP_ACCEPT="application/json")
    assert assert_error(response, 404, "not_found")["detail"] == "No such widget."


def test_a_site_error_renders_the_standalone_500_template(client):
    client.raise_request_exception = False
    response = client.get("/test-errors/broken/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")
    assert [t.name for t in response.templates] == ["500.html"]  # standalone: no base template, no context
    assert b"Something went wrong" in response.content and b"hunter2" not in response.content


# ---------------------------------------------------------------------------- the handler, exception by exception
def handle(exc: Exception):
    response = api_exception_handler(exc, {})
    body = response.data
    assert set(body) == {"detail", "code", "errors"}
    return response.status_code, body


class LineSerializer(serializers.Serializer):
    item = serializers.IntegerField()


class OrderSerializer(serializers.Serializer):
    address = serializers.DictField(child=serializers.CharField())
    lines = LineSerializer(many=True)


def test_nested_and_listed_serializer_errors_are_keyed_by_field_and_position():
    order = OrderSerializer(data={"address": {"city": None}, "lines": [{"item": 1}, {"item": "x"}, {}]})
    assert not order.is_valid()
    status, body = handle(drf_exceptions.ValidationError(order.errors))
    assert status == 400 and body["code"] == "invalid" and body["detail"] == "Invalid input."
    assert body["errors"] == {
        "address": {"city": ["This field may not be null."]},
        "lines": {"1": {"item": ["A valid integer is required."]}, "2": {"item": ["This field is required."]}},
    }
    batch = LineSerializer(data=[{"item": 1}, {"item": "x"}], many=True)
    assert not batch.is_valid()
    status, body = handle(drf_exceptions.ValidationError(batch.errors))
    assert body["errors"] == {"1": {"item": ["A valid integer is required."]}}


def test_a_validation_error_without_fields_reads_as_its_message():
    status, body = handle(drf_exceptions.ValidationError("Give an item, a category, or both."))
    assert (status, body) == (
        400,
        {"detail": "Give an item, a category, or both.", "code": "invalid",
         "errors": {"non_field_errors": ["Give an item, a category, or both."]}},
    )


def test_djangos_exceptions_are_translated():
    status, body = handle(django_exceptions.ValidationError({"__all__": ["Shares must sum to 1."], "half_life": "Must be positive."}))
    assert status == 400 and body["errors"] == {"non_field_errors": ["Shares must sum to 1."], "half_life": ["Must be positive."]}
    status, body = handle(django_exceptions.ValidationError("This item is not available.", code="unavailable"))
    assert (status, body["detail"], body["code"]) == (400, "This item is not available.", "unavailable")
    assert handle(Http404("No such item."))[1]["detail"] == "No such item."
    assert handle(django_exceptions.PermissionDenied())[0] == 403
    assert handle(django_exceptions.RequestDataTooBig())[:1] == (413,)


def test_throttled_keeps_retry_after_and_application_errors_their_own_code():
    response = api_exception_handler(drf_exceptions.Throttled(wait=12.2), {})  # DRF rounds the wait up
    assert response.status_code == 429 and response["Retry-After"] == "13" and response.data["code"] == "throttled"
    error = ValidationFailed("Invalid events.", code="invalid_batch", errors={3: {"item": ["Unknown item 9."]}})
    status, body = handle(error)
    assert body == {"detail": "Invalid events.", "code": "invalid_batch", "errors": {"3": {"item": ["Unknown item 9."]}}}
    assert isinstance(ErrorCode.NOT_FOUND, str) and handle(ApplicationError())[1]["code"] == "bad_request"


def test_json_error_response_builds_the_same_body():
    response = json_error_response(detail="Quantity must be between 1 and 10.", code=ErrorCode.INVALID, errors={"quantity": "Too many."})
    assert response.status_code == 400
    assert json.loads(response.content) == {
        "detail": "Quantity must be between 1 and 10.", "code": "invalid", "errors": {"quantity": ["Too many."]}
    }


# --------------------------------------------------------------------------------------------- schema
def test_every_operation_documents_its_errors_with_the_error_component():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "code", "errors"}
    operations = [(p, m, op) for p, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 10
    for path_, method, operation in operations:
        # 414 and 431 come from the HTTP server, before the application (tests/common/test_schema.py).
        errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400 and code not in {"414", "431"}}
        assert {"400", "401", "403", "406", "429", "500", "503"} <= set(errors), (method, path_)
        paginated = "count" in json.dumps(operation["responses"].get("200", {})) or "Paginated" in json.dumps(operation["responses"].get("200", {}))
        assert ("404" in errors) == ("{" in path_ or paginated), (method, path_)
        assert all(r["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"} for r in errors.values())
    assert schema["paths"]["/api/v1/events/"]["post"]["responses"]["429"]["headers"]["Retry-After"]
