"""Windows and macOS behaviour, simulated on Linux (helper-171's portability review): a removed ``os``
attribute, a monkeypatched ``sys.platform`` or ``os`` call standing for the other platform's rule."""

import errno
import io
import json
import os
import subprocess
import sys
import textwrap


def test_import_and_forward_without_register_at_fork(tmp_path):
    # Windows' os has no register_at_fork (Unix only): the import failed with AttributeError at
    # workspace.py, and packed_gemm's failure would have turned the compiled path off silently
    body = """
        import json, os
        del os.register_at_fork, os.fork  # as on Windows (random.py then skips its own hook)
        import numpy as np
        import lstmkit, lstmkit.kernels_numba as kn
        x = np.random.default_rng(0).standard_normal((4, 2, 2)).astype(np.float32)
        ys = {}
        for backend in ("numpy", "numba"):
            lstm = lstmkit.LSTM(2, 3, seed=0)
            lstm.backend = backend
            ys[backend] = lstm(x)[0].tolist()
        print(json.dumps({"available": kn.AVAILABLE, "broken": kn.BROKEN, "ys": ys}))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # this process has the attribute: the compiled path is as available there as here
    import lstmkit.kernels_numba as kn

    assert (got["available"], got["broken"]) == (kn.AVAILABLE, kn.BROKEN)
    import numpy as np

    np.testing.assert_allclose(got["ys"]["numba"], got["ys"]["numpy"], rtol=1e-5, atol=1e-6)
    assert hasattr(os, "register_at_fork")  # the test process's os is untouched (the deletion was in the child)


class _GoneAfter(io.TextIOBase):
    """A stdout whose reader goes after ``n`` writes: each later write raises ``exc``."""

    def __init__(self, n: int, exc: OSError) -> None:
        self.n, self.exc = n, exc

    def write(self, text: str) -> int:
        self.n -= 1
        if self.n < 0:
            raise self.exc
        return len(text)

    def flush(self) -> None:
        pass


def test_windows_closed_pipe_einval_is_a_reader_gone(tmp_path, monkeypatch, capsys):
    # on Windows a write to a pipe whose reader has gone raises OSError(EINVAL), not BrokenPipeError
    # (CPython issue #79935): train stopped with exit 1 and no model, predict said '[Errno 22] Invalid argument'
    import numpy as np

    from lstmkit.cli import main
    from lstmkit.datasets import counting_task

    X, y = counting_task(20, 4, seed=0)
    np.savez(tmp_path / "count.npz", X=X, y=y)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "platform", "win32")
    einval = OSError(errno.EINVAL, "Invalid argument")
    monkeypatch.setattr(sys, "stdout", _GoneAfter(3, einval))
    argv = ["train", "count.npz", "--per-step", "--hidden-size", "2", "--readout", "identity", "--epochs", "20",
            "--verbose", "2", "--model-out", "m.npz"]  # fmt: skip
    assert main(argv) == 0
    assert (tmp_path / "m.npz").exists() and capsys.readouterr().err == ""
    monkeypatch.setattr(sys, "stdout", _GoneAfter(0, einval))
    assert main(["predict", "m.npz", "count.npz"]) == 141
    assert capsys.readouterr().err == ""


def test_windows_einval_not_from_writing_stdout_stays_an_error(tmp_path, monkeypatch, capsys):
    # helper-174 #5: any OSError(EINVAL) without a file name reaching main() on win32 exited 141 with nothing said
    # (datetime.fromtimestamp(-1) raises one there); only a write or flush to stdout is a reader gone
    import lstmkit.commands.predict as predict
    from lstmkit.cli import main

    def run(args):
        print("a line", flush=True)  # stdout is fine
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(predict, "run", run)
    assert main(["predict", "m.npz", "x.npz"]) == 1
    out, err = capsys.readouterr()
    assert out == "a line\n" and err == "lstmkit: error: [Errno 22] Invalid argument\n", err


def test_einval_naming_a_file_stays_an_error_on_windows(monkeypatch):
    # an EINVAL with a file name (Windows: an invalid name such as 'a?.csv') is about that file, not a pipe
    from lstmkit.cli import _reader_gone

    monkeypatch.setattr(sys, "platform", "win32")
    assert _reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    assert not _reader_gone(OSError(errno.EINVAL, "Invalid argument", "a?.csv"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert not _reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    assert _reader_gone(BrokenPipeError(errno.EPIPE, "Broken pipe"))


def test_exercise_key_naming_the_out_file_by_a_hard_link_is_refused(tmp_path, monkeypatch, capsys):
    # a second name of one file (a hard link; on macOS' APFS, 'EX.toml' for 'ex.toml'): the key overwrote the exercise
    from lstmkit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ex.toml").write_text("old\n")
    os.link(tmp_path / "ex.toml", tmp_path / "alias.toml")
    assert main(["exercise", "--seed", "7", "--out", "ex.toml", "--key", "alias.toml"]) == 2
    err = capsys.readouterr().err
    assert err == ("lstmkit: error: exercise: expected --key a different file from --out, got --out ex.toml and --key alias.toml, "
                   "which name one file (a link, or names differing only in case on macOS and Windows). Give --key another name.\n"), err
    assert (tmp_path / "ex.toml").read_text() == "old\n"


def test_exercise_key_differing_in_case_on_a_case_insensitive_file_system(tmp_path, monkeypatch, capsys):
    # macOS' APFS folds case, simulated: each write, and samefile's lookups, go to the case-folded name.
    # The key was written over the exercise (exit 0, one file holding the answers); then the exercise was written
    # before the refusal (exit 2 with ex.toml left): names equal but for case in one folder are refused first, on any OS
    from pathlib import Path

    import lstmkit.io as lio
    from lstmkit.cli import main

    def fold(p):
        p = Path(p)
        return p.parent / p.name.casefold()

    real_write, real_samefile = lio.atomic_write_bytes, os.path.samefile
    monkeypatch.setattr(lio, "atomic_write_bytes", lambda path, write: real_write(fold(path), write))
    monkeypatch.setattr(os.path, "samefile", lambda a, b: real_samefile(fold(a), fold(b)))
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "--seed", "7", "--out", "ex.toml", "--key", "EX.toml"]) == 2
    assert "expected --key a different file from --out, got --out ex.toml and --key EX.toml, which name one file" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # nothing written
    # the same on a case-sensitive file system (no simulation), and a folder named differently is one folder too
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert main(["exercise", "--seed", "7", "--out", "sub/Ex.toml", "--key", "sub/../sub/eX.TOML"]) == 2
    capsys.readouterr()
    assert os.listdir(tmp_path / "sub") == []
    assert main(["exercise", "--seed", "7", "--out", "sub/ex.toml", "--key", "ex.toml"]) == 0  # another folder: two files
    assert sorted(os.listdir(tmp_path / "sub")) == ["ex.toml"] and (tmp_path / "ex.toml").exists()


def test_convert_out_naming_in_by_a_hard_link_is_refused(tmp_path, monkeypatch, capsys):
    from lstmkit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.npz").write_bytes(b"PK\x03\x04 truncated")
    os.link(tmp_path / "m.npz", tmp_path / "alias.npz")
    assert main(["convert", "m.npz", "alias.npz"]) == 2
    assert capsys.readouterr().err == ("lstmkit: error: convert: expected OUT other than IN (the input would be overwritten), "
                                       "got OUT 'alias.npz' and IN 'm.npz', which name one file (a link, or names differing only "
                                       "in case on macOS and Windows). Give OUT another name.\n")  # fmt: skip
    assert main(["convert", "m.npz", "M.NPZ"]) == 2  # not there yet: one file on macOS and Windows
    assert "got OUT 'M.NPZ' and IN 'm.npz', which name one file" in capsys.readouterr().err
    assert (tmp_path / "m.npz").read_bytes() == b"PK\x03\x04 truncated"


def test_atomic_write_over_a_read_only_file_with_windows_semantics(tmp_path, monkeypatch):
    # Windows refuses os.replace onto, and os.unlink of, a read-only file (FILE_ATTRIBUTE_READONLY, what
    # chmod 0o444 sets): the temporary file (given the destination's 0o444) stayed, and the cleanup's
    # PermissionError replaced the real one, naming '.ro.csv.XXXX.tmp' instead of ro.csv
    import stat

    import pytest

    from lstmkit import io as lio

    real_replace, real_unlink = os.replace, os.unlink

    def read_only(p) -> bool:
        return os.path.exists(p) and not os.stat(p).st_mode & stat.S_IWUSR

    def win_replace(src, dst):
        if read_only(dst):
            raise PermissionError(errno.EACCES, "Access is denied", src, None, dst)
        real_replace(src, dst)

    def win_unlink(p):
        if read_only(p):
            raise PermissionError(errno.EACCES, "Access is denied", p)
        real_unlink(p)

    dest = tmp_path / "ro.csv"
    dest.write_text("old\n")
    dest.chmod(0o444)
    monkeypatch.setattr(os, "replace", win_replace)
    monkeypatch.setattr(os, "unlink", win_unlink)
    try:
        with pytest.raises(PermissionError) as err:
            lio.atomic_write_bytes(dest, lambda f: f.write(b"new\n"))
        assert err.value.filename == str(dest), err.value
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.csv"]
        assert dest.read_text() == "old\n"
    finally:
        dest.chmod(0o644)


def test_install_hints_quote_the_extra_as_cmd_exe_strips_it():
    # cmd.exe passes single quotes on to pip ("'lstmkit[cli]'": InvalidRequirement); double quotes are
    # stripped by sh, zsh, PowerShell and cmd alike
    import shlex

    from lstmkit._checks import not_installed

    msg = not_installed("f", "matplotlib", "to draw")
    assert msg.endswith('Install it: pip install "lstmkit[cli]".'), msg
    line = msg.split("Install it: ")[1].rstrip(".")
    assert shlex.split(line) == line.replace('"', "").split() == ["pip", "install", "lstmkit[cli]"]


def test_text_with_crlf_line_ends_trains_the_model_of_lf(tmp_path):
    # a text saved on Windows (Notepad, git core.autocrlf) had '\r' in vocab_ (17 characters, not 16)
    # and another first-epoch loss from the same seed
    from pathlib import Path

    from lstmkit import TextGenerator

    lines = ["the cat sat on the mat", "a dog ran far"] * 40
    fits = {}
    for name, end in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        f = tmp_path / f"{name}.txt"
        f.write_bytes(end.join(lines).encode("utf-8") + end.encode())
        fits[name] = TextGenerator(hidden_size=16, epochs=1, seq_len=20, batch_size=4, seed=0).fit(Path(f))
    assert "\r" not in fits["crlf"].vocab_
    for name in ("crlf", "cr"):
        assert fits[name].vocab_ == fits["lf"].vocab_
        assert fits[name].history_.epochs[0]["loss"] == fits["lf"].history_.epochs[0]["loss"]


def test_memory_bytes_on_windows_asks_global_memory_status_ex(monkeypatch):
    # Windows has no os.sysconf: memory_bytes() was sys.maxsize there, so an .npz declaring more than the
    # machine has was inflated instead of refused. kernel32's GlobalMemoryStatusEx fills a MEMORYSTATUSEX
    # (64 bytes, Microsoft's documented size) whose dwLength the caller sets; a fake stands for it here.
    import ctypes

    from lstmkit import tables

    seen = []

    def fake(pointer):  # what kernel32 does: checks dwLength, writes ullTotalPhys (8 GiB here), returns nonzero
        status = pointer.contents
        seen.append(status.dwLength)
        status.ullTotalPhys = 8 << 30
        status.ullAvailPhys = 1 << 30
        return 1

    class Kernel32:
        GlobalMemoryStatusEx = staticmethod(fake)

    class WinDLL:
        kernel32 = Kernel32()

    monkeypatch.delattr(os, "sysconf")
    monkeypatch.setattr(ctypes, "windll", WinDLL(), raising=False)
    monkeypatch.setattr(os, "name", "nt")
    try:
        got = tables.memory_bytes()
    finally:
        monkeypatch.undo()
    assert got == 8 << 30 and seen == [64]
    assert tables._windows_memory_bytes(lambda pointer: 0) == sys.maxsize  # the call failed: no bound, as before


def test_a_checkout_with_autocrlf_keeps_the_committed_lf(tmp_path):
    # a Windows checkout (core.autocrlf=true, Git for Windows' default) turned every text file CRLF, and the
    # goldens, TOML and CSV the tests compare byte for byte no longer matched; .gitattributes' eol=lf keeps
    # them as committed. A clone of this checkout's HEAD made with autocrlf=true, its text files read back.
    import shutil
    from pathlib import Path

    import pytest

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-c", "core.autocrlf=true", str(root), str(clone)], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    eol = subprocess.run(["git", "-C", str(clone), "ls-files", "--eol"], capture_output=True, text=True, check=True).stdout
    work = [line.split()[1] for line in eol.splitlines()]  # "w/lf", "w/crlf", "w/-text" (binary), ...: the checked-out files
    assert len(work) > 100 and "w/lf" in work
    crlf = [line.split("\t")[-1] for line in eol.splitlines() if line.split()[1] in ("w/crlf", "w/mixed")]
    assert crlf == [], crlf[:10]
    # the binary fixture as committed, byte for byte
    png = "benchmarks/results/bench_lstm.png"
    committed = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{png}"], capture_output=True, check=True).stdout
    assert (clone / png).read_bytes() == committed


def test_the_binary_formats_are_git_binary():
    # .gitattributes said "-text" for them under a comment "never diffed as text": -text only stops line-end
    # conversion (git check-attr diff: unspecified; a diff or merge went by git's guess, a NUL byte) (helper-206 #5).
    # 'binary' is -text -diff -merge
    import shutil
    from pathlib import Path

    import pytest

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    names = ["benchmarks/results/bench_lstm.png"] + [f"m.{ext}" for ext in ("npz", "npy", "onnx", "keras", "h5", "pt", "gz", "zip")]
    said = subprocess.run(["git", "-C", str(root), "check-attr", "text", "diff", "merge", "--", *names],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    values = [line.rsplit(": ", 1)[1] for line in said.splitlines()]
    assert len(values) == 3 * len(names) and set(values) == {"unset"}, said


def test_stdout_buffer_meets_a_reader_gone_as_stdout_does(monkeypatch):
    # cli._Stdout passed .buffer through to the real stream: a library's sys.stdout.buffer.write on Windows
    # after the reader had gone raised OSError(EINVAL) past the closed-pipe handling (exit 1, '[Errno 22]')
    from lstmkit.cli import _Stdout

    class Raw(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sys, "platform", "win32")
    beside = _Stdout(io.TextIOWrapper(Raw()), beside=True)  # train's progress: the rest goes nowhere
    assert beside.buffer.write(b"epoch 1\n") == 8 and beside.gone
    assert beside.write("epoch 2\n") == 8  # nothing more is tried
    product = _Stdout(io.TextIOWrapper(Raw()), beside=False)  # predict's table: ends the command (exit 141)
    import pytest

    with pytest.raises(BrokenPipeError):
        product.buffer.write(b"row\n")
    assert not hasattr(_Stdout(io.StringIO(), beside=True), "buffer")  # a stream without one: none here either
