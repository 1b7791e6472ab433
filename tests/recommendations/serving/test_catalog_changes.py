"""A catalog change committed by another process shows on this process's very next feed, similar-items and item answer.

The writer is a separate ``manage.py`` process against the same database (a copy of the test database in a
SQLite file on the embedded default; the PostgreSQL test database otherwise), so nothing it puts in its own
local-memory cache can reach the serving process.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections
from rest_framework.test import APIClient

from catalog.models import Item
from recommendations.serving import item_cards_forget
from tests.recommendations.serving_support import install_model, serving_model_fit, world_create

ROOT = Path(__file__).resolve().parents[3]
FEED = "/api/v1/recommendations/"


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    """The DATABASE_URL under which a child process sees the very database this process serves from."""
    default = connections["default"]
    if default.vendor != "sqlite":
        s = default.settings_dict  # transactional_db: rows are committed, so the child sees them
        yield f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        return
    # The SQLite test database lives in memory: serve from a file copy of it (same schema and triggers).
    path = tmp_path / "shared.sqlite3"
    default.ensure_connection()
    with sqlite3.connect(path) as target:
        default.connection.backup(target)
    file_default = type(default)({**default.settings_dict, "NAME": str(path)}, alias="default")
    connections["default"] = file_default
    try:
        yield f"sqlite:///{path}"
    finally:
        file_default.close()
        connections["default"] = default


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def feed_ids(client: APIClient) -> set[int]:
    response = client.get(FEED, {"n": 60})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def similar_ids(client: APIClient, anchor: Item) -> set[int]:
    response = client.get(f"/api/v1/items/{anchor.pk}/similar/", {"n": 30})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def test_another_process_import_and_delete_show_on_the_next_request(shared_database, monkeypatch, tmp_path):
    item_cards_forget()
    world = world_create()
    install_model(monkeypatch, serving_model_fit(world))
    client = APIClient()
    client.force_authenticate(world.user_of_group(0))
    anchor = world.items[0][0]
    # Warm every cache: the candidates, the similar list, this process's item cards.
    shown = feed_ids(client) & similar_ids(client, anchor)
    inactive, out_of_stock, deleted = (Item.objects.select_related("category").get(pk=pk) for pk in sorted(shown)[:3])
    assert client.get(f"/api/v1/items/{inactive.pk}/").status_code == 200

    catalog_csv = tmp_path / "catalog.csv"
    catalog_csv.write_text(
        "sku,title,category,is_active,in_stock\n"
        f"{inactive.sku},{inactive.title},{inactive.category.name},false,true\n"
        f"{out_of_stock.sku},{out_of_stock.title},{out_of_stock.category.name},true,false\n"
    )
    manage(shared_database, "import_catalog", str(catalog_csv), "--format", "csv")
    gone = {inactive.pk, out_of_stock.pk}
    assert not gone & feed_ids(client)
    assert not gone & similar_ids(client, anchor)
    assert client.get(f"/api/v1/items/{inactive.pk}/").status_code == 404
    assert client.get(f"/api/v1/items/{out_of_stock.pk}/").json()["in_stock"] is False  # its page stays

    manage(shared_database, "shell", "-c", f"from catalog.models import Item; Item.objects.filter(pk={deleted.pk}).delete()")
    gone.add(deleted.pk)
    assert not gone & feed_ids(client)
    assert not gone & similar_ids(client, anchor)

    # The unavailable items' own similar items: the API and the item page agree.
    for pk, status in ((inactive.pk, 404), (deleted.pk, 404), (out_of_stock.pk, 200)):
        similar = client.get(f"/api/v1/items/{pk}/similar/")
        assert similar.status_code == status
        if status == 404:
            assert set(similar.json()) == {"detail", "code", "errors"}
        assert client.get(f"/items/{pk}/").status_code == status
