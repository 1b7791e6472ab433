"""The steps of :meth:`Interactions.from_events <ml.dataset.interactions.Interactions.from_events>`:
raw event arrays -> validated, weighted per-event columns -> integer codes -> k-core -> compact id maps."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ml.dataset.ids import IdMap, first_seen_codes, normalize_ids
from ml.dataset.log import SECONDS_PER_DAY, Aggregate, EventLog, aggregate_pairs, to_unix_seconds
from ml.dataset.semantics import EvidenceSemantics, event_evidence, superseded_events

__all__ = ["WeightedColumns", "weighted_columns", "id_codes", "pair_keep_mask", "kcore_masks", "compact_ids"]


@dataclass
class WeightedColumns:
    """Per-event columns while :meth:`Interactions.from_events` works on them.

    ``user`` / ``item`` hold the raw external ids until :func:`id_codes` turns them into
    integer codes; ``weight`` stays float64 until the matrix is aggregated.
    """

    user: np.ndarray
    item: np.ndarray
    weight: np.ndarray
    timestamp: np.ndarray
    event_type: np.ndarray | None = None
    value: np.ndarray | None = None
    context: dict[str, np.ndarray] | None = None

    def take(self, index: np.ndarray) -> WeightedColumns:
        def pick(col: Any) -> Any:
            if isinstance(col, dict):
                return {key: arr[index] for key, arr in col.items()}
            return None if col is None else col[index]

        return WeightedColumns(**{f.name: pick(getattr(self, f.name)) for f in fields(self)})

    def to_log(self) -> EventLog:
        return EventLog(
            user_index=self.user,
            item_index=self.item,
            weight=self.weight,
            timestamp=self.timestamp,
            event_type=self.event_type,
            value=self.value,
            context=self.context,
        )


def _timestamps(timestamps: Any, n: int, half_life_days: float | None) -> np.ndarray:
    """Unix seconds per event, or the input order ``0, 1, 2, ...`` without timestamps."""
    if timestamps is None:
        if half_life_days is not None:
            raise ValueError("half_life_days needs timestamps")
        return np.arange(n, dtype=np.float64)
    ts = to_unix_seconds(timestamps)
    if len(ts) != n:
        raise ValueError("timestamps length differs from user_ids")
    return ts


def _type_weights(event_types: Any, event_type_weights: dict[str, float] | None, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(weight, event_type)``: the event-type weight of every event (1 without a dict)."""
    weight = np.ones(n, dtype=np.float64)
    if event_types is None:
        if event_type_weights is not None:
            raise ValueError("event_type_weights given without event_types")
        return weight, None
    et = np.asarray(event_types).astype(str)
    if len(et) != n:
        raise ValueError("event_types length differs from user_ids")
    if event_type_weights is not None:
        weight = np.zeros(n, dtype=np.float64)  # types missing from the dict: 0
        for etype, w in event_type_weights.items():
            weight[et == etype] = float(w)
    return weight, et


def _value_weights(
    weight: np.ndarray, values: Any, value_weighting: bool, min_value: float | None, n: int, *, threshold_now: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(weight, values)``: ``weight`` times the value (``value_weighting``), 0 below ``min_value``
    (unless ``threshold_now=False``: :func:`pair_keep_mask` applies it once pairs are combined)."""
    if values is None:
        if value_weighting or min_value is not None:
            raise ValueError("value_weighting / min_value need values")
        return weight, None
    vals = np.asarray(values, dtype=np.float64)
    if len(vals) != n:
        raise ValueError("values length differs from user_ids")
    if value_weighting:
        weight = weight * vals
    if min_value is not None and threshold_now:
        weight = np.where(vals >= min_value, weight, 0.0)
    return weight, vals


def _context_columns(context: dict[str, Any] | None, n: int) -> dict[str, np.ndarray] | None:
    if context is None:
        return None
    ctx = {str(key): np.asarray(arr) for key, arr in context.items()}
    for key, arr in ctx.items():
        if len(arr) != n:
            raise ValueError(f"context[{key!r}] length differs from user_ids")
    return ctx


def _time_decay(weight: np.ndarray, ts: np.ndarray, half_life_days: float | None, now: float | None) -> np.ndarray:
    """``weight * 0.5 ** (age_days / half_life_days)``, age measured from ``now`` (default: latest event)."""
    if half_life_days is None:
        return weight
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    ref = float(ts.max()) if (now is None and len(ts)) else float(now or 0.0)
    age_days = np.maximum(ref - ts, 0.0) / SECONDS_PER_DAY
    return weight * np.exp2(-age_days / float(half_life_days))


def weighted_columns(
    *,
    user_ids: Any,
    item_ids: Any,
    event_types: Any,
    values: Any,
    context: dict[str, Any] | None,
    timestamps: Any,
    event_type_weights: dict[str, float] | None,
    value_weighting: bool,
    min_value: float | None,
    half_life_days: float | None,
    now: float | None,
    semantics: EvidenceSemantics | None = None,
) -> WeightedColumns:
    """Validated per-event columns in input order, with the final float64 weight of every event.

    With ``semantics`` the weight is the event's signed evidence (:func:`ml.dataset.semantics.event_evidence`:
    ratings and dwell mapped by value; without event types every valued event is a rating) and ``min_value``
    is left to :func:`pair_keep_mask`.
    """
    users = normalize_ids(user_ids)
    items = normalize_ids(item_ids)
    n = len(users)
    if len(items) != n:
        raise ValueError(f"user_ids has {n} rows but item_ids has {len(items)}")
    ts = _timestamps(timestamps, n, half_life_days)
    if semantics is not None and event_types is None:
        if values is None:
            raise ValueError("semantics need event_types or values (ratings)")
        event_types = np.full(n, semantics.rating_type)
    weight, et = _type_weights(event_types, event_type_weights, n)
    if semantics is not None:
        weight = event_evidence(et, values, type_weights=event_type_weights, semantics=semantics)
    weight, vals = _value_weights(weight, values, value_weighting, min_value, n, threshold_now=semantics is None)
    ctx = _context_columns(context, n)
    weight = np.nan_to_num(_time_decay(weight, ts, half_life_days, now), nan=0.0)
    return WeightedColumns(users, items, weight, ts, et, vals, ctx)


def id_codes(
    raw: np.ndarray, id_map: IdMap | None, order: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | bool]:
    """``(unique values or None, integer code per event, known mask)``.

    With a map, codes are its indices and ids unknown to it are masked out; without one,
    codes number the unique values in the order they are first read in ``order`` (the events'
    time order), so no index depends on how ids are named (every event is known).
    """
    if id_map is not None:
        code = id_map.to_index(raw, missing="ignore")
        return None, code, code >= 0
    values, code = first_seen_codes(raw, order)
    return values, code, True


def pair_keep_mask(
    cols: WeightedColumns, known: np.ndarray | bool, n_items: int, *, semantics: EvidenceSemantics | None, min_value: float | None
) -> np.ndarray:
    """Events that still count once each (user, item) pair's events are combined (codes from :func:`id_codes`).

    With ``semantics``: superseded events (:func:`ml.dataset.semantics.superseded_events`: earlier ratings,
    everything before a negative latest opinion) are dropped first, then ``min_value`` keeps the surviving
    events whose value reaches it -- so a pair rated 5 and re-rated 1 fails a threshold of 4. Without
    ``semantics`` every event counts (``min_value`` was applied per event already).
    """
    keep = np.broadcast_to(np.asarray(known, dtype=bool), cols.weight.shape).copy()
    if semantics is None or cols.event_type is None:
        return keep
    sel = np.flatnonzero(keep)
    keys = cols.user[sel].astype(np.int64) * max(int(n_items), 1) + cols.item[sel]
    keep[sel[superseded_events(keys, cols.timestamp[sel], cols.event_type[sel], cols.weight[sel], semantics=semantics)]] = False
    if min_value is not None:
        if cols.value is None:
            raise ValueError("min_value needs values")
        keep &= cols.value >= min_value  # NaN (no value) fails too, as before
    return keep


def kcore_masks(
    cols: WeightedColumns,
    n_users: int,
    n_items: int,
    aggregate: Aggregate,
    *,
    min_user_interactions: int,
    min_item_interactions: int,
    prune_users: bool,
    prune_items: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``(user_ok, item_ok)`` masks after the iterative k-core on distinct positive pairs.

    Users (items) without a positive pair are dropped only when ``prune_users``
    (``prune_items``), i.e. when no map was given.
    """
    width = max(n_items, 1)
    keys, _, agg = aggregate_pairs(cols.user, cols.item, cols.weight, width, aggregate)
    pos = agg > 0
    pu, pi = keys[pos] // width, keys[pos] % width
    user_ok = np.ones(n_users, dtype=bool)
    item_ok = np.ones(n_items, dtype=bool)
    if prune_users:
        user_ok &= np.bincount(pu, minlength=n_users) > 0
    if prune_items:
        item_ok &= np.bincount(pi, minlength=n_items) > 0
    if min_user_interactions <= 1 and min_item_interactions <= 1:
        return user_ok, item_ok
    while True:
        alive = user_ok[pu] & item_ok[pi]
        new_u = user_ok & (np.bincount(pu[alive], minlength=n_users) >= min_user_interactions)
        new_i = item_ok & (np.bincount(pi[alive], minlength=n_items) >= min_item_interactions)
        if np.array_equal(new_u, user_ok) and np.array_equal(new_i, item_ok):
            return user_ok, item_ok
        user_ok, item_ok = new_u, new_i


def compact_ids(values: np.ndarray, ok: np.ndarray, codes: np.ndarray) -> tuple[IdMap, np.ndarray]:
    """Map of the surviving ``values[ok]`` and the codes renumbered into it."""
    return IdMap(values[ok]), (np.cumsum(ok) - 1)[codes]
