"""Compiled inference of a large LSTM layer with its hidden units split over lstmkit's threads.

The row split of :mod:`lstmkit.threads` gives each thread some rows of the batch and the whole
time loop; each thread then reads all of W_hh at every step. When W_hh is larger than a core's
L2 cache (PTB-medium's 2600 x 650: 6.8 MB against 2 MB), it comes from the shared cache at every
step, once per thread, and that read is what the per-step product waits on. Here each of n threads
takes the hidden units ``u0 .. u1-1`` instead, for every row of the batch, and with them the rows of
W_ih and W_hh (and b) that feed those units' four gates::

    rows_k = [q H + u  for q in (i, f, g, o)  for u in u0 .. u1-1]        (4 Hu,)   Hu = u1 - u0
    Zu     = X W_ih[rows_k]^T                                            (T, B, 4Hu)  once, in the thread
    per step t:
      Ru   = h_{t-1} W_hh[rows_k]^T                                      (B, 4Hu)     all B rows, 1/n of W_hh
      i, f, g, o, c_t, h_t of units u0 .. u1-1, as in :func:`lstmkit.kernels_numba._cell_row`
      wait until every thread has written its units of h_t: the next step reads all of h_t

Each thread reads 1/n of W_hh per step for all B rows (twice the multiply-adds per byte read with
n = 2). Measured on this 2-core machine, PTB-medium's per-step product: (20, 650) @ (650, 1300)
per thread 280-330 µs against 390-460 µs for (10, 650) @ (650, 2600); the 2-layer forward
55.8 vs 70.2 ms (medians of 15, interleaved; torch 57.3 in another run of the same comparison).
At H=256, B=64 (W_hh 1 MB, in L2) it was 32.9 vs 33.9 ms, and at H=128 slower (4.83 vs 4.52):
the threads meet once per step, which costs more than a read from L2 saves. So the split is used
only where W_hh is larger than ``threads.UNIT_WEIGHTS`` (:func:`lstmkit.threads.n_unit_blocks`).

The threads meet at a spin barrier (an atomic counter): ``pause`` while waiting, then
``sched_yield`` after ``SPINS`` turns, so a thread waiting for one that lost its core (another
process, or OpenBLAS's threads still spinning after a multi-threaded call) gives the core up
instead of holding it. A thread that fails sets a flag that releases the others.

Only inference (nothing kept for backward), without projection: training keeps the row split,
whose caches its backward reads. Same numbers as one block: each unit's sums are those of the
packed kernel and of BLAS on the same k order (measured identical to the row split, to the bit).

numba caches the compiled loops on disk keyed on this file; they inline functions of
kernels_numba and packed_gemm, so after editing those, touch this file too.
"""

from __future__ import annotations

import ctypes

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import kernels_numba as kn
from . import packed_gemm, threads

SPINS = 4000  # turns of `pause` (~15 ns each here: ~60 µs) before a waiting thread yields its core each turn


def _sched_yield_address() -> int:
    """Address of libc's ``sched_yield`` (0 if not found: the barrier then only spins)."""
    try:
        return ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value or 0
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return 0


SCHED_YIELD = _sched_yield_address()


@intrinsic
def _atomic_add(typingctx, arr, idx, val):
    """arr[idx] += val atomically (sequentially consistent), arr an int64 array."""
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    """arr[idx], read atomically (acquire: what another thread wrote before its add is seen)."""
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def _pause(typingctx):
    """The x86 ``pause`` hint of a spin-wait loop."""

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _yield(typingctx, fn):
    """Call ``int fn(void)`` at address fn (``sched_yield``); the address is an argument, not a
    constant, so the compiled code stays valid in another process (numba's disk cache)."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [])
        return context.get_dummy_value()

    return types.void(types.intp), codegen


@numba.njit(inline="always")
def _barrier(sync, n, t, yield_fn):
    """Wait until all n threads have finished step t: sync[0] counts arrivals (n per step).
    False if a thread failed (sync[1] set by :func:`lstm_infer_units`)."""
    _atomic_add(sync, 0, 1)
    target = n * (t + 1)
    turns = 0
    while _atomic_load(sync, 0) < target:
        if _atomic_load(sync, 1) != 0:
            return False
        if turns < SPINS or yield_fn == 0:
            _pause()
            turns += 1
        else:
            _yield(yield_fn)
    return True


@numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
def _cell_units(Zu, t, bb, Ru, bu, C, cp, cn, Hs, u0):
    """Batch row bb of step t for the units u0 .. u0+Hu-1, in place (:func:`kernels_numba._cell_row`
    on a thread's units): Zu[t, bb] (4Hu,) holds x_t W_iu^T on entry, gate by gate (i, f, g, o),
    and the activated gates on exit; Ru[bb] (4Hu,) h_{t-1} W_u^T; bu (4Hu,) b_ih + b_hh of these
    rows; C[cp, bb, u0:] c_{t-1}, C[cn, bb, u0:] gets c_t; Hs[t + 1, bb, u0:] gets h_t.
    One short loop per array written, as in the forward of one block (they vectorise)."""
    Hu = Ru.shape[1] // 4
    g, o = 2 * Hu, 3 * Hu  # i at 0, f at Hu
    for k in range(2 * Hu):  # i, f = σ(x W_ih^T + b + h_{t-1} W_hh^T)
        Zu[t, bb, k] = kn._sigmoid(Zu[t, bb, k] + bu[k] + Ru[bb, k])
    for j in range(Hu):  # g = tanh(...)
        Zu[t, bb, g + j] = kn._tanh(Zu[t, bb, g + j] + bu[g + j] + Ru[bb, g + j])
    for j in range(Hu):  # o = σ(...)
        Zu[t, bb, o + j] = kn._sigmoid(Zu[t, bb, o + j] + bu[o + j] + Ru[bb, o + j])
    for j in range(Hu):  # c_t = f * c_{t-1} + i * g
        C[cn, bb, u0 + j] = Zu[t, bb, Hu + j] * C[cp, bb, u0 + j] + Zu[t, bb, j] * Zu[t, bb, g + j]
    for j in range(Hu):  # h_t = o * tanh(c_t)
        Hs[t + 1, bb, u0 + j] = Zu[t, bb, o + j] * kn._tanh(C[cn, bb, u0 + j])


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True)
def _infer_units(x, W_iu, Wp, bu, hs, cs, valid, gemm, mk, u0, sync, n, yield_fn):
    """One of n threads of :func:`lstm_infer_units`: units u0 .. u0+Hu-1 of every row, all steps.

    x (T, B, I); W_iu (4Hu, I) these units' rows of W_ih; Wp these rows of W_hh packed
    (:func:`lstmkit.packed_gemm.pack`, transposed); bu (4Hu,); hs (T+1, B, H) and cs (2, B, H)
    shared by the threads, each writing only its units; valid (T, B) or (0, 0).
    """
    T, B, I = x.shape
    Hu = W_iu.shape[0] // 4
    Zu = np.empty((T, B, 4 * Hu), dtype=x.dtype)  # X W_iu^T                                (T, B, 4Hu)
    kn._gemm(gemm, x.reshape(T * B, I), False, W_iu, True, Zu.reshape(T * B, 4 * Hu))
    Ru = np.empty((B, 4 * Hu), dtype=x.dtype)
    tmp = packed_gemm.scratch(B, Wp, 4 * Hu)
    masked = valid.shape[0] > 0
    for t in range(T):
        ct, cn = t % 2, (t + 1) % 2
        packed_gemm.matmul(hs, t, Wp, Ru, tmp, mk)  # h_{t-1} W_u^T, all of h_{t-1}       (B, 4Hu)
        for bb in range(B):
            _cell_units(Zu, t, bb, Ru, bu, cs, ct, cn, hs, u0)
        if masked:  # a padded row keeps the previous state
            for bb in range(B):
                if valid[t, bb] == 0:
                    for j in range(u0, u0 + Hu):
                        cs[cn, bb, j] = cs[ct, bb, j]
                        hs[t + 1, bb, j] = hs[t, bb, j]
        if not _barrier(sync, n, t, yield_fn):  # every unit of h_t written before step t+1 reads it
            return


def lstm_infer_units(x, W_ih, W_hh, b, h0, c0, mask, n):
    """:func:`lstmkit.kernels_numba.lstm_forward` with ``keep=False`` and no projection, the hidden
    units split over n threads (see the module docstring).

    Args: x (T, B, I); W_ih (4H, I); W_hh (4H, H); b (4H,); h0, c0 (B, H); mask (T, B, 1) or None;
    n threads (:func:`lstmkit.threads.n_unit_blocks`). All of dtype x.dtype, C-contiguous.
    Returns: y (T, B, H) with zeros at padded steps, h_T (B, H), c_T (B, H), None.
    """
    T, B, _ = x.shape
    G, H = W_hh.shape
    dt = x.dtype
    gemm, mk = kn.GEMM[dt], kn._packed_kernels(dt)
    valid = kn._valid(mask, T, B)
    hs = np.empty((T + 1, B, H), dtype=dt)  # h_0 .. h_T, each thread writing its units
    hs[0] = h0
    cs = np.empty((2, B, H), dtype=dt)  # c_{t-1}, c_t (rolling)
    cs[0] = c0
    units = threads.unit_bounds(H, n)
    nr = 128 // dt.itemsize  # two 512-bit vectors per panel row
    sync = np.zeros(2, dtype=np.int64)  # [arrivals, a thread failed]

    def run(k):
        try:
            u0, u1 = units[k], units[k + 1]
            rows = np.concatenate([np.arange(q * H + u0, q * H + u1) for q in range(4)])  # gates i, f, g, o
            Wp = packed_gemm.pack(np.ascontiguousarray(W_hh[rows]), True, nr)
            _infer_units(x, np.ascontiguousarray(W_ih[rows]), Wp, np.ascontiguousarray(b[rows]), hs, cs, valid,
                         gemm, mk, u0, sync, n, SCHED_YIELD)  # fmt: skip
        except BaseException:
            sync[1] = 1  # the other threads stop waiting for this one
            raise

    threads.in_parallel(run, n)
    h_T, c_T = hs[T].copy(), cs[T % 2].copy()
    y = hs[1:]  # nothing else holds hs: y is a view of it
    if mask is not None:
        y *= mask
    return y, h_T, c_T, None
