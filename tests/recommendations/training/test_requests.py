"""Asking for a version: one pending row per model, unknown models refused, abandoned rows replaced."""
import datetime as dt

import pytest
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.training import (
    model_version_request,
    model_version_train_task,
)
from tests.recommendations.training.support import IALS, Status, version_dirs


@pytest.mark.django_db
def test_repeated_requests_and_tasks_are_harmless(planted, django_capture_on_commit_callbacks):
    first, created = model_version_request(config=IALS)
    again, created_again = model_version_request(config=IALS, force=True)
    assert created and not created_again and again.pk == first.pk and again.forced

    assert model_version_train_task.delay(first.pk).get()["status"] == Status.ACTIVE
    finished = ModelVersion.objects.get(pk=first.pk)
    result = model_version_train_task.delay(first.pk).get()  # a redelivered / duplicated message
    assert result["status"] == Status.ACTIVE
    assert ModelVersion.objects.get(pk=first.pk).finished_at == finished.finished_at
    assert ModelVersion.objects.count() == 1 and len(version_dirs()) == 1


@pytest.mark.django_db
def test_unknown_model_is_refused_before_anything_is_queued(db):
    with pytest.raises(ValueError, match="unknown model"):
        model_version_request(config={"name": "no-such-model"})
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_an_abandoned_run_is_failed_and_replaced(planted):
    stale, _ = model_version_request(config=IALS)
    ModelVersion.objects.filter(pk=stale.pk).update(status=Status.TRAINING,
                                                    heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    fresh, created = model_version_request(config=IALS)
    assert created and fresh.pk != stale.pk
    stale.refresh_from_db()
    assert stale.status == Status.FAILED and "Abandoned" in stale.error
