import pytest

from tests.recommendations.training.support import planted_world_create, training_environment


@pytest.fixture(autouse=True)
def _artifacts_and_eager_tasks(settings, tmp_path):
    with training_environment(settings=settings, tmp_path=tmp_path):
        yield


@pytest.fixture
def planted(db):
    return planted_world_create()
