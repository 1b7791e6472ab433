"""``manage.py train [--model NAME ...] [--force]``: train the configured models now, in this process.

The same pipeline as the Celery task (snapshot, train, evaluate, index, promote), run synchronously; used by
``make run`` on the embedded default and handy on a server. Prints one summary row per model.
"""
from django.core.management.base import BaseCommand, CommandError

from recommendations.training import (
    LockBusy,
    NothingToTrain,
    model_version_request,
    model_version_train,
    training_data_check,
)
from recommendations.tuning import recommender_settings_get


class Command(BaseCommand):
    help = "Train, evaluate and promote the recommender models on the events in the database."

    def add_arguments(self, parser):
        parser.add_argument("--model", action="append", dest="models", metavar="NAME",
                            help="Train only this model (repeatable); default: every model in the settings.")
        parser.add_argument("--force", action="store_true", help="Activate the new version whatever its metrics.")

    def handle(self, *args, models=None, force=False, **options):
        settings = recommender_settings_get()
        configured = {entry["name"]: dict(entry) for entry in settings.training_models}
        configs = [configured.get(name, {"name": name}) for name in models] if models else list(configured.values())
        if not configs:
            raise CommandError("No models to train: RecommenderSettings.training_models is empty.")
        try:  # before any version is recorded: an empty database is one line and exit code 1, not N failures
            training_data_check(window_days=settings.training_window_days,
                                event_type_weights=dict(settings.event_type_weights))
        except NothingToTrain as exc:
            raise CommandError(str(exc)) from exc
        metric = settings.promotion_metric
        rows = []
        for config in configs:
            try:
                version, _ = model_version_request(config=config, force=force)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"training {config['name']} (version {version.pk}) ...")
            try:
                version = model_version_train(version_id=version.pk)
            except LockBusy as exc:
                self.stdout.write(self.style.WARNING(f"  skipped: {exc}"))
                continue
            rows.append(version)
        for version in rows:
            version.refresh_from_db()  # a later model may have replaced an earlier one as the active version
        self._table(rows, metric)
        failed = [version for version in rows if version.status == "failed"]
        if failed and len(failed) == len(rows):
            raise CommandError("Every model failed; see the error column (and the admin).")
        if failed:
            self.stderr.write(self.style.WARNING(f"{len(failed)} model(s) failed; the others were kept."))

    def _table(self, versions, metric):
        header = ("version", "model", "status", metric, "users", "items", "events", "seconds", "note")
        lines = [header]
        for version in versions:
            value = version.metrics.get(metric)
            lines.append((
                str(version.pk), version.model_name, version.status,
                "-" if value is None else f"{value:.4f}",
                str(version.n_users), str(version.n_items), str(version.n_events),
                f"{version.timings.get('total', 0):.1f}",
                (version.error.splitlines()[0] if version.error else version.promotion_note)[:70],
            ))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for n, line in enumerate(lines):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)))
            if n == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
