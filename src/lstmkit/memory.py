"""Seed 002/003's claim, measured: the simple RNN forgets what the LSTM remembers.

The seeds say a simple RNN's gradient "vanishes after a few terms" while the LSTM's cell state
keeps information over long lags. Two measurements on :func:`lstmkit.datasets.recall_task`
(remember the first of ``lag + 2`` symbols, answer at the last step):

1. **Accuracy against the lag.** For each lag k, a simple RNN and an LSTM with the same hidden
   size are trained with the same budget (same optimizer, learning rate, batch size, number of
   updates, clipping, seed) and scored on fresh test sequences. Chance is 1 / n_symbols.

2. **Gradient reaching back.** With the loss L_t at the last step t (softmax cross-entropy of the
   read-out), the engine's hand-written BPTT gives ∂L_t/∂x_{t-k} for every k in one backward:

       g(k) = mean over sequences of ‖∂L_t / ∂x_{t-k}‖₂          k = 0 .. t

   measured for both networks at initialisation and after training on the longest lag. A
   vanishing gradient shows as g(k) falling by orders of magnitude as k grows.

``run_memory_experiment(...)`` returns a :class:`MemoryResult` with ``table()`` and ``plot(path)``
(matplotlib, imported there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._checks import check_int, fail
from .datasets import recall_task
from .io import save_figure

CELLS = ("rnn", "lstm")


@dataclass
class MemoryResult:
    """lags (K,); accuracy[cell] (K,); seconds[cell] (K,); grad_k (t+1,) the k axis;
    grad_init[cell], grad_trained[cell] (t+1,) mean ‖∂L_t/∂x_{t-k}‖; chance = 1/n_symbols."""

    lags: np.ndarray
    accuracy: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray]
    grad_k: np.ndarray
    grad_init: dict[str, np.ndarray]
    grad_trained: dict[str, np.ndarray]
    chance: float
    settings: dict

    def table(self) -> str:
        """Accuracy per lag, then gradient norms at a few distances k, as plain text."""
        lines = [f"recall the first symbol after `lag` distractors (chance {self.chance:.2f}); same budget for both", ""]
        lines.append(f"{'lag':>5}" + "".join(f"{c + ' acc':>11}" for c in CELLS) + "".join(f"{c + ' s':>9}" for c in CELLS))
        for j, k in enumerate(self.lags):
            lines.append(f"{k:>5}" + "".join(f"{self.accuracy[c][j]:>11.3f}" for c in CELLS) + "".join(f"{self.seconds[c][j]:>9.2f}" for c in CELLS))
        lines += ["", "mean ||dL_t / dx_(t-k)|| (loss at the last step t)"]
        lines.append(f"{'k':>5}" + "".join(f"{c + ' init':>13}" for c in CELLS) + "".join(f"{c + ' trained':>13}" for c in CELLS))
        ks = sorted({int(k) for k in np.unique(np.geomspace(1, len(self.grad_k) - 1, 8).astype(int))} | {0})
        for k in ks:
            row = [self.grad_init[c][k] for c in CELLS] + [self.grad_trained[c][k] for c in CELLS]
            lines.append(f"{k:>5}" + "".join(f"{v:>13.3e}" for v in row))
        return "\n".join(lines)

    def plot(self, path) -> None:
        """Two panels: accuracy vs lag, and gradient norm vs k (log scale). Writes ``path``, in the
        format its suffix names (.png, .pdf, .svg: :func:`lstmkit.io.save_figure`)."""
        from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

        fig = Figure(figsize=(10, 4))
        a, b = fig.subplots(1, 2)
        for c, marker, color in zip(CELLS, ("o", "s"), ("tab:blue", "tab:orange")):
            a.plot(self.lags, self.accuracy[c], marker + "-", color=color, label=c.upper())
            b.semilogy(self.grad_k, self.grad_trained[c] + 1e-30, "-", color=color, label=f"{c.upper()} trained")
            b.semilogy(self.grad_k, self.grad_init[c] + 1e-30, ":", color=color, label=f"{c.upper()} at init")
        a.axhline(self.chance, color="grey", lw=0.8, label="chance")
        a.set(xlabel="lag (distractor steps)", ylabel="test accuracy", title="Recall after a lag", ylim=(0, 1.05))
        b.set(xlabel="k (steps back from the loss)", ylabel="mean ||dL_t/dx_(t-k)||", title="Gradient reaching back")
        a.legend()
        b.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, path)

    def to_dict(self) -> dict:
        """The result as plain lists and numbers (JSON-ready): lags, chance, settings, and per cell
        accuracy, seconds, grad_init and grad_trained (indexed by k = 0 .. t)."""
        cells = {
            c: {
                "accuracy": self.accuracy[c].tolist(),
                "seconds": self.seconds[c].tolist(),
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
    lags=(1, 2, 5, 10, 20, 40),
    n_symbols: int = 4,
    hidden_size: int = 16,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 0.01,
    clip: float = 1.0,
    n_test: int = 500,
    forget_bias: float | None = 3.0,
    seed: int = 0,
) -> MemoryResult:
    """Train both cells at every lag with the same budget; measure accuracy and gradient reach.

    ``forget_bias`` initialises the LSTM's forget gate open (σ(3) ≈ 0.95; Gers et al. 2000,
    Jozefowicz et al. 2015); the RNN has no such gate. With PyTorch's default (0, σ = 0.5) the LSTM
    needs many more updates than this budget before it finds the long-lag signal.
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
    for name, v in (("lr", lr), ("clip", clip)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not v > 0 or not np.isfinite(v):
            fail(where, name, "a finite number > 0", repr(v))
    acc = {c: np.zeros(len(lags)) for c in CELLS}
    secs = {c: np.zeros(len(lags)) for c in CELLS}
    models = {}
    for j, lag in enumerate(lags):
        X_test, y_test = recall_task(n_test, int(lag), n_symbols, seed=seed + 1000 + int(lag))
        for c in CELLS:
            t0 = time.perf_counter()
            model = make_model(c, n_symbols, hidden_size, seed=seed, forget_bias=forget_bias)
            train(model, int(lag), n_symbols, steps, batch_size, lr, clip, seed=seed + int(lag))
            acc[c][j] = accuracy(model, X_test, y_test)
            secs[c][j] = time.perf_counter() - t0
            models[c] = model  # the last (longest lag) is kept for the gradient measurement
    X_g, y_g = recall_task(min(n_test, 200), int(lags[-1]), n_symbols, seed=seed + 7)
    grad_init = {c: gradient_reach(make_model(c, n_symbols, hidden_size, seed, forget_bias), X_g, y_g) for c in CELLS}
    grad_trained = {c: gradient_reach(models[c], X_g, y_g) for c in CELLS}
    settings = dict(n_symbols=n_symbols, hidden_size=hidden_size, forget_bias=forget_bias, steps=steps, batch_size=batch_size, lr=lr, clip=clip, n_test=n_test, seed=seed)
    return MemoryResult(lags, acc, secs, np.arange(X_g.shape[1]), grad_init, grad_trained, 1.0 / n_symbols, settings)
