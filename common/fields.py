"""Serializer fields for lists and maps in API input: a cap read from settings, checked before any item is.

A list's length is its cost: DRF validates every item first (and ``PrimaryKeyRelatedField(many=True)`` runs one
query per id), so a 300 kB body of 100,000 ids held a server thread for 25 s. These fields refuse a list or map
over its cap (``API_MAX_LIST_ITEMS`` unless the field names its own setting) before looking at its items, and
``IdListField`` checks every id with one query however long the list.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.parsing import ascii_int

DEFAULT_CAP_SETTING = "API_MAX_LIST_ITEMS"


def _cap_check(data: Any, *, cap_setting: str, what: str) -> None:
    cap = getattr(settings, cap_setting)
    if isinstance(data, (list, tuple, dict)) and len(data) > cap:
        raise serializers.ValidationError(
            f"At most {cap} {what} ({cap_setting}); got {len(data)}.", code="max_length"
        )


class CappedListField(serializers.ListField):
    """``ListField`` whose length is checked against ``settings.<cap_setting>`` before its items are."""

    def __init__(self, *, cap_setting: str = DEFAULT_CAP_SETTING, **kwargs: Any) -> None:
        self.cap_setting = cap_setting
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list:
        _cap_check(data, cap_setting=self.cap_setting, what="items")
        return super().to_internal_value(data)


class CappedDictField(serializers.DictField):
    """``DictField`` whose key count is checked against ``settings.<cap_setting>`` before its values are."""

    def __init__(self, *, cap_setting: str = DEFAULT_CAP_SETTING, **kwargs: Any) -> None:
        self.cap_setting = cap_setting
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict:
        _cap_check(data, cap_setting=self.cap_setting, what="keys")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.INT64)
class IdField(serializers.Field):
    """A row id: a JSON integer or ASCII decimal text, 1 to int64 max ("²" and "١" are not ids)."""

    default_error_messages = {"invalid": "Must be an id (a positive whole number); got {value!r}."}

    def to_internal_value(self, data: Any) -> int:
        value = ascii_int(data, low=1)
        if value is None:
            self.fail("invalid", value=str(data)[:40])
        return value

    def to_representation(self, value: int) -> int:
        return int(value)


class IdListField(CappedListField):
    """Ids of existing rows of ``queryset``, deduplicated in order; all checked with one query.

    Replaces ``PrimaryKeyRelatedField(many=True)`` (one query per id). Validates to a ``list[int]``, which a
    many-to-many ``set()`` takes as is.

    Raises
    ------
    rest_framework.exceptions.ValidationError
        Over the cap (code ``max_length``), a malformed id (``invalid``) or ids with no row (``does_not_exist``,
        the first ten named).
    """

    def __init__(self, *, queryset: QuerySet, **kwargs: Any) -> None:
        self.queryset = queryset
        super().__init__(child=IdField(), **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        if not ids:
            return ids
        known = set(self.queryset.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in known]
        if missing:
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise serializers.ValidationError(f"Unknown ids: {missing[:10]}{more}.", code="does_not_exist")
        return ids
