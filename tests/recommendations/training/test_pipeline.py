"""One training run on the embedded default (eager tasks): train, evaluate, index, save, swap; failures, locks, progress."""
import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.training import (
    LockBusy,
    lock_acquire,
    lock_release,
    model_store,
    model_version_request,
    model_version_train,
    model_version_train_task,
    pipeline,
    serving_model_get,
)
from recommendations.tuning import recommender_settings_update
from tests.recommendations.training.support import IALS, Status, train_now, version_dirs


@pytest.mark.django_db
def test_retrain_trains_evaluates_activates_and_serves(planted, django_capture_on_commit_callbacks):
    [version] = train_now(django_capture_on_commit_callbacks)

    assert version.status == Status.ACTIVE, version.error
    assert version.model_name == "ials" and version.progress == 100
    assert version.n_events == planted["n_events"] and version.n_users == 30
    assert 0 < version.metrics["ndcg@10"] <= 1 and version.metrics["n_eval_users"] > 0
    assert {"snapshot", "dataset", "train", "evaluate", "refit", "index", "swap", "total"} <= set(version.timings)
    assert version.params["event_type_weights"]["purchase"] == 8.0 and version.params["config"] == IALS
    assert version.data_end - version.data_start == dt.timedelta(days=365)
    assert {"model/arrays.npz", "index/index.faiss", "version.json"} <= set(version.checksums)
    assert version_dirs() == [f"v{version.pk:06d}-ials"]  # no temporary directory left behind

    serving = serving_model_get()
    assert serving.version_id == version.pk and serving.model_name == "ials"
    assert set(serving.item_ids.tolist()) <= set(planted["item_pks"].tolist())
    assert set(serving.user_ids.tolist()) == set(planted["user_pks"].tolist())
    assert serving.index.n_items_ == len(serving.item_ids) == serving.model.n_items
    ids, _ = serving.model.recommend(serving.user_ids[:2], k=5)
    assert ids.shape == (2, 5) and set(ids.ravel().tolist()) <= set(serving.item_ids.tolist())


@pytest.mark.django_db
def test_a_failure_at_any_step_records_the_error_and_keeps_the_active_version(planted, django_capture_on_commit_callbacks, monkeypatch):
    [good] = train_now(django_capture_on_commit_callbacks)

    def broken_write(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_store, "version_artifacts_write", broken_write)
    [bad] = train_now(django_capture_on_commit_callbacks)

    assert bad.status == Status.FAILED and bad.error.startswith("index: OSError: disk full")
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == good.pk
    assert serving_model_get().version_id == good.pk
    assert version_dirs() == [f"v{good.pk:06d}-ials"]


@pytest.mark.django_db
def test_an_unloadable_artifact_is_never_activated(planted, django_capture_on_commit_callbacks, monkeypatch):
    [good] = train_now(django_capture_on_commit_callbacks)
    real_write = model_store.version_artifacts_write

    def write_then_truncate(**kwargs):
        path, checksums = real_write(**kwargs)
        target = model_store.version_artifact_dir(artifact_path=path) / "model" / "arrays.npz"
        target.write_bytes(target.read_bytes()[:100])
        return path, checksums

    monkeypatch.setattr(model_store, "version_artifacts_write", write_then_truncate)
    [bad] = train_now(django_capture_on_commit_callbacks)
    assert bad.status == Status.FAILED and "checksum mismatch" in bad.error
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == good.pk


@pytest.mark.django_db
def test_transient_errors_leave_the_version_pending_for_a_retry(planted, monkeypatch):
    version, _ = model_version_request(config=IALS)

    def flaky(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(pipeline, "training_snapshot", flaky)
    with pytest.raises(OperationalError):
        model_version_train(version_id=version.pk)
    version.refresh_from_db()
    assert version.status == Status.TRAINING and not version.error
    monkeypatch.undo()
    assert model_version_train(version_id=version.pk).status == Status.ACTIVE  # the retry finishes the job


@pytest.mark.django_db
def test_empty_window_fails_with_a_readable_error(db):
    recommender_settings_update(data={"training_models": [IALS]})
    version, _ = model_version_request(config=IALS)
    version = model_version_train(version_id=version.pk)
    assert version.status == Status.FAILED and "No events with a user" in version.error


@pytest.mark.django_db
def test_one_retrain_per_model_at_a_time(planted):
    version, _ = model_version_request(config=IALS)
    handle = lock_acquire(name="training:ials", ttl=30, owner="someone-else")
    try:
        with pytest.raises(LockBusy, match="someone-else"):
            model_version_train(version_id=version.pk)
        assert ModelVersion.objects.get(pk=version.pk).status == Status.QUEUED
        assert model_version_train_task.delay(version.pk).get()["status"] == "busy"
    finally:
        lock_release(handle=handle)
    assert model_version_train(version_id=version.pk).status == Status.ACTIVE


@pytest.mark.django_db
def test_progress_is_reported_stage_by_stage(planted):
    version, _ = model_version_request(config=IALS)
    seen = []
    model_version_train(version_id=version.pk, on_progress=lambda percent, stage: seen.append((percent, stage)))
    assert [stage for _, stage in seen] == ["snapshot", "dataset", "train", "evaluate", "refit", "index", "swap", "done"]
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100


@pytest.mark.django_db
def test_without_a_shared_lock_the_row_keeps_two_processes_apart(planted, monkeypatch):
    monkeypatch.setattr(pipeline, "locks_are_shared", lambda: False)  # the embedded default's local-memory cache
    version, _ = model_version_request(config=IALS)
    ModelVersion.objects.filter(pk=version.pk).update(status=Status.TRAINING, heartbeat_at=timezone.now())
    with pytest.raises(LockBusy, match="recent heartbeat"):  # another process is training it right now
        model_version_train(version_id=version.pk)
    ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=1))
    assert model_version_train(version_id=version.pk).status == Status.ACTIVE  # that process died: take over
