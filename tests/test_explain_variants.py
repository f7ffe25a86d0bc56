"""Explaining LSTM variants: golden text for the worked examples of ``examples/variants.toml``,
and the rendered numbers checked against :class:`lstmkit.LSTMCell` / :class:`lstmkit.LSTM` built
here from the same weights (not through the example's own ``cell()``), against a derivation by
hand (in the comments), and against a trained variant model's own predictions.

Regenerate the golden files after an intended change with
``LSTMKIT_UPDATE_GOLDEN=1 pytest tests/test_explain_variants.py`` and read the diff.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit import layout
from lstmkit.cli import main
from lstmkit.explain import check, explain, forward, from_dict, worked
from test_explain_render import _block, golden

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def vx():
    return worked.load(f"{EXAMPLES}/variants.toml")  # 1 peephole+clips, 2 CIFG+activations, 3 layer norm+zoneout


def test_golden_variants(vx):
    golden("variants_peephole_clip.txt", explain(vx[0], "text", width=100))
    golden("variants_peephole_clip_round2.txt", explain(vx[0], "text", decimals=2, width=100))
    golden("variants_cifg_activations.txt", explain(vx[1], "text", width=100))
    golden("variants_layer_norm_zoneout.txt", explain(vx[2], "text", width=100))
    golden("variants_layer_norm_zoneout.md", explain(vx[2], "md"))
    golden("variants_peephole_clip.tex", explain(vx[0], "latex"))
    golden("variants_tables.txt", "\n".join(explain(ex, "text", form="table", width=120) for ex in vx))


def test_table_form_columns_for_the_extra_terms(vx):
    text = explain(vx[0], "text", form="table", width=120)
    step2 = text.split("Step 2")[1].split("Step 3")[0]
    # input gate, cell 1: W_ii x_2 = 4, W_hi h_1 = h_1[1] = 0.625, + w_ci c_1 = 0.374 -> z = 4.999, clipped to
    # 4.500, σ = 0.989 (per gate, W_ii x_t and W_hi h_(t-1) are two columns: by hand each is rounded on its own)
    assert "W_ii x_2   W_hi h_1   w_ci * c_(t-1)   + b_i   clip ±4.5   σ = i_2" in step2
    assert re.search(r"cell 1\s+4\.000\s+0\.625\s+0\.374\s+4\.999\s+4\.500\s+0\.989", step2)
    # cell state, cell 2: f*c_prev = 0, i*c~ = 0.976 = the sum, clipped to 0.900
    assert re.search(r"cell 2\s+0\.881\s+0\.000\s+0\.000\s+0\.989\s+0\.987\s+0\.976\s+0\.976\s+0\.900", step2)
    cifg = explain(vx[1], "text", form="table", width=120)
    assert "Forget gate, coupled to the input gate (CIFG): f_t = 1 - i_t" in cifg and "hard_sigmoid = i_1" in cifg


def _last(text: str, lhs: str) -> np.ndarray:
    """The numbers of the last line of the equation ``lhs = ...`` (its value)."""
    line = _block(text, lhs)[-1] if not _block(text, lhs)[-1].strip().startswith("(") else _block(text, lhs)[-2]
    return np.array([float(v) for v in re.search(r"\[([^\]]*)\]ᵀ$", line).group(1).split(",")])


def _oracle(ex_dict: dict, **options):
    """An LSTMCell with ``options``, loaded from seed 000's per-gate weights and the TOML's extra ones."""
    W = {k: np.array(v, dtype=float) for k, v in ex_dict.items()}
    packed = layout.from_per_gate({k: v for k, v in W.items() if k.startswith("W_")})
    packed.setdefault("bias_ih", np.zeros(8))
    packed.setdefault("bias_hh", np.zeros(8))
    cell = lstmkit.LSTMCell(2, 2, dtype=np.float64, **options)
    extra = {"w_ci": "weight_ci", "w_cf": "weight_cf", "w_co": "weight_co", "gamma_c": "ln_weight_c", "beta_c": "ln_bias_c"}
    state = {**cell.state_dict(), **packed, **{extra[k]: v for k, v in W.items() if k in extra}}
    cell.load_state_dict(state)
    return cell


SEED000 = dict(W_ii=[[4, 4], [2, 2]], W_if=[[-2, 3], [2, 3]], W_ic=[[1, 3], [0, -3]], W_io=[[5, 5], [3, 5]],
               W_hi=[[1, 0], [4, -2]], W_hf=[[-1, -2], [0, 0]], W_hc=[[-4, -8], [4, 3]], W_ho=[[1, 0], [2, 1]])  # fmt: skip
XS = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    "k, extra, options",
    [
        (0, dict(w_ci=[0.5, -1], w_cf=[1, 2], w_co=[-1, 0.5]), dict(peephole=True, gate_clip=4.5, cell_clip=0.9)),
        (1, {}, dict(input_forget=True, activations=(("hard_sigmoid", 0.1, 0.5), "tanh", "softsign"))),
    ],
)
def test_rendered_numbers_equal_the_cell_step(vx, k, extra, options):
    text = explain(vx[k], "text", width=100)
    cell = _oracle({**SEED000, **extra}, **options)
    h, c = np.zeros(2), np.zeros(2)
    for t, x in enumerate(XS, start=1):
        s = cell.step(x[None], (h[None], c[None]))
        for name, lhs in (("i", "i"), ("f", "f"), ("g", "c̃"), ("o", "o"), ("c", "c"), ("h", "h")):
            np.testing.assert_allclose(_last(text, f"{lhs}_{t}"), getattr(s, name)[0], atol=5e-4, err_msg=f"{lhs}_{t}")
        if options.get("peephole"):  # the peephole terms, as summed in the third line: w_ci ⊙ c_{t-1}
            i_sum = "\n".join(_block(text, f"i_{t}"))
            want = "[" + ", ".join(f"{v:.3f}" for v in s.peephole_i[0]) + "]ᵀ"
            assert want.replace("-0.000", "0.000") in i_sum.replace("-0.000", "0.000")
        h, c = s.h[0], s.c[0]


def test_layer_norm_and_zoneout_equal_the_lstm_layer_in_eval_mode(vx):
    # zoneout is an LSTM (sequence) option: the layer in eval mode keeps c_t = z c_{t-1} + (1 - z) c'_t
    text = explain(vx[2], "text", width=100)
    lstm = lstmkit.LSTM(2, 2, dtype=np.float64, layer_norm=True, zoneout_cell=0.1, zoneout_hidden=0.2).eval()
    cell = _oracle({**SEED000, "gamma_c": [1.0, 0.5], "beta_c": [0.0, 0.25]}, layer_norm=True)
    lstm.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    y, (h_n, c_n) = lstm(XS[:, None, :])
    for t in range(1, 4):
        np.testing.assert_allclose(_last(text, f"h_{t}"), y[t - 1, 0], atol=5e-4)
    np.testing.assert_allclose(_last(text, "c_3"), c_n[0, 0], atol=5e-4)
    # step 1 by hand: a_x = W_ih x_1 = [4, 2, -2, 2, 1, 0, 5, 3] (i, f, c~, o); mean 15/8 = 1.875
    assert _last(text, "a_x")[:4].tolist() == [4.0, 2.0, -2.0, 2.0]
    assert "= 1.875" in _block(text, "μ_x")[-1]
    sd = math.sqrt(np.var([4, 2, -2, 2, 1, 0, 5, 3]) + 1e-5)  # population variance, ε = 1e-5: 2.0879
    assert f"= {sd:.3f}" in _block(text, "s_x")[-1]


def test_peephole_step_by_hand(vx):
    text = explain(vx[0], "text", width=100)
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    # Step 1 (h_0 = c_0 = 0, x_1 = [1, 0]): the peephole terms of i, f are w ⊙ c_0 = 0.
    #   c_1 = σ(4) tanh(1) = 0.98201 * 0.76159 = 0.74790 (unit 2: tanh(0) = 0), inside the cell clip 0.9
    c1 = s(4) * math.tanh(1)
    #   o sees the new c_1: z_o = W_io x_1 + w_co ⊙ c_1 = [5 - 0.74790, 3 + 0.5 * 0] -> o_1 = σ(4.25210), σ(3)
    #   h_1 = o_1 tanh(c_1) = 0.985966 * 0.633892 = 0.624996; unit 2: 0
    h1 = s(5 - c1) * math.tanh(c1)
    assert np.allclose(_last(text, "o_1"), [s(5 - c1), s(3)], atol=5e-4)
    # Step 2 (x_2 = [1, 0]): z_i = W_ii x_2 + W_hi h_1 + w_ci ⊙ c_1
    #   unit 1: 4 + 1 * h1 + 0.5 * c1 = 4 + 0.624996 + 0.373948 = 4.998944 > 4.5: clipped, i = σ(4.5) = 0.989013
    #   unit 2: 2 + 4 * h1 - 2 * 0 - 1 * 0 = 4.499983, inside the clip by only 1.7e-5 (written 4.500 at
    #   3 decimals), i = σ(4.499983) = 0.989013
    z1, z2 = 4 + h1 + 0.5 * c1, 2 + 4 * h1
    i2 = "\n".join(_block(text, "i_2"))
    assert f"[{0.5 * c1:.3f}, 0.000]ᵀ)" in i2  # the peephole term w_ci ⊙ c_1
    assert f"σ([{z1:.3f}, {z2:.3f}]ᵀ)" in i2 and "clip([4.999, 4.500]ᵀ, -4.5, 4.5)" in i2
    assert np.allclose(_last(text, "i_2"), [s(4.5), s(z2)], atol=5e-4)
    assert "the gate clip bites" in i2


def test_concat_variant_by_hand_rounds_w_times_hx_once():
    # seeds 001/003's notation: W_k·[h_(t-1), x_t] is one product, rounded once, in a variant cell as in
    # the plain one (and as the steps form prints it). By hand at 1 decimal, every gate:
    #   W_k·[h_0, x_1] = 0.5*0.3 + 0.5*0.3 = 0.30 -> 0.3  (its halves rounded apart: 0.2 + 0.2 = 0.4)
    #   z_i = 0.3 + w_ci c_0 = 0.3;  i_1 = σ(0.3) = 0.574 -> 0.6
    W = [[0.5, 0.5]]
    ex = from_dict({"notation": "concat", "weights": {"W_i": W, "W_f": W, "W_c": W, "W_o": W, "w_ci": [1.0], "w_cf": [1.0],
                    "w_co": [1.0]}, "inputs": {"x": [[0.3]], "h0": [0.3], "c0": [0.0]}, "options": {"peephole": True}})[0]  # fmt: skip
    step = forward(ex, decimals=1).steps[0]
    for k in "ifgo":
        assert step.values[f"Wxh_{k}"] == pytest.approx([0.3])
    assert step.values["z_i"] == pytest.approx([0.3]) and step.values["i"] == pytest.approx([0.6])
    i1 = "\n".join(_block(explain(ex, "text", decimals=1, width=100), "i_1"))
    assert "= σ([0.3]ᵀ)" in i1 and "0.4" not in i1


def test_hand_formulas_equal_the_engine_over_the_option_grid():
    # the trace's own formulas (hand mode at 14 decimals never calls the engine) against LSTMCell.step
    rng = np.random.default_rng(0)
    W = {k: rng.normal(size=np.shape(v)).round(2).tolist() for k, v in SEED000.items()}
    W.update(b_ii=[0.1, -0.2], b_ho=[0.3, 0.0], w_ci=[0.5, -1.0], w_cf=[1.5, 0.3], w_co=[-0.7, 2.0])
    grid = [dict(peephole=True, gate_clip=0.5, cell_clip=0.3, input_forget=True),
            dict(layer_norm=True, peephole=True, activations=["hard_sigmoid", "softsign", ["leaky_relu", 0.1]]),
            dict(activations=["softsign", "elu", "scaled_tanh"], cell_clip=0.2),
            dict(layer_norm=True, zoneout_cell=0.3, zoneout_hidden=0.2)]  # fmt: skip
    for opts in grid:
        w = {k: v for k, v in W.items() if opts.get("peephole") or not k.startswith("w_c")}
        if opts.get("layer_norm"):
            w.update(gamma_ih=rng.normal(1, 0.2, 8).tolist(), gamma_hh=rng.normal(1, 0.2, 8).tolist(), beta_c=[0.1, -0.2])
        ex = from_dict({"weights": w, "inputs": {"x": rng.normal(size=(4, 2)).tolist(), "c0": [0.5, -2.0], "h0": [0.1, 0.2]},
                        "options": opts})[0]  # fmt: skip
        exact, formulas = forward(ex), forward(ex, decimals=14)
        for a, b in zip(exact.steps, formulas.steps):
            assert a.source["i"] == "engine" and b.source["i"] == "computed"
            for name in a.values:
                np.testing.assert_allclose(b.values[name], a.values[name], atol=1e-12, err_msg=f"{opts} {name}")


def test_a_trained_variant_model_explained(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4, 2))
    y = (np.cumsum(X[:, :, 0], axis=1) > 0).astype(int)
    opts = dict(peephole=True, layer_norm=True, cell_clip=0.5, zoneout_cell=0.2, dropout_recurrent=0.3)
    est = lstmkit.LSTMClassifier(hidden_size=2, epochs=2, batch_size=8, seed=0, dtype="float64", lstm_options=opts).fit(X, y)
    est.save(tmp_path / "v.npz")
    from lstmkit.explain.model import example_from_model

    ex = example_from_model(lstmkit.load(tmp_path / "v.npz"), X[3])
    probs = np.stack([r["y"] for r in forward(ex).steps])
    np.testing.assert_allclose(probs, est.predict_proba(X[3:4])[0], atol=1e-12)  # the model's own numbers
    np.save(tmp_path / "x.npy", X[3])
    assert main(["explain", "--model", str(tmp_path / "v.npz"), "--input", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "i_1 = σ(n_x,i + n_h,i + w_ci ⊙ c_0 + b_i)" in out and "c_4 = 0.2 * c_3 + 0.8 * c'_4" in out
    assert "Trained with dropout_recurrent = 0.3: these regularisers act in training only" in out


def test_check_works_on_a_variant_example(vx):
    d = {"weights": {**SEED000, "w_ci": [0.5, -1], "w_cf": [1, 2], "w_co": [-1, 0.5]}, "options": {"gate_clip": 4.5},
         "inputs": {"x": XS.tolist()},
         "claims": [{"step": 2, "name": "i", "value": [0.99, 0.99]}, {"step": 1, "name": "o", "value": [0.99, 0.95]}]}
    rep = check(from_dict(d)[0])
    verdicts = [f.verdict for f in rep.findings]
    # o_1 unit 1 = σ(5 - 0.748) = 0.986 -> 0.99 right; unit 2 = σ(3) = 0.953 -> 0.95 right; i_2 = 0.989 -> 0.99
    assert verdicts.count("ok") == 4, [(f.label, f.verdict) for f in rep.findings]


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"options": {"peephole": True}}, "expected weights w_ci, w_cf and w_co with peephole = true, got none for"),
        ({"options": {"dropout_recurrent": 0.2}}, "Dropout and DropConnect act in training only"),
        ({"weights": {"gamma_c": [1, 1]}}, "expected [options] layer_norm true when the weights give layer-norm gains"),
        ({"weights": {"w_ci": [1, 1, 1]}}, "expected weights.w_ci shape (2,), got shape (3,)"),
        ({"options": {"gate_clip": -1}}, "[options]: expected gate_clip None or a finite number > 0, got -1."),
    ],
)
def test_bad_options_are_named(patch, message):
    d = {"weights": dict(SEED000), "inputs": {"x": XS.tolist()}}
    d["weights"].update(patch.get("weights", {}))
    if "options" in patch:
        d["options"] = patch["options"]
    with pytest.raises((ValueError, KeyError, TypeError)) as e:
        from_dict(d)
    assert message in str(e.value)


def test_forms_and_grad_that_show_the_plain_cell_refuse_a_variant(vx, capsys):
    assert main(["explain", f"{EXAMPLES}/variants.toml", "--example", "1", "--form", "memory"]) == 1
    assert "expected form 'steps' or 'table' for a variant cell" in capsys.readouterr().err
    assert main(["explain", f"{EXAMPLES}/variants.toml", "--example", "1", "--grad"]) == 1
    assert "Leave out --grad" in capsys.readouterr().err


def test_layer_norm_by_hand_of_a_zero_part_is_zero(vx):
    """Layer norm at --round 2, step 1: a_h = W_hh h_0 = 0, so μ_h = 0 and s_h = sqrt(0 + ε) = 0.0032,
    which rounds to 0.00 at 2 decimals; (a_h - μ_h) / 0.00 = 0 / 0 made n_h, then every gate, c and h
    of step 1 and all of step 2, unknown ('?'). A divisor is never rounded to 0 by hand: s_h keeps
    its first significant digit, 0.003, and n_h = 0 / 0.003 = 0, as exactly (0 / sqrt(ε))."""
    ex = vx[2]
    assert ex.variant.layer_norm
    hand, exact = forward(ex, decimals=2), forward(ex)
    step1 = hand.steps[0].values
    assert float(step1["sd_h"][0]) == 0.003  # sqrt(1e-5) = 0.00316, to its first significant digit
    for k in "ifgo":
        assert np.array_equal(step1[f"nh_{k}"], np.zeros(ex.hidden_size))
        assert np.array_equal(exact.steps[0].values[f"nh_{k}"], np.zeros(ex.hidden_size))
    for rec, ref in zip(hand.steps, exact.steps):  # every number known, near the exact ones
        assert not np.isnan(rec.values["h"]).any()
        assert np.allclose(rec.values["h"], ref.values["h"], atol=0.05)
    text = explain(ex, "text", width=200, decimals=2)
    assert "?" not in text and "0.00, 0.00]ᵀ - 0.00) / 0.003\n" in text
    assert "s_h = sqrt(var(a_h) + ε)\n    = 0.003\n      (s is a divisor: never rounded to 0, it keeps its first significant digit)" in text
    assert "s is a divisor" not in explain(ex, "text", width=200)  # exactly, s = 0.00316 is 0.003 at 3 decimals


def test_layer_norm_by_hand_never_divides_by_an_s_rounded_to_0():
    # (the review's ln.toml) H = 2, every input weight 0 but W_ii[0][0] = 0.01, x_1 = [1, 0], h_0 = 0.
    # a_x = W_ih x_1 = [0.01, 0, 0, 0, 0, 0, 0, 0] (i, f, c~, o blocks of 2).
    # Exactly: μ_x = 0.01 / 8 = 0.00125, var = (0.00875² + 7 * 0.00125²) / 8 = 1.09375e-5,
    # s_x = sqrt(1.09375e-5 + 1e-5) = 0.0045758, n_x,i = 0.00875 / 0.0045758 = 1.9122 (unit 1);
    # n_h = 0 (a_h = 0), so i_1 = σ(1.9122) = 0.8713.
    # By hand at 2 decimals: μ_x = 0.00125 -> 0.00, var = 0.01² / 8 = 1.25e-5, s_x = sqrt(2.25e-5) = 0.00474,
    # which rounds to 0.00: kept to its first significant digit, 0.005 (it gave n_x,i = 0.01 / 0.00 = ∞ and
    # i_1 = σ(∞) = 1.00); n_x,i = 0.01 / 0.005 = 2.00, i_1 = σ(2.00) = 0.8808 -> 0.88, within 0.01 of the exact.
    W = {f"W_i{k}": [[0.0, 0.0], [0.0, 0.0]] for k in "ifco"}
    W["W_ii"] = [[0.01, 0.0], [0.0, 0.0]]
    W.update(W_hi=[[1, 0], [4, -2]], W_hf=[[-1, -2], [0, 0]], W_hc=[[-4, -8], [4, 3]], W_ho=[[1, 0], [2, 1]])
    ex = from_dict({"title": "LN edge", "weights": W, "options": {"layer_norm": True}, "inputs": {"x": [[1.0, 0.0]]}})[0]
    hand, exact = forward(ex, decimals=2).steps[0].values, forward(ex).steps[0].values
    assert float(hand["mu_x"][0]) == 0.0 and float(hand["sd_x"][0]) == 0.005 and float(hand["nx_i"][0]) == 2.0
    assert math.isclose(float(exact["nx_i"][0]), 0.00875 / math.sqrt(1.09375e-5 + 1e-5), rel_tol=1e-6)
    assert float(hand["i"][0]) == 0.88 and abs(float(exact["i"][0]) - 0.8713) < 1e-4
    text = explain(ex, "text", width=200, decimals=2)
    assert "∞" not in text and "s_x = sqrt(var(a_x) + ε)\n    = 0.005\n" in text and "- 0.00) / 0.005\n" in text
    assert "= [0.88, 0.50]ᵀ" in text  # i_1 (unit 2: n_x,i = 0 / 0.005 = 0, σ(0) = 0.5)
    table = explain(ex, "text", form="table", width=200, decimals=2)
    assert re.search(r"a_x = W_x x_1 +0\.00 +0\.005 ", table) and re.search(r"a_h = W_h h_0 +0\.00 +0\.003 ", table)


def test_concat_variant_steps_follow_seed001s_order():
    # seed 001's deck works f, i, C~, C_t, o, h_t (as the plain steps form in its notation does); a coupled
    # gate's f_t = 1 - i_t needs i_t first. Seed 000's order (i, f, o, c~) stays for its own notation.
    W = [[0.5, 0.5]]
    order = {}
    for name, opts, notation in (("clip", {"cell_clip": 5.0}, "concat"), ("cifg", {"input_forget": True}, "concat"),
                                 ("peep", {"peephole": True}, "concat"), ("seed000", {"cell_clip": 5.0}, "per_gate")):
        w = {"W_i": W, "W_f": W, "W_c": W, "W_o": W} if notation == "concat" else {
            f"W_{p}{k}": [[0.5]] for p in "ih" for k in "ifco"}
        if opts.get("peephole"):
            w.update(w_ci=[1.0], w_cf=[1.0], w_co=[1.0])
        ex = from_dict({"notation": notation, "weights": w, "inputs": {"x": [[0.3]], "h0": [0.3], "c0": [0.0]},
                        "options": opts})[0]
        text = explain(ex, "text", width=100).split("Step 1:")[1]
        order[name] = re.findall(r"^(\S+) = ", text, flags=re.M)
    assert order["clip"] == ["f_1", "i_1", "c̃_1", "c_1", "o_1", "h_1"]  # was i, f, o, c̃, c, h
    assert order["peep"] == ["f_1", "i_1", "c̃_1", "c_1", "o_1", "h_1"]
    assert order["cifg"] == ["i_1", "f_1", "c̃_1", "c_1", "o_1", "h_1"]
    assert order["seed000"] == ["i_1", "f_1", "o_1", "c̃_1", "c_1", "h_1"]
