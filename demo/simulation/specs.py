"""The catalog vocabulary the simulator draws from: categories, subcategories, styles, makers, prices.

The data lives in ``categories.toml`` next to this module (13 top-level categories, 3-4 subcategories each);
this module only types it. Its order is part of the seed: the same seed gives the same shop only while the
file is unchanged.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

SPECS_FILE = Path(__file__).with_name("categories.toml")
MEDIA_CATEGORIES = frozenset({"books", "music", "games"})  # rated while browsing, not only after a purchase


@dataclass(frozen=True)
class Style:
    tag: str
    words: tuple[str, ...]  # title words; one or two are used per item
    price_shift: float = 0.0  # added to the log price


@dataclass(frozen=True)
class Subcategory:
    slug: str
    name: str
    nouns: tuple[str, ...]  # product types ("Headphones") or, for works, title nouns ("Harbor")


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    description: str
    subcategories: tuple[Subcategory, ...]
    makers: tuple[str, ...]
    styles: tuple[Style, ...]
    features: tuple[str, ...]
    log_price: tuple[float, float]  # mean and sigma of log(price)
    traffic: float  # relative share of shopper interest
    peak_hours: tuple[int, ...]  # local hours when this category is browsed more
    attributes: tuple[tuple[str, tuple], ...] = ()
    consumable: bool = False  # bought again and again
    works: bool = False  # titled like a book or album ("The Silent Harbor"), with a maker credit
    maker_label: str = "brand"


def category_specs_load(*, path: Path = SPECS_FILE) -> tuple[CategorySpec, ...]:
    """Read the category specs from a TOML file (the format is described at the top of ``categories.toml``).

    Parameters
    ----------
    path : Path
        A TOML file with one ``[[categories]]`` table per top-level category.

    Returns
    -------
    tuple of CategorySpec
        In file order; lists become tuples, so specs are hashable and compare by value.
    """
    with path.open("rb") as handle:
        tables = tomllib.load(handle)["categories"]
    return tuple(_category_spec(table) for table in tables)


def _category_spec(table: dict) -> CategorySpec:
    return CategorySpec(
        slug=table["slug"],
        name=table["name"],
        description=table["description"],
        subcategories=tuple(Subcategory(slug=s["slug"], name=s["name"], nouns=tuple(s["nouns"])) for s in table["subcategories"]),
        makers=tuple(table["makers"]),
        styles=tuple(Style(tag=s["tag"], words=tuple(s["words"]), price_shift=s["price_shift"]) for s in table["styles"]),
        features=tuple(table["features"]),
        log_price=(table["log_price"][0], table["log_price"][1]),
        traffic=table["traffic"],
        peak_hours=tuple(table["peak_hours"]),
        attributes=tuple((name, tuple(values)) for name, values in table.get("attributes", {}).items()),
        consumable=table.get("consumable", False),
        works=table.get("works", False),
        maker_label=table.get("maker_label", "brand"),
    )


CATEGORY_SPECS: tuple[CategorySpec, ...] = category_specs_load()
