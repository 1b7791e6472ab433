"""Offline leaderboard of recommenders on an interaction file.

    python -m ml.evaluate --data ratings.csv --models ease,ials,itemknn,slim,pop \\
        --split random --test-size 0.25 --k 10 --seed 42 [--out DIR] [--search --search-trials 8]

    python -m ml.evaluate --data ml-100k/u.data --format movielens --items ml-100k/u.item \\
        --implicit-threshold 4 --min-user-interactions 5 --split user-temporal

Reads the file (``--format csv|movielens|movielens-latest``, see :mod:`ml.io`), builds an
:class:`~ml.dataset.Interactions`, splits it, fits every model on train, scores its top-k on test
(:mod:`ml.evaluation.evaluator`), prints a table sorted by NDCG@k and writes ``leaderboard.json``,
``leaderboard.png`` and ``leaderboard.txt`` into ``--out`` (default ``var/evaluation/<timestamp>``).

``--search`` tunes each model over its declared space (:mod:`ml.evaluation.search`) on a
validation split carved from train, refits the best on train, scores it on test.

Exit codes: 0 success, 1 every model failed, 2 bad input (file, format, columns, model names,
options). Progress goes to stderr (tqdm); the table to stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["main", "run", "split_data", "SPLITS"]

DEFAULT_MODELS = "ease,ials,itemknn,slim,pop"
SPLITS = ("random", "leave-last-out", "temporal", "user-temporal")


class UsageError(Exception):
    """Bad input: reported on stderr with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ml.evaluate",
        description="Fit recommenders on a train split and print a leaderboard scored on the test split.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", required=True, help="interaction file")
    p.add_argument("--format", default="csv", choices=["csv", "movielens", "movielens-latest"],
                   help="csv: user_id,item_id[,event_type][,value][,timestamp] (header optional); "
                        "movielens: u.data; movielens-latest: ratings.csv")  # fmt: skip
    p.add_argument("--items", help="item metadata: MovieLens u.item or movies.csv (titles, genres -> categories/tags)")
    p.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated registry names, or 'all'")
    p.add_argument("--split", default="random", choices=SPLITS)
    p.add_argument("--test-size", type=float, default=0.25, help="held-out fraction (not used by leave-last-out)")
    p.add_argument("--k", type=int, default=10, help="cut-off of every @k metric")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--min-user-interactions", type=int, default=1, help="k-core: drop users with fewer distinct items")
    p.add_argument("--min-item-interactions", type=int, default=1, help="k-core: drop items with fewer distinct users")
    p.add_argument("--implicit-threshold", type=float, default=None, metavar="R",
                   help="keep only pairs whose latest rating is >= R as positives (e.g. ratings >= 4), "
                        "each weighing 1 instead of the signed rating scale")  # fmt: skip
    p.add_argument("--rating-neutral", type=float, default=3.0, metavar="N",
                   help="ratings below N are negative evidence, above it positive (scaled up to --rating-max)")  # fmt: skip
    p.add_argument("--rating-max", type=float, default=5.0, metavar="M", help="top of the rating scale")
    p.add_argument("--dwell-min-seconds", type=float, default=5.0, help="dwell events shorter than this are no evidence")
    p.add_argument("--dwell-full-seconds", type=float, default=30.0, help="dwell from this long on counts fully")
    p.add_argument("--event-weights", default=None, metavar="JSON",
                   help='event type -> weight, e.g. \'{"view": 1, "purchase": 8}\'; types not listed are dropped')  # fmt: skip
    p.add_argument("--max-eval-users", type=int, default=None, help="score a seeded sample of this many test users")
    p.add_argument("--out", default=None, help="output directory (default var/evaluation/<timestamp>)")
    p.add_argument("--search", action="store_true", help="tune each model on a validation split of train first")
    p.add_argument("--search-trials", type=int, default=8, help="candidates per model, the defaults included")
    p.add_argument("--search-budget", type=float, default=None, metavar="SECONDS", help="stop a model's search after this long")
    p.add_argument("--params", default=None, metavar="JSON",
                   help='fixed hyperparameters per model, e.g. \'{"ease": {"l2": 200}}\'')  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no tqdm output on stderr")
    return p


# ------------------------------------------------------------------------------------------ pieces
def _json_option(text: str | None, option: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: expected a JSON object")
    return value


def parse_models(text: str) -> list[str]:
    """Registry names from ``a,b,c`` (``all`` = every registered model); unknown names -> UsageError."""
    from ml.models.registry import available_models

    known = available_models()
    names = known if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--models: no model given")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown model(s): {', '.join(unknown)}; available: {', '.join(known)}")
    seen: list[str] = []
    return [n for n in names if not (n in seen or seen.append(n))]


def load_interactions(
    path: str,
    fmt: str,
    *,
    items: str | None = None,
    implicit_threshold: float | None = None,
    min_user_interactions: int = 1,
    min_item_interactions: int = 1,
    event_type_weights: dict[str, float] | None = None,
    semantics=None,
):
    """File -> :class:`~ml.dataset.Interactions` (DataFormatError -> UsageError).

    Events mean what ``semantics`` (an :class:`~ml.dataset.EvidenceSemantics`; default: 1-5 stars, neutral 3)
    says; with ``implicit_threshold`` ratings are not mapped but kept as positives when a pair's *latest*
    rating reaches the threshold (re-ratings are combined before the filter).
    """
    from dataclasses import replace

    from ml.dataset import EvidenceSemantics
    from ml.io import DataFormatError, read_events, read_item_catalog

    semantics = semantics or EvidenceSemantics()
    if implicit_threshold is not None:
        semantics = replace(semantics, rating_neutral=None)

    try:
        raw = read_events(path, fmt)
        features = read_item_catalog(items).to_item_features() if items else None
    except DataFormatError as exc:
        raise UsageError(str(exc)) from None
    if implicit_threshold is not None and raw.values is None:
        raise UsageError("--implicit-threshold needs a value (rating) column")
    if event_type_weights and raw.event_types is None:
        raise UsageError("--event-weights needs an event_type column")
    try:
        data = raw.to_interactions(
            event_type_weights=event_type_weights or None,
            min_value=implicit_threshold,
            semantics=semantics,
            min_user_interactions=min_user_interactions,
            min_item_interactions=min_item_interactions,
            item_features=features,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot build interactions from {path}: {exc}") from None
    if data.nnz == 0:
        raise UsageError(f"{path}: no positive interactions left after filtering")
    return data


def _semantics(args: argparse.Namespace):
    """The :class:`~ml.dataset.EvidenceSemantics` of the rating / dwell options (bad bounds -> UsageError)."""
    from ml.dataset import EvidenceSemantics

    try:
        return EvidenceSemantics(
            rating_neutral=args.rating_neutral, rating_max=args.rating_max,
            dwell_min_seconds=args.dwell_min_seconds, dwell_full_seconds=args.dwell_full_seconds,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def split_data(data, method: str, *, test_size: float, seed: int):
    """``(train, test)`` with one of :data:`SPLITS`."""
    from ml import split

    if method in ("temporal", "user-temporal", "leave-last-out") and data.log is None:
        raise UsageError(f"--split {method} needs an event log with timestamps")
    if method == "random":
        return split.random_split(data, test_size=test_size, seed=seed)
    if method == "leave-last-out":
        return split.leave_last_out(data, n=1)
    if method == "temporal":
        return split.temporal_split(data, test_size=test_size)
    if method == "user-temporal":
        return split.per_user_temporal_split(data, test_size=test_size)
    raise UsageError(f"unknown split {method!r}; choose one of {', '.join(SPLITS)}")


def default_out_dir(base: str | Path = "var/evaluation") -> Path:
    return Path(base) / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _log(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)  # keeps open progress bars intact


def run_leaderboard(
    train,
    test,
    names: Sequence[str],
    *,
    k: int,
    seed: int,
    split_method: str,
    test_size: float,
    params: dict[str, dict[str, Any]] | None = None,
    search: bool = False,
    search_trials: int = 8,
    search_budget: float | None = None,
    max_eval_users: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = _log,
) -> list[dict[str, Any]]:
    """Evaluate (or tune and evaluate) each model; failures are recorded, not raised.

    Shared by the CLI and the Django ``evaluate`` command.
    """
    from tqdm.auto import tqdm

    from ml.evaluation.evaluator import evaluate_model, prepare_evaluation
    from ml.evaluation.search import tune_and_evaluate
    from ml.models.registry import model_from_config

    params = params or {}
    models = {}
    for name in names:  # build every model first: bad parameters fail before any fit
        try:
            models[name] = model_from_config({"name": name, **params.get(name, {})})
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    data = None if search else prepare_evaluation(train, test, max_users=max_eval_users, seed=seed)
    results = []
    bar = tqdm(names, desc="models", file=sys.stderr, disable=not progress, leave=False)
    for name in bar:
        bar.set_postfix_str(name)
        try:
            if search:
                result = tune_and_evaluate(
                    name, train, test, split_method=split_method, k=k, n_trials=search_trials, seed=seed,
                    validation_size=test_size, base_params=params.get(name), progress=progress,
                    time_budget_s=search_budget, max_users=max_eval_users,
                )  # fmt: skip
            else:
                result = evaluate_model(models[name], train, test, k=k, name=name, data=data, progress=progress)
        except Exception as exc:
            result = {"model": name, "params": params.get(name, {}), "error": f"{type(exc).__name__}: {exc}"}
            log(f"{name}: FAILED: {result['error']}")
        else:
            ndcg = result["metrics"].get(f"ndcg@{k}")
            chosen = f" params={json.dumps(result['search']['best_params'], sort_keys=True)}" if search else ""
            log(f"{name}: ndcg@{k}={ndcg:.4f} fit={result['fit_seconds']:.2f}s{chosen}")
        results.append(result)
    bar.close()
    return results


def print_leaderboard(results, *, k: int, search: bool, out=None) -> None:
    from ml.evaluation.report import format_table, leaderboard

    ordered = leaderboard(results, sort_by=f"ndcg@{k}")
    print(format_table(ordered, show_params=search), file=out or sys.stdout)


# ------------------------------------------------------------------------------------------ main
def run(args: argparse.Namespace) -> int:
    from ml.evaluation.report import write_report

    if args.k <= 0:
        raise UsageError("--k must be positive")
    if not 0.0 < args.test_size < 1.0:
        raise UsageError("--test-size must be between 0 and 1")
    if args.search_trials < 1:
        raise UsageError("--search-trials must be >= 1")
    if not Path(args.data).is_file():
        raise UsageError(f"--data {args.data}: no such file")
    if args.items and not Path(args.items).is_file():
        raise UsageError(f"--items {args.items}: no such file")
    names = parse_models(args.models)
    params = _json_option(args.params, "--params")
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise UsageError(f"--params names models not in --models: {', '.join(unknown)}")
    weights = _json_option(args.event_weights, "--event-weights")
    progress = not args.no_progress
    semantics = _semantics(args)

    started = time.perf_counter()
    data = load_interactions(
        args.data, args.format, items=args.items, implicit_threshold=args.implicit_threshold,
        min_user_interactions=args.min_user_interactions, min_item_interactions=args.min_item_interactions,
        event_type_weights=weights, semantics=semantics,
    )  # fmt: skip
    _log(f"loaded {data!r} in {time.perf_counter() - started:.1f}s")
    try:
        train, test = split_data(data, args.split, test_size=args.test_size, seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"--split {args.split}: {exc}") from None
    _log(f"split {args.split}: train nnz={train.nnz}, test nnz={test.nnz}")
    if test.nnz == 0:
        raise UsageError("the test split is empty (too few interactions per user?)")

    results = run_leaderboard(
        train, test, names, k=args.k, seed=args.seed, split_method=args.split, test_size=args.test_size,
        params=params, search=args.search, search_trials=args.search_trials, search_budget=args.search_budget,
        max_eval_users=args.max_eval_users, progress=progress,
    )  # fmt: skip
    print_leaderboard(results, k=args.k, search=args.search)

    out_dir = Path(args.out) if args.out else default_out_dir()
    meta = {
        "data": str(args.data), "format": args.format, "items": args.items, "split": args.split,
        "test_size": args.test_size, "k": args.k, "seed": args.seed, "search": args.search,
        "search_trials": args.search_trials if args.search else None,
        "implicit_threshold": args.implicit_threshold, "min_user_interactions": args.min_user_interactions,
        "rating_neutral": None if args.implicit_threshold is not None else args.rating_neutral,
        "rating_max": args.rating_max, "dwell_min_seconds": args.dwell_min_seconds,
        "n_users": data.n_users, "n_items": data.n_items, "nnz": data.nnz,
        "train_nnz": train.nnz, "test_nnz": test.nnz,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    paths = write_report(results, out_dir, meta=meta, title=f"{Path(args.data).name}, {args.split} split, k={args.k}")
    _log(f"wrote {paths['json']} and {paths['png']}")
    return 0 if any("error" not in r for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 on unknown options / bad choices
    try:
        return run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
