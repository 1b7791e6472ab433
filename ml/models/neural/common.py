"""Shared machinery for the torch recommenders.

Everything model-independent lives here so the five model files only hold their
network and their loss:

* device selection (``"auto"`` / ``"cpu"`` / ``"cuda"``) and seeding,
* a validation hold-out taken from the *training* data (never from the caller's
  test split) and NDCG@k on it,
* one mini-batch loop driver with early stopping on validation NDCG@k
  (patience, best-state restore), tqdm or a callback for progress,
* vectorised negative sampling that rejects a user's positives,
* state-dict (de)serialisation with ``torch.load(weights_only=True)``,
* batched scoring helpers.

Nothing here imports Django; torch is imported at module level because this
module is only reached through the registry's lazy import of a torch model.
"""

from __future__ import annotations

import copy
import io
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp
import torch

# torch warns that sparse CSR support is "beta" on first use; we rely only on
# CSR @ dense (and its backward w.r.t. the dense operand), which is stable.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")

ProgressCallback = Callable[[dict[str, Any]], None]


# --------------------------------------------------------------------------- device / seed


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when it is present, else CPU; ``"cuda"`` without CUDA fails loudly."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} requested but CUDA is not available")
    if name == "cpu" or name.startswith("cuda") or name == "mps":
        return torch.device(name)
    raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:n]'")


def seed_everything(seed: int | None) -> np.random.Generator:
    """Seed torch (CPU + CUDA) and return a numpy Generator for data-side sampling.

    With the same seed, CPU training is bit-for-bit reproducible: all sampling
    (shuffles, negatives, masks, validation users) goes through the returned
    Generator, all parameter init and dropout through torch's seeded RNG.
    """
    seed = 0 if seed is None else int(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- batching


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
    """Index batches over ``range(n)``; shuffled when ``rng`` is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def csr_rows_to_dense(matrix: sp.csr_matrix, rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """Dense float32 tensor of the selected CSR rows (used for autoencoder inputs)."""
    block = matrix[rows]
    out = torch.zeros((len(rows), matrix.shape[1]), dtype=torch.float32)
    if block.nnz:
        r = np.repeat(np.arange(len(rows)), np.diff(block.indptr))
        out[torch.from_numpy(r), torch.from_numpy(block.indices.astype(np.int64))] = torch.from_numpy(
            block.data.astype(np.float32)
        )
    return out.to(device)


def scipy_to_torch_csr(matrix: sp.spmatrix, device: torch.device) -> torch.Tensor:
    m = sp.csr_matrix(matrix, dtype=np.float32)
    m.sort_indices()
    return torch.sparse_csr_tensor(
        torch.from_numpy(m.indptr.astype(np.int64)),
        torch.from_numpy(m.indices.astype(np.int64)),
        torch.from_numpy(m.data),
        size=m.shape,
        device=device,
    )


def items_to_csr(item_lists: Sequence[Sequence[int]], n_items: int, weights: Sequence[Sequence[float]] | None = None) -> sp.csr_matrix:
    """Rows of a user x item CSR from lists of item indices (duplicates are summed)."""
    rows, cols, vals = [], [], []
    for r, items in enumerate(item_lists):
        items = np.asarray(items, dtype=np.int64)
        rows.append(np.full(len(items), r, dtype=np.int64))
        cols.append(items)
        vals.append(np.ones(len(items), dtype=np.float32) if weights is None else np.asarray(weights[r], dtype=np.float32))
    if not rows:
        return sp.csr_matrix((0, n_items), dtype=np.float32)
    m = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(item_lists), n_items),
        dtype=np.float32,
    )
    m.sum_duplicates()
    return m


# --------------------------------------------------------------------------- negatives


class NegativeSampler:
    """Uniform negatives that avoid each user's positives.

    Positives are encoded as sorted ``user * n_items + item`` keys so membership
    is one ``np.searchsorted`` over the whole batch (no Python loop). Rejected
    draws are redrawn up to ``max_rounds`` times; whatever still collides after
    that (a user who has seen nearly the whole catalogue) is kept, which is the
    standard trade-off in BPR/NCF samplers.
    """

    def __init__(self, positives: sp.csr_matrix, max_rounds: int = 20):
        m = sp.csr_matrix(positives)
        m.sort_indices()
        self.n_items = m.shape[1]
        users = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
        self._keys = users * self.n_items + m.indices.astype(np.int64)
        self.max_rounds = max_rounds

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self._keys.size == 0:
            return np.zeros(np.shape(items), dtype=bool)
        keys = users.astype(np.int64) * self.n_items + items.astype(np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, self._keys.size - 1)
        return self._keys[pos] == keys

    def sample(self, users: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(len(users), n)`` negatives (``n=1`` still returns 2-D)."""
        users = np.asarray(users, dtype=np.int64)
        u = np.repeat(users[:, None], n, axis=1)
        items = rng.integers(0, self.n_items, size=u.shape)
        bad = self.is_positive(u, items)
        for _ in range(self.max_rounds):
            if not bad.any():
                break
            items[bad] = rng.integers(0, self.n_items, size=int(bad.sum()))
            bad = self.is_positive(u, items)
        return items


# --------------------------------------------------------------------------- validation


@dataclass
class ValidationSplit:
    """Training data minus a small held-out slice used for early stopping.

    ``train`` is the user x item matrix the network is trained on; ``users`` are
    the validation users and ``truth`` is a CSR (len(users) x n_items) of their
    held-out items. Held-out items never appear in the user's remaining train row,
    so ranking with train items masked can reach every target.
    """

    train: sp.csr_matrix
    users: np.ndarray
    truth: sp.csr_matrix

    @property
    def empty(self) -> bool:
        return len(self.users) == 0


def holdout_matrix(
    matrix: sp.csr_matrix,
    rng: np.random.Generator,
    *,
    val_fraction: float = 0.1,
    max_val_users: int = 2000,
    holdout_fraction: float = 0.2,
    min_user_items: int = 3,
) -> ValidationSplit:
    """Hold out ``holdout_fraction`` (at least one) random items of a sample of users.

    Users with fewer than ``min_user_items`` interactions are never sampled, so
    every validation user keeps at least two train items.
    """
    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    n_users, n_items = m.shape
    counts = np.diff(m.indptr)
    eligible = np.flatnonzero(counts >= min_user_items)
    n_val = min(int(math.ceil(val_fraction * n_users)), max_val_users, len(eligible))
    if val_fraction <= 0 or n_val <= 0:
        return ValidationSplit(m, np.zeros(0, dtype=np.int64), sp.csr_matrix((0, n_items), dtype=np.float32))
    users = np.sort(rng.choice(eligible, size=n_val, replace=False))
    keep = np.ones(m.nnz, dtype=bool)
    t_rows, t_cols = [], []
    for r, u in enumerate(users):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        n_hold = max(1, int(round(holdout_fraction * (hi - lo))))
        pick = lo + rng.choice(hi - lo, size=n_hold, replace=False)
        keep[pick] = False
        t_rows.append(np.full(n_hold, r))
        t_cols.append(m.indices[pick])
    row_of = np.repeat(np.arange(n_users), counts)
    train = sp.csr_matrix((m.data[keep], (row_of[keep], m.indices[keep])), shape=m.shape, dtype=np.float32)
    truth = sp.csr_matrix(
        (np.ones(sum(len(c) for c in t_cols), dtype=np.float32), (np.concatenate(t_rows), np.concatenate(t_cols))),
        shape=(len(users), n_items),
    )
    return ValidationSplit(train, users.astype(np.int64), truth)


def ndcg_at_k(scores: torch.Tensor, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """Per-row binary NDCG@k of a dense score block against CSR truth rows."""
    k = min(k, scores.shape[1])
    top = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    out = np.zeros(len(top))
    for r in range(len(top)):
        target = truth.indices[truth.indptr[r] : truth.indptr[r + 1]]
        if target.size == 0:
            continue
        hits = np.isin(top[r], target)
        idcg = discounts[: min(k, target.size)].sum()
        out[r] = (hits * discounts).sum() / idcg
    return out


def evaluate_ndcg(
    score_fn: Callable[[np.ndarray], torch.Tensor],
    split: ValidationSplit,
    *,
    k: int = 10,
    batch_size: int = 1024,
    seen: sp.csr_matrix | None = None,
) -> float:
    """Mean NDCG@k over the validation users; ``seen`` (defaults to ``split.train``) is masked.

    ``score_fn(rows)`` receives *row positions* into ``split.users`` and returns
    a dense ``(len(rows), n_items)`` tensor.
    """
    if split.empty:
        return float("nan")
    seen = split.train if seen is None else seen
    total = 0.0
    for rows in minibatches(len(split.users), batch_size):
        scores = score_fn(rows).float()
        block = seen[split.users[rows]]
        if block.nnz:
            r = np.repeat(np.arange(len(rows)), np.diff(block.indptr))
            scores[torch.from_numpy(r).to(scores.device), torch.from_numpy(block.indices.astype(np.int64)).to(scores.device)] = -torch.inf
        total += ndcg_at_k(scores, split.truth[rows], k).sum()
    return float(total / len(split.users))


# --------------------------------------------------------------------------- training loop


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    val_ndcg: float | None
    seconds: float
    elapsed: float


@dataclass
class TrainHistory:
    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = -1
    best_val_ndcg: float | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "best_epoch": self.best_epoch,
            "best_val_ndcg": self.best_val_ndcg,
            "stopped_early": self.stopped_early,
        }

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean([e.seconds for e in self.epochs])) if self.epochs else float("nan")

    @property
    def time_to_best(self) -> float:
        for e in self.epochs:
            if e.epoch == self.best_epoch:
                return e.elapsed
        return float("nan")


def fit_loop(
    module: torch.nn.Module,
    run_epoch: Callable[[int], float],
    *,
    epochs: int,
    evaluate: Callable[[], float] | None = None,
    patience: int | None = 5,
    eval_every: int = 1,
    progress: bool | ProgressCallback | None = None,
    name: str = "",
) -> TrainHistory:
    """Drive ``epochs`` calls of ``run_epoch(epoch) -> mean loss`` with early stopping.

    After every ``eval_every`` epochs ``evaluate()`` returns validation NDCG@k;
    the best state_dict is kept (deep copy) and restored at the end. Training
    stops after ``patience`` evaluations without improvement (``None`` or 0
    disables stopping but still restores the best state). Without ``evaluate``
    every epoch runs and the last state is kept.

    ``progress``: ``True`` shows a tqdm bar, a callable receives one dict per
    epoch (``epoch``, ``epochs``, ``loss``, ``val_ndcg``, ``seconds``, ``best``).
    """
    history = TrainHistory()
    best_state: dict[str, torch.Tensor] | None = None
    best = -math.inf
    bad_evals = 0
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=name or "train", leave=False)
    started = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        module.train()
        loss = float(run_epoch(epoch))
        val = None
        if evaluate is not None and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            module.eval()
            with torch.no_grad():
                val = float(evaluate())
            if not math.isnan(val) and val > best:
                best, bad_evals = val, 0
                history.best_epoch = epoch
                best_state = copy.deepcopy({k: v.detach().clone() for k, v in module.state_dict().items()})
            else:
                bad_evals += 1
        now = time.perf_counter()
        record = EpochRecord(epoch=epoch, loss=loss, val_ndcg=val, seconds=now - t0, elapsed=now - started)
        history.epochs.append(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", ndcg=f"{val:.4f}" if val is not None else "-")
        elif callable(progress):
            progress({**asdict(record), "epochs": epochs, "best": best if best > -math.inf else None, "model": name})
        if patience and evaluate is not None and bad_evals >= patience:
            history.stopped_early = True
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
        history.best_val_ndcg = best
    else:
        history.best_epoch = len(history.epochs) - 1
    module.eval()
    return history


# --------------------------------------------------------------------------- state (de)serialisation


def state_to_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """Serialise a flat ``{name: tensor}`` dict (CPU, contiguous) with torch.save."""
    buf = io.BytesIO()
    torch.save({k: v.detach().to("cpu").contiguous() for k, v in state.items()}, buf)
    return buf.getvalue()


def state_from_bytes(data: bytes, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Inverse of :func:`state_to_bytes`; refuses anything but tensors (``weights_only=True``)."""
    return torch.load(io.BytesIO(data), map_location=device, weights_only=True)


def save_state(state: dict[str, torch.Tensor], path) -> None:
    with open(path, "wb") as fh:
        fh.write(state_to_bytes(state))


def load_state(path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    return torch.load(path, map_location=device, weights_only=True)


# --------------------------------------------------------------------------- scoring helpers


def batched_scores(
    score_fn: Callable[[np.ndarray], torch.Tensor], n_rows: int, batch_size: int = 1024
) -> np.ndarray:
    """Stack ``score_fn(rows)`` over row batches into a float32 numpy array."""
    blocks = [score_fn(rows).float().cpu().numpy() for rows in minibatches(n_rows, batch_size)]
    if not blocks:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(blocks, axis=0)


def to_numpy_state(state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in state.items()}
