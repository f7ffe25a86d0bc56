"""Accessibility of explain's output (helper-162's audit, #4, #6, #8): the pictures tell their
series apart without colour and their numbers are legible (WCAG contrast), the HTML page is
structured for a screen reader, and every format says where the slide's printed number is not
the one its own parameters give.

The properties are read from the figure objects (line styles, markers, colours), never from
images; the WCAG formulas and the seed's numbers are computed here, independently of the code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lstmkit.explain import explain, forward, worked

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def luminance(rgb) -> float:
    """WCAG 2.x relative luminance (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance)."""
    c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb[:3]]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(a, b) -> float:
    """WCAG 2.x contrast ratio (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture(scope="module")
def s0():
    return worked.load(f"{EXAMPLES}/seed000.toml")[0]


def _random_example(H, T, seed):
    """A plain cell with random weights (numbers of both signs and sizes near 1 in every panel)."""
    rng = np.random.default_rng(seed)
    W = {f"W_{p}{k}": rng.normal(0, 1.5, (H, 2 if p == "i" else H)).tolist() for p in "ih" for k in "ifco"}
    x = rng.normal(0, 1, (T, 2)).tolist()
    return worked.from_dict({"notation": "per_gate", "weights": W, "inputs": {"x": x, "h0": [0.0] * H, "c0": [0.0] * H}})[0]


# -- #6: the heatmaps ------------------------------------------------------------------------------
def _figure(monkeypatch, name, fw):
    """The matplotlib figure plots.<name>_png draws, captured where it becomes PNG bytes."""
    from lstmkit.explain import plots

    drawn = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    getattr(plots, f"{name}_png")(fw)
    (fig,) = drawn
    return fig


@pytest.mark.parametrize("which", ["seed000", "random 4x6", "random 1x2"])
def test_every_heatmap_label_contrasts_at_least_4_5_with_its_cell(s0, which, monkeypatch):
    # black labels on coolwarm's dark ends measured 2.98:1 (WCAG AA asks 4.5:1 for text)
    from matplotlib.colors import to_rgb
    from matplotlib.image import AxesImage

    ex = s0 if which == "seed000" else _random_example(4, 6, 1) if which == "random 4x6" else _random_example(1, 2, 2)
    fig = _figure(monkeypatch, "heatmaps", forward(ex))
    n = 0
    for ax in fig.axes:
        images = [im for im in ax.get_children() if isinstance(im, AxesImage)]
        if not images:
            continue  # a colour bar
        (im,) = images
        data = np.ma.getdata(im.get_array())
        for text in ax.texts:
            t, j = (int(round(v)) for v in text.get_position())
            cell = im.cmap(im.norm(data[j, t]))  # the colour drawn under the label
            ratio = contrast(to_rgb(text.get_color()), cell)
            assert ratio >= 4.5, (ax.get_title(), j, t, text.get_text(), ratio)
            n += 1
    H, T = ex.hidden_size, ex.T
    assert n == 5 * H * T  # every cell has its number


def test_signed_heatmaps_tell_the_sign_in_greyscale(s0, monkeypatch):
    # c~ and c were drawn in coolwarm: -1 and +1 both dark (luminance 0.04 and 0.05), so the
    # sign was lost in greyscale. Each panel's map must go monotonically from one lightness to
    # another: its two ends, and any two values, differ in luminance in the order of the values
    from matplotlib.image import AxesImage

    fig = _figure(monkeypatch, "heatmaps", forward(s0))
    for ax in fig.axes:
        images = [im for im in ax.get_children() if isinstance(im, AxesImage)]
        if not images:
            continue
        cmap = images[0].cmap
        lum = [luminance(cmap(v)) for v in np.linspace(0, 1, 65)]
        assert all(b > a for a, b in zip(lum, lum[1:])), ax.get_title()  # dark to light, no turning back
        assert contrast(cmap(0.0), cmap(1.0)) >= 4.5, ax.get_title()  # the ends far apart in lightness


def test_traces_tell_c_and_h_apart_without_colour(monkeypatch):
    # they did already (o- and s--): kept so, now in Okabe-Ito's colours
    fig = _figure(monkeypatch, "traces", forward(_random_example(3, 4, 0)))
    for ax in fig.axes:
        series = [(ln.get_linestyle(), ln.get_marker()) for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert len(series) == 2 and len(set(series)) == 2
        assert all(m not in ("None", "", None) for _, m in series)
