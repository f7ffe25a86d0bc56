"""Threads for the compiled kernels: a batch split into blocks of rows, the blocks shared out to the threads.

The rows of a batch never meet in an LSTM, so a forward (or BPTT) over B sequences is n
independent runs over B/n sequences each. With ``set_num_threads(n)``, the compiled kernels
(:mod:`lstmkit.kernels_numba`) run a large enough batch that way: each block's whole time loop,
its matrix products and its elementwise work, on one thread; one fork and join per call.
By default (1) a batch runs as one block and the matrix products use NumPy's BLAS threads.

Where the per-step products run on packed weights, there are twice as many blocks as threads
(``BLOCKS_PER_THREAD``), and each thread takes the next block not yet taken when it has finished
one (:func:`in_turn`): the cores of a shared host do not run at one speed (on this 2-core host,
one core measured 100 GFLOP/s while the other ran 172, and which one is slower changes from
moment to moment), and with one block per thread a call waits for the slower core's block.
Interleaved in one process, H=256, B=64, T=100 inference: 32.4 ms against 39.8 at a moment when
the cores differed, 25.5-26.5 against 27.0 when they did not; H=128, B=32: 2.65-2.86 against
2.97-3.59 ms. Four blocks of 16 rows did better than eight of 8 (32.8 / 26.6-27.3 ms).

Why it is opt-in: while the blocks run, NumPy's BLAS is set to one thread (each block calls it
from its own thread) and set back after. A multi-threaded BLAS call made by other code shortly
before (a large ``numpy.matmul``) leaves OpenBLAS's threads spinning for ~0.1 s, and they take the
cores from lstmkit's threads; measured on 2 cores (H=64, B=16, T=1000), a split forward then ran
20% slower than no split instead of 1.5x faster. Run with ``OPENBLAS_NUM_THREADS=1`` (BLAS
single-threaded in the whole process) and lstmkit's threads are the only ones.

When a batch is split (:func:`n_blocks`): at least ``MIN_ROWS`` rows per block. Where the blocks'
per-step products run on packed weights (:mod:`lstmkit.packed_gemm`, CPUs with AVX-512), at any
W_hh size; otherwise only for a W_hh small enough (``MAX_WEIGHTS`` elements) that every thread
reading all of it per step through single-threaded BLAS costs less than the threads save.
Measured on 2 cores with 2 threads, forward / training, BLAS in the blocks: H=128, B=32 6.0 / 15.6
ms against 7.6 / 20.0 unsplit; H=64, B=16, T=1000 9.1 / 26.1 against 11.4 / 32.3; bidirectional
H=128 9.4 / 25.8 against 13.1 / 34.8; but H=256, B=64 (W_hh 1024x256) and PTB-medium (2600x650)
were slower split. Packed, on a slower moment of the same host: H=256, B=64 44.0 / 130 ms split
against 47.6 / 176 unsplit (torch 38.2 / 137); PTB-medium 76.0 / 222 against 80.4 / 228.

A layer whose W_hh is larger than a core's L2 cache (``UNIT_WEIGHTS``; PTB-medium's) splits its
hidden units over the threads instead, forward and backward (:func:`n_unit_blocks`,
:mod:`lstmkit.kernels_units`): each thread reads its part of W_hh per step instead of all of it,
and the threads meet once a step.

On Linux the pool's threads run on the CPUs they were started with but the caller's current one
(:func:`_off_callers_cpu`): in a virtual machine the scheduler could otherwise wake them on the
caller's own CPU after a pause, and a call ran at one core's speed.

The numbers are those of one block to round-off (BLAS may sum in another order for another
number of rows); the same thread setting gives the same numbers every time.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np

from ._checks import check_int, fail

MIN_ROWS = 8  # rows of the batch per block, at least
BLOCKS_PER_THREAD = 2  # blocks of a batch per thread, where its products run on packed weights
MAX_WEIGHTS = 1 << 17  # elements of W_hh (4H * P), at most (512 KiB in float32)
# A layer whose W_hh has more elements than this (2 MiB in float32: more than a core's L2 here)
# splits its hidden units over the threads instead of its rows (lstmkit.kernels_units)
UNIT_WEIGHTS = 1 << 19
MIN_UNITS = 32  # hidden units per thread, at least, when the units are split

_state = {"threads": 1, "pool": None, "placed": None}  # placed: see _off_callers_cpu
_lock = threading.Lock()
# the blas_threads blocks open now, in the order they were entered: (thread id, n, token), and
# BLAS's count from before the first of them; under _blas_lock
_blas = {"open": [], "before": None}
_blas_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # a forked child has none of the parent's threads: a pool made there, a lock held there,
    # would never come free; the child makes its own on first use. Of the blas_threads blocks
    # open at the fork, only this thread's will close here: the others' are dropped, and BLAS's
    # count set back if none is left
    global _lock, _blas_lock
    _lock = threading.Lock()
    _blas_lock = threading.Lock()
    _state["pool"], _state["placed"] = None, None
    here = threading.get_ident()
    was = _blas["open"]
    _blas["open"] = [b for b in was if b[0] == here]
    if was and not _blas["open"] and _BLAS is not None:
        _BLAS[1](_blas["before"])


if hasattr(os, "register_at_fork"):  # Unix only: Windows has no fork, so no child to repair
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int) -> None:
    """Let the compiled kernels run a batch as up to ``n`` blocks in parallel threads (1: never)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        fail("set_num_threads", "n", "a positive integer", repr(n))
    with _lock:
        _state["threads"] = int(n)


def get_num_threads() -> int:
    """The number set by :func:`set_num_threads` (1 by default)."""
    return _state["threads"]


def n_blocks(B: int, weights: int, packed: bool = False) -> int:
    """How many blocks of rows a batch of B runs as, for a W_hh of ``weights`` elements (1: no split).
    ``packed``: the blocks' per-step products run on packed weights (lstmkit.packed_gemm), which
    keep their speed on one thread at any size, so ``MAX_WEIGHTS`` does not apply, and there are
    up to ``BLOCKS_PER_THREAD`` blocks a thread (see :func:`in_turn`)."""
    t = _state["threads"]
    n = min(t * BLOCKS_PER_THREAD if packed else t, B // MIN_ROWS)
    if t < 2 or n < 2 or (weights > MAX_WEIGHTS and not packed) or _BLAS is None:
        return 1
    return n


def n_unit_blocks(H: int, weights: int) -> int:
    """How many blocks of hidden units a layer with a W_hh of ``weights`` elements and H units runs
    as, one thread each (1: none), where the packed kernels run (the caller checks): with a W_hh
    above ``UNIT_WEIGHTS``, at least ``MIN_UNITS`` units per block."""
    n = min(_state["threads"], H // MIN_UNITS)
    if n < 2 or weights <= UNIT_WEIGHTS or _BLAS is None:
        return 1
    return n


def unit_bounds(H: int, n: int) -> tuple:
    """Unit offsets of n near-equal blocks of hidden units: block k is units bounds[k]:bounds[k+1].

    A block of Hu units has 4 Hu gate columns: ceil(Hu / 8) panels of the packed kernel's 32
    float32 columns (16 float64: ceil(Hu / 4)). The inner bounds are at multiples of 8, so that
    every block's columns but the last's are whole panels, and the ceil(H / 8) groups of 8 units
    are shared out as equally as they go: the thread with the most panels sets each step's pace.
    PTB-medium (H = 650, 2 threads): 328 + 322 units, 41 + 41 panels, where bounds at multiples of
    16 gave 320 + 330 (40 + 42)."""
    groups = -(-H // 8)
    return (0,) + tuple(min(H, 8 * (groups * k // n)) for k in range(1, n)) + (H,)


def bounds(B: int, n: int) -> tuple:
    """Row offsets of n near-equal blocks: block k is rows bounds[k]:bounds[k+1]."""
    return tuple(B * k // n for k in range(n + 1))


@contextmanager
def blas_threads(n: int):
    """``with blas_threads(n):`` NumPy's BLAS runs on ``n`` threads inside the block, and on as many
    as before it after, also when the block raises. Where its thread count cannot be set (a BLAS
    other than OpenBLAS: ``_BLAS`` is None) the block runs as it is. The count is the process's:
    BLAS calls from other threads meanwhile run on ``n`` threads too.

    Blocks may nest and overlap, from one thread or several (run_memory_experiment's, and
    in_parallel's in another thread): while any is open, the count is the ``n`` of the latest one
    entered that is still open; the count from before the first is set back when the last one
    closes, whatever the order they close in. (Each block saving and restoring the count itself
    could leave the process on one thread for good: A saves 2 and sets 1, B saves 1, A restores 2,
    B restores 1.)"""
    n = check_int(n, "blas_threads", "n", minimum=1)
    if _BLAS is None:  # pragma: no cover - another BLAS
        yield
        return
    get_threads, set_threads = _BLAS
    block = (threading.get_ident(), n, object())  # (the token: this block, told from an equal one)
    with _blas_lock:
        if not _blas["open"]:
            _blas["before"] = get_threads()
        _blas["open"].append(block)
        set_threads(n)
    try:
        yield
    finally:
        with _blas_lock:
            still = _blas["open"]
            if block in still:  # (not if dropped at a fork, see _after_fork_in_child)
                still.remove(block)
                set_threads(still[-1][1] if still else _blas["before"])


def _sched_getcpu():
    """libc's ``sched_getcpu`` (the CPU the calling thread runs on) as a ctypes function, or None
    (not glibc, or no ``os.sched_setaffinity`` to act on its answer: not Linux)."""
    if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - not Linux
        return None
    try:
        fn = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError, TypeError):  # pragma: no cover - not glibc
        return None
    fn.restype, fn.argtypes = ctypes.c_int, []
    return fn


_GETCPU = _sched_getcpu()  # (None: the pool's threads are placed by the scheduler alone)


class _Pool(ThreadPoolExecutor):
    """lstmkit's pool of n threads. ``tids``: their kernel thread ids, each added by the thread as it
    starts; ``cpus``: the CPUs they may run on as made (their creator's mask, which they inherit;
    None where it cannot be read). For :func:`_off_callers_cpu`."""

    def __init__(self, n: int):
        tids: list[int] = []  # (the threads hold this list, not the pool: a dropped pool's threads end)
        self.tids = tids
        self.cpus = frozenset(os.sched_getaffinity(0)) if _GETCPU is not None else None
        super().__init__(n, "lstmkit", initializer=lambda: tids.append(threading.get_native_id()))


def _off_callers_cpu(pool: _Pool) -> None:
    """Let the pool's threads run on the CPUs they were made with (``pool.cpus``) but the one the
    caller runs on now.

    A woken thread goes where the system's scheduler puts it. In a virtual machine, a CPU that has
    been idle a few milliseconds may count as taken (its virtual CPU not running on the host), and
    the pool thread is then put on the caller's own CPU, where the two share one core until the
    scheduler moves one of them (~40 ms here). Measured on this 2-core VM, H=128, B=16, T=100,
    training, each call after a 20 ms pause, interleaved, seven runs: 6.8-9.7 ms without this (both
    threads on one CPU in every call), 4.8-7.0 with it (0.64-0.88x in each run); back to back
    3.1-4.1 either way (after a pause the host runs both cores slowly at first, with or without
    it). With more pool threads than other CPUs, they keep all of ``pool.cpus`` (kept off one,
    they would crowd the rest). The caller itself is left alone, and the pool is never given a
    CPU it was not made with. Its masks are set again only when the caller's CPU or the pool's
    threads changed."""
    if _GETCPU is None or pool.cpus is None:  # not Linux, or not glibc
        return
    cpu = _GETCPU()
    key = (id(pool), cpu, tuple(pool.tids))
    if key == _state["placed"]:
        return
    _state["placed"] = key
    mask = pool.cpus - {cpu}
    if len(pool.tids) > len(mask):  # more pool threads than other CPUs (or no other CPU at all)
        mask = pool.cpus
    for tid in pool.tids:
        try:
            os.sched_setaffinity(tid, mask)
        except OSError:  # pragma: no cover - a thread gone, or CPUs taken from the process meanwhile
            pass


def in_parallel(fn, n: int) -> list:
    """[fn(0), ..., fn(n-1)]: fn(0) in this thread, the others in lstmkit's pool, NumPy's BLAS
    single-threaded meanwhile (:func:`blas_threads`; a lock keeps two such runs from interleaving).
    The pool's threads are kept off this thread's CPU (:func:`_off_callers_cpu`)."""
    with _lock:
        pool = _state["pool"]
        if pool is None or pool._max_workers < n - 1:  # (one worker at least: n = 1 runs fn(0) here alone)
            pool = _state["pool"] = _Pool(max(1, n - 1))
        _off_callers_cpu(pool)
        futures = []
        with blas_threads(1):
            try:
                futures = [pool.submit(fn, k) for k in range(1, n)]
                first = fn(0)
                return [first] + [f.result() for f in futures]
            finally:
                wait(futures)  # no block still running when this returns or raises (BLAS set back after)


def in_turn(fn, n: int) -> list:
    """[fn(0), ..., fn(n-1)] on up to :func:`get_num_threads` threads (this one and lstmkit's pool,
    as :func:`in_parallel` runs them), each taking the next block not yet taken when it has
    finished one: a thread on a core that runs faster just then does more of them. Once a block
    has failed no thread starts another, and the error comes out here (after every thread stopped)."""
    m = min(n, _state["threads"])
    if m < 2:  # one thread (set_num_threads changed since the blocks were made): in turn, here
        return [fn(k) for k in range(n)]
    results = [None] * n
    taken = itertools.count()  # next() on it is atomic: each block is taken once
    failed = []

    def worker(_):
        while not failed:
            k = next(taken)
            if k >= n:
                return
            try:
                results[k] = fn(k)
            except BaseException:
                failed.append(k)
                raise

    in_parallel(worker, m)
    return results


def numpy_openblas_function(name: str):
    """The function ``name`` (e.g. "get_num_threads") of NumPy's own OpenBLAS, as a ctypes function
    (restype and argtypes for the caller to set), under the names its builds give it
    (``scipy_openblas_NAME64_`` in the PyPI wheels, ``openblas_NAME``), or None: another BLAS, or
    not found through NumPy's module (see the README on set_num_threads)."""
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import _multiarray_umath
    try:
        lib = ctypes.CDLL(_multiarray_umath.__file__)
    except OSError:  # pragma: no cover
        return None
    for prefix in ("scipy_openblas_", "openblas_"):
        for suffix in ("64_", ""):
            fn = getattr(lib, f"{prefix}{name}{suffix}", None)
            if fn is not None:
                return fn
    return None


def _numpy_blas_threads():
    """(get, set) for the thread count of NumPy's own BLAS (OpenBLAS), or None if not found."""
    get, set_ = numpy_openblas_function("get_num_threads"), numpy_openblas_function("set_num_threads")
    if get is None or set_ is None:  # pragma: no cover - another BLAS: its threads cannot be set, never split
        return None
    get.restype, get.argtypes = ctypes.c_int, []
    set_.restype, set_.argtypes = None, [ctypes.c_int]
    return get, set_


_BLAS = _numpy_blas_threads()
