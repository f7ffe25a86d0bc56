"""Large work arrays of the compiled kernels, kept between calls so that their memory stays mapped.

glibc hands a freed block larger than its mmap threshold (128 KiB to 32 MiB, raised as such
blocks are freed) back to the system, and an array of the same size in the next call faults every
page in again: a page fault a 4 KiB page, ~2 µs of system time each with two threads faulting at
once. Measured at H=256, B=64, T=100 with ``set_num_threads(2)``: 5,610 faults a forward (12-14 ms
of system time against a 26-46 ms call) and 21,792 a training step (40-50 ms), in processes where
glibc's threshold had not risen past those sizes (it varies with what the process freed before).

The compiled kernels take their large scratch arrays here (the gates of a whole sequence; the
packed weights and inputs of a layer whose hidden units are split over the threads,
:mod:`lstmkit.kernels_units`) and give them back after the call (backward writes dL/dz over the
kept gates: no array of its own); the arrays a training forward keeps for backward come from here
too and are given back by the layer once its backward has used them
(:func:`lstmkit.backends.recycle`), and so do a units split's dW_ih and dW_hh, which the layer
gives back once it has added them to its gradients. An array handed to the caller (an output,
dx) is never taken from here. PTB-medium (2 layers, H=650, 2 threads) measured 8,988 faults and
34 ms of system time in a 79 ms backward before its packs and dW came from here, none after
(55-59 ms). Arrays smaller than ``MIN_BYTES`` are plain ``numpy.empty`` (glibc keeps
those in its heap), and at most ``limit()`` bytes are kept: the oldest go first. Nothing is kept
until a compiled kernel runs; :func:`clear` lets everything go.

    take(shape, dtype) -> an uninitialised C-contiguous array (like numpy.empty), on a kept buffer
                          of its size up to FIT times it where there is one
    give(array)        -> back for a later take; the caller holds no other reference to it
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from ._checks import fail

MIN_BYTES = 1 << 20  # smaller arrays are never kept
FIT = 2  # a take is served by the smallest kept buffer of nbytes .. FIT * nbytes (its first nbytes)

_state = {"limit": 256 << 20, "kept": 0}
_free: list[np.ndarray] = []  # 1-D uint8 buffers, oldest first
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # a lock held by another thread of the parent at the fork would never come free in the child,
    # and the list may be half-updated: the child starts with a new lock and nothing kept (clear
    # takes the module's _lock as it is when called: the new one)
    global _lock
    _lock = threading.Lock()
    clear()


if hasattr(os, "register_at_fork"):  # Unix only: Windows has no fork, so no child to repair
    os.register_at_fork(after_in_child=_after_fork_in_child)


def take(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``: the first bytes of the smallest
    kept buffer of at least its size and at most ``FIT`` times it where there is one, else a new
    one (give it back with :func:`give`, which keeps the whole buffer)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    with _lock:
        best, size = -1, FIT * nbytes + 1
        for i in range(len(_free) - 1, -1, -1):  # the smallest that fits; the newest of equals (its
            n = _free[i].nbytes  # pages were touched last)
            if nbytes <= n < size:
                best, size = i, n
                if n == nbytes:
                    break
        if best >= 0:
            buf = _free.pop(best)
            _state["kept"] -= size
        else:
            buf = np.empty(nbytes, dtype=np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def give(array: np.ndarray) -> None:
    """Keep ``array``'s memory for a later :func:`take`. Only for an array from :func:`take` that
    nothing else refers to (not a view handed to a caller); anything else is ignored."""
    buf = array
    while buf.base is not None and isinstance(buf.base, np.ndarray):
        buf = buf.base
    if buf.dtype != np.uint8 or buf.ndim != 1 or not buf.flags.owndata or buf.nbytes < MIN_BYTES:
        return
    with _lock:
        if any(b is buf for b in _free):
            return
        _free.append(buf)
        _state["kept"] += buf.nbytes
        while _state["kept"] > _state["limit"]:
            _state["kept"] -= _free.pop(0).nbytes


def clear() -> None:
    """Let every kept buffer go (its memory returns to the system as NumPy frees it)."""
    with _lock:
        _free.clear()
        _state["kept"] = 0


def kept_bytes() -> int:
    """Bytes kept now for later calls."""
    return _state["kept"]


def limit() -> int:
    """The most bytes kept between calls (256 MiB unless :func:`set_limit` said otherwise)."""
    return _state["limit"]


def set_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` between calls (0: keep nothing); the oldest buffers go first."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
        fail("workspace.set_limit", "nbytes", "an integer >= 0", repr(nbytes))
    with _lock:
        _state["limit"] = int(nbytes)
        while _state["kept"] > _state["limit"]:
            _state["kept"] -= _free.pop(0).nbytes
