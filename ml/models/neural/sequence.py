"""What the sequential recommenders (SASRec, BERT4Rec) share: sequences and one transformer encoder.

Both read each user's item sequence from ``Interactions.log`` (time-ordered), keep the
most recent ``max_len`` items, left-pad with 0 (item index ``i`` is token ``i + 1``),
add learned positional embeddings and run ``n_blocks`` pre-LayerNorm transformer
blocks (``nn.TransformerEncoderLayer(norm_first=True)``). Scoring is a full ranking:
the hidden state of the prediction position dotted with every item's (shared, tied)
input embedding.

``recommend_for_items`` runs the encoder on the given item list *as a sequence* (the
caller's order is kept), so it serves anonymous sessions directly; known users use
their logged sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel
from ml.models.neural.data import items_to_csr, minibatches
from ml.models.neural.torch_base import TorchModelMixin, cosine_rows
from ml.models.neural.validation import ValidationSplit

__all__ = [
    "PAD",
    "SequentialRecommender",
    "SequenceEncoder",
    "attention_mask",
    "build_sequences",
    "dataset_sequences",
    "holdout_last",
    "pad_left",
]

PAD = 0


def build_sequences(user_index: np.ndarray, item_index: np.ndarray, n_users: int) -> list[np.ndarray]:
    """Per-user item sequences (item indices, time order kept) from a time-ordered log."""
    order = np.argsort(np.asarray(user_index), kind="stable")
    users = np.asarray(user_index)[order]
    items = np.asarray(item_index, dtype=np.int64)[order]
    bounds = np.searchsorted(users, np.arange(n_users + 1))
    return [items[bounds[u] : bounds[u + 1]] for u in range(n_users)]


def pad_left(seqs: list[np.ndarray], max_len: int, offset: int = 1) -> np.ndarray:
    """``(len(seqs), max_len)`` int64 tokens, most recent item last, 0-padded on the left."""
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = np.asarray(s, dtype=np.int64)[-max_len:]
        if len(s):
            out[r, max_len - len(s) :] = s + offset
    return out


def attention_mask(tokens: torch.Tensor, causal: bool, n_heads: int) -> torch.Tensor:
    """Boolean ``(B * n_heads, L, L)`` mask, True = blocked.

    Query t may attend to key j when j is a real item (not padding) and, for causal
    models, j <= t. Every query may always attend to itself, so padded query rows are
    never fully blocked (which would give NaN); their outputs are discarded anyway.
    """
    b, length = tokens.shape
    valid = tokens != PAD  # (B, L)
    allowed = valid[:, None, :].expand(b, length, length)
    eye = torch.eye(length, dtype=torch.bool, device=tokens.device)
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()
    allowed = allowed | eye
    return (~allowed).repeat_interleave(n_heads, dim=0)


class SequenceEncoder(nn.Module):
    """Item + positional embeddings and pre-LN transformer blocks, shared by both models.

    Token 0 is padding, tokens ``1..n_items`` are items, and ``n_items + 1`` is [MASK]
    when ``with_mask_token`` is set.
    """

    def __init__(
        self,
        n_items: int,
        hidden: int,
        max_len: int,
        n_blocks: int,
        n_heads: int,
        dropout: float,
        causal: bool,
        activation: str = "gelu",
        with_mask_token: bool = False,
    ):
        super().__init__()
        self.n_items, self.max_len, self.n_heads, self.causal = n_items, max_len, n_heads, causal
        self.item_emb = nn.Embedding(n_items + 1 + int(with_mask_token), hidden, padding_idx=PAD)
        self.pos_emb = nn.Embedding(max_len, hidden)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model=hidden,
            nhead=n_heads,
            dim_feedforward=4 * hidden if activation == "gelu" else hidden,
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, num_layers=n_blocks, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(hidden)
        self.scale = math.sqrt(hidden)
        nn.init.normal_(self.item_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        with torch.no_grad():
            self.item_emb.weight[PAD].zero_()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, L, hidden)``; padded positions are zeroed."""
        length = tokens.shape[1]
        pos = torch.arange(length, device=tokens.device)
        x = self.item_emb(tokens) * self.scale + self.pos_emb(pos)[None]
        valid = (tokens != PAD).unsqueeze(-1).to(x.dtype)
        x = self.drop(x) * valid
        mask = attention_mask(tokens, self.causal, self.n_heads)
        x = self.blocks(x, mask=mask)
        return self.final_norm(x) * valid

    def item_table(self) -> torch.Tensor:
        """Embeddings of the real items, row ``i`` = item index ``i``."""
        return self.item_emb.weight[1 : self.n_items + 1]


def dataset_sequences(dataset: Interactions) -> list[np.ndarray]:
    """Per-user item sequences from the positive events of ``dataset.log`` (time order).

    Without a log (``Interactions.from_matrix``) a user's row items in index order
    stand in for the sequence (no time information exists then).
    """
    if dataset.log is not None and len(dataset.log):
        log = dataset.log.positive()
        return build_sequences(log.user_index, log.item_index, dataset.n_users)
    m = dataset.matrix
    return [m.indices[m.indptr[u] : m.indptr[u + 1]].astype(np.int64) for u in range(dataset.n_users)]


def holdout_last(
    seqs: list[np.ndarray], n_items: int, rng: np.random.Generator, *, val_fraction: float, max_val_users: int
) -> tuple[list[np.ndarray], ValidationSplit]:
    """Leave-last-out on a sample of users: their last item is the validation target.

    Only users whose last item does not occur earlier in their sequence (so it is
    reachable with seen items excluded) and who keep >= 2 items are eligible.
    ``split.train`` is the binary user x item matrix of the remaining sequences
    (used to mask seen items during validation).
    """
    n_users = len(seqs)
    eligible = np.array(
        [u for u, s in enumerate(seqs) if len(s) >= 3 and not (s[:-1] == s[-1]).any()], dtype=np.int64
    )
    n_val = min(int(math.ceil(val_fraction * n_users)), max_val_users, len(eligible))
    train_seqs = list(seqs)
    if val_fraction <= 0 or n_val <= 0:
        users = np.zeros(0, dtype=np.int64)
        truth = sp.csr_matrix((0, n_items), dtype=np.float32)
    else:
        users = np.sort(rng.choice(eligible, size=n_val, replace=False))
        targets = np.array([seqs[u][-1] for u in users], dtype=np.int64)
        for u in users:
            train_seqs[u] = seqs[u][:-1]
        truth = sp.csr_matrix(
            (np.ones(len(users), np.float32), (np.arange(len(users)), targets)), shape=(len(users), n_items)
        )
    seen = items_to_csr(train_seqs, n_items)
    seen.data[:] = 1.0
    return train_seqs, ValidationSplit(seen, users, truth)


class SequentialRecommender(TorchModelMixin, FactorModel):
    """Shared fit/score plumbing: both models are dot products of a sequence encoding
    with item vectors, so they are stored as factors (``user_factors_`` = encoding of
    each known user's logged sequence at fit time) and share FactorModel scoring."""

    def _validate_params(self) -> None:
        self._validate_common()
        if self.hidden < 1 or self.n_blocks < 1 or self.n_heads < 1 or self.hidden % self.n_heads:
            raise ValueError("hidden, n_blocks, n_heads must be >= 1 and hidden divisible by n_heads")
        if self.max_len < 2:
            raise ValueError("max_len must be >= 2")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    # hooks of the two models
    def _prediction_tokens(self, seqs: Sequence[np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """User vectors (``user_factors_`` space) for prediction token rows."""
        raise NotImplementedError

    def _item_factor_tensor(self) -> torch.Tensor:  # pragma: no cover
        """Item vectors (``item_factors_`` space) as a tensor on the model's device."""
        raise NotImplementedError

    def _item_factors(self) -> np.ndarray:
        return self._item_factor_tensor().detach().float().cpu().numpy()

    @torch.no_grad()
    def _encode_sequences(self, seqs: Sequence[np.ndarray], batch: int = 1024) -> np.ndarray:
        dev = self._torch_device()
        self.net_.eval()
        blocks = []
        for b in minibatches(len(seqs), batch):
            tokens = torch.from_numpy(self._prediction_tokens([seqs[r] for r in b])).to(dev)
            blocks.append(self._encode_tokens(tokens).float().cpu().numpy())
        d = self.item_factors_.shape[1] if "item_factors_" in vars(self) else self.hidden
        out = np.concatenate(blocks) if blocks else np.zeros((0, d), np.float32)
        empty = np.array([len(s) == 0 for s in seqs], dtype=bool)
        out[empty] = 0.0  # no history: base class falls back to popularity
        return np.ascontiguousarray(out, dtype=np.float32)

    def _training_loss(
        self, net: nn.Module, train_seqs: list[np.ndarray], split: ValidationSplit, rng: np.random.Generator, dev: torch.device
    ) -> tuple[int, Callable[[np.ndarray, None], torch.Tensor]]:  # pragma: no cover - abstract
        """``(n_samples, batch_loss)`` for :meth:`TorchModelMixin._train` (the model's training task)."""
        raise NotImplementedError

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        seqs = dataset_sequences(dataset)
        train_seqs, split = holdout_last(
            seqs, self.n_items, rng, val_fraction=self.val_fraction, max_val_users=self.max_val_users
        )
        self.net_ = net = self._build_net().to(dev)
        n_samples, batch_loss = self._training_loss(net, train_seqs, split, rng, dev)
        evaluate = self._evaluator(split, self._score_fn(train_seqs, split), seen=split.train)
        self._train(net, rng, evaluate, n_samples=n_samples, batch_loss=batch_loss)
        self.item_factors_ = np.ascontiguousarray(self._item_factors(), dtype=np.float32)
        self.user_factors_ = self._encode_sequences(seqs)

    def _score_fn(self, seqs: list[np.ndarray], split: ValidationSplit):
        dev = self._torch_device()

        def score_rows(rows: np.ndarray) -> torch.Tensor:
            tokens = torch.from_numpy(self._prediction_tokens([seqs[u] for u in split.users[rows]])).to(dev)
            return self._encode_tokens(tokens) @ self._item_factor_tensor().T

        return score_rows

    # -- new users / anonymous sessions: order matters
    def sequence_vectors(self, item_lists: Sequence[Sequence[Any]]) -> np.ndarray:
        """User vectors for external item-id sequences (oldest first; unknown ids dropped)."""
        self._check_fitted()
        seqs = []
        for lst in item_lists:
            idx = self.item_map_.to_index(np.asarray(lst).reshape(-1), missing="ignore") if len(lst) else np.zeros(0, np.int64)
            seqs.append(idx[idx >= 0])
        return self._encode_sequences(seqs)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """CSR rows carry no order: items are taken in index order. Prefer
        :meth:`recommend_for_items`, which keeps the caller's sequence order."""
        h = sp.csr_matrix(history)
        return self._encode_sequences([h.indices[h.indptr[r] : h.indptr[r + 1]].astype(np.int64) for r in range(h.shape[0])])

    def recommend_for_items(
        self,
        item_lists: Sequence[Sequence[Any]],
        k: int = 10,
        *,
        weights: Sequence[Sequence[float]] | None = None,
        exclude_seen: bool = True,
        allowed_items: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rank for item *sequences* (oldest first), e.g. an anonymous session.

        Same contract as the base method; ``weights`` only affect which items count
        as seen (a sequence model reads order, not weights).
        """
        history = self.history_from_items(item_lists, weights)
        vectors = self.sequence_vectors(item_lists)
        nnz = np.diff(history.indptr)
        idx, scores = self._rank(
            len(item_lists),
            k,
            lambda s, e, cand: self._dot(vectors[s:e], cand),
            (lambda s, e: history[s:e]) if exclude_seen else None,
            lambda s, e: nnz[s:e] == 0,
            self._allowed_to_indices(self._external_allowed(allowed_items)),
        )
        return self.item_map_.to_external(idx), scores

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        return cosine_rows(self.item_factors_[:, : self.hidden], item_indices, item_subset)
