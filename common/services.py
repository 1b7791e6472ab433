"""Helpers shared by every app's services."""
from typing import Any, TypeVar

from django.db import models

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
