"""The demo simulator: deterministic, and its hidden structure shows up in the events it writes."""
import collections
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.vocabulary import DEVICES, EVENT_CODE, EVENT_TYPES
from demo.simulation import CATEGORY_SPECS, simulate_shop

END = 1_780_000_000.0  # a fixed "now" so runs compare
DAY = 86400.0
TOP_SLUGS = [spec.slug for spec in CATEGORY_SPECS]


@pytest.fixture(scope="module")
def shop():
    return simulate_shop(seed=7, end_timestamp=END, n_users=300, n_items=600, n_events=30_000)


def _top(shop) -> np.ndarray:
    return np.array([item.top_category for item in shop.items])


def test_sizes_order_and_window(shop):
    events = shop.events
    assert len(shop.users) == 300 and len(shop.items) == 600 and len(events) == 30_000
    assert np.all(np.diff(events.timestamps) >= 0)
    assert events.timestamps.max() <= END
    assert END - events.timestamps.min() <= 90 * DAY
    assert set(np.unique(events.event_type_codes).tolist()) == set(range(len(EVENT_TYPES)))
    created = np.array([item.created_at for item in shop.items])
    assert np.all(events.timestamps >= created[events.item_ids]), "an item got events before it existed"


def test_same_seed_same_output_and_other_seed_differs(shop):
    again = simulate_shop(seed=7, end_timestamp=END, n_users=300, n_items=600, n_events=30_000)
    for name in ("user_ids", "item_ids", "event_type_codes", "timestamps", "device_codes", "local_hours"):
        np.testing.assert_array_equal(getattr(again.events, name), getattr(shop.events, name))
    np.testing.assert_array_equal(again.events.values, shop.events.values)  # NaN positions too
    assert [(i.sku, i.title, i.price, i.tags) for i in again.items] == [(i.sku, i.title, i.price, i.tags) for i in shop.items]
    other = simulate_shop(seed=8, end_timestamp=END, n_users=300, n_items=600, n_events=30_000)
    assert not np.array_equal(other.events.item_ids, shop.events.item_ids)


def test_catalog_has_a_category_tree_and_rich_items(shop):
    tops = [c for c in shop.categories if c.parent_slug is None]
    assert len(tops) >= 12
    children = collections.Counter(c.parent_slug for c in shop.categories if c.parent_slug)
    assert all(children[top.slug] >= 3 for top in tops)
    assert len({item.sku for item in shop.items}) == len(shop.items)
    leaf_slugs = {c.slug for c in shop.categories if c.parent_slug}
    assert all(item.category_slug in leaf_slugs for item in shop.items)
    assert all(item.title and item.description and len(item.tags) >= 3 and item.price > 0 for item in shop.items)
    # Text carries the category vocabulary (what content-based models need).
    for item in shop.items[:50]:
        spec = CATEGORY_SPECS[item.top_category]
        assert spec.slug in item.tags
        maker = item.attributes.get(spec.maker_label)
        assert maker in spec.makers and maker in item.description
    in_stock = [item.in_stock for item in shop.items]
    active = [item.is_active for item in shop.items]
    assert 0.8 < np.mean(in_stock) < 1.0 and 0.9 < np.mean(active) < 1.0
    # Prices differ by category (log-normal per category): books are cheaper than electronics.
    prices = collections.defaultdict(list)
    for item in shop.items:
        prices[CATEGORY_SPECS[item.top_category].slug].append(item.price)
    assert np.median(prices["books"]) < np.median(prices["electronics"])


def test_users_concentrate_on_their_hidden_categories(shop):
    top = _top(shop)
    shares, chance = [], []
    for user in shop.users:
        mine = shop.events.item_ids[shop.events.user_ids == user.index]
        if len(mine) >= 10:
            shares.append(np.isin(top[mine], user.categories).mean())
            chance.append(len(user.categories) / len(CATEGORY_SPECS))
    assert len(shares) > 150
    assert np.mean(shares) > 0.75
    assert np.mean(shares) > 3 * np.mean(chance)


def test_within_a_category_users_pick_items_matching_their_latent_taste(shop):
    """Beyond the category: chosen items score higher on the hidden factors than other items of that category."""
    top = _top(shop)
    scores = shop.user_factors @ shop.item_factors.T
    views = shop.events.event_type_codes == EVENT_CODE["view"]
    users, items = shop.events.user_ids[views], shop.events.item_ids[views]
    chosen = scores[users, items]
    category_mean = np.array([scores[u][top == top[i]].mean() for u, i in zip(users[:3000], items[:3000], strict=True)])
    assert chosen[:3000].mean() > category_mean.mean() + 0.1


def test_popularity_is_heavy_tailed(shop):
    counts = np.sort(np.bincount(shop.events.item_ids, minlength=len(shop.items)))[::-1]
    top_decile = counts[: len(counts) // 10].sum() / counts.sum()
    assert top_decile > 0.35  # a uniform catalog would give 0.10
    sorted_counts = counts[::-1].astype(float)
    n = len(sorted_counts)
    gini = (2 * np.arange(1, n + 1) - n - 1).dot(sorted_counts) / (n * sorted_counts.sum())
    assert gini > 0.5


def test_funnel_rates_and_values(shop):
    events = shop.events
    count = collections.Counter(EVENT_TYPES[t] for t in events.event_type_codes.tolist())
    assert count["view"] > count["click"] > count["add_to_cart"] > count["purchase"] > 0
    assert 0.1 < count["click"] / count["view"] < 0.6
    assert 0.2 < count["purchase"] / count["add_to_cart"] < 0.8
    assert count["like"] > 0 and count["skip"] > 0 and count["rating"] > 0 and count["dwell"] > 0
    ratings = events.values[events.event_type_codes == EVENT_CODE["rating"]]
    assert set(np.unique(ratings).tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0} and len(set(ratings.tolist())) >= 4
    dwell = events.values[events.event_type_codes == EVENT_CODE["dwell"]]
    assert np.all(dwell > 0) and np.median(dwell) > 5
    no_value = ~np.isin(events.event_type_codes, [EVENT_CODE["rating"], EVENT_CODE["dwell"]])
    assert np.all(np.isnan(events.values[no_value]))
    out_of_stock = np.array([not item.in_stock for item in shop.items])
    buys = np.isin(events.event_type_codes, [EVENT_CODE["add_to_cart"], EVENT_CODE["purchase"]])
    assert not out_of_stock[events.item_ids[buys]].any()


def test_consumables_are_bought_again(shop):
    events = shop.events
    purchases = events.event_type_codes == EVENT_CODE["purchase"]
    pairs = collections.Counter(zip(events.user_ids[purchases].tolist(), events.item_ids[purchases].tolist(), strict=True))
    repeats = [item for (_, item), n in pairs.items() if n > 1]
    assert len(repeats) >= 10
    consumable = {top for top, spec in enumerate(CATEGORY_SPECS) if spec.consumable}
    assert all(shop.items[item].top_category in consumable for item in repeats)


def test_device_and_hour_effects(shop):
    events = shop.events
    hour, device = events.local_hours, events.device_codes
    mobile = DEVICES.index("mobile")
    evening = (hour >= 19) & (hour <= 23)
    office = (hour >= 9) & (hour <= 16)
    assert (device[evening] == mobile).mean() > (device[office] == mobile).mean() + 0.15
    top = _top(shop)[events.item_ids]
    grocery, games = TOP_SLUGS.index("grocery"), TOP_SLUGS.index("games")
    morning = (hour >= 7) & (hour <= 10)
    night = (hour >= 22) | (hour <= 1)
    assert (top[morning] == grocery).mean() > 1.2 * (top[night] == grocery).mean()
    assert (top[night] == games).mean() > 1.2 * (top[morning] == games).mean()
    # Desktop converts better than mobile.
    views, carts = events.event_type_codes == EVENT_CODE["view"], events.event_type_codes == EVENT_CODE["add_to_cart"]
    desktop = DEVICES.index("desktop")
    rate = {d: carts[device == d].sum() / views[device == d].sum() for d in (mobile, desktop)}
    assert rate[desktop] > 1.2 * rate[mobile]


def test_sessions_are_bursts_and_recent_activity_exists(shop):
    events = shop.events
    gaps = []
    for user in range(50):
        ts = events.timestamps[events.user_ids == user]
        gaps.extend(np.diff(ts).tolist())
    gaps = np.array(gaps)
    assert np.median(gaps) < 600  # most consecutive events of a user are minutes apart (same session)
    assert (gaps > DAY).mean() > 0.03  # and sessions are days apart
    last_week = (events.timestamps > END - 7 * DAY).mean()
    assert last_week > 7 / 90  # a growing shop: the last week is busier than average


def test_the_module_is_pure_numpy():
    root = Path(__file__).resolve().parents[2]
    code = "import sys, demo.simulation; assert 'django' not in sys.modules, 'imports django'"
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
