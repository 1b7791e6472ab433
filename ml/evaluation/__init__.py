"""Offline evaluation: metrics, the train/test evaluator, hyperparameter search and reports.

    from ml.evaluation import evaluate_model, ranking_metrics
    result = evaluate_model(model, train, test, k=10)     # fit + score; see evaluator.py
    result["metrics"]["ndcg@10"]

Metric conventions are documented in :mod:`ml.evaluation.metrics`; the CLI is ``python -m ml.evaluate``.
Nothing here imports Django; matplotlib is imported only when a chart is drawn.
"""
from ml.evaluation.evaluator import evaluate_model, evaluate_models, evaluation_users, prepare_evaluation
from ml.evaluation.metrics import (
    RANKING_METRICS,
    arp,
    catalog_coverage,
    gini_index,
    hit_rate_at_k,
    intra_list_diversity_category,
    intra_list_diversity_embedding,
    item_popularity,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    rmse,
)
from ml.evaluation.report import format_table, leaderboard, write_report
from ml.evaluation.search import SEARCH_SPACES, search_model, tune_and_evaluate

__all__ = [
    "RANKING_METRICS",
    "SEARCH_SPACES",
    "arp",
    "catalog_coverage",
    "evaluate_model",
    "evaluate_models",
    "evaluation_users",
    "format_table",
    "gini_index",
    "hit_rate_at_k",
    "intra_list_diversity_category",
    "intra_list_diversity_embedding",
    "item_popularity",
    "leaderboard",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "prepare_evaluation",
    "ranking_metrics",
    "recall_at_k",
    "rmse",
    "search_model",
    "tune_and_evaluate",
    "write_report",
]
