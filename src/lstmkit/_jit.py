"""How lstmkit's compiled loops are decorated: ``numba.njit`` with its on-disk cache where numba has
a place for it, without it (and one warning) where not.

numba looks for a cache directory when a function is *decorated* (``numba.njit(cache=True)`` applied
to it), not when it is first compiled: ``$NUMBA_CACHE_DIR``, then the ``__pycache__`` beside the
module, then the user's cache directory (``~/.cache/numba``), each only if it can be created and
written. Where none can (a read-only install run by a user without a writable HOME: a container's
``USER nobody``, a system-wide install), numba raises ``RuntimeError: cannot cache function ...:
no locator available for file ...`` and the module being imported fails. :func:`njit` decorates
such a function without the cache instead: the loops then compile in every new process (the first
call of each, ~30 s or more in all), and :func:`njit` says so once per process, with the remedy
(``NUMBA_CACHE_DIR``). Nothing else changes: the same function, the same options, the same code.

Imports numba: imported only by the compiled modules (:mod:`lstmkit.kernels_numba`,
:mod:`lstmkit.packed_gemm`, :mod:`lstmkit.kernels_units`).
"""

from __future__ import annotations

import os
import warnings

import numba

from ._checks import LstmkitWarning

# numba's message when no cache locator applies (numba/core/caching.py, CacheImpl.__init__)
NO_LOCATOR = "no locator available"

CACHED = True  # False once a function could not be given the on-disk cache (in this process)
_warned = False


class NumbaCacheWarning(LstmkitWarning, RuntimeWarning):
    """numba has nowhere to keep lstmkit's compiled loops: they compile again in every process."""


def njit(**options):
    """``numba.njit(cache=True, **options)`` as a decorator, or ``numba.njit(cache=False, **options)``
    for a function numba can find no cache directory for (with one :class:`NumbaCacheWarning` per
    process). Any other error of numba's is raised."""

    def decorate(func):
        global CACHED
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:
            if NO_LOCATOR not in str(exc):
                raise
            CACHED = False
            _warn(exc)
        return numba.njit(cache=False, **options)(func)

    return decorate


def _warn(exc) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    given = numba.config.CACHE_DIR
    where = f"NUMBA_CACHE_DIR={given!r} is not writable" if given else "NUMBA_CACHE_DIR is unset"
    warnings.warn(
        f"lstmkit: numba cannot cache the compiled kernels on disk ({exc}: {where}, and neither the "
        f"package's __pycache__ nor the user cache directory is writable), so they compile again in "
        f"every new process: the first forward and backward take ~30 s or more each time. To keep "
        f"them, set it before starting Python: {how_to_set('NUMBA_CACHE_DIR')}.",
        NumbaCacheWarning,
        stacklevel=3,  # the module's decorated function
    )


def how_to_set(name: str) -> str:
    """How to set the environment variable ``name`` to a writable folder in this platform's shell:
    ``export NAME=/some/writable/dir`` (POSIX shells), or on Windows (``os.name == "nt"``) cmd's
    ``set NAME=C:\\some\\writable\\folder`` and PowerShell's ``$env:NAME = "C:\\some\\writable\\folder"``."""
    if os.name == "nt":
        folder = r"C:\some\writable\folder"
        return f'set {name}={folder} (cmd) or $env:{name} = "{folder}" (PowerShell)'
    return f"export {name}=/some/writable/dir"
