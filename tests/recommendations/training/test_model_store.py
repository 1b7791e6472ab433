"""Versioned artifacts and the active model as web processes see it (swap, checksums, fallbacks)."""
import datetime as dt
import json

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.cache import cache
from django.utils import timezone

from ml.artifacts import sha256_file
from recommendations.models import ModelVersion
from recommendations.training import (
    ArtifactVerificationError,
    active_version_stamp_set,
    model_store,
    model_version_activate,
    model_versions_cleanup,
    serving_model_get,
    serving_model_reset,
    version_artifacts_write,
)

Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def _artifacts(settings, tmp_path):
    settings.VITRINE_ARTIFACT_DIR = tmp_path / "artifacts"
    serving_model_reset()
    yield
    serving_model_reset()


def _fitted(seed: int = 0):
    from ml.dataset import Interactions
    from ml.index import index_from_vectors
    from ml.models.registry import model_from_config

    matrix = sp.random(12, 9, density=0.4, random_state=seed, format="csr", dtype=np.float32)
    data = Interactions.from_matrix(matrix, user_ids=np.arange(100, 112), item_ids=np.arange(500, 509))
    model = model_from_config({"name": "ials", "factors": 4, "iterations": 2, "num_threads": 1}).fit(data)
    return model, index_from_vectors(model.item_embeddings())


def _version(*, status: str = Status.READY, seed: int = 0, activated: bool = False) -> ModelVersion:
    version = ModelVersion.objects.create(model_name="ials", status=Status.QUEUED)
    model, index = _fitted(seed)
    path, checksums = version_artifacts_write(version_id=version.pk, model_name="ials", model=model, index=index, meta={})
    ModelVersion.objects.filter(pk=version.pk).update(
        status=status, artifact_path=path, checksums=checksums, finished_at=timezone.now(),
        activated_at=timezone.now() - dt.timedelta(hours=1) if activated or status == Status.ACTIVE else None,
    )
    return ModelVersion.objects.get(pk=version.pk)


def _activate(version: ModelVersion) -> None:
    ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.RETIRED)
    ModelVersion.objects.filter(pk=version.pk).update(status=Status.ACTIVE, activated_at=timezone.now())
    active_version_stamp_set(version_id=version.pk)


def _truncate(version: ModelVersion, relative: str = "model/arrays.npz") -> None:
    path = model_store.version_artifact_dir(artifact_path=version.artifact_path) / relative
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.django_db
def test_artifacts_are_written_atomically_with_recorded_checksums(monkeypatch):
    from ml.artifacts import sha256_file

    version = _version()
    directory = model_store.version_artifact_dir(artifact_path=version.artifact_path)
    assert version.artifact_path == f"versions/v{version.pk:06d}-ials"
    assert set(version.checksums) == {"model/config.json", "model/arrays.npz", "model/SHA256SUMS",
                                      "index/index.faiss", "index/index.json", "version.json"}
    assert all(sha256_file(directory / name) == digest for name, digest in version.checksums.items())

    model, index = _fitted()

    def crash(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(type(index), "save", crash)
    with pytest.raises(OSError):
        version_artifacts_write(version_id=99, model_name="ials", model=model, index=index, meta={})
    assert sorted(p.name for p in model_store.artifact_root().iterdir()) == [directory.name]  # nothing half-written


@pytest.mark.django_db
def test_no_active_version_means_no_model():
    _version(status=Status.READY)
    assert serving_model_get() is None


@pytest.mark.django_db
def test_the_next_call_after_a_swap_serves_the_new_version():
    first, second = _version(status=Status.ACTIVE), _version(seed=1)
    served = serving_model_get()
    assert served.version_id == first.pk and serving_model_get() is served  # cached in the process
    assert np.array_equal(served.item_ids, np.arange(500, 509)) and np.array_equal(served.user_ids, np.arange(100, 112))
    assert served.index.n_items_ == 9

    _activate(second)
    assert serving_model_get().version_id == second.pk
    # Rows of the index are the model's item indices: the best inner product is the model's best score.
    user_vector = served.model.user_vectors([0])
    index_top, _ = served.index.search(user_vector, 1)
    model_top, _ = served.model.recommend_indices([0], 1, exclude_seen=False)
    assert index_top[0, 0] == model_top[0, 0]


@pytest.mark.django_db
def test_without_a_stamp_the_database_is_asked_at_most_every_few_seconds(monkeypatch):
    first, second = _version(status=Status.ACTIVE), _version(seed=1)
    assert serving_model_get().version_id == first.pk
    ModelVersion.objects.filter(pk=first.pk).update(status=Status.RETIRED)
    ModelVersion.objects.filter(pk=second.pk).update(status=Status.ACTIVE)  # another process's swap, stamp lost
    cache.delete(model_store.ACTIVE_STAMP_KEY)  # never cache.clear(): on Redis that would flush the broker too
    assert serving_model_get().version_id == first.pk  # throttled: no query yet
    clock = model_store.time.monotonic() + model_store.STAMP_DB_CHECK_SECONDS + 0.1
    monkeypatch.setattr(model_store.time, "monotonic", lambda: clock)
    assert serving_model_get().version_id == second.pk


def _flip_one_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _damage(version: ModelVersion, damage: str) -> None:
    directory = model_store.version_artifact_dir(artifact_path=version.artifact_path)
    if damage == "truncate":
        _truncate(version)
    elif damage == "tamper_index":  # one byte of the Faiss index file
        _flip_one_byte(directory / "index" / "index.faiss")
    elif damage == "tamper_index_consistently":  # the index's own metadata rewritten to match: the row still refuses
        _flip_one_byte(directory / "index" / "index.faiss")
        meta = json.loads((directory / "index" / "index.json").read_text())
        meta["sha256"] = sha256_file(directory / "index" / "index.faiss")
        (directory / "index" / "index.json").write_text(json.dumps(meta))
    elif damage == "unrecorded_index":  # an index/ folder the row does not cover (planted, or never recorded)
        checksums = {name: digest for name, digest in version.checksums.items() if not name.startswith("index/")}
        ModelVersion.objects.filter(pk=version.pk).update(checksums=checksums)
    elif damage == "planted_file":
        (directory / "index" / "extra.bin").write_bytes(b"\x00")
    else:
        model_store.version_artifacts_delete(artifact_path=version.artifact_path)


DAMAGES = ["truncate", "tamper_index", "tamper_index_consistently", "unrecorded_index", "planted_file", "delete"]


@pytest.mark.django_db
@pytest.mark.parametrize("damage", DAMAGES)
def test_a_broken_new_version_is_refused_and_the_previous_one_keeps_serving(damage, monkeypatch, caplog):
    first, second = _version(status=Status.ACTIVE), _version(seed=1)
    assert serving_model_get().version_id == first.pk
    _damage(second, damage)
    _activate(second)

    loads = []
    real_load = model_store.serving_model_load
    monkeypatch.setattr(model_store, "serving_model_load", lambda **kw: loads.append(kw) or real_load(**kw))
    assert serving_model_get().version_id == first.pk
    assert serving_model_get().version_id == first.pk
    assert len(loads) == 1  # not retried on every request
    assert f"Refusing model version {second.pk}" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["tamper_index", "unrecorded_index", "planted_file"])
def test_activating_a_version_whose_index_is_not_as_recorded_is_refused(damage):
    """Fault 8: every file of a version's directory, its index/ folder included, is checked before activation."""
    first, second = _version(status=Status.ACTIVE), _version(seed=1)
    _damage(second, damage)
    with pytest.raises(ArtifactVerificationError):
        model_version_activate(version_id=second.pk)
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == first.pk
    assert serving_model_get().version_id == first.pk


@pytest.mark.django_db
def test_a_fresh_process_with_a_broken_active_version_serves_the_previous_one():
    previous = _version(status=Status.RETIRED, activated=True)
    broken = _version(seed=1)
    _truncate(broken, "model/config.json")
    _activate(broken)
    ModelVersion.objects.filter(pk=previous.pk).update(status=Status.RETIRED)
    assert serving_model_get().version_id == previous.pk


@pytest.mark.django_db
def test_cleanup_removes_only_old_orphan_directories():
    import os

    kept = _version(status=Status.ACTIVE)
    root = model_store.artifact_root()
    orphan, leftover, recent = root / "v000999-ials", root / ".tmp-v998-abcd", root / "v000997-ials"
    for directory in (orphan, leftover, recent):
        directory.mkdir()
        (directory / "arrays.npz").write_bytes(b"x")
    an_hour_ago = model_store.time.time() - 3700
    for directory in (orphan, leftover):
        os.utime(directory, (an_hour_ago, an_hour_ago))
    stale = ModelVersion.objects.create(model_name="ease", status=Status.TRAINING,
                                        heartbeat_at=timezone.now() - dt.timedelta(hours=2))

    assert model_versions_cleanup(keep=5) == {"abandoned": 1, "pruned": 0, "orphans": 2}
    assert sorted(p.name for p in root.iterdir()) == sorted([recent.name, f"v{kept.pk:06d}-ials"])
    assert ModelVersion.objects.get(pk=stale.pk).status == Status.FAILED
