"""A small shop with planted taste groups, a fitted iALS model and the helpers the serving tests share.

Five categories of twelve items; users of group g interact with items of category g (plus a little noise);
inside a category, popularity falls with the item's index. Two items of category 1 are new arrivals.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.utils import timezone

from catalog.models import Category, Item
from ml.dataset import Interactions
from ml.index import index_from_vectors
from ml.models.registry import model_from_config
from recommendations.events.ingest import Actor
from recommendations.models import DEFAULT_EVENT_TYPE_WEIGHTS, Event, ModelVersion
from recommendations.training.model_store import ServingModel
from users.models import Preferences, User

N_CATEGORIES = 5
ITEMS_PER_CATEGORY = 12
USERS_PER_GROUP = 10


@dataclass
class World:
    categories: list[Category]
    items: list[list[Item]]  # per category
    new_items: list[Item]
    users: list[User]  # users[g * USERS_PER_GROUP + j] belongs to group g
    serving: ServingModel | None = None

    def category_of(self, item_id: int) -> int:
        return Item.objects.get(pk=item_id).category_id

    def user_of_group(self, group: int, j: int = 0) -> User:
        return self.users[group * USERS_PER_GROUP + j]


def world_create(*, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    now = timezone.now()
    categories = [Category.objects.create(name=f"Category {k}", slug=f"serving-cat-{k}") for k in range(N_CATEGORIES)]
    items = []
    for k, category in enumerate(categories):
        items.append(
            Item.objects.bulk_create(
                [
                    Item(sku=f"S-{k}-{j:03d}", title=f"Item {k}.{j}", category=category, price=Decimal("9.50"),
                         tags=[f"cat{k}", f"style{j % 3}"], created_at=now - dt.timedelta(days=90))
                    for j in range(ITEMS_PER_CATEGORY)
                ]
            )
        )
    new_items = Item.objects.bulk_create(
        [Item(sku=f"S-new-{j}", title=f"New {j}", category=categories[1], price=Decimal("20.00"), tags=["cat1", f"style{j}"],
              created_at=now - dt.timedelta(days=1)) for j in range(2)]
    )
    users = User.objects.bulk_create([User(username=f"serving-{i}") for i in range(N_CATEGORIES * USERS_PER_GROUP)])
    Preferences.objects.bulk_create([Preferences(user=user) for user in users])
    events = []
    popularity = 1.0 / (1.0 + np.arange(ITEMS_PER_CATEGORY))  # item j of a category: weight 1 / (1 + j)
    popularity /= popularity.sum()
    for index, user in enumerate(users):
        group = index // USERS_PER_GROUP
        chosen = rng.choice(ITEMS_PER_CATEGORY, size=6, replace=False, p=popularity)
        picks = [items[group][j] for j in chosen]
        noise_category = (group + 1 + rng.integers(0, N_CATEGORIES - 1)) % N_CATEGORIES
        picks.append(items[noise_category][int(rng.integers(0, ITEMS_PER_CATEGORY))])
        for n, item in enumerate(picks):
            kind = "like" if n % 3 == 0 else "view"
            events.append(Event(client_event_id=f"w-{user.pk}-{n}", user=user, item=item, event_type=kind,
                                timestamp=now - dt.timedelta(days=float(rng.uniform(1, 10)))))
    Event.objects.bulk_create(events)
    return World(categories=categories, items=items, new_items=new_items, users=users)


def serving_model_fit(world: World, *, with_index: bool = True) -> ServingModel:
    rows = list(Event.objects.filter(user__isnull=False).values_list("user_id", "item_id", "event_type"))
    dataset = Interactions.from_events(
        user_ids=np.array([r[0] for r in rows]),
        item_ids=np.array([r[1] for r in rows]),
        event_types=np.array([r[2] for r in rows]),
        event_type_weights={str(k): v for k, v in DEFAULT_EVENT_TYPE_WEIGHTS.items()},
    )
    model = model_from_config({"name": "ials", "factors": 16, "iterations": 15, "regularization": 1.0, "alpha": 10.0,
                               "num_threads": 1, "random_state": 0, "device": "cpu"}).fit(dataset)
    version = ModelVersion.objects.create(model_name="ials", status=ModelVersion.Status.READY)
    index = index_from_vectors(model.item_embeddings()) if with_index else None
    return ServingModel(
        version_id=version.pk, model_name="ials", model=model, index=index,
        item_ids=np.asarray(model.item_map_.external_ids), user_ids=np.asarray(model.user_map_.external_ids),
        trained_at=timezone.now(),
    )


def install_model(monkeypatch, serving: ServingModel | None) -> None:
    monkeypatch.setattr("recommendations.training.serving_model_get", lambda **_: serving)


def event_add(*, item: Item, user: User | None = None, session_key: str = "", kind: str = "view", minutes_ago: float = 1.0) -> None:
    """Store an event through the ingestion service (so real-time invalidation runs as in production)."""
    from recommendations.events.ingest import event_ingest

    actor = Actor(user_id=user.pk if user else None, session_key=session_key)
    timestamp = (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()
    event_ingest(actor=actor, events=[{"item": item.pk, "event_type": kind, "timestamp": timestamp}])


def page_ids(page) -> list[int]:
    return [entry.item.pk for entry in page.items]


def page_categories(page) -> list[int]:
    return [entry.item.category_id for entry in page.items]
