"""``manage.py import_catalog FILE``: upsert items (and their categories) from a CSV or MovieLens ``u.item``."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import IMPORT_FORMATS, ImportFileError, catalog_import_file, import_format_guess

class Command(BaseCommand):
    help = "Import catalog items from a CSV (sku,title,category,...) or a MovieLens u.item file; upserts by SKU."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", default="", help="csv or movielens (default: from the file name).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, then roll everything back.")
        parser.add_argument("--chunk-size", type=int, default=1000)
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
            summary = catalog_import_file(
                path=path, file_format=file_format, dry_run=options["dry_run"],
                chunk_size=options["chunk_size"], max_errors=options["max_errors"],
            )
        except ImportFileError as error:
            raise CommandError(str(error), returncode=2) from error
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was saved.")
        for line in summary.report_lines():
            self.stdout.write(line)
