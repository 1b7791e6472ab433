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


# Idempotency is per actor (issue 12, fault 1): a client id is unique among one actor's events only.


def test_the_same_client_id_from_two_users_is_two_events():
    first, second, item, other_item = UserFactory(), UserFactory(), ItemFactory(), ItemFactory()
    a = event_ingest(actor=Actor(user_id=first.pk), events=[{"client_event_id": "e-1", "item": item.pk, "event_type": "view"}])
    b = event_ingest(actor=Actor(user_id=second.pk), events=[{"client_event_id": "e-1", "item": other_item.pk, "event_type": "like"}])
    # B is not told that someone else used the id: their event is accepted like any new one.
    assert (a.accepted, a.duplicates, b.accepted, b.duplicates, b.statuses) == (1, 0, 1, 0, ["accepted"])
    stored = sorted(Event.objects.values_list("user_id", "item_id", "event_type"))
    assert stored == sorted([(first.pk, item.pk, "view"), (second.pk, other_item.pk, "like")])


def test_users_and_sessions_have_their_own_ids_and_each_still_deduplicates():
    user, item = UserFactory(), ItemFactory()
    batch = [{"client_event_id": "e-1", "item": item.pk, "event_type": "view"}]
    actors = [Actor(user_id=user.pk), Actor(session_key="s-1"), Actor(session_key="s-2")]
    assert [event_ingest(actor=actor, events=batch).accepted for actor in actors] == [1, 1, 1]
    again = [event_ingest(actor=actor, events=batch) for actor in actors]
    assert [(result.accepted, result.duplicates) for result in again] == [(0, 1)] * 3
    assert Event.objects.count() == 3


def test_a_staff_batch_for_two_users_with_the_same_id_stores_both_and_repeats_stay_duplicates():
    staff, first, second, item = UserFactory(is_staff=True), UserFactory(), UserFactory(), ItemFactory()
    batch = [
        {"client_event_id": "e-1", "item": item.pk, "event_type": "view", "user": first.pk},
        {"client_event_id": "e-1", "item": item.pk, "event_type": "view", "user": second.pk},
        {"client_event_id": "e-1", "item": item.pk, "event_type": "click", "user": first.pk},  # first's repeat
    ]
    result = event_ingest(actor=Actor(user_id=staff.pk), events=batch, allow_user_field=True)
    assert result.statuses == ["accepted", "accepted", "duplicate"]
    assert sorted(Event.objects.values_list("user_id", "event_type")) == sorted([(first.pk, "view"), (second.pk, "view")])


def test_imported_rows_with_explicit_ids_for_different_users_are_all_stored():
    first, second, item = UserFactory(), UserFactory(), ItemFactory()
    rows = [
        (2, {"client_event_id": "row-1", "item": item.pk, "event_type": "view", "user": first.pk}),
        (3, {"client_event_id": "row-1", "item": item.pk, "event_type": "view", "user": second.pk}),
        (4, {"client_event_id": "row-1", "item": item.pk, "event_type": "view", "session_key": "anon-1"}),
    ]
    [(result, errors)] = list(event_ingest_rows(rows=iter(rows)))
    assert (result.accepted, result.duplicates, errors) == (3, 0, {})
    [(again, _)] = list(event_ingest_rows(rows=iter(rows)))  # a second import of the same file: nothing new
    assert (again.accepted, again.duplicates) == (0, 3)
    assert Event.objects.count() == 3


def test_onboarding_ids_cannot_be_claimed_in_advance_by_another_user():
    from recommendations.shop.onboarding import onboarding_complete

    victim, attacker, item = UserFactory(), UserFactory(), ItemFactory()
    # The attacker sends the id the victim's onboarding will use (the pattern is guessable) ...
    event_ingest(actor=Actor(user_id=attacker.pk), events=[
        {"client_event_id": f"onboarding-{victim.pk}-{item.pk}", "item": item.pk, "event_type": "view"}
    ])
    # ... and the victim's like is stored all the same.
    assert onboarding_complete(user=victim, category_ids=[], item_ids=[item.pk]).liked == 1
    assert Event.objects.filter(user=victim, event_type="like", item=item).count() == 1
