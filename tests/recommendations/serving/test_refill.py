"""The refill pool: broader pools in order, nothing served or excluded, keyset pages of the catalogue, an end."""
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from catalog.models import Category, Item
from recommendations.models import Event
from recommendations.serving import refill as refill_module
from recommendations.serving.actors import ActorHistory, PreferenceSnapshot
from recommendations.serving.candidates import SOURCE_INDEX
from recommendations.serving.refill import refill_grow, refill_pool_new
from recommendations.serving.tables import new_arrivals_get, popularity_table_get
from recommendations.tuning import recommender_settings_get
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """30 items in 3 categories; the first 9 have events (the popularity table), the rest only the catalogue."""
    now = timezone.now()
    categories = [Category.objects.create(name=f"Aisle {k}", slug=f"aisle-{k}") for k in range(3)]
    items = Item.objects.bulk_create(
        [Item(sku=f"R-{j:03d}", title=f"R {j}", category=categories[j % 3], price=Decimal("1.00"),
              created_at=now - dt.timedelta(days=100)) for j in range(30)]
    )
    user = User.objects.create(username="refill-someone")
    Event.objects.bulk_create(
        [Event(client_event_id=f"r-{j}-{k}", user=user, item=items[j], event_type="view", timestamp=now)
         for j in range(9) for k in range(9 - j)]
    )
    return categories, [item.pk for item in items]


def _grow(refill, *, served=frozenset(), prefs=None, chunk=400):
    settings = recommender_settings_get()
    return refill_grow(
        refill=refill, served=served, prefs=prefs or PreferenceSnapshot(), popularity=popularity_table_get(settings=settings),
        new_arrivals=new_arrivals_get(settings=settings), settings=settings, serving=None, chunk=chunk,
    )


def test_popularity_table_first_then_the_catalogue_newest_first_then_exhausted(shop, monkeypatch):
    categories, ids = shop
    monkeypatch.setattr(refill_module, "CATALOG_SCAN", 4)  # several keyset pages per chunk
    history = ActorHistory(category_affinity={categories[0].pk: 1.0}, exclude_items=frozenset({ids[29]}))
    refill = refill_pool_new(signature="s", history=history, prefs=PreferenceSnapshot(), personalized=True)

    refill = _grow(refill, served=frozenset({ids[0]}))
    assert refill.popular_done and not refill.catalog_done
    assert set(refill.table.item_ids.tolist()) == set(ids[1:9])  # served ids[0] left out
    popular = refill.table.scores[:, SOURCE_INDEX["popular"]]
    assert (popular > 0).all()
    explore = refill.table.scores[:, SOURCE_INDEX["explore"]] > 0
    touched = refill.table.category_ids == categories[0].pk
    assert not explore[touched].any() and explore[~touched].all()  # only categories the actor never touched
    trending = refill.table.scores[:, SOURCE_INDEX["trending"]] > 0
    assert (trending == touched).all()  # the favourite category

    served = frozenset(ids[:12])  # the first page took the popular ones and a few more
    refill = _grow(refill, served=served, chunk=7)
    catalog = refill.table.item_ids[refill.table.scores[:, SOURCE_INDEX["catalog"]] > 0]
    assert sorted(catalog.tolist(), reverse=True) == [ids[j] for j in range(28, 21, -1)]  # newest first; 29 excluded
    assert not refill.catalog_done and len(refill.table) == 7  # served popular rows were dropped

    refill = _grow(refill, served=served | set(catalog.tolist()), chunk=50)
    assert refill.exhausted
    assert sorted(refill.table.item_ids.tolist()) == ids[12:22]


def test_hidden_items_and_blocked_categories_never_enter(shop):
    categories, ids = shop
    prefs = PreferenceSnapshot(hidden_items=frozenset({ids[1]}), excluded_categories=frozenset({categories[2].pk}))
    refill = refill_pool_new(signature="s", history=ActorHistory(), prefs=prefs, personalized=True)
    while not refill.exhausted:
        refill = _grow(refill, prefs=prefs)
    left = refill.table.item_ids
    assert ids[1] not in left and not np.isin(refill.table.category_ids, [categories[2].pk]).any()
    assert len(left) == 30 - 10 - 1 and len(set(left.tolist())) == len(left)


def test_an_item_going_unavailable_mid_feed_never_leaves_an_empty_page_with_a_cursor(shop, monkeypatch):
    """The candidates were built while an item was available; its card says otherwise: it is passed over."""
    from recommendations.events import Actor
    from recommendations.serving import feed_recommendations_get

    _, ids = shop
    actor = Actor(user_id=User.objects.create(username="refill-reader").pk)
    first = feed_recommendations_get(actor=actor, n=10)
    Item.objects.filter(pk__in=ids[:28]).exclude(pk__in=[item.item.pk for item in first.items]).update(in_stock=False)
    from recommendations.serving import item_cards_forget

    item_cards_forget()
    pages = [first]
    while pages[-1].next_cursor:
        pages.append(feed_recommendations_get(actor=actor, n=10, cursor=pages[-1].next_cursor))
        assert pages[-1].items or pages[-1].next_cursor is None
        assert len(pages) < 10
    served = [entry.item.pk for page in pages for entry in page.items]
    assert len(served) == len(set(served))
    assert set(served) == {entry.item.pk for entry in first.items} | {ids[28], ids[29]}
