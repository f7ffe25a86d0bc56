"""lstmkit.kernels_units: a layer with its hidden units split over threads gives the reference's numbers.

Oracle: the NumPy reference kernels (checked against PyTorch and finite differences elsewhere),
float64 to 1e-12 and float32 to 1e-5: outputs, final states and every gradient. UNIT_WEIGHTS and
MIN_UNITS are lowered so that small layers take the split; spies on ``lstm_forward_units`` and
``lstm_backward_units`` check that they did.
"""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit import threads
from oracles import assert_close

kn = pytest.importorskip("lstmkit.kernels_numba")
if not kn.AVAILABLE:  # pragma: no cover
    pytest.skip(f"fast path unavailable: {kn.UNAVAILABLE_REASON}", allow_module_level=True)
if threads._BLAS is None or not kn.GEMM or kn._packed_kernels(np.float32).size == 0:  # pragma: no cover
    pytest.skip("no packed kernels or BLAS threads here: the units are never split", allow_module_level=True)

from lstmkit import kernels_units as ku  # noqa: E402  (needs numba, checked above)

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture
def units(monkeypatch):
    """Two threads; the units split from a W_hh of 1000 elements and 16 units per thread; the
    calls of lstm_forward_units ("fwd") and lstm_backward_units ("bwd") recorded in the list this yields."""
    monkeypatch.setattr(threads, "UNIT_WEIGHTS", 1000)
    monkeypatch.setattr(threads, "MIN_UNITS", 16)
    calls = []
    for name, tag in (("lstm_forward_units", "fwd"), ("lstm_backward_units", "bwd")):
        real = getattr(ku, name)

        def spy(*args, _real=real, _tag=tag):
            calls.append(_tag)
            return _real(*args)

        monkeypatch.setattr(ku, name, spy)
    threads.set_num_threads(2)
    yield calls
    threads.set_num_threads(1)


def _run(m, x, hx, lengths, train):
    if not train:
        with m.no_grad():
            y, (h, c) = m(x, hx, lengths=lengths)
        return {"y": y, "h_T": h, "c_T": c}
    y, (h, c) = m(x, hx, lengths=lengths)
    rng = np.random.default_rng(2)
    dy, dh, dc = (rng.normal(size=a.shape).astype(m.dtype) for a in (y, h, c))
    dx, (dh0, dc0) = m.backward(dy, (dh, dc))
    return {"y": y, "h_T": h, "c_T": c, "dx": dx, "dh0": dh0, "dc0": dc0, **{f"grad {k}": v for k, v in m.grads.items()}}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B, H", [(3, 44), (1, 64), (6, 40)])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True}, {"batch_first": True}])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_units_split_matches_reference(units, dtype, B, H, kw, with_lengths, train):
    fast = lstmkit.LSTM(5, H, dtype=dtype, seed=0, **kw)
    ref = lstmkit.LSTM(5, H, dtype=dtype, seed=0, **kw)
    fast.backend, ref.backend = "numba", "numpy"
    rng = np.random.default_rng(1)
    T, LD = 7, 2 * kw.get("num_layers", 1) if kw.get("bidirectional") else 1
    x = rng.normal(size=(B, T, 5) if kw.get("batch_first") else (T, B, 5)).astype(dtype)
    hx = tuple(rng.normal(size=(LD, B, H)).astype(dtype) for _ in range(2))
    lengths = rng.integers(1, T + 1, B) if with_lengths else None
    got, want = _run(fast, x, hx, lengths, train), _run(ref, x, hx, lengths, train)
    # the split ran for every layer and direction, forward and (training) backward
    assert sorted(units) == ["bwd"] * (LD if train else 0) + ["fwd"] * LD
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], TOL[dtype], k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_are_added_to_what_grads_held(units, dtype):
    # the split's products add dW_ih and dW_hh to the layer's gradients themselves (add_to): what
    # grads held before backward (a second batch accumulating, no zero_grad between) stays in them
    fast, ref = (lstmkit.LSTM(5, 40, num_layers=2, dtype=dtype, seed=0) for _ in range(2))
    fast.backend, ref.backend = "numba", "numpy"
    rng = np.random.default_rng(3)
    x, held = rng.normal(size=(6, 3, 5)).astype(dtype), {k: rng.normal(size=g.shape) for k, g in fast.grads.items()}
    for m in (fast, ref):
        for k, g in m.grads.items():
            g[...] = held[k]
    got, want = _run(fast, x, None, None, True), _run(ref, x, None, None, True)
    assert units == ["fwd", "fwd", "bwd", "bwd"]
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], TOL[dtype], k)
    assert np.abs(fast.grads["weight_hh_l0"] - held["weight_hh_l0"]).max() > 1e-3  # something was added


@pytest.mark.parametrize("add_to", ["none", "strided", "float64"])
def test_backward_units_returns_or_adds_the_weight_gradients(units, add_to):
    # lstm_backward's contract without a layer: no add_to, dW_ih and dW_hh are returned (new arrays
    # of the caller's); an add_to the products cannot write (not C-contiguous, another dtype) gets
    # them added after, and None is returned for them, as where they write
    rng = np.random.default_rng(4)
    T, B, I, H = 5, 3, 6, 40
    W_ih, W_hh = (rng.normal(size=(4 * H, k)).astype(np.float32) * 0.3 for k in (I, H))
    b, x = np.zeros(4 * H, np.float32), rng.normal(size=(T, B, I)).astype(np.float32)
    h0, c0, dy = np.zeros((B, H), np.float32), np.zeros((B, H), np.float32), rng.normal(size=(T, B, H)).astype(np.float32)
    from lstmkit import kernels

    ref = kernels.lstm_backward(dy, h0, c0, W_ih, W_hh, None, kernels.lstm_forward(x, W_ih, W_hh, b, None, h0, c0)[3])
    cache = kn.lstm_forward(x, W_ih, W_hh, b, None, h0, c0)[3]
    held = [rng.normal(size=W.shape) for W in (W_ih, W_hh)]
    if add_to == "none":
        target = None
    elif add_to == "strided":
        target = [np.zeros((W.shape[0], 2 * W.shape[1]), np.float32)[:, ::2] for W in (W_ih, W_hh)]
    else:
        target = [np.zeros(W.shape, np.float64) for W in (W_ih, W_hh)]
    if target is not None:
        for t, h in zip(target, held):
            t[...] = h
    got = kn.lstm_backward(dy, h0, c0, W_ih, W_hh, None, cache, target)
    assert units == ["fwd", "bwd"]
    for j in (1, 2):
        if target is None:
            assert_close(got[j], ref[j], 1e-5, 1e-5, f"dW {j}")
        else:
            assert got[j] is None
            assert_close(target[j - 1], held[j - 1] + ref[j], 1e-5, 1e-5, f"dW {j}")


def test_projection_keeps_the_row_split_and_the_cache_is_one_block(units):
    x = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    p = lstmkit.LSTM(3, 40, proj_size=8, seed=0)
    p.backend = "numba"
    p(x)
    p.backward(np.ones((5, 4, 8), np.float32))
    assert units == []
    m = lstmkit.LSTM(3, 40, seed=0)
    m.backend = "numba"
    m(x)
    (cache,) = m._cache[0]
    assert isinstance(cache, kn.FastLSTMCache) and cache.acts.shape == (5, 4, 160)  # any backward reads it
    assert units == ["fwd"]


def test_when_the_units_are_split(monkeypatch):
    threads.set_num_threads(1)
    assert threads.n_unit_blocks(650, 2600 * 650) == 1  # the default: one thread, never
    threads.set_num_threads(2)
    try:
        assert threads.n_unit_blocks(650, 2600 * 650) == 2  # PTB-medium: W_hh 6.8 MB
        assert threads.n_unit_blocks(256, 1024 * 256) == 1  # 1 MB: fits a core's L2, rows split instead
        assert threads.n_unit_blocks(threads.MIN_UNITS * 2 - 1, threads.UNIT_WEIGHTS + 1) == 1  # too few units
        threads.set_num_threads(4)
        assert threads.n_unit_blocks(1024, 4096 * 1024) == 4
    finally:
        threads.set_num_threads(1)
    # 650 units are 82 groups of 8 (the last of 2): 41 groups each, 328 units for the first thread,
    # 322 for the second; 4 x 328 = 1312 gate columns, 41 panels of 32 float32, as 4 x 322 = 1288
    assert threads.unit_bounds(650, 2) == (0, 328, 650)
    assert threads.unit_bounds(1024, 4) == (0, 256, 512, 768, 1024)


def test_unit_blocks_are_never_empty_wherever_the_units_are_split():
    # n_unit_blocks gives n blocks only with at least MIN_UNITS units each; rounding the inner bounds
    # to multiples of 8 must then leave every block at least 16 units (this needs MIN_UNITS >= 16),
    # every block's 4 Hu gate columns but the last's whole panels (32 float32, 16 float64), and the
    # blocks' panels within one of each other (each thread's share of each step's product)
    for n in (2, 3, 4):
        for H in range(n * threads.MIN_UNITS, n * threads.MIN_UNITS + 200):
            b = threads.unit_bounds(H, n)
            assert b[0] == 0 and b[-1] == H and len(b) == n + 1
            sizes = [b1 - b0 for b0, b1 in zip(b, b[1:])]
            assert min(sizes) >= 16, (H, n, b)
            for nr in (32, 16):
                assert all(4 * Hu % nr == 0 for Hu in sizes[:-1]), (H, n, b, nr)
                panels = [-(-4 * Hu // nr) for Hu in sizes]
                assert max(panels) - min(panels) <= (1 if nr == 32 else 2), (H, n, b, panels)


@pytest.mark.parametrize("train", [False, True])
def test_a_failing_thread_releases_the_others(units, monkeypatch, train):
    # the second pack fails: the forward's (pack_gathered_into: 2 a thread), or in training the
    # backward's (pack_into: 2 a thread); the other thread may then be waiting at step 0
    name = "pack_into" if train else "pack_gathered_into"
    real_pack, packed = getattr(ku.packed_gemm, name), []

    def pack(*args):
        packed.append(1)
        if len(packed) == 2:
            raise RuntimeError("pack failed")
        return real_pack(*args)

    monkeypatch.setattr(ku.packed_gemm, name, pack)
    m = lstmkit.LSTM(3, 40, seed=0)
    m.backend = "numba"
    x = np.ones((6, 2, 3), np.float32)
    with pytest.raises(RuntimeError, match="pack failed"):
        if train:
            m(x)
            m.backward(np.ones((6, 2, 40), np.float32))
        else:
            with m.no_grad():
                m(x)
    monkeypatch.setattr(ku.packed_gemm, name, real_pack)
    with m.no_grad():  # and the next call runs normally
        y, _ = m(x)
    assert np.isfinite(y).all()
