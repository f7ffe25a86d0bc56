"""``lstmkit explain``: every number of a worked example, step by step, in the slides' style."""

from __future__ import annotations

import argparse
import os
import sys

from ._options import add_check, integer, require

HELP = "show a worked example (or a model on an input) step by step: gates, c_t, h_t, read-out, BPTT"
EXAMPLE = "lstmkit explain builtin:seed000 --round 1      # by hand, rounded as the slides round"
#: --width's range: narrower wraps the equations' symbols word by word (check's --width too)
WIDTH = (20, 1000)


def file_help(what: str) -> str:
    """FILE's help in explain and check: ``what`` it is, and the built-in examples it may name instead."""
    from .. import worked

    return f"{what}, or a built-in one: {', '.join(worked.full_names())}"


def check_file_name(command: str):
    """A check of FILE for ``command`` (:func:`._options.add_check`): an unknown ``builtin:`` name
    is refused as the command line's (UsageError, exit 2), with the names there are, before anything is read."""

    def check(args: argparse.Namespace) -> None:
        from .. import worked
        from ..cli import UsageError

        try:
            worked.resolve(args.file, command)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    return check


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help=file_help("a worked-example TOML file") + "; or use --model and --input")
    p.add_argument("--model", default=None, help="a trained lstmkit model file (est.save(path)) to explain on --input")
    p.add_argument("--input", default=None, metavar="SEQ",
                   help="with --model: the input sequence, a .npy (T, I) or .csv file, or inline '1,0; 1,0; 0,1'")
    p.add_argument("--format", "-f", dest="fmt", choices=("text", "md", "latex", "html"), default="text",
                   help="output format (default: text, for the terminal)")
    p.add_argument("--form", choices=("steps", "table", "memory"), default="steps",
                   help="steps: equations as seed 000; table: gate tables as seed 001; "
                        "memory: one unit with long/short-term memory as seed 002 (default: steps)")
    p.add_argument("--round", type=integer(0, 10), default=None, metavar="N",
                   help="hand mode: round every intermediate to N decimals (0 to 10) and carry it forward")
    p.add_argument("--digits", type=integer(0, 12), default=3, metavar="D",
                   help="decimals shown for exact numbers (0 to 12; default 3)")
    p.add_argument("--grad", action="store_true", help="add back-propagation through time, step by step")
    p.add_argument("--loss", choices=("xent", "sum_h"), default=None,
                   help="loss for --grad: xent (cross-entropy of the read-out; default with targets) or sum_h (sum of h_T); "
                        "an exercise's file names its own")
    p.add_argument("--example", type=integer(1), default=None, metavar="K", help="only the K-th example of a file with several (1-based)")
    p.add_argument("--width", type=integer(*WIDTH, "terminal columns"), default=None, metavar="W",
                   help=f"terminal width for text ({WIDTH[0]} to {WIDTH[1]}; default: the terminal's)")
    p.add_argument("--out", "-o", default=None, help="write to this file (atomically) instead of standard output")
    p.add_argument("--answers", action="store_true",
                   help="explain an exercise with blanks ('?') too, printing every answer: the answer key, for a teacher "
                        "(by default such a file is refused, as check withholds its blanks' values)")
    add_check(p, check_file_name("explain"))
    add_check(p, check_packages)


def check_packages(args: argparse.Namespace) -> None:
    """The optional package the format needs, before anything is read (:func:`._options.require`, exit 2):
    rich draws text, matplotlib html's figures (md and latex need none)."""
    if args.fmt == "text":
        require("explain", "rich", "to lay out --format text", "use --format md")
    elif args.fmt == "html":
        require("explain", "matplotlib.figure", "to draw --format html's figures", "use --format md or latex")


def color_wanted(stream) -> bool:
    """Whether explain's and check's text on ``stream`` is coloured: on a terminal only, and not
    where the environment asks for none, ``NO_COLOR`` set and not empty (https://no-color.org) or
    ``TERM=dumb`` (or ``unknown``: Emacs' shell, some CI logs), as rich itself reads them."""
    if not stream.isatty() or os.environ.get("NO_COLOR"):
        return False
    return os.environ.get("TERM", "").lower() not in ("dumb", "unknown")


def _select(examples, k, where):
    """The examples of a file, or its ``k``-th (--example K, 1-based); a K past them is a usage error
    (exit 2) in explain as in check: the command line is wrong for this file."""
    from ..cli import UsageError

    if k is None:
        return examples
    if not 1 <= k <= len(examples):
        raise UsageError(f"{where}: expected --example between 1 and {len(examples)} (the examples of the file), got {k}.")
    return [examples[k - 1]]


def blanks(ex) -> int:
    """The entries of ``ex``'s claims left blank ("?"): an exercise's answers still to find."""
    return sum(sum(not w.answered for w in c.entries) if c.entries else int(not c.answered) for c in ex.claims)


def refuse_blanks(examples, path) -> None:
    """CommandError where an example has blanks: explain works out every number, so it would print
    a handed-out exercise's answers, which ``check`` withholds unless ``--answers``; explain asks for it too."""
    from ..cli import CommandError

    n = sum(blanks(ex) for ex in examples)
    if n:
        raise CommandError(f"explain: expected FILE a worked example without blanks ('?'), or --answers, got {path}, an "
                           f"exercise with {n} blank{'s' if n != 1 else ''}: explaining it prints every answer. Grade the answers "
                           f"tried with lstmkit check {path} (it withholds the blanks' values); to see the answers, "
                           "add --answers.")


def _model_example(path, spec):
    from .. import load as load_model
    from ..explain.model import _unwrap, example_from_model, read_sequence

    if not os.path.isfile(path):  # one line in the project's form, not OSError's "[Errno 2] No such file ..."
        from .._checks import fail

        fail("explain", "--model", "an lstmkit model file (.npz, est.save(path) or lstmkit train --model-out)",
             f"{path!r}, which " + ("is a directory" if os.path.isdir(path) else "does not exist"),
             "Give a saved model's path; lstmkit train DATA --model-out MODEL.npz makes one "
             "(the README's 'Explain, check, exercise' has the commands).",
             exc=IsADirectoryError if os.path.isdir(path) else FileNotFoundError)
    model = load_model(path)
    size = getattr(_unwrap(model)[0], "input_size", None)  # --input's numbers a step, checked as it is read
    return example_from_model(model, read_sequence(spec, size))


def run(args: argparse.Namespace) -> int:
    import shutil

    from ..cli import CommandError, UsageError
    from ..explain import explain, load
    from ..io import atomic_write_bytes

    if args.model:
        if args.file or not args.input:
            raise UsageError("explain: expected either a worked-example FILE or --model with --input, got "
                             + ("both" if args.file else "--model without --input") + ".")
        examples = [_model_example(args.model, args.input)]
    elif args.input:  # the sequence a model is run on: without one it would be ignored, or said missing
        raise UsageError("explain: expected --model with --input (the trained model to run on the sequence), got "
                         + (f"--input with the worked-example FILE {args.file}" if args.file else "--input without --model")
                         + ". Add --model MODEL.npz, or leave out --input: a worked example holds its own inputs.")
    elif args.file:
        examples = _select(load(args.file), args.example, "explain")
        if not args.answers:
            refuse_blanks(examples, args.file)
    else:
        raise UsageError("explain: expected a worked-example FILE (or --model and --input), got neither.")
    if args.fmt in ("html", "latex") and len(examples) > 1:
        raise CommandError(f"explain: expected one example for --format {args.fmt} (one page each), got "
                           f"{len(examples)} in {args.file}. Pick one with --example K.")
    to_tty = args.out is None and sys.stdout.isatty()
    width = args.width or (shutil.get_terminal_size((100, 24)).columns if to_tty else 100)
    color = to_tty and args.fmt == "text" and color_wanted(sys.stdout)
    # the symbols an encoding cannot hold (ascii, cp1252) spelled in ASCII, text laid out so; --out: UTF-8
    encoding = None if args.out else getattr(sys.stdout, "encoding", None)
    text = "\n".join(explain(ex, args.fmt, args.form, args.round, args.digits, args.grad, args.loss, width, color,
                             encoding) for ex in examples)
    if args.out:
        data = text.encode("utf-8")
        atomic_write_bytes(args.out, lambda f: f.write(data))
        print(f"written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
