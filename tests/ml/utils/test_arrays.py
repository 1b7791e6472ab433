"""The array helpers every ml module shares (ml.utils.arrays)."""

import numpy as np

from ml.utils.arrays import isin_sorted, minmax_scale, sorted_lookup, unit_rows


def test_sorted_lookup_positions_sorter_and_missing():
    keys = np.array([2, 5, 9], dtype=np.int64)
    assert sorted_lookup(keys, np.array([9, 1, 5, 10, 2])).tolist() == [2, -1, 1, -1, 0]
    original = np.array([9, 2, 5])
    sorter = np.argsort(original)
    assert sorted_lookup(original[sorter], np.array([5, 9, 7]), sorter).tolist() == [2, 0, -1]
    assert sorted_lookup(np.zeros(0, np.int64), np.array([[1, 2]])).tolist() == [[-1, -1]]
    assert sorted_lookup(np.array(["a", "c"]), np.array(["c", "b"])).tolist() == [1, -1]


def test_isin_sorted_matches_np_isin():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 50, size=(20, 7))
    sorted_set = np.unique(rng.integers(0, 50, size=30))
    np.testing.assert_array_equal(isin_sorted(values, sorted_set), np.isin(values, sorted_set))
    assert not isin_sorted(np.array([1, 2]), np.zeros(0, np.int64)).any()


def test_minmax_scale():
    np.testing.assert_allclose(minmax_scale(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(minmax_scale(np.array([2, 4, 3]), low=0.1), [0.1, 1.0, 0.55])
    np.testing.assert_array_equal(minmax_scale(np.array([3.0, 3.0])), [1.0, 1.0])
    assert minmax_scale(np.zeros(0)).shape == (0,)


def test_unit_rows_keeps_zero_rows_and_input():
    m = np.array([[3.0, 4.0], [0.0, 0.0]])
    out = unit_rows(m)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_array_equal(m, [[3.0, 4.0], [0.0, 0.0]])
    assert unit_rows(m, dtype=None).dtype == np.float64
    assert unit_rows(np.array([[0, 2]]), dtype=None).tolist() == [[0.0, 1.0]]
