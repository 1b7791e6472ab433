"""Synthetic interaction logs with planted structure, for tests and benchmarks.

:func:`planted_interactions` draws users who each prefer one hidden taste
cluster of items, item popularity following a power law, a share of noise
(off-taste, popularity-driven) events, repeat purchases, optional sequential
"next item" structure, shopping sessions (baskets) in time, event types and
1-5 ratings that are higher for on-taste items.  Item categories, tags and
texts are correlated with the hidden clusters so content models have signal.

Everything is vectorized (5M events take a few seconds) and deterministic for
a given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.dataset import Interactions, ItemFeatures

__all__ = ["SyntheticData", "planted_interactions", "DEFAULT_EVENT_TYPE_WEIGHTS"]

#: event-type weights matching the generated event types
DEFAULT_EVENT_TYPE_WEIGHTS: dict[str, float] = {"view": 1.0, "add_to_cart": 2.0, "purchase": 4.0}


@dataclass
class SyntheticData:
    """Raw event arrays plus item side information and the hidden truth."""

    user_ids: np.ndarray  # int64 external ids
    item_ids: np.ndarray  # int64 external ids
    timestamps: np.ndarray | None  # float64 unix seconds
    event_types: np.ndarray  # <U
    values: np.ndarray  # float32 ratings 1..5
    catalog_item_ids: np.ndarray  # all items (some may have no events)
    item_categories: np.ndarray  # int64, aligned to catalog_item_ids
    item_texts: list[str]
    item_tags: list[list[str]]
    item_prices: np.ndarray
    item_clusters: np.ndarray  # hidden, aligned to catalog_item_ids
    user_clusters: np.ndarray  # hidden, aligned to user_catalog_ids
    user_catalog_ids: np.ndarray
    category_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.user_ids)

    def item_features(self) -> ItemFeatures:
        return ItemFeatures(
            text=self.item_texts,
            category=self.item_categories,
            tags=self.item_tags,
            price=self.item_prices,
            category_names=self.category_names,
            item_ids=self.catalog_item_ids,
        )

    def to_interactions(self, **kwargs: Any) -> Interactions:
        """:meth:`Interactions.from_events` on these events (with item features).

        Defaults: ``event_type_weights=DEFAULT_EVENT_TYPE_WEIGHTS``; other keyword
        arguments are passed through.
        """
        kwargs.setdefault("event_type_weights", DEFAULT_EVENT_TYPE_WEIGHTS)
        kwargs.setdefault("item_features", self.item_features())
        return Interactions.from_events(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            event_types=self.event_types,
            values=self.values,
            timestamps=self.timestamps,
            **kwargs,
        )


def planted_interactions(
    *,
    n_users: int = 1000,
    n_items: int = 500,
    n_clusters: int = 10,
    interactions_per_user: float = 20.0,
    popularity_exponent: float = 1.0,
    noise: float = 0.1,
    seed: int = 0,
    with_timestamps: bool = True,
    repeat_probability: float = 0.1,
    sequential_strength: float = 0.0,
    session_size: float = 4.0,
    days: float = 180.0,
    start_time: float = 1_700_000_000.0,
    event_type_probs: Sequence[float] = (0.6, 0.25, 0.15),
    categories_per_cluster: int = 2,
    user_id_offset: int = 1_000_000,
    item_id_offset: int = 5_000_000,
) -> SyntheticData:
    """Draw an interaction log with hidden cluster tastes.

    * Items are split evenly into ``n_clusters``; each user likes one cluster.
    * Item popularity ~ ``rank ** -popularity_exponent`` (random ranks).
    * Each event is, with probability ``noise``, a draw from global popularity,
      otherwise from the user's cluster (popularity-weighted).  With probability
      ``sequential_strength`` an event instead takes the cluster successor of the
      previous item (learnable "next item" structure).  With probability
      ``repeat_probability`` an event repeats an earlier item of the same user.
    * Events per user: ``1 + Poisson(interactions_per_user - 1)``.
    * Timestamps: users start uniformly in ``days``; sessions of about
      ``session_size`` events seconds apart, sessions days apart (baskets).
    * Event types ``view``/``add_to_cart``/``purchase`` drawn with
      ``event_type_probs``; values are 1-5 ratings, higher for on-taste items.
    """
    if n_clusters < 1 or n_items < n_clusters:
        raise ValueError("need 1 <= n_clusters <= n_items")
    rng = np.random.default_rng(seed)

    # -- items -------------------------------------------------------------------
    item_cluster = rng.permutation(np.arange(n_items) % n_clusters)
    pop = (1.0 + rng.permutation(n_items)) ** -float(popularity_exponent)
    by_cluster = np.lexsort((np.arange(n_items), item_cluster))  # items grouped by cluster
    cluster_sizes = np.bincount(item_cluster, minlength=n_clusters)
    cluster_start = np.r_[0, np.cumsum(cluster_sizes)[:-1]]
    pos_in_cluster = np.empty(n_items, dtype=np.int64)
    pos_in_cluster[by_cluster] = np.arange(n_items) - np.repeat(cluster_start, cluster_sizes)
    # concatenated per-cluster CDFs shifted by the cluster id -> one searchsorted
    p_sorted = pop[by_cluster]
    cum = np.cumsum(p_sorted)
    cluster_tot = np.add.reduceat(p_sorted, cluster_start)
    before = np.repeat(np.r_[0.0, np.cumsum(cluster_tot)[:-1]], cluster_sizes)
    within_cdf = (cum - before) / np.repeat(cluster_tot, cluster_sizes)
    global_cdf = np.repeat(np.arange(n_clusters), cluster_sizes) + within_cdf
    global_cdf[np.r_[cluster_start[1:] - 1, n_items - 1]] = np.arange(1, n_clusters + 1)  # exact ends
    pop_cdf = np.cumsum(pop) / pop.sum()

    # -- users -----------------------------------------------------------------------
    user_cluster = rng.permutation(np.arange(n_users) % n_clusters)
    counts = 1 + rng.poisson(max(interactions_per_user - 1.0, 0.0), size=n_users)
    n_events = int(counts.sum())
    ev_user = np.repeat(np.arange(n_users), counts)
    user_start = np.r_[0, np.cumsum(counts)[:-1]]
    pos_in_user = np.arange(n_events) - np.repeat(user_start, counts)

    # -- base draws --------------------------------------------------------------
    u01 = rng.random(n_events)
    in_cluster = by_cluster[
        np.minimum(np.searchsorted(global_cdf, user_cluster[ev_user] + u01, side="right"), n_items - 1)
    ]
    noisy = rng.random(n_events) < noise
    global_draw = np.minimum(np.searchsorted(pop_cdf, rng.random(n_events), side="right"), n_items - 1)
    items = np.where(noisy, global_draw, in_cluster)

    # -- sequential successor runs: item = succ^r(anchor) ----------------------------
    if sequential_strength > 0:
        seq = (rng.random(n_events) < sequential_strength) & (pos_in_user > 0)
        anchor = np.where(seq, 0, np.arange(n_events))
        anchor = np.maximum.accumulate(anchor)  # last non-seq position (same user, since pos 0 is never seq)
        steps = np.arange(n_events) - anchor
        a_item = items[anchor]
        c = item_cluster[a_item]
        new_pos = (pos_in_cluster[a_item] + steps) % cluster_sizes[c]
        items = np.where(seq, by_cluster[cluster_start[c] + new_pos], items)

    # -- repeats: copy an earlier event's item (pointer jumping resolves chains) ------
    if repeat_probability > 0:
        rep = (rng.random(n_events) < repeat_probability) & (pos_in_user > 0)
        src = np.arange(n_events)
        earlier = np.repeat(user_start, counts) + np.floor(rng.random(n_events) * pos_in_user).astype(np.int64)
        src[rep] = earlier[rep]
        for _ in range(64):
            nxt = src[src]
            if np.array_equal(nxt, src):
                break
            src = nxt
        items = items[src]

    on_taste = item_cluster[items] == user_cluster[ev_user]

    # -- time ---------------------------------------------------------------------------
    timestamps = None
    if with_timestamps:
        new_session = rng.random(n_events) < 1.0 / max(session_size, 1.0)
        gap = np.where(new_session, rng.exponential(86400.0 * 3.0, n_events), rng.exponential(60.0, n_events))
        gap[pos_in_user == 0] = 0.0
        csum = np.cumsum(gap)
        within = csum - np.repeat(csum[user_start], counts)
        begin = rng.random(n_users) * days * 86400.0 * 0.5
        timestamps = start_time + np.repeat(begin, counts) + within

    probs = np.asarray(event_type_probs, dtype=np.float64)
    probs = probs / probs.sum()
    types = np.array(["view", "add_to_cart", "purchase"])
    event_types = types[np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n_events), side="right"), 2)]
    base = np.where(on_taste, 4.2, 2.6) + rng.normal(0.0, 0.8, n_events)
    values = np.clip(np.rint(base), 1, 5).astype(np.float32)

    # -- item side info ------------------------------------------------------------------
    n_categories = n_clusters * categories_per_cluster
    category = item_cluster * categories_per_cluster + rng.integers(0, categories_per_cluster, n_items)
    flip = rng.random(n_items) < noise
    category = np.where(flip, rng.integers(0, n_categories, n_items), category).astype(np.int64)
    vocab_per_cluster = 12
    w1 = rng.integers(0, vocab_per_cluster, n_items)
    w2 = rng.integers(0, vocab_per_cluster, n_items)
    generic = np.array(["classic", "new", "deluxe", "basic", "premium", "compact", "family", "mini"])
    g = generic[rng.integers(0, len(generic), n_items)]
    texts = [
        f"{gg.title()} c{c}word{a} c{c}word{b} general product"
        for gg, c, a, b in zip(g.tolist(), item_cluster.tolist(), w1.tolist(), w2.tolist(), strict=False)
    ]
    t1 = rng.integers(0, 5, n_items)
    tags = [[f"tag{c}_{t}", "sale"] if t == 0 else [f"tag{c}_{t}"] for c, t in zip(item_cluster.tolist(), t1.tolist(), strict=False)]
    prices = np.round(rng.lognormal(3.0, 0.6, n_items), 2)

    return SyntheticData(
        user_ids=(ev_user + user_id_offset).astype(np.int64),
        item_ids=(items + item_id_offset).astype(np.int64),
        timestamps=timestamps,
        event_types=event_types,
        values=values,
        catalog_item_ids=np.arange(n_items, dtype=np.int64) + item_id_offset,
        item_categories=category,
        item_texts=texts,
        item_tags=tags,
        item_prices=prices,
        item_clusters=item_cluster,
        user_clusters=user_cluster,
        user_catalog_ids=np.arange(n_users, dtype=np.int64) + user_id_offset,
        category_names=[f"category {c}" for c in range(n_categories)],
    )
