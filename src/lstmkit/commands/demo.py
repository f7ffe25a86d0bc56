"""``lstmkit demo``: the seeds' tasks end to end, writing results and plots to an output folder.

    1. seed 000's worked example, every gate, exact                         seed000.txt
    2. seed 000's counting task trained from scratch (2-unit LSTM)          counting.txt, counting_model.npz
    2b. seed 001's sequence classification: scikit-learn's digits row by row digits.txt
    3. seed 002's forecast of the airline series beside the baselines       forecast.txt, forecast.png
    4. seed 003's character-level text, samples at three temperatures       text.txt
    5. seed 002/003's memory claim: RNN vs LSTM against the lag             memory.txt, memory.png
    summary.txt: every figure and how long each part took.

Each result is printed beside a baseline measured on the same split (:mod:`lstmkit.baselines`):
counting beside always answering the training labels' majority class, digits beside scikit-learn's
logistic regression on the 64 pixels, the forecast beside naive, seasonal naive and seasonal naive
× the last year-over-year growth, the text's perplexity beside a character 4-gram count model.

``--quick`` shrinks every budget (for tests); ``--skip`` leaves parts out.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..explain.render_text import spell
from ._options import add_check, missing_package, optional_missing, require

HELP = "run the seeds' tasks end to end and write results and plots to an output folder"
EXAMPLE = "lstmkit demo --out out/demo"
PARTS = ("seed000", "counting", "digits", "forecast", "text", "memory")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    p.add_argument("--quick", action="store_true", help="tiny budgets: checks the plumbing in seconds (figures not meaningful)")
    p.add_argument("--skip", nargs="*", default=[], choices=PARTS, metavar="PART",
                   help=f"parts to leave out, among {', '.join(PARTS)} (default: none)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every part's data and training (default %(default)s)")
    add_check(p, check_packages)


#: the parts that draw a figure (matplotlib): forecast.png, memory.png
DRAWN = ("forecast", "memory")


def check_packages(args: argparse.Namespace) -> None:
    """matplotlib, for the figures of the parts not skipped (:data:`DRAWN`): missing, the demo is refused
    before any part runs (:func:`._options.require`, exit 2), not after a part's training."""
    drawn = [part for part in DRAWN if part not in args.skip]
    if drawn:
        figures = " and ".join(f"{part}.png" for part in drawn)
        require("demo", "matplotlib.figure", f"to draw {figures}", "use --skip " + " ".join(drawn))


def _relative(value: float, baseline: float, less: str, more: str) -> str:
    """How ``value`` compares with ``baseline``, in words: "24% below" (|1 - value/baseline|, rounded)."""
    return f"{100 * abs(1 - value / baseline):.0f}% {less if value <= baseline else more}"


def seed000_report() -> str:
    """Seed 000's worked example, A A B, every gate, c, h and the softmax read-out, exact."""
    from ..functional import softmax
    from ..seeds import SEED000_SEQUENCE, SEED000_TARGETS, seed000_cell, seed000_inputs

    cell = seed000_cell()
    xs = seed000_inputs()
    h = c = np.zeros(2)
    lines = ["Seed 000: two-unit LSTM on A, A, B (all biases 0), y_t = softmax(h_t)", ""]
    fmt = lambda v: "[" + ", ".join(f"{x:+.4f}" for x in np.ravel(v)) + "]"  # noqa: E731
    correct = 0
    for t, (ch, x) in enumerate(zip(SEED000_SEQUENCE, xs), start=1):
        s = cell.step(x[None], (h[None], c[None]))
        y = softmax(s.h[0])
        pred = int(np.argmax(y))
        correct += pred == SEED000_TARGETS[t - 1]
        lines += [
            f"t={t}  x={ch} {fmt(x)}",
            f"  i = σ({fmt(s.z_i)}) = {fmt(s.i)}",
            f"  f = σ({fmt(s.z_f)}) = {fmt(s.f)}",
            f"  o = σ({fmt(s.z_o)}) = {fmt(s.o)}",
            f"  c~ = tanh({fmt(s.z_g)}) = {fmt(s.g)}",
            f"  c = f*c_prev + i*c~ = {fmt(s.c)}",
            f"  h = o*tanh(c) = {fmt(s.h)}",
            f"  y = softmax(h) = {fmt(y)} -> class {pred} (target {SEED000_TARGETS[t - 1]})",
            "",
        ]
        h, c = s.h[0], s.c[0]
    lines.append(f"per-step accuracy: {correct}/3")
    return "\n".join(lines)


def counting_part(out: Path, quick: bool, seed: int) -> tuple[str, dict]:
    """Seed 000's task from random initialisation: 2 hidden units, y_t = softmax(h_t), per-step CE."""
    from ..baselines import majority_accuracy, majority_label
    from ..datasets import counting_task
    from ..estimators import LSTMClassifier

    n, T, epochs = (64, 6, 5) if quick else (256, 10, 150)
    X, y = counting_task(n, T, seed=seed)
    X_test, y_test = counting_task(500, 20, seed=seed + 1)  # longer sequences than in training
    clf = LSTMClassifier(hidden_size=2, readout="identity", epochs=epochs, batch_size=32, learning_rate=0.05, seed=seed)
    clf.fit(X, y)
    clf.save(out / "counting_model.npz")
    train_acc, test_acc = clf.score(X, y), clf.score(X_test, y_test)
    majority = majority_accuracy(y, y_test)  # always the training labels' most frequent class
    label = majority_label(y)  # the class it answers
    from ..seeds import seed000_inputs

    slide = clf.predict(seed000_inputs()[None])[0].tolist()
    text = "\n".join([
        "Seed 000's counting task trained from scratch: target_t = 1 when more than one A has been seen",
        "model: LSTM with 2 hidden units, y_t = softmax(h_t) (identity read-out), per-step softmax cross-entropy, Adam",
        f"data: {n} random A/B sequences of {T} steps; test: 500 sequences of 20 steps (longer than any in training)",
        f"epochs: {clf.n_epochs_}, final loss {clf.history_.epochs[-1]['loss']:.4f}",
        f"per-step accuracy: train {train_acc:.4f}, test {test_acc:.4f}",
        f"baseline, always answering the training targets' majority class ({label}): test {majority:.4f}",
        f"on the slides' sequence A, A, B: predicted {slide} (targets [0, 1, 1])",
    ])  # fmt: skip
    return text, {"counting per-step accuracy (train)": train_acc, "counting per-step accuracy (test, T=20)": test_acc,
                  "counting per-step accuracy (test, T=20), majority class": majority}


def digits_part(out: Path, quick: bool, seed: int) -> tuple[str, dict]:
    """scikit-learn's 8x8 digits as 8 steps of 8 pixels, classified at the last step, beside a logistic
    regression on the 64 pixels, same split (both need sklearn)."""
    from ..datasets import digits_sequences
    from ..estimators import LSTMClassifier

    from sklearn.linear_model import LogisticRegression

    X, y = digits_sequences()
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = (order[:300], order[300:500]) if quick else (order[:1400], order[1400:])
    clf = LSTMClassifier(hidden_size=16 if quick else 64, epochs=2 if quick else 30, learning_rate=0.01, seed=seed)
    clf.fit(X[train], y[train])
    acc = clf.score(X[test], y[test])
    flat = X.reshape(len(X), -1)  # (n, 64): the same pixels, all at once
    logreg = LogisticRegression(max_iter=1000).fit(flat[train], y[train])  # scikit-learn's defaults (L2, C=1, lbfgs)
    base = float(logreg.score(flat[test], y[test]))
    text = "\n".join([
        "Seed 001: sequence classification on real data — scikit-learn's 8x8 digits read row by row",
        f"model: LSTM({clf.hidden_size}) over 8 steps of 8 pixels, linear read-out at the last step, softmax cross-entropy",
        f"{len(train)} training digits, {len(test)} test digits, {clf.n_epochs_} epochs",
        f"accuracy: train {clf.score(X[train], y[train]):.4f}, test {acc:.4f}",
        f"baseline, scikit-learn's LogisticRegression on the 64 pixels (C=1), same split: test {base:.4f}",
        f"LSTM - logistic regression: {100 * (acc - base):+.2f} percentage points "
        f"({len(test)} test digits: one digit is {100 / len(test):.2f})",
    ])  # fmt: skip
    return text, {"digits test accuracy": acc, "digits test accuracy, logistic regression": base}


def forecast_part(out: Path, quick: bool, seed: int) -> tuple[str, dict]:
    """Airline passengers: 24-month backtest of a 12-month direct forecast, beside the baselines
    (naive, seasonal naive and the trend-aware seasonal naive × growth: the backtest's rows)."""
    from ..datasets import airline_passengers
    from ..forecast import ForecastWarning, LSTMForecaster
    from ..forecast import plot_forecast

    y = airline_passengers()
    fc = LSTMForecaster(window=12, horizon=12, seasonal_period=12, log=True, difference=1, epochs=5 if quick else 100, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)  # the notes are in the table
        result = fc.backtest(y, test_size=24)
    m = result.metrics
    lstm_mae, g_mae = m["lstm"]["MAE"], m["seasonal_growth"]["MAE"]  # the trend-aware row: ŷ = y_(t-12)·y_(o-1)/y_(o-13)
    pairs = int((~np.isnan(result.actual)).sum())
    fc.fit(y)
    ahead = fc.predict(12)
    plot_forecast(out / "forecast.png", y, result, ahead, title="Airline passengers (thousands): backtest 1959-60 and forecast 1961")
    fc.save(out / "forecast_model.npz")
    text = "\n".join([
        "Seed 002: forecasting monthly airline passengers 1949-1960 (Box & Jenkins; shipped in lstmkit/data)",
        "model: LSTM(32) over a 12-month window of standardized log-differences -> 12 months at once (direct multi-output)",
        f"backtest: fit on 1949-1958, forecast from every origin in 1959-1960 with the true history; all leads scored ({pairs} pairs)",
        "",
        result.table(),
        f"in this window (1959-60) the LSTM's MAE is {_relative(lstm_mae, g_mae, 'below', 'above')} the trend-aware "
        f"seasonal_growth's (seasonal naive × the last year-over-year growth; the skill above is against the naive "
        f"forecast). That is one window: on the README's earlier two-year windows, 1955-56 to 1958-59, seasonal_growth "
        f"does better in at least 3 of the 4 for each of seeds 0-2",
        "",
        "forecast for 1961: " + " ".join(f"{v:.0f}" for v in ahead),
    ])  # fmt: skip
    figures = {f"forecast MAE ({k})": v["MAE"] for k, v in m.items()}
    figures.update({f"forecast MASE ({k})": v["MASE"] for k, v in m.items()})
    return text, figures


def text_part(out: Path, quick: bool, seed: int) -> tuple[str, dict]:
    """A character-level LSTM trained on Python's own standard-library source, beside a character
    4-gram count model (add-0.1) on the same split."""
    from ..baselines import CharNGram
    from ..datasets import stdlib_text
    from ..text import TextGenerator, uniform_guess

    text = stdlib_text(20_000 if quick else 184_000)
    cut = int(len(text) * 0.9)
    train, held = text[:cut], text[cut:]
    gen = TextGenerator(hidden_size=32 if quick else 128, seq_len=50, batch_size=16 if quick else 32, epochs=1 if quick else 8, learning_rate=0.01, seed=seed)
    gen.fit(train)
    ppl = gen.perplexity(held)
    ngram = CharNGram(n=4, k=0.1).fit(train).perplexity(held)
    lines = [
        "Seed 003: character-level LSTM on Python's standard-library source (read locally, never downloaded)",
        f"{len(train)} training characters, {len(gen.vocab_) - 1} distinct; {gen.n_updates_} updates of truncated BPTT (50 steps)",
        f"held-out perplexity {ppl:.2f} per character ({uniform_guess(gen)})",
        f"baseline, a character 4-gram count model (add-0.1 smoothing, lstmkit.baselines.CharNGram), same split: "
        f"{ngram:.2f}; the LSTM's is {_relative(ppl, ngram, 'lower', 'higher')}",
    ]
    for t in (0.6, 0.8, 1.0):
        lines += ["", f"--- temperature {t} ---", gen.generate("def ", 300 if not quick else 60, temperature=t, seed=seed)]
    return "\n".join(lines), {"text held-out perplexity": ppl, "text held-out perplexity, 4-gram (add-0.1)": ngram}


def memory_part(out: Path, quick: bool, seed: int) -> tuple[str, dict]:
    """Accuracy against the lag and gradient reach, RNN vs LSTM of the same hidden size (452 vs 1604
    parameters with the defaults; the LSTM's forget gate initialised at bias 5), over 3 seeds (1 with
    ``quick``): the accuracies are the seeds' means, the sensitivity ratio each seed's lowest and highest."""
    from ..memory import run_memory_experiment

    if quick:
        r = run_memory_experiment(lags=(2, 5), steps=10, n_test=50, hidden_size=8, seed=seed, seeds=1)
    else:
        r = run_memory_experiment(seed=seed)  # the defaults, lstmkit memory's (lags 2, 5, 10, 20, 30; 3 seeds)
    r.plot(out / "memory.png")
    S = len(r.seeds)
    of = f"mean of {S} seeds" if S > 1 else f"seed {seed}"
    figures = {f"memory accuracy lag {k} ({c}, {of})": float(r.accuracy[c][j]) for j, k in enumerate(r.lags) for c in ("rnn", "lstm")}
    lag = int(r.lags[-1])
    for c in ("rnn", "lstm"):  # trained at the longest lag: > 1 when the loss follows the symbol more than a distractor
        key = f"memory lag {lag} gradient at the symbol / at the distractors ({c}"
        figures[f"{key}, seed {seed})"] = float(r.ratio_seeds[c][0, -1])
        if S > 1:  # one seed's ratio is not the experiment's: its range over the seeds
            figures[f"{key}, lowest of {S} seeds)"] = float(np.min(r.ratio_seeds[c][:, -1]))
            figures[f"{key}, highest of {S} seeds)"] = float(np.max(r.ratio_seeds[c][:, -1]))
    return "Seeds 002/003: does the network remember an input k steps back?\n\n" + r.table(), figures


def _figure(v: float) -> str:
    """A figure of the summary: 4 decimals, or 3 significant digits below 0.001 (an RNN's gradient
    ratio of 3e-5 read '0.0000')."""
    return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.3g}"


def _write_text(path: Path, text: str) -> None:
    from ..io import atomic_write_bytes

    atomic_write_bytes(path, lambda f: f.write((text + "\n").encode("utf-8")))


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = {
        "seed000": lambda: (seed000_report(), {}),
        "counting": lambda: counting_part(out, args.quick, args.seed),
        "digits": lambda: digits_part(out, args.quick, args.seed),
        "forecast": lambda: forecast_part(out, args.quick, args.seed),
        "text": lambda: text_part(out, args.quick, args.seed),
        "memory": lambda: memory_part(out, args.quick, args.seed),
    }
    summary = [f"lstmkit demo{' --quick' if args.quick else ''} (seed {args.seed})", ""]
    t_all = time.perf_counter()
    for name, part in parts.items():
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        try:
            report, figures = part()
        except ImportError as exc:  # an optional package the part needs (scikit-learn for digits)
            if not optional_missing(exc):  # another module (lstmkit's own, numpy's): a bug, its traceback
                raise
            report, figures = f"skipped: {missing_package(name, exc)}", {}
        secs = time.perf_counter() - t0
        shown = spell(report, getattr(sys.stdout, "encoding", None))  # (σ as sigma on an ASCII terminal; the file keeps σ)
        print(f"\n=== {name} ({secs:.1f} s) ===\n{shown}", flush=True)
        _write_text(out / f"{name}.txt", report)
        summary.append(f"{name}: {secs:.1f} s")
        summary += [f"  {k}: {_figure(v)}" for k, v in figures.items()]
    summary.append(f"total: {time.perf_counter() - t_all:.1f} s")
    _write_text(out / "summary.txt", "\n".join(summary))
    print("\n" + "\n".join(summary))
    print(f"\nresults written to {out.resolve()}")
    return 0
