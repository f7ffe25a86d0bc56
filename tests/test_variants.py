"""LSTM variants: finite-difference gradient checks over the option grid, the plain path unchanged,
regulariser semantics (masks), and the readable cell against the fused layer.

Gradients are checked against centred finite differences in float64 on a random projection of
every output and final state, L = Σ y ⊙ w_y + Σ h_n ⊙ w_h + Σ c_n ⊙ w_c (Karpathy's
``checkBatchGradient``), in training mode with the masks fixed by re-seeding ``dropout_rng``
before every forward.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lstmkit import LSTM, LSTMCell
from lstmkit.activations import DEFAULTS, get_activation
from lstmkit.variants import LSTMVariant, layer_norm_backward, layer_norm_forward

FD_EPS = 1e-5
MAX_REL_ERR = 1e-6
REL_FLOOR = 1e-3  # where |a| + |n| < floor, |a - n| / floor: float64 differences are good to ~1e-10 absolute
MASK_SEED = 1234


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def rel_error(analytic, numeric, floor=REL_FLOOR):
    """max |a - n| / (|a| + |n|), entries with |a| + |n| < floor measured as |a - n| / floor."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)))


def check_close(actual, expected, atol, name="value"):
    """Assert |actual - expected| <= atol; on failure show the first pairs and the max error."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected)
    if err.size and err.max() > atol:
        idx = np.argwhere(err > atol)[:5]
        pairs = ", ".join(f"{tuple(i)}: {actual[tuple(i)]:.12g} vs {expected[tuple(i)]:.12g}" for i in idx)
        raise AssertionError(f"{name}: max abs error {err.max():.3g} > {atol}; first: {pairs}")
    return float(err.max()) if err.size else 0.0


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
        y, (h, c) = self.forward()
        return float((y * self.wy).sum() + (h * self.wh).sum() + (c * self.wc).sum())

    def analytic(self):
        """dL/dx, dL/dh0, dL/dc0 and dL/dθ from the hand-written backward."""
        self.forward()
        self.model.zero_grad()
        dx, (dh0, dc0) = self.model.backward(self.wy, (self.wh, self.wc))
        grads = {k: v.copy() for k, v in self.model.grads.items()}
        return dx, dh0, dc0, grads

    def fd_check(self, per_tensor=3, seed=0):
        """Largest relative error between backward and central differences, over sampled entries
        of every parameter and of x, h0, c0 (and one random direction per tensor)."""
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
                err = rel_error(analytic, self.directional_difference(arr, v, FD_EPS))
                for eps in (FD_EPS / 10, FD_EPS / 100):  # a stencil may straddle a kink (clip, relu):
                    if err <= MAX_REL_ERR:  # smaller steps step off it
                        break
                    err = min(err, rel_error(analytic, self.directional_difference(arr, v, eps)))
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
