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
    report, figures = text_part(tmp_path, quick=True, seed=0)
    assert re.search(rf"held-out perplexity \d+\.\d\d per character \(a uniform guess over the {n} characters: {n}\)\n", report), report
    # beside it, the 4-gram count model (tests/test_baselines.py works CharNGram by hand) on the same split
    from lstmkit.baselines import CharNGram

    cut = int(len(text) * 0.9)
    want = CharNGram(4, 0.1).fit(text[:cut]).perplexity(text[cut:])
    assert figures["text held-out perplexity, 4-gram (add-0.1)"] == want
    assert f"same split: {want:.2f}; the LSTM's is" in report


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
        got = figures[f"memory lag {lag} gradient at the symbol / at the distractors ({c}, seed 0)"]
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
        "skipped: seed000: expected scikit-learn installed, got none. Install it: pip install \"lstmkit[cli]\".\n")


def test_the_counting_part_reports_the_majority_class_baseline_on_its_test_set(tmp_path):
    # always answering the training targets' most frequent class, scored on the same 500 x 20 test steps
    from lstmkit.commands.demo import counting_part
    from lstmkit.datasets import counting_task

    report, figures = counting_part(tmp_path, quick=True, seed=0)
    _, y = counting_task(64, 6, seed=0)  # --quick's training set
    _, y_test = counting_task(500, 20, seed=1)
    label = 1 if (y == 1).sum() > (y == 0).sum() else 0
    want = float((y_test == label).mean())
    assert figures["counting per-step accuracy (test, T=20), majority class"] == want
    assert f"baseline, always answering the training targets' majority class ({label}): test {want:.4f}" in report


def test_the_digits_part_reports_a_logistic_regression_on_the_same_split(tmp_path):
    import numpy as np
    import pytest

    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from lstmkit.commands.demo import digits_part

    report, figures = digits_part(tmp_path, quick=True, seed=0)
    d = load_digits()
    X, y = d.data / 16.0, d.target  # (1797, 64): the images' pixels, scaled as the LSTM reads them
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:300], order[300:500]  # --quick's split
    want = LogisticRegression(max_iter=1000).fit(X[train], y[train]).score(X[test], y[test])
    assert figures["digits test accuracy, logistic regression"] == pytest.approx(want, abs=1e-12)
    assert f"same split: test {want:.4f}" in report
    lstm = figures["digits test accuracy"]
    assert f"LSTM - logistic regression: {100 * (lstm - want):+.2f} percentage points (200 test digits: one digit is 0.50)" in report


def test_the_forecast_part_reports_seasonal_naive_times_growth_on_the_backtest_pairs(tmp_path):
    # ŷ(o + l - 1) = y(o + l - 13) · y(o - 1) / y(o - 13) for origins o = 120..143 (1959-60), leads
    # l = 1..12 inside the series: 222 pairs, written out here without lstmkit.baselines
    import pytest

    from lstmkit.commands.demo import forecast_part
    from lstmkit.datasets import airline_passengers

    y = airline_passengers().tolist()
    errors = [abs(y[o + l - 1] - y[o + l - 13] * y[o - 1] / y[o - 13]) for o in range(120, 144) for l in range(1, 13) if o + l - 1 < 144]
    assert len(errors) == 222
    report, figures = forecast_part(tmp_path, quick=True, seed=0)
    want = sum(errors) / len(errors)
    assert figures["forecast MAE (seasonal_growth)"] == pytest.approx(want, rel=1e-12)
    # the backtest's own row now (it was added by hand beside the table, computed a second time)
    (row,) = [line for line in report.splitlines() if line.startswith("seasonal_growth ")]
    assert row.split()[1] == f"{want:.3f}" and "all leads scored (222 pairs)" in report
    lstm = figures["forecast MAE (lstm)"]  # --quick's 5 epochs: worse than the baseline, or better
    assert f"in this window (1959-60) the LSTM's MAE is {100 * abs(1 - lstm / want):.0f}% {'below' if lstm <= want else 'above'} the trend-aware" in report


def test_the_memory_part_gives_the_ratio_s_range_over_the_seeds_and_the_accuracies_mean(tmp_path, monkeypatch):
    # with several seeds the part reports the seeds' mean accuracy and the lowest and highest ratio, not
    # one seed's ratio as the experiment's: checked against single-seed runs of each seed (the oracle)
    import numpy as np

    import lstmkit.memory as memory
    from lstmkit.commands.demo import memory_part

    run = memory.run_memory_experiment
    monkeypatch.setattr(memory, "run_memory_experiment", lambda **kw: run(**{**kw, "seeds": 2}))
    _, figures = memory_part(tmp_path, quick=True, seed=0)
    alone = [run(lags=(2, 5), steps=10, n_test=50, hidden_size=8, seed=s, seeds=1) for s in (0, 1)]
    for c in ("rnn", "lstm"):
        ratios = [a.symbol_trained[c][-1] / a.distractors_trained[c][-1] for a in alone]
        key = f"memory lag 5 gradient at the symbol / at the distractors ({c}"
        assert figures[f"{key}, lowest of 2 seeds)"] == min(ratios) and figures[f"{key}, highest of 2 seeds)"] == max(ratios)
        assert figures[f"{key}, seed 0)"] == ratios[0]
        for j, k in enumerate((2, 5)):
            assert figures[f"memory accuracy lag {k} ({c}, mean of 2 seeds)"] == np.mean([a.accuracy[c][j] for a in alone])


def test_the_summary_writes_a_figure_below_a_thousandth_in_significant_digits():
    # the RNN's lowest gradient ratio over the seeds, 3e-5, was written '0.0000' beside the LSTM's 14.4542
    from lstmkit.commands.demo import _figure

    assert [_figure(v) for v in (14.45421, 0.9798, 0.00125311, 3.0417e-05, 0.0)] == ["14.4542", "0.9798", "0.0013", "3.04e-05", "0.0000"]
