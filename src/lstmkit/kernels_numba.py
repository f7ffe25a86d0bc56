"""Compiled fast path: the fused kernels of :mod:`lstmkit.kernels`, with the time loop in numba.

Same equations, same arguments, same results (round-off: ~1e-15 float64, ~1e-6 float32) as the readable
reference :func:`lstmkit.kernels.lstm_forward` / :func:`lstmkit.kernels.lstm_backward`; only *where*
the work happens changes::

    Z      = X W_ih^T + (b_ih + b_hh)                         (T, B, 4H)   one GEMM
    z_t    = Z_t + h_{t-1} W_hh^T                             (B, 4H)      one GEMM per step
    i,f,o  = σ(z_t[i]), σ(z_t[f]), σ(z_t[o]);  g = tanh(z_t[g])
    c_t    = f * c_{t-1} + i * g                              (B, H)
    r_t    = o * tanh(c_t)                                    (B, H)
    h_t    = r_t   or, with proj_size,   h_t = r_t W_hr^T     (B, P)

    dh_t   = dy_t + dh_next ;  dr_t = dh_t (or dh_t W_hr with proj_size)
    do     = dr_t * tanh(c_t)
    dc_t   = dc_next + dr_t * o * (1 - tanh(c_t)^2)
    di = dc_t * g ;  df = dc_t * c_{t-1} ;  dg = dc_t * i ;   dc_next = dc_t * f
    dz_t   = [di σ'(i), df σ'(f), dg (1 - g^2), do σ'(o)]     (σ' = s(1-s) from the output s)
    dh_next = dz_t W_hh ;   db += Σ_rows dz_t
  after the loop:  dW_ih = dZ^T X,  dW_hh = dZ^T H_prev,  dX = dZ W_ih,  dW_hr = dH^T R.

What is different from the reference, and why it is faster:

* The whole per-step loop runs compiled: no Python between steps. The elementwise work of one
  step for one batch row is :func:`_cell_row` (forward) and :func:`_cell_row_backward` (its
  backward), side by side: short loops over the row, each writing one array, which the compiler
  vectorises (one loop writing several arrays is not vectorised: measured 6x slower), instead of
  ~15 NumPy calls, each with its own temporaries. They index the rows of the kernel's arrays
  rather than take slices of them (a slice costs reference counting on every call).
* Each per-step product is done one of three ways, chosen once per call (:func:`_operand`) and
  inlined into the time loop (:func:`_matmul`): on CPUs with AVX-512, by :mod:`lstmkit.packed_gemm`'s
  register kernel on the weight packed once per call (BLAS repacks it on every call), where the
  call does the product for enough rows to pay for the packing; a tiny model's one-row forward,
  and tiny products without AVX-512, as a compiled loop; the largest, and the rest, by BLAS.
* σ and tanh are written here, so the compiler can vectorise the loop (numba's own ``exp`` is a
  scalar libm call). float64: from one exponential (:func:`_exp_parts`: Cody-Waite range reduction
  and a Taylor polynomial, error ~1 ulp); σ(z) = 1/(1+e) or e/(1+e) with e = e^{-|z|}, as in
  :func:`lstmkit.functional.sigmoid`; tanh(a) = -m/(2+m) with m = e^{-2|a|} - 1 = expm1(-2|a|),
  accurate near 0 because m is formed without the cancellation of 1 - e^{-2|a|}. float32: tanh(x) =
  p(x)/q(x), a rational function of degrees 13/6 (ONNX Runtime's and Eigen's coefficients, error
  < 3.4e-7) for |x| < 7.9053, exactly ±1 beyond (where p/q stops at 0.99999976: a gate held open
  by a large pre-activation is exactly 1, and c_t is kept exactly), and σ(z) = (1 + tanh(z/2))/2:
  fewer operations (a cell row 1.45x faster), within 2.3e-7 of the exact σ, inside float32's 1e-5
  agreement with the reference at ordinary inputs. Not through saturated gates: σ is exactly 1 for
  z >= 15.81 and exactly 0 for z <= -15.81 (the exact σ is 1.4e-7 from them there; the reference's
  float32 σ rounds to 1 only from z ~ 16.64, to 0 below -103), so a forget gate held at z = 16
  keeps c_t exactly over 10,000 steps where the reference and torch decay to 0.998808 (1.2e-3
  apart). A nearly closed gate's σ = (1 + tanh(z/2))/2, tanh near -1, cancels, and σ' = σ(1-σ)
  loses relative accuracy: 4e-4 for z in [-8, -4], 3% in [-12, -8], 82% in [-15.8, -12], all of it
  below (σ' = 0; tanh' = 0 for |z| >= 7.9053). With every gate saturated (inputs x 1e3, I = 3,
  H = 4) dW_ih, db and dx differed from torch's by 1-2% relative and dW_hh by 100% (0 against
  torch's 1.1e-9); H = 32 with inputs up to x 300 stayed within 1e-6. Scale the inputs. float64: σ
  stops at e^-708 = 3.3e-308 instead of 0 (the clamp of :func:`_exp_parts`), which shows at inputs
  near 1e300: dW_ih = dz x reached 0.15 at inputs of 1e306, where the reference's and torch's are 0.
* Backward recomputes tanh(c_t) from c_t instead of keeping it, and the activations overwrite Z in
  place: the cache holds the gates (T, B, 4H), c (T+1, B, H) and h (T+1, B, P) (plus r (T, B, H)
  with proj_size).
* A batch split over lstmkit's threads (:mod:`lstmkit.threads`, each block on one thread, BLAS
  single-threaded) runs its large products on the packed kernel too: the input projection x_t
  W_ih^T and dx_t = dz_t W_ih a step at a time in the time loops, the weight gradients
  (:func:`_weight_grad`).
* Large matrix products go to NumPy's own BLAS (its CBLAS gemm, called from the compiled loop; see
  :func:`_numpy_gemm`): one BLAS thread pool for lstmkit and the NumPy code around it (two pools
  taking turns inside one loop fight for the cores). If that BLAS cannot be found, numba's
  ``np.dot`` (SciPy's BLAS) takes over.
* The large arrays of a call (the gates of the whole sequence, and what a training forward
  keeps) come from :mod:`lstmkit.workspace` and go back to it after use (the kept ones through
  :func:`recycle`, once the layer's backward has read them), so their pages stay mapped between
  calls instead of being faulted in again every call. Backward writes dL/dz_t over the kept
  gates of step t: it needs no array of its own.
* :func:`_step` is one time step of one layer on state arrays updated in place: the kernel of
  :class:`lstmkit.stream.LSTMStream` (streaming inference, one call per step).

numba (and SciPy, whose BLAS numba's ``np.dot`` needs) are optional: ``AVAILABLE`` says whether this
module can run, ``UNAVAILABLE_REASON`` why not. The kernels compile on first use per dtype and are
cached on disk (``cache=True``) where numba has a writable cache directory; where it has none, they
compile in every process, with one warning (:func:`lstmkit._jit.njit`).

Shapes: T steps, B batch, I input, H hidden, P output (= proj_size or H), G = 4H.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import kernels, threads, workspace

try:  # the accelerator is optional: without it lstmkit runs the NumPy reference
    import numba
    import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot, the fallback, calls SciPy's BLAS)
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic, overload

    from . import _jit as jit
    from . import packed_gemm

    AVAILABLE = True
    UNAVAILABLE_REASON = ""
    BROKEN = False
except Exception as exc:  # pragma: no cover - exercised in subprocess tests (test_fast.py, test_backends.py)
    AVAILABLE = False
    # not installed (the NumPy reference, as meant): _checks.absent_package's rule, optional_import's;
    # anything else, a plain ImportError ("Numba needs NumPy 2.5 or less") or a module inside an
    # installed numba missing included, is an installed one failing
    from ._checks import absent_package

    _absent = absent_package(exc, ("numba", "scipy", "llvmlite"))
    BROKEN = _absent is None
    UNAVAILABLE_REASON = f"{type(exc).__name__}: {exc}" if BROKEN else f"{_absent} is not installed"


@dataclass
class FastLSTMCache:
    """What the compiled backward reads, per direction. Arrays are time-major and C-contiguous."""

    x: np.ndarray  # (T, B, I) input
    acts: np.ndarray  # (T, B, 4H) activated gates i, f, g, o
    hs: np.ndarray  # (T+1, B, P) h_0 .. h_T
    cs: np.ndarray  # (T+1, B, H) c_0 .. c_T
    rs: np.ndarray  # (T, B, H) r_t = o*tanh(c_t) with proj_size, else (0, 0, 0)
    valid: np.ndarray  # (T, B) uint8, 1 where t < length_b; (0, 0) when every length is T

    def nbytes(self) -> int:
        """Bytes of the activations kept for backward (the input x is not counted: the caller owns it)."""
        return int(self.acts.nbytes + self.hs.nbytes + self.cs.nbytes + self.rs.nbytes + self.valid.nbytes)


@dataclass
class SplitLSTMCache:
    """The caches of a forward whose batch ran as blocks of rows on the threads (:mod:`lstmkit.threads`):
    rows ``bounds[k]:bounds[k+1]`` are in ``parts[k]``; the backward runs the same blocks."""

    bounds: tuple  # (n+1,) row offsets 0 .. B
    parts: list  # n FastLSTMCache

    def nbytes(self) -> int:
        return sum(p.nbytes() for p in self.parts)


def lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask=None, keep=True, out=None, prepared=None):
    """One direction of one LSTM layer over a whole sequence, compiled.

    Same contract as :func:`lstmkit.kernels.lstm_forward`:

    Args:
        x: (T, B, I) input, time-major.
        W_ih: (4H, I); W_hh: (4H, P); b: (4H,) = b_ih + b_hh, or None; W_hr: (P, H) or None.
        h0: (B, P); c0: (B, H) initial states.
        mask: (T, B, 1) of 0/1 in x's dtype, or None when every sequence has length T.
        keep: keep the activations for backward (False: inference, nothing per step is kept).
        out: (T, B, P) array of x's dtype, any strides, or None (see below).
    Returns:
        y (T, B, P) with zeros at padded steps, h_T (B, P), c_T (B, H), cache (or None). With
        ``out``, y is written into it and is ``out`` itself: a bidirectional layer's directions
        write their columns of its output (the backward one reversed in time), each block of a
        split batch its own rows, from its own thread (that output was a concatenation after the
        two calls, which read what the other core had just written: bidirectional T=100, B=32,
        H=128, inference 4.16 / 4.39 ms against 3.88 / 4.07 without it, medians of two runs).
        prepared: a dict kept from call to call by a caller whose weights do not change between
            calls (:meth:`lstmkit.LSTM.freeze`), or None. A layer whose hidden units are split
            (below) stores its threads' packed weights in it on the first call and reads them
            after, instead of gathering and packing them again (PTB-medium, 2 layers, inference:
            ~2 ms of 28); other layers pack too little for it to matter (medium, H=256: ~0.13 ms
            of 17) and ignore it.

    With :func:`lstmkit.set_num_threads` above 1, a large enough batch runs as blocks of rows,
    shared out to the threads (:mod:`lstmkit.threads`); the cache is then a :class:`SplitLSTMCache`. A
    layer without projection whose W_hh is larger than a core's L2 cache splits its hidden units
    over the threads instead (:mod:`lstmkit.kernels_units`), with one block's cache.
    """
    T, B, _ = x.shape
    dt = x.dtype
    W = (_c(W_ih, dt), _c(W_hh, dt), _c(b, dt) if b is not None else np.zeros(W_hh.shape[0], dtype=dt),
         _c(W_hr, dt) if W_hr is not None else _NONE[dt])  # fmt: skip
    gemm, mk = GEMM.get(dt, 0), _packed_kernels(dt)
    n = threads.n_unit_blocks(W_hh.shape[1], W_hh.size) if W_hr is None and gemm and mk.size > 0 else 1
    if n > 1:  # a large layer: its hidden units over the threads
        from .kernels_units import lstm_forward_units

        y, h_T, c_T, cache = lstm_forward_units(_c(x, dt), *W[:3], _c(h0, dt), _c(c0, dt), mask, keep, n, prepared)
        return kernels.write_into(out, y), h_T, c_T, cache
    n = threads.n_blocks(B, W_hh.size, mk.size > 0) if gemm else 1  # threads set NumPy's BLAS, the one gemm calls
    if n == 1:
        y, h_T, c_T, cache = _forward_block(x, *W, h0, c0, mask, keep, gemm, mk, False)
        return kernels.write_into(out, y), h_T, c_T, cache
    bounds = threads.bounds(B, n)
    y = np.empty((T, B, W_hh.shape[1]), dtype=dt) if out is None else out

    def block(k):
        rows = slice(bounds[k], bounds[k + 1])
        m = None if mask is None else mask[:, rows]
        y_k, h_k, c_k, cache_k = _forward_block(x[:, rows], *W, h0[rows], c0[rows], m, keep, gemm, mk, True)
        y[:, rows] = y_k
        return h_k, c_k, cache_k

    parts = threads.in_turn(block, n)
    h_T = np.concatenate([p[0] for p in parts])
    c_T = np.concatenate([p[1] for p in parts])
    return y, h_T, c_T, (SplitLSTMCache(bounds, [p[2] for p in parts]) if keep else None)


def _forward_block(x, W_ih, W_hh, b, W_hr, h0, c0, mask, keep, gemm, mk, split):
    """:func:`lstm_forward` on one block of rows (the whole batch when it is not split, ``split``
    False); W_hr (0, 0) when there is no projection; mk from :func:`_packed_kernels`."""
    T, B, _ = x.shape
    dt = W_ih.dtype
    valid = _valid(mask, T, B)
    x, h0, c0 = _c(x, dt), _c(h0, dt), _c(c0, dt)
    G, P = W_hh.shape
    none = _EMPTY3[dt]
    # the gates: kept for backward, or scratch in inference, there one step of them where the
    # projection runs in the time loop (a split batch's block on the packed kernel: see _forward)
    acts = _take((T if keep or not (split and mk.size > 0) else 1, B, G), dt)
    if not keep:  # hs is handed back (y is a view of it): never from the workspace
        out = _infer(x, W_ih, W_hh, b, W_hr, h0, c0, valid, gemm, mk, split, acts, none, none)
        if acts is not none:
            workspace.give(acts)
        return (*out, None)
    hs, cs = _take((T + 1, B, P), dt), _take((T + 1, B, G // 4), dt)  # given back by recycle()
    acts, hs, cs, rs = _forward(x, W_ih, W_hh, b, W_hr, h0, c0, valid, True, gemm, mk, split, acts, hs, cs)
    y = hs[1:] * mask if mask is not None else hs[1:].copy()
    return y, hs[T].copy(), cs[T].copy(), FastLSTMCache(x, acts, hs, cs, rs, valid)


def lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, cache, add_to=None):
    """Back-propagation through time for :func:`lstm_forward`, compiled.

    Args:
        dy: (T, B, P) gradient of the loss w.r.t. y (ignored at padded steps).
        dh_T: (B, P), dc_T: (B, H) gradients w.r.t. the final states.
        cache: what the forward returned: a :class:`FastLSTMCache`, or a :class:`SplitLSTMCache`,
            whose blocks run again on the threads, their weight gradients summed in block order.
            Consumed: dL/dz_t is written over its gates of step t, so a second backward from the
            same cache would read the first one's dz (a layer drops its cache before calling this).
        add_to: None, or (gW_ih (4H, I), gW_hh (4H, P)), a layer's gradients of W_ih and W_hh:
            dW_ih and dW_hh are added to them in place and returned as None. A layer whose hidden
            units are split adds as its products write (no dW arrays, no pass adding them:
            PTB-medium's two layers, ~1.5 ms of an 88 ms training step).
    Returns:
        dx (T, B, I), dW_ih (4H, I), dW_hh (4H, P), db (4H,), dW_hr (P, H) or None,
        dh0 (B, P), dc0 (B, H).
    """
    split = isinstance(cache, SplitLSTMCache)
    dt = (cache.parts[0] if split else cache).x.dtype
    W = (_c(W_ih, dt), _c(W_hh, dt), _c(W_hr, dt) if W_hr is not None else _NONE[dt])
    gemm, mk = GEMM.get(dt, 0), _packed_kernels(dt)
    n = threads.n_unit_blocks(W_hh.shape[1], W_hh.size) if not split and W_hr is None and gemm and mk.size > 0 else 1
    if n > 1:  # a large layer: its hidden units over the threads
        from .kernels_units import lstm_backward_units

        return lstm_backward_units(_c(dy, dt), _c(dh_T, dt), _c(dc_T, dt), W[0], W[1], cache, n, add_to)
    if not split:
        out = _backward_block(dy, dh_T, dc_T, *W, cache, gemm, mk, False)
    else:
        bounds = cache.bounds
        dx = np.empty((dy.shape[0], bounds[-1], W_ih.shape[1]), dtype=dt)

        def block(k):
            rows = slice(bounds[k], bounds[k + 1])
            dx_k, *rest = _backward_block(dy[:, rows], dh_T[rows], dc_T[rows], *W, cache.parts[k], gemm, mk, True)
            dx[:, rows] = dx_k
            return rest

        parts = threads.in_turn(block, len(cache.parts))
        # dW_ih, dW_hh, db, dW_hr summed over the blocks, always in block order (the same numbers every
        # time), into block 0's own arrays (no temporaries: 31 vs 48 µs for 4 dW_hh of (512, 128))
        summed = list(parts[0][:4])
        for p in parts[1:]:
            for j in range(4):
                summed[j] += p[j]
        out = (dx, *summed, np.concatenate([p[4] for p in parts]), np.concatenate([p[5] for p in parts]))
    dx, dW_ih, dW_hh, db, dW_hr, dh0, dc0 = out
    if add_to is not None:
        dW_ih, dW_hh = kernels.add_weight_grads(add_to, dW_ih, dW_hh)
    return dx, dW_ih, dW_hh, db, (dW_hr if W_hr is not None else None), dh0, dc0


def _backward_block(dy, dh_T, dc_T, W_ih, W_hh, W_hr, cache, gemm, mk, split):
    """:func:`lstm_backward` on one block of rows; W_hr (0, 0) when there is no projection."""
    dt = cache.x.dtype
    return _backward(
        _c(dy, dt), _c(dh_T, dt), _c(dc_T, dt), W_ih, W_hh, W_hr,
        cache.x, cache.acts, cache.hs, cache.cs, cache.rs, cache.valid, gemm, mk, split,
    )  # fmt: skip


def recycle(cache) -> None:
    """Give the arrays a training forward kept in ``cache`` (a :class:`FastLSTMCache` or
    :class:`SplitLSTMCache`) back to :mod:`lstmkit.workspace` for the next forward. Only once
    nothing will read the cache again (a layer calls it after its backward)."""
    for part in cache.parts if isinstance(cache, SplitLSTMCache) else (cache,):
        for a in (part.acts, part.hs, part.cs):
            workspace.give(a)


def _c(a, dt):
    """a as a C-contiguous, writeable array of dtype dt (one compiled signature per dtype)."""
    flags = a.flags
    if flags.c_contiguous and flags.writeable and a.dtype == dt:
        return a
    return np.require(a, dtype=dt, requirements=("C", "W"))


# "absent" markers for the compiled kernels (no projection, no mask): empty, never written
_NONE = {np.dtype(t): np.zeros((0, 0), dtype=t) for t in (np.float32, np.float64)}
_NO_MASK = np.zeros((0, 0), dtype=np.uint8)
# for an array the compiled code makes itself (below workspace.MIN_BYTES: cheaper there, ~0.3 µs a
# numpy.empty in Python against a few ns)
_EMPTY3 = {np.dtype(t): np.zeros((0, 0, 0), dtype=t) for t in (np.float32, np.float64)}


def _take(shape, dt):
    """A large array from :mod:`lstmkit.workspace`, or for a small one the marker _EMPTY3[dt]."""
    if math.prod(shape) * dt.itemsize < workspace.MIN_BYTES:
        return _EMPTY3[dt]
    return workspace.take(shape, dt)


# False: never the packed kernels (lstmkit.packed_gemm), BLAS as before (the tests run both ways)
USE_PACKED = True
_NO_KERNELS = np.zeros(0, dtype=np.int64)


def _packed_kernels(dt):
    """The packed-weight kernels' addresses for dtype dt (built on first use), or an empty array:
    not this CPU (no AVX-512), or ``USE_PACKED`` off."""
    return packed_gemm.kernels(dt) if USE_PACKED and AVAILABLE else _NO_KERNELS


def _valid(mask, T, B):
    """(T, B, 1) 0/1 mask -> (T, B) uint8, or an empty (0, 0) array for 'every step is valid'."""
    if mask is None:
        return _NO_MASK
    return np.ascontiguousarray(mask.reshape(T, B) != 0, dtype=np.uint8)


def _numpy_gemm() -> dict:
    """Addresses of the CBLAS sgemm/dgemm of the BLAS NumPy itself calls, by dtype ({} if not found).

    NumPy's wheels bundle an ILP64 OpenBLAS whose CBLAS functions are named ``scipy_cblas_?gemm64_``
    (other builds: ``cblas_?gemm64_``); the extension module's handle finds them among its
    dependencies. Running lstmkit's products on that BLAS keeps one thread pool in the process.
    """
    import ctypes

    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import _multiarray_umath
    try:
        lib = ctypes.CDLL(_multiarray_umath.__file__)
    except OSError:  # pragma: no cover
        return {}
    for prefix in ("scipy_cblas_", "cblas_"):
        try:
            s, d = getattr(lib, f"{prefix}sgemm64_"), getattr(lib, f"{prefix}dgemm64_")
        except AttributeError:
            continue
        addr = lambda f: ctypes.cast(f, ctypes.c_void_p).value  # noqa: E731
        return {np.dtype(np.float32): addr(s), np.dtype(np.float64): addr(d)}
    return {}


# dtype -> address of NumPy's CBLAS gemm; empty: the kernels fall back to numba's np.dot (SciPy's BLAS)
GEMM = _numpy_gemm() if AVAILABLE else {}

if AVAILABLE:

    @intrinsic
    def _as_float(typingctx, bits):
        """Reinterpret the bits of an int64 as a float64: builds 2^n exactly."""
        if bits == types.int64:
            sig, llty = types.float64(types.int64), ir.DoubleType()
        else:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llty)

        return sig, codegen

    def _exp_parts(x):
        """e^x = s (1 + q) for float64 x <= 0: returns (s, q) with s = 2^n and q = e^r - 1, |r| <= ln2/2."""
        raise NotImplementedError  # compiled only: see the overload below

    @overload(_exp_parts, inline="always")
    def _exp_parts_impl(x):
        # float64 (float32's σ and tanh are a rational function, below). x = n ln2 + r (ln2 split in a
        # high part exact in n*LN2_HI and a low part: Cody-Waite); e^r - 1 = r + r^2/2! + ... by Horner
        # (13 terms: < 1 ulp truncation on |r| <= ln2/2). x is clamped so 2^n stays a normal number:
        # below the clamp e^x < 3e-308, which tanh does not see; σ of z < -708 is 3.3e-308, not 0
        # (the module docstring says where that shows).
        if x == types.float64:

            def impl(x):
                x = max(x, -708.0)
                n = np.floor(x * 1.4426950408889634 + 0.5)
                r = x - n * 6.93147180369123816490e-01 - n * 1.90821492927058770002e-10
                q = r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (1 / 479001600 + r / 6227020800.0)))))))))))) # fmt: skip
                s = _as_float(np.int64((np.int64(n) + np.int64(1023)) << np.int64(52)))
                return s, q

            return impl
        return None

    # float32 tanh(x) ~= p(x)/q(x) on |x| < TANH_CLAMP, +-1 outside (where tanh is within 2.7e-7 of +-1):
    # odd p of degree 13, even q of degree 6, the coefficients of ONNX Runtime's MLAS
    # (MlasTanhConstants) and Eigen (generic_fast_tanh_float); largest error 3.4e-7 against float64
    # tanh over [-12, 12], relative error 2.3e-7 near 0 (it is odd: no cancellation).
    TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
              -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)  # x^1, x^3, .., x^13
    TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)  # x^0 .. x^6
    TANH_CLAMP = 7.90531110763549805

    def _tanh(z):
        """tanh(z), compiled and vectorisable."""
        raise NotImplementedError

    @overload(_tanh)
    def _tanh_impl(z):
        if z == types.float32:
            # p(x)/q(x) (TANH_P, TANH_Q): ~15 vector operations, against ~25 through the exponential
            # below (a cell row measured 1.45x faster: H=128 251 vs 366 ns)
            f = np.float32
            p1, p3, p5, p7, p9, p11, p13 = (f(c) for c in TANH_P)
            q0, q2, q4, q6 = (f(c) for c in TANH_Q)
            clamp = f(TANH_CLAMP)

            one, zero = f(1.0), f(0.0)

            def impl(z):
                # saturated: exactly +-1 (p/q stops at 0.99999976 there), so that a gate pre-activation
                # of 40 gives σ = 1 and a held c_t does not leak 1.2e-7 a step, and tanh' = 0; σ is
                # then exactly 1 from z = 15.81, where float32's rounded σ is 1 only from 16.64 (the
                # module docstring says what that costs). A NaN is
                # not saturated (the comparison is false): it goes through p/q and stays NaN, as the
                # reference's tanh keeps it (a clamp by min/max turned it into -1)
                saturated = abs(z) >= clamp
                x = zero if saturated else z  # p/q is not used there: kept finite
                x2 = x * x
                p = x * (p1 + x2 * (p3 + x2 * (p5 + x2 * (p7 + x2 * (p9 + x2 * (p11 + x2 * p13))))))
                q = q0 + x2 * (q2 + x2 * (q4 + x2 * q6))
                return (one if z > 0 else -one) if saturated else p / q

            return impl
        # float64: tanh(a) = (1 - e^{-2a}) / (1 + e^{-2a}) = -m / (2 + m),  m = expm1(-2a) = (s - 1) + s q,
        # a = |z|, sign restored after. m has no cancellation when n = 0 (|a| < ln2/4).
        f = np.float64

        def impl(z):
            s, q = _exp_parts(f(-2.0) * abs(z))
            m = (s - f(1.0)) + s * q
            t = -m / (f(2.0) + m)
            return t if z >= f(0.0) else -t

        return impl

    def _sigmoid(z):
        """σ(z), compiled and vectorisable."""
        raise NotImplementedError

    @overload(_sigmoid)
    def _sigmoid_impl(z):
        if z == types.float32:
            # σ(z) = (1 + tanh(z/2)) / 2, with the rational tanh above (error < 2.3e-7)
            f = np.float32

            def impl(z):
                return f(0.5) + f(0.5) * _tanh(f(0.5) * z)

            return impl
        # float64: σ(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0, e = e^{-|z|} (never exp of a positive number)
        f = np.float64

        def impl(z):
            s, q = _exp_parts(-abs(z))
            e = s + s * q
            num = f(1.0) if z >= f(0.0) else e
            return num / (f(1.0) + e)

        return impl

    @intrinsic
    def _cblas_gemm(typingctx, fn, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc):
        """Call the CBLAS ``?gemm`` at address ``fn`` (ILP64): c = op(a) @ op(b), row-major, alpha 1,
        beta 0; trans_* are CBLAS codes (111 no, 112 transpose). The address is an argument, not
        a constant, so the compiled code stays valid in another process (numba's disk cache)."""
        dt = a.dtype
        sig = types.void(types.intp, types.int32, types.int32, types.int64, types.int64, types.int64,
                         a, types.int64, b, types.int64, c, types.int64)  # fmt: skip

        def codegen(context, builder, signature, args):
            fn_, ta, tb, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args
            flt = ir.FloatType() if dt == types.float32 else ir.DoubleType()
            i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, flt, ptr, i64, ptr, i64, flt, ptr, i64])

            def data(arrty, val):
                return builder.bitcast(context.make_array(arrty)(context, builder, val).data, ptr)

            one, zero = ir.Constant(flt, 1.0), ir.Constant(flt, 0.0)
            row_major = ir.Constant(i32, 101)
            A, B, C = (data(signature.args[i], args[i]) for i in (6, 8, 10))
            builder.call(builder.inttoptr(fn_, fnty.as_pointer()), [row_major, ta, tb, m_, n_, k_, one, A, lda_, B, ldb_, zero, C, ldc_])
            return context.get_dummy_value()

        return sig, codegen

    _jit = jit.njit(error_model="numpy", nogil=True, fastmath={"contract"})  # numba.njit(cache=True) where numba can cache

    @_jit
    def _gemm(gemm, a, trans_a, b, trans_b, out):
        """out = op(a) @ op(b), op = transpose where trans_*, for C-contiguous a, b, out.

        Through NumPy's own BLAS (the CBLAS gemm at address ``gemm``, see :func:`_numpy_gemm`):
        one BLAS thread pool for lstmkit and the NumPy code around it. When ``gemm`` is 0 (that
        BLAS not found), numba's ``np.dot`` (SciPy's BLAS).
        """
        if gemm == 0:
            if trans_a and trans_b:
                np.dot(a.T, b.T, out)
            elif trans_a:
                np.dot(a.T, b, out)
            elif trans_b:
                np.dot(a, b.T, out)
            else:
                np.dot(a, b, out)
            return
        M, K = (a.shape[1], a.shape[0]) if trans_a else (a.shape[0], a.shape[1])
        N = b.shape[0] if trans_b else b.shape[1]
        code_a, code_b = np.int32(112 if trans_a else 111), np.int32(112 if trans_b else 111)
        _cblas_gemm(gemm, code_a, code_b, M, N, K, a, a.shape[1], b, b.shape[1], out, out.shape[1])

    FUSED_UNITS = 16  # hidden units per group of _fused_step: one 512-bit vector of float32 per gate
    # Up to this many multiply-adds a product may be done by the loop in _small_matmul rather than
    # by BLAS (measured on 2 cores: the loop wins at (1, 20) @ (20, 80), BLAS from (1, 64) @ (64, 256));
    # where the packed kernels exist, only a one-row forward's is (see _operand).
    SMALL_PRODUCT = 1 << 13
    # Above this many multiply-adds, two BLAS threads beat the single-threaded packed kernel
    # (packed_gemm: (32, 256) @ (256, 1024) 110 vs 140 µs, (64, 256) @ (256, 1024) 191 vs 152 µs).
    PACKED_MAX = 1 << 23
    # Packing W costs about what 16-55 rows of its product save (estimated when packing took 0.3-1.1
    # ns an element, now 0.3-0.5; the product's gain over BLAS per row): a product done for fewer
    # rows in all (T M, steps x batch) is done by BLAS or the compiled loop.
    PACK_ROWS = 32
    PACK_STEPS = 1 << 30  # _operand's default T: a stream, stepped many times
    SMALL, NN, NT, PACKED = 0, 1, 2, 3  # how a per-step product is done (see _operand)

    @_jit
    def _operand(W, transpose, M, mk, split, loop=False, T=PACK_STEPS):
        """How the per-step product (M, K) @ B is done, B = W^T (``transpose``, W (N, K)) or W (W (K, N)),
        and what it reads: (how, B2, Bp, tmp). Decided once per call, before the time loop.

        * SMALL: the compiled loop :func:`_small_matmul` on B2 = B (a copy when transposed), for up
          to ``SMALL_PRODUCT`` multiply-adds, where a call costs more than the work (tiny models):
          without the packed kernels; or for one row (M = 1) where the caller runs it in a loop with
          no call in it (``loop``: the forward without projection or lengths; H = 20: 30 vs 35 µs
          for 50 steps, the packed kernel called from that loop).
        * PACKED: :mod:`lstmkit.packed_gemm`'s kernel on Bp, B packed once here (tmp: its scratch),
          where ``mk`` (its kernels; empty: not on this CPU) exists and either
          - the batch runs split on lstmkit's threads (``split``: BLAS is single-threaded then, and
            the kernel beats it 1.4-3x; one step of PTB-medium, B=20, measured 3.4-4.4 ms a call
            packed, 4.7 ms through BLAS), or
          - the product is at most ``PACKED_MAX`` and done often enough to pay for the packing:
            T steps of M rows, T M >= ``PACK_ROWS`` (default T: a stream, stepped many times;
            ``LSTM.forward`` one step at a time, B=1, H=128: 25 µs a call through BLAS, 66 packed).
          Tiny products included, where it beats the compiled loop ((1, 80) @ (80, 20) 55 vs
          140 ns, (4, 20) @ (20, 80) 210 vs 480 ns), and one row: a stream of H = 128 measured
          1.15 vs 1.28 ms for 100 steps against BLAS "NT", of H = 650 26 vs 55 ms for 35.
        * NN / NT: BLAS on B2 = B ("NN", B^T copied once: (16, 64) @ (64, 256) 4.0 µs vs 10.9 µs NT)
          or, for one row of a product transposed, on W as stored ("NT": (1, 128) @ (128, 512)
          2.0 µs vs 3.4 µs NN).
        """
        K, N = (W.shape[1], W.shape[0]) if transpose else (W.shape[0], W.shape[1])
        e2, e3 = np.empty((0, 0), dtype=W.dtype), np.empty((0, 0, 0), dtype=W.dtype)
        MKN = M * K * N  # multiply-adds; 0: an absent projection, never run
        small = MKN <= SMALL_PRODUCT
        worth = split or (MKN <= PACKED_MAX and T * M >= PACK_ROWS)
        if mk.size > 0 and MKN > 0 and worth and not (small and loop and M == 1):
            nr = packed_gemm.PANEL_BYTES // W.itemsize
            Bp = packed_gemm.pack_gathered(W, np.arange(N), nr, mk) if transpose else packed_gemm.pack(W, False, nr)
            return PACKED, e2, Bp, packed_gemm.scratch(M, Bp, N)
        if small:
            return SMALL, (np.ascontiguousarray(W.T) if transpose else W), e3, e2
        if not transpose:
            return NN, W, e3, e2
        if M == 1:
            return NT, W, e3, e2
        return NN, np.ascontiguousarray(W.T), e3, e2

    @_jit
    def _loop_operand(W, transpose, M, mk, in_loop, T):
        """:func:`_operand` of a product a split batch's block runs a step at a time in its time
        loop (``in_loop``: x_t W_ih^T forward, dz_t W_ih backward); else a placeholder of the same
        type, for which nothing is packed or copied (the product is done otherwise)."""
        return _operand(W if in_loop else np.empty((0, W.shape[1]), dtype=W.dtype), transpose, M, mk, in_loop, False, T)

    @numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
    def _matmul(A, t, op, out, gemm, mk):
        """out = A[t] @ B for C-contiguous A (., M, K) and out (M, N), done as ``op`` from
        :func:`_operand` says. Inlined into the time loops, the choice made before them: a call
        deciding per step measured 2x slower at (1, 20) @ (20, 80) (132 vs 65 ns). A[t] is
        indexed, not sliced, in the loop (a slice costs reference counting, ~30 ns a step).
        """
        how, B2, Bp, tmp = op
        if how == SMALL:
            _small_matmul(A, t, B2, out)
        elif how == PACKED:
            packed_gemm.matmul(A, t, Bp, out, tmp, mk)
        else:
            _gemm(gemm, A[t], False, B2, how == NT, out)

    @_jit
    def _weight_grad(dZ, X, out, runs, gemm, mk, packed):
        """out[r0:r1] = dZ[:, r0:r1]^T X for each row (r0, r1) of runs: dZ (N, G), X (N, K), out (G, K).
        The weight gradients dW_ih = dZ^T X and dW_hh = dZ^T H_prev (N = T B), whole (runs [[0, G]])
        or a thread's units' rows of each gate (lstmkit.kernels_units).

        ``packed``: on :mod:`lstmkit.packed_gemm`'s kernel, which reads dZ^T by columns of dZ as it
        is stored (:func:`packed_gemm.matmul_cols`), X packed once here. Measured on 2 cores, each
        thread its blocks, float32, dZ^T X and dZ^T H_prev of (1600, 1024) and (1600, 256): 18.3 ms
        for 4 blocks (366 GFLOP/s, the packing included) against 30.2 for each block's 1-thread
        OpenBLAS calls (OPENBLAS_CORETYPE=Haswell); PTB-medium's units split (700, 2600) by
        (700, 650): 12.4 against 22.1 ms. Else the whole product in one BLAS call, runs unread
        (the batch unsplit: NumPy's BLAS on all its threads).
        """
        _weight_grad_into(dZ, X, out, runs, gemm, mk, packed, np.empty(0, dtype=X.dtype), False)

    @_jit
    def _weight_grad_into(dZ, X, out, runs, gemm, mk, packed, buf, add):
        """:func:`_weight_grad`, X packed into buf (:func:`lstmkit.packed_gemm.pack_into`: at least
        ``pack_elements(N, K)`` elements, from :mod:`lstmkit.workspace`) where it has any, else into
        a new array. ``add`` (packed only): out[r0:r1] += dZ[:, r0:r1]^T X, out a layer's gradient
        (the kernel adds to it as it writes: no dW array, no pass adding it)."""
        if not packed:
            _gemm(gemm, dZ, True, X, False, out)
            return
        nr = packed_gemm.PANEL_BYTES // X.itemsize
        Xp = packed_gemm.pack_into(buf, X, False, nr) if buf.size > 0 else packed_gemm.pack(X, False, nr)
        for i in range(runs.shape[0]):
            r0, r1 = runs[i, 0], runs[i, 1]
            packed_gemm.matmul_cols(dZ, r0, Xp, out[r0:r1], packed_gemm.scratch(r1 - r0, Xp, X.shape[1]), mk, add)

    @numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
    def _small_matmul(A, t, b, out):
        """out = A[t] @ b, A[t] (M, K), b (K, N), out (M, N): rows of axpys on b, vectorised over N."""
        M, K = A.shape[1], A.shape[2]
        N = b.shape[1]
        K4 = K - K % 4
        for m in range(M):
            o = out[m]
            for n in range(N):
                o[n] = 0
            for k in range(0, K4, 4):  # four rows of b per pass over o: a quarter of the loads/stores of o
                a0, a1, a2, a3 = A[t, m, k], A[t, m, k + 1], A[t, m, k + 2], A[t, m, k + 3]
                w0, w1, w2, w3 = b[k], b[k + 1], b[k + 2], b[k + 3]
                for n in range(N):  # vectorised over the output's columns
                    o[n] += a0 * w0[n] + a1 * w1[n] + a2 * w2[n] + a3 * w3[n]
            for k in range(K4, K):
                a0, w0 = A[t, m, k], b[k]
                for n in range(N):
                    o[n] += a0 * w0[n]

    @numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
    def _cell_row(Z, t, bb, R, b, C, cp, cn, Rt, rt):
        """Batch row bb of one step, in place: the gates from their pre-activations, then c_t, r_t.

        Z[t, bb] (4H,) holds x_t W_ih^T on entry and the activated gates i, f, g, o on exit;
        R[bb] (4H,) is h_{t-1} W_hh^T; b (4H,); C[cp, bb] (H,) is c_{t-1} and C[cn, bb] gets c_t
        (cn may be cp: each unit reads its own); Rt[rt, bb] (H,) gets r_t. Z, C, Rt are 3-D, R 2-D.
        The rows are indexed, not sliced: a slice per argument costs a reference-count increment
        and decrement per call (measured at H = 20: 157 ns a row sliced, 114 ns indexed).
        Short loops from 0 over one row, each writing one array: the compiler vectorises these
        (not one long loop reading and writing nine arrays).
        """
        H = C.shape[2]
        i, f, g, o = 0, H, 2 * H, 3 * H  # where each gate's H units start in a row of Z
        for k in range(2 * H):  # i, f = σ(x W_ih^T + b + h_{t-1} W_hh^T)
            Z[t, bb, i + k] = _sigmoid(Z[t, bb, i + k] + b[i + k] + R[bb, i + k])
        for j in range(H):  # g = tanh(...) = c~_t
            Z[t, bb, g + j] = _tanh(Z[t, bb, g + j] + b[g + j] + R[bb, g + j])
        for j in range(H):  # o = σ(...)
            Z[t, bb, o + j] = _sigmoid(Z[t, bb, o + j] + b[o + j] + R[bb, o + j])
        for j in range(H):  # c_t = f * c_{t-1} + i * g
            C[cn, bb, j] = Z[t, bb, f + j] * C[cp, bb, j] + Z[t, bb, i + j] * Z[t, bb, g + j]
        for j in range(H):  # r_t = o * tanh(c_t)
            Rt[rt, bb, j] = Z[t, bb, o + j] * _tanh(C[cn, bb, j])

    @numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
    def _cell_row_backward(A, t, bb, C, DCN, DR, DZ, tc, dc):
        """Backward of :func:`_cell_row` for batch row bb of step t.

        A[t, bb] (4H,) the activated gates i, f, g, o; C[t + 1, bb], C[t, bb] (H,) c_t and c_{t-1};
        DCN[bb] (H,) dL/dc_t from step t+1 on entry, dL/dc_{t-1} (= dc_t * f) on exit; DR[bb] (H,)
        dL/dr_t; DZ[t, bb] (4H,) out: dL/dz_t. tc, dc (H,) scratch. A, C, DZ are 3-D, DCN, DR 2-D,
        indexed as in the forward. One short loop per array written, as in the forward: one loop
        writing five arrays is not vectorised (measured 6x slower at (64, 256)).

        DZ may be A itself (the backward writes dz_t over the gates of step t, which nothing reads
        again): each gate's entries are read before they are written over, f's by dc_{t-1} first,
        i's kept in tc for dg once tanh(c_t) is no longer needed.
        """
        H = C.shape[2]
        i, f, g, o = 0, H, 2 * H, 3 * H
        one = A.dtype.type(1.0)
        for j in range(H):  # tanh(c_t), recomputed
            tc[j] = _tanh(C[t + 1, bb, j])
        for j in range(H):  # dc_t = dc_next + dr * o * (1 - tanh²(c_t))
            dc[j] = DCN[bb, j] + DR[bb, j] * A[t, bb, o + j] * (one - tc[j] * tc[j])
        for j in range(H):  # do = dr * tanh(c_t), through σ (its derivative from the output: o (1 - o))
            DZ[t, bb, o + j] = DR[bb, j] * tc[j] * (A[t, bb, o + j] * (one - A[t, bb, o + j]))
        for j in range(H):  # dc_next = dc * f
            DCN[bb, j] = dc[j] * A[t, bb, f + j]
        for j in range(H):  # df = dc * c_{t-1}, through σ
            DZ[t, bb, f + j] = dc[j] * C[t, bb, j] * (A[t, bb, f + j] * (one - A[t, bb, f + j]))
        for j in range(H):  # i, kept: di is written over it
            tc[j] = A[t, bb, i + j]
        for j in range(H):  # di = dc * g, through σ
            DZ[t, bb, i + j] = dc[j] * A[t, bb, g + j] * (tc[j] * (one - tc[j]))
        for j in range(H):  # dg = dc * i, through tanh
            DZ[t, bb, g + j] = dc[j] * tc[j] * (one - A[t, bb, g + j] * A[t, bb, g + j])

    @_jit
    def _step(x, op_ih, op_hh, b, op_hr, proj, h, c, zx, zr, r, gemm, mk):
        """One time step of one layer for a batch, in place: (h, c) <- the next state. Streaming.

        x (B, I); op_ih, op_hh, op_hr: the products by W_ih^T, W_hh^T, W_hr^T from :func:`_operand`
        (made once per stream; op_hr unused without ``proj``); b (4H,); h (B, P), c (B, H) the
        state; zx, zr (B, 4H) and r (B, H) scratch. After the call h holds h_t (r_t W_hr^T with
        projection), c holds c_t and zx the activated gates.
        """
        B = x.shape[0]
        # _matmul and the row functions index 3-D arrays: these are views of one step (1, B, .)
        x3, h3, r3 = x.reshape(1, B, x.shape[1]), h.reshape(1, B, h.shape[1]), r.reshape(1, B, r.shape[1])
        _matmul(x3, 0, op_ih, zx, gemm, mk)  # x_t W_ih^T                               (B, 4H)
        _matmul(h3, 0, op_hh, zr, gemm, mk)  # h_{t-1} W_hh^T                           (B, 4H)
        Z, C = zx.reshape(1, B, zx.shape[1]), c.reshape(1, B, c.shape[1])
        Rt = r3 if proj else h3  # r_t, = h_t without projection
        for bb in range(B):
            _cell_row(Z, 0, bb, zr, b, C, 0, 0, Rt, 0)
        if proj:
            _matmul(r3, 0, op_hr, h, gemm, mk)  # h_t = r_t W_hr^T                      (B, P)

    @numba.njit(inline="always", error_model="numpy")
    def _hold_padded(valid, t, cs, ct, cn, hs, rs, proj):
        """After step t of the forward: each row padded at t (valid[t, bb] == 0) keeps the previous
        state, c_t = c_{t-1} (cs[cn] from cs[ct]) and h_t = h_{t-1} (hs[t + 1] from hs[t]); what
        its cell computed is dropped. With projection its r_t (rs[t]) stays 0, as dW_hr reads it."""
        for bb in range(cs.shape[1]):
            if valid[t, bb] == 0:
                for j in range(cs.shape[2]):
                    cs[cn, bb, j] = cs[ct, bb, j]
                for j in range(hs.shape[2]):
                    hs[t + 1, bb, j] = hs[t, bb, j]
                if proj:
                    for j in range(rs.shape[2]):
                        rs[t, bb, j] = 0

    @numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
    def _fused_step(x, t, Wip, hs, Wp, bp, C, cs, ct, cn, mk):
        """One step of inference for a block of rows, the cell run on each group of ``FUSED_UNITS``
        units as soon as their gates' products are done, while they are in L1
        (:func:`_fused_operands`). The gates are not kept: storing them too (for backward) in the
        same loop measured 2.7x slower for a whole step (it is no longer vectorised), and in loops of
        their own 1.4x; training runs :func:`_cell_row` after the whole products.

        For group u0 .. u0+15: C (B, 64) = x_t W_ih[rows]^T + h_{t-1} W_hh[rows]^T, rows the group's
        units of gates i, f, g, o (64 columns of Wip, Wp: 64 / nr panels, the second product added
        into the first's accumulators); then per row bb, for those units, the gates
        i, f, o = σ(z + b), g = tanh(z + b), c_t = f c_{t-1} + i g into cs[cn], h_t = o tanh(c_t)
        into hs[t + 1]. x (T, B, I), hs (T+1, B, H), cs (2, B, H); bp = b[perm].
        """
        B, I = x.shape[1], x.shape[2]
        H = hs.shape[2]
        nr = Wip.shape[2]
        F, width = FUSED_UNITS, 4 * FUSED_UNITS  # a group's units; its gate columns, [i f g o] F each
        per = width // nr  # panels in a group's columns
        nb = (B + packed_gemm.MR_MAX - 1) // packed_gemm.MR_MAX
        for grp in range(H // FUSED_UNITS):
            for q in range(per):
                p = grp * per + q
                for k0 in range(0, I, packed_gemm.KC):  # x_t W_ih[rows]^T                (B, 64)
                    kc = min(packed_gemm.KC, I - k0)
                    for blk in range(nb):
                        m0, m1 = blk * B // nb, (blk + 1) * B // nb
                        packed_gemm._call(mk[m1 - m0], x, (t * B + m0) * I + k0, I, Wip, (p * I + k0) * nr,
                                          C, m0 * width + q * nr, width, kc, k0)  # fmt: skip
                for k0 in range(0, H, packed_gemm.KC):  # + h_{t-1} W_hh[rows]^T, added
                    kc = min(packed_gemm.KC, H - k0)
                    for blk in range(nb):
                        m0, m1 = blk * B // nb, (blk + 1) * B // nb
                        packed_gemm._call(mk[m1 - m0], hs, (t * B + m0) * H + k0, H, Wp, (p * H + k0) * nr,
                                          C, m0 * width + q * nr, width, kc, 1)  # fmt: skip
            u0, o0 = grp * F, grp * width  # the group's first unit; its first column in bp
            for bb in range(B):
                z = C[bb]
                for j in range(F):  # one vector of each gate (no other array written: vectorised)
                    i_ = _sigmoid(z[j] + bp[o0 + j])
                    f_ = _sigmoid(z[F + j] + bp[o0 + F + j])
                    g_ = _tanh(z[2 * F + j] + bp[o0 + 2 * F + j])
                    o_ = _sigmoid(z[3 * F + j] + bp[o0 + 3 * F + j])
                    c = f_ * cs[ct, bb, u0 + j] + i_ * g_  # c_t = f * c_{t-1} + i * g
                    cs[cn, bb, u0 + j] = c
                    hs[t + 1, bb, u0 + j] = o_ * _tanh(c)  # h_t = o * tanh(c_t)

    @_jit
    def _fused_operands(W_ih, W_hh, b, mk):
        """(Wip, Wp, bp) for :func:`_fused_step`: W_ih^T and W_hh^T packed with their columns (the
        rows of W) in groups of ``FUSED_UNITS`` units, each group's i, f, g, o side by side (64
        columns: whole panels), and b in that order."""
        H = W_hh.shape[1]
        perm = np.empty(4 * H, dtype=np.int64)
        F = FUSED_UNITS
        for grp in range(H // F):
            for q in range(4):
                for j in range(F):
                    perm[(4 * grp + q) * F + j] = q * H + grp * F + j
        nr = packed_gemm.PANEL_BYTES // W_hh.itemsize
        bp = np.empty(4 * H, dtype=b.dtype)
        for k in range(4 * H):
            bp[k] = b[perm[k]]
        return packed_gemm.pack_gathered(W_ih, perm, nr, mk), packed_gemm.pack_gathered(W_hh, perm, nr, mk), bp

    @_jit
    def _forward(x, W_ih, W_hh, b, W_hr, h0, c0, valid, keep, gemm, mk, split, acts, hs, cs):
        """Compiled body of :func:`lstm_forward`. W_hr (0, 0) means no projection, valid (0, 0) no mask;
        mk, split: see :func:`_operand`. acts (T, B, 4H), hs (T+1, B, P), cs (T+1, or 2 without
        ``keep``, B, H): where the gates and the states go, uninitialised on entry, from
        :mod:`lstmkit.workspace`; each is made here instead where it is given empty (_EMPTY3).
        Returns the four arrays (rs (T, B, H) with projection, else empty)."""
        T, B, I = x.shape
        G, P = W_hh.shape
        H = G // 4
        proj = W_hr.shape[0] > 0
        masked = valid.shape[0] > 0
        # Z = X W_ih^T : the input projection of every step in one GEMM (b is added in the loop,
        # saving a pass over this (T, B, 4H) array)                                     (T, B, 4H)
        # A block on its own thread (split) runs it on the packed kernel, where BLAS is
        # single-threaded (all steps of the blocks of (100, 64, 256) @ (256, 1024) on 2 threads:
        # 7.8 ms, 430 GFLOP/s, against 15.1 for each block's 1-thread OpenBLAS call, Haswell
        # kernels), a step at a time, in the time loop: z_t is in cache when the cell reads it, and
        # inference keeps one step of it (acts (1, B, 4H)). Against all steps before the loop,
        # paired in one process: medium (100, 64, 256, 256) inference -3 to -5%, training -2%;
        # long (1000, 16, 64, 64) -13%, -3%. Backward's dx_t = dz_t W_ih likewise.
        in_loop = split and mk.size > 0
        if acts.size == 0:  # the marker (_EMPTY3): small enough to make here
            acts = np.empty((T if keep or not in_loop else 1, B, G), dtype=x.dtype)
        # inference with the cell fused into the per-step products, group by group (_fused_step): a
        # split block without projection, H a multiple of FUSED_UNITS. Paired in one process
        # against the products then _cell_row: (100, 16, 32, 128) one block 0.93-0.95
        fused = in_loop and not keep and not proj and H % FUSED_UNITS == 0
        op_ih = _loop_operand(W_ih, True, B, mk, in_loop and not fused, T)  # by W_ih^T (I, 4H) in the loop
        # small: on a copy of W_ih^T ("NN"), 0.5 vs 1.0 µs at (50, 10) @ (10, 80)
        if not in_loop and W_ih.size <= SMALL_PRODUCT:
            _gemm(gemm, x.reshape(T * B, I), False, np.ascontiguousarray(W_ih.T), False, acts.reshape(T * B, G))
        elif not in_loop:
            _gemm(gemm, x.reshape(T * B, I), False, W_ih, True, acts.reshape(T * B, G))
        if hs.size == 0:
            hs = np.empty((T + 1, B, P), dtype=x.dtype)
        if cs.size == 0:
            cs = np.empty((T + 1 if keep else 2, B, H), dtype=x.dtype)
        hs[0] = h0  # h_0 .. h_T
        cs[0] = c0  # c_0 .. c_T (inference: 2 rolling)
        rs = np.zeros((T if proj else 0, B, H), dtype=x.dtype)  # r_t (projection only)
        if fused:
            Wip, Wp, bp = _fused_operands(W_ih, W_hh, b, mk)
            C = np.empty((B, 4 * FUSED_UNITS), dtype=x.dtype)  # one group's z_t
            for t in range(T):
                ct, cn = t % 2, (t + 1) % 2  # inference: c_{t-1}, c_t in two rolling rows
                _fused_step(x, t, Wip, hs, Wp, bp, C, cs, ct, cn, mk)
                if masked:
                    _hold_padded(valid, t, cs, ct, cn, hs, rs, proj)
            return acts, hs, cs, rs
        rec = np.empty((B, G), dtype=x.dtype)  # h_{t-1} W_hh^T
        op_hh = _operand(W_hh, True, B, mk, split, not proj and not masked, T)  # by W_hh^T (P, 4H)
        op_hr = _operand(W_hr, True, B, mk, split, False, T)  # by W_hr^T (H, P); (0, 0) without projection
        R, r0 = (rs, 0) if proj else (hs, 1)  # r_t goes to R[t + r0]: rs[t], or h_t itself
        if op_hh[0] == SMALL and not proj and not masked:
            # tiny models: the same steps in a loop with no call and no test in it (measured ~80 ns
            # a step faster at H = 20: a call in the loop, even one not taken, costs ~35 ns a step)
            for t in range(T):
                ct, cn = (t, t + 1) if keep else (t % 2, (t + 1) % 2)
                _small_matmul(hs, t, op_hh[1], rec)  # h_{t-1} W_hh^T                             (B, 4H)
                for bb in range(B):
                    _cell_row(acts, t, bb, rec, b, cs, ct, cn, hs, t + 1)
            return acts, hs, cs, rs
        for t in range(T):
            ct, cn = (t, t + 1) if keep else (t % 2, (t + 1) % 2)
            ta = t if keep or not in_loop else 0  # where z_t is: acts[t], or inference's one step
            if in_loop:
                _matmul(x, t, op_ih, acts[ta], gemm, mk)  # x_t W_ih^T                          (B, 4H)
            _matmul(hs, t, op_hh, rec, gemm, mk)  # h_{t-1} W_hh^T                          (B, 4H)
            for bb in range(B):  # every row, padded ones too: no test in this loop (~30 ns a step)
                _cell_row(acts, ta, bb, rec, b, cs, ct, cn, R, t + r0)
            if proj:
                _matmul(rs, t, op_hr, hs[t + 1], gemm, mk)  # h_t = r_t W_hr^T                 (B, P)
            if masked:
                _hold_padded(valid, t, cs, ct, cn, hs, rs, proj)
        return acts, hs, cs, rs

    @_jit
    def _infer(x, W_ih, W_hh, b, W_hr, h0, c0, valid, gemm, mk, split, acts, hs, cs):
        """:func:`_forward` keeping nothing per step: y (T, B, P) (zero at padded steps, a view of
        hs), h_T, c_T; acts (T, or 1 where the projection runs in the time loop, B, 4H) is
        scratch, cs (2, B, H).

        Three arrays back to Python, the copies of h_T and c_T made here: each array handed back
        costs ~0.45 µs, a copy made in Python ~0.3 µs (a tiny model's whole forward: ~20 µs).
        """
        T = x.shape[0]
        _, hs, cs, _ = _forward(x, W_ih, W_hh, b, W_hr, h0, c0, valid, False, gemm, mk, split, acts, hs, cs)
        h_T, c_T = hs[T].copy(), cs[T % 2].copy()
        y = hs[1:]  # nothing else holds hs: y is a view of it
        if valid.shape[0] > 0:
            for t in range(T):
                for bb in range(x.shape[1]):
                    if valid[t, bb] == 0:
                        y[t, bb] = 0
        return y, h_T, c_T

    @_jit
    def _backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, x, acts, hs, cs, rs, valid, gemm, mk, split):
        """Compiled body of :func:`lstm_backward`. dL/dz_t of every step is written over the gates
        of step t in acts (T, B, 4H), which nothing reads after it (the layer drops its cache before
        backward): a training step reads and writes T B 4H numbers fewer than with dz in an array of
        its own (medium, T=100, B=64, H=256: 26 MB)."""
        T, B, I = x.shape
        G, P = W_hh.shape
        H = G // 4
        proj = W_hr.shape[0] > 0
        masked = valid.shape[0] > 0
        dz_all = acts  # dL/dz_t over the gates of step t (_cell_row_backward reads each before writing it)
        dhs = np.zeros((T if proj else 0, B, P), dtype=x.dtype)  # dL/dh_t, for dW_hr
        dh_next = dh_T.copy()  # (B, P)
        dc_next = dc_T.copy()  # (B, H)
        dh = np.empty((B, P), dtype=x.dtype)
        dr = np.empty((B, H), dtype=x.dtype) if proj else dh  # without projection dr_t = dh_t
        tc, dc = np.empty(H, dtype=x.dtype), np.empty(H, dtype=x.dtype)  # scratch of one row
        op_hh = _operand(W_hh, False, B, mk, split, False, T)  # by W_hh (4H, P)
        in_loop = split and mk.size > 0  # dx_t = dz_t W_ih in the time loop (as the forward's x_t W_ih^T)
        op_ih = _loop_operand(W_ih, False, B, mk, in_loop, T)  # by W_ih (4H, I) in the loop
        dx = np.empty((T, B, I), dtype=x.dtype)
        op_hr = _operand(W_hr, False, B, mk, split, False, T)  # by W_hr (P, H)
        dh3 = dh.reshape(1, B, P)  # dh as the 3-D array _matmul indexes
        db = np.zeros(G, dtype=x.dtype)  # (4H,)
        for t in range(T - 1, -1, -1):
            for bb in range(B):
                if masked and valid[t, bb] == 0:  # dy at padded steps is ignored
                    dh[bb] = dh_next[bb]
                    continue
                for j in range(P):
                    dh[bb, j] = dy[t, bb, j] + dh_next[bb, j]  # dh_t = dy_t + dh_next
            if proj:
                for bb in range(B):
                    if not masked or valid[t, bb] != 0:  # padded rows did not use W_hr
                        dhs[t, bb] = dh[bb]
                _matmul(dh3, 0, op_hr, dr, gemm, mk)  # dr_t = dh_t W_hr                       (B, H)
            for bb in range(B):
                if masked and valid[t, bb] == 0:  # padded row: no gate gradient, dc passes through
                    dz_all[t, bb] = 0
                    continue
                _cell_row_backward(acts, t, bb, cs, dc_next, dr, dz_all, tc, dc)
                for k in range(G):  # db = Σ dZ, the row while it is in cache
                    db[k] += dz_all[t, bb, k]
            _matmul(dz_all, t, op_hh, dh_next, gemm, mk)  # dh_next = dz W_hh              (B, P)
            if in_loop:
                _matmul(dz_all, t, op_ih, dx[t], gemm, mk)  # dx_t = dz_t W_ih                 (B, I)
            if masked:
                for bb in range(B):
                    if valid[t, bb] == 0:  # padded row: dh passes straight through
                        for j in range(P):
                            dh_next[bb, j] += dh[bb, j]
        dZ = dz_all.reshape(T * B, G)
        whole = np.array([[0, G]], dtype=np.int64)
        # packed where the batch is split (in_loop): BLAS is single-threaded there, the packed kernel beats it
        dW_ih = np.empty((G, I), dtype=x.dtype)
        _weight_grad(dZ, x.reshape(T * B, I), dW_ih, whole, gemm, mk, in_loop)  # dW_ih = dZ^T X  (4H, I)
        dW_hh = np.empty((G, P), dtype=x.dtype)
        _weight_grad(dZ, hs[:T].reshape(T * B, P), dW_hh, whole, gemm, mk, in_loop)  # dZ^T H_prev (4H, P)
        if proj:
            dW_hr = np.empty((P, H), dtype=x.dtype)
            _gemm(gemm, dhs.reshape(T * B, P), True, rs.reshape(T * B, H), False, dW_hr)  # dH^T R  (P, H)
        else:
            dW_hr = np.zeros((0, 0), dtype=x.dtype)
        if not in_loop:
            _gemm(gemm, dZ, False, W_ih, False, dx.reshape(T * B, I))  # dX = dZ W_ih     (T, B, I)
        return dx, dW_ih, dW_hh, db, dW_hr, dh_next, dc_next
