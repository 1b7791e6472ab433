"""Data plumbing for the torch recommenders: mini-batches, scipy -> torch conversion,
CSR rows from item lists, and a vectorised negative sampler."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from ml.utils.arrays import isin_sorted

__all__ = [
    "minibatches",
    "csr_rows_to_dense",
    "scipy_to_torch_csr",
    "scipy_to_torch_sparse",
    "items_to_csr",
    "NegativeSampler",
]


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
    with warnings.catch_warnings():
        # torch flags sparse CSR as "beta"; we only use CSR @ dense and its backward
        # with respect to the dense operand, which are stable.
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(np.int64)),
            torch.from_numpy(m.indices.astype(np.int64)),
            torch.from_numpy(m.data),
            size=m.shape,
            device=device,
        )


def scipy_to_torch_sparse(matrix: sp.spmatrix, device: torch.device) -> torch.Tensor:
    """Sparse operand for ``torch.sparse.mm`` with autograd on the dense side: CSR on CPU
    (fastest there), coalesced COO on CUDA (the layout with the most mature backward)."""
    if device.type == "cpu":
        return scipy_to_torch_csr(matrix, device)
    m = sp.coo_matrix(matrix, dtype=np.float32)
    idx = torch.from_numpy(np.vstack([m.row, m.col]).astype(np.int64))
    return torch.sparse_coo_tensor(idx, torch.from_numpy(m.data), size=m.shape).coalesce().to(device)


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
        return isin_sorted(keys, self._keys)

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
