"""``lstmkit.load(path)``: rebuild any saved estimator from its model file, whatever its kind.

Each savable class registers itself with :func:`register` and provides
``cls._from_model_file(mf: lstmkit.modelfile.ModelFile) -> instance``; its ``save(path)`` writes
the file with :func:`lstmkit.modelfile.save_model` (kind = the class name). Loading never
executes code from the file: the kind only selects a class from this registry.
"""

from __future__ import annotations

import os

from .io import FileFormatError
from .modelfile import read_model

#: kind (class name) -> class with a ``_from_model_file`` classmethod
KINDS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``lstmkit.load`` able to rebuild ``cls`` (kind = its name)."""
    KINDS[cls.__name__] = cls
    return cls


def load(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None):
    """Load a model saved by an estimator's ``save(path)``; raises FileFormatError for a corrupt
    file, a file of another kind than ``kind`` (if given) or a kind this lstmkit does not know."""
    mf = read_model(path, kind)
    cls = KINDS.get(mf.kind)
    if cls is None:
        raise FileFormatError(f"{path}: expected a model of a known kind {sorted(KINDS)}, got {mf.kind!r}.")
    return cls._from_model_file(mf, path)
