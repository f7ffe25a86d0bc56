"""BPTT by hand (``explain --round N --grad``): every printed number is recomputed here by a separate,
plain-Python hand calculation written from the formulas (every intermediate rounded half away from
zero and carried, forward and back), and every printed line adds up at the precision it is shown.

The rounding convention is the forward pass's: one rounding per written line (a product, a sum of
products or a matrix product is rounded once), the loss is the sum of the rounded per-step terms.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmkit.cli import main
from lstmkit.explain import backward, check, explain, worked
from lstmkit.explain.check import OK, OK_HAND
from lstmkit.explain.worked import from_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LETTERS = {"i": "i", "f": "f", "g": "c", "o": "o"}  # seed 000 names the candidate's weights W_ic, W_hc


# -- the hand calculation, from the formulas ---------------------------------------------------
def rnd(v: float, d: int) -> float:
    """What a person writes for v at d decimals: ties away from zero, of the decimal v stands for
    (0.1 + 0.2 = 0.30000000000000004 is 0.3; 0.7 * 0.5 = 0.35 rounds to 0.4)."""
    return float(Decimal(repr(round(v, 12))).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))


def R(v, d):
    return [rnd(a, d) for a in v]


def mv(M, v):
    """M v for a list of rows."""
    return [sum(a * b for a, b in zip(row, v)) for row in M]


def mtv(M, v):
    """Mᵀ v."""
    return [sum(M[j][m] * v[j] for j in range(len(M))) for m in range(len(M[0]))]


def sig(z):
    return 1 / (1 + math.exp(-z))


def softmax(a):
    e = [math.exp(v - max(a)) for v in a]
    return [v / sum(e) for v in e]


def hand_bptt(w, x, h0, c0, targets, d, Wy=None, by=None):
    """The seeds' per-gate cell by hand at d decimals, forward then back (read-out softmax(W_y h + b_y)
    or softmax(h), cross-entropy); returns (forward steps, backward steps by t, loss terms, L, grads)."""
    H = len(h0)
    b = {k: [w.get(f"b_i{L}", [0] * H)[j] + w.get(f"b_h{L}", [0] * H)[j] for j in range(H)] for k, L in LETTERS.items()}
    fw, h, c = [], list(h0), list(c0)
    for xt in x:
        s = {"x": xt, "h_prev": h, "c_prev": c}
        for k, L in LETTERS.items():
            Wx, Wh = R(mv(w[f"W_i{L}"], xt), d), R(mv(w[f"W_h{L}"], h), d)
            Wxh = R([p + q for p, q in zip(Wx, Wh)], d)
            z = R([p + q for p, q in zip(Wxh, b[k])], d)
            s[k] = R([math.tanh(a) if k == "g" else sig(a) for a in z], d)
        s["c"] = R([p + q for p, q in zip(R([f * cp for f, cp in zip(s["f"], c)], d), R([i * g for i, g in zip(s["i"], s["g"])], d))], d)
        s["tanh_c"] = R([math.tanh(a) for a in s["c"]], d)
        s["h"] = R([o * tc for o, tc in zip(s["o"], s["tanh_c"])], d)
        logits = s["h"] if Wy is None else R([p + q for p, q in zip(mv(Wy, s["h"]), by)], d)
        s["y"] = R(softmax(logits), d)
        fw.append(s)
        h, c = s["h"], s["c"]
    bw, terms = {}, []
    dh_next, dc_next = [0.0] * H, [0.0] * H
    for t in range(len(x), 0, -1):
        s, g = fw[t - 1], {}
        y, tgt = s["y"], targets[t - 1]
        terms.insert(0, rnd(-math.log(y[tgt]), d))
        g["dlogits"] = R([y[j] - (j == tgt) for j in range(len(y))], d)
        g["dh_out"] = g["dlogits"] if Wy is None else R(mtv(Wy, g["dlogits"]), d)
        g["dh_next"], g["dc_next"] = dh_next, dc_next
        g["dh"] = R([p + q for p, q in zip(g["dh_out"], dh_next)], d)
        g["do"] = R([p * q for p, q in zip(g["dh"], s["tanh_c"])], d)
        g["dtanh_c"] = R([1 - a * a for a in s["tanh_c"]], d)
        g["dc"] = R([p * o * q + n for p, o, q, n in zip(g["dh"], s["o"], g["dtanh_c"], dc_next)], d)
        g["di"] = R([p * q for p, q in zip(g["dc"], s["g"])], d)
        g["df"] = R([p * q for p, q in zip(g["dc"], s["c_prev"])], d)
        g["dg"] = R([p * q for p, q in zip(g["dc"], s["i"])], d)
        for k in "ifo":
            g[f"d{k}_dz"] = R([a * (1 - a) for a in s[k]], d)
        g["dg_dz"] = R([1 - a * a for a in s["g"]], d)
        for k in "ifgo":
            g[f"dz_{k}"] = R([p * q for p, q in zip(g[f"d{k}"], g[f"d{k}_dz"])], d)
        g["dc_prev"] = R([p * q for p, q in zip(g["dc"], s["f"])], d)
        g["dh_prev"] = R([sum(col) for col in zip(*(mtv(w[f"W_h{L}"], g[f"dz_{k}"]) for k, L in LETTERS.items()))], d)
        g["dx"] = R([sum(col) for col in zip(*(mtv(w[f"W_i{L}"], g[f"dz_{k}"]) for k, L in LETTERS.items()))], d)
        bw[t] = g
        dh_next, dc_next = g["dh_prev"], g["dc_prev"]
    grads = {}
    ts = range(1, len(x) + 1)
    for k, L in LETTERS.items():
        grads[f"W_i{L}"] = [[rnd(sum(bw[t][f"dz_{k}"][j] * fw[t - 1]["x"][m] for t in ts), d) for m in range(len(x[0]))] for j in range(H)]
        grads[f"W_h{L}"] = [[rnd(sum(bw[t][f"dz_{k}"][j] * fw[t - 1]["h_prev"][m] for t in ts), d) for m in range(H)] for j in range(H)]
        grads[f"b_i{L}"] = grads[f"b_h{L}"] = [rnd(sum(bw[t][f"dz_{k}"][j] for t in ts), d) for j in range(H)]
    if Wy is not None:
        grads["W_y"] = [[rnd(sum(bw[t]["dlogits"][j] * fw[t - 1]["h"][m] for t in ts), d) for m in range(H)] for j in range(len(Wy))]
        grads["b_y"] = [rnd(sum(bw[t]["dlogits"][j] for t in ts), d) for j in range(len(Wy))]
    return fw, bw, terms, rnd(sum(terms), d), grads


# -- reading the printed text ------------------------------------------------------------------
VEC = re.compile(r"\[([^\[\]]*)\]ᵀ")


def _vectors(line: str) -> list[list[float]]:
    return [[float(a) for a in m.split(", ")] for m in VEC.findall(line)]


def _equations(text: str) -> list[tuple[str, list[str]]]:
    """(lhs, [rhs of each '=' line]) of every equation: the '=' rows of a block, notes left out."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        # a heading ("Backward step 3") or a paragraph may come first; an equation's lhs is one word
        start = next((n for n, s in enumerate(lines) if re.match(r"\S+ = ", s)), None)
        if start is None:
            continue
        lines = lines[start:]
        lhs, first = lines[0].split(" = ", 1)
        col = sum(not unicodedata.combining(ch) for ch in lhs) + 1  # the tilde of c̃ takes no column
        rhs = [first]
        for s in lines[1:]:
            if s[col:col + 2] == "= " and not s[:col].strip():
                rhs.append(s[col + 2:])
        out.append((lhs.strip(), rhs))
    return out


def _steps(text: str) -> dict[int, dict[str, list[list[float]]]]:
    """Backward step t -> lhs -> every vector printed in its equation, in order."""
    out = {}
    for part in text.split("\nBackward step ")[1:]:
        t = int(part.split("\n", 1)[0])
        out[t] = {lhs: [v for r in rhs for v in _vectors(r)] for lhs, rhs in _equations(part.split("Parameter gradients")[0])}
    return out


def _param_rows(text: str) -> dict[str, list[float]]:
    table = text.split("dL/dparameter (rows separated by ;)")[-1]
    rows = {}
    for s in table.splitlines():
        m = re.match(r"\s*(\w+)\s+(-?\d.*)$", s)
        if m:
            rows[m.group(1)] = [float(a) for a in re.split(r"[;,]\s*", m.group(2).strip())]
    return rows


def _flat(a) -> list[float]:
    return [float(v) for v in np.ravel(a)]


def _expected_step(fw, g, t):
    """The vectors each backward equation of step t shows, in the order printed."""
    s = fw[t - 1]
    onehot = [float(j == g["_tgt"]) for j in range(len(s["y"]))]
    sub = lambda k: f"{k}_{t}"  # noqa: E731
    return {
        f"∂L_{t}/∂h_{t}": [s["y"], onehot, g["dlogits"]],
        sub("dh"): [g["dh_out"], g["dh_next"], g["dh"]],
        sub("do"): [g["dh"], s["tanh_c"], g["do"]],
        sub("dc"): [g["dh"], s["o"], g["dtanh_c"], g["dc_next"], g["dc"]],
        sub("di"): [g["dc"], s["g"], g["di"]],
        sub("df"): [g["dc"], s["c_prev"], g["df"]],
        sub("dc̃"): [g["dc"], s["i"], g["dg"]],
        **{f"dz_{'c̃' if k == 'g' else k}_{t}": [g[f"d{k}"], g[f"d{k}_dz"], g[f"dz_{k}"]] for k in "ifgo"},
        "dc_prev": [g["dc"], s["f"], g["dc_prev"]],
        "dh_prev": [g["dh_prev"]],
        sub("dx"): [g["dx"]],
    }


def _assert_text_is_the_hand_calculation(text, ex, d, Wy=None, by=None):
    w = {k: v.tolist() for k, v in ex.weights.items()}
    targets = list(ex.readout.targets)
    fw, bw, terms, L, grads = hand_bptt(w, ex.x.tolist(), ex.h0.tolist(), ex.c0.tolist(), targets, d, Wy, by)
    printed = _steps(text)
    assert sorted(printed) == list(range(1, ex.T + 1))
    for t, g in bw.items():
        want = _expected_step(fw, {**g, "_tgt": targets[t - 1]}, t)
        if Wy is not None:  # ∂L/∂a = y - onehot, then ∂L/∂h = W_yᵀ ∂L/∂a (a matrix block: its result only)
            want[f"∂L_{t}/∂a_{t}"] = want.pop(f"∂L_{t}/∂h_{t}")
            want[f"∂L_{t}/∂h_{t}"] = [g["dh_out"]]
        assert set(printed[t]) == set(want), t
        for lhs, vecs in want.items():
            got = printed[t][lhs]
            assert [len(v) for v in got] == [len(v) for v in vecs], (t, lhs)
            assert _flat(np.concatenate(got)) == pytest.approx(_flat(np.concatenate(vecs)), abs=1e-9), (t, lhs, got, vecs)
    # the loss: -log of each y_t[target], each term rounded, their sum rounded
    loss = dict(_equations(text.split("Backward: back-propagation")[1]))["L"]
    assert [float(a) for a in re.findall(r"log\((-?[\d.]+)\)", loss[1])] == pytest.approx(
        [fw[t]["y"][targets[t]] for t in range(ex.T)], abs=1e-9)
    assert [float(a) for a in loss[2].split(" + ")] == pytest.approx(terms, abs=1e-9)
    assert float(loss[3]) == pytest.approx(L, abs=1e-9)
    assert re.search(rf"= {L:.{d}f}\.\s+Walking back", text)
    rows = _param_rows(text)
    assert set(rows) == set(grads)
    for name, g in grads.items():
        assert rows[name] == pytest.approx(_flat(g), abs=1e-9), name


# a two-unit cell with biases, non-zero initial states and three steps: at two decimals every
# gradient is non-zero somewhere, so each line carries real numbers
SMALL = {
    "notation": "per_gate",
    "weights": {
        "W_ii": [[0.5, -1.0], [1.5, 0.2]], "W_if": [[1.0, 0.3], [-0.4, 0.8]],
        "W_ic": [[-0.7, 1.2], [0.9, -0.6]], "W_io": [[0.6, 0.1], [-1.1, 0.4]],
        "W_hi": [[0.3, -0.2], [0.1, 0.5]], "W_hf": [[-0.5, 0.4], [0.2, 0.3]],
        "W_hc": [[0.8, -0.3], [-0.6, 0.7]], "W_ho": [[0.2, 0.6], [-0.4, 0.1]],
        "b_ii": [0.1, -0.2], "b_if": [0.5, 0.4], "b_hc": [0.05, -0.1], "b_io": [0.0, 0.3],
    },
    "inputs": {"x": [[1.0, 0.0], [0.5, -1.0], [0.0, 1.0]], "h0": [0.2, -0.1], "c0": [0.4, -0.3]},
    "readout": {"targets": [1, 0, 1]},
}


@pytest.mark.parametrize("d", [1, 2, 3])
def test_every_printed_backward_number_is_the_hand_calculation(d):
    ex = from_dict(SMALL)[0]
    _assert_text_is_the_hand_calculation(explain(ex, "text", decimals=d, grad=True, width=200), ex, d)


def test_seed000_round1_backward_is_the_hand_calculation():
    # the audited case: `lstmkit explain examples/seed000.toml --round 1 --grad`. By hand, step 3:
    # dh_3 = y_3 - onehot(1) = [0.2, 0.8] - [0, 1] = [0.2, -0.2]; do_3 = dh_3 * tanh(c_3)
    # = [0.2 * -0.8, -0.2 * 0.7] = [-0.16, -0.14] -> [-0.2, -0.1] (it printed 0.198 * -0.800 = -0.145)
    ex = worked.load(f"{EXAMPLES}/seed000.toml")[0]
    text = explain(ex, "text", decimals=1, grad=True, width=100)
    _assert_text_is_the_hand_calculation(text, ex, 1)
    do3 = _steps(text)[3]["do_3"]
    assert do3 == [[0.2, -0.2], [-0.8, 0.7], [-0.2, -0.1]], do3


def test_a_read_out_matrix_by_hand():
    ex = from_dict({**SMALL, "readout": {"W_y": [[1.0, -0.5], [0.3, 0.8], [-1.2, 0.4]], "b_y": [0.1, 0.0, -0.1],
                                         "targets": [2, 0, 1]}})[0]
    text = explain(ex, "text", decimals=2, grad=True, width=200)
    _assert_text_is_the_hand_calculation(text, ex, 2, ex.readout.W_y.tolist(), ex.readout.b_y.tolist())


# -- every printed line adds up at its precision --------------------------------------------------
_FN = {"σ": sig, "tanh": math.tanh}


def _value(expr: str):
    """A line of vectors and * + - evaluated elementwise, or None when it holds anything else."""
    names = {}

    def name(m):
        names[f"v{len(names)}"] = np.array([float(a) for a in m.group(1).split(", ")])
        return f"v{len(names) - 1}"

    code = VEC.sub(name, expr)
    if not names or not re.fullmatch(r"[v\d\s*+-]+", code):
        return None
    return eval(code, {}, names)  # noqa: S307 - vectors and * + - only, checked above


def _line_problems(text: str, d: int) -> list[str]:
    """Each pair of consecutive right-hand sides where the later one is a single vector: the
    earlier one, evaluated from the printed numbers (an activation of one vector too), must round
    to it; the loss line's terms and total likewise."""
    half = 0.5 * 10.0**-d + 1e-9
    bad, checked = [], 0
    for lhs, rhs in _equations(text):
        if lhs == "L":  # Σ_t -log y_t[target_t] (each term, then the sum) or Σ_j h_T[j]
            if "log(" in rhs[1]:  # a y that rounds to 0 has an infinite -log, written ∞
                ys = [float(a) for a in re.findall(r"log\((-?[\d.]+)\)", rhs[1])]
                terms, total = [float(a.replace("∞", "inf")) for a in rhs[2].split(" + ")], float(rhs[3].replace("∞", "inf"))
                ok = all(v == math.inf if y == 0 else abs(-math.log(y) - v) <= half for y, v in zip(ys, terms))
                if total == math.inf:
                    bad += [] if ok and math.inf in terms else [f"L: {rhs}"]
                    continue
            else:
                terms, total, ok = [float(a) for a in rhs[1].split(" + ")], float(rhs[2]), True
            bad += [] if ok and abs(sum(terms) - total) <= half else [f"L: {rhs}"]
            checked += 1
            continue
        for a, b in zip(rhs, rhs[1:]):
            fn = re.match(r"(σ|tanh)\((.*)\)$", a)
            fb = re.match(r"(σ|tanh)\((.*)\)$", b)
            if fn and fb and fn.group(1) == fb.group(1):
                a, b = fn.group(2), fb.group(2)  # σ(x + y) = σ(z): compare the arguments
                fn = None
            if not re.fullmatch(VEC.pattern, b):
                continue
            want = np.array(_vectors(b)[0])
            if fn and re.fullmatch(VEC.pattern, fn.group(2)):
                got = np.array([_FN[fn.group(1)](v) for v in _vectors(fn.group(2))[0]])
            else:
                got = _value(a)
            if got is None:
                continue
            checked += 1
            if np.any(np.abs(got - want) > half):
                bad.append(f"{lhs}: {a} = {b} (gives {np.round(got, d + 3).tolist()})")
    assert checked > 0
    return bad


@st.composite
def examples(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    H, I, T = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    one = lambda *shape: (rng.integers(-20, 21, size=shape) / 10).tolist()  # noqa: E731
    w = {f"W_i{L}": one(H, I) for L in "ifco"} | {f"W_h{L}": one(H, H) for L in "ifco"} | {f"b_i{L}": one(H) for L in "ifco"}
    d = {"weights": w, "inputs": {"x": one(T, I), "h0": one(H), "c0": one(H)}}
    K = draw(st.sampled_from([None, 2, 3]))
    targets = rng.integers(0, K or H, size=T).tolist()
    d["readout"] = {"targets": targets} if K is None else {"W_y": one(K, H), "b_y": one(K), "targets": targets}
    if K is None and H == 1:
        d["readout"] = None  # softmax of one unit: a cross-entropy of 0; probe with sum_h instead
    return from_dict({k: v for k, v in d.items() if v is not None})[0], draw(st.integers(1, 3))


# -- matrix products (dh_prev, dx, ∂L/∂h through W_y), read from the Markdown's LaTeX ------------
BMAT = r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}"


def _bmatrix(body: str) -> list[list[float]]:
    return [[float(a) for a in row.split(" & ")] for row in body.split(r" \\ ")]


def _md_equations(md: str) -> list[tuple[str, list[str]]]:
    """(lhs, [rhs of each line]) of every $$ aligned block of the Markdown."""
    out = []
    for block in re.findall(r"\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}", md, re.S):
        lines = block.split(" \\\\\n")
        out.append((lines[0].split(" &= ", 1)[0].removeprefix("{}"), [s.split("&= ", 1)[1] for s in lines]))
    return out


def _products(line: str) -> list[tuple[list[list[float]], list[float]]] | None:
    """A line M_1 × v_1 + M_2 × v_2 + ... as [(M_1, v_1), ...]; None for any other line."""
    pair = rf"{BMAT} \\times {BMAT}"
    if not re.fullmatch(rf"{pair}( \+ {pair})*", line):
        return None
    found = re.findall(pair, line)
    return [(_bmatrix(m), [r[0] for r in _bmatrix(v)]) for m, v in found]


def _backward_steps_md(md: str) -> dict[int, dict[str, list[str]]]:
    """Backward step t -> lhs -> its right-hand sides, from the Markdown."""
    out = {}
    for part in md.split("### Backward step ")[1:]:
        t = int(part.split("\n", 1)[0])
        out[t] = dict(_md_equations(part.split("*Parameter gradients")[0]))
    return out


def _product_problems(md: str, d: int) -> tuple[list[str], int]:
    """Each line of matrix products followed by one vector: Σ M v from the printed numbers must
    round to that vector at d decimals. Returns (the lines that do not, how many were checked)."""
    half = 0.5 * 10.0**-d + 1e-9
    bad, checked = [], 0
    for lhs, rhs in _md_equations(md.split("## Backward: back-propagation")[1]):
        for a, b in zip(rhs, rhs[1:]):
            prods, vec = _products(a), re.fullmatch(r"\[([^\[\]]*)\]\^\\top", b)
            if prods is None or vec is None:
                continue
            want = [float(v) for v in vec.group(1).split(", ")]
            got = [sum(M[r][c] * v[c] for M, v in prods for c in range(len(v))) for r in range(len(want))]
            checked += 1
            if any(abs(g - w) > half for g, w in zip(got, want)):
                bad.append(f"{lhs}: {a} = {b} (gives {[round(g, d + 3) for g in got]})")
    return bad, checked


@settings(max_examples=40)
@given(case=examples(), loss=st.sampled_from([None, "sum_h"]))
def test_every_line_adds_up_at_its_precision(case, loss):
    # the loss is drawn with the example (its default, xent with targets where there are some, or sum_h),
    # and the one document of the pair is rendered as text (the lines) and Markdown (the products):
    # the text rendering is the cost (~0.07 s for H = 3, T = 3), so one of it per example
    from lstmkit.explain import build, forward
    from lstmkit.explain.render_md import render as markdown
    from lstmkit.explain.render_text import render as text

    ex, d = case
    doc = build.document(forward(ex, d), bw=backward(ex, loss, d))
    assert _line_problems(text(doc, 400, False), d) == []
    # dh_prev = Σ_k W_hkᵀ dz_k and dx_t = Σ_k W_xkᵀ dz_k (and ∂L/∂h = W_yᵀ ∂L/∂a) with their numbers
    bad, checked = _product_problems(markdown(doc), d)
    assert bad == [] and checked >= 2 * ex.T, (bad, checked)


def test_the_rendered_document_is_explains():
    # the property above renders build.document itself: the same text and Markdown as explain(..., grad=True)
    from lstmkit.explain import build, forward
    from lstmkit.explain.render_md import render as markdown
    from lstmkit.explain.render_text import render as text

    ex = from_dict(SMALL)[0]
    for loss in (None, "sum_h"):
        doc = build.document(forward(ex, 2), bw=backward(ex, loss, 2))
        assert text(doc, 400, False) == explain(ex, "text", decimals=2, grad=True, loss=loss, width=400)
        assert markdown(doc) == explain(ex, "md", decimals=2, grad=True, loss=loss)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_dh_prev_and_dx_show_their_numbers_by_hand(d):
    # each line: the symbols, then W_hkᵀ × dz_k summed over the gates k = i, f, c~, o with the weights
    # transposed and dz_k as the hand calculation carries it, then the sum rounded once (hand_bptt)
    ex = from_dict(SMALL)[0]
    w = SMALL["weights"]
    _, bw, _, _, _ = hand_bptt(w, ex.x.tolist(), ex.h0.tolist(), ex.c0.tolist(), [1, 0, 1], d)
    steps = _backward_steps_md(explain(ex, "md", decimals=d, grad=True))
    assert sorted(steps) == [1, 2, 3]
    for t, eqs in steps.items():
        for lhs, part, name in (("{dh_{prev}}", "h", "dh_prev"), (f"dx_{{{t}}}", "i", "dx")):
            sym, products, result = eqs[lhs]
            gate = {"i": "i", "f": "f", "g": r"\tilde{c}", "o": "o"}
            assert sym == " + ".join(f"W_{{{part}{L}}}^{{\\top }} {{dz_{{{gate[k]}}}}}_{{{t}}}" for k, L in LETTERS.items())
            transposed = [[list(col) for col in zip(*w[f"W_{part}{L}"])] for L in LETTERS.values()]
            assert [M for M, _ in _products(products)] == transposed, (t, name)
            assert [v for _, v in _products(products)] == [bw[t][f"dz_{k}"] for k in LETTERS], (t, name)
            assert _vectors(result.replace("^\\top", "ᵀ")) == [bw[t][name]], (t, name)


def test_seed000_dh_prev_with_its_numbers():
    # the slides' example at one decimal, step 3: dz_c~_3 = [0.1, 0.0], the other dz_3 are 0, so
    # dh_prev = W_hcᵀ [0.1, 0.0] = [[-4, 4], [-8, 3]] [0.1, 0.0] = [-0.4, -0.8]
    # (the other dz_3 are 0: i_3, f_3, o_3 = [1.0, 0.1], [0.9, 1.0], [1.0, 1.0] give σ' = k (1 - k) = [0.0, 0.1],
    # [0.1, 0.0], [0.0, 0.0], and times di_3, df_3, do_3 = [-0.1, 0.1], [-0.1, -0.1], [-0.2, -0.1] each is 0.0 or ±0.01 -> 0.0)
    ex = worked.load(f"{EXAMPLES}/seed000.toml")[0]
    text = explain(ex, "text", decimals=1, grad=True, width=100)
    block = text.split("dh_prev = W_hiᵀ dz_i_3")[1].split("\n\n")[0].splitlines()
    assert block[1:4] == [
        "        = ⎡1  4⎤ × ⎡0.0⎤ + ⎡-1 0⎤ × ⎡0.0⎤ + ⎡-4 4⎤ × ⎡0.1⎤ + ⎡1 2⎤ × ⎡0.0⎤",
        "          ⎣0 -2⎦   ⎣0.0⎦   ⎣-2 0⎦   ⎣0.0⎦   ⎣-8 3⎦   ⎣0.0⎦   ⎣0 1⎦   ⎣0.0⎦",
        "        = [-0.4, -0.8]ᵀ"], block


def test_every_format_shows_the_products_of_dh_prev_and_dx():
    # per step, dh_prev and dx each show four products W_kᵀ × dz_k (no read-out matrix here)
    ex = from_dict(SMALL)[0]
    times = {"text": "×", "md": r"\times", "latex": r"\times", "html": "<mo>×</mo>"}
    for fmt, sign in times.items():
        out = explain(ex, fmt, decimals=2, grad=True, width=400)
        backward_part = out.split("Backward: back-propagation through time")[1]
        assert backward_part.count(sign) == 8 * ex.T, fmt


@pytest.mark.parametrize("notation", ["concat", "unit"])
def test_dh_prev_and_dx_in_the_other_notations(notation):
    # seeds 001/003: W_k acts on [h_{t-1}, x_t], so dh_prev takes the columns of W_k on h, dx those on x;
    # seed 002: one unit, Ws and Wi numbered by gate (3 = input, 1 = forget, 2 = candidate, 4 = output)
    if notation == "concat":
        W = {"W_i": [[0.2, -0.4, 1.0], [0.6, 0.2, -0.8]], "W_f": [[1.0, 0.4, 0.2], [-0.6, 0.2, 0.8]],
             "W_c": [[-0.2, 0.6, 1.2], [0.4, -1.0, 0.6]], "W_o": [[0.8, 0.2, -0.4], [0.2, 0.6, 1.0]]}
        doc = {"notation": "concat", "weights": W, "inputs": {"x": [[1.0], [-0.5]], "h0": [0.1, 0.2]},
               "readout": {"targets": [0, 1]}}
        # in the deck's order f, i, C̃, o, as the forward pass (helper-208 #4: these followed seed 000's i, f, c̃, o)
        h_part = [[[row[0], row[1]] for row in W[f"W_{L}"]] for L in "fico"]
        x_part = [[[row[2]] for row in W[f"W_{L}"]] for L in "fico"]
        names = {"h": [f"W_{{{L},h}}" for L in "fiCo"], "x": [f"W_{{{L},x}}" for L in "fiCo"]}  # the candidate's W_C, as the deck
        order = "figo"
    else:
        doc = {"notation": "unit", "weights": {"Wi1": 1.0, "Ws1": 2.0, "Wi2": 1.0, "Ws2": -1.0, "Wi3": 0.5, "Ws3": 1.5,
                                               "Wi4": -1.0, "Ws4": 0.5}, "inputs": {"x": [1.0, -1.0]}}
        h_part = [[[1.5]], [[2.0]], [[-1.0]], [[0.5]]]  # Ws3, Ws1, Ws2, Ws4: gates i, f, c~, o
        x_part = [[[0.5]], [[1.0]], [[1.0]], [[-1.0]]]
        names = {"h": ["Ws3", "Ws1", "Ws2", "Ws4"], "x": ["Wi3", "Wi1", "Wi2", "Wi4"]}
        order = "ifgo"
    ex = from_dict(doc)[0]
    md = explain(ex, "md", decimals=2, grad=True)
    bad, checked = _product_problems(md, 2)
    assert bad == [] and checked == 2 * ex.T
    bw = backward(ex, decimals=2)
    for t, eqs in _backward_steps_md(md).items():
        s = next(b for b in bw.steps if b.t == t)
        for lhs, part, blocks in (("{dh_{prev}}", "h", h_part), (f"dx_{{{t}}}", "x", x_part)):
            sym, products, _ = eqs[lhs]
            assert [re.sub(r"\^\{\\top \}.*", "", term) for term in sym.split(" + ")] == names[part]
            assert [M for M, _ in _products(products)] == [[list(c) for c in zip(*B)] for B in blocks]
            assert [v for _, v in _products(products)] == [pytest.approx(s[f"dz_{k}"].tolist(), abs=1e-12) for k in order]
    if notation == "concat":  # the rest of the backward part in the deck's order too: dk, dz_k, the gradient table
        text = explain(ex, "text", decimals=2, grad=True)
        for t, eqs in _steps(text).items():
            assert [k for k in eqs if re.fullmatch(rf"d(f|i|c̃)_{t}", k)] == [f"df_{t}", f"di_{t}", f"dc̃_{t}"]
            assert [k for k in eqs if k.startswith("dz_")] == [f"dz_f_{t}", f"dz_i_{t}", f"dz_c̃_{t}", f"dz_o_{t}"]
        rows = list(_param_rows(text))
        assert rows[:8] == ["W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"] and set(rows[8:]) <= {"W_y", "b_y"}


def test_the_old_lines_did_not_add_up():
    # the check above finds the audit's lines: 0.198 * -0.800 printed as -0.145
    text = "do_3 = dh_3 * tanh(c_3)\n     = [0.198, -0.198]ᵀ * [-0.800, 0.700]ᵀ\n     = [-0.145, -0.135]ᵀ\n"
    assert _line_problems(text, 3) == ["do_3: [0.198, -0.198]ᵀ * [-0.800, 0.700]ᵀ = [-0.145, -0.135]ᵀ (gives [-0.1584, -0.1386])"]


# -- the formats show the same numbers ------------------------------------------------------------
def _numbers(s: str) -> list[str]:
    s = s.replace("<mo>&#x2212;</mo><mn>", "<mn>-")  # HTML's MathML writes -0.42 as <mo>−</mo><mn>0.42</mn>
    return [n.lstrip("-") if float(n) == 0 else n for n in re.findall(r"-?\d+\.\d+", s)]


def test_every_format_shows_the_same_backward_numbers():
    # Markdown, LaTeX and HTML write a matrix entry by entry, in one order; the terminal lays the
    # matrices of a line (dh_prev's W_hkᵀ × dz_k) out row by row, so its numbers come in another order
    ex = from_dict(SMALL)[0]
    part = lambda s: s.split("Backward: back-propagation through time")[1].split("Pictures")[0]  # noqa: E731
    text = _numbers(part(explain(ex, "text", decimals=2, grad=True, width=400)))
    md = _numbers(part(explain(ex, "md", decimals=2, grad=True)))
    assert len(text) > 200  # every line of three steps and the table
    assert sorted(md) == sorted(text)
    for fmt in ("latex", "html"):
        assert _numbers(part(explain(ex, fmt, decimals=2, grad=True))) == md, fmt


def test_hand_backward_trace_is_the_hand_calculation():
    # the library call explain() renders: backward(ex, loss, decimals)
    ex = from_dict(SMALL)[0]
    w = {k: v.tolist() for k, v in ex.weights.items()}
    _, bw, _, L, grads = hand_bptt(w, ex.x.tolist(), ex.h0.tolist(), ex.c0.tolist(), [1, 0, 1], 2)
    tr = backward(ex, decimals=2)
    assert tr.loss == pytest.approx(L, abs=1e-12) and tr.decimals == 2
    for s in tr.steps:
        for name in ("dh", "dc", "dz_i", "dz_g", "dh_prev", "dc_prev", "dx"):
            np.testing.assert_allclose(s[name], bw[s.t][name], atol=1e-12, err_msg=f"{name} (t={s.t})")
    np.testing.assert_allclose(tr.dh0, bw[1]["dh_prev"], atol=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(tr.param_grads[name], g, atol=1e-12, err_msg=name)


def test_a_probability_that_rounds_to_zero_has_an_infinite_loss_by_hand():
    # one unit: i = f = o = σ(0) = 0.5 and c~ = tanh(2) = 0.96 -> 1.0 at one decimal; c_1 = 0.5 * 1.0 = 0.5,
    # h_1 = 0.5 * tanh(0.5) = 0.5 * 0.5 = 0.25 -> 0.3; a = [10, -10] * 0.3 = [3.0, -3.0],
    # y = softmax = [0.998, 0.002] -> [1.0, 0.0]: -log y[1] = -log 0.0 is infinite; ∂L/∂a = [1.0, -1.0] is not
    ex = from_dict({"weights": {"W_ic": [[2.0]], "W_ii": [[0.0]], "W_if": [[0.0]], "W_io": [[0.0]],
                                **{f"W_h{L}": [[0.0]] for L in "ifco"}},
                    "inputs": {"x": [[1.0]]}, "readout": {"W_y": [[10.0], [-10.0]], "targets": [1]}})[0]
    text = explain(ex, "text", decimals=1, grad=True, width=300)
    L = dict(_equations(text.split("Backward: back-propagation")[1]))["L"]
    assert L[1:] == ["- log(0.0)", "∞", "∞"] and "its -log is infinite by hand" in text
    assert _steps(text)[1]["∂L_1/∂a_1"] == [[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]


# -- check: a hand calculation of the backward pass as explain shows it is right ----------------
BW_NAMES = ("dlogits", "dh_out", "dh", "do", "dtanh_c", "dc", "di", "df", "dg", "di_dz", "df_dz", "dg_dz", "do_dz",
            "dz_i", "dz_f", "dz_g", "dz_o", "dc_prev", "dh_prev", "dx")


def _written(v, d):
    """A number as a person writes it at d decimals (a string keeps its trailing zeros: "0.50")."""
    if isinstance(v, list):
        return [_written(a, d) for a in v]
    return f"{v:.{d}f}".replace("-0.00", "0.00") if abs(v) >= 0.5 * 10**-d else f"{0:.{d}f}"


def _hand_claims(d, doc=SMALL):
    """Every number of the hand calculation at d decimals as claims: h, c, y forward, then every
    backward quantity of every step, the loss terms, L and each parameter's gradient."""
    ex = from_dict(doc)[0]
    w = {k: v.tolist() for k, v in ex.weights.items()}
    fw, bw, terms, L, grads = hand_bptt(w, ex.x.tolist(), ex.h0.tolist(), ex.c0.tolist(), list(ex.readout.targets), d)
    claims = [{"step": t, "name": n, "value": _written(fw[t - 1][n], d)} for t in range(1, ex.T + 1) for n in ("c", "h", "y")]
    for t in range(ex.T, 0, -1):
        claims += [{"step": t, "name": n, "value": _written(bw[t][n], d)} for n in BW_NAMES]
        claims += [{"step": t, "name": "loss", "value": _written(terms[t - 1], d)},
                   {"step": t, "name": "dh_next", "value": _written(bw[t]["dh_next"], d)}]
    claims += [{"name": "L", "value": _written(L, d)}] + [{"name": "d" + n, "value": _written(g, d)} for n, g in grads.items()]
    return {**doc, "claims": claims}, bw


@pytest.mark.parametrize("d", [1, 2])
def test_check_accepts_the_backward_pass_worked_by_hand(d):
    doc, _ = _hand_claims(d)
    rep = check(from_dict(doc)[0])
    assert rep.ok, [(f.label, f.verdict, f.claimed, f.hand, f.detail) for f in rep.findings if f.failing]
    assert all(f.verdict in (OK, OK_HAND) for f in rep.findings)
    n_grads = sum(np.size(c["value"]) for c in doc["claims"] if "step" not in c)
    assert len(rep.findings) == sum(np.size(c["value"]) for c in doc["claims"])  # every number judged
    assert n_grads == 1 + 4 * (2 * 2 + 2 * 2 + 2 * 2)  # L; per gate W_i* and W_h* (2x2), b_i* and b_h* (2)


def test_check_points_at_the_first_wrong_backward_number():
    # one decimal: dc_3 unit 1 written 0.3 too high is the new error; di_3 unit 1 worked on from it
    # (the wrong dc_3 times c̃_3, rounded) follows from it; the numbers before it stay right
    doc, bw = _hand_claims(1)
    at = {(c.get("step"), c["name"]): c for c in doc["claims"]}
    wrong = bw[3]["dc"][0] + 0.3
    at[(3, "dc")]["value"][0] = _written(wrong, 1)
    g3 = hand_bptt({k: v for k, v in SMALL["weights"].items()}, SMALL["inputs"]["x"], SMALL["inputs"]["h0"],
                   SMALL["inputs"]["c0"], [1, 0, 1], 1)[0][2]["g"][0]  # c̃_3 unit 1 by hand
    at[(3, "di")]["value"][0] = _written(rnd(wrong * g3, 1), 1)
    assert rnd(wrong * g3, 1) != bw[3]["di"][0]  # the mistake shows in di_3
    rep = check(from_dict(doc)[0])
    failing = [f for f in rep.findings if f.failing]
    assert (failing[0].label, failing[0].verdict) == ("dc_3 unit 1", "new error"), [(f.label, f.verdict) for f in failing]
    di = next(f for f in rep.findings if f.label == "di_3 unit 1")
    assert di.verdict == "follows" and di.culprits == ("dc_3 unit 1",)
    before = [f for f in rep.findings if f.step == 3 and f.name in ("dh", "do", "dtanh_c")]
    assert before and not any(f.failing for f in before)


def test_check_points_at_the_first_wrong_number_of_dh_prev_and_dx():
    # two decimals. dh_prev_3 unit 2 written 0.2 too high (and so dh_next of step 2): the new error;
    # dh_2 unit 2 = ∂L_2/∂h_2 + dh_next worked on from it follows. dx_2 unit 1 written 0.1 too high:
    # a new error nothing follows from. dz_c̃_1 unit 1 written 0.3 too high and carried into
    # dh_prev_1 = Σ_k W_hkᵀ dz_k (both units: W_hc's first row is [0.8, -0.3]) follows from it
    doc, bw = _hand_claims(2)
    at = {(c.get("step"), c["name"]): c for c in doc["claims"]}
    w = SMALL["weights"]
    wrong = bw[3]["dh_prev"][1] + 0.2
    for key in ((3, "dh_prev"), (2, "dh_next")):
        at[key]["value"][1] = _written(wrong, 2)
    at[(2, "dh")]["value"][1] = _written(rnd(bw[2]["dh_out"][1] + wrong, 2), 2)
    at[(2, "dx")]["value"][0] = _written(bw[2]["dx"][0] + 0.1, 2)
    dz = {k: list(bw[1][f"dz_{k}"]) for k in "ifgo"}
    dz["g"][0] += 0.3
    at[(1, "dz_g")]["value"][0] = _written(dz["g"][0], 2)
    dh0 = R([sum(col) for col in zip(*(mtv(w[f"W_h{L}"], dz[k]) for k, L in LETTERS.items()))], 2)
    assert dh0 != bw[1]["dh_prev"]
    at[(1, "dh_prev")]["value"] = _written(dh0, 2)
    rep = check(from_dict(doc)[0])
    failing = [(f.label, f.verdict, f.culprits) for f in rep.findings if f.failing]
    assert failing[0] == ("dh_prev_3 unit 2", "new error", ()), failing
    assert set(failing) == {("dh_prev_3 unit 2", "new error", ()), ("dh_2 unit 2", "follows", ("dh_prev_3 unit 2",)),
                            ("dx_2 unit 1", "new error", ()), ("dz_c̃_1 unit 1", "new error", ())} | {
        (f"dh_prev_1 unit {u}", "follows", ("dz_c̃_1 unit 1",)) for u in (1, 2) if dh0[u - 1] != bw[1]["dh_prev"][u - 1]}


def test_check_backward_claims_cli(tmp_path, capsys):
    import tomllib  # noqa: F401 - the file is written by the exercise module's TOML writer
    from lstmkit.explain.exercise import dumps

    doc, _ = _hand_claims(2)
    path = tmp_path / "bptt.toml"
    path.write_text(dumps(doc, "bptt.toml"))
    assert main(["check", str(path)]) == 0
    assert "all claims agree" in capsys.readouterr().out
    assert main(["check", str(path), "--loss", "sum_h"]) == 1  # the same numbers are not those of another loss
    out = capsys.readouterr().out
    assert "∂L_3/∂a_3 unit 1" in out or "dh_3 unit 1" in out or "∂L_3/∂h_3 unit 1" in out


def test_backward_claims_of_a_cell_backward_cannot_run_on_are_not_checkable():
    doc, _ = _hand_claims(1)
    doc = {**doc, "readout": {"targets": [1, 0, 1], "W_y": [[1.0, 0.0], [0.0, 1.0]]},
           "weights": {k: v for k, v in doc["weights"].items() if k != "W_hc"}}
    rep = check(from_dict({**doc, "claims": doc["claims"][-25:]})[0])
    f = next(f for f in rep.findings if f.name == "dc_prev")
    assert f.verdict == "not checkable" and "expected weights for all four gates" in f.detail


def test_a_gradient_summed_from_a_wrong_dz_follows_from_it():
    # dz_c̃_3 unit 1 written 0.5 too high; db_ic unit 1 = Σ_t dz_c̃_t unit 1 summed with it follows from it
    doc, bw = _hand_claims(2)
    at = {(c.get("step"), c["name"]): c for c in doc["claims"]}
    at[(3, "dz_g")]["value"][0] = _written(bw[3]["dz_g"][0] + 0.5, 2)
    for name in ("db_ic", "db_hc"):
        at[(None, name)]["value"][0] = _written(rnd(sum(bw[t]["dz_g"][0] for t in (1, 2, 3)) + 0.5, 2), 2)
    found = {f.label: f for f in check(from_dict(doc)[0]).findings}
    assert found["dz_c̃_3 unit 1"].verdict == "new error"
    assert found["db_ic entry (1)"].verdict == "follows" and found["db_ic entry (1)"].culprits == ("dz_c̃_3 unit 1",)
    assert found["db_ic entry (2)"].verdict in (OK, OK_HAND) and found["dW_ic entry (1, 2)"].verdict in (OK, OK_HAND)


@pytest.mark.parametrize("notation", ["concat", "unit"])
def test_check_agrees_with_explain_in_every_notation(notation):
    # the numbers explain --round 2 --grad prints, written down as claims, are all right; each one
    # changed by 0.05 is not
    if notation == "concat":
        rng = np.random.default_rng(4)
        doc = {"notation": "concat", "weights": {f"W_{L}": (rng.integers(-9, 10, (2, 3)) / 5).tolist() for L in "ifco"},
               "inputs": {"x": [[1.0], [-0.5]], "h0": [0.1, 0.2]}, "readout": {"targets": [0, 1]}}
    else:
        doc = {"notation": "unit", "weights": {"Wi1": 1.0, "Ws1": 2.0, "Wi2": 1.0, "Ws2": -1.0, "Wi3": 0.5, "Ws3": 1.5,
                                               "Wi4": -1.0, "Ws4": 0.5, "Bias1": 0.2}, "inputs": {"x": [1.0, -1.0]}}
    ex = from_dict(doc)[0]
    # the hand path (rounding each line, explain's own formulas) at 12 decimals is the exact path
    # (the engine's cell backward) to round-off: the claims judged below come from formulas that are right
    exact, fine = backward(ex), backward(ex, decimals=12)
    assert {s.source[n] for s in exact.steps for n in s.values} >= {"engine"}
    assert "engine" not in {s.source[n] for s in fine.steps for n in s.values}
    assert [s.t for s in fine.steps] == [s.t for s in exact.steps] and fine.param_grads.keys() == exact.param_grads.keys()
    pairs = [(f"step {a.t} {n}", b[n], a[n]) for a, b in zip(exact.steps, fine.steps) for n in a.values]
    assert all(a.values.keys() == b.values.keys() for a, b in zip(exact.steps, fine.steps))
    pairs += [(f"d{n}", fine.param_grads[n], g) for n, g in exact.param_grads.items()]
    pairs += [("loss", fine.loss, exact.loss), ("dh0", fine.dh0, exact.dh0), ("dc0", fine.dc0, exact.dc0)]
    for what, by_hand, exact_value in pairs:
        np.testing.assert_allclose(by_hand, exact_value, rtol=0, atol=1e-9, err_msg=f"{notation}: {what}, by hand (12 decimals) vs exact")
    bw = backward(ex, decimals=2)
    claims = [{"step": s.t, "name": n, "value": _written(s[n].tolist(), 2)} for s in bw.steps for n in BW_NAMES if n in s.values]
    claims += [{"name": "d" + n, "value": _written(np.asarray(g).tolist(), 2)} for n, g in bw.param_grads.items()]
    claims += [{"name": "loss", "value": _written(bw.loss, 2)}]
    rep = check(from_dict({**doc, "claims": claims})[0])
    assert rep.ok and rep.count(OK, OK_HAND) == len(rep.findings) > 20, [(f.label, f.verdict) for f in rep.findings if f.failing]
    for c in claims[-4:]:
        c["value"] = _written((np.asarray(c["value"], dtype=float) + 0.05).tolist(), 2)
    rep = check(from_dict({**doc, "claims": claims})[0])
    assert {f.name for f in rep.findings if f.failing} == {c["name"] for c in claims[-4:]}
