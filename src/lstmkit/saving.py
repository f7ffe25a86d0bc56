"""``lstmkit.load(path)``: rebuild any saved model from its model file, whatever its kind.

Bare modules written by :func:`lstmkit.modelfile.save_lstm` (kinds ``LSTM``, ``RNN``,
``LSTMCell``, ``RNNCell``) come back as the module, or, with a read-out (``lstmkit convert
model.pt model.npz`` of a model with an ``nn.Linear``), as the :class:`lstmkit.SequenceModel` of the
module and its read-out; estimators as the fitted estimator. A module or SequenceModel comes back
in eval mode: it computes what the saved model computes at inference (no dropout); ``.train()``
(a :class:`lstmkit.Trainer` calls it) to train it further.

Each savable class registers itself with :func:`register` and provides
``cls._from_model_file(mf: lstmkit.modelfile.ModelFile) -> instance``; its ``save(path)`` writes
the file with :func:`lstmkit.modelfile.save_model` (kind = the class name). Loading never
executes code from the file: the kind only selects a class from this registry.

A training checkpoint is not a model file (``load`` refuses it, saying so); :func:`checkpoint_model`
takes the model out of one.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any, NamedTuple

from ._checks import a_or_an, message
from .io import FileFormatError
from .modelfile import MODULE_KINDS, ModelFile, check_finite, read_lstm, read_model

#: kind (class name) -> class with a ``_from_model_file`` classmethod
KINDS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``lstmkit.load`` able to rebuild ``cls`` (kind = its name)."""
    KINDS[cls.__name__] = cls
    return cls


def load(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None):
    """Load a model saved by an estimator's ``save(path)``, a SequenceModel's ``save(path)``, ``save_lstm``
    or ``lstmkit convert``, whole.

    - an estimator's file: the fitted estimator (its ``predict`` runs its network in eval mode);
    - a SequenceModel's file: the SequenceModel;
    - a module's file (``save_lstm``; ``lstmkit convert`` of a ``.pt``, a ``.keras`` over every step,
      ...): the ``LSTM`` / ``RNN`` / cell, or, when the file holds a read-out too, the
      :class:`~lstmkit.SequenceModel` computing ``read-out(module(x))`` at every step
      (``SequenceModel.from_parts(module, readout)``, head="all"), so the output is the saved
      model's (a tagger's logits), not its hidden states. A SequenceModel is batch first: a
      time-major module (``batch_first=False``) or a cell with a read-out is refused, pointing to
      :func:`lstmkit.read_lstm` (``f.module``, ``f.readout``, ``f.predict(x)``).

    A module or SequenceModel comes back in eval mode (``training=False``): it computes what the
    saved model computes at inference, as Keras' ``model(x)`` (a dropout, of a Keras model for
    one, acts in training only). Call ``.train()`` to train it further by hand; a
    :class:`~lstmkit.Trainer` puts it in training mode itself.

    ``kind``: the kind (or kinds) the file must be, as written in it (the class that wrote it: ``"LSTM"``,
    ``"SequenceModel"``, ``"LSTMClassifier"``, ...), not the type returned: ``load(path, kind="LSTM")``
    of an LSTM file with a read-out returns its SequenceModel, as without ``kind``.

    Raises FileFormatError for a corrupt file, a file of another kind than ``kind`` (if given), a
    kind this lstmkit does not know, or a module file with a read-out it cannot rebuild whole (above);
    and for a worked example's name (``builtin:NAME`` of a shipped one, an existing ``.toml``), saying
    to use ``lstmkit.explain.load(path)``. A missing file is a FileNotFoundError.
    """
    _refuse_worked_example(path)
    mf = read_model(path, kind)
    if mf.kind in MODULE_KINDS:
        return _module_file(path, read_lstm(path)).eval()
    cls = KINDS.get(mf.kind)
    if cls is None:
        raise FileFormatError(f"{path}: expected a model of a known kind {sorted(KINDS)}, got {mf.kind!r}.")
    model = cls._from_model_file(mf, path)
    from .module import Module

    return model.eval() if isinstance(model, Module) else model  # an estimator runs its network in eval mode itself


def _refuse_worked_example(path) -> None:
    """A FileFormatError pointing to ``lstmkit.explain.load`` for a worked example's name: ``builtin:NAME``
    of a shipped example (:func:`lstmkit.worked.names`; no such file) or an existing ``.toml`` file
    that is no zip archive. (A bare FileNotFoundError, or "not a zip", before.) A missing path, and
    ``builtin:`` with another name, stay FileNotFoundError (read_model's)."""
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str):
        return
    if text.startswith("builtin:") and not os.path.exists(text):  # (the prefix spelt here: worked is imported only then)
        from . import worked  # the standard library only

        if text not in worked.full_names():
            return
        got = f"a built-in worked example {text!r}"
    elif text.lower().endswith(".toml") and os.path.isfile(text) and not zipfile.is_zipfile(text):
        got = f"a worked example's .toml {text!r}"
    else:
        return
    raise FileFormatError(message("lstmkit.load", "path", "a model file (.npz: save(path), save_lstm, lstmkit convert)", got,
                                  f"A worked example is read by lstmkit.explain.load(path) (then explain or check it); "
                                  f"on the command line: lstmkit explain {text}"))  # fmt: skip


def loads_whole(module) -> bool:
    """Whether :func:`load` rebuilds a module file with a read-out: a batch-first LSTM/RNN, as a
    SequenceModel (which takes x as (B, T, I)); not a cell, nor a time-major layer."""
    return bool(getattr(module, "batch_first", False))  # a cell has no batch_first


def _module_file(path, f):
    """A module file's model, whole: the module, or the SequenceModel of the module and its read-out."""
    module = f.module
    if f.readout is None:
        return module
    kind = type(module).__name__
    if not loads_whole(module):
        got = f"{a_or_an(kind)} with a read-out" if kind.endswith("Cell") else f"a time-major {kind} (batch_first=False) with a read-out"
        raise FileFormatError(
            f"{path}: expected a file lstmkit.load can rebuild whole (a batch-first LSTM/RNN with a read-out is loaded as a "
            f"SequenceModel, which takes x as (B, T, I)), got {got}. Use lstmkit.read_lstm(path): f.module and f.readout, and "
            f"f.predict(x) for the read-out applied to the module's output, x as the module takes it"
            + ("." if kind.endswith("Cell") else "; or write the file batch first (lstmkit convert IN OUT --batch-first) to load it whole.")
        )
    from .models import SequenceModel

    return SequenceModel.from_parts(module, f.readout, "all")  # read_lstm has checked the read-out: its shape, width and values


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
    The model comes back in eval mode, as :func:`load` returns one.
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
    model = SequenceModel._from_model_file(ModelFile("SequenceModel", dict(config), arrays, {}, {}), path).eval()
    epoch = meta["epoch"]
    best = meta["early_stopping"].get("best_epoch")
    return CheckpointModel(model, epoch, best if group == "best" and best is not None else epoch, meta)
