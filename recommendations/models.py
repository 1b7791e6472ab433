from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from common.vocabulary import DEFAULT_EVENT_TYPE_WEIGHTS, EventType, default_event_type_weights

__all__ = [
    "DEFAULT_EVENT_TYPE_WEIGHTS",
    "Event",
    "EventType",
    "Impression",
    "ModelVersion",
    "RecommenderSettings",
    "RecommenderSettingsVersion",
    "default_event_type_weights",
]


class Event(models.Model):
    """One thing a user (or an anonymous session) did with an item."""

    # The sender's idempotency key, unique per actor (see Meta.constraints): two actors may use the same id.
    client_event_id = models.CharField(max_length=64)
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
            # Only anonymous events carry a session key: a partial index keeps logged-in writes from paying for it.
            models.Index(fields=["session_key", "timestamp"], name="event_session_time_idx",
                         condition=~models.Q(session_key="")),
            models.Index(fields=["timestamp"], name="event_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(session_key=""),
                name="event_has_actor",
            ),
            # Idempotency per actor: a user's events (their session key is "") and an anonymous session's events.
            # client_event_id leads, so the duplicate look-up of a batch (id IN (...)) uses these indexes; the
            # PostgreSQL ingest names them (columns and predicate) as its ON CONFLICT targets.
            models.UniqueConstraint(
                fields=["client_event_id", "user"], condition=models.Q(user__isnull=False),
                name="event_user_client_id_uniq",
            ),
            models.UniqueConstraint(
                fields=["client_event_id", "session_key"], condition=models.Q(user__isnull=True),
                name="event_session_client_id_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.item_id} by {self.user_id or self.session_key}"


def default_training_models() -> list[dict]:
    return [{"name": "ials"}, {"name": "itemknn"}, {"name": "ease"}]


unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class RecommenderSettings(models.Model):
    """Admin-editable singleton: the knobs that change recommendations without code changes.

    Every saved change bumps ``version`` and writes a RecommenderSettingsVersion row, so impressions can name
    the settings that produced them and an admin can see the history.
    """

    version = models.PositiveIntegerField(default=1)
    # Feedback: how much each event type counts (popularity, training). Negative = a negative signal.
    event_type_weights = models.JSONField(default=default_event_type_weights)
    # What an event means (ml.dataset.semantics): evidence = weight x clip((rating - neutral) / (max - neutral), -1, 1);
    # dwell = weight x min(seconds / full, 1), no evidence below the minimum.
    rating_neutral = models.FloatField(default=5.0, help_text="Ratings below this are negative evidence, above it positive.")
    rating_max = models.FloatField(default=10.0, help_text="Top of the rating scale (counts the rating weight in full).")
    dwell_min_seconds = models.FloatField(default=5.0, help_text="Shorter dwell is no evidence (a glance while scrolling).")
    dwell_full_seconds = models.FloatField(default=30.0, help_text="Dwell from this long on counts the dwell weight in full.")
    popularity_half_life_hours = models.FloatField(default=72.0)
    popularity_window_days = models.PositiveIntegerField(default=30)
    # Feed mix (TikTok-style): shares of personal / popular / exploration items in a page; they sum to 1.
    feed_personal_share = models.FloatField(default=0.6, validators=unit_interval)
    feed_popular_share = models.FloatField(default=0.2, validators=unit_interval)
    feed_explore_share = models.FloatField(default=0.2, validators=unit_interval)
    # Re-ranking: MMR trade-off (1 = relevance only, 0 = diversity only), per-category cap within one page.
    mmr_lambda = models.FloatField(default=0.7, validators=unit_interval)
    category_cap = models.PositiveIntegerField(default=4, help_text="Most items of one category in a page.")
    exploration_rate = models.FloatField(default=0.1, validators=unit_interval)
    freshness_boost = models.FloatField(default=0.1, validators=unit_interval, help_text="Score bonus for new items.")
    new_item_days = models.PositiveIntegerField(default=14)
    exclude_purchased = models.BooleanField(default=True)
    exclude_viewed = models.BooleanField(default=False)
    # Training pipeline.
    training_models = models.JSONField(default=default_training_models, help_text='e.g. [{"name": "ials", "factors": 64}]')
    training_window_days = models.PositiveIntegerField(default=365)
    promotion_metric = models.CharField(max_length=32, default="ndcg@10")
    promotion_margin = models.FloatField(default=0.02, validators=unit_interval,
                                         help_text="A challenger may be this much worse (relative) and still win.")
    keep_versions = models.PositiveIntegerField(default=5)
    ann_exact_max_items = models.PositiveIntegerField(default=50_000, help_text="Above this, an approximate index.")
    # Wellbeing: a gentle break notice after this many minutes of continuous feed use (0 = off).
    wellbeing_enabled = models.BooleanField(default=True)
    wellbeing_session_minutes = models.PositiveIntegerField(default=30)
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
        if float(weights.get(EventType.SKIP, 0.0)) > 0:
            raise ValidationError({"event_type_weights": "A skip (and \"not interested\") is negative evidence: its weight must be <= 0."})
        if float(weights.get(EventType.RATING, 0.0)) < 0:
            raise ValidationError({"event_type_weights": "The rating weight must be >= 0: a rating's sign comes from its value."})
        if not self.rating_max > self.rating_neutral:
            raise ValidationError({"rating_max": "Must be above the neutral rating."})
        if not 0 <= self.dwell_min_seconds <= self.dwell_full_seconds or self.dwell_full_seconds <= 0:
            raise ValidationError({"dwell_full_seconds": "Need 0 <= minimum dwell <= full dwell, and a positive full dwell."})
        if self.popularity_half_life_hours <= 0:
            raise ValidationError({"popularity_half_life_hours": "Must be positive."})
        shares = self.feed_personal_share + self.feed_popular_share + self.feed_explore_share
        if abs(shares - 1.0) > 1e-6:
            raise ValidationError({"feed_personal_share": f"The three feed shares must sum to 1 (they sum to {shares:.2f})."})
        if not isinstance(self.training_models, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("name"), str) for entry in self.training_models
        ):
            raise ValidationError({"training_models": 'Must be a list of objects with a "name", e.g. [{"name": "ials"}].'})


class RecommenderSettingsVersion(models.Model):
    """One saved state of RecommenderSettings (history for audit and for attributing impressions)."""

    version = models.PositiveIntegerField(unique=True)
    snapshot = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Settings v{self.version}"


class ModelVersion(models.Model):
    """One trained model: its artifacts, data window, metrics and lifecycle."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        EVALUATING = "evaluating", "Evaluating"
        READY = "ready", "Ready (not promoted)"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Artifacts deleted"

    model_name = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0-100 while training.")
    stage = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    forced = models.BooleanField(default=False, help_text="Promoted by an admin regardless of metrics.")
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_events = models.PositiveBigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per stage.")
    artifact_path = models.CharField(max_length=500, blank=True)
    checksums = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    promotion_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # --- training pipeline (issue #6) ---------------------------------------------------------------
    # Refreshed by the running training job; a pending row whose heartbeat stopped was abandoned by a dead worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # -------------------------------------------------------------------------------------------------

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model_name", "status"], name="modelversion_name_status_idx")]
        constraints = [
            # At most one active version: web processes serve exactly one.
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="active"), name="one_active_model_version"),
            # At most one queued/running retrain per model: concurrent "retrain now" clicks give one version (#6).
            models.UniqueConstraint(fields=["model_name"], condition=models.Q(status__in=["queued", "training", "evaluating"]),
                                    name="one_pending_model_version_per_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} v{self.pk} ({self.status})"


class Impression(models.Model):
    """An item shown to someone in a recommendation response, for attributing later clicks and experiments."""

    # Every served item is a row, so each index is paid on every page: the user and item lookups use the
    # (user, created_at) and (item, created_at) indexes below, and request ids are matched exactly (no LIKE index).
    request_id = models.CharField(max_length=36)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="impressions",
                             db_index=False)
    session_key = models.CharField(max_length=64, blank=True, default="")
    item = models.ForeignKey("catalog.Item", on_delete=models.CASCADE, related_name="impressions", db_index=False)
    position = models.PositiveIntegerField()
    source = models.CharField(max_length=32)
    score = models.FloatField(default=0.0)
    reason = models.CharField(max_length=40, blank=True)
    surface = models.CharField(max_length=24, default="feed", help_text="feed, similar, swipe, api, ...")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="impressions")
    settings_version = models.PositiveIntegerField(default=1)
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "position"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="impression_user_time_idx"),
            models.Index(fields=["session_key", "created_at"], name="impression_session_time_idx"),
            models.Index(fields=["item", "created_at"], name="impression_item_time_idx"),
            models.Index(fields=["request_id"], name="impression_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} at {self.position} ({self.source})"
