"""Planted-structure events in the database for the training tests (users, items and events from ml.synthetic)."""
import datetime as dt

import numpy as np
from django.utils import timezone

from catalog.models import Category, Item
from recommendations.models import Event
from users.models import User


def planted_events_create(*, n_users: int = 30, n_items: int = 40, per_user: float = 15.0, seed: int = 0,
                          days: float = 20.0, prefix: str = "p") -> dict[str, np.ndarray]:
    """Create users, items and their events (timestamps within the last ``days``); returns the pk arrays."""
    from ml.synthetic import planted_interactions

    now = timezone.now()
    data = planted_interactions(n_users=n_users, n_items=n_items, n_clusters=4, interactions_per_user=per_user,
                                seed=seed, days=days * 2, start_time=0.0, noise=0.05)
    # Squeeze the synthetic time line into [now - days, now).
    ts = data.timestamps
    ts = (ts - ts.min()) / max(float(ts.max() - ts.min()), 1.0) * (days * 86400 - 60)
    category = Category.objects.create(name=f"{prefix} planted", slug=f"{prefix}-planted")
    users = User.objects.bulk_create([User(username=f"{prefix}-user-{i}") for i in range(n_users)])
    items = Item.objects.bulk_create([
        Item(sku=f"{prefix}-{i:05d}", title=f"Planted {i}", category=category, price=10, created_at=now)
        for i in range(n_items)
    ])
    user_pks = np.array([user.pk for user in users], dtype=np.int64)
    item_pks = np.array([item.pk for item in items], dtype=np.int64)
    u = user_pks[data.user_ids - 1_000_000]
    i = item_pks[data.item_ids - 5_000_000]
    start = now - dt.timedelta(days=days)
    Event.objects.bulk_create(
        [
            Event(client_event_id=f"{prefix}-{n}", user_id=int(user), item_id=int(item), event_type=str(kind),
                  timestamp=start + dt.timedelta(seconds=float(offset)))
            for n, (user, item, kind, offset) in enumerate(zip(u, i, data.event_types, ts, strict=True))
        ],
        batch_size=2000,
    )
    return {"user_pks": user_pks, "item_pks": item_pks, "n_events": np.int64(len(u))}
