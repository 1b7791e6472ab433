import pytest
from django.test import override_settings

from tests.factories import CategoryFactory, ItemFactory


@pytest.mark.django_db
def test_item_list_filters_by_category_including_children_and_search(api_client):
    parent = CategoryFactory(slug="electronics")
    child = CategoryFactory(slug="headphones", parent=parent)
    other = CategoryFactory(slug="books")
    phones = ItemFactory(title="Aurora Wireless Headphones", category=child)
    ItemFactory(title="Big Novel", category=other)
    ItemFactory(title="Hidden", category=child, is_active=False)
    body = api_client.get("/api/v1/items/", {"category": "electronics"}).json()
    assert [row["id"] for row in body["results"]] == [phones.pk]
    body = api_client.get("/api/v1/items/", {"q": "novel"}).json()
    assert [row["title"] for row in body["results"]] == ["Big Novel"]


@pytest.mark.django_db
def test_item_list_unknown_category_and_bad_params_are_400(api_client):
    for params in ({"category": "nope"}, {"min_price": "cheap"}, {"ordering": "random"}):
        response = api_client.get("/api/v1/items/", params)
        assert response.status_code == 400 and response.json()["code"] == "invalid"
        assert set(response.json()["errors"]) == set(params)


@pytest.mark.django_db
@override_settings(API_MAX_PAGE_SIZE=5)
def test_page_size_is_capped(api_client):
    ItemFactory.create_batch(8)
    body = api_client.get("/api/v1/items/", {"page_size": 1000}).json()
    assert body["count"] == 8 and len(body["results"]) == 5


@pytest.mark.django_db
def test_item_detail_and_404(api_client):
    item = ItemFactory(tags=["red", "wool"], attributes={"size": "M"})
    body = api_client.get(f"/api/v1/items/{item.pk}/").json()
    assert body["sku"] == item.sku and body["tags"] == ["red", "wool"] and body["attributes"] == {"size": "M"}
    assert api_client.get("/api/v1/items/999999/").json() == {"detail": "No such item.", "code": "not_found", "errors": {}}


@pytest.mark.django_db
def test_openapi_schema_and_docs(api_client):
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/events/" in text and "/api/v1/items/{item_id}/" in text
    assert api_client.get("/api/docs/").status_code == 200
