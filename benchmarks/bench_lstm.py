"""lstmkit against torch.nn.LSTM and ONNX Runtime, interleaved in one process (issue 6).

    python benchmarks/bench_lstm.py            # full run (what `make bench` does), ~10 min quiet
    python benchmarks/bench_lstm.py --quick    # few repetitions, for development on a busy machine

Every implementation runs with the same number of threads (``--threads``, default 2): the BLAS and
OpenMP environment variables are set before NumPy is imported, then torch, ONNX Runtime and numba
are told the same. Before anything is timed, every implementation's outputs (and, for training,
gradients) are compared with the others; a mismatch stops the run.

Per shape (T steps, B batch, I input, H hidden, L layers, D directions), float32:

* lstmkit (``backend="numba"``, the fast path), lstmkit (``backend="numpy"``, the readable
  reference), torch (forward under ``inference_mode``; training = forward + backward of
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

Writes ``results/bench_lstm.md``, ``results/bench_lstm.json`` and ``results/bench_lstm.png`` (time
against T and against H) next to this file, or under ``--out``.
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
from dataclasses import asdict, dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
import lstmkit  # noqa: E402
from lstmkit import kernels_numba  # noqa: E402


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


def make_onnx_session(case: Case, state: dict, threads: int, T: int):
    """An ONNX graph of the stacked LSTM: X (T, B, I), h0/c0 (L*D, B, H) -> Y (T, B, D*H), h_n, c_n.

    ONNX's LSTM packs gates i, o, f, c (torch: i, f, g, o): W (D, 4H, I), R (D, 4H, H), B (D, 8H) = [Wb, Rb].
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    H, L, D, B = case.H, case.L, case.D, case.B

    def iofc(w):  # torch rows (i, f, g, o) -> ONNX rows (i, o, f, c)
        return np.concatenate([w[0:H], w[3 * H : 4 * H], w[H : 2 * H], w[2 * H : 3 * H]])

    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    cur = "X"
    for layer in range(L):
        sfx = [f"_l{layer}" + ("_reverse" if d else "") for d in range(D)]
        W = const(f"W{layer}", np.stack([iofc(state[f"weight_ih{s}"]) for s in sfx]))
        R = const(f"R{layer}", np.stack([iofc(state[f"weight_hh{s}"]) for s in sfx]))
        Bb = const(f"B{layer}", np.stack([np.concatenate([iofc(state[f"bias_ih{s}"]), iofc(state[f"bias_hh{s}"])]) for s in sfx]))
        rows = (const(f"s{layer}", np.array([layer * D])), const(f"e{layer}", np.array([(layer + 1) * D])), const(f"a{layer}", np.array([0])))
        nodes.append(helper.make_node("Slice", ["h0", *rows], [f"h0_{layer}"]))
        nodes.append(helper.make_node("Slice", ["c0", *rows], [f"c0_{layer}"]))
        nodes.append(
            helper.make_node(
                "LSTM", [cur, W, R, Bb, "", f"h0_{layer}", f"c0_{layer}"], [f"Y{layer}", f"Yh{layer}", f"Yc{layer}"],
                hidden_size=H, direction="bidirectional" if D == 2 else "forward",
            )
        )  # fmt: skip
        nodes.append(helper.make_node("Transpose", [f"Y{layer}"], [f"Yt{layer}"], perm=[0, 2, 1, 3]))  # (T, B, D, H)
        shape = const(f"shape{layer}", np.array([0, 0, -1], dtype=np.int64))
        cur = "Y" if layer == L - 1 else f"X{layer + 1}"
        nodes.append(helper.make_node("Reshape", [f"Yt{layer}", shape], [cur]))  # (T, B, D*H)
    nodes.append(helper.make_node("Concat", [f"Yh{layer}" for layer in range(L)], ["h_n"], axis=0))
    nodes.append(helper.make_node("Concat", [f"Yc{layer}" for layer in range(L)], ["c_n"], axis=0))
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "lstm",
        [helper.make_tensor_value_info("X", f32, [T, B, case.I]),
         helper.make_tensor_value_info("h0", f32, [L * D, B, H]),
         helper.make_tensor_value_info("c0", f32, [L * D, B, H])],
        [helper.make_tensor_value_info("Y", f32, [T, B, D * H]),
         helper.make_tensor_value_info("h_n", f32, [L * D, B, H]),
         helper.make_tensor_value_info("c_n", f32, [L * D, B, H])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT's worker threads spin after each run by default; in a process where other libraries
    # take turns on the same cores that spinning steals their time (torch measured 100x slower).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


# -- the floor: lstmkit's matrix products alone ---------------------------------------------------
if kernels_numba.AVAILABLE:
    import numba

    _matmul, _transposed_if_small = kernels_numba._matmul, kernels_numba._transposed_if_small

    @numba.njit(cache=True)
    def _floor_forward(x2, W_ih, W_hh, acts2, hs, rec):
        """The fast forward's products: X W_ih^T once, then h_{t-1} W_hh^T per step (same calls)."""
        np.dot(x2, W_ih.T, acts2)
        W_hhT = _transposed_if_small(W_hh, hs.shape[1])
        for t in range(hs.shape[0] - 1):
            _matmul(hs[t], W_hhT, W_hh, rec)

    @numba.njit(cache=True)
    def _floor_backward(x2, W_ih, W_hh, dz_all, hs, dh_next):
        """The fast backward's products: dz_t W_hh per step, then dZ^T X, dZ^T H_prev, dZ W_ih."""
        T = dz_all.shape[0]
        none = np.empty((0, 0), dtype=dz_all.dtype)
        for t in range(T - 1, -1, -1):
            _matmul(dz_all[t], W_hh, none, dh_next)
        G = dz_all.shape[2]
        dZ = dz_all.reshape(T * dz_all.shape[1], G)
        np.dot(dZ.T, x2)
        np.dot(dZ.T, hs[:T].reshape(dZ.shape[0], hs.shape[2]))
        np.dot(dZ, W_ih)


def floor_fn(case: Case, train: bool):
    """A callable making exactly the fast path's matrix products for ``case`` (random operands)."""
    rng = np.random.default_rng(0)
    T, B, H, G = case.T, case.B, case.H, 4 * case.H
    ops = []
    for layer in range(case.L):
        i_l = case.I if layer == 0 else case.D * H
        for _ in range(case.D):
            f = lambda *s: rng.uniform(-0.1, 0.1, size=s).astype(np.float32)  # noqa: E731
            ops.append((f(T * B, i_l), f(G, i_l), f(G, H), f(T * B, G), f(T + 1, B, H), f(B, G), f(T, B, G), f(B, H)))

    def run():
        for x2, W_ih, W_hh, acts2, hs, rec, dz_all, dh in ops:
            _floor_forward(x2, W_ih, W_hh, acts2, hs, rec)
        if train:
            for x2, W_ih, W_hh, acts2, hs, rec, dz_all, dh in reversed(ops):
                _floor_backward(x2, W_ih, W_hh, dz_all, hs, dh)

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


def interleave(fns: dict, budget: float, quick: bool) -> dict[str, Timing]:
    """Time every callable in ``fns`` in rotating rounds; returns a Timing per name.

    Each function is warmed up (2 calls), then the number of calls per turn is chosen so that one
    turn takes about budget/rounds seconds. Before each turn the process sleeps SETTLE_S and makes
    one unrecorded call: thread pools of the library that ran before (OpenBLAS, OpenMP) keep
    spinning for a while after their last call, and would otherwise steal the cores from the next.
    """
    rounds = 3 if quick else 7
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
        for v in vars(c).values():
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
    for who, (y, h, c) in {"numpy": (y_r, h_r, c_r), "torch": (y_t.numpy(), h_t.numpy(), c_t.numpy()), "onnxruntime": (y_o, h_o, c_o)}.items():
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

        def lk_stream(m):
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

        fns = {"lstmkit fwd": lk_stream(fast), "numpy fwd": lk_stream(ref), "torch fwd": torch_stream, "onnxruntime fwd": ort_stream}
    else:

        def lk_fwd(m):
            def run():
                with m.no_grad():
                    m(x)

            return run

        def lk_train(m):
            def run():
                m(x)
                m.backward(w)

            return run

        def torch_fwd():
            with torch.inference_mode():
                tm(xt)

        xg = xt.clone().requires_grad_(True)

        def torch_train():
            tm.zero_grad(set_to_none=True)
            xg.grad = None
            y, _ = tm(xg)
            (y * wt).sum().backward()

        def ort_fwd():
            sess.run(None, {"X": x, "h0": h0, "c0": h0})

        fns = {"lstmkit fwd": lk_fwd(fast), "numpy fwd": lk_fwd(ref), "torch fwd": torch_fwd, "onnxruntime fwd": ort_fwd}
        if case.train:
            fns.update({"lstmkit train": lk_train(fast), "numpy train": lk_train(ref), "torch train": torch_train})
        fns["floor fwd"] = floor_fn(case, train=False)
        if case.train:
            fns["floor train"] = floor_fn(case, train=True)
    timings = interleave(fns, budget, quick)
    out["ms"] = {k: t.median * 1e3 for k, t in timings.items()}
    out["spread"] = {k: t.spread for k, t in timings.items()}
    out["calls"] = {k: len(t.times) for k, t in timings.items()}
    return out


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
            xg, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w)
            y_f, _ = fast(x)
            with torch.inference_mode():
                check(f"{case.name} torch", tm(torch.from_numpy(x))[0].numpy(), y_f, 1e-4)
            fast._cache = None

            def train(m):
                return lambda: (m(x), m.backward(w))

            def torch_train():
                tm.zero_grad(set_to_none=True)
                xg.grad = None
                (tm(xg)[0] * wt).sum().backward()

            t = interleave({"lstmkit": train(fast), "numpy": train(ref), "torch": torch_train}, budget, quick)
            res[axis][val] = {k: v.median * 1e3 for k, v in t.items()}
            print(f"  sweep {axis}={val}: " + "  ".join(f"{k} {v:.3f} ms" for k, v in res[axis][val].items()), flush=True)
    return res


def plot(sw: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, axis, fixed in ((axes[0], "T", "B=16 I=64 H=64"), (axes[1], "H", "T=100 B=16 I=64")):
        xs = sorted(sw[axis], key=float)
        for impl, style in (("lstmkit", "o-"), ("numpy", "s--"), ("torch", "^-")):
            ax.plot([float(v) for v in xs], [sw[axis][v][impl] for v in xs], style, label={"lstmkit": "lstmkit (numba)", "numpy": "lstmkit (numpy reference)"}.get(impl, impl))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(axis)
        ax.set_ylabel("forward + backward, ms (median)")
        ax.set_title(f"time against {axis} ({fixed})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- report ---------------------------------------------------------------------------------------
def _f(v, fmt="{:.3g}"):
    return "—" if v is None else fmt.format(v)


def targets(res: dict) -> list[tuple[str, str, str, bool]]:
    """The engine targets of issue 6, checked against this run: (target, case, measured, met)."""
    out = []
    for r in res["cases"]:
        c, ms = r["case"], r["ms"]
        name = c["name"]
        tiny = c["B"] <= 4 and c["H"] <= 64
        if tiny and "lstmkit train" in ms:
            q = ms["lstmkit train"] / ms["torch train"]
            out.append(("≥5x faster than torch, forward+backward", name, f"lstmkit/torch {q:.2f}", q <= 0.2))
        if tiny:
            q = ms["lstmkit fwd"] / ms["onnxruntime fwd"]
            out.append(("faster than onnxruntime, inference", name, f"lstmkit/ort {q:.2f}", q < 1))
        if c["T"] >= 1000:
            for k in ("fwd", "train"):
                q = ms[f"lstmkit {k}"] / ms[f"torch {k}"]
                out.append((f"faster than torch, {k} (long)", name, f"lstmkit/torch {q:.2f}", q < 1))
        if c["B"] * c["H"] >= 32 * 128 and not c["streaming"]:
            for k in ("fwd", "train"):
                if f"lstmkit {k}" not in ms:
                    continue
                q = ms[f"lstmkit {k}"] / ms[f"torch {k}"]
                out.append((f"within 1.1x of torch, {k} (medium/large)", name, f"lstmkit/torch {q:.2f}", q <= 1.1))
                outside = 1 - ms[f"floor {k}"] / ms[f"lstmkit {k}"]
                note = "" if outside >= 0 else " (floor slower than lstmkit: noise)"
                out.append((f"under 10% outside the products, {k}", name, f"{outside:.0%}{note}", 0 <= outside < 0.1))
        if "inference_cache_is_none" in r:
            out.append(("inference keeps no per-step activations", name, "no cache after no_grad forward" if r["inference_cache_is_none"] else "a cache is kept", r["inference_cache_is_none"]))
        if "saved_MiB" in r:
            m = r["saved_MiB"]
            out.append(("training memory ≤ torch's", name, f"{m['lstmkit']:.2f} vs {m['torch']:.2f} MiB", m["lstmkit"] <= m["torch"]))
    return out


def markdown(res: dict) -> str:
    env = res["environment"]
    lines = [
        "# lstmkit vs torch.nn.LSTM vs ONNX Runtime (float32)",
        "",
        f"{env['date']} · {env['cpu']} · {env['cores']} cores · {env['threads']} threads everywhere · "
        f"load average before/after {env['load_before']} / {env['load_after']}"
        + (" · **--quick** (few repetitions)" if env["quick"] else "")
        + (f" · OPENBLAS_THREAD_TIMEOUT={env['OPENBLAS_THREAD_TIMEOUT']}" if env.get("OPENBLAS_THREAD_TIMEOUT", "default") != "default" else ""),
        "",
        f"numpy {env['numpy']}, numba {env['numba']}, torch {env['torch']}, onnxruntime {env['onnxruntime']}, Python {env['python']}.",
        *(
            ["", f"**Warning: the machine was busy (1-min load average {env['load_before'].split()[0]} before the run, "
                 f"{env['load_after'].split()[0]} after, on {env['cores']} cores).** Multi-threaded BLAS and OpenMP "
                 "slow down by large, erratic factors when other processes share the cores; rerun on a quiet machine.", ""]
            if max(float(env["load_before"].split()[0]), float(env["load_after"].split()[0])) > 0.5 * env["threads"]
            else [""]
        ),
        f"GEMM ceiling (NumPy matmul {tuple(res['ceiling']['shape'])}): **{res['ceiling']['GFLOP/s']:.1f} GFLOP/s**.",
        "",
        "Times are medians in ms (spread = IQR/median in brackets). lstmkit = fast path (`backend='numba'`); "
        "numpy = the readable reference (`backend='numpy'`). Ratios < 1 mean lstmkit is faster. "
        "Floor = lstmkit's own matrix products alone; outside = share of lstmkit's time spent outside them; "
        "overhead = (lstmkit − floor) per step per layer and direction.",
        "",
        "## Inference (forward)",
        "",
        "| case | shape | lstmkit | numpy | torch | onnxruntime | lstmkit/torch | lstmkit/ort | GFLOP/s | floor | outside | overhead µs/step |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["cases"]:
        ms, sp = r["ms"], r["spread"]
        cell = lambda k: f"{ms[k]:.3f} ({sp[k]:.0%})" if k in ms else "—"  # noqa: E731
        c = r["case"]
        T_steps = c["T"] * c["L"] * c["D"]
        fl = ms.get("floor fwd")
        lines.append(
            f"| {c['name']} | {r['label']} | {cell('lstmkit fwd')} | {cell('numpy fwd')} | {cell('torch fwd')} | {cell('onnxruntime fwd')} "
            f"| {ms['lstmkit fwd'] / ms['torch fwd']:.2f} | {ms['lstmkit fwd'] / ms['onnxruntime fwd']:.2f} "
            f"| {r['gflops']['lstmkit fwd']:.2f} | {_f(fl, '{:.3f}')} "
            f"| {_f(None if fl is None else 1 - fl / ms['lstmkit fwd'], '{:.0%}')} "
            f"| {_f(None if fl is None else (ms['lstmkit fwd'] - fl) * 1e3 / T_steps, '{:.1f}')} |"
        )
    lines += [
        "",
        "Step-by-step cases: the time is for all T steps, one call per step (B=1, state carried by the caller).",
        "",
        "## Training (forward + backward of sum(y·w), dx included)",
        "",
        "| case | shape | lstmkit | numpy | torch | lstmkit/torch | numpy/torch | GFLOP/s | floor | outside | overhead µs/step | kept MiB lstmkit / numpy / torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["cases"]:
        ms, sp, c = r["ms"], r["spread"], r["case"]
        if "lstmkit train" not in ms:
            continue
        cell = lambda k: f"{ms[k]:.3f} ({sp[k]:.0%})"  # noqa: E731
        fl = ms["floor train"]
        T_steps = c["T"] * c["L"] * c["D"]
        mem = r["saved_MiB"]
        lines.append(
            f"| {c['name']} | {r['label']} | {cell('lstmkit train')} | {cell('numpy train')} | {cell('torch train')} "
            f"| {ms['lstmkit train'] / ms['torch train']:.2f} | {ms['numpy train'] / ms['torch train']:.2f} "
            f"| {r['gflops']['lstmkit train']:.2f} | {fl:.3f} | {1 - fl / ms['lstmkit train']:.0%} "
            f"| {(ms['lstmkit train'] - fl) * 1e3 / T_steps:.1f} "
            f"| {mem['lstmkit']:.2f} / {mem['numpy']:.2f} / {mem['torch']:.2f} |"
        )
    lines += ["", "## Issue 6 targets, as measured in this run", "", "| target | case | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t} | {c} | {m} | {'yes' if ok else '**no**'} |" for t, c, m, ok in targets(res)]
    lines += ["", "## Validation (max relative difference before timing; the run stops above 1e-4)", ""]
    for r in res["cases"]:
        lines.append(f"- {r['case']['name']}: " + ", ".join(f"{k} {v:.1e}" for k, v in r["validation"].items()))
    if res.get("sweep"):
        lines += ["", "## Time against T and H (forward + backward, ms)", "", "![time against T and H](bench_lstm.png)", ""]
        for axis in ("T", "H"):
            lines += [f"| {axis} | lstmkit | numpy | torch | lstmkit/torch |", "|---|---|---|---|---|"]
            for val, t in res["sweep"][axis].items():
                lines.append(f"| {val} | {t['lstmkit']:.3f} | {t['numpy']:.3f} | {t['torch']:.3f} | {t['lstmkit'] / t['torch']:.2f} |")
            lines.append("")
    return "\n".join(lines) + "\n"


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
        "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT", "default"),
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
        r = run_case(case, threads, budget, args.quick)
        f = case.flops_forward()
        r["gflops"] = {k: (3 * f if "train" in k else f) / (ms * 1e-3) / 1e9 for k, ms in r["ms"].items()}
        res["cases"].append(r)
        ms = r["ms"]
        line = f"{case.name:13s} fwd lstmkit {ms['lstmkit fwd']:.3f} ms  torch {ms['torch fwd']:.3f}  ort {ms['onnxruntime fwd']:.3f}"
        if "lstmkit train" in ms:
            line += f" | train lstmkit {ms['lstmkit train']:.3f}  numpy {ms['numpy train']:.3f}  torch {ms['torch train']:.3f}"
        print(line + f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    os.makedirs(args.out, exist_ok=True)
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
