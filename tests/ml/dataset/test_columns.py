"""EventColumns: raw events as numpy columns, checked on construction, cut, joined and turned into a dataset."""
import numpy as np
import pytest

from ml.dataset import EventColumns

TYPES = ("view", "purchase", "skip")
DEVICES = ("desktop", "mobile")


def _columns(**changes) -> EventColumns:
    columns = {
        "user_ids": np.array([10, 10, 20, 20]),
        "item_ids": np.array([1, 2, 1, 3]),
        "event_type_codes": np.array([0, 1, 0, 2], dtype=np.int8),
        "event_types": TYPES,
        "values": np.array([np.nan, 2.0, np.nan, np.nan]),
        "timestamps": np.array([100.0, 200.0, 150.0, 160.0]),
        "device_codes": np.array([0, 1, -1, 1], dtype=np.int8),
        "devices": DEVICES,
        "local_hours": np.array([9, 21, -1, 30], dtype=np.int8),
    }
    return EventColumns(**{**columns, **changes})


def test_lengths_and_codes_are_checked():
    assert len(_columns()) == 4
    with pytest.raises(ValueError, match="timestamps has length 3"):
        _columns(timestamps=np.zeros(3))
    with pytest.raises(ValueError, match="event_type_codes"):
        _columns(event_type_codes=np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="device_codes"):
        _columns(device_codes=np.array([0, 2, 0, 0]))
    with pytest.raises(ValueError, match="device_codes"):
        _columns(devices=())  # codes without the names they index


def test_names_and_context():
    columns = _columns(event_types=list(TYPES))
    assert columns.event_types == TYPES  # any sequence is kept as a tuple
    assert columns.event_type_names().tolist() == ["view", "purchase", "view", "skip"]
    context = columns.context()
    assert context["device"].tolist() == ["desktop", "mobile", "", "mobile"]  # -1 unknown -> ""
    hours = context["hour"]
    assert hours.dtype == np.float32 and hours[:2].tolist() == [9.0, 21.0] and np.isnan(hours[2:]).all()
    bare = _columns(device_codes=None, devices=(), local_hours=None)
    assert bare.context() is None
    assert set(_columns(local_hours=None).context()) == {"device"}


def test_take_and_concat_keep_the_vocabularies():
    columns = _columns()
    head, tail = columns.take(np.array([0, 1])), columns.take(np.array([False, False, True, True]))
    assert head.event_types == TYPES and head.devices == DEVICES and tail.local_hours.tolist() == [-1, 30]
    joined = EventColumns.concat([head, tail])
    for name in ("user_ids", "item_ids", "event_type_codes", "values", "timestamps", "device_codes", "local_hours"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(columns, name))
    assert EventColumns.concat([columns]) is columns
    with pytest.raises(ValueError, match="at least one"):
        EventColumns.concat([])
    with pytest.raises(ValueError, match="event_types"):
        EventColumns.concat([head, _columns(event_types=("view", "purchase", "like"))])
    with pytest.raises(ValueError, match="local_hours"):
        EventColumns.concat([head, _columns(local_hours=None)])


def test_to_interactions_weights_by_type_name_and_carries_the_context():
    data = _columns().to_interactions(event_type_weights={"view": 1.0, "purchase": 4.0, "skip": -1.0})
    # item 3 has only a skip (negative): no positive pair, so it is not in the map
    assert data.user_map.external_ids.tolist() == [10, 20] and data.item_map.external_ids.tolist() == [1, 2]
    np.testing.assert_allclose(data.matrix.toarray(), [[1.0, 4.0], [1.0, 0.0]])
    assert data.log.event_type.tolist() == ["view", "view", "purchase"]  # time order
    assert data.log.context["device"].tolist() == ["desktop", "", "mobile"]
    kept = _columns().to_interactions(event_type_weights={"purchase": 1.0}, min_user_interactions=1)
    assert kept.nnz == 1  # types missing from the weights are dropped
