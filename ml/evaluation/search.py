"""Small hyperparameter searches over declared per-model search spaces.

Protocol (:func:`tune_and_evaluate`): the *train* split is split again (``ml.split.validation_split``)
into fit / validation parts; every candidate is fitted on the fit part and scored on the validation
part; the best candidate (by validation ``ndcg@k`` by default) is refitted on the whole train split
and scored once on the test split. The test split is never looked at during the search.

Candidates: the model's defaults first, then the full grid of :data:`SEARCH_SPACES` when it has at
most ``n_trials - 1`` points, else ``n_trials - 1`` distinct points drawn at random (seeded).
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ml.evaluation.evaluator import evaluate_model, prepare_evaluation

__all__ = ["SEARCH_SPACES", "candidates", "search_model", "search_space", "tune_and_evaluate", "validation_parts"]

#: Per registry name: parameter -> values to try. Unknown names get no search (defaults only).
#: Keep grids small: the search refits the model once per point.
SEARCH_SPACES: dict[str, dict[str, Sequence[Any]]] = {
    "pop": {"by": ["users", "weight"]},
    "trending": {"half_life_days": [1.0, 3.0, 7.0, 30.0]},
    "pop_category": {"n_categories": [1, 3, 5], "global_weight": [0.01, 0.05, 0.2]},
    "ease": {"l2": [10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]},
    "ials": {
        "factors": [32, 64, 128],
        "regularization": [0.01, 0.1, 1.0],
        "alpha": [1.0, 5.0, 20.0, 40.0],
    },
    "itemknn": {
        "weighting": ["bm25", "cosine", "tfidf"],
        "k_neighbors": [20, 50, 100, 200],
        "shrinkage": [0.0, 10.0, 50.0],
    },
    "slim": {"l1_reg": [0.1, 1.0, 5.0], "l2_reg": [1.0, 10.0, 50.0], "n_neighbors": [50, 100]},
    "content": {"ngram_max": [1, 2], "sublinear_tf": [True, False], "use_tags": [True, False]},
    "tifuknn": {"n_neighbors": [100, 300], "alpha": [0.5, 0.7, 0.9], "group_decay": [0.6, 0.8]},
    # neural models: epochs stay at their defaults (early stopping on an inner validation split)
    "multivae": {"latent": [100, 200], "dropout": [0.3, 0.5], "anneal_cap": [0.1, 0.2, 0.4]},
    "lightgcn": {"factors": [32, 64], "n_layers": [1, 2, 3], "l2": [1e-4, 1e-3]},
    "ncf": {"factors": [8, 16, 32], "dropout": [0.0, 0.2], "n_neg": [4, 8]},
    "sasrec": {"hidden": [32, 64], "n_blocks": [1, 2], "dropout": [0.2, 0.5]},
    "bert4rec": {"hidden": [32, 64], "mask_prob": [0.15, 0.3], "dropout": [0.1, 0.3]},
    "fm": {"factors": [8, 16, 32], "n_neg": [4, 8]},
    "widedeep": {"embed_dim": [16, 32], "hidden": [128, 256], "dropout": [0.0, 0.2]},
}


def search_space(name: str) -> dict[str, Sequence[Any]]:
    """The declared space of model ``name`` (empty when none is declared)."""
    return dict(SEARCH_SPACES.get(name, {}))


def candidates(space: Mapping[str, Sequence[Any]], n_trials: int, seed: int = 0) -> list[dict[str, Any]]:
    """Parameter dicts to try: ``{}`` (defaults) first, then grid points (see module docstring)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    keys = sorted(space)
    grid_size = math.prod(len(space[key]) for key in keys) if keys else 0
    out: list[dict[str, Any]] = [{}]
    if grid_size == 0 or n_trials == 1:
        return out
    if grid_size <= n_trials - 1:
        points = itertools.product(*(space[key] for key in keys))
        return out + [dict(zip(keys, p, strict=False)) for p in points]
    rng = np.random.default_rng(seed)
    flat = rng.choice(grid_size, size=n_trials - 1, replace=False)
    sizes = [len(space[key]) for key in keys]
    for index in flat.tolist():
        point = {}
        for key, size in zip(reversed(keys), reversed(sizes), strict=False):
            index, pos = divmod(index, size)
            point[key] = space[key][pos]
        out.append(dict(sorted(point.items())))
    return out


def validation_parts(train, method: str, *, test_size: float = 0.2, seed: int = 0):
    """``(fit, validation)`` carved from ``train`` only, with the same kind of split as the test."""
    from ml.split import validation_split

    method = {"leave-last-out": "leave_last_out", "user-temporal": "per_user_temporal"}.get(method, method)
    if method == "leave_last_out":
        return validation_split(train, method=method)
    if method == "random":
        return validation_split(train, method=method, test_size=test_size, seed=seed)
    return validation_split(train, method=method, test_size=test_size)


def search_model(
    name: str,
    fit_part,
    valid_part,
    *,
    k: int = 10,
    n_trials: int = 10,
    seed: int = 0,
    metric: str | None = None,
    base_params: Mapping[str, Any] | None = None,
    space: Mapping[str, Sequence[Any]] | None = None,
    time_budget_s: float | None = None,
    max_users: int | None = None,
    progress: bool = False,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Score the candidates of ``name`` on ``(fit_part, valid_part)``; returns the search record.

    ``{"metric", "best_params", "best_score", "validation_users", "trials": [{"params", "score",
    "fit_seconds"} | {"params", "error"}]}``. ``best_params`` merge ``base_params`` with the winning point.
    ``time_budget_s`` stops starting new trials once exceeded (the defaults always run).
    """
    from ml.models.registry import model_from_config

    metric = metric or f"ndcg@{k}"
    space = search_space(name) if space is None else space
    data = prepare_evaluation(fit_part, valid_part, max_users=max_users, seed=seed)
    trials: list[dict[str, Any]] = []
    best_score, best_params = -math.inf, dict(base_params or {})
    started = time.perf_counter()
    for i, point in enumerate(candidates(space, n_trials, seed)):
        if i > 0 and time_budget_s is not None and time.perf_counter() - started > time_budget_s:
            break
        params = {**(base_params or {}), **point}
        try:
            model = model_from_config({"name": name, **params})
            result = evaluate_model(model, fit_part, valid_part, k=k, name=name, data=data, progress=progress)
        except Exception as exc:
            trial = {"params": point, "error": f"{type(exc).__name__}: {exc}"}
        else:
            score = result["metrics"].get(metric, float("nan"))
            trial = {"params": point, "score": score, "fit_seconds": result["fit_seconds"]}
            if score == score and score > best_score:  # NaN never wins
                best_score, best_params = score, params
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
    if best_score == -math.inf:
        errors = [t.get("error") for t in trials if "error" in t]
        raise RuntimeError(f"every search trial of {name!r} failed: {errors[:1]}")
    return {
        "metric": metric,
        "best_params": best_params,
        "best_score": best_score,
        "validation_users": int(data.users.size),
        "trials": trials,
    }


def tune_and_evaluate(
    name: str,
    train,
    test,
    *,
    split_method: str = "random",
    k: int = 10,
    n_trials: int = 10,
    seed: int = 0,
    validation_size: float = 0.2,
    base_params: Mapping[str, Any] | None = None,
    progress: bool = False,
    **search_kwargs: Any,
) -> dict[str, Any]:
    """Search on a validation split of ``train``, refit the best on all of ``train``, score on ``test``.

    Returns :func:`~ml.evaluation.evaluator.evaluate_model`'s dict plus ``"search"`` (the record of
    :func:`search_model`).
    """
    from ml.models.registry import model_from_config

    fit_part, valid_part = validation_parts(train, split_method, test_size=validation_size, seed=seed)
    record = search_model(
        name, fit_part, valid_part, k=k, n_trials=n_trials, seed=seed, base_params=base_params, progress=progress, **search_kwargs
    )
    model = model_from_config({"name": name, **record["best_params"]})
    result = evaluate_model(model, train, test, k=k, name=name, progress=progress)
    result["search"] = record
    return result
