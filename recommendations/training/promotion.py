"""Champion/challenger: whether a trained version replaces the active one, activation, rollback.

Web processes see a new active version on their next request (``model_store``'s stamp, set after commit).
Concurrent promotions are serialized by a row lock on the recommender settings.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.training import model_store
from recommendations.training.states import Status

logger = logging.getLogger(__name__)

LOWER_IS_BETTER = ("rmse", "mae", "gini@", "arp@")


def metric_value(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, not a number, NaN or infinite)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def promotion_decision(
    *, metric: str, margin: float, challenger: dict[str, Any], champion: ModelVersion | None, forced: bool
) -> tuple[bool, str]:
    """Champion/challenger: ``(promote, note)``; the margin is relative (0.02 = may be 2 % worse)."""
    if forced:
        return True, "Forced by an admin."
    if champion is None:
        return True, "No active version: the first one is promoted."
    new, old = metric_value(challenger.get(metric)), metric_value(champion.metrics.get(metric))
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


def model_version_finish(*, version: ModelVersion, timings: dict[str, float], metric: str, margin: float) -> None:
    """Mark a trained version ready, then activate it if it wins (one transaction, serialized by a row lock).

    Parameters
    ----------
    version : ModelVersion
        The trained version, its artifacts written and verified.
    timings : dict
        Seconds per stage so far; the swap's own time is added and the whole dict stored on the row.
    metric, margin : str, float
        The promotion metric and the relative margin (see ``promotion_decision``).
    """
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

