"""The "For you" feed scrolled to its end: refilled from broader pools, every available item once, then no cursor."""
import datetime as dt
import re
from decimal import Decimal

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Category, Item
from recommendations.models import Event
from users.models import Preferences, User

pytestmark = pytest.mark.django_db
URL = "/api/v1/recommendations/"


def _shop(n_items: int, *, n_categories: int = 6, popular: int = 90, seed: int = 0) -> list[int]:
    """``n_items`` available items over ``n_categories``; events on the first ``popular`` ones (by other users),
    so the popularity table knows only part of the catalogue. Returns the ids of the available items."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    categories = [Category.objects.create(name=f"Shelf {k}", slug=f"shelf-{k}") for k in range(n_categories)]
    items = Item.objects.bulk_create(
        [Item(sku=f"F-{j:05d}", title=f"Thing {j}", category=categories[j % n_categories], price=Decimal("5.00"),
              created_at=now - dt.timedelta(days=int(rng.integers(0, 200)))) for j in range(n_items)]
    )
    # unavailable items are never served, and the end of the feed does not wait for them
    Item.objects.bulk_create(
        [Item(sku="F-off", title="Off", category=categories[0], price=Decimal("5.00"), created_at=now, is_active=False),
         Item(sku="F-out", title="Out", category=categories[1], price=Decimal("5.00"), created_at=now, in_stock=False)]
    )
    others = User.objects.bulk_create([User(username=f"feed-other-{i}") for i in range(8)])
    Event.objects.bulk_create(
        [Event(client_event_id=f"feed-{u.pk}-{j}", user=u, item=items[j], event_type="view",
               timestamp=now - dt.timedelta(hours=int(rng.integers(1, 100))))
         for u in others for j in rng.choice(popular, size=30, replace=False).tolist()]
    )
    return [item.pk for item in items]


def _scroll(get_page, *, first_cursor=None, limit=400) -> tuple[list[int], list[dict]]:
    """Follow next_cursor to the end; every page's ids and the pages (bounded: a feed that never ends fails)."""
    served, pages, cursor = [], [], first_cursor
    for _ in range(limit):
        body = get_page(cursor)
        pages.append(body)
        served += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return served, pages
    raise AssertionError(f"the feed did not end after {limit} pages ({len(served)} items, {len(set(served))} distinct)")


def _assert_whole_catalogue_once(served: list[int], pages: list[dict], available: set[int]) -> None:
    assert len(served) == len(set(served)), "an item was served twice"
    assert set(served) == available
    assert all(page["items"] for page in pages if page["next_cursor"] is not None), "an empty page offered a cursor"
    assert pages[-1]["next_cursor"] is None


@pytest.mark.parametrize("n", [20, 7])
def test_api_feed_of_a_small_catalogue_serves_every_item_once_then_ends(n):
    available = set(_shop(300))
    user = User.objects.create(username="scroller")
    Preferences.objects.create(user=user)
    client = APIClient()
    client.force_authenticate(user)

    def get_page(cursor):
        response = client.get(URL, {"n": n, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        return response.json()

    served, pages = _scroll(get_page)
    _assert_whole_catalogue_once(served, pages, available)
    assert len(pages) == -(-300 // n)  # full pages all the way: the refill keeps each page full


def test_anonymous_feed_ends_too():
    available = set(_shop(300))
    client = APIClient()

    def get_page(cursor):
        return client.get(URL, {"n": 50, **({"cursor": cursor} if cursor else {})}).json()

    served, pages = _scroll(get_page)
    _assert_whole_catalogue_once(served, pages, available)


def test_site_feed_home_page_then_its_script_endpoint_reaches_the_end():
    """The home page draws the first page and its cursor; static/js/feed.js follows it through the API."""
    available = set(_shop(300))
    user = User.objects.create(username="site-scroller")
    Preferences.objects.create(user=user)
    client = Client()
    client.force_login(user)
    home = client.get("/").content.decode()
    first_ids = [int(pk) for pk in re.findall(r'class="card feed-card" data-item-id="(\d+)"', home)]
    cursor = re.search(r'data-next-cursor="([^"]*)"', home).group(1)
    assert first_ids and cursor

    def get_page(cursor):
        response = client.get(URL, {"n": 12, "cursor": cursor}, headers={"accept": "application/json"})
        assert response.status_code == 200, response.content
        return response.json()

    served, pages = _scroll(get_page, first_cursor=cursor)
    _assert_whole_catalogue_once(first_ids + served, pages, available)


def test_a_catalogue_larger_than_every_candidate_pool_is_scrolled_to_its_end(monkeypatch):
    """1,500 items with a popularity table of 400: the pools (at most a few hundred items) run dry many times."""
    available = set(_shop(1500, n_categories=10, popular=400, seed=1))
    user = User.objects.create(username="long-scroller")
    Preferences.objects.create(user=user)
    Event.objects.create(client_event_id="mine-1", user=user, item_id=min(available), event_type="purchase",
                         timestamp=timezone.now())
    client = APIClient()
    client.force_authenticate(user)

    def get_page(cursor):
        return client.get(URL, {"n": 100, **({"cursor": cursor} if cursor else {})}).json()

    served, pages = _scroll(get_page)
    # a purchased item is not recommended again (exclude_purchased): everything else, once
    _assert_whole_catalogue_once(served, pages, available - {min(available)})
    assert all(len(page["items"]) == 100 for page in pages[:-1])


def test_warm_pages_do_not_touch_the_refill():
    """While the actor's candidates suffice, a page reads no more than before: no refill is built or stored."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recommendations.events import Actor
    from recommendations.serving import feed_recommendations_get
    from recommendations.serving.feed_sessions import feed_refill_key

    _shop(300)
    actor = Actor(user_id=User.objects.create(username="warm").pk)
    first = feed_recommendations_get(actor=actor, n=20)
    with CaptureQueriesContext(connection) as queries:
        second = feed_recommendations_get(actor=actor, n=20, cursor=first.next_cursor)
    # the new cards and the impressions only: no history, popularity or catalogue scan
    assert not [q["sql"] for q in queries if "recommendations_event" in q["sql"] or "ORDER BY" in q["sql"]]
    assert len(second.items) == 20 and second.next_cursor
    assert cache.get(feed_refill_key(first.feed_id)) is None
