"""Helpers for tests of the account data pages (users.views and recommendations.shop.my_data)."""
from recommendations.models import EventType, Impression
from tests.factories import EventFactory, ItemFactory, UserFactory
from users.models import Preferences, User


def member_login(client) -> User:
    """A member "ada" with preferences, logged in on ``client``."""
    user = UserFactory(username="ada")
    Preferences.objects.create(user=user)
    client.force_login(user)
    return user


def history_create(member: User) -> dict:
    """Three events (view, like, purchase) of three items and one impression for ``member``."""
    items = ItemFactory.create_batch(3)
    events = [
        EventFactory(user=member, item=items[0], event_type=EventType.VIEW),
        EventFactory(user=member, item=items[1], event_type=EventType.LIKE),
        EventFactory(user=member, item=items[2], event_type=EventType.PURCHASE),
    ]
    Impression.objects.create(request_id="r1", user=member, item=items[0], position=0, source="popular")
    return {"items": items, "events": events}
