"""What the import commands share: the file / --format / chunking arguments, their checks, and the report."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.importing import (
    EXIT_COMPLETE,
    EXIT_NOTHING_WRITTEN,
    IMPORT_FORMATS,
    ImportFileError,
    ImportSummary,
    import_format_guess,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 every row imported (or already there); 1 partial: some rows were rejected (listed by line "
    "number), the others were written; 2 nothing written: the file was refused (missing, unreadable, wrong "
    "header, bad arguments) or every row was rejected."
)


class ImportCommand(BaseCommand):
    """Base for ``import_catalog`` and ``import_events``: the exit code says what was written.

    A subclass implements :meth:`import_run`, which fills the summary it is given. ``handle`` checks the
    arguments, prints the summary and exits with its code (:data:`common.importing.EXIT_COMPLETE`, ``PARTIAL``
    or ``NOTHING_WRITTEN``); a file refused before any row exits with code 2, one that stops being readable
    part-way keeps the rows before it and exits with code 1.
    """

    default_chunk_size = 1000

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EXIT_CODES_HELP
        return parser

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
            raise CommandError(f"{given}; pass --format {' or --format '.join(IMPORT_FORMATS)}.", returncode=EXIT_NOTHING_WRITTEN)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be positive.", returncode=EXIT_NOTHING_WRITTEN)
        return file_format

    def import_run(self, *, path: Path, file_format: str, options: dict, summary: ImportSummary) -> None:
        """Import the file, counting into ``summary``. Raises ImportFileError when the file is refused."""
        raise NotImplementedError

    def handle(self, *args, **options) -> None:
        file_format = self.import_format(options)
        summary = ImportSummary(max_errors=options["max_errors"])
        try:
            self.import_run(path=options["file"], file_format=file_format, options=options, summary=summary)
        except ImportFileError as error:
            if not summary.rows:  # refused before any row: nothing was written
                raise CommandError(str(error), returncode=EXIT_NOTHING_WRITTEN) from error
            summary.stopped = str(error)
        for line in summary.report_lines():
            self.stdout.write(line)
        if summary.exit_code != EXIT_COMPLETE:
            raise CommandError(summary.outcome().removeprefix("Result: "), returncode=summary.exit_code)
