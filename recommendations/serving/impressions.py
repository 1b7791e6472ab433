"""Impressions: every served item is logged for attributing later clicks and training the ranker.

Logging is off the request path: :func:`impressions_log` appends the page's rows to a per-process
:class:`ImpressionBuffer`, and a background thread writes everything buffered every
``VITRINE_IMPRESSIONS_FLUSH_SECONDS`` (or sooner once ``FLUSH_ROWS`` rows wait) in one go: a ``COPY`` on
PostgreSQL, one ``executemany`` elsewhere. Writing 20 rows per request cost a database round trip and about a third of a request's CPU
(PostgreSQL's per-statement and per-commit work); one COPY per second for all requests costs a fraction of that. A setting of 0 writes each page synchronously (the test settings do, so tests see their rows).

What this gives up, and how it is bounded:

* An impression reaches the table up to a flush interval after the response. A crash (``kill -9``) loses at
  most that much; a normal shutdown flushes (``atexit``). Impressions are observations, never business data.
* Rows whose user or item was deleted meanwhile are skipped (the COPY fails on the foreign key and the batch is
  written again with ``EXISTS`` filters), so one deleted account never fails a batch; a model version deleted
  meanwhile becomes NULL, as its FK says.
* "Reset my history", "delete my account" and an anonymous session's history moving to an account happen in
  one process while rows may wait in another's buffer: those services call :func:`impressions_forget` /
  :func:`impressions_claim`, which flush this process's buffer and leave a short-lived marker in the cache
  that every flush applies (rows of a forgotten actor created before the marker are dropped; rows of a claimed
  session are written as the account's).
* Memory is bounded: past ``VITRINE_IMPRESSIONS_BUFFER_MAX_ROWS`` (the database is down) the oldest pages are
  dropped and counted in the log.
"""
from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from catalog.models import Item
from recommendations.events import Actor
from recommendations.models import Impression, ModelVersion
from recommendations.serving.cache import KEY_PREFIX

logger = logging.getLogger(__name__)

COLUMNS = ("request_id", "user_id", "session_key", "item_id", "position", "source", "score", "reason", "surface",
           "model_version_id", "settings_version", "context", "created_at")
FLUSH_ROWS = 5000  # wake the flusher early once this many rows wait
MARKER_TTL = 3600  # forget / claim markers outlive any buffered row by far


@dataclass(frozen=True)
class ImpressionRow:
    item_id: int
    position: int
    source: str
    score: float
    reason: str
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ImpressionPage:
    """The rows of one response with what they share."""

    request_id: str
    user_id: int | None
    session_key: str
    surface: str
    model_version_id: int | None
    settings_version: int
    created_at: dt.datetime
    rows: tuple[ImpressionRow, ...]

    @property
    def actor(self) -> str:
        return Actor(user_id=self.user_id, session_key=self.session_key).key


def impressions_log(
    *,
    request_id: str,
    actor: Actor,
    rows: list[ImpressionRow],
    surface: str,
    model_version_id: int | None,
    settings_version: int,
) -> int:
    """Log the impressions of one response (buffered, or written now when buffering is off). Never raises."""
    if not rows:
        return 0
    page = ImpressionPage(
        request_id=request_id, user_id=actor.user_id, session_key="" if actor.user_id is not None else actor.session_key,
        surface=surface, model_version_id=model_version_id, settings_version=settings_version, created_at=timezone.now(),
        rows=tuple(rows),
    )
    if flush_interval() > 0:
        impression_buffer().add(page)
        return len(rows)
    return impression_pages_write(pages=[page])


def flush_interval() -> float:
    return float(getattr(django_settings, "VITRINE_IMPRESSIONS_FLUSH_SECONDS", 1.0))


# --------------------------------------------------------------------------------------------- buffer
class ImpressionBuffer:
    """Pages waiting to be written, and the daemon thread that writes them (one buffer per process)."""

    def __init__(self, *, interval: float, max_rows: int) -> None:
        self.interval = interval
        self.max_rows = max_rows
        self._pages: deque[ImpressionPage] = deque()
        self._rows = 0
        self._dropped = 0
        self.written = 0  # rows written since the process started
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one writer at a time: the thread, atexit, or a forget/claim
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def pending_rows(self) -> int:
        return self._rows

    def add(self, page: ImpressionPage) -> None:
        with self._lock:
            self._pages.append(page)
            self._rows += len(page.rows)
            while self._rows > self.max_rows and len(self._pages) > 1:
                oldest = self._pages.popleft()
                self._rows -= len(oldest.rows)
                self._dropped += len(oldest.rows)
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="impression-flusher", daemon=True)
                self._thread.start()
        if self._rows >= FLUSH_ROWS:
            self._wake.set()

    def _take(self) -> list[ImpressionPage]:
        with self._lock:
            pages = list(self._pages)
            self._pages.clear()
            self._rows = 0
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.error("Impression buffer over %d rows (database unavailable?): dropped the %d oldest.", self.max_rows, dropped)
        return pages

    def _put_back(self, pages: list[ImpressionPage]) -> None:
        with self._lock:
            self._pages.extendleft(reversed(pages))
            self._rows += sum(len(page.rows) for page in pages)

    def flush(self) -> int:
        """Write everything buffered now; returns the rows written. On a database error the rows go back."""
        with self._flush_lock:
            pages = self._take()
            if not pages:
                return 0
            try:
                written = impression_pages_write(pages=pages, raise_errors=True)
            except DatabaseError as exc:
                logger.error("Could not write %d buffered impressions (retrying): %s", sum(len(p.rows) for p in pages), exc)
                self._put_back(pages)
                return 0
            self.written += written
            return written

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            close_old_connections()  # this thread's own connection: honour CONN_MAX_AGE, drop a broken one
            try:
                self.flush()
            except Exception:
                logger.exception("impression flush failed")

    def close(self) -> None:
        """Stop the thread and write what is left (process exit)."""
        self._stopped = True
        self._wake.set()
        try:
            self.flush()
        finally:
            connection.close()


_buffer: ImpressionBuffer | None = None
_buffer_pid: int | None = None
_buffer_lock = threading.Lock()


def impression_buffer() -> ImpressionBuffer:
    """This process's buffer (a forked child gets a fresh one: threads do not survive ``fork``)."""
    global _buffer, _buffer_pid
    if _buffer is None or _buffer_pid != os.getpid():
        with _buffer_lock:
            if _buffer is None or _buffer_pid != os.getpid():
                _buffer = ImpressionBuffer(
                    interval=max(flush_interval(), 0.05),
                    max_rows=int(getattr(django_settings, "VITRINE_IMPRESSIONS_BUFFER_MAX_ROWS", 100_000)),
                )
                _buffer_pid = os.getpid()
    return _buffer


def impressions_flush() -> int:
    """Write this process's buffered impressions now (before reading them back in the same process)."""
    if _buffer is None or _buffer_pid != os.getpid():
        return 0
    return _buffer.flush()


@atexit.register
def _flush_at_exit() -> None:
    if _buffer is not None and _buffer_pid == os.getpid():
        try:
            _buffer.close()
        except Exception:
            logger.exception("impression flush at exit failed")


# ------------------------------------------------------------------------------- forget / claim markers
def _forget_key(actor: str) -> str:
    return f"{KEY_PREFIX}:imp-forget:{actor}"


def _claim_key(session_key: str) -> str:
    return f"{KEY_PREFIX}:imp-claim:{Actor(session_key=session_key).key}"  # hashed: no session key in key names


def impressions_forget(*, user_ids: set[int] = frozenset(), session_keys: set[str] = frozenset()) -> None:
    """The actors' impressions up to now are being deleted: flush here, and make every process's next flush drop
    the rows of these actors it still holds from before now. Call it before deleting the stored rows."""
    impressions_flush()
    now = time.time()
    actors = [Actor(user_id=u) for u in user_ids] + [Actor(session_key=s) for s in session_keys if s]
    markers = {_forget_key(actor.key): now for actor in actors}
    if markers:
        cache.set_many(markers, MARKER_TTL)


def impressions_claim(*, session_key: str, user_id: int) -> None:
    """An anonymous session's history moves to ``user_id``: rows of the session still buffered anywhere are
    written as the user's. Call it before moving the stored rows."""
    impressions_flush()
    if session_key:
        cache.set(_claim_key(session_key), int(user_id), MARKER_TTL)


def _apply_markers(pages: list[ImpressionPage]) -> list[ImpressionPage]:
    actors = {page.actor for page in pages}
    sessions = {page.session_key for page in pages if page.user_id is None and page.session_key}
    keys = [_forget_key(actor) for actor in actors] + [_claim_key(session) for session in sessions]
    markers = cache.get_many(keys) if keys else {}
    if not markers:
        return pages
    kept: list[ImpressionPage] = []
    for page in pages:
        claimed = markers.get(_claim_key(page.session_key)) if page.user_id is None and page.session_key else None
        if claimed is not None:
            page = replace(page, user_id=int(claimed), session_key="")
        forgotten_at = markers.get(_forget_key(page.actor))
        if forgotten_at is not None and page.created_at.timestamp() <= float(forgotten_at):
            continue
        kept.append(page)
    return kept


# ---------------------------------------------------------------------------------------------- writing
def impression_pages_write(*, pages: list[ImpressionPage], raise_errors: bool = False) -> int:
    """Write pages in one statement; rows of a deleted user or item are skipped. Returns the rows written
    (a database error is logged and 0 returned, or raised with ``raise_errors`` so the caller can retry)."""
    pages = _apply_markers(pages)
    if not pages:
        return 0
    own_transaction = not connection.in_atomic_block
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction, so a failure cannot poison it
            if connection.vendor == "postgresql":
                return _write_postgresql(pages, own_transaction=own_transaction)
            return _write_portable(pages)
    except DatabaseError as exc:
        if raise_errors:
            raise
        logger.error("Could not log %d impressions: %s", sum(len(page.rows) for page in pages), exc)
        return 0


# Keep a row only if its user (when it has one) and item still exist; a deleted model version becomes NULL.
_FILTER = (
    "(x.u IS NULL OR EXISTS (SELECT 1 FROM {users} WHERE id = x.u)) AND EXISTS (SELECT 1 FROM {items} WHERE id = x.i)"
)


def _tables() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    return {"users": get_user_model()._meta.db_table, "items": Item._meta.db_table, "versions": ModelVersion._meta.db_table}


def _write_postgresql(pages: list[ImpressionPage], *, own_transaction: bool) -> int:
    """COPY, in a transaction of its own that does not wait for the WAL flush (``synchronous_commit`` off for it).

    COPY costs PostgreSQL about a third less CPU than an INSERT of the same rows, and less on our side too, but
    cannot skip rows: when a foreign key fails (a user, item or model version deleted since the page was served),
    the batch is written again through the filtering INSERT. Django's foreign keys are deferred to the commit;
    ``SET CONSTRAINTS ALL IMMEDIATE`` makes the COPY itself fail, inside its savepoint. Inside a caller's
    transaction (synchronous logging) neither setting may change the caller's commit: the filtering INSERT."""
    with connection.cursor() as cursor:
        if not own_transaction:
            return _insert_filtered_postgresql(cursor, pages)
        cursor.execute("SET LOCAL synchronous_commit TO OFF; SET CONSTRAINTS ALL IMMEDIATE")
        try:
            with transaction.atomic():
                return _copy_postgresql(cursor, pages)
        except (IntegrityError, connection.Database.IntegrityError):  # the raw COPY cursor raises the driver's own
            return _insert_filtered_postgresql(cursor, pages)


def _copy_postgresql(cursor, pages: list[ImpressionPage]) -> int:
    written = 0
    with cursor.cursor.copy(f"COPY {Impression._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for page in pages:
            shared = (page.request_id, page.user_id, page.session_key)
            tail = (page.surface, page.model_version_id, page.settings_version)
            for row in page.rows:
                copy.write_row((*shared, row.item_id, row.position, row.source, float(row.score), row.reason, *tail,
                                json.dumps(row.context, separators=(",", ":")), page.created_at))
            written += len(page.rows)
    return written


def _insert_filtered_postgresql(cursor, pages: list[ImpressionPage]) -> int:
    """All pages as one JSON parameter unpacked by jsonb_to_recordset, keeping only rows whose references exist."""
    payload = json.dumps(
        [
            {"q": page.request_id, "u": page.user_id, "k": page.session_key, "i": row.item_id, "p": row.position,
             "s": row.source, "v": float(row.score), "r": row.reason, "f": page.surface, "m": page.model_version_id,
             "n": page.settings_version, "c": row.context, "t": created_at}
            for page in pages
            for created_at in (page.created_at.isoformat(),)
            for row in page.rows
        ],
        separators=(",", ":"),
    )
    tables = _tables()
    sql = (
        f"INSERT INTO {Impression._meta.db_table} ({', '.join(COLUMNS)}) "
        f"SELECT x.q, x.u, x.k, x.i, x.p, x.s, x.v, x.r, x.f, (SELECT id FROM {tables['versions']} WHERE id = x.m), x.n, x.c, x.t "
        "FROM jsonb_to_recordset(%s::jsonb) AS x(q text, u bigint, k text, i bigint, p integer, s text, v double precision, "
        "r text, f text, m bigint, n integer, c jsonb, t timestamptz) "
        f"WHERE {_FILTER.format(**tables)}"
    )
    cursor.execute(sql, [payload])
    return cursor.rowcount


def _write_portable(pages: list[ImpressionPage]) -> int:
    tables = _tables()
    sql = (
        f"INSERT INTO {Impression._meta.db_table} ({', '.join(COLUMNS)}) "
        f"SELECT x.q, x.u, x.k, x.i, x.p, x.s, x.v, x.r, x.f, (SELECT id FROM {tables['versions']} WHERE id = x.m), x.n, x.c, x.t "
        f"FROM (SELECT {', '.join(f'%s AS {name}' for name in 'qukipsvrfmnct')}) AS x WHERE {_FILTER.format(**tables)}"
    )
    params = [
        (page.request_id, page.user_id, page.session_key, row.item_id, row.position, row.source, float(row.score), row.reason,
         page.surface, page.model_version_id, page.settings_version, json.dumps(row.context, separators=(",", ":")),
         connection.ops.adapt_datetimefield_value(page.created_at))
        for page in pages
        for row in page.rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount
