"""Shared pieces of the recommendation browser tests (feed, swipe, account): a catalog big enough for several
feed pages, signing a user in by cookie, reading the feed's cards."""
import json
from pathlib import Path

TIMINGS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "timings"
PASSWORD = "pass-word-123"


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


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
