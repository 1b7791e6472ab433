"""A synthetic shop with hidden structure, for demos, tests and offline evaluation. Numpy, no Django.

``simulate_shop(seed=..., end_timestamp=...)`` returns a catalog, users and an event log whose patterns a
recommender can find (and a test can check), because the generator knows the truth:

* **Catalog** (``specs``, ``categories.toml``, ``catalog``). 13 top-level categories, 3-4 subcategories
  each. Each item gets a maker (brand, author, artist, studio), a *style* (e.g. "wireless / noise-cancelling",
  "organic", "retro") and features; title, description and tags are written from that vocabulary, so text
  models see the same structure as the latent factors. Prices are log-normal per category, shifted by style
  ("budget" is cheaper than "premium"). A few items are out of stock (viewable, not buyable), a few were
  discontinued during the window (inactive), some are new (created inside the window, no events before).
* **Hidden tastes** (``shoppers``). Each user is a mixture over 1-4 top-level categories (plus a little
  exploration); within each, a preferred subcategory and style, all expressed as a latent vector. Item vectors
  are built from category, subcategory and style centroids plus noise. Users also have a price sensitivity.
* **Popularity.** Items have a Zipf-like base popularity, so a few items take a large share of traffic.
* **Sessions** (``sessions``, ``rhythms``). Users have heavy-tailed activity, join and churn dates, a time
  zone and a favourite hour. Sessions are bursts (tens of seconds between events), days apart, denser towards
  the end of the window (a growing shop, so "popular now" and recency have something to show) and on weekends.
* **Context.** Device (mobile, desktop or tablet) depends on the user and the hour (mobile in the evening,
  desktop in office hours); which category a session is about depends on the hour (groceries in the morning,
  games late at night). Conversion depends on the device (desktop converts better, mobile browses more).
* **Funnel.** view -> click (depends on affinity) -> dwell (seconds, longer when interested) -> add_to_cart
  (in-stock only) -> purchase at the end of the session; likes on liked items, skips on uninteresting views,
  ratings 1-5 after purchases (a few days later) and for media while browsing.
* **Repeat purchases.** Consumables (grocery, pets, beauty) are bought again after a while.

Events (``SimulatedShop.events``) are ``ml.dataset.EventColumns`` with user and item *indices* as ids and
event types and devices as ``common.vocabulary`` codes (``EVENT_TYPES[code]``, ``DEVICES[code]``). The
same seed and ``end_timestamp`` give identical output.
"""
from demo.simulation.catalog import SimCategory, SimItem
from demo.simulation.rhythms import SHOPPER_DEVICES
from demo.simulation.shop import SimulatedShop, simulate_shop
from demo.simulation.shoppers import SimUser
from demo.simulation.specs import CATEGORY_SPECS, CategorySpec, Style, Subcategory

__all__ = [
    "CATEGORY_SPECS",
    "SHOPPER_DEVICES",
    "CategorySpec",
    "SimCategory",
    "SimItem",
    "SimUser",
    "SimulatedShop",
    "Style",
    "Subcategory",
    "simulate_shop",
]
