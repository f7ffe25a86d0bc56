"""The lstmkit model file: one documented format that loads without executing code.

A model file is an ``.npz`` written by :func:`lstmkit.io.save_arrays` (atomic; read back with
``allow_pickle=False``). Its JSON metadata is::

    {
      "format": "lstmkit-model",       # identifies the file
      "format_version": 1,              # files from a newer format are refused, not guessed at
      "lstmkit_version": "0.1.0",       # who wrote it (informational)
      "kind": "LSTMClassifier",         # what to rebuild (estimator or module class name)
      "config": {...},                  # constructor arguments / hyper-parameters (JSON)
      "extra": {...}                    # preprocessing: classes, scalers, vocabulary, ... (JSON)
    }

and its arrays are the weights under PyTorch-style names (``rnn.weight_ih_l0``, ``head.weight``,
...). Readers validate every key, shape, dtype and value before touching a model, so a failed load
leaves the in-memory model as it was.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, NamedTuple

import numpy as np

from . import __version__
from .io import FileFormatError, load_arrays, save_arrays

FORMAT = "lstmkit-model"
FORMAT_VERSION = 1


class ModelFile(NamedTuple):
    kind: str
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    extra: dict[str, Any]
    meta: dict[str, Any]


def save_model(
    path: str | os.PathLike,
    kind: str,
    config: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a model file atomically. ``config`` and ``extra`` must be JSON-serialisable."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lstmkit_version": __version__,
        "kind": str(kind),
        "config": dict(config),
        "extra": dict(extra or {}),
    }
    save_arrays(path, arrays, meta)


def read_model(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None) -> ModelFile:
    """Read and validate a model file's envelope.

    Raises :class:`lstmkit.io.FileFormatError` when the file is not an lstmkit model, was written by
    a newer format version, or (if ``kind`` is given) holds another kind of model. Array contents
    are checked by the loader of each kind (``Module.load_state_dict`` checks shapes and finiteness).
    """
    arrays, meta = load_arrays(path)
    if meta.get("format") != FORMAT:
        raise FileFormatError(f"{path}: expected an lstmkit model file (format {FORMAT!r}), got format {meta.get('format')!r}.")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FileFormatError(f"{path}: expected an integer format_version, got {version!r}.")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: expected format_version <= {FORMAT_VERSION}, got {version} "
            f"(written by lstmkit {meta.get('lstmkit_version')!r}). Upgrade lstmkit to read it."
        )
    file_kind = meta.get("kind")
    if not isinstance(file_kind, str):
        raise FileFormatError(f"{path}: expected a model kind (string), got {file_kind!r}.")
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted is not None and file_kind not in wanted:
        raise FileFormatError(f"{path}: expected a model of kind {' or '.join(wanted)}, got {file_kind}.")
    config, extra = meta.get("config", {}), meta.get("extra", {})
    if not isinstance(config, dict) or not isinstance(extra, dict):
        raise FileFormatError(f"{path}: expected JSON objects for config and extra.")
    return ModelFile(file_kind, config, arrays, extra, meta)
