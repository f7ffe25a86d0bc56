"""LSTM variants: finite-difference gradient checks over the option grid, the plain path unchanged,
regulariser semantics (masks), and the readable cell against the fused layer.

Gradients are checked against centred finite differences in float64 on a random projection of
every output and final state, L = Σ y ⊙ w_y + Σ h_n ⊙ w_h + Σ c_n ⊙ w_c (Karpathy's
``checkBatchGradient``), in training mode with the masks fixed by re-seeding ``dropout_rng``
before every forward (the differences' forwards run under ``no_grad``, which keeps the mode and
its masks and only drops the cache; Problem.analytic checks they give the training forward's L).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import assert_close, rel_error

from lstmkit import LSTM, LSTMCell, LSTMVariant
from lstmkit.activations import DEFAULTS, get_activation
from lstmkit.variants import LSTMVariant, layer_norm_backward, layer_norm_forward

FD_EPS = 1e-5
MAX_REL_ERR = 1e-6
REL_FLOOR = 1e-3  # where |a| + |n| < floor, |a - n| / floor: float64 differences are good to ~1e-10 absolute
MASK_SEED = 1234


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
class Problem:
    """A model, inputs and a random projection of its outputs, with fixed masks."""

    def __init__(self, model, T=5, B=3, lengths=None, with_hx=True, seed=0):
        rng = np.random.default_rng(seed)
        self.model = model
        L, D, H, P = model.num_layers, model.num_directions, model.hidden_size, model.output_size
        self.x = rng.normal(size=(T, B, model.input_size))
        self.hx = (rng.normal(size=(L * D, B, P)) * 0.5, rng.normal(size=(L * D, B, H)) * 0.5) if with_hx else None
        self.lengths = lengths
        self.wy = rng.normal(size=(T, B, D * P))
        self.wh = rng.normal(size=(L * D, B, P))
        self.wc = rng.normal(size=(L * D, B, H))

    def forward(self):
        self.model.dropout_rng = np.random.default_rng(MASK_SEED)  # the same masks every time
        return self.model(self.x, self.hx, self.lengths)

    def loss(self):
        """L, from a forward that keeps no cache (no_grad keeps the mode: the masks are drawn, and the
        same, as in the training forward; analytic() checks the two give the same L)."""
        with self.model.no_grad():
            y, (h, c) = self.forward()
        return self.project(y, h, c)

    def project(self, y, h, c):
        return float((y * self.wy).sum() + (h * self.wh).sum() + (c * self.wc).sum())

    def analytic(self):
        """dL/dx, dL/dh0, dL/dc0 and dL/dθ from the hand-written backward."""
        fd_function = self.loss()  # before the training forward: a no_grad forward drops its cache
        y, (h, c) = self.forward()
        assert self.project(y, h, c) == fd_function, "no_grad's forward is another function than training's"
        self.model.zero_grad()
        dx, (dh0, dc0) = self.model.backward(self.wy, (self.wh, self.wc))
        grads = {k: v.copy() for k, v in self.model.grads.items()}
        return dx, dh0, dc0, grads

    def fd_check(self, per_tensor=1, seed=0):
        """Largest relative error between backward and central differences, over sampled entries
        of every parameter and of x, h0, c0, and one random direction per tensor. The direction is
        normal in every entry, so it checks every entry of the gradient at once (a wrong entry moves
        <g, v>); the sampled entries only say which tensor is wrong when one is."""
        rng = np.random.default_rng(seed)
        dx, dh0, dc0, grads = self.analytic()
        targets = [("x", self.x, dx)]
        if self.hx is not None:
            targets += [("h0", self.hx[0], dh0), ("c0", self.hx[1], dc0)]
        params = self.model.parameters()
        targets += [(k, params[k], grads[k]) for k in params]
        worst = {}
        for name, arr, g in targets:
            flat = rng.choice(arr.size, size=min(per_tensor, arr.size), replace=False)
            num, ana = [], []
            directions = []
            for j in flat:
                v = np.zeros(arr.shape)
                v[np.unravel_index(int(j), arr.shape)] = 1.0
                directions.append(v)
            directions.append(rng.normal(size=arr.shape))  # and one random direction through it all
            errors = []
            for v in directions:
                analytic = float((g * v).sum())  # <g, v> = d/dε L(θ + ε v)
                err = rel_error(analytic, self.directional_difference(arr, v, FD_EPS), REL_FLOOR)
                for eps in (FD_EPS / 10, FD_EPS / 100):  # a stencil may straddle a kink (clip, relu):
                    if err <= MAX_REL_ERR:  # smaller steps step off it
                        break
                    err = min(err, rel_error(analytic, self.directional_difference(arr, v, eps), REL_FLOOR))
                errors.append(err)
            worst[name] = max(errors)
        return worst

    def directional_difference(self, arr, v, eps):
        """d/dε L(arr + ε v) at 0 by the fourth-order central difference
        (8 (L(+ε) - L(-ε)) - (L(+2ε) - L(-2ε))) / 12ε; arr is restored afterwards."""
        old = arr.copy()
        values = {}
        for k in (-2, -1, 1, 2):
            arr[...] = old + k * eps * v
            values[k] = self.loss()
        arr[...] = old
        return (8 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12 * eps)


def lstm64(**kw):
    kw.setdefault("seed", 0)
    return LSTM(3, 4, dtype=np.float64, **kw)


# ------------------------------------------------------------------------------------------------
# the option grid
# ------------------------------------------------------------------------------------------------
OPTIONS = {
    "peephole": dict(peephole=True),
    "input_forget": dict(input_forget=True),
    "gate_clip": dict(gate_clip=0.6),  # small enough that many pre-activations are clipped
    "cell_clip": dict(cell_clip=0.25),
    "act_hard_relu_softsign": dict(activations=("hard_sigmoid", "relu", "softsign")),
    "act_scaled_elu_softplus": dict(activations=(("scaled_tanh", 0.5, 1.5), ("elu", 0.7), "softplus")),
    "act_leaky_affine_thresh": dict(activations=(("leaky_relu", 0.1), ("affine", 0.8, 0.1), ("thresholded_relu", 0.05))),
    "layer_norm": dict(layer_norm=True),
    "dropout_input": dict(dropout_input=0.4),
    "dropout_recurrent": dict(dropout_recurrent=0.4),
    "zoneout": dict(zoneout_cell=0.3, zoneout_hidden=0.4),
    "dropconnect": dict(dropconnect=0.3),
    "peephole+input_forget+gate_clip": dict(peephole=True, input_forget=True, gate_clip=0.8),
    "peephole+cell_clip+layer_norm": dict(peephole=True, cell_clip=0.3, layer_norm=True),
    "everything": dict(
        peephole=True,
        input_forget=True,
        gate_clip=1.5,
        cell_clip=0.9,
        activations=(("hard_sigmoid", 0.25, 0.5), "tanh", ("scaled_tanh", 1.2, 0.9)),
        layer_norm=True,
        dropout_input=0.3,
        dropout_recurrent=0.3,
        zoneout_cell=0.2,
        zoneout_hidden=0.2,
        dropconnect=0.2,
    ),
}

STRUCTURES = {
    "1layer": dict(),
    "2layers_bidir_proj_lengths": dict(num_layers=2, bidirectional=True, proj_size=3, dropout=0.3),
    "proj_lengths": dict(proj_size=3),
    "bidir_nobias": dict(bidirectional=True, bias=False),
}
LENGTHS = {"1layer": None, "2layers_bidir_proj_lengths": [5, 2, 4], "proj_lengths": [3, 5, 1], "bidir_nobias": None}
GRID = [(o, s) for o in OPTIONS for s in ("1layer", "2layers_bidir_proj_lengths")]
GRID += [(o, s) for o in ("everything", "layer_norm", "zoneout", "peephole") for s in ("proj_lengths", "bidir_nobias")]


@pytest.mark.parametrize("option,structure", GRID, ids=[f"{o}-{s}" for o, s in GRID])
def test_gradients_match_finite_differences(option, structure):
    model = lstm64(**OPTIONS[option], **STRUCTURES[structure])
    prob = Problem(model, lengths=LENGTHS[structure])
    worst = prob.fd_check()
    bad = {k: v for k, v in worst.items() if v > MAX_REL_ERR}
    assert not bad, f"relative errors above {MAX_REL_ERR}: {bad}"


@pytest.mark.parametrize("option", ["zoneout", "everything"])
def test_gradients_in_eval_mode(option):
    """Eval mode: dropouts off, zoneout uses its expectation d = z; backward still exact."""
    model = lstm64(**OPTIONS[option], num_layers=2, proj_size=2).eval()
    worst = Problem(model, lengths=[5, 3, 4]).fd_check()
    assert max(worst.values()) <= MAX_REL_ERR, worst


# ------------------------------------------------------------------------------------------------
# the plain path is untouched; the variant kernel with no option is the plain LSTM
# ------------------------------------------------------------------------------------------------
def test_plain_lstm_keeps_the_plain_kernel_and_its_weights():
    plain = LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, seed=7)
    assert plain.variant.is_plain
    assert list(plain.state_dict()) == [k for k in plain.state_dict() if "ln_" not in k and "weight_c" not in k]
    peep = LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, seed=7, peephole=True, layer_norm=True)
    for k, v in plain.state_dict().items():  # a seed gives the same plain weights with or without variants
        np.testing.assert_array_equal(peep.state_dict()[k], v)


@pytest.mark.parametrize("structure", ["1layer", "2layers_bidir_proj_lengths", "bidir_nobias"])
def test_variant_kernel_without_options_equals_plain_kernel(structure, monkeypatch):
    """Force the variant kernel with every option off: same outputs and gradients to round-off."""
    kw = {k: v for k, v in STRUCTURES[structure].items() if k != "dropout"}
    plain = lstm64(**kw)
    forced = lstm64(**kw)
    monkeypatch.setattr(type(forced.variant), "is_plain", property(lambda self: False))
    results = []
    for model in (plain, forced):
        prob = Problem(model, lengths=LENGTHS[structure])
        y, (h, c) = prob.forward()
        dx, dh0, dc0, grads = prob.analytic()
        results.append((y, h, c, dx, dh0, dc0, grads))
    for a, b, name in zip(results[0][:6], results[1][:6], ("y", "h_n", "c_n", "dx", "dh0", "dc0")):
        assert_close(b, a, 1e-13, name=name)
    for k in results[0][6]:
        assert_close(results[1][6][k], results[0][6][k], 1e-13, name=k)


# ------------------------------------------------------------------------------------------------
# the readable cell and the fused layer agree, for every cell option
# ------------------------------------------------------------------------------------------------
CELL_OPTIONS = {k: v for k, v in OPTIONS.items() if not any(r in v for r in ("dropout_input", "dropout_recurrent", "zoneout_cell", "dropconnect"))}


def _cell_twin(layer):
    v = layer.variant
    cell = LSTMCell(
        layer.input_size, layer.hidden_size, bias=layer.bias, dtype=np.float64, seed=0,
        peephole=v.peephole, input_forget=v.input_forget, gate_clip=v.gate_clip, cell_clip=v.cell_clip,
        activations=v.activations, layer_norm=v.layer_norm,
    )  # fmt: skip
    cell.load_state_dict({k.removesuffix("_l0"): a for k, a in layer.state_dict().items()})
    return cell


@pytest.mark.parametrize("option", list(CELL_OPTIONS))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_steps_equal_the_layer_forward_and_backward(option, bias):
    layer = lstm64(**CELL_OPTIONS[option], bias=bias)
    cell = _cell_twin(layer)
    prob = Problem(layer, T=6, B=3, seed=3)
    y, (h_n, c_n) = prob.forward()
    dx, dh0, dc0, grads = prob.analytic()
    # the cell, step by step
    h, c = prob.hx[0][0], prob.hx[1][0]
    states = []
    for t in range(6):
        states.append((h, c))
        h, c = cell(prob.x[t], (h, c))
        assert_close(h, y[t], 1e-13, name=f"h_{t}")
    assert_close(h, h_n[0], 1e-13, name="h_n")
    assert_close(c, c_n[0], 1e-13, name="c_n")
    # back-propagation through time with the cell, one step at a time
    cell.zero_grad()
    dh_next, dc_next = prob.wh[0], prob.wc[0]
    dxs = np.empty_like(prob.x)
    for t in reversed(range(6)):
        cell(prob.x[t], states[t])  # re-run step t to give backward its cache
        dxs[t], (dh_next, dc_next) = cell.backward(prob.wy[t] + dh_next, dc_next)
    assert_close(dxs, dx, 1e-12, name="dx")
    assert_close(dh_next, dh0[0], 1e-12, name="dh0")
    assert_close(dc_next, dc0[0], 1e-12, name="dc0")
    for k, g in cell.grads.items():
        assert_close(g, grads[f"{k}_l0"], 1e-12, name=k)


def test_cell_step_shows_the_extra_terms():
    cell = LSTMCell(2, 3, dtype=np.float64, seed=1, peephole=True, cell_clip=0.1, layer_norm=True)
    x, h0, c0 = np.array([[1.0, -2.0]]), np.array([[0.1, 0.2, 0.3]]), np.array([[0.5, -0.4, 0.2]])
    s = cell.step(x, (h0, c0))
    np.testing.assert_allclose(s.peephole_i, cell.weight_ci * c0)
    np.testing.assert_allclose(s.peephole_f, cell.weight_cf * c0)
    np.testing.assert_allclose(s.peephole_o, cell.weight_co * s.c)  # o sees c_t
    np.testing.assert_allclose(s.c, np.clip(s.c_unclipped, -0.1, 0.1))
    np.testing.assert_allclose(s.c_unclipped, s.f * c0 + s.i * s.g)
    # LN of c_t (H = 3 units), written out: (c - mean) / sqrt(var + 1e-5), gain 1, shift 0
    cn = (s.c - s.c.mean()) / np.sqrt(s.c.var() + 1e-5)
    np.testing.assert_allclose(s.c_norm, cn)
    np.testing.assert_allclose(s.h, s.o * np.tanh(cn))
    plain = LSTMCell(2, 3, seed=1).step(x[0])
    assert plain.peephole_i is None and plain.c_norm is None and plain.c_unclipped is None


# ------------------------------------------------------------------------------------------------
# regularisers: masks, their semantics and determinism
# ------------------------------------------------------------------------------------------------
def _eval_twin(model, **overrides):
    """Same weights, no regulariser, eval mode (plus any option overrides)."""
    v = model.variant
    kept = dict(peephole=v.peephole, input_forget=v.input_forget, gate_clip=v.gate_clip, cell_clip=v.cell_clip,
                activations=v.activations, layer_norm=v.layer_norm)  # fmt: skip
    kept.update(overrides)
    twin = LSTM(model.input_size, model.hidden_size, model.num_layers, model.bias, proj_size=model.proj_size,
                bidirectional=model.bidirectional, dtype=model.dtype, **kept)  # fmt: skip
    twin.load_state_dict(model.state_dict(), strict=False)
    return twin.eval()


def _data(T=7, B=4, I=3, seed=5):
    return np.random.default_rng(seed).normal(size=(T, B, I))


def test_variational_input_dropout_is_one_mask_per_sequence_for_every_step():
    p = 0.5
    model = lstm64(dropout_input=p, peephole=True)
    x = _data()
    y, (h, c) = model(x)
    m = model.last_masks["l0"].x
    assert m.shape == (4, 3)  # (B, I): one mask per sequence, no time axis
    assert set(np.unique(m)) <= {0.0, 1 / (1 - p)}  # inverted dropout: kept units scaled by 1/(1-p)
    # the training output is the eval output of x_t ⊙ m at every step t
    y_ref, (h_ref, c_ref) = _eval_twin(model)(x * m[None])
    assert_close(y, y_ref, 1e-14, name="y")
    assert_close(c, c_ref, 1e-14, name="c_n")
    # a dropped input unit of a sequence has no influence on that sequence at any step
    dx, _ = model.backward(np.ones_like(y))
    assert np.all(dx[:, m == 0] == 0)
    assert np.all(dx[:, m != 0] != 0)


def test_variational_recurrent_dropout_masks_h_in_the_recurrent_product_only():
    p = 0.4
    model = lstm64(dropout_recurrent=p, proj_size=2)
    x = _data()
    y, (h_n, c_n) = model(x)
    m = model.last_masks["l0"].h
    assert m.shape == (4, 2)  # (B, P)
    assert set(np.unique(m)) <= {0.0, 1 / (1 - p)}
    # reference, written from the definition: z = W_ih x_t + W_hh (h_{t-1} ⊙ m) + b, the state h is not masked
    W_ih, W_hh, W_hr = model.weight_ih_l0, model.weight_hh_l0, model.weight_hr_l0
    b = model.bias_ih_l0 + model.bias_hh_l0
    H = 4
    h, c = np.zeros((4, 2)), np.zeros((4, 4))
    for t in range(7):
        z = x[t] @ W_ih.T + (h * m) @ W_hh.T + b
        i, f, g, o = 1 / (1 + np.exp(-z[:, :H])), 1 / (1 + np.exp(-z[:, H : 2 * H])), np.tanh(z[:, 2 * H : 3 * H]), 1 / (1 + np.exp(-z[:, 3 * H :]))
        c = f * c + i * g
        h = (o * np.tanh(c)) @ W_hr.T
        assert_close(y[t], h, 1e-14, name=f"y_{t}")
    assert_close(c_n[0], c, 1e-14, name="c_n")


def test_zoneout_mixes_old_and_new_states_with_a_fresh_mask_every_step():
    zc, zh = 0.3, 0.6
    model = lstm64(zoneout_cell=zc, zoneout_hidden=zh)
    x = _data()
    y, (h_n, c_n) = model(x)
    d_c, d_h = model.last_masks["l0"].zc, model.last_masks["l0"].zh
    assert d_c.shape == (7, 4, 4) and d_h.shape == (7, 4, 4)  # (T, B, H): per step
    assert set(np.unique(d_c)) <= {0.0, 1.0}
    assert not all(np.array_equal(d_c[0], d_c[t]) for t in range(1, 7))  # not one mask for all steps
    cell = _cell_twin(_eval_twin(model))
    for mode in ("train", "eval"):
        h, c = np.zeros((4, 4)), np.zeros((4, 4))
        dc_, dh_ = (d_c, d_h) if mode == "train" else (np.full((7, 4, 4), zc), np.full((7, 4, 4), zh))
        if mode == "eval":
            y, (h_n, c_n) = model.eval()(x)
        for t in range(7):
            h_new, c_new = cell(x[t], (h, c))  # the cell without zoneout: h', c'
            c = dc_[t] * c + (1 - dc_[t]) * c_new  # c_t = d_c c_{t-1} + (1 - d_c) c'
            h = dh_[t] * h + (1 - dh_[t]) * h_new  # h_t = d_h h_{t-1} + (1 - d_h) h'  (eval: d = z)
            assert_close(y[t], h, 1e-14, name=f"{mode} y_{t}")
        assert_close(c_n[0], c, 1e-14, name=f"{mode} c_n")


def test_dropconnect_masks_the_recurrent_weights_once_per_forward():
    p = 0.5
    model = lstm64(dropconnect=p, num_layers=2)
    x = _data()
    y, _ = model(x)
    masks = {k: model.last_masks[k].W_hh for k in ("l0", "l1")}
    assert masks["l0"].shape == (16, 4)  # one mask per weight, shared by the batch and every step
    twin = _eval_twin(model)
    for k, m in masks.items():
        twin.parameters()[f"weight_hh_{k}"][...] *= m
    assert_close(y, twin(x)[0], 1e-14, name="y")
    y2, _ = model(x)  # the next forward draws new masks
    assert not np.array_equal(model.last_masks["l0"].W_hh, masks["l0"])
    # dL/dW_hh is zero exactly where the weight was dropped
    model.zero_grad()
    model.backward(np.ones_like(y2))
    dropped = model.last_masks["l0"].W_hh == 0
    assert np.all(model.grads["weight_hh_l0"][dropped] == 0) and np.all(model.grads["weight_hh_l0"][~dropped] != 0)


REGULARISERS = dict(dropout_input=0.3, dropout_recurrent=0.3, zoneout_cell=0.2, zoneout_hidden=0.2, dropconnect=0.3)


def test_masks_are_deterministic_given_the_seed_and_drawn_in_training_only():
    x = _data(B=5)
    a = LSTM(3, 4, num_layers=2, bidirectional=True, seed=11, **REGULARISERS)
    b = LSTM(3, 4, num_layers=2, bidirectional=True, seed=11, **REGULARISERS)
    ya1, ya2 = a(x)[0], a(x)[0]
    yb1, yb2 = b(x)[0], b(x)[0]
    np.testing.assert_array_equal(ya1, yb1)  # same seed, same masks
    np.testing.assert_array_equal(ya2, yb2)
    assert not np.array_equal(ya1, ya2)  # each forward draws new masks
    assert set(a.last_masks) == {"l0", "l0_reverse", "l1", "l1_reverse"}
    assert not np.array_equal(a.last_masks["l0"].x, a.last_masks["l0_reverse"].x)  # each direction its own
    a.eval()
    e1, e2 = a(x)[0], a(x)[0]
    np.testing.assert_array_equal(e1, e2)  # eval: no randomness
    m = a.last_masks["l0"]
    assert m.x is None and m.h is None and m.W_hh is None and m.zc == 0.2 and m.zh == 0.2


def test_dropouts_are_identity_in_eval_mode():
    x = _data()
    model = lstm64(num_layers=2, dropout_input=0.5, dropout_recurrent=0.5, dropconnect=0.5).eval()
    plain = LSTM(3, 4, num_layers=2, dtype=np.float64, seed=0).eval()
    plain.backend = "numpy"  # the variant kernel is the reference path too: compare like with like
    assert_close(model(x)[0], plain(x)[0], 0.0, name="y")


@pytest.mark.parametrize("name,rate", [("dropout_input", 0.3), ("dropout_recurrent", 0.6), ("dropconnect", 0.25), ("zoneout_cell", 0.15), ("zoneout_hidden", 0.7)])
def test_mask_rates(name, rate):
    model = LSTM(8, 16, seed=3, **{name: rate})
    model(np.zeros((5, 500, 8), dtype=np.float32))
    m = model.last_masks["l0"]
    arr = {"dropout_input": m.x, "dropout_recurrent": m.h, "dropconnect": m.W_hh, "zoneout_cell": m.zc, "zoneout_hidden": m.zh}[name]
    frac = float((arr == 0).mean()) if not name.startswith("zoneout") else float(arr.mean())
    assert abs(frac - rate) < 4 * np.sqrt(rate * (1 - rate) / arr.size) + 1e-3, (frac, rate)


# ------------------------------------------------------------------------------------------------
# layer norm and activations, one by one
# ------------------------------------------------------------------------------------------------
def test_layer_norm_forward_matches_torch_and_backward_matches_finite_differences():
    import torch

    rng = np.random.default_rng(0)
    a, gain, bias = rng.normal(size=(3, 5, 8)), rng.normal(size=8), rng.normal(size=8)
    n, cache = layer_norm_forward(a, gain, bias)
    ref = torch.nn.functional.layer_norm(torch.tensor(a), (8,), torch.tensor(gain), torch.tensor(bias), eps=1e-5)
    assert_close(n, ref.numpy(), 1e-14, name="LN")
    w = rng.normal(size=n.shape)
    da, dg, db = layer_norm_backward(w, gain, cache)
    for arr, grad in ((a, da), (gain, dg), (bias, db)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + 1e-6
            lp = (layer_norm_forward(a, gain, bias)[0] * w).sum()
            arr[idx] = old - 1e-6
            lm = (layer_norm_forward(a, gain, bias)[0] * w).sum()
            arr[idx] = old
            num[idx] = (lp - lm) / 2e-6
        assert rel_error(grad, num, REL_FLOOR) < MAX_REL_ERR


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_activation_derivatives_match_finite_differences(name):
    act = get_activation(name)
    z = np.linspace(-3.1, 3.3, 41)
    z = z[np.abs(z - (act.alpha or 0)) > 1e-3]  # keep off thresholded_relu's jump
    if name == "hard_sigmoid":
        z = z[(np.abs(z - 2.5) > 1e-3) & (np.abs(z + 2.5) > 1e-3)]
    num = (act(z + 1e-6) - act(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.grad(z, act(z)), num, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------------------------
# options: validation, attributes, modes
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options,exc,words",
    [
        (dict(gate_clip=-1.0), ValueError, "LSTM: expected gate_clip None or a finite number > 0, got -1.0"),
        (dict(cell_clip=float("inf")), ValueError, "expected cell_clip None or a finite number > 0, got inf"),
        (dict(cell_clip="1"), TypeError, "expected cell_clip None or a finite number > 0, got '1'"),
        (dict(gate_clip=True), TypeError, "expected gate_clip None or a finite number > 0, got True"),  # as the gradient's clip
        (dict(zoneout_cell=1.0), ValueError, "expected zoneout_cell a finite number in [0, 1), got 1.0"),
        (dict(dropout_input=-0.1), ValueError, "expected dropout_input a finite number in [0, 1), got -0.1"),
        (dict(zoneout_hidden=float("nan")), ValueError, "expected zoneout_hidden a finite number in [0, 1), got nan"),
        (dict(dropconnect=True), TypeError, "expected dropconnect a finite number in [0, 1), got True"),
        (dict(dropout_recurrent="0.1"), TypeError, "expected dropout_recurrent a finite number in [0, 1), got '0.1'"),
        (dict(activations=("sigmoid", "tanh")), ValueError, "expected activations a sequence of 3 activations (f, g, h)"),
        (dict(activations="tanh"), ValueError, "expected activations a sequence of 3 activations"),
        (dict(activations=("sigmoid", "swish", "tanh")), ValueError, "expected activations[1] one of ["),
        (dict(activations=(("elu", 1.0, 2.0), "tanh", "tanh")), ValueError, "expected activations[0] at most 1 parameter for 'elu'"),
        (dict(activations=(("affine", "a"), "tanh", "tanh")), TypeError, "expected activations[0] alpha a finite number"),
        (dict(activations=(3, "tanh", "tanh")), TypeError, "expected activations[0] a name or (name, alpha[, beta]), got 3"),
    ],
)
def test_bad_options_are_refused_by_name(options, exc, words):
    with pytest.raises(exc) as info:
        LSTM(3, 4, **options)
    assert words in str(info.value)


def test_cell_refuses_bad_options_by_name():
    with pytest.raises(ValueError, match=r"LSTMCell: expected gate_clip"):
        LSTMCell(3, 4, gate_clip=0.0)
    with pytest.raises(TypeError):
        LSTMCell(3, 4, zoneout_cell=0.1)  # a sequence regulariser: LSTM only


def test_options_read_as_attributes_and_activation_names_normalise():
    model = LSTM(3, 4, peephole=True, activations=("HardSigmoid", "Tanh", ("LeakyRelu", 0.2)), zoneout_hidden=0.1)
    assert model.peephole and not model.input_forget and model.zoneout_hidden == 0.1
    assert model.activations == ("hard_sigmoid", "tanh", ("leaky_relu", 0.2))
    assert LSTMVariant.checked(**model.variant.changed()) == model.variant  # the changed options rebuild it
    assert "peephole=True" in repr(model) and "zoneout_hidden=0.1" in repr(model)
    assert LSTM(3, 4).variant.changed() == {}


def test_variants_run_in_float32_unbatched_batch_first_and_no_grad():
    options = OPTIONS["everything"]
    m64 = LSTM(3, 4, num_layers=2, dtype=np.float64, seed=0, **options).eval()
    m32 = LSTM(3, 4, num_layers=2, dtype=np.float32, seed=0, batch_first=True, **options).eval()
    x = _data(T=6, B=2)
    y64, (h64, c64) = m64(x)
    y32, (h32, c32) = m32(x.transpose(1, 0, 2).astype(np.float32))
    assert y32.dtype == h32.dtype == c32.dtype == np.float32
    assert_close(y32.transpose(1, 0, 2), y64, 1e-5, name="float32 vs float64")
    with m64.no_grad():
        y_ng, _ = m64(x)
    assert_close(y_ng, y64, 0.0, name="no_grad")
    y1, (h1, c1) = m64(x[:, 1])  # unbatched (T, I)
    assert_close(y1, y64[:, 1], 1e-15, name="unbatched")
    m32.train()
    y, _ = m32(x.transpose(1, 0, 2).astype(np.float32))
    dx, (dh0, dc0) = m32.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in m32.grads.values())


def test_draw_masks_takes_a_dtype_as_the_constructors_do():
    """numpy.float32 (a type, as LSTM(dtype=numpy.float32) is given) crashed with AttributeError
    ('type object has no attribute type'); any form of float32/float64 is taken, the masks are
    the same, and another dtype is refused naming it."""
    from lstmkit.variants import draw_masks

    opts = LSTMVariant(dropout_input=0.5, dropout_recurrent=0.25, dropconnect=0.5, zoneout_cell=0.5, zoneout_hidden=0.5)
    T, B, I, H, P = 3, 2, 4, 5, 5
    first = None
    for dtype in (np.float32, "float32", np.dtype(np.float32), np.float64):
        m = draw_masks(opts, np.random.default_rng(7), True, T, B, I, H, P, dtype)
        assert (m.x.shape, m.h.shape, m.W_hh.shape, m.zc.shape, m.zh.shape) == ((B, I), (B, P), (4 * H, P), (T, B, H), (T, B, P))
        assert all(a.dtype == np.dtype(dtype) for a in (m.x, m.h, m.W_hh, m.zc, m.zh))
        for a, keep in ((m.x, 2.0), (m.h, 1 / 0.75), (m.W_hh, 2.0), (m.zc, 1.0), (m.zh, 1.0)):
            assert np.all((a == 0) | np.isclose(a, keep, rtol=1e-6))  # Bernoulli(1-p)/(1-p); zoneout's d in {0, 1}
        if first is None:
            first = m
        for a, b in zip((m.x, m.h, m.W_hh, m.zc, m.zh), (first.x, first.h, first.W_hh, first.zc, first.zh)):
            np.testing.assert_array_equal(a != 0, b != 0)  # the same draws whatever the dtype's form
    with pytest.raises(TypeError, match=r"^draw_masks: expected dtype numpy.float32 or numpy.float64, got <class 'numpy.int32'>\.$"):
        draw_masks(opts, np.random.default_rng(7), True, T, B, I, H, P, np.int32)


def test_the_clip_and_its_derivative_are_functional_s():
    # the gate clip that variants and cell share, public in lstmkit.functional (cell imported variants'
    # private _clipped and _inside). By hand, clip 2: -3 -> -2 (outside: derivative 0), the bound
    # itself -2 and 2 kept (derivative 1, |z| <= clip), 0.5 kept; no clip (None): z itself, derivative 1
    from lstmkit.functional import clipped, clipped_grad

    z = np.array([-3.0, -2.0, 0.5, 2.0, 3.0], dtype=np.float32)
    assert clipped(z, 2.0).tolist() == [-2.0, -2.0, 0.5, 2.0, 2.0] and clipped(z, 2.0).dtype == np.float32
    d = clipped_grad(z, 2.0)
    assert d.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0] and d.dtype == np.float32
    assert clipped(z, None) is z and clipped_grad(z, None) == 1.0
