"""Browser-test fixtures: Debian's Chromium driven by Playwright's sync API against pytest-django's live server.

Playwright's own browser downloads are never used: the tests run only with ``/usr/bin/chromium``
(``apt-get install chromium``) and are skipped, with the reason shown, when it is missing.
"""
import os
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SKIP_REASON = (
    f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); "
    "Playwright's bundled browsers are deliberately not used"
)
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse the ORM calls
    # that test bodies, data fixtures and database teardown make here as "async-unsafe". Allow them while the
    # browser is up (one module at a time) and put the setting back afterwards, so the rest of a test run
    # keeps Django's check.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


def _new_page(browser, live_server, viewport: dict) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport=viewport, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    # Every page runs under the Content-Security-Policy: anything it blocks (an inline script or style, a CDN)
    # is a console error that names the policy.
    violations: list[str] = []
    page.on("console", lambda message: _csp_violation_note(message, violations))
    page.csp_violations = violations
    yield page
    _quiesce(page)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"


def _csp_violation_note(message, violations: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        violations.append(f"{message.location.get('url', '?')}: {message.text}")


def _quiesce(page) -> None:
    """Let the page's last requests finish before the database is flushed.

    Leaving a page fires its pagehide handlers (batched events, dwell beacons); a request still being served
    by the live server while pytest-django flushes the database locks SQLite and the flush fails. So: leave
    the page, refuse anything it sends afterwards, and wait until the network is idle.
    """
    try:
        page.goto("about:blank", wait_until="load", timeout=5_000)
        page.context.route("**/*", lambda route: route.abort())
        page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:
        pass
    time.sleep(0.3)  # the server thread closes its DB connection just after the response is sent


@pytest.fixture
def page(browser, live_server, transactional_db):
    """A fresh desktop-sized browser tab (own cookies) whose relative URLs go to the live server."""
    yield from _new_page(browser, live_server, DESKTOP)


@pytest.fixture
def mobile_page(browser, live_server, transactional_db):
    yield from _new_page(browser, live_server, MOBILE)


@pytest.fixture
def screenshot() -> Callable:
    """``screenshot(page, "home")`` saves test-artifacts/screenshots/home.png (full page)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return save


SHOP = {
    # category: (parent, [(title, price, in_stock, tags, attributes), ...])
    "Electronics": (None, []),
    "Phones": ("Electronics", [
        ("Pixel 9 smartphone", "799.00", True, ["5g", "oled"], {"screen_size": "6.3 in", "storage": "128 GB", "dual_sim": True}),
        ("Fairphone 5", "699.00", True, ["repairable"], {"screen_size": "6.46 in", "storage": "256 GB"}),
        ("Nokia 3310 reissue", "59.90", False, ["classic"], {"battery": "1200 mAh"}),
    ]),
    "Audio": ("Electronics", [
        ("Noise-cancelling headphones", "249.00", True, ["wireless", "anc"], {"colours": ["black", "silver"], "battery_life": "30 h"}),
        ("Bookshelf speakers", "189.50", True, ["hifi"], {"power": "2 x 40 W"}),
        ("Wireless earbuds", "99.00", True, ["wireless"], {"colours": ["white"], "battery_life": "6 h"}),
    ]),
    "Laptops": ("Electronics", [
        ("Ultralight 13\" laptop", "1299.00", True, ["ultrabook"], {"ram": "16 GB", "weight": "1.1 kg"}),
        ("Developer laptop 16\"", "2199.00", False, ["linux"], {"ram": "32 GB", "weight": "2.0 kg"}),
    ]),
    "Home & Garden": (None, [
        ("Copper watering can", "34.00", True, ["garden"], {"capacity": "5 l"}),
        ("Cast iron skillet", "45.00", True, ["kitchen"], {"diameter": "26 cm"}),
        ("Linen cushion cover", "19.50", True, ["textile"], {"colours": ["sand", "sage"]}),
        ("Ceramic plant pot", "24.90", False, ["garden"], {"diameter": "18 cm"}),
    ]),
    "Books": (None, [
        ("The Pragmatic Programmer", "42.00", True, ["software"], {"pages": 352, "format": "Hardcover"}),
        ("Recommender Systems Handbook", "89.00", True, ["ml"], {"pages": 1003}),
        ("A Field Guide to Birds", "27.50", True, ["nature"], {"pages": 544}),
    ]),
    "Sports": (None, [
        ("Trail running shoes", "129.00", True, ["running"], {"sizes": [40, 41, 42, 43, 44]}),
        ("Yoga mat", "29.00", True, ["yoga"], {"thickness": "6 mm"}),
    ]),
}


@pytest.fixture
def shop(transactional_db) -> dict:
    """A small realistic catalog with recent events, so "Popular now" is a real ranking."""
    from django.utils.text import slugify

    from recommendations.models import EventType
    from tests.factories import CategoryFactory, EventFactory, ItemFactory, UserFactory

    categories, items = {}, {}
    for name, (parent, _) in SHOP.items():
        categories[name] = CategoryFactory(
            name=name, slug=slugify(name), parent=categories.get(parent), description=f"Hand-picked {name.lower()}."
        )
    for name, (_, rows) in SHOP.items():
        for title, price, in_stock, tags, attributes in rows:
            items[title] = ItemFactory(
                title=title, category=categories[name], price=Decimal(price), in_stock=in_stock, tags=tags,
                attributes=attributes, description=f"{title}: a customer favourite, carefully made and built to last.",
            )
    # Popularity counts each shopper once per item and day, so "popular" means clicked by that many people.
    shoppers = UserFactory.create_batch(9)
    popularity = {"Noise-cancelling headphones": 9, "Pixel 9 smartphone": 7, "Copper watering can": 5,
                  "The Pragmatic Programmer": 4, "Trail running shoes": 3, "Wireless earbuds": 2}
    for title, count in popularity.items():
        for shopper in shoppers[:count]:
            EventFactory(user=shopper, item=items[title], event_type=EventType.CLICK)
    return {"categories": categories, "items": items}


CATEGORIES = {
    # name: (item nouns, tags)
    "Books": (["novel", "atlas", "cookbook", "memoir", "anthology", "guide"], ["reading"]),
    "Garden": (["watering can", "trowel", "planter", "seed kit", "hose", "pruner"], ["garden"]),
    "Music": (["vinyl record", "guitar strings", "ukulele", "songbook", "metronome", "capo"], ["music"]),
    "Sports": (["yoga mat", "running shoes", "kettlebell", "jump rope", "water bottle", "headband"], ["sport"]),
    "Kitchen": (["skillet", "knife", "teapot", "cutting board", "whisk", "colander"], ["kitchen"]),
}
ADJECTIVES = ["Classic", "Modern"]


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
