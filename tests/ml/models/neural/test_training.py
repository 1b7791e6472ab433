"""The shared training machinery: devices and early stopping."""

from __future__ import annotations

import pytest
import torch

from ml.models.neural.multivae import (
    MultiVAE,
)
from ml.models.neural.training import fit_loop, resolve_device


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu")
    with pytest.raises(ValueError):
        MultiVAE(device="tpu")._validate_params()


def test_fit_loop_early_stopping_restores_best_state():
    net = torch.nn.Linear(1, 1, bias=False)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.4, 0.9])
    seen = []

    def run_epoch(epoch):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        return 0.0

    history = fit_loop(net, run_epoch, epochs=6, evaluate=lambda: next(scores), patience=3, progress=seen.append)
    assert history.best_epoch == 1 and history.stopped_early and len(history.epochs) == 5  # 3 evals w/o gain
    assert float(net.weight.detach()) == 1.0  # weights of the best epoch restored
    assert [r["epoch"] for r in seen] == [0, 1, 2, 3, 4] and seen[1]["val_ndcg"] == 0.5
