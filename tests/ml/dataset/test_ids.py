"""IdMap: external ids <-> contiguous indices."""

import json

import numpy as np
import pytest

from ml.dataset import IdMap
from ml.dataset.ids import first_seen_codes


def test_idmap_from_values_is_sorted_unique_and_vectorized():
    m = IdMap.from_values([30, 10, 20, 10, 30])
    assert m.external_ids.tolist() == [10, 20, 30] and len(m) == 3
    assert m.to_index([20, 10, 30, 20]).tolist() == [1, 0, 2, 1]
    assert m.to_index([20]).dtype == np.int64
    assert m.to_external([2, -1, 0]).tolist() == [30, -1, 10]


def test_idmap_unknown_ids_raise_or_ignore():
    m = IdMap.from_values([1, 2, 3])
    with pytest.raises(KeyError, match="99"):
        m.to_index([1, 99])
    assert m.to_index([1, 99, 3], missing="ignore").tolist() == [0, -1, 2]
    assert 2 in m and 7 not in m


def test_idmap_strings_sentinel_and_coercion():
    m = IdMap.from_values(["b", "a", "c"])
    assert m.to_index(["c", "a"]).tolist() == [2, 0]
    assert m.to_external([1, -1]).tolist() == ["b", ""]
    ints = IdMap.from_values([5, 7])
    assert ints.to_index(["7"]).tolist() == [1]  # numeric strings find integer ids
    assert ints.to_index(["x"], missing="ignore").tolist() == [-1]
    with pytest.raises(KeyError):
        ints.to_index(["x"])
    assert IdMap.from_values(["5"]).to_index([5]).tolist() == [0]


def test_idmap_json_roundtrip_duplicates_and_extend():
    for m in (IdMap.from_values([3, 1, 2]), IdMap.from_values(["x", "y"]), IdMap(np.zeros(0, np.int64))):
        again = IdMap.from_json(json.dumps(m.to_json()))
        assert again == m and again.external_ids.dtype.kind == m.external_ids.dtype.kind
    with pytest.raises(ValueError, match="duplicate"):
        IdMap([1, 1])
    m = IdMap([5, 3])  # unsorted order is kept
    ext = m.extend([3, 9, 4])
    assert ext.external_ids.tolist() == [5, 3, 4, 9]
    assert ext.to_index([5, 3, 9]).tolist() == [0, 1, 3]


@pytest.mark.parametrize(
    "values, order, uniques, codes",
    [
        (["b", "a", "b", "c"], None, ["b", "a", "c"], [0, 1, 0, 2]),
        ([30, 10, 20, 10], None, [30, 10, 20], [0, 1, 2, 1]),
        ([30, 10, 20, 10], [3, 2, 1, 0], [10, 20, 30], [2, 0, 1, 0]),  # read in the given order
        (np.array([], dtype=np.int64), None, [], []),
    ],
)
def test_first_seen_codes_number_ids_as_first_read(values, order, uniques, codes):
    u, c = first_seen_codes(values, None if order is None else np.array(order))
    assert u.tolist() == uniques and c.tolist() == codes and c.dtype == np.int64
    assert np.asarray(u)[c].tolist() == list(np.asarray(values).tolist())


def test_first_seen_codes_do_not_depend_on_how_ids_are_named():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 50, 500)
    _, plain = first_seen_codes(raw)
    _, reversed_ints = first_seen_codes(1000 - raw)
    _, hashed = first_seen_codes(np.array([f"{(v * 2654435761) % 2**32:08x}" for v in raw]))
    assert plain.tolist() == reversed_ints.tolist() == hashed.tolist()
