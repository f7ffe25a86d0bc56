"""A helper for the tests that fork (a child must not hang the run)."""

from __future__ import annotations

import os
import signal
import time


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
