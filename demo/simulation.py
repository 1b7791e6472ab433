"""A synthetic shop with hidden structure, for demos, tests and offline evaluation. Pure numpy, no Django.

``simulate_shop(seed=..., end_timestamp=...)`` returns a catalog, users and an event log whose patterns a
recommender can find (and a test can check), because the generator knows the truth:

* **Catalog.** 13 top-level categories, 3-4 subcategories each. Each item gets a maker (brand, author,
  artist, studio), a *style* (e.g. "wireless / noise-cancelling", "organic", "retro") and features; title,
  description and tags are written from that vocabulary, so text models see the same structure as the latent
  factors. Prices are log-normal per category, shifted by style ("budget" is cheaper than "premium"). A few
  items are out of stock (viewable, not buyable), a few were discontinued during the window (inactive), some
  are new (created inside the window, no events before).
* **Hidden tastes.** Each user is a mixture over 1-4 top-level categories (plus a little exploration); within
  each, a preferred subcategory and style, all expressed as a latent vector. Item vectors are built from
  category, subcategory and style centroids plus noise. Users also have a price sensitivity.
* **Popularity.** Items have a Zipf-like base popularity, so a few items take a large share of traffic.
* **Sessions.** Users have heavy-tailed activity, join and churn dates, a time zone and a favourite hour.
  Sessions are bursts (tens of seconds between events), days apart, denser towards the end of the window
  (a growing shop, so "popular now" and recency have something to show) and on weekends.
* **Context.** Device depends on the user and the hour (mobile in the evening, desktop in office hours);
  which category a session is about depends on the hour (groceries in the morning, games late at night).
  Conversion depends on the device (desktop converts better, mobile browses more).
* **Funnel.** view -> click (depends on affinity) -> dwell (seconds, longer when interested) -> add_to_cart
  (in-stock only) -> purchase at the end of the session; likes on liked items, skips on uninteresting views,
  ratings 1-5 after purchases (a few days later) and for media while browsing.
* **Repeat purchases.** Consumables (grocery, pets, beauty) are bought again after a while.

The same seed and ``end_timestamp`` give identical output.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

EVENT_TYPES: tuple[str, ...] = ("view", "click", "add_to_cart", "purchase", "like", "skip", "rating", "dwell")
EVENT_CODE = {name: code for code, name in enumerate(EVENT_TYPES)}
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
DAY = 86400.0
LATENT_DIM = 16


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


def _s(slug: str, name: str, *nouns: str) -> Subcategory:
    return Subcategory(slug=slug, name=name, nouns=nouns)


COLORS = ("black", "white", "silver", "navy", "red", "green", "beige", "grey")

CATEGORY_SPECS: tuple[CategorySpec, ...] = (
    CategorySpec(
        slug="electronics", name="Electronics", description="Audio, computers, phones and cameras.",
        subcategories=(
            _s("audio", "Audio", "Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar", "Turntable"),
            _s("computers", "Computers & Tablets", "Laptop", "Tablet", "Mechanical Keyboard", "Wireless Mouse", "Monitor"),
            _s("phones", "Phones & Wearables", "Smartphone", "Smartwatch", "Power Bank", "Fitness Tracker", "Phone Case"),
            _s("cameras", "Cameras & Drones", "Mirrorless Camera", "Action Camera", "Camera Lens", "Drone", "Tripod"),
        ),
        makers=("Aurora", "Voltix", "Nimbus", "Quanta", "Helix", "Sonora"),
        styles=(
            Style("wireless", ("Wireless", "Noise-Cancelling", "Bluetooth"), 0.1),
            Style("pro", ("Pro", "Ultra", "4K", "Studio"), 0.6),
            Style("portable", ("Compact", "Portable", "Travel"), -0.1),
            Style("budget", ("Essential", "Lite", "Basic"), -0.6),
        ),
        features=("fast charging", "long battery life", "USB-C", "low latency", "water resistance", "high resolution"),
        log_price=(4.6, 0.7), traffic=1.6, peak_hours=(19,),
        attributes=(("color", COLORS[:4]), ("warranty_years", (1, 2, 3))),
    ),
    CategorySpec(
        slug="books", name="Books", description="Fiction, non-fiction, cookbooks and more.",
        subcategories=(
            _s("mystery", "Mystery & Thriller", "Witness", "Alibi", "Harbor", "Secret", "Lighthouse"),
            _s("science-fiction", "Science Fiction & Fantasy", "Nebula", "Starship", "Kingdom", "Dragon", "Colony"),
            _s("cookbooks", "Cookbooks", "Kitchen", "Table", "Pantry", "Feast", "Oven"),
            _s("business", "Business & Self-Help", "Habit", "Mindset", "Startup", "Leader", "Strategy"),
        ),
        makers=("Elena Marsh", "Tomas Reyes", "Priya Nair", "Jonah Keller", "Mei Tanaka", "Oliver Grant"),
        styles=(
            Style("dark", ("Silent", "Midnight", "Cold", "Vanishing"), 0.0),
            Style("epic", ("Galactic", "Forgotten", "Burning", "Last"), 0.1),
            Style("cozy", ("Sunday", "Little", "Homemade", "Gentle"), -0.1),
            Style("practical", ("Essential", "Practical", "Lean", "Focused"), 0.1),
        ),
        features=("bestseller", "award winner", "illustrated", "new edition", "book club pick", "debut"),
        log_price=(2.8, 0.35), traffic=1.3, peak_hours=(22,), works=True, maker_label="author",
        attributes=(("format", ("hardcover", "paperback", "ebook")), ("pages", (180, 240, 320, 416, 512)), ("language", ("en", "en", "es", "fr"))),
    ),
    CategorySpec(
        slug="home-kitchen", name="Home & Kitchen", description="Cookware, appliances, furniture and decor.",
        subcategories=(
            _s("cookware", "Cookware", "Skillet", "Dutch Oven", "Knife Set", "Saucepan", "Cutting Board"),
            _s("appliances", "Small Appliances", "Espresso Machine", "Blender", "Air Fryer", "Kettle", "Toaster"),
            _s("decor", "Decor", "Table Lamp", "Throw Pillow", "Wall Mirror", "Vase", "Rug"),
            _s("bedding", "Bedding & Bath", "Duvet Cover", "Bath Towel Set", "Pillow", "Weighted Blanket"),
        ),
        makers=("Hearth", "Copperline", "Nordlys", "Casa Verde", "Oakridge", "Lumen"),
        styles=(
            Style("scandinavian", ("Nordic", "Minimalist", "Oak"), 0.2),
            Style("rustic", ("Rustic", "Farmhouse", "Cast-Iron"), 0.0),
            Style("smart", ("Smart", "Programmable", "Digital"), 0.4),
            Style("budget", ("Everyday", "Essential", "Basic"), -0.5),
        ),
        features=("dishwasher safe", "non-stick", "energy efficient", "easy to clean", "space saving", "handcrafted"),
        log_price=(3.8, 0.7), traffic=1.2, peak_hours=(10,),
        attributes=(("color", COLORS), ("material", ("steel", "ceramic", "wood", "cotton", "glass"))),
    ),
    CategorySpec(
        slug="sports-outdoors", name="Sports & Outdoors", description="Fitness, running, cycling and camping gear.",
        subcategories=(
            _s("fitness", "Fitness", "Yoga Mat", "Dumbbell Set", "Resistance Bands", "Kettlebell", "Foam Roller"),
            _s("running", "Running", "Running Shoes", "Running Vest", "Hydration Belt", "Compression Socks"),
            _s("cycling", "Cycling", "Bike Helmet", "Bike Light", "Cycling Gloves", "Saddle Bag"),
            _s("camping", "Camping & Hiking", "Tent", "Sleeping Bag", "Hiking Backpack", "Camping Stove", "Headlamp"),
        ),
        makers=("Summit", "Stride", "Velo", "Trailhead", "Kinetic", "Alpenglow"),
        styles=(
            Style("ultralight", ("Ultralight", "Trail", "Packable"), 0.3),
            Style("performance", ("Performance", "Pro", "Race"), 0.4),
            Style("home-gym", ("Home", "Adjustable", "Foldable"), 0.0),
            Style("starter", ("Starter", "Everyday", "Basic"), -0.5),
        ),
        features=("breathable", "waterproof", "reflective details", "non-slip grip", "recycled materials", "lifetime warranty"),
        log_price=(3.7, 0.8), traffic=1.0, peak_hours=(7, 18),
        attributes=(("color", COLORS), ("size", ("S", "M", "L", "XL", "one size"))),
    ),
    CategorySpec(
        slug="toys", name="Toys", description="Building sets, puzzles, plush and outdoor play.",
        subcategories=(
            _s("building", "Building Sets", "Building Set", "Marble Run", "Magnetic Tiles", "Robot Kit"),
            _s("puzzles", "Puzzles", "Jigsaw Puzzle", "3D Puzzle", "Brain Teaser", "Puzzle Cube"),
            _s("plush", "Plush & Dolls", "Teddy Bear", "Plush Dinosaur", "Doll House", "Puppet"),
            _s("outdoor-play", "Outdoor Play", "Kite", "Water Blaster", "Scooter", "Sandbox Set"),
        ),
        makers=("Tinker", "Bloom Kids", "Whizz", "Pebble", "Jolly Fox", "Brickworks"),
        styles=(
            Style("stem", ("STEM", "Coding", "Science"), 0.3),
            Style("wooden", ("Wooden", "Montessori", "Eco"), 0.1),
            Style("creative", ("Rainbow", "Creative", "Sparkle"), 0.0),
            Style("adventure", ("Explorer", "Dino", "Space"), -0.1),
        ),
        features=("ages 3+", "ages 8+", "no batteries needed", "educational", "non-toxic paint", "gift ready"),
        log_price=(3.2, 0.6), traffic=0.8, peak_hours=(16,),
        attributes=(("age_range", ("3-5", "6-8", "9-12", "12+")), ("pieces", (24, 100, 250, 500, 1000))),
    ),
    CategorySpec(
        slug="beauty", name="Beauty & Personal Care", description="Skincare, hair care, makeup and fragrance.",
        subcategories=(
            _s("skincare", "Skincare", "Face Serum", "Moisturizer", "Cleanser", "Sunscreen", "Eye Cream"),
            _s("haircare", "Hair Care", "Shampoo", "Conditioner", "Hair Oil", "Dry Shampoo"),
            _s("makeup", "Makeup", "Lipstick", "Mascara", "Foundation", "Eyeshadow Palette"),
            _s("fragrance", "Fragrance", "Eau de Parfum", "Body Mist", "Scented Candle"),
        ),
        makers=("Lumiere", "Petal & Co", "Dermaly", "Verdant", "Glow Lab", "Solene"),
        styles=(
            Style("clean", ("Organic", "Vegan", "Fragrance-Free"), 0.1),
            Style("luxury", ("Luxe", "Radiance", "Gold"), 0.7),
            Style("clinical", ("Retinol", "Hyaluronic", "Niacinamide"), 0.3),
            Style("drugstore", ("Daily", "Fresh", "Classic"), -0.5),
        ),
        features=("dermatologist tested", "cruelty free", "for sensitive skin", "SPF 30", "refillable", "travel size"),
        log_price=(3.0, 0.6), traffic=1.0, peak_hours=(20,), consumable=True,
        attributes=(("volume_ml", (30, 50, 100, 250)), ("skin_type", ("all", "dry", "oily", "sensitive"))),
    ),
    CategorySpec(
        slug="fashion", name="Fashion", description="Clothing, shoes and accessories.",
        subcategories=(
            _s("womens-clothing", "Women's Clothing", "Linen Dress", "Wool Sweater", "Denim Jacket", "Silk Blouse"),
            _s("mens-clothing", "Men's Clothing", "Oxford Shirt", "Chinos", "Hoodie", "Rain Jacket"),
            _s("shoes", "Shoes", "Sneakers", "Leather Boots", "Loafers", "Sandals"),
            _s("accessories", "Accessories", "Backpack", "Leather Wallet", "Sunglasses", "Wool Scarf", "Watch"),
        ),
        makers=("Maison Lila", "Northbound", "Atelier Nine", "Kestrel", "Indigo Row", "Fable"),
        styles=(
            Style("streetwear", ("Oversized", "Urban", "Graphic"), 0.0),
            Style("classic", ("Classic", "Tailored", "Heritage"), 0.4),
            Style("sustainable", ("Organic Cotton", "Recycled", "Hemp"), 0.2),
            Style("basics", ("Everyday", "Essential", "Relaxed"), -0.4),
        ),
        features=("slim fit", "relaxed fit", "machine washable", "water repellent", "handmade", "limited edition"),
        log_price=(3.9, 0.6), traffic=1.4, peak_hours=(13,),
        attributes=(("color", COLORS), ("size", ("XS", "S", "M", "L", "XL"))),
    ),
    CategorySpec(
        slug="garden", name="Garden", description="Plants, tools, outdoor furniture and watering.",
        subcategories=(
            _s("plants", "Plants & Seeds", "Herb Seed Kit", "Tomato Seeds", "Succulent Set", "Bulb Mix"),
            _s("garden-tools", "Garden Tools", "Pruning Shears", "Garden Trowel", "Rake", "Wheelbarrow"),
            _s("outdoor-furniture", "Outdoor Furniture", "Patio Chair", "Hammock", "Garden Bench", "Parasol"),
            _s("watering", "Watering", "Garden Hose", "Watering Can", "Drip Irrigation Kit", "Sprinkler"),
        ),
        makers=("Greenthumb", "Fernhill", "Meadow", "Terra", "Willow & Co", "Rootstock"),
        styles=(
            Style("organic", ("Organic", "Heirloom", "Natural"), 0.1),
            Style("heavy-duty", ("Heavy-Duty", "Forged", "Steel"), 0.3),
            Style("balcony", ("Balcony", "Compact", "Urban"), -0.1),
            Style("teak", ("Teak", "Weatherproof", "Acacia"), 0.5),
        ),
        features=("frost hardy", "rust resistant", "ergonomic handle", "easy assembly", "UV resistant", "pet safe"),
        log_price=(3.5, 0.8), traffic=0.7, peak_hours=(9, 15),
        attributes=(("material", ("steel", "wood", "plastic", "rattan")), ("season", ("spring", "summer", "autumn", "all year"))),
    ),
    CategorySpec(
        slug="grocery", name="Grocery", description="Pantry staples, coffee and tea, snacks and drinks.",
        subcategories=(
            _s("coffee-tea", "Coffee & Tea", "Coffee Beans", "Ground Coffee", "Green Tea", "Chai Blend", "Matcha"),
            _s("pantry", "Pantry", "Olive Oil", "Pasta", "Basmati Rice", "Peanut Butter", "Honey"),
            _s("snacks", "Snacks", "Granola", "Dark Chocolate", "Trail Mix", "Protein Bars", "Crackers"),
            _s("drinks", "Drinks", "Sparkling Water", "Kombucha", "Oat Milk", "Cold Brew"),
        ),
        makers=("Golden Acre", "Bean & Leaf", "Harvest", "Little Farm", "Mornings", "Salt & Stone"),
        styles=(
            Style("organic", ("Organic", "Fair Trade", "Single-Origin"), 0.3),
            Style("healthy", ("Sugar-Free", "High-Protein", "Gluten-Free"), 0.2),
            Style("gourmet", ("Artisan", "Small-Batch", "Reserve"), 0.5),
            Style("value", ("Family Size", "Value Pack", "Classic"), -0.4),
        ),
        features=("1 kg bag", "pack of 6", "resealable", "plant based", "no added sugar", "locally sourced"),
        log_price=(2.2, 0.5), traffic=1.2, peak_hours=(8, 17), consumable=True,
        attributes=(("weight_g", (250, 500, 1000)), ("diet", ("vegan", "vegetarian", "gluten free", "none"))),
    ),
    CategorySpec(
        slug="music", name="Music", description="Vinyl, CDs and instruments.",
        subcategories=(
            _s("vinyl", "Vinyl Records", "Sessions", "Nights", "Echoes", "Horizons", "Tapes"),
            _s("instruments", "Instruments", "Acoustic Guitar", "Ukulele", "Digital Piano", "Cajon", "Violin"),
            _s("music-gear", "Music Gear", "Guitar Strings", "Capo", "Music Stand", "Audio Interface"),
        ),
        makers=("The Velvet Owls", "Nora Lane", "Blue Harbor", "Kito", "Marlow Trio", "Sunset Radio"),
        styles=(
            Style("jazz", ("Blue", "Smoky", "Late"), 0.1),
            Style("electronic", ("Neon", "Synth", "Digital"), 0.0),
            Style("folk", ("Acoustic", "Wooden", "Hometown"), -0.1),
            Style("classical", ("Concerto", "Sonata", "Nocturne"), 0.2),
        ),
        features=("180g vinyl", "remastered", "live recording", "beginner friendly", "limited pressing", "includes case"),
        log_price=(3.3, 0.7), traffic=0.7, peak_hours=(23,), maker_label="artist",
        attributes=(("format", ("vinyl", "CD", "instrument", "accessory")), ("year", (1972, 1988, 1999, 2012, 2024))),
    ),
    CategorySpec(
        slug="games", name="Games", description="Video games, board games and accessories.",
        subcategories=(
            _s("video-games", "Video Games", "Quest", "Chronicles", "Legends", "Racing", "Odyssey"),
            _s("board-games", "Board Games", "Board Game", "Card Game", "Strategy Game", "Party Game"),
            _s("gaming-gear", "Gaming Gear", "Controller", "Gaming Headset", "Gaming Mouse", "Gaming Chair"),
        ),
        makers=("Pixelforge", "Red Meeple", "Nightjar Studios", "Arcadia", "Hexagon", "Bitwise"),
        styles=(
            Style("rpg", ("Fantasy", "Epic", "Dungeon"), 0.2),
            Style("family", ("Family", "Cozy", "Party"), -0.1),
            Style("competitive", ("Esports", "Pro", "Tournament"), 0.3),
            Style("retro", ("Retro", "Pixel", "Arcade"), -0.2),
        ),
        features=("2-4 players", "online multiplayer", "co-op", "60 minutes", "RGB lighting", "wireless"),
        log_price=(3.6, 0.6), traffic=1.0, peak_hours=(23, 1),
        attributes=(("platform", ("PC", "console", "tabletop", "handheld")), ("players", ("1", "1-4", "2-6", "online"))),
    ),
    CategorySpec(
        slug="pets", name="Pets", description="Food, toys and care for dogs, cats and more.",
        subcategories=(
            _s("dog", "Dog", "Dog Food", "Chew Toy", "Dog Leash", "Dog Bed", "Dental Treats"),
            _s("cat", "Cat", "Cat Food", "Cat Litter", "Scratching Post", "Cat Treats"),
            _s("small-pets", "Small Pets & Fish", "Hamster Bedding", "Aquarium Filter", "Fish Flakes", "Bird Seed"),
        ),
        makers=("Happy Paws", "Whiskerly", "Barkley", "Nature's Bowl", "Fetch", "Tailwind"),
        styles=(
            Style("natural", ("Grain-Free", "Natural", "Wild"), 0.3),
            Style("puppy", ("Puppy", "Kitten", "Junior"), 0.0),
            Style("senior", ("Senior", "Joint Care", "Gentle"), 0.1),
            Style("value", ("Value", "Everyday", "Bulk"), -0.4),
        ),
        features=("high protein", "vet recommended", "durable", "washable", "2 kg bag", "odour control"),
        log_price=(2.9, 0.6), traffic=0.9, peak_hours=(9,), consumable=True,
        attributes=(("pet", ("dog", "cat", "small pet")), ("weight_g", (500, 2000, 5000))),
    ),
    CategorySpec(
        slug="office", name="Office", description="Stationery, desk gear and office furniture.",
        subcategories=(
            _s("stationery", "Stationery", "Notebook", "Fountain Pen", "Planner", "Sticky Notes", "Gel Pens"),
            _s("desk", "Desk Accessories", "Desk Organizer", "Monitor Stand", "Desk Lamp", "Laptop Stand"),
            _s("office-furniture", "Office Furniture", "Ergonomic Chair", "Standing Desk", "Filing Cabinet", "Footrest"),
        ),
        makers=("Paperwise", "Inkwell", "Deskform", "Ledger", "Tidy", "Workwell"),
        styles=(
            Style("ergonomic", ("Ergonomic", "Adjustable", "Posture"), 0.4),
            Style("minimal", ("Minimal", "Bamboo", "Matte"), 0.1),
            Style("premium", ("Leather", "Brass", "Executive"), 0.6),
            Style("budget", ("Student", "Value", "Basic"), -0.5),
        ),
        features=("A5 size", "dotted pages", "cable management", "refillable", "recycled paper", "height adjustable"),
        log_price=(3.1, 0.9), traffic=0.8, peak_hours=(10, 14),
        attributes=(("color", COLORS[:5]), ("material", ("paper", "bamboo", "steel", "leather"))),
    ),
)

MEDIA_CATEGORIES = frozenset({"books", "music", "games"})
TIME_ZONES = (-8, -6, -5, 0, 1, 2, 3)  # hours from UTC
TIME_ZONE_WEIGHTS = (0.15, 0.1, 0.2, 0.15, 0.25, 0.1, 0.05)


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
class SimUser:
    index: int
    username: str
    categories: tuple[int, ...]  # hidden: the top-level categories this user cares about
    mixture: np.ndarray  # hidden: interest over all top-level categories (sums to 1)
    tz_offset: int
    joined_at: float


@dataclass
class SimEvents:
    """Structure of arrays, sorted by timestamp. ``value`` is NaN where an event has none."""

    user: np.ndarray  # int32 user index
    item: np.ndarray  # int32 item index
    event_type: np.ndarray  # int8 index into EVENT_TYPES
    value: np.ndarray  # float64
    timestamp: np.ndarray  # float64 unix seconds (millisecond precision)
    device: np.ndarray  # int8 index into DEVICES
    local_hour: np.ndarray  # int8 0-23

    def __len__(self) -> int:
        return int(self.user.shape[0])


@dataclass
class SimulatedShop:
    seed: int
    end_timestamp: float
    days: int
    categories: list[SimCategory]
    items: list[SimItem]
    users: list[SimUser]
    events: SimEvents
    item_factors: np.ndarray = field(repr=False)
    user_factors: np.ndarray = field(repr=False)
    item_popularity: np.ndarray = field(repr=False)  # hidden base popularity (sums to 1)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.normal(size=(n, LATENT_DIM))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _circular_bump(hours: np.ndarray, peak: int, width: float = 2.0) -> np.ndarray:
    distance = np.minimum(np.abs(hours - peak), 24 - np.abs(hours - peak))
    return np.exp(-(distance**2) / (2 * width**2))


HOURS = np.arange(24)
# Global diurnal activity by local hour: quiet at night, a lunch bump, an evening peak.
DIURNAL = 0.08 + 0.5 * _circular_bump(HOURS, 8, 1.5) + 0.6 * _circular_bump(HOURS, 13, 2.0) + 1.0 * _circular_bump(HOURS, 20, 2.5)
DIURNAL = DIURNAL / DIURNAL.sum()
# Device weight by local hour (columns: mobile, desktop, tablet).
DEVICE_BY_HOUR = np.stack(
    [
        0.6 + 1.6 * _circular_bump(HOURS, 21, 2.5) + 0.5 * _circular_bump(HOURS, 8, 1.0),
        0.3 + 1.6 * _circular_bump(HOURS, 12, 3.0),
        0.15 + 0.5 * _circular_bump(HOURS, 20, 2.0),
    ],
    axis=1,
)
# Conversion by device: click, add_to_cart, purchase multipliers (desktop converts, mobile browses).
DEVICE_CLICK = (1.1, 1.0, 1.05)
DEVICE_CART = (0.7, 1.35, 1.0)
DEVICE_PURCHASE = (0.75, 1.2, 1.0)


def _catalog(rng: np.random.Generator, n_items: int, end_timestamp: float, days: int, specs: tuple[CategorySpec, ...]):
    categories: list[SimCategory] = []
    sub_top: list[int] = []
    sub_specs: list[Subcategory] = []
    for top, spec in enumerate(specs):
        categories.append(SimCategory(slug=spec.slug, name=spec.name, parent_slug=None, description=spec.description))
        for sub in spec.subcategories:
            categories.append(SimCategory(slug=f"{spec.slug}-{sub.slug}", name=sub.name, parent_slug=spec.slug, description=f"{sub.name} in {spec.name}."))
            sub_top.append(top)
            sub_specs.append(sub)
    n_top, n_sub = len(specs), len(sub_specs)
    n_styles = max(len(spec.styles) for spec in specs)
    top_vectors = _unit_rows(rng, n_top)
    sub_vectors = _unit_rows(rng, n_sub)
    style_vectors = _unit_rows(rng, n_top * n_styles).reshape(n_top, n_styles, LATENT_DIM)

    traffic = np.array([spec.traffic for spec in specs])
    # Items per top category follow traffic (more electronics than garden), at least 3 per subcategory.
    top_of_item = rng.choice(n_top, size=n_items, p=traffic / traffic.sum())
    top_of_item[: n_top] = np.arange(n_top)  # every category has items even in tiny catalogs
    top_of_item = np.sort(top_of_item, kind="stable")
    rank = rng.permutation(n_items)
    popularity = 1.0 / (rank + 8.0) ** 1.05  # Zipf-like, with a soft head
    popularity /= popularity.sum()

    items: list[SimItem] = []
    factors = np.empty((n_items, LATENT_DIM))
    created = end_timestamp - days * DAY * (1.0 + 7.0 * rng.random(n_items))  # mostly older than the window
    new_mask = rng.random(n_items) < 0.12
    created[new_mask] = end_timestamp - days * DAY * rng.random(int(new_mask.sum())) ** 1.5  # some very recent
    for index in range(n_items):
        top = int(top_of_item[index])
        spec = specs[top]
        local_subs = [s for s in range(n_sub) if sub_top[s] == top]
        sub = local_subs[int(rng.integers(len(local_subs)))]
        sub_spec = sub_specs[sub]
        style_index = int(rng.integers(len(spec.styles)))
        style = spec.styles[style_index]
        maker = spec.makers[int(rng.integers(len(spec.makers)))]
        noun = sub_spec.nouns[int(rng.integers(len(sub_spec.nouns)))]
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
        tags = [spec.slug, sub_spec.slug, style.tag] + [f.lower().replace(" ", "-") for f in features]
        attributes: dict = {spec.maker_label: maker, "style": style.tag}
        for name, choices in spec.attributes:
            value = choices[int(rng.integers(len(choices)))]
            attributes[name] = value.item() if hasattr(value, "item") else value
        log_mean, log_sigma = spec.log_price
        price = math.exp(log_mean + style.price_shift + log_sigma * rng.normal())
        price = max(0.99, math.floor(price) + (0.99 if price > 5 else 0.49))
        in_stock = bool(rng.random() >= 0.08)
        is_active = bool(rng.random() >= 0.025)
        factors[index] = top_vectors[top] + 0.8 * sub_vectors[sub] + 0.6 * style_vectors[top, style_index] + 0.35 * rng.normal(size=LATENT_DIM) / 4.0
        items.append(
            SimItem(
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
                created_at=float(round(created[index], 3)),
            )
        )
    return categories, items, factors, popularity, (top_vectors, sub_vectors, style_vectors, sub_top)


FIRST_NAMES = ("alex", "sam", "maria", "li", "noah", "emma", "omar", "zoe", "ivan", "aisha", "leo", "mia", "raj", "nina", "tom", "sofia")


def _users(rng: np.random.Generator, n_users: int, specs, vectors, end_timestamp: float, days: int):
    top_vectors, sub_vectors, style_vectors, sub_top = vectors
    n_top = len(specs)
    traffic = np.array([spec.traffic for spec in specs])
    traffic = traffic / traffic.sum()
    users: list[SimUser] = []
    factors = np.empty((n_users, LATENT_DIM))
    window_start = end_timestamp - days * DAY
    for index in range(n_users):
        n_cats = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.35, 0.15]))
        cats = np.sort(rng.choice(n_top, size=n_cats, replace=False, p=traffic))
        weights = rng.dirichlet(np.full(n_cats, 1.5))
        mixture = np.full(n_top, 0.06 / n_top)
        mixture[cats] += 0.94 * weights
        vector = 0.35 * rng.normal(size=LATENT_DIM) / 4.0
        for cat, weight in zip(cats, weights, strict=True):
            subs = [s for s in range(len(sub_top)) if sub_top[s] == cat]
            sub = subs[int(rng.integers(len(subs)))]
            style = int(rng.integers(len(specs[cat].styles)))
            vector += weight * (top_vectors[cat] + 0.8 * sub_vectors[sub] + 0.6 * style_vectors[cat, style])
        factors[index] = vector
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


def _hour_category_boost(specs) -> np.ndarray:
    """(24, n_top): how much more a category is browsed at each local hour."""
    boost = np.ones((24, len(specs)))
    for top, spec in enumerate(specs):
        for peak in spec.peak_hours:
            boost[:, top] += 3.0 * _circular_bump(HOURS, peak, 1.5)
    return boost


def _simulate(
    rng: np.random.Generator,
    *,
    specs,
    items: list[SimItem],
    users: list[SimUser],
    affinity: np.ndarray,
    popularity: np.ndarray,
    n_sessions: int,
    end_timestamp: float,
    days: int,
) -> dict[str, list]:
    n_users, n_items = affinity.shape
    n_top = len(specs)
    window_start = end_timestamp - days * DAY
    item_top = np.array([item.top_category for item in items])
    items_by_top = [np.flatnonzero(item_top == top) for top in range(n_top)]
    created = np.array([item.created_at for item in items])
    # Discontinued items (inactive now) stopped selling at some point inside the window.
    stopped = np.full(n_items, np.inf)
    for item in items:
        if not item.is_active:
            stopped[item.index] = window_start + days * DAY * rng.random()
    in_stock = np.array([item.in_stock for item in items])
    consumable = np.array([spec.consumable for spec in specs])
    media = np.array([spec.slug in MEDIA_CATEGORIES for spec in specs])
    hour_boost = _hour_category_boost(specs)
    pop_weight = popularity**0.9
    traffic = np.array([spec.traffic for spec in specs])
    hour_need = traffic * hour_boost**2
    hour_need /= hour_need.sum(axis=1, keepdims=True)

    # Day weights: a growing shop (more traffic lately) with busier weekends.
    day_index = np.arange(days)
    weekday = np.array([dt.datetime.fromtimestamp(window_start + d * DAY, tz=dt.UTC).weekday() for d in day_index])
    day_weight = (1.0 + 1.2 * day_index / days) * np.where(weekday >= 5, 1.25, 1.0)

    # Sessions per user: heavy-tailed activity over the part of the window the user was around.
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    joined_day = np.clip(np.floor((np.array([u.joined_at for u in users]) - window_start) / DAY), 0, days - 1).astype(int)
    churn_day = np.where(rng.random(n_users) < 0.15, rng.integers(0, days, size=n_users), days)
    churn_day = np.maximum(churn_day, joined_day + 1)
    span = (churn_day - joined_day) / days
    rate = activity * span
    expected = (n_sessions - n_users) * rate / rate.sum()
    sessions_per_user = 1 + rng.poisson(expected)
    favourite_hour = rng.choice(24, size=n_users, p=DIURNAL)
    device_preference = rng.dirichlet([2.0, 1.5, 0.6], size=n_users)

    out: dict[str, list] = {name: [] for name in ("user", "item", "type", "value", "ts", "device")}
    cumulative_cache: dict[tuple[int, int], np.ndarray] = {}

    def emit(user: int, item: int, event_type: str, ts: float, device: int, value: float = math.nan) -> None:
        out["user"].append(user)
        out["item"].append(item)
        out["type"].append(EVENT_CODE[event_type])
        out["value"].append(value)
        out["ts"].append(ts)
        out["device"].append(device)

    def available(item: int, ts: float) -> bool:
        return created[item] <= ts < stopped[item]

    for user in range(n_users):
        profile = users[user]
        first, last = joined_day[user], churn_day[user]
        weights = day_weight[first:last] / day_weight[first:last].sum()
        n = int(sessions_per_user[user])
        session_days = first + rng.choice(last - first, size=n, p=weights)
        hour_pmf = 0.7 * DIURNAL + 0.3 * _circular_bump(HOURS, int(favourite_hour[user]), 1.5) / _circular_bump(HOURS, 0, 1.5).sum()
        hour_pmf = hour_pmf / hour_pmf.sum()
        local_hours = rng.choice(24, size=n, p=hour_pmf)
        seconds = rng.random(n) * 3600.0
        starts = np.sort(window_start + session_days * DAY + local_hours * 3600.0 + seconds - profile.tz_offset * 3600.0)
        own_interest = profile.mixture * hour_boost
        own_interest /= own_interest.sum(axis=1, keepdims=True)
        pantry: dict[int, float] = {}  # consumable item -> last purchase time
        owned: set[int] = set()
        for start in starts:
            ts = float(start)
            hour = int(((ts + profile.tz_offset * 3600.0) % DAY) // 3600)
            device_p = device_preference[user] * DEVICE_BY_HOUR[hour]
            device = int(rng.choice(3, p=device_p / device_p.sum()))
            # Mostly the user's own interests, sometimes a need of the hour (coffee in the morning, games at night).
            category_p = 0.9 * own_interest[hour] + 0.1 * hour_need[hour]
            top = int(rng.choice(n_top, p=category_p))
            cart: list[int] = []

            # Consumables run out: restock something bought before.
            if consumable[top] and pantry and rng.random() < 0.5:
                due = [item for item, bought in pantry.items() if item_top[item] == top and ts - bought > 6 * DAY and available(item, ts)]
                if due:
                    item = due[int(rng.integers(len(due)))]
                    emit(user, item, "view", ts, device)
                    ts += 5.0 + 20.0 * rng.random()
                    if in_stock[item] and rng.random() < 0.85:
                        emit(user, item, "add_to_cart", ts, device)
                        cart.append(item)
                    ts += 10.0 + 40.0 * rng.random()

            key = (user, top)
            cumulative = cumulative_cache.get(key)
            if cumulative is None:
                candidates = items_by_top[top]
                weight = pop_weight[candidates] * np.exp(1.6 * affinity[user, candidates])
                cumulative = np.cumsum(weight)
                cumulative /= cumulative[-1]
                cumulative_cache[key] = cumulative
            n_views = int(rng.geometric(0.2))
            picks = items_by_top[top][np.minimum(np.searchsorted(cumulative, rng.random(n_views), side="right"), len(cumulative) - 1)]
            for item in picks:
                item = int(item)
                if not available(item, ts):
                    continue
                emit(user, item, "view", ts, device)
                score = float(affinity[user, item])
                if rng.random() < _sigmoid(-2.2 + 0.8 * score) * DEVICE_CLICK[device]:
                    ts += 2.0 + 8.0 * rng.random()
                    emit(user, item, "click", ts, device)
                    dwell = float(np.clip(rng.lognormal(3.2 + 0.45 * score, 0.7), 2.0, 1800.0))
                    if rng.random() < 0.25 * _sigmoid(-1.0 + 1.5 * score):
                        emit(user, item, "like", ts + dwell * 0.6, device)
                    if media[top] and rng.random() < 0.12:
                        rating = float(np.clip(round(2.5 + 0.8 * score + 0.9 * rng.normal()), 1, 5))
                        emit(user, item, "rating", ts + dwell * 0.8, device, rating)
                    ts += dwell
                    emit(user, item, "dwell", ts, device, round(dwell, 1))
                    if in_stock[item] and item not in owned and rng.random() < 0.25 * _sigmoid(-0.5 + 0.8 * score) * DEVICE_CART[device]:
                        ts += 3.0 + 10.0 * rng.random()
                        emit(user, item, "add_to_cart", ts, device)
                        cart.append(item)
                elif rng.random() < 0.04 + 0.3 * _sigmoid(-0.5 - 1.0 * score):
                    emit(user, item, "skip", ts + 1.0 + 3.0 * rng.random(), device)
                ts += float(np.clip(rng.lognormal(3.3, 0.7), 3.0, 600.0))

            # Checkout at the end of the session.
            checkout_done = False
            for item in dict.fromkeys(cart):
                if rng.random() < 0.5 * DEVICE_PURCHASE[device]:
                    if not checkout_done:
                        ts += 30.0 + 90.0 * rng.random()
                        checkout_done = True
                    emit(user, item, "purchase", ts, device)
                    if consumable[item_top[item]]:
                        pantry[item] = ts
                    else:
                        owned.add(item)  # durable goods are bought once
                    if rng.random() < 0.3:
                        later = ts + DAY * (1.0 + 5.0 * rng.random())
                        rating = float(np.clip(round(2.7 + 0.8 * float(affinity[user, item]) + 0.9 * rng.normal()), 1, 5))
                        later_hour = int(((later + profile.tz_offset * 3600.0) % DAY) // 3600)
                        later_p = device_preference[user] * DEVICE_BY_HOUR[later_hour]
                        emit(user, item, "rating", later, int(rng.choice(3, p=later_p / later_p.sum())), rating)
    return out


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
    """Simulate a shop: exactly ``n_events`` events (the most recent ones) ending at ``end_timestamp``."""
    if n_users < 1 or n_items < len(specs) or n_events < 1 or days < 2:
        raise ValueError(f"Need at least 1 user, {len(specs)} items, 1 event and 2 days.")
    catalog_rng = np.random.default_rng([seed, 1])
    categories, items, item_factors, popularity, vectors = _catalog(catalog_rng, n_items, end_timestamp, days, specs)
    users, user_factors = _users(np.random.default_rng([seed, 2]), n_users, specs, vectors, end_timestamp, days)

    # Affinity: taste match minus price sensitivity, standardised so the funnel's coefficients mean something.
    raw = user_factors @ item_factors.T
    sensitivity = np.clip(np.random.default_rng([seed, 4]).normal(0.3, 0.3, size=n_users), 0.0, None)
    log_price = np.log([item.price for item in items])
    price_z = np.empty(len(items))
    for top, spec in enumerate(specs):
        mask = np.array([item.top_category == top for item in items])
        price_z[mask] = (log_price[mask] - spec.log_price[0]) / spec.log_price[1]
    raw = raw - 0.15 * np.outer(sensitivity, price_z)
    affinity = (raw - raw.mean()) / raw.std()

    # Size the simulation so that it produces a little more than n_events; keep the most recent n_events.
    events_per_session, attempt = 8.4, 0
    while True:
        n_sessions = max(n_users, int(n_events / events_per_session * 1.04))
        out = _simulate(
            np.random.default_rng([seed, 3, attempt]),
            specs=specs, items=items, users=users, affinity=affinity, popularity=popularity,
            n_sessions=n_sessions, end_timestamp=end_timestamp, days=days,
        )
        timestamp = np.round(np.asarray(out["ts"], dtype=np.float64), 3)
        keep = timestamp <= end_timestamp
        kept = int(keep.sum())
        if kept >= n_events and (kept <= 1.2 * n_events or attempt >= 3):
            break
        attempt += 1
        if attempt > 8:  # pragma: no cover - the measured rate converges in one or two steps
            raise RuntimeError("Could not size the simulation.")
        events_per_session = max(0.5, kept / n_sessions)

    order = np.flatnonzero(keep)
    order = order[np.argsort(timestamp[order], kind="stable")][-n_events:]  # the most recent n_events
    tz = np.array([user.tz_offset for user in users])
    user_index = np.asarray(out["user"], dtype=np.int32)[order]
    ts = timestamp[order]
    events = SimEvents(
        user=user_index,
        item=np.asarray(out["item"], dtype=np.int32)[order],
        event_type=np.asarray(out["type"], dtype=np.int8)[order],
        value=np.asarray(out["value"], dtype=np.float64)[order],
        timestamp=ts,
        device=np.asarray(out["device"], dtype=np.int8)[order],
        local_hour=(((ts + tz[user_index] * 3600.0) % DAY) // 3600).astype(np.int8),
    )
    return SimulatedShop(
        seed=seed,
        end_timestamp=end_timestamp,
        days=days,
        categories=categories,
        items=items,
        users=users,
        events=events,
        item_factors=item_factors,
        user_factors=user_factors,
        item_popularity=popularity,
    )
