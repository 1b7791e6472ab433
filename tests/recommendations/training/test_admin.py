"""The model versions admin: live progress, "retrain now", activate / rollback."""
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.models import Event, ModelVersion
from recommendations.training import (
    model_version_request,
    version_artifact_dir,
)
from tests.factories import UserFactory
from tests.recommendations.training.support import Status, train_now


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
    [old] = train_now(django_capture_on_commit_callbacks)
    [new] = train_now(django_capture_on_commit_callbacks, force=True)
    assert new.status == Status.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:recommendations_modelversion_activate", args=[old.pk]))
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == old.pk
    Path(version_artifact_dir(artifact_path=new.artifact_path), "version.json").write_text("{}")
    response = client.post(reverse("admin:recommendations_modelversion_activate", args=[new.pk]), follow=True)
    assert "was not activated" in response.content.decode()  # tampered: refused, old stays active
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == old.pk
    assert Event.objects.exists()


@pytest.mark.django_db
def test_admin_retrain_now_with_no_events_says_so_and_records_nothing(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:recommendations_modelversion_retrain"), follow=True)
    assert "Retrain not started: Nothing to train on" in response.content.decode()
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_admin_offers_rollback_only_to_versions_whose_files_exist(planted, client, django_capture_on_commit_callbacks):
    import shutil

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    [old] = train_now(django_capture_on_commit_callbacks)
    [new] = train_now(django_capture_on_commit_callbacks, force=True)
    change = reverse("admin:recommendations_modelversion_change", args=[old.pk])
    assert "Activate this version" in client.get(change).content.decode()  # files there: offered
    shutil.rmtree(version_artifact_dir(artifact_path=old.artifact_path))
    page = client.get(change).content.decode()
    assert "Activate this version" not in page
    assert f"Activating (rolling back to) version {old.pk} is not offered: its files cannot be used" in page
    response = client.post(reverse("admin:recommendations_modelversion_activate", args=[old.pk]), follow=True)
    assert f"Version {old.pk} was not activated: its files cannot be used (artifact directory" in response.content.decode()
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == new.pk
