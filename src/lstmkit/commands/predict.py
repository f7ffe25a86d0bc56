"""``lstmkit predict``: load a saved classifier or regressor and predict on new sequences."""

from __future__ import annotations

import argparse
import csv
import io
import warnings

import numpy as np

from .._checks import a_or_an, count
from ..cli import CommandError
from ..estimators import MissingLengthsWarning, scored_targets, warn_missing_lengths
from ._data import add_data_arguments, load_sequences, print_table

HELP = "predict with a saved LSTM classifier or regressor (and score it when targets are given)"
EXAMPLE = "lstmkit predict count_model.npz count.npz --out predictions.csv   (after the 'lstmkit train' example)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a model file written by 'lstmkit train' (or an estimator's save())")
    p.add_argument("data", help="inputs: .npz (X[, y, lengths]), .npy (X) or .csv")
    p.add_argument("--out", help="write the predictions to this CSV: one row per sequence (per valid step for a "
                                 "per-step model), named by its --group value or its index; a classifier adds "
                                 "each class's probability")  # fmt: skip
    add_data_arguments(p, trained=True)


def prediction_table(est, pred, proba, names, lengths, per_step: bool) -> tuple[list[str], list[list[str]]]:
    """The header and rows of ``predict --out``.

    pred: the estimator's predictions, (n,) or (n, O) per sequence, (n, T) or (n, T, O) per step;
    proba: a classifier's probabilities, pred's shape plus (K,), or None; names: the sequences'
    names (n,) or None (their indices); lengths (n,) or None: a per-step model's rows stop at each
    sequence's last valid step (``per_step``: the model predicts at every step). Columns:
    ``sequence``, ``step`` (per step), ``prediction`` (``prediction_0`` .. for O outputs), then
    ``proba_<class>`` for each class.
    """
    n_out = 1 if pred.ndim == (2 if per_step else 1) else pred.shape[-1]
    header = ["sequence", *(["step"] if per_step else []), *(["prediction"] if n_out == 1 else [f"prediction_{j}" for j in range(n_out)])]
    if proba is not None:
        header += [f"proba_{c}" for c in est.classes_]
    ids = [str(v) for v in names] if names is not None else [str(i) for i in range(len(pred))]

    def row(key, p, q):
        return [*key, *(str(v) for v in np.ravel(p))] + ([] if q is None else [f"{v:.6g}" for v in q])

    rows = []
    for i in range(len(pred)):
        if per_step:
            T = pred.shape[1] if lengths is None else int(lengths[i])
            rows += [row((ids[i], str(t)), pred[i, t], None if proba is None else proba[i, t]) for t in range(T)]
        else:
            rows.append(row((ids[i],), pred[i], None if proba is None else proba[i]))
    return header, rows


def labels_as_classes(y, classes: np.ndarray, valid: np.ndarray, where) -> np.ndarray:
    """``y`` with each label that counts (``valid``, as ``score`` counts them:
    :func:`lstmkit.estimators.scored_targets`) replaced by the class it names, in the classes' dtype,
    so that scoring compares what the unseen-label check compared: labels match classes as text,
    numbers by value (the integer 1 of an .npz names the class '1' of a model trained on a CSV, and
    the text '1' or '1.0' the class 1); such a label naming no class is refused, the classes and
    labels shown as they are (integers as integers). The rest, padding past a sequence's length
    (-1, say), is neither read nor refused: it holds the first class, which score ignores."""
    from ..tables import label_key

    y = np.asarray(y)
    by_name = {label_key(c): c for c in classes}
    values, inverse = np.unique(y[valid], return_inverse=True)
    names = [label_key(v) for v in values]
    unseen = [v for v, n in zip(values.tolist(), names) if n not in by_name]
    if unseen:
        raise CommandError(f"{where}: expected labels seen at fit {classes.tolist()}, got unseen labels {unseen[:5]}.")
    out = np.full(y.shape, classes[0], dtype=classes.dtype)
    out[valid] = np.array([by_name[n] for n in names], dtype=classes.dtype)[inverse.ravel()]
    return out


def predict_and_score(est, X: np.ndarray, y, lengths) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """``(est.predict(X, lengths), est.predict_proba(X, lengths) or None for a regressor,
    est.score(X, y, lengths) or None without y)`` from one pass of the model over X, where calling
    the three ran it three times (helper-203 #4).

    X (n, T, F); lengths (n,) or None; y None or checked by :func:`check_targets` (a classifier's
    as :func:`labels_as_classes` gives them: every valid label a class). A classifier's labels are
    ``classes_[proba.argmax(-1)]``, as its predict takes them (the first of tied classes), past a
    sequence's length (per step, with lengths) its predict's padding label (its ``_labels``); its
    accuracy is score's ``mean(pred == y)`` over :func:`~lstmkit.estimators.scored_targets`, after
    score's checks of y (its ``_score_of``). A regressor's R² is
    score's :func:`~lstmkit.estimators.r2` of the valid targets, after score's checks of y (numeric, a
    column for one output read as (n,), finite within each length: its ``_score_of``)."""
    valid = scored_targets(est.per_step_, lengths, *X.shape[:2])  # (n,) or (n, T): the targets score counts
    if type(est).__name__ == "LSTMRegressor":
        pred = est.predict(X, lengths)  # (n[, T][, k]) float64, NaN past each length (per step)
        if y is None:
            return pred, None, None
        return pred, None, est._score_of(pred, y, valid, "LSTMRegressor.score")  # score's checks and words
    proba = est.predict_proba(X, lengths)  # (n[, T], C) float64, NaN past each length (per step)
    labels = est._labels(proba, lengths)  # (n[, T]) predict's: its padding label past each length (per step)
    if y is None:
        return labels, proba, None
    # score's: every step's label (a row of NaN, padding, gives classes_[0], not scored), its checks and words
    return labels, proba, est._score_of(est._labels(proba), y, valid, "LSTMClassifier.score")


def check_targets(y, X, per_step: bool, regress: bool, where) -> None:
    """Refuse targets whose shape is not the model's: (n, T) per step (a regressor's (n, T, O) too),
    (n,) per sequence (a regressor's (n, O) too)."""
    n, T = X.shape[:2]
    shape = np.shape(y)
    ok = shape[:2] == (n, T) if per_step else shape[:1] == (n,)
    ndim = (2, 3) if per_step and regress else (2,) if per_step else (1, 2) if regress else (1,)
    if not ok or len(shape) not in ndim:
        want, other = (f"({n}, {T})", "one per sequence") if per_step else (f"({n},)", "one per step")
        what = "at every step" if per_step else "one value per sequence"
        got = f" ({other})" if len(shape) == (1 if per_step else 2) and shape[0] == n else ""
        raise CommandError(f"{where}: expected targets of shape {want} (the model predicts {what}), got shape {shape}{got}. "
                           f"Score it on data with targets like those it was trained on, or leave them out (--y-key, --target).")  # fmt: skip


#: the kinds of model file predict runs
ESTIMATORS = ("LSTMClassifier", "LSTMRegressor")
#: how to run a converted .npz in Python, by its kind (convert's output line names the kind)
RUN_NPZ = {
    "module": "lstmkit.read_lstm({path!r}).predict(x) (an LSTM or RNN, with its read-out if it has one)",
    "SequenceModel": "out, _ = lstmkit.load({path!r})(x) (x (B, T, I), batch first)",
}


def other_model(path) -> str | None:
    """What ``predict`` says about ``path`` when it is not a classifier's or regressor's file but a
    model all the same (a module or SequenceModel .npz as 'lstmkit convert' writes, a text
    generator's or forecaster's, a .pt, .keras or .onnx file): how to run it. None when it is none
    of these (the load's own error stands)."""
    from ..io import FileFormatError
    from ..modelfile import MODULE_KINDS, read_model
    from .convert import FORMATS, TITLES

    name = str(path)
    fmt = next((f for suffix, f in FORMATS.items() if name.lower().endswith(suffix)), None)
    head = "predict: expected MODEL a classifier's or regressor's file (written by 'lstmkit train' or an estimator's save()), got"
    if fmt not in (None, "lstmkit"):
        npz = name[: name.lower().rindex(".weights.h5" if name.lower().endswith(".weights.h5") else ".")] + ".npz"
        return (f"{head} {a_or_an(TITLES[fmt])} file {name!r}. To run it, convert it, 'lstmkit convert {name} {npz}', and run "
                f"the .npz in Python: {RUN_NPZ['module'].format(path=npz)}, or for a SequenceModel (as convert's output says) "
                f"{RUN_NPZ['SequenceModel'].format(path=npz)}.")  # fmt: skip
    try:
        kind = read_model(path).kind
    except (FileFormatError, OSError):
        return None
    if kind in MODULE_KINDS or kind == "SequenceModel":
        run_it = RUN_NPZ["module" if kind in MODULE_KINDS else kind].format(path=name)
        return f"{head} {a_or_an(kind)} file {name!r} (a network without an estimator's classes or scaling). Run it in Python: {run_it}."
    command = {"TextGenerator": "generate", "LSTMForecaster": "forecast"}.get(kind)
    if command is not None:
        return f"{head} {a_or_an(kind)}'s file {name!r}. Run it with 'lstmkit {command} {name} ...'."
    return None


def missing_lengths_words(args: argparse.Namespace, n: int, T: int) -> tuple[str, str]:
    """What :func:`~lstmkit.estimators.warn_missing_lengths` says of the data file read (``args.data``,
    a .npz, .npy or wide CSV of ``n`` sequences of ``T`` steps; a long CSV's lengths are its groups'
    rows) in the command line's words: (how it comes without lengths, the option or file layout that
    gives them), where the library's advice names Python's arguments (``lengths=``), which the
    command line has not."""
    data, suffix = str(args.data), str(args.data).lower().rsplit(".", 1)[-1]
    if suffix == "npz":
        from ..tables import array_names

        return (f"{data} comes with no lengths (no array {args.lengths_key!r} among {array_names(data)})",
                f"Add to {data} an array {args.lengths_key!r} of each sequence's number of valid steps, ({n},) integers "
                f"({T} for every sequence if the zeros are data), or name the .npz's array of lengths with "
                f"--lengths-key.")  # fmt: skip
    if suffix == "npy":
        return (f"{data} comes with no lengths (a .npy)",
                f"A .npy holds X only: save it in an .npz beside an array of each sequence's number of valid steps "
                f"({T} for every sequence if the zeros are data), as arrays {args.x_key!r} and {args.lengths_key!r} "
                f"(or name them with --x-key, --lengths-key).")  # fmt: skip
    # a wide CSV: every row (sequence) has every step column
    return (f"{data} comes with no lengths (a wide CSV, a row per sequence)",
            f"A wide CSV gives every sequence all {T} steps: for sequences of different lengths use the long layout, "
            f"a row per step and a column naming each row's sequence, read with --group COLUMN.")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..io import FileFormatError
    from ..saving import load

    try:
        est = load(args.model, kind=ESTIMATORS)
    except FileFormatError:
        hint = other_model(args.model)
        if hint is None:
            raise
        raise CommandError(hint) from None
    regress = type(est).__name__ == "LSTMRegressor"
    per_step = bool(getattr(est, "per_step_", False)) or getattr(est.model_, "head_mode", "last") == "all"
    trained_on = getattr(est, "feature_names_in_", None)  # a CSV's feature columns at fit ('lstmkit train')
    if (trained_on is not None and args.group is None and args.features is None
            and str(args.data).lower().endswith(".csv")):  # fmt: skip
        raise CommandError(f"{args.data}: expected --group naming the column that tells the sequences apart (the model was "
                           f"trained on a long CSV, a row per step, with columns {list(trained_on)}), got none.")  # fmt: skip
    if args.group is None and getattr(est, "step_columns_in_", None) is not None:
        trained_on = est.step_columns_in_  # a wide CSV's step columns at fit
    X, y, lengths, about = load_sequences(args.data, args, need_target=False, numeric_target=regress, per_step=per_step,
                                          info=True, features=None if trained_on is None else list(trained_on))  # fmt: skip
    if X.shape[2] != est.n_features_in_:
        hint = ""
        if args.group is None and getattr(est, "feature_names_in_", None) is not None:
            hint = " The model was trained on a long CSV (a row per step): name its sequence column with --group."
        raise CommandError(f"{args.data}: expected {est.n_features_in_} features per step (as at fit), got {X.shape[2]}.{hint}")
    if y is not None:  # before anything is computed or printed
        check_targets(y, X, per_step, regress, args.data)
        if not regress:
            y = labels_as_classes(y, est.classes_, scored_targets(est.per_step_, lengths, *X.shape[:2]), args.data)
    if lengths is None and args.group is not None and str(args.data).lower().endswith(".csv"):
        # a long CSV's lengths are its groups' rows, here all T: a last step of zeros is data, not padding
        lengths = np.full(len(X), X.shape[1])
    # the library's warning where X looks padded and has no lengths, once, in the command's words (made only if it
    # is given: for an .npz they read its names again)
    warn_missing_lengths(est, X, lengths, "predict", model=args.model, words=lambda: missing_lengths_words(args, *X.shape[:2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingLengthsWarning)  # said above, in the command line's words
        pred, proba, accuracy = predict_and_score(est, X, y, lengths)
    header, rows = prediction_table(est, pred, proba, about["ids"], lengths, per_step)
    what = count(len(rows), "prediction") + (f" for {count(len(pred), 'sequence')}" if len(rows) != len(pred) else "")
    if args.out:
        from ..io import atomic_write_bytes

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])  # quotes a name holding a comma
        atomic_write_bytes(args.out, lambda f: f.write(buf.getvalue().encode("utf-8")))
        print(f"{what} written to {args.out}")
    else:
        print_table([tuple(r) for r in rows[:20]], tuple(header))
        if len(rows) > 20:
            print(f"... ({what}; use --out to write them all)")
    if y is not None:
        name = "R²" if regress else "accuracy"
        print(f"{name} on {args.data}: {accuracy:.4f}")
    return 0
