"""Training's Celery tasks: retry policy, queued after commit, time limits from settings."""

import pytest
from django.db import OperationalError

from recommendations.models import ModelVersion
from recommendations.training import (
    model_version_request,
    model_version_train_task,
    model_versions_cleanup_task,
    pipeline,
    training_retrain_task,
    training_trigger,
)
from tests.recommendations.training.support import IALS, Status


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_then_the_error_is_recorded(planted, monkeypatch):
    from celery.exceptions import Retry

    version, _ = model_version_request(config=IALS)

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(pipeline, "training_snapshot", down)
    countdowns = []

    def fake_retry(*, exc, countdown):
        countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(model_version_train_task, "retry", fake_retry)
    for retries in (0, 3):  # as a worker runs it: a retry later, with a growing delay
        model_version_train_task.push_request(id="t", retries=retries, is_eager=False)
        try:
            with pytest.raises(Retry):
                model_version_train_task.run(version.pk)
        finally:
            model_version_train_task.pop_request()
    assert 3.75 <= countdowns[0] <= 6.25 and 30 <= countdowns[1] <= 50
    assert ModelVersion.objects.get(pk=version.pk).status == Status.TRAINING  # still pending

    model_version_train_task.push_request(id="t", retries=model_version_train_task.max_retries, is_eager=False)
    try:
        result = model_version_train_task.run(version.pk)  # the last attempt
    finally:
        model_version_train_task.pop_request()
    version.refresh_from_db()
    assert result["status"] == version.status == Status.FAILED
    assert "Gave up after 6 retries: OperationalError" in version.error
    assert not ModelVersion.objects.filter(status=Status.ACTIVE).exists()


@pytest.mark.django_db
def test_the_training_task_is_queued_after_commit_and_runs_in_process(planted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [version] = training_trigger()
    assert ModelVersion.objects.get(pk=version.pk).status == Status.QUEUED  # nothing ran inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: eager on the embedded default, so it trains here
    assert ModelVersion.objects.get(pk=version.pk).status == Status.ACTIVE


def test_task_names_and_time_limits_come_from_settings(settings):
    assert model_version_train_task.name == "recommendations.model_version_train"
    assert training_retrain_task.name == "recommendations.training_retrain"
    assert model_versions_cleanup_task.name == "recommendations.model_versions_cleanup"
    assert model_version_train_task.soft_time_limit == settings.VITRINE_TRAINING_SOFT_TIME_LIMIT
    assert model_version_train_task.time_limit == settings.VITRINE_TRAINING_TIME_LIMIT


@pytest.mark.django_db
def test_scheduled_retrain_with_no_events_records_no_failed_version():
    from recommendations.training import NothingToTrain, training_retrain_task, training_trigger
    from recommendations.tuning import recommender_settings_update

    recommender_settings_update(data={"training_models": [IALS, {"name": "itemknn"}]})
    assert training_retrain_task.delay().get() == []
    with pytest.raises(NothingToTrain, match="Nothing to train on"):
        training_trigger()
    assert not ModelVersion.objects.exists()
