"""The :class:`Interactions` dataset: a user x item CSR matrix plus id maps, log and features.

:class:`Interactions` holds

* ``matrix``  -- ``scipy.sparse.csr_matrix`` float32 ``(n_users, n_items)`` of
  *positive* aggregated weights (pairs whose total weight is <= 0 are absent);
* ``user_map`` / ``item_map`` -- :class:`~ml.dataset.ids.IdMap`;
* ``log``     -- :class:`~ml.dataset.log.EventLog`, the time-ordered per-event arrays the
  matrix was aggregated from (needed by sequence models and temporal splitters); it keeps
  *all* events that survived filtering, including negative ones (e.g. ``skip``),
  so that re-aggregating a subset of it reproduces the matrix exactly;
  use :meth:`EventLog.positive` for the positive events only;
* ``item_features`` -- :class:`~ml.dataset.features.ItemFeatures` aligned to ``item_map`` order;
* ``user_features`` -- ``dict[str, np.ndarray]`` aligned to ``user_map`` order
  (free-form; used by neural models).

Build one with :meth:`Interactions.from_events` (vectorized; millions of rows in
seconds), :meth:`Interactions.from_matrix` (tests) or :meth:`Interactions.from_log`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.dataset.events import compact_ids, id_codes, kcore_masks, pair_keep_mask, weighted_columns
from ml.dataset.features import ItemFeatures
from ml.dataset.ids import IdMap
from ml.dataset.log import AGGREGATES, Aggregate, EventLog, aggregate_pairs
from ml.dataset.semantics import EvidenceSemantics
from ml.utils.arrays import isin_sorted

__all__ = ["Interactions"]


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
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}")

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
        semantics: EvidenceSemantics | None = None,
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
        With ``semantics`` (:class:`~ml.dataset.semantics.EvidenceSemantics`) each event weighs its signed
        evidence instead (ratings below the neutral point negative, dwell scaled by seconds and ignored
        below the minimum), events are combined per pair first (only the latest rating counts; a negative
        latest opinion supersedes the pair's earlier events) and ``min_value`` applies after that
        combination; without event types every valued event is a rating.
        ``context`` (optional) maps names to per-event arrays aligned with the input rows
        (e.g. ``{"device": ..., "hour": ...}``); it is kept in ``log.context``.

        ``min_user_interactions`` / ``min_item_interactions`` count distinct positive
        pairs and are applied iteratively (k-core).  Without maps, the maps hold the
        surviving users/items in the order they first appear (time order, then input order),
        never in sorted id order: ids are opaque names and indices (hence ties) must not depend
        on them.  Given maps are kept as they are
        (index alignment, e.g. for splitters or a full catalogue item map): events
        with ids unknown to them are dropped, filtered users/items keep empty rows.

        Without ``timestamps`` the input order serves as time (``0, 1, 2, ...``);
        ``half_life_days`` then raises.
        """
        cols = weighted_columns(
            user_ids=user_ids,
            item_ids=item_ids,
            event_types=event_types,
            values=values,
            context=context,
            timestamps=timestamps,
            event_type_weights=event_type_weights,
            value_weighting=value_weighting,
            min_value=min_value,
            half_life_days=half_life_days,
            now=now,
            semantics=semantics,
        )
        time_order = np.argsort(cols.timestamp, kind="stable")  # ids are numbered as first seen in time
        user_values, cols.user, user_known = id_codes(cols.user, user_map, time_order)
        item_values, cols.item, item_known = id_codes(cols.item, item_map, time_order)
        n_u = len(user_map) if user_map is not None else len(user_values)
        n_i = len(item_map) if item_map is not None else len(item_values)
        counted = pair_keep_mask(cols, user_known & item_known, n_i, semantics=semantics, min_value=min_value)
        keep = (cols.weight != 0) & counted

        sel = np.flatnonzero(keep)
        sel = sel[np.argsort(cols.timestamp[sel], kind="stable")]  # time order from here on
        cols = cols.take(sel)

        user_ok, item_ok = kcore_masks(
            cols,
            n_u,
            n_i,
            aggregate,
            min_user_interactions=min_user_interactions,
            min_item_interactions=min_item_interactions,
            prune_users=user_map is None,
            prune_items=item_map is None,
        )
        ev_keep = user_ok[cols.user] & item_ok[cols.item]
        if user_map is None:
            user_map, cols.user = compact_ids(user_values, user_ok, cols.user)
        if item_map is None:
            item_map, cols.item = compact_ids(item_values, item_ok, cols.item)

        cols = cols.take(np.flatnonzero(ev_keep))
        if item_features is not None:
            item_features = item_features.align(item_map)
        return cls.from_log(
            cols.to_log(),
            user_map=user_map,
            item_map=item_map,
            aggregate=aggregate,
            item_features=item_features,
            user_features=user_features,
            _weights64=cols.weight,
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
            ev_mask = ~isin_sorted(ev_keys, pair_keys[~keep])
        else:
            ev_mask = isin_sorted(ev_keys, pair_keys[keep])
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
