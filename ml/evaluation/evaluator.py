"""Fit a recommender on a train split and score its top-k lists on the test split.

Protocol of :func:`evaluate_model`
----------------------------------
* ``train`` and ``test`` are :class:`~ml.dataset.Interactions` sharing their id maps (what every
  splitter in :mod:`ml.split` returns), so matrix rows/columns line up.
* Evaluated users: users *known at train time* (at least one train interaction) that have at least
  one test item left. Users without test items are skipped, never scored as zeros.
* With ``exclude_seen=True`` (default) the model may not recommend a user's train items, so test
  entries that repeat a train pair are dropped from the relevant set (they could never be hit).
  Test items unseen in train stay relevant: a model that cannot recommend them pays for it.
* Relevance is binary (any positive test weight); ``graded=True`` makes NDCG use the test weights.
* Beyond-accuracy metrics are computed on the same lists: catalogue coverage over all ``n_items`` of
  the item map, novelty / ARP with train popularity, Gini of recommendation counts, intra-list
  diversity by category (when ``train.item_features`` has category codes) and by embedding (when
  the model has ``item_embeddings()``, or a matrix is passed).
* RMSE/MAE: only for models with a truthy ``predicts_ratings`` attribute, on the test events'
  raw ``value`` (the latest per pair), predicted with ``score_indices``.

The result is a plain JSON-able dict (see :func:`evaluate_model`).
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.evaluation import metrics as M
from ml.utils.arrays import isin_sorted

__all__ = [
    "EvaluationData",
    "evaluate_model",
    "evaluate_models",
    "evaluation_users",
    "fit_heartbeat",
    "prepare_evaluation",
    "recommend_all",
    "score_lists",
]


class EvaluationData:
    """What every model is scored against: evaluated users and their relevant items.

    Built once per (train, test) pair by :func:`prepare_evaluation` and shared by all models.
    """

    def __init__(self, train, test, users: np.ndarray, relevant: sp.csr_matrix, *, exclude_seen: bool):
        self.train = train
        self.test = test
        self.users = users
        self.relevant = relevant
        self.exclude_seen = exclude_seen
        self.popularity = M.item_popularity(train.matrix)
        self.n_train_users = int((np.diff(train.matrix.indptr) > 0).sum())
        feats = getattr(train, "item_features", None)
        cats = None if feats is None else feats.category
        self.item_categories = cats if cats is not None and (np.asarray(cats) >= 0).any() else None


def _same_maps(train, test) -> None:
    for name in ("user_map", "item_map"):
        a, b = getattr(train, name), getattr(test, name)
        if a is not b and a != b:
            raise ValueError(f"train and test must share their {name} (use the splitters in ml.split)")


def _drop_pairs(test_matrix: sp.csr_matrix, train_matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Test matrix without the (user, item) entries that are also in train."""
    n_items = test_matrix.shape[1]
    te = test_matrix.tocsr()
    te_rows = np.repeat(np.arange(te.shape[0], dtype=np.int64), np.diff(te.indptr))
    te_keys = te_rows * n_items + te.indices
    tr = train_matrix.tocsr()
    tr_keys = np.repeat(np.arange(tr.shape[0], dtype=np.int64), np.diff(tr.indptr)) * n_items + tr.indices
    tr_keys.sort()
    keep = ~isin_sorted(te_keys, tr_keys)
    out = sp.csr_matrix((te.data[keep], te.indices[keep], np.r_[0, np.cumsum(np.bincount(te_rows[keep], minlength=te.shape[0]))]), shape=te.shape)
    return out


def evaluation_users(train, test, *, exclude_seen: bool = True) -> tuple[np.ndarray, sp.csr_matrix]:
    """``(users, relevant)``: eligible user indices and their relevant rows (see module docstring)."""
    _same_maps(train, test)
    test_m = _drop_pairs(test.matrix, train.matrix) if exclude_seen else sp.csr_matrix(test.matrix)
    known = np.diff(train.matrix.indptr) > 0
    has_test = np.diff(test_m.indptr) > 0
    users = np.flatnonzero(known & has_test).astype(np.int64)
    return users, sp.csr_matrix(test_m[users])


def prepare_evaluation(
    train, test, *, exclude_seen: bool = True, max_users: int | None = None, seed: int = 0
) -> EvaluationData:
    """Eligible users and relevant items; ``max_users`` evaluates a seeded random sample of them."""
    users, relevant = evaluation_users(train, test, exclude_seen=exclude_seen)
    if max_users is not None and users.size > max_users:
        pick = np.sort(np.random.default_rng(seed).choice(users.size, size=max_users, replace=False))
        users, relevant = users[pick], relevant[pick]
    return EvaluationData(train, test, users, relevant, exclude_seen=exclude_seen)


def recommend_all(model, users: np.ndarray, k: int, *, exclude_seen: bool = True, batch_users: int = 2048) -> np.ndarray:
    """Top-k item indices (``-1`` padded) for ``users`` in batches, shape ``(len(users), k)``."""
    out = np.full((users.size, k), -1, dtype=np.int64)
    for start in range(0, users.size, batch_users):
        batch = users[start : start + batch_users]
        idx, _ = model.recommend_indices(batch, k, exclude_seen=exclude_seen)
        out[start : start + batch.size] = np.asarray(idx, dtype=np.int64)[:, :k]
    return out


@contextmanager
def fit_heartbeat(label: str, enabled: bool = True, interval: float = 1.0) -> Iterator[None]:
    """A tqdm line on stderr with the elapsed time while a (long) fit runs."""
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=None, desc=label, bar_format="{desc}: {elapsed}", file=sys.stderr, leave=False, dynamic_ncols=True)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(interval):
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()


def _rating_errors(model, data: EvaluationData) -> dict[str, float]:
    """RMSE/MAE of ``model.score_indices`` against the latest raw test value per evaluated pair."""
    log = getattr(data.test, "log", None)
    if log is None or log.value is None or len(log) == 0:
        return {}
    n_items = data.test.n_items
    keys = log.user_index.astype(np.int64) * n_items + log.item_index
    order = np.argsort(keys, kind="stable")
    skeys = keys[order]
    last = np.r_[skeys[1:] != skeys[:-1], True]  # the log is time-ordered: last event per pair
    pair_keys, values = skeys[last], np.asarray(log.value, dtype=np.float64)[order][last]
    users_of_pair = pair_keys // n_items
    keep = np.isin(users_of_pair, data.users) & np.isfinite(values)
    pair_keys, values, users_of_pair = pair_keys[keep], values[keep], users_of_pair[keep]
    if pair_keys.size == 0:
        return {}
    preds = np.empty(pair_keys.size, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, users_of_pair[1:] != users_of_pair[:-1]])
    bounds = np.r_[starts, pair_keys.size]
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):  # one user at a time: scores only that user's items
        items = pair_keys[a:b] % n_items
        preds[a:b] = model.score_indices(np.array([users_of_pair[a]]), items)[0]
    return {"rmse": M.rmse(values, preds), "mae": M.mae(values, preds)}


def score_lists(recommended: np.ndarray, data: EvaluationData, k: int, *, graded: bool = False, embeddings: np.ndarray | None = None) -> dict[str, float]:
    """Every list metric for precomputed top-k lists (rows aligned with ``data.users``)."""
    n_items = data.train.n_items
    out: dict[str, float] = {
        key: value for key, value in M.ranking_metrics(recommended, data.relevant, k, graded=graded).items() if key != "n_users"
    }
    out[f"coverage@{k}"] = M.catalog_coverage(recommended, n_items)
    if data.item_categories is not None:
        out[f"ild_category@{k}"] = M.intra_list_diversity_category(recommended, data.item_categories)
    if embeddings is not None:
        out[f"ild_embedding@{k}"] = M.intra_list_diversity_embedding(recommended, embeddings)
    if data.n_train_users > 0:
        out[f"novelty@{k}"] = M.novelty(recommended, data.popularity, data.n_train_users)
    out[f"gini@{k}"] = M.gini_index(recommended, n_items)
    out[f"arp@{k}"] = M.arp(recommended, data.popularity)
    return out


def _model_embeddings(model, item_embeddings: Any, n_items: int) -> np.ndarray | None:
    if isinstance(item_embeddings, np.ndarray):
        return item_embeddings
    if item_embeddings != "model":
        return None
    try:
        emb = model.item_embeddings()
    except (NotImplementedError, AttributeError):
        return None
    if emb is None:
        return None
    emb = np.asarray(emb)
    return emb if emb.ndim == 2 and emb.shape[0] == n_items else None


def _params(model) -> dict[str, Any]:
    try:
        return dict(model.get_params())
    except AttributeError:
        return {}


def evaluate_model(
    model,
    train,
    test,
    *,
    k: int = 10,
    name: str | None = None,
    fit: bool = True,
    exclude_seen: bool = True,
    graded: bool = False,
    item_embeddings: Any = "model",
    max_users: int | None = None,
    seed: int = 0,
    batch_users: int = 2048,
    progress: bool = False,
    data: EvaluationData | None = None,
) -> dict[str, Any]:
    """Fit ``model`` on ``train`` (unless ``fit=False``) and score its top-``k`` on ``test``.

    Returns ``{"model", "params", "k", "fit_seconds", "recommend_seconds", "n_users",
    "n_train_users", "n_items", "metrics": {"ndcg@k", "map@k", "recall@k", "precision@k",
    "mrr@k", "hit_rate@k", "coverage@k", "novelty@k", "gini@k", "arp@k"[, "ild_category@k"]
    [, "ild_embedding@k"][, "rmse", "mae"]}}``. Metric definitions: :mod:`ml.evaluation.metrics`.
    ``item_embeddings``: ``"model"`` (use ``model.item_embeddings()`` when it has them), an array
    ``(n_items, d)``, or ``None``. ``data``: a precomputed :func:`prepare_evaluation` to share
    between models. ``progress``: a tqdm heartbeat on stderr while fitting.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    label = name or getattr(model, "name", None) or type(model).__name__
    if data is None:
        data = prepare_evaluation(train, test, exclude_seen=exclude_seen, max_users=max_users, seed=seed)
    fit_seconds = 0.0
    if fit:
        # models with their own per-epoch bar (the torch models' ``progress``) use it instead of ours
        own_bar = progress and _params(model).get("progress", None) is False
        if own_bar:
            model.set_params(progress=True)
        started = time.perf_counter()
        try:
            with fit_heartbeat(f"fit {label}", enabled=progress and not own_bar):
                model.fit(train)
        finally:
            if own_bar:
                model.set_params(progress=False)
        fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    recommended = recommend_all(model, data.users, k, exclude_seen=data.exclude_seen, batch_users=batch_users)
    recommend_seconds = time.perf_counter() - started
    metrics = score_lists(recommended, data, k, graded=graded, embeddings=_model_embeddings(model, item_embeddings, train.n_items))
    if getattr(model, "predicts_ratings", False):
        metrics.update(_rating_errors(model, data))
    return {
        "model": label,
        "params": _params(model),
        "k": int(k),
        "fit_seconds": fit_seconds,
        "recommend_seconds": recommend_seconds,
        "n_users": int(data.users.size),
        "n_train_users": data.n_train_users,
        "n_items": int(train.n_items),
        "metrics": metrics,
    }


def evaluate_models(
    configs: Sequence[Mapping[str, Any] | str],
    train,
    test,
    *,
    k: int = 10,
    exclude_seen: bool = True,
    max_users: int | None = None,
    seed: int = 0,
    progress: bool = False,
    keep_going: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Evaluate registry configs (``"ease"`` or ``{"name": "ease", "l2": 200}``) on one split.

    All configs are built first, so an unknown model or parameter fails before any fit. With
    ``keep_going`` a model whose fit or scoring raises gets ``{"model", "params", "error"}`` instead
    of stopping the run.
    """
    from ml.models.registry import model_from_config

    built = []
    for cfg in configs:
        cfg = {"name": cfg} if isinstance(cfg, str) else dict(cfg)
        built.append((cfg, model_from_config(cfg)))
    data = prepare_evaluation(train, test, exclude_seen=exclude_seen, max_users=max_users, seed=seed)
    results = []
    for cfg, model in built:
        try:
            result = evaluate_model(model, train, test, k=k, name=cfg["name"], progress=progress, data=data, **kwargs)
        except Exception as exc:
            if not keep_going:
                raise
            result = {"model": cfg["name"], "params": _params(model), "error": f"{type(exc).__name__}: {exc}"}
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
