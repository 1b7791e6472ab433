"""Stage 2: ranking. Score fusion of the candidate features; a learned ranker once impressions and clicks exist.

Features of a candidate (:data:`FEATURES`): its scaled score from each source, the actor's affinity to its
category, its popularity, its freshness and the lift of its category in the request's context (device, part
of the day). Fusion is a fixed weighted sum (:data:`FUSION_WEIGHTS`, normalized so that it stays in [0, 1])
plus the admin's ``freshness_boost`` times freshness (1 for an item created now, 0 after new_item_days). :func:`ranker_train` fits a logistic regression on logged impressions (the features
are stored with each impression) labelled by whether the actor engaged with the item within
:data:`CLICK_WINDOW` afterwards; once trained, its probability replaces the fusion score.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from ml.utils.files import atomic_write_text
from recommendations.models import Event, EventType, Impression, RecommenderSettings
from recommendations.serving.candidates import SOURCES, CandidateTable

logger = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = SOURCES + ("affinity", "popularity", "freshness", "context")
FUSION_WEIGHTS: dict[str, float] = {
    "ann": 1.0, "foldin": 1.2, "neighbours": 0.9, "trending": 0.6, "popular": 0.4, "new_arrival": 0.5,
    # exploration ranks the exploration slots only (rerank); in fusion it would add its random part to everybody
    "explore": 0.0, "catalog": 0.1, "affinity": 0.5, "popularity": 0.3, "context": 0.2,
}
PRIMARY_WEIGHTS = {**FUSION_WEIGHTS, "explore": 0.3}  # what produced a candidate (its primary source)
SOURCE_WEIGHTS = np.array([PRIMARY_WEIGHTS[name] for name in SOURCES], dtype=np.float32)
POSITIVE_EVENT_TYPES = (EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.LIKE)
CLICK_WINDOW = dt.timedelta(hours=24)
RANKER_CACHE_KEY = "serving:ranker:v1"  # a JSON-like dict: no class layout to version
RANKER_CACHE_SECONDS = 300
RANKER_FILE = "ranker/ranker.json"
RANKER_MIN_IMPRESSIONS = 500
RANKER_MIN_POSITIVES = 20


def features_compute(*, table: CandidateTable, context_affinity: dict[int, float]) -> np.ndarray:
    """(m, len(FEATURES)) float32 feature matrix of the candidates."""
    context = np.zeros(len(table), dtype=np.float32)
    if context_affinity:
        context = np.asarray([context_affinity.get(int(c), 0.0) for c in table.category_ids], dtype=np.float32)
    return np.column_stack([table.scores, table.affinity, table.popularity, table.freshness, context]).astype(np.float32)


def fusion_scores(*, features: np.ndarray, settings: RecommenderSettings) -> np.ndarray:
    """Weighted sum of the features scaled to [0, 1], plus up to ``freshness_boost`` for the newest items."""
    weights = np.array([FUSION_WEIGHTS.get(name, 0.0) for name in FEATURES], dtype=np.float32)
    weights /= weights.sum()
    weights[FEATURES.index("freshness")] = float(settings.freshness_boost)
    return features @ weights


def primary_sources(table: CandidateTable) -> np.ndarray:
    """For each candidate, the source whose weighted score contributes most: what produced it."""
    return np.argmax(table.scores * SOURCE_WEIGHTS[None, :], axis=1)


# ------------------------------------------------------------------------------------------ learned ranker
@dataclass(frozen=True)
class LearnedRanker:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    n_samples: int
    n_positive: int
    trained_at: str
    auc: float | None = None

    def score(self, features: np.ndarray) -> np.ndarray:
        logits = features.astype(np.float64) @ np.asarray(self.coef) + self.intercept
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def _ranker_path() -> Path:
    return Path(django_settings.VITRINE_ARTIFACT_DIR) / RANKER_FILE


def ranker_get() -> LearnedRanker | None:
    """The learned ranker if one was trained for the current feature set (cached; the file is the reference)."""
    cached = cache.get(RANKER_CACHE_KEY)
    if cached is None:
        cached = {}
        path = _ranker_path()
        if path.is_file():
            try:
                cached = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                logger.error("Unreadable ranker %s: %s", path, exc)
        cache.set(RANKER_CACHE_KEY, cached, RANKER_CACHE_SECONDS)
    return ranker_from_payload(cached)


def ranker_from_payload(payload: dict) -> LearnedRanker | None:
    """The ranker in a cached payload ({} = none trained; one for another feature set is ignored)."""
    if not payload or tuple(payload.get("features", ())) != FEATURES:
        return None
    return LearnedRanker(**{**payload, "features": tuple(payload["features"]), "coef": tuple(payload["coef"])})


def ranker_delete() -> None:
    _ranker_path().unlink(missing_ok=True)
    cache.delete(RANKER_CACHE_KEY)


@dataclass(frozen=True)
class RankerTrainResult:
    trained: bool
    n_samples: int
    n_positive: int
    message: str
    ranker: LearnedRanker | None = None


def ranker_training_data(*, since: dt.datetime, limit: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) from logged feed impressions since ``since``; label 1 = engaged within CLICK_WINDOW."""
    rows = list(
        Impression.objects.filter(created_at__gte=since, surface="feed")
        .order_by("-created_at")
        .values_list("user_id", "session_key", "item_id", "created_at", "context")[:limit]
    )
    X, labels, keys = [], [], []
    for user_id, session_key, item_id, created_at, context in rows:
        features = (context or {}).get("f")
        if not isinstance(features, list) or len(features) != len(FEATURES):
            continue
        X.append(features)
        keys.append(((user_id, "" if user_id else session_key), item_id, created_at))
    if not X:
        return np.zeros((0, len(FEATURES)), dtype=np.float32), np.zeros(0, dtype=np.int64)
    engaged: dict[tuple, list[dt.datetime]] = {}
    events = Event.objects.filter(timestamp__gte=since, event_type__in=POSITIVE_EVENT_TYPES).values_list(
        "user_id", "session_key", "item_id", "timestamp"
    )
    for user_id, session_key, item_id, timestamp in events.iterator(chunk_size=10_000):
        engaged.setdefault(((user_id, "" if user_id else session_key), item_id), []).append(timestamp)
    for actor, item_id, created_at in keys:
        times = engaged.get((actor, item_id), ())
        labels.append(int(any(created_at <= t <= created_at + CLICK_WINDOW for t in times)))
    return np.asarray(X, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def ranker_train(
    *, days: int = 30, min_impressions: int = RANKER_MIN_IMPRESSIONS, min_positives: int = RANKER_MIN_POSITIVES
) -> RankerTrainResult:
    """Fit the learned ranker on recent impressions + clicks; keeps fusion when there is not enough data yet."""
    X, y = ranker_training_data(since=timezone.now() - dt.timedelta(days=days))
    n, positives = len(y), int(y.sum())
    if n < min_impressions or positives < min_positives or positives == n:
        return RankerTrainResult(False, n, positives, f"Not enough data: {n} impressions, {positives} engaged "
                                                        f"(need {min_impressions} and {min_positives}); serving keeps score fusion.")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    def fit(features: np.ndarray, labels: np.ndarray) -> LogisticRegression:
        return LogisticRegression(C=1.0, class_weight="balanced", max_iter=500).fit(features, labels)

    # Rows are newest first: score the newest 20% with a model fitted on the older rest (an honest, held-out
    # AUC), then refit on everything for serving. With one class in either part there is no AUC to report.
    n_holdout = n // 5
    held_out, older = slice(0, n_holdout), slice(n_holdout, n)
    auc: float | None = None
    if n_holdout and len(np.unique(y[held_out])) == 2 and len(np.unique(y[older])) == 2:
        auc = float(roc_auc_score(y[held_out], fit(X[older], y[older]).predict_proba(X[held_out])[:, 1]))
    model = fit(X, y)
    ranker = LearnedRanker(
        features=FEATURES, coef=tuple(float(c) for c in model.coef_[0]), intercept=float(model.intercept_[0]),
        n_samples=n, n_positive=positives, trained_at=timezone.now().isoformat(), auc=auc,
    )
    path = _ranker_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**asdict(ranker), "features": list(FEATURES), "coef": list(ranker.coef)}
    atomic_write_text(path, json.dumps(payload, indent=2))
    cache.set(RANKER_CACHE_KEY, payload, RANKER_CACHE_SECONDS)
    return RankerTrainResult(True, n, positives, f"Trained on {n} impressions ({positives} engaged), held-out AUC "
                             + (f"{auc:.3f}." if auc is not None else "not measurable (one class in the holdout)."), ranker)
