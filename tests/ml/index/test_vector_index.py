import numpy as np
import pytest

from ml.index import VectorIndex, index_from_vectors
from ml.index.vector_index import INDEX_FILE, IndexConfig


def clustered_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(32, dim))
    return (centers[rng.integers(0, 32, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ vectors.T
    return np.argsort(-scores, axis=1)[:, :k]


def test_flat_index_is_exact():
    vectors = clustered_vectors(500, 16)
    queries = clustered_vectors(20, 16, seed=1)
    index = index_from_vectors(vectors)
    assert index.kind_ == "flat"
    found, scores = index.search(queries, 10)
    np.testing.assert_array_equal(found, exact_top_k(vectors, queries, 10))
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes_have_high_recall(kind):
    vectors = clustered_vectors(5000, 16)
    queries = clustered_vectors(50, 16, seed=2)
    index = VectorIndex(config=IndexConfig(kind=kind, exact_max_items=100)).build(vectors)
    found, _ = index.search(queries, 10)
    truth = exact_top_k(vectors, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    assert recall >= 0.9


def test_auto_switches_to_hnsw_above_threshold():
    index = VectorIndex(config=IndexConfig(exact_max_items=100)).build(clustered_vectors(300, 8))
    assert index.kind_ == "hnsw"


def test_save_load_round_trip_and_tamper_refusal(tmp_path):
    vectors = clustered_vectors(300, 8)
    index = index_from_vectors(vectors)
    checksums = index.save(tmp_path)
    assert set(checksums) == {"index.faiss", "index.json"}
    loaded = VectorIndex.load(tmp_path)
    np.testing.assert_array_equal(loaded.search(vectors[:5], 3)[0], index.search(vectors[:5], 3)[0])
    data = (tmp_path / INDEX_FILE).read_bytes()
    (tmp_path / INDEX_FILE).write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ValueError, match="Checksum mismatch"):
        VectorIndex.load(tmp_path)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError):
        index_from_vectors(np.zeros((0, 4)))
    index = index_from_vectors(clustered_vectors(10, 4))
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros((1, 5)), 3)
    assert index.search(np.ones((1, 4)), 50)[0].shape == (1, 10)
