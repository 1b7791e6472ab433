"""BERT4Rec (Sun et al., CIKM 2019, "BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations from Transformer").

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

Sequences, the shared encoder and the scoring path: :mod:`ml.models.neural.sequence`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.models.neural.sequence import PAD, SequenceEncoder, SequentialRecommender, pad_left
from ml.models.neural.validation import ValidationSplit
from ml.models.registry import register

__all__ = ["BERT4Rec", "BERT4RecNet", "cloze_mask"]


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


@register("bert4rec")
class BERT4Rec(SequentialRecommender):
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

    def _training_loss(self, net: BERT4RecNet, train_seqs, split: ValidationSplit, rng, dev):
        """Every user's most recent ``max_len`` items, Cloze-masked afresh in every batch."""
        users = np.array([u for u, s in enumerate(train_seqs) if len(s) >= 1], dtype=np.int64)
        tokens = pad_left([train_seqs[u] for u in users], self.max_len)
        mask_token = self.n_items + 1

        def batch_loss(b: np.ndarray, _: None) -> torch.Tensor:
            inp, labels = cloze_mask(tokens[b], mask_token, self.mask_prob, rng, self.last_mask_ratio)
            return net.cloze_loss(torch.from_numpy(inp).to(dev), torch.from_numpy(labels).to(dev))

        return len(users), batch_loss
