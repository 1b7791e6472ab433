"""Account data pages: JSON export and account deletion; anonymous history claimed at sign-up and login.

The history pages (list, delete per event, reset) are tested in tests/recommendations/shop/test_my_data.py; all
four need a login (below).
"""
import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from recommendations.models import Event, Impression
from tests.factories import EventFactory, ItemFactory, UserFactory
from tests.users.support import history_create, member_login
from users.models import Preferences, User
from users.services import preferences_update

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"


@pytest.fixture
def member(client):
    return member_login(client)


@pytest.fixture
def history(member):
    return history_create(member)


@pytest.mark.parametrize("name", ["my-data", "my-data-export", "history-reset", "account-delete"])
def test_pages_need_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


class TestExport:
    def test_export_is_a_json_download_of_everything(self, client, member, history):
        preferences_update(user=member, data={"diversity_level": 0.9, "hidden_items": [history["items"][2]]})
        response = client.get(reverse("my-data-export"))
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response["Content-Disposition"].startswith('attachment; filename="vitrine-data-ada-')
        data = json.loads(response.content)
        assert data["format"] == "vitrine-user-data/1" and data["user"]["username"] == "ada"
        assert data["preferences"]["diversity_level"] == 0.9 and data["preferences"]["hidden_items"] == [history["items"][2].pk]
        assert [e["event_type"] for e in data["events"]] == ["view", "like", "purchase"]
        assert {e["item_title"] for e in data["events"]} == {item.title for item in history["items"]}
        assert data["impressions"][0]["request_id"] == "r1"


class TestDelete:
    def test_delete_account_needs_the_password(self, client, member, history):
        assert 'name="password"' in client.get(reverse("account-delete")).content.decode()
        response = client.post(reverse("account-delete"), {"password": "wrong"})
        assert response.status_code == 200 and "That is not your password." in response.content.decode()
        assert User.objects.filter(pk=member.pk).exists()

    def test_delete_account_removes_user_events_preferences_and_logs_out(self, client, member, history):
        other = EventFactory(item=history["items"][0])
        response = client.post(reverse("account-delete"), {"password": PASSWORD}, follow=True)
        assert response.redirect_chain == [(reverse("home"), 302)]
        assert "Your account and all its data are deleted" in response.content.decode()
        assert not User.objects.filter(pk=member.pk).exists()
        assert not Event.objects.filter(user_id=member.pk).exists() and not Impression.objects.filter(user_id=member.pk).exists()
        assert not Preferences.objects.filter(user_id=member.pk).exists()
        assert Event.objects.filter(pk=other.pk).exists()  # nobody else's data
        assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_anonymous_history_follows_the_visitor_into_a_new_account(client):
    from recommendations.models import Event

    item = ItemFactory()
    response = client.post("/api/v1/events/", [{"client_event_id": "anon-1", "item": item.pk, "event_type": "like"}],
                           content_type="application/json")
    assert response.status_code == 201
    client.post(reverse("signup"), {"username": "newbie", "email": "n@example.com",
                                    "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"})
    event = Event.objects.get(client_event_id="anon-1")
    assert event.user.username == "newbie" and event.session_key == ""


@pytest.mark.django_db
def test_anonymous_history_is_claimed_at_login_and_not_by_anyone_else(client):
    from django.test import Client

    from recommendations.models import Event

    item, member = ItemFactory(), UserFactory(username="member")
    client.post("/api/v1/events/", {"client_event_id": "anon-2", "item": item.pk, "event_type": "view"},
                content_type="application/json")
    stranger = Client()
    stranger.post("/api/v1/events/", {"client_event_id": "anon-3", "item": item.pk, "event_type": "view"},
                  content_type="application/json")
    client.post(reverse("login"), {"username": "member", "password": "pass-word-123"})
    assert Event.objects.get(client_event_id="anon-2").user == member
    assert Event.objects.get(client_event_id="anon-3").user is None
