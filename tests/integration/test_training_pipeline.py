"""The training pipeline with a real Redis broker, real Celery workers and PostgreSQL."""
import os
import signal
import threading
import time
import uuid

import pytest
from celery.result import AsyncResult
from django.db import connection

from recommendations.models import ModelVersion
from recommendations.training import (
    model_version_request,
    model_version_train,
    model_version_train_task,
    serving_model_get,
    serving_model_reset,
    training_trigger,
)
from recommendations.tuning import recommender_settings_update
from tests.integration.conftest import worker_start, worker_stop
from tests.recommendations.planted import planted_events_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST = {"name": "ials", "factors": 8, "iterations": 4, "num_threads": 1}
SLOW = {"name": "ials", "factors": 64, "iterations": 900, "num_threads": 1}  # ~2 s per fit: time to kill it
Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def _shared_artifacts(settings, integration_artifact_dir):
    settings.VITRINE_ARTIFACT_DIR = integration_artifact_dir  # the workers write here, this process serves
    serving_model_reset()
    yield
    serving_model_reset()


def _wait(predicate, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _finished(version_id: int) -> ModelVersion | None:
    version = ModelVersion.objects.get(pk=version_id)
    return version if version.status not in (Status.QUEUED, Status.TRAINING, Status.EVALUATING) else None


def test_retrain_end_to_end_through_the_worker_and_the_web_side_swaps(celery_worker_process):
    recommender_settings_update(data={"training_models": [FAST]})
    planted_events_create(prefix="e2e")
    assert serving_model_get() is None

    [version] = training_trigger()  # outside a transaction: queued at once
    version = _wait(lambda: _finished(version.pk), timeout=60, what="the retrain")

    assert version.status == Status.ACTIVE, version.error
    assert version.task_id and AsyncResult(version.task_id).get(timeout=10)["status"] == Status.ACTIVE
    assert version.metrics["ndcg@10"] > 0 and version.timings["total"] > 0
    served = serving_model_get()  # the worker's stamp, read from Redis: no restart, no reset
    assert served is not None and served.version_id == version.pk and served.index is not None


def test_ten_concurrent_triggers_give_exactly_one_new_version(celery_worker_process):
    recommender_settings_update(data={"training_models": [FAST]})
    planted_events_create(prefix="race")
    before = set(ModelVersion.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(10)
    returned, errors = [], []

    def click() -> None:
        try:
            barrier.wait()
            returned.extend(version.pk for version in training_trigger(model_names=["ials"]))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    new = set(ModelVersion.objects.values_list("pk", flat=True)) - before
    assert len(new) == 1 and set(returned) == new
    [version_id] = new
    duplicates = [model_version_train_task.delay(version_id) for _ in range(3)]  # redelivered copies
    version = _wait(lambda: _finished(version_id), timeout=60, what="the retrain")
    assert version.status in (Status.ACTIVE, Status.READY), version.error
    assert all(result.get(timeout=30)["status"] == version.status for result in duplicates)
    log = celery_worker_process["log_path"].read_text()
    assert log.count(f"Training version {version_id} (ials)") == 1  # trained once, whatever was sent


def test_worker_killed_mid_training_keeps_serving_and_the_redelivered_task_finishes(
    integration_database_url, integration_artifact_dir, tmp_path
):
    from config.celery import app

    planted_events_create(prefix="kill", n_users=300, n_items=200, per_user=20)
    old, _ = model_version_request(config=FAST)
    assert model_version_train(version_id=old.pk).status == Status.ACTIVE
    assert serving_model_get().version_id == old.pk

    queue = f"vitrine-kill-{uuid.uuid4().hex[:8]}"
    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, queue
    env = {"VITRINE_ARTIFACT_DIR": str(integration_artifact_dir), "VITRINE_TRAINING_LOCK_TTL": "2",
           # Redis gives an unacknowledged message to another worker after the visibility timeout.
           "CELERY_VISIBILITY_TIMEOUT": "4", "CELERY_UNACKED_RESTORE_INTERVAL": "1", "CELERY_UNACKED_RESTORE_THROTTLE": "1"}
    log_path = tmp_path / "kill-worker.log"
    log_path.touch()
    first = worker_start(queue=queue, database_url=integration_database_url, log_path=log_path, extra_env=env,
                         new_session=True)
    second = None
    try:
        recommender_settings_update(data={"training_models": [SLOW]})
        [version] = training_trigger(force=True)
        _wait(lambda: ModelVersion.objects.filter(pk=version.pk, stage="train").exists(), timeout=30,
              what="training to start")
        task = AsyncResult(ModelVersion.objects.get(pk=version.pk).task_id)
        _wait(lambda: task.state == "PROGRESS", timeout=10, what="the task's progress state")
        assert task.info["version_id"] == version.pk and 15 <= task.info["percent"] < 45
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool child, mid-fit
        first.wait(timeout=10)

        version.refresh_from_db()
        assert version.status == Status.TRAINING and not version.artifact_path
        assert ModelVersion.objects.get(status=Status.ACTIVE).pk == old.pk
        assert serving_model_get().version_id == old.pk

        second = worker_start(queue=queue, database_url=integration_database_url, log_path=log_path, extra_env=env)
        try:
            version = _wait(lambda: _finished(version.pk), timeout=60, what="the redelivered task", interval=0.2)
        except AssertionError:
            print(log_path.read_text())  # shown by pytest on failure
            raise
        assert version.status == Status.ACTIVE, version.error
        assert "was left training by a lost worker" in log_path.read_text()
        assert serving_model_get().version_id == version.pk
    finally:
        app.conf.task_default_queue = previous_queue
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            worker_stop(second)
