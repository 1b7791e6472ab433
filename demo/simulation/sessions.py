"""Shopping sessions: when each shopper visits, and the funnel of one visit.

A visit is a burst of events (tens of seconds apart) on one device about one top-level category:
an optional restock of a consumable bought before, views drawn by popularity and affinity, then
click -> like / rating -> dwell -> add_to_cart, or a skip, and a checkout at the end.
The order of the random draws is part of the seed: the same seed gives the same events.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from demo.simulation.catalog import SimItem
from demo.simulation.events import EventRecorder
from demo.simulation.rhythms import (
    DAY,
    DEVICE_CART,
    DEVICE_CLICK,
    DEVICE_PURCHASE,
    DIURNAL,
    HOURS,
    circular_bump,
    device_draw,
    hour_category_boost,
    local_hour,
)
from demo.simulation.shoppers import SimUser
from demo.simulation.specs import MEDIA_CATEGORIES, CategorySpec


@dataclass(frozen=True)
class _Shop:
    """What every visit reads: per-item and per-category arrays, fixed for one run."""

    affinity: np.ndarray  # (n_users, n_items), standardised
    item_top: np.ndarray  # (n_items,) top-level category of each item
    items_by_top: list[np.ndarray]  # item indices per top-level category
    created: np.ndarray  # (n_items,) unix seconds
    stopped: np.ndarray  # (n_items,) unix seconds when a discontinued item stopped selling, inf otherwise
    in_stock: np.ndarray  # (n_items,) bool
    consumable: np.ndarray  # (n_top,) bool
    media: np.ndarray  # (n_top,) bool
    hour_boost: np.ndarray  # (24, n_top)
    hour_need: np.ndarray  # (24, n_top), rows sum to 1
    pop_weight: np.ndarray  # (n_items,)

    def available(self, item: int, ts: float) -> bool:
        return self.created[item] <= ts < self.stopped[item]


@dataclass
class _Shopper:
    index: int
    tz_offset: int
    device_preference: np.ndarray  # (3,) weights over SHOPPER_DEVICES
    interest: np.ndarray  # (24, n_top): which category a visit at each local hour is about, rows sum to 1
    pantry: dict[int, float] = field(default_factory=dict)  # consumable item -> last purchase time
    owned: set[int] = field(default_factory=set)  # durable goods are bought once
    browse_cdf: dict[int, np.ndarray] = field(default_factory=dict)  # top category -> cumulative view weights


@dataclass
class _Visit:
    shopper: _Shopper
    device: int  # index into SHOPPER_DEVICES
    top: int
    ts: float  # the clock of the visit, unix seconds
    cart: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Schedule:
    """How often and when each shopper visits."""

    day_weight: np.ndarray  # (days,) a growing shop with busier weekends
    joined_day: np.ndarray  # (n_users,) first day index in the window
    churn_day: np.ndarray  # (n_users,) day index after the last visit
    sessions: np.ndarray  # (n_users,) number of visits
    favourite_hour: np.ndarray  # (n_users,) local hour
    device_preference: np.ndarray  # (n_users, 3)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _rating(rng: np.random.Generator, *, base: float, score: float) -> float:
    """A 1-5 star rating, higher for a better affinity ``score``."""
    return float(np.clip(round(base + 0.8 * score + 0.9 * rng.normal()), 1, 5))


def _shop_build(rng, *, specs, items: list[SimItem], affinity, popularity, window_start: float, days: int) -> _Shop:
    n_items = len(items)
    item_top = np.array([item.top_category for item in items])
    # Discontinued items (inactive now) stopped selling at some point inside the window.
    stopped = np.full(n_items, np.inf)
    for item in items:
        if not item.is_active:
            stopped[item.index] = window_start + days * DAY * rng.random()
    hour_boost = hour_category_boost(specs)
    traffic = np.array([spec.traffic for spec in specs])
    hour_need = traffic * hour_boost**2
    hour_need /= hour_need.sum(axis=1, keepdims=True)
    return _Shop(
        affinity=affinity,
        item_top=item_top,
        items_by_top=[np.flatnonzero(item_top == top) for top in range(len(specs))],
        created=np.array([item.created_at for item in items]),
        stopped=stopped,
        in_stock=np.array([item.in_stock for item in items]),
        consumable=np.array([spec.consumable for spec in specs]),
        media=np.array([spec.slug in MEDIA_CATEGORIES for spec in specs]),
        hour_boost=hour_boost,
        hour_need=hour_need,
        pop_weight=popularity**0.9,
    )


def _schedule_build(rng, *, users: list[SimUser], n_sessions: int, window_start: float, days: int) -> _Schedule:
    n_users = len(users)
    # Day weights: a growing shop (more traffic lately) with busier weekends.
    day_index = np.arange(days)
    weekday = np.array([dt.datetime.fromtimestamp(window_start + d * DAY, tz=dt.UTC).weekday() for d in day_index])
    day_weight = (1.0 + 1.2 * day_index / days) * np.where(weekday >= 5, 1.25, 1.0)
    # Sessions per user: heavy-tailed activity over the part of the window the user was around.
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    joined_day = np.clip(np.floor((np.array([u.joined_at for u in users]) - window_start) / DAY), 0, days - 1).astype(int)
    churn_day = np.where(rng.random(n_users) < 0.15, rng.integers(0, days, size=n_users), days)
    churn_day = np.maximum(churn_day, joined_day + 1)
    rate = activity * ((churn_day - joined_day) / days)
    expected = (n_sessions - n_users) * rate / rate.sum()
    return _Schedule(
        day_weight=day_weight,
        joined_day=joined_day,
        churn_day=churn_day,
        sessions=1 + rng.poisson(expected),
        favourite_hour=rng.choice(24, size=n_users, p=DIURNAL),
        device_preference=rng.dirichlet([2.0, 1.5, 0.6], size=n_users),
    )


def _visit_starts(rng, *, schedule: _Schedule, user: SimUser, window_start: float) -> np.ndarray:
    """Sorted unix start times of one shopper's visits: on weighted days, around a favourite local hour."""
    first, last = schedule.joined_day[user.index], schedule.churn_day[user.index]
    weights = schedule.day_weight[first:last] / schedule.day_weight[first:last].sum()
    n = int(schedule.sessions[user.index])
    session_days = first + rng.choice(last - first, size=n, p=weights)
    favourite = circular_bump(HOURS, int(schedule.favourite_hour[user.index]), 1.5)
    hour_pmf = 0.7 * DIURNAL + 0.3 * favourite / circular_bump(HOURS, 0, 1.5).sum()
    hour_pmf = hour_pmf / hour_pmf.sum()
    local_hours = rng.choice(24, size=n, p=hour_pmf)
    seconds = rng.random(n) * 3600.0
    return np.sort(window_start + session_days * DAY + local_hours * 3600.0 + seconds - user.tz_offset * 3600.0)


def _restock(rng, shop: _Shop, log: EventRecorder, visit: _Visit) -> None:
    """Consumables run out: sometimes a visit starts by buying again something bought before."""
    shopper = visit.shopper
    if not (shop.consumable[visit.top] and shopper.pantry and rng.random() < 0.5):
        return
    due = [
        item
        for item, bought in shopper.pantry.items()
        if shop.item_top[item] == visit.top and visit.ts - bought > 6 * DAY and shop.available(item, visit.ts)
    ]
    if not due:
        return
    item = due[int(rng.integers(len(due)))]
    log.emit(shopper.index, item, "view", visit.ts, visit.device)
    visit.ts += 5.0 + 20.0 * rng.random()
    if shop.in_stock[item] and rng.random() < 0.85:
        log.emit(shopper.index, item, "add_to_cart", visit.ts, visit.device)
        visit.cart.append(item)
    visit.ts += 10.0 + 40.0 * rng.random()


def _engage(rng, shop: _Shop, log: EventRecorder, visit: _Visit, item: int, score: float) -> None:
    """After a click: like, rating (media), dwell, and perhaps add to cart."""
    user, device = visit.shopper.index, visit.device
    visit.ts += 2.0 + 8.0 * rng.random()
    log.emit(user, item, "click", visit.ts, device)
    dwell = float(np.clip(rng.lognormal(3.2 + 0.45 * score, 0.7), 2.0, 1800.0))  # seconds, longer when interested
    if rng.random() < 0.25 * _sigmoid(-1.0 + 1.5 * score):
        log.emit(user, item, "like", visit.ts + dwell * 0.6, device)
    if shop.media[visit.top] and rng.random() < 0.12:
        log.emit(user, item, "rating", visit.ts + dwell * 0.8, device, _rating(rng, base=2.5, score=score))
    visit.ts += dwell
    log.emit(user, item, "dwell", visit.ts, device, round(dwell, 1))
    buyable = shop.in_stock[item] and item not in visit.shopper.owned
    if buyable and rng.random() < 0.25 * _sigmoid(-0.5 + 0.8 * score) * DEVICE_CART[device]:
        visit.ts += 3.0 + 10.0 * rng.random()
        log.emit(user, item, "add_to_cart", visit.ts, device)
        visit.cart.append(item)


def _view(rng, shop: _Shop, log: EventRecorder, visit: _Visit, item: int) -> None:
    """One item seen: clicked (by affinity and device) or perhaps skipped, then some seconds pass."""
    user = visit.shopper.index
    log.emit(user, item, "view", visit.ts, visit.device)
    score = float(shop.affinity[user, item])
    if rng.random() < _sigmoid(-2.2 + 0.8 * score) * DEVICE_CLICK[visit.device]:
        _engage(rng, shop, log, visit, item, score)
    elif rng.random() < 0.04 + 0.3 * _sigmoid(-0.5 - 1.0 * score):
        log.emit(user, item, "skip", visit.ts + 1.0 + 3.0 * rng.random(), visit.device)
    visit.ts += float(np.clip(rng.lognormal(3.3, 0.7), 3.0, 600.0))


def _browse(rng, shop: _Shop, log: EventRecorder, visit: _Visit) -> None:
    """A geometric number of views in the visit's category, drawn by popularity and affinity."""
    shopper, candidates = visit.shopper, shop.items_by_top[visit.top]
    cumulative = shopper.browse_cdf.get(visit.top)
    if cumulative is None:
        weight = shop.pop_weight[candidates] * np.exp(1.6 * shop.affinity[shopper.index, candidates])
        cumulative = np.cumsum(weight)
        cumulative /= cumulative[-1]
        shopper.browse_cdf[visit.top] = cumulative
    n_views = int(rng.geometric(0.2))
    picks = candidates[np.minimum(np.searchsorted(cumulative, rng.random(n_views), side="right"), len(cumulative) - 1)]
    for item in picks.tolist():
        if shop.available(item, visit.ts):
            _view(rng, shop, log, visit, item)


def _checkout(rng, shop: _Shop, log: EventRecorder, visit: _Visit) -> None:
    """At the end of the visit some of the cart is bought; some purchases are rated days later."""
    shopper, checkout_done = visit.shopper, False
    for item in dict.fromkeys(visit.cart):
        if rng.random() >= 0.5 * DEVICE_PURCHASE[visit.device]:
            continue
        if not checkout_done:
            visit.ts += 30.0 + 90.0 * rng.random()
            checkout_done = True
        log.emit(shopper.index, item, "purchase", visit.ts, visit.device)
        if shop.consumable[shop.item_top[item]]:
            shopper.pantry[item] = visit.ts
        else:
            shopper.owned.add(item)
        if rng.random() < 0.3:
            later = visit.ts + DAY * (1.0 + 5.0 * rng.random())
            rating = _rating(rng, base=2.7, score=float(shop.affinity[shopper.index, item]))
            device = device_draw(rng, preference=shopper.device_preference, hour=local_hour(later, shopper.tz_offset))
            log.emit(shopper.index, item, "rating", later, device, rating)


def _visit(rng, shop: _Shop, log: EventRecorder, shopper: _Shopper, start: float) -> None:
    hour = local_hour(start, shopper.tz_offset)
    device = device_draw(rng, preference=shopper.device_preference, hour=hour)
    # Mostly the user's own interests, sometimes a need of the hour (coffee in the morning, games at night).
    category_p = 0.9 * shopper.interest[hour] + 0.1 * shop.hour_need[hour]
    visit = _Visit(shopper=shopper, device=device, top=int(rng.choice(len(category_p), p=category_p)), ts=start)
    _restock(rng, shop, log, visit)
    _browse(rng, shop, log, visit)
    _checkout(rng, shop, log, visit)


def sessions_simulate(
    rng: np.random.Generator,
    *,
    specs: tuple[CategorySpec, ...],
    items: list[SimItem],
    users: list[SimUser],
    affinity: np.ndarray,
    popularity: np.ndarray,
    n_sessions: int,
    end_timestamp: float,
    days: int,
) -> EventRecorder:
    """Simulate about ``n_sessions`` visits of all shoppers over the ``days`` before ``end_timestamp``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The sessions' own stream.
    specs : tuple of CategorySpec
    items : list of SimItem
    users : list of SimUser
    affinity : ndarray of float, shape (n_users, n_items)
        Standardised taste match (see ``affinity_compute``).
    popularity : ndarray of float, shape (n_items,)
        Base popularity, sums to 1.
    n_sessions : int
        Target number of visits (every shopper visits at least once).
    end_timestamp : float
        Unix seconds; visits start inside the window, a few late events (ratings) may fall after it.
    days : int
        Length of the window.

    Returns
    -------
    EventRecorder
        Events in simulation order (per shopper, then per visit), not sorted by time.
    """
    window_start = end_timestamp - days * DAY
    shop = _shop_build(rng, specs=specs, items=items, affinity=affinity, popularity=popularity, window_start=window_start, days=days)
    schedule = _schedule_build(rng, users=users, n_sessions=n_sessions, window_start=window_start, days=days)
    log = EventRecorder()
    for user in users:
        starts = _visit_starts(rng, schedule=schedule, user=user, window_start=window_start)
        interest = user.mixture * shop.hour_boost
        interest /= interest.sum(axis=1, keepdims=True)
        shopper = _Shopper(
            index=user.index, tz_offset=user.tz_offset, device_preference=schedule.device_preference[user.index], interest=interest
        )
        for start in starts.tolist():
            _visit(rng, shop, log, shopper, start)
    return log
