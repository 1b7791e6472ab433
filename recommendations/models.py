from django.conf import settings
from django.core.exceptions import ValidationError
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
    return {str(key): value for key, value in DEFAULT_EVENT_TYPE_WEIGHTS.items()}


class Event(models.Model):
    """One thing a user (or an anonymous session) did with an item."""

    client_event_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    session_key = models.CharField(max_length=64, blank=True, default="")
    item = models.ForeignKey("catalog.Item", on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    value = models.FloatField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["user", "timestamp"], name="event_user_time_idx"),
            models.Index(fields=["item", "timestamp"], name="event_item_time_idx"),
            models.Index(fields=["session_key", "timestamp"], name="event_session_time_idx"),
            models.Index(fields=["timestamp"], name="event_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(session_key=""),
                name="event_has_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.item_id} by {self.user_id or self.session_key}"


class RecommenderSettings(models.Model):
    """Admin-editable singleton: the knobs that change recommendations without code changes."""

    event_type_weights = models.JSONField(default=default_event_type_weights)
    popularity_half_life_hours = models.FloatField(default=72.0)
    popularity_window_days = models.PositiveIntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "recommender settings"
        verbose_name_plural = "recommender settings"

    def __str__(self) -> str:
        return "Recommender settings"

    def clean(self) -> None:
        weights = self.event_type_weights
        if not isinstance(weights, dict):
            raise ValidationError({"event_type_weights": "Must be an object mapping event type to a number."})
        unknown = set(weights) - set(EventType.values)
        if unknown:
            raise ValidationError({"event_type_weights": f"Unknown event types: {', '.join(sorted(unknown))}."})
        for key, value in weights.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValidationError({"event_type_weights": f"Weight of {key!r} must be a number."})
        if self.popularity_half_life_hours <= 0:
            raise ValidationError({"popularity_half_life_hours": "Must be positive."})
