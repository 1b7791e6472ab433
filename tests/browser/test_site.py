"""The site in a real browser: sign up, browse, sort, item page, search, keyboard use, mobile menu.

Screenshots of each page go to test-artifacts/screenshots/ for a human look.
"""
import re
from decimal import Decimal

import pytest

from tests.browser.conftest import CHROMIUM, SKIP_REASON

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)]


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def card_prices(page, container: str) -> list[Decimal]:
    texts = page.locator(f"{container} .card .price").all_inner_texts()
    return [Decimal(re.sub(r"[^\d.]", "", text)) for text in texts]


def test_sign_up_lands_logged_in_on_onboarding_after_the_popular_home(page, shop, screenshot):
    page.goto("/")
    cards = page.locator("#popular-now .card")
    expect(cards.first).to_be_visible()
    # The most-clicked items lead the "Popular now" grid, out-of-stock ones are left out.
    titles = cards.locator(".card-title").all_inner_texts()
    assert titles[:3] == ["Noise-cancelling headphones", "Pixel 9 smartphone", "Copper watering can"]
    assert "Nokia 3310 reissue" not in titles
    screenshot(page, "home")

    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    screenshot(page, "signup")
    page.get_by_label("Username").fill("margaret")
    page.get_by_label("Email (optional)").fill("margaret@example.com")
    page.get_by_label("Password", exact=True).fill("Apollo-11-guidance")
    page.get_by_label("Password confirmation").fill("Apollo-11-guidance")
    page.get_by_role("button", name="Create account").click()

    # New accounts start with onboarding (#7: cold start), signed in.
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    expect(page.locator(".account-username")).to_have_text("margaret")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Vitrine, margaret!")

    from users.models import Preferences

    assert Preferences.objects.filter(user__username="margaret").exists()


def test_browse_category_and_sort_by_price(page, shop, screenshot):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Electronics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Electronics")
    expect(page.get_by_role("navigation", name="Subcategories of Electronics").get_by_role("link")).to_have_count(3)
    newest = card_prices(page, "#category-items")
    assert len(newest) == 8

    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sort=price"))
    ascending = card_prices(page, "#category-items")
    assert ascending == sorted(newest) and ascending != newest

    page.get_by_label("Sort by").select_option("-price")
    page.get_by_label("In stock only").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sort=-price.*in_stock=on"))  # the new page, not the edited old one
    expect(page.get_by_label("In stock only")).to_be_checked()
    descending = card_prices(page, "#category-items")
    assert descending == sorted(descending, reverse=True) and len(descending) == 6
    expect(page.locator("#popular-in-category .card").first).to_be_visible()
    page.get_by_label("Sort by").select_option("price")
    page.get_by_label("In stock only").uncheck()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"\?sort=price$"))  # empty price fields are left out
    screenshot(page, "category")


def test_open_an_item_page(page, shop, screenshot):
    page.goto("/c/phones/")
    page.locator("#category-items .card", has_text="Pixel 9 smartphone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pixel 9 smartphone")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs).to_contain_text("Electronics")
    expect(crumbs).to_contain_text("Phones")
    expect(page.locator(".item-info .price")).to_have_text("$799.00")
    expect(page.locator(".attributes")).to_contain_text("Screen size")
    expect(page.locator(".tags")).to_contain_text("oled")
    expect(page.locator(".item-info .badge")).to_have_text("In stock")
    screenshot(page, "item")
    crumbs.get_by_role("link", name="Phones").click()
    expect(page).to_have_url(re.compile(r"/c/phones/$"))


def test_search_finds_an_item_by_a_title_word(page, shop, screenshot):
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search products").first
    box.fill("watering")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=watering$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “watering”")
    expect(page.locator("#search-results .card")).to_have_count(1)
    expect(page.locator("#search-results .card-title")).to_have_text("Copper watering can")
    screenshot(page, "search")

    page.goto("/search/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect(page.locator(".card")).to_have_count(0)
    expect(page.get_by_role("searchbox", name="Search products").last).to_be_focused()
    screenshot(page, "search-empty")


def _focused(page) -> dict:
    return page.evaluate(
        """() => { const el = document.activeElement; const style = getComputedStyle(el);
                   return {id: el.id, tag: el.tagName, text: (el.innerText || '').trim(), href: el.getAttribute('href'),
                           nav: !!el.closest('#site-menu'), outline: style.outlineStyle, outlineWidth: style.outlineWidth}; }"""
    )


def test_keyboard_reaches_search_box_and_menu_links(page, shop, screenshot):
    page.goto("/")
    page.keyboard.press("Tab")
    first = _focused(page)
    assert first["text"] == "Skip to content"
    assert first["outline"] != "none"

    seen = []
    for _ in range(25):
        page.keyboard.press("Tab")
        seen.append(_focused(page))
    ids = [entry["id"] for entry in seen]
    assert "search-q" in ids
    menu_links = [entry for entry in seen if entry["nav"]]
    assert {"Home", "Electronics", "Books"} <= {entry["text"] for entry in menu_links}
    assert ids.index("search-q") < seen.index(menu_links[0])  # search comes before the menu in tab order
    # Every keyboard-focused control shows a visible focus ring.
    search_focus = seen[ids.index("search-q")]
    assert search_focus["outline"] != "none" and search_focus["outlineWidth"] != "0px"

    # Tab on into the product grid: a card shows a focus ring around the whole card.
    for _ in range(40):
        if _focused(page)["href"] and "/items/" in _focused(page)["href"]:
            break
        page.keyboard.press("Tab")
    assert "/items/" in (_focused(page)["href"] or "")
    screenshot(page, "keyboard-focus", full_page=False)

    # Enter on a focused menu link follows it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Books").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Books")

    # The skip link moves focus to the main content.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_mobile_menu_toggles_and_closes_with_escape(mobile_page, shop, screenshot):
    page = mobile_page
    page.goto("/")
    menu = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    screenshot(page, "home-mobile")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Books")).to_be_visible()
    screenshot(page, "home-mobile-menu", full_page=False)
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_be_focused()
    # Cards stay in a two-column grid on a phone.
    boxes = [card.bounding_box() for card in page.locator("#popular-now .card").all()[:2]]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] > boxes[0]["x"]
    page.goto("/c/electronics/")
    screenshot(page, "category-mobile")
