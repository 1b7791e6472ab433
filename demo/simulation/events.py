"""The simulated event log: collected while shoppers browse, then kept as a structure of arrays.

Event types and devices are stored as ``common.vocabulary`` codes (positions in ``EVENT_TYPES`` and
``DEVICES``), so whoever reads the arrays maps them back with the same vocabulary as the rest of the shop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from demo.simulation.rhythms import DAY, SHOPPER_DEVICES


@dataclass
class SimEvents:
    """Structure of arrays, sorted by timestamp. ``value`` is NaN where an event has none."""

    user: np.ndarray  # int32 user index
    item: np.ndarray  # int32 item index
    event_type: np.ndarray  # int8 code: index into common.vocabulary.EVENT_TYPES
    value: np.ndarray  # float64
    timestamp: np.ndarray  # float64 unix seconds (millisecond precision)
    device: np.ndarray  # int8 code: index into common.vocabulary.DEVICES
    local_hour: np.ndarray  # int8 0-23

    def __len__(self) -> int:
        return int(self.user.shape[0])


def _vocabulary_codes() -> tuple[dict[str, int], tuple[int, ...]]:
    # Imported when a shop is simulated, not when this package is: common.vocabulary defines EventType with
    # Django's TextChoices (it loads django.db.models, no settings needed), and the simulator is a numpy
    # library that imports without Django (tests/demo/test_simulation.py checks it).
    from common.vocabulary import DEVICE_CODE, EVENT_CODE

    return EVENT_CODE, tuple(DEVICE_CODE[name] for name in SHOPPER_DEVICES)


class EventLog:
    """Events in the order they were simulated (not yet sorted), in growing lists."""

    def __init__(self) -> None:
        self._event_code, self._device_code = _vocabulary_codes()
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

    def select(self, order: np.ndarray, *, tz_offsets: np.ndarray) -> SimEvents:
        """The events at positions ``order`` (int array), with local hours from each user's ``tz_offsets``."""
        user = np.asarray(self.user, dtype=np.int32)[order]
        timestamp = self.rounded_timestamps()[order]
        return SimEvents(
            user=user,
            item=np.asarray(self.item, dtype=np.int32)[order],
            event_type=np.asarray(self.event_type, dtype=np.int8)[order],
            value=np.asarray(self.value, dtype=np.float64)[order],
            timestamp=timestamp,
            device=np.asarray(self.device, dtype=np.int8)[order],
            local_hour=(((timestamp + tz_offsets[user] * 3600.0) % DAY) // 3600).astype(np.int8),
        )
