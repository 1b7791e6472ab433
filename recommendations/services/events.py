"""Event ingestion: validate a batch as a whole, then write it in one transaction (all or nothing).

Validation is hand-written rather than a DRF serializer per event because it runs on every ingested
event (API batches of 1,000 and importers streaming millions of rows): it checks the whole batch with one
query for item ids and one for already-stored client ids, and returns errors keyed by position.
"""
import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Item
from recommendations.models import Event, EventType

EVENT_TYPES = frozenset(EventType.values)
MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_CHARS = 2000
MAX_CLOCK_SKEW = dt.timedelta(days=1)
EARLIEST_TIMESTAMP = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
DEVICES = frozenset({"desktop", "mobile", "tablet", "tv", "other"})
VALUE_REQUIRED = {EventType.RATING: (0.0, 10.0), EventType.DWELL: (0.0, 86400.0)}


class EventBatchError(Exception):
    """The batch was refused; ``errors`` maps the position of each bad event to its field errors."""

    def __init__(self, errors: dict[int, dict[str, list[str]]], *, message: str = "Invalid events.") -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    # Per input position: "accepted" or "duplicate" (a duplicate was already stored or repeats an earlier
    # event of the same batch).
    statuses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Actor:
    """Who did it: a user id, or an anonymous session key."""

    user_id: int | None = None
    session_key: str = ""


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
    return value, None


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


def _validate_one(raw: Any, now: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        return None, {"non_field_errors": ["Each event must be an object."]}
    clean: dict[str, Any] = {}

    client_event_id = raw.get("client_event_id")
    if client_event_id is None or client_event_id == "":
        clean["client_event_id"] = uuid.uuid4().hex
    elif not isinstance(client_event_id, str) or len(client_event_id) > 64:
        errors["client_event_id"] = ["Must be text of at most 64 characters."]
    else:
        clean["client_event_id"] = client_event_id

    item, sku = raw.get("item"), raw.get("sku")
    if item is not None:
        if isinstance(item, bool) or not isinstance(item, int) and not (isinstance(item, str) and item.isdigit()):
            errors["item"] = ["Must be an item id (integer)."]
        else:
            clean["item_id"] = int(item)
    elif sku is not None:
        if not isinstance(sku, str) or not sku or len(sku) > 64:
            errors["sku"] = ["Must be a non-empty SKU of at most 64 characters."]
        else:
            clean["sku"] = sku
    else:
        errors["item"] = ["This field is required (or give 'sku')."]

    event_type = raw.get("event_type", raw.get("type"))
    if event_type not in EVENT_TYPES:
        errors["event_type"] = [f"Unknown event type {event_type!r}; expected one of {', '.join(sorted(EVENT_TYPES))}."]
    else:
        clean["event_type"] = event_type

    value = raw.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        errors["value"] = ["Must be a finite number."]
    elif event_type in VALUE_REQUIRED:
        low, high = VALUE_REQUIRED[event_type]
        if value is None:
            errors["value"] = [f"Required for {event_type} events."]
        elif not low <= value <= high:
            errors["value"] = [f"Must be between {low:g} and {high:g} for {event_type} events."]
    if "value" not in errors:
        clean["value"] = None if value is None else float(value)

    timestamp, error = _parse_timestamp(raw.get("timestamp"), now)
    if error:
        errors["timestamp"] = [error]
    else:
        clean["timestamp"] = timestamp

    context, error = _validate_context(raw.get("context"))
    if error:
        errors["context"] = [error]
    else:
        clean["context"] = context

    if "user" in raw:
        user = raw["user"]
        if isinstance(user, bool) or not isinstance(user, int):
            errors["user"] = ["Must be a user id (integer)."]
        else:
            clean["user_id"] = user
    return (None if errors else clean), errors


def event_batch_validate(*, events: Sequence[Any], allow_user_field: bool) -> tuple[list[dict[str, Any]], dict[int, dict[str, list[str]]]]:
    """Check every event; resolve SKUs and item ids with one query each. Returns (clean events, errors by position)."""
    now = timezone.now()
    cleaned: list[dict[str, Any] | None] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for position, raw in enumerate(events):
        clean, event_errors = _validate_one(raw, now)
        if clean is not None and "user_id" in clean and not allow_user_field:
            event_errors = {"user": ["Only staff clients may send events on behalf of another user."]}
            clean = None
        cleaned.append(clean)
        if event_errors:
            errors[position] = event_errors

    item_ids = {c["item_id"] for c in cleaned if c and "item_id" in c}
    skus = {c["sku"] for c in cleaned if c and "sku" in c}
    known_ids = set(Item.objects.filter(pk__in=item_ids).values_list("pk", flat=True)) if item_ids else set()
    sku_to_id = dict(Item.objects.filter(sku__in=skus).values_list("sku", "pk")) if skus else {}
    user_ids = {c["user_id"] for c in cleaned if c and "user_id" in c}
    if user_ids:
        from django.contrib.auth import get_user_model

        known_users = set(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", flat=True))
    else:
        known_users = set()

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
    return [c for c in cleaned if c is not None], errors


def event_ingest(*, actor: Actor, events: Sequence[Any], allow_user_field: bool = False, max_batch: int | None = None) -> IngestResult:
    """Store a batch of events for ``actor``: all valid -> all written in one transaction; any invalid -> none.

    Idempotent by ``client_event_id``: events already stored (or repeated within the batch) are counted as
    duplicates and not written again.
    """
    max_batch = settings.EVENTS_MAX_BATCH if max_batch is None else max_batch
    if len(events) == 0:
        raise EventBatchError({}, message="The batch is empty.")
    if len(events) > max_batch:
        raise EventBatchError({}, message=f"A batch holds at most {max_batch} events; got {len(events)}.")
    if actor.user_id is None and not actor.session_key:
        raise EventBatchError({}, message="Events need a user or an anonymous session.")
    cleaned, errors = event_batch_validate(events=events, allow_user_field=allow_user_field)
    if errors:
        raise EventBatchError(errors)
    for clean in cleaned:
        clean.setdefault("user_id", actor.user_id)
        clean["session_key"] = "" if clean["user_id"] is not None else actor.session_key
    return _event_write(cleaned=cleaned)


def _event_write(*, cleaned: list[dict[str, Any]]) -> IngestResult:
    """Write validated events (each with ``user_id`` and ``session_key`` set), skipping stored client ids."""
    result = IngestResult()
    client_ids = [c["client_event_id"] for c in cleaned]
    with transaction.atomic():
        stored = set(Event.objects.filter(client_event_id__in=client_ids).values_list("client_event_id", flat=True))
        seen_in_batch: set[str] = set()
        to_create: list[Event] = []
        for clean in cleaned:
            client_id = clean["client_event_id"]
            if client_id in stored or client_id in seen_in_batch:
                result.statuses.append("duplicate")
                result.duplicates += 1
                continue
            seen_in_batch.add(client_id)
            to_create.append(
                Event(
                    client_event_id=client_id,
                    user_id=clean["user_id"],
                    session_key=clean["session_key"],
                    item_id=clean["item_id"],
                    event_type=clean["event_type"],
                    value=clean["value"],
                    context=clean["context"],
                    timestamp=clean["timestamp"],
                )
            )
            result.statuses.append("accepted")
        # ignore_conflicts: a concurrent request that stored the same client id first wins; ours is a duplicate.
        Event.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
        result.accepted = len(to_create)
    return result


def event_ingest_rows(*, rows: Iterable[tuple[int, dict[str, Any]]], chunk_size: int = 5000) -> Iterable[tuple[IngestResult, dict[int, dict[str, list[str]]]]]:
    """Importer path: stream (line number, event) pairs; keep good rows, report bad ones by line number.

    Each event must carry its own ``user`` id or ``session_key``. Yields one (result, errors) per chunk so the
    caller can report progress; memory stays bounded by ``chunk_size``.
    """
    chunk: list[tuple[int, dict[str, Any]]] = []
    for line_number, raw in rows:
        chunk.append((line_number, raw))
        if len(chunk) >= chunk_size:
            yield _ingest_chunk(chunk)
            chunk = []
    if chunk:
        yield _ingest_chunk(chunk)


def _ingest_chunk(chunk: list[tuple[int, dict[str, Any]]]) -> tuple[IngestResult, dict[int, dict[str, list[str]]]]:
    events = [raw for _, raw in chunk]
    cleaned, errors = event_batch_validate(events=events, allow_user_field=True)
    line_errors = {chunk[position][0]: error for position, error in errors.items()}
    good_positions = [position for position in range(len(chunk)) if position not in errors]
    writable: list[dict[str, Any]] = []
    for position, clean in zip(good_positions, cleaned, strict=True):
        session_key = str(chunk[position][1].get("session_key") or "")[:64]
        clean.setdefault("user_id", None)
        if clean["user_id"] is None and not session_key:
            line_errors[chunk[position][0]] = {"user": ["Each row needs a user id or a session key."]}
            continue
        clean["session_key"] = "" if clean["user_id"] is not None else session_key
        writable.append(clean)
    return _event_write(cleaned=writable), line_errors
