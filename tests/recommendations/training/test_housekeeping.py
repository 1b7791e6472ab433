"""Pruning: only the last versions keep their artifacts."""

import pytest

from recommendations.models import ModelVersion
from recommendations.training import (
    model_version_activate,
)
from recommendations.tuning import recommender_settings_update
from tests.recommendations.training.support import Status, train_now, version_dirs


@pytest.mark.django_db
def test_only_the_last_versions_keep_their_artifacts(planted, django_capture_on_commit_callbacks):
    recommender_settings_update(data={"keep_versions": 2})
    versions = [train_now(django_capture_on_commit_callbacks, force=True)[0] for _ in range(3)]
    statuses = list(ModelVersion.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [Status.DELETED, Status.RETIRED, Status.ACTIVE]
    assert version_dirs() == [f"v{v.pk:06d}-ials" for v in versions[1:]]
    with pytest.raises(ValueError, match=r"cannot be activated \(Artifacts deleted\)"):
        model_version_activate(version_id=versions[0].pk)


@pytest.mark.django_db
def test_retention_keeps_the_version_a_rollback_returns_to(planted, django_capture_on_commit_callbacks):
    recommender_settings_update(data={"keep_versions": 1})
    first = train_now(django_capture_on_commit_callbacks, force=True)[0]
    second = train_now(django_capture_on_commit_callbacks, force=True)[0]
    assert list(ModelVersion.objects.order_by("pk").values_list("status", flat=True)) == [Status.RETIRED, Status.ACTIVE]
    assert version_dirs() == [f"v{v.pk:06d}-ials" for v in (first, second)]  # keep=1, yet the rollback target stays
    with django_capture_on_commit_callbacks(execute=True):
        assert model_version_activate(version_id=first.pk).status == Status.ACTIVE  # rollback works
    third = train_now(django_capture_on_commit_callbacks, force=True)[0]
    # Now the active one is the third and a rollback returns to the first (activated last): the second goes.
    assert dict(ModelVersion.objects.values_list("pk", "status")) == {
        first.pk: Status.RETIRED, second.pk: Status.DELETED, third.pk: Status.ACTIVE,
    }
    assert version_dirs() == [f"v{v.pk:06d}-ials" for v in (first, third)]


def test_locks_are_process_local_on_a_local_memory_cache(settings):
    """The embedded default's locks live in one process's memory, so training claims its row in the database too."""
    from django.core.cache import caches

    from recommendations.training import locks_are_shared

    local = type(caches["default"]).__module__.startswith("django.core.cache.backends.locmem")
    assert locks_are_shared() is (not local or bool(settings.REDIS_URL))
