"""Asking for a new version: one pending ModelVersion per model, its training task queued after commit.

At most one queued/running version per model (a partial unique constraint decides concurrent requests, so
ten "retrain now" clicks give one version); a pending row abandoned by a dead process is failed and replaced.
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.training.housekeeping import ABANDONED_ERROR, model_version_abandoned, model_version_fail
from recommendations.training.snapshot import training_data_check
from recommendations.training.states import PENDING_STATUSES, Status
from recommendations.tuning import recommender_settings_get

REQUEUE_QUEUED_AFTER_SECONDS = 60  # a trigger re-sends the task of a version queued longer than this


def _model_configs(*, settings: RecommenderSettings, model_names: list[str] | None) -> list[dict[str, Any]]:
    configured = [dict(entry) for entry in settings.training_models]
    if not model_names:
        return configured
    by_name = {entry["name"]: entry for entry in configured}
    return [by_name.get(name, {"name": name}) for name in model_names]


def model_version_request(*, config: dict[str, Any], force: bool = False) -> tuple[ModelVersion, bool]:
    """The pending version of this model, created when there is none.

    Parameters
    ----------
    config : dict
        A model config for ``ml.models.registry.model_from_config`` (``{"name": "ials", ...}``).
    force : bool
        Activate the version whatever its metrics (also set on an existing pending version).

    Returns
    -------
    (ModelVersion, bool)
        The pending version and whether this call created it. Concurrent calls create exactly one row.

    Raises
    ------
    ValueError
        Unknown model or parameter (raised here, not in the worker).
    """
    from ml.models.registry import model_from_config

    model_from_config(config)  # unknown model or parameter: ValueError now, not in the worker
    name = config["name"]
    for _ in range(3):
        existing = ModelVersion.objects.filter(model_name=name, status__in=PENDING_STATUSES).first()
        if existing is not None:
            if not model_version_abandoned(version=existing):
                if force and not existing.forced:
                    ModelVersion.objects.filter(pk=existing.pk).update(forced=True)
                    existing.forced = True
                return existing, False
            model_version_fail(version_id=existing.pk, error=ABANDONED_ERROR)
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

    Raises
    ------
    NothingToTrain
        No events to train on in the window: nothing is recorded (no failed version per model).
    ValueError
        An unknown model or parameter.
    """
    # Imported here: the task module imports this one (the task calls training_trigger).
    from recommendations.training.tasks import model_version_train_task

    settings = recommender_settings_get()
    training_data_check(window_days=settings.training_window_days, event_type_weights=dict(settings.event_type_weights))
    versions = []
    for config in _model_configs(settings=settings, model_names=model_names):
        version, created = model_version_request(config=config, force=force)
        waited = (timezone.now() - version.created_at).total_seconds()
        if created or (version.status == Status.QUEUED and waited > REQUEUE_QUEUED_AFTER_SECONDS):
            model_version_train_task.delay_on_commit(version.pk)
        versions.append(version)
    return versions
