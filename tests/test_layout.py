"""The packed layout and the seeds' notations: exact conversions both ways."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import LSTMCell, layout
from lstmkit.seeds import SEED000_GATES


def test_per_gate_round_trip_is_exact():
    cell = LSTMCell(3, 4, dtype=np.float64, seed=0)
    gates = cell.to_per_gate()
    assert sorted(gates) == sorted(f"{p}_{s}{g}" for p in "Wb" for s in "ih" for g in "ifco")
    assert gates["W_ii"].shape == (4, 3) and gates["W_hc"].shape == (4, 4) and gates["b_ho"].shape == (4,)
    back = layout.from_per_gate(gates)
    for k, v in cell.state_dict().items():
        np.testing.assert_array_equal(back[k], v)
    # the gate order is i, f, g(c), o: W_if is rows H..2H of weight_ih
    np.testing.assert_array_equal(gates["W_if"], cell.weight_ih[4:8])
    np.testing.assert_array_equal(gates["W_hc"], cell.weight_hh[8:12])


def test_concat_round_trip_and_semantics():
    """W·[h, x] + b: columns are h first, then x; the two biases add."""
    rng = np.random.default_rng(1)
    concat = {f"W_{g}": rng.normal(size=(2, 5)) for g in "ifco"} | {f"b_{g}": rng.normal(size=2) for g in "ifco"}
    packed = layout.from_concat(concat, input_size=3)
    again = layout.to_concat(packed)
    for k in concat:
        np.testing.assert_array_equal(again[k], concat[k])
    cell = LSTMCell.from_concat(concat, input_size=3)
    x, h = rng.normal(size=(1, 3)), rng.normal(size=(1, 2))
    s = cell.step(x, (h, np.zeros((1, 2))))
    hx = np.concatenate([h, x], axis=1)
    np.testing.assert_allclose(s.z_f, hx @ concat["W_f"].T + concat["b_f"], atol=1e-14)
    np.testing.assert_allclose(s.z_g, hx @ concat["W_c"].T + concat["b_c"], atol=1e-14)


def test_packed_to_concat_sums_biases():
    cell = LSTMCell(2, 3, dtype=np.float64, seed=4)
    c = cell.to_concat()
    np.testing.assert_array_equal(c["b_o"], cell.bias_ih[9:] + cell.bias_hh[9:])
    twin = LSTMCell.from_concat(c, input_size=2)
    x = np.ones((1, 2))
    np.testing.assert_allclose(twin.step(x).h, cell.step(x).h, atol=1e-15)


def test_seed000_per_gate_builds_the_packed_layout():
    packed = layout.from_per_gate({k: np.array(v) for k, v in SEED000_GATES.items()})
    np.testing.assert_array_equal(packed["weight_ih"][:2], [[4, 4], [2, 2]])  # W_ii first
    np.testing.assert_array_equal(packed["weight_hh"][2:4], [[-1, -2], [0, 0]])  # then W_hf (H = 2)
    np.testing.assert_array_equal(packed["bias_ih"], np.zeros(8))  # "set all b = 0"
    # PyTorch's letter g for the candidate is accepted too
    g = {k.replace("_ic", "_ig").replace("_hc", "_hg"): v for k, v in SEED000_GATES.items()}
    np.testing.assert_array_equal(layout.from_per_gate(g)["weight_ih"], packed["weight_ih"])


def test_conversion_errors_name_the_key():
    gates = {k: np.array(v) for k, v in SEED000_GATES.items()}
    with pytest.raises(KeyError, match="W_ho"):
        layout.from_per_gate({k: v for k, v in gates.items() if k != "W_ho"})
    with pytest.raises(ValueError, match=r"W_hf: expected shape|expected W_hf shape"):
        layout.from_per_gate(gates | {"W_hf": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="W_xx"):
        layout.from_per_gate(gates | {"W_xx": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"expected W_i shape \(H, H\+I\) = \(2, 5\)"):
        layout.from_concat({g: np.zeros((2, 4)) for g in ("W_i", "W_f", "W_c", "W_o")}, input_size=3)
    with pytest.raises(ValueError, match="divisible by 4"):
        layout.split_gates(np.zeros((6, 2)))
