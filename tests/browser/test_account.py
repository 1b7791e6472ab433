"""My data in a real browser: item page events and cart, history with delete per event, JSON export, account deletion."""
import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, SKIP_REASON
from tests.browser.recs_helpers import PASSWORD, expect, member, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)]


def test_item_page_cart_then_my_data_history_export_and_delete_account(page, live_server, catalog, screenshot):
    from recommendations.models import Event, EventType
    from users.models import Preferences, User

    user = member()
    sign_in(page, live_server, user)
    teapot = catalog["items"]["Kitchen"][4]

    # Item page: similar items with reasons; like and add to cart record events; the view is sent by events.js.
    page.goto(f"/items/{teapot.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(teapot.title)
    expect(page.locator("#similar-items .card").first).to_be_visible()
    expect(page.locator("#similar-items .card-reason").first).to_contain_text(teapot.title)
    page.get_by_role("button", name="Like").click()
    expect(page.locator(".like-toggle")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "item-with-similar")
    page.get_by_role("button", name="Buy now").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    screenshot(page, "cart")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    types = set(Event.objects.filter(user=user, item=teapot).values_list("event_type", flat=True))
    assert {EventType.VIEW, EventType.LIKE, EventType.ADD_TO_CART, EventType.PURCHASE} <= types  # view: batched by events.js
    view = Event.objects.get(user=user, item=teapot, event_type=EventType.VIEW)
    assert view.client_event_id.startswith("w-") and view.context["surface"] == "item" and 0 <= view.context["local_hour"] <= 23

    # My data lists it all; delete one event.
    page.get_by_role("link", name="My data").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My data")
    rows = page.locator(".history-table tbody tr")
    count = rows.count()
    assert count == Event.objects.filter(user=user).count() >= 4
    screenshot(page, "my-data")
    like_row = rows.filter(has_text="Like").first
    like_id = int(like_row.get_attribute("data-event-id"))
    like_row.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted")
    expect(rows).to_have_count(count - 1)
    assert not Event.objects.filter(pk=like_id).exists()

    # Export: a JSON download with the remaining events.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export my data (JSON)").click()
    download = download_info.value
    assert re.match(r"vitrine-data-ada-\d{8}\.json$", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["user"]["username"] == "ada" and len(data["events"]) == count - 1
    assert {event["event_type"] for event in data["events"]} >= {"view", "add_to_cart", "purchase"}

    # Delete the account: password first, then everything is gone and we are signed out.
    page.get_by_role("link", name="Delete my account…").click()
    page.get_by_label("Your password").fill("not-it")
    page.get_by_role("button", name="Delete my account and data").click()
    expect(page.locator(".field .errorlist")).to_contain_text("That is not your password.")
    page.get_by_label("Your password").fill(PASSWORD)
    screenshot(page, "account-delete")
    page.get_by_role("button", name="Delete my account and data").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("Your account and all its data are deleted")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Event.objects.filter(user_id=user.pk).exists() and not Preferences.objects.filter(user_id=user.pk).exists()
