"""Training checkpoints: everything needed to resume a run exactly, in a file that runs no code.

A checkpoint is an ``.npz`` written by :func:`lstmkit.io.save_arrays` (atomic: written beside
the destination, fsync'ed, renamed over it — a crash mid-write leaves the previous checkpoint as
it was; read back with ``allow_pickle=False``). Contents::

    arrays   model/<name>     the weights (``rnn.weight_ih_l0``, ``head.weight``, ...)
             optim/<slot>/<name>   the optimizer's per-parameter state (Adam's exp_avg, ...)
             best/<name>      the best weights so far (early stopping), if any
    meta     {"format": "lstmkit-checkpoint", "format_version": 1, "epoch": e,
              "history": [...], "optimizer": {lr, t, hyper-parameters}, "schedule": {...},
              "rng": {"entropy", "shuffle": bit_generator.state, "dropout": bit_generator.state},
              "early_stopping": {...}, "trainer": {...}, "model_config": {...}}

Resume: build the same model and trainer, ``load_checkpoint(path, trainer)``, then
``trainer.fit(X, Y, epochs=N)`` runs the remaining epochs; the weights after N epochs equal those
of an uninterrupted run bit for bit (tested). A failed load leaves the trainer and model unchanged.
"""

from __future__ import annotations

import os

from . import __version__
from .io import FileFormatError, load_arrays, save_arrays

FORMAT = "lstmkit-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, trainer) -> None:
    """Write ``trainer.state_dict()`` (model, optimizer, RNGs, epoch, history, ...) atomically."""
    sd = trainer.state_dict()
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "lstmkit_version": __version__, **sd["meta"]}
    save_arrays(path, sd["arrays"], meta)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's ``{"arrays", "meta"}``, its envelope validated (FileFormatError if not one)."""
    arrays, meta = load_arrays(path)
    if meta.get("format") != FORMAT:
        raise FileFormatError(f"{path}: expected an lstmkit checkpoint (format {FORMAT!r}), got format {meta.get('format')!r}.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(f"{path}: expected checkpoint format_version <= {FORMAT_VERSION}, got {version!r}. Upgrade lstmkit.")
    missing = [k for k in ("epoch", "history", "optimizer", "schedule", "rng", "early_stopping") if k not in meta]
    if missing:
        raise FileFormatError(f"{path}: expected checkpoint fields {missing}, found none.")
    return {"arrays": arrays, "meta": meta}


def load_checkpoint(path: str | os.PathLike, trainer) -> None:
    """Restore ``trainer`` (and its model) from ``path``; all or nothing. A checkpoint written for
    another model or trainer raises ValueError naming the file and the first mismatch."""
    ckpt = read_checkpoint(path)
    try:
        trainer.load_state_dict(ckpt)
    except ValueError as e:
        raise ValueError(f"load_checkpoint: {path} was written for another model or trainer: {e}") from e
