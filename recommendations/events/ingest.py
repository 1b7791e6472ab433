"""Event ingestion: validate a batch as a whole (``validation``), then write it in one transaction (all or nothing).

Idempotency is per actor: a client id is unique among one user's (or one anonymous session's) events. On
PostgreSQL the write is one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per kind of actor in the batch (see
``_event_insert_postgresql``). New events are announced with the ``events_recorded`` signal.
"""
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.exceptions import ValidationFailed
from common.vocabulary import DEVICES, EVENT_TYPES
from recommendations.events.actors import Actor
from recommendations.events.signals import events_recorded
from recommendations.events.validation import event_batch_validate
from recommendations.models import Event

__all__ = [  # DEVICES and EVENT_TYPES stay importable from here until imports move to common.vocabulary
    "DEVICES", "EVENT_TYPES", "Actor", "EventBatchError", "IngestResult", "event_batch_validate", "event_ingest",
    "event_ingest_rows",
]


class EventBatchError(ValidationFailed):
    """400: the batch was refused (nothing is written); ``errors`` maps the position of each bad event (as a
    string, ``"3"``) to its field errors."""

    default_message = "Invalid events."


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    # Per input position: "accepted" or "duplicate" (a duplicate was already stored or repeats an earlier
    # event of the same batch).
    statuses: list[str] = field(default_factory=list)


def event_ingest(
    *, actor: Actor, events: Sequence[Any], allow_user_field: bool = False, allow_superuser_field: bool = False,
    max_batch: int | None = None,
) -> IngestResult:
    """Store a batch of events for ``actor``: all valid -> all written in one transaction; any invalid -> none.

    Idempotent by ``client_event_id`` per actor: the event's actor's events already stored with that id (or
    repeated within the batch) are counted as duplicates and not written again; other actors' ids do not count.
    ``allow_user_field``: events may name another ``user`` (:func:`events_on_behalf_allowed`);
    ``allow_superuser_field``: that user may be a superuser (a superuser sender only).

    Raises
    ------
    EventBatchError
        Any event is invalid, or names a user the sender may not write for (nothing is written).
    """
    max_batch = settings.EVENTS_MAX_BATCH if max_batch is None else max_batch
    if len(events) == 0:
        raise EventBatchError("The batch is empty.")
    if len(events) > max_batch:
        raise EventBatchError(f"A batch holds at most {max_batch} events; got {len(events)}.")
    if actor.user_id is None and not actor.session_key:
        raise EventBatchError("Events need a user or an anonymous session.")
    cleaned, errors = event_batch_validate(
        events=events, allow_user_field=allow_user_field, allow_superuser_field=allow_superuser_field
    )
    if errors:
        raise EventBatchError(errors=errors)
    for clean in cleaned:
        clean.setdefault("user_id", actor.user_id)
        clean["session_key"] = "" if clean["user_id"] is not None else actor.session_key
    result = _event_write(cleaned=cleaned)
    if result.accepted:
        _events_recorded_send(cleaned=cleaned)
    return result


def _events_recorded_send(*, cleaned: list[dict[str, Any]]) -> None:
    """Tell listeners whose events were stored (serving rebuilds their recommendations: real time)."""
    events_recorded.send(
        sender=Event,
        user_ids=frozenset(c["user_id"] for c in cleaned if c["user_id"] is not None),
        session_keys=frozenset(c["session_key"] for c in cleaned if c["user_id"] is None),
    )


# (user id, session key, client id): the identity of an event for idempotency. Ids are unique per actor: a user's
# events carry session key "", an anonymous session's events user id None (``Event.Meta.constraints``).
EventKey = tuple[int | None, str, str]


def _event_key(clean: dict[str, Any]) -> EventKey:
    return (clean["user_id"], clean["session_key"], clean["client_event_id"])


def _event_write(*, cleaned: list[dict[str, Any]]) -> IngestResult:
    """Write validated events (each with ``user_id`` and ``session_key`` set), skipping the actor's stored ids.

    A client id the same actor already stored, stored concurrently, or repeated earlier in the batch makes the
    event a duplicate (first writer wins). Another actor's ids never count: the same id from two actors is two
    events, and the answer says nothing about other actors' ids.
    """
    result = IngestResult()
    first_in_batch: dict[EventKey, dict[str, Any]] = {}
    for clean in cleaned:
        first_in_batch.setdefault(_event_key(clean), clean)
    fresh = list(first_in_batch.values())
    if not fresh:
        return result
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _event_insert_postgresql(events=fresh)
        else:
            inserted = _event_insert_generic(events=fresh)
    for clean in cleaned:
        key = _event_key(clean)
        if key in inserted and first_in_batch[key] is clean:
            result.statuses.append("accepted")
            result.accepted += 1
        else:
            result.statuses.append("duplicate")
            result.duplicates += 1
    return result


def _stored_keys(*, events: list[dict[str, Any]]) -> set[EventKey]:
    """The keys of ``events`` already stored: one query for users' events, one for sessions' (each matches its
    partial unique index, whose leading column is the client id)."""
    stored: set[EventKey] = set()
    for by_user, actor_field in ((True, "user_id"), (False, "session_key")):
        group = [clean for clean in events if (clean["user_id"] is not None) is by_user]
        if not group:
            continue
        rows = Event.objects.filter(
            user__isnull=not by_user,
            client_event_id__in={clean["client_event_id"] for clean in group},
            **{f"{actor_field}__in": {clean[actor_field] for clean in group}},
        ).values_list(actor_field, "client_event_id")
        stored.update(((actor, "", client_id) if by_user else (None, actor, client_id)) for actor, client_id in rows)
    return stored


def _event_insert_generic(*, events: list[dict[str, Any]]) -> set[EventKey]:
    """Any database: skip the actors' stored client ids, bulk-insert the rest. Returns the keys written."""
    stored = _stored_keys(events=events)
    to_create = [
        Event(
            client_event_id=clean["client_event_id"],
            user_id=clean["user_id"],
            session_key=clean["session_key"],
            item_id=clean["item_id"],
            event_type=clean["event_type"],
            value=clean["value"],
            context=clean["context"],
            timestamp=clean["timestamp"],
        )
        for clean in events
        if _event_key(clean) not in stored
    ]
    # ignore_conflicts: a concurrent request that stored the same actor's client id first wins.
    Event.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
    return {(event.user_id, event.session_key, event.client_event_id) for event in to_create}


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"Cannot serialise {type(value).__name__}")


def _event_insert_postgresql(*, events: list[dict[str, Any]]) -> set[EventKey]:
    """PostgreSQL hot path: INSERT ... ON CONFLICT DO NOTHING RETURNING from a single JSON parameter.

    Building 1,000 model instances and binding 9,000 parameters (Django's bulk_create) costs several times what
    PostgreSQL spends storing the rows; serialising the batch once with ``json.dumps`` (C) and letting
    ``json_populate_recordset`` turn it into table rows is close to COPY. RETURNING says which rows were new, so
    no query for already-stored client ids is needed. Columns come from the model, with their Python defaults.
    One statement per kind of actor in the batch (an API batch has one): each names its partial unique index
    (columns and predicate, ``Event.Meta.constraints``) as the conflict target.
    """
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    fields = [field for field in Event._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    known = {"client_event_id", "user_id", "session_key", "item_id", "event_type", "value", "context", "timestamp"}
    extra = {field.attname: field.get_default() for field in fields if field.attname not in known}
    if "created_at" in extra:
        extra["created_at"] = now.isoformat()  # serialised once, not once per row
    columns = ", ".join(quote(field.column) for field in fields)
    client_id, user_id, session_key = quote("client_event_id"), quote("user_id"), quote("session_key")
    targets = {
        True: f"({client_id}, {user_id}) WHERE {user_id} IS NOT NULL",  # event_user_client_id_uniq
        False: f"({client_id}, {session_key}) WHERE {user_id} IS NULL",  # event_session_client_id_uniq
    }
    inserted: set[EventKey] = set()
    for by_user, target in targets.items():
        rows = [
            {
                "client_event_id": clean["client_event_id"],
                "user_id": clean["user_id"],
                "session_key": clean["session_key"],
                "item_id": clean["item_id"],
                "event_type": clean["event_type"],
                "value": clean["value"],
                "context": clean["context"],
                "timestamp": clean["timestamp"].isoformat(),
                **extra,
            }
            for clean in events
            if (clean["user_id"] is not None) is by_user
        ]
        if not rows:
            continue
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json) "
            f"ON CONFLICT {target} DO NOTHING RETURNING {user_id}, {session_key}, {client_id}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [json.dumps(rows, default=_json_default, separators=(",", ":"))])
            inserted.update((row[0], row[1], row[2]) for row in cursor.fetchall())
    return inserted


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
    result = _event_write(cleaned=writable)
    if result.accepted:
        _events_recorded_send(cleaned=writable)
    return result, line_errors
