"""lstmkit against torch.nn.LSTM and ONNX Runtime, interleaved in one process (issue 6).

    python benchmarks/bench_lstm.py            # full run (what `make bench` does), ~11 min
    python benchmarks/bench_lstm.py --quick    # few repetitions, for development on a busy machine

Every implementation runs with the same number of threads (``--threads``, default 2): the BLAS and
OpenMP environment variables are set before NumPy is imported, then torch, ONNX Runtime and numba
are told the same. Before anything is timed, every implementation's outputs (and, for training,
gradients) are compared with the others; a mismatch stops the run.

Per shape (T steps, B batch, I input, H hidden, L layers, D directions), float32:

* lstmkit (``backend="numba"``, the fast path, with ``lstmkit.set_num_threads(threads)``: a batch
  large enough runs as blocks of rows on lstmkit's threads; where it does, lstmkit's default,
  ``set_num_threads(1)``, is timed too and reported below the tables), lstmkit
  (``backend="numpy"``, the readable reference), torch (forward under ``inference_mode``; training = forward + backward of
  ``sum(y * w)`` with a fixed random ``w``, dx included) and ONNX Runtime (forward only, an ONNX
  ``LSTM`` graph built here with ``onnx.helper``).
* Implementations take turns in rounds (the order rotates each round); each turn starts after a
  0.2 s pause and one untimed call (so no library runs while another's idle threads still spin),
  then times a few calls; the table shows the median over all timed calls and the spread
  (interquartile range / median).
* GFLOP/s: forward = 2·T·B·4H·(I_l + H) per layer and direction, forward + backward = 3x that.
* The floor: the same matrix products lstmkit's fast path makes (same shapes, same BLAS, same
  loop), with no elementwise work; overhead per step = (lstmkit - floor) / (T·L·D), and the share
  of lstmkit's time spent outside the matrix products = 1 - floor / lstmkit.
* Memory: bytes of the activations kept for backward (lstmkit: its caches; torch: the tensors
  autograd saves, through ``saved_tensors_hooks``), parameters excluded, input included.
* The GEMM ceiling of this machine: NumPy's matmul at the largest product in the table.
* How much of its cores the host gave, measured before each case (:func:`host_probe`): lstmkit's
  packed kernel on one thread against all threads at once, each on its own operands.
* Calls after a pause (:func:`after_pauses`, small and long): each implementation called once after
  each 20 ms pause, in turn, as a server between requests calls it; lstmkit also with its pool
  threads placed by the system's scheduler alone (``threads._off_callers_cpu`` off).

Writes ``results/bench_lstm.md``, ``results/bench_lstm.json`` and ``results/bench_lstm.png`` (time
against T and against H) next to this file, or under ``--out``. The ONNX graph is built in
``bench_onnx.py``, the tables and the plot in ``bench_report.py``.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="few repetitions and a short sweep (development)")
    p.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    p.add_argument("--only", default="", help="comma-separated case names to run (default: all)")
    p.add_argument("--no-sweep", action="store_true", help="skip the T/H sweep and its plot")
    p.add_argument("--budget", type=float, default=None, help="seconds of timed calls per implementation and case")
    p.add_argument("--render", metavar="JSON", help="only rewrite the Markdown next to a results JSON (no timing)")
    p.add_argument(
        "--openblas-thread-timeout", type=int, metavar="N",
        help="set OPENBLAS_THREAD_TIMEOUT=N (4..30: idle BLAS threads spin 2^N cycles before sleeping); "
        "default: OpenBLAS's own. N=4 tamed SciPy's OpenBLAS on a busy 2-core machine",
    )  # fmt: skip
    return p.parse_args(argv)


ARGS = _parse() if __name__ == "__main__" else None
_THREADS = str(ARGS.threads if ARGS else 2)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = _THREADS  # before NumPy (and its BLAS) is imported
if ARGS and ARGS.openblas_thread_timeout:
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(ARGS.openblas_thread_timeout)

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
import lstmkit  # noqa: E402
from lstmkit import kernels_numba  # noqa: E402
from lstmkit import threads as lk_threads  # noqa: E402

from bench_onnx import make_onnx_session  # noqa: E402  (benchmarks/ is the script's directory)
from bench_report import markdown, plot  # noqa: E402


@dataclass
class Case:
    name: str
    T: int
    B: int
    I: int  # noqa: E741
    H: int
    L: int = 1
    D: int = 1
    streaming: bool = False  # B=1 inference, one step per call, state carried by the caller
    train: bool = True  # time forward + backward too

    def flops_forward(self) -> float:
        """2·T·B·4H·(I_l + H) summed over layers and directions."""
        total = 0.0
        for layer in range(self.L):
            i_l = self.I if layer == 0 else self.D * self.H
            total += self.D * 2 * self.T * self.B * 4 * self.H * (i_l + self.H)
        return total

    def label(self) -> str:
        s = f"T={self.T} B={self.B} I={self.I} H={self.H}"
        if self.L > 1:
            s += f" L={self.L}"
        if self.D > 1:
            s += " bidir"
        if self.streaming:
            s += " step-by-step"
        return s


CASES = [
    Case("tiny", 50, 1, 10, 20),
    Case("small-b4", 100, 4, 32, 64),  # the corner of the "tiny and small" class (B <= 4, H <= 64)
    Case("small", 100, 32, 32, 128),
    Case("medium", 100, 64, 256, 256),
    Case("ptb-medium", 35, 20, 650, 650, L=2),
    Case("long", 1000, 16, 64, 64),
    Case("bidir-small", 100, 32, 32, 128, D=2),
    Case("stream-tiny", 50, 1, 10, 20, streaming=True, train=False),
    Case("stream-small", 100, 1, 32, 128, streaming=True, train=False),
]


# -- implementations ------------------------------------------------------------------------------
def make_lstmkit(case: Case, backend: str):
    m = lstmkit.LSTM(case.I, case.H, num_layers=case.L, bidirectional=case.D == 2, dtype=np.float32, seed=0)
    m.backend = backend
    return m.eval()


def make_torch(case: Case, state: dict):
    import torch

    m = torch.nn.LSTM(case.I, case.H, num_layers=case.L, bidirectional=case.D == 2)
    m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return m.eval()


# -- the timed calls of a whole sequence (x (T, B, I); w (T, B, D H), training's loss sum(y * w)) --
def lstmkit_calls(m, x, w):
    """(inference, training) of an lstmkit LSTM: forward under no_grad; forward + backward of sum(y·w)."""

    def fwd():
        with m.no_grad():
            m(x)

    def train():
        m(x)
        m.backward(w)

    return fwd, train


def torch_calls(tm, x, w):
    """(inference, training) of a torch.nn.LSTM: forward under inference_mode; forward + backward of
    sum(y·w), dx included, the gradients set to None before each."""
    import torch

    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    xg = xt.clone().requires_grad_(True)

    def fwd():
        with torch.inference_mode():
            tm(xt)

    def train():
        tm.zero_grad(set_to_none=True)
        xg.grad = None
        y, _ = tm(xg)
        (y * wt).sum().backward()

    return fwd, train


def onnx_call(sess, x, h0):
    """Inference of an ONNX Runtime session from make_onnx_session, initial states h0 (L D, B, H)."""
    return lambda: sess.run(None, {"X": x, "h0": h0, "c0": h0})


# -- the floor: lstmkit's matrix products alone ---------------------------------------------------
if kernels_numba.AVAILABLE:
    import numba

    from lstmkit import kernels_units, packed_gemm

    _gemm, _matmul, _operand = kernels_numba._gemm, kernels_numba._matmul, kernels_numba._operand

    @numba.njit(cache=True, nogil=True)  # nogil: split batches run their blocks in threads
    def _floor_forward(x2, W_ih, W_hh, acts2, hs, rec, gemm, mk, split):
        """The fast forward's products: X W_ih^T once, then h_{t-1} W_hh^T per step (same calls); when
        split, x_t W_ih^T and h_{t-1} W_hh^T per step in the loop, packed, as kernels_numba._forward."""
        T, B = hs.shape[0] - 1, hs.shape[1]
        in_loop = split and mk.size > 0
        x3, acts3 = x2.reshape(T, B, x2.shape[1]), acts2.reshape(T, B, acts2.shape[1])
        if not in_loop:
            _gemm(gemm, x2, False, W_ih, True, acts2)
        op_ih = kernels_numba._loop_operand(W_ih, True, B, mk, in_loop, T)
        op = _operand(W_hh, True, B, mk, split, True, T)  # no projection, no lengths: the loop
        for t in range(T):
            if in_loop:
                _matmul(x3, t, op_ih, acts3[0], gemm, mk)
            _matmul(hs, t, op, rec, gemm, mk)

    @numba.njit(cache=True, nogil=True)
    def _floor_units(x2, Wip, Wp, hs, ru, tmp, mk):
        """One thread of the units split's forward (lstmkit.kernels_units): per step, x_t W_ih^T on its
        units' packed rows of W_ih (Wip), then h_{t-1} W_u^T on its packed rows of W_hh (no barrier:
        the products alone)."""
        T, B, I = hs.shape[0] - 1, hs.shape[1], x2.shape[1]
        x3, xu = x2.reshape(T, B, I), np.empty((B, ru.shape[1]), dtype=x2.dtype)
        for t in range(T):
            packed_gemm.matmul(x3, t, Wip, xu, tmp, mk)  # x_t W_u^T on W_ih's packed rows of these units
            packed_gemm.matmul(hs, t, Wp, ru, tmp, mk)

    @numba.njit(cache=True, nogil=True)
    def _floor_units_backward(x2, Wxp, u0, Wp_cols, dz_all, hs, dh, tmp, dW_ih, dW_hh, dx2, m0, m1, gemm, mk, xbuf, hbuf):
        """One thread of the units split's backward: dz_t W_hh[:, u0:u1] per step, then its units'
        rows of dW_ih, dW_hh (X and H_prev packed into xbuf, hbuf) and its rows m0:m1 of dX (on
        W_ih packed, Wxp)."""
        T, B, G = dz_all.shape
        H, Hu, I = G // 4, dh.shape[1], x2.shape[1]
        for t in range(T - 1, -1, -1):
            packed_gemm.matmul(dz_all, t, Wp_cols, dh, tmp, mk)
        dZ, hp = dz_all.reshape(T * B, G), hs[:T].reshape(T * B, H)
        runs = kernels_units._gate_rows(H, u0, u0 + Hu)  # its rows of each gate
        kernels_numba._weight_grad_into(dZ, x2, dW_ih, runs, gemm, mk, True, xbuf, True)  # added to, as to a layer's grads
        kernels_numba._weight_grad_into(dZ, hp, dW_hh, runs, gemm, mk, True, hbuf, True)
        dz3 = dZ[m0:m1].reshape(1, m1 - m0, G)
        packed_gemm.matmul(dz3, 0, Wxp, dx2[m0:m1], packed_gemm.scratch(m1 - m0, Wxp, I), mk)

    @numba.njit(cache=True, nogil=True)  # nogil: split batches run their blocks in threads
    def _floor_backward(x2, W_ih, W_hh, dz_all, hs, dh_next, dW_ih, dW_hh, dx2, gemm, mk, split):
        """The fast backward's products: dz_t W_hh per step, then dZ^T X, dZ^T H_prev, dZ W_ih; when
        split, packed, as kernels_numba._backward: dz_t W_ih per step in the loop, the weight
        gradients as kernels_numba._weight_grad."""
        T, B, G = dz_all.shape
        in_loop = split and mk.size > 0
        dx3 = dx2.reshape(T, B, dx2.shape[1])
        op = _operand(W_hh, False, B, mk, split, False, T)
        op_ih = kernels_numba._loop_operand(W_ih, False, B, mk, in_loop, T)
        for t in range(T - 1, -1, -1):
            _matmul(dz_all, t, op, dh_next, gemm, mk)
            if in_loop:
                _matmul(dz_all, t, op_ih, dx3[t], gemm, mk)
        dZ = dz_all.reshape(T * B, G)
        whole = np.array([[0, G]], dtype=np.int64)
        kernels_numba._weight_grad(dZ, x2, dW_ih, whole, gemm, mk, in_loop)
        kernels_numba._weight_grad(dZ, hs[:T].reshape(T * B, hs.shape[2]), dW_hh, whole, gemm, mk, in_loop)
        if not in_loop:
            _gemm(gemm, dZ, False, W_ih, False, dx2)


# -- the host: how much of its cores it gave --------------------------------------------------------
if kernels_numba.AVAILABLE:

    @numba.njit(cache=True, nogil=True)
    def _probe_kernel(A, Bp, out, tmp, mk, reps):
        """reps products (8, 256) @ (256, 32) on packed B: operands in L1, bound by the multiply-adds."""
        for _ in range(reps):
            packed_gemm.matmul(A, 0, Bp, out, tmp, mk)


def host_probe(threads: int, quick: bool) -> dict | None:
    """How much of ``threads`` cores the host gives just now: GFLOP/s of lstmkit's packed kernel
    (:func:`_probe_kernel`) on one thread, then on ``threads`` threads at once (lstmkit's own, each
    on its own operands), in alternating turns: each thread's own rate, slowest first, and the
    total (all the work over the slowest thread's time, as a call waits for its slowest thread);
    ``scaling`` = the total over one thread's rate.

    The vCPUs of a shared host do not run at one speed: on this 2-core machine, with both busy,
    one measured ~170 GFLOP/s while the other ran ~110, and which one changed from moment to
    moment (in separate processes too); the scaling measured anywhere from 1.0 to 2.0, and every
    multi-threaded time in the tables moves with it. None where the kernel does not run (no AVX-512)
    or with one thread.
    """
    mk = kernels_numba._packed_kernels(np.float32)
    if threads < 2 or mk.size == 0:
        return None
    rng = np.random.default_rng(0)
    ops = []
    for _ in range(threads):
        Bp = packed_gemm.pack(rng.normal(size=(32, 256)).astype(np.float32), True, 32)
        ops.append((rng.normal(size=(1, 8, 256)).astype(np.float32), Bp, np.empty((8, 32), np.float32),
                    packed_gemm.scratch(8, Bp, 32)))  # fmt: skip
    reps, flops = 5000, 2 * 8 * 256 * 32

    def timed(k):
        t0 = time.perf_counter()
        _probe_kernel(*ops[k], mk, reps)
        return time.perf_counter() - t0

    _probe_kernel(*ops[0], mk, 1)
    one, each = [], []
    for _ in range(3 if quick else 7):
        one.append(reps * flops / timed(0) / 1e9)
        each.append(sorted(reps * flops / t / 1e9 for t in lk_threads.in_parallel(timed, threads)))
    g1 = float(np.median(one))
    per = [float(v) for v in np.median(np.array(each), axis=0)]  # each thread's rate, slowest first
    total = threads * per[0]  # the work of all threads over the slowest one's time
    return {"GFLOP/s 1 thread": g1, "GFLOP/s per thread": per, f"GFLOP/s {threads} threads": total, "scaling": total / g1}


def units_split(case: Case) -> bool:
    """Whether lstmkit splits the hidden units of ``case``'s layers over its threads
    (lstmkit.kernels_units), as lstmkit.kernels_numba.lstm_forward decides."""
    mk = kernels_numba._packed_kernels(np.float32) if kernels_numba.AVAILABLE else np.empty(0)
    return mk.size > 0 and bool(kernels_numba.GEMM) and lk_threads.n_unit_blocks(case.H, 4 * case.H * case.H) > 1


def floor_fn(case: Case, train: bool, packed_once: bool = False):
    """A callable making exactly the fast path's matrix products for ``case`` (random operands),
    their operands packed as the fast path packs them on every call (a product includes its
    packing, as a BLAS call does its own).

    When lstmkit would split the batch into blocks of rows on its threads (lstmkit.threads), so
    does the floor: per layer and direction, the blocks' products shared out to the threads alike.
    ``packed_once``: where the hidden units are split, the forward's weights packed once, before
    (a frozen LSTM's products, lstm.freeze()); elsewhere it changes nothing.
    """
    rng = np.random.default_rng(0)
    T, B, H, G = case.T, case.B, case.H, 4 * case.H
    mk = kernels_numba._packed_kernels(np.float32)
    n = lk_threads.n_blocks(B, G * H, mk.size > 0)
    rows = [b1 - b0 for b0, b1 in zip(lk_threads.bounds(B, n), lk_threads.bounds(B, n)[1:])]
    ops = []  # per layer and direction: per block, its operands
    for layer in range(case.L):
        i_l = case.I if layer == 0 else case.D * H
        for _ in range(case.D):
            f = lambda *s: rng.uniform(-0.1, 0.1, size=s).astype(np.float32)  # noqa: E731
            ops.append([(f(T * b, i_l), f(G, i_l), f(G, H), f(T * b, G), f(T + 1, b, H), f(b, G), f(T, b, G), f(b, H),
                         f(G, i_l), f(G, H), f(T * b, i_l)) for b in rows])  # fmt: skip
    gemm = kernels_numba.GEMM.get(np.dtype(np.float32), 0)  # the BLAS the fast path itself calls

    def each_block(fn, blocks):
        if len(blocks) == 1:
            fn(blocks[0])
        else:  # as lstmkit shares the blocks out to its threads
            lk_threads.in_turn(lambda k: fn(blocks[k]), len(blocks))

    def fwd(o):
        x2, W_ih, W_hh, acts2, hs, rec, dz_all, dh, dW_ih, dW_hh, dx2 = o
        _floor_forward(x2, W_ih, W_hh, acts2, hs, rec, gemm, mk, n > 1)

    def bwd(o):
        x2, W_ih, W_hh, acts2, hs, rec, dz_all, dh, dW_ih, dW_hh, dx2 = o
        _floor_backward(x2, W_ih, W_hh, dz_all, hs, dh, dW_ih, dW_hh, dx2, gemm, mk, n > 1)

    if units_split(case):  # a large layer splits its hidden units instead (lstmkit.kernels_units)
        return _floor_units_fn(case, lk_threads.n_unit_blocks(H, G * H), train, gemm, mk, rng, packed_once)

    def run():
        for blocks in ops:
            each_block(fwd, blocks)
        if train:
            for blocks in reversed(ops):
                each_block(bwd, blocks)

    return run


def _floor_units_fn(case: Case, n: int, train: bool, gemm, mk, rng, packed_once: bool = False):
    """floor_fn where the hidden units are split over n threads (lstmkit.kernels_units): per layer,
    each thread packs its operands, as lstmkit does on every call (kernels_units._packed_rows
    forward, _packed_columns backward, into buffers from lstmkit's workspace), and makes its
    products, forward, then (``train``) backward.
    ``packed_once``: the forward's operands packed here, once, as a frozen LSTM keeps them
    (lstm.freeze()): its products alone."""
    T, B, H, G = case.T, case.B, case.H, 4 * case.H
    units, rows = lk_threads.unit_bounds(H, n), lk_threads.bounds(T * B, n)
    f = lambda *s: rng.uniform(-0.1, 0.1, size=s).astype(np.float32)  # noqa: E731
    layers = []  # per layer and direction: its weights and, per thread, the operands that are not packed
    for layer, _ in ((layer, d) for layer in range(case.L) for d in range(case.D)):
        i_l = case.I if layer == 0 else case.D * H
        x2, W_ih, W_hh, hs, dz_all = f(T * B, i_l), f(G, i_l), f(G, H), f(T + 1, B, H), f(T, B, G)
        dW_ih, dW_hh, dx2 = f(G, i_l), f(G, H), f(T * B, i_l)
        parts = []
        for k in range(n):
            u0, Hu = units[k], units[k + 1] - units[k]
            kept = kernels_units._packed_rows(W_ih, W_hh, u0, u0 + Hu) if packed_once else None
            fwd = (x2, hs, f(B, 4 * Hu), mk)
            bwd = (x2, u0, dz_all, hs, f(B, Hu), dW_ih, dW_hh, dx2, rows[k], rows[k + 1], gemm, mk)
            parts.append((u0, u0 + Hu, kept, fwd, bwd))
        layers.append((W_ih, W_hh, parts))

    def forward(W_ih, W_hh, part):
        u0, u1, kept, (x2, hs, ru, mk_), _ = part
        bufs = None
        if kept is None:
            bufs = kernels_units.row_pack_buffers(W_ih, W_hh, u0, u1)
            kept = kernels_units._packed_rows(W_ih, W_hh, u0, u1, bufs)
        Wip, Wp = kept
        _floor_units(x2, Wip, Wp, hs, ru, packed_gemm.scratch(ru.shape[0], Wp, ru.shape[1]), mk_)
        kernels_units.give_packs(bufs)

    def backward(W_ih, W_hh, part):
        u0, u1, _, _, (x2, _, dz_all, hs, dh, dW_ih, dW_hh, dx2, m0, m1, gemm_, mk_) = part
        bufs = kernels_units.column_pack_buffers(W_ih, W_hh, u0, u1, T * B)
        Wc, Wxp = kernels_units._packed_columns(W_ih, W_hh, u0, u1, bufs)
        _floor_units_backward(x2, Wxp, u0, Wc, dz_all, hs, dh, packed_gemm.scratch(dh.shape[0], Wc, dh.shape[1]),
                              dW_ih, dW_hh, dx2, m0, m1, gemm_, mk_, bufs[2], bufs[3])  # fmt: skip
        kernels_units.give_packs(bufs)

    def run():
        for W_ih, W_hh, parts in layers:
            lk_threads.in_parallel(lambda k: forward(W_ih, W_hh, parts[k]), n)
        if train:
            for W_ih, W_hh, parts in reversed(layers):
                lk_threads.in_parallel(lambda k: backward(W_ih, W_hh, parts[k]), n)

    return run


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Timing:
    times: list = field(default_factory=list)  # seconds per call

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def spread(self) -> float:
        """Interquartile range / median."""
        q1, q3 = np.percentile(self.times, [25, 75])
        return float((q3 - q1) / np.median(self.times))


SETTLE_S = 0.2  # pause between turns: the previous library's idle threads stop spinning (OpenBLAS: ~0.1 s)
# Rounds per case (--quick: 3). The host's speed changes from second to second: over 40 s of
# alternating the small case (H=128, B=32) with torch, one thread's probe rate ran 96-209 GFLOP/s
# and each library's forward 2.7-4.5 ms, so a ratio of two medians depends on which moments each
# library's turns fell in (single pairs 0.68-1.31). More, shorter turns sample more moments for
# every library: 15 rounds instead of 7, for the same seconds of timed calls.
ROUNDS = 15


def interleave(fns: dict, budget: float, quick: bool) -> dict[str, Timing]:
    """Time every callable in ``fns`` in rotating rounds; returns a Timing per name.

    Each function is warmed up (2 calls), then the number of calls per turn is chosen so that one
    turn takes about budget/rounds seconds. Before each turn the process sleeps SETTLE_S and makes
    one unrecorded call: thread pools of the library that ran before (OpenBLAS, OpenMP) keep
    spinning for a while after their last call, and would otherwise steal the cores from the next.
    """
    rounds = 3 if quick else ROUNDS
    per_call = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        per_call[name] = max(time.perf_counter() - t0, 1e-6)
    timings = {name: Timing() for name in fns}
    names = list(fns)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = fns[name]
            n = int(min(max(budget / rounds / per_call[name], 3), 200))
            time.sleep(SETTLE_S)
            fn()  # not recorded
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                timings[name].times.append(time.perf_counter() - t0)
    return timings


# -- validation -----------------------------------------------------------------------------------
def check(name: str, actual, expected, tol: float) -> float:
    """Max |a - e| / max(1, max|e|); raise if above tol (every implementation must agree)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"validation: {name}: shape {actual.shape} != {expected.shape}")
    err = float(np.abs(actual - expected).max() / max(1.0, np.abs(expected).max()))
    if not err <= tol:
        raise AssertionError(f"validation: {name}: relative max difference {err:.3g} > {tol}")
    return err


def saved_bytes_torch(tm, xt, w) -> int:
    """Bytes of the tensors autograd keeps for backward (parameters excluded, shared storage counted once)."""
    import torch

    params = {p.untyped_storage().data_ptr() for p in tm.parameters()}
    seen = {}

    def pack(t):
        if isinstance(t, torch.Tensor):
            st = t.untyped_storage()
            if st.data_ptr() not in params:
                seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y, _ = tm(xt)
        loss = (y * w).sum()
    loss.backward()
    tm.zero_grad(set_to_none=True)
    return int(sum(seen.values()))


def saved_bytes_lstmkit(m) -> int:
    """Bytes of the arrays lstmkit's caches keep for backward (after a training forward)."""
    caches, drops, *_ = m._cache
    seen = {}
    for c in caches:
        for part in getattr(c, "parts", [c]):  # a batch split into blocks: each block's cache
            for v in vars(part).values():
                if isinstance(v, np.ndarray):
                    base = v.base if isinstance(v.base, np.ndarray) else v  # a view counts its whole array
                    seen[id(base)] = base.nbytes
    for d in drops:
        if d is not None:
            seen[id(d)] = d.nbytes
    return int(sum(seen.values()))


# -- one case -------------------------------------------------------------------------------------
def run_case(case: Case, threads: int, budget: float, quick: bool) -> dict:
    import torch

    rng = np.random.default_rng(1)
    fast, ref = make_lstmkit(case, "numba"), make_lstmkit(case, "numpy")
    state = fast.state_dict()
    tm = make_torch(case, state)
    LD = case.L * case.D
    x = rng.normal(size=(case.T, case.B, case.I)).astype(np.float32)
    h0 = np.zeros((LD, case.B, case.H), np.float32)
    xt = torch.from_numpy(x)
    T_sess = 1 if case.streaming else case.T
    sess = make_onnx_session(case, state, threads, T_sess)
    out = {"case": asdict(case), "label": case.label(), "validation": {}}

    with fast.no_grad():
        fast(x)
    out["inference_cache_is_none"] = fast._cache is None
    # validate the forward: every implementation against the fast path
    y_f, (h_f, c_f) = fast(x)
    y_r, (h_r, c_r) = ref(x)
    with torch.inference_mode():
        y_t, (h_t, c_t) = tm(xt)
    if case.streaming:
        y_o = []
        h, c = h0, h0.copy()
        for t in range(case.T):
            yo, h, c = sess.run(None, {"X": x[t : t + 1], "h0": h, "c0": c})
            y_o.append(yo)
        y_o, h_o, c_o = np.concatenate(y_o), h, c
    else:
        y_o, h_o, c_o = sess.run(None, {"X": x, "h0": h0, "c0": h0})
    v = out["validation"]
    peers = {"numpy": (y_r, h_r, c_r), "torch": (y_t.numpy(), h_t.numpy(), c_t.numpy()), "onnxruntime": (y_o, h_o, c_o)}
    if case.streaming:  # lstmkit's streaming API, one step per call (what the stream cases time)
        for who, m in (("stream", fast), ("numpy stream", ref)):
            s = m.stream(case.B)
            peers[who] = (np.stack([s.step(x[t]) for t in range(case.T)]), *s.state)
    frozen = None if case.streaming else fast.freeze()  # lstm.freeze(): inference on weights that stay fixed
    if frozen is not None:
        frozen(x)  # the first call prepares the weights; the second reads what it kept
        y_z, (h_z, c_z) = frozen(x)
        peers["frozen"] = (y_z, h_z, c_z)
    for who, (y, h, c) in peers.items():
        v[f"forward {who} vs fast"] = max(check(f"{case.name} y {who}", y, y_f, 1e-4), check(f"{case.name} h_n {who}", h, h_f, 1e-4), check(f"{case.name} c_n {who}", c, c_f, 1e-4))

    # validate the gradients: reference and torch against the fast path
    w = rng.normal(size=y_f.shape).astype(np.float32)
    wt = torch.from_numpy(w)
    if case.train:
        fast.zero_grad(), ref.zero_grad()
        dx_f, _ = fast.backward(w)
        ref(x)
        dx_r, _ = ref.backward(w)
        xg = xt.clone().requires_grad_(True)
        yt_, _ = tm(xg)
        (yt_ * wt).sum().backward()
        v["backward numpy vs fast"] = max([check(f"{case.name} dx numpy", dx_r, dx_f, 1e-4)] + [check(f"{case.name} {k} numpy", ref.grads[k], fast.grads[k], 1e-4) for k in state])
        v["backward torch vs fast"] = max(
            [check(f"{case.name} dx torch", xg.grad.numpy(), dx_f, 1e-4)]
            + [check(f"{case.name} {k} torch", p.grad.numpy(), fast.grads[k], 1e-4) for k, p in tm.named_parameters()]
        )  # fmt: skip
        tm.zero_grad(set_to_none=True)
        fast(x)
        out["saved_MiB"] = {"lstmkit": saved_bytes_lstmkit(fast) / 2**20}
        fast._cache = None
        ref(x)
        out["saved_MiB"]["numpy"] = saved_bytes_lstmkit(ref) / 2**20
        ref._cache = None
        out["saved_MiB"]["torch"] = saved_bytes_torch(tm, xt.clone().requires_grad_(True), wt) / 2**20

    # the callables to time
    fns = {}
    if case.streaming:
        steps = [x[t : t + 1] for t in range(case.T)]

        def lk_stream(m):  # LSTMStream: checks and set-up once, then one compiled step per call
            def run():
                s = m.stream(case.B)
                for xs in steps:
                    s.step(xs[0])

            return run

        def lk_forward_per_step(m):  # LSTM.forward on (1, B, I), the state passed back each call
            def run():
                st = None
                with m.no_grad():
                    for xs in steps:
                        _, st = m(xs, st)

            return run

        def torch_stream():
            st = None
            with torch.inference_mode():
                for xs in steps:
                    _, st = tm(torch.from_numpy(xs), st)

        def ort_stream():
            h, c = h0, h0
            for xs in steps:
                _, h, c = sess.run(None, {"X": xs, "h0": h, "c0": c})

        fns = {"lstmkit fwd": lk_stream(fast), "numpy fwd": lk_stream(ref), "torch fwd": torch_stream, "onnxruntime fwd": ort_stream,
               "lstmkit forward-per-step fwd": lk_forward_per_step(fast)}  # fmt: skip
    else:

        def lk_fwd(m):
            return lstmkit_calls(m, x, w)[0]

        def lk_train(m):
            return lstmkit_calls(m, x, w)[1]

        torch_fwd, torch_train = torch_calls(tm, x, w)
        ort_fwd = onnx_call(sess, x, h0)

        def one_thread(fn):  # lstmkit's default: set_num_threads(1), a batch is one block, BLAS threads
            def run():
                n = lstmkit.get_num_threads()
                lstmkit.set_num_threads(1)
                try:
                    fn()
                finally:
                    lstmkit.set_num_threads(n)

            return run

        fns = {"lstmkit fwd": lk_fwd(fast), "numpy fwd": lk_fwd(ref), "torch fwd": torch_fwd, "onnxruntime fwd": ort_fwd}
        if frozen is not None:  # lstm.freeze(): the weights prepared once, as an onnxruntime session's when made
            fns["lstmkit frozen fwd"] = lambda: frozen(x)
            if units_split(case):  # its packed weights kept: its floor packs them once, before
                fns["floor frozen fwd"] = floor_fn(case, train=False, packed_once=True)
        if case.train:
            fns.update({"lstmkit train": lk_train(fast), "numpy train": lk_train(ref), "torch train": torch_train})
        if lk_threads.n_blocks(case.B, 4 * case.H * case.H, kernels_numba._packed_kernels(np.float32).size > 0) > 1:  # split: time the default beside it
            fns["lstmkit 1-thread fwd"] = one_thread(lk_fwd(fast))
            if case.train:
                fns["lstmkit 1-thread train"] = one_thread(lk_train(fast))
        fns["floor fwd"] = floor_fn(case, train=False)
        if case.train:
            fns["floor train"] = floor_fn(case, train=True)
    timings = interleave(fns, budget, quick)
    out["ms"] = {k: t.median * 1e3 for k, t in timings.items()}
    out["spread"] = {k: t.spread for k, t in timings.items()}
    out["calls"] = {k: len(t.times) for k, t in timings.items()}
    return out


# -- calls after a pause ----------------------------------------------------------------------------
PAUSE_S = 0.02  # idle time before each call: a server between requests, a loop loading its next batch
PAUSE_CASES = ("small", "long")  # whole-sequence cases whose batch runs split over lstmkit's threads


@contextmanager
def _unplaced():
    """lstmkit's pool threads placed by the scheduler alone, as before 6b3346c (for comparison):
    ``lstmkit.threads._off_callers_cpu`` off, the pool's masks back to the CPUs it was made with."""
    get, pool = lk_threads._GETCPU, lk_threads._state["pool"]
    lk_threads._GETCPU = None
    if pool is not None and getattr(pool, "cpus", None) is not None:
        for tid in pool.tids:
            os.sched_setaffinity(tid, pool.cpus)
    try:
        yield
    finally:
        lk_threads._GETCPU, lk_threads._state["placed"] = get, None


def after_pauses(threads: int, quick: bool) -> dict:
    """Each implementation's call after a PAUSE_S pause (the host's cores idle meanwhile), one call
    after each pause, the implementations in turn: medians in ms per case of PAUSE_CASES."""
    import torch

    res = {}
    for case in (c for c in CASES if c.name in PAUSE_CASES):
        rng = np.random.default_rng(1)
        fast = make_lstmkit(case, "numba")
        state = fast.state_dict()
        tm = make_torch(case, state)
        sess = make_onnx_session(case, state, threads, case.T)
        x = rng.normal(size=(case.T, case.B, case.I)).astype(np.float32)
        h0 = np.zeros((case.L * case.D, case.B, case.H), np.float32)
        w = rng.normal(size=(case.T, case.B, case.D * case.H)).astype(np.float32)
        with fast.no_grad():  # every implementation's outputs against the fast path's, before timing
            y_f, _ = fast(x)
        with torch.inference_mode():
            check(f"{case.name} pauses torch", tm(torch.from_numpy(x))[0].numpy(), y_f, 1e-4)
        check(f"{case.name} pauses onnxruntime", sess.run(None, {"X": x, "h0": h0, "c0": h0})[0], y_f, 1e-4)

        def unplaced(fn):
            def run():
                with _unplaced():
                    fn()

            return run

        lk_fwd, lk_train = lstmkit_calls(fast, x, w)
        torch_fwd, torch_train = torch_calls(tm, x, w)
        fns = {"lstmkit fwd": lk_fwd, "lstmkit unplaced fwd": unplaced(lk_fwd), "torch fwd": torch_fwd,
               "onnxruntime fwd": onnx_call(sess, x, h0),
               "lstmkit train": lk_train, "lstmkit unplaced train": unplaced(lk_train), "torch train": torch_train}  # fmt: skip
        times = {k: [] for k in fns}
        for fn in fns.values():  # warm
            fn()
            fn()
        for _ in range(5 if quick else 25):
            for name, fn in fns.items():
                time.sleep(PAUSE_S)
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        res[case.name] = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
        print(f"  after {PAUSE_S * 1e3:.0f} ms pauses, {case.name}: " + "  ".join(f"{k} {v:.3f}" for k, v in res[case.name].items()), flush=True)
    return {"pause_ms": PAUSE_S * 1e3, "cases": res}


def gemm_ceiling(threads: int, quick: bool) -> dict:
    """NumPy's matmul at the largest product of the table (PTB-medium's input projection), float32."""
    m, k, n = 35 * 20, 650, 4 * 650
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)
    fns = {"numpy matmul": lambda: a @ b}
    t = interleave(fns, 0.5 if quick else 2.0, quick)["numpy matmul"]
    return {"shape": [m, k, n], "ms": t.median * 1e3, "GFLOP/s": 2 * m * k * n / t.median / 1e9}


# -- the T / H sweep ------------------------------------------------------------------------------
def sweep(threads: int, quick: bool) -> dict:
    import torch

    Ts = [10, 100, 1000] if quick else [10, 30, 100, 300, 1000]
    Hs = [16, 64, 256] if quick else [16, 32, 64, 128, 256, 512]
    budget = 0.2 if quick else 1.0
    res = {"T": {}, "H": {}}
    for axis, values in (("T", Ts), ("H", Hs)):
        for val in values:
            case = Case(f"sweep-{axis}{val}", val if axis == "T" else 100, 16, 64, val if axis == "H" else 64)
            fast, ref = make_lstmkit(case, "numba"), make_lstmkit(case, "numpy")
            tm = make_torch(case, fast.state_dict())
            x = np.random.default_rng(2).normal(size=(case.T, case.B, case.I)).astype(np.float32)
            w = np.ones((case.T, case.B, case.H), np.float32)
            y_f, _ = fast(x)
            with torch.inference_mode():
                check(f"{case.name} torch", tm(torch.from_numpy(x))[0].numpy(), y_f, 1e-4)
            fast._cache = None
            fns = {"lstmkit": lstmkit_calls(fast, x, w)[1], "numpy": lstmkit_calls(ref, x, w)[1], "torch": torch_calls(tm, x, w)[1]}
            t = interleave(fns, budget, quick)
            res[axis][val] = {k: v.median * 1e3 for k, v in t.items()}
            print(f"  sweep {axis}={val}: " + "  ".join(f"{k} {v:.3f} ms" for k, v in res[axis][val].items()), flush=True)
    return res


def main(args) -> int:
    if args.render:
        with open(args.render) as fh:
            res = json.load(fh)
        path = os.path.splitext(args.render)[0] + ".md"
        with open(path, "w") as fh:
            fh.write(markdown(res))
        print(f"wrote {path}")
        return 0
    import numba
    import onnxruntime
    import torch

    threads = args.threads
    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    lstmkit.set_num_threads(threads)  # batches large enough run as blocks on lstmkit's threads
    if not kernels_numba.AVAILABLE:
        print(f"the fast path cannot run: {kernels_numba.UNAVAILABLE_REASON}", file=sys.stderr)
        return 2
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 2.0)
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": threads,
        "quick": args.quick,
        "rounds": 3 if args.quick else ROUNDS,
        "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT", "default"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "openblas_core": _openblas_core(),
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }
    only = {s for s in args.only.split(",") if s}
    res = {"environment": env, "ceiling": gemm_ceiling(threads, args.quick), "cases": []}
    print(f"GEMM ceiling: {res['ceiling']['GFLOP/s']:.1f} GFLOP/s", flush=True)
    for case in CASES:
        if only and case.name not in only:
            continue
        t0 = time.perf_counter()
        host = host_probe(threads, args.quick)
        r = run_case(case, threads, budget, args.quick)
        r["host"] = host
        f = case.flops_forward()
        r["gflops"] = {k: (3 * f if "train" in k else f) / (ms * 1e-3) / 1e9 for k, ms in r["ms"].items()}
        res["cases"].append(r)
        ms = r["ms"]
        line = f"{case.name:13s} fwd lstmkit {ms['lstmkit fwd']:.3f} ms  torch {ms['torch fwd']:.3f}  ort {ms['onnxruntime fwd']:.3f}"
        if "lstmkit train" in ms:
            line += f" | train lstmkit {ms['lstmkit train']:.3f}  numpy {ms['numpy train']:.3f}  torch {ms['torch train']:.3f}"
        if host:
            line += f"  (cores: {host['scaling']:.2f}x one)"
        print(line + f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    os.makedirs(args.out, exist_ok=True)
    if not only or only & set(PAUSE_CASES):
        res["pauses"] = after_pauses(threads, args.quick)
    if not args.no_sweep:
        res["sweep"] = sweep(threads, args.quick)
        plot(res["sweep"], os.path.join(args.out, "bench_lstm.png"))
    env["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with open(os.path.join(args.out, "bench_lstm.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    with open(os.path.join(args.out, "bench_lstm.md"), "w") as fh:
        fh.write(markdown(res))
    print(f"wrote {args.out}/bench_lstm.md, .json" + ("" if args.no_sweep else ", .png"))
    return 0


def _openblas_core() -> str:
    """The kernels NumPy's OpenBLAS runs, as it names them (``openblas_get_corename``: "Haswell" for
    its AVX2 ones, "SkylakeX" for AVX-512), or "unknown" (another BLAS). The environment variable
    OPENBLAS_CORETYPE, read when NumPy loads it, overrides OpenBLAS's own choice."""
    import ctypes

    fn = lk_threads.numpy_openblas_function("get_corename")
    if fn is None:
        return "unknown"
    fn.restype, fn.argtypes = ctypes.c_char_p, []
    return fn().decode()


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main(ARGS))
