"""Shared by the commands: read sequences and labels from .npz / .npy / .csv with one-line errors.
A data file of another suffix is refused before the command runs (:func:`check_data_suffix`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cli import CommandError, UsageError
from ._options import add_check


def add_data_arguments(p: argparse.ArgumentParser, with_target: bool = True, trained: bool = False) -> None:
    """The data options; ``trained``: the command reads data for a trained model (predict), whose
    CSV columns are the default --features."""
    g = p.add_argument_group("data (.npz arrays, .npy X, or .csv)")
    g.add_argument("--x-key", default="X", help=".npz: name of the (n, T, F) input array (default: X)")
    g.add_argument("--lengths-key", default=LENGTHS_KEY, help=f".npz: name of the optional (n,) lengths array (default: "
                                                            f"{LENGTHS_KEY}; another is looked for, not optional)")
    every = "every column but --group and --target"
    default = (f"the columns the model was trained on ({every} for a model trained on arrays)" if trained
               else f"{every} (a time index too: name the others to leave it out)")  # fmt: skip
    g.add_argument("--features", help=f".csv: comma-separated columns, each step's features (with --group) or the steps "
                                      f"(without); default: {default}")  # fmt: skip
    g.add_argument("--group", help=".csv long layout: column whose value names the sequence of each row (one row per step); "
                   "without it each row is one sequence whose feature columns are its steps")  # fmt: skip
    if with_target:
        g.add_argument("--y-key", default="y", help=".npz: name of the target array (default: y)")
        g.add_argument("--target", help=".csv: the target column")
    add_check(p, lambda args: check_data_suffix(args.data))


#: the name of an .npz's array of lengths by default (--lengths-key): read when there, else none
LENGTHS_KEY = "lengths"

#: the suffixes of the data files :func:`load_sequences` reads
SUFFIXES = (".csv", ".npz", ".npy")


def check_data_suffix(path: str, suffixes: tuple[str, ...] = SUFFIXES, what: str = "file") -> str:
    """``path``'s suffix (lower case), one of ``suffixes`` (the readers'); another is refused as a usage
    error (no reader for it, whatever the file holds), before the file is looked for: ``d.txt: expected
    a .csv, .npz or .npy file, got '.txt'.`` (``what``: the file's name for what it holds)."""
    from .._checks import or_list

    suffix = Path(path).suffix.lower()
    if suffix not in suffixes:
        raise UsageError(f"{Path(path)}: expected a {or_list(suffixes)} {what}, got {suffix or 'no extension'!r}.")
    return suffix


def load_sequences(path: str, args, need_target: bool, numeric_target: bool = False, per_step: bool = False,
                   info: bool = False, features=None):
    """X (n, T, F) float, y or None, lengths or None from ``path``; errors name the file and the key.
    ``info=True`` adds a dict: ``"ids"``, each sequence's name (a long CSV's ``--group`` values, else
    None: its index), and ``"features"``, a CSV's feature column names (else None). ``features``: a
    CSV's feature columns when ``--features`` is not given (a list of names; None: all but
    ``--group``/``--target``). ``path``'s suffix is one read (:func:`check_data_suffix`, run before
    the command)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    y = lengths = None
    about = {"ids": None, "features": None, "steps": None}
    if suffix == ".csv":
        target = getattr(args, "target", None)
        if need_target and target is None:
            raise CommandError(f"{p}: expected --target naming the label column of the CSV, got none.")
        columns = args.features if args.features is not None else features
        try:
            X, y, lengths, about = read_csv_sequences(p, columns, target, args.group, per_step, numeric_target, info=True)
        except KeyError as exc:  # a missing column: when the model chose them, say so and how to choose others
            if args.features is not None or features is None or not any(f"got {f!r}." in str(exc) for f in features):
                raise
            raise CommandError(f"{exc.args[0]} The model was trained on columns {list(features)}; name this file's with --features.") from None
    else:  # .npz or .npy
        from ..tables import array_names, read_array

        if suffix == ".npy":
            X = read_array(p)
            if need_target:
                raise CommandError(f"{p}: expected an .npz holding both {args.x_key!r} and {args.y_key!r} for training, got a single-array .npy.")
        else:
            names = array_names(p) or []  # a damaged, empty or foreign file: one line saying which
            if args.x_key not in names:
                raise CommandError(f"{p}: expected an array named {args.x_key!r} (the inputs), got arrays {names}. Use --x-key.")
            X = read_array(p, args.x_key)
            y_key = getattr(args, "y_key", None)
            if y_key and y_key in names:
                y = read_array(p, y_key)
            elif need_target:
                raise CommandError(f"{p}: expected an array named {y_key!r} (the targets), got arrays {names}. Use --y-key.")
            if args.lengths_key in names:
                lengths = read_array(p, args.lengths_key)
            elif args.lengths_key != LENGTHS_KEY:  # named on the command line: meant to be there
                raise CommandError(f"{p}: expected an array named {args.lengths_key!r} (the lengths, --lengths-key), got "
                                   f"arrays {names}.")  # fmt: skip
        if X.dtype.kind not in "iuf":
            raise CommandError(f"{p}: expected numeric inputs in {args.x_key!r}, got dtype {X.dtype}.")
        X = X.astype(np.float64, copy=False)  # float64 already: no second copy of the data
        if X.ndim == 2:
            X = X[:, :, None]  # (n, T) -> one feature per step
        if X.ndim != 3:
            raise CommandError(f"{p}: expected inputs of shape (n, T, F) or (n, T), got shape {X.shape}.")
        if not np.isfinite(X).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
            raise CommandError(f"{p}: expected finite inputs, got {X[bad]} at index {bad} (NaN/inf in data).")
        if y is not None and y.dtype.kind == "f" and not np.isfinite(y).all():
            raise CommandError(f"{p}: expected finite targets in {args.y_key!r}, got NaN/inf (NaN in data).")
    return (X, y, lengths, about) if info else (X, y, lengths)


def read_csv_sequences(*a, **k):
    from ..tables import read_csv_sequences as f

    return f(*a, **k)


def print_table(rows: list[tuple], header: tuple) -> None:
    """A small aligned table on stdout; a control character in a cell (a class name from the model
    file) shown as its escape, ``\\x1b`` (:func:`~lstmkit._checks.printable`), not sent to the terminal."""
    from .._checks import printable

    cells = [[printable(v) for v in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
