"""Atomic file writes, written once: a temporary file in the target's folder, fsync, ``os.replace``.

A reader sees either the old file or the complete new one, never a half-written file; a
failure (or an interrupt) leaves the old file in place and removes the temporary one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on a clean exit it replaces ``path`` atomically.

    For writers that want a file name rather than bytes (``np.savez``, ``faiss.write_index``).
    ``suffix`` is the temporary file's ending (``np.savez`` appends ``.npz`` unless the
    name already ends with it). The parent folder must exist.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (the parent folder must exist); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (the parent folder must exist); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
