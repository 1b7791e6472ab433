"""Sequential recommenders: SASRec and BERT4Rec on one transformer encoder.

Both read each user's item sequence from ``Interactions.log`` (time-ordered), keep the
most recent ``max_len`` items, left-pad with 0 (item index ``i`` is token ``i + 1``),
add learned positional embeddings and run ``n_blocks`` pre-LayerNorm transformer
blocks (``nn.TransformerEncoderLayer(norm_first=True)``). Scoring is a full ranking:
the hidden state of the prediction position dotted with every item's (shared, tied)
input embedding.

SASRec (Kang & McAuley, ICDM 2018, "Self-Attentive Sequential Recommendation")
  * causal attention: position t attends to positions <= t only;
  * training: at every position t the target is s_{t+1}; loss is binary
    cross-entropy with the positive and **one sampled negative per position** (a
    random item the user has not interacted with), exactly as in the paper (eq. 4);
  * prediction: hidden state of the last position of the user's sequence.
  Paper defaults: d=50, 2 blocks, 1 head, dropout 0.2 (0.5 on sparse sets), lr 1e-3,
  batch 128, max_len 200 (ML-1M) / 50 (others). The official code uses one training
  sequence per user (its most recent ``max_len + 1`` items); so do we.

BERT4Rec (Sun et al., CIKM 2019, "BERT4Rec: Sequential Recommendation with
Bidirectional Encoder Representations from Transformer")
  * bidirectional attention over the non-padding positions;
  * Cloze training: each item is replaced by [MASK] with probability ``mask_prob``
    (at least one per sequence); additionally a fraction ``last_mask_ratio`` of the
    sequences in every batch masks only the last item, the paper's trick to match the
    prediction task (section 3.6);
  * output layer (eq. 7): ``GELU(h W + b)`` -> LayerNorm -> dot with the shared item
    embeddings + an output bias; loss is full-softmax cross-entropy over the catalogue
    at the masked positions;
  * prediction: append [MASK] after the (truncated) sequence and rank at that position.
  Paper defaults: d=64, 2 blocks, 2 heads, dropout 0.1, GELU, lr 1e-4 (we default to 1e-3
  with Adam, which converges much faster on small data), batch 256, max_len 200/50,
  mask_prob 0.2 (ML-1M) to 0.6.

``recommend_for_items`` runs the encoder on the given item list *as a sequence* (the
caller's order is kept), so it serves anonymous sessions directly; known users use
their logged sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel
from ml.models.neural.common import (
    NegativeSampler,
    TorchModelMixin,
    ValidationSplit,
    cosine_rows,
    items_to_csr,
    minibatches,
)
from ml.models.registry import register

__all__ = [
    "SASRec",
    "BERT4Rec",
    "SASRecNet",
    "BERT4RecNet",
    "SequenceEncoder",
    "attention_mask",
    "cloze_mask",
    "build_sequences",
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


class SASRecNet(nn.Module):
    def __init__(self, n_items: int, hidden: int = 50, max_len: int = 50, n_blocks: int = 2, n_heads: int = 1, dropout: float = 0.2):
        super().__init__()
        # The paper's point-wise FFN is two d x d layers with ReLU.
        self.encoder = SequenceEncoder(n_items, hidden, max_len, n_blocks, n_heads, dropout, causal=True, activation="relu")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder(tokens)

    def bce_loss(self, inputs: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Paper eq. 4: BCE on the next item vs one sampled negative at every real position.

        ``pos``/``neg`` are item tokens (index + 1), 0 where there is no target.
        """
        h = self.encoder(inputs)
        table = self.encoder.item_emb
        pos_logit = (h * table(pos)).sum(-1)
        neg_logit = (h * table(neg)).sum(-1)
        valid = (pos != PAD).to(h.dtype)
        loss = F.softplus(-pos_logit) + F.softplus(neg_logit)  # -log s(p) - log(1 - s(n))
        return (loss * valid).sum() / valid.sum().clamp_min(1.0)

    def score_last(self, tokens: torch.Tensor) -> torch.Tensor:
        """Scores of every item at the last position (sequences are left-padded)."""
        h = self.encoder(tokens)[:, -1, :]
        return h @ self.encoder.item_table().T


class BERT4RecNet(nn.Module):
    def __init__(self, n_items: int, hidden: int = 64, max_len: int = 50, n_blocks: int = 2, n_heads: int = 2, dropout: float = 0.1):
        super().__init__()
        self.n_items = n_items
        self.mask_token = n_items + 1
        self.encoder = SequenceEncoder(
            n_items, hidden, max_len, n_blocks, n_heads, dropout, causal=False, activation="gelu", with_mask_token=True
        )
        self.out_proj = nn.Linear(hidden, hidden)
        self.out_norm = nn.LayerNorm(hidden)
        self.out_bias = nn.Parameter(torch.zeros(n_items))

    def item_logits(self, h: torch.Tensor) -> torch.Tensor:
        h = self.out_norm(F.gelu(self.out_proj(h)))
        return h @ self.encoder.item_table().T + self.out_bias

    def cloze_loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the catalogue at masked positions (``labels`` = item token or 0)."""
        h = self.encoder(tokens)
        sel = labels != PAD
        logits = self.item_logits(h[sel])
        return F.cross_entropy(logits, labels[sel] - 1)

    def score_last(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` already end with [MASK]; scores at that position."""
        h = self.encoder(tokens)[:, -1, :]
        return self.item_logits(h)


def cloze_mask(
    tokens: np.ndarray,
    mask_token: int,
    mask_prob: float,
    rng: np.random.Generator,
    last_mask_ratio: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT4Rec Cloze corruption of left-padded token rows.

    Returns ``(inputs, labels)``: each real token is masked with probability
    ``mask_prob`` (rows with no draw get their last item masked, so every row trains);
    rows chosen with probability ``last_mask_ratio`` mask only their last item.
    ``labels`` holds the original token at masked positions, 0 elsewhere.
    """
    valid = tokens != PAD
    masked = (rng.random(tokens.shape) < mask_prob) & valid
    last_only = rng.random(len(tokens)) < last_mask_ratio
    none = ~masked.any(axis=1)
    fix = (last_only | none) & valid[:, -1]
    masked[fix] = False
    masked[fix, -1] = True
    inputs = np.where(masked, mask_token, tokens)
    labels = np.where(masked, tokens, PAD)
    return inputs, labels


# --------------------------------------------------------------------------- recommenders


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


class _SequentialRecommender(TorchModelMixin, FactorModel):
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

    def _finish_fit(self, net: nn.Module, seqs: list[np.ndarray]) -> None:
        self.net_ = net
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


@register("sasrec")
class SASRec(_SequentialRecommender):
    """SASRec: causal self-attention, BCE with one sampled negative per position.
    Defaults from the paper: hidden 50, 2 blocks, 1 head, dropout 0.2, max_len 50,
    Adam 1e-3, batch 128."""

    def __init__(
        self,
        *,
        hidden: int = 50,
        n_blocks: int = 2,
        n_heads: int = 1,
        dropout: float = 0.2,
        max_len: int = 50,
        epochs: int = 200,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
        self.max_len = max_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _build_net(self) -> SASRecNet:
        return SASRecNet(self.n_items, self.hidden, self.max_len, self.n_blocks, self.n_heads, self.dropout)

    def _prediction_tokens(self, seqs):
        return pad_left(list(seqs), self.max_len)

    def _encode_tokens(self, tokens):
        return self.net_.encoder(tokens)[:, -1, :]

    def _item_factor_tensor(self):
        return self.net_.encoder.item_table()

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        seqs = dataset_sequences(dataset)
        train_seqs, split = holdout_last(
            seqs, self.n_items, rng, val_fraction=self.val_fraction, max_val_users=self.max_val_users
        )
        users = np.array([u for u, s in enumerate(train_seqs) if len(s) >= 2], dtype=np.int64)
        window = [train_seqs[u][-(self.max_len + 1) :] for u in users]
        inputs = pad_left([w[:-1] for w in window], self.max_len)
        targets = pad_left([w[1:] for w in window], self.max_len)
        sampler = NegativeSampler(split.train)
        self.net_ = net = self._build_net().to(dev)
        opt = self._optimizer(net)

        def run_epoch(epoch: int) -> float:
            total, n = 0.0, 0
            for b in minibatches(len(users), self.batch_size, rng):
                pos = targets[b]
                neg = sampler.sample(users[b], self.max_len, rng) + 1
                neg[pos == PAD] = PAD
                loss = net.bce_loss(
                    torch.from_numpy(inputs[b]).to(dev), torch.from_numpy(pos).to(dev), torch.from_numpy(neg).to(dev)
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                n += len(b)
            return total / max(n, 1)

        self._run_training(net, run_epoch, self._evaluator(split, self._score_fn(train_seqs, split), seen=split.train))
        self._finish_fit(net, seqs)


@register("bert4rec")
class BERT4Rec(_SequentialRecommender):
    """BERT4Rec: bidirectional encoder trained with the Cloze task, full softmax.
    Defaults from the paper: hidden 64, 2 blocks, 2 heads, dropout 0.1, max_len 50,
    mask_prob 0.2, batch 256 (lr 1e-3 rather than 1e-4, see the module docstring)."""

    def __init__(
        self,
        *,
        hidden: int = 64,
        n_blocks: int = 2,
        n_heads: int = 2,
        dropout: float = 0.1,
        max_len: int = 50,
        mask_prob: float = 0.2,
        last_mask_ratio: float = 0.1,
        epochs: int = 200,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
        self.max_len = max_len
        self.mask_prob = mask_prob
        self.last_mask_ratio = last_mask_ratio
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _validate_params(self) -> None:
        super()._validate_params()
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError("mask_prob must be in (0, 1)")
        if not 0.0 <= self.last_mask_ratio <= 1.0:
            raise ValueError("last_mask_ratio must be in [0, 1]")

    def _build_net(self) -> BERT4RecNet:
        return BERT4RecNet(self.n_items, self.hidden, self.max_len, self.n_blocks, self.n_heads, self.dropout)

    def _prediction_tokens(self, seqs):
        tokens = pad_left([np.asarray(s)[-(self.max_len - 1) :] for s in seqs], self.max_len - 1)
        return np.hstack([tokens, np.full((len(tokens), 1), self.n_items + 1, dtype=np.int64)])

    def _encode_tokens(self, tokens):
        """``[GELU-LN projection of h_mask, 1]`` so that ``score = u . [E, bias]``."""
        net = self.net_
        h = net.encoder(tokens)[:, -1, :]
        h = net.out_norm(F.gelu(net.out_proj(h)))
        return torch.cat([h, torch.ones(len(h), 1, device=h.device, dtype=h.dtype)], dim=1)

    def _item_factor_tensor(self):
        net = self.net_
        return torch.cat([net.encoder.item_table(), net.out_bias[:, None]], dim=1)

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        seqs = dataset_sequences(dataset)
        train_seqs, split = holdout_last(
            seqs, self.n_items, rng, val_fraction=self.val_fraction, max_val_users=self.max_val_users
        )
        users = np.array([u for u, s in enumerate(train_seqs) if len(s) >= 1], dtype=np.int64)
        tokens = pad_left([train_seqs[u] for u in users], self.max_len)
        self.net_ = net = self._build_net().to(dev)
        opt = self._optimizer(net)
        mask_token = self.n_items + 1

        def run_epoch(epoch: int) -> float:
            total, n = 0.0, 0
            for b in minibatches(len(users), self.batch_size, rng):
                inp, labels = cloze_mask(tokens[b], mask_token, self.mask_prob, rng, self.last_mask_ratio)
                loss = net.cloze_loss(torch.from_numpy(inp).to(dev), torch.from_numpy(labels).to(dev))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                n += len(b)
            return total / max(n, 1)

        self._run_training(net, run_epoch, self._evaluator(split, self._score_fn(train_seqs, split), seen=split.train))
        self._finish_fit(net, seqs)
