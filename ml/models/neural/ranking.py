"""Feature-based rankers: Factorization Machine and Wide & Deep.

Features of one (user, item, context) sample, one *slot* each, grouped into fields:

======== ============================================ =====================
field    source                                       encoding
======== ============================================ =====================
user     user index                                   one-hot
device   context (log column, see below)              one-hot, 0 = unknown
hour     context: hour of day (from the log timestamp one-hot, 0 = unknown
         as UTC, or an explicit hour column)
item     item index                                   one-hot
category item features                                one-hot, 0 = unknown
price    item price, quantile bucket                  one-hot, 0 = unknown
tags     item tags                                    bag, each 1/n_tags
======== ============================================ =====================

Every slot holds a *global* feature index (field offset + code) and a value; code 0 of
a field is "missing" and always carries value 0, so a missing feature contributes
nothing. User + context slots come first, item slots after, which lets both models
score one user against the whole catalogue without materialising every pair twice.

FM (Rendle, ICDM 2010, "Factorization Machines"), eq. 1 with the O(k n) identity of
lemma 3.1::

    y(x) = w0 + sum_i w_i x_i + 1/2 sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

Wide & Deep (Cheng et al., DLRS 2016): ``sigmoid(w_wide^T [x, phi(x)] + w_deep^T a_L + b)``
(eq. 3) where ``x`` are the raw sparse features, ``phi(x)`` hashed cross-product
features (AND of two fields' values, e.g. user x category, device x item) and ``a_L``
the last hidden layer of an MLP over concatenated per-field embeddings (bags are
mean-pooled). The paper trains the wide part with FTRL+L1 and the deep part with
AdaGrad; here one Adam optimiser trains both jointly (still joint training, not an
ensemble).

Training (both): every positive event of the log (with its context) is a positive,
``n_neg`` items drawn uniformly among the user's non-interacted items (same user and
context) are negatives; loss is BCE on the logit.

Context -- how it reaches the model:

* ``fit``: per-event context is read from ``dataset.log.context`` (a ``dict`` of arrays
  aligned with the log; ``Interactions.from_events(context=...)`` fills it and splits carry
  it; the training pipeline sends each event's device and local hour) or else from
  ``dataset.meta["log_context"]`` (same format, aligned with ``dataset.log`` as it is
  at fit time). Keys: ``"device"`` (strings) and ``"hour"`` (ints 0-23). Without an
  explicit hour, the hour of day (UTC) is derived from ``log.timestamp`` when those
  look like unix seconds (``use_hour=True``). Missing context is simply "unknown".
* ``recommend``: each known user is scored with their most frequent training
  context; new users (fold-in) with the global most frequent one.
* ranking stage: ``model.score(user_indices, item_indices, context={"device": [...],
  "hour": [...]})`` returns logits for aligned (user, item) pairs; context entries may
  be scalars (broadcast), and a user index of -1 means an anonymous user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel, Recommender
from ml.models.neural.common import (
    NegativeSampler,
    TorchModelMixin,
    cosine_rows,
    gradient_fold_in,
    minibatches,
)
from ml.models.registry import register

__all__ = ["FactorizationMachine", "WideDeep", "FMNet", "WideDeepNet", "fm_pairwise_naive", "FIELDS", "CROSSES"]

USER_FIELDS = ("user", "device", "hour")
ITEM_FIELDS = ("item", "category", "price", "tags")
FIELDS = USER_FIELDS + ITEM_FIELDS
# Cross-product transformations of the wide part: (user-side field, item-side field).
CROSSES = (("user", "category"), ("user", "price"), ("device", "item"), ("device", "category"), ("hour", "category"), ("device", "price"))


def _with_user(table: nn.Embedding, idx: torch.Tensor, user: torch.Tensor | None) -> torch.Tensor:
    """``table(idx)`` with slot 0 (the user slot) replaced by free ``user`` rows."""
    out = table(idx)
    if user is not None:
        out = torch.cat([user.reshape(len(idx), 1, -1).to(out.dtype), out[:, 1:]], dim=1)
    return out


def _user_val(val: torch.Tensor, user: torch.Tensor | None) -> torch.Tensor:
    if user is None:
        return val
    return torch.cat([torch.ones_like(val[:, :1]), val[:, 1:]], dim=1)


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
        val = _user_val(val, uv)
        lin = (_with_user(self.linear, idx, uw).squeeze(-1) * val).sum(-1)
        xv = _with_user(self.v, idx, uv) * val.unsqueeze(-1)  # (N, S, k)
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
        e = _with_user(self.emb, idx, user) * _user_val(val, user).unsqueeze(-1)
        ranges = self._ranges[layout]
        return torch.cat([e[:, ranges[f][0] : ranges[f][1]].sum(1) for f in fields], dim=-1)

    def _code(self, idx: torch.Tensor, field: str, side: bool) -> torch.Tensor:
        """Field-local code of a single-valued field (``side``: idx holds one side only)."""
        pos = self._side_pos[field][1 if side else 0]
        return idx[:, pos] - self.offsets[field]

    def _wide_linear(self, idx, val, user=None) -> torch.Tensor:
        return (_with_user(self.wide, idx, user).squeeze(-1) * _user_val(val, user)).sum(-1)

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


# --------------------------------------------------------------------------- recommenders


def _event_context(dataset: Interactions, use_hour: bool) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """Per-event ``(device_code, hour_code, device_vocab)`` for ``dataset.log`` (codes 0 = unknown)."""
    log = dataset.log
    if log is None:
        return None
    n = len(log)
    ctx = getattr(log, "context", None)
    if ctx is None:
        ctx = (dataset.meta or {}).get("log_context")
    ctx = dict(ctx or {})
    for key, arr in ctx.items():
        if len(arr) != n:
            raise ValueError(f"context[{key!r}] has {len(arr)} entries, the log has {n} events")
    vocab: list[str] = []
    device = np.zeros(n, dtype=np.int64)
    if "device" in ctx:
        raw = np.asarray(ctx["device"]).astype(str)
        known = ~np.isin(raw, ["", "None", "nan"])
        vocab = sorted(set(raw[known].tolist()))
        device[known] = np.searchsorted(np.asarray(vocab), raw[known]) + 1
    hour = np.zeros(n, dtype=np.int64)
    if "hour" in ctx:
        h = np.asarray(ctx["hour"], dtype=np.float64)
        ok = np.isfinite(h) & (h >= 0) & (h < 24)
        hour[ok] = h[ok].astype(np.int64) + 1
    elif use_hour and n and np.nanmin(log.timestamp) > 1e8:  # real unix seconds, not input order
        hour = (np.floor(log.timestamp / 3600.0).astype(np.int64) % 24) + 1
    return device, hour, vocab


def _row_mode(rows: np.ndarray, codes: np.ndarray, n_rows: int, n_codes: int, default: int) -> np.ndarray:
    """Most frequent non-zero code per row (ties: lowest code), ``default`` for rows without any."""
    keep = codes > 0
    counts = np.bincount(rows[keep] * n_codes + codes[keep], minlength=n_rows * n_codes).reshape(n_rows, n_codes)
    mode = counts.argmax(axis=1)
    return np.where(counts.max(axis=1) > 0, mode, default).astype(np.int64)


class _FeatureRanker(TorchModelMixin):
    """Feature layout, training loop and ranking-stage API shared by FM and Wide&Deep."""

    # -- features
    def _slot_fields(self) -> list[str]:
        return list(USER_FIELDS) + ["item", "category", "price"] + ["tags"] * int(self.tag_slots_)

    def _offsets(self) -> dict[str, int]:
        out, total = {}, 0
        for f in FIELDS:
            out[f] = total
            total += int(self.field_sizes_[f])
        return out

    def _build_item_features(self, dataset: Interactions) -> None:
        n_items = dataset.n_items
        feats = dataset.item_features
        cat = None if feats is None or feats.category is None else np.asarray(feats.category, dtype=np.int64)
        cat_code = np.zeros(n_items, np.int64) if cat is None else np.where(cat >= 0, cat + 1, 0)
        price = None if feats is None or feats.price is None else np.asarray(feats.price, dtype=np.float64)
        price_code = np.zeros(n_items, np.int64)
        n_price = 1
        if price is not None and np.isfinite(price).any():
            known = np.isfinite(price)
            edges = np.unique(np.quantile(price[known], np.linspace(0, 1, self.price_buckets + 1)[1:-1]))
            price_code[known] = np.searchsorted(edges, price[known], side="right") + 1
            n_price = len(edges) + 2
        tags = None if feats is None or feats.tags is None else feats.tags
        vocab = sorted({t for ts in tags for t in ts}) if tags else []
        lookup = {t: i + 1 for i, t in enumerate(vocab)}
        n_slots = max(1, min(self.max_tags, max((len(ts) for ts in tags), default=0) if tags else 0))
        tag_code = np.zeros((n_items, n_slots), np.int64)
        tag_val = np.zeros((n_items, n_slots), np.float32)
        if tags:
            for i, ts in enumerate(tags):
                codes = [lookup[t] for t in dict.fromkeys(ts)][:n_slots]
                tag_code[i, : len(codes)] = codes
                tag_val[i, : len(codes)] = 1.0 / max(len(codes), 1)
        self.tag_slots_ = int(n_slots)
        self.field_sizes_ = {
            "user": dataset.n_users + 1,
            "device": len(self.device_vocab_) + 1,
            "hour": 25,
            "item": n_items + 1,
            "category": int(cat_code.max(initial=0)) + 1,
            "price": int(n_price),
            "tags": len(vocab) + 1,
        }
        off = self._offsets()
        self.item_slot_index_ = np.hstack(
            [
                (off["item"] + np.arange(n_items) + 1)[:, None],
                (off["category"] + cat_code)[:, None],
                (off["price"] + price_code)[:, None],
                off["tags"] + tag_code,
            ]
        ).astype(np.int64)
        self.item_slot_value_ = np.hstack(
            [
                np.ones((n_items, 1), np.float32),
                (cat_code > 0).astype(np.float32)[:, None],
                (price_code > 0).astype(np.float32)[:, None],
                tag_val,
            ]
        ).astype(np.float32)

    def _user_slots(self, users: np.ndarray, device: np.ndarray, hour: np.ndarray, dev: torch.device):
        """``(idx, val)`` tensors of the user/context slots; ``users`` -1 = unknown user."""
        off = self._offsets()
        users = np.asarray(users, dtype=np.int64)
        idx = np.stack([off["user"] + users + 1, off["device"] + device, off["hour"] + hour], axis=1)
        val = np.stack([users >= 0, device > 0, hour > 0], axis=1).astype(np.float32)
        return torch.from_numpy(idx).to(dev), torch.from_numpy(val).to(dev)

    def _item_slots(self, dev: torch.device):
        key = ("item_slots", str(dev))
        cached = self._cache.get(key)
        if cached is None:
            cached = (torch.from_numpy(self.item_slot_index_).to(dev), torch.from_numpy(self.item_slot_value_).to(dev))
            self._cache[key] = cached
        return cached

    def _pairs(self, users, device, hour, items, dev):
        u_idx, u_val = self._user_slots(users, device, hour, dev)
        i_idx, i_val = self._item_slots(dev)
        it = torch.from_numpy(np.asarray(items, dtype=np.int64)).to(dev)
        return torch.cat([u_idx, i_idx[it]], 1), torch.cat([u_val, i_val[it]], 1)

    # -- training
    def _fit_ranker(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        ctx = _event_context(dataset, self.use_hour)
        if ctx is not None:
            log = dataset.log
            pos = log.weight > 0
            ev_u = log.user_index[pos].astype(np.int64)
            ev_i = log.item_index[pos].astype(np.int64)
            ev_d, ev_h = ctx[0][pos], ctx[1][pos]
            self.device_vocab_ = list(ctx[2])
        else:
            m = dataset.matrix
            ev_u = np.repeat(np.arange(dataset.n_users, dtype=np.int64), np.diff(m.indptr))
            ev_i = m.indices.astype(np.int64)
            ev_d = np.zeros(len(ev_u), np.int64)
            ev_h = np.zeros(len(ev_u), np.int64)
            self.device_vocab_ = []
        self._build_item_features(dataset)
        n_dev = self.field_sizes_["device"]
        glob_d = int(np.bincount(ev_d[ev_d > 0], minlength=n_dev).argmax()) if (ev_d > 0).any() else 0
        glob_h = int(np.bincount(ev_h[ev_h > 0], minlength=25).argmax()) if (ev_h > 0).any() else 0
        self.default_context_ = [glob_d, glob_h]
        self.user_context_ = np.stack(
            [
                _row_mode(ev_u, ev_d, dataset.n_users, n_dev, glob_d),
                _row_mode(ev_u, ev_h, dataset.n_users, 25, glob_h),
            ],
            axis=1,
        )

        split = self._validation_matrix(dataset.binarized(), rng)
        in_train = NegativeSampler(split.train).is_positive(ev_u, ev_i)
        ev_u, ev_i, ev_d, ev_h = ev_u[in_train], ev_i[in_train], ev_d[in_train], ev_h[in_train]
        sampler = NegativeSampler(dataset.matrix)
        k = self.n_neg
        s_u = np.concatenate([ev_u, np.repeat(ev_u, k)])
        s_d = np.concatenate([ev_d, np.repeat(ev_d, k)])
        s_h = np.concatenate([ev_h, np.repeat(ev_h, k)])
        labels = np.concatenate([np.ones(len(ev_u), np.float32), np.zeros(len(ev_u) * k, np.float32)])
        self.net_ = net = self._build_net().to(dev)
        opt = self._optimizer(net)

        def run_epoch(epoch: int) -> float:
            s_i = np.concatenate([ev_i, sampler.sample(ev_u, k, rng).reshape(-1)])
            total, n = 0.0, 0
            for b in minibatches(len(s_u), self.batch_size, rng):
                idx, val = self._pairs(s_u[b], s_d[b], s_h[b], s_i[b], dev)
                loss = F.binary_cross_entropy_with_logits(net(idx, val), torch.from_numpy(labels[b]).to(dev))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                n += len(b)
            return total / max(n, 1)

        def score_rows(rows: np.ndarray) -> torch.Tensor:
            users = split.users[rows]
            return self._score_known(users, dev)

        self._run_training(net, run_epoch, self._evaluator(split, score_rows))

    def _score_known(self, users: np.ndarray, dev: torch.device, user_override=None) -> torch.Tensor:
        """``(B, n_items)`` logits of users with their most frequent context."""
        if user_override is None:
            ctx = self.user_context_[users]
        else:
            ctx = np.tile(np.asarray(self.default_context_, np.int64), (len(users), 1))
        u_idx, u_val = self._user_slots(users, ctx[:, 0], ctx[:, 1], dev)
        i_idx, i_val = self._item_slots(dev)
        return self.net_.score_all(u_idx, u_val, i_idx, i_val, user_override)

    def _fold_in_params(self, history: sp.csr_matrix) -> tuple[torch.Tensor, torch.Tensor]:
        """Free user-slot parameters (embedding, linear weight) fitted to ``history``."""
        net, dev, n = self.net_, self._torch_device(), history.shape[0]
        emb, lin = self._user_tables()
        users_block = slice(1, self.n_users + 1)  # user code 0 is "unknown"
        init = [
            emb.weight[self._offsets()["user"] :][users_block].mean(0, keepdim=True).expand(n, -1),
            lin.weight[self._offsets()["user"] :][users_block].mean(0, keepdim=True).expand(n, -1),
        ]
        d, h = self.default_context_

        slots: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # rows/items are the same every step

        def logits(p, rows, items):
            if "pairs" not in slots:
                m = len(rows)
                slots["pairs"] = self._pairs(np.full(m, -1), np.full(m, d), np.full(m, h), items.cpu().numpy(), dev)
            idx, val = slots["pairs"]
            return net(idx, val, (p[0][rows], p[1][rows]))

        net.eval()
        for q in net.parameters():
            q.requires_grad_(False)
        try:
            e, w = gradient_fold_in(
                init,
                logits,
                history,
                self.n_items,
                n_neg=self.n_neg,
                steps=self.fold_in_steps,
                lr=self.fold_in_lr,
                l2=self.fold_in_l2,
                seed=self.random_state,
            )
        finally:
            for q in net.parameters():
                q.requires_grad_(True)
        return e, w

    # -- ranking-stage API
    def context_codes(self, users: np.ndarray, context: Mapping[str, Any] | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Device/hour codes for ``n`` pairs: given values, else each user's usual context."""
        self._check_fitted()
        users = np.broadcast_to(np.asarray(users, dtype=np.int64), (n,))
        known = users >= 0
        base = np.tile(np.asarray(self.default_context_, np.int64), (n, 1))
        base[known] = self.user_context_[users[known]]
        device, hour = base[:, 0].copy(), base[:, 1].copy()
        context = context or {}
        if context.get("device") is not None:
            raw = np.broadcast_to(np.asarray(context["device"]).astype(str), (n,))
            vocab = np.asarray(self.device_vocab_ or [""])
            pos = np.clip(np.searchsorted(vocab, raw), 0, len(vocab) - 1)
            device = np.where((vocab[pos] == raw) & bool(self.device_vocab_), pos + 1, 0)
        if context.get("hour") is not None:
            h = np.broadcast_to(np.asarray(context["hour"], dtype=np.float64), (n,))
            ok = np.isfinite(h) & (h >= 0) & (h < 24)
            hour = np.where(ok, np.nan_to_num(h).astype(np.int64) + 1, 0)
        return device.astype(np.int64), hour.astype(np.int64)

    @torch.no_grad()
    def score(
        self,
        user_indices: Any,
        item_indices: Any,
        context: Mapping[str, Any] | None = None,
        *,
        batch_size: int = 65536,
    ) -> np.ndarray:
        """Ranking-stage logits for aligned ``(user, item)`` index pairs (float32).

        ``user_indices``/``item_indices`` broadcast against each other (one user with
        many candidate items is the usual call); -1 as user index = anonymous user.
        ``context``: optional ``{"device": str | array, "hour": int | array}``; missing
        keys fall back to each user's most frequent training context. Apply a sigmoid
        for click/purchase probabilities.
        """
        self._check_fitted()
        users, items = np.broadcast_arrays(
            np.asarray(user_indices, dtype=np.int64).reshape(-1), np.asarray(item_indices, dtype=np.int64).reshape(-1)
        )
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise IndexError("item indices out of range")
        if len(users) and (users.min() < -1 or users.max() >= self.n_users):
            raise IndexError("user indices out of range")
        device, hour = self.context_codes(users, context, len(users))
        dev = self._torch_device()
        self.net_.eval()
        out = np.empty(len(users), dtype=np.float32)
        for b in minibatches(len(users), batch_size):
            idx, val = self._pairs(users[b], device[b], hour[b], items[b], dev)
            out[b] = self.net_(idx, val).float().cpu().numpy()
        return out

    def _validate_ranker(self) -> None:
        self._validate_common()
        if self.n_neg < 1:
            raise ValueError("n_neg must be >= 1")
        if self.price_buckets < 1 or self.max_tags < 1:
            raise ValueError("price_buckets and max_tags must be >= 1")
        if self.fold_in_steps < 0 or self.fold_in_lr <= 0 or self.fold_in_l2 < 0:
            raise ValueError("fold_in_steps >= 0, fold_in_lr > 0, fold_in_l2 >= 0 required")


@register("fm")
class FactorizationMachine(_FeatureRanker, FactorModel):
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


@register("widedeep")
class WideDeep(_FeatureRanker, Recommender):
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
