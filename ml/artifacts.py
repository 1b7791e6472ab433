"""Model artifacts on disk: JSON config + ``.npz`` arrays + a sha256 manifest.

Layout of an artifact directory::

    config.json     # format_version, model name, hyperparameters, scalar state
    arrays.npz      # numpy arrays, written and read with allow_pickle=False
    <extra files>   # optional (e.g. a torch state_dict from a neural model)
    SHA256SUMS      # "<sha256>  <filename>" per file; written last

:func:`read_artifact` verifies every file listed in ``SHA256SUMS`` (and that nothing else is in the
directory) before parsing anything, so a tampered, truncated, added-to or half-written artifact raises
:class:`ArtifactError` instead of loading silently.  No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.utils.files import atomic_path, atomic_write_bytes

__all__ = [
    "ArtifactError",
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "ARRAYS_FILE",
    "CHECKSUM_FILE",
    "sha256_file",
    "write_checksums",
    "verify_checksums",
    "write_artifact",
    "read_artifact",
    "pack_state",
    "unpack_state",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
ARRAYS_FILE = "arrays.npz"
CHECKSUM_FILE = "SHA256SUMS"


class ArtifactError(ValueError):
    """An artifact is missing, corrupt, tampered with, or of an unknown format."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(directory: str | os.PathLike, filenames: Iterable[str]) -> None:
    directory = Path(directory)
    lines = [f"{sha256_file(directory / name)}  {name}\n" for name in sorted(set(filenames))]
    atomic_write_bytes(directory / CHECKSUM_FILE, "".join(lines).encode())


def verify_checksums(directory: str | os.PathLike) -> list[str]:
    """Check every file listed in ``SHA256SUMS``; return the listed names."""
    directory = Path(directory)
    manifest = directory / CHECKSUM_FILE
    if not directory.is_dir():
        raise ArtifactError(f"artifact directory {str(directory)!r} does not exist")
    if not manifest.is_file():
        raise ArtifactError(f"{manifest} is missing: incomplete or foreign artifact")
    names = []
    for lineno, line in enumerate(manifest.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ArtifactError(f"malformed line {lineno} in {manifest}")
        digest, name = parts[0], parts[1].strip()
        if "/" in name or "\\" in name or name.startswith("."):
            raise ArtifactError(f"invalid file name {name!r} in {manifest}")
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"artifact file {name!r} listed in {CHECKSUM_FILE} is missing")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactError(
                f"checksum mismatch for {name!r} in {directory}: the artifact was modified or truncated"
            )
        names.append(name)
    for required in (CONFIG_FILE, ARRAYS_FILE):
        if required not in names:
            raise ArtifactError(f"{required} is not covered by {CHECKSUM_FILE}")
    # Every entry of the directory is covered: an unlisted file or folder is refused, never read unchecked.
    unlisted = sorted({entry.name for entry in directory.iterdir()} - set(names) - {CHECKSUM_FILE})
    if unlisted:
        raise ArtifactError(f"{', '.join(unlisted[:5])} in {directory} not covered by {CHECKSUM_FILE}")
    return names


def write_artifact(
    directory: str | os.PathLike,
    *,
    config: dict,
    arrays: dict[str, np.ndarray],
    extra_files: Iterable[str] = (),
) -> Path:
    """Write config + arrays (+ already written ``extra_files``) and the manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / CHECKSUM_FILE
    if stale.exists():
        stale.unlink()  # an interrupted overwrite must not look valid
    for key, arr in arrays.items():
        if isinstance(arr, np.ndarray) and arr.dtype.kind == "O":
            raise TypeError(f"array {key!r} has object dtype; artifacts never use pickle")
    with atomic_path(directory / ARRAYS_FILE, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    cfg = {"format_version": FORMAT_VERSION, **config}
    atomic_write_bytes(directory / CONFIG_FILE, json.dumps(cfg, indent=2, sort_keys=True).encode())
    write_checksums(directory, [CONFIG_FILE, ARRAYS_FILE, *extra_files])
    return directory


def read_artifact(directory: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Verify checksums, then return ``(config, arrays)`` (arrays fully loaded)."""
    directory = Path(directory)
    verify_checksums(directory)
    try:
        config = json.loads((directory / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot parse {CONFIG_FILE}: {exc}") from exc
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ArtifactError(f"unsupported artifact format_version {version!r} (this code reads <= {FORMAT_VERSION})")
    try:
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {ARRAYS_FILE}: {exc}") from exc
    return config, arrays


# ---------------------------------------------------------------- state packing
def pack_state(state: dict[str, Any]) -> tuple[dict, dict[str, np.ndarray]]:
    """Split learned state into JSON metadata and npz arrays.

    Supported values: numpy arrays (not object dtype), scipy sparse matrices
    (stored as CSR/CSC parts), :class:`ml.dataset.IdMap`, and JSON scalars /
    lists / dicts.  Anything else raises ``TypeError`` naming the attribute.
    """
    from ml.dataset import IdMap

    meta: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if isinstance(value, IdMap):
            arrays[f"{name}.ids"] = value.external_ids
            meta[name] = {"kind": "idmap"}
        elif sp.issparse(value):
            fmt = "csc" if value.format == "csc" else "csr"
            m = value.tocsc() if fmt == "csc" else value.tocsr()
            arrays[f"{name}.data"] = m.data
            arrays[f"{name}.indices"] = m.indices
            arrays[f"{name}.indptr"] = m.indptr
            meta[name] = {"kind": "sparse", "format": fmt, "shape": list(m.shape)}
        elif isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                raise TypeError(f"state attribute {name!r} is an object array; cannot be saved without pickle")
            arrays[name] = value
            meta[name] = {"kind": "ndarray"}
        elif isinstance(value, np.generic):
            meta[name] = {"kind": "json", "value": value.item()}
        else:
            try:
                json.dumps(value)
            except TypeError:
                raise TypeError(
                    f"state attribute {name!r} of type {type(value).__name__} cannot be saved; "
                    "store arrays/IdMaps/JSON values, or list it in _state_exclude and use _save_extra"
                ) from None
            meta[name] = {"kind": "json", "value": value}
    return meta, arrays


def unpack_state(meta: dict, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    from ml.dataset import IdMap

    state: dict[str, Any] = {}
    try:
        for name, info in meta.items():
            kind = info["kind"]
            if kind == "idmap":
                state[name] = IdMap(arrays[f"{name}.ids"])
            elif kind == "sparse":
                cls = sp.csc_matrix if info["format"] == "csc" else sp.csr_matrix
                state[name] = cls(
                    (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
                    shape=tuple(info["shape"]),
                )
            elif kind == "ndarray":
                state[name] = arrays[name]
            elif kind == "json":
                state[name] = info["value"]
            else:
                raise ArtifactError(f"unknown state kind {kind!r} for {name!r}")
    except KeyError as exc:
        raise ArtifactError(f"artifact arrays are missing {exc}") from exc
    return state
