"""Raw events as numpy columns (:class:`EventColumns`): what readers and simulators hand to the dataset.

One row per event, in no particular order, before any weighting or id mapping. Event types and devices
are small integer codes into name tuples the caller passes (the Django side passes
``common.vocabulary.EVENT_TYPES`` / ``DEVICES``; ``ml`` itself knows no vocabulary).
:meth:`EventColumns.to_interactions` turns the columns into an :class:`~ml.dataset.Interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ml.dataset.interactions import Interactions

__all__ = ["EventColumns"]

_ROW_COLUMNS = ("user_ids", "item_ids", "event_type_codes", "values", "timestamps", "device_codes", "local_hours")


def _check_codes(codes: np.ndarray, names: tuple[str, ...], what: str, *, lowest: int) -> None:
    if len(codes) and (int(codes.min()) < lowest or int(codes.max()) >= len(names)):
        raise ValueError(f"{what} must lie in [{lowest}, {len(names)}) (positions in the name tuple)")


@dataclass(frozen=True)
class EventColumns:
    """Raw events as parallel numpy columns, one row per event.

    Parameters
    ----------
    user_ids, item_ids : ndarray, shape (n,)
        External ids of any dtype (int64 primary keys, strings, simulator indices).
    event_type_codes : ndarray of int, shape (n,)
        Position of each event's type in ``event_types``.
    event_types : tuple of str
        The names the codes index (e.g. ``common.vocabulary.EVENT_TYPES``).
    values : ndarray of float, shape (n,)
        The event's value (rating, dwell seconds); NaN where it has none.
    timestamps : ndarray of float64, shape (n,)
        Unix seconds.
    device_codes : ndarray of int, shape (n,), optional
        Position of each event's device in ``devices``; -1 unknown.
    devices : tuple of str
        The names ``device_codes`` index (needed with ``device_codes``).
    local_hours : ndarray of int, shape (n,), optional
        The shopper's local hour 0-23; anything else (-1) is unknown.

    Raises
    ------
    ValueError
        If a column's length differs from ``user_ids`` or a code is outside its name tuple.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    event_type_codes: np.ndarray
    event_types: tuple[str, ...]
    values: np.ndarray
    timestamps: np.ndarray
    device_codes: np.ndarray | None = None
    devices: tuple[str, ...] = ()
    local_hours: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        for name in _ROW_COLUMNS:
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"EventColumns.{name} has length {len(column)}, expected {n}")
        # Tuples, so that concat compares vocabularies with == whatever sequence the caller passed.
        object.__setattr__(self, "event_types", tuple(self.event_types))
        object.__setattr__(self, "devices", tuple(self.devices))
        _check_codes(self.event_type_codes, self.event_types, "event_type_codes", lowest=0)
        if self.device_codes is not None:
            _check_codes(self.device_codes, self.devices, "device_codes", lowest=-1)

    def __len__(self) -> int:
        return len(self.user_ids)

    def take(self, index: np.ndarray) -> EventColumns:
        """The rows picked by a boolean mask or integer positions (order kept), same name tuples."""
        return replace(self, **{name: None if getattr(self, name) is None else getattr(self, name)[index] for name in _ROW_COLUMNS})

    @classmethod
    def concat(cls, parts: Sequence[EventColumns]) -> EventColumns:
        """Chunks read one after another, as one set of columns.

        Parameters
        ----------
        parts : sequence of EventColumns
            At least one; all with the same ``event_types`` and ``devices`` and the same optional columns.

        Raises
        ------
        ValueError
            If ``parts`` is empty, or the parts disagree on vocabularies or optional columns.
        """
        if not parts:
            raise ValueError("concat needs at least one part")
        first = parts[0]
        if any(p.event_types != first.event_types or p.devices != first.devices for p in parts):
            raise ValueError("parts have different event_types or devices")
        if len(parts) == 1:
            return first
        columns: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in _ROW_COLUMNS:
                continue
            chunks = [getattr(p, f.name) for p in parts]
            if all(c is None for c in chunks):
                columns[f.name] = None
            elif any(c is None for c in chunks):
                raise ValueError(f"column {f.name!r} is present in some parts only")
            else:
                columns[f.name] = np.concatenate(chunks)
        return replace(first, **columns)

    def event_type_names(self) -> np.ndarray:
        """Each event's type name, unicode array of shape (n,)."""
        return np.asarray(self.event_types, dtype=str)[self.event_type_codes]

    def context(self) -> dict[str, np.ndarray] | None:
        """Per-event context as :meth:`Interactions.from_events` takes it, or None without device or hour columns.

        Returns
        -------
        dict of str to ndarray, optional
            ``"device"``: unicode names, ``""`` unknown; ``"hour"``: float32 0-23, NaN unknown.
        """
        context: dict[str, np.ndarray] = {}
        if self.device_codes is not None:
            names = np.asarray([*self.devices, ""], dtype=str)  # code -1 picks the trailing ""
            context["device"] = names[np.where(self.device_codes >= 0, self.device_codes, len(self.devices))]
        if self.local_hours is not None:
            hours = self.local_hours.astype(np.float32)
            hours[(self.local_hours < 0) | (self.local_hours > 23)] = np.nan
            context["hour"] = hours
        return context or None

    def to_interactions(self, *, event_type_weights: dict[str, float], **options: Any) -> Interactions:
        """:meth:`Interactions.from_events` on these events, weighted by event type, with their context.

        Parameters
        ----------
        event_type_weights : dict of str to float
            Weight per event-type name; types missing from it get 0 and are dropped.
        **options
            Passed through to :meth:`Interactions.from_events` (``min_user_interactions``,
            ``item_features``, ``half_life_days``, maps ...).
        """
        return Interactions.from_events(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            event_types=self.event_type_names(),
            values=self.values,
            timestamps=self.timestamps,
            context=self.context(),
            event_type_weights=event_type_weights,
            **options,
        )
