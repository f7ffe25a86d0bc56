"""The packed-weight product (lstmkit.packed_gemm) and the kernels that use it.

Oracles: NumPy's float64 matmul for the product itself; for the LSTM, the readable reference
(kernels.py), itself checked against finite differences and PyTorch, and the compiled path with
the packed product turned off (BLAS). Tolerances: float64 1e-12, float32 1e-5.

The kernels need AVX-512; on a CPU without it these tests check that nothing asks for them.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from lstmkit import kernels
from forking import fork_holding
from oracles import assert_close, lstm_kernel_args

kn = pytest.importorskip("lstmkit.kernels_numba")
if not kn.AVAILABLE:  # pragma: no cover
    pytest.skip(f"fast path unavailable: {kn.UNAVAILABLE_REASON}", allow_module_level=True)
from lstmkit import packed_gemm  # noqa: E402  (imports numba)

TOL = {np.float64: 1e-12, np.float32: 1e-5}
try:
    HAS_KERNELS = packed_gemm.supported()
except Exception:  # llvmlite could not read this CPU's features: kernels() builds none there (d1f1c50)
    HAS_KERNELS = False
N_KERNELS = 2 * packed_gemm.MR_MAX + 2  # kernels()' length: [0] unused, one per MR, one per MR for A by columns, the transpose
needs_kernels = pytest.mark.skipif(not HAS_KERNELS, reason="this CPU has no AVX-512: the packed kernels are not built")


def test_kernels_exist_exactly_where_the_cpu_has_avx512():
    for dt in (np.float32, np.float64):
        mk = packed_gemm.kernels(dt)
        assert mk.size == (N_KERNELS if HAS_KERNELS else 0)
        assert (mk[1:] != 0).all()
    assert packed_gemm.kernels(np.int32).size == 0


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("K, N", [(1, 1), (5, 7), (20, 80), (64, 256), (3, 33), (650, 2600)])
def test_pack_lays_out_the_panels_as_documented(dt, transpose, K, N):
    # Bp[p, k, j] = B[k, p nr + j], zero past N, built here by padding B and reshaping it
    nr = 128 // np.dtype(dt).itemsize
    B = np.random.default_rng(1).normal(size=(K, N)).astype(dt)
    W = np.ascontiguousarray(B.T) if transpose else B
    npan = -(-N // nr)
    padded = np.zeros((K, npan * nr), dtype=dt)
    padded[:, :N] = B
    want = padded.reshape(K, npan, nr).transpose(1, 0, 2)
    Bp = packed_gemm.pack(W, transpose, nr)
    np.testing.assert_array_equal(Bp, want)
    assert Bp.flags.c_contiguous and Bp.ctypes.data % 64 == 0  # on a cache line: whole-line loads


@pytest.mark.parametrize("with_kernels", [True, False])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize(
    "R, K, rows",
    [(1, 1, [0]), (40, 5, [3, 1, 4, 1, 5]), (64, 16, range(64)), (70, 37, range(69, -1, -1)), (100, 650, range(0, 100, 3)),
     (2600, 650, [q * 650 + u for q in range(4) for u in range(325, 650)])],
)  # K: under, at and over a block of the transpose (16 float32, 8 float64), not a multiple of it;
#    rows: repeated, reversed, one panel's worth, whole panels and a partial last one, PTB-medium's
#    second thread's units (lstmkit.kernels_units._packed_rows)
def test_pack_gathered_lays_out_the_panels_of_the_rows_it_is_given(with_kernels, dt, R, K, rows):
    """pack_gathered(W, rows, nr, mk): Bp[p, k, j] = W[rows[p nr + j], k], zero past len(rows); built
    here from NumPy's fancy indexing, transpose and padding, with the transpose kernel and without."""
    if with_kernels and not HAS_KERNELS:
        pytest.skip("this CPU has no AVX-512: no transpose kernel")
    rows = np.array(list(rows), dtype=np.int64)
    W = np.random.default_rng(2).normal(size=(R, K)).astype(dt)
    nr = 128 // np.dtype(dt).itemsize
    N, npan = len(rows), -(-len(rows) // nr)
    padded = np.zeros((K, npan * nr), dtype=dt)
    padded[:, :N] = W[rows].T
    want = padded.reshape(K, npan, nr).transpose(1, 0, 2)
    mk = packed_gemm.kernels(dt) if with_kernels else np.zeros(0, dtype=np.int64)
    Bp = packed_gemm.pack_gathered(W, rows, nr, mk)
    np.testing.assert_array_equal(Bp, want)
    assert Bp.flags.c_contiguous and Bp.ctypes.data % 64 == 0
    # a W that is not C-contiguous is read element by element (the transpose reads rows at r K)
    Wf = np.asfortranarray(W)
    np.testing.assert_array_equal(packed_gemm.pack_gathered(Wf, rows, nr, mk), want)


@needs_kernels
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize(
    "M, K, N",
    [(2, 3, 16), (5, 37, 81), (8, 64, 256), (9, 256, 32), (17, 300, 33), (3, 600, 100), (12, 513, 48),
     (1, 80, 20), (1, 300, 100)],
)  # rows: one, under, at and over one block (MR_MAX = 8); K: under, at and over a chunk (KC = 256),
#    and not a multiple of the accumulator sets few rows rotate through (packed_gemm._phases);
#    N: whole panels and a partial last one (NR = 32 float32, 16 float64)
def test_packed_product_equals_numpy(dt, transpose, M, K, N):
    rng = np.random.default_rng(0)
    T = 3
    A = rng.normal(size=(T, M, K)).astype(dt)
    B = rng.normal(size=(K, N)).astype(dt)
    W = np.ascontiguousarray(B.T) if transpose else B  # what the LSTM holds: W (N, K), or B itself
    mk = packed_gemm.kernels(dt)
    Bp = packed_gemm.pack(W, transpose, 128 // np.dtype(dt).itemsize)
    assert Bp.shape == (-(-N // Bp.shape[2]), K, Bp.shape[2])
    tmp = packed_gemm.scratch(M, Bp, N)
    out = np.full((M, N), np.nan, dtype=dt)
    for t in range(T):  # A[t] of a 3-D array, as the time loops index it
        _run(A, t, Bp, out, tmp, mk)
        want = A[t].astype(np.float64) @ B.astype(np.float64)
        assert_close(out, want, TOL[dt], TOL[dt] * np.abs(want).max(), f"A[{t}] @ B")


@needs_kernels
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize(
    "M, K, N, width, c0",
    [(2, 3, 16, 2, 0), (5, 37, 81, 9, 3), (8, 64, 256, 8, 0), (9, 256, 32, 20, 11), (17, 300, 33, 17, 0),
     (3, 600, 100, 40, 37), (1, 80, 20, 1, 0), (64, 513, 48, 100, 36)],
)  # M: one, under, at and over a block of rows (MR_MAX = 8) and several; K: under, at and over a
#    chunk (KC = 256); N: whole panels and a partial one; c0: A from the first column of At or not
@pytest.mark.parametrize("add", [False, True])
def test_product_of_a_read_by_columns_equals_numpy(dt, M, K, N, width, c0, add):
    """packed_gemm.matmul_cols: out = At[:, c0:c0+M]^T @ B (``add``: out += it), At (K, width) as
    stored (the kernels for A by columns), against NumPy's float64 matmul of the transposed copy.
    N a whole number of panels: written directly, else through scratch, both with and without add."""
    rng = np.random.default_rng(3)
    At = rng.normal(size=(K, width)).astype(dt)
    B = rng.normal(size=(K, N)).astype(dt)
    mk = packed_gemm.kernels(dt)
    Bp = packed_gemm.pack(B, False, 128 // np.dtype(dt).itemsize)
    held = rng.normal(size=(M, N)).astype(dt)
    out = held.copy() if add else np.full((M, N), np.nan, dtype=dt)
    _run_cols(At, c0, Bp, out, packed_gemm.scratch(M, Bp, N), mk, add)
    want = At[:, c0 : c0 + M].T.astype(np.float64) @ B.astype(np.float64) + (held if add else 0)
    assert_close(out, want, TOL[dt], TOL[dt] * np.abs(want).max(), "At[:, c0:c0+M]^T @ B")


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("packed", [True, False])
def test_weight_gradient_of_runs_of_rows_equals_numpy(dt, packed):
    """kernels_numba._weight_grad: out[r0:r1] = dZ[:, r0:r1]^T X for each run (a thread's units of each
    gate), on the packed kernel; BLAS does the whole product. Rows outside the runs are not written."""
    if packed and not HAS_KERNELS:
        pytest.skip("this CPU has no AVX-512: the packed kernels are not built")
    rng = np.random.default_rng(4)
    N, G, K = 300, 4 * 37, 45
    dZ, X = rng.normal(size=(N, G)).astype(dt), rng.normal(size=(N, K)).astype(dt)
    runs = np.array([[q * 37 + 5, q * 37 + 23] for q in range(4)]) if packed else np.array([[0, G]])
    out = np.full((G, K), np.nan, dtype=dt)
    kn._weight_grad(dZ, X, out, runs, kn.GEMM.get(np.dtype(dt), 0), packed_gemm.kernels(dt), packed)
    want = dZ.T.astype(np.float64) @ X.astype(np.float64)
    written = np.zeros(G, dtype=bool)
    for r0, r1 in runs:
        written[r0:r1] = True
    assert_close(out[written], want[written], TOL[dt], TOL[dt] * np.abs(want).max(), "dZ^T X")
    assert np.isnan(out[~written]).all()


if kn.AVAILABLE:
    import numba

    @numba.njit
    def _run_cols(At, c0, Bp, out, tmp, mk, add):
        packed_gemm.matmul_cols(At, c0, Bp, out, tmp, mk, add)

    @numba.njit
    def _run(A, t, Bp, out, tmp, mk):
        packed_gemm.matmul(A, t, Bp, out, tmp, mk)


def test_how_each_product_is_done():
    mk = packed_gemm.kernels(np.float32)
    W = np.zeros((256, 64), np.float32)  # W_hh of H=64: B = W^T (64, 256)
    tiny = np.zeros((80, 20), np.float32)  # W_hh of H=20: (1, 20) @ (20, 80), 1600 multiply-adds
    assert kn._operand(tiny, True, 1, mk, False, True)[0] == kn.SMALL  # one row in the forward's call-free loop
    assert kn._operand(tiny, True, 1, kn._NO_KERNELS, False)[0] == kn.SMALL  # no kernels: the loop
    if HAS_KERNELS:  # elsewhere the packed kernel does tiny products faster
        assert kn._operand(tiny, True, 1, mk, False)[0] == kn.PACKED
        assert kn._operand(tiny, False, 1, mk, False)[0] == kn.PACKED  # backward: (1, 80) @ (80, 20)
        assert kn._operand(tiny, True, 4, mk, False, True)[0] == kn.PACKED  # four rows, even in that loop
    assert kn._operand(W, True, 1, kn._NO_KERNELS, False)[0] == kn.NT  # one row, no kernels: BLAS on W as stored
    big = np.zeros((2600, 650), np.float32)
    assert kn._operand(big, True, 20, mk, False)[0] == kn.NN  # too large for one thread: BLAS
    if HAS_KERNELS:
        assert kn._operand(W, True, 4, mk, False)[0] == kn.PACKED
        assert kn._operand(W, True, 1, mk, False)[0] == kn.PACKED  # one row too (a stream)
        # packing pays from T M >= PACK_ROWS rows in all, or at once when the batch is split
        assert kn._operand(W, True, 1, mk, False, False, kn.PACK_ROWS)[0] == kn.PACKED
        assert kn._operand(W, True, 1, mk, False, False, kn.PACK_ROWS - 1)[0] == kn.NT  # one step of B=1
        assert kn._operand(W, True, 4, mk, False, False, 1)[0] == kn.NN
        assert kn._operand(W, True, 4, mk, True, False, 1)[0] == kn.PACKED
        assert kn._operand(big, True, 20, mk, True)[0] == kn.PACKED  # split: BLAS has one thread
        how, _, Bp, tmp = kn._operand(W, False, 4, mk, False)  # backward: B = W (256, 64)
        assert how == kn.PACKED and Bp.shape == (2, 256, 32) and tmp.shape == (0, 0)
    assert kn._operand(W, True, 4, kn._NO_KERNELS, False)[0] == kn.NN  # no kernels: BLAS on W^T


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize(
    "B, H, P", [(4, 24, 0), (3, 70, 0), (5, 66, 33), (2, 66, 0), (1, 130, 65), (3, 10, 0), (1, 12, 5)]
)  # one row; tiny products (the compiled loop without the kernels)
@pytest.mark.parametrize("packed", [True, False])
def test_lstm_with_and_without_packed_products_matches_reference(dt, B, H, P, packed, monkeypatch):
    monkeypatch.setattr(kn, "USE_PACKED", packed)
    mk = kn._packed_kernels(dt)
    T = kn.PACK_ROWS  # T B >= PACK_ROWS: enough rows in all that the kernels pack, even at B=1
    lengths = T - 6 * (np.arange(B) % 5) if B > 2 else None
    on = packed and HAS_KERNELS
    tiny = B * 4 * H * (P or H) <= kn.SMALL_PRODUCT  # without the kernels, the compiled loop
    expect_t = kn.PACKED if on else kn.SMALL if tiny else kn.NT if B == 1 else kn.NN  # one row: W as stored
    expect = kn.PACKED if on else kn.SMALL if tiny else kn.NN
    loop = not P and lengths is None  # as the forward asks (its call-free loop), for these T steps
    assert kn._operand(np.zeros((4 * H, P or H), dt), True, B, mk, False, loop, T)[0] == expect_t  # forward's W_hh^T
    assert kn._operand(np.zeros((4 * H, P or H), dt), False, B, mk, False, False, T)[0] == expect  # backward's W_hh
    if P:  # the projection's products too: r_t W_hr^T forward, dh_t W_hr backward
        assert kn._operand(np.zeros((P, H), dt), True, B, mk, False, False, T)[0] == expect_t
        assert kn._operand(np.zeros((P, H), dt), False, B, mk, False, False, T)[0] == expect
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(dt, T, B, 3, H, P, lengths)
    ref = kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    fast = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=True)
    for name, a, e in zip(("y", "h_T", "c_T"), fast[:3], ref[:3]):
        assert_close(a, e, TOL[dt], TOL[dt], name)
    inf = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=False)
    for name, a, e in zip(("y (inference)", "h_T (inference)", "c_T (inference)"), inf[:3], ref[:3]):
        assert_close(a, e, TOL[dt], TOL[dt], name)
    rng = np.random.default_rng(1)
    dy, dh_T, dc_T = (rng.normal(size=a.shape).astype(dt) for a in (ref[0], h0, c0))
    g_ref = kernels.lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, ref[3])
    g_fast = kn.lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, fast[3])
    for name, a, e in zip(("dx", "dW_ih", "dW_hh", "db", "dW_hr", "dh0", "dc0"), g_fast, g_ref):
        if e is not None:
            assert_close(a, e, TOL[dt], TOL[dt], name)


def test_kernels_that_fail_to_build_leave_blas(monkeypatch):
    # numba's older releases bring an LLVM without opaque pointers: the IR is refused, BLAS stays
    def refuse(dt):
        raise RuntimeError("LLVM ERROR: invalid type 'ptr'")

    monkeypatch.setattr(packed_gemm, "_build", refuse)
    monkeypatch.setattr(packed_gemm, "supported", lambda: True)
    monkeypatch.setattr(packed_gemm, "_built", {})
    monkeypatch.setattr(packed_gemm, "UNAVAILABLE_REASON", {})
    assert packed_gemm.kernels(np.float32).size == 0
    assert "invalid type 'ptr'" in packed_gemm.UNAVAILABLE_REASON[np.dtype(np.float32)]
    x, W_ih, W_hh, b, W_hr, h0, c0, mask = lstm_kernel_args(np.float64, 4, 3, 2, 30, 0, None)
    assert kn._operand(W_hh, True, 3, kn._packed_kernels(np.float64), False)[0] == kn.NN
    y = kn.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=False)[0]
    assert_close(y, kernels.lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep=False)[0], 1e-12, 1e-12, "y")


class _CountingLock:
    """A lock that sets ``second`` when a second thread comes to take it (the first is the builder)."""

    def __init__(self):
        self._lock, self.entries, self.second = threading.Lock(), 0, threading.Event()

    def __enter__(self):
        self.entries += 1
        if self.entries >= 2:
            self.second.set()
        self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()


def test_a_thread_asking_while_another_builds_waits_for_the_kernels_not_blas(monkeypatch):
    # helper-116 F2: the first caller published a placeholder (no kernels) before its ~0.3 s build, so
    # a second thread asking meanwhile got an empty array and ran BLAS (other round-off), and a stream
    # made then kept BLAS for life. The build is made to wait here until the second thread has asked.
    started, release = threading.Event(), threading.Event()
    addresses = np.arange(N_KERNELS, dtype=np.int64)

    def slow_build(dt):
        started.set()
        assert release.wait(30), "the test never released the build"
        return None, addresses

    lock = _CountingLock()
    monkeypatch.setattr(packed_gemm, "_build", slow_build)
    monkeypatch.setattr(packed_gemm, "supported", lambda: True)
    monkeypatch.setattr(packed_gemm, "_built", {})
    monkeypatch.setattr(packed_gemm, "_lock", lock)
    seen = {}
    ask = lambda k: seen.__setitem__(k, packed_gemm.kernels(np.float32).size)  # noqa: E731
    builder = threading.Thread(target=ask, args=("builder",))
    builder.start()
    assert started.wait(30)
    other = threading.Thread(target=ask, args=("other",))
    other.start()
    while other.is_alive() and not lock.second.is_set():  # it returned already, or waits on the lock
        other.join(0.001)
    release.set()
    builder.join(30)
    other.join(30)
    assert seen == {"builder": N_KERNELS, "other": N_KERNELS}


def test_a_fork_while_another_thread_builds_leaves_the_child_free_to_build(monkeypatch):
    # helper-116 F4: a lock held by a thread of the parent at the fork never comes free in the child
    if not hasattr(os, "fork"):  # pragma: no cover
        pytest.skip("no os.fork on this platform")
    monkeypatch.setattr(packed_gemm, "_built", {})
    monkeypatch.setattr(packed_gemm, "supported", lambda: False)  # the child's "build": nothing to build
    status = fork_holding(packed_gemm._lock, lambda: packed_gemm.kernels(np.float32).size == 0)
    assert status == 0, "the child hung on packed_gemm's lock" if status is None else f"child exit {status}"
