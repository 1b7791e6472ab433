"""``seed_demo`` / ``demo.services``: writes the simulated shop, idempotently and deterministically."""
import datetime as dt
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from catalog.models import Category, Item
from demo.services import demo_reset, demo_seed
from recommendations.models import Event
from tests.factories import EventFactory, ItemFactory
from users.models import Preferences

END = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SMALL = {"n_users": 40, "n_items": 120, "n_events": 3000, "end": END}

pytestmark = pytest.mark.django_db


def _event_rows() -> list[tuple]:
    return list(
        Event.objects.order_by("client_event_id").values_list(
            "client_event_id", "user__username", "item__sku", "event_type", "value", "context", "timestamp"
        )
    )


def test_seed_writes_the_shop_and_the_accounts():
    result = demo_seed(seed=3, **SMALL)
    assert not result.already_seeded
    assert (result.items, result.users, result.events) == (120, 40, 3000)
    assert Item.objects.filter(sku__startswith="DEMO-").count() == 120
    assert Event.objects.count() == 3000
    assert Category.objects.filter(parent__isnull=True).count() >= 12
    assert Category.objects.filter(parent__isnull=False).count() >= 36
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin")
    demo = user_model.objects.get(username="demo")
    assert demo.check_password("demo") and not demo.is_staff
    assert Event.objects.filter(user=demo).count() > 0, "the demo account is one of the simulated shoppers"
    shopper = user_model.objects.filter(username__startswith="shopper_").first()
    assert not shopper.has_usable_password()
    assert Preferences.objects.count() == user_model.objects.count()  # admin, demo and every shopper
    event = Event.objects.get(client_event_id="demo-3-0")
    assert set(event.context) == {"device", "local_hour"} and 0 <= event.context["local_hour"] <= 23
    assert Event.objects.latest("timestamp").timestamp <= END
    assert not Item.objects.exclude(image_url="").exists()  # no external images
    assert Event.objects.filter(event_type="rating", value__isnull=True).count() == 0


def test_second_run_without_reset_changes_nothing():
    demo_seed(seed=3, **SMALL)
    before = (Item.objects.count(), Event.objects.count(), get_user_model().objects.count())
    again = demo_seed(seed=3, **SMALL)
    assert again.already_seeded
    assert (Item.objects.count(), Event.objects.count(), get_user_model().objects.count()) == before


def test_same_seed_writes_identical_rows_after_reset():
    demo_seed(seed=11, **SMALL)
    first = _event_rows()
    items = list(Item.objects.order_by("sku").values_list("sku", "title", "price", "tags", "attributes", "in_stock", "is_active"))
    demo_seed(seed=11, reset=True, **SMALL)
    assert _event_rows() == first
    assert list(Item.objects.order_by("sku").values_list("sku", "title", "price", "tags", "attributes", "in_stock", "is_active")) == items
    demo_seed(seed=12, reset=True, **SMALL)
    assert _event_rows() != first


def test_reset_removes_only_demo_data():
    own_category = Category.objects.create(name="Books", slug="books")  # same slug as a demo category
    own_item = ItemFactory(category=own_category)
    own_event = EventFactory(item=own_item)
    demo_seed(seed=3, **SMALL)
    counts = demo_reset()
    assert counts["events"] >= 3000
    assert not Item.objects.filter(sku__startswith="DEMO-").exists()
    assert not get_user_model().objects.filter(username__startswith="shopper_").exists()
    assert Event.objects.filter(pk=own_event.pk).exists() and Item.objects.filter(pk=own_item.pk).exists()
    assert Category.objects.filter(slug="books").exists()  # still holds our item
    assert not Category.objects.filter(slug="electronics").exists()
    assert get_user_model().objects.filter(username__in=["admin", "demo"]).count() == 2


def test_command_seeds_then_says_already_seeded():
    out, err = io.StringIO(), io.StringIO()
    args = ["--seed", "5", "--users", "30", "--items", "80", "--events", "1500", "--end", "2026-05-01T12:00:00Z"]
    call_command("seed_demo", *args, stdout=out, stderr=err)
    assert "Seeded" in out.getvalue() and "1500 events" in out.getvalue()
    assert "admin / admin" in err.getvalue() and "local demos only" in err.getvalue()
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    assert "already seeded" in out.getvalue()
    assert Event.objects.count() == 1500
    out = io.StringIO()
    call_command("seed_demo", *args, "--reset", stdout=out, stderr=io.StringIO())
    assert "Seeded" in out.getvalue() and Event.objects.count() == 1500


def test_command_rejects_bad_arguments():
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--end", "yesterday", stdout=io.StringIO())
    assert error.value.returncode == 2
    with pytest.raises(CommandError):
        call_command("seed_demo", "--events", "0", stdout=io.StringIO())


def test_default_size_is_fast():
    """The default demo (2,000 items, 1,000 users, 100,000 events) must be well under a minute."""
    started = time.perf_counter()
    result = demo_seed(seed=42, end=END)
    elapsed = time.perf_counter() - started
    assert (result.items, result.users, result.events) == (2000, 1000, 100_000)
    assert elapsed < 60, f"seeding took {elapsed:.1f}s"
