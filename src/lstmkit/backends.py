"""Choosing the kernels that run an LSTM layer's time loop.

Two implementations of one contract (``lstm_forward`` / ``lstm_backward``, same arguments, same
numbers to round-off):

* ``"numpy"``: :mod:`lstmkit.kernels`, the readable reference, NumPy only;
* ``"numba"``: :mod:`lstmkit.kernels_numba`, the same equations with the loop compiled (optional
  extra ``lstmkit[fast]``).

``"auto"`` takes the compiled kernels when they can run and the reference otherwise. The compiled
module is imported on first use of "auto" or "numba" (never for "numpy", nor for a backward of the
reference's), so ``import lstmkit`` stays NumPy-only. If numba is missing or the module fails to
load (any error: it is tried once per process), "auto" runs the reference and "numba" is refused
with the reason; where numba is installed but the module fails, "auto" also warns, once per
process (:class:`CompiledKernelsWarning`): the run would be several times slower, unannounced.
"""

from __future__ import annotations

import sys
import warnings
from functools import cache
from types import ModuleType, SimpleNamespace

from . import kernels
from ._checks import LstmkitWarning, fail

BACKENDS = ("auto", "numpy", "numba")
_FAST = f"{__package__}.kernels_numba"


@cache  # the import statement costs microseconds per forward call otherwise; and a failure is not retried
def _numba_kernels() -> ModuleType | SimpleNamespace:
    try:
        from . import kernels_numba  # imports numba, guarded: AVAILABLE is False without it
    except Exception as exc:  # numba installed but failing beyond the module's own guard
        return SimpleNamespace(AVAILABLE=False, UNAVAILABLE_REASON=f"{type(exc).__name__}: {exc}", BROKEN=True)
    return kernels_numba


class CompiledKernelsWarning(LstmkitWarning, RuntimeWarning):
    """numba is installed but lstmkit's compiled kernels failed to load: "auto" runs the NumPy reference."""


_REINSTALL = "Reinstall numba and scipy (pip install --force-reinstall \"lstmkit[fast]\")"


@cache  # once per process
def _warn_broken(reason: str) -> None:
    warnings.warn(f"lstmkit: numba is installed but the compiled kernels did not load ({reason}): backend 'auto' "
                  f"runs the NumPy reference (several times slower). {_REINSTALL}, or choose backend='numpy' to "
                  "silence this.", CompiledKernelsWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """warnings.warn's stacklevel, from its caller in this package, of the first frame outside it: the
    user's line that ran the forward, however deep lstmkit's calls were."""
    frame, level = sys._getframe(1), 1  # the frame that calls warnings.warn
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == __package__:
        frame, level = frame.f_back, level + 1
    return level


def available() -> dict[str, bool]:
    """Which backends can run here: {"numpy": True, "numba": ...}."""
    return {"numpy": True, "numba": _numba_kernels().AVAILABLE}


def select(backend: str, where: str = "lstmkit") -> ModuleType:
    """The kernel module for ``backend`` ("auto", "numpy" or "numba")."""
    if backend == "numpy":
        return kernels
    if backend not in BACKENDS:
        fail(where, "backend", f"one of {BACKENDS}", repr(backend))
    fast = _numba_kernels()
    if fast.AVAILABLE:
        return fast
    if backend == "numba":
        how = _REINSTALL if fast.BROKEN else "Install them (pip install \"lstmkit[fast]\")"
        fail(where, "backend='numba'", "the compiled kernels loadable (numba and scipy installed)", fast.UNAVAILABLE_REASON,
             f"{how} or use backend='numpy' (or 'auto').", exc=ImportError)  # fmt: skip
    if fast.BROKEN:
        _warn_broken(fast.UNAVAILABLE_REASON)
    return kernels


def for_cache(cache) -> ModuleType:
    """The kernel module whose forward produced ``cache`` (backward must be its partner).

    Only the compiled kernels' own cache type goes to them; anything else is the reference's. Does not
    import the compiled module (numba): a cache of its types exists only once it is imported.
    """
    fast = sys.modules.get(_FAST)
    if fast is not None and isinstance(cache, (fast.FastLSTMCache, fast.SplitLSTMCache)):
        return fast
    return kernels


def recycle(cache) -> None:
    """Let the compiled kernels reuse the arrays of a training forward's ``cache`` that nothing will
    read again (a layer calls this after its backward): :func:`lstmkit.kernels_numba.recycle`.
    Nothing for the reference's caches."""
    kern = for_cache(cache)
    if kern is not kernels:
        kern.recycle(cache)
