"""The training pipeline on the embedded default (eager tasks): snapshot, train, evaluate, promote, swap."""
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from recommendations.models import Event, ModelVersion
from recommendations.tasks import model_version_train_task
from recommendations.training import model_store
from recommendations.training import pipeline as training
from recommendations.training.locks import LockBusy, lock_acquire, lock_release
from recommendations.training.model_store import serving_model_get, serving_model_reset
from recommendations.training.pipeline import (
    model_version_activate,
    model_version_request,
    model_version_train,
    promotion_decision,
    training_snapshot,
    training_trigger,
)
from recommendations.training.schedules import SCHEDULES
from recommendations.tuning import recommender_settings_update
from tests.factories import EventFactory, ItemFactory, UserFactory
from tests.recommendations.planted import planted_events_create

IALS = {"name": "ials", "factors": 8, "iterations": 4, "num_threads": 1}
Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def _artifacts_and_eager_tasks(settings, tmp_path):
    from config.celery import app

    settings.VITRINE_ARTIFACT_DIR = tmp_path / "artifacts"
    serving_model_reset()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # also in the real-services pass: these tests' data is never committed
    yield
    app.conf.task_always_eager = eager
    serving_model_reset()


@pytest.fixture
def planted(db):
    recommender_settings_update(data={"training_models": [IALS], "keep_versions": 5})
    return planted_events_create()


def _train(django_capture_on_commit_callbacks, **kwargs) -> list[ModelVersion]:
    with django_capture_on_commit_callbacks(execute=True):
        versions = training_trigger(**kwargs)
    return [ModelVersion.objects.get(pk=version.pk) for version in versions]


def _version_dirs() -> list[str]:
    root = model_store.artifact_root()
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


# ------------------------------------------------------------------------------------------- snapshot
@pytest.mark.django_db
def test_snapshot_streams_the_window_of_logged_in_events_in_chunks():
    now = timezone.now()
    user, other = UserFactory(), UserFactory()
    items = ItemFactory.create_batch(3)
    inside = [
        EventFactory(user=user, item=items[0], event_type="purchase", value=None, timestamp=now - dt.timedelta(days=1)),
        EventFactory(user=other, item=items[1], event_type="rating", value=4.5, timestamp=now - dt.timedelta(days=2)),
        EventFactory(user=user, item=items[2], event_type="skip", timestamp=now - dt.timedelta(hours=3)),
    ]
    EventFactory(user=user, item=items[1], timestamp=now - dt.timedelta(days=40))  # before the window
    EventFactory(user=None, session_key="anon", item=items[1], timestamp=now - dt.timedelta(days=1))  # no user
    for n in range(20):  # more rows than one chunk
        inside.append(EventFactory(user=other, item=items[n % 3], event_type="view", timestamp=now - dt.timedelta(minutes=n + 1)))

    snapshot = training_snapshot(start=now - dt.timedelta(days=30), end=now, chunk_rows=7)

    assert len(snapshot) == len(inside)
    got = sorted(zip(snapshot.user_ids.tolist(), snapshot.item_ids.tolist(), snapshot.event_types.tolist(),
                     np.round(snapshot.timestamps, 3).tolist(), strict=False))
    expected = sorted((e.user_id, e.item_id, e.event_type, round(e.timestamp.timestamp(), 3)) for e in inside)
    assert got == expected
    values = dict(zip(snapshot.event_types.tolist(), snapshot.values.tolist(), strict=False))
    assert values["rating"] == 4.5 and np.isnan(values["purchase"])
    if connection.vendor == "postgresql":  # the COPY reader and the portable reader agree
        portable = training._snapshot_iterator(start=snapshot.start, end=snapshot.end, chunk_rows=5)
        assert sorted(np.concatenate([c["user"] for c in portable]).tolist()) == sorted(snapshot.user_ids.tolist())


@pytest.mark.django_db
def test_snapshot_carries_device_and_local_hour_into_the_dataset_log():
    now = timezone.now()
    user, item = UserFactory(), ItemFactory()
    contexts = [{"device": "mobile", "local_hour": 21}, {"device": "toaster", "local_hour": 30}, {}, {"local_hour": 7}]
    for n, context in enumerate(contexts):
        EventFactory(user=user, item=item, context=context, timestamp=now - dt.timedelta(hours=len(contexts) - n))
    snapshot = training_snapshot(start=now - dt.timedelta(days=1), end=now)
    order = np.argsort(snapshot.timestamps)
    context = snapshot.context()
    assert context["device"][order].tolist() == ["mobile", "", "", ""]  # unknown or invalid -> ""
    hours = context["hour"][order]
    assert hours[0] == 21 and hours[3] == 7 and np.isnan(hours[1]) and np.isnan(hours[2])
    dataset = training.training_dataset_build(snapshot=snapshot, event_type_weights={"view": 1.0})
    assert sorted(dataset.log.context["device"].tolist()) == ["", "", "", "mobile"]
    if connection.vendor == "postgresql":  # the COPY reader and the portable reader agree
        portable = training._snapshot_iterator(start=snapshot.start, end=snapshot.end, chunk_rows=2)
        assert sorted(np.concatenate([c["hour"] for c in portable]).tolist()) == sorted(snapshot.local_hours.tolist())


# -------------------------------------------------------------------------------------- end to end
@pytest.mark.django_db
def test_retrain_trains_evaluates_activates_and_serves(planted, django_capture_on_commit_callbacks):
    [version] = _train(django_capture_on_commit_callbacks)

    assert version.status == Status.ACTIVE, version.error
    assert version.model_name == "ials" and version.progress == 100
    assert version.n_events == planted["n_events"] and version.n_users == 30
    assert 0 < version.metrics["ndcg@10"] <= 1 and version.metrics["n_eval_users"] > 0
    assert {"snapshot", "dataset", "train", "evaluate", "refit", "index", "swap", "total"} <= set(version.timings)
    assert version.params["event_type_weights"]["purchase"] == 8.0 and version.params["config"] == IALS
    assert version.data_end - version.data_start == dt.timedelta(days=365)
    assert {"model/arrays.npz", "index/index.faiss", "version.json"} <= set(version.checksums)
    assert _version_dirs() == [f"v{version.pk:06d}-ials"]  # no temporary directory left behind

    serving = serving_model_get()
    assert serving.version_id == version.pk and serving.model_name == "ials"
    assert set(serving.item_ids.tolist()) <= set(planted["item_pks"].tolist())
    assert set(serving.user_ids.tolist()) == set(planted["user_pks"].tolist())
    assert serving.index.n_items_ == len(serving.item_ids) == serving.model.n_items
    ids, _ = serving.model.recommend(serving.user_ids[:2], k=5)
    assert ids.shape == (2, 5) and set(ids.ravel().tolist()) <= set(serving.item_ids.tolist())


@pytest.mark.django_db
def test_a_worse_challenger_stays_ready_and_an_admin_can_force_or_roll_back(planted, django_capture_on_commit_callbacks):
    [first] = _train(django_capture_on_commit_callbacks)
    ModelVersion.objects.filter(pk=first.pk).update(metrics={**first.metrics, "ndcg@10": 0.999})

    [second] = _train(django_capture_on_commit_callbacks)
    assert second.status == Status.READY and second.promotion_note.startswith("Not promoted: ndcg@10")
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == first.pk
    assert serving_model_get().version_id == first.pk

    [third] = _train(django_capture_on_commit_callbacks, force=True)
    assert third.status == Status.ACTIVE and third.forced
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=second.pk)  # roll back to a kept, never-active version
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == second.pk
    assert set(ModelVersion.objects.filter(pk__in=[first.pk, third.pk]).values_list("status", flat=True)) == {Status.RETIRED}
    assert serving_model_get().version_id == second.pk  # the stamp changed: picked up without a reset


def test_promotion_decision_uses_a_relative_margin_and_the_metric_direction():
    champion = ModelVersion(pk=7, metrics={"ndcg@10": 0.50, "rmse": 1.0})
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.491}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.489}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="rmse", margin=0.02, challenger={"rmse": 1.03}, champion=champion, forced=False)[0]
    assert promotion_decision(metric="rmse", margin=0.02, challenger={"rmse": 0.9}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="ndcg@10", margin=0.02, challenger={}, champion=champion, forced=False)[0]
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={}, champion=champion, forced=True)[0]
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.1}, champion=None, forced=False)[0]


# ------------------------------------------------------------------------------------------ failures
@pytest.mark.django_db
def test_a_failure_at_any_step_records_the_error_and_keeps_the_active_version(planted, django_capture_on_commit_callbacks, monkeypatch):
    [good] = _train(django_capture_on_commit_callbacks)

    def broken_write(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_store, "version_artifacts_write", broken_write)
    [bad] = _train(django_capture_on_commit_callbacks)

    assert bad.status == Status.FAILED and bad.error.startswith("index: OSError: disk full")
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == good.pk
    assert serving_model_get().version_id == good.pk
    assert _version_dirs() == [f"v{good.pk:06d}-ials"]


@pytest.mark.django_db
def test_an_unloadable_artifact_is_never_activated(planted, django_capture_on_commit_callbacks, monkeypatch):
    [good] = _train(django_capture_on_commit_callbacks)
    real_write = model_store.version_artifacts_write

    def write_then_truncate(**kwargs):
        path, checksums = real_write(**kwargs)
        target = model_store.version_artifact_dir(artifact_path=path) / "model" / "arrays.npz"
        target.write_bytes(target.read_bytes()[:100])
        return path, checksums

    monkeypatch.setattr(model_store, "version_artifacts_write", write_then_truncate)
    [bad] = _train(django_capture_on_commit_callbacks)
    assert bad.status == Status.FAILED and "checksum mismatch" in bad.error
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == good.pk


@pytest.mark.django_db
def test_transient_errors_leave_the_version_pending_for_a_retry(planted, monkeypatch):
    version, _ = model_version_request(config=IALS)

    def flaky(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(training, "training_snapshot", flaky)
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
def test_unknown_model_is_refused_before_anything_is_queued(db):
    with pytest.raises(ValueError, match="unknown model"):
        model_version_request(config={"name": "no-such-model"})
    assert not ModelVersion.objects.exists()


# ------------------------------------------------------------------------------- idempotency, locks
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
    assert ModelVersion.objects.count() == 1 and len(_version_dirs()) == 1


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
def test_an_abandoned_run_is_failed_and_replaced(planted):
    stale, _ = model_version_request(config=IALS)
    ModelVersion.objects.filter(pk=stale.pk).update(status=Status.TRAINING,
                                                    heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    fresh, created = model_version_request(config=IALS)
    assert created and fresh.pk != stale.pk
    stale.refresh_from_db()
    assert stale.status == Status.FAILED and "Abandoned" in stale.error


@pytest.mark.django_db
def test_only_the_last_versions_keep_their_artifacts(planted, django_capture_on_commit_callbacks):
    recommender_settings_update(data={"keep_versions": 2})
    versions = [_train(django_capture_on_commit_callbacks, force=True)[0] for _ in range(3)]
    statuses = list(ModelVersion.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [Status.DELETED, Status.RETIRED, Status.ACTIVE]
    assert _version_dirs() == [f"v{v.pk:06d}-ials" for v in versions[1:]]
    with pytest.raises(ValueError, match=r"cannot be activated \(Artifacts deleted\)"):
        model_version_activate(version_id=versions[0].pk)


# ------------------------------------------------------------------------------- schedules, command
@pytest.mark.django_db
def test_periodic_schedules_exist_and_setup_is_idempotent():
    names = {schedule.name for schedule in SCHEDULES}
    assert set(PeriodicTask.objects.filter(name__in=names).values_list("task", flat=True)) == {
        "recommendations.training_retrain", "recommendations.popularity_refresh", "recommendations.model_versions_cleanup",
        "recommendations.ranker_train",
    }  # created by the data migrations
    nightly = PeriodicTask.objects.get(name="Vitrine: nightly retrain")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("3", "30")
    PeriodicTask.objects.filter(name="Vitrine: nightly retrain").update(enabled=False)  # an admin's edit
    call_command("setup_schedules")
    assert PeriodicTask.objects.filter(name__in=names).count() == len(SCHEDULES)
    assert not PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled
    call_command("setup_schedules", "--reset")
    assert PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled


@pytest.mark.django_db
def test_train_command_trains_and_prints_a_summary(planted, capsys):
    call_command("train", "--model", "ials")
    out = capsys.readouterr().out
    version = ModelVersion.objects.get()
    assert version.status == Status.ACTIVE
    header = next(line for line in out.splitlines() if line.startswith("version"))
    assert "ndcg@10" in header
    assert any(line.split()[:3] == [str(version.pk), "ials", "active"] for line in out.splitlines())


# --------------------------------------------------------------------------------------------- admin
@pytest.mark.django_db
def test_admin_lists_versions_with_progress_and_retrains_now(planted, client, django_capture_on_commit_callbacks):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    pending, _ = model_version_request(config={"name": "itemknn"})
    ModelVersion.objects.filter(pk=pending.pk).update(status=Status.TRAINING, progress=42, stage="train",
                                                      heartbeat_at=timezone.now())
    url = reverse("admin:recommendations_modelversion_changelist")
    page = client.get(url).content.decode()
    assert f'data-version="{pending.pk}"' in page and 'value="42"' in page and "Retrain now" in page
    progress = client.get(reverse("admin:recommendations_modelversion_progress")).json()
    assert progress["versions"] == [{"id": pending.pk, "model_name": "itemknn", "status": "training", "stage": "train",
                                     "progress": 42.0}]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:recommendations_modelversion_retrain"), {"model": "ials"})
    assert response.status_code == 302
    trained = ModelVersion.objects.get(model_name="ials")
    assert trained.status == Status.ACTIVE  # eager tasks: trained in the request
    detail = client.get(reverse("admin:recommendations_modelversion_change", args=[trained.pk])).content.decode()
    assert "ndcg@10" in detail and "index/index.faiss" in detail


@pytest.mark.django_db
def test_admin_activate_button_rolls_back(planted, client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    [old] = _train(django_capture_on_commit_callbacks)
    [new] = _train(django_capture_on_commit_callbacks, force=True)
    assert new.status == Status.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:recommendations_modelversion_activate", args=[old.pk]))
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == old.pk
    Path(model_store.version_artifact_dir(artifact_path=new.artifact_path), "version.json").write_text("{}")
    response = client.post(reverse("admin:recommendations_modelversion_activate", args=[new.pk]), follow=True)
    assert "was not activated" in response.content.decode()  # tampered: refused, old stays active
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == old.pk
    assert Event.objects.exists()


@pytest.mark.django_db
def test_progress_is_reported_stage_by_stage(planted):
    version, _ = model_version_request(config=IALS)
    seen = []
    model_version_train(version_id=version.pk, on_progress=lambda percent, stage: seen.append((percent, stage)))
    assert [stage for _, stage in seen] == ["snapshot", "dataset", "train", "evaluate", "refit", "index", "swap", "done"]
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_then_the_error_is_recorded(planted, monkeypatch):
    from celery.exceptions import Retry

    version, _ = model_version_request(config=IALS)

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(training, "training_snapshot", down)
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
def test_without_a_shared_lock_the_row_keeps_two_processes_apart(planted, monkeypatch):
    monkeypatch.setattr(training, "locks_are_shared", lambda: False)  # the embedded default's local-memory cache
    version, _ = model_version_request(config=IALS)
    ModelVersion.objects.filter(pk=version.pk).update(status=Status.TRAINING, heartbeat_at=timezone.now())
    with pytest.raises(LockBusy, match="recent heartbeat"):  # another process is training it right now
        model_version_train(version_id=version.pk)
    ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=1))
    assert model_version_train(version_id=version.pk).status == Status.ACTIVE  # that process died: take over
