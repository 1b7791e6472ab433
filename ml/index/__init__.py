"""Vector search over item embeddings (Faiss)."""
from ml.index.vector_index import VectorIndex, index_from_vectors

__all__ = ["VectorIndex", "index_from_vectors"]
