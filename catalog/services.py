"""Write-side logic for the catalog: the streaming catalog importer (generic CSV and MovieLens ``u.item``).

Readers turn a file into ``(line number, row dict)`` pairs lazily; ``catalog_import_rows`` validates and upserts
them chunk by chunk (``bulk_create`` + ``bulk_update`` by SKU), one transaction per chunk, so memory stays
bounded by the chunk size whatever the file size. Bad rows are reported by line number; good rows are kept.
"""
import contextlib
import csv
import datetime as dt
import heapq
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import reset_queries, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from catalog.models import Category, Item
from common.services import cache_invalidate_around_commit

CATALOG_REQUIRED_COLUMNS = ("sku", "title", "category")
CATALOG_OPTIONAL_COLUMNS = (
    "description", "tags", "price", "image_url", "in_stock", "is_active", "parent_category", "attributes", "created_at",
)
MOVIELENS_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
MOVIELENS_PARENT_CATEGORY = "Movies"
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f"})
# Fields an importer may set on an item (``category`` is resolved separately).
ITEM_FIELDS = ("title", "description", "tags", "attributes", "price", "image_url", "in_stock", "is_active", "created_at")

RowErrors = dict[str, list[str]]
# Replaced whenever items or categories change (signals for single rows, the bulk writers explicitly): caches of
# item data, such as the item cards serving keeps in each process, drop what they hold when it differs.
CATALOG_REVISION_CACHE_KEY = "catalog:revision"

logger = logging.getLogger(__name__)


def catalog_changed() -> None:
    """Items or categories were written: readers of ``CATALOG_REVISION_CACHE_KEY`` re-read them."""
    try:
        cache.set(CATALOG_REVISION_CACHE_KEY, uuid.uuid4().hex[:12], None)
    except Exception as exc:
        logger.warning("could not bump the catalog revision: %s", exc)


def catalog_written() -> None:
    """Call after writing items or categories, in a transaction or not: the revision changes now and after commit."""
    cache_invalidate_around_commit(catalog_changed)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, unreadable, wrong header): nothing was written."""


@dataclass(frozen=True)
class RejectedRow:
    """What a reader yields instead of a row it could not parse."""

    errors: dict[str, list[str]]


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

    @property
    def imported(self) -> int:
        return self.created + self.updated

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
        return lines

    def add_errors(self, errors: dict[int, RowErrors]) -> None:
        """Count rejected rows and keep the ``max_errors`` lowest line numbers (memory stays bounded)."""
        self.rejected += len(errors)
        if not errors:
            return
        messages = ((line, error_text(row_errors)) for line, row_errors in errors.items())
        self.errors = heapq.nsmallest(self.max_errors, [*self.errors, *messages])


def error_text(row_errors: RowErrors) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" if name != "non_field_errors" else " ".join(messages) for name, messages in row_errors.items())


def text_file_open(*, path: Path, encoding: str) -> TextIO:
    """Open a text file for streaming, with ImportFileError (not OSError) when it cannot be read."""
    if not path.exists():
        raise ImportFileError(f"File not found: {path}")
    if not path.is_file():
        raise ImportFileError(f"Not a file: {path}")
    try:
        return path.open(encoding=encoding, newline="")
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error}") from error


def csv_dict_rows(
    *, path: Path, required: tuple[str, ...], optional: tuple[str, ...], alternatives: tuple[tuple[str, ...], ...] = (),
    warnings: list[str] | None = None,
) -> Iterator[tuple[int, "dict[str, str] | RejectedRow"]]:
    """Lazily yield ``(line number, row)`` from a UTF-8 CSV whose first line is a header.

    ``required`` columns must all be present; for each group in ``alternatives`` at least one column must be.
    Unknown columns are ignored (with a warning). Line numbers are those of the first line of each record
    (a quoted field may span lines). A row with the wrong number of cells is yielded as a ``RejectedRow``.
    The header is checked before the first row is yielded, so errors surface on the first ``next()``.
    """
    handle = text_file_open(path=path, encoding="utf-8-sig")
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(f"{path} is empty: expected a header line ({', '.join(required)}, ...).") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise ImportFileError(f"Cannot read the header of {path}: {error}") from error
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
            except UnicodeDecodeError as error:
                # The decoder fails on a whole buffer, so later lines cannot be trusted: stop with a file error.
                raise ImportFileError(f"{path} is not valid UTF-8 near line {previous_end + 1}: {error}") from error
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells or all(not cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) != len(columns):
                yield line, RejectedRow({"non_field_errors": [f"Expected {len(columns)} cells, got {len(cells)}."]})
                continue
            yield line, dict(zip(columns, cells, strict=True))


def catalog_rows_from_csv(*, path: Path, warnings: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a catalog CSV (see docs/importing.md for the columns)."""
    return csv_dict_rows(path=path, required=CATALOG_REQUIRED_COLUMNS, optional=CATALOG_OPTIONAL_COLUMNS, warnings=warnings)


def _movielens_date(raw: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(raw.strip(), "%d-%b-%Y").date()
    except ValueError:
        return None


def catalog_rows_from_movielens(*, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a MovieLens 100K ``u.item`` file (``|``-separated, latin-1, no header) as catalog rows.

    ``movie id|title|release date|video release date|IMDb URL|19 genre flags`` becomes SKU ``ml-<id>``, the
    first genre as category (under "Movies"), all genres as tags, release date and IMDb URL as attributes.
    """
    handle = text_file_open(path=path, encoding="latin-1")
    with handle:
        first = handle.readline()
        if first and first.count("|") != 4 + len(MOVIELENS_GENRES):
            raise ImportFileError(
                f"{path} does not look like a MovieLens u.item file: expected {5 + len(MOVIELENS_GENRES)} "
                f"'|'-separated fields on line 1, got {first.count('|') + 1}."
            )
        handle.seek(0)
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) != 5 + len(MOVIELENS_GENRES):
                yield line_number, RejectedRow({"non_field_errors": [f"Expected {5 + len(MOVIELENS_GENRES)} '|'-separated fields, got {len(fields)}."]})
                continue
            movie_id, title, release, video_release, imdb_url = fields[:5]
            flags = fields[5:]
            if not movie_id.strip().isdigit():
                yield line_number, RejectedRow({"sku": [f"Movie id must be a number, got {movie_id!r}."]})
                continue
            if any(flag not in ("0", "1") for flag in flags):
                yield line_number, RejectedRow({"tags": ["Genre flags must be 0 or 1."]})
                continue
            genres = [genre for genre, flag in zip(MOVIELENS_GENRES, flags, strict=True) if flag == "1"] or ["unknown"]
            release_date = _movielens_date(release)
            attributes: dict[str, Any] = {"release_date": release_date.isoformat() if release_date else release.strip()}
            if video_release.strip():
                attributes["video_release_date"] = video_release.strip()
            if imdb_url.strip():
                attributes["imdb_url"] = imdb_url.strip()
            created_at = dt.datetime.combine(release_date, dt.time(), tzinfo=dt.UTC) if release_date else None
            yield line_number, {
                "sku": f"ml-{int(movie_id)}",
                "title": title.strip(),
                "category": genres[0],
                "parent_category": MOVIELENS_PARENT_CATEGORY,
                "description": f"{title.strip()}. Genres: {', '.join(genres)}.",
                "tags": genres,
                "attributes": attributes,
                "created_at": created_at,
            }


def _parse_bool(raw: str) -> bool | None:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _catalog_row_clean(raw: "dict[str, Any] | RejectedRow") -> tuple[dict[str, Any] | None, RowErrors]:
    """Parse one row into item field values. Blank optional cells are left out (an update keeps the old value)."""
    if isinstance(raw, RejectedRow):
        return None, raw.errors
    errors: RowErrors = {}
    clean: dict[str, Any] = {}

    def text(name: str) -> str:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else ""

    for name in CATALOG_REQUIRED_COLUMNS:
        if not text(name):
            errors[name] = ["This field is required."]
    clean["sku"], clean["title"], clean["category"] = text("sku"), text("title"), text("category")
    clean["parent_category"] = text("parent_category")
    if raw.get("description"):
        clean["description"] = text("description")

    tags = raw.get("tags")
    if isinstance(tags, list):
        clean["tags"] = tags
    elif text("tags"):
        clean["tags"] = list(dict.fromkeys(tag.strip() for tag in text("tags").split("|") if tag.strip()))

    attributes = raw.get("attributes")
    if isinstance(attributes, dict):
        clean["attributes"] = attributes
    elif text("attributes"):
        try:
            parsed = json.loads(text("attributes"))
        except json.JSONDecodeError as error:
            errors["attributes"] = [f"Must be a JSON object: {error.msg}."]
        else:
            if isinstance(parsed, dict):
                clean["attributes"] = parsed
            else:
                errors["attributes"] = ["Must be a JSON object, e.g. {\"color\": \"red\"}."]

    if text("price"):
        try:
            price = Decimal(text("price").replace(",", ""))
        except InvalidOperation:
            errors["price"] = [f"Must be a number, got {text('price')!r}."]
        else:
            if not price.is_finite() or price < 0:
                errors["price"] = ["Must be a number of at least 0."]
            else:
                clean["price"] = price.quantize(Decimal("0.01"))

    for name in ("in_stock", "is_active"):
        if text(name):
            flag = _parse_bool(text(name))
            if flag is None:
                errors[name] = [f"Must be true/false (or yes/no, 1/0), got {text(name)!r}."]
            else:
                clean[name] = flag

    if text("image_url"):
        clean["image_url"] = text("image_url")

    created_at = raw.get("created_at")
    if isinstance(created_at, dt.datetime):
        clean["created_at"] = created_at
    elif text("created_at"):
        try:
            parsed_at = parse_datetime(text("created_at"))
        except ValueError:
            parsed_at = None
        if parsed_at is None:
            errors["created_at"] = ["Must be ISO 8601, e.g. 2026-05-01T12:00:00Z."]
        else:
            clean["created_at"] = parsed_at if parsed_at.tzinfo else parsed_at.replace(tzinfo=dt.UTC)
    return (None if errors else clean), errors


def _category_slug(name: str) -> str:
    slug = slugify(name)[:140]
    return slug or "category-" + "-".join(str(ord(char)) for char in name)[:120]


class _CategoryResolver:
    """Find or create categories by name (or slug); remembers what it saw during one import."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Category] = {}
        self.created = 0

    def get(self, *, name: str, parent_name: str = "") -> Category:
        key = (name.lower(), parent_name.lower())
        category = self._by_key.get(key)
        if category is None:
            parent = self.get(name=parent_name) if parent_name else None
            slug = _category_slug(name)
            category = Category.objects.filter(slug=slug).first() or Category.objects.filter(name__iexact=name).order_by("pk").first()
            if category is None:
                category = Category(name=name[:120], slug=slug, parent=parent)
                try:
                    category.full_clean()
                except ValidationError as error:
                    raise ValidationError({"category": error.messages}) from error
                category.save()
                self.created += 1
            self._by_key[key] = category
        return category


def catalog_import_rows(
    *, rows: Iterable[tuple[int, dict[str, Any]]], chunk_size: int = 1000, dry_run: bool = False, max_errors: int = 20,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Validate and upsert catalog rows by SKU; returns the counts and the first errors by line number.

    Each chunk is written in its own transaction, so an interrupted import keeps the chunks already done (a dry
    run wraps everything in one transaction and rolls it back, so its counts are exact). A SKU repeated in the
    file is updated by its later rows.
    """
    summary = summary or ImportSummary(max_errors=max_errors)
    resolver = _CategoryResolver()
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        chunk: list[tuple[int, dict[str, Any]]] = []
        for line_number, raw in rows:
            summary.rows += 1
            chunk.append((line_number, raw))
            if len(chunk) >= chunk_size:
                _catalog_chunk_write(chunk=chunk, resolver=resolver, summary=summary, atomic=not dry_run)
                chunk = []
        if chunk:
            _catalog_chunk_write(chunk=chunk, resolver=resolver, summary=summary, atomic=not dry_run)
        if dry_run:
            transaction.set_rollback(True)
    summary.categories_created += resolver.created
    return summary


def _catalog_chunk_write(*, chunk: list[tuple[int, dict[str, Any]]], resolver: _CategoryResolver, summary: ImportSummary, atomic: bool) -> None:
    errors: dict[int, RowErrors] = {}
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for line_number, raw in chunk:
        clean, row_errors = _catalog_row_clean(raw)
        if row_errors:
            errors[line_number] = row_errors
        else:
            cleaned.append((line_number, clean))

    now = timezone.now()
    with transaction.atomic() if atomic else contextlib.nullcontext():
        existing = Item.objects.in_bulk([clean["sku"] for _, clean in cleaned], field_name="sku")
        to_create: dict[str, Item] = {}
        to_update: dict[str, Item] = {}
        update_fields: set[str] = set()
        for line_number, clean in cleaned:
            sku = clean["sku"]
            values = {name: clean[name] for name in ITEM_FIELDS if name in clean}
            item = existing.get(sku) or to_create.get(sku)
            is_new = item is None
            if is_new:
                item = Item(sku=sku, price=Decimal("0.00"), created_at=now)
            before = {name: getattr(item, name) for name in [*values, "category_id"]}
            for name, value in values.items():
                setattr(item, name, value)
            try:
                # Validate the row before touching categories, so a rejected row creates nothing.
                item.full_clean(exclude=["category"], validate_unique=False, validate_constraints=False)
                item.category_id = resolver.get(name=clean["category"], parent_name=clean["parent_category"]).pk
            except ValidationError as error:
                errors[line_number] = {name: list(messages) for name, messages in error.message_dict.items()}
                for name, value in before.items():  # leave the item as it was
                    setattr(item, name, value)
                continue
            if is_new:
                to_create[sku] = item
                summary.created += 1
            elif sku in to_create:
                summary.updated += 1  # repeated SKU among new rows: the later row wins
            else:
                changed = {name for name, value in before.items() if value != getattr(item, name)}
                if changed:
                    update_fields |= changed
                    to_update[sku] = item
                    summary.updated += 1
                else:
                    summary.unchanged += 1
        if to_create:
            Item.objects.bulk_create(list(to_create.values()), batch_size=500)
        if to_update:
            Item.objects.bulk_update(list(to_update.values()), sorted(update_fields), batch_size=500)
        if to_create or to_update:
            catalog_written()  # bulk writes send no signals
    summary.add_errors(errors)
    reset_queries()  # with DEBUG on, Django would keep every query of a long import in memory


IMPORT_FORMATS = ("csv", "movielens")


def import_format_guess(*, path: Path) -> str | None:
    """``csv`` for *.csv, ``movielens`` for MovieLens 100K names (u.item, u.data), else None."""
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.name in ("u.item", "u.data") or path.suffix.lower() in (".item", ".data"):
        return "movielens"
    return None


def catalog_import_file(
    *, path: Path, file_format: str, dry_run: bool = False, chunk_size: int = 1000, max_errors: int = 20,
) -> ImportSummary:
    """Import a catalog file: ``csv`` (documented columns) or ``movielens`` (``u.item``). Raises ImportFileError."""
    summary = ImportSummary(max_errors=max_errors)
    if file_format == "csv":
        rows = catalog_rows_from_csv(path=path, warnings=summary.warnings)
    elif file_format == "movielens":
        rows = catalog_rows_from_movielens(path=path)
    else:
        raise ImportFileError(f"Unknown format {file_format!r}; expected csv or movielens.")
    return catalog_import_rows(rows=rows, chunk_size=chunk_size, dry_run=dry_run, max_errors=max_errors, summary=summary)
