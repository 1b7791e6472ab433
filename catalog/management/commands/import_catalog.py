"""``manage.py import_catalog FILE``: upsert items (and their categories) from a CSV or MovieLens ``u.item``."""
from pathlib import Path

from django.core.management.base import CommandParser

from catalog.services import catalog_import_file
from common.importing import ImportSummary
from common.management_import import ImportCommand


class Command(ImportCommand):
    help = "Import catalog items from a CSV (sku,title,category,...) or a MovieLens u.item file; upserts by SKU."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, then roll everything back.")

    def import_run(self, *, path: Path, file_format: str, options: dict, summary: ImportSummary) -> None:
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing will be saved; the counts and exit code are those of a real run.")
        catalog_import_file(
            path=path, file_format=file_format, dry_run=options["dry_run"], chunk_size=options["chunk_size"], summary=summary,
        )
