"""Matrix products on packed weights, for the per-step products of the compiled kernels.

    out = A @ B          A (M, K), B (K, N), out (M, N);   M = the batch (a few rows), B a weight

An LSTM multiplies by the same weight at every step (h_{t-1} W_hh^T forward, dz_t W_hh backward).
A BLAS call packs its B operand into cache-sized panels on every call; here it is packed once per
sequence, and each step runs the register kernel on the panels::

    Bp[p, k, j] = B[k, p NR + j]      (zero where p NR + j >= N)          (npan, K, NR)
    C[m0:m0+MR, p NR:(p+1) NR] += A[m0:m0+MR, k0:k0+KC] @ Bp[p, k0:k0+KC, :]

The kernel (one per MR = 1..MR_MAX rows) keeps its MR x NR block of C in vector registers: two
512-bit vectors per row (NR = 32 float32 or 16 float64), for each k two loads of Bp, MR broadcasts
of A[r, k] and 2 MR fused multiply-adds. It is written in LLVM IR below (:func:`_kernel_ir`), the one
way to have numba keep 16 accumulators in registers (a compiled loop keeps them in memory: measured
2x slower than BLAS). With fewer than 4 rows, successive k go to 2-4 sets of accumulators, summed
at the end, so at least 8 chains of multiply-adds run at once (one panel, (1, 80) @ (80, 20):
55 vs 84 ns; (1, 128) @ (128, 32): 138 vs 183 ns). K runs in chunks of KC (a chunk of a panel
stays in the L1 cache across the row blocks); the rows are split into near-equal blocks of at most
MR_MAX.

Measured on one core of this 2-core machine (float32, OpenBLAS single-threaded beside it):
(32, 256) @ (256, 1024) 98-110 µs vs 158-173 µs; (64, 1024) @ (1024, 256) 208 vs 278 µs;
(4, 64) @ (64, 256) 0.9-1.4 µs vs 1.8-2.5 µs; (16, 64) @ (64, 256) 3.2 vs 4.2-6.0 µs. Against
OpenBLAS on both cores it wins up to ~2^23 multiply-adds ((32, 256) @ (256, 1024): 110 vs 140 µs)
and loses above ((64, 256) @ (256, 1024): 191 vs 152 µs): see ``kernels_numba._operand``.

Built (once, on first use) only where the CPU has AVX-512 (:func:`kernels` returns an empty array
elsewhere, and the compiled kernels use BLAS as before). Results differ from BLAS's in round-off
only (another order of the sums).

A second set of kernels reads A by columns, as stored in At (K, M): A[m0:m0+MR, k] is the run
At[k, m0:m0+MR] (:func:`matmul_cols`). The weight gradients dW = dZ^T X read dZ (T B, 4H) so,
where a transposed copy would cost a pass over dZ.

A third kernel transposes one L x L block (L = 16 float32, 8 float64) in registers, for
:func:`pack_gathered`: the panels of W[rows]^T (x_t W_ih^T and h_{t-1} W_hh^T read W (4H, .) by
rows, and a thread of :mod:`lstmkit.kernels_units` only its units' rows), gathered and laid out in
one pass, ~3x faster than :func:`pack`'s element-by-element loop after a gather.

:func:`matmul` is inlined into :mod:`lstmkit.kernels_numba`'s time loops, whose compiled code numba
caches on disk keyed on *that* file: after editing this one, touch kernels_numba.py (or delete its
``__pycache__``) so the cached loops are compiled again.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import _jit as jit

MR_MAX = 8  # rows of C per kernel call: 2 * 8 accumulators + 2 panel vectors + 1 broadcast <= 32 registers
KC = 256  # multiply-adds per chunk of K
LANES = {np.dtype(np.float32): 16, np.dtype(np.float64): 8}  # elements per 512-bit vector
PANEL_BYTES = 128  # a row of a panel: two 512-bit vectors (NR = 32 float32, 16 float64)
# Bp starts on a 64-byte boundary (a cache line), so that every load of two vectors of a panel row
# reads two whole lines (numba's np.empty gives 32 bytes: at 32 past a line, each 512-bit load
# straddles two lines; measured one core, Bp at 32 against 0: (4, 64) @ (64, 256) 1.25 vs
# 0.90 µs, (8, 128) @ (128, 512) 10.4 vs 9.2 µs; A and C at 32 past a line cost nothing). Where it
# lands depends on the heap (7-10 of 24 test shapes were at 32 before); end to end, both versions
# interleaved in one process, the difference was within the noise (±5%).
ALIGN = 64
_LLVM = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

# dtype -> (library, addresses); the library must stay alive while its code runs. An entry is
# published only once complete (under _lock): a thread that finds none waits on _lock for a build
# in progress, never runs without the kernels meanwhile
_built = {}
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # a lock held by another thread of the parent at the fork (a build in progress) would never come
    # free in the child: the child builds its own on first use
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # Unix only: Windows has no fork, so no child to repair
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _fma(ty: str, lanes: int) -> str:
    """The LLVM intrinsic for a fused multiply-add of two vectors of ``lanes`` ``ty``."""
    return f"llvm.fma.v{lanes}{'f32' if ty == 'float' else 'f64'}"


def _phases(MR: int) -> int:
    """Sets of accumulators the kernel for MR rows rotates through: at least 8 independent chains
    of fused multiply-adds (2 per cycle, 4 cycles each), so few rows do not wait on each one."""
    return max(1, -(-4 // MR))


def _kernel_ir(MR: int, ty: str, lanes: int, name: str, a_cols: bool = False) -> str:
    """LLVM IR of the kernel for MR rows:  C[0:MR, 0:NR] (+)= A[0:MR, 0:K] @ Bp[0:K, 0:NR].

    Arguments: A (row stride lda: A[r, k] at r lda + k; with ``a_cols``, A is stored by columns,
    A[r, k] at k lda + r), Bp (one panel, rows of NR = 2 lanes elements), C (row stride ldc),
    K >= 1 (the loop tests at its end), acc (0: C is overwritten, else added to).

    With S = :func:`_phases` (MR) > 1, step k adds into accumulator set k mod S (the sets rotate
    each step), and C gets set 0 + set 1 + ... + set S-1 at the end.
    """
    v = f"<{lanes} x {ty}>"
    nr = 2 * lanes
    S = _phases(MR)
    L = [f"define void @{name}(ptr noalias %A, i64 %lda, ptr noalias %B, ptr noalias %C, i64 %ldc, i64 %K, i64 %acc) #0 {{",
         "entry:", "  %isacc = icmp ne i64 %acc, 0"]  # fmt: skip
    for r in range(MR):  # set 0 starts at C's block (acc) or at zero, the other sets at zero
        L += [f"  %ro{r} = mul i64 {r}, %lda", f"  %co{r} = mul i64 {r}, %ldc",
              f"  %cp{r}_0 = getelementptr {ty}, ptr %C, i64 %co{r}",
              f"  %cp{r}_1 = getelementptr {ty}, ptr %cp{r}_0, i64 {lanes}"]  # fmt: skip
        for u in range(2):
            L += [f"  %ci{r}_{u} = load {v}, ptr %cp{r}_{u}, align 4",
                  f"  %z{r}_{u} = select i1 %isacc, {v} %ci{r}_{u}, {v} zeroinitializer"]  # fmt: skip
    L += ["  br label %loop", "loop:", "  %k = phi i64 [0, %entry], [%k1, %loop]"]
    for r in range(MR):  # %a{r}_{u}_{s}: set s at this step; the set updated is always s = 0
        for u in range(2):
            for s in range(S):
                first = f"%z{r}_{u}" if s == 0 else "zeroinitializer"
                nxt = f"%a{r}_{u}_{s + 1}" if s + 1 < S else f"%n{r}_{u}"
                L.append(f"  %a{r}_{u}_{s} = phi {v} [{first}, %entry], [{nxt}, %loop]")
    L += [f"  %bo = mul i64 %k, {nr}", f"  %bp0 = getelementptr {ty}, ptr %B, i64 %bo",
          f"  %bp1 = getelementptr {ty}, ptr %bp0, i64 {lanes}",
          f"  %b0 = load {v}, ptr %bp0, align 4", f"  %b1 = load {v}, ptr %bp1, align 4"]  # fmt: skip
    if a_cols:  # A[0:MR, k] is the run of MR elements at k lda
        L.append("  %kl = mul i64 %k, %lda")
    for r in range(MR):  # row r: broadcast A[r, k], two fused multiply-adds
        ai = f"  %ai{r} = add i64 %kl, {r}" if a_cols else f"  %ai{r} = add i64 %ro{r}, %k"
        L += [ai, f"  %ap{r} = getelementptr {ty}, ptr %A, i64 %ai{r}",
              f"  %as{r} = load {ty}, ptr %ap{r}, align 4",
              f"  %ax{r} = insertelement {v} poison, {ty} %as{r}, i64 0",
              f"  %av{r} = shufflevector {v} %ax{r}, {v} poison, <{lanes} x i32> zeroinitializer"]  # fmt: skip
        for u in range(2):
            L.append(f"  %n{r}_{u} = call {v} @{_fma(ty, lanes)}({v} %av{r}, {v} %b{u}, {v} %a{r}_{u}_0)")
    L += ["  %k1 = add i64 %k, 1", "  %done = icmp eq i64 %k1, %K", "  br i1 %done, label %exit, label %loop",
          "exit:"]  # fmt: skip
    for r in range(MR):
        for u in range(2):
            # after the last step the sets are (a_1, .., a_{S-1}, n): sum them in a fixed order
            total = f"%n{r}_{u}"
            for s in range(1, S):
                L.append(f"  %sum{r}_{u}_{s} = fadd {v} {total}, %a{r}_{u}_{s}")
                total = f"%sum{r}_{u}_{s}"
            L.append(f"  store {v} {total}, ptr %cp{r}_{u}, align 4")
    L += ["  ret void", "}"]
    return "\n".join(L)


def _transpose_ir(ty: str, lanes: int, name: str) -> str:
    """LLVM IR of a transpose of one L x L block (L = lanes):  D[i ldd + r] = W[offs[r] + k0 + i].

    Arguments: W, offs (L element offsets into W: the starts of the L rows read), k0, D (the block's
    first element out), ldd (elements between rows of D). Row r of the block, L elements of W from
    offs[r] + k0, goes to column r of D. In log2(L) stages of shuffles on registers: at the stage of
    s, the vectors of rows i and i + s (i & s == 0) swap their off-diagonal halves of s lanes
    (v_i[l] for l & s with v_{i+s}[l - s]), so the s x s blocks of each 2s x 2s block trade places;
    after s = L/2 .. 1 every element has gone from (r, i) to (i, r). 4 L shuffles of two
    vectors per L^2 elements (:func:`pack_gathered`: a panel's 16 x 16 blocks, float32).
    """
    v = f"<{lanes} x {ty}>"
    L = [f"define void @{name}(ptr noalias %W, ptr noalias %offs, i64 %k0, ptr noalias %D, i64 %ldd) #0 {{",
         "entry:"]  # fmt: skip
    cur = []
    for r in range(lanes):  # row r of the block: L elements of W from offs[r] + k0
        L += [f"  %op{r} = getelementptr i64, ptr %offs, i64 {r}", f"  %o{r} = load i64, ptr %op{r}, align 8",
              f"  %e{r} = add i64 %o{r}, %k0", f"  %p{r} = getelementptr {ty}, ptr %W, i64 %e{r}",
              f"  %v0_{r} = load {v}, ptr %p{r}, align 4"]  # fmt: skip
        cur.append(f"%v0_{r}")
    s, stage = lanes // 2, 0
    while s >= 1:
        stage += 1
        new = list(cur)
        lo = [f"i32 {l if not l & s else lanes + l - s}" for l in range(lanes)]  # v_i: its own, then v_{i+s}'s low s
        hi = [f"i32 {l + s if not l & s else lanes + l}" for l in range(lanes)]  # v_{i+s}: v_i's high s, then its own
        for i in (i for i in range(lanes) if not i & s):
            for j, mask in ((i, lo), (i + s, hi)):
                L.append(f"  %v{stage}_{j} = shufflevector {v} {cur[i]}, {v} {cur[i + s]}, <{lanes} x i32> <{', '.join(mask)}>")
                new[j] = f"%v{stage}_{j}"
        cur, s = new, s // 2
    for i in range(lanes):  # column i of the block is row i of D
        L += [f"  %do{i} = mul i64 {i}, %ldd", f"  %dp{i} = getelementptr {ty}, ptr %D, i64 %do{i}",
              f"  store {v} {cur[i]}, ptr %dp{i}, align 4"]  # fmt: skip
    L += ["  ret void", "}"]
    return "\n".join(L)


def _build(dt: np.dtype):
    import llvmlite.binding as llvm
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    ty, lanes = _LLVM[dt], LANES[dt]
    rows = [(m, f"lstmkit_packed_{ty}_{m}", False) for m in range(1, MR_MAX + 1)]
    cols = [(m, f"lstmkit_packed_{ty}_cols_{m}", True) for m in range(1, MR_MAX + 1)]  # A stored by columns
    names = [n for _, n, _ in rows + cols] + [f"lstmkit_transpose_{ty}"]
    text = "\n".join(_kernel_ir(m, ty, lanes, n, c) for m, n, c in rows + cols)
    text += "\n" + _transpose_ir(ty, lanes, names[-1])
    text += f"\ndeclare <{lanes} x {ty}> @{_fma(ty, lanes)}(<{lanes} x {ty}>, <{lanes} x {ty}>, <{lanes} x {ty}>)\n"
    # 512-bit vectors in registers: this CPU's tuning otherwise prefers (and splits to) 256 bits
    text += 'attributes #0 = { nounwind "min-legal-vector-width"="512" "prefer-vector-width"="512" }\n'
    module = llvm.parse_assembly(text)
    module.verify()
    library = cpu_target.target_context.codegen().create_library(f"lstmkit_packed_{ty}")
    library.add_llvm_module(module)
    with global_compiler_lock:
        library.finalize()
        addresses = np.array([0] + [library.get_pointer_to_function(n) for n in names], dtype=np.int64)
    return library, addresses


def supported() -> bool:
    """Whether this CPU has the 512-bit vectors (AVX-512F) the kernels are written for."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    return bool(features.get("avx512f", False))


_NONE = np.zeros(0, dtype=np.int64)


UNAVAILABLE_REASON = {}  # dtype -> why the kernels were not built, where they were not


TRANSPOSE = 2 * MR_MAX + 1  # kernels()[TRANSPOSE]: the transpose of a block (pack_gathered)


def kernels(dt) -> np.ndarray:
    """Addresses of the kernels for dtype dt: [MR] the kernel for MR rows of A (1..MR_MAX; [0]
    unused), [MR_MAX + MR] the same for A stored by columns (:func:`matmul_cols`), [TRANSPOSE]
    the transpose of a block for :func:`pack_gathered`; built once on first use. An empty array
    where they cannot run (no AVX-512, another dtype, an LLVM that does not take this IR:
    numba's older releases, or llvmlite failing to read the CPU's features;
    ``UNAVAILABLE_REASON`` says which), and the compiled kernels use BLAS instead.
    """
    dt = np.dtype(dt)
    got = _built.get(dt)
    if got is None:  # not built yet, or being built by another thread: wait for it on the lock
        with _lock:
            got = _built.get(dt)
            if got is None:
                got = (None, _NONE)
                if dt not in LANES:
                    UNAVAILABLE_REASON[dt] = f"no kernels for {dt}"
                else:
                    try:
                        avx512 = supported()
                    except Exception as exc:  # llvmlite could not read the CPU's features: BLAS, not an error
                        UNAVAILABLE_REASON[dt] = f"llvmlite could not read this CPU's features: {exc}"
                    else:
                        if not avx512:
                            UNAVAILABLE_REASON[dt] = "this CPU has no AVX-512"
                        else:
                            try:
                                got = _build(dt)
                            except Exception as exc:  # the IR needs LLVM 15+ (opaque pointers)
                                UNAVAILABLE_REASON[dt] = f"LLVM did not build the kernels: {exc}"
                _built[dt] = got  # published whole, once built (or known not to be)
    return got[1]


@intrinsic
def _call(typingctx, fn, A, a_off, lda, Bp, b_off, C, c_off, ldc, K, acc):
    """Call the kernel at address fn on A.flat[a_off:], Bp.flat[b_off:], C.flat[c_off:] (row strides
    lda, ldc), K multiply-adds per element, acc 0/1 (overwrite / add to C)."""
    i64 = types.int64
    sig = types.void(i64, A, i64, i64, Bp, i64, C, i64, i64, i64, i64)

    def codegen(context, builder, signature, args):
        fn_, A_, a_off_, lda_, B_, b_off_, C_, c_off_, ldc_, K_, acc_ = args
        elt = ir.FloatType() if signature.args[1].dtype == types.float32 else ir.DoubleType()
        ptr, i = elt.as_pointer(), ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [ptr, i, ptr, ptr, i, i, i])

        def at(k, off):
            data = context.make_array(signature.args[k])(context, builder, args[k]).data
            return builder.gep(builder.bitcast(data, ptr), [off])

        a, b, c = at(1, a_off_), at(4, b_off_), at(6, c_off_)
        builder.call(builder.inttoptr(fn_, fnty.as_pointer()), [a, lda_, b, c, ldc_, K_, acc_])
        return context.get_dummy_value()

    return sig, codegen


_jit = jit.njit(error_model="numpy", nogil=True)  # numba.njit(cache=True) where numba can cache


@_jit
def pack_elements(K, N, nr, itemsize):
    """Elements of the buffer :func:`pack_into` and :func:`pack_gathered_into` need for the panels
    of a (K, N) operand: ceil(N / nr) K nr, and room to start them on a cache line."""
    return -(-N // nr) * K * nr + ALIGN // itemsize


@numba.njit(inline="always")
def _panels(buf, K, N, nr):
    """The panels Bp (ceil(N/nr), K, nr) in buf (1-D, at least :func:`pack_elements`), starting on a
    cache line (``ALIGN``) in it."""
    npan = (N + nr - 1) // nr
    size = npan * K * nr
    first = ((-buf.ctypes.data) % ALIGN) // buf.itemsize
    return buf[first : first + size].reshape((npan, K, nr))


@_jit
def pack(W, transpose, nr):
    """Panels of B = W^T (``transpose``: W (N, K)) or of B = W (W (K, N)): Bp (ceil(N/nr), K, nr),
    Bp[p, k, j] = B[k, p nr + j], zero past N, starting on a cache line (``ALIGN``). Once per
    sequence (per call of the kernels). In a new array; :func:`pack_into` packs into a given one."""
    K, N = (W.shape[1], W.shape[0]) if transpose else (W.shape[0], W.shape[1])
    return pack_into(np.empty(pack_elements(K, N, nr, W.itemsize), dtype=W.dtype), W, transpose, nr)


@_jit
def pack_into(buf, W, transpose, nr):
    """:func:`pack` into buf (1-D, W's dtype, at least :func:`pack_elements` (K, N) elements: from
    :mod:`lstmkit.workspace`, whose buffers stay mapped between calls, where a new array of a few
    MB faults its pages in on every call); Bp is a view of buf."""
    K, N = (W.shape[1], W.shape[0]) if transpose else (W.shape[0], W.shape[1])
    npan = (N + nr - 1) // nr
    Bp = _panels(buf, K, N, nr)
    if not transpose:
        _pack_rows(W, Bp)
        return Bp
    for p in range(npan):
        n0, w = p * nr, min(nr, N - p * nr)
        if w == nr:  # B[k, n] = W[n, k]: each row of a whole panel gathered from nr rows
            for k in range(K):  # of W (W (1024, 256): 82 µs, against 196 reading W row by row in
                for j in range(nr):  # pieces of 16 columns; (2600, 650): 0.64 ms against 1.34)
                    Bp[p, k, j] = W[n0 + j, k]
            continue
        for k in range(K):
            for j in range(w):
                Bp[p, k, j] = W[n0 + j, k]
            for j in range(w, nr):  # the last panel's columns past N: zeros
                Bp[p, k, j] = 0
    return Bp


@intrinsic
def _call_transpose(typingctx, fn, W, offs, k0, D, d_off, ldd):
    """Call the transpose at address fn (``kernels(dt)[TRANSPOSE]``, :func:`_transpose_ir`): the
    block's row r from W.flat[offs[r] + k0:], its column i to D.flat[d_off + i ldd:]."""
    i64 = types.int64
    sig = types.void(i64, W, offs, i64, D, i64, i64)

    def codegen(context, builder, signature, args):
        fn_, W_, offs_, k0_, D_, d_off_, ldd_ = args
        elt = ir.FloatType() if signature.args[1].dtype == types.float32 else ir.DoubleType()
        ptr, i = elt.as_pointer(), ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [ptr, i.as_pointer(), i, ptr, i])

        def data(k, ty):
            return builder.bitcast(context.make_array(signature.args[k])(context, builder, args[k]).data, ty)

        d = builder.gep(data(4, ptr), [d_off_])
        builder.call(builder.inttoptr(fn_, fnty.as_pointer()), [data(1, ptr), data(2, i.as_pointer()), k0_, d, ldd_])
        return context.get_dummy_value()

    return sig, codegen


@_jit
def pack_gathered(W, rows, nr, mk):
    """:func:`pack_gathered_into` a new array."""
    return pack_gathered_into(np.empty(pack_elements(W.shape[1], rows.shape[0], nr, W.itemsize), dtype=W.dtype),
                              W, rows, nr, mk)  # fmt: skip


@_jit
def pack_gathered_into(buf, W, rows, nr, mk):
    """Panels of B = W[rows]^T, into buf (as :func:`pack_into`), for products by the transposed
    rows ``rows`` of W (R, K), C-contiguous; rows (N,) int64, each in [0, R): Bp (ceil(N/nr), K, nr),
    Bp[p, k, j] = W[rows[p nr + j], k], zero past N, starting on a cache line (``ALIGN``). The same
    array as ``pack(np.ascontiguousarray(W[rows]), True, nr)``, the gather done in the same pass.

    With the transpose in mk (``mk.size > TRANSPOSE``: built where the product kernels are), each
    half of a whole panel (L = nr / 2 rows of W, L = 16 float32) goes L x L blocks at a time through
    it: L loads of L elements of a row, 4 L shuffles, L stores of half a row of the panel. The last
    K mod L columns, and a last partial panel, go element by element, as :func:`pack`. Measured on
    one core, one thread's rows of PTB-medium's W_hh (1300 of (2600, 650), float32): 0.085 ms
    against 0.239 for the gather and :func:`pack` (0.07 + 0.19; pack runs at ~1 element a cycle).
    """
    K, N = W.shape[1], rows.shape[0]
    L = nr // 2  # a block: L rows of W, L of its columns; two blocks side by side fill a panel row
    npan = (N + nr - 1) // nr
    Bp = _panels(buf, K, N, nr)
    flat = Bp.reshape(npan * K * nr)
    fn = mk[TRANSPOSE] if mk.size > TRANSPOSE and W.flags.c_contiguous else 0  # it reads rows at r K
    KL = K - K % L if fn != 0 else 0  # columns of W that go through the transpose
    offs = np.empty(L, dtype=np.int64)  # where the L rows of a block start in W
    for p in range(npan):
        n0, w = p * nr, min(nr, N - p * nr)
        if w < nr or KL == 0:  # a partial panel (or no transpose): element by element
            for k in range(K):
                for j in range(w):
                    Bp[p, k, j] = W[rows[n0 + j], k]
                for j in range(w, nr):  # the last panel's columns past N: zeros
                    Bp[p, k, j] = 0
            continue
        for j0 in range(0, nr, L):  # the two halves of the panel: rows n0 + j0 .. + L - 1 of W[rows]
            for r in range(L):
                offs[r] = rows[n0 + j0 + r] * K
            for k0 in range(0, KL, L):  # Bp[p, k0:k0+L, j0:j0+L] = W[rows[..], k0:k0+L]^T
                _call_transpose(fn, W, offs, k0, flat, (p * K + k0) * nr + j0, nr)
            for k in range(KL, K):
                for r in range(L):
                    Bp[p, k, j0 + r] = W[rows[n0 + j0 + r], k]
    return Bp


ROW_BLOCK = 16  # rows of W that :func:`_pack_rows` lays into every panel before the next ones


@numba.njit(inline="always", error_model="numpy")
def _pack_rows(W, Bp):
    """Bp[p, k, j] = W[k, p nr + j] (B = W as stored, W (K, N)), zero past N: ROW_BLOCK rows of W
    at a time, each panel getting their pieces (ROW_BLOCK runs of nr, contiguous in Bp) before
    the next panel. Panel by panel over all of W (each piece a read of W at a stride of N) measured
    4x slower: (1600, 1024) 0.80 against 0.20 ms, (16000, 256) 11.7 against 1.5; row by row
    (a write at a stride of K nr to each panel) 3x."""
    K, N = W.shape
    npan, nr = Bp.shape[0], Bp.shape[2]
    full = N // nr  # whole panels; a last one of N - full nr columns, the rest zeros
    for k0 in range(0, K, ROW_BLOCK):
        k1 = min(K, k0 + ROW_BLOCK)
        for p in range(full):
            n0 = p * nr
            for k in range(k0, k1):
                for j in range(nr):
                    Bp[p, k, j] = W[k, n0 + j]
        if full < npan:
            n0, w = full * nr, N - full * nr
            for k in range(k0, k1):
                for j in range(w):
                    Bp[full, k, j] = W[k, n0 + j]
                for j in range(w, nr):
                    Bp[full, k, j] = 0


@_jit
def scratch(M, Bp, N):
    """Where the kernel writes when N is not a whole number of panels: (M, npan*nr), else (0, 0)."""
    width = Bp.shape[0] * Bp.shape[2]
    return np.empty((M if width != N else 0, width if width != N else 0), dtype=Bp.dtype)


@numba.njit(inline="always", error_model="numpy")
def matmul(A, t, Bp, out, tmp, mk):
    """out = A[t] @ B for A (., M, K) and out (M, N) C-contiguous, Bp from :func:`pack`, tmp from
    :func:`scratch`, mk from :func:`kernels`. Chunks of K outermost, then panels, then row blocks."""
    M, K = A.shape[1], A.shape[2]
    N = out.shape[1]
    npan, nr = Bp.shape[0], Bp.shape[2]
    direct = tmp.shape[0] == 0
    C = out if direct else tmp
    ldc = C.shape[1]
    nb = (M + MR_MAX - 1) // MR_MAX
    base = t * M * K
    for k0 in range(0, K, KC):
        kc = min(KC, K - k0)
        for p in range(npan):
            for blk in range(nb):  # near-equal blocks of rows, each at most MR_MAX
                m0, m1 = blk * M // nb, (blk + 1) * M // nb
                _call(mk[m1 - m0], A, base + m0 * K + k0, K, Bp, (p * K + k0) * nr, C, m0 * ldc + p * nr, ldc, kc, k0)
    if not direct:
        for m in range(M):
            for j in range(N):
                out[m, j] = tmp[m, j]


@numba.njit(inline="always", error_model="numpy")
def matmul_cols(At, c0, Bp, out, tmp, mk, add):
    """out = A @ B (``add``: out += A @ B) for A = At[:, c0 : c0 + M]^T, M = out.shape[0]: A (M, K)
    read by columns from At (K, ., C-contiguous) as it is stored, no transposed copy. Bp
    (K = At.shape[0]) from :func:`pack`, tmp from :func:`scratch`, mk from :func:`kernels`, out
    (M, N) C-contiguous.

    For the weight gradients dW = dZ^T X: At = dZ (T B, 4H) as backward writes it (c0: a gate's
    first row of dW), Bp = X packed. The kernel reads MR consecutive elements of a row of At a step
    (A[m0:m0+MR, k] = At[k, c0+m0 : c0+m0+MR]). Same loop order as :func:`matmul`."""
    M, N = out.shape
    K, lda = At.shape
    npan, nr = Bp.shape[0], Bp.shape[2]
    direct = tmp.shape[0] == 0
    C = out if direct else tmp
    ldc = C.shape[1]
    nb = (M + MR_MAX - 1) // MR_MAX
    acc = 1 if add and direct else 0  # the first chunk adds to out too (later ones add to C always)
    for k0 in range(0, K, KC):
        kc = min(KC, K - k0)
        for p in range(npan):
            for blk in range(nb):
                m0, m1 = blk * M // nb, (blk + 1) * M // nb
                _call(mk[MR_MAX + m1 - m0], At, k0 * lda + c0 + m0, lda, Bp, (p * K + k0) * nr, C, m0 * ldc + p * nr, ldc, kc, k0 + acc)
    if not direct:
        for m in range(M):
            o, r = out[m], tmp[m]
            if add:
                for j in range(N):
                    o[j] += r[j]
            else:
                for j in range(N):
                    o[j] = r[j]
