"""Helpers for the tests that fork (a child must not hang the run)."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from typing import Callable


def exit_status(pid: int, timeout: float = 20.0) -> int | None:
    """The exit code of the child ``pid``, or None (it is killed, and reaped) if it has not ended
    within ``timeout`` seconds: a child hung on a lock fails its test instead of hanging the run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def fork_holding(lock, child: Callable[[], bool], timeout: float = 20.0) -> int | None:
    """Fork while another thread of this process holds ``lock`` (as a thread inside take/give or a
    build holds it at the moment a server forks): the child runs ``child()`` and exits 0 if it
    returned True, 3 if False. The child's exit code, or None where it hung (:func:`exit_status`)."""
    held, done = threading.Event(), threading.Event()

    def hold():
        with lock:
            held.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork with threads
            pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            os._exit(0 if child() else 3)
        return exit_status(pid, timeout)
    finally:
        done.set()
        holder.join(30)
