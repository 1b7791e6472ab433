"""Shared pieces of the recommendation browser tests (feed, swipe, account): a catalog big enough for several
feed pages, signing a user in by cookie, reading the feed's cards."""
import json
from decimal import Decimal
from pathlib import Path

import pytest

TIMINGS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "timings"
CATEGORIES = {
    # name: (item nouns, tags)
    "Books": (["novel", "atlas", "cookbook", "memoir", "anthology", "guide"], ["reading"]),
    "Garden": (["watering can", "trowel", "planter", "seed kit", "hose", "pruner"], ["garden"]),
    "Music": (["vinyl record", "guitar strings", "ukulele", "songbook", "metronome", "capo"], ["music"]),
    "Sports": (["yoga mat", "running shoes", "kettlebell", "jump rope", "water bottle", "headband"], ["sport"]),
    "Kitchen": (["skillet", "knife", "teapot", "cutting board", "whisk", "colander"], ["kitchen"]),
}
ADJECTIVES = ["Classic", "Modern"]
PASSWORD = "pass-word-123"


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def catalog(transactional_db) -> dict:
    """5 categories x 12 items (60), with popularity from other shoppers, so the feed has several pages."""
    from django.utils.text import slugify

    from recommendations.models import EventType
    from tests.factories import CategoryFactory, EventFactory, ItemFactory, UserFactory

    categories, items = {}, {}
    for name, (nouns, tags) in CATEGORIES.items():
        category = CategoryFactory(name=name, slug=slugify(name))
        categories[name] = category
        items[name] = [
            ItemFactory(title=f"{adjective} {noun}", category=category, price=Decimal(f"{10 + position * 3}.00"), tags=tags,
                        description=f"A {noun} for people who like {name.lower()}.")
            for position, (adjective, noun) in enumerate((a, n) for n in nouns for a in ADJECTIVES)
        ]
    crowd = UserFactory.create_batch(3)
    for shopper_index, shopper in enumerate(crowd):
        for name in CATEGORIES:
            for item in items[name][shopper_index : shopper_index + 4]:
                EventFactory(user=shopper, item=item, event_type=EventType.CLICK)
    return {"categories": categories, "items": items}


def sign_in(page, live_server, user) -> None:
    """Put a logged-in session cookie for ``user`` into the browser context (no login form round trip)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def member(username: str = "ada"):
    from tests.factories import UserFactory
    from users.models import Preferences

    user = UserFactory(username=username)
    Preferences.objects.get_or_create(user=user)
    return user


def feed_ids(page) -> list[int]:
    return [int(pk) for pk in page.locator("#for-you .feed-card").evaluate_all("cards => cards.map(c => c.dataset.itemId)")]


def feed_categories(page, *, first_page: bool = False) -> list[str]:
    """Category of each feed card; ``first_page``: only the server-rendered cards (not those loaded by scrolling)."""
    selector = "#for-you .feed-card:not(.is-new)" if first_page else "#for-you .feed-card"
    return page.locator(selector).evaluate_all("cards => cards.map(c => c.dataset.categoryName)")


def load_more_pages(page, pages: int) -> None:
    """Scroll to the bottom until ``pages`` more feed pages have been loaded (infinite scroll)."""
    start = int(page.locator("#for-you").get_attribute("data-pages") or "1")
    for target in range(start + 1, start + pages + 1):
        page.mouse.wheel(0, 20000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        if page.locator(".feed-end").count():
            return
        try:
            page.wait_for_function(
                "([t]) => Number(document.getElementById('for-you').dataset.pages) >= t || document.querySelector('.feed-end')",
                arg=[target],
            )
        except Exception:
            state = page.evaluate("() => ({pages: document.getElementById('for-you').dataset.pages, busy: document.getElementById('for-you').getAttribute('aria-busy'), status: document.getElementById('feed-status').textContent, more: !!document.getElementById('feed-more'), y: window.scrollY, h: document.body.scrollHeight})")
            raise AssertionError(f"feed page {target} did not load: {state}") from None


def save_timings(name: str, data: dict) -> None:
    TIMINGS_DIR.mkdir(parents=True, exist_ok=True)
    (TIMINGS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2))
    print(f"\n{name}: {json.dumps(data)}")
