"""Training's Celery tasks: each takes ids, calls one service and owns its retry policy.

Their names are the ones they had in ``recommendations.tasks`` (beat rows in the database and migrations
0005/0007 name them); ``recommendations.tasks`` imports this module so autodiscovery registers them. Time
limits come from settings (``CELERY_TASK_ANNOTATIONS``), read when the app configures, not at import.
Every task here is safe to run twice: the services check the row's state first.
"""
import logging
import random

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from recommendations.training.housekeeping import model_version_fail, model_versions_cleanup
from recommendations.training.locks import LockBusy
from recommendations.training.pipeline import model_version_train
from recommendations.training.requests import training_trigger
from recommendations.training.snapshot import NothingToTrain
from recommendations.training.states import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

TRAIN_MAX_RETRIES = 6


class _TrainTask(DjangoTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # An exception escaped the task (not a recorded failure): say so on the row, unless it is a busy lock,
        # which means another live process is training this version.
        if isinstance(exc, LockBusy) or not args:
            return
        model_version_fail(version_id=args[0], error=f"Task failed: {type(exc).__name__}: {exc}")


def _backoff_seconds(retries: int) -> float:
    """5, 10, 20, 40 ... seconds (at most 5 minutes), with jitter so retries of many versions spread out."""
    return min(300.0, 5.0 * 2**retries) * random.uniform(0.75, 1.25)


@shared_task(bind=True, base=_TrainTask, name="recommendations.model_version_train", acks_late=True,
             reject_on_worker_lost=True, max_retries=TRAIN_MAX_RETRIES)
def model_version_train_task(self, version_id: int) -> dict:
    """Train, evaluate, index and maybe activate one queued ModelVersion.

    Retry policy: transient errors (database, Redis) retry with exponential backoff, then the version is
    marked failed; a busy lock retries after one lock TTL (whoever holds it either finishes the version, and
    the retry finds it done, or dies and the lock expires). In process (eager) nothing is retried.
    """

    def on_progress(percent: float, stage: str) -> None:
        if self.request.id and not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"version_id": version_id, "percent": percent, "stage": stage})

    try:
        version = model_version_train(version_id=version_id, task_id=self.request.id or "", on_progress=on_progress)
    except TRANSIENT_ERRORS as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            error = f"Gave up after {self.request.retries} retries: {type(exc).__name__}: {exc}"
            model_version_fail(version_id=version_id, error=error)
            return {"version_id": version_id, "status": "failed", "error": error}
        raise self.retry(exc=exc, countdown=_backoff_seconds(self.request.retries)) from None
    except LockBusy as exc:
        if self.request.is_eager:  # in-process (embedded default): whoever holds the lock finishes the job
            return {"version_id": version_id, "status": "busy", "error": str(exc)}
        # Another process trains it (or died holding the lock, which then expires): look again after one TTL.
        raise self.retry(exc=exc, countdown=settings.VITRINE_TRAINING_LOCK_TTL * 1.1) from None
    return {"version_id": version.pk, "status": version.status, "metrics": version.metrics,
            "promotion_note": version.promotion_note, "error": version.error[:500]}


@shared_task(name="recommendations.training_retrain", acks_late=True, soft_time_limit=60, time_limit=90,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def training_retrain_task(model_names: list[str] | None = None, force: bool = False) -> list[int]:
    """Nightly schedule / "retrain now": queue one version per configured model (or per ``model_names``).

    With nothing to train on it returns ``[]`` quietly (one log line): no failed version is recorded.
    """
    try:
        versions = training_trigger(model_names=model_names, force=force)
    except NothingToTrain as exc:
        logger.info("Retrain skipped: %s", exc)
        return []
    return [version.pk for version in versions]


@shared_task(name="recommendations.model_versions_cleanup", acks_late=True, soft_time_limit=300, time_limit=360,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def model_versions_cleanup_task() -> dict:
    """Fail abandoned runs, keep the last N versions' artifacts, remove orphan directories."""
    return model_versions_cleanup()
