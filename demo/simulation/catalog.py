"""The simulated catalog: a category tree, items with text written from their hidden style, and latent factors.

Item vectors are built from category, subcategory and style centroids plus noise, so a recommender can find
the structure in the events, and a text model in the titles, descriptions and tags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from demo.simulation.rhythms import DAY
from demo.simulation.specs import CategorySpec, Style, Subcategory
from ml.utils.arrays import unit_rows

LATENT_DIM = 16


@dataclass(frozen=True)
class SimCategory:
    slug: str
    name: str
    parent_slug: str | None
    description: str


@dataclass(frozen=True)
class SimItem:
    index: int
    sku: str
    title: str
    description: str
    category_slug: str  # the subcategory (leaf)
    top_category: int  # index into CATEGORY_SPECS
    subcategory: int  # global subcategory index
    style: int  # index into the category's styles
    tags: tuple[str, ...]
    attributes: dict
    price: float
    in_stock: bool
    is_active: bool
    created_at: float  # unix seconds


@dataclass(frozen=True)
class Centroids:
    """The hidden structure shoppers' tastes are built from (all rows unit vectors of length LATENT_DIM)."""

    top: np.ndarray  # (n_categories, LATENT_DIM)
    sub: np.ndarray  # (n_subcategories, LATENT_DIM)
    style: np.ndarray  # (n_categories, max styles per category, LATENT_DIM)
    sub_top: list[int]  # the top-level category of each subcategory

    def taste(self, top: int, sub: int, style: int) -> np.ndarray:
        """The direction of one (category, subcategory, style) taste, shape (LATENT_DIM,)."""
        return self.top[top] + 0.8 * self.sub[sub] + 0.6 * self.style[top, style]

    def subcategories_of(self, top: int) -> list[int]:
        return [s for s in range(len(self.sub_top)) if self.sub_top[s] == top]


@dataclass(frozen=True)
class SimCatalog:
    categories: list[SimCategory]
    items: list[SimItem]
    factors: np.ndarray  # (n_items, LATENT_DIM)
    popularity: np.ndarray  # (n_items,), sums to 1
    centroids: Centroids


def _unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    return unit_rows(rng.normal(size=(n, LATENT_DIM)), dtype=None)


def _category_tree(specs: tuple[CategorySpec, ...]) -> tuple[list[SimCategory], list[int], list[Subcategory]]:
    categories: list[SimCategory] = []
    sub_top: list[int] = []
    sub_specs: list[Subcategory] = []
    for top, spec in enumerate(specs):
        categories.append(SimCategory(slug=spec.slug, name=spec.name, parent_slug=None, description=spec.description))
        for sub in spec.subcategories:
            categories.append(SimCategory(slug=f"{spec.slug}-{sub.slug}", name=sub.name, parent_slug=spec.slug, description=f"{sub.name} in {spec.name}."))
            sub_top.append(top)
            sub_specs.append(sub)
    return categories, sub_top, sub_specs


def _item_text(
    rng: np.random.Generator, *, spec: CategorySpec, sub_spec: Subcategory, style: Style, maker: str, noun: str
) -> tuple[str, str, list[str]]:
    """Title, description and features of one item, written from its category's vocabulary."""
    words = list(rng.choice(style.words, size=1 + int(rng.random() < 0.45), replace=False))
    features = [str(f) for f in rng.choice(spec.features, size=2, replace=False)]
    if spec.works:
        title = f"The {words[0]} {noun}"
        if len(words) > 1:
            title += f" of {words[1]}" if rng.random() < 0.5 else ""
        description = (
            f"A {style.tag} {sub_spec.name.lower()} title by {maker}: {title}. "
            f"{features[0].capitalize()}, {features[1]}. Loved by readers of {words[-1].lower()} stories."
            if spec.slug == "books"
            else f"{title} by {maker}: {style.tag} {sub_spec.name.lower()}. {features[0].capitalize()}, {features[1]}."
        )
    else:
        title = f"{maker} {' '.join(words)} {noun}"
        if rng.random() < 0.25:
            title += f" {chr(65 + int(rng.integers(8)))}{int(rng.integers(1, 10))}"
        description = (
            f"{title}. {features[0].capitalize()} and {features[1]}. "
            f"A {style.tag} {noun.lower()} from {maker} for {sub_spec.name.lower()} lovers."
        )
    return title, description, features


def _price(rng: np.random.Generator, *, spec: CategorySpec, style: Style) -> float:
    """A shop price: log-normal per category, shifted by style, ending in .99 (.49 under 5)."""
    log_mean, log_sigma = spec.log_price
    price = math.exp(log_mean + style.price_shift + log_sigma * rng.normal())
    return max(0.99, math.floor(price) + (0.99 if price > 5 else 0.49))


def _item(
    rng: np.random.Generator, *, index: int, top: int, spec: CategorySpec, centroids: Centroids, sub_specs: list[Subcategory], created_at: float
) -> tuple[SimItem, np.ndarray]:
    """One item and its latent vector (shape (LATENT_DIM,)); the draws' order is part of the seed."""
    local_subs = centroids.subcategories_of(top)
    sub = local_subs[int(rng.integers(len(local_subs)))]
    sub_spec = sub_specs[sub]
    style_index = int(rng.integers(len(spec.styles)))
    style = spec.styles[style_index]
    maker = spec.makers[int(rng.integers(len(spec.makers)))]
    noun = sub_spec.nouns[int(rng.integers(len(sub_spec.nouns)))]
    title, description, features = _item_text(rng, spec=spec, sub_spec=sub_spec, style=style, maker=maker, noun=noun)
    tags = [spec.slug, sub_spec.slug, style.tag] + [f.lower().replace(" ", "-") for f in features]
    attributes: dict = {spec.maker_label: maker, "style": style.tag}
    for name, choices in spec.attributes:
        value = choices[int(rng.integers(len(choices)))]
        attributes[name] = value.item() if hasattr(value, "item") else value
    price = _price(rng, spec=spec, style=style)
    in_stock = bool(rng.random() >= 0.08)
    is_active = bool(rng.random() >= 0.025)
    factor = centroids.taste(top, sub, style_index) + 0.35 * rng.normal(size=LATENT_DIM) / 4.0
    item = SimItem(
        index=index,
        sku=f"DEMO-{spec.slug[:3].upper()}-{index:05d}",
        title=title[:255],
        description=description,
        category_slug=f"{spec.slug}-{sub_spec.slug}",
        top_category=top,
        subcategory=sub,
        style=style_index,
        tags=tuple(dict.fromkeys(tags)),
        attributes=attributes,
        price=round(price, 2),
        in_stock=in_stock,
        is_active=is_active,
        created_at=float(round(created_at, 3)),
    )
    return item, factor


def catalog_build(
    rng: np.random.Generator, *, n_items: int, end_timestamp: float, days: int, specs: tuple[CategorySpec, ...]
) -> SimCatalog:
    """Build the category tree and ``n_items`` items with their hidden factors and popularity.

    Parameters
    ----------
    rng : numpy.random.Generator
        The catalog's own stream (the same stream gives the same catalog).
    n_items : int
        At least ``len(specs)``: every top-level category gets an item.
    end_timestamp : float
        Unix seconds, the end of the event window.
    days : int
        Length of the event window; most items were created before it, about 12 % inside it.
    specs : tuple of CategorySpec

    Returns
    -------
    SimCatalog
        Items sorted by top-level category; ``factors`` shape (n_items, LATENT_DIM); ``popularity`` a
        Zipf-like distribution over items (shape (n_items,), sums to 1).
    """
    categories, sub_top, sub_specs = _category_tree(specs)
    n_top, n_sub = len(specs), len(sub_specs)
    n_styles = max(len(spec.styles) for spec in specs)
    centroids = Centroids(
        top=_unit_rows(rng, n_top),
        sub=_unit_rows(rng, n_sub),
        style=_unit_rows(rng, n_top * n_styles).reshape(n_top, n_styles, LATENT_DIM),
        sub_top=sub_top,
    )

    traffic = np.array([spec.traffic for spec in specs])
    # Items per top category follow traffic (more electronics than garden), at least 3 per subcategory.
    top_of_item = rng.choice(n_top, size=n_items, p=traffic / traffic.sum())
    top_of_item[: n_top] = np.arange(n_top)  # every category has items even in tiny catalogs
    top_of_item = np.sort(top_of_item, kind="stable")
    rank = rng.permutation(n_items)
    popularity = 1.0 / (rank + 8.0) ** 1.05  # Zipf-like, with a soft head
    popularity /= popularity.sum()

    created = end_timestamp - days * DAY * (1.0 + 7.0 * rng.random(n_items))  # mostly older than the window
    new_mask = rng.random(n_items) < 0.12
    created[new_mask] = end_timestamp - days * DAY * rng.random(int(new_mask.sum())) ** 1.5  # some very recent
    items: list[SimItem] = []
    factors = np.empty((n_items, LATENT_DIM))
    for index in range(n_items):
        top = int(top_of_item[index])
        item, factors[index] = _item(
            rng, index=index, top=top, spec=specs[top], centroids=centroids, sub_specs=sub_specs, created_at=created[index]
        )
        items.append(item)
    return SimCatalog(categories=categories, items=items, factors=factors, popularity=popularity, centroids=centroids)
