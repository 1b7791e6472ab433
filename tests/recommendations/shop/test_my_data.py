"""My data history pages (recommendations.shop.my_data): history with delete per event and history reset."""
import pytest
from django.urls import reverse

from recommendations.models import Event, Impression
from tests.factories import EventFactory
from tests.users.support import history_create, member_login
from users.models import Preferences, User
from users.services import preferences_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    return member_login(client)


@pytest.fixture
def history(member):
    return history_create(member)


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


class TestReset:
    def test_reset_history_confirms_then_deletes_events_and_impressions_but_keeps_settings(self, client, member, history):
        preferences_update(user=member, data={"exploration_level": 0.7})
        assert "deletes your 3 events" in client.get(reverse("history-reset")).content.decode()
        response = client.post(reverse("history-reset"))
        assert response.status_code == 302 and response["Location"] == reverse("preferences")
        assert not Event.objects.filter(user=member).exists() and not Impression.objects.filter(user=member).exists()
        assert Preferences.objects.get(user=member).exploration_level == 0.7
        assert User.objects.filter(pk=member.pk).exists()
