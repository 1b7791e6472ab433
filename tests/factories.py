"""factory_boy factories shared by the Django tests."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from catalog.models import Category, Item
from recommendations.models import Event, EventType
from users.models import Preferences, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PreferencesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Preferences

    user = factory.SubFactory(UserFactory)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    title = factory.Sequence(lambda n: f"Item {n}")
    description = "A fine thing."
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("19.99")
    created_at = factory.LazyFunction(timezone.now)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    client_event_id = factory.Sequence(lambda n: f"evt-{n}")
    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    event_type = EventType.VIEW
    timestamp = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
