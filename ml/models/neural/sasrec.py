"""SASRec (Kang & McAuley, ICDM 2018, "Self-Attentive Sequential Recommendation").

* causal attention: position t attends to positions <= t only;
* training: at every position t the target is s_{t+1}; loss is binary
  cross-entropy with the positive and **one sampled negative per position** (a
  random item the user has not interacted with), exactly as in the paper (eq. 4);
* prediction: hidden state of the last position of the user's sequence.
Paper defaults: d=50, 2 blocks, 1 head, dropout 0.2 (0.5 on sparse sets), lr 1e-3,
batch 128, max_len 200 (ML-1M) / 50 (others). The official code uses one training
sequence per user (its most recent ``max_len + 1`` items); so do we.

Sequences, the shared encoder and the scoring path: :mod:`ml.models.neural.sequence`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.models.neural.data import NegativeSampler
from ml.models.neural.sequence import PAD, SequenceEncoder, SequentialRecommender, pad_left
from ml.models.neural.validation import ValidationSplit
from ml.models.registry import register

__all__ = ["SASRec", "SASRecNet"]


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


@register("sasrec")
class SASRec(SequentialRecommender):
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

    def _training_loss(self, net: SASRecNet, train_seqs, split: ValidationSplit, rng, dev):
        """One training window per user (the most recent ``max_len + 1`` items), next-item BCE."""
        users = np.array([u for u, s in enumerate(train_seqs) if len(s) >= 2], dtype=np.int64)
        window = [train_seqs[u][-(self.max_len + 1) :] for u in users]
        inputs = pad_left([w[:-1] for w in window], self.max_len)
        targets = pad_left([w[1:] for w in window], self.max_len)
        sampler = NegativeSampler(split.train)

        def batch_loss(b: np.ndarray, _: None) -> torch.Tensor:
            pos = targets[b]
            neg = sampler.sample(users[b], self.max_len, rng) + 1
            neg[pos == PAD] = PAD
            return net.bce_loss(
                torch.from_numpy(inputs[b]).to(dev), torch.from_numpy(pos).to(dev), torch.from_numpy(neg).to(dev)
            )

        return len(users), batch_loss
