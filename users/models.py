from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class User(AbstractUser):
    """Vitrine's user. Custom from the first migration so fields can be added without pain."""


class Preferences(models.Model):
    """What a user told us about their recommendations; the serving pipeline obeys every field."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="preferences")
    excluded_categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    # {"<category id>": weight in [0, 2]}; 1 is neutral.
    category_weights = models.JSONField(default=dict, blank=True)
    diversity_level = models.FloatField(default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    exploration_level = models.FloatField(default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    personalization_enabled = models.BooleanField(default=True)
    hidden_items = models.ManyToManyField("catalog.Item", blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user}"

    @property
    def excluded_category_ids(self) -> list[int]:
        return sorted(category.pk for category in self.excluded_categories.all())

    @property
    def hidden_item_ids(self) -> list[int]:
        return sorted(item.pk for item in self.hidden_items.all())


class AuthToken(AbstractAuthToken):
    """An API token (django-rest-knox, ``KNOX_TOKEN_MODEL``): only its SHA-512 ``digest`` is stored, never the
    token; one per device or script (``name``), valid until ``expiry``, revocable by its owner.

    knox keys the table by the digest; an integer ``id`` lets owners name a token in URLs without its digest.
    """

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["user", "expiry"], name="users_token_user_expiry")]

    def __str__(self) -> str:
        return f"{self.name or 'token'} of {self.user_id} (until {self.expiry:%Y-%m-%d})"
