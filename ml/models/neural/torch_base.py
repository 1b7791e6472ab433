"""The torch recommenders' shared plumbing: :class:`TorchModelMixin`.

Each model file holds only its network, its loss and a few hooks; device handling,
validation hold-out, the training loop (:meth:`TorchModelMixin._train`) and the
``weights.pt`` artifact live here.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ml.artifacts import ArtifactError
from ml.models.neural.data import minibatches
from ml.models.neural.training import (
    EpochRecord,
    ProgressCallback,
    TrainHistory,
    fit_loop,
    gradient_fold_in,
    load_state,
    resolve_device,
    run_batches,
    save_state,
    seed_everything,
)
from ml.models.neural.validation import ValidationSplit, evaluate_ndcg, holdout_matrix
from ml.utils.arrays import unit_rows

__all__ = ["TorchModelMixin", "WEIGHTS_FILE", "cosine_rows"]

WEIGHTS_FILE = "weights.pt"


def cosine_rows(vectors: np.ndarray, rows: np.ndarray, subset: np.ndarray | None) -> np.ndarray:
    """Cosine similarities of ``vectors[rows]`` against ``vectors`` (or ``vectors[subset]``)."""
    unit = unit_rows(vectors)
    right = unit if subset is None else unit[subset]
    return unit[rows] @ right.T


class TorchModelMixin:
    """Shared plumbing for recommenders backed by a torch module in ``net_``.

    Put it *before* the base class: ``class MultiVAE(TorchModelMixin, FactorModel)``.
    The host class provides the common hyperparameters ``epochs``, ``batch_size``,
    ``lr``, ``weight_decay``, ``patience``, ``val_fraction``, ``random_state``,
    ``device`` and ``progress``, and implements ``_build_net()`` from its
    hyperparameters plus its JSON-able learned state (sizes), so a loaded
    artifact rebuilds the same network before ``load_state_dict``.

    Artifacts: the base class writes config.json + arrays.npz; this mixin adds
    ``weights.pt`` (the module's ``state_dict``, read back with
    ``torch.load(weights_only=True)``), covered by the same SHA256 manifest.

    ``progress_callback`` (instance attribute, not a hyperparameter) receives one
    dict per epoch, e.g. for a Celery task's progress reporting.
    """

    _state_exclude: tuple[str, ...] = ("net_",)
    progress_callback: ProgressCallback | None = None
    #: evaluation batch (users) for validation NDCG
    val_batch_users: int = 512
    val_k: int = 10
    max_val_users: int = 1000

    # -- hyperparameter checks shared by every neural model
    def _validate_common(self) -> None:
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError("epochs must be an int >= 1")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError("batch_size must be an int >= 1")
        if not self.lr > 0:
            raise ValueError("lr must be > 0")
        if not self.weight_decay >= 0:
            raise ValueError("weight_decay must be >= 0")
        if not (isinstance(self.patience, int) and self.patience >= 0):
            raise ValueError("patience must be an int >= 0 (0 disables early stopping)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        if not (str(self.device) in ("auto", "cpu") or str(self.device).startswith("cuda")):
            raise ValueError("device must be 'auto', 'cpu' or 'cuda[:n]'")

    # -- device
    def _torch_device(self, *, strict: bool = False) -> torch.device:
        """The configured device. Outside of ``fit`` a CUDA model loaded on a machine
        without CUDA falls back to CPU instead of failing."""
        dev = self._cache.get("torch_device")
        if dev is None:
            try:
                dev = resolve_device(self.device)
            except RuntimeError:
                if strict:
                    raise
                dev = torch.device("cpu")
            self._cache["torch_device"] = dev
        return dev

    # -- training
    def _start_fit(self) -> tuple[np.random.Generator, torch.device]:
        dev = self._torch_device(strict=True)
        rng = seed_everything(self.random_state)
        return rng, dev

    # Not a hyperparameter: a floor on training length before early stopping may act (see fit_loop).
    min_train_steps = 500

    def _optimizer(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self._steps_done = 0

        def count_step(*_args: object, **_kwargs: object) -> None:
            self._steps_done += 1

        optimizer.register_step_post_hook(count_step)
        return optimizer

    def _run_training(
        self,
        net: torch.nn.Module,
        run_epoch: Callable[[int], float],
        evaluate: Callable[[], float] | None,
    ) -> TrainHistory:
        cb = self.progress_callback
        progress = cb if cb is not None else bool(self.progress)
        history = fit_loop(
            net,
            run_epoch,
            epochs=self.epochs,
            evaluate=evaluate,
            patience=self.patience,
            progress=progress,
            name=self.name or type(self).__name__,
            steps_done=lambda: getattr(self, "_steps_done", 0),
            min_steps=self.min_train_steps,
        )
        self.train_history_ = history.to_dict()
        return history

    def _train(
        self,
        net: torch.nn.Module,
        rng: np.random.Generator,
        evaluate: Callable[[], float] | None,
        *,
        n_samples: int,
        batch_loss: Callable[[np.ndarray, Any], torch.Tensor],
        epoch_data: Callable[[], Any] | None = None,
    ) -> TrainHistory:
        """The fit loop every torch model shares: Adam, shuffled mini-batches, early stopping.

        Each epoch calls ``epoch_data()`` once (e.g. fresh negatives; ``None`` without it),
        then takes one optimizer step per mini-batch of ``self.batch_size`` shuffled sample
        positions in ``range(n_samples)`` on ``batch_loss(batch, data)``. ``evaluate()``
        returns validation NDCG@k for early stopping (see :func:`fit_loop`); ``None``
        trains every epoch. The best network state is restored at the end.
        """
        optimizer = self._optimizer(net)

        def run_epoch(epoch: int) -> float:
            data = None if epoch_data is None else epoch_data()
            batches = minibatches(n_samples, self.batch_size, rng)
            return run_batches(optimizer, batches, lambda batch: batch_loss(batch, data))

        return self._run_training(net, run_epoch, evaluate)

    def _frozen_fold_in(
        self,
        init: list[torch.Tensor],
        logits_fn: Callable[[list[torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor],
        history: sp.csr_matrix,
    ) -> list[torch.Tensor]:
        """:func:`gradient_fold_in` with every network weight frozen and the model's
        ``n_neg`` / ``fold_in_steps`` / ``fold_in_lr`` / ``fold_in_l2`` / ``random_state``."""
        net = self.net_
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        try:
            return gradient_fold_in(
                init,
                logits_fn,
                history,
                self.n_items,
                n_neg=self.n_neg,
                steps=self.fold_in_steps,
                lr=self.fold_in_lr,
                l2=self.fold_in_l2,
                seed=self.random_state,
            )
        finally:
            for p in net.parameters():
                p.requires_grad_(True)

    def _validation_matrix(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> ValidationSplit:
        return holdout_matrix(matrix, rng, val_fraction=self.val_fraction, max_val_users=self.max_val_users)

    def _evaluator(self, split: ValidationSplit, score_rows: Callable[[np.ndarray], torch.Tensor], seen=None):
        if split.empty:
            return None
        return lambda: evaluate_ndcg(score_rows, split, k=self.val_k, batch_size=self.val_batch_users, seen=seen)

    # -- network construction / artifacts
    def _build_net(self) -> torch.nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_extra(self, directory) -> list[str]:
        save_state(self.net_.state_dict(), Path(directory) / WEIGHTS_FILE)
        return [WEIGHTS_FILE]

    def _load_extra(self, directory) -> None:
        dev = self._torch_device()
        net = self._build_net().to(dev)
        try:
            state = load_state(Path(directory) / WEIGHTS_FILE, dev)
            net.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            # wrong shapes, not a weights file, or objects that weights_only=True refuses to unpickle
            raise ArtifactError(f"cannot load {WEIGHTS_FILE}: {exc}") from exc
        net.eval()
        self.net_ = net

    @property
    def history(self) -> TrainHistory | None:
        """Training curve of the last fit (``None`` before fit)."""
        d = vars(self).get("train_history_")
        if d is None:
            return None
        h = TrainHistory(
            epochs=[EpochRecord(**e) for e in d["epochs"]],
            best_epoch=d["best_epoch"],
            best_val_ndcg=d["best_val_ndcg"],
            stopped_early=d["stopped_early"],
        )
        return h
