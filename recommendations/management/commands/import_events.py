"""``manage.py import_events FILE``: stream events from a CSV or MovieLens ``u.data`` into the event store."""
from pathlib import Path

from django.core.management.base import CommandParser

from common.importing import ImportSummary
from common.management_import import ImportCommand
from recommendations.events import event_import_file
from recommendations.models import EventType

PROGRESS_EVERY = 100_000


class Command(ImportCommand):
    help = "Import events from a CSV (user,item_sku,event_type,timestamp,...) or a MovieLens u.data file."

    default_chunk_size = 5000

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--user-prefix", default=None, help="Put before every external user id (default: 'ml-' for MovieLens, none for CSV).")
        parser.add_argument("--create-users", action="store_true", help="Create users that do not exist yet (no usable password).")
        parser.add_argument("--rating-event", default=EventType.RATING, choices=EventType.values, help="Event type for MovieLens ratings.")

    def import_run(self, *, path: Path, file_format: str, options: dict, summary: ImportSummary) -> None:
        progress = event_import_file(
            path=path, file_format=file_format, user_prefix=options["user_prefix"],
            create_users=options["create_users"], rating_event=options["rating_event"],
            chunk_size=options["chunk_size"], summary=summary,
        )
        reported = 0
        for summary in progress:
            if options["verbosity"] >= 1 and summary.rows - reported >= PROGRESS_EVERY:
                reported = summary.rows
                self.stderr.write(f"... {summary.rows} rows, {summary.created} imported, {summary.rejected} rejected")
