"""lstmkit.set_num_threads: a batch run as blocks of rows in parallel gives the reference's numbers.

Oracle: the NumPy reference kernels (themselves checked against PyTorch and finite differences)
on the whole batch, float64 to 1e-12 and float32 to 1e-5, outputs, final states and every
gradient. MIN_ROWS is lowered so that the small shapes here are split.
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
if threads._BLAS is None or not kn.GEMM:  # pragma: no cover
    pytest.skip("NumPy's BLAS threads cannot be set here: batches are never split", allow_module_level=True)

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture
def split(monkeypatch):
    """Two threads, and blocks of as few as 2 rows (so that small test batches are split)."""
    monkeypatch.setattr(threads, "MIN_ROWS", 2)
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(1)


def _run(m, x, lengths, seed=2):
    y, (h, c) = m(x, lengths=lengths)
    rng = np.random.default_rng(seed)
    dx, (dh, dc) = m.backward(rng.normal(size=y.shape).astype(m.dtype), (rng.normal(size=h.shape).astype(m.dtype), rng.normal(size=c.shape).astype(m.dtype)))
    return {"y": y, "h_T": h, "c_T": c, "dx": dx, "dh0": dh, "dc0": dc, **{f"grad {k}": v for k, v in m.grads.items()}}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw, B",
    [({}, 4), ({}, 7), ({"proj_size": 3}, 5), ({"num_layers": 2, "bidirectional": True}, 6), ({"batch_first": True}, 4)],
)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_split_batch_matches_reference(split, dtype, kw, B, with_lengths):
    fast = lstmkit.LSTM(3, 5, dtype=dtype, seed=0, **kw)
    ref = lstmkit.LSTM(3, 5, dtype=dtype, seed=0, **kw)
    fast.backend, ref.backend = "numba", "numpy"
    rng = np.random.default_rng(1)
    T = 6
    x = rng.normal(size=(B, T, 3) if kw.get("batch_first") else (T, B, 3)).astype(dtype)
    lengths = rng.integers(1, T + 1, B) if with_lengths else None
    assert threads.n_blocks(B, fast.weight_hh_l0.size) >= 2  # the case is split
    got, want = _run(fast, x, lengths), _run(ref, x, lengths)
    assert fast._cache is None  # consumed by backward
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], TOL[dtype], k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("proj", [0, 20])
def test_split_batch_on_packed_products_matches_reference(split, dtype, proj):
    B, H = 20, 40  # blocks of 5 rows or more: 5 x 40 x 160 multiply-adds per step, packed when split
    fast = lstmkit.LSTM(3, H, proj_size=proj, dtype=dtype, seed=0)
    ref = lstmkit.LSTM(3, H, proj_size=proj, dtype=dtype, seed=0)
    fast.backend, ref.backend = "numba", "numpy"
    mk = kn._packed_kernels(dtype)
    n = threads.n_blocks(B, fast.weight_hh_l0.size, mk.size > 0)
    assert n == (4 if mk.size else 2)  # packed: two blocks a thread
    expect = kn.PACKED if mk.size else kn.NN  # BLAS where the CPU has no AVX-512
    assert kn._operand(fast.weight_hh_l0, True, B // n, mk, True)[0] == expect
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, B, 3)).astype(dtype)
    lengths = rng.integers(1, 7, B)
    got, want = _run(fast, x, lengths), _run(ref, x, lengths)
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], TOL[dtype], k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "I, H, kw",
    [(3, 16, {}), (300, 48, {}), (5, 272, {}), (4, 32, {"num_layers": 2, "bidirectional": True})],
)  # H a multiple of 16: inference runs the cell fused into the per-step products
#    (kernels_numba._fused_step), training the products then the cell; I and H above KC (256):
#    products in chunks of K; a second layer reading both directions (I = 2H)
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_split_batch_where_inference_fuses_the_cell_into_the_products_matches_reference(split, dtype, I, H, kw, with_lengths, train):
    B = 16 if H < 100 else 8
    fast = lstmkit.LSTM(I, H, dtype=dtype, seed=0, **kw)
    ref = lstmkit.LSTM(I, H, dtype=dtype, seed=0, **kw)
    fast.backend, ref.backend = "numba", "numpy"
    mk = kn._packed_kernels(dtype)
    if mk.size == 0:  # pragma: no cover - no AVX-512: never fused
        pytest.skip("this CPU has no AVX-512: the packed kernels, and so the fused step, are not built")
    assert threads.n_blocks(B, fast.weight_hh_l0.size, True) >= 2 and H % kn.FUSED_UNITS == 0  # fused
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, B, I)).astype(dtype)
    lengths = rng.integers(1, 6, B) if with_lengths else None
    if train:
        got, want = _run(fast, x, lengths), _run(ref, x, lengths)
    else:
        with fast.no_grad(), ref.no_grad():
            got, want = ({"y": y, "h_T": h, "c_T": c} for y, (h, c) in (m(x, lengths=lengths) for m in (fast, ref)))
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], TOL[dtype], k)


def test_split_forward_keeps_split_caches_and_inference_keeps_none(split):
    m = lstmkit.LSTM(3, 5, seed=0)
    m.backend = "numba"
    x = np.ones((4, 6, 3), np.float32)
    m(x)
    (cache,) = m._cache[0]
    n = threads.n_blocks(6, m.weight_hh_l0.size, kn._packed_kernels(np.float32).size > 0)
    assert isinstance(cache, kn.SplitLSTMCache) and cache.bounds == threads.bounds(6, n) and n >= 2
    with m.no_grad():
        m(x)
    assert m._cache is None


def test_same_setting_same_numbers(split):
    m = lstmkit.LSTM(3, 5, seed=0, dtype=np.float32)
    m.backend = "numba"
    x = np.random.default_rng(0).normal(size=(5, 9, 3)).astype(np.float32)
    a, b = _run(m, x, None), (m.zero_grad(), _run(m, x, None))[1]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_blas_threads_set_back_even_when_a_block_fails(split):
    get, _ = threads._BLAS
    before = get()

    import time

    finished = []

    def block(k):
        assert get() == 1  # NumPy's BLAS single-threaded while the blocks run
        if k == 0:
            raise RuntimeError("block 0 failed")
        time.sleep(0.05)
        finished.append(k)
        return k

    with pytest.raises(RuntimeError, match="block 0 failed"):
        threads.in_parallel(block, 2)
    assert finished == [1]  # the other block had finished before the error came out
    assert get() == before
    assert threads.in_parallel(lambda k: k * 10, 3) == [0, 10, 20]
    assert get() == before


def test_blas_threads_sets_the_count_inside_and_back_after_even_on_an_error(two_blas_threads):
    get = two_blas_threads
    with threads.blas_threads(1):
        assert get() == 1
        with threads.blas_threads(1):  # nested (the experiment's products split by in_parallel)
            assert get() == 1
        assert get() == 1
    assert get() == 2
    with pytest.raises(RuntimeError, match="inside"):
        with threads.blas_threads(1):
            raise RuntimeError("inside")
    assert get() == 2
    with pytest.raises(ValueError, match="blas_threads: expected n >= 1, got 0"):
        with threads.blas_threads(0):
            pass  # pragma: no cover
    assert get() == 2


def test_blas_threads_from_two_threads_interleaved_sets_the_count_back(two_blas_threads):
    # the order that left the process on one BLAS thread for good (helper-78's review), with the
    # count at 2: A enters (saved 2, set 1), B enters (saved 1), A leaves (set 2, while B's block
    # still ran, on 2 threads), B leaves (set 1). Now the last to leave sets back the count from
    # before the first entered, and a block still open keeps its count
    import threading

    get = two_blas_threads
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen, errors = {}, []

    def a():
        with threads.blas_threads(1):
            a_in.set()
            assert b_in.wait(timeout=30)
        a_out.set()

    def b():
        assert a_in.wait(timeout=30)
        with threads.blas_threads(1):
            b_in.set()
            assert a_out.wait(timeout=30)
            seen["B after A left"] = get()

    def run(fn):
        try:
            fn()
        except BaseException as exc:  # pragma: no cover - shown below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(fn,)) for fn in (a, b)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors and not any(w.is_alive() for w in workers)
    assert seen == {"B after A left": 1}
    assert get() == 2


def test_blas_threads_overlapping_with_different_counts(monkeypatch):
    # while blocks overlap, the count is the latest open one's n; the count from before the first
    # is set back when the last one closes, in any order (a stand-in BLAS records what is set)
    count, sets = [4], []

    def set_(n):
        count[0] = n
        sets.append(n)

    monkeypatch.setattr(threads, "_BLAS", (lambda: count[0], set_))
    one, two = threads.blas_threads(1), threads.blas_threads(2)
    one.__enter__()
    two.__enter__()
    assert count == [2]
    one.__exit__(None, None, None)  # the first to enter leaves first: the other's count stays
    assert count == [2]
    two.__exit__(None, None, None)
    assert count == [4] and sets == [1, 2, 2, 4]
    with threads.blas_threads(3):
        with threads.blas_threads(1):
            assert count == [1]
        assert count == [3]
    assert count == [4]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_a_forked_child_sets_the_blas_count_back_when_only_other_threads_held_it(two_blas_threads):
    # a thread inside blas_threads(1) when the process forks does not exist in the child: its block
    # never closes there, so the child sets the count back itself (else it ran on one BLAS thread)
    import os
    import threading
    import warnings

    get = two_blas_threads
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with threads.blas_threads(1):
            inside.set()
            leave.wait(timeout=60)

    holder = threading.Thread(target=hold)
    try:
        holder.start()
        assert inside.wait(timeout=30) and get() == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (3.12: fork of a process with threads)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, reported through its exit code
            ok = get() == 2
            with threads.blas_threads(1):
                ok = ok and get() == 1
            os._exit(0 if ok and get() == 2 else 1)
        assert os.waitpid(pid, 0)[1] == 0
        assert get() == 1  # the parent's block is still open
        leave.set()
        holder.join(timeout=60)
        assert get() == 2
    finally:  # the holder's block closed, whatever failed (the count is set back by two_blas_threads)
        leave.set()
        holder.join(timeout=60)


def test_when_a_batch_is_split(monkeypatch):
    monkeypatch.setattr(threads, "MIN_ROWS", 8)
    threads.set_num_threads(1)
    assert threads.n_blocks(64, 64 * 256) == 1  # the default: never
    threads.set_num_threads(4)
    try:
        assert threads.n_blocks(64, 256 * 64) == 4
        assert threads.n_blocks(16, 256 * 64) == 2  # at least MIN_ROWS rows per block
        assert threads.n_blocks(15, 256 * 64) == 1
        assert threads.n_blocks(64, threads.MAX_WEIGHTS + 1) == 1  # large W_hh: one block
        assert threads.n_blocks(64, threads.MAX_WEIGHTS + 1, packed=True) == 8  # ... unless packed: 2 a thread
        assert threads.n_blocks(24, 256 * 64, packed=True) == 3  # at least MIN_ROWS rows per block
        assert threads.bounds(10, 3) == (0, 3, 6, 10)
    finally:
        threads.set_num_threads(1)
    assert lstmkit.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_names_what_it_expected(bad):
    with pytest.raises(ValueError, match=r"set_num_threads.*n.*positive integer"):
        lstmkit.set_num_threads(bad)
    assert lstmkit.get_num_threads() == 1


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_a_forked_child_runs_split_batches_with_its_own_pool(split):
    import multiprocessing as mp

    m = lstmkit.LSTM(3, 5, seed=0, dtype=np.float64)
    m.backend = "numba"
    x = np.random.default_rng(0).normal(size=(4, 6, 3))
    y, _ = m(x)  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        y_child = pool.apply_async(_forward_in_child, (m, x)).get(timeout=60)
    np.testing.assert_array_equal(y_child, y)


def _forward_in_child(m, x):
    threads.set_num_threads(2)
    return m(x)[0]


def test_in_turn_runs_every_block_once_on_the_threads_and_returns_them_in_order(split):
    import threading

    ran, names, others_done = [], set(), threading.Event()

    def block(k):
        names.add(threading.current_thread().name)
        if k == 0:  # block 0 waits for the rest: only the other thread can run them meanwhile
            assert others_done.wait(timeout=30)
        ran.append(k)
        if len(ran) == 6 and k != 0:
            others_done.set()
        return k * 10

    assert threads.in_turn(block, 7) == [0, 10, 20, 30, 40, 50, 60]
    assert sorted(ran) == list(range(7)) and len(names) == 2 and ran[-1] == 0


def test_in_parallel_of_one_block_runs_it_here(split, monkeypatch):
    import threading

    monkeypatch.setitem(threads._state, "pool", None)  # no pool made yet (a fresh process)
    assert threads.in_parallel(lambda k: (k, threading.current_thread() is threading.main_thread()), 1) == [(0, True)]


def test_in_turn_stops_taking_blocks_after_a_failure_and_raises_it(split):
    import time

    get, _ = threads._BLAS
    before, ran = get(), []

    def block(k):
        if k == 1:
            raise RuntimeError("block 1 failed")
        time.sleep(0.1)
        ran.append(k)
        return k

    with pytest.raises(RuntimeError, match="block 1 failed"):
        threads.in_turn(block, 20)
    # two threads take blocks 0 and 1 (or one takes 0, then 1): block 1 fails at once while block 0
    # sleeps, so no thread takes another and ran is [0]. Each further block would need the failing
    # thread held off for another 0.1 s between its raise and its record of it; a pool that went on
    # after a failure runs all 19 others
    assert ran[:1] == [0] and len(ran) <= 3 and get() == before, ran


def test_in_turn_on_one_thread_runs_the_blocks_here_in_order():
    threads.set_num_threads(1)
    assert threads.in_turn(lambda k: k + 1, 3) == [1, 2, 3]


def test_split_training_step_survives_a_change_of_threads_between_forward_and_backward(split):
    m = lstmkit.LSTM(3, 5, seed=0)
    ref = lstmkit.LSTM(3, 5, seed=0)
    m.backend, ref.backend = "numba", "numpy"
    x = np.random.default_rng(0).normal(size=(4, 8, 3)).astype(np.float32)
    y, _ = m(x)
    assert isinstance(m._cache[0][0], kn.SplitLSTMCache)
    threads.set_num_threads(1)  # the backward runs the forward's blocks on this thread
    dx, _ = m.backward(np.ones_like(y))
    y_r, _ = ref(x)
    dx_r, _ = ref.backward(np.ones_like(y_r))
    assert_close(dx, dx_r, 1e-5, 1e-5, "dx")


# -- where the pool's threads run (threads._off_callers_cpu) ----------------------------------------
_linux_two_cpus = pytest.mark.skipif(
    threads._GETCPU is None or len(getattr(__import__("os"), "sched_getaffinity", lambda _: ())(0)) < 2,
    reason="CPU affinity is set on Linux, with two CPUs or more allowed",
)


@pytest.fixture
def placed(split, monkeypatch):
    """A pool of the test's own (made by its first call), placed afresh; after the test the
    process's pool is back, placed again by its next call (monkeypatch's changes are undone after
    this fixture's teardown)."""
    monkeypatch.setitem(threads._state, "pool", None)
    threads._state["placed"] = None
    yield
    threads._state["placed"] = None


def _masks():
    """(the caller's CPU mask, the pool thread's), each read in its own thread, over one in_parallel."""
    import os

    return threads.in_parallel(lambda k: os.sched_getaffinity(0), 2)


@_linux_two_cpus
def test_the_pool_thread_runs_on_its_cpus_but_the_callers(placed, monkeypatch):
    import os

    allowed = os.sched_getaffinity(0)
    _masks()  # (a new pool's thread registers as it starts, after the call placed the others)
    assert threads._state["pool"].cpus == allowed  # as made: its creator's mask
    for cpu in (min(allowed), max(allowed)):  # the caller moves to another CPU: the pool follows
        monkeypatch.setattr(threads, "_GETCPU", lambda: cpu)
        caller, worker = _masks()
        assert caller == allowed  # the caller is left alone
        assert worker == allowed - {cpu}


@_linux_two_cpus
def test_masks_are_set_again_only_when_the_callers_cpu_changed(placed, monkeypatch):
    import os

    allowed, calls = os.sched_getaffinity(0), []
    monkeypatch.setattr(threads, "_GETCPU", lambda: min(allowed))
    _masks(), _masks()
    real = os.sched_setaffinity
    monkeypatch.setattr(os, "sched_setaffinity", lambda tid, mask: (calls.append((tid, mask)), real(tid, mask)))
    _masks()
    assert calls == []  # same CPU, same threads: nothing to do
    monkeypatch.setattr(threads, "_GETCPU", lambda: max(allowed))
    _masks()
    assert [mask for _, mask in calls] == [allowed - {max(allowed)}]


@_linux_two_cpus
def test_a_pool_made_by_a_caller_pinned_to_one_cpu_stays_there(placed):
    import os
    import threading

    only = {min(os.sched_getaffinity(0))}
    got = []

    def pinned_caller():  # a thread of the user's, pinned to one CPU, makes the pool and calls it
        os.sched_setaffinity(0, only)
        got.extend([_masks(), _masks()])  # (the second call sees the pool thread registered)

    caller = threading.Thread(target=pinned_caller)
    caller.start()
    caller.join(timeout=30)
    assert threads._state["pool"].cpus == only  # its threads inherited their creator's mask
    assert got[1] == [only, only]  # nowhere else to go: never a CPU it was not made with


@_linux_two_cpus
def test_more_threads_than_the_other_cpus_may_use_every_cpu(placed, monkeypatch):
    import os
    import threading

    allowed = os.sched_getaffinity(0)
    monkeypatch.setattr(threads, "_GETCPU", lambda: min(allowed))
    n = len(allowed) + 1  # a pool of len(allowed) threads: one more than the other CPUs
    threads.set_num_threads(n)
    together = threading.Barrier(n, timeout=30)  # every block waits for the others: n threads run

    def mask(k):
        together.wait()
        return os.sched_getaffinity(0)

    threads.in_parallel(mask, n)  # (the pool threads register as they start, after this call placed them)
    assert threads.in_parallel(mask, n) == [allowed] * n


def test_nothing_is_placed_where_the_cpu_cannot_be_read(placed, monkeypatch):
    import os

    calls = []
    monkeypatch.setattr(threads, "_GETCPU", None)  # not Linux, or not glibc
    monkeypatch.setattr(os, "sched_setaffinity", lambda *a: calls.append(a), raising=False)
    assert threads.in_parallel(lambda k: k * 2, 2) == [0, 2]
    assert calls == []


def test_a_dropped_pool_is_freed_and_its_threads_end():
    import gc
    import weakref

    pool = threads._Pool(1)
    assert pool.submit(lambda: 7).result() == 7
    assert len(pool.tids) == 1  # the thread registered its id as it started
    thread = next(iter(pool._threads))
    ref = weakref.ref(pool)
    del pool
    gc.collect()
    assert ref() is None  # its thread holds the list of ids, not the pool
    thread.join(timeout=30)
    assert not thread.is_alive()
