"""TorchModelMixin: weights.pt artifacts and training progress."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.artifacts import ArtifactError, write_checksums
from ml.models.base import Recommender
from ml.models.neural.multivae import (
    MultiVAE,
)


def test_save_load_uses_weights_only(small, tmp_path: Path):
    model = NCF_small().fit(small)
    path = model.save(tmp_path / "ncf")
    state = torch.load(path / "weights.pt", weights_only=True)
    assert set(state) == set(model.net_.state_dict())
    loaded = Recommender.load(path)
    np.testing.assert_array_equal(loaded.score_indices([0, 1]), model.score_indices([0, 1]))

    # a weights file that needs unpickling of arbitrary objects is refused even with a
    # valid checksum (weights_only=True), not executed
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf)
    (path / "weights.pt").write_bytes(buf.getvalue())
    write_checksums(path, ["config.json", "arrays.npz", "weights.pt"])
    with pytest.raises(ArtifactError):
        Recommender.load(path)


def NCF_small():
    from ml.models.neural.ncf import NCF

    return NCF(factors=4, mlp_layers=1, epochs=2, batch_size=256, device="cpu")


def test_progress_callback_and_history(small):
    events = []
    model = MultiVAE(hidden=8, latent=4, epochs=3, batch_size=32, patience=0, device="cpu")
    model.progress_callback = events.append
    model.fit(small)
    assert [e["epoch"] for e in events] == [0, 1, 2] and all("val_ndcg" in e for e in events)
    assert len(model.history.epochs) == 3 and model.history.seconds_per_epoch > 0
