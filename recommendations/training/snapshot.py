"""Stage 1 of a training run: the window's events -> numpy columns (a snapshot) -> an ``ml`` dataset.

PostgreSQL streams the events with ``COPY ... (FORMAT BINARY)`` parsed by numpy; any other database reads
``values_list().iterator()`` chunk by chunk. Memory is bounded by the arrays plus one chunk.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from itertools import islice

import numpy as np
from django.db import connection
from django.utils import timezone

from common.vocabulary import DEVICE_CODE, DEVICES, EVENT_CODE, EVENT_TYPES
from ml.dataset import EventColumns, EvidenceSemantics, Interactions
from recommendations.models import Event
from recommendations.tuning import evidence_semantics, recommender_settings_get

SNAPSHOT_CHUNK_ROWS = 100_000


class NothingToTrain(ValueError):
    """No events to learn from in the training window: refused before any version is recorded."""


def training_data_check(*, window_days: int, event_type_weights: dict[str, float]) -> None:
    """Refuse a training request that could only fail: no signed-in user's positive event in the window.

    One ``EXISTS`` query (the event time index), so a request on an empty database records no failed version.

    Parameters
    ----------
    window_days : int
        The training window, in days before now.
    event_type_weights : dict
        Event type -> weight; only types with a positive weight make interactions.

    Raises
    ------
    NothingToTrain
        With one line saying what is missing and how to get it.
    """
    start = timezone.now() - dt.timedelta(days=window_days)
    events = Event.objects.filter(user__isnull=False, timestamp__gte=start)
    if not events.exists():
        raise NothingToTrain(
            f"Nothing to train on: no events of signed-in users in the last {window_days} days "
            "(import events with manage.py import_events, or run manage.py seed_demo)."
        )
    positive = [name for name, weight in event_type_weights.items() if weight > 0]
    if not events.filter(event_type__in=positive).exists():
        raise NothingToTrain(
            f"Nothing to train on: no events of a type with a positive weight in the last {window_days} days "
            "(check the event-type weights in the recommender settings)."
        )


@dataclass(frozen=True)
class TrainingSnapshot:
    """The window's events (one row per event, no order) and the window ``start <= timestamp < end``.

    ``columns`` hold users.User / catalog.Item pks (int64), event types as codes into ``EVENT_TYPES``,
    values (float32, NaN none), devices as codes into ``DEVICES`` (-1 unknown) and local hours (-1 unknown).
    """

    columns: EventColumns
    start: dt.datetime
    end: dt.datetime

    def __len__(self) -> int:
        return len(self.columns)


def _pg_copy_sql() -> str:
    qn = connection.ops.quote_name
    fields = {name: qn(Event._meta.get_field(name).column)
              for name in ("user", "item", "event_type", "value", "timestamp", "context")}
    cases = " ".join(f"WHEN '{value}' THEN {code}" for value, code in EVENT_CODE.items())  # fixed literals
    devices = " ".join(f"WHEN '{value}' THEN {code}" for value, code in DEVICE_CODE.items())
    hour = f"{fields['context']}->'local_hour'"
    return (
        f"COPY (SELECT {fields['user']}::int8, {fields['item']}::int8, "
        f"(CASE {fields['event_type']} {cases} ELSE -1 END)::int2, "
        f"COALESCE({fields['value']}, 'NaN')::float8, {fields['timestamp']}, "
        f"(CASE {fields['context']}->>'device' {devices} ELSE -1 END)::int2, "
        f"(CASE WHEN jsonb_typeof({hour}) = 'number' AND ({hour})::numeric BETWEEN 0 AND 23 "
        f"THEN ({hour})::numeric ELSE -1 END)::int2 "
        f"FROM {qn(Event._meta.db_table)} "
        f"WHERE {fields['user']} IS NOT NULL AND {fields['timestamp']} >= %s AND {fields['timestamp']} < %s) "
        "TO STDOUT (FORMAT BINARY)"
    )


# One binary COPY row: field count, then (length, value) per column, big-endian; every column is non-null.
_PG_ROW = np.dtype([
    ("n", ">i2"), ("l0", ">i4"), ("user", ">i8"), ("l1", ">i4"), ("item", ">i8"), ("l2", ">i4"), ("etype", ">i2"),
    ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("ts", ">i8"), ("l5", ">i4"), ("device", ">i2"),
    ("l6", ">i4"), ("hour", ">i2"),
])
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_PG_EPOCH_OFFSET = 946_684_800.0  # 2000-01-01 in unix seconds: binary timestamptz counts microseconds from it


def _snapshot_chunk(*, user: np.ndarray, item: np.ndarray, etype: np.ndarray, value: np.ndarray, ts: np.ndarray,
                    device: np.ndarray, hour: np.ndarray) -> EventColumns:
    """One chunk's columns; events of a type outside the vocabulary (code -1) are left out."""
    known = etype >= 0
    return EventColumns(
        user_ids=user[known], item_ids=item[known], event_type_codes=etype[known], event_types=EVENT_TYPES,
        values=value[known], timestamps=ts[known], device_codes=device[known], devices=DEVICES, local_hours=hour[known],
    )  # fmt: skip


def _pg_parse_rows(buffer: bytes) -> EventColumns:
    rows = np.frombuffer(buffer, dtype=_PG_ROW)
    if len(rows) and (rows["n"] != 7).any():
        raise ValueError("unexpected COPY row layout")
    return _snapshot_chunk(
        user=rows["user"].astype(np.int64),
        item=rows["item"].astype(np.int64),
        etype=rows["etype"].astype(np.int16),
        value=rows["value"].astype(np.float32),
        ts=rows["ts"].astype(np.float64) / 1e6 + _PG_EPOCH_OFFSET,
        device=rows["device"].astype(np.int16),
        hour=rows["hour"].astype(np.int16),
    )


def _snapshot_postgresql(*, start: dt.datetime, end: dt.datetime, chunk_rows: int) -> list[EventColumns]:
    """Stream the events with COPY (FORMAT BINARY); parsed in blocks of ``chunk_rows`` rows."""
    block_bytes = chunk_rows * _PG_ROW.itemsize
    chunks: list[EventColumns] = []
    pending = bytearray()
    header_done = False
    connection.ensure_connection()
    with connection.cursor() as cursor, cursor.cursor.copy(_pg_copy_sql(), (start, end)) as copy:
        for block in copy:
            pending += block
            if not header_done:
                if len(pending) < 19:
                    continue
                if bytes(pending[:11]) != _PG_SIGNATURE:
                    raise ValueError("not a binary COPY stream")
                extension = int.from_bytes(pending[15:19], "big")
                if len(pending) < 19 + extension:
                    continue
                del pending[: 19 + extension]
                header_done = True
            if len(pending) >= block_bytes:
                n_rows = len(pending) // _PG_ROW.itemsize
                chunks.append(_pg_parse_rows(bytes(pending[: n_rows * _PG_ROW.itemsize])))
                del pending[: n_rows * _PG_ROW.itemsize]
    if pending[-2:] != b"\xff\xff":
        raise ValueError("binary COPY stream without its trailer")
    del pending[-2:]
    if len(pending) % _PG_ROW.itemsize:
        raise ValueError("truncated binary COPY stream")
    if pending:
        chunks.append(_pg_parse_rows(bytes(pending)))
    return chunks


def _snapshot_iterator(*, start: dt.datetime, end: dt.datetime, chunk_rows: int) -> list[EventColumns]:
    """Any database: ``values_list().iterator()`` (server-side cursor where there is one), chunk by chunk."""
    rows = (
        Event.objects.filter(user__isnull=False, timestamp__gte=start, timestamp__lt=end)
        .order_by()
        .values_list("user_id", "item_id", "event_type", "value", "timestamp", "context")
        .iterator(chunk_size=chunk_rows)
    )
    chunks = []
    while batch := list(islice(rows, chunk_rows)):
        n = len(batch)
        chunks.append(_snapshot_chunk(
            user=np.fromiter((row[0] for row in batch), np.int64, n),
            item=np.fromiter((row[1] for row in batch), np.int64, n),
            etype=np.fromiter((EVENT_CODE.get(row[2], -1) for row in batch), np.int16, n),
            value=np.fromiter((math.nan if row[3] is None else row[3] for row in batch), np.float32, n),
            ts=np.fromiter((row[4].timestamp() for row in batch), np.float64, n),
            device=np.fromiter((DEVICE_CODE.get((row[5] or {}).get("device"), -1) for row in batch), np.int16, n),
            hour=np.fromiter((_local_hour(row[5]) for row in batch), np.int16, n),
        ))
    return chunks


def _local_hour(context: dict | None) -> int:
    hour = (context or {}).get("local_hour")
    return hour if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23 else -1


def training_snapshot(*, start: dt.datetime, end: dt.datetime, chunk_rows: int = SNAPSHOT_CHUNK_ROWS) -> TrainingSnapshot:
    """Events with a user and ``start <= timestamp < end`` as numpy columns; memory is bounded by the columns
    themselves plus one chunk (no model instances, no per-event Python objects beyond one chunk)."""
    reader = _snapshot_postgresql if connection.vendor == "postgresql" else _snapshot_iterator
    chunks = reader(start=start, end=end, chunk_rows=chunk_rows)
    if not chunks:
        chunks = [_pg_parse_rows(b"")]  # no events: an empty chunk with the snapshot's dtypes, whatever the database
    return TrainingSnapshot(columns=EventColumns.concat(chunks), start=start, end=end)


def training_dataset_build(
    *, snapshot: TrainingSnapshot, event_type_weights: dict[str, float], semantics: EvidenceSemantics | None = None
) -> Interactions:
    """Interactions (user x item, with device and hour context) from a snapshot.

    Each event weighs its signed evidence under ``semantics`` (the live settings' rating scale and dwell bounds,
    :func:`recommendations.tuning.evidence_semantics`, read when None) times its event-type weight, and a
    pair's re-ratings are combined before aggregation -- the same reading serving applies to a live history.
    """
    return snapshot.columns.to_interactions(
        event_type_weights={str(key): float(value) for key, value in event_type_weights.items()},
        semantics=semantics or evidence_semantics(settings=recommender_settings_get()),
    )
