"""Training: events in the database -> a new active model version, without downtime.

The package's one public face: other packages, apps, commands and tests import from here only.
Stages, one module each: ``snapshot`` (events -> arrays -> dataset), ``requests`` (asking for a version,
queueing its task), ``pipeline`` (one run: fit -> evaluate -> index -> save), ``promotion`` (champion/challenger,
activate, rollback), ``housekeeping`` (failures, abandoned runs, old artifacts); ``model_store`` (versioned
artifacts, the active model of a web process), ``locks``, ``schedules`` (beat rows) and ``tasks`` (Celery).

Cheap to import: torch, faiss and implicit are imported inside the functions that fit or load a model.
"""
from recommendations.training.housekeeping import model_version_fail, model_versions_cleanup, model_versions_prune
from recommendations.training.locks import (
    LockBusy,
    LockHandle,
    LockHeartbeat,
    lock_acquire,
    lock_extend,
    lock_owner,
    lock_release,
    locks_are_shared,
)
from recommendations.training.model_store import (
    ACTIVE_STAMP_KEY,
    ArtifactVerificationError,
    ServingModel,
    active_version_stamp_set,
    artifact_root,
    serving_model_get,
    serving_model_load,
    serving_model_reset,
    version_artifact_dir,
    version_artifacts_verify,
    version_artifacts_write,
)
from recommendations.training.pipeline import ProgressCallback, model_version_train, model_versions_progress
from recommendations.training.promotion import model_version_activate, model_version_finish, promotion_decision
from recommendations.training.requests import model_version_request, training_trigger
from recommendations.training.schedules import SCHEDULES, Schedule, schedules_setup
from recommendations.training.snapshot import (
    NothingToTrain,
    TrainingSnapshot,
    training_data_check,
    training_dataset_build,
    training_snapshot,
)
from recommendations.training.states import FINISHED_STATUSES, PENDING_STATUSES, TRANSIENT_ERRORS
from recommendations.training.tasks import model_version_train_task, model_versions_cleanup_task, training_retrain_task

__all__ = [
    "ACTIVE_STAMP_KEY",
    "FINISHED_STATUSES",
    "PENDING_STATUSES",
    "SCHEDULES",
    "TRANSIENT_ERRORS",
    "ArtifactVerificationError",
    "LockBusy",
    "LockHandle",
    "LockHeartbeat",
    "NothingToTrain",
    "ProgressCallback",
    "Schedule",
    "ServingModel",
    "TrainingSnapshot",
    "active_version_stamp_set",
    "artifact_root",
    "lock_acquire",
    "lock_extend",
    "lock_owner",
    "lock_release",
    "locks_are_shared",
    "model_version_activate",
    "model_version_fail",
    "model_version_finish",
    "model_version_request",
    "model_version_train",
    "model_version_train_task",
    "model_versions_cleanup",
    "model_versions_cleanup_task",
    "model_versions_progress",
    "model_versions_prune",
    "promotion_decision",
    "schedules_setup",
    "serving_model_get",
    "serving_model_load",
    "serving_model_reset",
    "training_data_check",
    "training_dataset_build",
    "training_retrain_task",
    "training_snapshot",
    "training_trigger",
    "version_artifact_dir",
    "version_artifacts_verify",
    "version_artifacts_write",
]
