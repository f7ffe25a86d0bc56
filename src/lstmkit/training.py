"""The training loop: ``Trainer(model, ...).fit(X, Y)`` (or the one-call ``fit``), top to bottom.

    for each epoch:
        shuffle the training sequences (seeded generator)
        for each mini-batch:
            for each chunk of ``bptt`` steps (the whole sequence when bptt is None):
                out, state = model(x_chunk, lengths_chunk, state)      state carried, not back-propagated
                loss, dout = loss_fn(out, y_chunk, mask)               mean over valid targets
                zero grads;  model.backward(dout);  clip_grad_norm;  optimizer.step()
        evaluate on the validation data; step the learning-rate schedule
        record the epoch in History; early stopping (keep the best weights); callbacks; checkpoint
    restore the best weights (when early stopping is on)

Data (batch first, as :class:`~lstmkit.models.SequenceModel`):
    X (N, T, I) float, or (N, T) token ids for a model with inputs="tokens" (one-hot per batch);
    lengths (N,) ints in [1, T] or None.
    Y for ``loss="cross_entropy"``: class indices, (N, T) with head="all" or (N,) with head="last".
    Y for ``loss="mse"``: the model's output shape, (N, T, O) or (N, O).
With head="all", steps past a sequence's length are masked out of the loss and metrics. With
lengths, each batch (in fit, evaluate and predict) runs its own longest sequence's steps, not the
data's T: the padding past them is read by no valid step, so it costs nothing (predict's outputs
agree with running all T steps to round-off, a few ulps: a matrix product's rounding may depend on
its number of rows, T·B here; its outputs on the padding exactly; training's agree to round-off, and per-step random
masks, dropout between layers and zoneout, are drawn over the batch's steps). X past a
sequence's length may be NaN or inf (missing; zeroed in a copy, as the estimators take it); within
it, a NaN or inf is refused naming its sample and step. Y likewise, with the losses above: past a
sequence's length any target is padding (NaN or inf zeroed in a copy; a class index -1, say,
ignored); within it (every row with head="last") a NaN or inf, or a class index outside [0, C) for
a model of C outputs, is refused before training starts, naming its sample and step.

Truncated BPTT (``bptt=k``, head="all" only): each batch of long sequences is cut into chunks of k
steps; the state at the end of a chunk is the initial state of the next (char-rnn style) but no
gradient flows between chunks; parameters are updated after every chunk. Rows of one batch are
thus parallel streams; with ``shuffle=False`` and X holding one long stream per row, this is
exactly Karpathy's char-rnn.

Validation: ``validation_data=(X, Y[, lengths[, sample_weight]])``, or ``validation_split=f`` which
holds out a seeded random fraction f of the sequences (the same ones on every epoch and after a
resume), their sample weights with them, as Keras splits them. Keras' tuple is (x, y,
sample_weight); lstmkit's third place is the lengths (padded sequences of different lengths), so
the validation data's weights come fourth: (X, Y, None, w) without lengths.

Sample weights (``fit(..., sample_weight=w)``, ``evaluate(..., sample_weight=w)``; Keras' and
scikit-learn's): one number >= 0 per sequence (N,), or with per-step targets (head="all") per step
(N, T), weighing each target's loss, times its class weight where there are class weights: each
batch's loss is Σ r ℓ / Σ r (:mod:`lstmkit.losses`), the epoch's loss the same mean over its
batches' targets. They go with their rows: shuffled with the batch, cut with the bptt chunks.

Determinism: every random choice comes from a seed — the split and the shuffling from the Trainer's
``seed`` (this module), the dropout masks from the model's (its ``dropout_rng``, made from
``SequenceModel(seed=)``: a model built with ``seed=None`` draws new masks on every run, whatever
the Trainer's seed) — so the same seeds and data give the same weights bit for bit on one backend
and thread count; ``state_dict()`` captures all of it (see :mod:`lstmkit.checkpoint`), so a resumed
run continues exactly as an uninterrupted one (on the same backend and thread count: neither is
recorded).
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
import time
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ._checks import (
    MISSING_TARGETS, a_or_an, at_sample, check_bool, check_clip, check_finite_steps, check_finite_within, check_float_array,
    check_int, check_lengths, check_real, check_seed, check_sequences, check_verbose, check_sample_weight, count, fail,
    first_index, is_number, message, name_overflow, optional_import, valid_steps,
)
from .checkpoint import (
    DAMAGED_FIX, RESUME_FIX, DamagedCheckpoint, check_checkpoint, check_meta, data_fingerprint, plain, restore_checkpoint, same_value,
    save_checkpoint, settings_difference, show_setting,
)
from .losses import (
    check_class_weight, check_weighed, class_weighed, mse, relative_weight, softmax_cross_entropy, uniform_weights, weighed_cross_entropy,
    weighed_mse,
)
from .module import Module, _EvalMode
from .optim import OPTIMIZERS, SCHEDULES, Optimizer, by_name, clip_grad_norm, make_optimizer, make_schedule
from .progress import make_progress

LOSSES = {"cross_entropy": softmax_cross_entropy, "mse": mse}
# a schedule's fields that are its progress, not its options (base_lr is the optimizer's lr)
_SCHEDULE_PROGRESS = ("epoch", "base_lr", "best", "bad_epochs", "cooldown_left")


# -- metrics: each returns (sum over valid targets, number of valid targets) -------------------
def accuracy(out: np.ndarray, y: np.ndarray, mask: np.ndarray | None) -> tuple[float, float]:
    """Correct predictions argmax(out) == y, counted over valid targets.
    out (N..., C) logits, y (N...) class indices, mask (N...) 0/1 or None."""
    hit = out.argmax(axis=-1) == y
    if mask is None:
        return float(hit.sum()), float(hit.size)
    return float((hit & (mask > 0)).sum()), float(mask.sum())


def mae(out: np.ndarray, y: np.ndarray, mask: np.ndarray | None, scale: np.ndarray | None = None) -> tuple[float, float]:
    """Σ |out - y| over valid elements, and their number.
    out and y (N..., K), mask (N...) 0/1 or None (broadcast over K). ``scale`` (K,): each output's
    errors times its scale, Σ_k s_k |out_k - y_k| (``functools.partial(mae, scale=s)`` is the MAE
    in the units of y = z * s + m for a model trained on z, as LSTMRegressor reports it); None: 1."""
    err = np.abs(out - y)
    if scale is not None:
        err = err * scale
    if mask is None:
        return float(err.sum()), float(err.size)
    m = mask.reshape(mask.shape + (1,) * (err.ndim - mask.ndim))
    return float((err * m).sum()), float(m.sum() * (err.size // mask.size))


METRICS: dict[str, Callable] = {"accuracy": accuracy, "mae": mae}
#: Keras' names of the metrics lstmkit has -> lstmkit's; the logs keep the name given ("acc" logs
#: acc and val_acc), as Keras' do
KERAS_METRICS = {"acc": "accuracy", "sparse_categorical_accuracy": "accuracy", "mean_absolute_error": "mae"}
DEFAULT_METRICS = {"cross_entropy": ("accuracy",), "mse": ()}
_LOGGED = ("epoch", "loss", "lr", "time")  # the keys an epoch's logs hold besides the metrics
_METRIC_FORM = "a function (out, y, mask) -> (sum over valid targets, their count)"


def _check_metrics(metrics, loss_name: str, where: str) -> dict[str, Callable]:
    """The Trainer's ``metrics`` as name -> function ``(out, y, mask) -> (sum, count)``: None (the
    loss's default, :data:`DEFAULT_METRICS`), a sequence of names from :data:`METRICS` (or their
    Keras names, :data:`KERAS_METRICS`, kept as given: "acc" is logged as acc) or of functions
    (each named by its ``__name__``, as Keras names them), or a mapping of name -> function (any
    name but loss, epoch, lr, time and val_*, which the logs hold already)."""
    if metrics is None:
        return {m: METRICS[m] for m in DEFAULT_METRICS.get(loss_name, ())}
    expected = f"names from {list(METRICS)}, functions, or a mapping of name -> {_METRIC_FORM}"
    if isinstance(metrics, Mapping):
        pairs = list(metrics.items())
    elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, Iterable):
        fail(where, "metrics", expected, f"{type(metrics).__name__} {metrics!r:.80}", "For one metric: metrics=['mae'].", exc=TypeError)
    else:
        pairs = []
        for m in metrics:
            if isinstance(m, str):
                if m not in METRICS and m not in KERAS_METRICS:
                    mse = m in ("mse", "mean_squared_error")
                    fix = "lstmkit has no MSE metric: with loss='mse' the loss is the MSE (loss, val_loss)." if mse else ""
                    fail(where, "metrics", f"names from {list(METRICS)} or their Keras names {list(KERAS_METRICS)} "
                                           f"(or a mapping of name -> {_METRIC_FORM})", repr(m), fix)  # fmt: skip
                pairs.append((m, METRICS[KERAS_METRICS.get(m, m)]))
            elif callable(m):
                name = getattr(m, "__name__", "")
                if not (isinstance(name, str) and name.isidentifier()):
                    fail(where, "metrics", "functions with a name (their __name__ names them in the logs)", f"{m!r:.80}",
                         "Name it with a mapping: metrics={'my_metric': fn}.", exc=TypeError)  # fmt: skip
                pairs.append((name, m))
            else:
                fail(where, "metrics", expected, f"an item {type(m).__name__} {m!r:.80}", exc=TypeError)
    out: dict[str, Callable] = {}
    for name, fn in pairs:
        if not isinstance(name, str) or not name or name in _LOGGED or name.startswith("val_"):
            fail(where, "metrics", f"names other than {list(_LOGGED)} and val_* (the logs hold those)", repr(name))
        if name in out:
            fail(where, "metrics", "each name once", repr(name))
        if not callable(fn):
            fail(where, f"metrics[{name!r}]", _METRIC_FORM, f"{type(fn).__name__} {fn!r:.80}", exc=TypeError)
        out[name] = fn
    return out


def interrupt_in(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt in ``exc``'s chain of causes (``exc`` itself, its ``__cause__`` or
    ``__context__``, and theirs), or None. Ctrl-C inside a compiled kernel surfaces as numba's
    ``SystemError: CPUDispatcher(...) returned a result with an exception set``, the interrupt in
    its context: the LSTM raises the interrupt itself where it calls the kernels (so fit, predict
    and a forward do), and the command line reads any other SystemError with this."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class History:
    """Every epoch's logs (``epoch``, ``loss``, metrics, ``val_*``, ``lr``, ``time`` in seconds).

    ``history.epochs`` is the list of dicts, one per epoch, and ``len(history)`` their number;
    ``history.epochs[0]`` the first epoch's logs. Read by key, it is Keras' ``History.history``,
    a dict of lists: ``history["val_loss"]`` the list of one key's values (of the epochs that
    logged it: validation may start late), ``"val_loss" in history`` whether any epoch logged it,
    ``for key in history`` and :meth:`keys` the logged keys in the order first logged,
    ``history.get(key, default)`` and ``history.history`` (a new dict of lists) as a dict's.
    A key never logged raises KeyError naming those logged; an int index raises TypeError (an
    epoch's logs are ``history.epochs[i]``). ``history.plot(path)`` draws the learning curves.
    """

    def __init__(self, epochs: Iterable[Mapping[str, Any]] = ()) -> None:
        self.epochs: list[dict[str, Any]] = [dict(e) for e in epochs]

    def append(self, logs: Mapping[str, Any]) -> None:
        """Add one epoch's logs (a mapping of name -> value, copied) after the last epoch."""
        self.epochs.append(dict(logs))

    def __getitem__(self, key: str) -> list:
        """The values of ``key``, one per epoch that logged it (``val_*``: those validated)."""
        if not isinstance(key, str):
            fix = f"An epoch's logs are history.epochs[{key}]." if isinstance(key, (int, np.integer)) else ""
            fail("History", "key", f"a logged name, one of {self.keys()}", f"{type(key).__name__} {key!r:.80}", fix,
                 exc=TypeError)  # fmt: skip
        if key not in self:
            fail("History", "key", f"a logged name, one of {self.keys()}", repr(key),
                 "Test a key with `key in history`, or use history.get(key, []).", exc=KeyError)
        return [e[key] for e in self.epochs if key in e]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        """The logged keys (as a dict's, Keras' ``History.history``'s); the epochs: ``history.epochs``."""
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.epochs)

    def get(self, key: str, default: Any = None) -> Any:
        """``history[key]`` if some epoch logged ``key``, else ``default`` (as ``dict.get``)."""
        return self[key] if key in self else default

    def keys(self) -> list[str]:
        """The names logged, each once, in the order first logged (``epoch``, ``loss``, ...)."""
        return list(dict.fromkeys(k for e in self.epochs for k in e))

    @property
    def history(self) -> dict[str, list]:
        """Keras' ``History.history``: a new dict of each logged key's list (:meth:`__getitem__`)."""
        return {k: self[k] for k in self.keys()}

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, keys={self.keys()})"

    def curves(self, keys: Sequence[str] | None = None) -> list[str]:
        """The quantities :meth:`plot` draws, one panel each: ``keys`` as given (each one logged,
        without the ``val_`` prefix), or by default every logged one but ``epoch``, ``time`` and
        ``val_*`` (drawn with its own quantity): ``loss`` first, then the metrics, and ``lr`` last,
        only where it changed (a schedule)."""
        where = "History.plot"
        logged = [k for k in self.keys() if k not in ("epoch", "time") and not k.startswith("val_")]
        logged.sort(key=lambda k: (k != "loss", k == "lr"))  # loss first, lr last (a resumed history's keys come sorted)
        if keys is None:
            return [k for k in logged if k != "lr" or len(set(self["lr"])) > 1]
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            fail(where, "keys", "a list of logged names, e.g. ['loss']", repr(keys), exc=TypeError)
        for k in keys:
            if k not in logged:
                fail(where, "keys", f"to name quantities from {logged} (val_<key> is drawn with <key>)", repr(k))
        return list(keys)

    def plot(self, path: str | os.PathLike, keys: Sequence[str] | None = None, title: str = "") -> None:
        """Learning curves, written to ``path`` (atomically) in the format its suffix names (.png,
        .pdf, .svg; :func:`lstmkit.io.save_figure`): one panel per quantity
        (:meth:`curves`; default loss, then each metric), its training value and, where logged,
        its validation value (``val_<key>``) against the epoch, with a dotted line at the epoch of
        the lowest ``val_loss`` where there is one.

        matplotlib (an optional extra, ``lstmkit[cli]``) is imported here, never by the engine;
        without it, a ModuleNotFoundError (``name="matplotlib"``) gives the pip line that installs it.
        """
        if not self.epochs:
            fail("History.plot", "history", "to hold at least one epoch", "an empty one")
        panels = self.curves(keys)
        with optional_import("matplotlib", "History.plot", "to draw the learning curves"):
            from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched
            from matplotlib.ticker import MaxNLocator

        from ._palette import BLUE, GREY, VERMILLION
        from .io import save_figure

        def series(key):  # (epochs, values) of the epochs that logged key (validation may start late)
            pairs = [(e["epoch"], e[key]) for e in self.epochs if key in e]
            return [p[0] for p in pairs], [p[1] for p in pairs]

        best = None
        if "val_loss" in self.keys():
            at, val = series("val_loss")
            best = at[int(np.argmin(val))]
        every = max(1, len(self.epochs) // 25)  # markers: about 25 a curve
        fig = Figure(figsize=(4.5 * len(panels), 3.6))
        axes = fig.subplots(1, len(panels), squeeze=False)
        for ax, k in zip(axes[0], panels):  # training and validation told apart by colour, line style and marker
            ax.plot(*series(k), ls="-", marker="o", ms=3, markevery=every, color=BLUE, label="training" if k != "lr" else k)
            if f"val_{k}" in self.keys():
                ax.plot(*series(f"val_{k}"), ls="--", marker="s", ms=3, markevery=every, color=VERMILLION, label="validation")
            if best is not None:
                ax.axvline(best, color=GREY, ls=":", lw=1, label=f"lowest val_loss (epoch {best})")
            ax.set(xlabel="epoch", ylabel=k)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no tick at 2.5
            if k == "lr":
                ax.set_yscale("log")
            ax.legend(fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        save_figure(fig, path)


def _check_X(X, lengths, model, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """X (N, T, I) floats, or (N, T) integer token ids in [0, I) for a model with inputs="tokens";
    at least one sequence, one step and one feature (as scikit-learn refuses 0 samples); I the
    model's input_size (where it has one); ``lengths`` (N,) ints in [1, T] or None. Returns (X,
    lengths as int64 or None). Checked before anything runs, so that a fit does not stop in a
    later batch (a token id out of range) with some batches trained.

    A NaN or inf within a sequence's length is refused naming its sample and step; past it
    (padding) it is accepted and zeroed in a copy, as the estimators take X
    (:func:`~lstmkit._checks.check_finite_steps`). So is a finite value beyond the model's dtype
    (1e39 given to a float32 model), named as given with that dtype's range
    (:func:`~lstmkit._checks.name_overflow`: cast_float's refusal, the estimators' rule), not as
    the inf it would become."""
    I = getattr(model, "input_size", None)
    given = X
    if getattr(model, "inputs", "features") == "tokens":
        X = np.asarray(X)
        if X.dtype.kind not in "iu" or X.ndim != 2:
            fail(where, "X", "integer token ids (n_samples, T) for a model with inputs='tokens'", f"dtype {X.dtype} shape {X.shape}", exc=TypeError if X.dtype.kind not in "iu" else ValueError)
        check_sequences(X, where, "X", "(n_samples, T)")  # not empty
        if I is not None and (bad := (X < 0) | (X >= I)).any():  # padding too: the model one-hot encodes every step
            at = first_index(bad)
            fail(where, "X", f"token ids in [0, input_size={I})", f"{X[at]} at index {at_sample(at, steps=True)}")
    else:
        X = check_float_array(X, where, "X", model.dtype, finite=False)  # finite within lengths: below (a value cast to inf too)
        check_sequences(X, where)  # 3-D, not empty
        if I is not None and X.shape[2] != I:
            fail(where, "X", f"{I} features (the model's input_size)", X.shape[2])
    if lengths is not None:
        lengths = check_lengths(lengths, *X.shape[:2], where)
    if X.dtype.kind == "f":
        name_overflow(given, X, model.dtype, where, "X", lengths)  # (a value the cast made inf, within the lengths; before 'got inf')
        X = check_finite_steps(X, lengths, where)
    return X, lengths


def _check_data(X, Y, lengths, model, loss_fn, where: str, class_weight=None):
    """Validate one data set; returns (X, Y, lengths or None).

    With a loss of this module (:data:`LOSSES`) Y's valid targets (every step within a sequence's
    length with head="all", every row with head="last") are checked before training starts, naming
    Y, the index, the sample and the step: for "mse" numbers, finite (NaN or inf past a sequence's
    length is padding, zeroed in a copy as X's); for "cross_entropy" integer class indices in
    [0, C) for a model of C outputs (past a sequence's length any integer, -1 say, is ignored),
    or for a model that does not say its number of outputs (no ``output_size``) with
    ``class_weight`` (C,), in [0, C), one per class weight. A custom loss gets Y as it is (its
    targets are its business)."""
    X, lengths = _check_X(X, lengths, model, where)
    n, T = X.shape[:2]
    Y = np.asarray(Y)
    if Y.shape[:1] != (n,):
        fail(where, "Y", f"{n} rows (one per sequence in X)", f"shape {Y.shape}")
    head = getattr(model, "head_mode", None)  # a SequenceModel's "all"/"last"; a custom Module's targets are its loss's business
    if head == "all" and (Y.ndim < 2 or Y.shape[1] != T):  # a longer Y was sliced to X's steps without a word
        fail(where, "Y", f"one target per step: shape ({n}, {T}, ...) as X's {T} steps", f"shape {Y.shape}")
    if head == "last" and Y.ndim > 2:
        fail(where, "Y", f"one target per sequence: shape ({n},) or ({n}, n_outputs) (the model reads the last step)", f"shape {Y.shape}")
    if head in ("all", "last") and loss_fn in (mse, softmax_cross_entropy):
        valid = valid_steps(lengths, n, T) if head == "all" else np.ones(n, dtype=bool)  # the targets the loss reads
        n_classes = getattr(model, "output_size", None)
        by_class_weight = n_classes is None and class_weight is not None  # a duck-typed model: the weights bound the classes
        if by_class_weight:
            n_classes = class_weight.size
        Y = _check_targets(Y, valid, loss_fn, n_classes, where, by_class_weight)
    return X, Y, lengths


def _check_targets(Y: np.ndarray, valid: np.ndarray, loss_fn, n_classes, where: str, by_class_weight: bool) -> np.ndarray:
    """Y's targets where ``valid`` ((n,) or (n, T)) as ``loss_fn`` reads them: numbers, finite, for
    mse (the padding's NaN or inf zeroed in a copy); integer class indices in [0, n_classes) for
    softmax_cross_entropy (n_classes None: not bounded above; the model's outputs count them, or
    with ``by_class_weight`` the class weights)."""
    if loss_fn is mse:
        if Y.dtype.kind not in "biuf":
            fail(where, "Y", "numeric targets (loss='mse')", f"dtype {Y.dtype}", exc=TypeError)
        return check_finite_within(Y, valid, where, "Y", MISSING_TARGETS)
    if Y.dtype.kind not in "iu":
        fail(where, "Y", "integer class indices (loss='cross_entropy')", f"dtype {Y.dtype}", "Encode labels as 0..C-1.", exc=TypeError)
    bad = (Y < 0) if n_classes is None else (Y < 0) | (Y >= n_classes)  # (n[, T]) as valid
    if Y.ndim == valid.ndim and (bad := bad & valid).any():  # (another shape: the loss says which)
        at = first_index(bad)
        per, how = (("one per class weight", "give one class weight per class") if by_class_weight
                    else ("one per output of the model", "build the model with one output per class"))
        expected = "class indices >= 0" if n_classes is None else f"class indices in [0, {n_classes}) ({per})"
        fix = "" if n_classes is None else f"Encode labels as 0..{n_classes - 1}, or {how}."
        fail(where, "Y", expected, f"{Y[at]} at index {at_sample(at, steps=valid.ndim > 1)}", fix)
    return Y


class UnweighedSamples(ValueError):
    """Targets whose sample weights (``arg``: "sample_weight" or "validation_data[3]"), times
    their class weights, all weigh 0 (:meth:`Trainer._check_weighed`): their loss is 0/0. It keeps
    what was ``expected``, for a caller that checks the weights in its own name (an estimator's
    fit) to say it there (:meth:`at`), as :class:`~lstmkit.losses.UnweighedTargets` for the
    class weights."""

    def __init__(self, where: str, arg: str, expected: str):
        super().__init__(message(where, arg, expected, "0 for each of them"))
        self.arg, self.expected = arg, expected

    def at(self, where: str) -> "UnweighedSamples":
        """The same refusal in ``where``'s name."""
        return UnweighedSamples(where, self.arg, self.expected)


def _digest(weights: np.ndarray | None) -> str | None:
    """What a checkpoint records of the sample weights (:meth:`Trainer.settings`): None, or the
    digest of their dtype, shape and values (as :meth:`Trainer._sample_weight` normalises them:
    float64, 0 past a sequence's length, divided by the largest), the training data's digest
    (:func:`~lstmkit.checkpoint.data_fingerprint`), kept as a setting of its own so that a refusal
    names the sample weights."""
    return None if weights is None else data_fingerprint(weights)["digest"]


def _split(X, Y, lengths, S, n_val: int, seed: np.random.SeedSequence):
    """(held out, train, val): ``n_val`` rows held out at random from ``seed`` (the trainer's split
    seed, a resume's the checkpoint's), their rows (int64, ascending; :attr:`Trainer.validation_indices`),
    and the two parts, each (X, Y, lengths, sample weights), the rows' weights with them (as Keras
    splits them)."""
    perm = np.random.default_rng(seed).permutation(len(X))
    va, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    pick = lambda idx: (X[idx], Y[idx], *(None if a is None else a[idx] for a in (lengths, S)))  # noqa: E731
    return va.astype(np.int64), pick(tr), pick(va)


def _step_mask(lengths: np.ndarray | None, B: int, T: int, start: int = 0) -> np.ndarray | None:
    """(B, T) 1.0 where step start+t is within the sequence, else 0.0; None if all are valid."""
    if lengths is None:
        return None
    return (start + np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)


def check_stream(stream, where: str):
    """``stream`` for the progress lines: None (sys.stdout), or a text stream, one with callable
    ``write`` and ``flush`` (each line is printed with ``flush=True``) that is not a binary one
    (``io.BytesIO``, a file opened "wb": an io.RawIOBase or io.BufferedIOBase, whose write takes
    bytes); else TypeError naming ``where`` (the Trainer, or the estimator's fit that passes it)."""
    if stream is None:
        return None
    expected = "None (sys.stdout) or a text stream with write and flush methods (sys.stderr, a file opened 'w', io.StringIO)"
    if isinstance(stream, (io.RawIOBase, io.BufferedIOBase)):
        fail(where, "stream", expected, f"a binary stream, {type(stream).__name__}",
             "Progress lines are str: pass a text stream, e.g. io.TextIOWrapper(stream) or a file opened 'w'.", exc=TypeError)
    missing = [m for m in ("write", "flush") if not callable(getattr(stream, m, None))]
    if missing:
        fail(where, "stream", expected, f"{type(stream).__name__} {stream!r:.80} without {' or '.join(missing)}",
             "Pass the stream itself, e.g. stream=sys.stderr" + (", or give your object a flush method (def flush(self): pass)."
                                                                   if missing == ["flush"] else "."), exc=TypeError)  # fmt: skip
    return stream


class Trainer:
    """Trains a :class:`~lstmkit.models.SequenceModel` (or any Module with the same interface).

    Args:
        model: ``out, state = model(x, lengths, state)``, ``model.backward(dout)``, ``head_mode``.
        loss: "cross_entropy", "mse", or a callable ``(out, y, mask) -> (loss, dout)``, given each
            mini-batch's steps as the metrics are (below): with head="all", out (B, T_b, O), y and
            mask (B, T_b), T_b the batch's longest length (T without lengths; a chunk with bptt),
            so normalise by the valid targets (mask.sum()), not by the array's size.
        class_weight: None, or one weight per class (C,), finite, >= 0, for ``loss="cross_entropy"``
            only: torch's ``weight=`` of ``F.cross_entropy`` (``CrossEntropyLoss(weight=w)``), each
            target weighed by its class, the loss their weighted mean Σ w[y] ℓ / Σ w[y] over the
            valid targets (:func:`~lstmkit.losses.softmax_cross_entropy`). It weighs what is
            minimised and what is reported as ``loss`` and ``val_loss`` (the epoch's loss is the
            weighted mean over its batches' targets, as one criterion over them all), not the
            metrics: accuracy counts every target once. A mini-batch whose valid targets all weigh
            0 has nothing to learn from (its loss is 0/0, NaN in torch): it makes no update, and
            its forward pass (run for the metrics, which count its targets) gives back the dropout
            masks it drew (the model's ``dropout_rng`` is left as it found it), so the weights, the
            optimizer's state and every later mask are those of a run without the batch, bit for
            bit (with ``bptt``, per chunk: a later chunk of the batch starts from the state the
            skipped one carried); data
            (the training part, the validation data, evaluate's) whose targets all weigh 0 is
            refused before training. Weights that are all one number (each > 0) weigh nothing
            (Σ c ℓ / Σ c is the plain mean): they train as None, bit for bit, and a resume takes
            them for None. Recorded in checkpoints: a resume with other weights is refused, as
            with any other setting.
        optimizer: a name ("adam", "adamw", "sgd", "rmsprop"; any case, as
            :func:`~lstmkit.optim.make_optimizer` takes them) or an :class:`~lstmkit.optim.Optimizer`.
        lr: learning rate, with an optimizer name; None (the default): 1e-3, Adam's in torch and
            Keras. optimizer_options: its other arguments (e.g. {"weight_decay": 0.01}). An
            Optimizer object has its own: ``lr`` or ``optimizer_options`` given with one is refused
            (ValueError), not ignored: set them on it, ``SGD(model, lr=0.1, momentum=0.9)``.
        batch_size: sequences per mini-batch.  shuffle: reshuffle every epoch.
        clip: max global gradient norm (None, the default: no clipping, as torch and Keras).
            The estimators (LSTMClassifier, LSTMRegressor) default to learning_rate=0.01 and
            clip=5.0, LSTMForecaster to 0.01 and 5.0, TextGenerator to 0.005 and 5.0: a model
            moved from one of them to a Trainer trains alike only with ``lr`` and ``clip`` given.
        bptt: chunk length of truncated BPTT (None: full back-propagation through each sequence).
        metrics: what is scored besides the loss, on the progress line and in the history (each
            also on the validation data, as ``val_<name>``): names from METRICS ("accuracy",
            "mae"; default: accuracy for cross-entropy, none for mse) or their Keras names
            (KERAS_METRICS: "acc" and "sparse_categorical_accuracy" for accuracy,
            "mean_absolute_error" for mae; logged under the name given, as Keras logs them; there
            is no "mse" metric: with loss="mse" the loss is it), functions (named by their
            ``__name__``), or a mapping of name -> function. A metric is
            ``fn(out, y, mask) -> (sum, count)``, as the built-in ones: for each mini-batch (each
            chunk with bptt), and once for the whole validation data, it gets the model's output
            ``out`` (B, T_b, O) with head="all", (B, O) with head="last", T_b the batch's longest
            length in training (T without lengths, and for the validation data); the targets
            ``y`` as fit got them, cut alike ((B, T_b, ...) or (B, ...)); and ``mask``, (B, T_b) 1.0 at steps
            within a sequence's length and 0.0 past it, or None where every step counts (no
            lengths; head="last"). It returns the sum of its score over the valid targets and
            their number: the epoch's value (and the running one a progress bar shows after each
            batch, each chunk with bptt) is Σ sum / Σ count over the batches, the mean over every valid target however
            the batches cut them (a mean per batch would weigh a short last batch as a full one).
            Before training, fit calls each function once on the model's output for X's first
            sequence (B = 1, eval mode) and refuses one that returns other than such a pair, so
            the refusal comes before anything is written. Early stopping on a metric (``monitor``) takes lower as better unless it is accuracy
            (by any of its names: "acc", "val_acc") or its name ends in "accuracy".
        patience: stop after this many consecutive epochs without improvement of ``monitor``
            (Keras' EarlyStopping; None: never stop early).
        monitor: "val_loss" when there is validation data, else "loss" (lower is better; a name
            ending in "accuracy", or accuracy by a Keras name, is higher-is-better); "loss" by default is said at the start of fit
            (when verbose), as a Keras user expects val_loss.
        min_delta: an improvement must exceed this.  restore_best: keep the best epoch's weights.
            When verbose, fit says so, as Keras does: 'epoch 10: early stopping (val_loss did not
            improve for 3 epochs)', 'restored the weights of epoch 7, the best (val_loss 0.2811)'.
        schedule: None, "step", "cosine", "plateau" (any case, as :func:`~lstmkit.optim.make_schedule`
            takes them; with ``schedule_options``) or a schedule object.
        seed: int or None; drives the validation split and the shuffling (the dropout masks come
            from the model's own seed).
        verbose: 0 silent, 1 progress bar (plain lines when not a terminal), 2 a line per epoch.
        callbacks: callables ``cb(trainer, logs)`` after each epoch; returning True stops training.
        stream: where the progress lines go when ``verbose``: None (sys.stdout as it stands), or a
            text stream with ``write`` and ``flush`` (:func:`check_stream`: a binary one, such as
            io.BytesIO, is refused).
        settings: the caller's names and values for this run's settings (an estimator passes its
            hyper-parameters), recorded in checkpoints and compared on resume instead of the
            trainer's own (see :meth:`settings`); None: the trainer's own.

    After :meth:`fit`: ``epoch``, ``history``, ``best_epoch``, and ``validation_indices``, the rows
    of X (int64, ascending) that ``validation_split`` held out, those the val_* metrics score
    (None without a split, or with ``validation_data``).
    """

    def __init__(
        self,
        model: Module,
        loss: str | Callable = "cross_entropy",
        optimizer: str | Optimizer = "adam",
        lr: float | None = None,
        optimizer_options: Mapping[str, Any] | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        clip: float | None = None,
        bptt: int | None = None,
        metrics: Sequence[str | Callable] | Mapping[str, Callable] | None = None,
        patience: int | None = None,
        monitor: str | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
        schedule=None,
        schedule_options: Mapping[str, Any] | None = None,
        seed=None,
        verbose: int = 0,
        callbacks: Sequence[Callable] = (),
        stream=None,
        settings: Mapping[str, Any] | None = None,
        class_weight=None,
    ) -> None:
        where = "Trainer"
        self.model = model
        if isinstance(loss, str):
            if loss not in LOSSES:
                fail(where, "loss", f"one of {list(LOSSES)} or a callable", repr(loss))
            self.loss_name, self.loss_fn = loss, LOSSES[loss]
        elif callable(loss):
            self.loss_name, self.loss_fn = getattr(loss, "__name__", "custom"), loss
        else:
            fail(where, "loss", f"one of {list(LOSSES)} or a callable", repr(loss), exc=TypeError)
        if class_weight is not None:
            if self.loss_fn is not softmax_cross_entropy:  # weights of classes: the cross-entropy's targets
                what, fix = (f"loss={loss!r}", "") if isinstance(loss, str) else ("a custom loss", "Weigh the classes in the loss itself.")
                fail(where, "class_weight", f"None with {what} (class weights weigh the classes of loss='cross_entropy')",
                     f"{class_weight!r:.80}", fix)  # fmt: skip
            class_weight = check_class_weight(class_weight, getattr(model, "output_size", None), where, "class_weight")
            class_weight.flags.writeable = False  # (a copy: checked once, here; see the class_weight property)
        self._class_weight: np.ndarray | None = class_weight  # (C,) float64, or None
        # w / max(w): r of a batch; None for equal weights (each > 0), which weigh nothing: Σ c ℓ / Σ c is the plain
        # mean, so they train as no class_weight does, bit for bit, and a resume takes them for none (settings)
        self._relative_weight = None if class_weight is None or uniform_weights(class_weight) else relative_weight(class_weight)
        if isinstance(optimizer, Optimizer) and optimizer.module is not model:
            built = (f"one built on {len(optimizer.modules)} modules" if len(optimizer.modules) > 1
                     else f"one built on another {type(optimizer.module).__name__}")
            fail(where, "optimizer", "an optimizer built on this model", built,
                 "Build it on the model the Trainer trains (SGD(model)), which holds every parameter it updates.")
        if isinstance(optimizer, Optimizer):  # its own lr and options: one given here would do nothing
            kind = type(optimizer).__name__
            if lr is not None:
                fail(where, "lr", f"None with an Optimizer object (the {kind} has its own, lr={optimizer.lr!r})", repr(lr),
                     f"Set it on the optimizer, {kind}(model, lr={lr!r})"
                     + (f", or name it: optimizer={kind.lower()!r}, lr={lr!r}." if kind.lower() in OPTIMIZERS else "."))
            if optimizer_options:
                fail(where, "optimizer_options", f"None with an Optimizer object (the {kind} has its own: {optimizer!r})",
                     f"{dict(optimizer_options)!r:.80}", f"Set them on the optimizer: {kind}(model, ..., <option>=<value>).")
        else:  # a name, matched as make_optimizer matches it (optim.by_name), named as ours
            by_name(OPTIMIZERS, optimizer, where, "optimizer", f"one of {list(OPTIMIZERS)} (any case) or an lstmkit Optimizer")
            optimizer = make_optimizer(optimizer, model, 1e-3 if lr is None else lr, **dict(optimizer_options or {}))
        self.optimizer = optimizer
        if isinstance(schedule, str):  # the same rule, as make_schedule matches it
            by_name(SCHEDULES, schedule, where, "schedule", f"None, one of {list(SCHEDULES)} (any case) or a schedule object")
            schedule = make_schedule(schedule, self.optimizer, **dict(schedule_options or {}))
        self.schedule = schedule
        self.batch_size = check_int(batch_size, where, "batch_size", minimum=1)
        self.shuffle = check_bool(shuffle, where, "shuffle")
        self.clip = check_clip(clip, where)
        self.bptt = None if bptt is None else check_int(bptt, where, "bptt", minimum=1)
        if self.bptt is not None and getattr(model, "head_mode", "all") != "all":
            fail(where, "bptt", "None with head='last' (truncated BPTT needs a loss at every step)", self.bptt)
        if self.bptt is not None and getattr(getattr(model, "rnn", None), "bidirectional", False):
            fail(where, "bptt", "None for a bidirectional model (the reverse direction cannot carry state forward)", self.bptt)
        self._metric_fns = _check_metrics(metrics, self.loss_name, where)
        self.metrics = tuple(self._metric_fns)  # their names, in order (the logs', the settings')
        self.patience = None if patience is None else check_int(patience, where, "patience", minimum=0)
        self.monitor = monitor
        self.min_delta = check_real(min_delta, where, "min_delta", low=0)
        self.restore_best = check_bool(restore_best, where, "restore_best")
        self.verbose = check_verbose(verbose, where)
        self.callbacks = list(callbacks)
        self.stream = check_stream(stream, where)
        if settings is not None:
            if not isinstance(settings, Mapping):
                fail(where, "settings", "None or a mapping of name -> JSON value", type(settings).__name__, exc=TypeError)
            try:
                settings = json.loads(json.dumps(plain(settings)))
            except (TypeError, ValueError):
                fail(where, "settings", "JSON values (numbers, strings, lists, dicts, None)", repr(settings), exc=TypeError)
        self._caller_settings = settings
        self._seed = check_seed(seed, where, generator=False)  # None: unseeded, a resume takes the checkpoint's seed
        self._data = None  # data_fingerprint of the data fit last received (recorded in checkpoints)
        self._sample_weight_digest: str | None = None  # _digest of its sample weights (recorded in the settings)
        # random streams: one for the validation split, one for shuffling (both from the seed)
        ss = np.random.SeedSequence(seed)
        self.entropy = ss.entropy  # recorded so a resumed run re-draws the same split
        self._split_ss, shuffle_ss = ss.spawn(2)
        self.shuffle_rng = np.random.default_rng(shuffle_ss)
        # progress of training (all of it is in state_dict)
        self.epoch = 0
        self.history = History()
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.validation_indices: np.ndarray | None = None  # (n_val,) the rows validation_split held out (fit)
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped = False

    def __repr__(self) -> str:
        """One line: the model's class, the loss, the optimizer's class and its current lr, the
        schedule (if any), batch_size, seed and the epochs run (``epoch``), e.g.
        ``Trainer(SequenceModel, loss='cross_entropy', optimizer=Adam, lr=0.001, batch_size=32, seed=0, epoch=3)``."""
        schedule = "" if self.schedule is None else f", schedule={type(self.schedule).__name__}"
        return (f"Trainer({type(self.model).__name__}, loss={self.loss_name!r}, optimizer={type(self.optimizer).__name__}, "
                f"lr={self.optimizer.lr!r}{schedule}, batch_size={self.batch_size}, seed={self._seed!r}, epoch={self.epoch})")

    # -- the loop --------------------------------------------------------------------------
    def fit(
        self, X, Y, lengths=None, epochs: int = 10, validation_data=None, validation_split: float = 0.0,
        checkpoint=None, resume: bool = False, on_resume=None, sample_weight=None,
    ) -> History:
        """Train until ``epochs`` epochs in total have run (a resumed trainer continues from
        ``self.epoch``). Returns the :class:`History` (also ``self.history``).

        ``checkpoint``: a path written atomically after every epoch. ``resume=True``: if that
        file exists, first restore this trainer and its model from it (see :mod:`lstmkit.checkpoint`).
        ``on_resume``: a callable, ``on_resume(trainer)``, called once a resume goes ahead: the
        checkpoint read and restored and every check passed (settings, data, epochs, the validation
        split, the monitor), before the first epoch runs; not at all on a fresh start or a refusal
        (``lstmkit train`` says 'resuming' there, so that a refusal comes first). If it raises,
        the resume is undone (the trainer and its model as they were before fit) and the error
        raised.

        A refusal (of the data, the sample weights, the validation data or split, the monitor, or
        a checkpoint this run may not resume) leaves the trainer and its model as they were: the
        record of the data and the weights a checkpoint writes (:meth:`settings`), the history,
        ``validation_indices``, the optimizer, the random generators, the weights. Every check is
        made before anything is written (the checkpoint's state is checked against this run, and
        the split drawn from its seed, before it is restored), so a later fit runs as if the refused
        one had not been made.

        Ctrl-C raises KeyboardInterrupt, also inside a compiled kernel (where numba turns it into a
        SystemError, the interrupt in its context, which the LSTM converts where it calls the kernels:
        :func:`interrupt_in`); the checkpoint then holds the last epoch that ended, and
        ``resume=True`` goes on from it.

        ``sample_weight``: None, or a weight >= 0 per sequence (N,), or with head="all" per step
        (N, T) (a step past a sequence's length weighs nothing, whatever is there), for
        loss="cross_entropy" or "mse" (a custom loss is called ``loss(out, y, mask)``, with no
        place for them: refused): each target's loss weighed by it (times its class weight), as
        Keras' ``fit(sample_weight=)``, the mean Σ r ℓ / Σ r of torch's convention
        (:mod:`lstmkit.losses`), so only their ratios count; they weigh the loss, not the metrics
        (as class weights). Weights that are all one number (each > 0) are none, bit for bit. A
        batch (a chunk) whose targets all weigh 0 makes no update, as with class weights; a
        training part or validation data whose targets all do is refused. ``validation_split``
        holds out the rows' weights with them; validation_data's come fourth, (X, Y, lengths,
        sample_weight). Recorded in checkpoints as a digest (:meth:`settings`): a resume with
        other weights is refused.
        """
        where = "Trainer.fit"
        epochs = check_int(epochs, where, "epochs", minimum=0)
        if resume and checkpoint is None:
            fail(where, "checkpoint", "a path with resume=True", None)
        if on_resume is not None and not callable(on_resume):
            fail(where, "on_resume", "a callable on_resume(trainer) or None", type(on_resume).__name__, exc=TypeError)
        # -- every check first: a refusal (of the data, the weights, the validation, the monitor, the
        # checkpoint or the split it draws) leaves the trainer and its model as they were -------------
        X, Y, lengths = _check_data(X, Y, lengths, self.model, self.loss_fn, where, self.class_weight)
        S = self._sample_weight(sample_weight, Y, lengths, X.shape[1], where)  # (N,) or (N, T) normalised, or None
        self._check_first_output(X, Y, lengths, where)  # (a model without output_size, with class weights; the user's metrics)
        data = data_fingerprint(X, Y, lengths)  # recorded in checkpoints: a resume must be on the same data
        digest = _digest(S)  # recorded in its settings: a resume must be with the same weights
        val = self._validation(X, Y, lengths, validation_data, validation_split)
        self._check_weighed(Y, lengths, X.shape[1], where, "the training targets", S)  # all of them (a split's: below)
        if isinstance(val, tuple):
            self._check_weighed(*val[1:3], val[0].shape[1], where, "the targets of validation_data", val[3], "validation_data[3]")
        monitor = self.monitor or ("val_loss" if val is not None else "loss")
        logged = ["loss", *self.metrics] + ([f"val_{k}" for k in ("loss", *self.metrics)] if val is not None else [])
        if monitor not in logged:
            fail(where, "monitor", f"one of the logged values {logged}", repr(monitor))
        resumed = resume and os.path.exists(checkpoint)
        # the checkpoint read and checked against this run (its settings with these weights, its data):
        # the state it restores, nothing written yet
        restored = check_checkpoint(checkpoint, self, settings=self._settings(digest), data=data, epochs=epochs) if resumed else None
        held = None
        if isinstance(val, int):  # validation_split: val rows drawn from the seed, a resume's the checkpoint's
            held, (X, Y, lengths, S), val = _split(X, Y, lengths, S, val, self._split_ss if restored is None else restored["split_ss"])
            self._check_weighed(Y, lengths, X.shape[1], where, "the targets validation_split left to train on", S)
            self._check_weighed(*val[1:3], val[0].shape[1], where, "the targets validation_split held out", val[3])
        # -- every check made: the trainer is written (the checkpoint's state all or nothing), then trained
        before = self._state() if restored is not None and on_resume is not None else None  # (undone if on_resume raises)
        recorded = self._data, self._sample_weight_digest, self.validation_indices
        if restored is not None:
            restore_checkpoint(checkpoint, self, restored)
        self._data, self._sample_weight_digest, self.validation_indices = data, digest, held
        if before is not None:  # every check made: the resume goes ahead
            try:
                on_resume(self)
            except BaseException:  # the load failed after all: the trainer and its model as they were
                self._restore(before)
                self._data, self._sample_weight_digest, self.validation_indices = recorded
                raise
        if self.patience is not None and self.monitor is None and val is None and self.epoch < epochs and not self.stopped:
            # said once, at the start: a Keras user expects val_loss (Keras' EarlyStopping warns when it is missing)
            self._say(f"early stopping (patience {self.patience}) watches the training loss, not val_loss: no validation data was given")
        first = self.epoch  # a resume starts past 0
        progress = make_progress(self.verbose, self.stream)
        try:
            while self.epoch < epochs and not self.stopped:
                t0 = time.perf_counter()
                progress.start_epoch(self.epoch, epochs, self._steps(X))
                logs = {"epoch": self.epoch + 1, **self._train_epoch(X, Y, lengths, S, progress)}
                if val is not None:  # checked once, by _split
                    logs.update({f"val_{k}": v for k, v in self._evaluate(*val).items()})
                logs["lr"] = self.optimizer.lr  # the rate used during this epoch
                logs["time"] = time.perf_counter() - t0
                self._end_epoch(logs, monitor, checkpoint)
                progress.end_epoch(logs)
        finally:
            progress.close()
        ran = self.epoch > first  # said once, by the call that ran the epochs (not again by a resume past the end)
        if ran and self.stopped and self.patience is not None and self.wait >= self.patience:
            self._say(f"epoch {self.epoch}: early stopping ({monitor} did not improve for {count(self.wait, 'epoch')})")
        if self.restore_best and self.patience is not None and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            if ran and self.best_epoch != self.epoch:  # the last epoch's weights were not the best: said, as Keras does
                self._say(f"restored the weights of epoch {self.best_epoch}, the best ({monitor} {self.best:.4f})")
        return self.history

    def _say(self, line: str) -> None:
        """A line about the run (early stopping) to the progress stream, when ``verbose``."""
        if self.verbose:
            print(line, file=sys.stdout if self.stream is None else self.stream, flush=True)

    def _steps(self, X) -> int:
        """The progress steps of an epoch over X (N, T, ...): one per update, ceil(N / batch_size)
        batches times, with ``bptt``, ceil(T / bptt) chunks each (a text of one batch, TextGenerator's,
        moves the bar chunk by chunk, not once at the epoch's end)."""
        batches = -(-len(X) // self.batch_size)
        return batches * (-(-X.shape[1] // self.bptt) if self.bptt else 1)

    def _train_epoch(self, X, Y, lengths, S, progress) -> dict[str, float]:
        """Shuffled mini-batches, one update each (per chunk with bptt); the epoch's mean loss and
        metrics over valid targets. S: the sample weights (:meth:`_sample_weight`) or None.
        ``progress.update`` is given the running numbers (Σ sum / Σ count so far) after each update:
        each batch, or each chunk with bptt (:meth:`_steps` of them an epoch). A batch cut to its
        longest length runs fewer chunks than the data's; the n it does not run advance the bar at
        once (``done(n)``), so the bar still ends full."""
        self.model.train()
        n = len(X)
        order = self.shuffle_rng.permutation(n) if self.shuffle else np.arange(n)
        totals: dict[str, list[float]] = {"loss": [0.0, 0.0], **{m: [0.0, 0.0] for m in self.metrics}}

        def done(skipped: int = 0) -> None:  # after a chunk; skipped: the batch's chunks past every length, not run
            running = {k: s / max(c, 1e-300) for k, (s, c) in totals.items()}
            if skipped:
                progress.update(running, advance=skipped)
            else:
                progress.update(running)

        per_step = self.model.head_mode == "all"
        chunks = -(-X.shape[1] // self.bptt) if self.bptt else 1  # an update's progress steps a batch (_steps)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            lb = None if lengths is None else lengths[idx]
            Tb = X.shape[1] if lb is None else int(lb.max())  # the batch's longest sequence: the steps it runs
            sb = None if S is None else S[idx, :Tb] if S.ndim == 2 else S[idx]
            self._train_batch(X[idx, :Tb], Y[idx, :Tb] if per_step else Y[idx], lb, sb, totals, done, per_step)
            if chunks > (ran := -(-Tb // self.bptt) if self.bptt else 1):
                done(chunks - ran)  # the chunks past every sequence of the batch, not run: the bar still ends full
        return {k: s / c if c else float("nan") for k, (s, c) in totals.items()}  # (a metric that counted nothing: nan)

    def _end_epoch(self, logs: dict, monitor: str, checkpoint) -> None:
        """Schedule, early stopping, history, callbacks, checkpoint — in that order."""
        if self.schedule is not None:
            self.schedule.step(logs.get(monitor))
        self._early_stopping(logs, monitor)
        self.history.append(logs)
        self.epoch += 1
        for cb in self.callbacks:
            if cb(self, logs):
                self.stopped = True
        if checkpoint is not None:
            save_checkpoint(checkpoint, self)

    def _train_batch(self, xb, yb, lb, sb, totals, done, per_step: bool) -> None:
        """One mini-batch: forward, loss, backward, clip, step — per chunk with truncated BPTT, the
        state carried from chunk to chunk (and reset, None, at each batch: a TextGenerator's text is
        one batch, so its state starts at zero each epoch). xb (B, T, ...) with T the batch's longest
        length (:meth:`_train_epoch` cuts the data's padding past it: a step past every length
        weighs nothing), yb (B, T, ...) with head="all", else (B, ...); sb: the batch's sample
        weights (B,) or (B, T), or None. ``done()`` after each chunk (the progress). ``per_step``:
        the model's head is "all" (targets and mask per step)."""
        B, T = xb.shape[:2]
        k = self.bptt or T
        state = None
        for s in range(0, T, k):
            e = min(s + k, T)
            mask = _step_mask(lb, B, e - s, s) if per_step else None
            lc = None if lb is None else np.clip(lb - s, 1, e - s)  # chunk lengths (ended rows: 1, masked)
            yc = yb[:, s:e] if per_step else yb
            sc = sb[:, s:e] if sb is not None and sb.ndim == 2 else sb  # the chunk's weights (per step), or the rows'
            r, weight = self._weighed(yc, mask, sc)  # the loss's denominator: the epoch's loss is Σ loss * weight / Σ weight
            rng = getattr(self.model, "dropout_rng", None) if not weight > 0 else None
            drawn = None if rng is None else rng.bit_generator.state  # (a chunk that weighs nothing gives its masks back)
            out, state = self.model(xb[:, s:e], lc, state)  # state carries over, no gradient to it
            if drawn is not None:
                rng.bit_generator.state = drawn
            if weight > 0:  # (0: every valid target of a class of weight 0, a loss of 0/0: no update)
                loss, dout = self._loss(out, yc, mask, r, weight)
                self.optimizer.zero_grad()
                self.model.backward(dout)
                if self.clip is not None:
                    clip_grad_norm(self.model, self.clip)
                self.optimizer.step()
                totals["loss"][0] += loss * weight
                totals["loss"][1] += weight
            for m in self.metrics:
                a, c = self._score(m, out, yc, mask)
                totals[m][0] += a
                totals[m][1] += c
            done()

    @property
    def class_weight(self) -> np.ndarray | None:
        """The class weights given, (C,) float64 (read-only), or None. Fixed for the trainer's
        life: checked once, at construction, and divided by the largest once (what each batch's
        loss uses, unchecked); a Trainer with other weights is another Trainer."""
        return self._class_weight

    def _loss(self, out, y, mask, r, total) -> tuple[float, np.ndarray]:
        """The loss and its gradient of one batch (or of the validation data), with the class
        weights and the sample weights. The targets' weights ``r`` and their sum ``total``
        (:meth:`_weighed`; r None: no weighting, the plain loss) go to the loss's kernel,
        :func:`~lstmkit.losses.weighed_cross_entropy` or :func:`~lstmkit.losses.weighed_mse`,
        unchecked: the class weights were checked here at construction, the targets and the sample
        weights at fit (:func:`_check_data`, :meth:`_sample_weight`), the outputs' number (a custom
        model's: not compared with the weights at construction) at fit and evaluate
        (:meth:`_check_first_output`). Outputs that are not one per class weight all the same (a model
        whose outputs change between calls) go to the checked loss, which refuses them."""
        if r is None:  # (no weights, or all equal: no weighting)
            return self.loss_fn(out, y, mask)
        if self._relative_weight is not None and out.shape[-1] != self.class_weight.size:  # (refused there, by name)
            return self.loss_fn(out, y, mask, weight=self.class_weight)
        if self.loss_fn is mse:  # (sample weights: class weights are the cross-entropy's)
            return weighed_mse(out, y, r, total)
        return weighed_cross_entropy(out, y, None if mask is None else mask > 0, r, total)

    def _weighed(self, y, mask, s=None) -> tuple[np.ndarray | None, float]:
        """``(r, Σ r)``: with ``class_weight`` each valid target's weight r = m w[y] / max(w)
        (:func:`~lstmkit.losses.class_weighed`), times its sample weight s (``s`` (B,) or of the
        targets' shape, or None), and their sum, the loss's denominator; with neither, None and
        the number of valid targets. Σ r is what a batch's loss is a mean over, its weight in the
        epoch's loss. y (B, T[, O]) with head="all", (B, ...) otherwise; mask (B, T) or None."""
        head_all = self.model.head_mode == "all"
        lead = y.shape[:2] if head_all else y.shape[:1]  # one target per step, or per sequence
        if self._relative_weight is None and s is None:
            return None, float(mask.sum()) if mask is not None else float(np.prod(lead))
        valid = np.ones(lead, dtype=bool) if mask is None else mask > 0
        if self._relative_weight is None:
            r = valid.astype(np.float64)  # m_n   (B[, T])
        else:
            r, _ = class_weighed(y, valid, self._relative_weight)  # m_n w[y_n] / max(w)   (B[, T])
        if s is not None:
            r = r * s.reshape(s.shape + (1,) * (r.ndim - s.ndim))  # r_n s_n (a sequence's weight on each of its steps)
        return r, float(r.sum())

    def _check_first_output(self, X: np.ndarray, Y: np.ndarray, lengths: np.ndarray | None, where: str, metrics: bool = True) -> None:
        """Checks of the model's output for X's first sequence (one forward, B = 1, eval mode, no
        cache: the model's weights, mode and dropout generator are left as they were), run only
        where one of them applies. Made before anything is written: in the first batch they came
        after the shuffle, the dropout masks and (for the metrics) the first optimizer step.

        - With class weights (not all equal) and a model that does not say its number of outputs
          (no ``output_size``: not compared with the weights at construction), refuse outputs that
          are not one per class weight.
        - With ``metrics`` (fit's; not evaluate's, which scores them all the same), refuse a
          user's metric (not one of :data:`METRICS`) that does not return a pair (sum, count >= 0)
          (:meth:`_score`)."""
        by_outputs = self._relative_weight is not None and getattr(self.model, "output_size", None) is None
        own = [m for m, fn in self._metric_fns.items() if metrics and getattr(fn, "func", fn) not in METRICS.values()]  # (the regressor's partial(mae))
        if not (by_outputs or own):
            return
        lb = None if lengths is None else lengths[:1]
        out = _predict(self.model, X[:1], lb, 1)
        C = out.shape[-1]
        if by_outputs and C != self.class_weight.size:
            fail(where, "class_weight", f"shape ({C},) (one weight per output of the model, one per class)", f"shape ({self.class_weight.size},)",
                 "Give one class weight per class, in the order of the class indices, or build the model with one output per class.")  # fmt: skip
        if own:
            mask = _step_mask(lb, 1, X.shape[1]) if self.model.head_mode == "all" else None
            for m in own:
                self._score(m, out, Y[:1], mask)

    def _check_weighed(self, Y, lengths, T: int, where: str, what: str, S=None, arg: str = "sample_weight") -> None:
        """With ``class_weight``, refuse targets (``what``) that all weigh 0: their loss is 0/0
        (:func:`~lstmkit.losses.check_weighed`; an estimator says it by label); likewise with the
        sample weights ``S`` (:meth:`_sample_weight`; ``arg`` names them), their products."""
        if self._relative_weight is None and S is None:
            return
        mask = _step_mask(lengths, len(Y), T) if self.model.head_mode == "all" else None
        valid = np.ones(Y.shape[:2] if self.model.head_mode == "all" else Y.shape[:1], dtype=bool) if mask is None else mask > 0
        if self._relative_weight is not None:
            check_weighed(Y, valid, self.class_weight, where, what, "class_weight")
        if S is not None and not self._weighed(Y, mask, S)[1] > 0:
            by = " times their class weights" if self._relative_weight is not None else ""
            raise UnweighedSamples(where, arg, f"a weight > 0 for a valid target among {what}{by} (the loss is their weighted mean)")

    def _sample_weight(self, sample_weight, Y, lengths, T: int, where: str, arg: str = "sample_weight") -> np.ndarray | None:
        """``sample_weight`` of the data (Y, lengths; T steps) checked (:func:`~lstmkit._checks.check_sample_weight`:
        (N,), or (N, T) with head="all"; finite, >= 0) and normalised: 0 at a step past its
        sequence's length (any finite value there weighs nothing), divided by the largest
        (:func:`~lstmkit.losses.relative_weight`; only ratios count). None for None, and for
        weights that are one number > 0 at every valid target: they weigh nothing (Σ s ℓ / Σ s is
        the plain mean), so they train as none, bit for bit, and a resume takes them for none.
        Refused with a custom loss, which takes no weights."""
        if sample_weight is None:
            return None
        if self.loss_fn not in (softmax_cross_entropy, mse):
            fail(where, arg, "None with a custom loss (it is called loss(out, y, mask), with no place for the weights)",
                 f"{sample_weight!r:.80}", "Weigh the targets in the loss itself, or use loss='cross_entropy' or 'mse'.")  # fmt: skip
        n = len(Y)
        s = check_sample_weight(sample_weight, [(n,), (n, T)] if self.model.head_mode == "all" else [(n,)], where, arg)
        valid = None if s.ndim == 1 or lengths is None else valid_steps(lengths, n, T)
        if valid is not None:
            s = np.where(valid, s, 0.0)  # (a step past the length: padding)
        if uniform_weights((s if valid is None else s[valid]).ravel()):
            return None
        s = relative_weight(s)
        s.flags.writeable = False
        return s

    def _score(self, name: str, out, y, mask) -> tuple[float, float]:
        """Metric ``name``'s (sum, count) of one batch (or of the validation data), checked: a pair
        of numbers, the count >= 0."""
        result = self._metric_fns[name](out, y, mask)
        try:
            total, n = result
            total, n = float(total), float(n)
        except (TypeError, ValueError):
            fail("Trainer", f"metrics[{name!r}]", "to return a pair (sum over valid targets, their count)",
                 f"{type(result).__name__} {result!r:.80}",
                 "Return the sum and the count, not their mean: the Trainer adds both up over the batches and divides.",
                 exc=TypeError)  # fmt: skip
        if not n >= 0:
            fail("Trainer", f"metrics[{name!r}]", "to return a count >= 0", n)
        return total, n

    def _early_stopping(self, logs: dict, monitor: str) -> None:
        value = float(logs[monitor])
        higher = monitor.endswith("accuracy") or self._metric_fns.get(monitor.removeprefix("val_")) is accuracy  # (acc too)
        improved = self.best is None or (value > self.best + self.min_delta if higher else value < self.best - self.min_delta)
        if improved:
            self.best, self.best_epoch, self.wait = value, self.epoch + 1, 0
            if self.patience is not None and self.restore_best:
                self.best_state = self.model.state_dict()
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:  # Keras: `patience` epochs without improvement
                self.stopped = True

    def _validation(self, X, Y, lengths, validation_data, validation_split):
        """fit's validation: ``validation_data`` checked (a tuple (X, Y, lengths, sample weights
        or None)), the number of rows ``validation_split`` holds out (an int, drawn by
        :meth:`_split`), or None. Keras' tuple is (x, y, sample_weight): lstmkit's third place is
        the lengths, so the weights come fourth."""
        where = "Trainer.fit"
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3, 4):
                got = f"a {type(validation_data).__name__} of {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__
                fail(where, "validation_data", "a tuple (X, Y), (X, Y, lengths) or (X, Y, lengths, sample_weight) (lengths may be None)",
                     got, exc=TypeError)  # fmt: skip
            given = (*validation_data, *([None] * (4 - len(validation_data))))
            Xv, Yv, lv = _check_data(*given[:3], self.model, self.loss_fn, where, self.class_weight)
            return Xv, Yv, lv, self._sample_weight(given[3], Yv, lv, Xv.shape[1], where, "validation_data[3]")
        if not validation_split:
            return None
        if not (isinstance(validation_split, float) and 0 < validation_split < 1):
            fail(where, "validation_split", "a float in (0, 1)", repr(validation_split))
        n = len(X)
        n_val = int(round(n * validation_split))
        if n_val < 1 or n_val >= n:
            fail(where, "validation_split", f"a fraction leaving at least one sequence on each side of {n}", validation_split)
        return n_val

    # -- evaluation ------------------------------------------------------------------------
    def predict(self, X, lengths=None, batch_size: int | None = None) -> np.ndarray:
        """The model's outputs (eval mode, no cache), batch by batch: (N, T, O) or (N, O).
        ``batch_size``: sequences a batch, an int >= 1 (None: the trainer's). X and lengths as
        :func:`predict` takes them, refused naming ``Trainer.predict``."""
        batch_size = self.batch_size if batch_size is None else check_int(batch_size, "Trainer.predict", "batch_size", minimum=1)
        X, lengths = _check_X(X, lengths, self.model, "Trainer.predict")
        return _predict(self.model, X, lengths, batch_size)

    def evaluate(self, X, Y, lengths=None, sample_weight=None) -> dict[str, float]:
        """{"loss": ..., metric: ...} averaged over valid targets (eval mode, no dropout); the loss
        weighed by ``sample_weight`` (as fit's; not the metrics) and the class weights."""
        where = "Trainer.evaluate"
        X, Y, lengths = _check_data(X, Y, lengths, self.model, self.loss_fn, where, self.class_weight)
        S = self._sample_weight(sample_weight, Y, lengths, X.shape[1], where)
        self._check_first_output(X, Y, lengths, where, metrics=False)
        self._check_weighed(Y, lengths, X.shape[1], where, "Y's targets", S)
        return self._evaluate(X, Y, lengths, S)

    def _evaluate(self, X: np.ndarray, Y: np.ndarray, lengths: np.ndarray | None, S: np.ndarray | None = None) -> dict[str, float]:
        """:meth:`evaluate` of data already checked (:func:`_check_data`, :meth:`_sample_weight`):
        fit's validation data, checked once per fit, not once per epoch."""
        out = _predict(self.model, X, lengths, self.batch_size)
        mask = _step_mask(lengths, *X.shape[:2]) if self.model.head_mode == "all" else None
        r, total = self._weighed(Y, mask, S)
        loss, _ = self._loss(out, Y, mask, r, total)
        logs = {"loss": loss}
        for m in self.metrics:
            a, c = self._score(m, out, Y, mask)
            logs[m] = a / c if c else float("nan")
        return logs

    # -- state (for checkpoints) -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: ``{"arrays": {...}, "meta": {...JSON...}}``."""
        opt = self.optimizer.state_dict()
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        arrays.update({f"optim/{k}": v for k, v in opt["arrays"].items()})
        if self.best_state is not None:
            arrays.update({f"best/{k}": v for k, v in self.best_state.items()})
        meta = {
            "epoch": self.epoch,
            "history": copy.deepcopy(self.history.epochs),
            "optimizer": opt["scalars"],
            "schedule": None if self.schedule is None else {"type": type(self.schedule).__name__, **self.schedule.state_dict()},
            "rng": {
                "entropy": self.entropy,
                "shuffle": self.shuffle_rng.bit_generator.state,
                "dropout": self.model.dropout_rng.bit_generator.state,
            },
            "early_stopping": {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped": self.stopped},
            "trainer": {
                "loss": self.loss_name, "batch_size": self.batch_size, "shuffle": self.shuffle, "clip": self.clip,
                "bptt": self.bptt, "metrics": list(self.metrics), "patience": self.patience, "monitor": self.monitor,
                "min_delta": self.min_delta, "restore_best": self.restore_best,
                **({} if self.class_weight is None else {"class_weight": self.class_weight.tolist()}),
            },
            "model_config": self.model.config() if hasattr(self.model, "config") else {},
            "settings": self.settings(),
        }
        if getattr(self, "_data", None) is not None:
            meta["data"] = self._data
        return {"arrays": arrays, "meta": meta}

    def settings(self) -> dict[str, Any]:
        """What defines this run besides its data and its number of epochs, as a checkpoint records
        it and a resume compares it (:mod:`lstmkit.checkpoint`), in this order: the caller's
        ``settings`` (an estimator's hyper-parameters, by their names), the model's configuration
        (``model <key>``) and the loss; or, without the caller's, the model's configuration and
        the trainer's own settings: loss, optimizer (its class) and its hyper-parameters (``optimizer
        <name>``), lr (the initial one), batch_size, shuffle, clip, bptt, metrics, patience,
        monitor, min_delta, restore_best, the schedule (its class) and its options (``schedule
        <name>``; a schedule of another class: the class only), seed (None when unseeded) and
        class_weight (a list; only when given and not all equal, so that a checkpoint from before it
        resumes without, and weights that are all one number, [1, 1] say, which train as none do,
        are the setting None is). Last, in both cases, ``sample_weight``: the weights of the last
        fit (its data's) as a digest (:func:`_digest`, of the weights as :meth:`_sample_weight`
        normalises them, divided by the largest: weights scaled by a power of two agree; another
        scale rounds w / max(w) by an ulp, trains differently by ~1e-16 and is refused on resume),
        only when given and not all equal.
        Not in it, free to change on resume: epochs, verbose, stream, callbacks."""
        return self._settings(self._sample_weight_digest)

    def _settings(self, sample_weight: str | None) -> dict[str, Any]:
        """:meth:`settings` with the sample weights' digest ``sample_weight`` (:func:`_digest`; None:
        none): :meth:`fit`'s of the weights it was given, compared with a checkpoint's before it
        records them."""
        config = self.model.config() if hasattr(self.model, "config") else {}
        out: dict[str, Any] = {f"model {k}": v for k, v in config.items()}
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self._caller_settings is not None:
            return plain({**self._caller_settings, **out, "loss": self.loss_name, **weights})
        opt, sched = self.optimizer, self.schedule
        out.update({"loss": self.loss_name, "optimizer": type(opt).__name__, "lr": opt.initial_lr})
        out.update({f"optimizer {h}": getattr(opt, h) for h in opt.hyper})
        out.update({
            "batch_size": self.batch_size, "shuffle": self.shuffle, "clip": self.clip, "bptt": self.bptt,
            "metrics": list(self.metrics), "patience": self.patience, "monitor": self.monitor,
            "min_delta": self.min_delta, "restore_best": self.restore_best,
            "schedule": None if sched is None else type(sched).__name__,
        })  # fmt: skip
        if isinstance(sched, tuple(SCHEDULES.values())):  # its options; not its progress (epoch, best, ...)
            out.update({f"schedule {k}": v for k, v in sched.state_dict().items() if k not in _SCHEDULE_PROGRESS})
        out["seed"] = None if self._seed is None else self.entropy
        if self._relative_weight is not None:  # (equal weights are none: the same run)
            out["class_weight"] = self.class_weight.tolist()
        out.update(weights)
        return plain(out)

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output, all or nothing: the settings it records are
        compared with this trainer's (:meth:`settings`; only epochs may grow), then every field
        is checked, and only then are the model, the optimizer, the schedule and the trainer
        written. Any failure (ValueError naming the field) leaves all of them as they were: a
        field missing or of the wrong type, or an optimizer hyper-parameter (its initial_lr, a
        schedule's base_lr) that is not what the settings recorded beside it make (the state was
        damaged or edited) raises :class:`~lstmkit.checkpoint.DamagedCheckpoint`, a ValueError; a
        state for another model or trainer (other parameter names or shapes, another optimizer or
        schedule) a plain one. The current lr is not compared: a schedule or a callback changes it."""
        self._restore(self._check_state(sd, self.settings()))

    def _check_state(self, sd: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`load_state_dict`'s checks of ``sd``, its settings compared with ``settings`` (this
        trainer's; :meth:`fit`'s of the data it was given); nothing is written. Returns what
        :meth:`_restore` writes, among it ``split_ss``, the seed of the validation split the state
        restores (fit draws the split from it before anything is written)."""
        where = "Trainer.load_state_dict"

        def damaged(field: str, expected: str, got) -> None:
            fail(where, f"checkpoint field {field}", expected, got, DAMAGED_FIX, exc=DamagedCheckpoint)

        if not isinstance(sd, Mapping) or not isinstance(sd.get("arrays"), Mapping) or not isinstance(sd.get("meta"), Mapping):
            fail(where, "sd", "a mapping {'arrays': {...}, 'meta': {...}} (from Trainer.state_dict)", type(sd).__name__, exc=TypeError)
        arrays, meta = sd["arrays"], sd["meta"]
        check_meta(meta, where, DamagedCheckpoint)  # every field's type
        diff = settings_difference(meta, settings)
        if diff is not None:
            name, recorded, current = diff
            fail(where, name, f"{show_setting(recorded)} (as the state records it)", show_setting(current), RESUME_FIX)
        # -- check everything against this trainer; nothing is written yet -----------------------
        groups: dict[str, dict[str, np.ndarray]] = {"model": {}, "optim": {}, "best": {}}
        for k, v in arrays.items():
            g, _, name = k.partition("/")
            if g not in groups:
                fail(where, "arrays", "keys starting with model/, optim/ or best/", repr(k))
            groups[g][name] = v
        params = self.model.parameters()
        missing, unexpected = [k for k in params if k not in groups["model"]], [k for k in groups["model"] if k not in params]
        if missing or unexpected:
            fail(where, "model/ arrays", f"exactly the model's keys {list(params)}", f"missing {missing} and unexpected {unexpected}")
        for k, v in groups["model"].items():  # another shape: another model (what the loads below refuse: damage)
            if np.shape(v) != params[k].shape:
                fail(where, f"model/{k}", f"shape {params[k].shape} (this model's)", f"shape {np.shape(v)}")
        opt = meta["optimizer"]
        if opt["type"] != type(self.optimizer).__name__:
            fail(where, "optimizer", f"state of {a_or_an(type(self.optimizer).__name__)}", f"state of {opt['type']!r}")
        for h in self.optimizer.hyper:
            flag = isinstance(getattr(self.optimizer, h), bool)  # SGD's nesterov, RMSprop's centered
            if h not in opt or not (isinstance(opt[h], bool) if flag else is_number(opt[h])):
                got = f"{type(opt[h]).__name__} {opt[h]!r}" if h in opt else "nothing (the field is missing)"
                damaged(f"optimizer.{h}", "true or false" if flag else "a number", got)
        if meta.get("settings") is not None:  # without (a file from before settings): the checkpoint's optimizer wins
            # the settings it records are this trainer's (compared above), so its optimizer is what they
            # make: a hyper-parameter that is not (edited in range, beta1 0.5 where they say 0.9) is
            # damage. Its lr is the initial one (settings' "lr"); the current lr is not compared: a
            # schedule (ReduceLROnPlateau's by the metric's history) or a callback may have changed it
            for h in ("initial_lr", *self.optimizer.hyper):
                key = "lr" if h == "initial_lr" else f"optimizer {h}"
                ours = getattr(self.optimizer, h)
                if not same_value(opt[h], ours):
                    how = f"as its settings record {key!r}" if key in meta["settings"] else "as the settings it records make it"
                    damaged(f"optimizer.{h}", f"{show_setting(ours)} ({how})", show_setting(opt[h]))
        if groups["best"]:  # the model/ weights are this model's: best/ weights that are not, were edited
            probe = {k: params[k] for k in groups["best"] if k in params}
            if set(probe) != set(params) or any(np.shape(groups["best"][k]) != probe[k].shape for k in probe):
                damaged("best", "weights of the model's keys and shapes (as model/ has them)", sorted(groups["best"]))
        if (meta["schedule"] is None) != (self.schedule is None):
            fail(where, "schedule", "the same kind of schedule as this trainer", meta["schedule"])
        s = None  # the schedule's fields, with one
        if self.schedule is not None:
            s = dict(meta["schedule"])
            if s.pop("type") != type(self.schedule).__name__:
                fail(where, "schedule", type(self.schedule).__name__, meta["schedule"]["type"])
            ours = self.schedule.state_dict()  # a schedule of this class: fields missing or unknown were edited
            if set(s) != set(ours):
                damaged("schedule", f"the fields of a {type(self.schedule).__name__} {sorted(ours)}", sorted(s))
            for k, v in s.items():
                if not _same_kind(v, ours[k]):
                    damaged(f"schedule.{k}", f"a value like {ours[k]!r}", repr(v))
            if "base_lr" in s and not same_value(s["base_lr"], opt["initial_lr"]):  # a schedule starts from its optimizer's lr
                damaged("schedule.base_lr", f"{show_setting(opt['initial_lr'])} (as optimizer.initial_lr)", show_setting(s["base_lr"]))
        shuffle_rng = np.random.default_rng()
        # each state set on a generator of the kind it will go to: a throw-away one for dropout's
        for key, bit_generator in (("dropout", type(self.model.dropout_rng.bit_generator)()), ("shuffle", shuffle_rng.bit_generator)):
            try:
                bit_generator.state = meta["rng"][key]
            except (TypeError, ValueError, KeyError, OverflowError):
                expected, got = f"the state of a {type(bit_generator).__name__}", meta["rng"][key].get("bit_generator")
                if key == "shuffle":  # always a PCG64 (default_rng): another one was edited in
                    damaged("rng.shuffle", expected, got)
                fail(where, "rng.dropout", f"{expected} (the model's dropout generator)", got)  # a model built with another generator
        entropy = meta["rng"]["entropy"]
        return {
            "model": groups["model"], "optim": {"scalars": opt, "arrays": groups["optim"]},
            "schedule": s, "dropout": meta["rng"]["dropout"],
            "shuffle_rng": shuffle_rng, "entropy": entropy, "split_ss": np.random.SeedSequence(entropy).spawn(2)[0],
            "epoch": meta["epoch"], "history": History(meta["history"]), "early_stopping": meta["early_stopping"],
            "best_state": {k: np.array(v) for k, v in groups["best"].items()} or None,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        """This trainer's state as :meth:`_check_state` returns a checkpoint's, for :meth:`_restore`
        to put back: copies of the model's weights, the optimizer's and the schedule's state and the
        dropout generator's; the objects a restore replaces (not changes) as they are."""
        return {
            "model": self.model.state_dict(), "optim": self.optimizer.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "dropout": self.model.dropout_rng.bit_generator.state, "shuffle_rng": self.shuffle_rng,
            "entropy": self.entropy, "split_ss": self._split_ss, "epoch": self.epoch, "history": self.history,
            "early_stopping": {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped": self.stopped},
            "best_state": self.best_state,
        }  # fmt: skip

    def _restore(self, state: Mapping[str, Any]) -> None:
        """Write a state :meth:`_check_state` checked, all or nothing: the model's and the
        optimizer's loads check its values again (a NaN weight, a negative mean of squares: a
        :class:`~lstmkit.checkpoint.DamagedCheckpoint`), undone on any failure; then the
        trainer's progress."""
        dropout_rng = self.model.dropout_rng
        before = self._state()  # (copies of what is written below)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optim"])
            if self.schedule is not None:
                self.schedule.load_state_dict(state["schedule"])
            dropout_rng.bit_generator.state = state["dropout"]
        except BaseException as exc:
            self.model.load_state_dict(before["model"])
            self.optimizer.load_state_dict(before["optim"])
            if self.schedule is not None:
                self.schedule.load_state_dict(before["schedule"])
            dropout_rng.bit_generator.state = before["dropout"]
            if isinstance(exc, (TypeError, ValueError)) and not isinstance(exc, DamagedCheckpoint):
                # names, shapes and kinds are this trainer's (checked): what is refused now is a
                # value no run writes (a NaN weight, a negative mean of squares, a slot missing, ...)
                fail("Trainer.load_state_dict", "checkpoint state", "that loads", str(exc).rstrip("."), DAMAGED_FIX, exc=DamagedCheckpoint)
            raise
        es = state["early_stopping"]
        self.shuffle_rng = state["shuffle_rng"]
        self.entropy = state["entropy"]
        self._split_ss = state["split_ss"]
        self.epoch = state["epoch"]
        self.history = state["history"]
        self.best, self.best_epoch, self.wait, self.stopped = es["best"], es["best_epoch"], es["wait"], es["stopped"]
        self.best_state = state["best_state"]


def _same_kind(value, ours) -> bool:
    """A recorded field fits where ``ours`` (the live value) is: None fits a number's place and
    the reverse (a schedule's ``best`` before and after its first epoch); otherwise the same
    kind of value (number, bool, string)."""
    if value is None or ours is None:
        return value is None or is_number(value)
    if isinstance(ours, bool) or isinstance(value, bool):
        return isinstance(ours, bool) and isinstance(value, bool)
    if is_number(ours):
        return is_number(value)
    return type(value) is type(ours)


def predict(model: Module, X, lengths=None, batch_size: int = 256) -> np.ndarray:
    """Run ``model`` in eval mode without caches over X (N, T, I) in batches; (N, T, O) or (N, O).
    X past ``lengths`` may be NaN or inf, as in :meth:`Trainer.fit`. ``batch_size``: sequences a
    batch, an int >= 1."""
    batch_size = check_int(batch_size, "predict", "batch_size", minimum=1)
    X, lengths = _check_X(X, lengths, model, "predict")
    return _predict(model, X, lengths, batch_size)


def _predict(model: Module, X: np.ndarray, lengths: np.ndarray | None, batch_size: int) -> np.ndarray:
    """:func:`predict` of X and lengths already checked (:func:`_check_X`). Calls may overlap in
    threads on one model: eval mode and no-grad are depth-counted (:class:`~lstmkit.module._EvalMode`,
    :meth:`Module.no_grad`), set by the first call to start and restored by the last to end, so no
    call runs a batch with dropout (each restoring the mode it saw on entry did that).

    With lengths, a batch runs its own longest sequence's steps, not the data's T (the padding past
    them is read by no valid step): outputs per sequence (N, O) as they are; per step (N, T, O) the
    batch runs one step more, a step of padding for every row, and its outputs there fill the steps
    up to T, as running them would have (a padded step's output depends on no input or step: the
    layer's zeros through the read-out), so the result is the same to round-off: a few ulps (the
    BLAS may round a matrix product's rows differently for a product of fewer rows, T_b·B instead
    of T·B), the padding's outputs exactly. A Module without ``head_mode`` ("all" or "last", as a
    SequenceModel's) runs all T steps: whether its output is per step, and what it reads past the
    lengths, is its own."""
    outs = []
    T = X.shape[1]
    mode = getattr(model, "head_mode", None)  # None: a custom Module's output, all T steps
    with _EvalMode(model), model.no_grad():
        for s in range(0, len(X), batch_size):
            lb = None if lengths is None else lengths[s : s + batch_size]
            Tb = T if lb is None or mode is None else int(lb.max())
            per_step = Tb < T and mode == "all"  # (a padded step to fill T with)
            out, _ = model(X[s : s + batch_size, : Tb + 1 if per_step else Tb], lb)
            if per_step:
                out = np.concatenate([out, np.repeat(out[:, Tb:], T - Tb - 1, axis=1)], axis=1)  # (B, T, O)
            outs.append(out)
    return np.concatenate(outs, axis=0)


def fit(
    model: Module, X, Y, lengths=None, *, epochs: int = 10, validation_data=None, validation_split: float = 0.0,
    checkpoint=None, resume: bool = False, on_resume=None, sample_weight=None, **trainer_options,
) -> History:
    """One call: ``Trainer(model, **trainer_options).fit(X, Y, lengths, epochs, ...)``."""
    return Trainer(model, **trainer_options).fit(X, Y, lengths, epochs, validation_data, validation_split, checkpoint, resume,
                                                 on_resume, sample_weight)
