"""Impressions: every served item is logged (one multi-row INSERT per response) for attributing later clicks.

This runs on every feed request, so it is written as one plain ``INSERT ... VALUES (...), (...)`` rather than
``bulk_create`` (no model instances), and on PostgreSQL its transaction commits asynchronously
(``synchronous_commit = off`` for this transaction only): the request does not wait for the WAL flush. A crash
can lose the last fraction of a second of impressions, never business data, and never corrupts anything.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from recommendations.models import Impression
from recommendations.services.events import Actor

logger = logging.getLogger(__name__)

COLUMNS = ("request_id", "user_id", "session_key", "item_id", "position", "source", "score", "reason", "surface",
           "model_version_id", "settings_version", "context", "created_at")


@dataclass(frozen=True)
class ImpressionRow:
    item_id: int
    position: int
    source: str
    score: float
    reason: str
    context: dict = field(default_factory=dict)


def impressions_log(
    *,
    request_id: str,
    actor: Actor,
    rows: list[ImpressionRow],
    surface: str,
    model_version_id: int | None,
    settings_version: int,
) -> int:
    """Write the impressions of one response; a database error is logged, never raised (the page is served)."""
    if not rows:
        return 0
    now = timezone.now()
    session_key = "" if actor.user_id is not None else actor.session_key
    if connection.vendor == "postgresql":
        sql, params = _postgresql_insert(rows=rows, shared=[request_id, actor.user_id, session_key, surface, model_version_id,
                                                            settings_version, now.isoformat()])
    else:
        sql, params = _portable_insert(rows=rows, shared=[request_id, actor.user_id, session_key, surface, model_version_id,
                                                          settings_version, now])
    try:
        if connection.in_atomic_block:  # inside a caller's transaction: a savepoint keeps a failure from poisoning it
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
        else:  # autocommit: one statement (one round trip) is its own transaction
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    except DatabaseError as exc:
        logger.error("Could not log %d impressions of request %s: %s", len(rows), request_id, exc)
        return 0
    return len(rows)


def _postgresql_insert(*, rows: list[ImpressionRow], shared: list) -> tuple[str, list]:
    """One parameter for the whole page: the rows as JSON, unpacked by jsonb_to_recordset (client-side query
    building stays constant-time), in a transaction that does not wait for the WAL flush."""
    request_id, user_id, session_key, surface, model_version_id, settings_version, created_at = shared
    payload = json.dumps(
        [{"i": row.item_id, "p": row.position, "s": row.source, "v": float(row.score), "r": row.reason, "c": row.context} for row in rows],
        separators=(",", ":"),
    )
    sql = (
        f"INSERT INTO {Impression._meta.db_table} ({', '.join(COLUMNS)}) "
        "SELECT %s, %s, %s, x.i, x.p, x.s, x.v, x.r, %s, %s, %s, x.c, %s::timestamptz "
        "FROM jsonb_to_recordset(%s::jsonb) AS x(i bigint, p integer, s text, v double precision, r text, c jsonb)"
    )
    params = [request_id, user_id, session_key, surface, model_version_id, settings_version, created_at, payload]
    if not connection.in_atomic_block:
        # Autocommit: the two statements of one simple query run as one implicit transaction, so SET LOCAL covers
        # exactly this insert (nobody else's writes), which then commits without waiting for the WAL flush.
        sql = "SET LOCAL synchronous_commit TO OFF; " + sql
    return sql, params


def _portable_insert(*, rows: list[ImpressionRow], shared: list) -> tuple[str, list]:
    request_id, user_id, session_key, surface, model_version_id, settings_version, created_at = shared
    params: list = []
    for row in rows:
        params += [request_id, user_id, session_key, row.item_id, row.position, row.source, float(row.score), row.reason,
                   surface, model_version_id, settings_version, json.dumps(row.context, separators=(",", ":")), created_at]
    values = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    return f"INSERT INTO {Impression._meta.db_table} ({', '.join(COLUMNS)}) VALUES " + ", ".join([values] * len(rows)), params
