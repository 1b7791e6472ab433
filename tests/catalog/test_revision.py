"""The catalog revision changes with every item or category write, whoever makes it, and only when it commits."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from catalog import revision as revision_module
from catalog.models import Category, Item
from catalog.revision import (
    CATALOG_REVISION_CACHE_KEY,
    catalog_revision_from_database,
    catalog_revision_get,
    catalog_revision_is_process_local,
)
from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.django_db


def writes(item: Item, category: Category):
    """One of each kind of catalog write (name, callable)."""
    table = Item._meta.db_table
    return [
        ("save", lambda: Item.objects.filter(pk=item.pk).first().save()),
        ("queryset update", lambda: Item.objects.filter(pk=item.pk).update(is_active=False)),
        ("bulk_update", lambda: Item.objects.bulk_update([item], ["in_stock"])),
        ("bulk_create", lambda: Item.objects.bulk_create(
            [Item(sku="REV-NEW", title="New", category=category, price=Decimal("1.00"), created_at=timezone.now())])),
        ("raw SQL", lambda: connection.cursor().execute(f"UPDATE {table} SET title = 'raw' WHERE id = %s", [item.pk])),
        ("delete", lambda: Item.objects.filter(sku="REV-NEW").delete()),
        ("category save", lambda: Category.objects.get(pk=category.pk).save()),
    ]


def test_every_kind_of_write_changes_the_database_revision():
    category = CategoryFactory()
    item = ItemFactory(category=category)
    for name, write in writes(item, category):
        before = catalog_revision_from_database()
        write()
        assert catalog_revision_from_database() != before, name


def test_django_side_bulk_writes_change_the_cache_revision_too():
    """A shared cache (Redis) learns of ORM bulk writes made in any process."""
    item = ItemFactory()
    for write in (lambda: Item.objects.filter(pk=item.pk).update(in_stock=False), lambda: Item.objects.bulk_update([item], ["title"])):
        cache.set(CATALOG_REVISION_CACHE_KEY, "old", None)
        write()
        assert cache.get(CATALOG_REVISION_CACHE_KEY) != "old"


def test_a_rolled_back_write_leaves_the_database_revision_as_it_was():
    item = ItemFactory()
    before = catalog_revision_from_database()
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(is_active=False)
        assert catalog_revision_from_database() != before  # the writer reads its own write
        transaction.set_rollback(True)
    assert catalog_revision_from_database() == before


def test_a_missing_row_reads_as_a_revision_and_the_next_write_recreates_it():
    revision_table = revision_module.CATALOG_REVISION_TABLE
    connection.cursor().execute(f"DELETE FROM {revision_table}")
    assert catalog_revision_from_database() == "db:-"
    ItemFactory()
    assert catalog_revision_from_database() != "db:-"


def test_with_a_process_local_cache_the_revision_is_read_from_the_database(settings):
    if settings.REDIS_URL:
        pytest.skip("the cache is shared: see test_with_a_shared_cache_the_revision_is_the_caches")
    assert catalog_revision_is_process_local()
    ItemFactory()
    before = catalog_revision_get(known="this-process-cache-copy")
    assert before == catalog_revision_from_database()
    # What another process commits: its cache bump never reaches this process, its database write does.
    connection.cursor().execute(f"UPDATE {Item._meta.db_table} SET title = title")
    assert catalog_revision_get(known="this-process-cache-copy") != before


def test_with_a_shared_cache_the_revision_is_the_caches(monkeypatch):
    monkeypatch.setattr(revision_module, "catalog_revision_is_process_local", lambda: False)
    assert catalog_revision_get(known="r-known") == "r-known"
    cache.delete(CATALOG_REVISION_CACHE_KEY)
    fresh = catalog_revision_get()
    assert fresh and fresh == cache.get(CATALOG_REVISION_CACHE_KEY)
