"""The compiled fast path (kernels_numba) gives the reference's numbers (kernels.py, NumPy).

The reference is the oracle here: it is verified against finite differences and PyTorch in its own
tests, and one test below checks the fast path against PyTorch directly. Tolerances (atol = rtol):
float64 1e-12, float32 1e-5 (the issue's), for the outputs, the final states and every gradient.

Shapes are small so numba compiles each kernel once per dtype (cached on disk afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lstmkit
from lstmkit import backends, kernels
from oracles import assert_close, lstm_kernel_args

kn = pytest.importorskip("lstmkit.kernels_numba")
if not kn.AVAILABLE:  # pragma: no cover
    pytest.skip(f"fast path unavailable: {kn.UNAVAILABLE_REASON}", allow_module_level=True)

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("P", [0, 2])
@pytest.mark.parametrize("lengths", [None, [6, 1, 4]])
def test_kernels_match_reference(dt, P, lengths):
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(dt, P=P, lengths=lengths)
    ref = kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    fast = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    for name, a, e in zip(("y", "h_T", "c_T"), fast[:3], ref[:3]):
        assert_close(a, e, TOL[dt], TOL[dt], name)
    rng = np.random.default_rng(1)
    dy = rng.normal(size=ref[0].shape).astype(dt)
    dh_T, dc_T = rng.normal(size=h0.shape).astype(dt), rng.normal(size=c0.shape).astype(dt)
    g_ref = kernels.lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, ref[3])
    g_fast = kn.lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, fast[3])
    for name, a, e in zip(("dx", "dW_ih", "dW_hh", "db", "dW_hr", "dh0", "dc0"), g_fast, g_ref):
        if e is None:
            assert a is None, name
        else:
            assert_close(a, e, TOL[dt], TOL[dt], name)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("B,H,P", [(4, 24, 0), (8, 40, 30), (1, 64, 0), (1, 64, 48)])  # B=1: BLAS on W as stored
@pytest.mark.parametrize("blas", ["numpy", "scipy"])
def test_kernels_match_reference_blas_sized(dt, B, H, P, blas, monkeypatch):
    # Products above kn.SMALL_PRODUCT multiply-adds go to BLAS instead of the compiled loop:
    # NumPy's own (its CBLAS gemm called from the kernel), or numba's np.dot (SciPy's) without it.
    assert B * H * 4 * (P or H) > kn.SMALL_PRODUCT
    if blas == "numpy" and not kn.GEMM:
        pytest.skip("this NumPy's BLAS has no ILP64 CBLAS gemm that lstmkit can find")
    if blas == "scipy":
        monkeypatch.setattr(kn, "GEMM", {})
    monkeypatch.setattr(kn, "USE_PACKED", False)  # BLAS here; test_packed_gemm covers the packed products
    lengths = np.arange(B) % 5 + 1 if B > 1 else None
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(dt, T=5, B=B, I=3, H=H, P=P, lengths=lengths)
    ref = kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    fast = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    for name, a, e in zip(("y", "h_T", "c_T"), fast[:3], ref[:3]):
        assert_close(a, e, TOL[dt], TOL[dt], name)
    dy = np.random.default_rng(1).normal(size=ref[0].shape).astype(dt)
    g_ref = kernels.lstm_backward(dy, h0 * 0, c0 * 0, W_ih, W_hh, W_hr, ref[3])
    g_fast = kn.lstm_backward(dy, h0 * 0, c0 * 0, W_ih, W_hh, W_hr, fast[3])
    for name, a, e in zip(("dx", "dW_ih", "dW_hh", "db", "dW_hr", "dh0", "dc0"), g_fast, g_ref):
        if e is not None:
            assert_close(a, e, TOL[dt], TOL[dt], name)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("P", [0, 2])
@pytest.mark.parametrize("lengths", [None, [2, 6, 5]])  # None, P=0: the time loop of tiny models
def test_inference_keeps_nothing(dt, P, lengths):
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(dt, P=P, lengths=lengths)
    ref = kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    y, h_T, c_T, cache = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=False)
    assert cache is None
    for name, a, e in zip(("y", "h_T", "c_T"), (y, h_T, c_T), ref[:3]):
        assert_close(a, e, TOL[dt], TOL[dt], name)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("lengths", [None, [6, 1, 4, 6, 2, 5]])
@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("path", ["numpy", "one block", "rows split", "units split"])
def test_forward_writes_y_into_out_through_any_view(dt, lengths, keep, path, monkeypatch):
    """lstm_forward(..., out): y written into a strided view (a direction's columns of a bidirectional
    output, reversed in time) and returned as that view, with the numbers of the call without it."""
    from lstmkit import threads

    if path == "rows split":
        monkeypatch.setattr(threads, "MIN_ROWS", 2)
    if path == "units split":
        if threads._BLAS is None or not kn.GEMM or kn._packed_kernels(np.dtype(dt)).size == 0:
            pytest.skip("the units split needs NumPy's BLAS and the packed kernels")
        monkeypatch.setattr(threads, "UNIT_WEIGHTS", 100)
        monkeypatch.setattr(threads, "MIN_UNITS", 16)
    mod = kernels if path == "numpy" else kn
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(dt, B=6, H=32, lengths=lengths)
    threads.set_num_threads(1 if path in ("numpy", "one block") else 2)
    try:
        want = mod.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep)
        full = np.full((x.shape[0], 6, 2 * 32), np.nan, dtype=dt)
        into = full[::-1, :, 32:]  # the backward direction's columns, reversed in time
        got = mod.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep, into)
    finally:
        threads.set_num_threads(1)
    assert got[0] is into
    np.testing.assert_array_equal(full[::-1, :, 32:], want[0])
    assert np.isnan(full[:, :, :32]).all()  # nothing written beside it
    for a, e in zip(got[1:3], want[1:3]):
        np.testing.assert_array_equal(a, e)


def test_activations_extreme_inputs():
    # Saturated gates: σ and tanh of the fast path at ±100 and beyond the clamp of its exp.
    for dt in (np.float64, np.float32):
        x, W_ih, W_hh, b, W_hr, h0, c0, _ = lstm_kernel_args(dt)
        x = (x * 300).astype(dt)
        ref = kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, None, keep=True)
        fast = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, None, keep=True)
        assert np.isfinite(fast[0]).all()
        assert_close(fast[0], ref[0], TOL[dt], TOL[dt], "y (saturated)")


if kn.AVAILABLE:
    import numba

    @numba.njit
    def _activations(z):
        s, t = np.empty_like(z), np.empty_like(z)
        for k in range(z.size):
            s[k], t[k] = kn._sigmoid(z[k]), kn._tanh(z[k])
        return s, t


@pytest.mark.parametrize("dt, bound", [(np.float64, 4e-16), (np.float32, 4e-7)])
def test_compiled_sigmoid_and_tanh_against_float64_numpy(dt, bound):
    # float64: the exponential (~1 ulp); float32: the rational tanh (its documented 3.4e-7) and
    # σ(z) = (1 + tanh(z/2))/2. Oracle: NumPy's float64 functions of the same (rounded) inputs.
    z = np.concatenate([np.linspace(-30, 30, 200001), [0.0, 1e-30, -1e-8, 5e-4, -7.9, 7.9053, 9.0, 1e4, -1e4]])
    z = z.astype(dt)
    s, t = _activations(z)
    z64 = z.astype(np.float64)
    with np.errstate(over="ignore"):  # e^{-z} = inf for z < -709: σ = 1/(1 + inf) = 0
        want_s, want_t = 1 / (1 + np.exp(-z64)), np.tanh(z64)
    assert np.abs(s - want_s).max() <= bound and np.abs(t - want_t).max() <= bound
    small = np.abs(z64) < 1e-3  # tanh near 0: relative accuracy kept (no cancellation)
    assert (np.abs(t[small] - want_t[small]) <= bound * np.abs(want_t[small]) + 1e-45).all()
    assert ((s >= 0) & (s <= 1) & (np.abs(t) <= 1)).all() and (t[z > 0] >= 0).all() and (t[z < 0] <= 0).all()


def test_saturated_gates_are_exactly_open_or_shut():
    # σ(±40) and tanh(±20) round to exactly 1 / 0 / -1 in float32 (NumPy and torch give them): a gate
    # held open keeps c_t exactly, over any number of steps (at 0.99999988 it leaked 1.2% in 1e5)
    z = np.array([40.0, -40.0, 20.0, -20.0, 7.91, -7.91, 9.0, 1e30, -1e30], np.float32)
    s, t = _activations(z)
    assert s[:2].tolist() == [1.0, 0.0] and t[2:4].tolist() == [1.0, -1.0] and t[4:].tolist() == [1, -1, 1, 1, -1]
    lstm = lstmkit.LSTM(1, 1, seed=0)  # float32, the compiled kernels
    lstm.backend = "numba"
    for v in lstm.parameters().values():
        v[...] = 0.0
    lstm.bias_ih_l0 = np.array([-40.0, 40.0, 0.0, 40.0])  # i shut, f open, o open
    with lstm.no_grad():
        _, (h, c) = lstm(np.zeros((20000, 1, 1), np.float32), (np.zeros((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32)))
    assert c.item() == 1.0  # exactly: f = 1, i = 0 at every step
    assert abs(h.item() - np.tanh(1.0)) <= 4e-7  # o = 1: h = tanh(1), to the rational tanh's documented 3.4e-7


def test_float32_gates_saturate_earlier_than_the_reference_as_the_readme_says():
    # documents the departure the README's Speed section states: the rational σ reads a gate within
    # ~1.4e-7 of 1 or 0 as exactly 1 or 0 (|z| >= 15.81, twice the rational tanh's clamp 7.9053),
    # where the exact σ (float64 here, the oracle) is 1 - e^-z or e^z to first order, and the
    # reference's float32 σ rounds to 1 only from z ~ 16.64 (1 - e^-16 = 0.99999989 rounds to
    # 1 - 2^-23 = 0.99999988). A forget gate held at z = 16 over 10,000 steps: the exact
    # c_T = σ(16)^10000 = e^{-10000 log(1 + e^-16)} = 0.998875; the reference (as torch, float32)
    # decays with it, the fast path keeps c exactly.
    # The reference's float32 c_T exactly: i = σ(-40) meets g = tanh(0) = 0, so c_t = f·c_{t-1} with
    # f = 1 - 2^-23 (asserted below). From c_0 = 1 the first step gives 1 - 2^-23 exactly. While c is
    # in [0.5, 1) its ulp is 2^-24, and c·(1 - 2^-23) = c - 2c ulps; with c in (0.75, 1), 2c is in
    # (1.5, 2) and rounds to exactly 2 ulps, so every step takes off exactly 2^-23:
    # c_T = 1 - 10000·2^-23 = 0.998807907... (the README's "0.998808"), and the gap to the fast
    # path's 1.0 is 10000·2^-23 = 1.1921e-3 (the README's "1.2e-3 apart")
    z = np.array([15.82, 16.0, 16.6, -15.82, -16.0], np.float32)
    s, _ = _activations(z)
    assert s.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    exact = 1 / (1 + np.exp(-z.astype(np.float64)))
    assert (np.abs(s - exact) < 1.7e-7).all() and (np.abs(s - exact) > 1e-8).all()
    assert lstmkit.functional.sigmoid(np.float32(16.0)) == np.float32(1 - 2**-23)
    lstm = lstmkit.LSTM(1, 1, seed=0)  # float32
    for v in lstm.parameters().values():
        v[...] = 0.0
    lstm.bias_ih_l0 = np.array([-40.0, 16.0, 0.0, 40.0])  # i shut, f = σ(16), o open
    c_T = {}
    for backend in ("numba", "numpy"):
        lstm.backend = backend
        with lstm.no_grad():
            _, (h, c) = lstm(np.zeros((10000, 1, 1), np.float32), (np.zeros((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32)))
        c_T[backend] = c.item()
    exact_c = np.exp(-10000 * np.log1p(np.exp(-16.0)))  # 0.998875, the real-number value
    assert c_T["numba"] == 1.0 and abs(c_T["numpy"] - exact_c) < 1e-4
    assert c_T["numpy"] == 1 - 10000 * 2**-23  # = 8378608·2^-23, a float32 (and float64) exactly
    assert c_T["numba"] - c_T["numpy"] == 10000 * 2**-23  # 1.1921e-3, far beyond TOL's 1e-5


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_a_nan_stays_nan_as_in_the_reference(dt):
    # NaN in, NaN out, as NumPy's functions give it: the float32 rational tanh's saturation test turned a
    # NaN pre-activation into -1 (a NaN weight ran on silently, every output finite, where the reference
    # path gave NaN); ±inf still saturates
    z = np.array([np.nan, np.inf, -np.inf], dt)
    s, t = _activations(z)
    assert np.isnan(s[0]) and np.isnan(t[0]) and t[1:].tolist() == [1.0, -1.0]
    assert s[1] == 1.0 and 0 <= float(s[2]) < 1e-300  # float64's exponential stops at its clamp, e^-709: σ(-inf) ~ 3e-308
    ref, fast = _pair(dt, input_size=3, hidden_size=4)
    for m in (ref, fast):
        m.weight_hh_l0[0, 0] = np.nan
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(dt)
    (y_ref, _), (y_fast, _) = ref(x), fast(x)
    assert np.isnan(y_ref).any() and np.array_equal(np.isnan(y_fast), np.isnan(y_ref))

def _pair(dt, **kw):
    """Two LSTMs with the same weights and dropout stream, one per backend."""
    ref = lstmkit.LSTM(dtype=dt, seed=3, **kw)
    ref.backend = "numpy"
    fast = lstmkit.LSTM(dtype=dt, seed=3, **kw)
    fast.backend = "numba"
    return ref, fast


CONFIGS = [
    dict(input_size=3, hidden_size=4),
    dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
    dict(input_size=3, hidden_size=5, num_layers=2, proj_size=2, bidirectional=True, batch_first=True),
    dict(input_size=3, hidden_size=4, num_layers=3, dropout=0.3),
]


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items() if k[0] != "i"))
@pytest.mark.parametrize("lengths", [None, [5, 2, 4]])
def test_module_matches_reference(dt, kw, lengths):
    ref, fast = _pair(dt, **kw)
    rng = np.random.default_rng(0)
    T, B = 5, 3
    x = rng.normal(size=(B, T, 3) if kw.get("batch_first") else (T, B, 3)).astype(dt)
    D, L = (2 if kw.get("bidirectional") else 1), kw.get("num_layers", 1)
    P, H = kw.get("proj_size") or kw["hidden_size"], kw["hidden_size"]
    hx = (rng.normal(size=(D * L, B, P)).astype(dt), rng.normal(size=(D * L, B, H)).astype(dt))
    y_r, (h_r, c_r) = ref(x, hx, lengths=lengths)
    y_f, (h_f, c_f) = fast(x, hx, lengths=lengths)
    tol = TOL[dt]
    assert_close(y_f, y_r, tol, tol, "y")
    assert_close(h_f, h_r, tol, tol, "h_n")
    assert_close(c_f, c_r, tol, tol, "c_n")
    dy = rng.normal(size=y_r.shape).astype(dt)
    d_state = (rng.normal(size=h_r.shape).astype(dt), rng.normal(size=c_r.shape).astype(dt))
    dx_r, (dh_r, dc_r) = ref.backward(dy, d_state)
    dx_f, (dh_f, dc_f) = fast.backward(dy, d_state)
    assert_close(dx_f, dx_r, tol, tol, "dx")
    assert_close(dh_f, dh_r, tol, tol, "dh0")
    assert_close(dc_f, dc_r, tol, tol, "dc0")
    for k in ref.grads:
        assert_close(fast.grads[k], ref.grads[k], tol, tol, f"grad {k}")


def test_module_no_grad_and_unbatched():
    ref, fast = _pair(np.float64, input_size=3, hidden_size=4, num_layers=2)
    x = np.random.default_rng(0).normal(size=(7, 3))
    with fast.no_grad():
        y_f, (h_f, c_f) = fast(x)
    assert fast._cache is None
    y_r, (h_r, c_r) = ref(x)
    assert_close(y_f, y_r, 1e-12, 1e-12, "y")
    assert_close(c_f, c_r, 1e-12, 1e-12, "c_n")


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("proj", [0, 2])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_short_inference_path_matches_the_general_one(dt, proj, backend, batch_first):
    # One plain layer, a batch, no lengths, under no_grad: LSTM.forward goes straight to the
    # kernels, with the same numbers as the general path (_Recurrent.forward) on that layer.
    m = lstmkit.LSTM(3, 4, proj_size=proj, dtype=dt, seed=3, batch_first=batch_first)
    m.backend = backend
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    if batch_first:
        x = x.transpose(1, 0, 2)  # (B, T, I), not contiguous: the path copies it
    seq = (lambda a: a[:, 0]) if not batch_first else (lambda a: a[0])  # batch row 0 of y
    with m.no_grad():
        y, (h, c) = m(x)
        assert m._cache is None
        assert y.shape == (x.shape[0], x.shape[1], proj or 4) and h.shape == (1, 2, proj or 4) and c.shape == (1, 2, 4)
        assert y.dtype == h.dtype == c.dtype == dt and y.flags.c_contiguous
    m.requires_grad = False
    y_g, (h_g, c_g) = super(lstmkit.LSTM, m).forward(x)  # the general path on the same layer
    np.testing.assert_array_equal(y, y_g)
    np.testing.assert_array_equal(h, h_g)
    np.testing.assert_array_equal(c, c_g)
    y2, (h2, c2) = m(x, (h, c))  # with a state: carried on, as the general path carries it
    y2_g, (h2_g, c2_g) = super(lstmkit.LSTM, m).forward(x, (h, c))
    for a, e in ((y2, y2_g), (h2, h2_g), (c2, c2_g)):
        np.testing.assert_array_equal(a, e)
    T_axis = 1 if batch_first else 0
    y12, _ = m(np.concatenate([x, x], axis=T_axis))  # two halves, the state carried = the whole
    assert_close(y2, y12[:, 6:] if batch_first else y12[6:], TOL[dt], TOL[dt], "carried state")
    with m.no_grad():  # what the short path does not take goes to the general one, errors included
        with pytest.raises(ValueError, match=r"LSTM: expected x finite values, got nan"):
            m(np.full((2, 1, 3), np.nan))
        with pytest.raises(ValueError, match=r"input_size=3"):
            m(np.ones((2, 1, 5)))
        with pytest.raises(ValueError, match=r"3-D array"):
            m(np.ones((2, 1, 3, 1)))
        with pytest.raises(ValueError, match=r"h0"):  # a state of the wrong shape: the same message
            m(x, (np.zeros((1, 3, proj or 4)), np.zeros((1, 2, 4))))
        with pytest.raises(TypeError, match=r"hx"):
            m(x, np.zeros((1, 2, 4)))
        y1, _ = m(seq(x))  # unbatched (T, I): the general path
        assert_close(y1, seq(y), TOL[dt], TOL[dt], "unbatched")


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("proj", [0, 2])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_short_training_path_matches_the_general_one(dt, proj, backend, batch_first, with_state):
    # One plain layer, a batch, no lengths, training: LSTM.forward and LSTM.backward go straight
    # to the kernels, with the same numbers as the general paths (_Recurrent.forward/backward).
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 3) if batch_first else (6, 2, 3))
    hx = (rng.normal(size=(1, 2, proj or 4)), rng.normal(size=(1, 2, 4))) if with_state else None
    dy = rng.normal(size=(2, 6, proj or 4) if batch_first else (6, 2, proj or 4))
    d_state = (rng.normal(size=(1, 2, proj or 4)), rng.normal(size=(1, 2, 4))) if with_state else None
    got, want = [], []
    for out, general in ((got, False), (want, True)):
        m = lstmkit.LSTM(3, 4, proj_size=proj, dtype=dt, seed=3, batch_first=batch_first)
        m.backend = backend
        fwd = super(lstmkit.LSTM, m).forward if general else m.forward
        y, (h, c) = fwd(x, hx)
        bwd = super(lstmkit.LSTM, m).backward if general else m.backward
        dx, (dh0, dc0) = bwd(dy, d_state)
        assert m._cache is None and dx.flags.c_contiguous and dx.shape == x.shape
        out += [y, h, c, dx, dh0, dc0, *(m.grads[k] for k in sorted(m.grads))]
    for a, e in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, e)
    # a cache of the general path (lengths given) goes through the short backward too, and what
    # the short backward does not take goes to the general one, errors included
    m = lstmkit.LSTM(3, 4, proj_size=proj, dtype=dt, seed=3, batch_first=batch_first)
    m.backend = backend
    m(x, hx, lengths=[6, 3])
    with pytest.raises(ValueError, match=r"dy"):
        m.backward(dy[:1])
    with pytest.raises(ValueError, match=r"finite"):
        m.backward(np.full_like(dy, np.nan))
    dx, _ = m.backward(dy, d_state)  # the failed calls left the cache as it was
    assert np.isfinite(dx).all() and m._cache is None


def test_backward_follows_the_forward_backend():
    # The forward's cache decides the backward, even if backend changes in between.
    ref, fast = _pair(np.float64, input_size=3, hidden_size=4)
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    y, _ = fast(x)
    assert isinstance(fast._cache[0][0], kn.FastLSTMCache)
    fast.backend = "numpy"
    dx_f, _ = fast.backward(np.ones_like(y))
    ref(x)
    dx_r, _ = ref.backward(np.ones_like(y))
    assert_close(dx_f, dx_r, 1e-12, 1e-12, "dx")


def test_torch_parity_fast_path():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2).double()
    m = lstmkit.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, dtype=np.float64)
    m.backend = "numba"
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    yt, (ht, ct) = t(xt)
    (yt.sum() + (ht * 2).sum() + (ct * 3).sum()).backward()
    y, (h, c) = m(x)
    dx, _ = m.backward(np.ones_like(y), (np.full_like(h, 2.0), np.full_like(c, 3.0)))
    assert_close(y, yt.detach().numpy(), 1e-12, 1e-12, "y")
    assert_close(dx, xt.grad.numpy(), 1e-12, 1e-12, "dx")
    for k, p in t.named_parameters():
        assert_close(m.grads[k], p.grad.numpy(), 1e-12, 1e-12, f"grad {k}")


def test_backend_errors_name_the_choices():
    m = lstmkit.LSTM(2, 3)
    with pytest.raises(ValueError, match=r"LSTM: expected backend one of \('auto', 'numpy', 'numba'\), got 'cuda'"):
        m.backend = "cuda"  # refused when set, not at the next forward
    assert m.backend == "auto"
    assert backends.available() == {"numpy": True, "numba": True}


# numba blocked by an import hook: lstmkit must import, run and train on the NumPy path alone.
_NO_NUMBA = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "numba" or name.startswith("numba."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)  # as Python says a module not installed
    sys.meta_path.insert(0, Block())
    import numpy as np
    import lstmkit
    from lstmkit import backends, kernels
    import warnings
    warnings.simplefilter("error", backends.CompiledKernelsWarning)  # numba not installed: the reference, as meant, unannounced
    assert backends.available() == {"numpy": True, "numba": False}, backends.available()
    m = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    assert backends.select(m.backend) is kernels
    y, (h, c) = m(np.ones((5, 2, 3), np.float32), lengths=[5, 3])
    dx, _ = m.backward(np.ones_like(y))
    assert dx.shape == (5, 2, 3) and np.isfinite(dx).all()
    u = lstmkit.LSTM(3, 4, num_layers=2, seed=0, dtype=np.float64)
    s = u.stream(2)  # streaming on the NumPy kernels
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    ys = np.stack([s.step(x[t]) for t in range(4)])
    assert np.abs(ys - u(x)[0]).max() < 1e-12
    try:
        m.backend = "numba"
    except ImportError as e:
        assert "numba" in str(e) and "backend='numpy'" in str(e), str(e)
    else:
        raise AssertionError("backend='numba' ran without numba")
    assert "numba" not in sys.modules
    print("ok")
    """
)


def test_numpy_path_works_without_numba():
    src = os.path.join(os.path.dirname(lstmkit.__file__), os.pardir)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
    out = subprocess.run([sys.executable, "-c", _NO_NUMBA], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
