"""Item cards are kept per process between catalog changes; every kind of catalog write shows on the next request."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import revision as revision_module
from catalog.models import Item
from catalog.revision import catalog_revision_is_process_local
from catalog.services import CATALOG_REVISION_CACHE_KEY, catalog_import_rows
from recommendations.serving import cards as cards_module
from recommendations.serving.cards import item_cards_forget, item_cards_get

URL = "/api/v1/recommendations/"


@pytest.fixture(autouse=True)
def _fresh_cards():
    item_cards_forget()
    yield
    item_cards_forget()


def catalog_reads(queries) -> list[str]:
    """Queries that read item rows (the impression insert only checks that its items exist)."""
    return [q["sql"] for q in queries if "catalog_item" in q["sql"] and "INSERT INTO recommendations_impression" not in q["sql"]]


def first_page(client: APIClient, n: int = 10) -> dict:
    response = client.get(URL, {"n": n})
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def client(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user_of_group(1))
    return client


def test_a_warm_request_reads_no_item_rows(client):
    first_page(client)  # candidates and cards cached
    with CaptureQueriesContext(connection) as queries:
        page = first_page(client)
    assert len(page["items"]) == 10
    assert catalog_reads(queries.captured_queries) == []


def test_a_saved_price_or_stock_change_shows_on_the_next_request(client):
    page = first_page(client)
    shown = Item.objects.get(pk=page["items"][0]["id"])
    shown.price = Decimal("1.25")
    shown.save()
    again = {item["id"]: item for item in first_page(client, n=20)["items"]}
    assert again[shown.pk]["price"] == "1.25"
    shown.in_stock = False
    shown.save()
    assert shown.pk not in {item["id"] for item in first_page(client, n=20)["items"]}


def test_a_bulk_import_shows_on_the_next_request(client):
    page = first_page(client)
    shown = Item.objects.select_related("category").get(pk=page["items"][0]["id"])
    summary = catalog_import_rows(rows=[(2, {"sku": shown.sku, "title": "Renamed by import", "category": shown.category.name})])
    assert summary.updated == 1
    again = {item["id"]: item for item in first_page(client, n=20)["items"]}
    assert again[shown.pk]["title"] == "Renamed by import"


def test_a_queryset_update_or_raw_sql_shows_on_the_next_request(client):
    """No signal is sent: the database triggers (process-local cache) or the queryset (shared cache) bump it."""
    shown = first_page(client)["items"][0]["id"]
    Item.objects.filter(pk=shown).update(title="Updated title")
    assert {i["id"]: i for i in first_page(client, n=20)["items"]}[shown]["title"] == "Updated title"
    if not catalog_revision_is_process_local():
        return  # raw SQL with a shared cache: see test_raw_sql_with_a_shared_cache_is_bounded_by_max_age
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Item._meta.db_table} SET in_stock = %s WHERE id = %s", [False, shown])
    assert shown not in {i["id"] for i in first_page(client, n=20)["items"]}


def test_raw_sql_with_a_shared_cache_is_bounded_by_max_age(client, monkeypatch):
    monkeypatch.setattr(revision_module, "catalog_revision_is_process_local", lambda: False)
    shown = first_page(client)["items"][0]["id"]
    with connection.cursor() as cursor:  # no signal, no cache bump
        cursor.execute(f"UPDATE {Item._meta.db_table} SET title = %s WHERE id = %s", ["Raw SQL title", shown])
    assert {i["id"]: i for i in first_page(client, n=20)["items"]}[shown]["title"] != "Raw SQL title"
    monkeypatch.setattr(cards_module, "MAX_AGE", 0.0)
    assert {i["id"]: i for i in first_page(client, n=20)["items"]}[shown]["title"] == "Raw SQL title"


@pytest.mark.django_db
def test_without_a_revision_every_call_reads_the_database(world):
    ids = {item.pk for item in world.items[0][:3]}
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert set(item_cards_get(ids)) == ids
        assert len(catalog_reads(queries.captured_queries)) == 1
    cache.delete(CATALOG_REVISION_CACHE_KEY)
    with CaptureQueriesContext(connection) as queries:
        assert set(item_cards_get(ids, catalog_revision="r1")) == ids
        assert set(item_cards_get(ids, catalog_revision="r1")) == ids
        assert set(item_cards_get(ids, catalog_revision="r2")) == ids  # another revision: read again
    assert len(catalog_reads(queries.captured_queries)) == 2
