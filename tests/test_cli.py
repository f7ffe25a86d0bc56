"""The command line, in-process through ``lstmkit.cli.main`` and once as a real subprocess."""

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
    assert main(["--threads", "0", "demo"]) == 1
    assert "set_num_threads" in capsys.readouterr().err and seen == [2]


def test_a_reader_gone_away_ends_quietly_with_141():
    # `lstmkit explain ... | head`: stdout is a pipe whose reader has closed (here before the first
    # write, so the outcome is certain). No traceback, no error line; 141 = 128 + SIGPIPE, as a shell says
    r, w = os.pipe()
    os.close(r)
    try:
        example = Path(__file__).parents[1] / "examples" / "seed000.toml"
        p = subprocess.run([sys.executable, "-m", "lstmkit", "explain", str(example)], stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert p.returncode == 141 and p.stderr == ""


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    assert err.startswith("lstmkit: error: ")
    return err


@pytest.fixture(scope="module")
def counting(tmp_path_factory):
    """A tiny per-step counting model trained on a long CSV (its classes the strings '0', '1'), and
    the same sequences in an .npz with integer labels."""
    import numpy as np

    from lstmkit.datasets import counting_task

    d = tmp_path_factory.mktemp("counting")
    X, y = counting_task(24, 5, seed=0)
    np.savez(d / "c.npz", X=X, y=y)
    rows = [f"q{i},{int(X[i, t, 0])},{int(X[i, t, 1])},{y[i, t]}" for i in range(len(X)) for t in range(X.shape[1])]
    (d / "c.csv").write_text("seq,x1,x2,y\n" + "\n".join(rows) + "\n")
    assert main(["train", str(d / "c.csv"), "--per-step", "--group", "seq", "--target", "y", "--hidden-size", "4",
                 "--epochs", "2", "--model-out", str(d / "m.npz")]) == 0  # fmt: skip
    return d


def test_predict_scores_integer_labels_against_a_model_trained_on_csv_strings(counting, capsys):
    # the model's classes are '0', '1' (a CSV's text); the .npz holds 0, 1: the same labels, the same score
    capsys.readouterr()
    assert main(["predict", str(counting / "m.npz"), str(counting / "c.csv"), "--group", "seq", "--target", "y"]) == 0
    on_csv = capsys.readouterr().out.split("accuracy on")[1].split(": ")[1].strip()
    assert main(["predict", str(counting / "m.npz"), str(counting / "c.npz")]) == 0
    on_npz = capsys.readouterr().out.split("accuracy on")[1].split(": ")[1].strip()
    assert on_npz == on_csv and float(on_npz) > 0.3  # was 0.0000: '1' != 1 at scoring


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
