"""Catalog read-side queries added for the site pages (breadcrumbs, subcategories, counts)."""
import pytest

from catalog.selectors import category_ancestors, category_children, category_item_counts, category_list_with_counts
from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    root = CategoryFactory(name="Root")
    middle = CategoryFactory(name="Middle", parent=root)
    leaf = CategoryFactory(name="Leaf", parent=middle)
    return root, middle, leaf


def test_category_ancestors_root_first(chain, django_assert_max_num_queries):
    root, middle, leaf = chain
    with django_assert_max_num_queries(2):
        assert category_ancestors(category=leaf) == [root, middle]
    assert category_ancestors(category=root) == []


def test_category_children(chain):
    root, middle, leaf = chain
    assert list(category_children(category=root)) == [middle]
    assert list(category_children(category=leaf)) == []


def test_category_item_counts_include_subtrees_and_skip_inactive(chain, django_assert_num_queries):
    root, middle, leaf = chain
    other = CategoryFactory()
    ItemFactory.create_batch(2, category=leaf)
    ItemFactory(category=middle)
    ItemFactory(category=middle, is_active=False)
    with django_assert_num_queries(2):
        counts = category_item_counts()
    assert counts == {root.pk: 3, middle.pk: 3, leaf.pk: 2, other.pk: 0}


def test_category_list_with_counts_top_level(chain):
    root, _, leaf = chain
    ItemFactory(category=leaf)
    [only] = category_list_with_counts(top_level_only=True)
    assert only == root and only.item_count == 1
