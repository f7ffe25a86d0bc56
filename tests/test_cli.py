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
