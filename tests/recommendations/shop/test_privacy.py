"""``recommendations.shop.privacy``: the claim of an anonymous session's history at sign-in / sign-up."""
import pytest

from recommendations.events import Actor, event_ingest
from recommendations.models import Event
from recommendations.shop.privacy import session_history_claim
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_claim_keeps_the_users_own_copy_of_a_shared_client_id_and_moves_the_rest():
    user, item, other = UserFactory(), ItemFactory(), ItemFactory()
    event_ingest(actor=Actor(user_id=user.pk), events=[{"client_event_id": "e-1", "item": item.pk, "event_type": "like"}])
    event_ingest(actor=Actor(session_key="anon-1"), events=[
        {"client_event_id": "e-1", "item": other.pk, "event_type": "view"},  # same id as the user's own event
        {"client_event_id": "e-2", "item": other.pk, "event_type": "click"},
    ])
    assert session_history_claim(user=user, session_key="anon-1") == 1  # e-2 moved, the session's e-1 dropped
    stored = sorted(Event.objects.values_list("user_id", "session_key", "client_event_id", "item_id", "event_type"))
    assert stored == [(user.pk, "", "e-1", item.pk, "like"), (user.pk, "", "e-2", other.pk, "click")]
    # Idempotency goes on for the user: resending either id stores nothing.
    again = event_ingest(actor=Actor(user_id=user.pk), events=[
        {"client_event_id": "e-1", "item": item.pk, "event_type": "like"},
        {"client_event_id": "e-2", "item": other.pk, "event_type": "click"},
    ])
    assert (again.accepted, again.duplicates) == (0, 2)


def test_the_claim_moves_nothing_of_other_sessions():
    user, item = UserFactory(), ItemFactory()
    for session_key in ("anon-1", "anon-2"):
        event_ingest(actor=Actor(session_key=session_key), events=[{"client_event_id": "e-1", "item": item.pk, "event_type": "view"}])
    assert session_history_claim(user=user, session_key="anon-1") == 1
    assert Event.objects.filter(user__isnull=True, session_key="anon-2").count() == 1
