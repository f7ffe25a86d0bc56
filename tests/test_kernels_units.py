"""lstmkit.kernels_units: inference with the hidden units split over threads gives the reference's numbers.

Oracle: the NumPy reference kernels (checked against PyTorch and finite differences elsewhere),
float64 to 1e-12 and float32 to 1e-5: outputs and final states. UNIT_WEIGHTS and MIN_UNITS are
lowered so that small layers take the split; a spy on ``lstm_infer_units`` checks they did.
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
    calls of lstm_infer_units recorded (its n) in the list this yields."""
    monkeypatch.setattr(threads, "UNIT_WEIGHTS", 1000)
    monkeypatch.setattr(threads, "MIN_UNITS", 16)
    calls = []
    real = ku.lstm_infer_units

    def spy(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(ku, "lstm_infer_units", spy)
    threads.set_num_threads(2)
    yield calls
    threads.set_num_threads(1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B, H", [(3, 44), (1, 64), (6, 40)])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True}, {"batch_first": True}])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_units_split_inference_matches_reference(units, dtype, B, H, kw, with_lengths):
    fast = lstmkit.LSTM(5, H, dtype=dtype, seed=0, **kw)
    ref = lstmkit.LSTM(5, H, dtype=dtype, seed=0, **kw)
    fast.backend, ref.backend = "numba", "numpy"
    rng = np.random.default_rng(1)
    T, LD = 7, 2 * kw.get("num_layers", 1) if kw.get("bidirectional") else 1
    x = rng.normal(size=(B, T, 5) if kw.get("batch_first") else (T, B, 5)).astype(dtype)
    hx = tuple(rng.normal(size=(LD, B, H)).astype(dtype) for _ in range(2))
    lengths = rng.integers(1, T + 1, B) if with_lengths else None
    with fast.no_grad():
        got = fast(x, hx, lengths=lengths)
    with ref.no_grad():
        want = ref(x, hx, lengths=lengths)
    assert units and set(units) == {2}  # the split ran (every layer and direction)
    for name, a, b in (("y", got[0], want[0]), ("h_T", got[1][0], want[1][0]), ("c_T", got[1][1], want[1][1])):
        assert_close(a, b, TOL[dtype], TOL[dtype], name)


def test_training_and_projection_keep_the_row_split(units):
    x = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    m = lstmkit.LSTM(3, 40, seed=0)
    m.backend = "numba"
    m(x)  # requires_grad: the backward reads the row split's caches
    m.backward(np.ones((5, 4, 40), np.float32))
    p = lstmkit.LSTM(3, 40, proj_size=8, seed=0)
    p.backend = "numba"
    with p.no_grad():
        p(x)
    assert units == []
    with m.no_grad():
        m(x)
    assert units == [2]


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
    assert threads.unit_bounds(650, 2) == (0, 320, 650)  # inner bounds at multiples of 16
    assert threads.unit_bounds(1024, 4) == (0, 256, 512, 768, 1024)


def test_a_failing_thread_releases_the_others(units, monkeypatch):
    real_pack, packed = ku.packed_gemm.pack, []

    def pack(W, transpose, nr):  # the second thread to pack fails; the first is then waiting at step 0
        packed.append(1)
        if len(packed) == 2:
            raise RuntimeError("pack failed")
        return real_pack(W, transpose, nr)

    monkeypatch.setattr(ku.packed_gemm, "pack", pack)
    m = lstmkit.LSTM(3, 40, seed=0)
    m.backend = "numba"
    with pytest.raises(RuntimeError, match="pack failed"), m.no_grad():
        m(np.ones((6, 2, 3), np.float32))
    monkeypatch.setattr(ku.packed_gemm, "pack", real_pack)
    with m.no_grad():  # and the next call runs normally
        y, _ = m(np.ones((6, 2, 3), np.float32))
    assert np.isfinite(y).all() and units == [2, 2]
