"""``lstmkit.load(path)``: rebuild any saved model from its model file, whatever its kind.

Bare modules written by :func:`lstmkit.modelfile.save_lstm` (kinds ``LSTM``, ``RNN``,
``LSTMCell``, ``RNNCell``) come back as the module (its read-out, if any, is in
:func:`lstmkit.modelfile.read_lstm`'s result); estimators as the fitted estimator.

Each savable class registers itself with :func:`register` and provides
``cls._from_model_file(mf: lstmkit.modelfile.ModelFile) -> instance``; its ``save(path)`` writes
the file with :func:`lstmkit.modelfile.save_model` (kind = the class name). Loading never
executes code from the file: the kind only selects a class from this registry.

A training checkpoint is not a model file (``load`` refuses it, saying so); :func:`checkpoint_model`
takes the model out of one.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from .io import FileFormatError
from .modelfile import MODULE_KINDS, ModelFile, check_finite, read_lstm, read_model

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


class CheckpointModel(NamedTuple):
    """What :func:`checkpoint_model` returns."""

    model: Any  # the run's SequenceModel with the weights taken
    epoch: int  # the epochs the run had finished when the checkpoint was written
    weights_epoch: int  # the epoch of those weights: ``epoch``, or early stopping's best so far
    meta: dict[str, Any]  # the checkpoint's metadata (settings, data, history, ...)


def checkpoint_model(path: str | os.PathLike) -> CheckpointModel:
    """The model of a training checkpoint (:mod:`lstmkit.checkpoint`) as the run would leave it if it
    ended now: a :class:`lstmkit.SequenceModel` built from the checkpoint's ``model_config``, with the
    weights under ``model/``, or under ``best/`` where early stopping keeps the best so far (it
    restores them at the end of a run). The file is read as a resume reads it
    (:func:`lstmkit.checkpoint.read_checkpoint`: no pickle, every entry's name checked before any is
    decompressed), the config checked against the weights' shapes before anything is built.

    An estimator's checkpoint holds its network, not what the estimator adds: no classes, target
    scaling or vocabulary, so the model's outputs are the network's (a classifier's scores in its
    labels' sorted order, a regressor's standardised targets). The estimator's file is written by
    the run when it ends: resume it (``lstmkit train`` with the same ``--checkpoint``).
    Raises :class:`FileFormatError` naming the file for a file that is not a checkpoint, or one
    without the model's configuration (a Trainer's model without ``config()``).
    """
    from .checkpoint import read_checkpoint
    from .models import SequenceModel

    ckpt = read_checkpoint(path)  # the envelope and every field's type, checked
    meta = ckpt["meta"]
    config = meta.get("model_config")
    if not config:
        raise FileFormatError(f"{path}: expected a checkpoint that records its model's configuration (model_config), got none "
                              "(a Trainer's model without config()). Build the model and load the checkpoint's model/ arrays into it.")  # fmt: skip
    group = "best" if any(k.startswith("best/") for k in ckpt["arrays"]) else "model"
    arrays = {k[len(group) + 1 :]: a for k, a in ckpt["arrays"].items() if k.startswith(group + "/")}
    check_finite(path, arrays, group + "/")
    model = SequenceModel._from_model_file(ModelFile("SequenceModel", dict(config), arrays, {}, {}), path)
    epoch = meta["epoch"]
    best = meta["early_stopping"].get("best_epoch")
    return CheckpointModel(model, epoch, best if group == "best" and best is not None else epoch, meta)
