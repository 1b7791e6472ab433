"""When shoppers come and on what device: daily rhythms, time zones, device mix and device conversion.

Arrays indexed by local hour have 24 rows; arrays and tuples indexed by device follow ``SHOPPER_DEVICES``
(an index into it, not a vocabulary code: ``events`` turns indices into ``common.vocabulary`` codes).
"""
from __future__ import annotations

import numpy as np

DAY = 86400.0  # seconds
HOURS = np.arange(24)
# The simulated shoppers use three of the vocabulary's devices; the order is part of the seed.
SHOPPER_DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")


def circular_bump(hours: np.ndarray, peak: int, width: float = 2.0) -> np.ndarray:
    """A Gaussian bump on the 24-hour circle (23:00 is next to 00:00).

    Parameters
    ----------
    hours : ndarray of int, shape (n,)
        Hours 0-23.
    peak : int
        The hour where the bump is 1.
    width : float
        Standard deviation in hours.

    Returns
    -------
    ndarray of float, shape (n,)
        Values in (0, 1].
    """
    distance = np.minimum(np.abs(hours - peak), 24 - np.abs(hours - peak))
    return np.exp(-(distance**2) / (2 * width**2))


def local_hour(timestamp: float, tz_offset: int) -> int:
    """The local hour (0-23) at unix time ``timestamp`` (seconds) in a zone ``tz_offset`` hours from UTC."""
    return int(((timestamp + tz_offset * 3600.0) % DAY) // 3600)


# Global diurnal activity by local hour: quiet at night, a lunch bump, an evening peak.
DIURNAL = 0.08 + 0.5 * circular_bump(HOURS, 8, 1.5) + 0.6 * circular_bump(HOURS, 13, 2.0) + 1.0 * circular_bump(HOURS, 20, 2.5)
DIURNAL = DIURNAL / DIURNAL.sum()
# Device weight by local hour, shape (24, 3), columns in SHOPPER_DEVICES order (mobile, desktop, tablet).
DEVICE_BY_HOUR = np.stack(
    [
        0.6 + 1.6 * circular_bump(HOURS, 21, 2.5) + 0.5 * circular_bump(HOURS, 8, 1.0),
        0.3 + 1.6 * circular_bump(HOURS, 12, 3.0),
        0.15 + 0.5 * circular_bump(HOURS, 20, 2.0),
    ],
    axis=1,
)
# Conversion by device: click, add_to_cart, purchase multipliers (desktop converts, mobile browses).
DEVICE_CLICK = (1.1, 1.0, 1.05)
DEVICE_CART = (0.7, 1.35, 1.0)
DEVICE_PURCHASE = (0.75, 1.2, 1.0)
TIME_ZONES = (-8, -6, -5, 0, 1, 2, 3)  # hours from UTC
TIME_ZONE_WEIGHTS = (0.15, 0.1, 0.2, 0.15, 0.25, 0.1, 0.05)


def device_draw(rng: np.random.Generator, *, preference: np.ndarray, hour: int) -> int:
    """Draw the device of a visit from a shopper's preference and the local hour.

    Parameters
    ----------
    rng : numpy.random.Generator
    preference : ndarray of float, shape (3,)
        The shopper's weights over ``SHOPPER_DEVICES``.
    hour : int
        Local hour 0-23.

    Returns
    -------
    int
        An index into ``SHOPPER_DEVICES``.
    """
    weights = preference * DEVICE_BY_HOUR[hour]
    return int(rng.choice(len(SHOPPER_DEVICES), p=weights / weights.sum()))


def hour_category_boost(specs) -> np.ndarray:
    """How much more each top-level category is browsed at each local hour, shape (24, n_categories), >= 1."""
    boost = np.ones((24, len(specs)))
    for top, spec in enumerate(specs):
        for peak in spec.peak_hours:
            boost[:, top] += 3.0 * circular_bump(HOURS, peak, 1.5)
    return boost
