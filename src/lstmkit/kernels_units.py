"""Compiled forward and backward of a large LSTM layer with its hidden units split over lstmkit's threads.

The row split of :mod:`lstmkit.threads` gives each thread some rows of the batch and the whole
time loop; each thread then reads all of W_hh at every step. When W_hh is larger than a core's
L2 cache (PTB-medium's 2600 x 650: 6.8 MB against 2 MB), it comes from the shared cache at every
step, once per thread, and that read is what the per-step product waits on. Here each of n threads
takes the hidden units ``u0 .. u1-1`` instead, for every row of the batch, and with them the rows
of W_ih, W_hh and b that feed those units' four gates (gate q of unit u is row q H + u)::

    forward, thread k (Hu = u1 - u0 units):
      Z_k  = X W_ih[q H + u0 : q H + u1]^T  for each gate q                (T, B, 4Hu)   once
      per step t:
        R_k  = h_{t-1} W_hh[rows_k]^T                                     (B, 4Hu)      all B rows, 1/n of W_hh
        i, f, g, o, c_t, h_t of units u0 .. u1-1, as :func:`lstmkit.kernels_numba._cell_row`
        wait until every thread has written its units of h_t (the next product reads all of h_t)
    backward, thread k, per step t from T-1:
        dh_t and the cell's backward for units u0 .. u1-1: their columns of dz_t (B, 4H)
        wait until every thread has written its part of dz_t
        dh_{t-1}[:, u0:u1] = dz_t W_hh[:, u0:u1]                          (B, Hu)       1/n of W_hh
      then these units' rows of dW_ih, dW_hh, db (the packed kernel reading these columns of dZ as
      stored: kernels_numba._weight_grad), and 1/n of the rows of dX = dZ W_ih

Each thread reads 1/n of W_hh per step for all B rows: twice the multiply-adds per byte read with
n = 2. Measured on this 2-core machine, PTB-medium's per-step product: (20, 650) @ (650, 1300) per
thread 280-330 µs against 390-460 µs for (10, 650) @ (650, 2600). The 2-layer model, interleaved
with torch in one process (11 rounds, two processes): forward 42.4 / 44.0 ms against 49.8 / 51.1
with the rows split (torch 39.4 / 39.5); training 130.0 / 132.6 against 157.2 / 149.9 (torch
140.9 / 150.7). At H=256, B=64 (W_hh 1 MB, in L2) the forward was no faster (41.1 vs 40.7 ms),
and at H=128 or less slower (H=128, B=32: 4.67 vs 3.98 ms): the threads meet once per step,
which costs more than a read from L2 saves. So the split is used only where W_hh is larger than
``threads.UNIT_WEIGHTS`` (:func:`lstmkit.threads.n_unit_blocks`), for layers without projection.

The threads meet at a spin barrier (an atomic counter): ``pause`` while waiting, then
``sched_yield`` after ``SPINS`` turns, so a thread waiting for one that lost its core (another
process, or OpenBLAS's threads still spinning after a multi-threaded call) gives the core up
instead of holding it. A thread that fails sets a flag that releases the others. All products in
the threads are single-threaded (NumPy's BLAS is set to one thread meanwhile by
:func:`lstmkit.threads.in_parallel`), so no other thread pool competes with the barrier.

The forward keeps one block's cache (:class:`lstmkit.kernels_numba.FastLSTMCache`), so either
backward can read it. Same numbers as one block to round-off: each unit's sums are the packed
kernel's over the same k as one block's (a split batch's; an unsplit one's weight gradients are
BLAS's, which may order the sums differently).

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

from . import _jit as jit
from . import kernels_numba as kn
from . import kernels, packed_gemm, threads, workspace

SPINS = 4000  # turns of `pause` (~15 ns each here: ~60 µs) before a waiting thread yields its core each turn


def _sched_yield_address() -> int:
    """Address of libc's ``sched_yield`` (0 if not found: the barrier then only spins)."""
    try:
        return ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value or 0
    except (OSError, AttributeError, TypeError):  # pragma: no cover - not glibc (Windows: CDLL(None) is a TypeError)
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
    False if a thread failed (sync[1] set by :func:`_run_threads`)."""
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
def _cell_units(Z, zu0, t, bb, Ru, b, C, cp, cn, Hs, ht, u0):
    """Batch row bb of step t for the units u0 .. u0+Hu-1, in place: :func:`kernels_numba._cell_row`
    on one thread's units.

    Z (T, B, 4 zH): gate q of unit u0 + j is Z[t, bb, q zH + zu0 + j], x_t W_ih^T on entry and the
    activated gate on exit (zH = H, zu0 = u0 in the whole-layer acts; zH = Hu, zu0 = 0 in a
    thread's own array); Ru[bb, q Hu + j] is h_{t-1} W_hh^T for these units; b (4H,);
    C[cp, bb, u0 + j] is c_{t-1}, C[cn, bb, u0 + j] gets c_t; Hs[ht, bb, u0 + j] gets h_t.

    The loops run on 1-D views of each gate's run of units: indexed through offsets known only at
    run time, the same loops were not vectorised (measured 81-93 µs against 14-16 µs a step at
    B=20, Hu=330). One short loop per array written, as in the forward of one block.
    """
    Hu, zH, H = Ru.shape[1] // 4, Z.shape[2] // 4, C.shape[2]
    z, r = Z[t, bb], Ru[bb]
    for q in range(4):  # i, f, o = σ(x W_ih^T + b + h_{t-1} W_hh^T); g = tanh(...) = c~_t
        zq, bq, rq = z[q * zH + zu0 : q * zH + zu0 + Hu], b[q * H + u0 : q * H + u0 + Hu], r[q * Hu : (q + 1) * Hu]
        if q == 2:
            for j in range(Hu):
                zq[j] = kn._tanh(zq[j] + bq[j] + rq[j])
        else:
            for j in range(Hu):
                zq[j] = kn._sigmoid(zq[j] + bq[j] + rq[j])
    i, f, g, o = z[zu0:], z[zH + zu0 :], z[2 * zH + zu0 :], z[3 * zH + zu0 :]
    c_prev, c, h = C[cp, bb, u0:], C[cn, bb, u0:], Hs[ht, bb, u0:]
    for j in range(Hu):  # c_t = f * c_{t-1} + i * g
        c[j] = f[j] * c_prev[j] + i[j] * g[j]
    for j in range(Hu):  # h_t = o * tanh(c_t)
        h[j] = o[j] * kn._tanh(c[j])


@numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
def _cell_units_backward(A, t, bb, C, DCN, DH, DZ, tc, dc, u0):
    """Backward of :func:`_cell_units` (:func:`kernels_numba._cell_row_backward` on one thread's units).

    A[t, bb, q H + u0 + j] the activated gates; C[t + 1, bb, u0 + j], C[t, bb, u0 + j] c_t, c_{t-1};
    DCN[bb, j] (Hu,) dL/dc_t from step t+1 on entry, dL/dc_{t-1} on exit; DH[bb, j] dL/dh_t;
    DZ[t, bb, q H + u0 + j] out: dL/dz_t; tc, dc (Hu,) scratch. On 1-D views, as the forward.
    DZ may be A itself, as in kernels_numba._cell_row_backward (the same order of reads and writes).
    """
    Hu, H = DCN.shape[1], C.shape[2]
    one = A.dtype.type(1.0)
    a, dz = A[t, bb], DZ[t, bb]
    i, f, g, o = a[u0:], a[H + u0 :], a[2 * H + u0 :], a[3 * H + u0 :]
    di, df, dg, do = dz[u0:], dz[H + u0 :], dz[2 * H + u0 :], dz[3 * H + u0 :]
    c, c_prev, dcn, dh = C[t + 1, bb, u0:], C[t, bb, u0:], DCN[bb], DH[bb]
    for j in range(Hu):  # tanh(c_t), recomputed
        tc[j] = kn._tanh(c[j])
    for j in range(Hu):  # dc_t = dc_next + dh * o * (1 - tanh²(c_t))
        dc[j] = dcn[j] + dh[j] * o[j] * (one - tc[j] * tc[j])
    for j in range(Hu):  # do = dh * tanh(c_t), through σ
        do[j] = dh[j] * tc[j] * (o[j] * (one - o[j]))
    for j in range(Hu):  # dc_next = dc * f
        dcn[j] = dc[j] * f[j]
    for j in range(Hu):  # df = dc * c_{t-1}, through σ
        df[j] = dc[j] * c_prev[j] * (f[j] * (one - f[j]))
    for j in range(Hu):  # i, kept: di is written over it
        tc[j] = i[j]
    for j in range(Hu):  # di = dc * g, through σ
        di[j] = dc[j] * g[j] * (tc[j] * (one - tc[j]))
    for j in range(Hu):  # dg = dc * i, through tanh
        dg[j] = dc[j] * tc[j] * (one - g[j] * g[j])


@jit.njit(error_model="numpy", fastmath={"contract"}, nogil=True)
def _forward_units(x, Wip, Wp, b, acts, hs, cs, valid, keep, mk, u0, u1, sync, n, yield_fn):
    """One of n threads of :func:`lstm_forward_units`: units u0 .. u1-1 of every row, all steps.

    x (T, B, I); b (4H,) whole; Wip and Wp the rows of W_ih and of W_hh for these units, gate by
    gate, packed (:func:`lstmkit.packed_gemm.pack`, transposed). Shared by the threads, each writing
    only its units: acts (T, B, 4H) (the gates, with ``keep``; else one step of them is this
    thread's own), hs (T+1, B, H), cs (T+1 or 2 with ``keep`` False, B, H). valid (T, B) or (0, 0).
    """
    T, B, _ = x.shape
    H, Hu = hs.shape[2], u1 - u0
    # the gates go to acts (T, B, 4H) when kept, else to this thread's own (1, B, 4Hu): one step
    Z = acts if keep else np.empty((1, B, 4 * Hu), dtype=x.dtype)
    zH, zu0 = (H, u0) if keep else (Hu, 0)  # gate q of unit u0 + j is Z[., ., q zH + zu0 + j]
    # x_t W_u^T, W_u = W_ih's rows of these units (gates i, f, g, o), on the packed kernel (AVX-512
    # whatever OpenBLAS runs; PTB-medium's (35, 20, 650) @ (650, 1300) a thread: 2.9-3.1 ms against
    # 5.2-5.5 through 1-thread OpenBLAS with OPENBLAS_CORETYPE=Haswell), a step at a time in the
    # loop, as kernels_numba._forward (paired against all steps before it: PTB-medium training
    # -1 to -9%, inference -6 to +3%, four runs)
    Xu = np.empty((B, 4 * Hu), dtype=x.dtype)
    tmpx = packed_gemm.scratch(B, Wip, 4 * Hu)
    Ru = np.empty((B, 4 * Hu), dtype=x.dtype)
    tmp = packed_gemm.scratch(B, Wp, 4 * Hu)
    masked = valid.shape[0] > 0
    for t in range(T):
        ct, cn = (t, t + 1) if keep else (t % 2, (t + 1) % 2)
        tz = t if keep else 0
        packed_gemm.matmul(x, t, Wip, Xu, tmpx, mk)  # x_t W_u^T                              (B, 4Hu)
        for bb in range(B):  # into gate q's columns of Z
            for q in range(4):
                zq, xq = Z[tz, bb, q * zH + zu0 : q * zH + zu0 + Hu], Xu[bb, q * Hu : (q + 1) * Hu]
                for j in range(Hu):
                    zq[j] = xq[j]
        packed_gemm.matmul(hs, t, Wp, Ru, tmp, mk)  # h_{t-1} W_u^T, all of h_{t-1}       (B, 4Hu)
        for bb in range(B):
            _cell_units(Z, zu0, tz, bb, Ru, b, cs, ct, cn, hs, t + 1, u0)
        if masked:  # a padded row keeps the previous state
            for bb in range(B):
                if valid[t, bb] == 0:
                    for j in range(u0, u1):
                        cs[cn, bb, j] = cs[ct, bb, j]
                        hs[t + 1, bb, j] = hs[t, bb, j]
        if not _barrier(sync, n, t, yield_fn):  # every unit of h_t written before step t+1 reads it
            return


@numba.njit(inline="always")
def _gate_rows(H, u0, u1):
    """The rows of units u0 .. u1-1 in each gate q (i, f, g, o) of a weight of 4H rows: (4, 2),
    [q H + u0, q H + u1) each."""
    runs = np.empty((4, 2), dtype=np.int64)
    for q in range(4):
        runs[q, 0], runs[q, 1] = q * H + u0, q * H + u1
    return runs


@jit.njit(error_model="numpy", fastmath={"contract"}, nogil=True)
def _backward_units(dy, dh_T, dc_T, x, acts, hs, cs, valid, Wp, Wxp, grads, add, gemm, mk, u0, u1, m0, m1,
                    xbuf, hbuf, sync, n, yield_fn):  # fmt: skip
    """One of n threads of :func:`lstm_backward_units`: BPTT for units u0 .. u1-1 of every row.

    Per step t (from T-1): dh_t and the cell's backward for these units (all their inputs are
    this thread's own), writing their columns of dz_t over their gates in acts[t] (T, B, 4H: as
    kernels_numba._backward, nothing reads the gates again); then, once every thread
    has written its part of dz_t, dh_{t-1} of these units = dz_t W_hh[:, u0:u1] (Wp: that block
    packed, K = 4H). After the loop (every thread has passed the last step's barrier: dz_all is
    whole), the products after kernels_numba's backward loop split the same way: these units'
    rows of dW_ih and dW_hh, and rows m0:m1 of dX (T B, I); db is summed in the loop. grads =
    (dx, dW_ih, dW_hh, db, dh0, dc0), shared, each thread writing its part; db zeros on entry.
    ``add``: these rows of dW_ih and dW_hh are added to those arrays (a layer's gradients), not
    written.
    xbuf, hbuf: where X (T B, I) and H_prev (T B, H) are packed for the weight gradients
    (:func:`lstmkit.packed_gemm.pack_into`), or empty for new arrays.
    """
    dx, dW_ih, dW_hh, db, dh0, dc0 = grads
    T, B, G = acts.shape
    H, Hu = G // 4, u1 - u0
    dz_all = acts  # dL/dz_t over the gates of step t (_cell_units_backward reads each before writing it)
    dh_next = np.empty((B, Hu), dtype=acts.dtype)  # dL/dh_t of these units from the later steps
    dc_next = np.empty((B, Hu), dtype=acts.dtype)
    for bb in range(B):
        for j in range(Hu):
            dh_next[bb, j] = dh_T[bb, u0 + j]
            dc_next[bb, j] = dc_T[bb, u0 + j]
    dh = np.empty((B, Hu), dtype=acts.dtype)
    tc, dc = np.empty(Hu, dtype=acts.dtype), np.empty(Hu, dtype=acts.dtype)
    tmp = packed_gemm.scratch(B, Wp, Hu)
    masked = valid.shape[0] > 0
    for s in range(T):
        t = T - 1 - s
        for bb in range(B):
            if masked and valid[t, bb] == 0:  # dy at padded steps is ignored; no gate gradient
                for j in range(Hu):
                    dh[bb, j] = dh_next[bb, j]
                for q in range(4):
                    for j in range(Hu):
                        dz_all[t, bb, q * H + u0 + j] = 0
                continue
            for j in range(Hu):  # dh_t = dy_t + dh_next
                dh[bb, j] = dy[t, bb, u0 + j] + dh_next[bb, j]
            _cell_units_backward(acts, t, bb, cs, dc_next, dh, dz_all, tc, dc, u0)
            for q in range(4):  # db = Σ dZ, these units' entries, the row while it is in cache
                dbq, dzq = db[q * H + u0 : q * H + u1], dz_all[t, bb, q * H + u0 : q * H + u1]
                for j in range(Hu):
                    dbq[j] += dzq[j]
        if not _barrier(sync, n, s, yield_fn):  # all of dz_t written before any thread reads it
            return
        packed_gemm.matmul(dz_all, t, Wp, dh_next, tmp, mk)  # dz_t W_hh[:, u0:u1]        (B, Hu)
        if masked:
            for bb in range(B):
                if valid[t, bb] == 0:  # padded row: dh passes straight through
                    for j in range(Hu):
                        dh_next[bb, j] += dh[bb, j]
    for bb in range(B):
        for j in range(Hu):
            dh0[bb, u0 + j] = dh_next[bb, j]
            dc0[bb, u0 + j] = dc_next[bb, j]
    I = x.shape[2]
    x2, dZ, hp = x.reshape(T * B, I), dz_all.reshape(T * B, G), hs[:T].reshape(T * B, H)
    runs = _gate_rows(H, u0, u1)
    kn._weight_grad_into(dZ, x2, dW_ih, runs, gemm, mk, True, xbuf, add)  # these rows of dW_ih (+)= dZ^T X
    kn._weight_grad_into(dZ, hp, dW_hh, runs, gemm, mk, True, hbuf, add)  # these rows of dW_hh (+)= dZ^T H_prev
    # dX = dZ W_ih, rows m0:m1, on W_ih packed (Wxp: as the forward's products, not OpenBLAS's kernels)
    dx2 = dx.reshape(T * B, I)
    dz3 = dZ[m0:m1].reshape(1, m1 - m0, G)
    packed_gemm.matmul(dz3, 0, Wxp, dx2[m0:m1], packed_gemm.scratch(m1 - m0, Wxp, I), mk)


def _run_threads(n, body):
    """body(k, sync) in n threads (lstmkit.threads.in_parallel); a thread that fails sets sync[1],
    which releases the others from the barrier, and its exception comes out here."""
    sync = np.zeros(2, dtype=np.int64)  # [arrivals, a thread failed]

    def run(k):
        try:
            body(k, sync)
        except BaseException:
            sync[1] = 1  # the other threads stop waiting for this one
            raise

    threads.in_parallel(run, n)


def take_packs(shapes, dt) -> list:
    """Buffers from :mod:`lstmkit.workspace` for the packs of operands of these (K, N) shapes
    (:func:`lstmkit.packed_gemm.pack_elements` each); give them back (:func:`give_packs`) once
    nothing reads the packs. A new array of a few MB faults in its pages on every call where glibc
    has handed the last one back to the system: PTB-medium's training step measured 8,988 page
    faults and 34 ms of system time in a 79 ms backward (2 threads), against none with these."""
    nr = packed_gemm.PANEL_BYTES // dt.itemsize
    return [workspace.take((packed_gemm.pack_elements(K, N, nr, dt.itemsize),), dt) for K, N in shapes]


def give_packs(bufs) -> None:
    """Give back the buffers of :func:`take_packs` (None: nothing taken)."""
    for buf in bufs or ():
        workspace.give(buf)


def row_pack_buffers(W_ih, W_hh, u0, u1) -> list:
    """:func:`take_packs` for the forward's operands of units u0 .. u1-1 (:func:`_packed_rows`)."""
    Hu4 = 4 * (u1 - u0)
    return take_packs(((W_ih.shape[1], Hu4), (W_hh.shape[1], Hu4)), W_hh.dtype)


def column_pack_buffers(W_ih, W_hh, u0, u1, rows) -> list:
    """:func:`take_packs` for the backward's operands of units u0 .. u1-1 over ``rows`` = T B rows:
    W_hh's columns and W_ih (:func:`_packed_columns`), then X and H_prev (the weight gradients)."""
    G, I, H = W_hh.shape[0], W_ih.shape[1], W_hh.shape[1]
    return take_packs(((G, u1 - u0), (G, I), (rows, I), (rows, H)), W_hh.dtype)


def _packed_rows(W_ih, W_hh, u0, u1, bufs=None):
    """The rows of W_ih (4H, I) and W_hh (4H, H) feeding units u0 .. u1-1 (gates i, f, g, o: rows
    q H + u0 .. q H + u1 - 1), gathered and packed in one pass for their transposed products
    (:func:`lstmkit.packed_gemm.pack_gathered`): (Wip, Wp), the B operands of x_t W_ih[rows]^T and
    h_{t-1} W_hh[rows]^T (4 (u1 - u0) columns). bufs: their buffers (:func:`take_packs` of
    (I, 4 Hu) and (H, 4 Hu)), or None for new arrays (packs a frozen LSTM keeps)."""
    H = W_hh.shape[1]
    rows = np.concatenate([np.arange(q * H + u0, q * H + u1) for q in range(4)])
    nr, mk = packed_gemm.PANEL_BYTES // W_hh.dtype.itemsize, kn._packed_kernels(W_hh.dtype)
    if bufs is None:
        return packed_gemm.pack_gathered(W_ih, rows, nr, mk), packed_gemm.pack_gathered(W_hh, rows, nr, mk)
    return (packed_gemm.pack_gathered_into(bufs[0], W_ih, rows, nr, mk),
            packed_gemm.pack_gathered_into(bufs[1], W_hh, rows, nr, mk))  # fmt: skip


def _packed_columns(W_ih, W_hh, u0, u1, bufs):
    """The backward's B operands, packed as stored (:func:`lstmkit.packed_gemm.pack_into`) into
    bufs (:func:`take_packs` of (4H, u1 - u0) and (4H, I)): W_hh's columns of units u0 .. u1-1,
    (4H, u1 - u0), for dh_{t-1}[:, u0:u1] = dz_t W_hh[:, u0:u1]; and all of W_ih (4H, I), for the
    thread's rows of dX = dZ W_ih. (Wp, Wxp)."""
    nr = packed_gemm.PANEL_BYTES // W_hh.dtype.itemsize
    cols = workspace.take((W_hh.shape[0], u1 - u0), W_hh.dtype)  # W_hh[:, u0:u1], contiguous
    np.copyto(cols, W_hh[:, u0:u1])
    Wp = packed_gemm.pack_into(bufs[0], cols, False, nr)
    workspace.give(cols)
    return Wp, packed_gemm.pack_into(bufs[1], W_ih, False, nr)


def lstm_forward_units(x, W_ih, W_hh, b, h0, c0, mask, keep, n, prepared=None):
    """:func:`lstmkit.kernels_numba.lstm_forward` without projection, the hidden units split over
    n threads (:func:`lstmkit.threads.n_unit_blocks`; see the module docstring).

    Args: x (T, B, I); W_ih (4H, I); W_hh (4H, H); b (4H,); h0, c0 (B, H); mask (T, B, 1) or None;
    keep: keep the activations for backward. All of dtype x.dtype, C-contiguous. prepared: a dict
    kept by a caller whose weights do not change between calls (:meth:`lstmkit.LSTM.freeze`), or
    None: each thread's packed rows of W_ih and W_hh (:func:`_packed_rows`) are stored in it on the
    first call and read from it after, for the same n and dtype (else packed again, replacing them).
    Returns: y (T, B, H) with zeros at padded steps, h_T (B, H), c_T (B, H), and a
    :class:`lstmkit.kernels_numba.FastLSTMCache` (one block's: any backward reads it) or None.
    """
    T, B, _ = x.shape
    G, H = W_hh.shape
    dt = x.dtype
    mk = kn._packed_kernels(dt)
    valid = kn._valid(mask, T, B)
    # kept for backward: from the workspace (given back by kernels_numba.recycle); hs is handed
    # back in inference (y is a view of it), so it is new then
    take = workspace.take if keep else np.empty
    acts = take((T if keep else 0, B, G), dt)  # X W_ih^T, then the gates; each thread its units
    hs = take((T + 1, B, H), dt)  # h_0 .. h_T
    hs[0] = h0
    cs = take((T + 1 if keep else 2, B, H), dt)  # c_0 .. c_T (inference: 2 rolling)
    cs[0] = c0
    units = threads.unit_bounds(H, n)
    kept = prepared.get("units") if prepared is not None else None  # (n, dtype, packs) of an earlier call
    fresh = kept is None or kept[:2] != (n, dt)
    packs = [None] * n if fresh else kept[2]  # fresh: each thread packs its own rows, in its thread

    bufs = [None] * n  # each thread's buffers of its packs, where nothing keeps them after the call

    def body(k, sync):
        u0, u1 = units[k], units[k + 1]
        if fresh:
            if prepared is None:
                bufs[k] = row_pack_buffers(W_ih, W_hh, u0, u1)
            packs[k] = _packed_rows(W_ih, W_hh, u0, u1, bufs[k])
        Wip, Wp = packs[k]
        _forward_units(x, Wip, Wp, b, acts, hs, cs, valid, keep, mk, u0, u1, sync, n, SCHED_YIELD)

    try:
        _run_threads(n, body)
    finally:  # the packs are read no more
        for k in range(n):
            give_packs(bufs[k])
    if fresh and prepared is not None:
        prepared["units"] = (n, dt, packs)
    h_T, c_T = hs[T].copy(), cs[T if keep else T % 2].copy()
    if not keep:
        y = hs[1:]  # nothing else holds hs: y is a view of it
        if mask is not None:
            y *= mask
        return y, h_T, c_T, None
    y = hs[1:] * mask if mask is not None else hs[1:].copy()
    rs = np.zeros((0, B, H), dtype=dt)  # no projection
    return y, h_T, c_T, kn.FastLSTMCache(x, acts, hs, cs, rs, valid)


def _writes_into(g, W) -> bool:
    """Whether the compiled products may add W's gradient into g themselves: g a C-contiguous,
    writeable array of W's shape and dtype (they write by offset, unchecked)."""
    return g.shape == W.shape and g.dtype == W.dtype and g.flags.c_contiguous and g.flags.writeable


def lstm_backward_units(dy, dh_T, dc_T, W_ih, W_hh, cache, n, add_to=None):
    """:func:`lstmkit.kernels_numba.lstm_backward` of a layer without projection, from one block's
    cache, the hidden units split over n threads. Returns dx, dW_ih, dW_hh, db, None, dh0, dc0;
    dW_ih and dW_hh None with ``add_to`` (gW_ih, gW_hh): added to those, by the products
    themselves where they are C-contiguous, writeable arrays of the weights' shapes and x's dtype
    (a layer's gradients are), else through arrays of the workspace."""
    x, acts, hs, cs, valid = cache.x, cache.acts, cache.hs, cache.cs, cache.valid
    T, B, G = acts.shape
    H = G // 4
    dt = x.dtype
    gemm, mk = kn.GEMM[dt], kn._packed_kernels(dt)
    I = x.shape[2]
    add = add_to is not None and all(_writes_into(g, W) for g, W in zip(add_to, (W_ih, W_hh)))
    if add:
        dW = add_to
    elif add_to is not None:  # added after, from the workspace's arrays (given back below)
        dW = (workspace.take((G, I), dt), workspace.take((G, H), dt))
    else:  # the caller's
        dW = (np.empty((G, I), dtype=dt), np.empty((G, H), dtype=dt))
    grads = (np.empty((T, B, I), dtype=dt), *dW, np.zeros(G, dtype=dt), np.empty((B, H), dtype=dt),
             np.empty((B, H), dtype=dt))  # fmt: skip
    units, rows = threads.unit_bounds(H, n), threads.bounds(T * B, n)
    bufs = [None] * n  # each thread's buffers of its packs

    def body(k, sync):
        u0, u1 = units[k], units[k + 1]
        bufs[k] = column_pack_buffers(W_ih, W_hh, u0, u1, T * B)
        Wp, Wxp = _packed_columns(W_ih, W_hh, u0, u1, bufs[k])
        _backward_units(dy, dh_T, dc_T, x, acts, hs, cs, valid, Wp, Wxp, grads, add, gemm, mk, u0, u1,
                        rows[k], rows[k + 1], bufs[k][2], bufs[k][3], sync, n, SCHED_YIELD)  # fmt: skip

    try:
        _run_threads(n, body)
    finally:
        for k in range(n):
            give_packs(bufs[k])
    dx, dW_ih, dW_hh, db, dh0, dc0 = grads
    if add:
        dW_ih = dW_hh = None
    elif add_to is not None:
        dW_ih, dW_hh = kernels.add_weight_grads(add_to, dW_ih, dW_hh)
        workspace.give(dW[0])
        workspace.give(dW[1])
    return dx, dW_ih, dW_hh, db, None, dh0, dc0
