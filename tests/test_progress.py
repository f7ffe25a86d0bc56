"""The training progress (lstmkit.progress) and where the commands send it."""

from __future__ import annotations

import io
import re

import pytest

from lstmkit.progress import RichBar, make_progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A file that says it is a terminal: rich draws its live display on it, as on a tty."""

    def isatty(self):
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A Terminal 120 columns wide, with no variable that overrides rich's own terminal detection."""
    pytest.importorskip("rich")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    return Terminal()


def test_the_live_bar_keeps_one_row_however_many_epochs(terminal):
    # a new rich task per epoch, all kept live (transient=False): every refresh redrew every epoch so far,
    # so a run's cost grew as epochs² on a terminal (300 epochs 45.9 s against 2.4 s of plain lines). Counted
    # here, not timed: the rows alive and the lines the live region renders after each epoch
    bar = make_progress(1, terminal)
    assert isinstance(bar, RichBar)  # verbose 1 on a terminal: the live bar
    console = bar.progress.console
    assert console.is_terminal
    n, steps = 30, 3
    heights = []
    try:
        for epoch in range(n):
            bar.start_epoch(epoch, n, steps)
            for step in range(steps):
                bar.update({"loss": 9.0 + step})
            assert len(bar.progress.tasks) == 1, f"epoch {epoch + 1}: {len(bar.progress.tasks)} rows live"  # its bar alone
            bar.end_epoch({"loss": (epoch + 1) / 1000, "val_loss": 0.5})
            heights.append(len(console.render_lines(bar.progress.get_renderable(), console.options)))
            assert len(bar.progress.tasks) == 0, f"after epoch {epoch + 1}: {len(bar.progress.tasks)} rows live"
    finally:
        bar.close()
    assert max(heights) <= 1, heights
    # what the user sees is unchanged: one row per finished epoch with its final numbers, left in the scrollback
    text = ANSI.sub("", terminal.getvalue())
    for epoch in range(1, n + 1):
        assert re.search(rf"epoch {epoch}/{n} +━+ {steps}/{steps} loss {epoch / 1000:.4f} - val_loss 0\.5000 ", text), epoch


def test_generate_writes_only_the_sample_s_report_to_stdout_and_its_progress_to_stderr(tmp_path, capsys):
    # `lstmkit generate ... > sample.txt` held the epoch lines beside the sample: the training's progress
    # is on stderr (a live bar there on a terminal), stdout holds what the command produces
    from lstmkit.cli import main

    (tmp_path / "t.txt").write_text("hello world. " * 40, encoding="utf-8")
    argv = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "2", "--hidden-size", "4", "--seq-len", "10",
            "--batch-size", "4", "--length", "5", "--temperature", "0.5"]  # fmt: skip
    for verbose in ("1", "2"):  # 1: not a terminal here, so one plain line per epoch, as 2
        assert main([*argv, "--verbose", verbose]) == 0
        out, err = capsys.readouterr()
        assert not re.search(r"^epoch \d", out, re.M), out
        assert [line[:9] for line in err.splitlines() if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"], err
        assert "--- temperature 0.5 ---" in out
    assert main([*argv, "--verbose", "0"]) == 0
    assert not re.search(r"^epoch \d", "".join(capsys.readouterr()), re.M)
