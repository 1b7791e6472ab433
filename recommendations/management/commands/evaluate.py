"""``manage.py evaluate``: the offline leaderboard of ``python -m ml.evaluate`` on the events in the database.

    manage.py evaluate [--models ease,ials,pop] [--split temporal] [--test-size 0.2] [--k 10] [--days 365]
                       [--include-anonymous] [--search] [--out DIR]

Events are streamed with ``values_list(...).iterator(chunk_size=50000)`` into ``ml.dataset.EventColumns`` chunk
by chunk (no model instances) and weighted with the live ``RecommenderSettings.event_type_weights``. Item categories, titles
and tags come from the catalogue (for the diversity metrics and content models). Default models: those of
``RecommenderSettings.training_models``, with their configured hyperparameters. Nothing is written to the
database; the report (JSON + PNG + text) goes to ``--out`` (default ``<VAR_DIR>/evaluation/<timestamp>``).
"""
from __future__ import annotations

import datetime as dt
import json
import math
from itertools import islice
from pathlib import Path

import numpy as np
from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from catalog.models import Category, Item
from common.vocabulary import EVENT_CODE, EVENT_TYPES
from ml.dataset import EventColumns
from recommendations.events import Actor
from recommendations.models import Event
from recommendations.tuning import evidence_semantics, recommender_settings_get

CHUNK_SIZE = 50_000


def _event_columns(*, since: dt.datetime | None, include_anonymous: bool, chunk_size: int = CHUNK_SIZE) -> EventColumns | None:
    """The events as ``EventColumns`` (None without any), read chunk by chunk.

    Users are ``Actor.key`` strings (``"u<user id>"`` / ``"s<session tag>"``) with anonymous sessions, else
    int64 user ids (anonymous events skipped). No device or hour columns: the leaderboard's models ignore them.
    """
    events = Event.objects.order_by()
    if since is not None:
        events = events.filter(timestamp__gte=since)
    if not include_anonymous:
        events = events.filter(user__isnull=False)
    rows = events.values_list("user_id", "session_key", "item_id", "event_type", "value", "timestamp").iterator(chunk_size=chunk_size)
    chunks: list[EventColumns] = []
    while batch := list(islice(rows, chunk_size)):
        n = len(batch)
        users = np.fromiter((-1 if r[0] is None else r[0] for r in batch), np.int64, n)
        if include_anonymous:
            users = Actor.keys(user_ids=users, session_keys=np.array([r[1] or "" for r in batch], dtype=str))
        etype = np.fromiter((EVENT_CODE.get(r[3], -1) for r in batch), np.int16, n)
        known = etype >= 0  # the field's choices are the vocabulary; anything else could not be weighted anyway
        chunks.append(EventColumns(
            user_ids=users[known], item_ids=np.fromiter((r[2] for r in batch), np.int64, n)[known],
            event_type_codes=etype[known], event_types=EVENT_TYPES,
            values=np.fromiter((math.nan if r[4] is None else r[4] for r in batch), np.float64, n)[known],
            timestamps=np.fromiter((r[5].timestamp() for r in batch), np.float64, n)[known],
        ))  # fmt: skip
    return EventColumns.concat(chunks) if chunks else None


def _item_features(chunk_size: int = CHUNK_SIZE):
    """Catalogue metadata as ``ml.dataset.ItemFeatures`` keyed by item pk (category codes are contiguous)."""
    from ml.dataset import ItemFeatures

    pks, category_pks, texts, tags = [], [], [], []
    for pk, category_id, title, item_tags in Item.objects.order_by().values_list("pk", "category_id", "title", "tags").iterator(chunk_size=chunk_size):
        pks.append(pk)
        category_pks.append(category_id)
        texts.append(title)
        tags.append([str(t) for t in item_tags] if isinstance(item_tags, list) else [])
    if not pks:
        return None
    uniques, codes = np.unique(np.asarray(category_pks, dtype=np.int64), return_inverse=True)
    names = dict(Category.objects.filter(pk__in=uniques.tolist()).values_list("pk", "name"))
    return ItemFeatures(
        text=texts, category=codes.astype(np.int64), tags=tags,
        category_names=[names.get(int(pk), str(pk)) for pk in uniques], item_ids=np.asarray(pks, dtype=np.int64),
    )  # fmt: skip


class Command(BaseCommand):
    help = "Fit recommenders on a split of the stored events and print a leaderboard (nothing is activated)."

    def add_arguments(self, parser: CommandParser) -> None:
        from ml.cli.evaluate import SPLITS

        parser.add_argument("--models", default=None, help="Comma-separated registry names (default: the configured training models).")
        parser.add_argument("--split", default="temporal", choices=SPLITS)
        parser.add_argument("--test-size", type=float, default=0.2)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--days", type=int, default=None, help="Only events of the last N days (default: the training window).")
        parser.add_argument("--include-anonymous", action="store_true", help="Count anonymous sessions as users.")
        parser.add_argument("--min-user-interactions", type=int, default=1)
        parser.add_argument("--max-eval-users", type=int, default=None)
        parser.add_argument("--search", action="store_true", help="Tune each model on a validation split of train first.")
        parser.add_argument("--search-trials", type=int, default=8)
        parser.add_argument("--out", default=None, help="Report directory (default: VAR_DIR/evaluation/<timestamp>).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        from ml.cli.evaluate import UsageError, parse_models, print_leaderboard, run_leaderboard, split_data
        from ml.evaluation.report import write_report

        try:
            self._check(options)
            settings = recommender_settings_get()
            params: dict[str, dict] = {}
            if options["models"]:
                names = parse_models(options["models"])
            else:
                configured = [dict(entry) for entry in settings.training_models]
                if not configured:
                    raise UsageError("no models: pass --models or configure RecommenderSettings.training_models")
                names = parse_models(",".join(entry["name"] for entry in configured))
                params = {entry.pop("name"): entry for entry in configured}
            days = options["days"] if options["days"] is not None else settings.training_window_days
            since = timezone.now() - dt.timedelta(days=days) if days else None
            columns = _event_columns(since=since, include_anonymous=options["include_anonymous"])
            if columns is None:
                raise UsageError("no events to evaluate on" + (f" in the last {days} days" if days else ""))
            weights = {str(key): float(value) for key, value in settings.event_type_weights.items()}
            data = self._interactions(columns, weights, options["min_user_interactions"])
            self.stderr.write(f"{len(columns)} events -> {data!r}")
            try:
                train, test = split_data(data, options["split"], test_size=options["test_size"], seed=options["seed"])
            except ValueError as exc:
                raise UsageError(f"--split {options['split']}: {exc}") from None
            if test.nnz == 0:
                raise UsageError("the test split is empty (too few events per user?)")
            results = run_leaderboard(
                train, test, names, k=options["k"], seed=options["seed"], split_method=options["split"],
                test_size=options["test_size"], params=params, search=options["search"],
                search_trials=options["search_trials"], max_eval_users=options["max_eval_users"],
                progress=not options["no_progress"], log=self.stderr.write,
            )  # fmt: skip
        except UsageError as exc:
            raise CommandError(str(exc), returncode=2) from None

        print_leaderboard(results, k=options["k"], search=options["search"], out=self.stdout)
        out_dir = Path(options["out"]) if options["out"] else Path(django_settings.VAR_DIR) / "evaluation" / timezone.now().strftime("%Y%m%d-%H%M%S")
        meta = {
            "source": "database", "split": options["split"], "test_size": options["test_size"], "k": options["k"],
            "seed": options["seed"], "days": days, "include_anonymous": options["include_anonymous"],
            "event_type_weights": weights, "n_events": len(columns), "n_users": data.n_users,
            "n_items": data.n_items, "nnz": data.nnz, "train_nnz": train.nnz, "test_nnz": test.nnz,
            "search": options["search"], "params": params,
        }  # fmt: skip
        paths = write_report(results, out_dir, meta=meta, title=f"events in the database, {options['split']} split, k={options['k']}")
        self.stderr.write(f"wrote {paths['json']} and {paths['png']}")
        if all("error" in r for r in results):
            raise CommandError("every model failed; see the errors above")

    @staticmethod
    def _check(options) -> None:
        from ml.cli.evaluate import UsageError

        if options["k"] <= 0:
            raise UsageError("--k must be positive")
        if not 0.0 < options["test_size"] < 1.0:
            raise UsageError("--test-size must be between 0 and 1")
        if options["days"] is not None and options["days"] < 0:
            raise UsageError("--days must be >= 0 (0 = all events)")

    @staticmethod
    def _interactions(columns: EventColumns, weights: dict[str, float], min_user_interactions: int):
        from ml.cli.evaluate import UsageError

        try:
            data = columns.to_interactions(
                event_type_weights=weights, semantics=evidence_semantics(settings=recommender_settings_get()),
                min_user_interactions=min_user_interactions, item_features=_item_features(),
            )  # fmt: skip
        except ValueError as exc:
            raise UsageError(f"cannot build interactions: {exc}") from None
        if data.nnz == 0:
            raise UsageError(f"no positive interactions (event-type weights: {json.dumps(weights)})")
        return data
