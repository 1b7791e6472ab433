"""Maximum-inner-product search over item embeddings with Faiss.

Exact ``IndexFlatIP`` for small catalogs; HNSW (default) or IVF above ``exact_max_items``. The index is a
derived artifact: it can always be rebuilt from the saved item factors, and it is saved with a checksum.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.artifacts import sha256_file
from ml.utils.files import atomic_path, atomic_write_text

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
META_FILE = "index.json"


def _faiss():
    import faiss  # imported lazily: web processes that never search must not pay for it

    return faiss


@dataclass
class IndexConfig:
    kind: str = "auto"  # auto | flat | hnsw | ivf
    exact_max_items: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 256
    ivf_nlist: int | None = None  # default ~ 4 * sqrt(n)
    ivf_nprobe: int = 32
    threads: int | None = None


class VectorIndex:
    """Top-k inner-product search; ``search`` returns row indices into the vectors it was built from."""

    def __init__(self, *, config: IndexConfig | None = None) -> None:
        self.config = config or IndexConfig()
        self.index_ = None
        self.kind_: str | None = None
        self.n_items_ = 0
        self.dim_ = 0

    def resolved_kind(self, n_items: int) -> str:
        if self.config.kind != "auto":
            return self.config.kind
        return "flat" if n_items <= self.config.exact_max_items else "hnsw"

    def build(self, vectors: np.ndarray) -> VectorIndex:
        faiss = _faiss()
        if self.config.threads:
            faiss.omp_set_num_threads(self.config.threads)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ValueError(f"Need a non-empty 2-D array of vectors, got shape {vectors.shape}.")
        n_items, dim = vectors.shape
        kind = self.resolved_kind(n_items)
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.config.hnsw_ef_construction
            index.hnsw.efSearch = self.config.hnsw_ef_search
        elif kind == "ivf":
            nlist = self.config.ivf_nlist or max(1, min(n_items // 39, int(4 * np.sqrt(n_items))))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = vectors if n_items <= nlist * 256 else vectors[np.random.default_rng(0).choice(n_items, nlist * 256, replace=False)]
            index.train(sample)
            index.nprobe = self.config.ivf_nprobe
        else:
            raise ValueError(f"Unknown index kind {kind!r}; expected auto, flat, hnsw or ivf.")
        index.add(vectors)
        self.index_, self.kind_, self.n_items_, self.dim_ = index, kind, n_items, dim
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores) of shape (n_queries, k); missing slots are -1 / -inf."""
        if self.index_ is None:
            raise RuntimeError("The index is not built.")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim_:
            raise ValueError(f"Queries have dimension {queries.shape[1]}, the index {self.dim_}.")
        k = max(1, min(int(k), self.n_items_))
        scores, indices = self.index_.search(queries, k)
        scores = np.where(indices < 0, -np.inf, scores).astype(np.float32)
        return indices.astype(np.int64), scores

    def save(self, directory: str | os.PathLike) -> dict[str, str]:
        """Write the index and its metadata atomically; returns {file name: sha256}."""
        if self.index_ is None:
            raise RuntimeError("The index is not built.")
        faiss = _faiss()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(directory / INDEX_FILE) as temp_path:
            faiss.write_index(self.index_, str(temp_path))
        checksum = sha256_file(directory / INDEX_FILE)
        meta = {"format_version": FORMAT_VERSION, "kind": self.kind_, "n_items": self.n_items_, "dim": self.dim_,
                "config": asdict(self.config), "sha256": checksum}
        atomic_write_text(directory / META_FILE, json.dumps(meta, indent=2))
        return {INDEX_FILE: checksum, META_FILE: sha256_file(directory / META_FILE)}

    @classmethod
    def load(cls, directory: str | os.PathLike) -> VectorIndex:
        """Load a saved index; refuses one whose checksum does not match (tampered or truncated)."""
        faiss = _faiss()
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"Unsupported index format {meta.get('format_version')!r}.")
        if sha256_file(directory / INDEX_FILE) != meta["sha256"]:
            raise ValueError(f"Checksum mismatch for {directory / INDEX_FILE}: refusing a tampered or truncated index.")
        instance = cls(config=IndexConfig(**meta["config"]))
        instance.index_ = faiss.read_index(str(directory / INDEX_FILE))
        if meta["kind"] == "hnsw":
            instance.index_.hnsw.efSearch = instance.config.hnsw_ef_search
        elif meta["kind"] == "ivf":
            instance.index_.nprobe = instance.config.ivf_nprobe
        instance.kind_, instance.n_items_, instance.dim_ = meta["kind"], meta["n_items"], meta["dim"]
        return instance


def index_from_vectors(vectors: np.ndarray, *, kind: str = "auto", exact_max_items: int = 50_000) -> VectorIndex:
    return VectorIndex(config=IndexConfig(kind=kind, exact_max_items=exact_max_items)).build(vectors)
