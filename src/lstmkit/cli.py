"""The ``lstmkit`` command line: a thin layer over the library.

``main(argv=None) -> int`` is callable in-process (tests do); ``entry()`` is the console script.
Each subcommand lives in ``lstmkit.commands.<name>`` (see that package's docstring) and is listed
in :data:`COMMANDS`. Errors print one line, ``lstmkit: error: ...``, and exit non-zero; the
traceback appears only with ``--traceback`` (or ``LSTMKIT_TRACEBACK=1``); so does running out of
memory (``lstmkit: error: out of memory in predict (Unable to allocate ...)``). Before a command runs,
the checks its options added (:func:`lstmkit.commands._options.add_check`: --proj-size against
--hidden-size, a data file's suffix, ...) refuse a bad command line, and the files it would write
(:data:`OUTPUTS`) are checked, so that a bad path fails before the training (a --plot without
matplotlib too). An optional package missing is one line too, with the pip line that installs it
(``pip install "lstmkit[cli]"``: :func:`lstmkit.commands._options.missing_package`).

When the reader of stdout goes away (``lstmkit ... | head``), a command whose only output is stdout
stops at once, quietly (:attr:`Exit.BROKEN_PIPE`); one that writes a file (``train``, ``predict
--out``, ...) carries on to write it, its printing going nowhere, and exits as it would have
(:class:`_Stdout`).

A SIGTERM (``kill``, ``docker stop``, systemd's stop) ends a command as Ctrl-C does, where the
platform has one: ``train`` says which epoch its checkpoint holds, and the line reads ``lstmkit:
terminated: ...``, exit :attr:`Exit.TERMINATED` (143, 128 + SIGTERM, as a shell reports a process a
SIGTERM ended; Ctrl-C: ``lstmkit: interrupted``, 130). A second SIGTERM ends the process at once
(its checkpoints are written whole or not at all). The console script (:func:`entry`, ``python -m
lstmkit``) catches it while a command runs (not outside the main thread, nor where SIGTERM already has
a handler other than the default, SIG_IGN inherited from a parent say); :func:`main` called by a
program of its own leaves SIGTERM as it is (the default ends that program), unless given ``_sigterm=True``.

A standard output whose encoding cannot hold what a command writes (``PYTHONIOENCODING=ascii``,
``latin-1``, Windows' ``cp1252`` when redirected to a file) writes each character it cannot encode
as its backslash escape (``\\u03c3``), as Python's standard error does, instead of failing: a command
never fails on its output's encoding, least of all after its work is done (``train`` had saved the
model when its last line failed, exit 1; ``check`` exited 1, its code for a wrong claim). explain
and check write their symbols in ASCII there, laid out so (``sigma``, ``c~``, ``^T``, ``[``, ``-``:
:data:`lstmkit.explain.render_text.ASCII`), so that their text reads as math with its matrices and
tables aligned. :func:`entry` sets it where stdout's error handler is ``strict`` (Python's default, and
also an explicit ``PYTHONIOENCODING=ascii:strict``, which is overridden); any other handler chosen in
PYTHONIOENCODING (``ascii:replace``) stays.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import sys
import threading
import warnings
from enum import IntEnum

from . import __version__
from ._checks import printable
from .commands._options import CHECKS, SAME_NAME, check_outputs, integer, missing_package, name_options, optional_missing
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


#: subcommand -> the files (and the folder) it writes: argparse dest -> (the option as typed, "file",
#: "figure" (a --plot: .png, .pdf or .svg) or "folder"[, the suffixes of the format a file is written in]);
#: checked before the command runs, so that a path that cannot be written (or would hold another format
#: than its name says) fails at once, not after the training (commands._options)
OUTPUTS: dict[str, dict[str, tuple[str, str]]] = {
    "demo": {"out": ("--out", "folder")},
    "explain": {"out": ("--out", "file")},
    "exercise": {"out": ("--out", "file", (".toml", ".txt")), "key": ("--key", "file", (".toml", ".txt"))},
    "train": {"model_out": ("--model-out", "file", (".npz",)), "checkpoint": ("--checkpoint", "file", (".npz",)),
              "plot": ("--plot", "figure")},
    "predict": {"out": ("--out", "file", (".csv",))},
    "forecast": {"model_out": ("--model-out", "file", (".npz",)), "out": ("--out", "file", (".csv",)), "plot": ("--plot", "figure")},
    "generate": {"model_out": ("--model-out", "file", (".npz",))},
    "memory": {"plot": ("--plot", "figure"), "json": ("--json", "file", (".json",))},
    "convert": {"output": ("OUT", "file")},
}


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # bad input, bad file, failed check: what the files hold
    USAGE = 2  # a bad command line whatever the files hold (argparse's own code; UsageError): a value out of
    #            range, an argument missing, options that do not go together, an output named for a format
    #            the command does not write (--model-out m.txt, --plot fig.bmp); and for `check`, as for diff
    #            and grep, a file it cannot read as claims, so that 1 there means only 'some claims are wrong'
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (`lstmkit predict ... | head`), as the shell reports it
    TERMINATED = 143  # 128 + SIGTERM: `kill`, `docker stop`, systemd's stop, told as Ctrl-C is (_catch_sigterm)


class CommandError(Exception):
    """An error to report in one line (no traceback): bad file, bad column, unseen label, ..."""


class UsageError(CommandError):
    """A command line wrong whatever the files hold, found after argparse (an argument missing, options
    that do not go together): one line, exit 2 as argparse's own refusals."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmkit",
        description="The LSTM of the lecture notes: exact, explained, trainable, fast.",
        epilog="Run 'lstmkit COMMAND --help' for a working example of each command.",
    )
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    parser.add_argument(
        "--threads", type=integer(1), default=None, metavar="N",
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
        for action in p._actions:  # every command's --seed: NumPy takes integers >= 0 (-1 would fail in NumPy's words)
            if "--seed" in action.option_strings:
                action.type = integer(0)
        names = (getattr(mod, "OWNERS", ()), getattr(mod, "OPTIONS", {}), getattr(mod, "SAME_NAME", SAME_NAME))
        p.set_defaults(_run=mod.run, _names=names)  # name_options' arguments after the message and command
    return parser


def _reader_gone(exc: BaseException) -> bool:
    """True when ``exc`` says stdout's reader has gone: a BrokenPipeError, or on Windows an OSError with
    errno EINVAL and no file name, what a write to a closed pipe raises there instead (CPython issue #79935;
    an EINVAL naming a file, such as an invalid name like ``a?.csv``, is an error about that file)."""
    if isinstance(exc, BrokenPipeError):
        return True
    return sys.platform == "win32" and isinstance(exc, OSError) and exc.errno == errno.EINVAL and not exc.filename


class _Stdout:
    """``sys.stdout`` while a command runs, the one place a write to stdout meets a reader gone away
    (:func:`_reader_gone`): a closed pipe's Windows EINVAL becomes the BrokenPipeError it is, from a
    write or flush to stdout alone (an EINVAL from elsewhere stays an error). Where stdout is the
    command's product (``predict``'s table, ``explain``), that ends the command: exit 141, quietly.
    Where it is said ``beside`` a product (``train``, ``predict --out``, ...), the rest goes nowhere
    and the command carries on to write its files (``lstmkit train ... --verbose 2 | head``: a
    BrokenPipeError in a progress line ended the training, no model, the checkpoint an epoch old)."""

    def __init__(self, stream, beside: bool) -> None:
        self.stream, self.beside, self.gone = stream, beside, False

    def write(self, text: str) -> int:
        self._guarded(self.stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._guarded(self.stream.flush)

    @property
    def buffer(self):
        """The stream's binary buffer (AttributeError where it has none), its writes and flushes met
        as the text's are: lstmkit writes none, a library may (``sys.stdout.buffer.write``)."""
        return _StdoutBuffer(self, self.stream.buffer)

    def _guarded(self, call, *args) -> None:
        """``call(*args)`` (a write or flush to stdout) unless its reader has gone, an OSError met by :meth:`_closed`."""
        if not self.gone:
            try:
                call(*args)
            except OSError as exc:
                self._closed(exc)

    def _closed(self, exc: OSError) -> None:
        """Re-raise ``exc`` unless it says the reader has gone: then go on writing nowhere (beside a
        product), or raise it as a BrokenPipeError (stdout the product)."""
        if not _reader_gone(exc):
            raise exc
        self.gone = True  # nothing more is written (nor flushed) to it
        if not self.beside:
            raise exc if isinstance(exc, BrokenPipeError) else BrokenPipeError(errno.EPIPE, "Broken pipe") from exc
        _to_devnull(self.stream)

    def __getattr__(self, name: str):  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self.stream, name)


class _StdoutBuffer:
    """``sys.stdout.buffer`` while a command runs: the binary writes and flushes of :class:`_Stdout`
    ``text``'s stream, a reader gone met as its own are (one ``gone`` for both)."""

    def __init__(self, text: _Stdout, raw) -> None:
        self.text, self.raw = text, raw

    def write(self, data) -> int:
        self.text._guarded(self.raw.write, data)
        return memoryview(data).nbytes

    def flush(self) -> None:
        self.text._guarded(self.raw.flush)

    def __getattr__(self, name: str):
        return getattr(self.raw, name)


def _to_devnull(stream) -> None:
    """Point ``stream``'s file descriptor at os.devnull: its reader has gone, and what it still holds
    must not fail again at the interpreter's last flush ("Exception ignored ... BrokenPipeError", exit 120)."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, stream.fileno())
        finally:
            os.close(fd)
    except (AttributeError, OSError, ValueError):  # an in-process stdout without a file descriptor
        pass


def main(argv: list[str] | None = None, *, _sigterm: bool = False) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) in-process and return its exit status.
    ``_sigterm=True`` (:func:`entry`, which owns the process) catches a SIGTERM while the command runs
    (:func:`_catch_sigterm`); without it SIGTERM keeps the disposition it had (the default ends the
    process), so a program calling main() is still ended by one."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return Exit.USAGE
    show_tb = args.traceback or os.environ.get("LSTMKIT_TRACEBACK") == "1"
    threads_before = get_num_threads()
    show_before = warnings.showwarning
    stdout = sys.stdout
    terminated: list[int] = []  # the SIGTERM received, where one ended the command
    restore_sigterm = _catch_sigterm(terminated) if _sigterm else (lambda: None)
    try:
        if not show_tb:  # a warning is one line too, without the library's file and source line
            warnings.showwarning = _show_warning
        if args.threads is not None:
            set_num_threads(args.threads)
        for check in getattr(args, CHECKS, None) or ():  # the command line's refusals that no type= makes (add_check)
            check(args)
        outputs = OUTPUTS.get(args.command, {})
        check_outputs(args.command, args, outputs)
        # stdout said beside a file to write (its product), or the product itself
        sys.stdout = _Stdout(stdout, beside=any(getattr(args, dest, None) is not None for dest in outputs))
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # here, not at the interpreter's exit: a reader gone is told below
        return code
    except KeyboardInterrupt as exc:  # a command may say what it leaves (train: the checkpoint's epoch)
        return _told_interrupt(bool(terminated), *exc.args[:1])
    except SystemError as exc:
        # Ctrl-C inside a compiled kernel surfaces as numba's SystemError, the interrupt in its context; the
        # LSTM's kernel calls raise the interrupt itself (in fit and prediction alike): this catches one that
        # comes by another way
        from .training import interrupt_in

        if interrupt_in(exc) is None:
            raise
        return _told_interrupt(bool(terminated))
    except ImportError as exc:  # an optional package (rich, matplotlib, torch, ...) not installed: its pip line
        if show_tb or not optional_missing(exc):  # another module (lstmkit's own, numpy's): a bug, its traceback
            raise
        print(f"lstmkit: error: {missing_package(args.command, exc)}", file=sys.stderr)
        return Exit.ERROR
    except MemoryError as exc:  # NumPy's "Unable to allocate 2.98 GiB for an array with shape ...": one line, not a traceback
        if show_tb:
            raise
        said = str(exc) or "an allocation failed"
        print(f"lstmkit: error: out of memory in {args.command} ({said}). Use less data or a smaller model; "
              f"--traceback shows where.", file=sys.stderr)  # fmt: skip
        return Exit.ERROR
    except (CommandError, ValueError, TypeError, KeyError, OSError, RuntimeError) as exc:  # a UsageError too
        if isinstance(exc, BrokenPipeError):  # _Stdout's: a Windows EINVAL from writing stdout is one too
            # the reader of stdout has gone (`| head`) and stdout was the product: stop quietly, like other tools
            _to_devnull(stdout)
            return Exit.BROKEN_PIPE
        if show_tb:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, (ValueError, TypeError)):  # the library's argument names -> the options typed
            msg = name_options(str(msg), args.command, *args._names) or msg
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(msg):
            msg = f"{exc.strerror}: {exc.filename}"
        print(f"lstmkit: error: {printable(msg)}", file=sys.stderr)  # a name from a file may hold ESC: shown as \x1b
        # a command may give an error its own code, exc.exit_code (check: a file it cannot read, 2)
        return getattr(exc, "exit_code", None) or (Exit.USAGE if isinstance(exc, UsageError) else Exit.ERROR)
    finally:
        try:
            # first, inside this try: a SIGTERM from here on meets its disposition back (the default ends the
            # process); one landing as restore_sigterm is entered raises out of it, and the clean-up below still runs
            restore_sigterm()
            if sys.stdout is not stdout:  # a command ended by an error too: what it holds goes now, or nowhere
                try:
                    sys.stdout.flush()
                except OSError:  # the error being told is the one that ended it (a success has flushed above)
                    pass
        finally:  # even where an interrupt lands in that flush
            sys.stdout = stdout
            warnings.showwarning = show_before
            set_num_threads(threads_before)  # main() runs in-process too (tests): leave the setting as found


def _told_interrupt(terminated: bool, *note) -> Exit:
    """Tell an interrupt on stderr, ``lstmkit: terminated`` (a SIGTERM) or ``lstmkit: interrupted``
    (Ctrl-C), with ``: note`` where one is given (a command's, as train's checkpoint epoch), and return
    its code: :attr:`Exit.TERMINATED` (143) or :attr:`Exit.INTERRUPTED` (130)."""
    said = "terminated" if terminated else "interrupted"
    print(f"lstmkit: {said}" + "".join(f": {n}" for n in note), file=sys.stderr)
    return Exit.TERMINATED if terminated else Exit.INTERRUPTED


class _Terminated(KeyboardInterrupt):
    """The KeyboardInterrupt a SIGTERM raises (:func:`_catch_sigterm`): one that gets out of :func:`main`
    (landing while main() reports an error, or as its clean-up begins) is told by :func:`entry` as a SIGTERM,
    143, not as Ctrl-C."""


def _catch_sigterm(seen: list[int]):
    """While a command runs, a SIGTERM raises :class:`_Terminated`, a KeyboardInterrupt (the signal
    appended to ``seen``), so that it ends the command as Ctrl-C does: a command's own note (train: the
    checkpoint's epoch), one line, :attr:`Exit.TERMINATED`. The handler puts the one before it back as
    it fires: a second SIGTERM ends the process at once. Nothing is done where the platform has no SIGTERM, outside the
    main thread (``signal.signal`` is refused there) or where SIGTERM's handler is not the default
    (an embedding program's own). Returns the function that puts the handler back."""
    sig = getattr(signal, "SIGTERM", None)
    if sig is None or threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.getsignal(sig)
    if before != signal.SIG_DFL:
        return lambda: None

    def on_sigterm(signum, frame):
        seen.append(signum)
        signal.signal(sig, before)
        raise _Terminated

    signal.signal(sig, on_sigterm)
    return lambda: signal.signal(sig, before)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"lstmkit: warning: {printable(message)}", file=sys.stderr if file is None else file)


def _escape_what_stdout_cannot_encode() -> None:
    """Write what standard output cannot encode as backslash escapes (``\\u03c3``), as Python's standard
    error does, where Python's strict default is in place: the first σ raised UnicodeEncodeError."""
    from .explain.render_text import encodes_symbols

    stream = sys.stdout
    if getattr(stream, "errors", None) == "strict" and not encodes_symbols(stream.encoding):
        stream.reconfigure(errors="backslashreplace")


def entry() -> None:
    """The console script: :func:`main`, its code the exit status, catching a SIGTERM while the command
    runs (``main(_sigterm=True)``: the process is the command's). A Ctrl-C before a command runs
    (while the command line is read and the commands' modules are imported) ends it as one during
    the command does: ``lstmkit: interrupted``, exit 130, not a traceback; a SIGTERM whose interrupt
    gets out of main() (landing while main() reports an error, or as its clean-up puts SIGTERM's handler
    back) is ``lstmkit: terminated``, 143; one later in the clean-up meets SIGTERM's default, which ends
    the process (no line; a shell reports 143 too). (A Ctrl-C while the
    ``lstmkit`` package itself is being imported, NumPy with it, comes before this function: Python's
    traceback.)"""
    try:
        _escape_what_stdout_cannot_encode()
        code = main(_sigterm=True)
    except KeyboardInterrupt as exc:
        code = _told_interrupt(isinstance(exc, _Terminated))
    sys.exit(code)
