"""layout.to_onnx/from_onnx and layout.to_keras/from_keras: exact round trips, the gate blocks
where each format documents them, and shape errors that name the array.

(The gate orders themselves are proven numerically against onnxruntime and Keras in
tests/test_interop_onnx.py and tests/test_interop_keras.py, with random weights.)"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import layout

H, I = 3, 2


def packed(rng, peephole=False):
    p = {
        "weight_ih": rng.normal(size=(4 * H, I)),
        "weight_hh": rng.normal(size=(4 * H, H)),
        "bias_ih": rng.normal(size=4 * H),
        "bias_hh": rng.normal(size=4 * H),
    }
    if peephole:
        p.update({f"weight_c{g}": rng.normal(size=H) for g in "ifo"})
    return p


def block(a, k):
    return a[k * H : (k + 1) * H]


def test_onnx_blocks_are_i_o_f_c_and_round_trip_exactly():
    rng = np.random.default_rng(0)
    dirs = [packed(rng, True), packed(rng, True)]
    out = layout.to_onnx(dirs)
    assert out["W"].shape == (2, 4 * H, I) and out["R"].shape == (2, 4 * H, H)
    assert out["B"].shape == (2, 8 * H) and out["P"].shape == (2, 3 * H)
    i, f, g, o = range(4)  # packed order
    for d, p in enumerate(dirs):
        for onnx_k, packed_k in enumerate((i, o, f, g)):  # ONNX: i, o, f, c
            np.testing.assert_array_equal(block(out["W"][d], onnx_k), block(p["weight_ih"], packed_k))
            np.testing.assert_array_equal(block(out["R"][d], onnx_k), block(p["weight_hh"], packed_k))
            np.testing.assert_array_equal(block(out["B"][d], onnx_k), block(p["bias_ih"], packed_k))  # Wb
            np.testing.assert_array_equal(block(out["B"][d], 4 + onnx_k), block(p["bias_hh"], packed_k))  # Rb
        np.testing.assert_array_equal(out["P"][d], np.concatenate([p["weight_ci"], p["weight_co"], p["weight_cf"]]))
    back = layout.from_onnx(**out)
    for p, q in zip(dirs, back):
        assert set(p) == set(q)
        for k in p:
            np.testing.assert_array_equal(p[k], q[k])


def test_keras_blocks_are_transposed_with_one_bias_and_round_trip():
    rng = np.random.default_rng(1)
    p = packed(rng)
    k = layout.to_keras(p)
    np.testing.assert_array_equal(k["kernel"], p["weight_ih"].T)  # (I, 4H), columns i, f, c, o
    np.testing.assert_array_equal(k["recurrent_kernel"], p["weight_hh"].T)
    np.testing.assert_array_equal(k["bias"], p["bias_ih"] + p["bias_hh"])
    q = layout.from_keras(**k)
    np.testing.assert_array_equal(q["bias_ih"], k["bias"])
    np.testing.assert_array_equal(q["bias_hh"], 0)
    k2 = layout.to_keras(q)  # Keras -> packed -> Keras is exact
    for name in k:
        np.testing.assert_array_equal(k2[name], k[name])
    assert "bias" not in layout.to_keras({n: p[n] for n in ("weight_ih", "weight_hh")})
    assert "bias_ih" not in layout.from_keras(k["kernel"], k["recurrent_kernel"])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: layout.from_onnx(np.ones((1, 8, 2)), np.ones((1, 8, 3))), r"from_onnx: expected R shape \(D, 4H, H\) = \(1, 8, 2\), got shape \(1, 8, 3\)"),
        (lambda: layout.from_onnx(np.ones((3, 8, 2)), np.ones((3, 8, 2))), "expected W shape"),
        (lambda: layout.from_onnx(np.ones((1, 8, 2)), np.ones((1, 8, 2)), B=np.ones((1, 8))), r"expected B shape \(D, 8H\)"),
        (lambda: layout.from_onnx(np.ones((1, 8, 2)), np.ones((1, 8, 2)), P=np.ones((1, 4))), r"expected P shape \(D, 3H\)"),
        (lambda: layout.to_onnx([{"weight_ih": np.ones((8, 2)), "weight_hh": np.ones((8, 1))}]), "no projection"),
        (lambda: layout.to_onnx([{"weight_ih": np.ones((8, 2))}]), "weight_hh"),
        (lambda: layout.from_keras(np.ones((2, 8)), np.ones((2, 7))), "expected recurrent_kernel shape"),
        (lambda: layout.from_keras(np.ones((2, 12)), np.ones((2, 8))), r"expected kernel shape \(I, 4H\)"),
        (lambda: layout.from_keras(np.ones((2, 8)), np.ones((2, 8)), np.ones(7)), "expected bias shape"),
        (lambda: layout.to_keras({"weight_ih": np.ones((8, 2)), "weight_hh": np.ones((8, 1))}), "no projection"),
    ],
)
def test_errors_name_the_array(call, match):
    with pytest.raises((ValueError, KeyError), match=match):
        call()
