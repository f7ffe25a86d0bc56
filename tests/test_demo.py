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
