"""The ``lstmkit`` command line: a thin layer over the library.

``main(argv=None) -> int`` is callable in-process (tests do); ``entry()`` is the console script.
Each subcommand lives in ``lstmkit.commands.<name>`` (see that package's docstring) and is listed
in :data:`COMMANDS`. Errors print one line, ``lstmkit: error: ...``, and exit non-zero; the
traceback appears only with ``--traceback`` (or ``LSTMKIT_TRACEBACK=1``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from enum import IntEnum

from . import __version__
from .threads import get_num_threads, set_num_threads

#: subcommand name -> module path (each module: HELP, EXAMPLE, add_arguments, run)
COMMANDS: dict[str, str] = {
    "demo": "lstmkit.commands.demo",
    "explain": "lstmkit.commands.explain",
    "check": "lstmkit.commands.check",
    "exercise": "lstmkit.commands.exercise",
    "train": "lstmkit.commands.train",
    "predict": "lstmkit.commands.predict",
    "forecast": "lstmkit.commands.forecast",
    "generate": "lstmkit.commands.generate",
    "memory": "lstmkit.commands.memory",
    "convert": "lstmkit.commands.convert",
}


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # bad input, bad file, failed check
    USAGE = 2  # argparse's own code for bad command lines
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (`lstmkit predict ... | head`), as the shell reports it


class CommandError(Exception):
    """An error to report in one line (no traceback): bad file, bad column, unseen label, ..."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmkit",
        description="The LSTM of the lecture notes: exact, explained, trainable, fast.",
        epilog="Run 'lstmkit COMMAND --help' for a working example of each command.",
    )
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="let the compiled kernels run a batch as N blocks on N threads (lstmkit.set_num_threads; default 1)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modpath in COMMANDS.items():
        mod = importlib.import_module(modpath)
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.HELP,
            epilog=f"example:\n  {mod.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return Exit.USAGE
    show_tb = args.traceback or os.environ.get("LSTMKIT_TRACEBACK") == "1"
    threads_before = get_num_threads()
    try:
        if args.threads is not None:
            set_num_threads(args.threads)
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("lstmkit: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout has gone (`| head`): stop quietly, like other tools, and point stdout at
        # /dev/null so that the interpreter's last flush does not fail again
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):  # an in-process stdout without a file descriptor
            pass
        return Exit.BROKEN_PIPE
    except (CommandError, ValueError, TypeError, KeyError, OSError, RuntimeError) as exc:
        if show_tb:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(msg):
            msg = f"{exc.strerror}: {exc.filename}"
        print(f"lstmkit: error: {msg}", file=sys.stderr)
        return Exit.ERROR
    finally:
        set_num_threads(threads_before)  # main() runs in-process too (tests): leave the setting as found


def entry() -> None:
    sys.exit(main())
