"""Seed 002/003's claim, measured: whether a simple RNN forgets what an LSTM remembers.

The seeds say a simple RNN's gradient "vanishes after a few terms" while the LSTM's cell state
keeps information over long lags. Two measurements on :func:`lstmkit.datasets.recall_task`
(remember the first of ``lag + 2`` symbols, answer at the last step), each on several seeds:

1. **Accuracy against the lag.** For each lag and each seed, a tanh RNN and an LSTM with the same
   hidden size are trained the same way (same optimizer, learning rate, batch size, number of
   updates, clipping, data, seed) and scored on fresh test sequences: the mean over the seeds,
   and each seed's. Chance is 1 / n_symbols. What the two do not share: the parameter count
   (with 16 hidden units and 4 symbols, 452 for the RNN, 1604 for the LSTM:
   ``MemoryResult.n_parameters``) and the initialisation (the LSTM's forget gate is initialised
   open, bias 5 by default; the RNN keeps PyTorch's uniform initialisation). The RNN's results
   depend on its learning rate (:func:`run_memory_experiment` gives the measurements).

2. **Gradient reaching back.** With the loss L_t at the last step t (softmax cross-entropy of the
   read-out), the engine's hand-written BPTT gives ∂L_t/∂x_{t-k} for every k in one backward:

       g(k) = mean over sequences of ‖∂L_t / ∂x_{t-k}‖₂          k = 0 .. t

   measured for both networks at initialisation and after training, at every lag. The symbol
   to remember is at k = lag + 1, the distractors at k = 1..lag, the query at k = 0. A vanishing
   gradient shows as g(lag + 1) at init falling by orders of magnitude as the lag grows. After
   training, a network that has learned the task has a small loss and small gradients
   everywhere: what tells is g at the symbol over its median at the distractors (above 1: the
   loss follows the symbol, furthest back, more than the distractors nearer it), not one
   network's g against the other's (a sensitivity ratio, not a vanishing-gradient measurement;
   it varies between seeds, the RNN's by orders of magnitude, so it is given as the range over them).
   ``MemoryResult.reading()`` says this with the numbers.

``run_memory_experiment(...)`` returns a :class:`MemoryResult` with ``table()`` and ``plot(path)``
(matplotlib, imported there).
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass, replace

import numpy as np

from ._checks import check_int, check_real, fail, optional_import
from .datasets import recall_task
from .io import save_figure
from .threads import blas_threads

#: the lags run by default, here and by ``lstmkit memory`` (its defaults are this function's): up to 30,
#: where, with the defaults, the LSTM recalls every symbol on seeds 0-2 and the RNN is near chance on each
LAGS = (2, 5, 10, 20, 30)

#: how many seeds run by default (seed, seed + 1, ...): the accuracy is their mean, each seed's beside it
SEEDS = 3

CELLS = ("rnn", "lstm")


def _distractors(lag: int) -> str:
    """Where the distractors are on the k axis: k = 1..lag."""
    return "k = 1 the distractor" if lag == 1 else f"k = 1..{lag} the distractors"


@dataclass
class MemoryResult:
    """The experiment's figures at K lags over S seeds.

    Over the seeds: seeds (S,) the seeds run; accuracy[cell] (K,) the test accuracy, mean over the
    seeds, and accuracy_seeds[cell] (S, K) each seed's; ratio_seeds[cell] (S, K) each seed's
    gradient at the symbol over its median at the distractors, trained at that lag (NaN at lag 0);
    symbol_init_seeds[cell] (S, K) each seed's gradient at the symbol at init (the table and the
    reading give its median over the seeds and its range); seconds[cell] (K,) to train and test the cell at that lag, summed over the seeds.
    Of the first seed, seeds[0] (the gradients in detail): grad_k (t+1,) the k axis;
    grad_init[cell], grad_trained[cell] (t+1,) mean ‖∂L_t/∂x_{t-k}‖ at the longest lag;
    symbol_init[cell], symbol_trained[cell] (K,) the same at k = lag + 1 (the symbol to remember)
    at each lag, before and after training at that lag; distractors_init[cell],
    distractors_trained[cell] (K,) its median over k = 1..lag (the distractors; NaN at lag 0).
    n_parameters[cell]: the network's parameter count (recurrent layer and read-out);
    chance = 1/n_symbols; settings: the arguments (seed the first seed, seeds their count)."""

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
    seeds: np.ndarray
    accuracy_seeds: dict[str, np.ndarray]
    ratio_seeds: dict[str, np.ndarray]
    n_parameters: dict[str, int]
    symbol_init_seeds: dict[str, np.ndarray]

    def _halfway(self) -> float:
        """Halfway from chance to every answer right: the accuracy that counts as having learned."""
        return self.chance + 0.5 * (1 - self.chance)

    def _seed_names(self) -> str:
        """'seed 0', 'seeds 0-2' (consecutive, as run), or 'seeds 0, 4, 9'."""
        s = [int(v) for v in self.seeds]
        if len(s) == 1:
            return f"seed {s[0]}"
        return f"seeds {s[0]}-{s[-1]}" if s == list(range(s[0], s[-1] + 1)) else "seeds " + ", ".join(map(str, s))

    def lstm_follows_the_symbol(self) -> bool:
        """Whether, trained at the longest lag, the LSTM answers at least halfway from chance to
        every answer right on every seed, and on every seed its gradient at the symbol exceeds its
        median at the distractors (:meth:`reading` then says what that is consistent with)."""
        lag = int(self.lags[-1])
        learned = np.all(self.accuracy_seeds["lstm"][:, -1] >= self._halfway())
        return bool(lag and learned and np.all(self.ratio_seeds["lstm"][:, -1] > 1))

    def reading(self) -> list[str]:
        """What the figures say, in sentences built from the numbers: which k is the symbol to
        remember; how many seeds each network learned at each lag; the gradient at the symbol at
        init (its median over the seeds), from the shortest lag to the longest; after training at the longest lag, the
        gradient there and at the distractors, and (only when :meth:`lstm_follows_the_symbol`) the
        range over the seeds of each network's gradient at the symbol over its distractors'."""
        lag = int(self.lags[-1])  # the sequence: the symbol, lag distractors, the query
        lines = [f"k = {lag + 1} is the symbol to remember (the first step)" + (f", {_distractors(lag)}" if lag else "")
                 + ", k = 0 the query: only the symbol decides the answer."]  # fmt: skip
        S, half = len(self.seeds), self._halfway()
        learned = {c: [int(n) for n in np.sum(self.accuracy_seeds[c] >= half, axis=0)] for c in CELLS}
        lines.append(f"Seeds (of {S}) at least halfway from chance to every answer right, at lag "
                     f"{', '.join(map(str, self.lags))}: RNN {', '.join(map(str, learned['rnn']))}; "
                     f"LSTM {', '.join(map(str, learned['lstm']))}.")  # fmt: skip
        of = f" (seed {int(self.seeds[0])})" if S > 1 else ""  # the gradients in detail: the first seed's
        si = {c: np.median(self.symbol_init_seeds[c], axis=0) for c in CELLS}  # (K,) over the seeds
        sy, dt = self.symbol_trained, self.distractors_trained
        if len(self.lags) > 1:
            fb = self.settings.get("forget_bias")
            rnn = " (it vanishes)" if si["rnn"][-1] < 1e-2 * si["rnn"][0] else ""
            gate = "its forget gate carries it" if fb is None else f"its forget gate, initialised at bias {fb:g}, carries it"
            lstm = f" ({gate})" if si["lstm"][-1] > 0.1 * si["lstm"][0] else ""
            median = f" (median over {self._seed_names()})" if S > 1 else ""
            lines.append(f"At init{median}, from lag {self.lags[0]} to lag {lag}, the gradient at the symbol goes {si['rnn'][0]:.1e} -> "
                         f"{si['rnn'][-1]:.1e} for the RNN{rnn}, {si['lstm'][0]:.1e} -> {si['lstm'][-1]:.1e} for the LSTM{lstm}.")  # fmt: skip
        if not lag:
            lines.append(f"Trained{of}, the gradient at the symbol: RNN {sy['rnn'][-1]:.1e}, LSTM {sy['lstm'][-1]:.1e}.")
            return lines
        lines.append(f"Trained at lag {lag}{of}, the gradient at the symbol: RNN {sy['rnn'][-1]:.1e}, LSTM {sy['lstm'][-1]:.1e}; "
                     f"at the distractors (median): RNN {dt['rnn'][-1]:.1e}, LSTM {dt['lstm'][-1]:.1e}.")  # fmt: skip
        acc = self.accuracy["lstm"][-1]
        if self.lstm_follows_the_symbol():
            ratio = {c: _span(self.ratio_seeds[c][:, -1], " to ") for c in CELLS}
            over = f" over {self._seed_names()}" if S > 1 else ""
            lines.append(
                f"Trained, the LSTM's gradient at the symbol, the input furthest back, is {ratio['lstm']}x its median at the "
                f"distractors nearer the loss{over} (the RNN's: {ratio['rnn']}x): its loss depends more on the symbol than on the "
                f"distractors, which a vanishing gradient would not allow, consistent with its having learned to ignore them (they "
                f"never change the answer). This is a sensitivity ratio, not a vanishing-gradient measurement, and it varies "
                f"between seeds: read which side of 1 it falls on, not its digits."
            )  # fmt: skip
            lines.append("A network that answers right with confidence has a small loss, and small gradients everywhere: compare "
                         "each network's gradient at the symbol with its own at the distractors, not the LSTM's size with the RNN's.")  # fmt: skip
        elif acc < self._halfway():
            lines.append(f"The LSTM has not learned lag {lag} with these settings (mean accuracy {acc:.3f}, chance {self.chance:.2f}): "
                         f"its gradients do not yet show what it would learn; train longer (more steps) or at a lower lr.")  # fmt: skip
        return lines

    def _settings_lines(self) -> list[str]:
        """What the two networks are, and what they share: the table's header."""
        st, n = self.settings, self.n_parameters
        H, fb = st.get("hidden_size"), st.get("forget_bias")
        init = "PyTorch's uniform initialisation" if fb is None else f"forget-gate bias initialised to {fb:g} (f_t starts near {1 / (1 + np.exp(-fb)):.3f})"
        return [f"RNN:  tanh, {H} hidden units, {n['rnn']} parameters, PyTorch's uniform initialisation",
                f"LSTM: {H} hidden units, {n['lstm']} parameters, {init}",
                "both: the same optimizer, lr, updates, batch size, clipping, data and seeds",
                "s: seconds to train and test one network at one lag" + (", summed over the seeds" if len(self.seeds) > 1 else "")]  # fmt: skip

    def table(self) -> str:
        """The two networks (size, parameters, initialisation); accuracy per lag, mean over the
        seeds and its range; the gradient at the symbol to remember at init, its median over the
        seeds and their range, and trained, over the distractors', its range over the seeds; the
        first seed's gradient norms at a few distances k at the longest lag; and what to read in
        them (:meth:`reading`), as text."""
        lag, S = int(self.lags[-1]), len(self.seeds)
        over = f"mean over {self._seed_names()} and its range" if S > 1 else self._seed_names()
        lines = [f"recall the first symbol after `lag` distractors (chance {self.chance:.2f}); test accuracy, {over}",
                 *self._settings_lines(), ""]  # fmt: skip
        ranges = "".join(f"{c + ' range':>13}" for c in CELLS) if S > 1 else ""
        lines.append(f"{'lag':>5}" + "".join(f"{c + ' acc':>11}" for c in CELLS) + ranges + "".join(f"{c + ' s':>9}" for c in CELLS))
        for j, k in enumerate(self.lags):
            spans = "".join(f"{_span(self.accuracy_seeds[c][:, j], '-', '.3f'):>13}" for c in CELLS) if S > 1 else ""
            lines.append(f"{k:>5}" + "".join(f"{self.accuracy[c][j]:>11.3f}" for c in CELLS) + spans
                         + "".join(f"{self.seconds[c][j]:>9.2f}" for c in CELLS))  # fmt: skip
        at_init = f", its median over {self._seed_names()} (their range)" if S > 1 else ""
        w, wi = (13, 13) if S == 1 else (19, 29)
        lines += ["", f"the gradient at the symbol to remember, k = lag + 1: mean ||dL_t / dx_0|| at init{at_init};",
                  "trained at that lag, that gradient over its median at the distractors k = 1..lag, sym/dis"
                  + (f", its range over {self._seed_names()}" if S > 1 else ""),
                  "(above 1: the loss follows the symbol more)"]  # fmt: skip
        lines.append(f"{'lag':>5}" + "".join(f"{c + ' init':>{wi}}" for c in CELLS) + "".join(f"{c + ' sym/dis':>{w}}" for c in CELLS))
        for j, k in enumerate(self.lags):
            ratios = [_span(self.ratio_seeds[c][:, j], "..") + "x" if k else "-" for c in CELLS]
            inits = [f"{v[0]:.3e}" if S == 1 else f"{np.median(v):.2e} ({_span(v, '..', '.1e')})" for v in (self.symbol_init_seeds[c][:, j] for c in CELLS)]
            lines.append(f"{k:>5}" + "".join(f"{v:>{wi}}" for v in inits) + "".join(f"{v:>{w}}" for v in ratios))
        lines += ["", f"mean ||dL_t / dx_(t-k)|| at lag {lag}{', seed ' + str(int(self.seeds[0])) if S > 1 else ''} (loss at the last step t)"]
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
        """Four panels: accuracy against the lag (the mean over the seeds, each seed's as a thin
        line); the first seed's gradient norm against k at the longest lag (log scale; the
        distractors shaded, the symbol to remember marked); against the lag, each seed's gradient at
        the symbol at init, and each seed's, trained, over its median at the distractors. Under them, :meth:`reading`. Writes ``path``, in the format its suffix names
        (.png, .pdf, .svg: :func:`lstmkit.io.save_figure`). matplotlib (``lstmkit[cli]``) is
        imported here; without it, a ModuleNotFoundError (``name="matplotlib"``) gives the pip line
        that installs it.

        Each cell has its colour (Okabe-Ito's blue for the RNN, vermillion for the LSTM: told apart
        in the common colour-vision deficiencies, both at least 3:1 against white, WCAG's contrast
        for graphics), its marker (o, s) and its line style, one for trained curves and one for
        those at init (with hollow markers): no two series of a panel share both line style and
        marker, so they are told apart in greyscale too."""
        with optional_import("matplotlib", "MemoryResult.plot", "to draw the memory experiment"):
            from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

        lag, S = int(self.lags[-1]), len(self.seeds)
        first = f", seed {int(self.seeds[0])}" if S > 1 else ""
        note = [line for sentence in self.reading() for line in textwrap.wrap(sentence, 140)]
        note_h = 0.15 + len(note) * 8 * 1.3 / 72  # inches: 8-point lines
        fig = Figure(figsize=(12, 8.4 + note_h))
        (a, b), (s, r) = fig.subplots(2, 2)
        if lag:
            b.axvspan(0.5, lag + 0.5, color="grey", alpha=0.12, lw=0, label=_distractors(lag))
        b.axvline(lag + 1, color="black", lw=0.8, ls="--", label=f"k = {lag + 1} the symbol to remember")
        r.axhline(1.0, color="grey", lw=0.8, label="symbol = distractors")
        from ._palette import BLUE, VERMILLION

        style_of = {"rnn": {"color": BLUE, "marker": "o", "ls": "-", "ls_init": ":"},
                    "lstm": {"color": VERMILLION, "marker": "s", "ls": "--", "ls_init": "-."}}
        every = max(1, len(self.grad_k) // 12)  # markers on the gradient curves: about 12 a curve
        for c, style in style_of.items():
            name = f"{c.upper()} ({self.n_parameters[c]} parameters)"
            color, marker, ls, ls_init = style["color"], style["marker"], style["ls"], style["ls_init"]
            a.plot(self.lags, self.accuracy[c], marker=marker, ls=ls, color=color, label=name + (f", mean of {S} seeds" if S > 1 else ""))
            for i, acc in enumerate(self.accuracy_seeds[c] if S > 1 else ()):
                a.plot(self.lags, acc, ls=ls, color=color, lw=0.7, alpha=0.5, label=f"{c.upper()}, each seed" if i == 0 else None)
            b.semilogy(self.grad_k, self.grad_trained[c] + 1e-30, marker=marker, ls=ls, markevery=every, ms=4, color=color,
                       label=f"{c.upper()} trained")
            b.semilogy(self.grad_k, self.grad_init[c] + 1e-30, marker=marker, ls=ls_init, markevery=every, ms=4, mfc="none",
                       color=color, label=f"{c.upper()} at init")
            for i, init in enumerate(self.symbol_init_seeds[c]):
                s.semilogy(self.lags, init + 1e-30, marker=marker, ls=ls_init, mfc="none", color=color, lw=1 if S == 1 else 0.8,
                           label=f"{c.upper()} at init" + (f", each of {S} seeds" if S > 1 else "") if i == 0 else None)  # fmt: skip
            for i, ratio in enumerate(self.ratio_seeds[c]):
                r.semilogy(self.lags, ratio, marker=marker, ls=ls, color=color, lw=1 if S == 1 else 0.8, ms=4,
                           label=f"{c.upper()} trained at that lag" + (f", each of {S} seeds" if S > 1 else "") if i == 0 else None)  # fmt: skip
        if self.lstm_follows_the_symbol():
            k = max(1, lag // 10)
            b.annotate("trained LSTM: small at the distractors", xy=(k, float(np.median(self.grad_trained["lstm"][1 : lag + 1]))),
                       xytext=(0, -14), textcoords="offset points", fontsize=8, color="black")  # fmt: skip
        lo = min(float(np.min(g[g > 0])) for g in (*self.grad_init.values(), *self.grad_trained.values()) if np.any(g > 0)) if lag else None
        if lo:
            b.set_ylim(bottom=lo / 1e3)  # room for the legend under the curves
        a.axhline(self.chance, color="grey", lw=0.8, ls=":", label="chance")
        a.set(xlabel="lag (distractor steps)", ylabel="test accuracy", title=f"Recall after a lag ({self._seed_names()})", ylim=(0, 1.05))
        b.set(xlabel="k (steps back from the loss)", ylabel="mean ||dL_t/dx_(t-k)||", title=f"Gradient reaching back, lag {lag}{first}")
        s.set(xlabel="lag (distractor steps)", ylabel="mean ||dL_t/dx_0||", title="At init: the gradient at the symbol to remember")
        r.set(xlabel="lag (distractor steps)", ylabel="symbol / median of the distractors", title="Trained: the gradient at the symbol over the distractors'")
        for ax in (a, s, r):
            ax.legend(fontsize=8)
        b.legend(fontsize=7, loc="lower left", ncol=2)
        fig.text(0.01, 0.005, "\n".join(note), fontsize=8, va="bottom", ha="left")
        fig.tight_layout(rect=(0, note_h / (8.4 + note_h), 1, 1))
        save_figure(fig, path)

    def to_dict(self) -> dict:
        """The result as plain lists and numbers (JSON-ready): lags, chance, settings, seeds,
        n_parameters, and per cell accuracy (the mean over the seeds), accuracy_seeds,
        symbol_init_seeds and ratio_seeds (a list per seed, indexed as lags; null for lag 0's ratio), seconds,
        symbol_init, symbol_trained, distractors_init and distractors_trained (the first seed's,
        indexed as lags; null for lag 0's distractors), grad_init and grad_trained (the first
        seed's, indexed by k = 0 .. t at the longest lag)."""

        def plain(values):
            return [None if np.isnan(v) else v for v in np.asarray(values, dtype=float).tolist()]

        cells = {
            c: {
                "accuracy": self.accuracy[c].tolist(),
                "accuracy_seeds": self.accuracy_seeds[c].tolist(),
                "ratio_seeds": [plain(row) for row in self.ratio_seeds[c]],
                "symbol_init_seeds": self.symbol_init_seeds[c].tolist(),
                "seconds": self.seconds[c].tolist(),
                "symbol_init": self.symbol_init[c].tolist(),
                "symbol_trained": self.symbol_trained[c].tolist(),
                "distractors_init": plain(self.distractors_init[c]),
                "distractors_trained": plain(self.distractors_trained[c]),
                "grad_init": self.grad_init[c].tolist(),
                "grad_trained": self.grad_trained[c].tolist(),
            }
            for c in CELLS
        }
        return {"lags": self.lags.tolist(), "chance": self.chance, "settings": dict(self.settings), "seeds": self.seeds.tolist(),
                "n_parameters": dict(self.n_parameters), "cells": cells}  # fmt: skip


def _span(values, sep: str, fmt: str = ".2g") -> str:
    """'lo<sep>hi' of the values (NaN left out), each formatted with ``fmt``; one value when both read the same."""
    lo, hi = format(float(np.nanmin(values)), fmt), format(float(np.nanmax(values)), fmt)
    return lo if lo == hi else f"{lo}{sep}{hi}"


#: the largest seed run (2**63 - 1): the seeds are kept as int64 (2**63 - 1 and 2**63 made a float64 array), and
#: below 2**128 no seed's streams are another's (:func:`_data_stream`)
MAX_SEED = 2**63 - 1

#: the data's roles: each (seed, lag, role) draws from SeedSequence(seed, spawn_key=(ROLES[role], lag)) (:func:`_data_stream`)
ROLES = {"train": 1, "test": 2}


def _data_stream(seed: int, lag: int, role: str) -> np.random.Generator:
    """The generator of one seed's training (``role="train"``) or test (``"test"``) data at one lag:
    ``default_rng(SeedSequence(seed, spawn_key=(ROLES[role], lag)))``, a stream of its own for each
    (seed, lag, role). (They were the integers seed + lag and seed + 1000 + lag: runs whose seed and
    lag had the same sum shared their data, seed 0 at lag 5 and seed 3 at lag 2, say.) The seed's
    entropy is padded to SeedSequence's pool (4 words) and the spawn key hashed after it, so no
    seed's stream is another's for seeds below 2**128 (a longer seed's 5th word would read as a
    spawn key; :func:`run_memory_experiment` takes them up to :data:`MAX_SEED`, 2**63 - 1); the
    weights' (``SeedSequence(seed).spawn(2)``, spawn keys (0,) and (1,)) and the gradient's
    sequences' (``SeedSequence([seed, 7])``) are other streams again."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ROLES[role], lag)))


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

    rng = np.random.default_rng(seed)  # an int, or a Generator (_data_stream's), drawn from as it is
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
    seeds: int = SEEDS,
) -> MemoryResult:
    """Train both cells at every lag on each of ``seeds`` seeds; measure accuracy and gradient reach.

    The seeds are ``seed``, ``seed + 1``, ..., ``seed + seeds - 1``, each at most
    :data:`MAX_SEED` (2**63 - 1; a larger seed is refused, naming it); each seed's run is the run
    with ``seed=`` that seed and ``seeds=1`` (weights from the seed, training and test data from
    streams of their own for each seed and lag, ``SeedSequence(seed, spawn_key=(1, lag))`` and
    ``(2, lag)``). ``accuracy`` is the mean over the seeds, each seed's is in
    ``accuracy_seeds``; the trained gradient at the symbol over the distractors' is in
    ``ratio_seeds``, the gradient at the symbol at init in ``symbol_init_seeds`` (the table gives
    each over the seeds: the ratio's range, the gradient's median and range); the gradients in
    detail (the curves over k, the distractors') are the first seed's. Each seed's gradients are
    measured on sequences of their own, drawn from ``SeedSequence([seed, 7])`` (the same symbols
    at every lag), a stream that no training or test data can be.

    What is compared: an LSTM whose forget gate is initialised open (``forget_bias``, b = 5 by
    default) and a tanh RNN of the same hidden size with PyTorch's uniform initialisation and
    fewer parameters (452 against 1604 with the defaults). Opening the forget gate at init is
    standard practice (Gers et al. 2000; Jozefowicz et al. 2015 recommend b = 1); 5 opens it wider.
    At init the cell keeps about σ(b)^k of what it held k steps back: σ(5)^31 ≈ 0.81,
    σ(3)^31 ≈ 0.22, σ(1)^31 ≈ 6e-5. The chrono initialisation (Tallec & Ollivier 2018) draws b up
    to log(T - 1) for dependencies of up to T steps (3.4 for T = 31).

    Measured with the numba backend, test accuracy on seeds 0, 1, 2 at lags 2, 5, 10, 20, 30, the
    other settings the defaults unless named:

    - LSTM, b = 5: 1.000 at every lag on each seed, and at lag 30 on each of seeds 0..13; b = 3,
      at lag 30 on seeds 0..13: 1.000 on 9, 0.964, 0.986, 0.774, 0.732 and 0.520 (seed 8) on the
      others; b = 1: 0.212-0.400 on all 14 (chance 0.25).
    - LSTM, b = 1: 1.000 up to lag 10; 0.534, 0.470, 1.000 at lag 20; chance at lag 30.
    - LSTM, b = 0: 0.464, 0.906, 0.276 at lag 10; chance from lag 20 (at lr 0.02: chance from
      lag 10). ``forget_bias=None``, PyTorch's uniform initialisation: 0.502, 0.998, 0.516 at lag
      10, chance from lag 20.
    - RNN: 1.000 at lags 2 and 10, and 1.000, 0.522, 1.000 at lag 5; chance from lag 20: 0.254,
      0.236, 0.252 at lag 20; 0.272, 0.292, 0.244 at lag 30 (0.218-0.292 on seeds 0..13).
    - The RNN depends on its learning rate. At lr 0.01: 0.280, 0.268, 0.214 at lag 30; at lr 0.02:
      1.000 at lag 5, 0.958, 1.000, 1.000 at lag 10, 1.000, 0.846, 0.852 at lag 20 and 0.824, 0.234,
      0.262 at lag 30 (the LSTM, b = 5, at lr 0.02: 0.774 and 0.994 on seeds 0 and 1 at lag 30,
      1.000 otherwise). With 34 hidden units (1568 parameters, about the LSTM's 1604) at lr 0.005
      it does no better: 0.276, 0.284, 0.254 at lag 30.

    So with these defaults the LSTM recalls at every lag and the RNN fails from lag 20 on each
    seed; that rests on the LSTM's open forget gate (at b = 0 or 1 it fails first) and on the
    RNN's learning rate (at lr 0.02 it recalls at lag 20 on each seed) as much as on its lack of
    a gate.

    NumPy's BLAS runs on one thread while the experiment runs, and on as many as before after it,
    also when it raises (:func:`lstmkit.threads.blas_threads`): its matrix products (H = 16,
    batches of 32) are far too small to share out among threads. On a busy 2-core host, one
    seed of ``lstmkit memory`` took 5-85 s with OpenBLAS on 2 threads, 2.7 s on one; the
    defaults (3 seeds) took 11-19 s on one thread on such a host (9-11 s of CPU).
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
             "Each lag and each network derives its own streams from it (the training and the test data at each lag, "
             "the weights, the gradient's sequences), so it needs a number: seed=0, say.", exc=TypeError)  # fmt: skip
    seed = check_int(seed, where, "seed", minimum=0)
    seeds = check_int(seeds, where, "seeds", minimum=1)
    if seeds > MAX_SEED + 1:
        fail(where, "seeds", "at most 2**63 (each seed run below 2**63)", seeds,
             "Run fewer seeds: 3, the default, give the accuracy's range.")  # fmt: skip
    if seed > MAX_SEED + 1 - seeds:  # every seed run, seed .. seed + seeds - 1, at most MAX_SEED
        # (in words, not the arguments' names in a formula: the CLI names only the argument after 'expected')
        runs = f"the {seeds} seeds run, from it to it + {seeds - 1}, each" if seeds > 1 else "the seed run"
        fail(where, "seed", f"at most 2**63 - {seeds} = {MAX_SEED + 1 - seeds} ({runs} below 2**63)", seed,
             "Each seed's streams are its own only below 2**128 (SeedSequence), and the seeds are kept as int64: pass a "
             f"smaller seed (0, say){' or run fewer seeds' if seeds > 1 else ''}.")  # fmt: skip
    with blas_threads(1):  # (the docstring's last paragraph)
        return _experiment(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, seed, seeds)


def _experiment(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, seed, seeds) -> MemoryResult:
    """:func:`run_memory_experiment` with its settings checked: each seed run on its own
    (:func:`_one_seed`), the accuracy averaged over them, the gradients in detail the first seed's."""
    runs = [_one_seed(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, s) for s in range(seed, seed + seeds)]
    acc_seeds = {c: np.concatenate([r.accuracy_seeds[c] for r in runs]) for c in CELLS}  # (S, K)
    return replace(
        runs[0],
        accuracy={c: acc_seeds[c].mean(axis=0) for c in CELLS},
        seconds={c: np.sum([r.seconds[c] for r in runs], axis=0) for c in CELLS},
        settings={**runs[0].settings, "seeds": seeds},
        seeds=np.concatenate([r.seeds for r in runs]),
        accuracy_seeds=acc_seeds,
        ratio_seeds={c: np.concatenate([r.ratio_seeds[c] for r in runs]) for c in CELLS},
        symbol_init_seeds={c: np.concatenate([r.symbol_init_seeds[c] for r in runs]) for c in CELLS},
    )


def _one_seed(lags, n_symbols, hidden_size, steps, batch_size, lr, clip, n_test, forget_bias, seed) -> MemoryResult:
    """The experiment on one seed: a result with S = 1 (settings without ``seeds``)."""
    acc = {c: np.zeros(len(lags)) for c in CELLS}
    secs = {c: np.zeros(len(lags)) for c in CELLS}
    sym_init = {c: np.zeros(len(lags)) for c in CELLS}
    sym_trained = {c: np.zeros(len(lags)) for c in CELLS}
    dis_init = {c: np.full(len(lags), np.nan) for c in CELLS}
    dis_trained = {c: np.full(len(lags), np.nan) for c in CELLS}
    grad_init, grad_trained = {}, {}  # the whole curve g(k), at the longest lag
    for j, lag in enumerate(lags):
        X_test, y_test = recall_task(n_test, int(lag), n_symbols, seed=_data_stream(seed, int(lag), "test"))
        # the gradient's sequences: a stream of their own (seed + 7, an integer, was seed + lag's training data at lag 7,
        # and the training data of seed + 7 - lag's run at any lag), the same at every lag
        X_g, y_g = recall_task(min(n_test, 200), int(lag), n_symbols, seed=np.random.default_rng(np.random.SeedSequence([seed, 7])))
        for c in CELLS:
            t0 = time.perf_counter()
            model = make_model(c, n_symbols, hidden_size, seed=seed, forget_bias=forget_bias)
            train(model, int(lag), n_symbols, steps, batch_size, lr, clip, seed=_data_stream(seed, int(lag), "train"))
            acc[c][j] = accuracy(model, X_test, y_test)
            secs[c][j] = time.perf_counter() - t0
            grad_init[c] = gradient_reach(make_model(c, n_symbols, hidden_size, seed, forget_bias), X_g, y_g)  # (lag+2,)
            grad_trained[c] = gradient_reach(model, X_g, y_g)  # (lag+2,)
            sym_init[c][j], sym_trained[c][j] = grad_init[c][lag + 1], grad_trained[c][lag + 1]  # k = lag + 1: step 0, the symbol
            if lag:  # k = 1..lag: the distractors
                dis_init[c][j], dis_trained[c][j] = np.median(grad_init[c][1 : lag + 1]), np.median(grad_trained[c][1 : lag + 1])
    settings = dict(n_symbols=n_symbols, hidden_size=hidden_size, forget_bias=forget_bias, steps=steps, batch_size=batch_size, lr=lr, clip=clip, n_test=n_test, seed=seed)
    n_parameters = {c: make_model(c, n_symbols, hidden_size, seed, forget_bias).num_parameters() for c in CELLS}
    return MemoryResult(lags, acc, secs, np.arange(X_g.shape[1]), grad_init, grad_trained, 1.0 / n_symbols, settings, sym_init, sym_trained,
                        dis_init, dis_trained, seeds=np.array([seed]), accuracy_seeds={c: acc[c][None] for c in CELLS},
                        ratio_seeds={c: (sym_trained[c] / dis_trained[c])[None] for c in CELLS}, n_parameters=n_parameters,
                        symbol_init_seeds={c: sym_init[c][None] for c in CELLS})  # fmt: skip
