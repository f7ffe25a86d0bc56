"""Pictures of a forward trace: gate heatmaps and per-unit traces (matplotlib, PNG bytes).

matplotlib is imported inside the functions; nothing here runs unless a picture is asked for
(``explain(..., "html")``). Without it, a ModuleNotFoundError (``name="matplotlib"``) gives the pip
line that installs it.
"""

from __future__ import annotations

import io

import numpy as np

from .._checks import optional_import
from .trace import ForwardTrace

PANELS = (("i", "input gate i"), ("f", "forget gate f"), ("o", "output gate o"), ("g", "candidate c̃"), ("c", "cell state c"))


def stack(fw: ForwardTrace, name: str) -> np.ndarray:
    """One quantity over time as an (H, T) array (NaN where unknown)."""
    return np.stack([rec.values[name] for rec in fw.steps], axis=1)


def cell_label(v: float) -> str:
    """A heatmap cell's number: 2 decimals, as the text writes numbers (-0.001 is 0.00, never -0.00)."""
    from .build import fnum

    return fnum(v, 2)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def heatmaps_png(fw: ForwardTrace) -> bytes:
    """i, f, o, c̃ and c over time, one heatmap each (rows units, columns steps), as PNG bytes."""
    with optional_import("matplotlib", "explain", "to draw the gate heatmaps of fmt='html'"):
        from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

    H, T = fw.example.hidden_size, fw.example.T
    fig = Figure(figsize=(2.2 * len(PANELS), 0.45 * H + 2.0), layout="constrained")
    axes = fig.subplots(1, len(PANELS))
    for ax, (name, title) in zip(axes, PANELS):
        a = stack(fw, name)
        finite = a[np.isfinite(a)]
        m = max(1e-9, float(np.abs(finite).max())) if finite.size else 1.0
        lim = (0.0, 1.0) if name in ("i", "f", "o") else (-1.0, 1.0) if name == "g" else (-m, m)
        cmap = "viridis" if name in ("i", "f", "o") else "coolwarm"
        im = ax.imshow(np.ma.masked_invalid(a), aspect="auto", cmap=cmap, vmin=lim[0], vmax=lim[1], interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(T), [str(t + 1) for t in range(T)] if T <= 20 else None, fontsize=7)
        ax.set_yticks(range(H), [str(j + 1) for j in range(H)] if H <= 20 else None, fontsize=7)
        ax.set_xlabel("step t", fontsize=8)
        if H * T <= 60:
            for j in range(H):
                for t in range(T):
                    if np.isfinite(a[j, t]):
                        ax.text(t, j, cell_label(a[j, t]), ha="center", va="center", fontsize=7, color="white" if name in ("i", "f", "o") and a[j, t] < 0.6 else "black")
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0].set_ylabel("unit", fontsize=8)
    return _png(fig)


def traces_png(fw: ForwardTrace) -> bytes:
    """Per unit, c_t (long-term memory) and h_t (short-term memory) against t, as PNG bytes."""
    with optional_import("matplotlib", "explain", "to draw the c_t and h_t traces of fmt='html'"):
        from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

    H, T = fw.example.hidden_size, fw.example.T
    show = min(H, 8)
    fig = Figure(figsize=(6.0, 1.6 * show + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(show, 1, sharex=True))
    ts = np.arange(0, T + 1)
    c = np.concatenate([fw.example.c0[:, None], stack(fw, "c")], axis=1)
    h = np.concatenate([fw.example.h0[:, None], stack(fw, "h")], axis=1)
    for j, ax in enumerate(axes):
        ax.plot(ts, c[j], "o-", color="tab:red", label="c_t (long-term)")
        ax.plot(ts, h[j], "s--", color="tab:blue", label="h_t (short-term)")
        ax.axhline(0.0, color="0.8", lw=0.8)
        ax.set_ylabel(f"unit {j + 1}", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    axes[-1].set_xlabel("step t (0 = initial state)", fontsize=8)
    axes[-1].set_xticks(ts)
    if H > show:
        fig.suptitle(f"first {show} of {H} units", fontsize=8)
    return _png(fig)
