"""The OpenAPI schema describes what the API answers (#13 fault 9); tests/fuzz/run.py checks it against a live server.

Each example the fuzzer found is asserted here on its right value: paged lists documented as paged objects,
every status the API answers documented, bodies documented as JSON, invalid query values refused, not ignored.
"""
import pytest
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def member_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def operations(schema):
    return [(path, method, operation) for path, methods in schema["paths"].items() for method, operation in methods.items()]


def resolve(schema, ref_or_schema):
    ref = ref_or_schema.get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else ref_or_schema


@pytest.mark.parametrize(("path", "item"), [("/api/v1/events/", "EventOutput"), ("/api/v1/items/", "ItemOutput")])
def test_paged_lists_are_documented_as_paged_objects(schema, path, item):
    body = resolve(schema, schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    assert body["type"] == "object" and set(body["required"]) == {"count", "results"}
    assert set(body["properties"]) == {"count", "next", "previous", "results"}
    assert body["properties"]["results"] == {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1 and parameters["page_size"]["schema"]["minimum"] == 1
    assert "404" in schema["paths"][path]["get"]["responses"]  # a page past the end


def test_paged_lists_answer_what_the_schema_says(member_api):
    ItemFactory.create_batch(3)
    body = APIClient().get("/api/v1/items/", {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3 and len(body["results"]) == 2
    page_past_the_end = APIClient().get("/api/v1/items/", {"page": 9})
    assert page_past_the_end.status_code == 404 and page_past_the_end.json()["code"] == "not_found"
    assert set(member_api.get("/api/v1/events/").json()) == {"count", "next", "previous", "results"}


def test_every_status_the_api_answers_is_documented(schema):
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        assert {"400", "401", "403", "406", "414", "429", "431", "500", "503"} <= statuses, (method, path)
        if method in {"post", "put", "patch"}:
            assert {"413", "415"} <= statuses, (method, path)
        for status in ("414", "431"):  # the HTTP server's own answer, before the application
            assert operation["responses"][status]["content"] == {"text/html": {"schema": {"type": "string"}}}


def test_error_bodies_are_the_error_component_with_its_three_fields(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "code", "errors"}
    body = APIClient().get("/api/v1/items/", {"page_size": "abc"}).json()
    assert set(body) == set(error["properties"])


def test_request_bodies_are_documented_as_json_only(schema):
    bodies = [operation["requestBody"] for _, _, operation in operations(schema) if "requestBody" in operation]
    assert len(bodies) >= 4
    assert all(set(body["content"]) == {"application/json"} for body in bodies)


def test_optional_query_parameters_allow_the_empty_value_the_api_reads_as_left_out(schema):
    query = [p for _, _, operation in operations(schema) for p in operation.get("parameters", []) if p["in"] == "query"]
    assert query and all(p["allowEmptyValue"] is True for p in query if not p.get("required"))
    assert APIClient().get("/api/v1/items/", {"q": "", "page_size": ""}).status_code == 200


@pytest.mark.parametrize("page_size", ["null", "0", "-3", "²", "1.5"])
def test_an_invalid_page_size_is_a_400_not_the_default(member_api, page_size):
    for path in ("/api/v1/items/", "/api/v1/events/"):
        response = member_api.get(path, {"page_size": page_size})
        assert response.status_code == 400, (path, page_size)
        assert response.json()["code"] == "invalid" and "page_size" in response.json()["errors"]


def test_a_page_size_above_the_cap_is_served_at_the_cap(settings):
    settings.API_MAX_PAGE_SIZE = 2
    ItemFactory.create_batch(3)
    assert len(APIClient().get("/api/v1/items/", {"page_size": 50}).json()["results"]) == 2


@pytest.mark.parametrize("value", ["null", "maybe", "2"])
def test_categories_top_level_refuses_a_value_that_is_not_a_boolean(value):
    response = APIClient().get("/api/v1/categories/", {"top_level": value})
    assert response.status_code == 400 and "top_level" in response.json()["errors"]


def test_categories_top_level_filters():
    parent = CategoryFactory()
    CategoryFactory(parent=parent)
    assert [c["id"] for c in APIClient().get("/api/v1/categories/", {"top_level": "true"}).json()] == [parent.pk]
    assert len(APIClient().get("/api/v1/categories/", {"top_level": ""}).json()) == 2


@pytest.mark.parametrize("field", ["hidden_items", "excluded_categories"])
def test_preferences_refuse_an_object_where_the_schema_says_a_list(member_api, field):
    response = member_api.put("/api/v1/me/preferences/", {field: {}}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
def test_a_json_boolean_is_true_or_false_only(member_api, value):
    response = member_api.put("/api/v1/me/preferences/", {"personalization_enabled": value}, format="json")
    assert response.status_code == 400 and "personalization_enabled" in response.json()["errors"]
    assert member_api.put("/api/v1/me/preferences/", {"personalization_enabled": False}, format="json").status_code == 200
