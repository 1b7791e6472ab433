"""Early-stopping validation for the torch recommenders: a hold-out taken from the
*training* data (never from the caller's test split) and NDCG@k on it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ml.models.neural.data import minibatches

__all__ = ["ValidationSplit", "holdout_matrix", "ndcg_at_k", "evaluate_ndcg"]


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
