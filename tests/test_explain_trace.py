"""The per-step record: exact numbers agree with the engine, PyTorch and hand derivations; hand
rounding reproduces seed 000's slides; BPTT agrees with finite differences."""

from __future__ import annotations

import math
import warnings

from pathlib import Path
import numpy as np
import pytest

from lstmkit import LSTM
from lstmkit.explain import backward, forward, hand_round, worked
from lstmkit.explain.worked import from_dict
from test_seeds import seed000_by_hand

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def seed000():
    return worked.load(f"{EXAMPLES}/seed000.toml")[0]


def _rand_example(seed=0, notation="concat", readout=True):
    rng = np.random.default_rng(seed)
    H, I, T = 3, 2, 4
    w = {f"W_{L}": rng.normal(size=(H, H + I)).round(2).tolist() for L in "ifco"}
    w |= {f"b_{L}": rng.normal(size=H).round(2).tolist() for L in "ifco"}
    d = {"notation": notation, "weights": w,
         "inputs": {"x": rng.normal(size=(T, I)).tolist(), "h0": rng.normal(size=H).tolist(), "c0": rng.normal(size=H).tolist()}}
    if readout:
        d["readout"] = {"W_y": rng.normal(size=(2, H)).tolist(), "b_y": [0.1, -0.2], "targets": [0, 1, 1, 0]}
    return from_dict(d)[0]


def test_hand_round_is_half_away_from_zero():
    v = np.array([0.05, 0.15, 0.25, 0.35, -0.25, 0.849, -0.851, np.nan])
    np.testing.assert_array_equal(hand_round(v, 1), [0.1, 0.2, 0.3, 0.4, -0.3, 0.8, -0.9, np.nan])
    # float32 is rounded in float32 and stays float32 (helper-208 #1; 6a2b117 had made it float64): 10 * 0.35f is
    # 3.5f exactly, a half, so 0.4 by hand, where in float64 0.35f is 0.34999999404 (0.3); 100 * 0.125f = 12.5 (0.13)
    v32 = np.array([0.35, 0.45, -0.35, 0.125], np.float32)
    got = hand_round(v32, 1)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([0.4, 0.5, -0.4, 0.1], np.float32))
    assert hand_round(v32, 2).dtype == np.float32 and hand_round(v32, 2)[3] == np.float32(0.13)
    assert hand_round(np.float32(0.35), 1) == np.float32(0.4)
    # float32 stays float32 at an int decimals from 0 to 308 only, as the docstring says (helper-218 #4): tens, by hand
    tens = hand_round(np.array([35, -45, 12.5], np.float32), -1)
    assert tens.dtype == np.float64 and tens.tolist() == [40.0, -50.0, 10.0]
    assert hand_round(v32, 12).dtype == np.float32 and hand_round(v32, 309).dtype == np.float64


def test_hand_round_keeps_a_value_with_no_digit_to_round():
    # (helper-198 D) |v| * 10**decimals beyond 1.8e308 overflowed: 1e250 at 100 decimals (the most a claim may have)
    # became inf, with a RuntimeWarning. A value that large has no digit at that place: it is itself, for any finite v.
    # So is a whole number at 0 decimals: 2**52 + 1 was read as 2**52 + 1.5, which float64 rounds to 2**52 + 2.
    big = np.array([1e250, -1e300, np.finfo(np.float64).max, 2.0**52 + 1, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for d in (0, 100, 400):  # 400: 10**400 itself is beyond float64
            got = hand_round(big, d)
            np.testing.assert_array_equal(got, big)
        np.testing.assert_array_equal(hand_round(np.array([0.25, 1e250, 0.0047]), np.array([1, 100, 3])), [0.3, 1e250, 0.005])
        assert hand_round(np.array(-0.25), 1) == -0.3 and np.ndim(hand_round(np.array(0.25), 1)) == 0


def test_exact_trace_matches_hand_derivation(seed000):
    # every pre-activation, gate, c and h of the three steps against test_seeds' scalar derivation
    # (math.exp / math.tanh on the slides' weights, unit by unit)
    for t, hand in enumerate(seed000_by_hand(), start=1):
        r = forward(seed000).steps[t - 1]
        for ours, theirs in [("z_i", "zi"), ("z_f", "zf"), ("z_o", "zo"), ("z_g", "zg"), *[(k, k) for k in "ifogch"]]:
            np.testing.assert_allclose(r[ours], hand[theirs], rtol=0, atol=1e-12, err_msg=f"{ours}_{t}")


# seed 000's slides, steps 1-2, by hand to one decimal (also the text explain writes, test_explain_render):
# step 1 i=[1.0,0.9], f=[0.1,0.9], o=[1.0,1.0], c~=[0.8,0.0], c_1 = 1.0*0.8 = [0.8, 0.0],
# h_1 = 1.0*tanh(0.8)=0.664 -> [0.7, 0.0].
# Step 2 with h_1 = [0.7, 0]: z_i = [4,2]+[0.7,2.8] = [4.7,4.8] -> [1.0,1.0]; z_f = [-2.7, 2.0] -> [0.1, 0.9];
# z_o = [5.7, 4.4] -> [1.0, 1.0]; z_c~ = [1,0]+[-2.8,2.8] = [-1.8, 2.8] -> [-0.9, 1.0];
# c_2 = 0.1*0.8 + 1.0*(-0.9) = 0.1 - 0.9 = -0.8 (0.08 rounds to 0.1), 0.9*0 + 1*1 = 1.0;
# h_2 = [tanh(-0.8), tanh(1.0)] = [-0.664, 0.762] -> [-0.7, 0.8].
SEED000_SLIDES_BY_HAND = {
    1: {"i": [1.0, 0.9], "f": [0.1, 0.9], "o": [1.0, 1.0], "g": [0.8, 0.0], "c": [0.8, 0.0], "h": [0.7, 0.0]},
    2: {"Wh_i": [0.7, 2.8], "z_i": [4.7, 4.8], "i": [1.0, 1.0], "z_f": [-2.7, 2.0], "f": [0.1, 0.9],
        "z_o": [5.7, 4.4], "o": [1.0, 1.0], "z_g": [-1.8, 2.8], "g": [-0.9, 1.0], "c": [-0.8, 1.0], "h": [-0.7, 0.8]},
}


def test_hand_mode_reproduces_seed000_slides_steps_1_and_2(seed000):
    fw = forward(seed000, decimals=1)
    for t, vals in SEED000_SLIDES_BY_HAND.items():
        for name, v in vals.items():
            np.testing.assert_allclose(fw.steps[t - 1][name], v, atol=1e-12, err_msg=f"{name}_{t}")


def test_exact_trace_equals_engine_layer_and_torch():
    torch = pytest.importorskip("torch")
    ex = _rand_example(3)
    fw = forward(ex)
    cell = ex.cell()
    lstm = LSTM(ex.input_size, ex.hidden_size, dtype=np.float64)
    sd = cell.state_dict()
    lstm.load_state_dict({f"{k}_l0": v for k, v in sd.items()})
    y, (hn, cn) = lstm(ex.x[:, None, :], (ex.h0[None, None], ex.c0[None, None]))
    H = np.stack([r["h"] for r in fw.steps])
    np.testing.assert_allclose(H, y[:, 0], atol=1e-12)
    np.testing.assert_allclose(fw.steps[-1]["c"], cn[0, 0], atol=1e-12)
    tc = torch.nn.LSTM(ex.input_size, ex.hidden_size).double()
    with torch.no_grad():
        for k, v in sd.items():
            getattr(tc, f"{k}_l0").copy_(torch.from_numpy(v))
        ty, _ = tc(torch.from_numpy(ex.x[:, None, :]), (torch.from_numpy(ex.h0[None, None].copy()), torch.from_numpy(ex.c0[None, None].copy())))
    np.testing.assert_allclose(H, ty[:, 0].numpy(), atol=1e-12)


def test_evaluator_equals_engine_step_by_step():
    # the readable per-quantity evaluation (used for hand mode) and the engine's LSTMCell.step agree
    ex = _rand_example(5)
    exact = forward(ex)
    general = forward(ex, substitute={(1, "x"): np.full(ex.input_size, np.nan)})  # forces the evaluator path
    for a, b in zip(exact.steps, general.steps):
        for name in ("z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "c", "tanh_c", "h", "y"):
            np.testing.assert_allclose(a[name], b[name], atol=1e-12)
        np.testing.assert_allclose(a["Wxh_f"] + ex.gates["f"].b, a["z_f"], atol=1e-12)
        np.testing.assert_allclose(a["fc"] + a["ig"], a["c"], atol=1e-12)


def _loss(ex, loss):
    return backward(ex, loss).loss


def _with(ex, **changes):
    from dataclasses import replace

    return replace(ex, **changes)


@pytest.mark.parametrize("loss", ["xent", "sum_h"])
def test_bptt_matches_finite_differences(loss):
    ex = _rand_example(1)
    bw = backward(ex, loss)
    eps = 1e-6
    from lstmkit.explain.worked import _gates_from

    for name, g in bw.param_grads.items():
        if name in ("W_y", "b_y"):
            continue
        base = ex.weights[name]
        num = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for s in (+eps, -eps):
                w = {k: v.copy() for k, v in ex.weights.items()}
                w[name][idx] += s
                e2 = _with(ex, weights=w, gates=_gates_from(ex.notation, w, ex.hidden_size, ex.input_size, ""))
                vals.append(_loss(e2, loss))
            num[idx] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(g, num, atol=1e-6, err_msg=name)
    for attr, got in (("h0", bw.dh0), ("c0", bw.dc0)):
        num = np.zeros(ex.hidden_size)
        for j in range(ex.hidden_size):
            vals = []
            for s in (+eps, -eps):
                v = getattr(ex, attr).copy()
                v[j] += s
                vals.append(_loss(_with(ex, **{attr: v}), loss))
            num[j] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(got, num, atol=1e-6, err_msg=attr)


def test_bptt_by_hand_one_unit():
    # One unit, one step, h0 = c0 = 0, loss L = h_1. With x = 1 and only input weights
    # (f: 0.5, c~: 1.0, i: -0.5, o: 2.0): c = σ(-0.5) tanh(1), h = σ(2) tanh(c).
    # dL/dBias4 (output gate) = tanh(c) σ(2)(1-σ(2));
    # dL/dBias3 (input gate)  = σ(2)(1 - tanh²c) tanh(1) σ(-0.5)(1-σ(-0.5));
    # dL/dBias1 (forget gate) = 0 because c_0 = 0.
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    ex = from_dict({"notation": "unit", "weights": {"Wi1": 0.5, "Wi2": 1.0, "Wi3": -0.5, "Wi4": 2.0,
                                                     "Ws1": 0, "Ws2": 0, "Ws3": 0, "Ws4": 0}, "inputs": {"x": [1.0]}})[0]
    bw = backward(ex, "sum_h")
    c = s(-0.5) * math.tanh(1)
    assert bw.loss == pytest.approx(s(2) * math.tanh(c), abs=1e-14)
    assert bw.param_grads["Bias4"][0] == pytest.approx(math.tanh(c) * s(2) * (1 - s(2)), abs=1e-14)
    assert bw.param_grads["Bias3"][0] == pytest.approx(s(2) * (1 - math.tanh(c) ** 2) * math.tanh(1) * s(-0.5) * (1 - s(-0.5)), abs=1e-14)
    assert bw.param_grads["Bias1"][0] == 0.0


def test_backward_needs_every_gate():
    ex = worked.load(f"{EXAMPLES}/seed001.toml")[0]
    with pytest.raises(ValueError, match="expected weights for all four gates"):
        backward(ex, "sum_h")
    with pytest.raises(ValueError, match="a \\[readout\\] with targets"):
        backward(_rand_example(0, readout=False), "xent")


def test_given_values_fill_what_cannot_be_computed():
    ex = worked.load(f"{EXAMPLES}/seed001.toml")[0]
    r = forward(ex).steps[0]
    # o = σ(Wxh_o + b_o) from the stated product: σ(0.236 + 0.005) = σ(0.241)
    assert r["o"][0] == pytest.approx(1 / (1 + math.exp(-0.241)))
    assert r.source["Wxh_o"] == "given" and r.source["c"] == "given" and np.isnan(r["i"]).all()


def test_concat_notation_rounds_the_product_once_by_hand():
    # W_f·[h_0, x_1] = 1 * 0.04 + 1 * 0.04 = 0.08 -> 0.1 at one decimal, as a person computes it; the
    # two halves rounded apart (0.0 + 0.0) would give 0.0
    ex = from_dict({"notation": "concat", "weights": {f"W_{k}": [[1.0, 1.0]] for k in "ifco"},
                    "inputs": {"x": [[0.04]], "h0": [0.04]}})[0]
    assert forward(ex, decimals=1).steps[0].values["Wxh_f"][0] == 0.1


def test_hand_mode_shows_a_bias_as_written():
    # b_f = 0.05 is data, not an intermediate: at --round 1 the sum reads [-0.1] + [0.05], not [0.1]
    from lstmkit.explain import explain

    ex = from_dict({"notation": "concat", "weights": {"W_f": [[1.0, 1.0]], "b_f": [0.05], "W_i": [[0.0, 0.0]],
                    "W_c": [[0.0, 0.0]], "W_o": [[0.0, 0.0]]}, "inputs": {"x": [[-0.13]]}})[0]
    text = explain(ex, decimals=1, width=200)
    assert "σ([-0.1]ᵀ + [0.05]ᵀ)" in text and "[0.1]ᵀ)" not in text.split("f_1")[1].split("o_1")[0]
    # two biases of a gate (seed 000's notation) are shown with their sum
    two = from_dict({"weights": {"W_ii": [[1.0]], "W_hi": [[1.0]], "b_ii": [0.1], "b_hi": [0.05]}, "inputs": {"x": [[1.0]]}})[0]
    assert "b_i = b_ii + b_hi" in explain(two, width=200)


def test_a_divisor_keeps_its_first_significant_digit_at_one_place_by_hand_and_in_the_text():
    # first_place(v) = -floor(log10 |v|), the place of v's first significant digit: 0.0047 = 4.7e-3 -> 3.
    # trace.divisor rounds s to it where s would round to 0 (0.00474 -> 0.00 at 2 decimals -> 0.005),
    # build.fdivisor writes a value below 0.01 with as many decimals. By hand the explanation writes
    # fdivisor(divisor(s)) (trace puts divisor's value, build writes it): the text shows the number the
    # hand computation divides by, every digit of it, never 0.00, never rounded again
    from lstmkit.explain.build import fdivisor
    from lstmkit.explain.trace import divisor, first_place

    assert first_place(np.array([0.0047, 0.25, 4.7, 47.0])).tolist() == [3, 1, 0, -1]
    assert not np.isfinite(first_place(np.array([0.0, np.inf, np.nan]))).any()
    s = np.array([0.00474, 0.00316, 0.0072, 0.25])
    # by hand, at 2 decimals: 0.00474 -> 0.00, so its first digit, at place 3: 0.005; 0.00316 -> 0.003;
    # 0.0072 -> 0.01 (not 0: its second decimal kept); 0.25 as it is
    used = divisor(s, 2)
    assert used.tolist() == [0.005, 0.003, 0.01, 0.25]
    shown = [fdivisor(v, 2) for v in used]
    assert shown == ["0.005", "0.003", "0.01", "0.25"]
    assert [float(t) for t in shown] == used.tolist()  # the text is the number used
