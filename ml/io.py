# Over 400 lines because it is one concern: the file formats (generic CSV, MovieLens, catalogues) share the sniffing and chunked parsing.
"""Loading interaction logs and item metadata from files, chunk by chunk.

Nothing here builds Python objects per row for long: each chunk of lines becomes a handful of numpy
arrays, and the loaders either yield those chunks (``iter_*``) or concatenate them (``read_*``).

Generic CSV (``format="csv"``)
------------------------------
Columns ``user_id,item_id[,event_type][,value][,timestamp]``. The delimiter is sniffed from the first
line (comma, tab, semicolon or pipe). The first line is a *header* when one of its fields is a known
column name (case-insensitive; aliases: ``user``/``userId``, ``item``/``itemId``/``movieId``/
``product_id``, ``event``/``type``, ``rating``/``weight``/``score``, ``time``/``ts``/``datetime``);
with a header the columns may come in any order, unknown names are an error. Without a header the
columns are read by position: 2 columns ``user,item``; 3 columns ``user,item,value`` when the third
field of the first row is numeric, else ``user,item,event_type``; 4 columns
``user,item,value,timestamp`` when the third is numeric, else ``user,item,event_type,value``;
5 columns ``user,item,event_type,value,timestamp``.

* encoding: UTF-8, with or without a byte-order mark, LF or CRLF line endings; any other encoding is
  refused with the line and byte that are not UTF-8 (the ML-100k ``u.item`` alone is latin-1);
* ids are opaque names kept exactly as given (surrounding spaces stripped): a column is read as
  integers only when every id of the *whole file* is written as a plain integer (``42``, ``-3``; not
  ``007``, ``+7`` or ``4.0``), else every id is the string in the file (``"007"`` stays ``"007"``).
  :func:`iter_csv` yields the ids as text and :func:`read_csv` decides once for the whole file;
* ``value``: float, an empty field is NaN (e.g. a view without a value);
* ``timestamp``: unix seconds (int or float) or ISO 8601 (``2024-05-01T12:00:00``), stored as
  float64 unix seconds.

MovieLens
---------
* ``format="movielens"``: ML-100k ``u.data``, tab-separated ``user item rating timestamp``, no header.
* ``format="movielens-latest"``: ML-latest / ML-20M/25M/32M ``ratings.csv``,
  ``userId,movieId,rating,timestamp`` with a header.
* item metadata: ML-100k ``u.item`` (pipe-separated, latin-1, 19 genre flags) or ML-latest
  ``movies.csv`` (``movieId,title,genres`` with ``|``-separated genres), see :func:`read_item_catalog`.
  Every genre becomes a tag; the first genre is the item's category. A generic item CSV
  (``item_id,category[,title][,tags]``) is read by the same function.
"""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

__all__ = [
    "COLUMNS",
    "FORMATS",
    "DataFormatError",
    "RawEvents",
    "ItemCatalog",
    "iter_csv",
    "iter_events",
    "read_csv",
    "read_events",
    "read_item_catalog",
    "read_movielens",
    "read_movielens_latest",
    "settle_ids",
]

COLUMNS = ("user_id", "item_id", "event_type", "value", "timestamp")
FORMATS = ("csv", "movielens", "movielens-latest")
DEFAULT_CHUNK_ROWS = 500_000

_ALIASES = {
    "user_id": "user_id", "user": "user_id", "userid": "user_id", "user id": "user_id",
    "customer_id": "user_id", "visitorid": "user_id",
    "item_id": "item_id", "item": "item_id", "itemid": "item_id", "item id": "item_id",
    "movieid": "item_id", "movie_id": "item_id", "product_id": "item_id", "productid": "item_id",
    "event_type": "event_type", "event": "event_type", "type": "event_type", "eventtype": "event_type",
    "value": "value", "rating": "value", "weight": "value", "score": "value",
    "timestamp": "timestamp", "time": "timestamp", "ts": "timestamp", "datetime": "timestamp",
}  # fmt: skip

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip


class DataFormatError(ValueError):
    """The file cannot be read as the requested format; the message says where and why."""


@dataclass
class RawEvents:
    """Parallel arrays of raw events, in file order. Optional columns are ``None`` when absent."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    event_types: np.ndarray | None = None
    values: np.ndarray | None = None
    timestamps: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.user_ids.shape[0])

    def select(self, mask_or_index: np.ndarray) -> RawEvents:
        """A new log with the rows picked by a boolean mask or an index array."""
        return RawEvents(**{
            f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[mask_or_index]
            for f in fields(self)
        })  # fmt: skip

    @classmethod
    def concatenate(cls, logs: Iterable[RawEvents]) -> RawEvents:
        logs = list(logs)
        if not logs:
            raise DataFormatError("no events")
        out = {}
        for f in fields(cls):
            parts = [getattr(log, f.name) for log in logs]
            present = [p is not None for p in parts]
            if not any(present):
                out[f.name] = None
                continue
            if not all(present):
                raise DataFormatError(f"column {f.name!r} is present in some chunks only")
            if any(p.dtype.kind in "UO" for p in parts) and f.name in ("user_ids", "item_ids"):
                parts = [p.astype(str) for p in parts]  # an id column with a string anywhere is text
            out[f.name] = np.concatenate(parts)
        return cls(**out)

    def as_kwargs(self) -> dict[str, np.ndarray | None]:
        """Keyword arguments for ``Interactions.from_events`` (same names)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_interactions(self, **kwargs):
        """``Interactions.from_events`` of these events; ``kwargs`` are passed through
        (``event_type_weights``, ``min_value``, ``min_user_interactions``, ``item_features``...).

        Events mean what :mod:`ml.dataset.semantics` says unless ``semantics`` is passed (``None``: raw
        weights): a value without an event type is a rating (1-5 stars, neutral 3, by default), a rating below
        the neutral point is negative evidence, only a pair's latest rating counts, and ``min_value`` applies
        after that per-pair combination.
        """
        from ml.dataset import EvidenceSemantics, Interactions

        if self.event_types is not None or self.values is not None:
            kwargs.setdefault("semantics", EvidenceSemantics())
        return Interactions.from_events(**self.as_kwargs(), **kwargs)


@dataclass
class ItemCatalog:
    """Item metadata read from a file: one entry per item, aligned arrays."""

    item_ids: np.ndarray
    titles: list[str]
    categories: list[str]  # primary category name ("" when unknown)
    tags: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.item_ids.shape[0])

    def to_item_features(self):
        """:class:`ml.dataset.ItemFeatures` keyed by ``item_ids`` (aligned later by the dataset):
        text = title, category = code of the primary category, tags = all genres."""
        from ml.dataset import ItemFeatures

        names = sorted({c for c in self.categories if c})
        code = {name: i for i, name in enumerate(names)}
        return ItemFeatures(
            text=list(self.titles),
            category=np.array([code.get(c, -1) for c in self.categories], dtype=np.int64),
            tags=[list(t) for t in self.tags],
            category_names=names,
            item_ids=self.item_ids,
        )


# --------------------------------------------------------------------------------------------------
# Generic CSV
# --------------------------------------------------------------------------------------------------
_BOM = b"\xef\xbb\xbf"


def _open_text(path: str | Path, encoding: str = "utf-8-sig"):
    """The file as text; ``utf-8-sig`` reads UTF-8 with or without a byte-order mark."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if not path.is_file():
        raise DataFormatError(f"{path}: not a file")
    return open(path, newline="", encoding=encoding, errors="strict")


def _not_utf8(path: str | Path) -> DataFormatError:
    """The error for a file that does not decode as UTF-8, naming the first bad line and byte.

    Only runs once decoding has failed, so reading the file again line by line costs nothing in the
    normal case; a multi-byte UTF-8 character never contains ``\\n``, so lines decode independently.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw[len(_BOM):] if number == 1 and raw.startswith(_BOM) else raw
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                utf16 = " (it looks like UTF-16)" if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
                return DataFormatError(
                    f"{path}: line {number}: byte 0x{line[exc.start]:02x} at position {exc.start + 1} is not UTF-8"
                    f"{utf16}; save the file as UTF-8"
                )
    return DataFormatError(f"{path}: not UTF-8 text")


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_columns(first: list[str]) -> list[str] | None:
    names = [f.strip().lower() for f in first]
    if not any(n in _ALIASES for n in names):
        return None
    unknown = [first[i] for i, n in enumerate(names) if n not in _ALIASES]
    if unknown:
        raise DataFormatError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; expected user_id,item_id[,event_type][,value][,timestamp]"
        )
    columns = [_ALIASES[n] for n in names]
    duplicated = {c for c in columns if columns.count(c) > 1}
    if duplicated:
        raise DataFormatError(f"column(s) given twice: {', '.join(sorted(duplicated))}")
    for required in ("user_id", "item_id"):
        if required not in columns:
            raise DataFormatError(f"header has no {required} column (got {', '.join(first)})")
    return columns


def _positional_columns(first: list[str]) -> list[str]:
    n = len(first)
    third_numeric = n >= 3 and _is_number(first[2])
    layouts = {
        2: ["user_id", "item_id"],
        3: ["user_id", "item_id", "value" if third_numeric else "event_type"],
        4: ["user_id", "item_id", "value", "timestamp"] if third_numeric else ["user_id", "item_id", "event_type", "value"],
        5: ["user_id", "item_id", "event_type", "value", "timestamp"],
    }
    if n not in layouts:
        raise DataFormatError(
            f"expected 2 to 5 columns (user_id,item_id[,event_type][,value][,timestamp]), the first row has {n}"
        )
    return layouts[n]


def _parse_ids(texts: list[str], what: str, line0: int) -> np.ndarray:
    """The ids of one chunk as text (``<U``), exactly as written apart from surrounding spaces."""
    arr = np.asarray([t.strip() for t in texts], dtype=str)
    if arr.size and (arr == "").any():
        raise DataFormatError(f"line {line0 + int(np.argmax(arr == ''))}: empty {what}")
    return arr


def settle_ids(ids: np.ndarray) -> np.ndarray:
    """A whole file's id column: ``int64`` when every id is written as a plain integer, else as given.

    Parameters
    ----------
    ids : ndarray of str, shape (n,)
        Every id of the column, as text.

    Returns
    -------
    ndarray, shape (n,)
        ``int64`` when each text is the canonical spelling of an integer (``str(int(t)) == t``), so no id
        changes its meaning by being read as a number; otherwise the texts unchanged (``"007"``, ``"7"``
        and ``"+7"`` are three ids).

    Examples
    --------
    >>> settle_ids(np.array(["7", "-3"])).tolist(), settle_ids(np.array(["007", "7"])).tolist()
    ([7, -3], ['007', '7'])
    """
    if ids.dtype.kind != "U" or ids.size == 0:
        return ids
    try:
        as_int = ids.astype(np.int64)
    except (ValueError, OverflowError):
        return ids
    return as_int if np.array_equal(as_int.astype(str), ids) else ids


def _settled(log: RawEvents) -> RawEvents:
    log.user_ids = settle_ids(log.user_ids)
    log.item_ids = settle_ids(log.item_ids)
    return log


def _parse_values(texts: list[str], line0: int) -> np.ndarray:
    arr = np.asarray([t.strip() for t in texts], dtype=object)
    arr[arr == ""] = "nan"
    try:
        return arr.astype(np.float64)
    except ValueError:
        bad = next(i for i, t in enumerate(arr) if not _is_number(t))
        raise DataFormatError(f"line {line0 + bad}: value {arr[bad]!r} is not a number") from None


def _parse_timestamps(texts: list[str], line0: int) -> np.ndarray:
    arr = np.asarray([t.strip() for t in texts])
    try:
        return arr.astype(np.float64)
    except ValueError:
        pass
    # Dates have a '-' after the first character (2024-05-01); unix seconds never do.
    is_date = np.char.find(arr, "-", 1) >= 0
    out = np.empty(arr.shape, dtype=np.float64)
    try:
        out[~is_date] = arr[~is_date].astype(np.float64)
        stripped = np.char.rstrip(np.char.replace(arr[is_date], " ", "T"), "Z")
        out[is_date] = stripped.astype("datetime64[ms]").astype(np.int64) / 1000.0
        return out
    except ValueError:
        for i, t in enumerate(arr):
            if not is_date[i] and _is_number(t):
                continue
            try:
                np.datetime64(str(t).replace(" ", "T").rstrip("Z"))
            except ValueError:
                raise DataFormatError(
                    f"line {line0 + i}: timestamp {str(t)!r} is neither unix seconds nor ISO 8601"
                ) from None
        raise


def _rows_to_log(rows: list[list[str]], columns: list[str], line0: int) -> RawEvents:
    width = len(columns)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataFormatError(f"line {line0 + i}: expected {width} fields, got {len(row)}")
    cols = dict(zip(columns, zip(*rows, strict=False), strict=False)) if rows else {c: () for c in columns}
    return RawEvents(
        user_ids=_parse_ids(list(cols["user_id"]), "user_id", line0),
        item_ids=_parse_ids(list(cols["item_id"]), "item_id", line0),
        event_types=np.asarray([t.strip() for t in cols["event_type"]]).astype(str) if "event_type" in cols else None,
        values=_parse_values(list(cols["value"]), line0) if "value" in cols else None,
        timestamps=_parse_timestamps(list(cols["timestamp"]), line0) if "timestamp" in cols else None,
    )


def iter_csv(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, delimiter: str | None = None) -> Iterator[RawEvents]:
    """Yield :class:`RawEvents` chunks of at most ``chunk_rows`` events from a generic CSV file.

    Ids come as text (``<U``) exactly as in the file; :func:`read_csv` decides int or str once for the
    whole file (:func:`settle_ids`).
    """
    with _open_text(path) as handle:
        try:
            first_line = handle.readline()
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        if not first_line.strip():
            raise DataFormatError(f"{path}: empty file")
        delim = delimiter or _sniff_delimiter(first_line)
        first = next(csv.reader([first_line], delimiter=delim))
        columns = _header_columns(first)
        reader = csv.reader(handle, delimiter=delim)
        if columns is None:
            columns = _positional_columns(first)
            reader = itertools.chain([first], reader)
            line0 = 1
        else:
            line0 = 2
        while True:
            try:
                rows = [r for r in itertools.islice(reader, chunk_rows)]
            except UnicodeDecodeError:
                raise _not_utf8(path) from None
            except csv.Error as exc:
                raise DataFormatError(f"{path}: cannot parse near line {line0}: {exc}") from None
            if not rows:
                break
            n_read = len(rows)
            rows = [r for r in rows if r and any(f.strip() for f in r)]  # blank lines
            if rows:
                yield _rows_to_log(rows, columns, line0)
            line0 += n_read


def read_csv(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, delimiter: str | None = None) -> RawEvents:
    """The whole generic CSV file as one :class:`RawEvents` (see the module docstring)."""
    return _settled(_concat_or_empty(iter_csv(path, chunk_rows=chunk_rows, delimiter=delimiter), path))


def _concat_or_empty(chunks: Iterator[RawEvents], path) -> RawEvents:
    chunks = list(chunks)
    if not chunks:
        raise DataFormatError(f"{path}: no events")
    return chunks[0] if len(chunks) == 1 else RawEvents.concatenate(chunks)


# --------------------------------------------------------------------------------------------------
# MovieLens
# --------------------------------------------------------------------------------------------------
def _iter_numeric(path, *, delimiter: str, n_cols: int, skip_header: bool, chunk_rows: int, name: str) -> Iterator[np.ndarray]:
    with _open_text(path) as handle:
        try:
            yield from _numeric_blocks(handle, path, delimiter=delimiter, n_cols=n_cols, skip_header=skip_header, chunk_rows=chunk_rows, name=name)
        except UnicodeDecodeError:
            raise _not_utf8(path) from None


def _numeric_blocks(handle, path, *, delimiter: str, n_cols: int, skip_header: bool, chunk_rows: int, name: str) -> Iterator[np.ndarray]:
    """Float blocks ``(rows, n_cols)`` of an open MovieLens-style file."""
    line0 = 1
    if skip_header:
        header = handle.readline()
        if header and _is_number(header.split(delimiter)[0]):
            raise DataFormatError(f"{path}: {name} expects a header line, got {header.strip()!r}")
        line0 = 2
    while True:
        lines = list(itertools.islice(handle, chunk_rows))
        if not lines:
            break
        n_read = len(lines)
        lines = [ln for ln in lines if ln.strip()]
        if lines:
            try:
                block = np.loadtxt(lines, delimiter=delimiter, dtype=np.float64, ndmin=2)
            except ValueError as exc:
                raise DataFormatError(f"{path}: not a {name} file near line {line0}: {exc}") from None
            if block.shape[1] != n_cols:
                raise DataFormatError(f"{path}: {name} rows have {n_cols} fields, found {block.shape[1]}")
            yield block
        line0 += n_read


def _ratings_log(block: np.ndarray) -> RawEvents:
    return RawEvents(
        user_ids=block[:, 0].astype(np.int64),
        item_ids=block[:, 1].astype(np.int64),
        event_types=None,
        values=block[:, 2].copy(),
        timestamps=block[:, 3].copy(),
    )


def read_movielens(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> RawEvents:
    """MovieLens-100k ``u.data``: tab-separated ``user item rating timestamp`` (value = rating)."""
    blocks = _iter_numeric(path, delimiter="\t", n_cols=4, skip_header=False, chunk_rows=chunk_rows, name="MovieLens u.data")
    return _concat_or_empty((_ratings_log(b) for b in blocks), path)


def read_movielens_latest(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> RawEvents:
    """MovieLens-latest ``ratings.csv``: ``userId,movieId,rating,timestamp`` with a header."""
    blocks = _iter_numeric(path, delimiter=",", n_cols=4, skip_header=True, chunk_rows=chunk_rows, name="MovieLens ratings.csv")
    return _concat_or_empty((_ratings_log(b) for b in blocks), path)


def iter_events(path: str | Path, fmt: str = "csv", *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[RawEvents]:
    """Chunks of any supported format (``csv``, ``movielens``, ``movielens-latest``)."""
    if fmt == "csv":
        yield from iter_csv(path, chunk_rows=chunk_rows)
    elif fmt in ("movielens", "movielens-latest"):
        delimiter, header = ("\t", False) if fmt == "movielens" else (",", True)
        for block in _iter_numeric(path, delimiter=delimiter, n_cols=4, skip_header=header, chunk_rows=chunk_rows, name=fmt):
            yield _ratings_log(block)
    else:
        raise DataFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def read_events(path: str | Path, fmt: str = "csv", *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> RawEvents:
    """The whole file in one :class:`RawEvents`; ``fmt`` as in :func:`iter_events`."""
    if fmt not in FORMATS:
        raise DataFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _settled(_concat_or_empty(iter_events(path, fmt, chunk_rows=chunk_rows), path))


def _generic_catalog(path, header: list[str], reader) -> ItemCatalog:
    col = {name: header.index(name) for name in ("item_id", "category", "title", "tags") if name in header}
    rows = [r for r in reader if r]
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise DataFormatError(f"{path}: line {n}: expected {len(header)} fields, got {len(row)}")
    ids = settle_ids(_parse_ids([r[col["item_id"]] for r in rows], "item_id", 2))
    categories = [r[col["category"]].strip() for r in rows]
    tags = [[t for t in r[col["tags"]].split("|") if t] for r in rows] if "tags" in col else [[c] if c else [] for c in categories]
    titles = [r[col["title"]] for r in rows] if "title" in col else [""] * len(rows)
    return ItemCatalog(item_ids=ids, titles=titles, categories=categories, tags=tags)


def _catalog_text(path: str | Path) -> str:
    """The catalogue's text: UTF-8 (BOM or not); latin-1 only for an ML-100k ``u.item`` (its encoding)."""
    try:
        with _open_text(path) as handle:
            return handle.read()
    except UnicodeDecodeError:
        with _open_text(path, encoding="latin-1") as handle:
            text = handle.read()
        if text.split("\n", 1)[0].count("|") >= 5 + len(ML100K_GENRES) - 1:
            return text
        raise _not_utf8(path) from None


def read_item_catalog(path: str | Path) -> ItemCatalog:
    """Item titles, categories and tags from a file (format auto-detected).

    * ML-100k ``u.item``: ``id|title|release date|video release date|IMDb URL|<19 genre flags>``,
      latin-1 (or UTF-8); every other catalogue must be UTF-8 (with or without a byte-order mark). Every genre is a tag; the first one is the category ("" when there is none).
    * ML-latest ``movies.csv``: ``movieId,title,genres`` with genres separated by ``|``
      (``(no genres listed)`` means none); genres as for ``u.item``.
    * generic CSV with a header holding ``item_id`` and ``category`` (optional ``title``, ``tags``
      separated by ``|``).
    """
    text = _catalog_text(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataFormatError(f"{path}: empty file")
    ids, titles, tags = [], [], []
    if lines[0].count("|") >= 5 + len(ML100K_GENRES) - 1:
        for n, line in enumerate(lines, 1):
            parts = line.split("|")
            if len(parts) != 5 + len(ML100K_GENRES):
                raise DataFormatError(f"{path}: line {n}: u.item rows have {5 + len(ML100K_GENRES)} fields, got {len(parts)}")
            flags = parts[5:]
            try:
                ids.append(int(parts[0]))
                item_tags = [g for g, f in zip(ML100K_GENRES, flags, strict=False) if int(f) == 1]
            except ValueError:
                raise DataFormatError(f"{path}: line {n}: bad id or genre flag") from None
            titles.append(parts[1])
            tags.append([g for g in item_tags if g != "unknown"])
    else:
        reader = csv.reader(io.StringIO("\n".join(lines)))
        header = [h.strip().lower() for h in next(reader)]
        if "item_id" in header and "category" in header:
            return _generic_catalog(path, header, reader)
        if header[:3] != ["movieid", "title", "genres"]:
            raise DataFormatError(
                f"{path}: expected u.item, a movies.csv (movieId,title,genres) or a CSV with item_id,category[,title][,tags]"
            )
        for n, row in enumerate(reader, 2):
            if len(row) < 3:
                raise DataFormatError(f"{path}: line {n}: expected movieId,title,genres")
            try:
                ids.append(int(row[0]))
            except ValueError:
                raise DataFormatError(f"{path}: line {n}: bad movieId {row[0]!r}") from None
            titles.append(row[1])
            tags.append([g for g in row[2].split("|") if g and g != "(no genres listed)"])
    return ItemCatalog(
        item_ids=np.asarray(ids, dtype=np.int64),
        titles=titles,
        categories=[t[0] if t else "" for t in tags],
        tags=tags,
    )
