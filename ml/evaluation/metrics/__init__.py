"""Offline recommendation metrics, vectorised over users, one module per family (RecTools' layout).

Hand-written because the libraries that have them (RecTools, recmetrics) work on pandas frames per call; these
score every user at once on the (users x k) id arrays the models return, without pandas.

* :mod:`.ranking` -- precision, recall, MAP, NDCG, MRR, hit rate at k (input conventions and
  formulas in its docstring);
* :mod:`.rating` -- RMSE, MAE;
* :mod:`.coverage` -- catalogue coverage, Gini index, recommendation counts;
* :mod:`.novelty` -- novelty, average recommendation popularity;
* :mod:`.diversity` -- intra-list diversity by category or embedding;
* :mod:`.lists` -- how every metric reads a recommendation list (padding, duplicates).

Import from here: ``from ml.evaluation import metrics as M; M.ndcg_at_k(...)``.
"""

from ml.evaluation.metrics.coverage import catalog_coverage, gini_index, item_popularity, recommendation_counts
from ml.evaluation.metrics.diversity import intra_list_diversity_category, intra_list_diversity_embedding
from ml.evaluation.metrics.novelty import arp, novelty
from ml.evaluation.metrics.ranking import (
    RANKING_METRICS,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)
from ml.evaluation.metrics.rating import mae, rmse

__all__ = [
    "RANKING_METRICS",
    "arp",
    "catalog_coverage",
    "gini_index",
    "hit_rate_at_k",
    "intra_list_diversity_category",
    "intra_list_diversity_embedding",
    "item_popularity",
    "map_at_k",
    "mae",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "recommendation_counts",
    "rmse",
]
