"""``recommendations.events.ingest``: the ``events_recorded`` signal that tells serving about new events."""
import pytest

from recommendations.events import Actor, event_ingest, event_ingest_rows, events_recorded
from recommendations.models import Event
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded():
    calls: list[dict] = []

    def listener(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    events_recorded.connect(listener, weak=False)
    yield calls
    events_recorded.disconnect(listener)


def test_a_stored_batch_is_announced_once_with_its_actor(recorded):
    user, item = UserFactory(), ItemFactory()
    batch = [{"client_event_id": f"c{n}", "item": item.pk, "event_type": "view"} for n in range(3)]
    event_ingest(actor=Actor(user_id=user.pk), events=batch)
    assert recorded == [{"sender": Event, "signal": events_recorded, "user_ids": {user.pk}, "session_keys": frozenset()}]
    event_ingest(actor=Actor(user_id=user.pk), events=batch)  # all duplicates: nothing new to announce
    assert len(recorded) == 1


def test_imported_rows_are_announced_per_chunk(recorded):
    user, item = UserFactory(), ItemFactory()
    rows = [
        (2, {"client_event_id": "r1", "item": item.pk, "event_type": "view", "user": user.pk}),
        (3, {"client_event_id": "r2", "item": item.pk, "event_type": "click", "session_key": "anon-1"}),
        (4, {"client_event_id": "r3", "item": item.pk, "event_type": "like", "session_key": "anon-2"}),
    ]
    results = list(event_ingest_rows(rows=iter(rows), chunk_size=2))
    assert [result.accepted for result, _ in results] == [2, 1]
    assert [(call["user_ids"], call["session_keys"]) for call in recorded] == [({user.pk}, {"anon-1"}), (set(), {"anon-2"})]
