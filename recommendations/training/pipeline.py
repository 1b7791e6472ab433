"""One training run: a pending ModelVersion -> snapshot -> fit -> evaluate -> refit -> index -> save -> swap.

::

    snapshot   the window's events (logged-in users only) as numpy arrays (``snapshot.py``)
    dataset    ml.dataset.Interactions with the current event-type weights
    train      fit the model (registry config) on a temporal holdout split: the latest events are held out
    evaluate   ml.evaluation metrics on the holdout; stored on the row with params, data window and timings
    refit      fit again on all events (what is served must know the latest days)
    index      Faiss index over the item embeddings; model + index + version.json written to a new versioned
               directory atomically (model_store.version_artifacts_write), checksums recorded
    swap       verify the written artifacts load, then champion/challenger (``promotion.py``)
    prune      keep the last ``keep_versions`` versions' artifacts, delete older ones (``housekeeping.py``)

Guarantees: at most one process trains a version at a time (a lock with expiry, kept alive by a heartbeat);
a repeated or redelivered task is harmless (a finished row is left alone, an abandoned one is retrained from
scratch); any failure leaves the active version untouched and records the error on the row. Transient errors
(database, Redis, a busy lock) propagate for the task to retry.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings as django_settings
from django.db.models import Q
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.training import model_store
from recommendations.training.housekeeping import model_version_fail, model_versions_prune
from recommendations.training.locks import (
    LockBusy,
    LockHeartbeat,
    lock_acquire,
    lock_owner,
    lock_release,
    locks_are_shared,
)
from recommendations.training.promotion import metric_value, model_version_finish
from recommendations.training.snapshot import training_dataset_build, training_snapshot
from recommendations.training.states import (
    HEARTBEAT_SECONDS,
    PENDING_STATUSES,
    TRANSIENT_ERRORS,
    Status,
    training_lock_name,
)
from recommendations.tuning import recommender_settings_get

logger = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.1  # the latest 10 % of the window's events are the holdout
EVALUATION_MAX_USERS = 20_000  # a seeded sample of the holdout users above this
CLAIM_STALE_SECONDS = 5 * HEARTBEAT_SECONDS  # embedded mode: a running row without a heartbeat this long is free

ProgressCallback = Callable[[float, str], None]

# Progress bands per stage (percent at the start of the stage).
_STAGE_START = {"snapshot": 2, "dataset": 10, "train": 15, "evaluate": 45, "refit": 55, "index": 85, "swap": 95}
_STAGE_END = {"snapshot": 10, "dataset": 15, "train": 45, "evaluate": 55, "refit": 85, "index": 95, "swap": 99}


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


def _jsonable_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: (metric_value(value) if isinstance(value, (int, float, np.floating)) else value) for key, value in metrics.items()}


def model_version_train(*, version_id: int, task_id: str = "", on_progress: ProgressCallback | None = None) -> ModelVersion:
    """Run the whole pipeline for one version (see the module docstring). Harmless to call again.

    Parameters
    ----------
    version_id : int
        The pending ModelVersion; a finished one is returned as it is.
    task_id : str
        The Celery task id, recorded on the row.
    on_progress : callable, optional
        ``on_progress(percent, stage)`` after each stage and heartbeat; its errors are logged, never raised.

    Returns
    -------
    ModelVersion
        The row as the run left it (active, ready or failed).

    Raises
    ------
    LockBusy
        Another process holds the model's training lock.
    TRANSIENT_ERRORS
        As they come (the row stays pending, for a retry); every other error marks the row failed and is not
        raised.
    """
    version = ModelVersion.objects.get(pk=version_id)
    if version.status not in PENDING_STATUSES:
        logger.info("Version %s is already %s: nothing to do.", version.pk, version.status)
        return version
    handle = lock_acquire(name=training_lock_name(version.model_name), ttl=django_settings.VITRINE_TRAINING_LOCK_TTL,
                          owner=f"v{version.pk}")
    if handle is None:
        raise LockBusy(training_lock_name(version.model_name), lock_owner(name=training_lock_name(version.model_name)))
    run = _Run(version, on_progress)
    try:
        version.refresh_from_db()
        if version.status not in PENDING_STATUSES:  # finished between our first read and the lock
            return version
        if not locks_are_shared() and not _claim(version.pk):
            # Process-local lock (embedded default): the row itself is the lock across processes.
            raise LockBusy(training_lock_name(version.model_name), "another process (recent heartbeat)")
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
    model_version_finish(version=version, timings=run.timings, metric=metric, margin=settings.promotion_margin)
    if run.on_progress is not None:
        run.stage = "done"
        run._report(100.0)
    model_versions_prune(keep=settings.keep_versions)



def model_versions_progress() -> list[dict[str, Any]]:
    """Queued and running versions with their progress (the admin's live progress bars)."""
    return list(
        ModelVersion.objects.filter(status__in=PENDING_STATUSES)
        .order_by("created_at")
        .values("id", "model_name", "status", "stage", "progress")
    )
