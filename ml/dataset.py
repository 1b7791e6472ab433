"""One dataset type for every recommender: a user x item CSR matrix plus id maps.

Database primary keys never leak into matrix indices.  :class:`IdMap` translates
external ids (ints or strings) to contiguous ``int64`` indices and back, fully
vectorized.  :class:`Interactions` holds

* ``matrix``  -- ``scipy.sparse.csr_matrix`` float32 ``(n_users, n_items)`` of
  *positive* aggregated weights (pairs whose total weight is <= 0 are absent);
* ``user_map`` / ``item_map`` -- :class:`IdMap`;
* ``log``     -- :class:`EventLog`, the time-ordered per-event arrays the matrix
  was aggregated from (needed by sequence models and temporal splitters); it keeps
  *all* events that survived filtering, including negative ones (e.g. ``skip``),
  so that re-aggregating a subset of it reproduces the matrix exactly;
  use :meth:`EventLog.positive` for the positive events only;
* ``item_features`` -- :class:`ItemFeatures` aligned to ``item_map`` order;
* ``user_features`` -- ``dict[str, np.ndarray]`` aligned to ``user_map`` order
  (free-form; used by neural models).

Build one with :meth:`Interactions.from_events` (vectorized; millions of rows in
seconds), :meth:`Interactions.from_matrix` (tests) or :meth:`Interactions.from_log`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

__all__ = [
    "IdMap",
    "EventLog",
    "ItemFeatures",
    "Interactions",
    "aggregate_pairs",
    "to_unix_seconds",
]

Aggregate = Literal["sum", "max", "last"]
_AGGREGATES = ("sum", "max", "last")
SECONDS_PER_DAY = 86400.0


# --------------------------------------------------------------------------- IdMap
def _normalize_id_array(values: Any) -> np.ndarray:
    """Turn ids into a 1-d int64 array or a 1-d unicode (``<U``) array."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"ids must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        raise TypeError("boolean ids are not supported")
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "O":
        if len(arr) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr):
            return arr.astype(np.int64)
        return arr.astype(str)
    if arr.dtype.kind == "f":
        if len(arr) and not np.all(np.mod(arr, 1) == 0):
            raise TypeError("float ids must be integral")
        return arr.astype(np.int64)
    if arr.dtype.kind == "S":
        return arr.astype(str)
    raise TypeError(f"unsupported id dtype {arr.dtype}")


class IdMap:
    """Bijection between external ids and contiguous indices ``0..n-1``.

    ``external_ids[i]`` is the external id of index ``i``.  Ids are either all
    integers (stored as ``int64``) or all strings (stored as numpy unicode).

    * :meth:`from_values` -- unique ids in stable sorted order;
    * :meth:`to_index` -- vectorized lookup (``KeyError`` naming unknown ids, or
      ``-1`` for them with ``missing="ignore"``);
    * :meth:`to_external` -- inverse; index ``-1`` gives the sentinel (``-1`` for
      integer ids, ``""`` for string ids);
    * :meth:`extend` -- a new map with unseen ids appended (existing indices kept).

    Lookups of string ids against an integer map try ``int(...)`` conversion
    (``"42"`` finds ``42``), and integer ids against a string map use ``str``.
    """

    __slots__ = ("external_ids", "_sorted", "_sorter")

    def __init__(self, external_ids: Any):
        ids = _normalize_id_array(external_ids)
        sorter = np.argsort(ids, kind="stable")
        sorted_ids = ids[sorter]
        if len(sorted_ids) > 1:
            dup = sorted_ids[1:] == sorted_ids[:-1]
            if dup.any():
                raise ValueError(f"duplicate ids in IdMap: {sorted_ids[1:][dup][:5].tolist()}")
        ids.setflags(write=False)
        self.external_ids: np.ndarray = ids
        self._sorted = sorted_ids
        self._sorter = sorter.astype(np.int64, copy=False)

    # construction ------------------------------------------------------------
    @classmethod
    def from_values(cls, values: Any) -> IdMap:
        """Map of the unique values, in sorted order."""
        return cls(np.unique(_normalize_id_array(values)))

    def extend(self, values: Any) -> IdMap:
        """New map with the ids of ``values`` not yet known appended (sorted)."""
        idx = self.to_index(values, missing="ignore")
        new = np.unique(self._coerce(_normalize_id_array(values))[idx < 0])
        if len(new) == 0:
            return self
        return IdMap(np.concatenate([self.external_ids, new]))

    # properties ----------------------------------------------------------------
    @property
    def is_integer(self) -> bool:
        return self.external_ids.dtype.kind in "iu"

    @property
    def sentinel(self) -> Any:
        return -1 if self.is_integer else ""

    def __len__(self) -> int:
        return len(self.external_ids)

    def __repr__(self) -> str:
        kind = "int" if self.is_integer else "str"
        return f"IdMap(n={len(self)}, kind={kind})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return self is other or (
            self.external_ids.dtype.kind == other.external_ids.dtype.kind
            and np.array_equal(self.external_ids, other.external_ids)
        )

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, value: Any) -> bool:
        return bool(self.to_index([value], missing="ignore")[0] >= 0)

    # lookups -------------------------------------------------------------------
    def _coerce(self, ids: np.ndarray) -> np.ndarray:
        if self.is_integer and ids.dtype.kind == "U":
            try:
                return ids.astype(np.int64)
            except ValueError:
                bad = []
                for v in ids:
                    try:
                        int(v)
                    except ValueError:
                        bad.append(str(v))
                        if len(bad) >= 5:
                            break
                raise KeyError(f"ids {bad} are not integers; this IdMap holds integer ids") from None
        if not self.is_integer and ids.dtype.kind in "iu":
            return ids.astype(str)
        return ids

    def to_index(self, ids: Any, *, missing: Literal["raise", "ignore"] = "raise") -> np.ndarray:
        """Indices (``int64``) of ``ids``.

        Unknown ids raise ``KeyError`` listing (up to 10 of) them, or map to ``-1``
        when ``missing="ignore"``.
        """
        if missing not in ("raise", "ignore"):
            raise ValueError("missing must be 'raise' or 'ignore'")
        q = _normalize_id_array(ids)
        try:
            q = self._coerce(q)
        except KeyError:
            if missing == "ignore":
                return np.full(len(q), -1, dtype=np.int64)
            raise
        n = len(self._sorted)
        if n == 0:
            out = np.full(len(q), -1, dtype=np.int64)
        else:
            pos = np.searchsorted(self._sorted, q)
            pos_c = np.minimum(pos, n - 1)
            found = self._sorted[pos_c] == q
            out = np.where(found, self._sorter[pos_c], -1).astype(np.int64, copy=False)
        if missing == "raise" and (out < 0).any():
            unknown = q[out < 0]
            shown = unknown[:10].tolist()
            more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
            raise KeyError(f"unknown ids: {shown}{more}")
        return out

    def to_external(self, indices: Any) -> np.ndarray:
        """External ids for ``indices`` (any shape); ``-1`` gives the sentinel."""
        idx = np.asarray(indices, dtype=np.int64)
        n = len(self.external_ids)
        if idx.size and (idx.max(initial=-1) >= n or idx.min(initial=0) < -1):
            raise IndexError(f"indices out of range for IdMap of size {n}")
        if n == 0:
            return np.full(idx.shape, self.sentinel, dtype=self.external_ids.dtype if self.is_integer else "<U1")
        out = self.external_ids[np.where(idx < 0, 0, idx)]
        if (idx < 0).any():
            out = out.copy()
            out[idx < 0] = self.sentinel
        return out

    # serialization -------------------------------------------------------------
    def to_json(self) -> dict:
        """JSON-serializable dict: ``{"kind": "int"|"str", "ids": [...]}``."""
        return {"kind": "int" if self.is_integer else "str", "ids": self.external_ids.tolist()}

    @classmethod
    def from_json(cls, data: dict | str) -> IdMap:
        if isinstance(data, str):
            data = json.loads(data)
        kind = data.get("kind")
        ids = data.get("ids", [])
        if kind == "int":
            return cls(np.asarray(ids, dtype=np.int64))
        if kind == "str":
            return cls(np.asarray(ids, dtype=str) if ids else np.zeros(0, dtype="<U1"))
        raise ValueError(f"invalid IdMap JSON kind {kind!r}")


# ------------------------------------------------------------------------ EventLog
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


# -------------------------------------------------------------------- ItemFeatures
@dataclass
class ItemFeatures:
    """Item side information aligned to an item map (row ``i`` = item index ``i``).

    ``text`` -- title + description per item; ``category`` -- int codes, -1
    unknown; ``category_names`` -- optional names for the codes; ``tags`` -- list
    of tag lists; ``price`` -- float array (NaN unknown).

    If ``item_ids`` is given, the features are keyed by those external ids rather
    than aligned yet; :meth:`align` (called by :meth:`Interactions.from_events`)
    reorders them to a map, filling unknown items with empty text / -1 / [] / NaN.
    """

    text: list[str] | None = None
    category: np.ndarray | None = None
    tags: list[list[str]] | None = None
    price: np.ndarray | None = None
    category_names: list[str] | None = None
    item_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.category is not None:
            self.category = np.asarray(self.category, dtype=np.int64)
        if self.price is not None:
            self.price = np.asarray(self.price, dtype=np.float64)
        if self.text is not None:
            self.text = ["" if t is None else str(t) for t in self.text]
        if self.tags is not None:
            self.tags = [list(t) if t is not None else [] for t in self.tags]
        lengths = {len(v) for v in (self.text, self.category, self.tags, self.price, self.item_ids) if v is not None}
        if len(lengths) > 1:
            raise ValueError(f"ItemFeatures fields have different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        for v in (self.item_ids, self.text, self.category, self.tags, self.price):
            if v is not None:
                return len(v)
        return 0

    def take(self, index: np.ndarray) -> ItemFeatures:
        """Rows at integer positions ``index``; ``-1`` gives an empty/unknown row."""
        index = np.asarray(index, dtype=np.int64)
        missing = index < 0
        safe = np.where(missing, 0, index)
        n = len(self)

        def pick_list(values, empty):
            if values is None:
                return None
            if n == 0:
                return [empty() for _ in index]
            return [empty() if m else values[j] for j, m in zip(safe.tolist(), missing.tolist(), strict=False)]

        category = None
        if self.category is not None:
            category = self.category[safe] if n else np.full(len(index), -1, np.int64)
            category = np.where(missing, -1, category)
        price = None
        if self.price is not None:
            price = self.price[safe] if n else np.full(len(index), np.nan)
            price = np.where(missing, np.nan, price)
        return ItemFeatures(
            text=pick_list(self.text, str),
            category=category,
            tags=pick_list(self.tags, list),
            price=price,
            category_names=self.category_names,
            item_ids=None,
        )

    def align(self, item_map: IdMap) -> ItemFeatures:
        """Features reordered to ``item_map`` (requires ``item_ids``, or the same length)."""
        if self.item_ids is None:
            if len(self) != len(item_map):
                raise ValueError(
                    "ItemFeatures without item_ids must already be aligned to the item map "
                    f"({len(self)} rows for {len(item_map)} items); pass item_ids=..."
                )
            return self
        pos = IdMap(self.item_ids).to_index(item_map.external_ids, missing="ignore")
        return self.take(pos)


# ----------------------------------------------------------------------- helpers
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
    if how not in _AGGREGATES:
        raise ValueError(f"aggregate must be one of {_AGGREGATES}, got {how!r}")
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


def _csr_from_sorted_keys(keys: np.ndarray, values: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    rows = keys // n_items
    cols = (keys % n_items).astype(np.int32)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    if indptr[-1] < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    m = sp.csr_matrix((values.astype(np.float32), cols, indptr), shape=(n_users, n_items))
    m.has_sorted_indices = True
    return m


# ------------------------------------------------------------------ Interactions
@dataclass
class Interactions:
    """User x item interactions with id maps (see module docstring).

    Invariants: ``matrix`` is CSR float32 with sorted indices, shape
    ``(len(user_map), len(item_map))``, strictly positive stored values.
    Splitters return train/test ``Interactions`` sharing the same map objects.
    """

    matrix: sp.csr_matrix
    user_map: IdMap
    item_map: IdMap
    log: EventLog | None = None
    item_features: ItemFeatures | None = None
    user_features: dict[str, np.ndarray] | None = None
    aggregate: str = "sum"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = self.matrix
        if not sp.issparse(m):
            m = sp.csr_matrix(np.asarray(m))
        m = sp.csr_matrix(m, dtype=np.float32)
        if not m.has_sorted_indices:
            m.sort_indices()
        self.matrix = m
        shape = (len(self.user_map), len(self.item_map))
        if m.shape != shape:
            raise ValueError(f"matrix shape {m.shape} does not match id maps {shape}")
        if self.item_features is not None and len(self.item_features) != shape[1]:
            raise ValueError("item_features must be aligned to item_map (use ItemFeatures.align)")
        if self.aggregate not in _AGGREGATES:
            raise ValueError(f"aggregate must be one of {_AGGREGATES}")

    # -- properties --------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def __repr__(self) -> str:
        log = f", events={len(self.log)}" if self.log is not None else ""
        return f"Interactions(users={self.n_users}, items={self.n_items}, nnz={self.nnz}{log})"

    # -- constructors --------------------------------------------------------------
    @classmethod
    def from_events(
        cls,
        *,
        user_ids: Any,
        item_ids: Any,
        event_types: Any = None,
        values: Any = None,
        context: dict[str, Any] | None = None,
        timestamps: Any = None,
        event_type_weights: dict[str, float] | None = None,
        value_weighting: bool = False,
        min_value: float | None = None,
        half_life_days: float | None = None,
        now: float | None = None,
        aggregate: Aggregate = "sum",
        min_user_interactions: int = 1,
        min_item_interactions: int = 1,
        item_features: ItemFeatures | None = None,
        user_features: dict[str, np.ndarray] | None = None,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
    ) -> Interactions:
        """Build interactions from raw event arrays (vectorized).

        Per-event weight = ``event_type_weights[type]`` (1 when no dict is given;
        types missing from the dict get 0 and are dropped) x ``value`` (only when
        ``value_weighting=True``; values are otherwise just stored in the log)
        x ``0.5 ** (age_days / half_life_days)`` with ``age = now - timestamp``
        (``now`` defaults to the latest timestamp).  ``min_value`` drops events whose
        value is below it (e.g. ``min_value=4`` keeps MovieLens ratings >= 4 as
        positives).  Events are aggregated per pair with ``aggregate``
        (``"sum"``, ``"max"`` or ``"last"`` = latest event); pairs with total
        weight <= 0 are not in the matrix (but their events stay in the log).
        ``context`` (optional) maps names to per-event arrays aligned with the input rows
        (e.g. ``{"device": ..., "hour": ...}``); it is kept in ``log.context``.

        ``min_user_interactions`` / ``min_item_interactions`` count distinct positive
        pairs and are applied iteratively (k-core).  Without maps, the maps hold the
        surviving users/items in sorted id order.  Given maps are kept as they are
        (index alignment, e.g. for splitters or a full catalogue item map): events
        with ids unknown to them are dropped, filtered users/items keep empty rows.

        Without ``timestamps`` the input order serves as time (``0, 1, 2, ...``);
        ``half_life_days`` then raises.
        """
        u_raw = _normalize_id_array(user_ids)
        i_raw = _normalize_id_array(item_ids)
        n = len(u_raw)
        if len(i_raw) != n:
            raise ValueError(f"user_ids has {n} rows but item_ids has {len(i_raw)}")
        if timestamps is None:
            if half_life_days is not None:
                raise ValueError("half_life_days needs timestamps")
            ts = np.arange(n, dtype=np.float64)
        else:
            ts = to_unix_seconds(timestamps)
            if len(ts) != n:
                raise ValueError("timestamps length differs from user_ids")
        weight = np.ones(n, dtype=np.float64)
        et = None
        if event_types is not None:
            et = np.asarray(event_types).astype(str)
            if len(et) != n:
                raise ValueError("event_types length differs from user_ids")
            if event_type_weights is not None:
                weight = np.zeros(n, dtype=np.float64)  # types missing from the dict: 0
                for etype, w in event_type_weights.items():
                    weight[et == etype] = float(w)
        elif event_type_weights is not None:
            raise ValueError("event_type_weights given without event_types")
        vals = None
        if values is not None:
            vals = np.asarray(values, dtype=np.float64)
            if len(vals) != n:
                raise ValueError("values length differs from user_ids")
            if value_weighting:
                weight = weight * vals
            if min_value is not None:
                weight = np.where(vals >= min_value, weight, 0.0)
        elif value_weighting or min_value is not None:
            raise ValueError("value_weighting / min_value need values")
        ctx = None
        if context is not None:
            ctx = {str(key): np.asarray(arr) for key, arr in context.items()}
            for key, arr in ctx.items():
                if len(arr) != n:
                    raise ValueError(f"context[{key!r}] length differs from user_ids")
        if half_life_days is not None:
            if half_life_days <= 0:
                raise ValueError("half_life_days must be > 0")
            ref = float(ts.max()) if (now is None and n) else float(now or 0.0)
            age_days = np.maximum(ref - ts, 0.0) / SECONDS_PER_DAY
            weight = weight * np.exp2(-age_days / float(half_life_days))
        weight = np.nan_to_num(weight, nan=0.0)

        keep = weight != 0
        # -- integer codes ------------------------------------------------------
        if user_map is not None:
            u_code = user_map.to_index(u_raw, missing="ignore")
            keep &= u_code >= 0
            user_values = None
        else:
            user_values, u_code = np.unique(u_raw, return_inverse=True)
            u_code = u_code.reshape(-1)
        if item_map is not None:
            i_code = item_map.to_index(i_raw, missing="ignore")
            keep &= i_code >= 0
            item_values = None
        else:
            item_values, i_code = np.unique(i_raw, return_inverse=True)
            i_code = i_code.reshape(-1)
        n_u = len(user_map) if user_map is not None else len(user_values)
        n_i = len(item_map) if item_map is not None else len(item_values)

        sel = np.flatnonzero(keep)
        sel = sel[np.argsort(ts[sel], kind="stable")]  # time order from here on
        u_code, i_code, weight, ts = u_code[sel], i_code[sel], weight[sel], ts[sel]
        if et is not None:
            et = et[sel]
        if vals is not None:
            vals = vals[sel]
        if ctx is not None:
            ctx = {key: arr[sel] for key, arr in ctx.items()}

        # -- k-core on positive pairs --------------------------------------------
        keys, _, agg = aggregate_pairs(u_code, i_code, weight, max(n_i, 1), aggregate)
        pos = agg > 0
        pu, pi = keys[pos] // max(n_i, 1), keys[pos] % max(n_i, 1)
        user_ok = np.ones(n_u, dtype=bool)
        item_ok = np.ones(n_i, dtype=bool)
        if user_map is None:
            user_ok &= np.bincount(pu, minlength=n_u) > 0
        if item_map is None:
            item_ok &= np.bincount(pi, minlength=n_i) > 0
        if min_user_interactions > 1 or min_item_interactions > 1:
            while True:
                alive = user_ok[pu] & item_ok[pi]
                uc = np.bincount(pu[alive], minlength=n_u)
                ic = np.bincount(pi[alive], minlength=n_i)
                new_u = user_ok & (uc >= min_user_interactions)
                new_i = item_ok & (ic >= min_item_interactions)
                if np.array_equal(new_u, user_ok) and np.array_equal(new_i, item_ok):
                    break
                user_ok, item_ok = new_u, new_i
        ev_keep = user_ok[u_code] & item_ok[i_code]

        # -- maps ------------------------------------------------------------------
        if user_map is None:
            user_map = IdMap(user_values[user_ok])
            remap_u = np.cumsum(user_ok) - 1
            u_code = remap_u[u_code]
        if item_map is None:
            item_map = IdMap(item_values[item_ok])
            remap_i = np.cumsum(item_ok) - 1
            i_code = remap_i[i_code]

        order = np.flatnonzero(ev_keep)
        log = EventLog(
            user_index=u_code[order],
            item_index=i_code[order],
            weight=weight[order],
            timestamp=ts[order],
            event_type=None if et is None else et[order],
            value=None if vals is None else vals[order],
            context=None if ctx is None else {key: arr[order] for key, arr in ctx.items()},
        )
        if item_features is not None:
            item_features = item_features.align(item_map)
        return cls.from_log(
            log,
            user_map=user_map,
            item_map=item_map,
            aggregate=aggregate,
            item_features=item_features,
            user_features=user_features,
            _weights64=weight[order],
        )

    @classmethod
    def from_log(
        cls,
        log: EventLog,
        *,
        user_map: IdMap,
        item_map: IdMap,
        aggregate: Aggregate = "sum",
        item_features: ItemFeatures | None = None,
        user_features: dict[str, np.ndarray] | None = None,
        _weights64: np.ndarray | None = None,
    ) -> Interactions:
        """Aggregate an :class:`EventLog` (indices in the given maps) into a matrix."""
        n_u, n_i = len(user_map), len(item_map)
        w = log.weight if _weights64 is None else _weights64
        keys, _, agg = aggregate_pairs(log.user_index, log.item_index, w, max(n_i, 1), aggregate)
        pos = agg > 0
        matrix = _csr_from_sorted_keys(keys[pos], agg[pos], n_u, max(n_i, 1))
        if n_i == 0:
            matrix = sp.csr_matrix((n_u, 0), dtype=np.float32)
        return cls(
            matrix=matrix,
            user_map=user_map,
            item_map=item_map,
            log=log,
            item_features=item_features,
            user_features=user_features,
            aggregate=aggregate,
        )

    @classmethod
    def from_matrix(
        cls,
        matrix: Any,
        *,
        user_ids: Any = None,
        item_ids: Any = None,
        item_features: ItemFeatures | None = None,
        user_features: dict[str, np.ndarray] | None = None,
    ) -> Interactions:
        """Wrap a (sparse or dense) matrix; ids default to ``0..n-1``. No log."""
        m = sp.csr_matrix(matrix, dtype=np.float32)
        m.sum_duplicates()
        m.data[m.data < 0] = 0
        m.eliminate_zeros()
        m.sort_indices()
        user_map = IdMap(np.arange(m.shape[0]) if user_ids is None else user_ids)
        item_map = IdMap(np.arange(m.shape[1]) if item_ids is None else item_ids)
        if item_features is not None:
            item_features = item_features.align(item_map)
        return cls(matrix=m, user_map=user_map, item_map=item_map, item_features=item_features, user_features=user_features)

    # -- derived views -------------------------------------------------------------
    def replace(self, **changes: Any) -> Interactions:
        """Shallow copy with fields replaced (maps and features are shared)."""
        return replace(self, **changes)

    def filter_events(self, mask: np.ndarray) -> Interactions:
        """Keep the log events selected by ``mask`` and re-aggregate (same maps)."""
        if self.log is None:
            raise ValueError("filter_events needs an event log")
        return Interactions.from_log(
            self.log.take(mask),
            user_map=self.user_map,
            item_map=self.item_map,
            aggregate=self.aggregate,  # type: ignore[arg-type]
            item_features=self.item_features,
            user_features=self.user_features,
        )

    def filter_pairs(self, keep: np.ndarray, *, keep_other_events: bool = True) -> Interactions:
        """Keep the matrix entries selected by ``keep`` (a mask over ``matrix.data``,
        CSR order) with all their events.  Events of pairs that are not in the
        matrix (total weight <= 0) are kept too unless ``keep_other_events=False``.
        """
        keep = np.asarray(keep, dtype=bool)
        m = self.matrix.tocoo()
        if self.log is None:
            sub = sp.csr_matrix((m.data[keep], (m.row[keep], m.col[keep])), shape=self.shape, dtype=np.float32)
            return self.replace(matrix=sub, log=None)
        pair_keys = self.pair_keys()
        ev_keys = self.log.pair_keys(self.n_items)
        if keep_other_events:
            ev_mask = ~_isin_sorted(ev_keys, pair_keys[~keep])
        else:
            ev_mask = _isin_sorted(ev_keys, pair_keys[keep])
        return self.filter_events(ev_mask)

    def pair_keys(self) -> np.ndarray:
        """``user * n_items + item`` (int64) of matrix entries, in CSR order (sorted)."""
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.matrix.indptr))
        return rows * self.n_items + self.matrix.indices

    def subset_users(self, user_indices: Any) -> Interactions:
        """Same maps, only the given users' rows (and events) kept."""
        mask = np.zeros(self.n_users, dtype=bool)
        mask[np.asarray(user_indices, dtype=np.int64)] = True
        if self.log is not None:
            return self.filter_events(mask[self.log.user_index])
        d = sp.diags(mask.astype(np.float32))
        sub = sp.csr_matrix(d @ self.matrix)
        sub.eliminate_zeros()
        return self.replace(matrix=sub)

    def binarized(self) -> sp.csr_matrix:
        """The matrix with every stored value set to 1."""
        b = self.matrix.copy()
        b.data[:] = 1.0
        return b

    def user_counts(self) -> np.ndarray:
        """Distinct positive items per user."""
        return np.diff(self.matrix.indptr)

    def item_counts(self) -> np.ndarray:
        """Distinct positive users per item."""
        return np.bincount(self.matrix.indices, minlength=self.n_items)

    def active_users(self) -> np.ndarray:
        """Indices of users with at least one positive interaction."""
        return np.flatnonzero(self.user_counts() > 0)


def _isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Vectorized membership of ``values`` in an ascending unique array."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_set, values)
    pos = np.minimum(pos, len(sorted_set) - 1)
    return sorted_set[pos] == values
