"""What every file importer shares: file errors, rejected rows, the run summary, and streaming readers.

Readers turn a file into ``(line number, row)`` pairs lazily, so an import holds one chunk of rows at a time
whatever the file size; a row a reader cannot parse (wrong cells, bytes that are not UTF-8) is yielded as a
:class:`RejectedRow` and reported by line number. Text is UTF-8, with or without a byte order mark, with LF or
CRLF endings; cells are kept as text exactly as written (ids are opaque: ``007`` stays ``007``). Nothing here
knows what the rows mean (items, events): the apps' importers do.
"""
import csv
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

RowErrors = dict[str, list[str]]

IMPORT_FORMATS = ("csv", "movielens")
# Delimiters a CSV header may use (comma, semicolon as written by spreadsheets in comma-decimal locales, tab, pipe).
CSV_DELIMITERS = ",;\t|"


# Exit codes of the import commands (docs/importing.md).
EXIT_COMPLETE = 0  # every row imported (or already there)
EXIT_PARTIAL = 1  # some rows imported, some rejected (or the file stopped being readable part-way)
EXIT_NOTHING_WRITTEN = 2  # the file was refused, or every row was rejected: nothing was written

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, unreadable, wrong header): nothing was written.

    Raised part-way through a file (it stopped being readable), the rows before it are kept: the import
    commands then report what was written and exit with :data:`EXIT_PARTIAL`.
    """


@dataclass(frozen=True)
class RejectedRow:
    """What a reader yields instead of a row it could not parse."""

    errors: RowErrors


@dataclass
class ImportSummary:
    """Counts of one import run and the first ``max_errors`` errors (line number, message), in line order."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    categories_created: int = 0
    users_created: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    max_errors: int = 20
    stopped: str = ""  # why the file stopped being read part-way (the rows before were kept)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    @property
    def accepted(self) -> int:
        """Rows that were fine: imported, unchanged or already stored."""
        return self.imported + self.unchanged + self.duplicates

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_COMPLETE`, :data:`EXIT_PARTIAL` or :data:`EXIT_NOTHING_WRITTEN` for this run."""
        if not (self.rejected or self.stopped):
            return EXIT_COMPLETE
        return EXIT_PARTIAL if self.accepted else EXIT_NOTHING_WRITTEN

    def outcome(self) -> str:
        """One line saying what the run wrote, with its exit code."""
        code = self.exit_code
        if self.stopped:
            head = f"stopped part-way: {self.stopped}"
        elif code == EXIT_COMPLETE:
            head = f"complete: all {self.rows} rows accepted, none rejected"
        else:
            head = f"{self.rejected} of {self.rows} rows rejected"
        kept = "nothing was written" if code == EXIT_NOTHING_WRITTEN else f"{self.imported} rows written"
        return f"Result: {head}; {kept} (exit code {code})." if code else f"Result: {head} (exit code 0)."

    def report_lines(self) -> list[str]:
        """The human summary the import commands print."""
        lines = [
            f"Rows read: {self.rows}",
            f"Imported: {self.imported} ({self.created} created, {self.updated} updated)",
            f"Unchanged: {self.unchanged}" if self.unchanged else "",
            f"Duplicates (already stored, skipped): {self.duplicates}" if self.duplicates else "",
            f"Rejected: {self.rejected}",
            f"Categories created: {self.categories_created}" if self.categories_created else "",
            f"Users created: {self.users_created}" if self.users_created else "",
        ]
        lines = [line for line in lines if line] + [f"Warning: {warning}" for warning in self.warnings]
        if self.errors:
            shown = f"first {len(self.errors)} of {self.rejected}" if self.rejected > len(self.errors) else "all"
            lines.append(f"Errors ({shown}, by line number):")
            lines += [f"  line {line}: {message}" for line, message in self.errors]
        return [*lines, self.outcome()]

    def add_errors(self, errors: dict[int, RowErrors]) -> None:
        """Count rejected rows and keep the ``max_errors`` lowest line numbers (memory stays bounded)."""
        self.rejected += len(errors)
        if not errors:
            return
        messages = ((line, error_text(row_errors)) for line, row_errors in errors.items())
        self.errors = heapq.nsmallest(self.max_errors, [*self.errors, *messages])


def error_text(row_errors: RowErrors) -> str:
    """One line for a row's errors: ``field: message; other: message`` (row-level messages without a name)."""
    return "; ".join(f"{name}: {' '.join(messages)}" if name != "non_field_errors" else " ".join(messages) for name, messages in row_errors.items())


def import_format_guess(*, path: Path) -> str | None:
    """``csv`` for *.csv, ``movielens`` for MovieLens 100K names (u.item, u.data), else None."""
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.name in ("u.item", "u.data") or path.suffix.lower() in (".item", ".data"):
        return "movielens"
    return None


def _file_check(path: Path) -> None:
    """ImportFileError for a missing file, a directory, or a UTF-16 file (told apart by its byte order mark)."""
    if not path.exists():
        raise ImportFileError(f"File not found: {path}")
    if not path.is_file():
        raise ImportFileError(f"Not a file: {path}")
    try:
        with path.open("rb") as handle:
            start = handle.read(4)
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error}") from error
    if start.startswith(UTF16_BOMS):
        raise ImportFileError(f"{path} is UTF-16 (line 1 starts with its byte order mark): save it as UTF-8 and import again.")


def text_file_open(*, path: Path, encoding: str) -> TextIO:
    """Open a text file for streaming, with ImportFileError (not OSError) when it cannot be read.

    Bytes the encoding cannot decode become lone surrogates (``surrogateescape``), so reading never stops
    part-way; :func:`undecodable` finds them in a row, which is then rejected by line number.
    """
    _file_check(path)
    try:
        return path.open(encoding=encoding, errors="surrogateescape", newline="")
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error}") from error


def undecodable(texts: list[str]) -> str | None:
    """A message naming the first byte of ``texts`` that was not UTF-8 (read with ``surrogateescape``), else None."""
    text = ",".join(texts)  # one encode per row: the common, clean case costs one C call
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        byte = ord(text[error.start]) - 0xDC00
        return (f"Not UTF-8: byte 0x{byte:02x} after {text[:error.start][-20:]!r}. Save the file as UTF-8 "
                "(other encodings, such as latin-1 or Windows-1252, are not read).")
    return None


def text_lines_utf8_or_latin1(*, path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a headerless file: each line UTF-8, or latin-1 when it is not UTF-8.

    For the MovieLens files, whose originals are latin-1; a UTF-8 byte order mark is skipped, line ends (LF or
    CRLF) are removed.
    """
    _file_check(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error}") from error
    with handle:
        for line_number, raw in enumerate(handle, start=1):
            if line_number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            yield line_number, text.rstrip("\r\n")


def csv_delimiter_sniff(header_line: str) -> str:
    """The delimiter of a CSV, from its header line: one of :data:`CSV_DELIMITERS`, comma when unclear.

    Only the delimiter is taken from ``csv.Sniffer``: from a header alone it cannot see how quotes are escaped
    in the rows (it would turn off ``doublequote``), so the rows keep the standard quoting rules.
    """
    try:
        return csv.Sniffer().sniff(header_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # a single column, or nothing to go on
        return ","


def csv_dict_rows(
    *, path: Path, required: tuple[str, ...], optional: tuple[str, ...], alternatives: tuple[tuple[str, ...], ...] = (),
    warnings: list[str] | None = None,
) -> Iterator[tuple[int, "dict[str, str] | RejectedRow"]]:
    """Lazily yield ``(line number, row)`` from a UTF-8 CSV whose first line is a header.

    The delimiter (comma, semicolon, tab or pipe) is sniffed from the header; a UTF-8 byte order mark is skipped;
    LF and CRLF line ends are both fine. A record holding bytes that are not UTF-8 is yielded as a ``RejectedRow``.
    ``required`` columns must all be present; for each group in ``alternatives`` at least one column must be.
    Unknown columns are ignored (with a warning). Line numbers are those of the first line of each record
    (a quoted field may span lines). A row with the wrong number of cells is yielded as a ``RejectedRow``.
    The header is checked before the first row is yielded, so errors surface on the first ``next()``.

    Raises
    ------
    ImportFileError
        The file is missing, empty, UTF-16, its header is not UTF-8, lacks a required column or repeats one.
    """
    handle = text_file_open(path=path, encoding="utf-8-sig")
    with handle:
        header_line = handle.readline()
        problem = undecodable([header_line])
        if problem:
            raise ImportFileError(f"Cannot read the header of {path} (line 1): {problem}")
        if not header_line:
            raise ImportFileError(f"{path} is empty: expected a header line ({', '.join(required)}, ...).")
        reader = csv.reader(_lines_from(header_line, handle), delimiter=csv_delimiter_sniff(header_line))
        try:
            header = next(reader)
        except csv.Error as error:
            raise ImportFileError(f"Cannot read the header of {path}: {error}") from error
        columns = _csv_columns_check(
            path=path, header=header, required=required, optional=optional, alternatives=alternatives, warnings=warnings
        )
        yield from _csv_records(path=path, reader=reader, columns=columns)


def _lines_from(first: str, handle: TextIO) -> Iterator[str]:
    yield first
    yield from handle


def _csv_columns_check(
    *, path: Path, header: list[str], required: tuple[str, ...], optional: tuple[str, ...],
    alternatives: tuple[tuple[str, ...], ...], warnings: list[str] | None,
) -> list[str]:
    """The header's column names (trimmed, lower case); ImportFileError when a required one is missing or repeated."""
    columns = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in columns]
    missing += [" or ".join(group) for group in alternatives if not any(name in columns for name in group)]
    if missing:
        raise ImportFileError(
            f"Bad header in {path}: missing column(s) {', '.join(missing)}. Found: {', '.join(columns) or '(nothing)'}. "
            f"Expected {', '.join(required)} and optionally {', '.join(optional)}."
        )
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        raise ImportFileError(f"Bad header in {path}: repeated column(s) {', '.join(duplicated)}.")
    known = set(required) | set(optional) | {name for group in alternatives for name in group}
    unknown = [name for name in columns if name not in known]
    if unknown and warnings is not None:
        warnings.append(f"Ignoring unknown column(s): {', '.join(unknown)}.")
    return columns


def _csv_records(*, path: Path, reader: Any, columns: list[str]) -> Iterator[tuple[int, "dict[str, str] | RejectedRow"]]:
    """The records after the header (``reader``: a ``csv.reader``), numbered by their first line; blank lines skipped."""
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = previous_end + 1
            previous_end = reader.line_num
            yield line, RejectedRow({"non_field_errors": [f"Unreadable CSV: {error}"]})
            continue
        except OSError as error:  # the file went away or the disk failed part-way: the rows before are kept
            raise ImportFileError(f"Cannot read {path} after line {previous_end}: {error}") from error
        line = previous_end + 1
        previous_end = reader.line_num
        if not cells or all(not cell.strip() for cell in cells):
            continue  # blank line
        problem = undecodable(cells)
        if problem:
            yield line, RejectedRow({"non_field_errors": [problem]})
            continue
        if len(cells) != len(columns):
            yield line, RejectedRow({"non_field_errors": [f"Expected {len(columns)} cells, got {len(cells)}."]})
            continue
        yield line, dict(zip(columns, cells, strict=True))
