"""Catalog pages with recommendations (recommendations.shop.pages) through Django's test client: the site layout,
home, category and item pages (status codes, content, filters, sorting, pagination, 404s)."""
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from recommendations.models import EventType
from tests.catalog.support import category_tree, listing_ids
from tests.factories import EventFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return category_tree()


def add_events(item, count: int, event_type=EventType.VIEW):
    """``count`` events by ``count`` people (popularity counts one person's repeats once)."""
    for _ in range(count):
        EventFactory(user=UserFactory(), item=item, event_type=event_type)


# ---- Layout (base.html) ---------------------------------------------------------------------------------------
class TestLayout:
    def test_header_has_category_menu_search_and_auth_links(self, client, tree):
        response = client.get(reverse("home"))
        html = response.content.decode()
        assert response.status_code == 200
        assert 'href="/c/electronics/"' in html and 'href="/c/garden/"' in html
        assert 'href="/c/phones/"' not in html.split("</header>")[0]  # only top-level categories in the menu
        assert 'role="search"' in html and 'name="q"' in html and '<label for="search-q"' in html
        assert 'href="/accounts/login/"' in html and 'href="/accounts/signup/"' in html
        assert "Log out" not in html

    def test_footer_links_to_api_docs_and_schema(self, client, db):
        html = client.get(reverse("home")).content.decode()
        footer = html.split('<footer class="site-footer">')[1]
        assert 'href="/api/docs/"' in footer and 'href="/api/schema/"' in footer

    def test_landmarks_and_skip_link(self, client, db):
        html = client.get(reverse("home")).content.decode()
        for landmark in ('<header class="site-header">', '<main id="main"', "<footer", '<nav id="site-menu"'):
            assert landmark in html
        assert 'href="#main"' in html

    def test_logged_in_user_sees_name_and_post_logout_form(self, client, db):
        user = UserFactory(username="ada")
        client.force_login(user)
        html = client.get(reverse("home")).content.decode()
        assert "ada" in html
        assert re.search(r'<form class="logout-form" method="post" action="/accounts/logout/">', html)
        assert 'href="/admin/"' not in html
        assert 'href="/accounts/login/' not in html

    def test_staff_sees_admin_link(self, client, db):
        client.force_login(UserFactory(is_staff=True))
        assert 'href="/admin/"' in client.get(reverse("home")).content.decode()

    def test_no_external_assets(self, client, tree):
        ItemFactory(category=tree["garden"])
        html = client.get(reverse("home")).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html.replace('href="http://testserver', ""))


# ---- Home ------------------------------------------------------------------------------------------------------
class TestHome:
    def test_popular_now_is_ordered_by_decayed_popularity(self, client, tree):
        quiet = ItemFactory(category=tree["garden"], title="Quiet rake")
        hot = ItemFactory(category=tree["android"], title="Hot phone")
        warm = ItemFactory(category=tree["garden"], title="Warm hose")
        add_events(hot, 5, EventType.PURCHASE)
        add_events(warm, 3)
        add_events(quiet, 1)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert listing_ids(response, "popular-now")[:3] == [hot.pk, warm.pk, quiet.pk]
        assert "Popular now" in response.content.decode()

    def test_popular_now_skips_unavailable_items(self, client, tree):
        gone = ItemFactory(category=tree["garden"], in_stock=False)
        hidden = ItemFactory(category=tree["garden"], is_active=False)
        shown = ItemFactory(category=tree["garden"])
        for item in (gone, hidden, shown):
            add_events(item, 4)
        ids = listing_ids(client.get(reverse("home")), "popular-now")
        assert shown.pk in ids and gone.pk not in ids and hidden.pk not in ids

    def test_card_shows_title_category_price_stock_and_placeholder(self, client, tree):
        ItemFactory(category=tree["garden"], title="Watering can", price=Decimal("1234.5"))
        html = client.get(reverse("home")).content.decode()
        card = html[html.index('<article class="card"'):]
        card = card[: card.index("</article>")]
        assert "Watering can" in card and "Garden" in card and "$1,234.50" in card and "In stock" in card
        assert 'class="placeholder"' in card and "<span>G</span>" in card and "<img" not in card

    def test_card_uses_image_url_when_present(self, client, tree):
        ItemFactory(category=tree["garden"], image_url="https://img.example.com/rake.jpg")
        html = client.get(reverse("home")).content.decode()
        assert '<img src="https://img.example.com/rake.jpg"' in html

    def test_browse_categories_strip_counts_items_in_subtrees(self, client, tree):
        ItemFactory.create_batch(2, category=tree["android"])
        ItemFactory(category=tree["electronics"])
        ItemFactory(category=tree["electronics"], is_active=False)
        html = client.get(reverse("home")).content.decode()
        strip = html[html.index('id="browse-categories"'):]
        assert "Electronics" in strip and "3 items" in strip
        assert "Garden" in strip and "0 items" in strip
        assert "Phones" not in strip  # top level only

    def test_empty_shop(self, client, db):
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert "No items yet" in response.content.decode()


# ---- Category page -----------------------------------------------------------------------------------------------
class TestCategory:
    @pytest.fixture
    def priced(self, tree):
        return [
            ItemFactory(category=tree["phones"], title="Bravo", price=Decimal("30.00")),
            ItemFactory(category=tree["android"], title="Alpha", price=Decimal("10.00")),
            ItemFactory(category=tree["phones"], title="Charlie", price=Decimal("20.00"), in_stock=False),
        ]

    def test_unknown_category_is_404(self, client, db):
        assert client.get("/c/nope/").status_code == 404

    def test_breadcrumb_subcategories_and_descendant_items(self, client, tree, priced):
        ItemFactory(category=tree["garden"], title="Shovel")
        response = client.get(reverse("category-detail", args=["phones"]))
        html = response.content.decode()
        assert response.status_code == 200
        crumbs = html[html.index('aria-label="Breadcrumb"'):]
        crumbs = crumbs[: crumbs.index("</nav>")]
        assert crumbs.index("Home") < crumbs.index("Electronics") < crumbs.index("Phones")
        assert 'href="/c/electronics/"' in crumbs and 'aria-current="page">Phones' in crumbs
        assert 'href="/c/android/"' in html  # subcategory link
        assert set(listing_ids(response, "category-items")) == {item.pk for item in priced}
        assert "Shovel" not in html
        assert 'href="/c/electronics/" aria-current="true"' in html  # top menu marks the section

    def test_category_by_numeric_id_works(self, client, tree, priced):
        assert client.get(f"/c/{tree['phones'].pk}/").status_code == 200

    @pytest.mark.parametrize(
        ("sort", "expected_titles"),
        [
            ("price", ["Alpha", "Charlie", "Bravo"]),
            ("-price", ["Bravo", "Charlie", "Alpha"]),
            ("title", ["Alpha", "Bravo", "Charlie"]),
            ("newest", ["Charlie", "Alpha", "Bravo"]),
            ("bogus", ["Charlie", "Alpha", "Bravo"]),
        ],
    )
    def test_sort_changes_order(self, client, priced, sort, expected_titles):
        by_title = {item.title: item.pk for item in priced}
        response = client.get(reverse("category-detail", args=["phones"]), {"sort": sort})
        assert response.status_code == 200
        assert listing_ids(response, "category-items") == [by_title[title] for title in expected_titles]

    def test_selected_sort_is_kept_in_the_form(self, client, priced):
        html = client.get(reverse("category-detail", args=["phones"]), {"sort": "-price"}).content.decode()
        assert '<option value="-price" selected>' in html

    def test_in_stock_filter(self, client, priced):
        response = client.get(reverse("category-detail", args=["phones"]), {"in_stock": "on"})
        titles = {item.pk: item.title for item in priced}
        assert sorted(titles[pk] for pk in listing_ids(response, "category-items")) == ["Alpha", "Bravo"]
        assert 'name="in_stock" id="id_in_stock" checked' in response.content.decode()

    def test_price_range_filter(self, client, priced):
        response = client.get(
            reverse("category-detail", args=["phones"]), {"min_price": "15", "max_price": "25", "sort": "price"}
        )
        assert listing_ids(response, "category-items") == [priced[2].pk]

    def test_invalid_price_is_ignored_and_reported(self, client, priced):
        response = client.get(reverse("category-detail", args=["phones"]), {"min_price": "abc"})
        assert response.status_code == 200
        assert len(listing_ids(response, "category-items")) == 3
        assert "Enter a number." in response.content.decode()

    def test_min_above_max_is_reported(self, client, priced):
        response = client.get(reverse("category-detail", args=["phones"]), {"min_price": "25", "max_price": "5"})
        assert "Max price must not be below min price." in response.content.decode()
        assert set(listing_ids(response, "category-items")) == {priced[0].pk}  # only min applies

    def test_no_match_offers_to_clear_filters(self, client, priced):
        html = client.get(reverse("category-detail", args=["phones"]), {"min_price": "999"}).content.decode()
        assert "No items match these filters" in html

    def test_pagination_keeps_query_string(self, client, tree):
        for n in range(30):
            ItemFactory(category=tree["garden"], price=Decimal(n + 1), title=f"Pot {n:02d}")
        url = reverse("category-detail", args=["garden"])
        first = client.get(url, {"sort": "price", "in_stock": "on"})
        html = first.content.decode()
        assert len(listing_ids(first, "category-items")) == 24
        assert "?sort=price&amp;in_stock=on&amp;page=2" in html
        assert "30 items · page 1 of 2" in html
        second = client.get(url, {"sort": "price", "in_stock": "on", "page": 2})
        prices = [
            str(item.price)
            for item in sorted(tree["garden"].items.all(), key=lambda item: item.price)[24:]
        ]
        assert len(listing_ids(second, "category-items")) == 6
        assert listing_ids(second, "category-items") == list(
            tree["garden"].items.filter(price__in=prices).order_by("price").values_list("pk", flat=True)
        )
        assert 'aria-current="page"><span class="visually-hidden">Page </span>2' in second.content.decode()
        # Out-of-range page numbers fall back to the last page instead of failing.
        assert client.get(url, {"page": 99}).status_code == 200

    def test_popular_in_category_covers_subcategories_only(self, client, tree):
        phone = ItemFactory(category=tree["android"], title="Pixel")
        other = ItemFactory(category=tree["phones"], title="Brick")
        outside = ItemFactory(category=tree["garden"], title="Rake")
        add_events(phone, 5)
        add_events(other, 2)
        add_events(outside, 9)
        response = client.get(reverse("category-detail", args=["electronics"]))
        assert "Popular in Electronics" in response.content.decode()
        assert listing_ids(response, "popular-in-category") == [phone.pk, other.pk]


# ---- Item page ---------------------------------------------------------------------------------------------------
class TestItem:
    def test_details(self, client, tree):
        item = ItemFactory(
            category=tree["android"],
            title="Pixel 9",
            description="A phone.\n\nWith a camera.",
            price=Decimal("799.00"),
            tags=["5g", "oled"],
            attributes={"screen_size": "6.3 in", "colours": ["black", "rose"], "dual_sim": True},
            sku="PX-9",
        )
        response = client.get(item.get_absolute_url())
        html = response.content.decode()
        assert response.status_code == 200
        assert "<h1 class=\"item-title\">Pixel 9</h1>" in html
        assert "$799.00" in html and "In stock" in html
        assert "<p>A phone.</p>" in html and "With a camera." in html
        assert '<li class="tag">5g</li>' in html and '<li class="tag">oled</li>' in html
        assert '<th scope="row">Screen size</th><td>6.3 in</td>' in html
        assert '<th scope="row">Colours</th><td>black, rose</td>' in html
        assert '<th scope="row">Dual sim</th><td>Yes</td>' in html
        assert "PX-9" in html
        crumbs = html[html.index('aria-label="Breadcrumb"'):]
        crumbs = crumbs[: crumbs.index("</nav>")]
        assert crumbs.index("Electronics") < crumbs.index("Phones") < crumbs.index("Android") < crumbs.index("Pixel 9")

    def test_out_of_stock_item_is_shown_as_such(self, client, tree):
        item = ItemFactory(category=tree["garden"], in_stock=False)
        html = client.get(item.get_absolute_url()).content.decode()
        assert "Out of stock" in html

    def test_unknown_item_is_404(self, client, db):
        response = client.get("/items/999999/")
        assert response.status_code == 404
        assert "We couldn't find that page" in response.content.decode()  # templates/404.html, site layout
        assert 'role="search"' in response.content.decode()

    def test_inactive_item_is_404(self, client, tree):
        item = ItemFactory(category=tree["garden"], is_active=False)
        assert client.get(item.get_absolute_url()).status_code == 404


