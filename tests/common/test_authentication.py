"""``common.authentication``: anonymous API clients with a session cookie pass the CSRF check (fault 8)."""
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from recommendations.models import Event

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/events/"


def view(item, n: int) -> dict:
    return {"client_event_id": f"c{n}", "item": item.pk, "event_type": "view"}


def test_an_anonymous_session_writes_only_with_its_csrf_token(items):
    browser = APIClient(enforce_csrf_checks=True)
    first = browser.post(EVENTS, view(items[0], 1), format="json")  # no cookie yet: unaffected, and a session starts
    assert first.status_code == 201
    assert {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME} <= set(first.cookies)

    forged = browser.post(EVENTS, view(items[0], 2), format="json")  # what another site's form could send
    assert forged.status_code == 403 and forged["Content-Type"] == "application/json"
    assert set(forged.json()) == {"detail", "code", "errors"} and "CSRF" in forged.json()["detail"]
    refused_feedback = browser.post("/api/v1/feedback/", {"item": items[1].pk}, format="json")
    assert refused_feedback.status_code == 403  # every write of the API, not only events
    assert Event.objects.count() == 1

    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = browser.post(EVENTS, view(items[0], 3), format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201 and Event.objects.count() == 2
    assert browser.get(EVENTS).status_code == 200  # reads need no token


def test_clients_without_a_session_cookie_are_unaffected(items):
    for n in range(3):
        client = APIClient(enforce_csrf_checks=True)
        assert client.post(EVENTS, view(items[0], n), format="json").status_code == 201
