"""lstmkit.workspace: large work arrays kept between calls, and the compiled kernels that use them.

Oracles: the first call of a model (its arrays new) against later calls on kept arrays filled
with NaN in between (an array read before it is written would show); the NumPy reference kernels
(float64 to 1e-12, float32 to 1e-5) on the same inputs; and the arrays a call hands back, copied,
against themselves after later calls (none may be a kept array that a later call overwrites).
MIN_BYTES is lowered to 0 so that the small arrays of these tests go through the workspace.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import lstmkit
from lstmkit import threads, workspace
from forking import fork_holding
from oracles import assert_close

kn = pytest.importorskip("lstmkit.kernels_numba")
if not kn.AVAILABLE:  # pragma: no cover
    pytest.skip(f"fast path unavailable: {kn.UNAVAILABLE_REASON}", allow_module_level=True)

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture(autouse=True)
def fresh():
    """An empty workspace with its default limit before and after each test."""
    workspace.clear()
    before = workspace.limit()
    yield
    workspace.set_limit(before)
    workspace.clear()


@pytest.fixture
def every_array(monkeypatch):
    """Every array the kernels would take from the workspace is taken from it, however small."""
    monkeypatch.setattr(workspace, "MIN_BYTES", 0)


# -- the workspace itself ----------------------------------------------------------------------
def test_take_gives_an_uninitialised_c_contiguous_array_of_the_shape_and_dtype():
    a = workspace.take((3, 4, 5), np.float32)
    assert a.shape == (3, 4, 5) and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable


def test_a_given_array_serves_the_next_take_of_its_size_up_to_fit_times_smaller(every_array):
    a = workspace.take((6, 10), np.float64)
    workspace.give(a)
    assert workspace.kept_bytes() == 480
    other = workspace.take((7, 10), np.float64)  # larger: a new array
    assert not np.shares_memory(a, other) and workspace.kept_bytes() == 480
    small = workspace.take((2, 10), np.float64)  # 160 bytes: under 480 / FIT, a new array
    assert not np.shares_memory(a, small) and workspace.kept_bytes() == 480
    b = workspace.take((12, 10), np.float32)  # the same bytes, another shape and dtype
    assert np.shares_memory(a, b) and workspace.kept_bytes() == 0
    assert b.shape == (12, 10) and b.dtype == np.float32 and b.flags.c_contiguous


def test_a_ragged_take_gets_the_smallest_kept_buffer_that_fits_and_give_keeps_it_whole(every_array):
    # helper-116 F7: with exact-size reuse only, ragged request sizes reused 2-11% of takes and kept
    # ~255 MiB; 3 buffers of 400, 300 and 1000 bytes, a take of 250: the 300 one (smallest >= 250)
    bufs = [workspace.take((n,), np.uint8) for n in (400, 300, 1000)]
    for buf in bufs:
        workspace.give(buf)
    assert workspace.kept_bytes() == 1700
    got = workspace.take((5, 25), np.float16)  # 250 bytes
    assert got.shape == (5, 25) and got.dtype == np.float16 and got.flags.c_contiguous and got.flags.writeable
    assert np.shares_memory(got, bufs[1]) and got.ctypes.data == bufs[1].ctypes.data
    assert workspace.kept_bytes() == 1400
    workspace.give(got)  # back whole: 300 bytes, and it serves a take of 300 next
    assert workspace.kept_bytes() == 1700
    assert np.shares_memory(workspace.take((300,), np.uint8), bufs[1])
    assert not np.shares_memory(workspace.take((450,), np.uint8), bufs[2])  # 1000 > FIT x 450: a new array


def test_small_arrays_are_never_kept():
    a = workspace.take((10,), np.float64)  # far below MIN_BYTES: a plain numpy.empty
    workspace.give(a)
    assert workspace.kept_bytes() == 0


def test_arrays_not_from_take_and_second_gives_are_ignored(every_array):
    workspace.give(np.empty(100, dtype=np.float32))  # not from take
    workspace.give(np.empty(100, dtype=np.uint8)[10:])  # a view of a buffer from elsewhere, not its whole
    a = workspace.take((25,), np.float32)
    workspace.give(a)
    workspace.give(a)
    assert workspace.kept_bytes() == 100


def test_the_limit_lets_the_oldest_go_first(every_array):
    a, b = workspace.take((100,), np.uint8), workspace.take((200,), np.uint8)
    workspace.set_limit(250)
    workspace.give(a)
    workspace.give(b)  # 300 > 250: a, the older, goes
    assert workspace.kept_bytes() == 200
    assert not np.shares_memory(workspace.take((100,), np.uint8), a)
    workspace.set_limit(0)
    assert workspace.kept_bytes() == 0


def test_clear_lets_everything_go(every_array):
    workspace.give(workspace.take((64,), np.float32))
    workspace.clear()
    assert workspace.kept_bytes() == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_set_limit_names_the_argument_and_what_it_expected(bad):
    with pytest.raises(ValueError, match=r"nbytes.*an integer >= 0"):
        workspace.set_limit(bad)


def test_a_fork_while_another_thread_holds_the_lock_leaves_the_child_a_working_workspace(every_array):
    # helper-116 F4: 85/200 children forked while a thread looped take/give hung on the lock; the
    # child gets a new lock and nothing kept (the parent's list may have been half-updated)
    if not hasattr(os, "fork"):  # pragma: no cover
        pytest.skip("no os.fork on this platform")
    workspace.give(workspace.take((1024,), np.uint8))

    def child():
        kept = workspace.kept_bytes()
        workspace.give(workspace.take((1024,), np.uint8))
        return kept == 0 and workspace.kept_bytes() == 1024

    status = fork_holding(workspace._lock, child)
    assert status == 0, "the child hung on the workspace's lock" if status is None else f"child exit {status}"


# -- the kernels on kept arrays -------------------------------------------------------------------
def _poison_kept():
    for buf in workspace._free:
        buf.view(np.uint8)[:] = 0xFF  # NaN in float32 and float64


def _step(m, x, lengths, seed):
    y, (h, c) = m(x, lengths=lengths)
    rng = np.random.default_rng(seed)
    dy = rng.normal(size=y.shape).astype(m.dtype)
    dx, (dh0, dc0) = m.backward(dy, tuple(rng.normal(size=s.shape).astype(m.dtype) for s in (h, c)))
    out = {"y": y, "h_T": h, "c_T": c, "dx": dx, "dh0": dh0, "dc0": dc0, **{f"grad {k}": v.copy() for k, v in m.grads.items()}}
    m.zero_grad()
    return out


def _infer(m, x, lengths):
    with m.no_grad():
        y, (h, c) = m(x, lengths=lengths)
    return {"y": y, "h_T": h, "c_T": c}


CASES = [  # (LSTM keywords, threads, split the units)
    ({}, 1, False),
    ({"num_layers": 2, "bidirectional": True}, 1, False),
    ({"proj_size": 3}, 1, False),
    ({}, 2, False),  # the batch as blocks of rows on two threads
    ({"num_layers": 2}, 2, True),  # the hidden units over two threads (lstmkit.kernels_units)
]


@pytest.fixture(params=CASES, ids=["plain", "2 layers bidirectional", "projection", "rows split", "units split"])
def case(request, monkeypatch, every_array):
    kw, n, units = request.param
    monkeypatch.setattr(threads, "MIN_ROWS", 2)
    if units:
        if threads._BLAS is None or not kn.GEMM or kn._packed_kernels(np.float32).size == 0:
            pytest.skip("no packed kernels or BLAS threads here: the units are never split")
        monkeypatch.setattr(threads, "UNIT_WEIGHTS", 1000)
        monkeypatch.setattr(threads, "MIN_UNITS", 16)
    elif n > 1 and (threads._BLAS is None or not kn.GEMM):
        pytest.skip("NumPy's BLAS threads cannot be set here: batches are never split")
    threads.set_num_threads(n)
    yield kw
    threads.set_num_threads(1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_training_on_kept_arrays_gives_the_first_steps_numbers_and_the_references(case, dtype, with_lengths):
    fast = lstmkit.LSTM(5, 40, dtype=dtype, seed=0, **case)
    ref = lstmkit.LSTM(5, 40, dtype=dtype, seed=0, **case)
    fast.backend, ref.backend = "numba", "numpy"
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4, 5)).astype(dtype)
    lengths = np.array([6, 3, 5, 1]) if with_lengths else None
    first = _step(fast, x, lengths, seed=2)
    assert workspace.kept_bytes() > 0  # the forward's arrays came back after backward
    kept = {buf.ctypes.data for buf in workspace._free}
    _poison_kept()
    fast(x, lengths=lengths)  # takes the kept (now NaN) arrays for its cache
    cache = fast._cache[0][0]
    parts = cache.parts if isinstance(cache, kn.SplitLSTMCache) else [cache]
    assert all(p.acts.ctypes.data in kept for p in parts)
    fast._cache = None
    _poison_kept()
    again = _step(fast, x, lengths, seed=2)
    want = _step(ref, x, lengths, seed=2)
    for k in want:
        np.testing.assert_array_equal(again[k], first[k], err_msg=k)
        assert_close(again[k], want[k], TOL[dtype], TOL[dtype], k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inference_on_kept_arrays_gives_the_first_calls_numbers(case, dtype):
    m = lstmkit.LSTM(5, 40, dtype=dtype, seed=0, **case)
    m.backend = "numba"
    x = np.random.default_rng(1).normal(size=(6, 4, 5)).astype(dtype)
    first = _infer(m, x, None)
    # kept: the gates' scratch (one step of them in the rows split), or the buffers of each thread's
    # packed weights (the units split, whose threads keep one step of the gates, their own)
    assert workspace.kept_bytes() > 0
    _poison_kept()
    again = _infer(m, x, None)
    for k in first:
        np.testing.assert_array_equal(again[k], first[k], err_msg=k)


def test_arrays_handed_back_are_never_overwritten_by_later_calls(case):
    m = lstmkit.LSTM(5, 40, dtype=np.float64, seed=0, **case)
    m.backend = "numba"
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(6, 4, 5)) for _ in range(3)]
    handed = [_step(m, xs[0], None, seed=2), _infer(m, xs[1], None)]
    copies = [{k: v.copy() for k, v in h.items()} for h in handed]
    _step(m, xs[2], None, seed=3)
    _infer(m, xs[0], None)
    _step(m, xs[1], None, seed=4)
    for h, c in zip(handed, copies):
        for k in c:
            np.testing.assert_array_equal(h[k], c[k], err_msg=k)


def test_backward_takes_no_array_for_dz_and_gives_back_what_it_takes(case, monkeypatch):
    # dL/dz_t is written over the kept gates of step t (kernels_numba._backward_block,
    # kernels_units.lstm_backward_units): backward needs no (T, B, 4H) array of its own. The units
    # split takes the buffers of its threads' packed operands, and no dW_ih, dW_hh: its products add
    # them to the layer's gradients; the rows split takes nothing
    m = lstmkit.LSTM(5, 40, dtype=np.float32, seed=0, **case)
    m.backend = "numba"
    rng = np.random.default_rng(1)
    y, _ = m(rng.normal(size=(6, 4, 5)).astype(np.float32))
    taken, real = [], workspace.take

    def take(shape, dtype):
        a = real(shape, dtype)
        taken.append((tuple(shape), a))
        return a

    monkeypatch.setattr(workspace, "take", take)
    m.backward(rng.normal(size=y.shape).astype(np.float32))
    units = threads.n_unit_blocks(40, m.weight_hh_l0.size) > 1
    assert units or taken == []
    assert (6, 4, 160) not in [shape for shape, _ in taken]
    kept = {buf.ctypes.data for buf in workspace._free}
    assert all(a.ctypes.data in kept for _, a in taken)  # every one given back
    if units:
        assert taken and not {(160, 5), (160, 40)} & {shape for shape, _ in taken}  # no dW_ih, dW_hh
