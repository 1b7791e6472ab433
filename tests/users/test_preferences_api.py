import pytest

from tests.factories import CategoryFactory, ItemFactory, UserFactory

URL = "/api/v1/me/preferences/"


@pytest.mark.django_db
def test_preferences_require_login(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated", "errors": {}}


@pytest.mark.django_db
def test_read_and_update_own_preferences(user_client, user):
    books, toys = CategoryFactory(), CategoryFactory()
    item = ItemFactory()
    body = user_client.get(URL).json()
    assert body["diversity_level"] == 0.5 and body["personalization_enabled"] is True
    response = user_client.put(
        URL,
        {"excluded_categories": [toys.pk], "category_weights": {str(books.pk): 1.5}, "diversity_level": 0.9,
         "hidden_items": [item.pk], "personalization_enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = user_client.get(URL).json()
    assert body["excluded_categories"] == [toys.pk] and body["hidden_items"] == [item.pk]
    assert body["category_weights"] == {str(books.pk): 1.5}
    assert body["diversity_level"] == 0.9 and body["personalization_enabled"] is False
    other = UserFactory()
    from users.selectors import preferences_get

    assert preferences_get(user=other).diversity_level == 0.5  # another user's are untouched


@pytest.mark.django_db
def test_bad_preferences_are_400_and_change_nothing(user_client):
    response = user_client.put(URL, {"diversity_level": 3, "category_weights": {"abc": 1}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) == {"diversity_level", "category_weights"}
    assert user_client.get(URL).json()["diversity_level"] == 0.5
    assert user_client.put(URL, {"category_weights": {"424242": 1.0}}, format="json").status_code == 400
