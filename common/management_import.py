"""What the import commands share: the file / --format / chunking arguments, their checks, and the report."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.importing import IMPORT_FORMATS, ImportFileError, ImportSummary, import_format_guess


class ImportCommand(BaseCommand):
    """Base for ``import_catalog`` and ``import_events``: bad arguments exit with code 2 and a clear message.

    A subclass implements :meth:`import_run`; ``handle`` checks the arguments, turns a refused file into exit
    code 2 and prints the summary.
    """

    default_chunk_size = 1000

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", default="", help="csv or movielens (default: from the file name).")
        parser.add_argument("--chunk-size", type=int, default=self.default_chunk_size)
        parser.add_argument("--max-errors", type=int, default=20, help="How many errors to list (all are counted).")

    def import_format(self, options: dict) -> str:
        """The file format to read (from --format or the file name), after checking the shared arguments."""
        path: Path = options["file"]
        file_format = options["file_format"] or import_format_guess(path=path)
        if file_format not in IMPORT_FORMATS:
            given = f"Unknown format {options['file_format']!r}" if options["file_format"] else f"Cannot tell the format of {path.name}"
            raise CommandError(f"{given}; pass --format {' or --format '.join(IMPORT_FORMATS)}.", returncode=2)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be positive.", returncode=2)
        return file_format

    def import_run(self, *, path: Path, file_format: str, options: dict) -> ImportSummary:
        """Import the file; returns the final summary. Raises ImportFileError when the file is refused as a whole."""
        raise NotImplementedError

    def handle(self, *args, **options) -> None:
        file_format = self.import_format(options)
        try:
            summary = self.import_run(path=options["file"], file_format=file_format, options=options)
        except ImportFileError as error:
            raise CommandError(str(error), returncode=2) from error
        for line in summary.report_lines():
            self.stdout.write(line)
