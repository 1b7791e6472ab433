"""Write the simulated demo shop (``demo.simulation``) into the database, and remove it again.

Everything the demo writes is recognisable, so ``demo_reset`` removes only demo data: items whose SKU starts
with ``DEMO-``, users named ``shopper_*``, events whose client id starts with ``demo-`` and the demo
categories once they hold nothing else. The ``admin`` and ``demo`` accounts are kept.
Under production settings (``VITRINE_PRODUCTION``) nothing here writes: a demo superuser ``admin``/``admin`` on a
reachable server is an open door.
"""
import datetime as dt
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from catalog.models import Category, Item
from catalog.services import catalog_written
from demo.simulation import CATEGORY_SPECS, SimulatedShop, simulate_shop
from recommendations.models import Event
from users.models import Preferences, User

logger = logging.getLogger(__name__)

DEMO_SKU_PREFIX = "DEMO-"
DEMO_USERNAME_PREFIX = "shopper_"
RATING_SCALE_FROM_STARS = 2.0  # 1-5 stars -> 2-10 on the shop's 0-10 scale
DEMO_EVENT_PREFIX = "demo-"
DEMO_ACCOUNT = "demo"  # username and password of the demo shopper (one of the simulated users)
ADMIN_ACCOUNT = "admin"  # username and password of the local superuser
WRITE_BATCH = 1000
EVENT_CHUNK = 10_000


class DemoRefusedInProduction(RuntimeError):
    """Demo data (and its ``admin``/``admin`` superuser) was asked for under production settings."""


def demo_allowed_check() -> None:
    """Refuse demo writes under production settings.

    Raises
    ------
    DemoRefusedInProduction
        If ``settings.VITRINE_PRODUCTION`` is true (``config.settings.production``).
    """
    if getattr(settings, "VITRINE_PRODUCTION", False):
        raise DemoRefusedInProduction(
            "Refusing to seed demo data under production settings: it would create the superuser "
            f"{ADMIN_ACCOUNT}/{ADMIN_ACCOUNT}. Create your superuser with `manage.py createsuperuser` instead."
        )


@dataclass
class DemoSeedResult:
    already_seeded: bool = False
    categories: int = 0
    items: int = 0
    users: int = 0
    events: int = 0
    admin_created: bool = False
    seconds: float = 0.0


def demo_is_seeded() -> bool:
    return Item.objects.filter(sku__startswith=DEMO_SKU_PREFIX).exists()


def demo_accounts_ensure() -> tuple[User, bool]:
    """Create the local superuser ``admin``/``admin`` if it is missing (never touches an existing one).

    Raises
    ------
    DemoRefusedInProduction
        Under production settings.
    """
    demo_allowed_check()
    user_model = get_user_model()
    admin = user_model.objects.filter(username=ADMIN_ACCOUNT).first()
    created = admin is None
    if created:
        admin = user_model(username=ADMIN_ACCOUNT, email="admin@example.com", is_staff=True, is_superuser=True)
        admin.set_password(ADMIN_ACCOUNT)
        admin.full_clean()
        admin.save()
    Preferences.objects.get_or_create(user=admin)
    return admin, created


def demo_reset() -> dict[str, int]:
    """Delete the demo shop: events, shoppers, items, and the demo categories that are left empty.

    Returns
    -------
    dict of str to int
        Rows deleted per kind: ``events``, ``users``, ``items``, ``categories``.
    """
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts["events"], _ = Event.objects.filter(client_event_id__startswith=DEMO_EVENT_PREFIX).delete()
        counts["users"], _ = get_user_model().objects.filter(username__startswith=DEMO_USERNAME_PREFIX).delete()
        counts["items"], _ = Item.objects.filter(sku__startswith=DEMO_SKU_PREFIX).delete()
        top_slugs = [spec.slug for spec in CATEGORY_SPECS]
        sub_slugs = [f"{spec.slug}-{sub.slug}" for spec in CATEGORY_SPECS for sub in spec.subcategories]
        deleted = 0
        for slugs in (sub_slugs, top_slugs):  # leaves first; a category that still holds anything stays
            empty = (
                Category.objects.filter(slug__in=slugs)
                .annotate(n_items=Count("items", distinct=True), n_children=Count("children", distinct=True))
                .filter(n_items=0, n_children=0)
            )
            deleted += Category.objects.filter(pk__in=list(empty.values_list("pk", flat=True))).delete()[1].get("catalog.Category", 0)
        counts["categories"] = deleted
    return counts


def demo_seed(
    *,
    seed: int = 42,
    n_users: int = 1000,
    n_items: int = 2000,
    n_events: int = 100_000,
    end: dt.datetime | None = None,
    reset: bool = False,
) -> DemoSeedResult:
    """Simulate the demo shop and write it in one transaction (bulk inserts in chunks).

    Parameters
    ----------
    seed : int
        The same seed and ``end`` write identical rows.
    n_users, n_items, n_events : int
        Sizes of the simulated shop (see ``demo.simulation.simulate_shop``).
    end : datetime, optional
        Time of the last event (default: now, rounded down to the hour).
    reset : bool
        Delete the existing demo shop first; without it an existing demo shop is left alone.

    Returns
    -------
    DemoSeedResult
        Counts written, ``already_seeded`` when nothing was done, and the wall time in seconds.

    Raises
    ------
    ValueError
        If a size is too small for the simulator.
    DemoRefusedInProduction
        Under production settings (nothing is written).
    """
    demo_allowed_check()
    started = time.perf_counter()
    if not reset and demo_is_seeded():
        return DemoSeedResult(already_seeded=True)
    end = end or timezone.now().replace(minute=0, second=0, microsecond=0)
    shop = simulate_shop(seed=seed, end_timestamp=end.timestamp(), n_users=n_users, n_items=n_items, n_events=n_events)
    result = DemoSeedResult()
    with transaction.atomic():  # the reset too: a failed seed leaves the old demo in place
        if reset:
            demo_reset()
        _, result.admin_created = demo_accounts_ensure()
        category_ids = _categories_write(shop=shop)
        item_ids = _items_write(shop=shop, category_ids=category_ids)
        user_ids = _users_write(shop=shop)
        result.events = _events_write(shop=shop, item_ids=item_ids, user_ids=user_ids)
    result.categories = len(category_ids)
    result.items = len(item_ids)
    result.users = len(user_ids)
    result.seconds = time.perf_counter() - started
    logger.info("demo shop seeded: seed=%s items=%s users=%s events=%s seconds=%.1f", seed, result.items, result.users, result.events, result.seconds)
    return result


def _categories_write(*, shop: SimulatedShop) -> dict[str, int]:
    """Create the demo category tree; categories that already exist (same slug) are reused."""
    wanted = {category.slug: category for category in shop.categories}
    ids = dict(Category.objects.filter(slug__in=list(wanted)).values_list("slug", "pk"))
    for level in (False, True):  # top level first, then subcategories under them
        missing = [c for c in shop.categories if (c.parent_slug is not None) == level and c.slug not in ids]
        Category.objects.bulk_create(
            [Category(name=c.name, slug=c.slug, description=c.description, parent_id=ids.get(c.parent_slug or "")) for c in missing]
        )
        ids = dict(Category.objects.filter(slug__in=list(wanted)).values_list("slug", "pk"))
    return ids


def _items_write(*, shop: SimulatedShop, category_ids: dict[str, int]) -> list[int]:
    """Create the items; returns the database id of each simulated item (by index)."""
    image_url = ""  # no external images: templates show a local placeholder
    items = [
        Item(
            sku=item.sku,
            title=item.title,
            description=item.description,
            category_id=category_ids[item.category_slug],
            tags=list(item.tags),
            attributes=item.attributes,
            price=Decimal(f"{item.price:.2f}"),
            image_url=image_url,
            in_stock=item.in_stock,
            is_active=item.is_active,
            created_at=dt.datetime.fromtimestamp(item.created_at, tz=dt.UTC),
        )
        for item in shop.items
    ]
    Item.objects.bulk_create(items, batch_size=WRITE_BATCH)
    catalog_written()  # bulk writes send no signals
    by_sku = dict(Item.objects.filter(sku__startswith=DEMO_SKU_PREFIX).values_list("sku", "pk"))
    return [by_sku[item.sku] for item in shop.items]


def _demo_user_index(shop: SimulatedShop) -> int:
    """The simulated shopper who becomes the ``demo`` account: a well-active one (80th percentile of events)."""
    counts = np.bincount(shop.events.user_ids, minlength=len(shop.users)).tolist()
    target = sorted(counts)[int(0.8 * (len(counts) - 1))]
    return min(range(len(counts)), key=lambda index: (abs(counts[index] - target), index))


def _users_write(*, shop: SimulatedShop) -> list[int]:
    """Create the shoppers (no usable password) and their preferences; one of them is ``demo``/``demo``."""
    user_model = get_user_model()
    demo_index = _demo_user_index(shop)
    demo_user = user_model.objects.filter(username=DEMO_ACCOUNT).first()
    if demo_user is None:
        demo_user = user_model(username=DEMO_ACCOUNT, email="demo@example.com")
        demo_user.set_password(DEMO_ACCOUNT)
        demo_user.full_clean()
        demo_user.save()
    Preferences.objects.get_or_create(user=demo_user)
    unusable = make_password(None)  # one hash for all: shoppers cannot log in
    shoppers = [
        user_model(
            username=user.username,
            email=f"{user.username}@example.com",
            password=unusable,
            date_joined=dt.datetime.fromtimestamp(user.joined_at, tz=dt.UTC),
        )
        for user in shop.users
        if user.index != demo_index
    ]
    user_model.objects.bulk_create(shoppers, batch_size=WRITE_BATCH)
    by_name = dict(user_model.objects.filter(username__startswith=DEMO_USERNAME_PREFIX).values_list("username", "pk"))
    Preferences.objects.bulk_create([Preferences(user_id=by_name[user.username]) for user in shoppers], batch_size=WRITE_BATCH)
    return [demo_user.pk if user.index == demo_index else by_name[user.username] for user in shop.users]


def _event_rows(*, shop: SimulatedShop, item_ids: list[int], user_ids: list[int]) -> Iterator[list[Event]]:
    """Event rows in chunks; the simulator's user and item ids are indices, its codes index its name tuples."""
    events = shop.events
    event_types, devices = events.event_types, events.devices
    prefix = f"{DEMO_EVENT_PREFIX}{shop.seed}-"
    for start in range(0, len(events), EVENT_CHUNK):
        stop = min(start + EVENT_CHUNK, len(events))
        users = events.user_ids[start:stop].tolist()
        items = events.item_ids[start:stop].tolist()
        types = events.event_type_codes[start:stop].tolist()
        chunk_values = events.values[start:stop]
        # The simulator rates in stars (1-5); the shop's rating scale is the API's 0-10.
        is_rating = events.event_type_codes[start:stop] == event_types.index("rating")
        values = np.where(is_rating, chunk_values * RATING_SCALE_FROM_STARS, chunk_values).tolist()
        stamps = events.timestamps[start:stop].tolist()
        device_codes = events.device_codes[start:stop].tolist()
        hours = events.local_hours[start:stop].tolist()
        yield [
            Event(
                client_event_id=f"{prefix}{start + offset}",
                user_id=user_ids[users[offset]],
                item_id=item_ids[items[offset]],
                event_type=event_types[types[offset]],
                value=None if math.isnan(values[offset]) else values[offset],
                context={"device": devices[device_codes[offset]], "local_hour": hours[offset]},
                timestamp=dt.datetime.fromtimestamp(stamps[offset], tz=dt.UTC),
            )
            for offset in range(stop - start)
        ]


def _events_write(*, shop: SimulatedShop, item_ids: list[int], user_ids: list[int]) -> int:
    written = 0
    for chunk in _event_rows(shop=shop, item_ids=item_ids, user_ids=user_ids):
        Event.objects.bulk_create(chunk, batch_size=WRITE_BATCH)
        written += len(chunk)
    return written
