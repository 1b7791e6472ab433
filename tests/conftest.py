import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, ItemFactory, UserFactory


def _cache_clear() -> None:
    # With Redis the broker shares the server: delete only our prefixed keys, never FLUSHDB.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    _cache_clear()
    yield
    _cache_clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def user_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def items(db):
    category = CategoryFactory(name="Books", slug="books")
    return ItemFactory.create_batch(5, category=category)
