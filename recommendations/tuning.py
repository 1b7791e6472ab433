"""Reading and changing the singleton RecommenderSettings (every change is versioned)."""
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict

from common.services import model_update
from common.vocabulary import OPINION_EVENT_TYPES, EventType
from ml.dataset import EvidenceSemantics
from recommendations.models import RecommenderSettings, RecommenderSettingsVersion

SETTINGS_CACHE_KEY = "recommender-settings:v2"
SETTINGS_CACHE_SECONDS = 30
EDITABLE_FIELDS = [
    field.name
    for field in RecommenderSettings._meta.concrete_fields
    if field.name not in {"id", "version", "updated_at"}
]


def recommender_settings_get() -> RecommenderSettings:
    """The live settings row, created with defaults on first use; cached briefly (hot path)."""
    cached = cache.get(SETTINGS_CACHE_KEY)
    if cached is not None:
        return cached
    with transaction.atomic():
        instance, created = RecommenderSettings.objects.get_or_create(pk=1)
        if created:
            _record_version(instance=instance, changed_by=None)
    cache.set(SETTINGS_CACHE_KEY, instance, SETTINGS_CACHE_SECONDS)
    return instance


def evidence_semantics(*, settings: RecommenderSettings) -> EvidenceSemantics:
    """What events mean under ``settings`` (rating scale, dwell bounds): the one mapping that serving history,
    explanations, training and ``manage.py evaluate`` apply (see :mod:`ml.dataset.semantics`)."""
    return EvidenceSemantics(
        rating_neutral=float(settings.rating_neutral), rating_max=float(settings.rating_max),
        dwell_min_seconds=float(settings.dwell_min_seconds), dwell_full_seconds=float(settings.dwell_full_seconds),
        rating_type=EventType.RATING.value, dwell_type=EventType.DWELL.value, opinion_types=OPINION_EVENT_TYPES,
    )


def settings_snapshot(*, instance: RecommenderSettings) -> dict[str, Any]:
    return model_to_dict(instance, fields=EDITABLE_FIELDS)


def _record_version(*, instance: RecommenderSettings, changed_by: Any) -> None:
    RecommenderSettingsVersion.objects.update_or_create(
        version=instance.version,
        defaults={"snapshot": settings_snapshot(instance=instance), "changed_by": changed_by},
    )


def training_models_errors(*, training_models: Any) -> list[str]:
    """Why ``training_models`` cannot be saved (an empty list when it can): unknown or repeated model names.

    The known names come from ``ml.models.registry`` (nothing heavy is imported to list them); the shape
    (a list of objects with a "name") is checked by ``RecommenderSettings.clean``.
    """
    from ml.models.registry import available_models

    if not isinstance(training_models, list):
        return []
    names = [entry.get("name") for entry in training_models if isinstance(entry, dict)]
    known = available_models()
    unknown = [name for name in names if isinstance(name, str) and name not in known]
    errors = [f"Unknown model name(s): {', '.join(map(repr, unknown))}. Known models: {', '.join(known)}."] if unknown else []
    repeated = sorted({name for name in names if isinstance(name, str) and names.count(name) > 1})
    if repeated:
        errors.append(f"Each model may be listed once; repeated: {', '.join(map(repr, repeated))}.")
    return errors


def recommender_settings_update(*, data: dict[str, Any], changed_by: Any = None) -> RecommenderSettings:
    """Validate and apply a change; bumps the version and records it in the history.

    Raises
    ------
    ValidationError
        A value is refused (``training_models`` naming a model ``ml.models.registry`` does not know, ...).
    """
    errors = training_models_errors(training_models=data["training_models"]) if "training_models" in data else []
    if errors:
        raise ValidationError({"training_models": errors})
    with transaction.atomic():
        instance, _ = RecommenderSettings.objects.select_for_update().get_or_create(pk=1)
        instance, has_updated = model_update(instance=instance, fields=EDITABLE_FIELDS, data=data)
        if has_updated:
            recommender_settings_version_bump(instance=instance, changed_by=changed_by)
    recommender_settings_invalidate()
    return instance


def recommender_settings_version_bump(*, instance: RecommenderSettings, changed_by: Any = None) -> None:
    """Called after a saved change (service or admin form): next version number + history row."""
    latest = RecommenderSettingsVersion.objects.order_by("-version").values_list("version", flat=True).first() or 0
    instance.version = max(instance.version, latest) + 1
    RecommenderSettings.objects.filter(pk=instance.pk).update(version=instance.version)
    _record_version(instance=instance, changed_by=changed_by)


def recommender_settings_invalidate() -> None:
    cache.delete(SETTINGS_CACHE_KEY)
