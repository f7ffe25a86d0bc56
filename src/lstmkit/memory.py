"""Seed 002/003's claim, measured: the simple RNN forgets what the LSTM remembers.

The seeds say a simple RNN's gradient "vanishes after a few terms" while the LSTM's cell state
keeps information over long lags. Two measurements on :func:`lstmkit.datasets.recall_task`
(remember the first of ``lag + 2`` symbols, answer at the last step):

1. **Accuracy against the lag.** For each lag, a simple RNN and an LSTM with the same hidden
   size are trained with the same budget (same optimizer, learning rate, batch size, number of
   updates, clipping, seed) and scored on fresh test sequences. Chance is 1 / n_symbols.

2. **Gradient reaching back.** With the loss L_t at the last step t (softmax cross-entropy of the
   read-out), the engine's hand-written BPTT gives ∂L_t/∂x_{t-k} for every k in one backward:

       g(k) = mean over sequences of ‖∂L_t / ∂x_{t-k}‖₂          k = 0 .. t

   measured for both networks at initialisation and after training, at every lag. The symbol
   to remember is at k = lag + 1, the distractors at k = 1..lag, the query at k = 0. A vanishing
   gradient shows as g(lag + 1) at init falling by orders of magnitude as the lag grows. After
   training, a network that has learned the task has a small loss and small gradients
   everywhere, smallest at the distractors it has learned to ignore: what tells is g at the
   symbol over its median at the distractors (above 1: the loss follows the symbol), not one
   network's g against the other's. ``MemoryResult.reading()`` says this with the numbers.

``run_memory_experiment(...)`` returns a :class:`MemoryResult` with ``table()`` and ``plot(path)``
(matplotlib, imported there).
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass

import numpy as np

from ._checks import check_int, check_real, fail, optional_import
from .datasets import recall_task
from .io import save_figure
from .threads import blas_threads

#: the lags run by default, here and by ``lstmkit memory`` (its defaults are this function's): up to 30,
#: where the LSTM recalls every symbol and the RNN is at chance
LAGS = (2, 5, 10, 20, 30)

CELLS = ("rnn", "lstm")


def _distractors(lag: int) -> str:
    """Where the distractors are on the k axis: k = 1..lag."""
    return "k = 1 the distractor" if lag == 1 else f"k = 1..{lag} the distractors"


@dataclass
class MemoryResult:
    """lags (K,); accuracy[cell] (K,); seconds[cell] (K,); grad_k (t+1,) the k axis;
    grad_init[cell], grad_trained[cell] (t+1,) mean ‖∂L_t/∂x_{t-k}‖ at the longest lag;
    symbol_init[cell], symbol_trained[cell] (K,) the same at k = lag + 1 (the symbol to remember)
    at each lag, before and after training at that lag; distractors_init[cell],
    distractors_trained[cell] (K,) its median over k = 1..lag (the distractors; NaN at lag 0);
    chance = 1/n_symbols."""

    lags: np.ndarray
    accuracy: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray]
    grad_k: np.ndarray
    grad_init: dict[str, np.ndarray]
    grad_trained: dict[str, np.ndarray]
    chance: float
    settings: dict
    symbol_init: dict[str, np.ndarray]
    symbol_trained: dict[str, np.ndarray]
    distractors_init: dict[str, np.ndarray]
    distractors_trained: dict[str, np.ndarray]

    def lstm_ignores_distractors(self) -> bool:
        """Whether, trained at the longest lag, the LSTM answers at least halfway from chance to
        every answer right, and its gradient at the symbol exceeds its median at the distractors:
        then its small gradient at the distractors is learned indifference (:meth:`reading`)."""
        lag = int(self.lags[-1])
        learned = self.accuracy["lstm"][-1] >= self.chance + 0.5 * (1 - self.chance)
        return bool(lag and learned and self.symbol_trained["lstm"][-1] > self.distractors_trained["lstm"][-1])

    def reading(self) -> list[str]:
        """What the gradients say, in sentences built from the numbers: which k is the symbol to
        remember; the gradient there at init, from the shortest lag to the longest; after training
        at the longest lag, the gradient there and at the distractors, and what the trained LSTM's
        small gradient at the distractors means (said only when :meth:`lstm_ignores_distractors`)."""
        lag = int(self.lags[-1])  # the sequence: the symbol, lag distractors, the query
        lines = [f"k = {lag + 1} is the symbol to remember (the first step)" + (f", {_distractors(lag)}" if lag else "")
                 + ", k = 0 the query: only the symbol decides the answer."]  # fmt: skip
        si, sy, dt = self.symbol_init, self.symbol_trained, self.distractors_trained
        if len(self.lags) > 1:
            rnn = " (it vanishes)" if si["rnn"][-1] < 1e-2 * si["rnn"][0] else ""
            lstm = " (the forget gate carries it)" if si["lstm"][-1] > 0.1 * si["lstm"][0] else ""
            lines.append(f"At init, from lag {self.lags[0]} to lag {lag}, the gradient at the symbol goes {si['rnn'][0]:.1e} -> "
                         f"{si['rnn'][-1]:.1e} for the RNN{rnn}, {si['lstm'][0]:.1e} -> {si['lstm'][-1]:.1e} for the LSTM{lstm}.")  # fmt: skip
        if not lag:
            lines.append(f"Trained, the gradient at the symbol: RNN {sy['rnn'][-1]:.1e}, LSTM {sy['lstm'][-1]:.1e}.")
            return lines
        lines.append(f"Trained at lag {lag}, the gradient at the symbol: RNN {sy['rnn'][-1]:.1e}, LSTM {sy['lstm'][-1]:.1e}; "
                     f"at the distractors (median): RNN {dt['rnn'][-1]:.1e}, LSTM {dt['lstm'][-1]:.1e}.")  # fmt: skip
        acc = self.accuracy["lstm"][-1]
        if self.lstm_ignores_distractors():
            ratio = {c: sy[c][-1] / dt[c][-1] for c in CELLS}
            lines.append(
                f"The trained LSTM's gradient is small at the distractors because it has learned to ignore them (they never "
                f"change the answer): learned indifference, not a vanishing gradient. At the symbol its gradient is "
                f"{ratio['lstm']:.2g}x its median at the distractors; the RNN's is {ratio['rnn']:.2g}x."
            )  # fmt: skip
            lines.append("A network that answers right with confidence has a small loss, and small gradients everywhere: compare "
                         "each network's gradient at the symbol with its own at the distractors, not the LSTM's size with the RNN's.")  # fmt: skip
        elif acc < self.chance + 0.5 * (1 - self.chance):
            lines.append(f"The LSTM has not learned lag {lag} with this budget (accuracy {acc:.3f}, chance {self.chance:.2f}): "
                         f"its gradients do not yet show what it would learn; train longer (more steps) or at a lower lr.")  # fmt: skip
        return lines

    def table(self) -> str:
        """Accuracy per lag; the gradient at the symbol to remember per lag; gradient norms at a
        few distances k at the longest lag; and what to read in them (:meth:`reading`), as text."""
        lag = int(self.lags[-1])
        lines = [f"recall the first symbol after `lag` distractors (chance {self.chance:.2f}); same budget for both", ""]
        lines.append(f"{'lag':>5}" + "".join(f"{c + ' acc':>11}" for c in CELLS) + "".join(f"{c + ' s':>9}" for c in CELLS))
        for j, k in enumerate(self.lags):
            lines.append(f"{k:>5}" + "".join(f"{self.accuracy[c][j]:>11.3f}" for c in CELLS) + "".join(f"{self.seconds[c][j]:>9.2f}" for c in CELLS))
        lines += ["", "the gradient at the symbol to remember, k = lag + 1: mean ||dL_t / dx_0|| at init; trained at that lag,",
                  "that gradient over its median at the distractors k = 1..lag, sym/dis (above 1: the loss follows the symbol more)"]  # fmt: skip
        lines.append(f"{'lag':>5}" + "".join(f"{c + ' init':>13}" for c in CELLS) + "".join(f"{c + ' sym/dis':>13}" for c in CELLS))
        for j, k in enumerate(self.lags):
            ratios = [self.symbol_trained[c][j] / self.distractors_trained[c][j] for c in CELLS] if k else [np.nan] * 2
            lines.append(f"{k:>5}" + "".join(f"{self.symbol_init[c][j]:>13.3e}" for c in CELLS)
                         + "".join(f"{'-' if np.isnan(v) else f'{v:.2g}x':>13}" for v in ratios))  # fmt: skip
        lines += ["", f"mean ||dL_t / dx_(t-k)|| at lag {lag} (loss at the last step t)"]
        lines.append(f"{'k':>5}" + "".join(f"{c + ' init':>13}" for c in CELLS) + "".join(f"{c + ' trained':>13}" for c in CELLS))
        ks = sorted({int(k) for k in np.unique(np.geomspace(1, len(self.grad_k) - 1, 8).astype(int))} | {0})
        for k in ks:
            row = [self.grad_init[c][k] for c in CELLS] + [self.grad_trained[c][k] for c in CELLS]
            what = "  the query" if k == 0 else "  the symbol to remember" if k == lag + 1 else "  a distractor"
            lines.append(f"{k:>5}" + "".join(f"{v:>13.3e}" for v in row) + what)
        lines.append("")
        for sentence in self.reading():
            lines += textwrap.wrap(sentence, 100)
        return "\n".join(lines)

    def plot(self, path) -> None:
        """Four panels: accuracy against the lag; the gradient norm against k at the longest lag
        (log scale; the distractors shaded, the symbol to remember marked); against the lag, the
        gradient at the symbol at init, and trained, over its median at the distractors. Under
        them, :meth:`reading`. Writes ``path``, in the format its suffix names (.png, .pdf, .svg:
        :func:`lstmkit.io.save_figure`). matplotlib (``lstmkit[cli]``) is imported here; without it,
        a ModuleNotFoundError (``name="matplotlib"``) gives the pip line that installs it."""
        with optional_import("matplotlib", "MemoryResult.plot", "to draw the memory experiment"):
            from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

        lag = int(self.lags[-1])
        note = [line for sentence in self.reading() for line in textwrap.wrap(sentence, 140)]
        note_h = 0.15 + len(note) * 8 * 1.3 / 72  # inches: 8-point lines
        fig = Figure(figsize=(12, 8.4 + note_h))
        (a, b), (s, r) = fig.subplots(2, 2)
        if lag:
            b.axvspan(0.5, lag + 0.5, color="grey", alpha=0.12, lw=0, label=_distractors(lag))
        b.axvline(lag + 1, color="black", lw=0.8, ls="--", label=f"k = {lag + 1} the symbol to remember")
        r.axhline(1.0, color="grey", lw=0.8, label="symbol = distractors")
        for c, marker, color in zip(CELLS, ("o", "s"), ("tab:blue", "tab:orange")):
            a.plot(self.lags, self.accuracy[c], marker + "-", color=color, label=c.upper())
            b.semilogy(self.grad_k, self.grad_trained[c] + 1e-30, "-", color=color, label=f"{c.upper()} trained")
            b.semilogy(self.grad_k, self.grad_init[c] + 1e-30, ":", color=color, label=f"{c.upper()} at init")
            s.semilogy(self.lags, self.symbol_init[c] + 1e-30, marker + ":", color=color, label=f"{c.upper()} at init")
            r.semilogy(self.lags, self.symbol_trained[c] / self.distractors_trained[c], marker + "-", color=color, label=f"{c.upper()} trained at that lag")
        if self.lstm_ignores_distractors():
            k = max(1, lag // 10)
            b.annotate("trained LSTM: it ignores the distractors", xy=(k, float(np.median(self.grad_trained["lstm"][1 : lag + 1]))),
                       xytext=(0, -14), textcoords="offset points", fontsize=8, color="tab:orange")  # fmt: skip
        lo = min(float(np.min(g[g > 0])) for g in (*self.grad_init.values(), *self.grad_trained.values()) if np.any(g > 0)) if lag else None
        if lo:
            b.set_ylim(bottom=lo / 1e3)  # room for the legend under the curves
        a.axhline(self.chance, color="grey", lw=0.8, label="chance")
        a.set(xlabel="lag (distractor steps)", ylabel="test accuracy", title="Recall after a lag", ylim=(0, 1.05))
        b.set(xlabel="k (steps back from the loss)", ylabel="mean ||dL_t/dx_(t-k)||", title=f"Gradient reaching back, lag {lag}")
        s.set(xlabel="lag (distractor steps)", ylabel="mean ||dL_t/dx_0||", title="At init: the gradient at the symbol to remember")
        r.set(xlabel="lag (distractor steps)", ylabel="symbol / median of the distractors", title="Trained: the gradient at the symbol over the distractors'")
        for ax in (a, s, r):
            ax.legend(fontsize=8)
        b.legend(fontsize=7, loc="lower left", ncol=2)
        fig.text(0.01, 0.005, "\n".join(note), fontsize=8, va="bottom", ha="left")
        fig.tight_layout(rect=(0, note_h / (8.4 + note_h), 1, 1))
        save_figure(fig, path)

    def to_dict(self) -> dict:
        """The result as plain lists and numbers (JSON-ready): lags, chance, settings, and per cell
        accuracy, seconds, symbol_init, symbol_trained, distractors_init and distractors_trained
        (indexed as lags; null for lag 0's distractors), grad_init and grad_trained (indexed by
        k = 0 .. t at the longest lag)."""
        cells = {
            c: {
                "accuracy": self.accuracy[c].tolist(),
                "seconds": self.seconds[c].tolist(),
                "symbol_init": self.symbol_init[c].tolist(),
                "symbol_trained": self.symbol_trained[c].tolist(),
                "distractors_init": [None if np.isnan(v) else v for v in self.distractors_init[c].tolist()],
                "distractors_trained": [None if np.isnan(v) else v for v in self.distractors_trained[c].tolist()],
                "grad_init": self.grad_init[c].tolist(),
                "grad_trained": self.grad_trained[c].tolist(),
            }
            for c in CELLS
        }
        return {"lags": self.lags.tolist(), "chance": self.chance, "settings": dict(self.settings), "cells": cells}


def make_model(cell: str, n_symbols: int, hidden_size: int, seed, forget_bias: float | None = None):
    """A recurrent layer + linear read-out at the last step: x (B, T, S+2) -> logits (B, S).

    ``forget_bias`` (LSTM only) sets b_if + b_hf, so f_t starts near σ(forget_bias).
    """
    from .models import SequenceModel

    fb = forget_bias if cell == "lstm" else None
    return SequenceModel(n_symbols + 2, n_symbols, hidden_size, cell=cell, head="last", forget_bias=fb, dtype=np.float64, seed=seed)


def train(model, lag: int, n_symbols: int, steps: int, batch_size: int, lr: float, clip: float, seed) -> None:
    """``steps`` Adam updates on fresh batches of the recall task (the same stream for every model)."""
    from .losses import softmax_cross_entropy
    from .optim import Adam, clip_grad_norm

    rng = np.random.default_rng(seed)
    opt = Adam(model, lr=lr)
    model.train()
    for _ in range(steps):
        X, y = recall_task(batch_size, lag, n_symbols, seed=rng)  # (B, T, S+2), (B,)
        opt.zero_grad()
        logits, _ = model(X)  # (B, S)
        _, dlogits = softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        clip_grad_norm(model, clip)
        opt.step()


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of sequences whose argmax logit is the first symbol."""
    model.eval()
    with model.no_grad():
        logits, _ = model(X)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def gradient_reach(model, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """g(k) = mean_b ‖∂L_t/∂x_{t-k}‖ for k = 0..T-1, with L_t the loss at the last step.

    The loss is the sum over the batch (not the mean), so each sequence's gradient is its own.
    """
    from .losses import softmax_cross_entropy

    model.eval()
    model.zero_grad()
    logits, _ = model(X)  # (B, S)
    _, dlogits = softmax_cross_entropy(logits, y)  # mean over B: ∂(mean)/∂z = ∂ℓ_b/∂z / B
    dx = model.backward(dlogits * len(y))  # (B, T, I): ∂ℓ_b/∂x_{b, s}
    model.zero_grad()
    norms = np.linalg.norm(dx, axis=2).mean(axis=0)  # (T,) indexed by step s
    return norms[::-1].copy()  # index k = T-1-s


def run_memory_experiment(
    lags=LAGS,
    n_symbols: int = 4,
    hidden_size: int = 16,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 0.005,
    clip: float = 1.0,
    n_test: int = 500,
    forget_bias: float | None = 5.0,
    seed: int = 0,
) -> MemoryResult:
    """Train both cells at every lag with the same budget; measure accuracy and gradient reach.

    ``forget_bias`` initialises the LSTM's forget gate open; the RNN has no such gate. At init the
    cell keeps about σ(b)^k of what it held k steps back: σ(5)^31 ≈ 0.81, σ(3)^31 ≈ 0.22,
    σ(1)^31 ≈ 6e-5. Jozefowicz et al. 2015 recommend b = 1; the chrono initialisation (Tallec &
    Ollivier 2018) draws b up to log(T - 1) for dependencies of up to T steps (3.4 for T = 31).
    Measured at lag 30 with these defaults (seeds 0..13): b = 5 learns every symbol on 13 seeds
    (0.962 on the last); b = 3 on 10 (one stays at chance, three near 0.75); b = 1 on none of seeds
    0..5, even with 1000 updates. The RNN stays at chance on all 14. The former defaults (lr 0.01,
    300 updates, b = 3) left the LSTM at 0.476 on seed 0.

    NumPy's BLAS runs on one thread while the experiment runs, and on as many as before after it,
    also when it raises (:func:`lstmkit.threads.blas_threads`): its matrix products (H = 16,
    batches of 32) are far too small to share out among threads. On a busy 2-core host,
    ``lstmkit memory`` took 5-85 s with OpenBLAS on 2 threads, 2.7 s on one; on a quiet one
    3.7-4.1 s either way.
    """
    where = "run_memory_experiment"
    if isinstance(lags, (int, np.integer)) or not len(lags):
        fail(where, "lags", "a non-empty sequence of ints >= 0", repr(lags))
    lags = np.asarray(sorted({check_int(k, where, "each lag", minimum=0) for k in lags}))
    n_symbols = check_int(n_symbols, where, "n_symbols", minimum=2)
    hidden_size = check_int(hidden_size, where, "hidden_size", minimum=1)
    steps = check_int(steps, where, "steps", minimum=1)
    batch_size = check_int(batch_size, where, "batch_size", minimum=1)
    n_test = check_int(n_test, where, "n_test", minimum=1)
    lr = check_real(lr, where, "lr", low=0, low_open=True)
    clip = check_real(clip, where, "clip", low=0, low_open=True)  # (not check_clip: None, no clipping, is not taken here)
    if seed is None:  # (check_seed takes None, unseeded: not here)
        fail(where, "seed", "an integer >= 0", "None",
             "Each lag and each network derives its own seed from it (seed + lag for the training data, seed + 1000 "
             "+ lag for the test data, seed for the weights), so it needs a number: seed=0, say.", exc=TypeError)  # fmt: skip
    seed = check_int(seed, where, "seed", minimum=0)
    with blas_threads(1):  # (the docstring's last paragraph)
        return _experiment(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, seed)


def _experiment(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, seed) -> MemoryResult:
    """:func:`run_memory_experiment` with its settings checked."""
    acc = {c: np.zeros(len(lags)) for c in CELLS}
    secs = {c: np.zeros(len(lags)) for c in CELLS}
    sym_init = {c: np.zeros(len(lags)) for c in CELLS}
    sym_trained = {c: np.zeros(len(lags)) for c in CELLS}
    dis_init = {c: np.full(len(lags), np.nan) for c in CELLS}
    dis_trained = {c: np.full(len(lags), np.nan) for c in CELLS}
    grad_init, grad_trained = {}, {}  # the whole curve g(k), at the longest lag
    for j, lag in enumerate(lags):
        X_test, y_test = recall_task(n_test, int(lag), n_symbols, seed=seed + 1000 + int(lag))
        X_g, y_g = recall_task(min(n_test, 200), int(lag), n_symbols, seed=seed + 7)  # the gradient's sequences
        for c in CELLS:
            t0 = time.perf_counter()
            model = make_model(c, n_symbols, hidden_size, seed=seed, forget_bias=forget_bias)
            train(model, int(lag), n_symbols, steps, batch_size, lr, clip, seed=seed + int(lag))
            acc[c][j] = accuracy(model, X_test, y_test)
            secs[c][j] = time.perf_counter() - t0
            grad_init[c] = gradient_reach(make_model(c, n_symbols, hidden_size, seed, forget_bias), X_g, y_g)  # (lag+2,)
            grad_trained[c] = gradient_reach(model, X_g, y_g)  # (lag+2,)
            sym_init[c][j], sym_trained[c][j] = grad_init[c][lag + 1], grad_trained[c][lag + 1]  # k = lag + 1: step 0, the symbol
            if lag:  # k = 1..lag: the distractors
                dis_init[c][j], dis_trained[c][j] = np.median(grad_init[c][1 : lag + 1]), np.median(grad_trained[c][1 : lag + 1])
    settings = dict(n_symbols=n_symbols, hidden_size=hidden_size, forget_bias=forget_bias, steps=steps, batch_size=batch_size, lr=lr, clip=clip, n_test=n_test, seed=seed)
    return MemoryResult(lags, acc, secs, np.arange(X_g.shape[1]), grad_init, grad_trained, 1.0 / n_symbols, settings, sym_init, sym_trained, dis_init, dis_trained)
