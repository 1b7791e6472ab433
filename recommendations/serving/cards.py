"""Item cards: what a recommendation shows of an item, kept per process between catalog changes.

Every page needs the cards of its ~20 items and of the items its reasons cite. Reading them from the database
was a round trip and a join per request; they change only when the catalog does. So each process keeps the
cards it has read, tagged with the catalog revision they were read under (``catalog.revision``: replaced on
every item or category write, by whatever process). A request passes the revision it read (with a shared cache,
in its one cache round trip; with a process-local cache, from the database); a different revision empties the
cards, so a price, stock, deactivation or deletion committed anywhere shows on the next request. ``MAX_AGE``
bounds what a raw SQL write with a shared cache could leave stale; without a revision every call reads the
database.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from catalog.models import Category, Item
from catalog.revision import catalog_revision_get  # noqa: F401 - serving reads the revision from here

MAX_AGE = 60.0  # seconds a process trusts its cards without a revision change
MAX_CARDS = 200_000  # at most this many cards per process (about 100 MB); the oldest half goes first


@dataclass(frozen=True)
class CategoryRef:
    id: int
    name: str


@dataclass(frozen=True)
class ItemCard:
    """What a recommendation shows of an item (read with one plain query, no model instances)."""

    pk: int
    title: str
    price: Decimal
    image_url: str
    category: CategoryRef
    is_available: bool

    @property
    def id(self) -> int:
        return self.pk

    @property
    def category_id(self) -> int:
        return self.category.id


class _CardCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.revision: str | None = None
        self.started = 0.0
        self.cards: dict[int, ItemCard] = {}

    def lookup(self, item_ids: set[int], *, revision: str) -> tuple[dict[int, ItemCard], set[int]]:
        with self.lock:
            if revision != self.revision or time.monotonic() - self.started > MAX_AGE:
                self.revision, self.started, self.cards = revision, time.monotonic(), {}
            cards = self.cards
        found = {pk: cards[pk] for pk in item_ids if pk in cards}
        return found, item_ids - found.keys()

    def store(self, found: dict[int, ItemCard], *, revision: str) -> None:
        with self.lock:
            if revision != self.revision:
                return  # the catalog changed while this request read it
            if len(self.cards) + len(found) > MAX_CARDS:
                for pk in list(self.cards)[: len(self.cards) // 2]:
                    del self.cards[pk]
            self.cards.update(found)


_cards = _CardCache()


def item_cards_get(item_ids: set[int], *, catalog_revision: str | None = None) -> dict[int, ItemCard]:
    """Cards of the items (missing ids are left out). With the current ``catalog_revision`` cards this process
    read under it are reused and only the others are queried; without one, all are read from the database."""
    item_ids = {int(pk) for pk in item_ids}
    if not item_ids:
        return {}
    if catalog_revision is None:
        return _cards_read(item_ids)
    found, missing = _cards.lookup(item_ids, revision=catalog_revision)
    if missing:
        fresh = _cards_read(missing)
        _cards.store(fresh, revision=catalog_revision)
        found.update(fresh)
    return found


def item_cards_forget() -> None:
    """Drop this process's cards (tests, and a process that wrote the catalog without the revision)."""
    with _cards.lock:
        _cards.revision, _cards.cards = None, {}


def _cards_read(item_ids: set[int]) -> dict[int, ItemCard]:
    item_table, category_table = Item._meta.db_table, Category._meta.db_table
    sql = (
        f"SELECT i.id, i.title, i.price, i.image_url, i.category_id, c.name, i.is_active, i.in_stock "
        f"FROM {item_table} i JOIN {category_table} c ON c.id = i.category_id WHERE i.id IN ({', '.join(['%s'] * len(item_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(item_ids))
        rows = cursor.fetchall()
    return {
        pk: ItemCard(pk=pk, title=title, price=Decimal(str(price)).quantize(Decimal("0.01")), image_url=image_url,
                     category=CategoryRef(category_id, category_name), is_available=bool(is_active and in_stock))
        for pk, title, price, image_url, category_id, category_name, is_active, in_stock in rows
    }
