"""Helpers for tests of the catalog pages (catalog.views and recommendations.shop.pages): cards in the HTML and a
small category tree."""
import re

from tests.factories import CategoryFactory


def listing_ids(response, section_id: str) -> list[int]:
    html = response.content.decode()
    start = html.index(f'id="{section_id}"')
    end = html.find("</section>", start)
    return [int(match) for match in re.findall(r'data-item-id="(\d+)"', html[start:end])]


def category_tree() -> dict:
    """Electronics > Phones > Android, and Garden."""
    electronics = CategoryFactory(name="Electronics", slug="electronics", description="Gadgets and gear.")
    phones = CategoryFactory(name="Phones", slug="phones", parent=electronics)
    android = CategoryFactory(name="Android", slug="android", parent=phones)
    garden = CategoryFactory(name="Garden", slug="garden")
    return {"electronics": electronics, "phones": phones, "android": android, "garden": garden}
