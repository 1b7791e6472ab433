"""Content-based recommender: TF-IDF over item text, category and tags.

Each item becomes a document ``text + "__cat<code>" + "__tag_<tag>"...`` and is
embedded with scikit-learn's ``TfidfVectorizer`` (rows L2-normalized).  A
user's profile is the interaction-weighted mean of their items' vectors;
scores are cosine similarities between profile and items.  Items without any
interactions are scored like every other item, which is the point: new
catalogue items (in the item map, with features) are recommendable at once.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ml.dataset import Interactions, ItemFeatures
from ml.models.base import Recommender
from ml.models.registry import register

__all__ = ["ContentRecommender", "item_documents"]

_NON_WORD = re.compile(r"\W+")


def item_documents(features: ItemFeatures, *, use_category: bool = True, use_tags: bool = True) -> list[str]:
    """One text document per item with category/tag marker tokens appended."""
    n = len(features)
    texts = features.text if features.text is not None else [""] * n
    docs = []
    cats = features.category if (use_category and features.category is not None) else None
    tags = features.tags if use_tags else None
    for i in range(n):
        parts = [texts[i]]
        if cats is not None and cats[i] >= 0:
            parts.append(f"__cat{int(cats[i])}")
        if tags is not None:
            parts.extend("__tag_" + _NON_WORD.sub("_", str(t).lower()) for t in tags[i])
        docs.append(" ".join(parts))
    return docs


@register("content")
class ContentRecommender(Recommender):
    """TF-IDF item profiles; user profile = weighted mean of item vectors."""

    def __init__(
        self,
        *,
        max_features: int | None = 100_000,
        min_df: int = 1,
        max_df: float = 1.0,
        ngram_max: int = 1,
        sublinear_tf: bool = True,
        stop_words: str | None = None,
        use_category: bool = True,
        use_tags: bool = True,
    ):
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.ngram_max = ngram_max
        self.sublinear_tf = sublinear_tf
        self.stop_words = stop_words
        self.use_category = use_category
        self.use_tags = use_tags

    def _validate_params(self) -> None:
        if self.min_df < 1 or self.ngram_max < 1:
            raise ValueError("min_df and ngram_max must be >= 1")
        if not 0 < self.max_df <= 1.0:
            raise ValueError("max_df must be in (0, 1]")

    def _vectorizer(self, **overrides: Any):
        from sklearn.feature_extraction.text import TfidfVectorizer

        kwargs: dict[str, Any] = dict(
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            ngram_range=(1, int(self.ngram_max)),
            sublinear_tf=self.sublinear_tf,
            stop_words=self.stop_words,
            lowercase=True,
            dtype=np.float32,
        )
        kwargs.update(overrides)
        return TfidfVectorizer(**kwargs)

    def _fit(self, dataset: Interactions) -> None:
        f = dataset.item_features
        if f is None or (f.text is None and f.category is None and f.tags is None):
            raise ValueError("ContentRecommender needs item_features with text, category or tags")
        docs = item_documents(f, use_category=self.use_category, use_tags=self.use_tags)
        vec = self._vectorizer()
        try:
            V = vec.fit_transform(docs)
        except ValueError as exc:  # e.g. empty vocabulary
            raise ValueError(f"ContentRecommender could not build a vocabulary: {exc}") from None
        self.item_vectors_ = sp.csr_matrix(V, dtype=np.float32)
        terms = vec.get_feature_names_out()
        self.vocabulary_ = np.asarray(terms, dtype=str)
        self.idf_ = np.asarray(vec.idf_, dtype=np.float32)

    def transform_items(self, features: ItemFeatures) -> sp.csr_matrix:
        """TF-IDF vectors of (new) items with the fitted vocabulary and idf."""
        self._check_fitted()
        vec = self._vectorizer(vocabulary={t: i for i, t in enumerate(self.vocabulary_.tolist())}, max_features=None,
                               min_df=1, max_df=1.0)
        vec.fit(["x"])  # sets up the fixed vocabulary
        vec.idf_ = self.idf_.astype(np.float64)
        docs = item_documents(features, use_category=self.use_category, use_tags=self.use_tags)
        return sp.csr_matrix(vec.transform(docs), dtype=np.float32)

    def _profiles(self, history: sp.csr_matrix) -> sp.csr_matrix:
        return normalize(sp.csr_matrix(history @ self.item_vectors_), norm="l2", axis=1)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        V = self.item_vectors_ if item_indices is None else self.item_vectors_[item_indices]
        return np.asarray((self._profiles(history) @ V.T).toarray(), dtype=np.float32)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        V = self.item_vectors_ if item_subset is None else self.item_vectors_[item_subset]
        return np.asarray((self.item_vectors_[item_indices] @ V.T).toarray(), dtype=np.float32)
