"""Pictures of a forward trace: gate heatmaps and per-unit traces (matplotlib figures, or PNG bytes).

Read without colour too: the heatmaps' maps go from dark to light (the sign of c̃ and c is in the
lightness, and in each number), each number is black or white by WCAG contrast with its cell, and
the traces' two series differ in line style and marker as well as colour (Okabe-Ito's).

matplotlib is imported inside the functions; nothing here runs unless a picture is asked for
(``explain(..., "html")``). Without it, a ModuleNotFoundError (``name="matplotlib"``) gives the pip
line that installs it.
"""

from __future__ import annotations

import io

import numpy as np

from .._checks import optional_import
from .._palette import BLUE, VERMILLION  # (Okabe-Ito's: told apart in every common colour-vision deficiency)
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


#: the heatmaps' colour maps: gates (0 to 1) in viridis, the signed c̃ and c (-m to m) in cividis
#: (made for colour-vision deficiencies); both go from dark to light, so the greyscale keeps the
#: order and the sign (dark negative, light positive), where coolwarm's two ends are equally dark
CMAPS = {"gate": "viridis", "signed": "cividis"}


def luminance(rgb) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (r, g, b in [0, 1]):
    L = 0.2126 R + 0.7152 G + 0.0722 B, each channel c linearised as c / 12.92 where c <= 0.04045,
    else ((c + 0.055) / 1.055) ** 2.4."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (float(v) for v in rgb[:3])]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours: (L_lighter + 0.05) / (L_darker + 0.05), from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_color(background) -> str:
    """"black" or "white", whichever contrasts more with ``background`` (an RGB(A) tuple in [0, 1]).
    The better of the two is at least 4.58:1 on any colour (they tie where L + 0.05 = sqrt(1.05 * 0.05)),
    above WCAG AA's 4.5:1 for text."""
    return "black" if contrast(background, (0.0, 0.0, 0.0)) >= contrast(background, (1.0, 1.0, 1.0)) else "white"


def heatmaps_figure(fw: ForwardTrace):
    """i, f, o, c̃ and c over time, one heatmap each (rows units, columns steps), as a matplotlib
    Figure. Gates in :data:`CMAPS` "gate" over [0, 1], c̃ over [-1, 1] and c over [-m, m] (m its
    largest size) in "signed"; each cell's number (H·T <= 60) in black or white, whichever
    contrasts more with the cell (:func:`label_color`)."""
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
        cmap = CMAPS["gate" if name in ("i", "f", "o") else "signed"]
        im = ax.imshow(np.ma.masked_invalid(a), aspect="auto", cmap=cmap, vmin=lim[0], vmax=lim[1], interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(T), [str(t + 1) for t in range(T)] if T <= 20 else None, fontsize=7)
        ax.set_yticks(range(H), [str(j + 1) for j in range(H)] if H <= 20 else None, fontsize=7)
        ax.set_xlabel("step t", fontsize=8)
        if H * T <= 60:
            for j in range(H):
                for t in range(T):
                    if np.isfinite(a[j, t]):
                        ax.text(t, j, cell_label(a[j, t]), ha="center", va="center", fontsize=8,
                                color=label_color(im.cmap(im.norm(a[j, t]))))
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0].set_ylabel("unit", fontsize=8)
    return fig


def heatmaps_png(fw: ForwardTrace) -> bytes:
    """:func:`heatmaps_figure` as PNG bytes."""
    return _png(heatmaps_figure(fw))


def traces_figure(fw: ForwardTrace):
    """Per unit (the first 8), c_t (long-term memory: vermillion, circles, solid) and h_t
    (short-term memory: blue, squares, dashed) against t, as a matplotlib Figure: the two are told
    apart by line style and marker as well as colour."""
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
        ax.plot(ts, c[j], "o-", color=VERMILLION, label="c_t (long-term)")
        ax.plot(ts, h[j], "s--", color=BLUE, label="h_t (short-term)")
        ax.axhline(0.0, color="0.8", lw=0.8)
        ax.set_ylabel(f"unit {j + 1}", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    axes[-1].set_xlabel("step t (0 = initial state)", fontsize=8)
    axes[-1].set_xticks(ts)
    if H > show:
        fig.suptitle(f"first {show} of {H} units", fontsize=8)
    return fig


def traces_png(fw: ForwardTrace) -> bytes:
    """:func:`traces_figure` as PNG bytes."""
    return _png(traces_figure(fw))
