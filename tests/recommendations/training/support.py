"""What the training tests share: a small model config, planted events, the artifact directory, eager tasks."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recommendations.models import ModelVersion
from recommendations.training import artifact_root, serving_model_reset, training_trigger
from recommendations.tuning import recommender_settings_update
from tests.recommendations.planted import planted_events_create

IALS = {"name": "ials", "factors": 8, "iterations": 4, "num_threads": 1}
Status = ModelVersion.Status


@contextmanager
def training_environment(*, settings, tmp_path: Path) -> Iterator[None]:
    """Artifacts under ``tmp_path``, no cached serving model, tasks run in process."""
    from config.celery import app

    settings.VITRINE_ARTIFACT_DIR = tmp_path / "artifacts"
    serving_model_reset()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # also in the real-services pass: these tests' data is never committed
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        serving_model_reset()


def planted_world_create() -> dict:
    """Settings that train the small iALS model, and planted events to train it on."""
    recommender_settings_update(data={"training_models": [IALS], "keep_versions": 5})
    return planted_events_create()


def train_now(django_capture_on_commit_callbacks, **kwargs) -> list[ModelVersion]:
    """``training_trigger`` with its on-commit tasks run; the versions as the tasks left them."""
    with django_capture_on_commit_callbacks(execute=True):
        versions = training_trigger(**kwargs)
    return [ModelVersion.objects.get(pk=version.pk) for version in versions]


def version_dirs() -> list[str]:
    root = artifact_root()
    return sorted(path.name for path in root.iterdir()) if root.exists() else []
