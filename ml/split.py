"""Seeded train/test splitters.

Every splitter returns ``(train, test)`` :class:`~ml.dataset.Interactions`
sharing the *same* ``user_map`` / ``item_map`` objects as the input, so indices
align; ``test.matrix`` holds only the held-out interactions.

Units:

* :func:`random_split`, :func:`leave_last_out`, :func:`per_user_temporal_split`
  hold out user-item *pairs* (a matrix entry with all its events, so repeat
  purchases never straddle the split).  "Latest" is the pair's last event in the
  time-ordered log.  Users with too few pairs stay entirely in train.
* :func:`temporal_split` is global and *event* based: events before the cutoff
  train, the rest test.  With ``filter_seen`` (default) test pairs already
  positive in train are dropped (they cannot be recommended with
  ``exclude_seen``); with ``drop_cold`` (default) test events of users/items
  without training interactions are dropped.

Weights are re-aggregated from the event log (with the input's ``aggregate``);
time-decayed weights keep the decay reference of the original build.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ml.dataset import Interactions
from ml.utils.arrays import isin_sorted, sorted_lookup

__all__ = [
    "random_split",
    "leave_last_out",
    "temporal_split",
    "per_user_temporal_split",
    "validation_split",
]


def _pair_split(data: Interactions, test_mask: np.ndarray) -> tuple[Interactions, Interactions]:
    """Split by a mask over matrix entries (CSR order)."""
    return data.filter_pairs(~test_mask), data.filter_pairs(test_mask, keep_other_events=False)


def _per_user_holdout(data: Interactions, n_test: np.ndarray, rank_key: np.ndarray) -> np.ndarray:
    """Mask over entries: per user, the ``n_test[u]`` entries with the largest ``rank_key``."""
    m = data.matrix
    rows = np.repeat(np.arange(data.n_users), np.diff(m.indptr))
    order = np.lexsort((-rank_key, rows))  # by user, then rank_key descending
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order)) - m.indptr[rows[order]]
    return pos < n_test[rows]


def _pair_last_position(data: Interactions) -> np.ndarray:
    """Position of each matrix entry's last event in the time-ordered log."""
    if data.log is None:
        raise ValueError("this splitter needs an event log with timestamps (Interactions.from_events)")
    pair_keys = data.pair_keys()
    ev_keys = data.log.pair_keys(data.n_items)
    pos = sorted_lookup(pair_keys, ev_keys)
    hit = pos >= 0
    last = np.full(len(pair_keys), -1, dtype=np.int64)
    np.maximum.at(last, pos[hit], np.flatnonzero(hit))
    return last


def _check_fraction(test_size: float) -> None:
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")


def _n_per_user(counts: np.ndarray, test_size: float) -> np.ndarray:
    n = np.floor(counts * float(test_size) + 0.5).astype(np.int64)
    n = np.clip(n, 1, np.maximum(counts - 1, 0))
    return np.where(counts >= 2, n, 0)


def random_split(data: Interactions, *, test_size: float = 0.2, seed: int = 0) -> tuple[Interactions, Interactions]:
    """Per-user stratified random hold-out of ``test_size`` of each user's pairs.

    Users with >= 2 pairs hold out ``round(test_size * n)`` pairs, at least 1 and
    at most ``n - 1``; users with one pair stay in train.
    """
    _check_fraction(test_size)
    rng = np.random.default_rng(seed)
    counts = data.user_counts()
    mask = _per_user_holdout(data, _n_per_user(counts, test_size), rng.random(data.nnz))
    return _pair_split(data, mask)


def leave_last_out(data: Interactions, *, n: int = 1) -> tuple[Interactions, Interactions]:
    """Hold out each user's ``n`` most recent distinct items (users with > n items)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    counts = data.user_counts()
    n_test = np.where(counts > n, n, 0)
    mask = _per_user_holdout(data, n_test, _pair_last_position(data).astype(np.float64))
    return _pair_split(data, mask)


def per_user_temporal_split(data: Interactions, *, test_size: float = 0.2) -> tuple[Interactions, Interactions]:
    """Hold out the latest ``test_size`` of each user's distinct items."""
    _check_fraction(test_size)
    counts = data.user_counts()
    mask = _per_user_holdout(data, _n_per_user(counts, test_size), _pair_last_position(data).astype(np.float64))
    return _pair_split(data, mask)


def temporal_split(
    data: Interactions,
    *,
    test_size: float | None = None,
    cutoff: float | None = None,
    filter_seen: bool = True,
    drop_cold: bool = True,
) -> tuple[Interactions, Interactions]:
    """Global time split: events with ``timestamp < cutoff`` train, the rest test.

    Give either ``cutoff`` (unix seconds) or ``test_size`` (fraction of events,
    the cutoff being the corresponding timestamp quantile).
    """
    if data.log is None:
        raise ValueError("temporal_split needs an event log (Interactions.from_events)")
    if (test_size is None) == (cutoff is None):
        raise ValueError("give exactly one of test_size or cutoff")
    ts = data.log.timestamp
    if cutoff is None:
        _check_fraction(test_size)  # type: ignore[arg-type]
        if len(ts) == 0:
            cutoff = 0.0
        else:
            cutoff = float(ts[min(len(ts) - 1, int(np.floor(len(ts) * (1.0 - float(test_size)))))])
    is_train = ts < cutoff
    train = data.filter_events(is_train)
    test_ev = ~is_train
    log = data.log
    if filter_seen:
        seen_keys = train.pair_keys()
        test_ev &= ~isin_sorted(log.pair_keys(data.n_items), seen_keys)
    if drop_cold:
        warm_users = train.user_counts() > 0
        warm_items = train.item_counts() > 0
        test_ev &= warm_users[log.user_index] & warm_items[log.item_index]
    test = data.filter_events(test_ev)
    test.meta = {**test.meta, "cutoff": cutoff}
    return train, test


_METHODS = {
    "random": random_split,
    "leave_last_out": leave_last_out,
    "temporal": temporal_split,
    "per_user_temporal": per_user_temporal_split,
}


def validation_split(
    train: Interactions,
    *,
    method: Literal["random", "leave_last_out", "temporal", "per_user_temporal"] = "random",
    **kwargs: Any,
) -> tuple[Interactions, Interactions]:
    """Split a training set again (fit / validation) for hyperparameter search.

    Same maps again; ``kwargs`` go to the chosen splitter (e.g. ``test_size``,
    ``seed``, ``n``).  ``random`` defaults to ``test_size=0.2, seed=0``.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}")
    if method == "random":
        kwargs.setdefault("test_size", 0.2)
        kwargs.setdefault("seed", 0)
    elif method in ("per_user_temporal", "temporal") and "cutoff" not in kwargs:
        kwargs.setdefault("test_size", 0.2)
    return _METHODS[method](train, **kwargs)
