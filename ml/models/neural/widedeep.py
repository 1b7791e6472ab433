"""Wide & Deep ranker (Cheng et al., DLRS 2016, "Wide & Deep Learning for Recommender Systems").

``sigmoid(w_wide^T [x, phi(x)] + w_deep^T a_L + b)``
(eq. 3) where ``x`` are the raw sparse features, ``phi(x)`` hashed cross-product
features (AND of two fields' values, e.g. user x category, device x item) and ``a_L``
the last hidden layer of an MLP over concatenated per-field embeddings (bags are
mean-pooled). The paper trains the wide part with FTRL+L1 and the deep part with
AdaGrad; here one Adam optimiser trains both jointly (still joint training, not an
ensemble).

Features, context and training are shared with the FM: see :mod:`ml.models.neural.feature_ranker`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import Recommender
from ml.models.neural.feature_ranker import (
    CROSSES,
    FIELDS,
    ITEM_FIELDS,
    USER_FIELDS,
    FeatureRanker,
    user_values,
    with_user,
)
from ml.models.neural.torch_base import cosine_rows
from ml.models.registry import register

__all__ = ["WideDeep", "WideDeepNet", "cross_index"]


def cross_index(a: torch.Tensor, b: torch.Tensor, pair: int, buckets: int) -> torch.Tensor:
    """Hashed bucket of the AND(a, b) cross feature (field-local codes)."""
    h = (a.long() * 1_000_003 + b.long()) * 31 + pair
    return torch.remainder(h * 2_654_435_761, buckets)


class WideDeepNet(nn.Module):
    """Wide (raw + hashed cross features, linear) and deep (per-field embeddings -> ReLU
    MLP) parts summed into one logit. ``user=(e_u, w_u)`` substitutes free parameters
    for the user slot (fold-in); crosses involving a missing code (0) are dropped."""

    def __init__(
        self,
        field_sizes: Mapping[str, int],
        slot_fields: list[str],
        embed_dim: int = 32,
        hidden: tuple[int, ...] = (256, 128, 64),
        cross_buckets: int = 1 << 17,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.field_sizes = {f: int(field_sizes[f]) for f in FIELDS}
        self.slot_fields = list(slot_fields)
        self.offsets = {}
        total = 0
        for f in FIELDS:
            self.offsets[f] = total
            total += self.field_sizes[f]
        self.cross_buckets = int(cross_buckets)
        self.wide = nn.Embedding(total, 1)
        self.wide_cross = nn.Embedding(self.cross_buckets, 1)
        self.bias = nn.Parameter(torch.zeros(1))
        nn.init.zeros_(self.wide.weight)
        nn.init.zeros_(self.wide_cross.weight)
        self.emb = nn.Embedding(total, embed_dim)
        nn.init.normal_(self.emb.weight, std=0.01)
        widths = [len(FIELDS) * embed_dim, *[int(h) for h in hidden]]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=False))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(widths[-1], 1)
        self.embed_dim = embed_dim
        self.n_user_slots = sum(1 for f in self.slot_fields if f in USER_FIELDS)
        # slot ranges of every field, for the whole layout and for each side
        # (slots of one field are contiguous: user, device, hour | item, category, price, tags...)
        user_slots = [f for f in self.slot_fields if f in USER_FIELDS]
        item_slots = [f for f in self.slot_fields if f not in USER_FIELDS]
        if self.slot_fields != user_slots + item_slots:
            raise ValueError("user/context slots must come before item slots")
        self._ranges = {
            "all": self._field_ranges(self.slot_fields),
            "user": self._field_ranges(user_slots),
            "item": self._field_ranges(item_slots),
        }
        # position of each single-valued field's slot within its side (user side / item side)
        self._side_pos = {}
        for f in FIELDS:
            if f in self.slot_fields:
                side = [x for x in self.slot_fields if (x in USER_FIELDS) == (f in USER_FIELDS)]
                self._side_pos[f] = (self.slot_fields.index(f), side.index(f))

    @staticmethod
    def _field_ranges(slots: list[str]) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for pos, f in enumerate(slots):
            lo, _ = out.get(f, (pos, pos))
            out[f] = (lo, pos + 1)
        return out

    # -- pieces
    def _pool(self, idx, val, fields: tuple[str, ...], layout: str, user=None) -> torch.Tensor:
        """Concatenated value-weighted per-field sums ``(N, len(fields) * d)``."""
        e = with_user(self.emb, idx, user) * user_values(val, user).unsqueeze(-1)
        ranges = self._ranges[layout]
        return torch.cat([e[:, ranges[f][0] : ranges[f][1]].sum(1) for f in fields], dim=-1)

    def _code(self, idx: torch.Tensor, field: str, side: bool) -> torch.Tensor:
        """Field-local code of a single-valued field (``side``: idx holds one side only)."""
        pos = self._side_pos[field][1 if side else 0]
        return idx[:, pos] - self.offsets[field]

    def _wide_linear(self, idx, val, user=None) -> torch.Tensor:
        return (with_user(self.wide, idx, user).squeeze(-1) * user_values(val, user)).sum(-1)

    def _cross(self, a: torch.Tensor, b: torch.Tensor, p: int) -> torch.Tensor:
        w = self.wide_cross(cross_index(a, b, p, self.cross_buckets)).squeeze(-1)
        return w * ((a > 0) & (b > 0)).to(w.dtype)

    def _deep_tail(self, h: torch.Tensor) -> torch.Tensor:
        """Everything after the first linear layer's pre-activation."""
        h = self.drop(F.relu(h))
        for layer in self.layers[1:]:
            h = self.drop(F.relu(layer(h)))
        return self.out(h).squeeze(-1)

    # -- aligned samples
    def forward(self, idx: torch.Tensor, val: torch.Tensor, user=None) -> torch.Tensor:
        ue, uw = (None, None) if user is None else user
        wide = self._wide_linear(idx, val, uw)
        for p, (fa, fb) in enumerate(CROSSES):
            wide = wide + self._cross(self._code(idx, fa, False), self._code(idx, fb, False), p)
        deep = self._deep_tail(self.layers[0](self._pool(idx, val, FIELDS, "all", ue)))
        return self.bias + wide + deep

    # -- user/context rows against many items
    def score_all(self, u_idx, u_val, i_idx, i_val, user=None) -> torch.Tensor:
        """``(B, I)`` logits; equal to ``forward`` on each concatenated (user, item) pair.

        The first deep layer is linear in the concatenated field embeddings, so its user
        and item halves are computed once per row and broadcast-added.
        """
        ue, uw = (None, None) if user is None else user
        wide = self._wide_linear(u_idx, u_val, uw)[:, None] + self._wide_linear(i_idx, i_val)[None, :]
        for p, (fa, fb) in enumerate(CROSSES):
            wide = wide + self._cross(self._code(u_idx, fa, True)[:, None], self._code(i_idx, fb, True)[None, :], p)
        d = self.embed_dim
        w1 = self.layers[0].weight
        n_uf = len(USER_FIELDS)
        hu = self._pool(u_idx, u_val, USER_FIELDS, "user", ue) @ w1[:, : n_uf * d].T
        hi = self._pool(i_idx, i_val, ITEM_FIELDS, "item") @ w1[:, n_uf * d :].T + self.layers[0].bias
        deep = self._deep_tail(hu[:, None, :] + hi[None, :, :])
        return self.bias + wide + deep


@register("widedeep")
class WideDeep(FeatureRanker, Recommender):
    """Wide & Deep over user, context and item features (module docstring).

    Defaults: 32-dim embeddings (paper), ReLU tower 256-128-64 (the paper's 1024-512-256
    halved twice for catalogue-sized data; ``hidden`` is the first width and each of
    ``n_hidden_layers`` halves it), 2^17 hashed cross buckets, Adam 1e-3, batch 1024,
    4 negatives per positive. Fold-in fits a free user embedding (gradient steps,
    network frozen); ``similar_items`` is cosine of the deep item embeddings.
    """

    def __init__(
        self,
        *,
        embed_dim: int = 32,
        hidden: int = 256,
        n_hidden_layers: int = 3,
        dropout: float = 0.0,
        cross_buckets: int = 1 << 17,
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
        self.embed_dim = embed_dim
        self.hidden = hidden
        self.n_hidden_layers = n_hidden_layers
        self.dropout = dropout
        self.cross_buckets = cross_buckets
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
        if self.embed_dim < 1 or self.hidden < 1 or self.n_hidden_layers < 1 or self.cross_buckets < 1:
            raise ValueError("embed_dim, hidden, n_hidden_layers and cross_buckets must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def _build_net(self) -> WideDeepNet:
        tower = tuple(max(1, self.hidden // 2**k) for k in range(self.n_hidden_layers))
        return WideDeepNet(self.field_sizes_, self._slot_fields(), self.embed_dim, tower, self.cross_buckets, self.dropout)

    def _user_tables(self):
        return self.net_.emb, self.net_.wide

    def _fit(self, dataset: Interactions) -> None:
        self._fit_ranker(dataset)

    @torch.no_grad()
    def _score_users(self, user_indices: np.ndarray, item_indices: np.ndarray | None = None) -> np.ndarray:
        self.net_.eval()
        s = self._score_known(np.asarray(user_indices, dtype=np.int64), self._torch_device()).cpu().numpy()
        return s if item_indices is None else s[:, item_indices]

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        e, w = self._fold_in_params(history)
        with torch.no_grad():
            s = self._score_known(np.full(history.shape[0], -1), self._torch_device(), (e, w)).cpu().numpy()
        return s if item_indices is None else s[:, item_indices]

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        v = self._cache.get("item_vectors")
        if v is None:
            off = self._offsets()["item"]
            v = self.net_.emb.weight[off + 1 : off + 1 + self.n_items].detach().cpu().numpy()
            self._cache["item_vectors"] = v
        return cosine_rows(v, item_indices, item_subset)
