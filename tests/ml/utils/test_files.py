"""Atomic writes (ml.utils.files): all or nothing, no temporary files left behind."""

import numpy as np
import pytest

from ml.utils.files import atomic_path, atomic_write_bytes, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_text(path, "old")
    assert atomic_write_bytes(path, b"new") == path
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "arrays.npz"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError), atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, x=np.arange(3))
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, x=np.arange(3))
    assert np.load(path)["x"].tolist() == [0, 1, 2]
