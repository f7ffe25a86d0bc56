"""Files that never execute code when loaded: arrays in ``.npz`` plus JSON metadata.

Layout of a file written by :func:`save_arrays` (an ordinary ``.npz`` zip)::

    __meta__.npy      a 0-d unicode array holding the JSON metadata
    <name>.npy        one array per entry (numeric dtypes only; no object arrays)

Reading uses ``numpy.load(..., allow_pickle=False)``, so an object array (which would need pickle)
is refused rather than executed. Writes are atomic: the file is written next to its destination,
flushed, fsync'ed and renamed over it, so a crash mid-write leaves any previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

META_KEY = "__meta__"
#: refuse arrays above this many elements when loading (guards against absurd shapes)
MAX_ELEMENTS = 2**31


class FileFormatError(ValueError):
    """A file that is not a valid lstmkit file (truncated, corrupted, hostile, or unknown)."""


def atomic_write_bytes(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and JSON-serialisable ``meta`` to ``path`` atomically (see module doc)."""
    payload: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        if k == META_KEY:
            raise ValueError(f"save_arrays: expected array names other than {META_KEY!r}, got {k!r}.")
        a = np.asarray(v)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"save_arrays: expected numeric array for {k!r}, got dtype {a.dtype}.")
        payload[k] = a
    payload[META_KEY] = np.array(json.dumps(dict(meta), sort_keys=True))
    atomic_write_bytes(path, lambda f: np.savez(f, **payload))


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`; raise :class:`FileFormatError` if it is not one.

    Nothing is executed: pickled content is refused, sizes are checked before arrays are read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.file_size > 8 * MAX_ELEMENTS:
                    raise FileFormatError(f"{path}: entry {info.filename!r} is implausibly large ({info.file_size} bytes).")
        with np.load(path, allow_pickle=False) as npz:
            if META_KEY not in npz.files:
                raise FileFormatError(f"{path}: expected an lstmkit file with metadata, found none.")
            meta_raw = npz[META_KEY]
            if meta_raw.dtype.kind != "U" or meta_raw.ndim != 0:
                raise FileFormatError(f"{path}: expected JSON metadata, got dtype {meta_raw.dtype}.")
            meta = json.loads(str(meta_raw))
            if not isinstance(meta, dict):
                raise FileFormatError(f"{path}: expected a JSON object as metadata, got {type(meta).__name__}.")
            arrays = {}
            for k in npz.files:
                if k == META_KEY:
                    continue
                a = npz[k]
                if a.dtype.kind not in "biuf":
                    raise FileFormatError(f"{path}: array {k!r} has unsupported dtype {a.dtype}.")
                arrays[k] = a
    except FileFormatError:
        raise
    except ValueError as exc:  # includes "Object arrays cannot be loaded when allow_pickle=False"
        raise FileFormatError(f"{path}: not a valid lstmkit file ({exc}).") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise FileFormatError(f"{path}: not a valid lstmkit file ({type(exc).__name__}: {exc}).") from None
    return arrays, meta
