import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.utils import timezone

from recommendations.models import Event
from tests.factories import EventFactory, ItemFactory, UserFactory

URL = "/api/v1/events/"


def event(item, n, **extra):
    return {"client_event_id": f"c-{n}", "item": item.pk, "event_type": "view", **extra}


@pytest.mark.django_db
def test_single_event_is_stored_for_the_authenticated_user(user_client, user, items):
    response = user_client.post(URL, event(items[0], 1, context={"device": "mobile", "local_hour": 21}), format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 1, "duplicates": 0, "statuses": ["accepted"]}
    stored = Event.objects.get()
    assert stored.user == user and stored.item == items[0] and stored.context["device"] == "mobile"


@pytest.mark.django_db
def test_batch_is_idempotent_by_client_event_id(user_client, items):
    batch = [event(items[i % 5], i) for i in range(50)]
    first = user_client.post(URL, batch, format="json")
    assert first.status_code == 201 and first.json()["accepted"] == 50
    again = user_client.post(URL, {"events": batch + [event(items[0], 99)]}, format="json")
    assert again.json()["accepted"] == 1 and again.json()["duplicates"] == 50
    assert Event.objects.count() == 51


@pytest.mark.django_db
def test_repeats_inside_one_batch_count_as_duplicates(user_client, items):
    response = user_client.post(URL, [event(items[0], 1), event(items[1], 1)], format="json")
    assert response.json()["statuses"] == ["accepted", "duplicate"]
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_one_bad_event_rejects_the_whole_batch_with_per_event_errors(user_client, items):
    batch = [
        event(items[0], 1),
        {"client_event_id": "c-2", "item": 999999, "event_type": "view"},
        {"client_event_id": "c-3", "item": items[1].pk, "event_type": "teleport"},
        {"client_event_id": "c-4", "item": items[1].pk, "event_type": "view", "timestamp": "yesterday-ish"},
        {"client_event_id": "c-5", "item": items[1].pk, "event_type": "rating"},
        {"client_event_id": "c-6", "item": items[1].pk, "event_type": "view", "context": {"device": "toaster"}},
    ]
    response = user_client.post(URL, batch, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"1", "2", "3", "4", "5"}
    assert "Unknown item" in errors["1"]["item"][0]
    assert "event_type" in errors["2"]
    assert "timestamp" in errors["3"]
    assert "value" in errors["4"]
    assert "device" in errors["5"]["context"][0]
    assert Event.objects.count() == 0  # nothing half-written


@pytest.mark.django_db
@override_settings(EVENTS_MAX_BATCH=10)
def test_oversized_batch_is_refused(user_client, items):
    response = user_client.post(URL, [event(items[0], i) for i in range(11)], format="json")
    assert response.status_code == 400
    assert "at most 10" in response.json()["detail"]
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_timestamps_future_and_unix_and_naive(user_client, items):
    future = (timezone.now() + dt.timedelta(days=3)).isoformat()
    bad = user_client.post(URL, event(items[0], 1, timestamp=future), format="json")
    assert bad.status_code == 400 and "future" in bad.json()["errors"]["0"]["timestamp"][0]
    ok = user_client.post(URL, [event(items[0], 2, timestamp=1_700_000_000), event(items[0], 3, timestamp="2024-01-02T03:04:05")], format="json")
    assert ok.status_code == 201
    stamps = sorted(Event.objects.values_list("timestamp", flat=True))
    assert stamps[0] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert stamps[1] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_events_by_sku(user_client, items):
    response = user_client.post(URL, {"client_event_id": "s1", "sku": items[2].sku, "event_type": "purchase"}, format="json")
    assert response.status_code == 201
    assert Event.objects.get().item == items[2]
    missing = user_client.post(URL, {"client_event_id": "s2", "sku": "NOPE", "event_type": "purchase"}, format="json")
    assert missing.status_code == 400 and "sku" in missing.json()["errors"]["0"]


@pytest.mark.django_db
def test_non_staff_cannot_write_events_for_another_user(user_client, items):
    other = UserFactory()
    response = user_client.post(URL, event(items[0], 1, user=other.pk), format="json")
    assert response.status_code == 400
    assert Event.objects.count() == 0


def staff_with(*codenames: str):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="recommendations", codename__in=codenames))
    return staff


@pytest.mark.django_db
def test_staff_with_the_add_event_permission_can_write_events_for_users(api_client, items):
    staff, shopper = staff_with("add_event"), UserFactory()
    api_client.force_authenticate(staff)
    response = api_client.post(URL, event(items[0], 1, user=shopper.pk), format="json")
    assert response.status_code == 201
    assert Event.objects.get().user == shopper


@pytest.mark.django_db
@pytest.mark.parametrize("codenames", [(), ("view_event", "change_event")])
def test_staff_without_the_add_event_permission_cannot_write_for_others(api_client, items, codenames):
    """Fault 8: being staff is not enough to write someone else's history."""
    shopper = UserFactory()
    api_client.force_authenticate(staff_with(*codenames))
    response = api_client.post(URL, event(items[0], 1, user=shopper.pk), format="json")
    assert response.status_code == 400 and "permission" in response.json()["errors"]["0"]["user"][0]
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_only_a_superuser_writes_a_superusers_events(api_client, items):
    """Fault 8: a permitted staff client cannot act as a superuser; a superuser can."""
    root = UserFactory(is_staff=True, is_superuser=True)
    api_client.force_authenticate(staff_with("add_event"))
    refused = api_client.post(URL, [event(items[0], 1, user=UserFactory().pk), event(items[0], 2, user=root.pk)], format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["1"]
    assert "superuser" in refused.json()["errors"]["1"]["user"][0] and Event.objects.count() == 0
    api_client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    assert api_client.post(URL, event(items[0], 3, user=root.pk), format="json").status_code == 201
    assert Event.objects.get().user == root


@pytest.mark.django_db
def test_anonymous_events_belong_to_the_session_and_only_it_sees_them(client, items):
    response = client.post(URL, [event(items[0], 1)], content_type="application/json")
    assert response.status_code == 201
    stored = Event.objects.get()
    assert stored.user is None and stored.session_key == client.session.session_key
    assert client.get(URL).json()["count"] == 1
    from django.test import Client

    assert Client().get(URL).json()["count"] == 0


@pytest.mark.django_db
def test_event_list_shows_only_own_events(user_client, user, items):
    EventFactory(user=user, item=items[0])
    EventFactory(item=items[1])  # someone else's
    response = user_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["results"][0]["item"] == items[0].pk


@pytest.mark.django_db
def test_malformed_payload_is_a_clear_400(user_client):
    assert user_client.post(URL, "just text", format="json").status_code == 400
    assert user_client.post(URL, [], format="json").json()["detail"] == "The batch is empty."
    assert user_client.post(URL, [42], format="json").json()["errors"]["0"]["non_field_errors"]


@pytest.mark.django_db
def test_token_auth_works(api_client, items):
    shopper = UserFactory()
    obtain = api_client.post("/api/v1/auth/token/", {"username": shopper.username, "password": "pass-word-123"}, format="json")
    assert obtain.status_code == 201
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {obtain.json()['token']}")
    response = api_client.post(URL, event(items[0], 1), format="json")
    assert response.status_code == 201
    assert Event.objects.get().user == shopper


@pytest.mark.django_db
def test_inactive_items_still_accept_events_but_unknown_ids_do_not(user_client):
    item = ItemFactory(is_active=False)
    assert user_client.post(URL, event(item, 1), format="json").status_code == 201


@pytest.mark.django_db
def test_two_users_sending_the_same_client_id_both_get_their_event_stored(api_client, items):
    """Issue 12, fault 1: B's ``e-1`` was answered ``200 {"accepted": 0, "duplicates": 1}`` and lost."""
    first, second = UserFactory(), UserFactory()
    api_client.force_authenticate(first)
    assert api_client.post(URL, {"client_event_id": "e-1", "item": items[0].pk, "event_type": "view"}, format="json").status_code == 201
    api_client.force_authenticate(second)
    response = api_client.post(URL, {"client_event_id": "e-1", "item": items[1].pk, "event_type": "view"}, format="json")
    assert response.status_code == 201
    assert response.json() == {"accepted": 1, "duplicates": 0, "statuses": ["accepted"]}
    assert Event.objects.get(user=second).item_id == items[1].pk
    resent = api_client.post(URL, {"client_event_id": "e-1", "item": items[1].pk, "event_type": "view"}, format="json")
    assert (resent.status_code, resent.json()["duplicates"]) == (200, 1)


@pytest.mark.django_db
def test_anonymous_events_are_throttled_per_event_in_the_one_error_shape(client, user_client, items, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "events_anon": "30/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: 60 * 29_000_000 + 10.0))

    def post(http, n, start):
        return http.post(URL, [event(items[0], start + k) for k in range(n)], content_type="application/json")

    assert post(client, 20, 0).status_code == 201
    refused = post(client, 20, 100)  # 40 events > 30 a minute: refused, nothing written
    assert refused.status_code == 429 and refused["Retry-After"] == "50"
    assert refused.json() == {"detail": refused.json()["detail"], "code": "throttled", "errors": {}}
    assert Event.objects.count() == 20
    assert post(client, 10, 200).status_code == 201  # what is left of the window
    assert client.get(URL).status_code == 200  # reading one's events is not counted here
    assert user_client.post(URL, [event(items[0], 300 + k) for k in range(40)], format="json").status_code == 201
    one_big_batch = [event(items[0], k) for k in range(31)]
    from django.test import Client

    assert Client(REMOTE_ADDR="10.0.0.9").post(URL, one_big_batch, content_type="application/json").status_code == 429
