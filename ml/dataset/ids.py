"""External ids <-> contiguous matrix indices (:class:`IdMap`).

Database primary keys never leak into matrix indices: an :class:`IdMap` translates
external ids (ints or strings) to contiguous ``int64`` indices and back, fully vectorized.

Ids are opaque names: nothing a model computes may depend on how they are spelled. Maps built from
data (:func:`first_seen_codes`, used by ``Interactions.from_events``) therefore number ids in the order
they first appear in the events (time order, then input order), never in sorted id order, so that
relabelling every user and item of a data set changes no index, no score and no tie (``topk`` breaks
exact ties by the lower index: the item seen first).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np

from ml.utils.arrays import sorted_lookup

__all__ = ["IdMap", "first_seen_codes", "normalize_ids"]


def normalize_ids(values: Any) -> np.ndarray:
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


def first_seen_codes(values: Any, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unique ids numbered in order of first appearance, and the code of every value.

    Parameters
    ----------
    values : array-like, shape (n,)
        Ids (int or str, see :func:`normalize_ids`), e.g. one per event.
    order : ndarray of int, shape (n,), optional
        The order in which ``values`` are read (a permutation, e.g. the stable time order of the
        events); default: as given.

    Returns
    -------
    uniques : ndarray, shape (n_unique,)
        Each distinct id once, the one read first at index 0.
    codes : ndarray of int64, shape (n,)
        ``uniques[codes] == values``.

    Examples
    --------
    >>> u, c = first_seen_codes(["b", "a", "b", "c"])
    >>> u.tolist(), c.tolist()
    (['b', 'a', 'c'], [0, 1, 0, 2])
    """
    arr = normalize_ids(values)
    read = arr if order is None else arr[order]
    uniques, first, inverse = np.unique(read, return_index=True, return_inverse=True)
    rank = np.argsort(first, kind="stable")  # unique ids by first position
    code_of_sorted = np.empty(len(rank), dtype=np.int64)
    code_of_sorted[rank] = np.arange(len(rank))
    codes = code_of_sorted[inverse.reshape(-1)]
    if order is not None:
        unread = np.empty_like(codes)
        unread[order] = codes
        codes = unread
    return uniques[rank], codes


class IdMap:
    """Bijection between external ids and contiguous indices ``0..n-1``.

    ``external_ids[i]`` is the external id of index ``i``.  Ids are either all
    integers (stored as ``int64``) or all strings (stored as numpy unicode).

    * :meth:`from_values` -- unique ids in sorted order (maps built from events use
      :func:`first_seen_codes` instead, so indices never depend on how ids are named);
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
        ids = normalize_ids(external_ids)
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
        return cls(np.unique(normalize_ids(values)))

    def extend(self, values: Any) -> IdMap:
        """New map with the ids of ``values`` not yet known appended (sorted)."""
        idx = self.to_index(values, missing="ignore")
        new = np.unique(self._coerce(normalize_ids(values))[idx < 0])
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
        q = normalize_ids(ids)
        try:
            q = self._coerce(q)
        except KeyError:
            if missing == "ignore":
                return np.full(len(q), -1, dtype=np.int64)
            raise
        out = sorted_lookup(self._sorted, q, self._sorter)
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

