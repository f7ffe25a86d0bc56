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
    assert os.path.exists  # the test process's os is untouched (the deletion was in the child)


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


def test_einval_naming_a_file_stays_an_error_on_windows(monkeypatch):
    # an EINVAL with a file name (Windows: an invalid name such as 'a?.csv') is about that file, not a pipe
    from lstmkit.cli import _reader_gone

    monkeypatch.setattr(sys, "platform", "win32")
    assert _reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    assert not _reader_gone(OSError(errno.EINVAL, "Invalid argument", "a?.csv"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert not _reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    assert _reader_gone(BrokenPipeError(errno.EPIPE, "Broken pipe"))
