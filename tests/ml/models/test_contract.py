"""Every classic recommender through the shared contract (tests/ml/contract.py)."""

from __future__ import annotations

from ml.models.content import ContentRecommender
from ml.models.ease import EASE
from ml.models.ials import IALS
from ml.models.itemknn import ItemKNN
from ml.models.popularity import CategoryPopularityRecommender, PopularityRecommender, TrendingRecommender
from ml.models.slim import SLIM
from ml.models.tifu import TIFUKNN
from tests.ml.contract import RecommenderContract


class TestPopularity(RecommenderContract):
    beats_popularity = False
    fold_in_overlap = 1.0  # same scores for everyone

    def make_model(self):
        return PopularityRecommender()


class TestTrending(RecommenderContract):
    beats_popularity = False

    def make_model(self):
        return TrendingRecommender(half_life_days=14.0)


class TestCategoryPopularity(RecommenderContract):
    fold_in_overlap = 0.9  # same history -> same scores

    def make_model(self):
        return CategoryPopularityRecommender()


class TestItemKNN(RecommenderContract):
    fold_in_overlap = 0.9

    def make_model(self):
        return ItemKNN(k_neighbors=50, num_threads=1)


class TestItemKNNCosineShrink(RecommenderContract):
    fold_in_overlap = 0.9

    def make_model(self):
        return ItemKNN(weighting="cosine", k_neighbors=50, shrinkage=10.0, num_threads=1)


class TestIALS(RecommenderContract):
    fold_in_overlap = 0.5  # exact solve vs implicit's conjugate-gradient factors

    def make_model(self):
        return IALS(factors=16, iterations=8, regularization=0.1, alpha=10.0, random_state=0, num_threads=1)


class TestTIFUKNN(RecommenderContract):
    fold_in_overlap = 0.3  # fold-in sees one basket, not the user's basket history

    def make_model(self):
        return TIFUKNN(n_neighbors=30)


class TestEASE(RecommenderContract):
    fold_in_overlap = 0.9

    def make_model(self):
        return EASE(l2=50.0)


class TestSLIM(RecommenderContract):
    fold_in_overlap = 0.9

    def make_model(self):
        return SLIM(l1_reg=0.1, l2_reg=1.0, n_neighbors=50, n_jobs=1)


class TestContent(RecommenderContract):
    fold_in_overlap = 0.9

    def make_model(self):
        return ContentRecommender()
