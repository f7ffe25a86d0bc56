"""``lstmkit demo --quick``: every part runs and writes its file; the summary names the folder."""

from __future__ import annotations

from lstmkit.cli import main


def test_quick_demo_writes_every_part(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("seed000", "counting", "digits", "forecast", "text", "memory", "summary"):
        assert (tmp_path / f"{name}.txt").exists(), name
    for png in ("forecast.png", "memory.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "counting_model.npz").exists() and (tmp_path / "forecast_model.npz").exists()
    summary = (tmp_path / "summary.txt").read_text()
    assert "counting per-step accuracy" in summary and "forecast MAE (seasonal_naive)" in summary and "total:" in summary
    assert out.rstrip().endswith(str(tmp_path.resolve()))


def test_skip_leaves_parts_out(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--quick", "--skip", "text", "memory", "forecast", "counting", "digits"]) == 0
    assert (tmp_path / "seed000.txt").exists() and not (tmp_path / "text.txt").exists()


def test_the_text_part_reads_perplexity_against_the_characters_seen(tmp_path):
    # as 'lstmkit generate' says it: a uniform guess over the characters of the training text
    # scores their number; it said 'a uniform guess scores' one more (the vocabulary's 'unknown'
    # entry, never sampled)
    import re

    from lstmkit.commands.demo import text_part
    from lstmkit.datasets import stdlib_text

    text = stdlib_text(20_000)  # what --quick trains on: its first 90%
    n = len(set(text[: int(len(text) * 0.9)]))
    report, _ = text_part(tmp_path, quick=True, seed=0)
    assert re.search(rf"held-out perplexity \d+\.\d\d per character \(a uniform guess over the {n} characters: {n}\)\n", report), report


def test_the_memory_part_reports_the_trained_gradient_at_the_symbol_over_the_distractors(tmp_path, monkeypatch):
    # the figure is g(lag + 1) / median of g(1..lag) at the longest lag, trained: recomputed here from
    # the result's whole curve g(k) (grad_trained), not from the symbol_trained / distractors_trained
    # the part divides
    import math

    import numpy as np

    import lstmkit.memory as memory
    from lstmkit.commands.demo import memory_part

    results, run = [], memory.run_memory_experiment

    def keep(**kw):  # the part's result, kept for the test
        results.append(run(**kw))
        return results[-1]

    monkeypatch.setattr(memory, "run_memory_experiment", keep)
    _, figures = memory_part(tmp_path, quick=True, seed=0)
    (r,) = results
    lag = int(r.lags[-1])
    assert lag == 5 and len(r.grad_trained["lstm"]) == lag + 2  # k = 0 the query .. k = 6 the symbol
    for c in ("rnn", "lstm"):
        g = r.grad_trained[c]
        want = g[lag + 1] / np.median(g[1 : lag + 1])
        got = figures[f"memory lag {lag} gradient at the symbol / at the distractors ({c})"]
        assert math.isfinite(got) and got > 0 and got == want, (c, got, want)


def test_an_import_error_of_no_optional_package_in_a_part_is_a_bug_not_a_skipped_part(tmp_path, monkeypatch):
    # a typo in a part's code (import nmupy) was reported as 'skipped: seed000: expected nmupy installed, got
    # none. Install it: pip install nmupy.' and the demo exited 0; cli.main already told the two apart
    import pytest

    import lstmkit.commands.demo as demo

    def broken():
        import nmupy  # noqa: F401  (a typo in lstmkit's own code)

    monkeypatch.setattr(demo, "seed000_report", broken)
    with pytest.raises(ModuleNotFoundError, match="nmupy"):
        main(["demo", "--out", str(tmp_path), "--quick", "--skip", "text", "memory", "forecast", "counting", "digits"])
    assert not (tmp_path / "seed000.txt").exists()


def test_a_part_whose_optional_package_is_missing_is_skipped_naming_its_install_line(tmp_path, monkeypatch, capsys):
    import lstmkit.commands.demo as demo

    def missing():
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

    monkeypatch.setattr(demo, "seed000_report", missing)
    assert main(["demo", "--out", str(tmp_path), "--quick", "--skip", "text", "memory", "forecast", "counting", "digits"]) == 0
    assert (tmp_path / "seed000.txt").read_text() == (
        "skipped: seed000: expected scikit-learn installed, got none. Install it: pip install 'lstmkit[cli]'.\n")
