"""Stage 1: the window's events as numpy arrays (both readers) and the dataset built from them."""
import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from recommendations.training import snapshot as snapshot_module
from recommendations.training import (
    training_dataset_build,
    training_snapshot,
)
from tests.factories import EventFactory, ItemFactory, UserFactory


@pytest.mark.django_db
def test_snapshot_streams_the_window_of_logged_in_events_in_chunks():
    now = timezone.now()
    user, other = UserFactory(), UserFactory()
    items = ItemFactory.create_batch(3)
    inside = [
        EventFactory(user=user, item=items[0], event_type="purchase", value=None, timestamp=now - dt.timedelta(days=1)),
        EventFactory(user=other, item=items[1], event_type="rating", value=4.5, timestamp=now - dt.timedelta(days=2)),
        EventFactory(user=user, item=items[2], event_type="skip", timestamp=now - dt.timedelta(hours=3)),
    ]
    EventFactory(user=user, item=items[1], timestamp=now - dt.timedelta(days=40))  # before the window
    EventFactory(user=None, session_key="anon", item=items[1], timestamp=now - dt.timedelta(days=1))  # no user
    for n in range(20):  # more rows than one chunk
        inside.append(EventFactory(user=other, item=items[n % 3], event_type="view", timestamp=now - dt.timedelta(minutes=n + 1)))

    snapshot = training_snapshot(start=now - dt.timedelta(days=30), end=now, chunk_rows=7)

    assert len(snapshot) == len(inside)
    got = sorted(zip(snapshot.columns.user_ids.tolist(), snapshot.columns.item_ids.tolist(), snapshot.columns.event_type_names().tolist(),
                     np.round(snapshot.columns.timestamps, 3).tolist(), strict=False))
    expected = sorted((e.user_id, e.item_id, e.event_type, round(e.timestamp.timestamp(), 3)) for e in inside)
    assert got == expected
    values = dict(zip(snapshot.columns.event_type_names().tolist(), snapshot.columns.values.tolist(), strict=False))
    assert values["rating"] == 4.5 and np.isnan(values["purchase"])
    if connection.vendor == "postgresql":  # the COPY reader and the portable reader agree
        portable = snapshot_module._snapshot_iterator(start=snapshot.start, end=snapshot.end, chunk_rows=5)
        assert sorted(np.concatenate([c.user_ids for c in portable]).tolist()) == sorted(snapshot.columns.user_ids.tolist())


@pytest.mark.django_db
def test_snapshot_carries_device_and_local_hour_into_the_dataset_log():
    now = timezone.now()
    user, item = UserFactory(), ItemFactory()
    contexts = [{"device": "mobile", "local_hour": 21}, {"device": "toaster", "local_hour": 30}, {}, {"local_hour": 7}]
    for n, context in enumerate(contexts):
        EventFactory(user=user, item=item, context=context, timestamp=now - dt.timedelta(hours=len(contexts) - n))
    snapshot = training_snapshot(start=now - dt.timedelta(days=1), end=now)
    order = np.argsort(snapshot.columns.timestamps)
    context = snapshot.columns.context()
    assert context["device"][order].tolist() == ["mobile", "", "", ""]  # unknown or invalid -> ""
    hours = context["hour"][order]
    assert hours[0] == 21 and hours[3] == 7 and np.isnan(hours[1]) and np.isnan(hours[2])
    dataset = training_dataset_build(snapshot=snapshot, event_type_weights={"view": 1.0})
    assert sorted(dataset.log.context["device"].tolist()) == ["", "", "", "mobile"]
    if connection.vendor == "postgresql":  # the COPY reader and the portable reader agree
        portable = snapshot_module._snapshot_iterator(start=snapshot.start, end=snapshot.end, chunk_rows=2)
        assert sorted(np.concatenate([c.local_hours for c in portable]).tolist()) == sorted(snapshot.columns.local_hours.tolist())


@pytest.mark.django_db
def test_training_reads_ratings_by_value_and_the_latest_rating_of_a_pair():
    """Both readers (COPY on PostgreSQL, the iterator elsewhere) feed the same semantics as serving."""
    now = timezone.now()
    user = UserFactory()
    items = ItemFactory.create_batch(4)
    ago = lambda minutes: now - dt.timedelta(minutes=minutes)  # noqa: E731 -- four timestamps, one line each
    EventFactory(user=user, item=items[0], event_type="rating", value=0.0, timestamp=ago(10))  # 0 of 10: negative
    EventFactory(user=user, item=items[1], event_type="rating", value=10.0, timestamp=ago(10))
    EventFactory(user=user, item=items[1], event_type="rating", value=1.0, timestamp=ago(5))  # re-rated 1: negative
    EventFactory(user=user, item=items[2], event_type="rating", value=10.0, timestamp=ago(10))  # positive
    EventFactory(user=user, item=items[3], event_type="dwell", value=2.0, timestamp=ago(10))  # a glance: nothing
    snapshot = training_snapshot(start=now - dt.timedelta(days=1), end=now)
    data = training_dataset_build(snapshot=snapshot, event_type_weights={"rating": 1.0, "dwell": 0.5})
    positives = set(data.item_map.to_external(data.matrix[data.user_map.to_index([user.pk])[0]].indices).tolist())
    assert positives == {items[2].pk}
