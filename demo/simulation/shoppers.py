"""The simulated shoppers: hidden tastes (a mixture over 1-4 categories), time zones, join dates, affinity."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.simulation.catalog import LATENT_DIM, Centroids, SimItem
from demo.simulation.rhythms import DAY, TIME_ZONE_WEIGHTS, TIME_ZONES
from demo.simulation.specs import CategorySpec

FIRST_NAMES = ("alex", "sam", "maria", "li", "noah", "emma", "omar", "zoe", "ivan", "aisha", "leo", "mia", "raj", "nina", "tom", "sofia")


@dataclass(frozen=True)
class SimUser:
    index: int
    username: str
    categories: tuple[int, ...]  # hidden: the top-level categories this user cares about
    mixture: np.ndarray  # hidden: interest over all top-level categories (sums to 1)
    tz_offset: int
    joined_at: float


def _taste(rng: np.random.Generator, *, specs: tuple[CategorySpec, ...], centroids: Centroids, traffic: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One shopper's categories, mixture over all categories (sums to 1) and latent vector (LATENT_DIM,)."""
    n_top = len(specs)
    n_cats = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.35, 0.15]))
    cats = np.sort(rng.choice(n_top, size=n_cats, replace=False, p=traffic))
    weights = rng.dirichlet(np.full(n_cats, 1.5))
    mixture = np.full(n_top, 0.06 / n_top)  # a little exploration of every category
    mixture[cats] += 0.94 * weights
    vector = 0.35 * rng.normal(size=LATENT_DIM) / 4.0
    for cat, weight in zip(cats, weights, strict=True):
        subs = centroids.subcategories_of(cat)
        sub = subs[int(rng.integers(len(subs)))]
        style = int(rng.integers(len(specs[cat].styles)))
        vector += weight * centroids.taste(cat, sub, style)
    return cats, mixture, vector


def users_build(
    rng: np.random.Generator, *, n_users: int, specs: tuple[CategorySpec, ...], centroids: Centroids, end_timestamp: float, days: int
) -> tuple[list[SimUser], np.ndarray]:
    """Draw ``n_users`` shoppers and their latent vectors.

    Parameters
    ----------
    rng : numpy.random.Generator
        The shoppers' own stream.
    n_users : int
    specs : tuple of CategorySpec
    centroids : Centroids
        The catalog's hidden structure; a shopper's vector mixes the tastes of its categories.
    end_timestamp : float
        Unix seconds, the end of the event window.
    days : int
        Length of the window; 60 % of shoppers joined before it, the others inside it.

    Returns
    -------
    users : list of SimUser
    factors : ndarray of float, shape (n_users, LATENT_DIM)
    """
    traffic = np.array([spec.traffic for spec in specs])
    traffic = traffic / traffic.sum()
    users: list[SimUser] = []
    factors = np.empty((n_users, LATENT_DIM))
    window_start = end_timestamp - days * DAY
    for index in range(n_users):
        cats, mixture, factors[index] = _taste(rng, specs=specs, centroids=centroids, traffic=traffic)
        tz = int(rng.choice(TIME_ZONES, p=TIME_ZONE_WEIGHTS))
        joined = window_start - days * DAY * rng.random() if rng.random() < 0.6 else window_start + (days - 3) * DAY * rng.random()
        name = FIRST_NAMES[index % len(FIRST_NAMES)]
        users.append(
            SimUser(
                index=index,
                username=f"shopper_{name}{index:04d}",
                categories=tuple(int(c) for c in cats),
                mixture=mixture,
                tz_offset=tz,
                joined_at=float(round(joined, 3)),
            )
        )
    return users, factors


def affinity_compute(
    rng: np.random.Generator, *, user_factors: np.ndarray, item_factors: np.ndarray, items: list[SimItem], specs: tuple[CategorySpec, ...]
) -> np.ndarray:
    """How much each shopper likes each item: taste match minus price sensitivity, standardised.

    Standardised so that the funnel's coefficients mean something (a score of 1 is one standard deviation).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws each shopper's price sensitivity.
    user_factors : ndarray of float, shape (n_users, LATENT_DIM)
    item_factors : ndarray of float, shape (n_items, LATENT_DIM)
    items : list of SimItem
    specs : tuple of CategorySpec
        Prices are compared with their category's log-price mean and sigma.

    Returns
    -------
    ndarray of float, shape (n_users, n_items)
        Mean 0, standard deviation 1.
    """
    raw = user_factors @ item_factors.T
    sensitivity = np.clip(rng.normal(0.3, 0.3, size=len(user_factors)), 0.0, None)
    log_price = np.log([item.price for item in items])
    price_z = np.empty(len(items))
    for top, spec in enumerate(specs):
        mask = np.array([item.top_category == top for item in items])
        price_z[mask] = (log_price[mask] - spec.log_price[0]) / spec.log_price[1]
    raw = raw - 0.15 * np.outer(sensitivity, price_z)
    return (raw - raw.mean()) / raw.std()
