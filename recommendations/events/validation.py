"""Event validation, hand-written rather than a DRF serializer per event because it runs on every ingested event.

API batches of 1,000 and importers streaming millions of rows pass through here: the whole batch is checked with
one query for item ids (one for SKUs, one for users), and errors are returned keyed by position.
"""
import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Item
from common.vocabulary import DEVICES, EVENT_TYPES, EventType

MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_CHARS = 2000
MAX_CLOCK_SKEW = dt.timedelta(days=1)
EARLIEST_TIMESTAMP = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
MAX_BIGINT = 2**63 - 1
VALUE_REQUIRED = {EventType.RATING: (0.0, 10.0), EventType.DWELL: (0.0, 86400.0)}


def _parse_timestamp(raw: Any, now: dt.datetime) -> tuple[dt.datetime | None, str | None]:
    if raw is None or raw == "":
        return now, None
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            return None, "Timestamp must be a finite number."
        try:
            value = dt.datetime.fromtimestamp(raw, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None, "Timestamp is out of range."
    elif isinstance(raw, str):
        try:
            value = parse_datetime(raw)
        except ValueError:
            value = None
        if value is None:
            return None, "Timestamp must be ISO 8601 (e.g. 2026-05-01T12:00:00Z) or Unix seconds."
    else:
        return None, "Timestamp must be ISO 8601 text or Unix seconds."
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)  # documented: naive timestamps are UTC
    if value < EARLIEST_TIMESTAMP:
        return None, "Timestamp is before 1990."
    if value > now + MAX_CLOCK_SKEW:
        return None, "Timestamp is more than a day in the future."
    # Stored in UTC: PostgreSQL refuses offsets beyond +-15:59 ("+23:00" parses in Python), and the offset is
    # not kept anyway. Within the checks above the conversion cannot leave datetime's years 1-9999.
    return value.astimezone(dt.UTC), None


def _validate_context(raw: Any) -> tuple[dict | None, str | None]:
    if raw is None:
        return {}, None
    if not isinstance(raw, dict):
        return None, "Context must be an object."
    if len(raw) > MAX_CONTEXT_KEYS or len(str(raw)) > MAX_CONTEXT_CHARS:
        return None, f"Context is too large (at most {MAX_CONTEXT_KEYS} keys, {MAX_CONTEXT_CHARS} characters)."
    device = raw.get("device")
    if device is not None and device not in DEVICES:
        return None, f"Unknown device {device!r}; expected one of {', '.join(sorted(DEVICES))}."
    local_hour = raw.get("local_hour")
    if local_hour is not None and (not isinstance(local_hour, int) or isinstance(local_hour, bool) or not 0 <= local_hour <= 23):
        return None, "local_hour must be an integer from 0 to 23."
    return raw, None


FieldCheck = tuple[dict[str, Any], dict[str, list[str]]]  # (clean values, errors by field) of one event


def _client_event_id_clean(raw: Mapping[str, Any]) -> FieldCheck:
    client_event_id = raw.get("client_event_id")
    if client_event_id is None or client_event_id == "":
        return {"client_event_id": uuid.uuid4().hex}, {}
    if not isinstance(client_event_id, str) or len(client_event_id) > 64:
        return {}, {"client_event_id": ["Must be text of at most 64 characters."]}
    return {"client_event_id": client_event_id}, {}


def _item_clean(raw: Mapping[str, Any]) -> FieldCheck:
    item, sku = raw.get("item"), raw.get("sku")
    if item is not None:
        # ASCII digits only ("²".isdigit() is true); an id beyond the table's range reads as an unknown item.
        if isinstance(item, bool) or not isinstance(item, int) and not (isinstance(item, str) and item.isascii() and item.isdigit()):
            return {}, {"item": ["Must be an item id (integer)."]}
        return {"item_id": int(item)}, {}
    if sku is not None:
        if not isinstance(sku, str) or not sku or len(sku) > 64:
            return {}, {"sku": ["Must be a non-empty SKU of at most 64 characters."]}
        return {"sku": sku}, {}
    return {}, {"item": ["This field is required (or give 'sku')."]}


def _event_type_clean(event_type: Any) -> FieldCheck:
    # A tuple, not a set: an unhashable value (a list or an object) is an unknown type, not a TypeError.
    if event_type not in EVENT_TYPES:
        return {}, {"event_type": [f"Unknown event type {event_type!r}; expected one of {', '.join(sorted(EVENT_TYPES))}."]}
    return {"event_type": event_type}, {}


def _value_clean(value: Any, *, event_type: Any) -> FieldCheck:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        return {}, {"value": ["Must be a finite number."]}
    if event_type in EVENT_TYPES and event_type in VALUE_REQUIRED:
        low, high = VALUE_REQUIRED[event_type]
        if value is None:
            return {}, {"value": [f"Required for {event_type} events."]}
        if not low <= value <= high:
            return {}, {"value": [f"Must be between {low:g} and {high:g} for {event_type} events."]}
    return {"value": None if value is None else float(value)}, {}


def _parsed(name: str, value: Any, error: str | None) -> FieldCheck:
    """A ``(value, error)`` parser result as a field check."""
    return ({}, {name: [error]}) if error else ({name: value}, {})


def _user_clean(raw: Mapping[str, Any]) -> FieldCheck:
    if "user" not in raw:
        return {}, {}
    user = raw["user"]
    if isinstance(user, bool) or not isinstance(user, int):
        return {}, {"user": ["Must be a user id (integer)."]}
    return {"user_id": user}, {}


def _validate_one(raw: Any, now: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """One event: its clean values (None when invalid) and its errors by field, in the order of the fields."""
    if not isinstance(raw, Mapping):
        return None, {"non_field_errors": ["Each event must be an object."]}
    event_type = raw.get("event_type", raw.get("type"))
    checks = (
        _client_event_id_clean(raw),
        _item_clean(raw),
        _event_type_clean(event_type),
        _value_clean(raw.get("value"), event_type=event_type),
        _parsed("timestamp", *_parse_timestamp(raw.get("timestamp"), now)),
        _parsed("context", *_validate_context(raw.get("context"))),
        _user_clean(raw),
    )
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for values, field_errors in checks:
        clean |= values
        errors |= field_errors
    return (None if errors else clean), errors


def _item_ids_existing(*, item_ids: set[int]) -> set[int]:
    """Which of these item ids exist. On PostgreSQL one ``= ANY(array)`` parameter instead of an IN list of up to
    1,000 bound parameters (measurably cheaper per API batch)."""
    item_ids = {item_id for item_id in item_ids if 0 < item_id <= MAX_BIGINT}
    if not item_ids:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table, pk = connection.ops.quote_name(Item._meta.db_table), connection.ops.quote_name(Item._meta.pk.column)
            cursor.execute(f"SELECT {pk} FROM {table} WHERE {pk} = ANY(%s)", [sorted(item_ids)])
            return {row[0] for row in cursor.fetchall()}
    return set(Item.objects.filter(pk__in=item_ids).values_list("pk", flat=True))


def event_batch_validate(
    *, events: Sequence[Any], allow_user_field: bool, allow_superuser_field: bool = True
) -> tuple[list[dict[str, Any]], dict[int, dict[str, list[str]]]]:
    """Check every event; resolve SKUs, item ids and user ids with one query each.

    Parameters
    ----------
    events : sequence of raw events (dicts from the client or an import file)
    allow_user_field : bool
        Whether an event may name its ``user`` (a sender allowed to record events for others).
    allow_superuser_field : bool
        Whether that user may be a superuser (only a superuser sender may write a superuser's history).

    Returns
    -------
    (list of clean events, dict mapping a bad event's position to its field errors)
    """
    now = timezone.now()
    cleaned: list[dict[str, Any] | None] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for position, raw in enumerate(events):
        clean, event_errors = _validate_one(raw, now)
        if clean is not None and "user_id" in clean and not allow_user_field:
            event_errors = {"user": ["Only staff with the permission to add events may send events on behalf of a user."]}
            clean = None
        cleaned.append(clean)
        if event_errors:
            errors[position] = event_errors

    item_ids = {c["item_id"] for c in cleaned if c and "item_id" in c}
    skus = {c["sku"] for c in cleaned if c and "sku" in c}
    known_ids = _item_ids_existing(item_ids=item_ids)
    sku_to_id = dict(Item.objects.filter(sku__in=skus).values_list("sku", "pk")) if skus else {}
    user_ids = {c["user_id"] for c in cleaned if c and "user_id" in c}
    # user id -> is a superuser (one query)
    known_users = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "is_superuser")) if user_ids else {}

    for position, clean in enumerate(cleaned):
        if clean is None:
            continue
        if "sku" in clean:
            item_id = sku_to_id.get(clean.pop("sku"))
            if item_id is None:
                errors[position] = {"sku": ["No item has this SKU."]}
                cleaned[position] = None
                continue
            clean["item_id"] = item_id
        elif clean["item_id"] not in known_ids:
            errors[position] = {"item": [f"Unknown item {clean['item_id']}."]}
            cleaned[position] = None
            continue
        if "user_id" in clean and clean["user_id"] not in known_users:
            errors[position] = {"user": [f"Unknown user {clean['user_id']}."]}
            cleaned[position] = None
        elif "user_id" in clean and known_users[clean["user_id"]] and not allow_superuser_field:
            errors[position] = {"user": ["Only a superuser may send events on behalf of a superuser."]}
            cleaned[position] = None
    return [c for c in cleaned if c is not None], errors
