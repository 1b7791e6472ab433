"""The training pipeline: events in the database -> a new active model version, without downtime.

One run trains one ModelVersion (one model config from ``RecommenderSettings.training_models``)::

    snapshot   stream the events of the window (logged-in users only) into numpy arrays, chunk by chunk:
               PostgreSQL COPY ... (FORMAT BINARY) parsed with numpy, elsewhere values_list().iterator()
    dataset    ml.dataset.Interactions with the current event-type weights
    train      fit the model (registry config) on a temporal holdout split: the latest events are held out
    evaluate   ml.evaluation metrics on the holdout; stored on the row with params, data window and timings
    refit      fit again on all events (what is served must know the latest days)
    index      Faiss index over the item embeddings; model + index + version.json written to a new versioned
               directory atomically (model_store.version_artifacts_write), checksums recorded
    swap       verify the written artifacts load, then champion/challenger: activate when the main metric is
               not worse than the active version's by more than the margin (relative), or when forced;
               web processes see the new stamp on their next request (model_store)
    prune      keep the last ``keep_versions`` versions' artifacts, delete older ones

Guarantees: at most one queued/running version per model (a partial unique constraint, so ten concurrent
"retrain now" clicks give one version); at most one process trains a version at a time (a lock with expiry,
kept alive by a heartbeat); a repeated or redelivered task is harmless (a finished row is left alone, an
abandoned one is retrained from scratch); any failure leaves the active version untouched and records the
error on the row. Transient errors (database, Redis, a busy lock) propagate for the task to retry.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings as django_settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from recommendations.events.ingest import DEVICES
from recommendations.models import Event, EventType, ModelVersion, RecommenderSettings
from recommendations.training import model_store
from recommendations.training.locks import (
    LockBusy,
    LockHeartbeat,
    lock_acquire,
    lock_owner,
    lock_release,
    locks_are_shared,
)
from recommendations.tuning import recommender_settings_get

if TYPE_CHECKING:
    from ml.dataset import Interactions

logger = logging.getLogger(__name__)

Status = ModelVersion.Status
PENDING_STATUSES = (Status.QUEUED, Status.TRAINING, Status.EVALUATING)
FINISHED_STATUSES = (Status.READY, Status.ACTIVE, Status.RETIRED, Status.FAILED, Status.DELETED)

SNAPSHOT_CHUNK_ROWS = 100_000
HOLDOUT_FRACTION = 0.1  # the latest 10 % of the window's events are the holdout
EVALUATION_MAX_USERS = 20_000  # a seeded sample of the holdout users above this
HEARTBEAT_SECONDS = 2.0
CLAIM_STALE_SECONDS = 5 * HEARTBEAT_SECONDS  # embedded mode: a running row without a heartbeat this long is free
REQUEUE_QUEUED_AFTER_SECONDS = 60  # a trigger re-sends the task of a version queued longer than this
LOWER_IS_BETTER = ("rmse", "mae", "gini@", "arp@")

try:  # Redis errors are transient too (the broker/cache restarting); redis is a dependency of django-redis
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    _REDIS_ERRORS: tuple[type[BaseException], ...] = (_RedisConnectionError, _RedisTimeoutError)
except ImportError:  # pragma: no cover
    _REDIS_ERRORS = ()

#: errors worth a retry with backoff: the run is left pending (not failed) and the lock released
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, *_REDIS_ERRORS)

ProgressCallback = Callable[[float, str], None]

# Progress bands per stage (percent at the start of the stage).
_STAGE_START = {"snapshot": 2, "dataset": 10, "train": 15, "evaluate": 45, "refit": 55, "index": 85, "swap": 95}
_STAGE_END = {"snapshot": 10, "dataset": 15, "train": 45, "evaluate": 55, "refit": 85, "index": 95, "swap": 99}


# ------------------------------------------------------------------------------------------ snapshot
@dataclass(frozen=True)
class EventSnapshot:
    """The window's events as numpy arrays (one row per event, no order)."""

    user_ids: np.ndarray  # int64 users.User pks
    item_ids: np.ndarray  # int64 catalog.Item pks
    event_type_codes: np.ndarray  # int16 index into EventType.values
    values: np.ndarray  # float32, NaN when the event has no value
    timestamps: np.ndarray  # float64 unix seconds
    start: dt.datetime
    end: dt.datetime
    device_codes: np.ndarray | None = None  # int16 index into SNAPSHOT_DEVICES, -1 unknown
    local_hours: np.ndarray | None = None  # int16 0-23, -1 unknown

    def __len__(self) -> int:
        return len(self.user_ids)

    @property
    def event_types(self) -> np.ndarray:
        return np.asarray(EventType.values)[self.event_type_codes]

    def context(self) -> dict[str, np.ndarray] | None:
        """Per-event context for the context-aware models: device names ("" unknown), hours (NaN unknown)."""
        if self.device_codes is None or self.local_hours is None:
            return None
        names = np.asarray([*SNAPSHOT_DEVICES, ""])
        hours = self.local_hours.astype(np.float32)
        hours[(self.local_hours < 0) | (self.local_hours > 23)] = np.nan
        return {"device": names[np.where(self.device_codes >= 0, self.device_codes, len(SNAPSHOT_DEVICES))], "hour": hours}


# The devices an event's context may name (validated at ingestion), in the order of their snapshot codes.
SNAPSHOT_DEVICES: tuple[str, ...] = tuple(sorted(DEVICES))


def _pg_copy_sql() -> str:
    qn = connection.ops.quote_name
    fields = {name: qn(Event._meta.get_field(name).column)
              for name in ("user", "item", "event_type", "value", "timestamp", "context")}
    cases = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(EventType.values))  # fixed literals
    devices = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(SNAPSHOT_DEVICES))
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


def _pg_parse_rows(buffer: bytes) -> dict[str, np.ndarray]:
    rows = np.frombuffer(buffer, dtype=_PG_ROW)
    if len(rows) and (rows["n"] != 7).any():
        raise ValueError("unexpected COPY row layout")
    return {
        "user": rows["user"].astype(np.int64),
        "item": rows["item"].astype(np.int64),
        "etype": rows["etype"].astype(np.int16),
        "value": rows["value"].astype(np.float32),
        "ts": rows["ts"].astype(np.float64) / 1e6 + _PG_EPOCH_OFFSET,
        "device": rows["device"].astype(np.int16),
        "hour": rows["hour"].astype(np.int16),
    }


def _snapshot_postgresql(*, start: dt.datetime, end: dt.datetime, chunk_rows: int) -> list[dict[str, np.ndarray]]:
    """Stream the events with COPY (FORMAT BINARY); parsed in blocks of ``chunk_rows`` rows."""
    block_bytes = chunk_rows * _PG_ROW.itemsize
    chunks: list[dict[str, np.ndarray]] = []
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


def _snapshot_iterator(*, start: dt.datetime, end: dt.datetime, chunk_rows: int) -> list[dict[str, np.ndarray]]:
    """Any database: ``values_list().iterator()`` (server-side cursor where there is one), chunk by chunk."""
    codes = {value: code for code, value in enumerate(EventType.values)}
    device_codes = {value: code for code, value in enumerate(SNAPSHOT_DEVICES)}
    rows = (
        Event.objects.filter(user__isnull=False, timestamp__gte=start, timestamp__lt=end)
        .order_by()
        .values_list("user_id", "item_id", "event_type", "value", "timestamp", "context")
        .iterator(chunk_size=chunk_rows)
    )
    chunks = []
    while batch := list(islice(rows, chunk_rows)):
        n = len(batch)
        chunks.append({
            "user": np.fromiter((row[0] for row in batch), np.int64, n),
            "item": np.fromiter((row[1] for row in batch), np.int64, n),
            "etype": np.fromiter((codes.get(row[2], -1) for row in batch), np.int16, n),
            "value": np.fromiter((math.nan if row[3] is None else row[3] for row in batch), np.float32, n),
            "ts": np.fromiter((row[4].timestamp() for row in batch), np.float64, n),
            "device": np.fromiter((device_codes.get((row[5] or {}).get("device"), -1) for row in batch), np.int16, n),
            "hour": np.fromiter((_local_hour(row[5]) for row in batch), np.int16, n),
        })
    return chunks


def _local_hour(context: dict | None) -> int:
    hour = (context or {}).get("local_hour")
    return hour if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23 else -1


def training_snapshot(*, start: dt.datetime, end: dt.datetime, chunk_rows: int = SNAPSHOT_CHUNK_ROWS) -> EventSnapshot:
    """Events with a user and ``start <= timestamp < end`` as numpy arrays; memory is bounded by the arrays
    themselves plus one chunk (no model instances, no per-event Python objects beyond one chunk)."""
    reader = _snapshot_postgresql if connection.vendor == "postgresql" else _snapshot_iterator
    chunks = reader(start=start, end=end, chunk_rows=chunk_rows)

    def column(name: str, dtype) -> np.ndarray:
        return np.concatenate([chunk[name] for chunk in chunks]) if chunks else np.zeros(0, dtype)

    etype = column("etype", np.int16)
    known = etype >= 0
    return EventSnapshot(
        user_ids=column("user", np.int64)[known],
        item_ids=column("item", np.int64)[known],
        event_type_codes=etype[known],
        values=column("value", np.float32)[known],
        timestamps=column("ts", np.float64)[known],
        start=start,
        end=end,
        device_codes=column("device", np.int16)[known],
        local_hours=column("hour", np.int16)[known],
    )


def training_dataset_build(*, snapshot: EventSnapshot, event_type_weights: dict[str, float]) -> Interactions:
    """Interactions (user x item, weighted by event type) from a snapshot."""
    from ml.dataset import Interactions

    return Interactions.from_events(
        user_ids=snapshot.user_ids,
        item_ids=snapshot.item_ids,
        event_types=snapshot.event_types,
        values=snapshot.values,
        timestamps=snapshot.timestamps,
        event_type_weights={str(key): float(value) for key, value in event_type_weights.items()},
        context=snapshot.context(),
    )


# ----------------------------------------------------------------------------------------- requests
def _model_configs(*, settings: RecommenderSettings, model_names: list[str] | None) -> list[dict[str, Any]]:
    configured = [dict(entry) for entry in settings.training_models]
    if not model_names:
        return configured
    by_name = {entry["name"]: entry for entry in configured}
    return [by_name.get(name, {"name": name}) for name in model_names]


def _abandoned(version: ModelVersion) -> bool:
    """A training/evaluating row whose process died: no live lock and no heartbeat for a while."""
    if version.status == Status.QUEUED:
        return False
    last = version.heartbeat_at or version.created_at
    stale_after = max(3 * django_settings.VITRINE_TRAINING_LOCK_TTL, 10 * HEARTBEAT_SECONDS)
    if (timezone.now() - last).total_seconds() < stale_after:
        return False
    return lock_owner(name=_lock_name(version.model_name)) is None


def model_version_request(*, config: dict[str, Any], force: bool = False) -> tuple[ModelVersion, bool]:
    """The pending version of this model, created when there is none: ``(version, created)``.

    Concurrent calls create exactly one row (the database's partial unique constraint decides the race).
    A pending row abandoned by a dead process is marked failed and replaced.
    """
    from ml.models.registry import model_from_config

    model_from_config(config)  # unknown model or parameter: ValueError now, not in the worker
    name = config["name"]
    for _ in range(3):
        existing = ModelVersion.objects.filter(model_name=name, status__in=PENDING_STATUSES).first()
        if existing is not None:
            if not _abandoned(existing):
                if force and not existing.forced:
                    ModelVersion.objects.filter(pk=existing.pk).update(forced=True)
                    existing.forced = True
                return existing, False
            model_version_fail(version_id=existing.pk, error="Abandoned: the worker training it stopped (no heartbeat).")
            continue
        version = ModelVersion(model_name=name, params={"config": config}, status=Status.QUEUED, forced=force)
        version.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                version.save()
        except IntegrityError:
            continue  # another request created it first: return that one
        return version, True
    raise RuntimeError(f"could not create or find a pending version of {name!r}")


def training_trigger(*, model_names: list[str] | None = None, force: bool = False) -> list[ModelVersion]:
    """Request a retrain of the configured models (or of ``model_names``) and queue their tasks on commit.

    Returns one pending version per model; a model already queued or training returns that version (its task
    is re-sent only when it has waited in the queue suspiciously long, which is harmless).
    """
    from recommendations.tasks import model_version_train_task

    settings = recommender_settings_get()
    versions = []
    for config in _model_configs(settings=settings, model_names=model_names):
        version, created = model_version_request(config=config, force=force)
        waited = (timezone.now() - version.created_at).total_seconds()
        if created or (version.status == Status.QUEUED and waited > REQUEUE_QUEUED_AFTER_SECONDS):
            version_id = version.pk
            transaction.on_commit(lambda version_id=version_id: model_version_train_task.delay(version_id))
        versions.append(version)
    return versions


# ---------------------------------------------------------------------------------------------- run
def _lock_name(model_name: str) -> str:
    return f"training:{model_name}"


class _Run:
    """Writes progress of one run to its row (and to the caller's callback, e.g. Celery task state)."""

    def __init__(self, version: ModelVersion, on_progress: ProgressCallback | None) -> None:
        self.version = version
        self.on_progress = on_progress
        self.timings: dict[str, float] = {}
        self.stage = ""
        self.stage_started = time.perf_counter()
        self.expected: dict[str, float] = {}

    def update(self, **fields: Any) -> None:
        ModelVersion.objects.filter(pk=self.version.pk).update(**fields)
        for key, value in fields.items():
            setattr(self.version, key, value)

    def enter(self, stage: str, *, status: str | None = None, **fields: Any) -> None:
        now = time.perf_counter()
        if self.stage:
            self.timings[self.stage] = round(now - self.stage_started, 4)
        self.stage, self.stage_started = stage, now
        if status is not None:
            fields["status"] = status
        percent = float(_STAGE_START.get(stage, self.version.progress))
        self.update(stage=stage, progress=percent, heartbeat_at=timezone.now(), timings=dict(self.timings), **fields)
        self._report(percent)

    def finish_stage(self) -> None:
        if self.stage:
            self.timings[self.stage] = round(time.perf_counter() - self.stage_started, 4)
            self.stage = ""

    def beat(self) -> None:
        """Heartbeat thread: record liveness and move the bar inside long stages (estimated from the last run)."""
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        expected = self.expected.get(self.stage)
        if expected:
            low, high = _STAGE_START.get(self.stage, 0), _STAGE_END.get(self.stage, 0)
            share = min(0.95, (time.perf_counter() - self.stage_started) / expected)
            fields["progress"] = round(low + (high - low) * share, 1)
        ModelVersion.objects.filter(pk=self.version.pk, status__in=PENDING_STATUSES).update(**fields)
        if "progress" in fields:
            self._report(fields["progress"])

    def _report(self, percent: float) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(percent, self.stage)
            except Exception:
                logger.exception("Progress callback failed.")


def _expected_stage_seconds(*, model_name: str, exclude: int) -> dict[str, float]:
    previous = (
        ModelVersion.objects.filter(model_name=model_name, status__in=[Status.ACTIVE, Status.READY, Status.RETIRED])
        .exclude(pk=exclude)
        .values_list("timings", flat=True)
        .first()
    )
    return {key: float(value) for key, value in (previous or {}).items() if isinstance(value, (int, float))}


def _metric_k(metric: str) -> int:
    _, _, k = metric.partition("@")
    return int(k) if k.isdigit() else 10


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _jsonable_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: (_finite(value) if isinstance(value, (int, float, np.floating)) else value) for key, value in metrics.items()}


def promotion_decision(
    *, metric: str, margin: float, challenger: dict[str, Any], champion: ModelVersion | None, forced: bool
) -> tuple[bool, str]:
    """Champion/challenger: ``(promote, note)``; the margin is relative (0.02 = may be 2 % worse)."""
    if forced:
        return True, "Forced by an admin."
    if champion is None:
        return True, "No active version: the first one is promoted."
    new, old = _finite(challenger.get(metric)), _finite(champion.metrics.get(metric))
    if new is None:
        return False, f"Not promoted: {metric} could not be computed."
    if old is None:
        return True, f"Promoted: the active version v{champion.pk} has no {metric}."
    lower_is_better = metric.startswith(LOWER_IS_BETTER)
    if lower_is_better:
        limit = old * (1 + margin)
        ok = new <= limit + 1e-12
    else:
        limit = old * (1 - margin)
        ok = new >= limit - 1e-12
    comparison = f"{metric} {new:.4f} vs v{champion.pk} {old:.4f} (limit {limit:.4f}, margin {margin:.0%})"
    return ok, ("Promoted: " if ok else "Not promoted: ") + comparison


def model_version_train(*, version_id: int, task_id: str = "", on_progress: ProgressCallback | None = None) -> ModelVersion:
    """Run the whole pipeline for one version (see the module docstring). Harmless to call again.

    Raises LockBusy when another process holds the model's training lock, and the TRANSIENT_ERRORS as they
    come (the row stays pending, for a retry); every other error marks the row failed and is not raised.
    """
    version = ModelVersion.objects.get(pk=version_id)
    if version.status not in PENDING_STATUSES:
        logger.info("Version %s is already %s: nothing to do.", version.pk, version.status)
        return version
    handle = lock_acquire(name=_lock_name(version.model_name), ttl=django_settings.VITRINE_TRAINING_LOCK_TTL,
                          owner=f"v{version.pk}")
    if handle is None:
        raise LockBusy(_lock_name(version.model_name), lock_owner(name=_lock_name(version.model_name)))
    run = _Run(version, on_progress)
    try:
        version.refresh_from_db()
        if version.status not in PENDING_STATUSES:  # finished between our first read and the lock
            return version
        if not locks_are_shared() and not _claim(version.pk):
            # Process-local lock (embedded default): the row itself is the lock across processes.
            raise LockBusy(_lock_name(version.model_name), "another process (recent heartbeat)")
        if version.status != Status.QUEUED:
            logger.warning("Version %s was left %s by a lost worker: training it again.", version.pk, version.status)
        run.expected = _expected_stage_seconds(model_name=version.model_name, exclude=version.pk)
        logger.info("Training version %s (%s), task %s.", version.pk, version.model_name, task_id or "-")
        run.update(task_id=task_id or version.task_id, error="", promotion_note="", metrics={}, timings={})
        with LockHeartbeat(handle, on_beat=run.beat, interval=min(HEARTBEAT_SECONDS, handle.ttl / 3)):
            _pipeline(run, lock=handle)
    except LockBusy:
        raise
    except TRANSIENT_ERRORS:
        logger.warning("Transient error training version %s: it stays pending for a retry.", version.pk, exc_info=True)
        # Free the row for the retry; if the database is the problem, the claim expires by itself.
        with contextlib.suppress(TRANSIENT_ERRORS):
            ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=None)
        raise
    except Exception as exc:
        logger.exception("Training version %s failed.", version.pk)
        model_version_fail(version_id=version.pk, error=_error_text(exc, stage=run.stage), timings=run.timings)
    finally:
        lock_release(handle=handle)
    version.refresh_from_db()
    return version


def _claim(version_id: int) -> bool:
    """Take a queued row, or one whose heartbeat stopped (atomic conditional update)."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=CLAIM_STALE_SECONDS)
    return bool(
        ModelVersion.objects.filter(pk=version_id)
        .filter(Q(status=Status.QUEUED) | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale))
        .update(status=Status.TRAINING, heartbeat_at=now)
    )


def _error_text(exc: BaseException, *, stage: str) -> str:
    tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
    return f"{stage or 'start'}: {type(exc).__name__}: {exc}\n\n{tail}"[:4000]


def _pipeline(run: _Run, *, lock) -> None:
    from ml.evaluation.evaluator import evaluate_model
    from ml.index import index_from_vectors
    from ml.models.registry import model_from_config
    from ml.split import temporal_split

    version = run.version
    settings = recommender_settings_get()
    config = dict(version.params.get("config") or {"name": version.model_name})
    weights = dict(settings.event_type_weights)
    end = timezone.now()
    start = end - dt.timedelta(days=settings.training_window_days)
    metric = settings.promotion_metric
    k = _metric_k(metric)
    started = time.perf_counter()

    run.enter("snapshot", status=Status.TRAINING, data_start=start, data_end=end)
    snapshot = training_snapshot(start=start, end=end)
    if len(snapshot) == 0:
        raise ValueError(f"No events with a user between {start:%Y-%m-%d} and {end:%Y-%m-%d}.")

    run.enter("dataset", n_events=len(snapshot))
    data = training_dataset_build(snapshot=snapshot, event_type_weights=weights)
    del snapshot
    if data.nnz == 0:
        raise ValueError("No positive interactions in the window (check the event-type weights).")

    run.enter("train", n_users=data.n_users, n_items=data.n_items)
    train, test = temporal_split(data, test_size=HOLDOUT_FRACTION)
    model = model_from_config(config)
    model.fit(train)

    run.enter("evaluate", status=Status.EVALUATING)
    if test.nnz:
        result = evaluate_model(model, train, test, k=k, fit=False, max_users=EVALUATION_MAX_USERS)
        metrics = _jsonable_metrics(result["metrics"])
        metrics["n_eval_users"] = result["n_users"]
    else:
        metrics = {}
    cutoff = test.meta.get("cutoff")
    run.update(
        metrics=metrics,
        params={
            "config": config,
            "hyperparameters": model.get_params(),
            "event_type_weights": weights,
            "window_days": settings.training_window_days,
            "holdout": {"fraction": HOLDOUT_FRACTION, "cutoff": cutoff, "test_interactions": int(test.nnz), "k": k},
            "promotion_metric": metric,
            "train_nnz": int(train.nnz),
            "nnz": int(data.nnz),
        },
    )
    del train, test, model

    run.enter("refit", status=Status.TRAINING)
    model = model_from_config(config).fit(data)

    run.enter("index")
    embeddings = model.item_embeddings()
    index = None
    if embeddings is not None and len(embeddings):
        index = index_from_vectors(embeddings, exact_max_items=settings.ann_exact_max_items)
    artifact_path, checksums = model_store.version_artifacts_write(
        version_id=version.pk, model_name=version.model_name, model=model, index=index,
        meta={"trained_at": timezone.now().isoformat(), "data_start": start.isoformat(), "data_end": end.isoformat(),
              "n_users": data.n_users, "n_items": data.n_items, "n_events": version.n_events, "metrics": metrics},
    )
    run.update(artifact_path=artifact_path, checksums=checksums)
    del model, index, data

    run.enter("swap")
    model_store.serving_model_load(version=version)  # what we activate must load (checksums, format)
    if lock.lost:
        raise RuntimeError("Lost the training lock (heartbeat expired): not activating.")
    run.finish_stage()
    run.timings["total"] = round(time.perf_counter() - started, 4)
    _finish(version=version, timings=run.timings, metric=metric, margin=settings.promotion_margin)
    if run.on_progress is not None:
        run.stage = "done"
        run._report(100.0)
    model_versions_prune(keep=settings.keep_versions)


def _finish(*, version: ModelVersion, timings: dict[str, float], metric: str, margin: float) -> None:
    """Mark the version ready, then activate it if it wins (one transaction, serialized by a row lock)."""
    swap_started = time.perf_counter()
    with transaction.atomic():
        RecommenderSettings.objects.select_for_update().filter(pk=1).first()  # serializes concurrent promotions
        champion = ModelVersion.objects.filter(status=Status.ACTIVE).exclude(pk=version.pk).first()
        promote, note = promotion_decision(
            metric=metric, margin=margin, challenger=version.metrics, champion=champion, forced=version.forced
        )
        now = timezone.now()
        fields: dict[str, Any] = {"status": Status.READY, "progress": 100.0, "stage": "done", "finished_at": now,
                                  "promotion_note": note, "heartbeat_at": now}
        if promote:
            if champion is not None:
                ModelVersion.objects.filter(pk=champion.pk).update(status=Status.RETIRED)
            fields.update(status=Status.ACTIVE, activated_at=now)
        timings["swap"] = round(timings.get("swap", 0) + time.perf_counter() - swap_started, 4)
        fields["timings"] = timings
        ModelVersion.objects.filter(pk=version.pk).update(**fields)
        if promote:
            transaction.on_commit(lambda: model_store.active_version_stamp_set(version_id=version.pk))
    logger.info("Version %s %s. %s", version.pk, fields["status"], note)


# ------------------------------------------------------------------------------------ admin actions
def model_versions_progress() -> list[dict[str, Any]]:
    """Queued and running versions with their progress (the admin's live progress bars)."""
    return list(
        ModelVersion.objects.filter(status__in=PENDING_STATUSES)
        .order_by("created_at")
        .values("id", "model_name", "status", "stage", "progress")
    )



def model_version_activate(*, version_id: int, note: str = "") -> ModelVersion:
    """Make a kept version active now (admin "activate" / rollback); its artifacts must verify and load."""
    version = ModelVersion.objects.get(pk=version_id)
    if version.status not in (Status.READY, Status.RETIRED, Status.ACTIVE):
        raise ValueError(f"Version {version.pk} cannot be activated ({version.get_status_display()}): only a ready "
                         "or retired version with artifacts can.")
    model_store.serving_model_load(version=version)  # raises on missing / tampered artifacts
    with transaction.atomic():
        RecommenderSettings.objects.select_for_update().filter(pk=1).first()
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.status == Status.ACTIVE:
            return version
        ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.RETIRED)
        version.status = Status.ACTIVE
        version.activated_at = timezone.now()
        version.forced = True
        version.promotion_note = note or "Activated by an admin."
        version.save(update_fields=["status", "activated_at", "forced", "promotion_note"])
        transaction.on_commit(lambda: model_store.active_version_stamp_set(version_id=version.pk))
    return version


def model_version_fail(*, version_id: int, error: str, timings: dict[str, float] | None = None) -> None:
    """Record a failure on a pending row (never touches the active version) and drop its partial artifacts."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.status not in PENDING_STATUSES:
        return
    fields: dict[str, Any] = {"status": Status.FAILED, "error": error, "finished_at": timezone.now(), "stage": "failed"}
    if timings:
        fields["timings"] = timings
    updated = ModelVersion.objects.filter(pk=version_id, status__in=PENDING_STATUSES).update(**fields)
    if updated and version.artifact_path:
        model_store.version_artifacts_delete(artifact_path=version.artifact_path)


def model_versions_prune(*, keep: int) -> list[int]:
    """Delete the artifacts of all but the newest ``keep`` versions (the active one is always kept)."""
    keep = max(1, int(keep))
    with_artifacts = list(
        ModelVersion.objects.filter(status__in=[Status.ACTIVE, Status.READY, Status.RETIRED, Status.FAILED])
        .exclude(artifact_path="")
        .order_by("-created_at", "-id")
        .values_list("pk", "status", "artifact_path")
    )
    kept = 0
    deleted = []
    for pk, status, artifact_path in with_artifacts:
        if status == Status.ACTIVE or (status != Status.FAILED and kept < keep):
            kept += 1
            continue
        if ModelVersion.objects.filter(pk=pk).exclude(status=Status.ACTIVE).update(
            status=Status.DELETED if status != Status.FAILED else Status.FAILED, artifact_path="", checksums={}
        ):
            model_store.version_artifacts_delete(artifact_path=artifact_path)
            deleted.append(pk)
    return deleted


def model_versions_cleanup(*, keep: int | None = None) -> dict[str, int]:
    """Periodic housekeeping: fail abandoned runs, prune old artifacts, remove orphan directories."""
    abandoned = 0
    for version in ModelVersion.objects.filter(status__in=[Status.TRAINING, Status.EVALUATING]):
        if _abandoned(version):
            model_version_fail(version_id=version.pk, error="Abandoned: the worker training it stopped (no heartbeat).")
            abandoned += 1
    pruned = model_versions_prune(keep=keep if keep is not None else recommender_settings_get().keep_versions)
    orphans = model_store.orphan_artifacts_delete(
        referenced=set(ModelVersion.objects.exclude(artifact_path="").values_list("artifact_path", flat=True))
    )
    return {"abandoned": abandoned, "pruned": len(pruned), "orphans": orphans}
