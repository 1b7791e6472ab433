"""``simulate_shop``: the catalog, the shoppers and exactly ``n_events`` of their most recent events."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from demo.simulation.catalog import SimCategory, SimItem, catalog_build
from demo.simulation.events import EventRecorder
from demo.simulation.sessions import sessions_simulate
from demo.simulation.shoppers import SimUser, affinity_compute, users_build
from demo.simulation.specs import CATEGORY_SPECS, CategorySpec
from ml.dataset import EventColumns

# The first guess of events per visit; the sizing loop measures the real rate (usually one or two runs).
EVENTS_PER_SESSION = 8.4


@dataclass
class SimulatedShop:
    seed: int
    end_timestamp: float
    days: int
    categories: list[SimCategory]
    items: list[SimItem]
    users: list[SimUser]
    events: EventColumns  # sorted by time
    item_factors: np.ndarray = field(repr=False)
    user_factors: np.ndarray = field(repr=False)
    item_popularity: np.ndarray = field(repr=False)  # hidden base popularity (sums to 1)


def _sized_log(*, seed: int, n_events: int, n_users: int, end_timestamp: float, **world) -> tuple[EventRecorder, np.ndarray]:
    """Simulate so that a little more than ``n_events`` fall in the window; returns the log and its kept mask."""
    events_per_session, attempt = EVENTS_PER_SESSION, 0
    while True:
        n_sessions = max(n_users, int(n_events / events_per_session * 1.04))
        log = sessions_simulate(np.random.default_rng([seed, 3, attempt]), n_sessions=n_sessions, end_timestamp=end_timestamp, **world)
        keep = log.rounded_timestamps() <= end_timestamp
        kept = int(keep.sum())
        if kept >= n_events and (kept <= 1.2 * n_events or attempt >= 3):
            return log, keep
        attempt += 1
        if attempt > 8:  # pragma: no cover - the measured rate converges in one or two steps
            raise RuntimeError("Could not size the simulation.")
        events_per_session = max(0.5, kept / n_sessions)


def simulate_shop(
    *,
    seed: int,
    end_timestamp: float,
    n_users: int = 1000,
    n_items: int = 2000,
    n_events: int = 100_000,
    days: int = 90,
    specs: tuple[CategorySpec, ...] = CATEGORY_SPECS,
) -> SimulatedShop:
    """Simulate a shop: exactly ``n_events`` events (the most recent ones) ending at ``end_timestamp``.

    Parameters
    ----------
    seed : int
        The same seed and ``end_timestamp`` give identical output.
    end_timestamp : float
        Unix seconds of the end of the window; no event is later.
    n_users, n_items, n_events : int
        Sizes; ``n_items`` at least ``len(specs)``.
    days : int
        Length of the event window, at least 2.
    specs : tuple of CategorySpec
        The catalog vocabulary (default: ``categories.toml``).

    Returns
    -------
    SimulatedShop
        Events sorted by time, event types and devices as ``common.vocabulary`` codes; the hidden
        factors (``item_factors`` (n_items, 16), ``user_factors`` (n_users, 16)) and base popularity too.

    Raises
    ------
    ValueError
        If a size is too small.
    """
    if n_users < 1 or n_items < len(specs) or n_events < 1 or days < 2:
        raise ValueError(f"Need at least 1 user, {len(specs)} items, 1 event and 2 days.")
    catalog = catalog_build(np.random.default_rng([seed, 1]), n_items=n_items, end_timestamp=end_timestamp, days=days, specs=specs)
    users, user_factors = users_build(
        np.random.default_rng([seed, 2]), n_users=n_users, specs=specs, centroids=catalog.centroids, end_timestamp=end_timestamp, days=days
    )
    affinity = affinity_compute(
        np.random.default_rng([seed, 4]), user_factors=user_factors, item_factors=catalog.factors, items=catalog.items, specs=specs
    )
    log, keep = _sized_log(
        seed=seed, n_events=n_events, n_users=n_users, end_timestamp=end_timestamp,
        specs=specs, items=catalog.items, users=users, affinity=affinity, popularity=catalog.popularity, days=days,
    )
    order = np.flatnonzero(keep)
    order = order[np.argsort(log.rounded_timestamps()[order], kind="stable")][-n_events:]  # the most recent n_events
    return SimulatedShop(
        seed=seed,
        end_timestamp=end_timestamp,
        days=days,
        categories=catalog.categories,
        items=catalog.items,
        users=users,
        events=log.select(order, tz_offsets=np.array([user.tz_offset for user in users])),
        item_factors=catalog.factors,
        user_factors=user_factors,
        item_popularity=catalog.popularity,
    )
