"""The shop's shared vocabulary, defined once: event types, devices, default event-type weights.

Every app imports these names from here (``recommendations.models`` re-exports ``EventType`` for its fields);
``ml/`` never imports Django, so it receives event types and weights as plain data from its callers.
"""
from django.db import models


class EventType(models.TextChoices):
    VIEW = "view", "View"
    CLICK = "click", "Click"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"
    LIKE = "like", "Like"
    SKIP = "skip", "Skip"
    RATING = "rating", "Rating"
    DWELL = "dwell", "Dwell"


#: Event types in a fixed order: position = the int8 code used by compact event arrays (simulator, snapshots).
EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)
EVENT_CODE: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPES)}

#: Device classes an event's or a request's context may name, in a fixed order (position = int8 code).
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet", "tv", "other")
DEVICE_CODE: dict[str, int] = {name: code for code, name in enumerate(DEVICES)}

#: Explicit opinions: a pair's latest one, when negative (a low rating, a skip / "not interested"), outweighs
#: everything the shopper did with the item before it (ml.dataset.semantics).
OPINION_EVENT_TYPES: tuple[str, ...] = (EventType.RATING.value, EventType.LIKE.value, EventType.SKIP.value)

# Starting values only: the live weights are RecommenderSettings.event_type_weights, edited in the admin.
DEFAULT_EVENT_TYPE_WEIGHTS: dict[str, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 2.0,
    EventType.ADD_TO_CART: 4.0,
    EventType.PURCHASE: 8.0,
    EventType.LIKE: 5.0,
    EventType.SKIP: -1.0,
    EventType.RATING: 1.0,
    EventType.DWELL: 0.5,
}


def default_event_type_weights() -> dict[str, float]:
    """A fresh JSON-ready copy of :data:`DEFAULT_EVENT_TYPE_WEIGHTS` (a model field default)."""
    return {str(key): value for key, value in DEFAULT_EVENT_TYPE_WEIGHTS.items()}
