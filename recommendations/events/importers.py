"""Streaming event importer (generic CSV and MovieLens ``u.data``) on top of ``event_ingest_rows``.

Readers yield ``(line number, row)`` lazily; ``event_import_rows`` maps external user ids to ``User`` rows by
username one chunk at a time (creating them in bulk when asked), then hands the events to
``recommendations.events.ingest.event_ingest_rows``, which validates, drops already-stored client ids and
writes each chunk. Nothing holds more than a chunk of rows, so a 10-million-line file imports in bounded memory.
Re-importing a file creates no duplicates: rows without a ``client_event_id`` get one derived from their content.
"""
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import reset_queries, transaction

from common.importing import (
    ImportFileError,
    ImportSummary,
    RejectedRow,
    RowErrors,
    csv_dict_rows,
    text_lines_utf8_or_latin1,
)
from common.vocabulary import EventType
from recommendations.events.ingest import event_ingest_rows
from users.models import Preferences

EVENT_REQUIRED_COLUMNS = ("event_type", "timestamp")
EVENT_ALTERNATIVE_COLUMNS = (("user", "session_key"), ("item_sku", "sku", "item"))
EVENT_OPTIONAL_COLUMNS = ("value", "client_event_id", "device", "local_hour")
USERNAME_MAX_LENGTH = 150
SESSION_KEY_MAX_LENGTH = 64
CLIENT_EVENT_ID_MAX_LENGTH = 64
USER_CACHE_LIMIT = 200_000  # usernames -> ids remembered between chunks; cleared when it grows past this
_username_validator = UnicodeUsernameValidator()


def _number(raw: str) -> int | float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def _derived_client_id(*parts: Any) -> str:
    digest = hashlib.sha1("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f"imp-{digest[:40]}"


def _event_row_from_csv(raw: dict[str, str] | RejectedRow, *, user_prefix: str) -> tuple[dict[str, Any] | None, RowErrors]:
    """One CSV row -> an event dict for ``event_ingest_rows`` (user still as ``external_user``)."""
    if isinstance(raw, RejectedRow):
        return None, raw.errors
    errors: RowErrors = {}
    cell = {name: (value or "").strip() for name, value in raw.items()}
    event: dict[str, Any] = {"event_type": cell.get("event_type", "")}

    user, session_key = cell.get("user", ""), cell.get("session_key", "")
    if not user and not session_key:
        errors["user"] = ["Each row needs a user or a session_key."]
    event["external_user"] = f"{user_prefix}{user}" if user else ""
    if len(session_key) > SESSION_KEY_MAX_LENGTH:  # never cut: two long keys would become one session
        errors["session_key"] = [f"At most {SESSION_KEY_MAX_LENGTH} characters, got {len(session_key)}."]
    event["session_key"] = session_key

    if cell.get("item_sku") or cell.get("sku"):
        event["sku"] = cell.get("item_sku") or cell.get("sku")
    elif cell.get("item"):
        event["item"] = cell["item"]  # a Vitrine item id; the ingest service checks it
    else:
        errors["item"] = ["This field is required (item_sku, sku or item)."]

    timestamp = cell.get("timestamp", "")
    if not timestamp:
        errors["timestamp"] = ["This field is required (ISO 8601 or Unix seconds)."]
    else:
        number = _number(timestamp)
        event["timestamp"] = number if number is not None else timestamp

    if cell.get("value"):
        value = _number(cell["value"])
        if value is None:
            errors["value"] = [f"Must be a number, got {cell['value']!r}."]
        event["value"] = value

    context: dict[str, Any] = {}
    if cell.get("device"):
        context["device"] = cell["device"].lower()
    if cell.get("local_hour"):
        hour = _number(cell["local_hour"])
        if not isinstance(hour, int):
            errors["local_hour"] = ["Must be an integer from 0 to 23."]
        context["local_hour"] = hour
    event["context"] = context

    event["client_event_id"] = cell.get("client_event_id") or _derived_client_id(
        event["external_user"], session_key, event.get("sku", event.get("item")), event["event_type"], timestamp, cell.get("value", "")
    )
    return (None if errors else event), errors


def event_rows_from_csv(*, path: Path, user_prefix: str = "", warnings: list[str] | None = None) -> Iterator[tuple[int, Any]]:
    """``(line number, event dict or RejectedRow)`` from an events CSV (columns in docs/importing.md)."""
    rows = csv_dict_rows(
        path=path, required=EVENT_REQUIRED_COLUMNS, optional=EVENT_OPTIONAL_COLUMNS,
        alternatives=EVENT_ALTERNATIVE_COLUMNS, warnings=warnings,
    )
    for line_number, raw in rows:
        event, errors = _event_row_from_csv(raw, user_prefix=user_prefix)
        yield line_number, (event if event is not None else RejectedRow(errors))


def event_rows_from_movielens(*, path: Path, user_prefix: str = "ml-", rating_event: str = EventType.RATING) -> Iterator[tuple[int, Any]]:
    """MovieLens 100K ``u.data`` (``user<TAB>item<TAB>rating<TAB>unix seconds``) as rating events.

    Item SKU ``ml-<item>`` (as written by ``import_catalog --format movielens``), user ``<prefix><user>``,
    client id ``ml-<user>-<item>-<ts>`` so a second import of the same file stores nothing new.
    """
    for line_number, line in text_lines_utf8_or_latin1(path=path):
        fields = line.split()
        if line_number == 1 and fields and len(fields) != 4:
            raise ImportFileError(
                f"{path} does not look like a MovieLens u.data file: expected 4 tab-separated fields "
                f"(user item rating timestamp) on line 1, got {len(fields)}."
            )
        if not fields:
            continue
        if len(fields) != 4 or not fields[3].isdigit():
            yield line_number, RejectedRow({"non_field_errors": ["Expected 4 fields: user id, item id, rating, Unix timestamp."]})
            continue
        user, item, rating, timestamp = fields  # ids as written: "007" stays "007"
        value = _number(rating)
        if value is None:
            yield line_number, RejectedRow({"value": [f"Rating must be a number, got {rating!r}."]})
            continue
        client_event_id = f"ml-{user}-{item}-{timestamp}"
        yield line_number, {
            "external_user": f"{user_prefix}{user}",
            "session_key": "",
            "sku": f"ml-{item}",
            "event_type": rating_event,
            "value": value,
            "timestamp": int(timestamp),
            "context": {},
            "client_event_id": (client_event_id if len(client_event_id) <= CLIENT_EVENT_ID_MAX_LENGTH
                                else _derived_client_id(user, item, timestamp)),  # never cut: cut ids could collide
        }


class _UserMapper:
    """Maps external user names to user ids, a chunk at a time (one query per chunk, bulk creation if asked)."""

    def __init__(self, *, create_users: bool) -> None:
        self.create_users = create_users
        self.created = 0
        self._ids: dict[str, int] = {}

    def resolve(self, names: set[str]) -> dict[str, int]:
        wanted = [name for name in names if name not in self._ids]
        if wanted:
            if len(self._ids) + len(wanted) > USER_CACHE_LIMIT:
                self._ids.clear()
            user_model = get_user_model()
            self._ids.update(user_model.objects.filter(username__in=wanted).values_list("username", "pk"))
            missing = [name for name in wanted if name not in self._ids]
            if missing and self.create_users:
                unusable = make_password(None)  # imported users cannot log in until they set a password
                with transaction.atomic():
                    user_model.objects.bulk_create(
                        [user_model(username=name, password=unusable) for name in missing], batch_size=1000, ignore_conflicts=True
                    )
                    created = dict(user_model.objects.filter(username__in=missing).values_list("username", "pk"))
                    Preferences.objects.bulk_create(
                        [Preferences(user_id=pk) for pk in created.values()], batch_size=1000, ignore_conflicts=True
                    )
                self.created += len(created)
                self._ids.update(created)
        return {name: self._ids[name] for name in names if name in self._ids}


def _username_error(name: str) -> str | None:
    if len(name) > USERNAME_MAX_LENGTH:
        return f"User name is longer than {USERNAME_MAX_LENGTH} characters."
    try:
        _username_validator(name)
    except ValidationError:
        return f"User {name!r} is not a valid user name (letters, digits and @.+-_ only)."
    return None


def _events_with_users(
    *, rows: Iterable[tuple[int, Any]], mapper: _UserMapper, summary: ImportSummary, chunk_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Replace ``external_user`` by a ``user`` id; rows that fail here are counted as rejected in ``summary``."""
    chunk: list[tuple[int, Any]] = []

    def flush() -> Iterator[tuple[int, dict[str, Any]]]:
        errors: dict[int, RowErrors] = {}
        names: set[str] = set()
        for line_number, row in chunk:
            if isinstance(row, RejectedRow):
                errors[line_number] = row.errors
                continue
            name = row["external_user"]
            if name:
                problem = _username_error(name)
                if problem:
                    errors[line_number] = {"user": [problem]}
                else:
                    names.add(name)
        ids = mapper.resolve(names) if names else {}
        for line_number, row in chunk:
            if line_number in errors:
                continue
            event = dict(row)
            name = event.pop("external_user")
            if name:
                if name not in ids:
                    errors[line_number] = {"user": [f"Unknown user {name!r} (pass --create-users to create it)."]}
                    continue
                event["user"] = ids[name]
                event.pop("session_key", None)
            yield line_number, event
        summary.add_errors(errors)

    for line_number, row in rows:
        summary.rows += 1
        chunk.append((line_number, row))
        if len(chunk) >= chunk_size:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def event_import_rows(
    *, rows: Iterable[tuple[int, Any]], create_users: bool = False, chunk_size: int = 5000, summary: ImportSummary | None = None,
) -> Iterator[ImportSummary]:
    """Import event rows lazily; yields the running summary after each written chunk (the last one is final).

    ``rows`` are ``(line number, event dict)`` where the dict holds ``external_user`` (a username, or "" for an
    anonymous ``session_key``) instead of a user id, or ``(line number, RejectedRow)`` for rows a reader rejected.
    """
    summary = summary or ImportSummary()
    mapper = _UserMapper(create_users=create_users)
    events = _events_with_users(rows=rows, mapper=mapper, summary=summary, chunk_size=chunk_size)
    for result, errors in event_ingest_rows(rows=events, chunk_size=chunk_size):
        reset_queries()  # with DEBUG on, Django would keep every multi-megabyte INSERT in memory
        summary.created += result.accepted
        summary.duplicates += result.duplicates
        summary.add_errors(errors)
        summary.users_created = mapper.created
        yield summary
    summary.users_created = mapper.created
    yield summary


def event_import_file(
    *, path: Path, file_format: str, user_prefix: str | None = None, create_users: bool = False,
    rating_event: str = EventType.RATING, chunk_size: int = 5000, max_errors: int = 20, summary: ImportSummary | None = None,
) -> Iterator[ImportSummary]:
    """Import an events file (``csv`` or ``movielens`` ``u.data``); yields progress, the last summary is final.

    ``user_prefix`` is put before every external user id (default ``ml-`` for MovieLens, nothing for CSV).
    Counts go into ``summary`` (a new one when None); its ``exit_code`` says whether every row, some rows or no
    row was written.

    Raises
    ------
    ImportFileError
        Here, before writing anything, for a missing file, an unknown format or a bad header; while iterating,
        when the file stops being readable part-way (the chunks before are kept and counted in ``summary``).
    """
    if rating_event not in EventType.values:
        raise ImportFileError(f"Unknown event type {rating_event!r} for ratings; expected one of {', '.join(EventType.values)}.")
    summary = summary or ImportSummary(max_errors=max_errors)
    if file_format == "csv":
        rows = event_rows_from_csv(path=path, user_prefix=user_prefix or "", warnings=summary.warnings)
    elif file_format == "movielens":
        rows = event_rows_from_movielens(path=path, user_prefix="ml-" if user_prefix is None else user_prefix, rating_event=rating_event)
    else:
        raise ImportFileError(f"Unknown format {file_format!r}; expected csv or movielens.")
    rows = iter(rows)
    first = next(rows, None)  # opens the file and checks the header now, before anything is written
    if first is not None:
        rows = _prepend(first, rows)
    return event_import_rows(rows=rows, create_users=create_users, chunk_size=chunk_size, summary=summary)


def _prepend(first: tuple[int, Any], rest: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    yield first
    yield from rest
