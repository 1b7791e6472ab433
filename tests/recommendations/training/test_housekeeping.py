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
