"""Versioned model artifacts on disk, and the active model as web processes see it.

Layout (under ``settings.VITRINE_ARTIFACT_DIR``)::

    versions/v000042-ials/          one directory per ModelVersion, never modified once renamed into place
        model/                      Recommender.save(): config.json, arrays.npz, SHA256SUMS
        index/                      VectorIndex.save(): index.faiss, index.json (absent for models without embeddings)
        version.json                version id, model name, trained_at, sizes
    versions/.tmp-v42-xxxx/         a version being written; renamed to its final name only when complete

Writing (:func:`version_artifacts_write`): everything goes into a fresh temporary directory, every file is
fsynced, the checksums are computed, then the directory is renamed into place (atomic on one filesystem) and
its parent fsynced. The ModelVersion row records the relative path and ``{relative file: sha256}``; it points
to the directory only after the rename, so no reader ever sees a half-written version.

Reading (:func:`serving_model_get`): each web process keeps the loaded active model in memory. On every call
it compares its version with the active version stamp in Django's cache (set when a version is activated;
when the key is missing, a cheap indexed query refreshes it, at most every ``STAMP_DB_CHECK_SECONDS`` per
process). A new stamp makes the next call load the new version: every file is checked against the checksums
in the database (the database, not a file next to the artifact, is the reference) before anything is parsed.
A version that fails to load (tampered, truncated, deleted) is logged and skipped: the process keeps serving
what it had (or, in a fresh process, the most recently active version that does load) and retries the
broken one only after ``LOAD_RETRY_SECONDS``.

Ids: ``user_ids`` are ``users.User`` primary keys (int64). Only logged-in users' events train user rows;
anonymous sessions are not rows of the model: serving folds them in from their recent items
(``model.recommend_for_items``), and so does it for users who registered after the model was trained.
``item_ids`` are ``catalog.Item`` primary keys, aligned with the model's item indices and the index rows.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from recommendations.models import ModelVersion

if TYPE_CHECKING:  # heavy imports stay out of Django start-up
    from ml.index import VectorIndex
    from ml.models.base import Recommender

logger = logging.getLogger(__name__)

ACTIVE_STAMP_KEY = "model-store:active-version:v1"
STAMP_DB_CHECK_SECONDS = 3.0  # a process without a cached stamp asks the database at most this often
STAMP_FROM_DB_TTL = 5  # seconds a stamp read from the database is shared through the cache
STAMP_ON_SWAP_TTL = 300  # seconds the stamp written by an activation lives
LOAD_RETRY_SECONDS = 60.0
VERSIONS_DIR = "versions"
MODEL_DIR = "model"
INDEX_DIR = "index"
VERSION_FILE = "version.json"
TMP_PREFIX = ".tmp-"


class ArtifactVerificationError(Exception):
    """A version's files are missing, truncated or not the ones recorded at training time."""


@dataclass(frozen=True)
class ServingModel:
    version_id: int
    model_name: str
    model: Recommender  # loaded, fitted
    index: VectorIndex | None  # over model.item_embeddings(), rows aligned with the model's item indices
    item_ids: np.ndarray  # catalog.Item pks aligned with index rows / model item indices
    user_ids: np.ndarray  # users.User pks known at fit time, aligned with the model's user indices
    trained_at: datetime


# --------------------------------------------------------------------------------------------- paths
def artifact_root() -> Path:
    return Path(settings.VITRINE_ARTIFACT_DIR) / VERSIONS_DIR


def version_artifact_dir(*, artifact_path: str) -> Path:
    """Absolute directory of a version (``artifact_path`` is stored relative to the artifact root)."""
    path = Path(artifact_path)
    return path if path.is_absolute() else Path(settings.VITRINE_ARTIFACT_DIR) / path


def _version_dir_name(version_id: int, model_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", model_name)[:40] or "model"
    return f"v{version_id:06d}-{safe}"


# ------------------------------------------------------------------------------------------- writing
def _sha256(path: Path) -> str:
    from ml.artifacts import sha256_file

    return sha256_file(path)


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        if not directory:
            raise
    finally:
        os.close(fd)


def _tree_files(directory: Path) -> list[Path]:
    """Every file below ``directory`` (links too: a link is not a directory, and it is covered like a file)."""
    return sorted(p for p in directory.rglob("*") if not p.is_dir() or p.is_symlink())


def version_artifacts_write(
    *, version_id: int, model_name: str, model: Recommender, index: VectorIndex | None, meta: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """Write a version's artifacts atomically; returns ``(artifact_path, {relative file: sha256})``.

    Harmless to repeat for the same version (a redelivered task): a leftover directory from an attempt that
    died after the rename but before the database recorded it is replaced.
    """
    root = artifact_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / _version_dir_name(version_id, model_name)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}v{version_id}-", dir=root))
    try:
        model.save(tmp / MODEL_DIR)
        if index is not None:
            index.save(tmp / INDEX_DIR)
        payload = {"version_id": version_id, "model_name": model_name, **meta}
        (tmp / VERSION_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
        checksums: dict[str, str] = {}
        for path in _tree_files(tmp):
            _fsync_path(path)
            checksums[path.relative_to(tmp).as_posix()] = _sha256(path)
        for directory in [p for p in tmp.rglob("*") if p.is_dir()] + [tmp]:
            _fsync_path(directory, directory=True)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_path(root, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final.relative_to(Path(settings.VITRINE_ARTIFACT_DIR)).as_posix(), checksums


def version_artifacts_delete(*, artifact_path: str) -> None:
    if artifact_path:
        shutil.rmtree(version_artifact_dir(artifact_path=artifact_path), ignore_errors=True)


def orphan_artifacts_delete(*, referenced: set[str], min_age_seconds: float = 3600.0) -> int:
    """Remove version directories no row points to (a run that died between rename and commit) and stale
    temporary directories; only those older than ``min_age_seconds``, so a run in progress is never touched."""
    root = artifact_root()
    if not root.is_dir():
        return 0
    base = Path(settings.VITRINE_ARTIFACT_DIR)
    referenced_dirs = {version_artifact_dir(artifact_path=path).resolve() for path in referenced}
    removed = 0
    for entry in root.iterdir():
        if not entry.is_dir() or entry.resolve() in referenced_dirs:
            continue
        if time.time() - entry.stat().st_mtime < min_age_seconds:
            continue
        if entry.name.startswith(TMP_PREFIX) or re.fullmatch(r"v\d{6,}-[A-Za-z0-9_-]+", entry.name):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
            logger.info("Removed orphan artifact directory %s.", entry.relative_to(base))
    return removed


# ------------------------------------------------------------------------------------------- reading
def version_artifacts_verify(*, artifact_path: str, checksums: dict[str, str]) -> Path:
    """Check every recorded file against its sha256; returns the directory or raises ArtifactVerificationError."""
    if not artifact_path or not checksums:
        raise ArtifactVerificationError("the version has no recorded artifacts")
    directory = version_artifact_dir(artifact_path=artifact_path)
    if not directory.is_dir():
        raise ArtifactVerificationError(f"artifact directory {directory} does not exist")
    for relative, expected in checksums.items():
        path = directory / relative
        if ".." in Path(relative).parts or not path.is_file():
            raise ArtifactVerificationError(f"artifact file {relative} is missing")
        if _sha256(path) != expected:
            raise ArtifactVerificationError(f"checksum mismatch for {relative}: tampered with or truncated")
    # Every file of the directory is covered: a file nobody recorded (an index/ folder planted beside a model,
    # or one written by a release that did not record it) is refused, not read on its own say-so.
    unrecorded = sorted({path.relative_to(directory).as_posix() for path in _tree_files(directory)} - set(checksums))
    if unrecorded:
        raise ArtifactVerificationError(f"files not covered by the recorded checksums: {', '.join(unrecorded[:5])}")
    if f"{MODEL_DIR}/config.json" not in checksums:
        raise ArtifactVerificationError("the recorded artifacts hold no model")
    return directory


def serving_model_load(*, version: ModelVersion) -> ServingModel:
    """Load one version from disk after verifying its checksums (raises on any problem)."""
    from ml.models.base import Recommender

    directory = version_artifacts_verify(artifact_path=version.artifact_path, checksums=version.checksums)
    model = Recommender.load(directory / MODEL_DIR)
    index = None
    if (directory / INDEX_DIR).is_dir():
        from ml.index import VectorIndex

        index = VectorIndex.load(directory / INDEX_DIR)
        if index.n_items_ != model.n_items:
            raise ArtifactVerificationError(f"index has {index.n_items_} rows for {model.n_items} model items")
    return ServingModel(
        version_id=version.pk,
        model_name=version.model_name,
        model=model,
        index=index,
        item_ids=np.asarray(model.item_map_.external_ids),
        user_ids=np.asarray(model.user_map_.external_ids),
        trained_at=version.finished_at or version.created_at or timezone.now(),
    )


# --------------------------------------------------------------------------------- active model stamp
def active_version_stamp_set(*, version_id: int | None) -> None:
    """Tell every web process (through the shared cache) which version is active now."""
    cache.set(ACTIVE_STAMP_KEY, int(version_id or 0), STAMP_ON_SWAP_TTL)


class _Store:
    def __init__(self) -> None:
        self.current: ServingModel | None = None
        self.db_stamp: int | None = None
        self.db_checked_at = float("-inf")
        self.failed: dict[int, float] = {}
        self.load_lock = threading.Lock()


_store = _Store()


def _active_stamp(*, cached: int | None = None) -> int:
    stamp = cached if cached is not None else cache.get(ACTIVE_STAMP_KEY)
    if stamp is not None:
        return int(stamp)
    now = time.monotonic()
    if _store.db_stamp is not None and now - _store.db_checked_at < STAMP_DB_CHECK_SECONDS:
        return _store.db_stamp
    stamp = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values_list("pk", flat=True).first() or 0
    _store.db_stamp, _store.db_checked_at = stamp, now
    cache.add(ACTIVE_STAMP_KEY, stamp, STAMP_FROM_DB_TTL)  # add, not set: never overwrite a fresher swap
    return stamp


def _recently_failed(version_id: int) -> bool:
    failed_at = _store.failed.get(version_id)
    return failed_at is not None and time.monotonic() - failed_at < LOAD_RETRY_SECONDS


def _try_load(version: ModelVersion) -> ServingModel | None:
    try:
        loaded = serving_model_load(version=version)
    except Exception as exc:
        _store.failed[version.pk] = time.monotonic()
        logger.error("Refusing model version %s (%s): %s", version.pk, version.model_name, exc)
        return None
    _store.failed.pop(version.pk, None)
    logger.info("Serving model version %s (%s).", version.pk, version.model_name)
    return loaded


def _load_fallback(*, skip: int) -> ServingModel | None:
    """A fresh process whose active version is broken: the most recently active version that loads."""
    candidates = (
        ModelVersion.objects.filter(activated_at__isnull=False, status=ModelVersion.Status.RETIRED)
        .exclude(pk=skip)
        .order_by("-activated_at")[:3]
    )
    for version in candidates:
        if not _recently_failed(version.pk) and (loaded := _try_load(version)) is not None:
            return loaded
    return None


def serving_model_get(*, cached_stamp: int | None = None) -> ServingModel | None:
    """The model web requests should use, or None when no version is active (serve popularity then).

    Cheap when nothing changed (one cache read, none when the caller read ``ACTIVE_STAMP_KEY`` with its other
    keys and passes it as ``cached_stamp``); loads a newly activated version on the next call after the
    swap; never raises because of a bad artifact (see the module docstring).
    """
    stamp = _active_stamp(cached=cached_stamp)
    current = _store.current
    if current is not None and current.version_id == stamp:
        return current
    if stamp == 0:
        _store.current = None
        return None
    if _recently_failed(stamp):
        return current
    # One thread loads; the others keep serving the current model meanwhile (or wait when there is none).
    if not _store.load_lock.acquire(blocking=current is None):
        return current
    try:
        current = _store.current
        if current is not None and current.version_id == stamp:
            return current
        version = ModelVersion.objects.filter(pk=stamp).first()
        loaded = _try_load(version) if version is not None else None
        if loaded is None and current is None:
            loaded = _load_fallback(skip=stamp)
        if loaded is not None:
            _store.current = loaded
        return _store.current
    finally:
        _store.load_lock.release()


def serving_model_reset() -> None:
    """Forget the in-process model and stamps (tests; a process that must reload)."""
    with _store.load_lock:
        _store.current = None
        _store.db_stamp = None
        _store.db_checked_at = float("-inf")
        _store.failed.clear()
