"""``lstmkit.load(path)``: rebuild any saved model from its model file, whatever its kind.

Bare modules written by :func:`lstmkit.modelfile.save_lstm` (kinds ``LSTM``, ``RNN``,
``LSTMCell``, ``RNNCell``) come back as the module (its read-out, if any, is in
:func:`lstmkit.modelfile.read_lstm`'s result); estimators as the fitted estimator.

Each savable class registers itself with :func:`register` and provides
``cls._from_model_file(mf: lstmkit.modelfile.ModelFile) -> instance``; its ``save(path)`` writes
the file with :func:`lstmkit.modelfile.save_model` (kind = the class name). Loading never
executes code from the file: the kind only selects a class from this registry.
"""

from __future__ import annotations

import os

from .io import FileFormatError
from .modelfile import MODULE_KINDS, read_lstm, read_model

#: kind (class name) -> class with a ``_from_model_file`` classmethod
KINDS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``lstmkit.load`` able to rebuild ``cls`` (kind = its name)."""
    KINDS[cls.__name__] = cls
    return cls


def load(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None):
    """Load a model saved by an estimator's ``save(path)`` or by ``save_lstm``; raises FileFormatError for a corrupt
    file, a file of another kind than ``kind`` (if given) or a kind this lstmkit does not know."""
    mf = read_model(path, kind)
    if mf.kind in MODULE_KINDS:
        return read_lstm(path).module
    cls = KINDS.get(mf.kind)
    if cls is None:
        raise FileFormatError(f"{path}: expected a model of a known kind {sorted(KINDS)}, got {mf.kind!r}.")
    return cls._from_model_file(mf, path)
