"""``manage.py import_events FILE``: stream events from a CSV or MovieLens ``u.data`` into the event store."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import IMPORT_FORMATS, ImportFileError, import_format_guess
from recommendations.models import EventType
from recommendations.services.importers import event_import_file

PROGRESS_EVERY = 100_000


class Command(BaseCommand):
    help = "Import events from a CSV (user,item_sku,event_type,timestamp,...) or a MovieLens u.data file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", default="", help="csv or movielens (default: from the file name).")
        parser.add_argument("--user-prefix", default=None, help="Put before every external user id (default: 'ml-' for MovieLens, none for CSV).")
        parser.add_argument("--create-users", action="store_true", help="Create users that do not exist yet (no usable password).")
        parser.add_argument("--rating-event", default=EventType.RATING, choices=EventType.values, help="Event type for MovieLens ratings.")
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument("--max-errors", type=int, default=20, help="How many errors to list (all are counted).")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        file_format = options["file_format"] or import_format_guess(path=path)
        if file_format not in IMPORT_FORMATS:
            given = f"Unknown format {options['file_format']!r}" if options["file_format"] else f"Cannot tell the format of {path.name}"
            raise CommandError(f"{given}; pass --format {' or --format '.join(IMPORT_FORMATS)}.", returncode=2)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be positive.", returncode=2)
        try:
            progress = event_import_file(
                path=path, file_format=file_format, user_prefix=options["user_prefix"],
                create_users=options["create_users"], rating_event=options["rating_event"],
                chunk_size=options["chunk_size"], max_errors=options["max_errors"],
            )
            summary = None
            reported = 0
            for summary in progress:
                if options["verbosity"] >= 1 and summary.rows - reported >= PROGRESS_EVERY:
                    reported = summary.rows
                    self.stderr.write(f"... {summary.rows} rows, {summary.created} imported, {summary.rejected} rejected")
        except ImportFileError as error:
            raise CommandError(str(error), returncode=2) from error
        for line in summary.report_lines():
            self.stdout.write(line)
