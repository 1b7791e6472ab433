"""What the feature-based rankers (FM, Wide & Deep) share: feature layout, context, training.

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
from ml.models.neural.data import NegativeSampler, minibatches
from ml.models.neural.torch_base import TorchModelMixin

__all__ = ["FeatureRanker", "FIELDS", "USER_FIELDS", "ITEM_FIELDS", "CROSSES", "with_user", "user_values"]

USER_FIELDS = ("user", "device", "hour")
ITEM_FIELDS = ("item", "category", "price", "tags")
FIELDS = USER_FIELDS + ITEM_FIELDS
# Cross-product transformations of the wide part: (user-side field, item-side field).
CROSSES = (("user", "category"), ("user", "price"), ("device", "item"), ("device", "category"), ("hour", "category"), ("device", "price"))


def with_user(table: nn.Embedding, idx: torch.Tensor, user: torch.Tensor | None) -> torch.Tensor:
    """``table(idx)`` with slot 0 (the user slot) replaced by free ``user`` rows."""
    out = table(idx)
    if user is not None:
        out = torch.cat([user.reshape(len(idx), 1, -1).to(out.dtype), out[:, 1:]], dim=1)
    return out


def user_values(val: torch.Tensor, user: torch.Tensor | None) -> torch.Tensor:
    if user is None:
        return val
    return torch.cat([torch.ones_like(val[:, :1]), val[:, 1:]], dim=1)


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


class FeatureRanker(TorchModelMixin):
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

        def epoch_items() -> np.ndarray:
            return np.concatenate([ev_i, sampler.sample(ev_u, k, rng).reshape(-1)])  # fresh negatives

        def batch_loss(b: np.ndarray, s_i: np.ndarray) -> torch.Tensor:
            idx, val = self._pairs(s_u[b], s_d[b], s_h[b], s_i[b], dev)
            return F.binary_cross_entropy_with_logits(net(idx, val), torch.from_numpy(labels[b]).to(dev))

        def score_rows(rows: np.ndarray) -> torch.Tensor:
            users = split.users[rows]
            return self._score_known(users, dev)

        evaluate = self._evaluator(split, score_rows)
        self._train(net, rng, evaluate, n_samples=len(s_u), batch_loss=batch_loss, epoch_data=epoch_items)

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

        e, w = self._frozen_fold_in(init, logits, history)
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
