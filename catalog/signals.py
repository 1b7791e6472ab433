"""Item and category writes bump the cache's catalog revision (``catalog.revision``; the database's: triggers)."""
from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Category, Item
from catalog.revision import catalog_written


@receiver(post_save, sender=Item)
@receiver(post_delete, sender=Item)
@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
def _catalog_row_changed(**_kwargs) -> None:
    catalog_written()
