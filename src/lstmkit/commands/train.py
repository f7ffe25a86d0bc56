"""``lstmkit train``: fit an LSTMClassifier or LSTMRegressor on sequences and save it to one file."""

from __future__ import annotations

import argparse
import math
import os
import warnings

import numpy as np

from .._checks import count, printable
from ..cli import CommandError
from ..estimators import LSTMClassifier
from ..losses import check_class_weight
from ._data import add_data_arguments, load_sequences
from ._interrupt import NOTHING_SAVED, interrupted_note
from ._lstm import add_lstm_arguments, add_verbose_argument, lstm_options
from ._options import add_check, fraction, integer, non_negative, option_name, positive

HELP = "train an LSTM classifier or regressor on sequences and save it to one model file"
EXAMPLE = (
    "python -c \"import numpy as np; from lstmkit.datasets import counting_task as c; X, y = c(200, 8, seed=0); "
    "np.savez('count.npz', X=X, y=y)\"\n"
    "  lstmkit train count.npz --per-step --hidden-size 2 --readout identity --epochs 60 --model-out count_model.npz"
)

#: the library's defaults (LSTMClassifier's, LSTMRegressor's: the same), which the options take as theirs (so
#: that the command line and Python agree), but --seed's: 0, so that a run repeats (the estimators' None draws one)
DEFAULTS = LSTMClassifier().get_params()

#: the classes whose errors name their arguments, and those spelled otherwise on this command line:
#: lstmkit.cli shows the options instead (commands._options.name_options)
OWNERS = ("LSTMClassifier", "LSTMRegressor", "LSTM", "RNN")
OPTIONS = {"learning_rate": "--lr", "class_weight": "--class-weight"}

#: the settings a checkpoint records (the estimators' parameters) that an option sets: a resume refused
#: for one names the option (the library names the parameter, load_checkpoint's words; option_name spells
#: it); lstm_options is shown as the flags of its entries (--peephole, --dropout-recurrent 0.2, ...)
FLAGS = frozenset(("hidden_size", "num_layers", "cell", "bidirectional", "dropout", "readout", "forget_bias", "batch_size",
                   "optimizer", "learning_rate", "clip", "patience", "validation_split", "seed", "per_step", "lstm_options",
                   "class_weight"))  # fmt: skip
#: --task as a checkpoint records it: the loss of the estimator it picks
TASKS = {"cross_entropy": "classify", "mse": "regress"}


def class_weight_option(text: str) -> str | dict[str, float]:
    """``--class-weight``: "balanced", or ``LABEL=W,LABEL=W`` -> {label as typed: weight}, each weight a
    finite number >= 0 and each label once (the labels are matched to the data's by :func:`class_weights_of`)."""
    if text == "balanced":
        return text
    form = "'balanced' or LABEL=WEIGHT,LABEL=WEIGHT (the labels as in the data, e.g. rare=5 or 1=5,0=0.5)"
    pairs: dict[str, float] = {}
    for item in text.split(","):
        label, eq, weight = item.rpartition("=")
        label = label.strip()
        try:
            w = float(weight) if eq and label else math.nan
            check_class_weight([w], 1, "train", "--class-weight")  # the library's rule of a weight: finite, >= 0
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {form}, each weight a number >= 0, got {item!r}") from None
        if label in pairs:
            raise argparse.ArgumentTypeError(f"expected each label once, got {label!r} twice")
        pairs[label] = w
    return pairs


def class_weights_of(option, y) -> str | dict | None:
    """``--class-weight`` as the classifier's ``class_weight``: "balanced" or None as they are; a dict's
    labels, typed as text, as the labels of ``y`` they name (``1`` for the integer label 1, ``rare`` for
    the string; :func:`lstmkit.estimators.label_named`), one that names none left as typed for the
    classifier to refuse, naming it."""
    if not isinstance(option, dict):
        return option
    from ..estimators import label_named

    labels = np.unique(np.asarray(y).ravel())
    out = {}
    for text, w in option.items():
        label = label_named(text, labels)
        out[text if label is None else label] = w
    return out


def check_class_weight_task(args: argparse.Namespace) -> None:
    """``--class-weight`` weighs a classifier's classes: refused with ``--task regress`` (UsageError, exit 2)."""
    if args.class_weight is not None and args.task == "regress":
        from ..cli import UsageError

        raise UsageError("train: expected --class-weight with --task classify only (it weighs the classes of a classifier's "
                         "loss), got --task regress. Leave it out to train a regressor.")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="training data: .npz (X, y[, lengths]) or .csv (see --group/--features/--target)")
    p.add_argument("--model-out", required=True, help="where to save the trained model (.npz model file)")
    p.add_argument("--task", choices=("classify", "regress"), default="classify",
                   help="an LSTMClassifier or an LSTMRegressor (default %(default)s)")
    p.add_argument("--per-step", action="store_true",
                   help="targets are per step (y (n, T)), e.g. seed 000's counting task (default: one per sequence)")
    add_data_arguments(p)
    d = DEFAULTS
    h = p.add_argument_group("model and training")
    h.add_argument("--hidden-size", type=integer(1), default=d["hidden_size"], help="LSTM units (default %(default)s)")
    h.add_argument("--num-layers", type=integer(1), default=d["num_layers"], help="stacked layers (default %(default)s)")
    h.add_argument("--cell", choices=("lstm", "rnn"), default=d["cell"], help="LSTM or plain RNN (default %(default)s)")
    h.add_argument("--bidirectional", action="store_true", help="read each sequence both ways (default: one way)")
    h.add_argument("--dropout", type=fraction, default=d["dropout"], help="between layers (--num-layers > 1; default %(default)s)")
    h.add_argument("--readout", choices=("linear", "identity"), default=d["readout"],
                   help="identity: y_t = softmax(h_t) as in seed 000 (default %(default)s)")
    h.add_argument("--epochs", type=integer(0), default=d["epochs"], help="training epochs (default %(default)s)")
    h.add_argument("--batch-size", type=integer(1), default=d["batch_size"], help="sequences per update (default %(default)s)")
    h.add_argument("--optimizer", choices=("adam", "adamw", "sgd", "rmsprop"), default=d["optimizer"], help="update rule (default %(default)s)")
    h.add_argument("--lr", type=positive, default=d["learning_rate"], help="learning rate (default %(default)s)")
    h.add_argument("--clip", type=non_negative, default=d["clip"],
                   help="clip the gradients' global norm to this before each update: ON by default, at %(default)s "
                        "(Keras and PyTorch do not clip unless asked); 0 turns it off")  # fmt: skip
    h.add_argument("--patience", type=integer(0), default=d["patience"],
                   help="early stopping: stop after this many epochs without improvement and save the best epoch's "
                        "weights; it watches val_loss with --validation-split, else the training loss (default: off)")  # fmt: skip
    h.add_argument("--validation-split", type=fraction, default=d["validation_split"],
                   help="fraction of the sequences held out at random, scored as val_loss, ... (default %(default)s)")
    h.add_argument("--class-weight", type=class_weight_option, default=d["class_weight"], metavar="balanced|LABEL=W,...",
                   help="weigh each class in the loss (not in the accuracy), as scikit-learn's class_weight: balanced "
                        "(n_samples / (n_classes * the class's count)) or LABEL=W,LABEL=W with the labels as in the data, "
                        "a class left out weighing 1; --task classify only (default: none, every target weighs 1)")  # fmt: skip
    add_check(p, check_class_weight_task)
    h.add_argument("--seed", type=int, default=0, help="random seed: the same seed and data give the same weights (default %(default)s)")
    add_verbose_argument(h)
    h.add_argument("--checkpoint", metavar="PATH",
                   help="write a checkpoint here after every epoch (atomically); if it exists, resume from it "
                        "(run the same command again after an interruption: the same weights as without one)")
    h.add_argument("--plot", metavar="FIGURE", help="write the learning curves (loss and accuracy or MAE per epoch, "
                                                      "validation beside training) to this .png, .pdf or .svg (matplotlib)")
    add_lstm_arguments(p)


def epochs_run(est, args) -> str:
    """'epochs 50, final loss 0.2509'; with --patience, when the weights saved are not the last
    epoch's (early stopping keeps the best), which epoch's they are and its loss: 'epochs 10 (stopped
    early), the weights of epoch 7 saved, the best (val_loss 0.2811, loss 0.3012)'. The accuracies
    after it are those of the weights saved."""
    epochs = est.history_.epochs
    if not epochs:
        return f"epochs {est.n_epochs_}, no training (0 epochs)"
    best = est.best_epoch_
    if args.patience is None or best is None or best == est.n_epochs_:  # the last epoch's weights are those saved
        return f"epochs {est.n_epochs_}, final loss {epochs[-1]['loss']:.4f}"
    kept = epochs[best - 1]
    watched = f"val_loss {kept['val_loss']:.4f}, loss {kept['loss']:.4f}" if "val_loss" in kept else f"loss {kept['loss']:.4f}"
    stopped = " (stopped early)" if est.n_epochs_ < args.epochs else ""
    return f"epochs {est.n_epochs_}{stopped}, the weights of epoch {best} saved, the best ({watched})"


def _number(w: float) -> str:
    """A weight as short as it reads back the same: 5, 0.5, 1e-08; 5.000001 (not :g's 5)."""
    short = f"{w:g}"
    return short if float(short) == w else repr(float(w))


def _as_typed(name: str, value, missing: bool = False) -> str:
    """A setting's value as its options are typed: ``--lr 0.01``, ``--bidirectional`` /
    ``no --bidirectional``, ``--clip 0`` for no clipping, ``lstm_options`` as its flags
    (``--peephole --dropout-recurrent 0.2``, ``no LSTM options``); ``missing``: a side without it."""
    if name == "class_weight":  # as typed: --class-weight balanced, --class-weight rare=5,common=1 (missing: not given)
        if missing or value is None:
            return "no --class-weight"
        return "--class-weight " + (",".join(f"{k}={_number(w)}" for k, w in value.items()) if isinstance(value, dict) else str(value))
    if missing:
        return f"no {name} setting"
    if name == "lstm_options":
        if not isinstance(value, dict):
            return "no LSTM options" if not value else f"LSTM options {value}"
        if not value:
            return "no LSTM options"
        flags = []
        for key, v in value.items():
            flag = option_name(key)
            if key == "activations" and isinstance(v, (list, tuple)):  # [name or [name, alpha, ...]] * 3, as --activations reads it
                v = ",".join(":".join(str(p) for p in a) if isinstance(a, (list, tuple)) else str(a) for a in v)
            flags.append(flag if v is True else f"{flag} {v}")
        return " ".join(flags)
    flag = option_name(name, OPTIONS)
    if isinstance(value, bool) or (name == "per_step" and value is None):
        return flag if value else f"no {flag}"
    if value is None:
        return {"clip": f"{flag} 0", "forget_bias": f"{flag} none"}.get(name, f"no {flag}")
    return f"{flag} {value}"


def resume_refused(exc, path: str, command: str = "train", flags=FLAGS, tasks=TASKS) -> str | None:
    """load_checkpoint's refusal (:class:`~lstmkit.checkpoint.ResumeRefused`) of ``path`` in the words
    of the command ``command`` (``--lr``, not ``learning_rate``; another loss as another ``--task``,
    ``tasks``: {loss: task}), or None where it names none of its options (other data): --epochs below
    those run, or a setting among ``flags`` (train's and generate's own sets) recorded otherwise."""
    from ..checkpoint import afresh as how

    afresh = how(path, "--checkpoint")  # how to, not only that one may
    fix = f"Resume with the same options (only --epochs may grow), or {afresh}."
    if exc.reason == "epochs":
        return (f"{command}: the checkpoint {path} has run {exc.epoch} epochs already, got --epochs {exc.epochs}. Give "
                f"--epochs {exc.epoch} or more to go on, or {afresh}.")  # fmt: skip
    if exc.reason == "settings" and exc.setting == "loss" and exc.recorded in tasks and exc.current in tasks:
        was, got = tasks[exc.recorded], tasks[exc.current]
        return (f"{command}: the checkpoint {path} was written with --task {was}, got --task {got}. Resume with --task "
                f"{was}, or {afresh}.")  # fmt: skip
    if exc.reason != "settings" or exc.setting not in flags:
        return None
    name = exc.setting
    was = _as_typed(name, exc.recorded, "recorded" in exc.missing)
    got = _as_typed(name, exc.current, "current" in exc.missing)
    return f"{command}: the checkpoint {path} was written with {was}, got {got}. {fix}"


def fit_resuming(est, X, y, lengths, path: str, epochs: int) -> None:
    """``est.fit`` resumed from the checkpoint ``path`` (it exists), which the fit reads once: once it
    has loaded it and made every check of a resume (settings, data, epochs), before the first epoch,
    'resuming ...' is printed (the fit's ``on_resume``); a refusal comes before anything is said,
    naming the options. The fit's warnings are recorded: those given before 'resuming' (features far
    from unit scale, ...) are shown after it, any given by the epochs after the fit, and none with a
    refusal: a refused command says one line."""
    from ..checkpoint import ResumeRefused

    show = warnings.showwarning  # the command's way of showing a warning, outside the recording

    def replay(records: list) -> None:
        for w in records:
            show(w.message, w.category, w.filename, w.lineno, w.file, w.line)
        records.clear()

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:

            def resumed(trainer) -> None:
                print(f"resuming from the checkpoint {path}: {count(trainer.epoch, 'epoch')} of {epochs} done")
                replay(caught)

            est.fit(X, y, lengths, checkpoint=path, resume=True, on_resume=resumed)
    except ResumeRefused as exc:
        caught.clear()
        message = resume_refused(exc, path)
        if message is None:
            raise
        raise CommandError(message) from None
    finally:
        replay(caught)


def shown(names, most: int = 12) -> str:
    """Column names as a list to read: all of them, or the first and last few of many."""
    names = [str(n) for n in names]
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[: most - 2])}, ..., {names[-1]} ({len(names)} columns)"


def scores(est, X, y, lengths, args) -> str:
    """'training accuracy 0.8600' (R² for a regressor) on the rows trained on, and with
    ``--validation-split`` the same on the rows the fit held out (``validation_indices_``), as
    Keras reports accuracy and val_accuracy."""
    name = "R²" if args.task == "regress" else "accuracy"
    rows = est.validation_indices_
    if rows is None:
        return f"training {name} {est.score(X, y, lengths):.4f}"
    held = np.zeros(len(X), dtype=bool)
    held[rows] = True

    def score(mask):
        return est.score(X[mask], y[mask], None if lengths is None else lengths[mask])

    return (f"training {name} {score(~held):.4f} ({count(int((~held).sum()), 'sequence')}), validation {name} "
            f"{score(held):.4f} ({int(held.sum())} held out by --validation-split {args.validation_split:g})")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..estimators import LSTMClassifier, LSTMRegressor

    regress = args.task == "regress"
    X, y, lengths, about = load_sequences(args.data, args, need_target=True, numeric_target=regress, per_step=args.per_step, info=True)
    cls = LSTMRegressor if regress else LSTMClassifier
    est = cls(
        hidden_size=args.hidden_size, num_layers=args.num_layers, cell=args.cell, bidirectional=args.bidirectional,
        dropout=args.dropout, readout=args.readout, forget_bias=args.forget_bias, lstm_options=lstm_options(args),
        epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, learning_rate=args.lr, clip=args.clip or None, patience=args.patience,
        validation_split=args.validation_split, seed=args.seed, verbose=args.verbose,
    )  # fmt: skip
    if regress:
        est.set_params(per_step=bool(args.per_step))
    else:
        est.set_params(class_weight=class_weights_of(args.class_weight, y))
    try:
        if args.checkpoint and os.path.exists(args.checkpoint):
            fit_resuming(est, X, y, lengths, args.checkpoint, args.epochs)
        else:
            est.fit(X, y, lengths, checkpoint=args.checkpoint)
    except KeyboardInterrupt:  # also inside a compiled kernel (Trainer.fit raises the interrupt itself)
        note = interrupted_note(args.checkpoint, args.epochs) if args.checkpoint else NOTHING_SAVED
        raise KeyboardInterrupt(note) from None
    if about["features"] is not None:  # a CSV's columns: 'lstmkit predict' reads the same ones by default
        est.feature_names_in_ = np.array(about["features"], dtype=object)
    if about["steps"] is not None:  # a wide CSV's step columns: the same
        est.step_columns_in_ = np.array(about["steps"], dtype=object)
    est.save(args.model_out)
    print(f"trained {cls.__name__} on {count(len(X), 'sequence')} of up to {count(X.shape[1], 'step')}, {count(X.shape[2], 'feature')}")
    if about["features"] is not None:  # a long CSV's columns read as inputs: a time index among them is seen here
        print(printable(f"features: {shown(about['features'])}"))  # (names from the file: control characters escaped)
    elif about["steps"] is not None:
        print(printable(f"steps (a row per sequence): {shown(about['steps'])}"))
    if args.class_weight is not None:  # the weights the loss used (balanced: computed from the labels)
        print(printable("class weights: " + ",".join(f"{c}={w:.4g}" for c, w in zip(est.classes_.tolist(), est.class_weight_.tolist()))))
    print(f"{epochs_run(est, args)}, {scores(est, X, y, lengths, args)}")
    print(f"model saved to {args.model_out}")
    if args.plot:
        if est.history_.epochs:
            est.history_.plot(args.plot, title=f"{cls.__name__}, {args.data}")
            print(f"learning curves written to {args.plot}")
        else:
            print(f"no learning curves to write to {args.plot}: no epoch has run")
    return 0
