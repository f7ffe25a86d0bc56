"""The command line, in-process through ``lstmkit.cli.main``, and as a real subprocess where the
interpreter's start or exit, or a real pipe, is what is tested."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstmkit.cli import COMMANDS, main


def test_demo_writes_seed000_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "per-step accuracy: 3/3" in out
    # step 1 input gate: σ([4, 2]) = [0.9820, 0.8808] (by hand: 1/(1+e^-4), 1/(1+e^-2))
    assert "i = σ([+4.0000, +2.0000]) = [+0.9820, +0.8808]" in out
    assert (tmp_path / "seed000.txt").read_text().startswith("Seed 000")
    assert str(tmp_path.resolve()) in out


def test_every_command_help_shows_a_working_example(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "example:" in capsys.readouterr().out


def test_no_command_prints_help_and_usage_code(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_python_dash_m_and_version():
    r = subprocess.run([sys.executable, "-m", "lstmkit", "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.startswith("lstmkit ")


def test_threads_option_applies_for_the_command_and_is_set_back(monkeypatch, capsys):
    import lstmkit
    import lstmkit.commands.demo as demo

    seen = []
    monkeypatch.setattr(demo, "run", lambda args: seen.append(lstmkit.get_num_threads()) or 0)
    assert main(["--threads", "2", "demo"]) == 0
    assert seen == [2] and lstmkit.get_num_threads() == 1
    with pytest.raises(SystemExit) as exit_:  # a usage error, refused as the command line is read: 2, as argparse's
        main(["--threads", "0", "demo"])
    assert exit_.value.code == 2 and "argument --threads: expected an integer >= 1, got '0'" in capsys.readouterr().err and seen == [2]


def test_the_examples_toml_files_are_plain_copies_of_the_packaged_ones():
    # examples/NAME.toml were git symlinks (mode 120000) to lstmkit/worked/NAME.toml: a Windows checkout without
    # core.symlinks gets one-line text files holding the target's path, and every test reading them fails there.
    # Now plain copies, held to the packaged files byte for byte (the package's is the source: edit it, then copy)
    from lstmkit import worked

    examples = Path(__file__).parents[1] / "examples"
    assert sorted(p.stem for p in examples.glob("*.toml")) == list(worked.names())
    for name in worked.names():
        copy = examples / f"{name}.toml"
        assert not copy.is_symlink(), f"{copy} is a link: make it a copy (cp src/lstmkit/worked/{name}.toml examples/)"
        assert copy.read_bytes() == worked.read_bytes(name), f"{copy} differs from lstmkit/worked/{name}.toml: copy it over"


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_gone_away_ends_quietly_with_141(unbuffered):
    # `lstmkit explain ... | head`: stdout is a pipe whose reader has closed (here before the first
    # write, so the outcome is certain). No traceback, no error line; 141 = 128 + SIGPIPE, as a shell says.
    # Buffered, as a pipe usually is, the text met the closed pipe only at the interpreter's exit: 120 and
    # 'Exception ignored ... BrokenPipeError' (PYTHONUNBUFFERED=1 hid it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | ({"PYTHONUNBUFFERED": "1"} if unbuffered else {})
    r, w = os.pipe()
    os.close(r)
    try:
        example = Path(__file__).parents[1] / "examples" / "seed000.toml"
        p = subprocess.run([sys.executable, "-m", "lstmkit", "explain", str(example)], stdout=w, stderr=subprocess.PIPE, text=True, env=env)
    finally:
        os.close(w)
    assert (p.returncode, p.stderr) == (141, "")


def test_train_piped_to_head_goes_on_to_write_its_model(tmp_path):
    # `lstmkit train ... --verbose 2 | head -1`: the reader takes a line and goes. Training goes on to its last
    # epoch without a word, the model is written, exit 0, no traceback (the first progress line after the close
    # ended the run: 141, no model). 1500 lines (~110 kB) outrun what readline takes (8 kB) and the pipe holds
    # (64 kB): some are written after the close, whatever the timing
    import numpy as np

    from lstmkit.datasets import counting_task
    from lstmkit.saving import load

    X, y = counting_task(8, 3, seed=0)
    np.savez(tmp_path / "c.npz", X=X, y=y)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as a pipe usually is
    argv = [sys.executable, "-m", "lstmkit", "train", str(tmp_path / "c.npz"), "--per-step", "--hidden-size", "2",
            "--batch-size", "8", "--epochs", "1500", "--verbose", "2", "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert p.stdout.readline().startswith(b"epoch 1/1500 - loss ")
    finally:
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(timeout=60)
    assert (p.returncode, err) == (0, "")
    assert load(tmp_path / "m.npz").n_epochs_ == 1500


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM") or sys.platform == "win32", reason="no kill(SIGTERM) here")
def test_sigterm_ends_train_as_ctrl_c_does_with_143(tmp_path):
    # `kill`, `docker stop`, systemd's stop send SIGTERM: it killed `lstmkit train` outright (-15: no line, no word
    # on the checkpoint). Now as Ctrl-C: the note of the epoch the checkpoint holds, one line, exit 143 (128 + 15)
    import re
    import signal
    import time

    import numpy as np

    from lstmkit.checkpoint import read_checkpoint
    from lstmkit.datasets import counting_task

    X, y = counting_task(8, 3, seed=0)
    np.savez(tmp_path / "c.npz", X=X, y=y)
    ck = tmp_path / "ck.npz"
    argv = [sys.executable, "-m", "lstmkit", "train", str(tmp_path / "c.npz"), "--per-step", "--hidden-size", "2",
            "--batch-size", "8", "--epochs", "1000000", "--checkpoint", str(ck), "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ck.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ck.exists(), "no checkpoint written"
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:  # pragma: no cover
            p.kill()
    assert p.returncode == 143, (p.returncode, err[-3000:])
    said = re.fullmatch(rf"lstmkit: terminated: the checkpoint {re.escape(str(ck))} holds epoch (\d+) of 1000000; run the "
                        rf"same command again .*\n", err)  # fmt: skip
    assert said, err[-3000:]
    assert read_checkpoint(ck)["meta"]["epoch"] == int(said.group(1)) >= 1  # what it says the checkpoint holds
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM"), reason="no SIGTERM on this platform")
def test_sigterm_is_caught_only_while_a_command_runs(monkeypatch, capsys):
    # in-process: main(_sigterm=True) (entry's) puts SIGTERM's handler back as it found it; the handler, called as a
    # SIGTERM calls it, ends the command as Ctrl-C does, 143; an embedding program's own handler is left alone, and
    # main() without _sigterm installs none
    import signal

    import lstmkit.commands.demo as demo

    def terminated(args):
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)  # what the interpreter does on a SIGTERM

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (a runner may have its own: the test sets its state)
    try:
        monkeypatch.setattr(demo, "run", terminated)
        assert main(["demo"], _sigterm=True) == 143
        assert capsys.readouterr().err == "lstmkit: terminated\n"
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

        seen = []
        monkeypatch.setattr(demo, "run", lambda args: seen.append(signal.getsignal(signal.SIGTERM)))
        assert main(["demo"]) == 0 and seen == [signal.SIG_DFL]  # a program's own main() call: SIGTERM left as it is

        def own(signum, frame):
            pass

        signal.signal(signal.SIGTERM, own)
        assert main(["demo"], _sigterm=True) == 0 and seen[1:] == [own] and signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM") or sys.platform == "win32", reason="no kill(SIGTERM) here")
def test_a_program_calling_main_is_still_ended_by_sigterm():
    # main() installed the SIGTERM handler on every call: a program running commands through it (a job loop, a
    # notebook) had a SIGTERM turned into main()'s 143 and carried on to the next job (helper-206 #1). The handler
    # is the console script's (entry, python -m lstmkit): here SIGTERM's default ends the program, -15
    import signal

    code = (
        "import signal, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "import lstmkit.cli as cli, lstmkit.commands.demo as demo\n"
        "demo.run = lambda args: signal.raise_signal(signal.SIGTERM)\n"
        "for job in range(2):\n"
        "    print('job', job, '->', cli.main(['demo']), flush=True)\n"
        "print('the program carried on', flush=True)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (-signal.SIGTERM, ""), (p.returncode, p.stdout, p.stderr[-3000:])


def _entry_restoring(monkeypatch) -> int:
    """``cli.entry()`` of ``lstmkit demo`` (its ``run`` patched by the caller) with SIGTERM at its default:
    its exit code, asserting that sys.stdout, warnings.showwarning and SIGTERM's default were put back (and
    putting them back either way)."""
    import signal
    import warnings

    import lstmkit.cli as cli

    monkeypatch.setattr(sys, "argv", ["lstmkit", "demo"])
    stdout, show = sys.stdout, warnings.showwarning
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with pytest.raises(SystemExit) as exited:
            cli.entry()
        assert sys.stdout is stdout and warnings.showwarning is show
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    except KeyboardInterrupt:  # (not left to end the test session)
        pytest.fail("entry() let the KeyboardInterrupt through")
    finally:
        sys.stdout = stdout
        warnings.showwarning = show
        signal.signal(signal.SIGTERM, previous)
    return exited.value.code


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM"), reason="no SIGTERM on this platform")
def test_a_sigterm_while_main_reports_an_error_restores_and_is_143(monkeypatch, capsys):
    # a real SIGTERM while main() tells a command's error (its except clause printing) gets out of main(): it went
    # out before the clean-up (sys.stdout stayed lstmkit's wrapper, warnings.showwarning lstmkit's) and entry() said
    # 'lstmkit: interrupted', 130 (helper-206 #2, helper-218 #2). The signal is raised as the line is written
    import signal

    import lstmkit.cli as cli
    import lstmkit.commands.demo as demo

    def failing(args):
        raise ValueError("boom")

    printable = cli.printable

    def printable_then_sigterm(text):
        signal.raise_signal(signal.SIGTERM)  # (the handler runs here, as the interpreter runs it on a kill)
        return printable(text)

    monkeypatch.setattr(demo, "run", failing)
    monkeypatch.setattr(cli, "printable", printable_then_sigterm)
    assert _entry_restoring(monkeypatch) == 143 and capsys.readouterr().err == "lstmkit: terminated\n"


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM"), reason="no SIGTERM on this platform")
def test_a_sigterm_as_mains_clean_up_puts_the_handler_back_still_restores(monkeypatch, capsys):
    # the race helper-218 #1 found: a SIGTERM landing as main()'s finally enters restore_sigterm (before the handler
    # is put back) raised out of it before the inner try, and the clean-up was skipped: sys.stdout stayed lstmkit's
    # wrapper, warnings.showwarning lstmkit's. Driven here without a race: the real signal is raised as the put-back
    # is called, the command having failed (its error told first)
    import signal
    import types

    import lstmkit.cli as cli
    import lstmkit.commands.demo as demo

    def failing(args):
        raise ValueError("boom")

    fired = []

    def put_back_after_a_sigterm(sig, handler):
        if sig == signal.SIGTERM and handler == signal.SIG_DFL and not fired:  # the first put-back: main()'s finally
            fired.append(handler)
            signal.raise_signal(signal.SIGTERM)  # (the handler runs here and raises)
        return signal.signal(sig, handler)

    fake = types.SimpleNamespace(SIGTERM=signal.SIGTERM, SIG_DFL=signal.SIG_DFL, getsignal=signal.getsignal,
                                 signal=put_back_after_a_sigterm)  # fmt: skip
    monkeypatch.setattr(demo, "run", failing)
    monkeypatch.setattr(cli, "signal", fake)  # (cli's calls only)
    code = _entry_restoring(monkeypatch)
    err = capsys.readouterr().err
    assert fired and code == 143 and err == "lstmkit: error: boom\nlstmkit: terminated\n", err


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    assert err.startswith("lstmkit: error: ")
    return err


@pytest.fixture(scope="module")
def counting(tmp_path_factory):
    """A tiny per-step counting model trained on a long CSV (its labels all numbers: classes 0, 1), the
    same model with classes the strings '0', '1' (as lstmkit wrote CSV labels before they were read as
    numbers), and the same sequences in an .npz with integer labels."""
    import numpy as np

    from lstmkit.datasets import counting_task

    d = tmp_path_factory.mktemp("counting")
    X, y = counting_task(24, 5, seed=0)
    np.savez(d / "c.npz", X=X, y=y)
    rows = [f"q{i},{int(X[i, t, 0])},{int(X[i, t, 1])},{y[i, t]}" for i in range(len(X)) for t in range(X.shape[1])]
    (d / "c.csv").write_text("seq,x1,x2,y\n" + "\n".join(rows) + "\n")
    assert main(["train", str(d / "c.csv"), "--per-step", "--group", "seq", "--target", "y", "--hidden-size", "4",
                 "--epochs", "2", "--model-out", str(d / "m.npz")]) == 0  # fmt: skip
    from lstmkit.saving import load

    est = load(d / "m.npz")
    assert est.classes_.tolist() == [0, 1]
    est.classes_ = np.array(["0", "1"])
    est.save(d / "m_text.npz")
    return d


def test_predict_scores_integer_labels_against_a_model_trained_on_csv_strings(counting, capsys):
    # m_text's classes are '0', '1' (a CSV's text); the .npz holds 0, 1: the same labels, the same score;
    # m's classes are the numbers 0, 1: the same again
    capsys.readouterr()
    scores = []
    for model in ("m_text.npz", "m.npz"):
        for data in (["c.csv", "--group", "seq", "--target", "y"], ["c.npz"]):
            assert main(["predict", str(counting / model), str(counting / data[0]), *data[1:]]) == 0
            scores.append(capsys.readouterr().out.split("accuracy on")[1].split(": ")[1].strip())
    assert len(set(scores)) == 1 and float(scores[0]) > 0.3  # was 0.0000: '1' != 1 at scoring


def test_a_damaged_data_file_is_one_line_naming_it(counting, tmp_path, capsys):
    data = (counting / "c.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:300])  # a zip without its directory (at the end)
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("hello\n")  # np.load would try it as a pickle, and say so
    for name, what in (("cut.npz", "got a truncated zip archive (.npz)"), ("empty.npz", "got an empty file"),
                       ("text.npz", "got a file that is neither a zip archive (.npz) nor a .npy file (it begins b'hello\\n')")):  # fmt: skip
        path = str(tmp_path / name)
        assert main(["train", path, "--model-out", str(tmp_path / "m.npz")]) == 1
        assert error_line(capsys).startswith(f"lstmkit: error: {path}: expected a NumPy .npz/.npy file, {what}")
        assert main(["predict", str(counting / "m.npz"), path]) == 1
        assert f"{path}: expected a NumPy .npz/.npy file, {what}" in error_line(capsys)
    assert not (tmp_path / "m.npz").exists()


def test_ctrl_c_inside_a_compiled_kernel_is_an_interrupt(monkeypatch, capsys):
    # numba turns a KeyboardInterrupt raised while a kernel runs into SystemError("CPUDispatcher(...)
    # returned a result with an exception set"), the interrupt in its context
    import lstmkit.commands.demo as demo

    def interrupted(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(<function lstm_forward>) returned a result with an exception set")

    monkeypatch.setattr(demo, "run", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "lstmkit: interrupted\n"

    def broken(args):
        raise SystemError("a bug, not an interrupt")

    monkeypatch.setattr(demo, "run", broken)
    with pytest.raises(SystemError, match="a bug"):  # any other SystemError keeps its traceback
        main(["demo"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "d.npz", "--model-out", "m.npz", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["forecast", "s.csv", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["generate", "--text", "t.txt", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["memory", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["exercise", "--seed", "-1", "-o", "ex.toml"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["demo", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["train", "d.npz", "--model-out", "m.npz", "--lr", "0"], "argument --lr: expected a number > 0, got '0'"),
        (["forecast", "s.csv", "--lr", "nan"], "argument --lr: expected a number > 0, got 'nan'"),
        (["generate", "--text", "t.txt", "--lr", "-1"], "argument --lr: expected a number > 0, got '-1'"),
        (["forecast", "s.csv", "--backtest", "-5"], "argument --backtest: expected an integer >= 0, got '-5'"),
        (["forecast", "s.csv", "--season", "0"], "argument --season: expected an integer >= 1, got '0'"),
        (["forecast", "s.csv", "--epochs", "-1"], "argument --epochs: expected an integer >= 0, got '-1'"),
        (["forecast", "s.csv", "--steps", "0"], "argument --steps: expected an integer >= 1, got '0'"),
        (["train", "d.npz", "--model-out", "m.npz", "--validation-split", "1"], "argument --validation-split: expected a number in [0, 1), got '1'"),
        (["generate", "--text", "t.txt", "--max-chars", "-10"], "argument --max-chars: expected an integer >= 1, got '-10'"),
        (["generate", "--model", "g.npz", "--temperature", "1", "0"],
         "argument --temperature: expected a number > 0, got '0'. For greedy decoding (always the likeliest character) use --top-k 1\n"),
        (["generate", "--model", "g.npz", "--temperature", "hot"], "argument --temperature: expected a number > 0, got 'hot'\n"),
        # memory's: they were refused by the library once the command ran (exit 1, no usage line)
        (["memory", "--steps", "0"], "argument --steps: expected an integer >= 1, got '0'"),
        (["memory", "--symbols", "1"], "argument --symbols: expected an integer >= 2, got '1'"),
        (["memory", "--hidden-size", "0"], "argument --hidden-size: expected an integer >= 1, got '0'"),
        (["memory", "--batch-size", "-2"], "argument --batch-size: expected an integer >= 1, got '-2'"),
        (["memory", "--n-test", "0"], "argument --n-test: expected an integer >= 1, got '0'"),
        (["memory", "--lr", "0"], "argument --lr: expected a number > 0, got '0'"),
        (["memory", "--clip", "nan"], "argument --clip: expected a number > 0, got 'nan'"),
        (["memory", "--forget-bias", "inf"], "argument --forget-bias: expected a finite number, got 'inf'"),
        # explain's and exercise's ranges: they were checked in the command's run (one line, no usage line)
        (["explain", "w.toml", "--round", "11"], "argument --round: expected an integer between 0 and 10, got '11'"),
        (["explain", "w.toml", "--round", "-1"], "argument --round: expected an integer between 0 and 10, got '-1'"),
        (["explain", "w.toml", "--digits", "13"], "argument --digits: expected an integer between 0 and 12, got '13'"),
        (["explain", "w.toml", "--example", "0"], "argument --example: expected an integer >= 1, got '0'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--hidden", "0"], "argument --hidden: expected an integer between 1 and 16 (it is done by hand), got '0'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--inputs", "17"], "argument --inputs: expected an integer between 1 and 16 (it is done by hand), got '17'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--steps", "x"], "argument --steps: expected an integer between 1 and 16 (it is done by hand), got 'x'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--decimals", "7"], "argument --decimals: expected an integer between 0 and 6, got '7'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--ask", "z,foo"], "argument --ask: expected comma-separated names among Wx, Wh, z, gates, c, h, y, got 'z,foo'"),
        (["exercise", "--seed", "1", "-o", "ex.toml", "--ask", ","], "argument --ask: expected comma-separated names among Wx, Wh, z, gates, c, h, y, got ','"),
    ],
)
def test_option_values_are_refused_by_the_option_typed_before_any_work(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)  # nothing is read or written: the files named need not exist
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and err.startswith(f"usage: lstmkit {argv[0]} ")
    assert list(tmp_path.iterdir()) == []  # demo made no folder


def test_the_librarys_own_checks_name_the_options(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("v\n" + "\n".join(str(i % 7) for i in range(40)) + "\n")
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "v", "--backtest", "35", "--epochs", "1"]) == 1
    assert error_line(capsys) == "lstmkit: error: forecast: expected --backtest at most N - 13 = 27 (enough training data), got 35."
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "v", "--window", "50", "--epochs", "1"]) == 1
    assert "forecast: expected the series at least --window+--horizon+--difference = 51 values, got 40" in error_line(capsys)


def test_every_file_a_command_writes_is_checked_before_it_runs(tmp_path, monkeypatch, capsys):
    import argparse
    import importlib

    from lstmkit.cli import OUTPUTS, build_parser

    # the table names real options of each command
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, outputs in OUTPUTS.items():
        assert set(outputs) <= {a.dest for a in sub.choices[name]._actions}, name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "f").write_text("a file")
    ran = []
    for name, modpath in COMMANDS.items():
        monkeypatch.setattr(importlib.import_module(modpath), "run", lambda args: ran.append(args.command) or 0)
    # what the disk holds (a folder where a file goes): 1; a plot's name in a format not written is a
    # usage error whatever the disk holds: 2
    cases = [
        (["train", "d.npz", "--model-out", "adir"], 1, "train: expected --model-out a file to write, got 'adir', a folder."),
        (["train", "d.npz", "--model-out", "f/x.npz"], 1, "train: expected --model-out a file to write, got 'f/x.npz', inside 'f', which is a file."),
        (["train", "d.npz", "--model-out", "m.npz", "--plot", "adir"], 2, "train: expected --plot ending in .png, .pdf or .svg (the format written), got 'adir'."),
        (["train", "d.npz", "--model-out", "m.npz", "--checkpoint", "adir"], 1, "train: expected --checkpoint a file to write"),
        (["predict", "m.npz", "d.npz", "--out", "adir"], 1, "predict: expected --out a file to write, got 'adir', a folder."),
        (["forecast", "s.csv", "--model-out", "f/g/m.npz"], 1, "forecast: expected --model-out a file to write, got 'f/g/m.npz', inside 'f', which is a file."),
        (["forecast", "s.csv", "--out", "adir"], 1, "forecast: expected --out a file to write"),
        (["forecast", "s.csv", "--plot", "p.jpg"], 2, "forecast: expected --plot ending in .png, .pdf or .svg (the format written), got 'p.jpg'."),
        (["generate", "--text", "t.txt", "--model-out", "adir"], 1, "generate: expected --model-out a file to write"),
        (["memory", "--json", "adir"], 1, "memory: expected --json a file to write"),
        (["memory", "--plot", "adir/m.txt"], 2, "memory: expected --plot ending in .png, .pdf or .svg"),
        (["convert", "m.npz", "adir"], 1, "convert: expected OUT a file to write, got 'adir', a folder."),
        (["exercise", "--seed", "1", "-o", "adir"], 1, "exercise: expected --out a file to write"),
        (["exercise", "--seed", "1", "-o", "e.toml", "--key", "f/k.toml"], 1, "exercise: expected --key a file to write"),
        (["explain", "w.toml", "-o", "adir"], 1, "explain: expected --out a file to write"),
        (["demo", "--out", "f"], 1, "demo: expected --out a folder to write to, got 'f', a file."),
    ]  # fmt: skip
    for argv, code, message in cases:
        assert main(argv) == code, argv
        assert error_line(capsys).startswith(f"lstmkit: error: {message}"), argv
    assert ran == []  # nothing ran: no training before the failure
    assert main(["train", "d.npz", "--model-out", "m.npz", "--plot", "adir/c.pdf"]) == 0 and ran == ["train"]


def test_options_a_command_would_ignore_are_refused(tmp_path, capsys):
    # the refusals come before the model is read: these files need not exist
    # options that do not go together are a usage error, whatever the files: exit 2, as argparse's refusals
    assert main(["forecast", "--model", str(tmp_path / "f.npz"), "--backtest", "12"]) == 2
    assert "forecast: expected --backtest without --model, got --backtest 12 with --model" in error_line(capsys)
    assert main(["forecast", "--model", str(tmp_path / "f.npz"), "--model-out", str(tmp_path / "g.npz")]) == 2
    assert "forecast: expected --model-out without --model, got both" in error_line(capsys)
    assert main(["generate", "--model", str(tmp_path / "g.npz"), "--text", str(tmp_path / "t.txt")]) == 2
    assert "generate: expected --text (train a new model) or --model (sample from a saved one), got both" in error_line(capsys)
    assert main(["generate", "--model", str(tmp_path / "g.npz"), "--model-out", str(tmp_path / "h.npz")]) == 2
    assert "generate: expected --model-out without --model, got both" in error_line(capsys)
    # refused before the outputs are checked: a folder named by --model-out is not the error (it exited 1, 'a folder')
    adir = tmp_path / "adir"
    adir.mkdir()
    for argv, message in (
        (["forecast", "--model", str(tmp_path / "f.npz"), "--model-out", str(adir)], "forecast: expected --model-out without --model, got both."),
        (["generate", "--model", str(tmp_path / "g.npz"), "--model-out", str(adir)], "generate: expected --model-out without --model, got both."),
        (["forecast", "--out", str(adir)], "forecast: expected a series (a .csv with --column, a .npy, or builtin:airline), got none."),
        (["generate", "--model-out", str(adir)], "generate: expected --text (a file or builtin:stdlib) to train on, or --model, got neither."),
    ):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys).startswith(f"lstmkit: error: {message}"), argv
    # the training options beside --model: a loaded model is not retrained, so they would be ignored;
    # typed, even at their default value (forecast's --epochs is 100), they are refused
    for argv, message in (
        (["forecast", "--model", "f.npz", "--epochs", "100"], "forecast: expected --epochs without --model, got both. A loaded model is not retrained"),
        (["forecast", "--model", "f.npz", "--lr", "0.1", "--window", "4", "--log", "--peephole"],
         "forecast: expected the training options without --model, got --lr, --window, --log, --peephole with --model."),
        (["forecast", "--model", "f.npz", "--backtest", "0"], "forecast: expected --backtest without --model, got both."),
        (["generate", "--model", "g.npz", "--hidden-size", "8"], "generate: expected --hidden-size without --model, got both."),
        (["generate", "--model", "g.npz", "--epochs", "1", "--verbose", "2"], "generate: expected the training options without --model, got --epochs, --verbose with --model."),
        (["forecast", "--model", "f.npz", "--verbose", "1"], "forecast: expected --verbose without --model, got both."),  # lines that never come
        (["generate", "--model", "g.npz", "--epochs", "3", "--verbose", "0"], "generate: expected --epochs without --model, got both."),
    ):  # fmt: skip
        assert main([argv[0], "--model", str(tmp_path / argv[2]), *argv[3:]]) == 2, argv
        assert error_line(capsys).startswith(f"lstmkit: error: {message}"), argv
    # what a loaded model reads is taken: these fail only for want of the file. --verbose 0 too: it asks for no
    # training progress, and a loaded model has none (it was refused, breaking a script that keeps its logs quiet)
    for argv in (["forecast", "--model", "f.npz", "--steps", "2", "--column", "y", "--out", "o.csv", "--plot", "p.png"],
                 ["generate", "--model", "g.npz", "--prime", "a", "--length", "3", "--temperature", "0.5", "--top-k", "2", "--seed", "1"],
                 ["forecast", "--model", "f.npz", "--verbose", "0"], ["generate", "--model", "g.npz", "--verbose", "0"]):  # fmt: skip
        assert main([argv[0], "--model", str(tmp_path / argv[2]), *argv[3:]]) == 1, argv
        assert "No such file or directory" in error_line(capsys), argv


def test_typed_options_are_told_from_defaults_which_stay_argparse_s():
    from lstmkit.cli import build_parser
    from lstmkit.commands._options import typed_options

    parser = build_parser()
    args = parser.parse_args(["forecast", "s.csv"])
    assert (args.epochs, args.lr, args.log) == (100, 0.01, False)
    assert typed_options(args) == []
    args = parser.parse_args(["forecast", "s.csv", "--epochs", "100", "--log", "--seed", "3", "--epochs", "7"])
    assert args.epochs == 7 and args.seed == 3 and typed_options(args) == ["--epochs", "--log", "--seed"]
    assert typed_options(args, ("seed",)) == ["--epochs", "--log"]
    assert typed_options(parser.parse_args(["generate", "--temperature", "0.5", "1"])) == ["--temperature"]
    assert typed_options(parser.parse_args(["generate"])) == [] and parser.parse_args(["generate"]).temperature == [1.0]


def test_plots_are_written_in_the_format_their_suffix_names(counting, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    base = ["train", str(counting / "c.npz"), "--per-step", "--hidden-size", "2", "--epochs", "1", "--model-out", str(tmp_path / "m.npz")]
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")):
        assert main([*base, "--plot", str(tmp_path / f"c{suffix}")]) == 0
        assert (tmp_path / f"c{suffix}").read_bytes()[:4] == magic[:4], suffix  # was PNG data under every name


def test_a_csv_with_a_byte_order_mark(tmp_path, capsys):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfa,b,label\n1,2,x\n3,4,y\n")  # as Excel writes 'CSV UTF-8'
    assert main(["train", str(tmp_path / "bom.csv"), "--target", "label", "--features", "a", "--hidden-size", "2",
                 "--epochs", "1", "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip


def test_a_warning_is_one_line(tmp_path, capsys):
    # the library's warnings read as the errors do: one line, without its file and source line
    import numpy as np

    X = np.random.default_rng(0).normal(size=(6, 3, 2))
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(6) % 2)
    assert main(["train", str(tmp_path / "d.npz"), "--dropout", "0.5", "--hidden-size", "3", "--epochs", "1",
                 "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert err == ["lstmkit: warning: LSTM: dropout=0.5 acts between stacked layers, so with num_layers=1 it does nothing. "
                   "Use num_layers > 1 (or dropout_input / dropout_recurrent for dropout inside the layer)."]  # fmt: skip


def test_usage_errors_exit_2_as_argparse_s(tmp_path, capsys):
    # an argument missing: predict's is argparse's (2); forecast's, generate's and explain's are found
    # after parsing, and are usage errors too, in one line
    with pytest.raises(SystemExit) as exit_:
        main(["predict"])
    assert exit_.value.code == 2
    capsys.readouterr()
    for argv in (["forecast"], ["generate"], ["explain"]):
        assert main(argv) == 2, argv
        assert error_line(capsys).startswith(f"lstmkit: error: {argv[0]}: expected "), argv


def test_an_unknown_builtin_lists_the_builtin_names(tmp_path, monkeypatch, capsys):
    # a value of the command line, whatever the files hold: a usage error (it exited 1), before anything is read
    # (--model names no file) or written
    monkeypatch.chdir(tmp_path)
    for argv, message in (
        (["forecast", "builtin:nope", "--column", "x"], "forecast: expected a series file or a built-in one among ['builtin:airline'], got 'builtin:nope'."),
        (["forecast", "builtin:nope", "--model", "f.npz", "--out", "f.csv"], "forecast: expected a series file or a built-in one among ['builtin:airline'], got 'builtin:nope'."),
        (["generate", "--text", "builtin:nope"], "generate: expected --text a file or a built-in text among ['builtin:stdlib'], got 'builtin:nope'."),
        (["generate", "--text", "builtin:nope", "--model-out", "g.npz"], "generate: expected --text a file or a built-in text among ['builtin:stdlib'], got 'builtin:nope'."),
    ):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys) == f"lstmkit: error: {message}", argv
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_worked_example_name_lists_the_builtin_ones(tmp_path, monkeypatch, capsys):
    # explain and check, as forecast and generate: a usage error (exit 2) before anything is read or written
    monkeypatch.chdir(tmp_path)
    names = "['builtin:seed000', 'builtin:seed001', 'builtin:seed002', 'builtin:variants']"
    for argv in (["explain", "builtin:seed009"], ["explain", "builtin:seed009", "-o", "s.md", "-f", "md"],
                 ["check", "builtin:seed009"], ["check", "builtin:", "-f", "json"]):  # fmt: skip
        assert main(argv) == 2, argv
        got = repr(argv[1])
        assert error_line(capsys) == f"lstmkit: error: {argv[0]}: expected a worked-example file or a built-in one among {names}, got {got}.", argv
    assert list(tmp_path.iterdir()) == []


def test_explain_and_check_take_the_builtin_examples_and_their_help_lists_them(tmp_path, monkeypatch, capsys):
    # what a pip install has (no examples/ folder): run from an empty folder
    monkeypatch.chdir(tmp_path)
    for command in ("explain", "check"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())  # argparse's line breaks
        assert "builtin:seed000, builtin:seed001, builtin:seed002, builtin:variants" in out, command
    assert main(["explain", "builtin:seed000", "--round", "1", "-f", "md"]) == 0
    assert "Seed 000" in capsys.readouterr().out
    assert main(["check", "builtin:seed002", "--example", "3", "-f", "json"]) == 0  # a slide whose claims hold
    assert main(["check", "builtin:seed000", "-f", "json"]) == 1  # seed 000's step 3 does not follow
    # a file that is not there says what is built in (explain: 1, a file; check: 2, no claims to read)
    assert main(["explain", "examples/seed000.toml", "-f", "md"]) == 1
    assert "builtin:seed000, builtin:seed001" in error_line(capsys)
    assert main(["check", "seed000"]) == 2
    assert "builtin:seed000, builtin:seed001" in error_line(capsys)


def test_a_data_file_no_reader_takes_is_a_usage_error_before_anything_is_read(tmp_path, monkeypatch, capsys):
    # the suffix says no reader takes the file, whatever it holds: exit 2, naming the suffixes read (it exited 1,
    # after the model was loaded, or as a missing file); the files named need not exist: nothing is read
    monkeypatch.chdir(tmp_path)
    for argv, message in (
        (["train", "d.txt", "--model-out", "m.npz"], "d.txt: expected a .csv, .npz or .npy file, got '.txt'."),
        (["train", "data", "--model-out", "m.npz"], "data: expected a .csv, .npz or .npy file, got 'no extension'."),
        (["predict", "m.npz", "d.xlsx", "--out", "p.csv"], "d.xlsx: expected a .csv, .npz or .npy file, got '.xlsx'."),
        (["forecast", "s.txt", "--out", "f.csv"], "s.txt: expected a .csv or .npy series (or builtin:airline), got '.txt'."),
        (["forecast", "s.npz", "--model", "f.npz"], "s.npz: expected a .csv or .npy series (or builtin:airline), got '.npz'."),
        (["forecast", "s.npy", "--model", "f.npz", "--time-column", "t"], "forecast: expected --time-column with a .csv, got it with '.npy' (a .npy holds no times)."),
    ):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys) == f"lstmkit: error: {message}", argv
    assert list(tmp_path.iterdir()) == []


def test_a_forecast_column_list_is_checked_as_a_usage_error(tmp_path, monkeypatch, capsys):
    # the command line's fault whatever the file holds: exit 2 (a CSV without --column exited 1; 'a,a' fitted one
    # series as two, without a word; 'a,' looked for a column named ''); before anything is read: s.csv need not exist
    monkeypatch.chdir(tmp_path)
    for argv, message in (
        (["forecast", "s.csv", "--column", "a,a"], "forecast: expected --column distinct columns, got 'a' twice in 'a,a'. Name each series once."),
        (["forecast", "s.csv", "--column", "a, b,a ", "--model", "f.npz"], "forecast: expected --column distinct columns, got 'a' twice in 'a, b,a '. Name each series once."),
        (["forecast", "s.csv", "--column", "a,"], "forecast: expected --column column names separated by commas, got 'a,', which holds an empty name."),
        (["forecast", "--model", "f.npz", "--column", ""], "forecast: expected --column column names separated by commas, got '', which holds an empty name."),
    ):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys) == f"lstmkit: error: {message}", argv
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "s.csv").write_text("t,a,b\n0,1,2\n1,2,3\n")  # a CSV's series are named by --column: a usage error
    assert main(["forecast", "s.csv"]) == 2
    assert error_line(capsys) == "lstmkit: error: s.csv: expected --column naming the series among ['t', 'a', 'b'], got none."


def test_a_forecast_column_list_is_read_once_by_its_argument_type():
    # --column was split and stripped in three places (the check, load_series, check_model_columns): argparse's
    # type reads it once, into the names and the text typed, which the refusals quote back
    from lstmkit.cli import build_parser

    args = build_parser().parse_args(["forecast", "s.csv", "--column", " a, b"])
    assert args.column == ["a", "b"] and args.column.text == " a, b"


def test_an_output_named_for_another_format_is_refused_before_the_command_runs(tmp_path, monkeypatch, capsys):
    # predict writes CSV text, exercise TOML, train an .npz model file: a name saying otherwise is refused, in one
    # line naming the suffixes written, before anything runs; a usage error whatever the disk holds: exit 2, as
    # argparse's refusals (it exited 1, as a file that cannot be written)
    import lstmkit.commands.exercise as exercise
    import lstmkit.commands.predict as predict
    import lstmkit.commands.train as train

    ran = []
    for mod in (train, predict, exercise):
        monkeypatch.setattr(mod, "run", lambda args, name=mod.__name__: ran.append(name) or 0)
    monkeypatch.chdir(tmp_path)
    for argv, message in (
        (["predict", "m.npz", "d.npz", "--out", "p.npz"], "predict: expected --out ending in .csv (the format written), got 'p.npz'."),
        (["exercise", "--seed", "7", "--out", "ex7.json"], "exercise: expected --out ending in .toml or .txt (the format written), got 'ex7.json'."),
        (["train", "d.npz", "--model-out", "x.txt"], "train: expected --model-out ending in .npz (the format written), got 'x.txt'."),
        (["train", "d.npz", "--model-out", "m.npz", "--checkpoint", "ck"], "train: expected --checkpoint ending in .npz (the format written), got 'ck'."),
        (["forecast", "s.csv", "--out", "f.json"], "forecast: expected --out ending in .csv (the format written), got 'f.json'."),
        (["memory", "--json", "m.txt"], "memory: expected --json ending in .json (the format written), got 'm.txt'."),
        (["train", "d.npz", "--model-out", "m.npz", "--plot", "fig.bmp"], "train: expected --plot ending in .png, .pdf or .svg (the format written), got 'fig.bmp'."),
    ):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys) == f"lstmkit: error: {message}", argv
    assert ran == []
    for argv in (["predict", "m.npz", "d.npz", "--out", "P.CSV"], ["exercise", "--seed", "7", "--out", "ex7.toml"],
                 ["train", "d.npz", "--model-out", "m.npz", "--checkpoint", "ck.npz"]):  # fmt: skip
        assert main(argv) == 0, argv


# -- predict on a model file that is not an estimator's: what to do with it -----------------------
PREDICT_HEAD = "lstmkit: error: predict: expected MODEL a classifier's or regressor's file (written by 'lstmkit train' or an estimator's save()), got"


def test_predict_on_a_bare_modules_file_says_how_to_run_it(tmp_path, monkeypatch, capsys):
    import numpy as np

    import lstmkit
    from lstmkit.modelfile import save_lstm

    monkeypatch.chdir(tmp_path)
    lstm = lstmkit.LSTM(3, 4, batch_first=True, dtype=np.float64, seed=0)
    W, b = np.arange(8.0).reshape(2, 4) / 10, np.array([0.5, -0.5])
    save_lstm("m.npz", lstm, {"weight": W, "bias": b})
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    np.savez("x.npz", X=x)
    assert main(["predict", "m.npz", "x.npz"]) == 1
    assert error_line(capsys) == (f"{PREDICT_HEAD} an LSTM file 'm.npz' (a network without an estimator's classes or scaling). "
                                  "Run it in Python: lstmkit.read_lstm('m.npz').predict(x) (an LSTM or RNN, with its read-out if it has one).")  # fmt: skip
    # what it says to run gives the network's read-out, y W^T + b
    y, _ = lstm(x)
    np.testing.assert_allclose(lstmkit.read_lstm("m.npz").predict(x), y @ W.T + b, atol=1e-14)
    # lstmkit.load returns the model in eval mode: the hint calls no .eval() (which said load's model was in training mode)
    model = lstmkit.SequenceModel(3, 2, 4, num_layers=2, dropout=0.5, dtype=np.float64, seed=0)
    model.save("s.npz")
    assert main(["predict", "s.npz", "x.npz"]) == 1
    assert error_line(capsys) == (f"{PREDICT_HEAD} a SequenceModel file 's.npz' (a network without an estimator's classes or scaling). "
                                  "Run it in Python: out, _ = lstmkit.load('s.npz')(x) (x (B, T, I), batch first).")  # fmt: skip
    out, _ = lstmkit.load("s.npz")(x)
    np.testing.assert_allclose(out, model.eval()(x)[0], atol=1e-14)  # no dropout


def test_predict_on_an_onnx_file_says_to_convert_it(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")
    import numpy as np

    import lstmkit
    from lstmkit.interop.onnx import to_onnx

    monkeypatch.chdir(tmp_path)
    lstm = lstmkit.LSTM(3, 4, seed=0)
    to_onnx(lstm, None, "m.onnx")
    np.savez("x.npz", X=np.zeros((2, 5, 3), np.float32))
    assert main(["predict", "m.onnx", "x.npz"]) == 1
    assert error_line(capsys) == (
        f"{PREDICT_HEAD} an ONNX file 'm.onnx'. To run it, convert it, 'lstmkit convert m.onnx m.npz', and run the .npz in Python: "
        "lstmkit.read_lstm('m.npz').predict(x) (an LSTM or RNN, with its read-out if it has one), or for a SequenceModel (as "
        "convert's output says) out, _ = lstmkit.load('m.npz')(x) (x (B, T, I), batch first).")  # fmt: skip
    # the route it names runs the graph's network
    assert main(["convert", "m.onnx", "m.npz"]) == 0
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(lstmkit.read_lstm("m.npz").predict(x), lstm(x)[0], atol=1e-6)


def test_a_missing_optional_package_is_one_line_naming_the_command_the_package_and_the_pip_line(tmp_path, monkeypatch, capsys):
    # without the cli extra (rich, matplotlib): a traceback ending in ModuleNotFoundError, exit 1, and train --plot
    # trained and saved its model before failing at the figure. Where the command line tells what is needed, the
    # refusal comes before any work (exit 2, as an output in a format not written); else where the import fails (1)
    import importlib

    example = str(Path(__file__).parents[1] / "examples" / "seed000.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich fails as it does where it is not installed
    for argv in (["explain", example], ["check", example]):
        assert main(argv) == 2, argv
        assert error_line(capsys) == (f"lstmkit: error: {argv[0]}: expected rich installed (to lay out --format text), got none. "
                                      f"Install it: pip install \"lstmkit[cli]\" (or use --format {'md' if argv[0] == 'explain' else 'md or json'}).")  # fmt: skip
    assert main(["explain", example, "-f", "md"]) == 0 and "# Seed 000" in capsys.readouterr().out  # md needs no rich
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    ran = []
    for name, modpath in COMMANDS.items():
        monkeypatch.setattr(importlib.import_module(modpath), "run", lambda args: ran.append(args.command) or 0)
    for argv in (["train", "d.npz", "--model-out", "m.npz", "--plot", "c.png"], ["forecast", "s.npy", "--plot", "f.svg"],
                 ["memory", "--plot", "m.pdf"]):  # fmt: skip
        assert main(argv) == 2, argv
        assert error_line(capsys) == (f"lstmkit: error: {argv[0]}: expected matplotlib installed (to draw --plot), got none. "
                                      "Install it: pip install \"lstmkit[cli]\" (or leave out --plot).")  # fmt: skip
    assert main(["demo", "--skip", "memory"]) == 2
    assert error_line(capsys) == ("lstmkit: error: demo: expected matplotlib installed (to draw forecast.png), got none. "
                                  "Install it: pip install \"lstmkit[cli]\" (or use --skip forecast).")  # fmt: skip
    assert main(["explain", example, "-f", "html"]) == 2
    assert "explain: expected matplotlib installed (to draw --format html's figures)" in error_line(capsys)
    assert ran == []  # refused before any work
    assert main(["train", "d.npz", "--model-out", "m.npz"]) == 0 and ran == ["train"]  # no --plot: no matplotlib needed


def test_a_package_missing_where_the_work_imports_it_is_one_line_exit_1(tmp_path, monkeypatch, capsys):
    from lstmkit import LSTM, save_lstm

    save_lstm(tmp_path / "l.npz", LSTM(2, 3))
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["convert", str(tmp_path / "l.npz"), str(tmp_path / "l.pt")]) == 1
    assert error_line(capsys) == "lstmkit: error: convert: expected torch installed, got none. Install it: pip install \"lstmkit[interop]\"."
    assert not (tmp_path / "l.pt").exists()
    with pytest.raises(ImportError):  # --traceback shows it, as any error
        main(["--traceback", "convert", str(tmp_path / "l.npz"), str(tmp_path / "l.pt")])


def test_an_import_error_of_no_optional_package_is_a_bug_shown_with_its_traceback(tmp_path, monkeypatch):
    # a typo in lstmkit's code (import nmupy) or a name gone from NumPy is not a package to install: the command line
    # said 'expected nmupy installed ... pip install nmupy' / 'Reinstall it: pip install --force-reinstall numpy'
    import lstmkit.commands.memory as command

    for error in (ModuleNotFoundError("No module named 'nmupy'", name="nmupy"),
                  ImportError("cannot import name 'trapz_removed' from 'numpy'", name="numpy")):  # fmt: skip

        def broken(args, error=error):
            raise error

        monkeypatch.setattr(command, "run", broken)
        with pytest.raises(ImportError) as raised:
            main(["memory", "--steps", "1"])
        assert raised.value is error


def test_the_optional_packages_are_named_by_the_extras_that_hold_them():
    # the pip line a missing package's error gives installs it: its extra in pyproject.toml lists it
    import re
    import tomllib

    from lstmkit.commands._options import OPTIONAL, missing_package

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for module, (package, extra) in OPTIONAL.items():
        assert package in [re.split(r"[<>=!~ \[;]", r)[0] for r in extras[extra]], (module, extra)
    # the library's own ImportError, raised while Python's failed (digits_sequences): said by the package it names
    try:
        try:
            raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")
        except ImportError:
            raise ImportError("digits_sequences: expected scikit-learn installed, got ImportError.") from None
    except ImportError as exc:
        assert missing_package("digits", exc) == "digits: expected scikit-learn installed, got none. Install it: pip install \"lstmkit[cli]\"."
    broken = ImportError("cannot import name 'Figure' from 'matplotlib.figure'", name="matplotlib.figure")
    assert missing_package("train", broken) == ("train: expected matplotlib to import, got cannot import name 'Figure' from "
                                                "'matplotlib.figure'. Reinstall it: pip install --force-reinstall \"lstmkit[cli]\".")  # fmt: skip


def test_a_module_missing_inside_an_installed_package_is_a_broken_install_on_the_command_line(tmp_path, monkeypatch, capsys):
    # the library (lstmkit._checks.absent_package) lets such a ModuleNotFoundError through as a broken install, but
    # the command line decided by its type and said 'expected matplotlib installed ... pip install "lstmkit[cli]"',
    # which installs nothing: matplotlib is there
    import numpy as np

    pytest.importorskip("matplotlib")
    np.savez(tmp_path / "d.npz", X=np.zeros((8, 3, 2)), y=np.array([0, 1] * 4))
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # matplotlib installed, a module of it missing
    code = main(["train", str(tmp_path / "d.npz"), "--epochs", "1", "--plot", str(tmp_path / "p.png"),
                 "--model-out", str(tmp_path / "m.npz")])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "lstmkit: error: train: expected matplotlib to import (to draw --plot), got import of matplotlib.figure halted; None in "
        "sys.modules. Reinstall it: pip install --force-reinstall \"lstmkit[cli]\" (or leave out --plot).")
    assert not (tmp_path / "m.npz").exists()


def test_every_option_of_every_command_has_help_showing_its_default():
    # demo --seed, memory --batch-size and --seed had no help at all, check --format no default; the
    # variants' 0 (off) was not said. A number's default is shown as its value (argparse's own)
    import argparse
    import re

    from lstmkit.cli import build_parser

    root = build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    quiet = (argparse._HelpAction, argparse._VersionAction, argparse._StoreTrueAction, argparse._StoreFalseAction)
    for name, parser in [("lstmkit", root), *sub.choices.items()]:
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            where = f"{name} {action.option_strings[-1]}"
            text = formatter._expand_help(action) if action.help else ""
            assert text.strip(), f"{where}: no help"
            if isinstance(action, quiet) or action.default is None:
                continue
            assert "default" in text, f"{where}: default {action.default!r} not shown in {text!r}"
            d = action.default
            if isinstance(d, (int, float)) and not isinstance(d, bool):  # the value itself, after the word
                shown = re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text[text.index("default"):])
                assert any(float(v) == d for v in shown), f"{where}: default {d!r}, help says {text!r}"


def test_lstmp_and_mase_are_spelled_out_where_the_help_uses_them(capsys):
    for command, word, spelled in (("train", "LSTMP", "LSTMP (an LSTM with a projection layer"),
                                   ("forecast", "MASE", "MASE (mean absolute scaled error")):  # fmt: skip
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())  # argparse's line breaks
        assert word in out and out.index(word) == out.index(spelled), command


def test_an_example_past_the_files_is_a_usage_error_in_explain_as_in_check(capsys):
    # seed000.toml holds one example: --example 9 exited 1 in explain and 2 in check, the same mistake
    example = str(Path(__file__).parents[1] / "examples" / "seed000.toml")
    for command in ("explain", "check"):
        assert main([command, example, "--example", "9"]) == 2, command
        assert error_line(capsys) == f"lstmkit: error: {command}: expected --example between 1 and 1 (the examples of the file), got 9."


class _Terminal:
    """A standard output that says it is a terminal (explain and check colour only on one)."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}, {"TERM": "unknown"}])
def test_no_color_and_a_dumb_terminal_turn_explain_and_checks_colours_off(monkeypatch, env):
    # https://no-color.org (NO_COLOR set and not empty) and TERM=dumb (Emacs' shell, CI logs): no escape codes
    # on a terminal either; explain wrote 36 ESC bytes and check 46 whatever the environment said
    def output(command, code):
        monkeypatch.setattr(sys, "stdout", _Terminal())
        assert main([command, "builtin:seed000", "--width", "100"]) == code
        return sys.stdout.text

    for command, code in (("explain", 0), ("check", 1)):
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.setenv("NO_COLOR", "")  # set but empty asks for nothing (no-color.org): colours stay
        assert "\x1b[" in output(command, code), command
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        text = output(command, code)
        assert "\x1b" not in text and "σ" in text, (command, env)


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_an_output_that_cannot_encode_the_symbols_gets_them_spelled_not_a_failure(tmp_path, encoding):
    # PYTHONIOENCODING=ascii, or cp1252 (Windows' when redirected to a file): explain and check printed nothing
    # and exited 1 ("'ascii' codec can't encode characters"), check's code for a wrong claim; train saved the
    # model, then failed on its last line. Now each exits with its own code, its output readable in the encoding
    import numpy as np

    env = os.environ | {"PYTHONIOENCODING": encoding}
    times = "*" if encoding == "ascii" else "×"  # cp1252 has × (and ·, ²), not σ, ᵀ, ⎡ or ─

    def run(*argv):
        p = subprocess.run([sys.executable, "-m", "lstmkit", *argv], capture_output=True, env=env, cwd=tmp_path)
        return p.returncode, p.stdout.decode(encoding), p.stderr.decode(encoding)  # strict: what it cannot hold is not there

    code, out, err = run("explain", "builtin:seed000")
    assert (code, err) == (0, "")
    # seed 000's first gate as the UTF-8 text draws it, i_1 = σ(⎡4 4⎤ × ⎡1.0⎤ / ⎣2 2⎦ ⎣0.0⎦), spelled and still aligned
    assert f"i_1 = sigma(W_ii x_1)\n    = sigma([4 4] {times} [1.0])\n           ([2 2]   [0.0])\n" in out
    assert f"c~_1 = tanh(W_ic x_1)\n     = tanh([1  3] {times} [1.0])\n" in out and "= [0.982, 0.881]^T" in out
    code, out, err = run("check", "builtin:seed000", "--width", "200")
    assert (code, err) == (1, "") and "a new error: i_3 = sigma(z_i_3) = sigma(3.3) = 1.0" in out  # 1: seed 000's step 3
    code, out, err = run("check", "builtin:seed000", "--format", "md")
    assert (code, err) == (1, "") and "| a new error: i_3 = sigma(z_i_3) = sigma(3.3) = 1.0 |" in out
    code, out, err = run("explain", "builtin:seed000", "--format", "md")
    assert (code, err) == (0, "") and "{}i_{1} &= \\sigma\\left(W_{ii} x_{1}\\right)" in out  # LaTeX math: ASCII already
    assert "so the W_h" + ("*" if encoding == "ascii" else "·") + " h_0 terms drop out" in out  # the prose's W_h·
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 3, 2)), y=np.array([0, 1, 0, 1]))
    code, out, err = run("train", "d.npz", "--epochs", "1", "--hidden-size", "2", "--verbose", "0", "--model-out", "мод σ.npz")
    assert (code, err) == (0, "") and "model saved to \\u043c\\u043e\\u0434 \\u03c3.npz" in out  # the path as Python escapes it
    assert (tmp_path / "мод σ.npz").is_file()
    # the demo's worked example and memory's --help wrote σ as \u03c3 there (the entry point's escape)
    code, out, err = run("demo", "--quick", "--out", "d", "--skip", "counting", "digits", "forecast", "text", "memory")
    assert (code, err) == (0, "") and "  i = sigma([+4.0000, +2.0000]) = [+0.9820, +0.8808]" in out and "\\u" not in out
    assert "i = σ([+4.0000, +2.0000])" in (tmp_path / "d" / "seed000.txt").read_text(encoding="utf-8")  # the file keeps σ
    code, out, err = run("memory", "--help")
    assert (code, err) == (0, "") and "sigmoid(value)" in out and "\\u" not in out


def test_ctrl_c_before_the_command_runs_is_one_line_and_130(monkeypatch, capsys):
    # a Ctrl-C while the command line was read and the commands imported (build_parser: ~0.2 s of a
    # start) came out of entry() as Python's KeyboardInterrupt traceback, the process killed by SIGINT
    import lstmkit.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    monkeypatch.setattr(sys, "argv", ["lstmkit", "demo"])
    try:
        with pytest.raises(SystemExit) as exited:
            cli.entry()
    except KeyboardInterrupt:  # (not left to end the test session)
        pytest.fail("entry() let the KeyboardInterrupt through")
    assert exited.value.code == 130 and capsys.readouterr().err == "lstmkit: interrupted\n"


def test_ctrl_c_while_python_m_lstmkit_imports_its_command_line_is_one_line_and_130():
    # __main__ imports lstmkit.cli (the commands, argparse) before entry() runs: a Ctrl-C there is one line and
    # 130 too, not Python's traceback (helper-206 #3). A finder raises the interrupt as lstmkit.cli is imported
    code = (
        "import runpy, sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'lstmkit.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['lstmkit', 'demo']\n"
        "runpy.run_module('lstmkit', run_name='__main__')\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stderr, p.stdout) == (130, "lstmkit: interrupted\n", "")
