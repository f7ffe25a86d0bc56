"""Choosing the kernels (lstmkit.backends) where numba is installed but fails.

The compiled module is imported once, for "auto" or "numba" only: backends.recycle, after every
backward, imported it whatever the backend (to test the cache's type), and a failure other than
ImportError was raised again there, by every backward and fit, even with backend='numpy'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit import backends, kernels

numba = pytest.importorskip("numba")


def test_for_cache_and_recycle_leave_a_reference_cache_to_the_reference():
    m = lstmkit.LSTM(2, 3, seed=0, dtype=np.float64)
    m.backend = "numpy"
    m(np.ones((3, 1, 2)))
    cache = m._cache[0][0]
    assert backends.for_cache(cache) is kernels
    backends.recycle(cache)  # nothing for the reference's caches


# numba installed but failing otherwise: the NumPy backend and "auto" keep working, the import is
# tried once, backend='numba' is refused with the reason.
_FAULTS = {
    # numba refuses a decoration with cache=True in packed_gemm (in kernels_numba's import guard)
    "numba_config": ("", {"NUMBA_CACHE_LOCATOR_CLASSES": "NoSuchLocator"}),
    # kernels_numba's own compiled loops fail to decorate (after its import guard)
    "kernels_numba": (
        """
        import numba
        _njit = numba.njit

        def _failing(**options):  # lstmkit decorates with options only, never numba.njit(func)
            decorate = _njit(**options)

            def wrap(func):
                if func.__module__ == "lstmkit.kernels_numba":
                    raise RuntimeError("injected fault")
                return decorate(func)

            return wrap

        numba.njit = _failing
        """,
        {},
    ),
}


@pytest.mark.parametrize("fault", sorted(_FAULTS))
def test_a_failing_numba_leaves_the_numpy_path_working(fault):
    if fault == "numba_config" and not hasattr(numba.config, "CACHE_LOCATOR_CLASSES"):  # pragma: no cover
        pytest.skip("this numba has no NUMBA_CACHE_LOCATOR_CLASSES")
    setup, extra_env = _FAULTS[fault]
    body = textwrap.dedent(setup) + textwrap.dedent(
        """
        import json
        import numpy as np
        import lstmkit
        from lstmkit import backends, kernels

        x = np.random.default_rng(1).normal(size=(4, 2, 2))
        m = lstmkit.LSTM(2, 3, seed=0, dtype=np.float64)  # backend "auto"
        y, _ = m(x)
        dx, _ = m.backward(np.ones_like(y))
        r = lstmkit.LSTM(2, 3, seed=0, dtype=np.float64)
        r.backend = "numpy"
        y_r, _ = r(x)
        dx_r, _ = r.backward(np.ones_like(y_r))
        try:
            m.backend = "numba"
            refused = ""
        except ImportError as e:
            refused = str(e)
        print(json.dumps({"available": backends.available(), "auto": backends.select("auto") is kernels,
                          "same": bool((y == y_r).all() and (dx == dx_r).all()), "refused": refused,
                          "loads": backends._numba_kernels.cache_info().misses}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(extra_env, PYTHONPATH=str(Path(lstmkit.__file__).parent.parent))
    out = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-4000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["available"] == {"numpy": True, "numba": False}
    assert got["auto"] and got["same"]  # "auto" ran the reference: the numpy backend's numbers, bit for bit
    assert got["loads"] == 1  # tried once, not again at every forward and backward
    assert got["refused"].startswith("LSTM: expected backend='numba' the compiled kernels loadable"), got["refused"]
    assert "RuntimeError" in got["refused"] and "backend='numpy'" in got["refused"], got["refused"]
