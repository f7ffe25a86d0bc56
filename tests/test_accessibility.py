"""Accessibility of explain's output (helper-162's audit, #4, #6, #8): the pictures tell their
series apart without colour and their numbers are legible (WCAG contrast), the HTML page is
structured for a screen reader, and every format says where the slide's printed number is not
the one its own parameters give.

The properties are read from the figure objects (line styles, markers, colours), never from
images; the WCAG formulas and the seed's numbers are computed here, independently of the code.
"""

from __future__ import annotations

import re
import tomllib
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
def _figure(name, fw):
    """The matplotlib figure plots.<name>_png draws (plots.<name>_figure)."""
    from lstmkit.explain import plots

    return getattr(plots, f"{name}_figure")(fw)


@pytest.mark.parametrize("which", ["seed000", "random 4x6", "random 1x2"])
def test_every_heatmap_label_contrasts_at_least_4_5_with_its_cell(s0, which):
    # black labels on coolwarm's dark ends measured 2.98:1 (WCAG AA asks 4.5:1 for text)
    from matplotlib.colors import to_rgb
    from matplotlib.image import AxesImage

    ex = s0 if which == "seed000" else _random_example(4, 6, 1) if which == "random 4x6" else _random_example(1, 2, 2)
    fig = _figure("heatmaps", forward(ex))
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


def test_signed_heatmaps_tell_the_sign_in_greyscale(s0):
    # c~ and c were drawn in coolwarm: -1 and +1 both dark (luminance 0.04 and 0.05), so the
    # sign was lost in greyscale. Each panel's map must go monotonically from one lightness to
    # another: its two ends, and any two values, differ in luminance in the order of the values
    from matplotlib.image import AxesImage

    fig = _figure("heatmaps", forward(s0))
    for ax in fig.axes:
        images = [im for im in ax.get_children() if isinstance(im, AxesImage)]
        if not images:
            continue
        cmap = images[0].cmap
        lum = [luminance(cmap(v)) for v in np.linspace(0, 1, 65)]
        assert all(b > a for a, b in zip(lum, lum[1:])), ax.get_title()  # dark to light, no turning back
        assert contrast(cmap(0.0), cmap(1.0)) >= 4.5, ax.get_title()  # the ends far apart in lightness


def test_traces_tell_c_and_h_apart_without_colour():
    # they did already (o- and s--): kept so, now in Okabe-Ito's colours
    fig = _figure("traces", forward(_random_example(3, 4, 0)))
    for ax in fig.axes:
        series = [(ln.get_linestyle(), ln.get_marker()) for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert len(series) == 2 and len(set(series)) == 2
        assert all(m not in ("None", "", None) for _, m in series)


# -- #4: where the slide's printed numbers differ ----------------------------------------------------
def _seed000_step3_i():
    """i_3 of seed 000 computed here: a plain LSTM in NumPy from the file's weights, exact."""
    d = tomllib.loads((EXAMPLES / "seed000.toml").read_text())
    W = {k: np.array(v, float) for k, v in d["weights"].items()}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h, c = np.zeros(2), np.zeros(2)
    for x in np.array(d["inputs"]["x"], float):
        i, f, o = (sig(W[f"W_i{k}"] @ x + W[f"W_h{k}"] @ h) for k in "ifo")
        g = np.tanh(W["W_ic"] @ x + W["W_hc"] @ h)
        c = f * c + i * g
        h = o * np.tanh(c)
    return i  # the last step's: i_3


def _slide(name, step):
    d = tomllib.loads((EXAMPLES / "seed000.toml").read_text())
    (claim,) = [c for c in d["claims"] if c.get("step") == step and c["name"] == name and c["where"].startswith("slide 'Keep")]
    return claim["value"]


@pytest.mark.parametrize("fmt", ["text", "md", "latex", "html"])
@pytest.mark.parametrize("decimals", [None, 1])
def test_explain_says_where_the_slide_prints_another_number(s0, fmt, decimals):
    # explain never said that the slide's i_3 = [0.4, 0.0] does not follow from its own
    # parameters, which check reports; i_3 = [0.965, 0.097] exact, [1.0, 0.1] at one decimal,
    # by hand as well (z_i_3 = [3.3, -2.4]: the file's header and helper-162's NumPy recomputation)
    i3 = _seed000_step3_i()
    assert np.round(i3, 1).tolist() == [1.0, 0.1]
    page = explain(s0, fmt, decimals=decimals, width=200)
    printed = "[" + ", ".join(f"{v:.1f}" for v in _slide("i", 3)) + "]"
    assert printed == "[0.4, 0.0]"
    note = f"the slide prints {printed}; from its own parameters it is [1.0, 0.1]"
    assert page.count(note) == 1, fmt
    step3 = page.index("Step 3")
    assert page.index(note) > step3
    assert "from its own parameters" not in page[:step3]  # steps 1 and 2 are the slides' (right at one decimal)
    # the input the 'Inputs' slide misprints (x_1 = [1.0, 1.0] for A = [1.0, 0.0]): in step 1, once
    x1 = "prints " + ("$x_{1}$" if fmt == "latex" else "x_1") + " = [1.0, 1.0]"
    assert page.count(x1) == 1 and page.index("Step 1") < page.index(x1) < page.index("Step 2")
    if fmt == "text":  # under i_3's equation, before f_3's
        lines = page.splitlines()
        k = next(n for n, ln in enumerate(lines) if note in ln)
        before_note = "\n".join(lines[:k])
        assert before_note.rindex("i_3") > before_note.rindex("Step 3") and "f_3" not in before_note[before_note.rindex("Step 3"):]


def test_explain_notes_only_the_claims_check_finds_wrong(tmp_path):
    # a file whose claims are all right gets no note; one wrong entry gets one, with its own numbers
    src = (EXAMPLES / "seed000.toml").read_text()
    right = re.sub(r"\[\[claims\]\].*", "", src, flags=re.S)  # the example without its claims
    right += '[[claims]]\nstep = 1\nname = "i"\nvalue = [1.0, 0.9]\nwhere = "slide 1"\n'
    (tmp_path / "ok.toml").write_text(right)
    assert "prints" not in explain(worked.load(tmp_path / "ok.toml")[0], "text", width=200)
    (tmp_path / "bad.toml").write_text(right.replace("[1.0, 0.9]", "[1.0, 0.5]"))
    out = explain(worked.load(tmp_path / "bad.toml")[0], "text", width=200)
    # i_1 = σ([4, 2]) = [0.982, 0.881]: at one decimal [1.0, 0.9]
    assert out.count("the slide prints [1.0, 0.5]; from its own parameters it is [1.0, 0.9]") == 1


# -- #8: the HTML page's structure -----------------------------------------------------------------
def test_html_alt_text_describes_the_picture_and_is_not_the_caption(s0):
    page = explain(s0, "html", decimals=1)
    figures = re.findall(r'<figure id="fig-(\w+)"><img alt="([^"]*)" src="data:image/png;base64,[^"]+"><figcaption>([^<]*)</figcaption>', page)
    assert [f[0] for f in figures] == ["heatmaps", "traces"]
    for name, alt, caption in figures:
        assert alt and alt != caption and alt not in caption, name
    heat, traces = figures[0][1], figures[1][1]
    # seed 000 by hand (one decimal): the smallest gate is f_1 unit 1 = σ(-2) = 0.1 (the first of the
    # 0.1s), the largest |c| is c_3 unit 1 = -1.2; at t = 3, c_3 = [-1.2, 0.9], h_3 = [-0.8, 0.7]
    assert "f_1 unit 1 = 0.1" in heat and "c_3 unit 1 = -1.2" in heat
    assert "unit 1: c_3 = -1.2, h_3 = -0.8" in traces and "unit 2: c_3 = 0.9, h_3 = 0.7" in traces


def test_html_tables_have_captions_and_row_headers(s0):
    page = explain(s0, "html", decimals=1, grad=True)
    tables = re.findall(r"<table[^>]*>(.*?)</table>", page, flags=re.S)
    assert tables and '<div class="caption">' not in page
    for t in tables:
        assert t.startswith("<caption>"), t[:80]
        rows = re.findall(r"<tbody>(.*)</tbody>", t, flags=re.S)[0].split("<tr>")[1:]
        assert rows and all(r.startswith('<th scope="row">') for r in rows)
        assert all('scope="col"' in h for h in re.findall(r"<th[^>]*>", re.findall(r"<thead>(.*)</thead>", t)[0]))
    inputs = next(t for t in tables if "Inputs and initial states" in t)
    assert re.findall(r'<th scope="col">([^<]*)</th>', inputs) == ["symbol", "label", "value"]
    assert '<th scope="row">x_1</th><td>A</td><td>[1.0, 0.0]</td>' in inputs


def test_html_math_writes_a_negative_number_with_the_minus_sign(s0):
    page = explain(s0, "html", decimals=1)
    maths = "".join(re.findall(r"<math.*?</math>", page, flags=re.S))
    assert not re.search(r"<mn>\s*-", maths)  # no hyphen-minus inside a number
    # W_if = [[-2, 3], [2, 3]]: its -2 as the operator U+2212 before the number
    assert "<mtd><mrow><mo>&#x2212;</mo><mn>2</mn></mrow></mtd>" in maths
    # f_1 = σ([-2.0, 2.0]ᵀ) by hand: the vector's first entry
    assert "<mo>[</mo><mrow><mo>&#x2212;</mo><mn>2.0</mn></mrow><mo>,</mo><mn>2.0</mn><mo>]</mo>" in maths


def _saved_figure(monkeypatch, draw):
    """The figure ``draw()`` saves (lstmkit.io.save_figure intercepted: nothing written)."""
    import lstmkit.io

    saved = []
    monkeypatch.setattr(lstmkit.io, "save_figure", lambda fig, path: saved.append(fig))
    draw()
    assert len(saved) == 1
    return saved[0]


def _styles(ax) -> dict[str, tuple]:
    """Each legend entry's (line style, marker) in ``ax``: lines (axvline's too) with a label."""
    return {line.get_label(): (str(line.get_linestyle()), line.get_marker()) for line in ax.get_lines() if not line.get_label().startswith("_")}


@pytest.mark.filterwarnings("ignore:the LSTM .* is no better than", "ignore:the forecast correlates more")  # (one epoch: expected)
def test_learning_curves_and_forecast_tell_every_series_apart_without_colour(monkeypatch):
    # helper-164's left-alone list: History.plot drew training and validation both solid with the same marker
    # (matplotlib's first two colours only), plot_forecast the series black and the LSTM tab:red, both solid:
    # alike in greyscale and for a protanope. Every legend entry now has its own line style and marker, and
    # every curve's colour has at least 3:1 contrast on white (WCAG's contrast for graphics)
    from matplotlib.colors import to_rgb

    import lstmkit
    from lstmkit.datasets import airline_passengers
    from lstmkit.forecast import LSTMForecaster, plot_forecast

    X = np.random.default_rng(0).normal(size=(16, 5, 2))
    est = lstmkit.LSTMClassifier(hidden_size=3, epochs=3, seed=0, validation_split=0.25).fit(X, (X[:, :, 0].sum(1) > 0).astype(int))
    fig = _saved_figure(monkeypatch, lambda: est.history_.plot("curves.png"))
    y = airline_passengers()[:72]
    fc = LSTMForecaster(window=12, horizon=6, seasonal_period=12, epochs=1, hidden_size=4, seed=0)
    result = fc.backtest(y, 12)
    fig2 = _saved_figure(monkeypatch, lambda: plot_forecast("f.png", y, result, fc.predict(6)))
    for ax in [*fig.axes, *fig2.axes]:
        styles = _styles(ax)
        assert len(styles) >= 2 and len(set(styles.values())) == len(styles), styles
        for line in ax.get_lines():
            assert contrast(to_rgb(line.get_color()), (1, 1, 1)) >= 3.0, (line.get_label(), line.get_color())
