"""Swipe mode in a real browser: like / skip by button, arrow keys and a touch-style drag; every decision is an
event at once and the next cards follow the likes."""
import re

import pytest

from tests.browser.conftest import CHROMIUM, SKIP_REASON
from tests.browser.recs_helpers import expect, member, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)]


def current(page) -> tuple[int, str]:
    card = page.locator("#swipe-card")
    expect(card).to_be_visible()
    return int(card.get_attribute("data-item-id")), card.locator(".card-category").text_content()


def decide_and_wait(page, action) -> None:
    before = page.locator("#swipe-card").get_attribute("data-item-id")
    action()
    expect(page.locator("#swipe-card")).not_to_have_attribute("data-item-id", before)
    expect(page.locator("#swipe")).to_have_attribute("aria-busy", "false")


def test_buttons_keys_and_drag_record_events_and_likes_shape_the_next_cards(page, live_server, catalog, screenshot):
    from recommendations.models import Event, EventType

    user = member()
    sign_in(page, live_server, user)
    page.goto("/swipe/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Swipe mode")
    expect(page.locator("#swipe-card .swipe-why-text")).not_to_be_empty()
    screenshot(page, "swipe")

    decisions: list[tuple[int, str]] = []
    reasons: list[str] = []
    liked_category = None
    for step in range(6):
        item, category = current(page)
        reasons.append(page.locator("#swipe-card .swipe-why-text").text_content())
        if liked_category is None:
            liked_category = category
        if category == liked_category:
            how = ("button", "key", "drag")[step % 3]
            if how == "button":
                decide_and_wait(page, lambda: page.get_by_role("button", name="Like").click())
            elif how == "key":
                decide_and_wait(page, lambda: page.keyboard.press("ArrowRight"))
            else:
                box = page.locator("#swipe-card").bounding_box()
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3

                def drag(x=x, y=y):
                    page.mouse.move(x, y)
                    page.mouse.down()
                    for dx in (40, 90, 160, 220):
                        page.mouse.move(x + dx, y + 5)
                    page.mouse.up()

                decide_and_wait(page, drag)
            decisions.append((item, "like"))
        else:
            decide_and_wait(page, lambda step=step: page.keyboard.press("ArrowLeft") if step % 2 else page.get_by_role("button", name="Skip").click())
            decisions.append((item, "skip"))

    stored = list(Event.objects.filter(user=user, event_type__in=[EventType.LIKE, EventType.SKIP]).order_by("id").values_list("item_id", "event_type"))
    assert stored == decisions
    assert all(Event.objects.get(user=user, item_id=item).context["surface"] == "swipe" for item, _ in decisions)
    # The likes shaped the cards: after the first like, most cards come from the liked category, citing the likes.
    assert sum(1 for _, decision in decisions if decision == "like") >= 4, decisions
    assert any(reason.startswith("Because you liked") for reason in reasons[1:]), reasons
    expect(page.locator("#swipe-tally")).to_contain_text(re.compile(r"\d+ liked, \d+ skipped"))
    screenshot(page, "swipe-after")


def test_swipe_on_a_phone(mobile_page, live_server, catalog, screenshot):
    page = mobile_page
    sign_in(page, live_server, member("phone"))
    page.goto("/swipe/")
    card = page.locator("#swipe-card")
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0
    like = page.get_by_role("button", name="Like").bounding_box()
    assert like["y"] + like["height"] <= 844 * 1.5  # the buttons are reachable without much scrolling
    screenshot(page, "swipe-mobile")
    page.goto("/")  # the feed on a phone: two columns, actions reachable
    boxes = [card.bounding_box() for card in page.locator("#for-you .feed-card").all()[:2]]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] > boxes[0]["x"] and boxes[1]["x"] + boxes[1]["width"] <= 390
    screenshot(page, "feed-mobile", full_page=False)
