"""Shared by the commands: option values and output paths checked before any work is done, and
the library's errors in the command line's words.

Argument types (``type=`` of ``add_argument``) refuse a value out of range while the command line is
parsed, naming the option as typed (``lstmkit train: error: argument --lr: expected a number > 0,
got '0'``), so that nothing is read, trained or written first; the library's own checks stay
behind them; :func:`add_check` adds a check of the parsed command line that a type cannot make
(options that do not go together, a rule of the library), run before the command.
:func:`check_outputs` refuses, before a command runs, a path it could not write at the
end: a folder where a file goes, a file where a folder goes, a plot in a format not written.
:func:`name_options` rewrites an error of the library that names its arguments (``learning_rate``)
to name the options (``--lr``); a command lists the classes (or functions) whose errors it rewrites
in ``OWNERS``, the arguments spelled otherwise on its command line in ``OPTIONS``, and, where they
are not the training commands' (:data:`SAME_NAME`), the arguments it takes as flags of the same name
in ``SAME_NAME`` (``convert``: none, so that a file's ``proj_size`` stays the word; :func:`lstmkit.cli.main`).
:func:`record_typed` lets a command tell an option typed from its default, so that
:func:`refuse_with_model` refuses, beside ``--model``, the options a loaded model would ignore.
An optional package that is not installed (rich, matplotlib, torch, ...: pyproject.toml's extras)
is said in one line naming the command, the package and the pip line (:func:`missing_package`);
where the command line tells it needs one (``--plot``, explain's text), before any work
(:func:`require`, exit 2).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

# the optional packages, by module: (the name pip installs it by, the extra that holds it): the
# library's one table, which its own errors for a missing one (lstmkit._checks.optional_import) read too
from .._checks import OPTIONAL, absent_package, not_installed


def integer(minimum: int, maximum: int | None = None, why: str = ""):
    """An argument type: an integer >= ``minimum`` (and <= ``maximum``); ``why`` the range, said
    beside it when a value is refused: ``integer(1, 16, "it is done by hand")``."""
    span = (f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}") + (f" ({why})" if why else "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {text!r}")
        return value

    parse.__name__ = f"integer {span}"
    return parse


def _number(text: str, ok, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def number(text: str) -> float:
    """An argument type: a finite number (an initial bias)."""
    return _number(text, lambda v: True, "a finite number")


def positive(text: str) -> float:
    """An argument type: a finite number > 0 (a learning rate, a temperature, a clipping bound)."""
    return _number(text, lambda v: v > 0, "a number > 0")


def non_negative(text: str) -> float:
    """An argument type: a finite number >= 0 (``--clip``: 0 turns it off)."""
    return _number(text, lambda v: v >= 0, "a number >= 0")


def fraction(text: str) -> float:
    """An argument type: a number in [0, 1) (a dropout rate, a share of the data held out)."""
    return _number(text, lambda v: 0 <= v < 1, "a number in [0, 1)")


def missing_package(command: str, exc: ImportError, what: str = "", instead: str = "") -> str:
    """An ImportError of a package ``command`` needs, in one line (the command line's, no traceback):
    ``train: expected matplotlib installed (to draw --plot), got none. Install it: pip install
    "lstmkit[cli]" (or leave out --plot).`` naming the extra that holds it (:data:`OPTIONAL`; its
    callers pass only what :func:`optional_missing` lets through); ``what``: what it is needed for;
    ``instead``: the other way, without it. A package there that fails to import (a module of it
    missing included: :func:`lstmkit._checks.absent_package`'s rule, the library's) is said with
    Python's words and a reinstall; an ImportError that names no module, nor raised while one failed
    (the library's own words), as it is."""
    exc = _named(exc)
    module = (exc.name or "").partition(".")[0]
    if not module:
        return str(exc)
    assert module in OPTIONAL, f"missing_package: {module!r} is no optional package; filter through optional_missing"
    # not installed by the library's rule (absent_package): a module missing inside an installed package is a broken install
    return not_installed(command, module, what, instead, broken=None if absent_package(exc, (module,)) else exc)


def _named(exc: ImportError) -> ImportError:
    """The ImportError that names the module: ``exc``, or the one an ImportError naming no module
    was raised on (a caller's own words, raised while the package failed to import; the library's
    own say it with ``name=``, :class:`lstmkit._checks.optional_import`)."""
    inner = exc.__cause__ or exc.__context__
    return inner if not exc.name and isinstance(inner, ImportError) and inner.name else exc


def optional_missing(exc: ImportError) -> bool:
    """Whether ``exc`` is an optional package (:data:`OPTIONAL`) failing to import, or the library's
    own words for one (an ImportError naming no module), which :func:`missing_package` says in one
    line. Any other (``import nmupy`` in lstmkit's code, a name gone from NumPy, lstmkit's own
    modules) is a bug whose traceback is the report, not a package to install."""
    module = (_named(exc).name or "").partition(".")[0]
    return not module or module in OPTIONAL


def require(command: str, module: str, what: str, instead: str = "") -> None:
    """Refuse (UsageError, exit 2), before any work, a command line that needs the optional ``module``
    (``"matplotlib.figure"``) where it cannot be imported, in :func:`missing_package`'s words: told
    before the training, not after it (a --plot's figure failed once the model was trained and saved)."""
    import importlib

    try:
        for name in (module.partition(".")[0], module):  # the package first: its part may be loaded, the package gone
            importlib.import_module(name)
    except ImportError as exc:
        if not optional_missing(exc):  # a dependency of the package missing (not one of ours): Python's words
            raise
        from ..cli import UsageError

        raise UsageError(missing_package(command, exc, what, instead)) from None


#: the attribute of the parsed arguments holding the checks :func:`add_check` adds
CHECKS = "_checks"


def add_check(parser: argparse.ArgumentParser, check) -> None:
    """Have :func:`lstmkit.cli.main` call ``check(args)`` once the command line is parsed, before the
    command runs: a refusal of the command line (UsageError, exit 2) that no ``type=`` can make,
    because it reads several options or a rule of the library, comes before anything is read or
    written. Checks run in the order added."""
    parser.set_defaults(**{CHECKS: (*(parser.get_default(CHECKS) or ()), check)})


#: the figure formats ``--plot`` writes, by the file's suffix (as matplotlib's savefig picks them)
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def output_problem(path: str, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written as a file (``folder``: created as a folder), or None.

    A folder where a file goes (or a file where a folder goes), a file among its parents, a
    nearest existing parent this user cannot write to. Nothing is created."""
    p = Path(path)
    if p.exists():
        if p.is_dir() != folder:
            return "a folder" if p.is_dir() else "a file"
        if folder:
            return None if os.access(p, os.W_OK | os.X_OK) else "a folder this user cannot write to"
    for parent in p.parents:  # the nearest that exists (a relative path's last is '.'): the file is made in it
        if parent.exists():
            if not parent.is_dir():
                return f"inside {str(parent)!r}, which is a file"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"in {str(parent)!r}, a folder this user cannot write to"
            return None
    return None


#: why two paths :func:`same_file` finds one file are one, for the refusal's message
ONE_FILE = "which name one file (a link, or names differing only in case on macOS and Windows)"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when the paths ``a`` and ``b`` may name one file, told before either is written: equal
    once resolved and case-normalised (``os.path.normcase``), or in one folder with names equal
    after ``str.casefold()`` on every OS (``ex.toml`` and ``EX.toml`` are one file on macOS' APFS
    and Windows' NTFS, not yet there to compare), or, where both exist, ``os.path.samefile`` (a hard
    link, a symlink, or another case-insensitive file system)."""
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    if os.path.normcase(ra) == os.path.normcase(rb):
        return True
    (da, na), (db, nb) = os.path.split(ra), os.path.split(rb)
    if os.path.normcase(da) == os.path.normcase(db) and na.casefold() == nb.casefold():
        return True
    try:
        return os.path.samefile(ra, rb)
    except (OSError, ValueError):  # one does not exist (yet): told apart by name only
        return False


def check_outputs(command: str, args: argparse.Namespace, outputs: dict) -> None:
    """Refuse the first of ``outputs`` (dest -> (option as typed, kind[, suffixes]), kind "file",
    "figure" or "folder") whose value in ``args`` cannot be written (CommandError: what the disk
    holds, exit 1), or whose suffix is not among those of the format the command writes there (a
    figure's: :data:`FIGURE_SUFFIXES`; UsageError: the command line is wrong whatever the disk
    holds, exit 2); a figure without matplotlib to draw it too (:func:`require`, exit 2)."""
    from .._checks import or_list
    from ..cli import CommandError, UsageError

    for dest, (option, kind, *written) in outputs.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        suffixes = FIGURE_SUFFIXES if kind == "figure" else written[0] if written else None
        wrong = bool(suffixes) and Path(value).suffix.lower() not in suffixes
        problem = output_problem(value, folder=kind == "folder")
        # a file's problem on disk is said first (a folder where a file goes: its name has no suffix to
        # speak of); a figure's suffix first, whatever the disk holds (--plot adir: not a figure's name)
        if wrong and (kind == "figure" or not problem):
            raise UsageError(f"{command}: expected {option} ending in {or_list(suffixes)} (the format written), got {value!r}.")
        if problem:
            what = "a folder to write to" if kind == "folder" else "a file to write"
            raise CommandError(f"{command}: expected {option} {what}, got {value!r}, {problem}.")
        if kind == "figure":  # drawn at the end, by matplotlib: missing, it is said before the work
            require(command, "matplotlib.figure", f"to draw {option}", f"leave out {option}")


#: the attribute of the parsed arguments that :func:`record_typed` fills: dest -> the option as typed
TYPED = "_typed"
_RECORDING: dict[type, type] = {}


def record_typed(parser: argparse.ArgumentParser) -> None:
    """Make each option of ``parser`` note, when it is typed on the command line, its dest and
    the option in ``args._typed`` (read it with :func:`typed_options`), so that a command can
    tell a value typed from its default (``--epochs 100`` from no ``--epochs``), the defaults
    staying argparse's own (and ``--help``'s). Call it after the options are added."""
    for action in parser._actions:  # argparse keeps them there, argument groups' too
        if not action.option_strings or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        cls = type(action)
        if cls not in _RECORDING:

            def __call__(self, parser, namespace, values, option_string=None, _base=cls):
                typed = dict(getattr(namespace, TYPED, None) or {})  # a copy: the default is never changed
                typed.setdefault(self.dest, option_string or self.option_strings[0])
                setattr(namespace, TYPED, typed)
                _base.__call__(self, parser, namespace, values, option_string)

            _RECORDING[cls] = type(cls.__name__, (cls,), {"__call__": __call__, "__doc__": cls.__doc__})
        action.__class__ = _RECORDING[cls]


def typed_options(args: argparse.Namespace, besides=()) -> list[str]:
    """The options typed on the command line (as typed, in order), but those whose dest is in
    ``besides``; every option's parser went through :func:`record_typed`."""
    return [option for dest, option in (getattr(args, TYPED, None) or {}).items() if dest not in besides]


def refuse_with_model(command: str, args: argparse.Namespace, used: tuple[str, ...]) -> None:
    """Raise UsageError (exit 2) when an option that a loaded model does not read (its dest not in
    ``used``) was typed beside ``--model``: it would be ignored without a word. ``--verbose 0`` is
    taken: it asks for no training progress, which a loaded model has none of (a script that keeps
    its logs quiet passes it whether it trains or loads); 1 and 2 ask for lines that never come."""
    from ..cli import UsageError

    quiet = ("verbose",) if getattr(args, "verbose", None) == 0 else ()
    unused = typed_options(args, (*used, *quiet))
    if unused:
        one = len(unused) == 1
        raise UsageError(
            f"{command}: expected {unused[0] if one else 'the training options'} without --model, got "
            f"{'both' if one else ', '.join(unused) + ' with --model'}. A loaded model is not retrained: "
            f"{'it sets' if one else 'they set'} up the training of a new model and would be ignored; leave "
            f"{'it' if one else 'them'} out, or leave out --model to train a new model."
        )


#: the estimators' arguments that the training commands take as flags of the same name (``--hidden-size``
#: for hidden_size, ``--peephole`` for lstm_options' peephole); the others are spelled out in each command's
#: own map (``OPTIONS``)
SAME_NAME = ("hidden_size", "num_layers", "dropout", "epochs", "batch_size", "patience", "validation_split", "window",
             "horizon", "difference", "seq_len", "forget_bias", "proj_size", "gate_clip", "cell_clip", "activations",
             "dropout_input", "dropout_recurrent", "zoneout_cell", "zoneout_hidden", "dropconnect", "top_k", "temperature",
             "length", "clip", "seed", "optimizer", "readout", "cell", "bidirectional", "per_step", "peephole",
             "input_forget", "layer_norm")  # fmt: skip


def option_name(name: str, renamed: dict[str, str] | None = None) -> str:
    """The option that sets the library's argument ``name`` on a command line: ``renamed``'s (a
    command's ``OPTIONS``: learning_rate -> ``--lr``), else the flag of the same name (``proj_size`` ->
    ``--proj-size``), as :data:`SAME_NAME` lists them."""
    return (renamed or {}).get(name) or "--" + name.replace("_", "-")


def name_options(message: str, command: str, owners: tuple[str, ...], renamed: dict[str, str],
                 same_name: tuple[str, ...] = SAME_NAME) -> str | None:
    """A library error's ``message`` in the command line's words, or None when it does not begin with
    one of ``owners``, alone or before a '.' or a space (``"LSTMForecaster.backtest: ..."``,
    ``"to_onnx: ..."``): the where becomes ``command`` and each argument the option typed (``renamed``:
    argument -> option; those of ``same_name`` -> ``--same-name``; any other stays the word) where the
    message uses it as a name (with an underscore, after 'expected ', in a formula; not with a key, as
    ``readout['weight']`` is the read-out's weight, not ``--readout``; ``activations[2]`` is
    ``--activations[2]``), e.g.
    ``forecast: expected --backtest at most N - 13 = 47 (enough training data), got 500.``"""
    import re

    where, sep, rest = message.partition(": ")
    if not sep or not any(where == o or where.startswith((o + ".", o + " ")) for o in owners):
        return None
    options = {name: option_name(name, renamed) for name in (*same_name, *renamed)}

    def option(m: re.Match) -> str:
        name, before, after = m.group(0), rest[: m.start()], rest[m.end() :]
        if after[:2] in ("['", '["'):  # a value's entry (readout['weight'], state_dict['w']): the library's, not an option
            return name  # (an option's item, activations[2], is the option's: --activations[2])
        as_name = "_" in name or before.endswith("expected ") or before[-1:] in ("+", "*") or after[:1] in ("+", "*")
        return options[name] if name in options and as_name else name

    return f"{command}: " + re.sub(r"(?<![\w.-])[a-z]\w*", option, rest)
