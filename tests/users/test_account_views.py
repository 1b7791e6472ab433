"""My data: history with delete per event, JSON export, history reset and account deletion."""
import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from recommendations.models import Event, EventType, Impression
from tests.factories import EventFactory, ItemFactory, UserFactory
from users.models import Preferences, User
from users.services import preferences_update

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"


@pytest.fixture
def member(client):
    user = UserFactory(username="ada")
    Preferences.objects.create(user=user)
    client.force_login(user)
    return user


@pytest.fixture
def history(member):
    items = ItemFactory.create_batch(3)
    events = [
        EventFactory(user=member, item=items[0], event_type=EventType.VIEW),
        EventFactory(user=member, item=items[1], event_type=EventType.LIKE),
        EventFactory(user=member, item=items[2], event_type=EventType.PURCHASE),
    ]
    Impression.objects.create(request_id="r1", user=member, item=items[0], position=0, source="popular")
    return {"items": items, "events": events}


@pytest.mark.parametrize("name", ["my-data", "my-data-export", "history-reset", "account-delete"])
def test_pages_need_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


class TestMyData:
    def test_lists_own_events_only_with_delete_buttons(self, client, member, history):
        other = EventFactory(item=history["items"][0])
        response = client.get(reverse("my-data"))
        html = response.content.decode()
        assert response.status_code == 200
        for event in history["events"]:
            assert f'data-event-id="{event.pk}"' in html and reverse("my-data-event-delete", args=[event.pk]) in html
        assert f'data-event-id="{other.pk}"' not in html
        assert "3 events" in html and reverse("my-data-export") in html and reverse("account-delete") in html

    def test_delete_one_event(self, client, member, history):
        target = history["events"][1]
        response = client.post(reverse("my-data-event-delete", args=[target.pk]), {"page": "1"})
        assert response.status_code == 302 and response["Location"] == reverse("my-data") + "?page=1"
        assert not Event.objects.filter(pk=target.pk).exists() and Event.objects.filter(user=member).count() == 2

    def test_cannot_delete_someone_elses_event(self, client, member, history):
        other = EventFactory(item=history["items"][0])
        response = client.post(reverse("my-data-event-delete", args=[other.pk]), follow=True)
        assert "That event does not exist" in response.content.decode()
        assert Event.objects.filter(pk=other.pk).exists()
        assert client.get(reverse("my-data-event-delete", args=[other.pk])).status_code == 405

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


class TestResetAndDelete:
    def test_reset_history_confirms_then_deletes_events_and_impressions_but_keeps_settings(self, client, member, history):
        preferences_update(user=member, data={"exploration_level": 0.7})
        assert "deletes your 3 events" in client.get(reverse("history-reset")).content.decode()
        response = client.post(reverse("history-reset"))
        assert response.status_code == 302 and response["Location"] == reverse("preferences")
        assert not Event.objects.filter(user=member).exists() and not Impression.objects.filter(user=member).exists()
        assert Preferences.objects.get(user=member).exploration_level == 0.7
        assert User.objects.filter(pk=member.pk).exists()

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
    from tests.factories import ItemFactory

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
    from tests.factories import ItemFactory, UserFactory

    item, member = ItemFactory(), UserFactory(username="member")
    client.post("/api/v1/events/", {"client_event_id": "anon-2", "item": item.pk, "event_type": "view"},
                content_type="application/json")
    stranger = Client()
    stranger.post("/api/v1/events/", {"client_event_id": "anon-3", "item": item.pk, "event_type": "view"},
                  content_type="application/json")
    client.post(reverse("login"), {"username": "member", "password": "pass-word-123"})
    assert Event.objects.get(client_event_id="anon-2").user == member
    assert Event.objects.get(client_event_id="anon-3").user is None
