"""Housekeeping: failing abandoned runs, recording failures, pruning old versions' artifacts, orphans.

Everything here is safe to repeat (the periodic cleanup task and a retried run may overlap).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.training import model_store
from recommendations.training.locks import lock_owner
from recommendations.training.states import HEARTBEAT_SECONDS, PENDING_STATUSES, Status, training_lock_name
from recommendations.tuning import recommender_settings_get

ABANDONED_ERROR = "Abandoned: the worker training it stopped (no heartbeat)."


def model_version_abandoned(*, version: ModelVersion) -> bool:
    """A training/evaluating row whose process died: no live lock and no heartbeat for a while."""
    if version.status == Status.QUEUED:
        return False
    last = version.heartbeat_at or version.created_at
    stale_after = max(3 * django_settings.VITRINE_TRAINING_LOCK_TTL, 10 * HEARTBEAT_SECONDS)
    if (timezone.now() - last).total_seconds() < stale_after:
        return False
    return lock_owner(name=training_lock_name(version.model_name)) is None


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


def rollback_target_id() -> int | None:
    """The version a rollback returns to: the most recently activated one that is no longer active."""
    return (
        ModelVersion.objects.filter(status__in=[Status.READY, Status.RETIRED], activated_at__isnull=False)
        .exclude(artifact_path="")
        .order_by("-activated_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def model_versions_prune(*, keep: int) -> list[int]:
    """Delete the artifacts of all but the newest ``keep`` versions.

    Never deleted, whatever ``keep``: the active version and the one a rollback returns to
    (:func:`rollback_target_id`), so "activate the previous version" always has its files.
    """
    keep = max(1, int(keep))
    with_artifacts = list(
        ModelVersion.objects.filter(status__in=[Status.ACTIVE, Status.READY, Status.RETIRED, Status.FAILED])
        .exclude(artifact_path="")
        .order_by("-created_at", "-id")
        .values_list("pk", "status", "artifact_path")
    )
    protected = {rollback_target_id()} - {None}
    kept = 0
    deleted = []
    for pk, status, artifact_path in with_artifacts:
        if status == Status.ACTIVE or pk in protected or (status != Status.FAILED and kept < keep):
            kept += 1
            continue
        if ModelVersion.objects.filter(pk=pk).exclude(status=Status.ACTIVE).exclude(pk__in=protected).update(
            status=Status.DELETED if status != Status.FAILED else Status.FAILED, artifact_path="", checksums={}
        ):
            model_store.version_artifacts_delete(artifact_path=artifact_path)
            deleted.append(pk)
    return deleted


def model_versions_cleanup(*, keep: int | None = None) -> dict[str, int]:
    """Periodic housekeeping: fail abandoned runs, prune old artifacts, remove orphan directories."""
    abandoned = 0
    for version in ModelVersion.objects.filter(status__in=[Status.TRAINING, Status.EVALUATING]):
        if model_version_abandoned(version=version):
            model_version_fail(version_id=version.pk, error=ABANDONED_ERROR)
            abandoned += 1
    pruned = model_versions_prune(keep=keep if keep is not None else recommender_settings_get().keep_versions)
    orphans = model_store.orphan_artifacts_delete(
        referenced=set(ModelVersion.objects.exclude(artifact_path="").values_list("artifact_path", flat=True))
    )
    return {"abandoned": abandoned, "pruned": len(pruned), "orphans": orphans}
