"""Factorization Machine ranker (Rendle, ICDM 2010, "Factorization Machines").

Eq. 1 with the O(k n) identity of lemma 3.1::

    y(x) = w0 + sum_i w_i x_i + 1/2 sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

Features, context and training are shared with Wide & Deep: see :mod:`ml.models.neural.feature_ranker`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel
from ml.models.neural.data import minibatches
from ml.models.neural.feature_ranker import FeatureRanker, user_values, with_user
from ml.models.neural.torch_base import cosine_rows
from ml.models.registry import register

__all__ = ["FactorizationMachine", "FMNet", "fm_pairwise_naive"]


class FMNet(nn.Module):
    """Second-order FM over global feature indices with per-slot values.

    ``user=(v_u, w_u)`` substitutes free parameters for the user slot (fold-in of a
    user unknown at fit time).
    """

    def __init__(self, n_features: int, factors: int = 16, init_std: float = 0.01):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))
        self.linear = nn.Embedding(n_features, 1)
        self.v = nn.Embedding(n_features, factors)
        nn.init.zeros_(self.linear.weight)
        nn.init.normal_(self.v.weight, std=init_std)

    def parts(self, idx, val, user=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(linear, sum_i v_i x_i, within-pairwise)`` for slots ``idx``/``val`` of shape ``(N, S)``."""
        uv, uw = (None, None) if user is None else user
        val = user_values(val, uv)
        lin = (with_user(self.linear, idx, uw).squeeze(-1) * val).sum(-1)
        xv = with_user(self.v, idx, uv) * val.unsqueeze(-1)  # (N, S, k)
        s = xv.sum(1)
        pair = 0.5 * (s.pow(2) - xv.pow(2).sum(1)).sum(-1)  # Rendle 2010, lemma 3.1
        return lin, s, pair

    def forward(self, idx: torch.Tensor, val: torch.Tensor, user=None) -> torch.Tensor:
        lin, _, pair = self.parts(idx, val, user)
        return self.bias + lin + pair

    def side_factors(self, idx, val, user=None, *, item_side: bool) -> torch.Tensor:
        """Vectors such that ``user_side . item_side`` is the exact FM logit.

        user side ``[s_u, 1, bias + lin_u + pair_u]``, item side ``[s_i, lin_i + pair_i, 1]``:
        splitting the slots into the user/context set A and the item set B,
        ``pairs(A u B) = pairs(A) + pairs(B) + <sum_A v x, sum_B v x>``.
        """
        lin, s, pair = self.parts(idx, val, user)
        one = torch.ones_like(lin)
        if item_side:
            return torch.cat([s, (lin + pair)[:, None], one[:, None]], dim=1)
        return torch.cat([s, one[:, None], (self.bias + lin + pair)[:, None]], dim=1)

    def score_all(self, u_idx, u_val, i_idx, i_val, user=None) -> torch.Tensor:
        """``(B, I)`` logits of B user/context rows against I item rows."""
        return self.side_factors(u_idx, u_val, user, item_side=False) @ self.side_factors(i_idx, i_val, item_side=True).T


def fm_pairwise_naive(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reference O(n^2 k): ``sum_{i<j} <v_i, v_j> x_i x_j`` for one dense sample (tests)."""
    total = torch.zeros((), dtype=v.dtype)
    n = x.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            total = total + (v[i] * v[j]).sum() * x[i] * x[j]
    return total


@register("fm")
class FactorizationMachine(FeatureRanker, FactorModel):
    """Second-order FM over user, context and item features (module docstring).

    The FM logit splits exactly into a user/context vector dotted with an item vector
    (:meth:`FMNet.side_factors`), so recommendation is the shared FactorModel path
    (``item_embeddings()`` works for an ANN index) and its scores equal
    :meth:`score` with each user's usual context. Defaults: 16 factors, N(0, 0.01)
    init (Rendle), Adam 1e-3, batch 1024, 4 negatives per positive.
    """

    def __init__(
        self,
        *,
        factors: int = 16,
        n_neg: int = 4,
        price_buckets: int = 10,
        max_tags: int = 8,
        use_hour: bool = True,
        fold_in_steps: int = 50,
        fold_in_lr: float = 0.05,
        fold_in_l2: float = 1e-3,
        epochs: int = 50,
        batch_size: int = 1024,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 5,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.factors = factors
        self.n_neg = n_neg
        self.price_buckets = price_buckets
        self.max_tags = max_tags
        self.use_hour = use_hour
        self.fold_in_steps = fold_in_steps
        self.fold_in_lr = fold_in_lr
        self.fold_in_l2 = fold_in_l2
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
        self._validate_ranker()
        if self.factors < 1:
            raise ValueError("factors must be >= 1")

    def _build_net(self) -> FMNet:
        return FMNet(int(sum(self.field_sizes_.values())), self.factors)

    def _user_tables(self):
        return self.net_.v, self.net_.linear

    def _fit(self, dataset: Interactions) -> None:
        self._fit_ranker(dataset)
        dev = self._torch_device()
        with torch.no_grad():
            i_idx, i_val = self._item_slots(dev)
            self.item_factors_ = self.net_.side_factors(i_idx, i_val, item_side=True).cpu().numpy().astype(np.float32)
            users = np.arange(self.n_users)
            ctx = self.user_context_
            blocks = []
            for b in minibatches(self.n_users, 8192):
                u_idx, u_val = self._user_slots(users[b], ctx[b, 0], ctx[b, 1], dev)
                blocks.append(self.net_.side_factors(u_idx, u_val, item_side=False).cpu().numpy())
            self.user_factors_ = np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        e, w = self._fold_in_params(history)
        n = history.shape[0]
        d, h = self.default_context_
        with torch.no_grad():
            u_idx, u_val = self._user_slots(np.full(n, -1), np.full(n, d), np.full(n, h), self._torch_device())
            return self.net_.side_factors(u_idx, u_val, (e, w), item_side=False).cpu().numpy().astype(np.float32)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        return cosine_rows(self.item_factors_[:, : self.factors], item_indices, item_subset)
