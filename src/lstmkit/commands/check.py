"""``lstmkit check``: compare a worked example's claimed numbers with the computation.

Exit status: 0 when every claim agrees, 1 when some claim is wrong (or left blank), 2 when the file
cannot be read as claims (no such file, not TOML, a claim in a form it does not take: "0,98") or
the command line is wrong, so that a grader tells a wrong answer from an unreadable one.

``--format json`` is strict JSON (no ``Infinity`` or ``NaN`` tokens, which jq, JavaScript and strict
parsers refuse): a list with one object per example (``title``, ``ok``, ``summary``, ``findings``),
each finding an object of fixed keys. A value is a number, a string (a claim as written: ``"?"``
for a blank) or null where there is none (no value by hand, no unit); a value that is not a finite
number (weights so large that a product overflows) is the string ``"Infinity"``, ``"-Infinity"`` or
``"NaN"``, which Python's ``float()`` and JavaScript's ``Number()`` read back.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import sys

from ._options import add_check, integer, require
from .explain import WIDTH, check_file_name, color_wanted, file_help

HELP = ("check the claimed numbers of a worked example (or a filled-in exercise); exit 1 if any is wrong, "
        "2 if the file cannot be read as claims")
EXAMPLE = "lstmkit check builtin:seed000"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=file_help("a worked-example TOML file with [[claims]]"))
    p.add_argument("--all", action="store_true", help="list every checked value, not only the problems and notes")
    p.add_argument("--answers", action="store_true",
                   help="show the expected values of blank answers ('?') too: the answer key, for a teacher (by default "
                        "they are withheld, so that a student can check a handed-out exercise, blank or partly filled in, "
                        "without seeing its answers; answers tried keep their values)")
    p.add_argument("--format", "-f", dest="fmt", choices=("text", "md", "json"), default="text",
                   help="output format: text for the terminal, md (Markdown) or json for a program (default: text)")
    p.add_argument("--example", type=integer(1), default=None, metavar="K", help="only the K-th example of the file (1-based)")
    p.add_argument("--loss", choices=("xent", "sum_h"), default=None,
                   help="the loss of claimed gradients, as explain --grad --loss (default: an exercise's own, else xent "
                        "with targets, else sum_h)")
    p.add_argument("--width", type=integer(*WIDTH, "terminal columns"), default=None, metavar="W",
                   help=f"terminal width for text ({WIDTH[0]} to {WIDTH[1]}; default: the terminal's); below 110 columns each "
                        "finding is a block of lines, its why on a line of its own, not a table row")
    add_check(p, check_file_name("check"))
    # rich lays out the text report: without it, exit 2 before the file is read (1 would read as 'a claim is wrong')
    add_check(p, lambda args: args.fmt != "text" or require("check", "rich", "to lay out --format text", "use --format md or json"))


def _json_value(v):
    """A finding's value as strict JSON takes it: a NumPy number as Python's, a float that is not finite
    as the string "Infinity", "-Infinity" or "NaN" (JSON has no such numbers; float() and JavaScript's
    Number() read these strings back), anything else as it is."""
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        v = float(v)
        return v if math.isfinite(v) else "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
    return v


def _json(reports) -> str:
    out = []
    for rep in reports:
        out.append({
            "title": rep.example.title,
            "ok": rep.ok,
            "summary": rep.summary(),
            "findings": [
                {k: _json_value(getattr(f, k)) for k in ("verdict", "label", "where", "claimed", "exact", "hand", "own",
                                                         "decimals", "detail", "step", "name", "written")}
                | {"unit": None if f.unit is None else f.unit + 1, "culprits": list(f.culprits)}
                for f in rep.findings
            ],
        })
    return json.dumps(out, indent=2, allow_nan=False) + "\n"  # strict JSON: jq, JavaScript, ... read it


def run(args: argparse.Namespace) -> int:
    from ..explain import check, load
    from ..explain.check import report_document, withhold_answers
    from .explain import _select

    from ..cli import CommandError, Exit

    # a file that cannot be read as claims: exit 2, apart from claims that are wrong (1); cli.main says
    # it as any error. The library refuses a file with ValueError or KeyError; a TypeError is a bug
    try:
        examples = _select(load(args.file), args.example, "check")
    except (OSError, CommandError, ValueError, KeyError) as exc:
        exc.exit_code = Exit.USAGE
        raise
    reports = [check(ex, args.loss) for ex in examples]
    if not args.answers:
        reports = [withhold_answers(r) for r in reports]
    if args.fmt == "json":
        sys.stdout.write(_json(reports))
    else:
        import shutil

        tty = sys.stdout.isatty()
        width = args.width or (shutil.get_terminal_size((120, 24)).columns if tty else 120)
        doc = report_document(reports, args.all, width if args.fmt == "text" else None)  # narrow: a block a finding
        if args.fmt == "md":
            from ..explain.render_md import render
            from ..explain.render_text import spell

            sys.stdout.write(spell(render(doc), getattr(sys.stdout, "encoding", None)))  # σ as sigma where ascii
        else:
            from ..explain.render_text import render

            sys.stdout.write(render(doc, width, color_wanted(sys.stdout), getattr(sys.stdout, "encoding", None)))
    return 0 if all(r.ok for r in reports) else 1
