"""The catalog revision: a token that changes whenever items or categories change, seen by every process.

Readers keep item data between requests (serving's item cards) and drop it when the token differs. The token
lives in two places:

- the database (``catalog_catalogrevision``, one row): triggers on the item and category tables replace it in
  the same statement as the write, so it commits and rolls back with the change, whoever wrote it (admin,
  importer, API, ``QuerySet.update()``, raw SQL, another process);
- the cache (``CATALOG_REVISION_CACHE_KEY``): replaced by Django-side writes now and after they commit (signals,
  and :class:`CatalogQuerySet`'s bulk writes).

:func:`catalog_revision_get` reads the cache's copy when the cache is shared by every process (Redis: it is
already part of a request's one cache round trip) and the database's when the cache is process-local
(local-memory or dummy: another process's bump would never reach it): one primary-key read of one row, 15-35 µs
on a SQLite file (see :func:`catalog_revision_from_database`).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid

from django.core.cache import cache, caches
from django.db import connection, models

from common.services import cache_invalidate_around_commit

logger = logging.getLogger(__name__)

# Replaced whenever items or categories change (see the module docstring).
CATALOG_REVISION_CACHE_KEY = "catalog:revision"
CATALOG_REVISION_TABLE = "catalog_catalogrevision"
# Cache backends whose contents only the process holding them sees.
PROCESS_LOCAL_CACHE_MODULES = ("django.core.cache.backends.locmem", "django.core.cache.backends.dummy")


def catalog_changed() -> None:
    """Items or categories were written: readers of ``CATALOG_REVISION_CACHE_KEY`` re-read them."""
    try:
        cache.set(CATALOG_REVISION_CACHE_KEY, uuid.uuid4().hex[:12], None)
    except Exception as exc:
        logger.warning("could not bump the catalog revision: %s", exc)


def catalog_written() -> None:
    """Call after writing items or categories, in a transaction or not: the revision changes now and after commit.

    The database's revision needs no call (triggers); this keeps a shared cache's copy in step.
    """
    cache_invalidate_around_commit(catalog_changed)


def catalog_revision_is_process_local() -> bool:
    """True when the default cache is seen by this process only, so the revision is read from the database."""
    return type(caches["default"]).__module__ in PROCESS_LOCAL_CACHE_MODULES


def catalog_revision_from_database() -> str:
    """The database's revision token (``"db:<n>"``; ``"db:-"`` when the row is missing, e.g. after a flush).

    One primary-key read of a one-row table. On a SQLite file, outside a transaction, it goes through a
    connection this thread keeps open: 15-35 µs measured, where opening Django's (``CONN_MAX_AGE=0``; a warm feed request
    otherwise touches no table) costs 3-4 ms. In a transaction it uses Django's, so a writer reads its own write.
    """
    reader = _sqlite_reader()
    if reader is not None:
        try:
            row = reader.execute(_REVISION_SQL).fetchone()
        except sqlite3.Error:
            _readers.connection = None
        else:
            return f"db:{row[0] if row else '-'}"
    with connection.cursor() as cursor:
        cursor.execute(_REVISION_SQL)
        row = cursor.fetchone()
    return f"db:{row[0] if row else '-'}"


_REVISION_SQL = f"SELECT value FROM {CATALOG_REVISION_TABLE} WHERE id = 1"
_readers = threading.local()


def _sqlite_reader() -> sqlite3.Connection | None:
    """This thread's open connection to the SQLite file (None: another database, in memory, or in a transaction).

    In autocommit each SELECT sees the last commit of any process (WAL); reopened after a fork or a new NAME.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block or connection.is_in_memory_db():
        return None
    key = (os.getpid(), str(connection.settings_dict["NAME"]))
    if getattr(_readers, "connection", None) is None or _readers.key != key:
        _readers.connection = sqlite3.connect(key[1], timeout=20, isolation_level=None, check_same_thread=False)
        _readers.key = key
    return _readers.connection


def catalog_revision_get(*, known: str | None = None) -> str | None:
    """The current catalog revision as every process sees it.

    Parameters
    ----------
    known : str or None
        The cache's copy when the caller already read it (the feed reads it in its one cache round trip).

    Returns
    -------
    str or None
        Process-local cache: the database's token (``known`` is ignored: another process's bump never reaches
        this cache). Shared cache: ``known``, else the cache's copy, set when missing (evicted, fresh cache) so
        a missing one never matches data read under an old one; None when the cache does not answer.
    """
    if catalog_revision_is_process_local():
        return catalog_revision_from_database()
    if isinstance(known, str):
        return known
    revision = cache.get(CATALOG_REVISION_CACHE_KEY)
    if revision is None:
        cache.add(CATALOG_REVISION_CACHE_KEY, uuid.uuid4().hex[:12], None)
        revision = cache.get(CATALOG_REVISION_CACHE_KEY)
    return revision if isinstance(revision, str) else None


class CatalogQuerySet(models.QuerySet):
    """Bulk writes (no signals) bump the cache's revision too, so a shared cache learns of them from any process.

    ``bulk_update`` goes through ``update``; ``delete`` sends ``post_delete`` per row (``catalog.signals``).
    """

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        catalog_written()
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        catalog_written()
        return created
