"""Write-side logic for the catalog: the streaming catalog importer (generic CSV and MovieLens ``u.item``).

Readers turn a file into ``(line number, row dict)`` pairs lazily; ``catalog_import_rows`` validates and upserts
them chunk by chunk (``bulk_create`` + ``bulk_update`` by SKU), one transaction per chunk, so memory stays
bounded by the chunk size whatever the file size. Bad rows are reported by line number; good rows are kept.
"""
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import reset_queries, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from catalog.models import Category, Item
from catalog.revision import CATALOG_REVISION_CACHE_KEY, catalog_changed, catalog_written  # noqa: F401 - re-exported
from common.importing import (
    ImportFileError,
    ImportSummary,
    RejectedRow,
    RowErrors,
    csv_dict_rows,
    text_lines_utf8_or_latin1,
)

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

logger = logging.getLogger(__name__)


def catalog_rows_from_csv(*, path: Path, warnings: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a catalog CSV (see docs/importing.md for the columns)."""
    return csv_dict_rows(path=path, required=CATALOG_REQUIRED_COLUMNS, optional=CATALOG_OPTIONAL_COLUMNS, warnings=warnings)


def _movielens_date(raw: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(raw.strip(), "%d-%b-%Y").date()
    except ValueError:
        return None


def catalog_rows_from_movielens(*, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a MovieLens 100K ``u.item`` file (``|``-separated, no header; UTF-8 or latin-1) as catalog rows.

    ``movie id|title|release date|video release date|IMDb URL|19 genre flags`` becomes SKU ``ml-<id>``, the
    first genre as category (under "Movies"), all genres as tags, release date and IMDb URL as attributes.
    """
    for line_number, line in text_lines_utf8_or_latin1(path=path):
        if line_number == 1 and line and line.count("|") != 4 + len(MOVIELENS_GENRES):
            raise ImportFileError(
                f"{path} does not look like a MovieLens u.item file: expected {5 + len(MOVIELENS_GENRES)} "
                f"'|'-separated fields on line 1, got {line.count('|') + 1}."
            )
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 5 + len(MOVIELENS_GENRES):
            yield line_number, RejectedRow({"non_field_errors": [f"Expected {5 + len(MOVIELENS_GENRES)} '|'-separated fields, got {len(fields)}."]})
            continue
        movie_id, title, release, video_release, imdb_url = fields[:5]
        flags = fields[5:]
        if not movie_id.strip():
            yield line_number, RejectedRow({"sku": ["The movie id is empty."]})
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
            "sku": f"ml-{movie_id.strip()}",  # the id as written: "007" stays "007" (u.data keeps it too)
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


CellCheck = tuple[dict[str, Any], RowErrors]  # (clean values, errors by column) of one row's cells


def _cell(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def _texts_clean(raw: dict[str, Any]) -> CellCheck:
    errors = {name: ["This field is required."] for name in CATALOG_REQUIRED_COLUMNS if not _cell(raw, name)}
    clean = {name: _cell(raw, name) for name in (*CATALOG_REQUIRED_COLUMNS, "parent_category")}
    if raw.get("description"):
        clean["description"] = _cell(raw, "description")
    if _cell(raw, "image_url"):
        clean["image_url"] = _cell(raw, "image_url")
    return clean, errors


def _tags_clean(raw: dict[str, Any]) -> CellCheck:
    """A list as given (MovieLens reader), or ``|``-separated text, repeated tags dropped."""
    if isinstance(raw.get("tags"), list):
        return {"tags": raw["tags"]}, {}
    if _cell(raw, "tags"):
        return {"tags": list(dict.fromkeys(tag.strip() for tag in _cell(raw, "tags").split("|") if tag.strip()))}, {}
    return {}, {}


def _attributes_clean(raw: dict[str, Any]) -> CellCheck:
    if isinstance(raw.get("attributes"), dict):
        return {"attributes": raw["attributes"]}, {}
    if not _cell(raw, "attributes"):
        return {}, {}
    try:
        parsed = json.loads(_cell(raw, "attributes"))
    except json.JSONDecodeError as error:
        return {}, {"attributes": [f"Must be a JSON object: {error.msg}."]}
    if not isinstance(parsed, dict):
        return {}, {"attributes": ["Must be a JSON object, e.g. {\"color\": \"red\"}."]}
    return {"attributes": parsed}, {}


def _price_clean(raw: dict[str, Any]) -> CellCheck:
    """A price of at least 0 in cents precision; thousands separators (``1,299.00``) are allowed."""
    if not _cell(raw, "price"):
        return {}, {}
    try:
        price = Decimal(_cell(raw, "price").replace(",", ""))
    except InvalidOperation:
        return {}, {"price": [f"Must be a number, got {_cell(raw, 'price')!r}."]}
    if not price.is_finite() or price < 0:
        return {}, {"price": ["Must be a number of at least 0."]}
    return {"price": price.quantize(Decimal("0.01"))}, {}


def _flags_clean(raw: dict[str, Any]) -> CellCheck:
    clean: dict[str, Any] = {}
    errors: RowErrors = {}
    for name in ("in_stock", "is_active"):
        if not _cell(raw, name):
            continue
        flag = _parse_bool(_cell(raw, name))
        if flag is None:
            errors[name] = [f"Must be true/false (or yes/no, 1/0), got {_cell(raw, name)!r}."]
        else:
            clean[name] = flag
    return clean, errors


def _created_at_clean(raw: dict[str, Any]) -> CellCheck:
    """A datetime as given (MovieLens reader), or ISO 8601 text; naive means UTC."""
    if isinstance(raw.get("created_at"), dt.datetime):
        return {"created_at": raw["created_at"]}, {}
    if not _cell(raw, "created_at"):
        return {}, {}
    try:
        parsed_at = parse_datetime(_cell(raw, "created_at"))
    except ValueError:
        parsed_at = None
    if parsed_at is None:
        return {}, {"created_at": ["Must be ISO 8601, e.g. 2026-05-01T12:00:00Z."]}
    return {"created_at": parsed_at if parsed_at.tzinfo else parsed_at.replace(tzinfo=dt.UTC)}, {}


def _catalog_row_clean(raw: "dict[str, Any] | RejectedRow") -> tuple[dict[str, Any] | None, RowErrors]:
    """Parse one row into item field values. Blank optional cells are left out (an update keeps the old value)."""
    if isinstance(raw, RejectedRow):
        return None, raw.errors
    clean: dict[str, Any] = {}
    errors: RowErrors = {}
    for check in (_texts_clean, _tags_clean, _attributes_clean, _price_clean, _flags_clean, _created_at_clean):
        values, cell_errors = check(raw)
        clean |= values
        errors |= cell_errors
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


def catalog_import_file(
    *, path: Path, file_format: str, dry_run: bool = False, chunk_size: int = 1000, max_errors: int = 20,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Import a catalog file: ``csv`` (documented columns) or ``movielens`` (``u.item``).

    Counts go into ``summary`` (a new one when None), which is returned; its ``exit_code`` says whether every
    row, some rows or no row was written.

    Raises
    ------
    ImportFileError
        The file is refused (nothing written), or stopped being readable part-way (the chunks before are kept,
        and counted in ``summary``).
    """
    summary = summary or ImportSummary(max_errors=max_errors)
    if file_format == "csv":
        rows = catalog_rows_from_csv(path=path, warnings=summary.warnings)
    elif file_format == "movielens":
        rows = catalog_rows_from_movielens(path=path)
    else:
        raise ImportFileError(f"Unknown format {file_format!r}; expected csv or movielens.")
    return catalog_import_rows(rows=rows, chunk_size=chunk_size, dry_run=dry_run, max_errors=max_errors, summary=summary)
