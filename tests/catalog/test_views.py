"""Catalog pages through Django's test client: category index and search (status codes, content, relevance, pagination).

The pages with recommendations (home, category, item) are tested in tests/recommendations/shop/test_pages.py.
"""
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from catalog.selectors import item_list
from tests.catalog.support import category_tree, listing_ids
from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return category_tree()


# ---- Category index ----------------------------------------------------------------------------------------------
def test_category_index_lists_every_category(client, tree):
    html = client.get(reverse("category-index")).content.decode()
    for slug in ("electronics", "phones", "android", "garden"):
        assert f'href="/c/{slug}/"' in html
    assert "in Phones" in html  # children show their parent


# ---- Search ------------------------------------------------------------------------------------------------------
class TestSearch:
    def test_empty_query_shows_prompt(self, client, tree):
        ItemFactory(category=tree["garden"])
        response = client.get(reverse("search"))
        html = response.content.decode()
        assert response.status_code == 200
        assert "Type a word" in html and 'data-item-id="' not in html
        assert client.get(reverse("search"), {"q": "   "}).content.decode().count('data-item-id="') == 0

    def test_finds_items_by_title_word(self, client, tree):
        hit = ItemFactory(category=tree["garden"], title="Copper watering can")
        ItemFactory(category=tree["garden"], title="Steel rake")
        response = client.get(reverse("search"), {"q": "watering"})
        html = response.content.decode()
        assert listing_ids(response, "search-results") == [hit.pk]
        assert "Results for “watering”" in html and "1 item found" in html
        assert 'value="watering"' in html  # the header search box keeps the query

    def test_all_words_must_match(self, client, tree):
        both = ItemFactory(category=tree["garden"], title="Copper watering can")
        ItemFactory(category=tree["garden"], title="Copper kettle")
        response = client.get(reverse("search"), {"q": "  copper   CAN "})
        found = listing_ids(response, "search-results")
        assert found[0] == both.pk  # the item holding every word as typed comes first
        if connection.vendor != "postgresql":  # PostgreSQL's English search ignores the stop word "can"
            assert found == [both.pk]

    def test_no_results(self, client, tree):
        html = client.get(reverse("search"), {"q": "zebra"}).content.decode()
        assert "Nothing matched “zebra”" in html

    def test_inactive_items_are_not_found(self, client, tree):
        ItemFactory(category=tree["garden"], title="Ghost lamp", is_active=False)
        assert "Nothing matched" in client.get(reverse("search"), {"q": "ghost"}).content.decode()

    def test_pagination_keeps_query(self, client, tree):
        ItemFactory.create_batch(26, category=tree["garden"], title="Garden gnome")
        first = client.get(reverse("search"), {"q": "gnome"})
        assert len(listing_ids(first, "search-results")) == 24
        assert "?q=gnome&amp;page=2" in first.content.decode()
        second = client.get(reverse("search"), {"q": "gnome", "page": "2"})
        assert len(listing_ids(second, "search-results")) == 2

    def test_query_is_escaped(self, client, db):
        html = client.get(reverse("search"), {"q": "<script>x</script>"}).content.decode()
        assert "<script>x</script>" not in html and "&lt;script&gt;" in html


class TestSearchRelevance:
    def test_relevance_puts_title_matches_first_and_filters_apply(self, client, db):
        books = CategoryFactory(name="Books", slug="books")
        in_title = ItemFactory(title="Garden atlas", description="Maps.", category=books, price=Decimal("30"))
        in_text = ItemFactory(title="Travel diary", description="Notes from a garden tour.", category=books, price=Decimal("10"))
        ItemFactory(title="Cookbook", description="Recipes.", category=books)
        response = client.get(reverse("search"), {"q": "garden"})
        assert [item.pk for item in response.context["page"]] == [in_title.pk, in_text.pk]
        assert response.context["sort"] == "relevance" and '<option value="relevance"' in response.content.decode()
        response = client.get(reverse("search"), {"q": "garden", "sort": "price"})
        assert [item.pk for item in response.context["page"]] == [in_text.pk, in_title.pk]
        response = client.get(reverse("search"), {"q": "garden", "max_price": "20"})
        assert [item.pk for item in response.context["page"]] == [in_text.pk]

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search (CI's PostgreSQL pass)")
    def test_postgresql_full_text_stems_words_and_ranks_by_title(self, db):
        books = CategoryFactory(name="Books", slug="books")
        strong = ItemFactory(title="Running shoes", description="Light.", category=books)
        weak = ItemFactory(title="Trail guide", description="For runners who love running trails.", category=books)
        ItemFactory(title="Cookbook", description="Recipes.", category=books)
        assert list(item_list(query="run", ordering="relevance")) == [strong, weak]  # "run" matches "running" (stemming)
        assert list(item_list(query="running -shoes", ordering="relevance")) == [weak]
