"""scikit-learn style estimators over sequences: ``LSTMClassifier`` and ``LSTMRegressor``.

    clf = LSTMClassifier(hidden_size=16, epochs=30, seed=0).fit(X, y)       # X (n, T, F)
    clf.predict(X); clf.predict_proba(X); clf.score(X, y)                    # accuracy
    clf.save("model.npz"); lstmkit.load("model.npz")                         # no pickle

Targets decide the read-out:
    classifier  y (n,)  one label per sequence  -> head="last"  (prediction at the last valid step)
                y (n, T) one label per step     -> head="all"   (seed 000's task)
    regressor   y (n,) or (n, k)                -> head="last"
                y (n, T) or (n, T, k)           -> head="all"   (a 2-D y counts as per step when its
                second dimension equals T; set ``per_step=False`` to say it is (n, k))

X of dtype object (a DataFrame's object columns, ``np.array(rows, dtype=object)``) is converted to
float where every element is a number, as scikit-learn's ``check_array`` converts it; another element
is refused naming its index and type. X may also be a list of 2-D arrays (T_i, F) of different lengths: it is padded with zeros and the
lengths are inferred; per-step targets for it may be a list of arrays (T_i,) (or (T_i, k)), y[i]
with one target per step of X[i], padded the same way. Otherwise pass ``lengths`` (n,) to ``fit``/``predict``/``score``; per-step
targets past a sequence's length are ignored (use any value there), and per-step predictions
there are no predictions: NaN in ``predict_proba`` and the regressor's ``predict``, and the
classifier's ``padding_value`` (-1, NaN or "" by the labels' kind) in its ``predict``, so that
``pred[i, :lengths[i]]`` are sequence i's and a padded step is never read as a class.
A model fitted with lengths (``fitted_with_lengths_``) warns (:class:`MissingLengthsWarning`,
once a call) when ``predict``/``predict_proba``/``score`` get X without lengths whose sequences
look zero-padded (:func:`looks_padded`: a last step of exact zeros): that padding would run
through the LSTM as input.

Inputs ``fit`` warns about (UserWarning; training goes on): features far from unit scale (a
feature's |mean| or std above ``FEATURE_SCALE_LIMIT`` = 1e3: standardise X), and, for the
classifier, a y (n, T) of 0/1 with one 1 in every row, which is read as a label per step but
looks like one-hot labels per sequence (pass ``y.argmax(1)``). An X with no sample, no time step
or no feature is refused by ``fit``, ``predict`` and ``score`` alike (as scikit-learn refuses
0 samples).

scikit-learn conventions: ``__init__`` only stores its arguments; ``fit`` returns self; learned
attributes end in ``_`` (``model_``, the network, in eval mode after fit and load, so predict
calls in several threads share it without switching its mode; ``classes_``, ``history_`` (also
``training_history_``, the forecaster's name for it),
``n_epochs_``, ``best_epoch_``, ``n_features_in_``, ``validation_indices_``,
``fitted_with_lengths_`` (None: a file saved before it was recorded), ``fitted_params_`` (the
hyper-parameters fit trained with, as JSON: get_params() at fit, a Generator seed as None, dtype
by name), ...; ``feature_names_in_``, a long CSV's feature
columns, or ``step_columns_in_``, a wide CSV's step columns, where ``lstmkit train`` read a CSV;
``feature_names_in_`` also where ``fit`` got X as a list of pandas DataFrames, one per sequence,
with the same string columns (columns that differ between sequences are refused, naming the
first that differs), and ``predict``/``predict_proba``/``score`` then refuse DataFrames with other
columns or in another order; arrays carry no names and are not checked),
all saved with the model, and a file whose fields disagree with its weights or with each other is
refused at load naming the field. ``validation_indices_``: the rows of X (int64, ascending) that
``validation_split`` held out of training, those the val_* of ``history_`` score (e.g.
``clf.score(X[rows], y[rows])`` is the last epoch's val_accuracy); None without a split or with
``validation_data``; a file saved before it was recorded loads without it;
``get_params``/``set_params`` are implemented here (sklearn is not needed; as in scikit-learn,
``set_params`` takes effect at the next ``fit``: a fitted estimator keeps predicting with its model,
and ``save`` writes ``fitted_params_``, the parameters of that model's fit), and ``__sklearn_tags__``
imports sklearn only when sklearn itself asks, so ``sklearn.base.clone``, ``GridSearchCV`` and
``cross_val_score`` work on 3-D inputs. For sequences of different lengths there, give X as a list
of sequences of their own lengths: scikit-learn passes ``lengths`` (``params=``) to ``fit`` only,
so each fold's ``score`` would read the padding as input (and warn).

Hyper-parameters (both estimators):
    hidden_size, num_layers, cell ("lstm"/"rnn"), bidirectional, dropout: the recurrent layer.
    readout: "linear" or "identity" (out = h, seed 000's y_t = softmax(h_t); needs D*H outputs).
    forget_bias: initial forget-gate bias (LSTM; None keeps the uniform initialisation).
    lstm_options: dict of extra recurrent-layer arguments, passed to :class:`lstmkit.LSTM`:
        ``proj_size``, ``bias`` and the variants (:mod:`lstmkit.variants`): ``peephole``,
        ``input_forget``, ``gate_clip``, ``cell_clip``, ``activations``, ``layer_norm`` (they
        change the cell) and the training-only regularisers ``dropout_input``,
        ``dropout_recurrent``, ``zoneout_cell``, ``zoneout_hidden``, ``dropconnect``; e.g.
        ``{"peephole": True, "dropout_recurrent": 0.2}``. One dict rather than twelve
        hyper-parameters keeps ``get_params``/``clone`` simple; names and values are checked
        before training (an unknown name is refused with the closest known one), and the options
        are saved with the model. (RNN: ``bias``, ``nonlinearity``.)
    epochs, batch_size, optimizer ("adam", "adamw", "sgd", "rmsprop"), learning_rate,
    weight_decay, clip (max gradient norm; None: off), patience (early stopping; None: off) with
    restore of the best weights (it monitors val_loss with validation_split or validation_data,
    else the training loss, which often falls every epoch: then all epochs run),
    validation_split (a seeded random fraction of the sequences, held out of training and scored
    as val_* every epoch; their rows are ``validation_indices_``), bptt (truncated BPTT chunk;
    per-step targets), seed (scikit-learn's ``random_state`` under lstmkit's name: an int for a
    repeatable run, a Generator, or None: a different run each time; ``clone``, ``get_params`` and
    ``GridSearchCV(..., {"seed": [0, 1]})`` take it as any parameter), dtype ("float32"/"float64"),
    verbose (0 silent, 1 a progress bar, 2 a line per epoch; other values are refused).
LSTMClassifier also: class_weight, scikit-learn's: None (every target weighs 1), "balanced"
(n_samples / (n_classes * bincount(y)), counted over the valid targets: per step, every step
within a sequence's length) or a dict label -> weight (finite, >= 0; its labels must be classes
of y, a class left out weighs 1). The per-class weights, in ``classes_`` order, are computed at
fit from y as fit is given it, the rows validation_split holds out included (scikit-learn counts
what fit is given, as its estimators that split internally do), as ``class_weight_`` (ones for
None), and weigh the cross-entropy as
torch's ``CrossEntropyLoss(weight=class_weight_)`` does (:class:`~lstmkit.training.Trainer`'s
``class_weight``): ``loss`` and ``val_loss`` are the weighted means, ``accuracy`` and ``score``
are not weighted. Saved with the model (a file from before it loads with ones).
LSTMRegressor also: standardize (train on standardised targets, predict in y's units), per_step.
Defaults differ from Keras' in two places, chosen for the small models this library trains:
learning_rate=0.01 (Adam) and clip=5.0 (char-rnn's).
"""

from __future__ import annotations

import decimal
import functools
import inspect
import numbers
import warnings
from typing import Any, Callable, Mapping

import numpy as np

from ._checks import (
    MISSING_TARGETS, LstmkitWarning, cast_float, check_bool, check_choice, check_clip, check_dtype, check_finite_steps, check_finite_within, check_int,
    check_lengths, check_real, check_sample_weight, check_seed, check_sequences, check_verbose, fail, is_int, is_number, run_seed,
    valid_steps,
)
from .checkpoint import plain
from .functional import softmax
from .modelfile import check_model_config, save_model
from .models import CELLS, READOUTS, SequenceModel, check_lstm_options
from .optim import OPTIMIZERS, by_name
from .saving import register
from .losses import UnweighedTargets, check_class_weight, check_weighed, python_scalar, uniform_weights, unweighed
from .training import Trainer, UnweighedSamples, check_stream, mae, predict


class NotFittedError(ValueError, AttributeError):
    """Raised when predict/score/save is called before fit (as scikit-learn's NotFittedError)."""


class MissingLengthsWarning(LstmkitWarning):
    """``predict``/``predict_proba``/``score`` of a model fitted with ``lengths`` on X without
    them whose sequences look zero-padded (:func:`looks_padded`): the padding would run through
    the LSTM as input."""


# -- input helpers ---------------------------------------------------------------------------
def pad_sequences(seqs, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A list of (T_i, F) arrays -> (X (n, max T_i, F) zero-padded, lengths (n,)). A value beyond
    ``dtype``'s range (1e39 for float32) is refused naming it (:func:`~lstmkit._checks.cast_float`)."""
    return _pad(seqs, dtype, "pad_sequences", "seqs")


def _pad(seqs, dtype, where: str, arg: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pad_sequences`, its errors naming ``where`` and ``arg`` (an estimator's X)."""
    arrs = [np.asarray(s) for s in seqs]
    if not arrs:
        fail(where, arg, "at least one sequence", "an empty list")
    for i, a in enumerate(arrs):
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] != arrs[0].shape[1]:
            fail(where, f"{arg}[{i}]", f"a 2-D array (T_i >= 1, {arrs[0].shape[-1]})", f"shape {a.shape}")
    lengths = np.array([len(a) for a in arrs], dtype=np.int64)
    X = np.zeros((len(arrs), int(lengths.max()), arrs[0].shape[1]), dtype=dtype)
    for i, a in enumerate(arrs):
        X[i, : len(a)] = cast_float(_numeric(a, where, f"{arg}[{i}]"), dtype, where, f"{arg}[{i}]")
    return X, lengths


def _is_real(v) -> bool:
    """A number an array of dtype object may hold for X: a Python or NumPy int, float or bool,
    another ``numbers.Real`` (``fractions.Fraction``) or a ``decimal.Decimal`` (pandas.read_sql's
    Numeric columns); not a complex, str, bytes or None."""
    return isinstance(v, (numbers.Real, np.bool_, decimal.Decimal))


def _to_float(v) -> bool:
    """Whether ``float(v)`` gives a float (10**400 overflows, Decimal('sNaN') is refused)."""
    try:
        float(v)
    except (OverflowError, ValueError, TypeError):
        return False
    return True


def _beyond_float(v) -> bool:
    """Whether ``v``, whose float is inf or NaN, is a finite number itself: beyond float64's range
    (Decimal('1e400'), which float() reads as inf without an error, as it does not 10**400)."""
    return bool(v == v and v != np.inf and v != -np.inf)


def _numeric(a: np.ndarray, where: str, arg: str) -> np.ndarray:
    """``a`` as it is where its dtype is numeric (bool, int, float); an array of dtype object
    whose every element is a number (:func:`_is_real`: a DataFrame's object columns of floats or
    of Decimal, ``np.array(rows, dtype=object)``) as float64, as scikit-learn's
    ``check_array(dtype="numeric")`` converts it (which also parses a str such as '0.5' and reads
    None as NaN: refused here); else a TypeError naming ``arg``, and for dtype object the first
    element (in C order) that is no number, or a number beyond float64's range (10**400, and
    Decimal('1e400'), which float() reads as inf), its index and its type."""
    if a.dtype.kind in "biuf":
        return a
    if a.dtype.kind == "O":
        ok = np.frompyfunc(_is_real, 1, 1)(a).astype(bool)
        if ok.all():
            try:
                out = a.astype(np.float64)
            except (OverflowError, ValueError, TypeError):  # a Python int beyond float64 (10**400), Decimal('sNaN')
                ok = np.frompyfunc(_to_float, 1, 1)(a).astype(bool)
            else:
                odd = ~np.isfinite(out)  # NaN and inf are the finite check's (missing); a finite Decimal made inf is not
                if not odd.any():
                    return out
                ok[odd] = ~np.frompyfunc(_beyond_float, 1, 1)(a[odd]).astype(bool)
                if ok.all():
                    return out
        at = tuple(int(i) for i in np.argwhere(~ok)[0])
        v = a[at]
        fail(where, arg, "numbers (an array of dtype object is converted when every element is a number within float64's range)",
             f"{type(v).__name__} {v!r:.40} at index {at}",
             "Convert it to a number (e.g. with pandas.to_numeric), or drop the sequence.",
             exc=TypeError)  # fmt: skip
    fail(where, arg, "a numeric array (n_samples, T, n_features)", f"dtype {a.dtype}", exc=TypeError)


def _as_sequences(X, lengths, dtype, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """X (n, T, F) as a float array of ``dtype`` (lists of ragged sequences padded).

    Refused: no sample, no time step or no feature (n, T or F of 0; scikit-learn's check_array
    refuses n_samples=0 the same way), a NaN or inf within a sequence's length, and there a value
    beyond ``dtype``'s range (1e39 to float32), naming it (:func:`~lstmkit._checks.cast_float`,
    the rule of :func:`~lstmkit._checks.check_float_array`). Values past
    a sequence's length (``lengths``) are ignored and may be NaN or inf (missing): such padding
    is replaced by zeros in a copy, as the gradient dW_ih = dZ^T X would turn 0 * NaN into NaN
    (:func:`~lstmkit._checks.check_finite_steps`, as the Trainer takes X).
    """
    if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 2 and len({np.shape(s) for s in X}) > 1:
        if lengths is not None:
            fail(where, "lengths", "None when X is a list of sequences of different lengths", "an array")
        arr, lengths = _pad(X, dtype, where, "X")
    else:
        if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 1 and len({np.shape(s) for s in X}) > 1:
            fail(where, "X", "a list of 2-D sequences (T_i, n_features) (or one 3-D array)", f"1-D sequences (lengths {min(map(len, X))} to {max(map(len, X))})",
                 "For one feature per step use [s[:, None] for s in X].")  # fmt: skip
        arr = _numeric(np.asarray(X), where, "X")  # (dtype object: converted where every element is a number)
    check_sequences(arr, where)  # 3-D, at least one sample, step and feature
    if lengths is not None:
        lengths = check_lengths(lengths, *arr.shape[:2], where)
    # a value beyond dtype's range (1e39 to float32) within a sequence's length refused naming it, as
    # check_float_array refuses it (NumPy warned of the cast, then 'got inf'); in the padding it is padding
    arr = cast_float(arr, dtype, where, "X", valid=None if lengths is None else valid_steps(lengths, *arr.shape[:2]))
    return check_finite_steps(arr, lengths, where), lengths


def _feature_names(X, where: str, arg: str = "X") -> np.ndarray | None:
    """The feature names of X given as a list of pandas DataFrames, one per sequence (T_i rows, a
    column per feature): their columns, as an object array, when all are strings (scikit-learn's
    ``feature_names_in_``); None for arrays, or columns that are not all strings (0, 1, ...).
    A sequence whose columns differ from X[0]'s (other names, or the same in another order, or
    none: an array among DataFrames) is refused naming the first such: its features would be
    read in X[0]'s order (``arg``: X's name in the error)."""
    if not isinstance(X, (list, tuple)) or not X or not hasattr(X[0], "columns"):
        return None
    first = list(X[0].columns)
    for i, s in enumerate(X):
        cols = list(s.columns) if hasattr(s, "columns") else None
        if cols != first:
            got = f"columns {cols!r:.80}" if cols is not None else f"a {type(s).__name__} (no column names)"
            fail(where, f"{arg}[{i}]", f"the columns of {arg}[0] {first!r:.80} (one set of features for every sequence)", got,
                 f"Give every sequence the same columns in the same order, e.g. [s[list({arg}[0].columns)] for s in {arg}].")  # fmt: skip
    return np.array(first, dtype=object) if all(isinstance(c, str) for c in first) else None


def _check_columns(names, fitted, where: str, arg: str, which: str, fix: str) -> None:
    """Feature names ``names`` (:func:`_feature_names`) other than ``fitted`` (``which`` they are),
    or the same in another order, refused; nothing to compare where either is None (arrays)."""
    if names is not None and fitted is not None and names.tolist() != fitted.tolist():
        from .forecast import how_names_differ

        fail(where, arg, f"{fitted.tolist()!r:.80} ({which}, in that order)",
             f"{names.tolist()!r:.80} ({how_names_differ(names.tolist(), fitted.tolist(), 'columns')})", fix)


def _pad_targets(y, lengths, n: int, T: int, where: str, what: str):
    """Per-step targets as a list of arrays (T_i,) or (T_i, k) of different lengths, as for a list
    of sequences X -> ``(array (n, T[, k]) padded like X, True)``; any other y -> ``(y, False)``.

    y[i] must hold one target per valid step of sequence i (``lengths[i]``, or T without lengths);
    the padding repeats y's first value (a valid label), and is ignored through ``lengths``.
    """
    if not isinstance(y, (list, tuple)) or not y or any(np.ndim(v) == 0 for v in y):
        return y, False
    items = [np.asarray(v) for v in y]
    if len({a.shape for a in items}) == 1:
        return y, False  # not ragged: read as one array ((n, T[, k]) or (n, k))
    if len(items) != n:
        fail(where, "y", f"{n} sequences of {what} (one per sequence of X)", len(items))
    steps = np.full(n, T) if lengths is None else lengths
    tail = items[0].shape[1:]
    for i, a in enumerate(items):
        if a.shape[0] != steps[i]:
            fail(where, f"y[{i}]", f"{steps[i]} {what} (one per step of sequence {i} of X)", a.shape[0])
        if a.shape[1:] != tail:
            fail(where, f"y[{i}]", f"shape {(int(steps[i]),) + tail} (as y[0]'s {tail} per step)", f"shape {a.shape}")
    flat = np.concatenate(items)  # their common dtype
    out = np.full((n, T) + tail, flat[0], dtype=flat.dtype)  # (n, T[, k])
    for i, a in enumerate(items):
        out[i, : len(a)] = a
    return out, True


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters as JSON for a model file: NumPy scalars (a grid's np.arange values) as
    Python numbers, tuples as lists, dict keys as strings (:func:`lstmkit.checkpoint.plain`), a
    Generator seed as None (its draws cannot be stored)."""
    return {k: None if isinstance(v, np.random.Generator) else plain(v) for k, v in params.items()}


#: fit warns when a feature's |mean| or standard deviation over the valid steps exceeds this: the
#: gates' sigmoid and tanh saturate for |pre-activation| of a few units, so inputs of order 1e3
#: and more stall learning (the weights start at about 1/sqrt(hidden_size)); a year (~2000) warns
FEATURE_SCALE_LIMIT = 1e3


def _warn_unscaled(X: np.ndarray, lengths, where: str) -> None:
    """A UserWarning, telling the user to standardise X, when a feature's scale is far above 1
    (:data:`FEATURE_SCALE_LIMIT`); the padding past ``lengths`` is left out."""
    n, T, F = X.shape
    V = X.reshape(-1, F) if lengths is None else X[valid_steps(lengths, n, T)]  # (valid steps, F)
    mean, std = V.mean(axis=0, dtype=np.float64), V.std(axis=0, dtype=np.float64)
    size = np.maximum(np.abs(mean), std)
    j = int(size.argmax())
    if size[j] > FEATURE_SCALE_LIMIT:
        warnings.warn(
            f"{where}: X's features are far from unit scale (feature {j}: mean {mean[j]:.3g}, std {std[j]:.3g}; "
            f"warned above {FEATURE_SCALE_LIMIT:g}): the LSTM's gates saturate and training may fail. Standardise X, "
            "e.g. mu, sd = X.mean(axis=(0, 1)), X.std(axis=(0, 1)); fit((X - mu) / sd, y), and use the same mu, sd on new data.",
            LstmkitWarning, stacklevel=3,
        )


def _blank_padding(out: np.ndarray, lengths, value) -> np.ndarray:
    """Per-step predictions ``out`` (n, T, ...) with the steps past each sequence's length set to
    ``value`` (in place; ``out`` is the estimator's own array): what the model computes there
    from no input is no prediction. Without ``lengths`` every step is a sequence's."""
    if lengths is not None:
        out[~valid_steps(lengths, *out.shape[:2])] = value
    return out


def scored_targets(per_step: bool, lengths, n: int, T: int) -> np.ndarray:
    """Which targets count (those the loss reads, ``score`` compares and the checks look at):
    per step (n, T), the steps within each sequence's length (every step without ``lengths``;
    what lies past it is padding, any value); per sequence (n,), every one. ``per_step``: the
    targets' layout (a fitted estimator's ``per_step_``). The one statement of the rule: fit's,
    the labels' and the targets' checks, score's and ``lstmkit predict``'s."""
    return valid_steps(lengths, n, T) if per_step else np.ones(n, dtype=bool)


def mean_and_scale(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's (of ``z`` (M, S): a series, a target) mean μ and standard deviation σ (1.0 where it is 0),
    computed on z / 2ᵏ, 2ᵏ the power of two just above max|z|, and multiplied back by 2ᵏ.

    z.std() squares the deviations: they overflow to inf for |z| beyond ~1e154 and underflow to 0
    below ~1e-154 (σ = 0 read as constant). Scaled, |z / 2ᵏ| < 1 and neither happens;
    and a power of two scales exactly, so μ and σ are bit for bit NumPy's z.mean(0) and z.std(0)
    wherever those neither overflow nor underflow (any ordinary data)."""
    big = np.max(np.abs(z), axis=0)  # (S,)
    two_k = np.ldexp(1.0, np.frexp(np.where(big > 0, big, 1.0))[1])  # (S,) 2^k > max|z| (finite: max|z| <= LARGEST)
    u = z / two_k  # (M, S), |u| < 1: exact
    mean, std = u.mean(axis=0) * two_k, u.std(axis=0) * two_k  # (S,) each
    return mean, np.where(std > 0, std, 1.0)


def r2(actual: np.ndarray, pred: np.ndarray, where: str, what: str, sample_weight: np.ndarray | None = None) -> float:
    """scikit-learn's ``r2_score(actual, pred, sample_weight=w)`` of (k, S) arrays (multioutput="uniform_average",
    force_finite=True): R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² over the k rows, for each column, averaged
    over the columns; a column whose k values are all equal scores 1.0 if predicted exactly, else
    0.0. With k < 2 R² is undefined: this warns (``where``'s, of the k ``what``, for the caller's
    caller) and returns nan, as ``r2_score`` does. ``sample_weight``: None, or (k,) weights >= 0
    (checked by the caller), each row's: Σ w (y - ŷ)² / Σ w (y - ȳ_w)², ȳ_w the weighted mean, as
    ``r2_score`` weighs them. The regressor's and the forecaster's score."""
    k = len(actual)
    if k < 2:
        warnings.warn(f"{where}: R² is not defined with fewer than 2 {what} (got {k}); returning nan, as "
                      "scikit-learn's r2_score does.", LstmkitWarning, stacklevel=3)  # fmt: skip
        return float("nan")
    w = np.ones((k, 1)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(k, 1)  # (k, 1)
    mean = actual.mean(axis=0) if sample_weight is None else (w * actual).sum(axis=0) / w.sum()  # ȳ (weighted)
    ss_res = (w * (actual - pred) ** 2).sum(axis=0)
    ss_tot = (w * (actual - mean) ** 2).sum(axis=0)
    per_column = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(per_column.mean())


def looks_padded(X: np.ndarray) -> np.ndarray:
    """(n,) bool: sequence i of X (n, T, F) ends as zero padding does, its last step exactly 0.0
    in every feature (T > 1; with one step there is no padding). One step per sequence is read,
    so the test costs n * F comparisons. A sequence of data whose last step is all zeros looks
    padded too: a false alarm, silenced by passing its lengths."""
    if X.shape[1] < 2:
        return np.zeros(len(X), dtype=bool)
    return (X[:, -1, :] == 0).all(axis=1)


def warn_missing_lengths(est, X: np.ndarray, lengths, where: str, what: str = "X comes without lengths",
                         model: str = "the model", fix: str | None = None, stacklevel: int = 2,
                         words: Callable[[], tuple[str, str]] | None = None) -> None:
    """A :class:`MissingLengthsWarning` (once: one call of predict, predict_proba or score) when
    ``est`` was fitted with ``lengths`` (``fitted_with_lengths_``; None, a file from before it was
    recorded, never warns), none are given and some sequence of X looks zero-padded
    (:func:`looks_padded`). ``where`` begins the message, ``what`` says how X comes, ``model`` names
    the model, ``fix`` ends it (by default Python's advice: pass lengths); ``lstmkit predict`` gives
    its data file, its model file and the option or file layout that gives lengths. ``words``: a
    function giving ``(what, fix)`` in their place, called only when the warning is given (words
    that cost a read of the data file, made for nothing when it is not). ``stacklevel``:
    warnings.warn's, counted from the call of this function (2: the line calling it)."""
    if lengths is not None or not getattr(est, "fitted_with_lengths_", None):
        return
    padded = looks_padded(X)
    if padded.any():
        n, T = X.shape[:2]
        if words is not None:
            what, fix = words()
        read = "" if est.per_step_ else ", and each sequence's prediction is read after them"
        if fix is None:
            fix = (f"Pass lengths (each sequence's number of valid steps), or X as a list of sequences of their own "
                   f"lengths (what scikit-learn's cross_val_score and GridSearchCV can pass: they give lengths to fit "
                   f"only), or lengths=numpy.full({n}, {T}) if the zeros are data.")  # fmt: skip
        warnings.warn(
            f"{where}: {what}, but {int(padded.sum())} of its {n} sequences end in an all-zero step, as zero padding "
            f"does (sequence {int(padded.argmax())} first), and {model} was fitted with lengths: the zero steps run "
            f"through the LSTM as input{read}. {fix}",
            MissingLengthsWarning, stacklevel=stacklevel,
        )


def _padding_label(classes: np.ndarray, value, where: str):
    """``(value, dtype)``: what marks a step past a sequence's length among per-step labels, and
    the labels' dtype that holds it beside ``classes``.

    ``value`` None picks one that is no class, by the labels' kind: -1 for integers, NaN for
    floats, "" for strings, and None (labels of dtype object) for bools and objects or where
    that value is a class. A value of the classes' kind keeps their kind (int64 for -1 beside
    unsigned integers); another kind gives dtype object. A class is refused: a padded step
    would read as a prediction of it."""
    if value is None:
        kind = classes.dtype.kind
        value = -1 if kind in "iu" else np.nan if kind == "f" else "" if kind == "U" else None
        if value is not None and value in classes.tolist():
            value = None
    elif np.ndim(value) != 0:
        fail(where, "padding_value", "one label-like value (a scalar) for every padded step", f"shape {np.shape(value)}", exc=TypeError)
    elif any(value == c for c in classes.tolist()):
        fail(where, "padding_value", f"a value that is no class (classes_ {classes.tolist()!r:.80})", repr(value),
             "A padded step would read as a prediction of that class; leave padding_value out for one that is no class.")  # fmt: skip
    a, b = classes.dtype.kind, np.asarray(value).dtype.kind
    same_kind = (a in "iuf" and b in "iuf") or a == b == "U"
    return value, np.result_type(classes.dtype, np.asarray(value).dtype) if same_kind else np.dtype(object)


#: a classifier's y of shape (n, 1) (a one-column table) refused: what to pass instead (scikit-learn ravels it with a
#: DataConversionWarning; here (n, 1) reads as labels per step when T = 1, so it is not guessed)
RAVEL = "For one label per sequence from a one-column table pass y.ravel() (or the column, df['label'])."


def _refuse_mixed_list(y, where: str) -> None:
    """Labels given as a list (of labels, or of per-step lists) mixing strings with other types:
    NumPy would silently make strings of them all (['a', 1] -> ['a', '1']); refused as a mix
    that an array of objects cannot order is (:func:`_check_labels`)."""
    if not isinstance(y, (list, tuple)):
        return
    try:
        items = [y]
        if np.asarray(y).dtype.kind != "U":
            return  # no strings made (the common case, looked at once)
    except ValueError:  # ragged per-step lists: one by one
        items = [v for v in y if np.asarray(v).dtype.kind == "U"]
    leaves = [v for item in items for v in np.asarray(item, dtype=object).ravel()]
    strings = [isinstance(v, str) for v in leaves]
    if any(strings) and not all(strings):
        _mixed_labels(leaves, where)


def _mixed_labels(labels, where: str) -> None:
    """Refuse ``labels`` as labels of more than one kind (TypeError naming their types)."""
    kinds = sorted({type(v).__name__ for v in labels})
    fail(where, "y", "labels of one kind (all strings or all numbers)", f"labels of type{'s' * (len(kinds) > 1)} {', '.join(kinds)}",
         "Convert them to one type, e.g. numpy.asarray(y, dtype=str), or drop the samples without a label.", exc=TypeError)  # fmt: skip


def _check_labels(y: np.ndarray, valid: np.ndarray, where: str) -> np.ndarray:
    """A classifier's labels y (n,) or (n, T) -> its valid labels (m,), refused (naming y) when
    one is NaN or inf, when floats are not whole numbers (continuous targets: scikit-learn's
    "Unknown label type: continuous"; 0.0 and 1.0 are labels) or when their types cannot be
    ordered together (a mix of strings, numbers and None: np.unique's bare TypeError)."""
    check_finite_within(y, valid, where, "y", "Drop the samples with missing labels (per step: end the sequence before them, through lengths).",
                        "finite labels")  # fmt: skip
    labels = y[valid]  # (m,), in the order of np.argwhere(valid)
    numbers = labels
    if labels.dtype.kind == "O" and all(is_number(v) or isinstance(v, (np.integer, np.floating)) for v in labels):
        numbers = labels.astype(np.float64)
    if numbers.dtype.kind == "f" and not (whole := numbers == np.round(numbers)).all():
        k = int(np.argmin(whole))  # the first label with a fraction
        at = tuple(int(i) for i in np.argwhere(valid)[k])
        fail(where, "y", "class labels (integers, strings, or whole floats such as 0.0 and 1.0)",
             f"continuous values such as {float(numbers[k])!r} at index {at}",
             "For real-valued targets use LSTMRegressor (lstmkit train: --task regress).")  # fmt: skip
    try:
        np.unique(labels)
    except TypeError:
        _mixed_labels(labels, where)
    return labels


def _json_scalar_list(values: np.ndarray) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def check_hyper_parameters(est, name: str) -> None:
    """The training hyper-parameters ``est`` has (``hidden_size``, ``epochs``, ``optimizer``,
    ``learning_rate``, ``clip``, ``lstm_options``, ...: those of the estimators, the forecaster
    and the text generator, its ``seq_len`` too; an attribute it lacks is skipped), checked before anything is built so
    that an error names ``name`` (the class the user made) and the parameter, not an inner class.
    A model file's hyper-parameters are checked by the same function when it is loaded."""
    has = lambda k: hasattr(est, k)  # noqa: E731
    for k, lo in (("hidden_size", 1), ("num_layers", 1), ("epochs", 0), ("batch_size", 1), ("seq_len", 1)):
        if has(k):
            check_int(getattr(est, k), name, k, minimum=lo)
    for k in ("patience", "bptt"):
        if has(k) and getattr(est, k) is not None:
            check_int(getattr(est, k), name, k, minimum=0 if k == "patience" else 1)
    if has("optimizer"):  # a name in any case, as make_optimizer takes it (optim.by_name)
        by_name(OPTIMIZERS, est.optimizer, name, "optimizer")
    cell = check_choice(getattr(est, "cell", "lstm"), CELLS, name, "cell")
    if has("readout"):
        check_choice(est.readout, READOUTS, name, "readout")
    for k in ("bidirectional", "standardize", "log"):  # flags: True or False, not "false" (which bool() reads as True)
        if has(k):
            check_bool(getattr(est, k), name, k)
    if has("per_step"):
        check_bool(est.per_step, name, "per_step", none=True)
    for k, bounds in (
        ("learning_rate", dict(low=0, low_open=True)),  # finite: Adam would refuse inf, naming itself
        ("dropout", dict(low=0, high=1, high_open=True)),
        ("validation_split", dict(low=0, high=1, high_open=True)),
        ("weight_decay", dict(low=0)),
        ("forget_bias", dict(none=True)),
    ):
        if has(k):
            check_real(getattr(est, k), name, k, **bounds)
    if has("clip"):  # as the Trainer checks it
        check_clip(est.clip, name)
    check_lstm_options(getattr(est, "lstm_options", None), cell, name)
    if has("dtype"):
        check_dtype(est.dtype, name)
    if has("seed"):  # a seed NumPy's SeedSequence takes (or a Generator, whose draws seed the run)
        check_seed(est.seed, name)
    if has("verbose"):  # the documented levels (True: 1, False: 0); 5 was taken as 2
        check_verbose(est.verbose, name)
    if has("class_weight"):
        check_class_weight_param(est.class_weight, name)


#: what a classifier's class_weight may be (scikit-learn's)
CLASS_WEIGHT_FORMS = "None, 'balanced' or a dict of label -> weight"


def check_class_weight_param(class_weight, where: str) -> None:
    """A classifier's ``class_weight`` as scikit-learn takes it: None, "balanced" or a mapping of
    label -> a finite number >= 0 (``class_weight[label]`` named where one is not). Whether the
    labels are classes of y is checked at fit (:func:`class_weights`)."""
    cw = class_weight
    if cw is None or (isinstance(cw, str) and cw == "balanced"):
        return
    if isinstance(cw, Mapping):
        if cw:  # each weight, named by its label (losses.check_class_weight: the one rule of a weight's range)
            check_class_weight(list(cw.values()), None, where, "class_weight", labels=list(cw))
        return
    if isinstance(cw, str):
        fail(where, "class_weight", CLASS_WEIGHT_FORMS, repr(cw), "Did you mean 'balanced'?" if cw.lower() == "balanced" else "")
    fix = "For weights in the order of classes_, pass dict(zip(classes, weights))." if np.ndim(cw) == 1 else ""
    fail(where, "class_weight", CLASS_WEIGHT_FORMS, f"{type(cw).__name__} {cw!r:.80}", fix, exc=TypeError)


def class_weights(class_weight, codes: np.ndarray, valid: np.ndarray, classes: np.ndarray, where: str) -> np.ndarray:
    """The per-class weights (C,) float64, in ``classes`` order, as scikit-learn's
    ``compute_class_weight`` makes them from the labels fit is given (validation_split's rows
    included): ones for None; "balanced",
    n / (C * count_c) over the n valid targets (``codes`` their class indices where ``valid``); a
    dict, its weight for each class it names, 1 for the others. A dict's label that is no class
    of y is refused naming it (scikit-learn: "Class label ... not present"), and so are weights
    that are 0 for every class (nothing would be learned; :func:`~lstmkit.losses.check_weighed`)."""
    C = len(classes)
    if class_weight is None:
        return np.ones(C)
    if isinstance(class_weight, str):  # "balanced" (check_class_weight_param)
        counts = np.bincount(codes[valid], minlength=C)  # every class is among the valid labels: counts >= 1
        return counts.sum() / (C * counts.astype(np.float64))
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = [python_scalar(k) for k in class_weight if python_scalar(k) not in index]
    if unknown:
        close = [(k, c) for k in unknown if (c := label_named(str(k), classes)) is not None]  # '1' for 1, 1 for '1'
        fix = f"Name each class as y holds it: {close[0][1]!r}, not {close[0][0]!r}." if close else ""
        fail(where, "class_weight", f"labels that are classes of y {classes.tolist()!r:.80}", f"{unknown!r:.80} (no class of y)", fix)
    weights = np.ones(C)
    for label, w in class_weight.items():
        weights[index[python_scalar(label)]] = float(w)
    check_weighed(np.arange(C), np.ones(C, dtype=bool), weights, where, "the targets of y", "class_weight", names=classes)  # each class is in y
    return weights


def label_named(text: str, classes) -> Any:
    """The label among ``classes`` that ``text`` names: the one whose str() it is, or (numbers) the
    one equal to its value ('1' names 1.0); None for none. How a dict of label -> weight read back
    from JSON (its keys strings) or typed on the command line finds its labels again."""
    labels = _json_scalar_list(np.asarray(classes))
    for c in labels:
        if str(c) == text:
            return c
    try:
        value = float(text)
    except ValueError:
        return None
    return next((c for c in labels if isinstance(c, (int, float)) and c == value), None)


def with_defaults(cls: type, state: dict) -> dict:
    """An unpickled ``state`` (its ``__dict__``) with every parameter of ``cls.__init__`` it lacks
    set to the signature's default: a pickle from a version before that parameter existed (it
    trained without it, i.e. as the default) then has what ``get_params``, ``repr``, ``clone`` and
    ``fit`` read. The parameters it holds are kept as pickled."""
    state = dict(state)
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.default is not p.empty:
            state.setdefault(p.name, p.default)
    return state


def keyword_only(init: Callable) -> Callable:
    """Decorate an estimator's ``__init__(self, *, ...)``: its parameters are keyword-only (as
    scikit-learn's), but for now positional arguments are still taken, bound to the parameters in
    signature order, with a FutureWarning naming them ("pass hidden_size=16 by keyword");
    scikit-learn's ``_deprecate_positional_args``. ``functools.wraps`` keeps the signature
    (``inspect.signature`` follows ``__wrapped__``), which ``get_params``, ``clone`` and
    ``GridSearchCV`` read. More positional arguments than parameters, or one also passed by
    keyword, raise TypeError."""
    names = [p.name for p in inspect.signature(init).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if args:
            kind = type(self).__name__
            if len(args) > len(names):
                fail(kind, "positional arguments", f"at most {len(names)} (its parameters, in order)", len(args),
                     "Pass the parameters by keyword, e.g. hidden_size=16.", exc=TypeError)
            bound = dict(zip(names, args))
            twice = [k for k in bound if k in kwargs]
            if twice:
                fail(kind, twice[0], "one value", "one by position and one by keyword", f"Pass only {twice[0]}={kwargs[twice[0]]!r}.",
                     exc=TypeError)  # fmt: skip
            given = ", ".join(f"{k}={v!r}" for k, v in bound.items())
            warnings.warn(f"{kind}: pass {given} by keyword: its parameters are keyword-only (as scikit-learn's), and positional "
                          "arguments will raise a TypeError in a future version.", FutureWarning, stacklevel=2)  # fmt: skip
            kwargs.update(bound)
        init(self, **kwargs)

    return __init__


class _SequenceEstimator:
    """Shared machinery: parameters, model building, training, saving. Subclasses define
    ``__init__`` (its signature is the list of hyper-parameters), ``fit`` (targets -> the loss's
    form, then :meth:`_fit`), ``_extra``/``_restore_extra`` (their learned preprocessing as JSON)."""

    _estimator_type = ""  # sklearn < 1.6

    # -- scikit-learn parameter protocol ----------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as stored (scikit-learn's protocol)."""
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params) -> "_SequenceEstimator":
        """Set constructor arguments by name; unknown names raise ValueError. Returns self."""
        valid = self._get_param_names()
        for k, v in params.items():
            if k not in valid:
                fail(f"{type(self).__name__}.set_params", "a parameter name", f"one of {valid}", repr(k))
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not (v is defaults[k] or (type(v) is type(defaults[k]) and v == defaults[k]))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        clf = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True, multi_output=not clf),
            classifier_tags=ClassifierTags() if clf else None,
            regressor_tags=None if clf else RegressorTags(),
            input_tags=InputTags(two_d_array=False, three_d_array=True),
            non_deterministic=self.seed is None,
        )

    def __setstate__(self, state: dict) -> None:
        """Unpickling: a fitted estimator pickled before ``fitted_params_`` was recorded gets it
        from its parameters as pickled, its dtype the network's (what predict and save read
        before then; predict and save raised AttributeError without it). A parameter added since the
        pickle was made gets its default first (:func:`with_defaults`)."""
        self.__dict__.update(with_defaults(type(self), state))
        if "model_" in state and "fitted_params_" not in state:
            params = json_params(self.get_params())
            params["dtype"] = np.dtype(self.model_.dtype).name
            self.fitted_params_ = params

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    @property
    def training_history_(self):
        """The training log, ``history_`` itself (:class:`lstmkit.History`): the name
        :class:`~lstmkit.LSTMForecaster` gives it too (its ``series_`` is the fitted series)."""
        return self.history_

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"{type(self).__name__}.{method}: expected a fitted estimator, got one that was never fitted. "
                f"Call fit(X, y) before {method}()."
            )

    # -- training ---------------------------------------------------------------------------
    def _build_model(self, n_features: int, n_outputs: int, head: str, seed: int) -> SequenceModel:
        return SequenceModel(
            n_features, None if self.readout == "identity" else n_outputs, self.hidden_size,
            num_layers=self.num_layers, cell=self.cell, head=head, readout=self.readout,
            bidirectional=self.bidirectional, dropout=self.dropout,
            forget_bias=self.forget_bias if self.cell == "lstm" else None,
            lstm_options=self.lstm_options, dtype=check_dtype(self.dtype, type(self).__name__), seed=seed,
        )

    def _check_params(self) -> None:
        """Hyper-parameters checked up front, errors naming this estimator and the parameter."""
        check_hyper_parameters(self, type(self).__name__)

    def _fit(self, X, Y, lengths, loss: str, n_outputs: int, head: str, metrics, learned: dict, checkpoint=None, resume=False, validation=None,
             on_resume=None, class_weight=None, sample_weight=None, feature_names=None, stream=None):
        """Build and train a model; on success set ``model_``, ``history_``, ... and ``learned``
        (so a failed fit leaves a previously fitted estimator as it was). ``metrics``: the
        Trainer's (names, or name -> function); ``class_weight``: the Trainer's (C,) or None;
        ``feature_names``: X's (:func:`_feature_names`), ``feature_names_in_``, or None;
        ``stream``: the Trainer's (the progress, when ``verbose``; None: sys.stdout as it stands)."""
        name = type(self).__name__
        model_seed, trainer_seed = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(run_seed(self.seed)).spawn(2))
        model = self._build_model(X.shape[2], n_outputs, head, model_seed)
        if self.readout == "identity" and model.output_size != n_outputs:
            fail(name, "readout", f"'linear' unless hidden_size*directions equals the {n_outputs} outputs", "'identity'")
        split = 0.0 if validation is not None else float(self.validation_split or 0.0)
        # what a resume compares; class_weight only when given, as a checkpoint from before it has none; a dict as the
        # weight of each class it makes ({1: 5} is {0: 1, 1: 5}: a class left out weighs 1), in classes_ order
        params = self._json_params()  # the hyper-parameters of this fit: fitted_params_ (what save writes, what predict reads)
        settings = {k: v for k, v in params.items() if k not in ("epochs", "verbose") and not (k == "class_weight" and v is None)}
        if isinstance(getattr(self, "class_weight", None), Mapping):  # (a classifier's)
            weights = learned["class_weight_"]
            if uniform_weights(weights):  # all one number: no weighting, None's
                settings.pop("class_weight")  # setting (the Trainer trains them as none, bit for bit)
            else:
                settings["class_weight"] = plain(dict(zip(learned["classes_"].tolist(), weights.tolist())))
        trainer = Trainer(
            model, loss=loss, optimizer=self.optimizer, lr=self.learning_rate,
            optimizer_options={"weight_decay": self.weight_decay} if self.weight_decay else None,
            batch_size=self.batch_size, clip=self.clip, bptt=self.bptt, metrics=metrics,
            patience=self.patience, seed=trainer_seed, verbose=self.verbose, class_weight=class_weight,
            settings=settings, stream=stream,
        )
        try:
            history = trainer.fit(
                X, Y, lengths, epochs=self.epochs, validation_data=validation, validation_split=split,
                checkpoint=checkpoint, resume=resume, on_resume=on_resume, sample_weight=sample_weight,
            )
        except UnweighedTargets as exc:  # validation_data's targets, or the part of y validation_split held out: said by label
            raise unweighed(name + ".fit", "class_weight", exc.what, exc.classes, learned["classes_"]) from None
        except UnweighedSamples as exc:  # the sample weights times the class weights, or a part validation_split made: in fit's name
            raise exc.at(name + ".fit") from None
        held = trainer.validation_indices  # the rows its split held out (a resume's: the checkpoint's seed draws the same)
        for k, v in learned.items():
            setattr(self, k, v)
        # left in eval mode (Trainer.fit trains in training mode): predict never switches the mode of a
        # network shared by request threads, so an overlapping call cannot run with dropout
        self.model_ = model.eval()
        self.fitted_params_ = params
        self.history_ = history
        self.n_features_in_ = X.shape[2]
        self.fitted_with_lengths_ = lengths is not None  # given, or those of a list of sequences of different lengths
        for key, _, _ in CSV_COLUMNS:  # names of an earlier fit's columns; arrays carry none
            self.__dict__.pop(key + "_", None)
        if feature_names is not None:  # a list of DataFrames' columns
            self.feature_names_in_ = feature_names
        self.n_epochs_ = trainer.epoch
        self.best_epoch_ = trainer.best_epoch
        self.validation_indices_ = held
        return self

    def _validation(self, validation_data, dtype, n_features: int, encode, per_step: bool, where: str, names=None):
        """(Xv, Yv, lengths_v, sample_weight_v) in the model's form (the Trainer's validation_data)
        from the user's (X, y[, lengths[, sample_weight]]), or None. ``names``: the training X's
        feature names (:func:`_feature_names`): a list of DataFrames as X with other columns, or
        the same in another order, is refused, as predict refuses it. The weights are checked as
        fit's (:meth:`_sample_weight`) and weigh val_loss, as the rows validation_split holds out
        keep theirs; Keras' tuple is (x, y, sample_weight), but lstmkit's third place is the lengths."""
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3, 4):
            got = f"a {type(validation_data).__name__} of {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__
            fail(where, "validation_data", "a tuple (X, y), (X, y, lengths) or (X, y, lengths, sample_weight) (lengths may be None)", got,
                 exc=TypeError)  # fmt: skip
        Xv, yv, lv, sv = (*validation_data, *([None] * (4 - len(validation_data))))
        _check_columns(_feature_names(Xv, where, "validation_data's X"), names, where, "validation_data's X columns", "the training X's",
                       "Select them as the training X's, e.g. [s[list(X[0].columns)] for s in X_val].")
        Xv, lv = _as_sequences(Xv, lv, dtype, where)
        if Xv.shape[2] != n_features:
            fail(where, "validation_data", f"X with {n_features} features (as the training X)", Xv.shape[2])
        return Xv, encode(yv, Xv, lv), lv, self._sample_weight(sv, per_step, *Xv.shape[:2], where, "validation_data[3]")

    @staticmethod
    def _sample_weight(sample_weight, per_step: bool, n: int, T: int, where: str, arg: str = "sample_weight") -> np.ndarray | None:
        """``sample_weight`` of fit or score (or validation_data's, ``arg``) checked: None, or
        float64 (n,), or per step (n, T) too; finite and >= 0 (:func:`~lstmkit._checks.check_sample_weight`).
        Fit's weights that weigh no valid target are the Trainer's to refuse (its
        :class:`~lstmkit.training.UnweighedSamples`, said in fit's name by :meth:`_fit`), score's
        :meth:`_score_weights`'."""
        if sample_weight is None:
            return None
        return check_sample_weight(sample_weight, [(n,), (n, T)] if per_step else [(n,)], where, arg)

    def _score_weights(self, sample_weight, valid: np.ndarray, where: str) -> np.ndarray | None:
        """score's ``sample_weight`` checked as fit's (:meth:`_sample_weight`; per step where the
        scored targets ``valid`` are (n, T)), as the weight of each valid target, (n_valid,) (a
        sequence's weight on each of its steps), or None; refused where they all weigh 0: R² and
        accuracy are their weighted mean, 0/0 (scikit-learn's scores raise there)."""
        s = self._sample_weight(sample_weight, valid.ndim > 1, valid.shape[0], valid.shape[-1], where)
        if s is None:
            return None
        s = np.broadcast_to(s.reshape(s.shape + (1,) * (valid.ndim - s.ndim)), valid.shape)[valid]
        if not s.sum() > 0:
            fail(where, "sample_weight", "a weight > 0 for a valid target (the score is their weighted mean)", "0 for each of them")
        return s

    def _check_X(self, X, lengths, method: str):
        """X and lengths of predict, predict_proba or score (``method``), checked, once per call:
        warns where the padding of X would run through the model (:func:`warn_missing_lengths`)."""
        self._check_fitted(method)
        where = f"{type(self).__name__}.{method}"
        _check_columns(_feature_names(X, where), getattr(self, "feature_names_in_", None), where, "X's columns",
                       "feature_names_in_, the features at fit", "Select X's columns as at fit, e.g. [s[list(est.feature_names_in_)] for s in X].")
        X, lengths = _as_sequences(X, lengths, self.model_.dtype, where)
        if X.shape[2] != self.n_features_in_:
            fail(where, "X", f"{self.n_features_in_} features (as in fit)", f"{X.shape[2]}")
        warn_missing_lengths(self, X, lengths, where, stacklevel=4)  # the line that called predict, predict_proba, score
        return X, lengths

    def _raw_output(self, X, lengths) -> np.ndarray:
        return predict(self.model_, X, lengths, batch_size=max(256, self.fitted_params_["batch_size"]))  # fit's, not set_params' since

    # -- saving -----------------------------------------------------------------------------
    def _json_params(self) -> dict[str, Any]:
        """get_params() as JSON (:func:`json_params`: a Generator seed as None), dtype by name: what
        ``fit`` records as ``fitted_params_`` and ``save`` writes."""
        params = json_params(self.get_params())
        params["dtype"] = np.dtype(params["dtype"]).name
        return params

    def _file_extra(self) -> dict[str, Any]:
        """What the model file keeps beside the weights and the parameters (JSON): the model's
        config, the learned preprocessing (:meth:`_extra`) and the training record (the epochs'
        logs without their times, :func:`file_history`)."""
        return {
            "model_config": self.model_.config(),
            "n_features_in": self.n_features_in_,
            **({"fitted_with_lengths": self.fitted_with_lengths_} if getattr(self, "fitted_with_lengths_", None) is not None else {}),
            **{key: [str(v) for v in getattr(self, key + "_")] for key, _, _ in CSV_COLUMNS if hasattr(self, key + "_")},
            "history": file_history(self.history_),
            "n_epochs": self.n_epochs_,
            "best_epoch": self.best_epoch_,
            **({"validation_indices": None if self.validation_indices_ is None else self.validation_indices_.tolist()}
               if hasattr(self, "validation_indices_") else {}),
            **self._extra(),
        }

    def save(self, path) -> None:
        """Write the fitted estimator to ``path`` (lstmkit model file; atomic; no pickle), with the
        hyper-parameters it was fitted with (``fitted_params_``): a ``set_params`` since is for the
        next fit, and describes neither the model nor its training."""
        self._check_fitted("save")
        save_model(path, type(self).__name__, self.fitted_params_, self.model_.state_dict(), self._file_extra())

    @classmethod
    def load(cls, path):
        """Load an estimator of this class saved with :meth:`save`."""
        from .saving import load

        return load(path, kind=cls.__name__)

    @classmethod
    def _from_model_file(cls, mf, path="", prefix: str = ""):
        """The estimator in ``mf``; any field that disagrees with the weights or with another field
        is refused with a FileFormatError naming it (``prefix`` + its key in ``extra``)."""
        from .io import FileFormatError

        refuse = _refuser(path, prefix)
        try:
            est = cls(**mf.config)
            est._check_params()  # batch_size, ...: used by predict too
            mc = mf.extra["model_config"]
            check_model_config(mc, mf.arrays, path)  # sizes before allocating (modelfile's one rule)
            model = SequenceModel(**mc)
            model.load_state_dict({k: v for k, v in mf.arrays.items()})
            _check_params_match_model(est, model, refuse)
            n_features = mf.extra["n_features_in"]
            if not is_int(n_features) or n_features != model.input_size:
                refuse("n_features_in", f"{model.input_size} (the LSTM's input_size)", repr(n_features))
            est.n_features_in_ = n_features
            est.fitted_with_lengths_ = _extra_flag(mf.extra, "fitted_with_lengths", refuse)
            for key, fits, what in CSV_COLUMNS:  # a CSV's column names ('lstmkit train')
                if key in mf.extra:
                    names = mf.extra[key]
                    if not isinstance(names, list) or not all(isinstance(v, str) for v in names) or not fits(names, n_features):
                        refuse(key, what.format(n=n_features), f"{names!r:.80}")
                    setattr(est, key + "_", np.array(names, dtype=object))
            est._restore_extra(mf.extra, model, refuse)
            _restore_record(est, mf.extra, refuse, epochs=True)
            _restore_validation_indices(est, mf.extra, refuse)
        except FileFormatError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: a label 1e308 as an int64
            raise FileFormatError(f"{path}: expected a valid {cls.__name__} model file, got one that fails to load ({exc}).") from None
        est.model_, est.fitted_params_ = model.eval(), est._json_params()  # eval mode as fit leaves it; the file's parameters
        return est


#: the CSV column names 'lstmkit train' records (attribute = key + "_"): key, whether the names fit
#: a model of n features, and what was expected
CSV_COLUMNS = (
    ("feature_names_in", lambda names, n: len(names) == n, "{n} column names (one per feature, n_features_in)"),
    ("step_columns_in", lambda names, n: bool(names) and n == 1, "column names (a wide CSV's steps, one feature each)"),
)


def _refuser(path, prefix: str = ""):
    """``refuse(field, expected, got)`` raises FileFormatError("<path>: expected <prefix><field> <expected>, got <got>.")."""
    from .io import FileFormatError

    def refuse(field: str, expected: str, got) -> None:
        fail(str(path), prefix + field, expected, got, exc=FileFormatError)

    return refuse


def _extra_flag(extra: dict, key: str, refuse) -> bool | None:
    """A model file's true/false field ``key``; None where the file has none (written before it
    was recorded: unknown)."""
    flag = extra.get(key)
    if key in extra and not isinstance(flag, bool):
        refuse(key, "true or false", repr(flag))
    return flag


def _finite_numbers(v, n: int) -> bool:
    """A JSON list of ``n`` finite numbers (bools are not numbers here)."""
    return isinstance(v, list) and len(v) == n and all(is_number(x) and np.isfinite(x) for x in v)


def _check_params_match_model(est, model: SequenceModel, refuse) -> None:
    """The estimator's parameters that shape the network (those it has) must describe the stored one."""
    cfg = model.config()
    ours = est.get_params()
    if "dtype" in ours:
        ours["dtype"] = np.dtype(ours["dtype"]).name
    ours["lstm_options"] = ours.get("lstm_options") or {}
    for key in ("hidden_size", "num_layers", "cell", "bidirectional", "readout", "dtype", "lstm_options"):
        if key in ours and (ours[key] != cfg[key] or isinstance(ours[key], bool) != isinstance(cfg[key], bool)):
            refuse(f"config {key}", f"{cfg[key]!r} (the stored model's)", repr(ours[key]))


def _restore_per_step(extra: dict, model: SequenceModel, refuse) -> bool:
    """``per_step`` of a model file: true or false, as the model's head reads out (every step or the last)."""
    per_step = extra["per_step"]
    if not isinstance(per_step, bool) or per_step != (model.head_mode == "all"):
        refuse("per_step", f"{model.head_mode == 'all'} (the model reads out head={model.head_mode!r})", repr(per_step))
    return per_step


#: float64's largest, a Python float: a JSON integer beyond it compares as larger (np.float64's comparison overflows)
FLOAT64_MAX = float(np.finfo(np.float64).max)


def file_history(history) -> list[dict]:
    """The epochs' logs of ``history`` (:class:`lstmkit.History`) as a model file keeps them: each
    without its ``"time"`` (the seconds the epoch took, which differ on every run), so that the same
    seed and data write byte-identical files; ``history_`` in memory and checkpoints keep it, and a
    file that has it loads."""
    return [{k: v for k, v in logs.items() if k != "time"} for logs in history.epochs]


def _restore_record(est, extra: dict, refuse, epochs: bool) -> None:
    """``history_`` (a list of JSON objects, one per epoch) and, with ``epochs``, ``n_epochs_`` and
    ``best_epoch_``; a file written before they were saved loads without them."""
    from .training import History

    history = extra.get("history", [])
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        refuse("history", "a list of JSON objects (one per epoch)", f"{history!r:.80}")
    for i, logs in enumerate(history):  # as fit logs them: epoch i + 1, then numbers (loss, metrics, lr, time)
        if "epoch" in logs and (not is_int(logs["epoch"]) or logs["epoch"] != i + 1):
            refuse(f"history[{i}]['epoch']", f"{i + 1} (the epochs are counted from 1)", repr(logs["epoch"]))
        for key, value in logs.items():  # abs() <= float64's largest: no inf, and no integer beyond it
            if value is not None and not (is_number(value) and abs(value) <= FLOAT64_MAX):
                refuse(f"history[{i}][{key!r}]", "a finite number or null (a value fit logged)", f"{value!r:.80}")
    est.history_ = History(history)
    if not epochs:
        return
    if "n_epochs" in extra:
        n = extra["n_epochs"]
        if not is_int(n) or n != len(history):
            refuse("n_epochs", f"{len(history)} (the epochs in history)", repr(n))
        est.n_epochs_ = n
    if "best_epoch" in extra:
        best = extra["best_epoch"]
        if best is not None and (not is_int(best) or not 1 <= best <= len(history)):
            refuse("best_epoch", f"None or an epoch in [1, {len(history)}]", repr(best))
        est.best_epoch_ = best


def _restore_validation_indices(est, extra: dict, refuse) -> None:
    """``validation_indices_``: None, or (with ``validation_split`` > 0) distinct rows >= 0 in
    ascending order, as fit records them; a file written before they were saved loads without."""
    if "validation_indices" not in extra:
        return
    rows = extra["validation_indices"]
    if rows is not None:
        split = est.validation_split
        if not (isinstance(rows, list) and rows and all(is_int(i) and i >= 0 for i in rows) and rows == sorted(set(rows))):
            refuse("validation_indices", "None or distinct rows >= 0 in ascending order (those validation_split held out)", f"{rows!r:.80}")
        if not split:
            refuse("validation_indices", f"None with validation_split={split!r} (no rows held out)", f"{rows!r:.80}")
        rows = np.array(rows, dtype=np.int64)
    est.validation_indices_ = rows


@register
class LSTMClassifier(_SequenceEstimator):
    """Sequence classifier: a label per sequence (y (n,)) or per step (y (n, T)).

    Labels are integers, strings, bools or whole floats (0.0, 1.0), all of one kind. Refused, as
    scikit-learn refuses them: a NaN or inf label (with its index; per step, only within the
    sequence's length), floats with a fraction (continuous targets: use :class:`LSTMRegressor`)
    and a mix of types that cannot be ordered (``['a', 1]``, ``[None, 1]``).

    ``fit(X, y, lengths=None)``; ``predict(X, lengths=None, padding_value=None)`` -> labels (n,)
    or (n, T), ``padding_value`` past each sequence's length; ``predict_proba`` -> (n, C) or
    (n, T, C) with columns in ``classes_`` order, NaN past each sequence's length; ``score`` ->
    accuracy over valid targets. See the module docstring for the hyper-parameters; ``seed`` plays
    the role of scikit-learn's ``random_state``.
    """

    _estimator_type = "classifier"

    @keyword_only
    def __init__(
        self, *, hidden_size=32, num_layers=1, cell="lstm", bidirectional=False, dropout=0.0, readout="linear",
        forget_bias=1.0, lstm_options=None, epochs=50, batch_size=32, optimizer="adam", learning_rate=0.01,
        weight_decay=0.0, clip=5.0, patience=None, validation_split=0.0, bptt=None, seed=None, dtype="float32", verbose=0,
        class_weight=None,
    ):
        self.hidden_size, self.num_layers, self.cell, self.bidirectional = hidden_size, num_layers, cell, bidirectional
        self.dropout, self.readout, self.forget_bias, self.lstm_options = dropout, readout, forget_bias, lstm_options
        self.epochs, self.batch_size, self.optimizer, self.learning_rate = epochs, batch_size, optimizer, learning_rate
        self.weight_decay, self.clip, self.patience, self.validation_split = weight_decay, clip, patience, validation_split
        self.bptt, self.seed, self.dtype, self.verbose, self.class_weight = bptt, seed, dtype, verbose, class_weight

    def fit(self, X, y, lengths=None, validation_data=None, checkpoint=None, resume=False, on_resume=None, sample_weight=None,
            stream=None) -> "LSTMClassifier":
        """Train on X (n, T, F) and labels y (n,) or (n, T). Returns self.

        ``validation_data``: (X, y), (X, y, lengths) or (X, y, lengths, sample_weight) (lengths may
        be None; the weights, as ``sample_weight``, weigh val_loss) to report val_loss/val_accuracy per epoch
        and to drive early stopping (instead of ``validation_split``; without either, ``patience``
        monitors the training loss); its labels must be among the training labels. ``checkpoint``: a path written (atomically) after every epoch.
        ``resume=True``: if it exists, continue from it — with the same data and parameters the
        result is the same, bit for bit, as an uninterrupted fit. ``on_resume``: called with the
        :class:`~lstmkit.training.Trainer` once a resume goes ahead, before its first epoch (as in
        :meth:`Trainer.fit <lstmkit.training.Trainer.fit>`). ``sample_weight``: None, or a weight
        >= 0 per sequence (n,) (or per step (n, T) with labels per step), scikit-learn's and Keras':
        each target's loss weighed by it, times its class weight (as the Trainer's fit takes it;
        the rows ``validation_split`` holds out keep theirs for val_loss). ``stream``: where the
        progress goes when ``verbose`` (a text stream, the Trainer's ``stream``; None:
        ``sys.stdout`` as it stands during the fit)."""
        where = "LSTMClassifier.fit"
        self._check_params()
        stream = check_stream(stream, where)  # (the Trainer's check, in this fit's name)
        dtype = check_dtype(self.dtype, where)
        names = _feature_names(X, where)
        X, lengths = _as_sequences(X, lengths, dtype, where)
        _warn_unscaled(X, lengths, where)
        codes, classes, per_step = self._encode(y, X, lengths, None, None, where)
        valid = scored_targets(per_step, lengths, *X.shape[:2])  # the targets that count
        weights = class_weights(self.class_weight, codes, valid, classes, where)  # (C,) in classes' order
        encode = lambda yv, Xv, lv: self._encode(yv, Xv, lv, classes, per_step, where + " validation_data")[0]  # noqa: E731
        validation = self._validation(validation_data, dtype, X.shape[2], encode, per_step, where, names)
        sample_weight = self._sample_weight(sample_weight, per_step, *X.shape[:2], where)  # (all 0: the Trainer's refusal)
        learned = {"classes_": classes, "per_step_": per_step, "class_weight_": weights}
        head = "all" if per_step else "last"
        return self._fit(X, codes, lengths, "cross_entropy", len(classes), head, ("accuracy",), learned, checkpoint, resume, validation,
                         on_resume, class_weight=None if self.class_weight is None else weights, sample_weight=sample_weight,
                         feature_names=names, stream=stream)

    @staticmethod
    def _encode(y, X, lengths, classes, per_step, where):
        """Labels -> (class indices, classes, per_step). ``classes=None`` learns them from y;
        otherwise a label not among them is an error naming it."""
        n, T = X.shape[:2]
        layouts = f"shape ({n},) (a label per sequence) or ({n}, {T}) (a label per step)"
        if y is None:  # (np.asarray(None): 'got shape ()')
            fail(where, "y", f"labels of {layouts}", "None", "Pass the labels, one per sequence or per step.")
        _refuse_mixed_list(y, where)
        y = np.asarray(_pad_targets(y, lengths, n, T, where, "labels")[0])
        if y.ndim not in (1, 2) or y.shape[0] != n or (y.ndim == 2 and y.shape[1] != T) or (per_step is not None and (y.ndim == 2) != per_step):
            fail(where, "y", layouts, f"shape {y.shape}", RAVEL if y.shape == (n, 1) else "")
        per_step = y.ndim == 2
        valid = scored_targets(per_step, lengths, n, T)
        labels = _check_labels(y, valid, where)  # finite, not continuous, of one kind
        if classes is None:
            if per_step and y.dtype.kind in "biuf" and np.isin(y, (0, 1)).all() and ((y == 1).sum(axis=1) == 1).all():
                warnings.warn(f"{where}: y of shape {y.shape} looks one-hot (0/1 with exactly one 1 in every row); it is read "
                              f"as one label per step (T={T}). For one label per sequence pass y.argmax(1).", LstmkitWarning, stacklevel=3)  # fmt: skip
            classes = np.unique(labels)
            if len(classes) < 2:
                fail(where, "y", "at least 2 distinct classes", f"only {classes.tolist()}")
        else:
            try:
                unseen = np.setdiff1d(labels, classes)
            except TypeError:  # labels of one kind, but not the kind of classes_ (None among 0/1)
                known = classes.tolist()
                unseen = np.array([v for v in labels.tolist() if v not in known], dtype=object)
            if unseen.size:
                fail(where, "y", f"labels seen at fit {classes.tolist()}", f"unseen labels {unseen[:5].tolist()}")
        codes = np.where(valid, np.searchsorted(classes, np.where(valid, y, classes[0])), 0).astype(np.int64)
        return codes, classes, per_step

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """Class probabilities softmax(out), float64, a column per class in ``classes_`` order:
        (n, C) for labels per sequence, (n, T, C) for labels per step.

        Per step, the steps past a sequence's length (``lengths``, or those a list of sequences of
        different lengths leaves) are NaN: no probability (what the model computes there from no
        input would read as one)."""
        X, lengths = self._check_X(X, lengths, "predict_proba")
        proba = self._proba(X, lengths)
        return _blank_padding(proba, lengths, np.nan) if self.per_step_ else proba

    def _proba(self, X, lengths) -> np.ndarray:
        """predict_proba on X and lengths already checked (by the method the user called)."""
        return softmax(self._raw_output(X, lengths).astype(np.float64), axis=-1)

    def predict(self, X, lengths=None, padding_value=None) -> np.ndarray:
        """The most probable label, one of ``classes_``: (n,) for labels per sequence, (n, T) per step.

        Per step with ``lengths`` (or a list of sequences of different lengths), the steps past a
        sequence's length hold ``padding_value``, no label: ``pred[i, :lengths[i]]`` are sequence
        i's labels. None (the default) picks a value that is no class, by the labels' kind:

            integers   -1      floats   NaN      strings   ""
            bools, objects, or a kind whose value above is a class: None (an array of dtype object)

        A value given is used as it is (a class is refused); it widens the labels' dtype to hold
        it (int64 for -1 beside unsigned integers; dtype object for a value of another kind,
        e.g. None or -1 beside strings). Without lengths, and for labels per sequence, nothing is
        padded and ``padding_value`` is not used: the labels have ``classes_``' dtype."""
        X, lengths = self._check_X(X, lengths, "predict")
        return self._labels(self._proba(X, lengths), lengths, padding_value)

    def _predict(self, X, lengths) -> np.ndarray:
        """The most probable label at every step, the padding's too (what ``score`` compares
        within lengths), on X and lengths already checked (by the method the user called)."""
        return self._labels(self._proba(X, lengths))

    def _labels(self, proba: np.ndarray, lengths=None, padding_value=None) -> np.ndarray:
        """:meth:`predict`'s labels from ``proba`` (n[, T], C): ``classes_[proba.argmax(-1)]`` (n[, T])
        (the first of tied classes), with labels per step and ``lengths`` (n,) ``padding_value``
        past each length as predict documents it (without lengths, or per sequence, nothing is
        padded). ``lstmkit predict`` takes its labels with it too, so that the two say the same."""
        labels = self.classes_[proba.argmax(axis=-1)]
        if not self.per_step_ or lengths is None:
            return labels
        value, dtype = _padding_label(self.classes_, padding_value, "LSTMClassifier.predict")
        return _blank_padding(labels.astype(dtype), lengths, value)

    def score(self, X, y, lengths=None, sample_weight=None) -> float:
        """Accuracy: the fraction of valid targets predicted exactly (labels unseen at fit count as
        wrong; a NaN or inf label is refused, as scikit-learn's accuracy_score refuses it).
        ``sample_weight`` (n,), or (n, T) with labels per step: the weighted fraction Σ s [ŷ = y] /
        Σ s, scikit-learn's ``accuracy_score(sample_weight=)`` (a sequence's weight on each of its
        steps)."""
        where = "LSTMClassifier.score"
        X, lengths = self._check_X(X, lengths, "score")
        pred = self._predict(X, lengths)
        y = _pad_targets(y, lengths, *X.shape[:2], where, "labels")[0]
        return self._score_of(pred, y, scored_targets(self.per_step_, lengths, *X.shape[:2]), where, sample_weight)

    def _score_of(self, pred: np.ndarray, y, valid: np.ndarray, where: str, sample_weight=None) -> float:
        """:meth:`score`'s accuracy of ``pred`` (n[, T], labels) against ``y`` after score's checks
        of y (pred's shape; finite where ``valid``, the scored targets (n,) or (n, T)), named
        ``where``: the mean of ``pred == y`` where valid, weighted by ``sample_weight``.
        ``lstmkit predict`` scores with it too, so that the two say the same."""
        y = np.asarray(y)
        if y.shape != pred.shape:
            fail(where, "y", f"shape {pred.shape}", f"shape {y.shape}", RAVEL if y.shape == pred.shape + (1,) else "")
        check_finite_within(y, valid, where, "y", "Drop the samples with missing labels.", "finite labels")
        s = self._score_weights(sample_weight, valid, where)  # None: the plain mean
        return float(np.average((pred == y)[valid], weights=s))

    def _extra(self):
        return {"classes": _json_scalar_list(self.classes_), "classes_dtype": self.classes_.dtype.str, "per_step": self.per_step_,
                "class_weight": self.class_weight_.tolist()}

    def _restore_extra(self, extra, model, refuse):
        """classes_ (one per row of the read-out, sorted, distinct) and per_step_ (the model's head)."""
        code = extra["classes_dtype"]
        dt = np.dtype(code) if isinstance(code, str) else None
        if dt is None or dt.kind not in "biufUO":
            refuse("classes_dtype", "a NumPy dtype of bools, numbers or strings", repr(code))
        classes, C = extra["classes"], model.output_size
        if not isinstance(classes, list) or not all(isinstance(c, (str, int, float)) for c in classes):
            refuse("classes", "a list of labels (strings or numbers)", f"{classes!r:.80}")
        if len(classes) != C:
            refuse("classes", f"{C} labels (one per output of the model's read-out)", f"{len(classes)}: {classes!r:.80}")
        arr = np.array(classes, dtype=dt)
        if arr.tolist() != classes or arr.ndim != 1:
            refuse("classes", f"labels that are {dt.name} values", f"{classes!r:.80}")
        if C < 2 or not np.array_equal(np.unique(arr), arr):
            refuse("classes", "at least 2 distinct labels in sorted order (as fit learns them)", f"{classes!r:.80}")
        self.classes_, self.per_step_ = arr, _restore_per_step(extra, model, refuse)
        self._restore_class_weight(extra, refuse)

    def _restore_class_weight(self, extra, refuse):
        """class_weight_ (C finite numbers >= 0; ones in a file from before it was saved, which was
        trained unweighted) agreeing with the parameter class_weight: ones for None, a dict's weights
        (its keys, strings in JSON, read back as the classes they name; one that names none is
        refused), any weights > 0 for "balanced" (they follow from the labels fit was given)."""
        C, cw = len(self.classes_), self.class_weight
        if isinstance(cw, Mapping):
            named = {k: label_named(str(k), self.classes_) for k in cw}
            if None in named.values():
                unknown = [k for k, c in named.items() if c is None]
                refuse("config class_weight", f"labels that are classes {self.classes_.tolist()!r:.80}", f"{unknown!r:.80}")
            self.class_weight = cw = {named[k]: w for k, w in cw.items()}
        if "class_weight" not in extra:  # a file from before class weights
            if cw is not None:
                refuse("class_weight", f"a list of {C} weights (config class_weight is {cw!r:.40})", "nothing")
            self.class_weight_ = np.ones(C)
            return
        weights = extra["class_weight"]
        ok = isinstance(weights, list) and all(is_number(w) for w in weights)  # JSON numbers (true is none)
        try:
            check_class_weight(weights if ok else [], C, "load", "class_weight")  # the one rule of a weight's range
        except (TypeError, ValueError):
            ok = False
        if not ok or (cw == "balanced" and min(weights) <= 0):
            refuse("class_weight", f"a list of {C} finite numbers {'> 0' if cw == 'balanced' else '>= 0'} (one per class)", f"{weights!r:.80}")
        implied = None if cw == "balanced" else class_weights(cw, np.zeros(0, np.int64), np.zeros(0, bool), self.classes_, "load")
        if implied is not None and weights != implied.tolist():
            refuse("class_weight", f"{implied.tolist()!r:.80} (as config class_weight={cw!r:.40} makes it)", f"{weights!r:.80}")
        self.class_weight_ = np.array(weights, dtype=np.float64)


@register
class LSTMRegressor(_SequenceEstimator):
    """Sequence regressor: y (n,), (n, k), or per step (n, T) / (n, T, k); ``score`` is R².

    ``standardize=True`` trains on (y - mean) / std per output (fitted on the training targets)
    and inverts it on prediction. Of what training reports (the progress lines, the live bar's
    running numbers, ``history_``), ``loss`` and ``val_loss``, the objective, are the MSE of
    those standardised targets, and ``mae`` and ``val_mae`` the MAE in y's units: the mean of
    |ŷ - y| over the valid targets and every output, each output's error scored in its own units
    (a Trainer metric, :func:`~lstmkit.training.mae` with ``scale=y_scale_``), as scikit-learn's
    ``mean_absolute_error`` of the predictions. ``score`` and ``predict`` are in y's units.
    ``per_step``: None infers it from y's shape (module docstring).
    ``predict`` returns the shape of y at fit ((n,), (n, k), (n, T) or (n, T, k)), per step NaN
    past each sequence's length. ``seed`` plays the role of scikit-learn's ``random_state``.
    """

    _estimator_type = "regressor"

    @keyword_only
    def __init__(
        self, *, hidden_size=32, num_layers=1, cell="lstm", bidirectional=False, dropout=0.0, readout="linear",
        forget_bias=1.0, lstm_options=None, epochs=50, batch_size=32, optimizer="adam", learning_rate=0.01,
        weight_decay=0.0, clip=5.0, patience=None, validation_split=0.0, bptt=None, standardize=True, per_step=None,
        seed=None, dtype="float32", verbose=0,
    ):
        self.hidden_size, self.num_layers, self.cell, self.bidirectional = hidden_size, num_layers, cell, bidirectional
        self.dropout, self.readout, self.forget_bias, self.lstm_options = dropout, readout, forget_bias, lstm_options
        self.epochs, self.batch_size, self.optimizer, self.learning_rate = epochs, batch_size, optimizer, learning_rate
        self.weight_decay, self.clip, self.patience, self.validation_split = weight_decay, clip, patience, validation_split
        self.bptt, self.standardize, self.per_step = bptt, standardize, per_step
        self.seed, self.dtype, self.verbose = seed, dtype, verbose

    def _target_layout(self, y: np.ndarray, n: int, T: int, where: str) -> tuple[bool, bool]:
        """(per_step, has_k_axis) for y; raises on shapes that fit no layout."""
        per_step = self.per_step
        if per_step is None:
            per_step = y.ndim == 3 or (y.ndim == 2 and y.shape[1] == T)
        ok = y.shape[:1] == (n,) and (
            (per_step and y.ndim in (2, 3) and y.shape[1] == T) or (not per_step and y.ndim in (1, 2))
        )
        if not ok:
            fail(where, "y", f"shape ({n},), ({n}, k), ({n}, {T}) or ({n}, {T}, k)", f"shape {y.shape} with per_step={per_step}")
        return bool(per_step), y.ndim == (3 if per_step else 2)

    def fit(self, X, y, lengths=None, validation_data=None, checkpoint=None, resume=False, on_resume=None, sample_weight=None,
            stream=None) -> "LSTMRegressor":
        """Train on X (n, T, F) and real targets y (see the class docstring). Returns self.
        ``validation_data``, ``checkpoint``, ``resume``, ``on_resume``, ``sample_weight``, ``stream``:
        as in :meth:`LSTMClassifier.fit` (validation targets are scaled with the training targets'
        mean and std; those are not weighed)."""
        return self._fit_targets(X, y, lengths, validation_data, checkpoint, resume, on_resume, sample_weight=sample_weight,
                                 stream=stream)

    def _fit_targets(self, X, y, lengths=None, validation_data=None, checkpoint=None, resume=False, on_resume=None, mae_as=None,
                     sample_weight=None, stream=None):
        """:meth:`fit`, its MAE logged as ``mae_as`` = (name, scale (n_outputs,)): the name the
        progress lines and ``history_`` give it, and each output's error's factor; None: ("mae",
        y_scale_), the MAE in y's units. The forecaster, which scales y itself (standardize=False
        here), passes its own scales and says what its MAE measures."""
        where = "LSTMRegressor.fit"
        self._check_params()
        stream = check_stream(stream, where)  # (the Trainer's check, in this fit's name)
        dtype = check_dtype(self.dtype, where)
        names = _feature_names(X, where)
        X, lengths = _as_sequences(X, lengths, dtype, where)
        _warn_unscaled(X, lengths, where)
        Z, stats = self._scale(y, X, lengths, None, dtype, where)
        scale = lambda yv, Xv, lv: self._scale(yv, Xv, lv, stats, dtype, where + " validation_data")[0]  # noqa: E731
        per_step = stats["per_step_"]
        validation = self._validation(validation_data, dtype, X.shape[2], scale, per_step, where, names)
        head = "all" if per_step else "last"
        name, scale = ("mae", stats["y_scale_"]) if mae_as is None else mae_as
        metrics = {name: functools.partial(mae, scale=np.asarray(scale, dtype=np.float64))}  # each output in its own units
        sample_weight = self._sample_weight(sample_weight, per_step, *X.shape[:2], where)  # (all 0: the Trainer's refusal)
        return self._fit(X, Z, lengths, "mse", stats["n_outputs_"], head, metrics, stats, checkpoint, resume, validation, on_resume,
                         sample_weight=sample_weight, feature_names=names, stream=stream)

    def _scale(self, y, X, lengths, stats, dtype, where):
        """Targets -> (standardised (n[, T], k) array, stats). ``stats=None`` fits the mean and
        std on y's valid targets (with ``standardize``); otherwise y must have the fitted layout."""
        n, T = X.shape[:2]
        if y is None:  # (np.asarray(None): 'got dtype object')
            fail(where, "y", f"numeric targets of shape ({n},), ({n}, k), ({n}, {T}) or ({n}, {T}, k)", "None",
                 "Pass the targets the model is to learn.")  # fmt: skip
        y, ragged = _pad_targets(y, lengths, n, T, where, "targets")
        if ragged and self.per_step is False:
            fail(where, "y", "one row of targets per sequence with per_step=False", "sequences of targets of different lengths",
                 "Use per_step=None or True for per-step targets.")  # fmt: skip
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            fail(where, "y", "numeric targets", f"dtype {y.dtype}", exc=TypeError)
        per_step, has_k = self._target_layout(y, n, T, where)
        Y = y.astype(np.float64) if has_k else y.astype(np.float64)[..., None]  # (n[, T], k)
        valid = scored_targets(per_step, lengths, n, T)
        check_finite_within(y, valid, where, "y", MISSING_TARGETS)
        if stats is None:
            if self.standardize:
                mean, scale = mean_and_scale(Y[valid])  # (k,) each: NumPy's, neither overflowing nor underflowing
            else:
                mean, scale = np.zeros(Y.shape[-1]), np.ones(Y.shape[-1])
            stats = {"y_mean_": mean, "y_scale_": scale, "per_step_": per_step, "n_outputs_": Y.shape[-1], "y_ndim_": y.ndim}
        elif (per_step, y.ndim, Y.shape[-1]) != (stats["per_step_"], stats["y_ndim_"], stats["n_outputs_"]):
            fail(where, "y", "the layout of the training targets", f"shape {y.shape}")
        Z = np.where(valid[..., None], (Y - stats["y_mean_"]) / stats["y_scale_"], 0.0).astype(dtype)
        return Z, stats

    def predict(self, X, lengths=None) -> np.ndarray:
        """Predictions in y's units and layout at fit, float64: (n,), (n, k), (n, T) or (n, T, k).

        Per step, the steps past a sequence's length (``lengths``, or those a list of sequences of
        different lengths leaves) are NaN: no prediction (what the model computes there from no
        input would read as one)."""
        X, lengths = self._check_X(X, lengths, "predict")
        out = self._predict(X, lengths)
        return _blank_padding(out, lengths, np.nan) if self.per_step_ else out

    def _predict(self, X, lengths) -> np.ndarray:
        """Predictions at every step, the padding's too (what ``score`` compares within lengths),
        on X and lengths already checked (by the method the user called)."""
        out = self._raw_output(X, lengths).astype(np.float64) * self.y_scale_ + self.y_mean_
        if self.y_ndim_ == (2 if self.per_step_ else 1):
            out = out[..., 0]
        return out

    def score(self, X, y, lengths=None, sample_weight=None) -> float:
        """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)², per output over valid targets, averaged over outputs
        (scikit-learn's ``r2_score`` with multioutput="uniform_average"; an output whose targets
        are all equal scores 1.0 if predicted exactly, else 0.0, as its ``force_finite=True``).

        y is checked as ``fit`` checks it: numeric, finite within each sequence's length. For one
        output, a column (n, 1) is read as (n,) and the reverse, as scikit-learn reads y.
        With fewer than 2 valid targets R² is undefined: as ``r2_score``, this warns
        (UserWarning) and returns nan. ``sample_weight`` (n,), or (n, T) with targets per step:
        the weighted R² of scikit-learn's ``r2_score(sample_weight=)`` (a sequence's weight on
        each of its steps)."""
        where = "LSTMRegressor.score"
        X, lengths = self._check_X(X, lengths, "score")
        pred = self._predict(X, lengths)
        y = _pad_targets(y, lengths, *X.shape[:2], where, "targets")[0]
        return self._score_of(pred, y, scored_targets(self.per_step_, lengths, *X.shape[:2]), where, sample_weight)

    def _score_of(self, pred: np.ndarray, y, valid: np.ndarray, where: str, sample_weight=None) -> float:
        """:meth:`score`'s R² of ``pred`` (n[, T][, k], this model's predictions) against ``y`` after
        score's checks of y (numeric; for one output a column (n, 1) read as (n,) and the reverse;
        pred's shape; finite where ``valid``, the scored targets (n,) or (n, T)), named ``where``.
        ``lstmkit predict`` scores with it too, so that the two say the same."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            fail(where, "y", "numeric targets", f"dtype {y.dtype}", exc=TypeError)
        y = y.astype(np.float64)
        if self.n_outputs_ == 1 and y.shape != pred.shape and pred.shape in (y.shape + (1,), y.shape[:-1]) and y.size == pred.size:
            y = y.reshape(pred.shape)  # a column for one output (scikit-learn ravels it)
        if y.shape != pred.shape:
            fail(where, "y", f"shape {pred.shape}", f"shape {y.shape}")
        check_finite_within(y, valid, where, "y", MISSING_TARGETS)
        k = self.n_outputs_
        return r2(y[valid].reshape(-1, k), pred[valid].reshape(-1, k), where, "targets", self._score_weights(sample_weight, valid, where))

    def _extra(self):
        return {
            "y_mean": self.y_mean_.tolist(), "y_scale": self.y_scale_.tolist(),
            "per_step": self.per_step_, "y_ndim": self.y_ndim_,
        }

    def _restore_extra(self, extra, model, refuse):
        """y_mean_, y_scale_ (one per output of the read-out; scales > 0), per_step_ (the model's
        head) and y_ndim_ (a layout fit accepts for them)."""
        k = model.output_size
        for key in ("y_mean", "y_scale"):
            if not _finite_numbers(extra[key], k):
                refuse(key, f"a list of {k} finite numbers (one per output of the model's read-out)", f"{extra[key]!r:.80}")
        if min(extra["y_scale"]) <= 0:
            refuse("y_scale", "values > 0", f"{extra['y_scale']!r:.80}")
        if self.standardize is False:  # fit makes 0 and 1 (y not rescaled); any other was applied to every prediction (1e308: inf)
            for key, value in (("y_mean", 0.0), ("y_scale", 1.0)):  # (in a forecaster's file: regressor.y_mean, ...)
                off = [i for i, v in enumerate(extra[key]) if v != value]
                if off:
                    refuse(key, f"{value} for every output (the regressor does not standardize: standardize false)",
                           f"{float(extra[key][off[0]])!r} at index {off[0]}")  # fmt: skip
        per_step, ndim = _restore_per_step(extra, model, refuse), extra["y_ndim"]
        layouts = {2: "(n, T)", 3: "(n, T, k)"} if per_step else {1: "(n,)", 2: "(n, k)"}
        if k > 1:  # several outputs need y's k axis
            layouts.pop(min(layouts))
        if not is_int(ndim) or ndim not in layouts:
            refuse("y_ndim", f"{' or '.join(map(str, layouts))} (y {' or '.join(layouts.values())}, per_step={per_step}, k={k})", repr(ndim))
        self.y_mean_ = np.array(extra["y_mean"], dtype=np.float64)
        self.y_scale_ = np.array(extra["y_scale"], dtype=np.float64)
        self.per_step_, self.y_ndim_, self.n_outputs_ = per_step, ndim, k
