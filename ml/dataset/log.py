"""The time-ordered event log (:class:`EventLog`: indexed, weighted events inside an Interactions) and per-pair aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["EventLog", "Aggregate", "AGGREGATES", "SECONDS_PER_DAY", "aggregate_pairs", "to_unix_seconds"]

Aggregate = Literal["sum", "max", "last"]
AGGREGATES = ("sum", "max", "last")
SECONDS_PER_DAY = 86400.0


@dataclass
class EventLog:
    """Time-ordered (stable) per-event arrays, indices in the owning maps' space.

    ``weight`` is the signed per-event weight after event-type weighting, optional
    value weighting and time decay; events with weight <= 0 (e.g. ``skip``) are kept
    so that re-aggregation is exact.  ``timestamp`` is unix seconds (or the input
    order when no timestamps were given).
    """

    user_index: np.ndarray  # int32
    item_index: np.ndarray  # int32
    weight: np.ndarray  # float32
    timestamp: np.ndarray  # float64
    event_type: np.ndarray | None = None  # unicode
    value: np.ndarray | None = None  # float32, raw values as given
    # Per-event context, e.g. {"device": str array ("" unknown), "hour": float array (NaN unknown)}; used by the
    # context-aware rankers (FM, Wide & Deep) and carried through every subset and split.
    context: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.user_index = np.asarray(self.user_index, dtype=np.int32)
        self.item_index = np.asarray(self.item_index, dtype=np.int32)
        self.weight = np.asarray(self.weight, dtype=np.float32)
        self.timestamp = np.asarray(self.timestamp, dtype=np.float64)
        n = len(self.user_index)
        for name in ("item_index", "weight", "timestamp", "event_type", "value"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise ValueError(f"EventLog.{name} has length {len(arr)}, expected {n}")
        if self.context is not None:
            self.context = {str(key): np.asarray(arr) for key, arr in self.context.items()}
            for key, arr in self.context.items():
                if len(arr) != n:
                    raise ValueError(f"EventLog.context[{key!r}] has length {len(arr)}, expected {n}")

    def __len__(self) -> int:
        return len(self.user_index)

    def take(self, index: np.ndarray) -> EventLog:
        """Subset by boolean mask or integer positions (order preserved)."""
        return EventLog(
            user_index=self.user_index[index],
            item_index=self.item_index[index],
            weight=self.weight[index],
            timestamp=self.timestamp[index],
            event_type=None if self.event_type is None else self.event_type[index],
            value=None if self.value is None else self.value[index],
            context=None if self.context is None else {key: arr[index] for key, arr in self.context.items()},
        )

    def positive(self) -> EventLog:
        """Only the events with weight > 0."""
        return self.take(self.weight > 0)

    def pair_keys(self, n_items: int) -> np.ndarray:
        """``user_index * n_items + item_index`` as int64 (one key per event)."""
        return self.user_index.astype(np.int64) * int(n_items) + self.item_index



def to_unix_seconds(timestamps: Any) -> np.ndarray:
    """Timestamps (numbers = unix seconds, or ``datetime64``) as float64 seconds."""
    ts = np.asarray(timestamps)
    if ts.dtype.kind == "M":
        return ts.astype("datetime64[us]").astype(np.int64).astype(np.float64) / 1e6
    if ts.dtype.kind == "O":
        try:
            return np.asarray(ts, dtype="datetime64[us]").astype(np.int64).astype(np.float64) / 1e6
        except (TypeError, ValueError):
            return ts.astype(np.float64)
    return ts.astype(np.float64, copy=False)


def aggregate_pairs(
    user_index: np.ndarray,
    item_index: np.ndarray,
    weight: np.ndarray,
    n_items: int,
    how: Aggregate = "sum",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate events per (user, item) pair.

    Returns ``(pair_keys, first_event_position, aggregated_weight)`` with keys
    ``user * n_items + item`` sorted ascending.  ``"last"`` takes the weight of the
    last event in input order (the log is time-ordered, so: the latest event).
    Sums are accumulated in float64.
    """
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {how!r}")
    keys = np.asarray(user_index, dtype=np.int64) * int(n_items) + np.asarray(item_index, dtype=np.int64)
    if len(keys) == 0:
        return keys, np.zeros(0, np.int64), np.zeros(0, np.float64)
    order = np.argsort(keys, kind="stable")
    skeys = keys[order]
    starts = np.flatnonzero(np.r_[True, skeys[1:] != skeys[:-1]])
    w = np.asarray(weight, dtype=np.float64)[order]
    if how == "sum":
        agg = np.add.reduceat(w, starts)
    elif how == "max":
        agg = np.maximum.reduceat(w, starts)
    else:
        ends = np.r_[starts[1:], len(skeys)] - 1
        agg = w[ends]
    return skeys[starts], order[starts], agg
