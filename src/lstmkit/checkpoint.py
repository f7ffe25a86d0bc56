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
              "early_stopping": {...}, "trainer": {...}, "model_config": {...},
              "settings": {name: value}, "data": {"shapes": [...], "digest": "..."}}

Resume: build the same model and trainer, ``load_checkpoint(path, trainer)``, then
``trainer.fit(X, Y, epochs=N)`` runs the remaining epochs; the weights after N epochs equal those
of an uninterrupted run bit for bit (tested).

The same run, only longer. ``settings`` records what defines the run (:meth:`Trainer.settings
<lstmkit.training.Trainer.settings>`): the model's configuration (``model hidden_size``, ...), and
the trainer's loss, optimizer and its hyper-parameters, lr, batch_size, shuffle, clip, bptt,
metrics, early stopping (patience, monitor, min_delta, restore_best), schedule and its options,
and seed — or, for an estimator, its hyper-parameters by their own names (``learning_rate``,
``validation_split``, ...). A resume whose settings differ in any of them would continue with the
checkpoint's optimizer state and rates under the new batch size, clipping, ...: a run matching
neither, so :func:`load_checkpoint` refuses it with a ValueError naming the first difference and
both values: the loss first (another loss is another task, a classifier's where a regressor's was:
its targets, and so its data, differ too), then in the order :meth:`Trainer.settings
<lstmkit.training.Trainer.settings>` gives them. What may change when resuming (as Keras and
PyTorch Lightning let a resumed run change them, and none of it alters the weights): the number
of epochs (``fit(epochs=...)``, larger to go on; equal: nothing runs; fewer than the checkpoint
has run: refused), the progress display (``verbose``, ``stream``), ``callbacks``, and an unseeded
trainer (``seed=None``, an estimator's None or Generator seed) takes the checkpoint's seed. The
data must be the same: ``data`` records the shapes and a digest of ``X``, ``Y`` and lengths as
``fit`` trains on them (the NaN or inf padding past lengths of X and of a real-valued Y zeroed: the
same data as zero padding; a class index there, -1 say, is kept as it is), and a resume on other
data is refused, once the settings agree (a setting that changes what is trained on, an
estimator's dtype say, is named as the setting; a Trainer's ``validation_data`` is not recorded;
an estimator's ``validation_split`` is a setting). To go on from the weights with other settings
(fine-tuning), start a new run from them (``read_checkpoint(path)["arrays"]``'s ``model/``
entries into ``model.load_state_dict``) instead of resuming. A checkpoint written before settings
were recorded loads without the comparison. ``fit(..., on_resume=f)`` calls ``f(trainer)`` once a
resume goes ahead (every check passed), before the first epoch.

A failed load — a checkpoint for another model or trainer (ValueError), a damaged or edited
file (:class:`~lstmkit.io.FileFormatError` naming the file and the field; among them an optimizer
hyper-parameter that disagrees with the settings recorded in the same file) — leaves the trainer,
its optimizer and its model exactly as they were: every field is checked before anything is
written (:func:`check_checkpoint`, then :func:`restore_checkpoint`; ``Trainer.fit`` checks its
validation split, drawn from the checkpoint's seed, between the two, so that a resume it refuses
leaves the trainer as it was too).
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from typing import Any, Mapping

import numpy as np

from . import __version__
from ._checks import fail, is_int, is_number
from .io import FileFormatError, load_arrays, save_arrays
from .losses import uniform_weights

FORMAT = "lstmkit-checkpoint"
FORMAT_VERSION = 1
#: the array names a checkpoint holds (Trainer.state_dict): any other entry is refused from the zip
#: directory, before anything is decompressed (lstmkit.io)
ARRAY_NAMES = ("model/*", "optim/*", "best/*")
FIELDS = ("epoch", "history", "optimizer", "schedule", "rng", "early_stopping")
#: a refusal of a state in memory (Trainer.load_state_dict); a checkpoint file's says how to start afresh (:func:`afresh`)
RESUME_FIX = "Resume with the same settings (only epochs may grow) or start afresh."
DAMAGED_FIX = "The checkpoint is damaged or was edited: resume from another one or start afresh."
# bit generators a checkpoint's random states may name (NumPy's; each built only to check a state)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_MISSING = object()


def afresh(path, option: str = "checkpoint") -> str:
    """How to start afresh rather than resume from the checkpoint file ``path``: what a refusal of
    :func:`load_checkpoint` ends with ("or start afresh" said nothing of how: the file is what resumes).
    ``option``: what the caller calls the checkpoint path (the command line: "--checkpoint")."""
    return f"start afresh: delete {path} or give another {option} path"


class ResumeRefused(ValueError):
    """A checkpoint that this run may not resume (:func:`load_checkpoint`), with what a caller needs
    to word the refusal in its own terms (the CLI names its options): ``reason`` "settings" (the
    first setting that differs: ``setting``, ``recorded``, ``current``, a side without it as
    ``None`` in ``missing``), "epochs" (the checkpoint has run ``epoch`` epochs, past this run's
    ``epochs``) or "data" (written while training on other data)."""

    def __init__(self, message: str, reason: str, *, setting: str | None = None, recorded: Any = None,
                 current: Any = None, missing: tuple = (), epoch: int | None = None, epochs: int | None = None):  # fmt: skip
        super().__init__(message)
        self.reason, self.setting, self.recorded, self.current = reason, setting, recorded, current
        self.missing, self.epoch, self.epochs = missing, epoch, epochs


class DamagedCheckpoint(ValueError):
    """A checkpoint field that is missing or of the wrong type or kind (the file was damaged or
    edited), as :meth:`Trainer.load_state_dict <lstmkit.training.Trainer.load_state_dict>` finds
    it; told apart from a checkpoint written for another model or trainer (a plain ValueError),
    and reported by :func:`load_checkpoint` as a :class:`~lstmkit.io.FileFormatError` naming the
    file and the field."""


def save_checkpoint(path: str | os.PathLike, trainer) -> None:
    """Write ``trainer.state_dict()`` (model, optimizer, RNGs, epoch, history, ...) atomically."""
    sd = trainer.state_dict()
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "lstmkit_version": __version__, **sd["meta"]}
    save_arrays(path, sd["arrays"], meta)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's ``{"arrays", "meta"}``, its envelope and every field's type validated
    (FileFormatError naming the file and the field if not one; one naming the entry for an array
    not under model/, optim/ or best/, refused before any entry is decompressed)."""
    arrays, meta = load_arrays(path, names=ARRAY_NAMES)
    if meta.get("format") != FORMAT:
        raise FileFormatError(f"{path}: expected an lstmkit checkpoint (format {FORMAT!r}), got format {meta.get('format')!r}.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(f"{path}: expected checkpoint format_version <= {FORMAT_VERSION}, got {version!r}. Upgrade lstmkit.")
    missing = [k for k in FIELDS if k not in meta]
    if missing:
        raise FileFormatError(f"{path}: expected checkpoint fields {missing}, found none.")
    check_meta(meta, str(path), FileFormatError)
    return {"arrays": arrays, "meta": meta}


def data_fingerprint(*arrays) -> dict[str, Any]:
    """What a checkpoint records of the training data: each array's shape and one digest of their
    dtypes, shapes and bytes (BLAKE2b; None entries count as absent)."""
    h = hashlib.blake2b(digest_size=16)
    shapes = []
    for a in arrays:
        if a is None:
            h.update(b"none;")
            shapes.append(None)
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.view(np.uint8).reshape(-1) if a.dtype.kind != "O" else repr(a.tolist()).encode())
        shapes.append(list(a.shape))
    return {"shapes": shapes, "digest": h.hexdigest()}


def load_checkpoint(path: str | os.PathLike, trainer, *, data: Mapping[str, Any] | None = None, epochs: int | None = None) -> None:
    """Restore ``trainer`` (and its model) from ``path``; all or nothing.

    A checkpoint written with other settings (see the module's docstring; only epochs may grow)
    raises ValueError naming the file, the first setting that differs and both values; one written
    for another model or trainer (other parameter names or shapes, another optimizer or schedule)
    raises ValueError naming the file and the first mismatch; a damaged one, a field missing or of
    the wrong type (``optimizer.beta1``, ``schedule.factor``, ``rng.shuffle``, ...), or one that
    disagrees with the settings recorded in the same file (``optimizer.beta1`` 0.5 where they make
    it 0.9; ``optimizer.initial_lr`` and ``schedule.base_lr`` other than their ``lr``),
    FileFormatError naming the file, the field and both values. ``data`` (:func:`data_fingerprint`
    of this run's data) and ``epochs`` (this run's total), when given: a checkpoint written while
    training on other data, or one past ``epochs`` already, raises ValueError too. The refusals
    of a resume are :class:`ResumeRefused`, a ValueError that carries the setting and both
    values, or the epochs, in this order: other settings (the loss first: another task), other
    data, past ``epochs``.

    In two steps, :func:`check_checkpoint` (every check, nothing written) and
    :func:`restore_checkpoint` (the write), which :meth:`Trainer.fit
    <lstmkit.training.Trainer.fit>` takes apart to make its own checks between them."""
    restore_checkpoint(path, trainer, check_checkpoint(path, trainer, data=data, epochs=epochs))


def check_checkpoint(path: str | os.PathLike, trainer, *, settings: Mapping[str, Any] | None = None,
                     data: Mapping[str, Any] | None = None, epochs: int | None = None) -> dict[str, Any]:  # fmt: skip
    """:func:`load_checkpoint`'s reading and every one of its checks, nothing written: returns the
    state :func:`restore_checkpoint` writes (``trainer._check_state``'s, among it ``split_ss``, the
    seed of the validation split it restores). ``settings``: what the checkpoint's are compared
    with, by default ``trainer.settings()``; :meth:`Trainer.fit <lstmkit.training.Trainer.fit>`
    gives those of the data it was given (its sample weights), which it records only once every
    check has passed."""
    ckpt = read_checkpoint(path)
    meta = ckpt["meta"]
    settings = trainer.settings() if settings is None else settings
    diff = settings_difference(meta, settings)  # first: a setting may be why the data differ (the loss, dtype)
    if diff is not None:
        name, recorded, current = diff
        missing = tuple(side for side, v in (("recorded", recorded), ("current", current)) if v is _MISSING)
        # sample weights are recorded as a digest: say what it is of, so two hashes read as 'other weights'
        same = "sample weights (the setting is their digest; only epochs may grow)" if name == "sample_weight" else "settings (only epochs may grow)"
        raise ResumeRefused(
            f"load_checkpoint: {path} was written with {name} {show_setting(recorded)}, got {show_setting(current)}. Resume with the same {same}, or {afresh(path)}.",
            "settings", setting=name, recorded=None if recorded is _MISSING else recorded,
            current=None if current is _MISSING else current, missing=missing,
        )  # fmt: skip
    recorded = meta.get("data")
    if data is not None and isinstance(recorded, Mapping) and recorded.get("digest") != data["digest"]:
        shapes = lambda d: ", ".join(f"{n} {tuple(s) if s is not None else None}" for n, s in zip(("X", "Y", "lengths"), d.get("shapes", [])))  # noqa: E731
        same = " (the same shapes, other values)" if recorded.get("shapes") == data["shapes"] else ""
        raise ResumeRefused(f"load_checkpoint: {path} was written while training on other data ({shapes(recorded)}), "
                            f"got {shapes(data)}{same}. Resume on the same data, or {afresh(path)}.", "data")  # fmt: skip
    if epochs is not None and meta["epoch"] > epochs:
        raise ResumeRefused(f"load_checkpoint: {path} has run {meta['epoch']} epochs already, got epochs={epochs}. "
                            f"Resume with epochs >= {meta['epoch']} to go on, or {afresh(path)}.", "epochs", epoch=meta["epoch"], epochs=epochs)  # fmt: skip
    with _in_file(path):
        return trainer._check_state(ckpt, settings)


def restore_checkpoint(path: str | os.PathLike, trainer, state: Mapping[str, Any]) -> None:
    """Write ``state`` (:func:`check_checkpoint`'s, of ``path``) into ``trainer`` and its model, all
    or nothing: the model's and the optimizer's loads check its values again (a NaN weight: the
    file is damaged), and a refusal, worded as :func:`load_checkpoint`'s, leaves them as they were."""
    with _in_file(path):
        trainer._restore(state)


@contextmanager
def _in_file(path):
    """A refusal of a trainer's state read from ``path``, worded as the file's: a damaged field as
    :func:`read_checkpoint`'s refusals (the file, then the field), any other as a checkpoint
    written for another model or trainer."""
    try:
        yield
    except DamagedCheckpoint as e:
        raise FileFormatError(f"{path}: {str(e).removeprefix('Trainer.load_state_dict: ')}") from e
    except ValueError as e:
        raise ValueError(f"load_checkpoint: {path} was written for another model or trainer: {e}") from e


# -- settings ---------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """``value`` as it reads back from a checkpoint's JSON: NumPy scalars as Python numbers,
    tuples as lists, mapping keys as strings."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def settings_difference(meta: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """The first setting in which the run recorded in ``meta["settings"]`` differs from
    ``current`` (a trainer's :meth:`settings`), as ``(name, recorded, current)`` with
    ``_MISSING`` for a side without it; None if they agree or the checkpoint records none (one
    written before settings were recorded). ``loss`` is compared first: another loss is another
    task (a regressor's where a classifier's was), whose other settings differ because of it.
    ``seed`` None on the current side (unseeded) agrees with any recorded seed: the resumed run
    takes the checkpoint's. Names that lstmkit reads in any case are compared as it reads them
    (:func:`normal_setting`): ``"ADAM"`` agrees with ``"adam"``."""
    recorded = meta.get("settings")
    if recorded is None:
        return None
    current = json.loads(json.dumps(plain(current)))  # compared as the checkpoint will hold it
    for name in dict.fromkeys(["loss", *current, *recorded]):  # the loss, then current's order, then recorded's others
        r, c = recorded.get(name, _MISSING), current.get(name, _MISSING)
        if name == "seed" and c is None:
            continue
        if not same_value(normal_setting(name, r), normal_setting(name, c)):
            return name, r, c
    return None


def normal_setting(name: str, value: Any) -> Any:
    """A recorded setting as the library reads it, so that two spellings of one run compare equal:
    an optimizer's name in lower case (``make_optimizer`` and the estimators take ``"ADAM"`` for
    ``"adam"``; a Trainer records its class, ``"Adam"``) and ``lstm_options``' activations by
    their canonical spec (``get_activation`` takes ``"Hard_Sigmoid"``, ``"HardSigmoid"`` and
    ``["hard_sigmoid", 0.2, 0.5]``, its defaults, for ``"hard_sigmoid"``; ``None`` for ``{}``, which
    the estimators build the same model from); class weights that are all one number > 0 (a list,
    or an estimator's mapping of label to weight) as no class weights, ``_MISSING``: they train as
    none, bit for bit, and a checkpoint written before that was so records them. Any other value,
    and one that does not read as an activation, as it is."""
    key = name.removeprefix("model ")
    if key == "class_weight" and isinstance(value, (list, Mapping)) and _one_positive_number(value):
        return _MISSING
    if key == "optimizer" and isinstance(value, str):
        return value.lower()
    if key == "lstm_options" and value is None:  # the estimators build the same model from None and {}
        return {}
    if key == "lstm_options" and isinstance(value, dict) and isinstance(value.get("activations"), list):
        from .activations import get_activation

        try:
            return {**value, "activations": plain([get_activation(a).spec() for a in value["activations"]])}
        except (TypeError, ValueError):
            return value
    return value


def _one_positive_number(weights: list | Mapping) -> bool:
    """Whether recorded class weights (a list, or a mapping's values) are all one number > 0
    (:func:`~lstmkit.losses.uniform_weights`, the Trainer's rule), read from JSON: a bool, a
    string or anything else that is not a number is no weight, and neither is an integer beyond
    float64 (a damaged file's): they compare as recorded."""
    values = list(weights.values()) if isinstance(weights, Mapping) else weights
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return False
    try:
        return uniform_weights(np.asarray(values, float))
    except OverflowError:  # (int too large to convert to float)
        return False


def same_value(a: Any, b: Any) -> bool:
    """JSON values equal, with bools told apart from the numbers 0 and 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


def show_setting(value: Any) -> str:
    """A setting's value as an error message shows it: a string quoted, a missing one as nothing."""
    if value is _MISSING:
        return "nothing"
    return repr(value) if isinstance(value, str) else str(value)


# -- the fields' types ------------------------------------------------------------------------
def _got(v) -> str:
    if v is _MISSING:
        return "nothing (the field is missing)"
    text = repr(v)
    return f"{type(v).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def check_meta(meta: Mapping[str, Any], where: str, exc: type[Exception] = ValueError) -> None:
    """Check the type of every field of a checkpoint's ``meta`` that restoring a trainer reads
    (those :func:`read_checkpoint` requires, and the optional ``trainer``, ``model_config`` and
    ``settings``), raising ``exc`` that names the field; nothing is changed. What depends on the
    trainer (its optimizer's hyper-parameters, its schedule's fields, the weights) is checked by
    :meth:`Trainer.load_state_dict <lstmkit.training.Trainer.load_state_dict>`."""

    def check(name: str, value, ok, what: str) -> None:
        if value is _MISSING or not ok(value):
            fail(where, f"checkpoint field {name}", what, _got(value), DAMAGED_FIX, exc=exc)

    def field(d, key):
        return d.get(key, _MISSING) if isinstance(d, Mapping) else _MISSING

    is_dict = lambda v: isinstance(v, dict)  # noqa: E731
    check("epoch", field(meta, "epoch"), lambda v: is_int(v) and v >= 0, "an integer >= 0")
    check("history", field(meta, "history"), lambda v: isinstance(v, list) and all(map(is_dict, v)), "a list of objects (one per epoch)")
    history, epoch = meta["history"], meta["epoch"]
    check("history", history, lambda v: len(v) == epoch, f"{epoch} entries (one per epoch run)")
    for k, logs in enumerate(history):  # epoch, loss, metrics, lr, time: numbers (a metric never reached: null)
        for key, value in logs.items():
            check(f"history[{k}].{key}", value, lambda v: v is None or is_number(v), "a number")
    opt = field(meta, "optimizer")
    check("optimizer", opt, is_dict, "an object")
    check("optimizer.type", field(opt, "type"), lambda v: isinstance(v, str), "a name")
    check("optimizer.initial_lr", field(opt, "initial_lr"), lambda v: is_number(v) and v > 0, "a number > 0")
    # the current rate may be 0: a cosine schedule reaches eta_min = 0 at T_max
    check("optimizer.lr", field(opt, "lr"), lambda v: is_number(v) and v >= 0, "a number >= 0")
    check("optimizer.t", field(opt, "t"), lambda v: is_int(v) and v >= 0, "an integer >= 0")
    sched = field(meta, "schedule")
    check("schedule", sched, lambda v: v is None or is_dict(v), "null or an object")
    if sched is not None:
        check("schedule.type", field(sched, "type"), lambda v: isinstance(v, str), "a name")
    rng = field(meta, "rng")
    check("rng", rng, is_dict, "an object")
    check("rng.entropy", field(rng, "entropy"), _entropy_ok, "an integer >= 0 or a list of them (a SeedSequence's entropy)")
    for k in ("shuffle", "dropout"):
        check(f"rng.{k}", field(rng, k), _rng_state_ok, f"the state of one of NumPy's bit generators {list(BIT_GENERATORS)}")
    es = field(meta, "early_stopping")
    check("early_stopping", es, is_dict, "an object")
    check("early_stopping.best", field(es, "best"), lambda v: v is None or is_number(v), "null or a number")
    check("early_stopping.best_epoch", field(es, "best_epoch"), lambda v: v is None or (is_int(v) and v >= 0), "null or an integer >= 0")
    check("early_stopping.wait", field(es, "wait"), lambda v: is_int(v) and v >= 0, "an integer >= 0")
    check("early_stopping.stopped", field(es, "stopped"), lambda v: isinstance(v, bool), "true or false")
    for k in ("trainer", "model_config", "settings", "data"):
        if k in meta:
            check(k, meta[k], is_dict, "an object")


def _entropy_ok(v) -> bool:
    ints = [v] if is_int(v) else v if isinstance(v, list) and v else None
    if ints is None or not all(is_int(i) and i >= 0 for i in ints):
        return False
    try:
        np.random.SeedSequence(v)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _rng_state_ok(state) -> bool:
    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        return False
    try:
        getattr(np.random, state["bit_generator"])().state = state  # a throw-away generator
    except (TypeError, ValueError, KeyError, OverflowError):
        return False
    return True
