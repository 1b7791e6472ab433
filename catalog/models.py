from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from catalog.revision import CatalogQuerySet


class Category(models.Model):
    """A node of the category tree (``parent`` is null for top-level categories)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    description = models.TextField(blank=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("category-detail", kwargs={"slug": self.slug})


class Item(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items")
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    image_url = models.URLField(max_length=500, blank=True)
    in_stock = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_index=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["category", "is_active", "in_stock"], name="item_category_avail_idx"),
            models.Index(fields=["is_active", "-created_at"], name="item_active_new_idx"),
            models.Index(fields=["price"], name="item_price_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("item-detail", kwargs={"pk": self.pk})

    @property
    def is_available(self) -> bool:
        return self.is_active and self.in_stock


class CatalogRevision(models.Model):
    """One row (``id=1``): a token replaced by database triggers on every item or category write.

    See ``catalog.revision``; written only by the triggers of migration 0002, read with one primary-key query.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog revision {self.value}"
