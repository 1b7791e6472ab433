"""The simulated events: recorded while shoppers browse, then handed out as ``ml.dataset.EventColumns``.

Event types and devices are stored as ``common.vocabulary`` codes (positions in ``EVENT_TYPES`` and
``DEVICES``), and the columns carry those name tuples, so whoever reads them maps codes back with the same
vocabulary as the rest of the shop.
"""
from __future__ import annotations

import math

import numpy as np

from demo.simulation.rhythms import DAY, SHOPPER_DEVICES
from ml.dataset import EventColumns


def _vocabulary() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int], tuple[int, ...]]:
    """``(EVENT_TYPES, DEVICES, EVENT_CODE, device code of each SHOPPER_DEVICES entry)``."""
    # Imported when a shop is simulated, not when this package is: common.vocabulary defines EventType with
    # Django's TextChoices (it loads django.db.models, no settings needed), and the simulator is a numpy
    # library that imports without Django (tests/demo/test_simulation.py checks it).
    from common.vocabulary import DEVICE_CODE, DEVICES, EVENT_CODE, EVENT_TYPES

    return EVENT_TYPES, DEVICES, EVENT_CODE, tuple(DEVICE_CODE[name] for name in SHOPPER_DEVICES)


class EventRecorder:
    """Events in the order they were simulated (not yet sorted), in growing lists."""

    def __init__(self) -> None:
        self._event_types, self._devices, self._event_code, self._device_code = _vocabulary()
        self.user: list[int] = []
        self.item: list[int] = []
        self.event_type: list[int] = []
        self.value: list[float] = []
        self.timestamp: list[float] = []
        self.device: list[int] = []

    def emit(self, user: int, item: int, event_type: str, ts: float, device: int, value: float = math.nan) -> None:
        """Record one event; ``device`` is an index into ``SHOPPER_DEVICES``, ``ts`` unix seconds."""
        self.user.append(user)
        self.item.append(item)
        self.event_type.append(self._event_code[event_type])
        self.value.append(value)
        self.timestamp.append(ts)
        self.device.append(self._device_code[device])

    def __len__(self) -> int:
        return len(self.user)

    def rounded_timestamps(self) -> np.ndarray:
        """Timestamps rounded to the millisecond, shape (n,), in simulation order."""
        return np.round(np.asarray(self.timestamp, dtype=np.float64), 3)

    def select(self, order: np.ndarray, *, tz_offsets: np.ndarray) -> EventColumns:
        """The events at positions ``order`` (int array), with local hours from each user's ``tz_offsets``.

        Returns
        -------
        EventColumns
            ``user_ids`` / ``item_ids``: int32 simulator indices; ``event_type_codes`` and ``device_codes``:
            int8 codes into ``common.vocabulary`` (carried as ``event_types`` / ``devices``); ``values``:
            float64, NaN none; ``timestamps``: float64 unix seconds (millisecond precision);
            ``local_hours``: int8 0-23.
        """
        user = np.asarray(self.user, dtype=np.int32)[order]
        timestamp = self.rounded_timestamps()[order]
        return EventColumns(
            user_ids=user,
            item_ids=np.asarray(self.item, dtype=np.int32)[order],
            event_type_codes=np.asarray(self.event_type, dtype=np.int8)[order],
            event_types=self._event_types,
            values=np.asarray(self.value, dtype=np.float64)[order],
            timestamps=timestamp,
            device_codes=np.asarray(self.device, dtype=np.int8)[order],
            devices=self._devices,
            local_hours=(((timestamp + tz_offsets[user] * 3600.0) % DAY) // 3600).astype(np.int8),
        )
