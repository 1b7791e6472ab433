"""Helpers shared by every app's services."""
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models, transaction

ModelT = TypeVar("ModelT", bound=models.Model)


def model_update(*, instance: ModelT, fields: list[str], data: dict[str, Any]) -> tuple[ModelT, bool]:
    """Copy ``fields`` present in ``data`` onto ``instance``, validate, and save only what changed.

    Many-to-many fields are set after the save. Returns ``(instance, has_updated)``.
    """
    has_updated = False
    m2m_data: dict[str, Any] = {}
    model_fields = {field.name: field for field in instance._meta.get_fields()}
    for field_name in fields:
        if field_name not in data:
            continue
        field = model_fields.get(field_name)
        if field is None:
            raise ValueError(f"{field_name} is not a field of {type(instance).__name__}")
        if isinstance(field, models.ManyToManyField):
            m2m_data[field_name] = data[field_name]
            continue
        if getattr(instance, field_name) != data[field_name]:
            has_updated = True
            setattr(instance, field_name, data[field_name])
    if has_updated:
        instance.full_clean()
        instance.save()
    for field_name, value in m2m_data.items():
        related = getattr(instance, field_name)
        current = set(related.values_list("pk", flat=True))
        wanted = {getattr(obj, "pk", obj) for obj in value}
        if current != wanted:
            related.set(value)
            has_updated = True
    return instance, has_updated


def cache_invalidate_around_commit(invalidate: Callable[[], None]) -> None:
    """Run a cache invalidation now and, inside a transaction, once more after it commits.

    Now: code in the same transaction reads its own writes. After commit: a reader in another process may have
    refilled the cache from the rows as they were before the commit. Registered once per transaction for the same
    callable, so a write touching many rows does not queue many callbacks.
    """
    invalidate()
    connection = transaction.get_connection()
    if connection.in_atomic_block and not any(callback is invalidate for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(invalidate)
