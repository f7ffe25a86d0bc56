"""Choosing the kernels (lstmkit.backends) where numba is installed but cannot cache its compiled code.

numba finds a cache directory when a function is decorated with ``cache=True`` (numba/core/caching.py,
CacheImpl.__init__): $NUMBA_CACHE_DIR, the module's __pycache__, the user cache directory, each only
if it can be created and written (``_CacheLocator.ensure_cache_path``, an OSError: the next one).
With none (a read-only install, no writable HOME) it raises "cannot cache function ...: no locator
available", and lstmkit's compiled modules failed to import: every backward, even with
backend='numpy' (backends.recycle imported them after each one), and every fit.

The subprocesses here run a read-only copy of the package with HOME, XDG_CACHE_HOME and
NUMBA_CACHE_DIR under a read-only directory. root writes through chmod a-w, so as root the same
failure is made where numba meets it: every locator's ensure_cache_path raises PermissionError
(EACCES), as os.makedirs does for another user.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit import backends, kernels, training
from lstmkit.models import SequenceModel
from oracles import assert_close

numba = pytest.importorskip("numba")

# What both sides compute: the subprocess, and this process as the oracle for the NumPy path.
_HELPERS = textwrap.dedent(
    """
    def tiny_fit(backend):
        # the README's seed-000 counting task, cut down: 16 sequences of 4 steps, 2 epochs
        rng = np.random.default_rng(0)
        tok = rng.integers(0, 2, size=(16, 4))
        X, Y = np.eye(2)[tok], (np.cumsum(tok == 0, axis=1) > 1).astype(int)
        model = SequenceModel(2, None, 2, readout="identity", dtype=np.float64, seed=1)
        model.rnn.backend = backend
        trainer = training.Trainer(model, loss="cross_entropy", optimizer="adam", lr=0.1, batch_size=8, seed=1)
        history = trainer.fit(X, Y, epochs=2)
        return history["loss"], model.state_dict()

    def lstm_grads(backend, dt):
        m = lstmkit.LSTM(2, 3, seed=0, dtype=dt)
        m.backend = backend
        x = np.random.default_rng(1).normal(size=(4, 2, 2)).astype(dt)
        y, (h, c) = m(x)
        dx, _ = m.backward(np.ones_like(y))
        return {"y": y, "h": h, "c": c, "dx": dx, **{"d" + k: v for k, v in m.grads.items()}}
    """
)
_ORACLE = {"np": np, "lstmkit": lstmkit, "training": training, "SequenceModel": SequenceModel}
exec(_HELPERS, _ORACLE)

# Run first in the subprocess, before lstmkit is imported (numba is not imported by it).
_PRELUDE = textwrap.dedent(
    """
    import importlib.util, os, sys, json, warnings

    class ReadOnlyCaches:
        # As root (who writes through chmod a-w): once numba.core.caching is imported, if ever,
        # every locator's ensure_cache_path raises what os.makedirs raises another user.

        def find_spec(self, name, path=None, target=None):
            if name != "numba.core.caching":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)

                def read_only(locator):
                    raise PermissionError(13, "Permission denied", locator.get_cache_path())

                module._CacheLocator.ensure_cache_path = read_only

            spec.loader.exec_module = exec_module
            return spec

    if os.geteuid() == 0:
        sys.meta_path.insert(0, ReadOnlyCaches())
    warnings.simplefilter("always")  # a warning given twice would show twice
    _caught = warnings.catch_warnings(record=True)
    _seen = _caught.__enter__()
    import numpy as np
    import lstmkit
    from lstmkit import backends, kernels, training
    from lstmkit.models import SequenceModel

    def cache_warnings():
        return [str(w.message) for w in _seen if type(w.message).__name__ == "NumbaCacheWarning"]
    """
) + _HELPERS


def _run(tmp_path: Path, body: str, timeout: float):
    """Run _PRELUDE + body in a fresh interpreter on a read-only copy of the package, with no
    writable cache directory anywhere numba looks; returns the JSON the body prints last."""
    src = Path(lstmkit.__file__).parent
    ro = tmp_path / "ro"
    shutil.copytree(src, ro / "src" / "lstmkit", ignore=shutil.ignore_patterns("__pycache__"))
    for p in sorted(ro.rglob("*"), reverse=True) + [ro]:  # chmod a-w, files first
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(
        PYTHONPATH=str(ro / "src") + os.pathsep + str(Path(__file__).parent),
        HOME=str(ro / "home"),  # missing, under a read-only directory: ~/.cache/numba cannot be made
        XDG_CACHE_HOME=str(ro / "cache"),
        NUMBA_CACHE_DIR=str(ro / "numba"),  # likewise: the user-provided locator declines too
        PYTHONDONTWRITEBYTECODE="1",
    )
    try:
        out = subprocess.run([sys.executable, "-c", _PRELUDE + textwrap.dedent(body)], capture_output=True,
                             text=True, env=env, timeout=timeout, cwd=tmp_path)  # fmt: skip
    finally:
        for p in [ro, *ro.rglob("*")]:  # writable again, so tmp_path can be removed
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
    assert out.returncode == 0, out.stderr[-4000:]
    assert not any((ro / "src" / "lstmkit").rglob("*.nbi")), "numba wrote a cache file"
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_numpy_backend_never_touches_numba_where_it_cannot_cache(tmp_path):
    # backend='numpy': forward, backward and a fit without importing numba (backward imported the
    # compiled module to test the cache's type: RuntimeError 'no locator available' on every backward)
    got = _run(tmp_path, """
        grads = {dt: lstm_grads("numpy", dt) for dt in ("float64", "float32")}
        losses, state = tiny_fit("numpy")
        untouched = "numba" not in sys.modules and "lstmkit.kernels_numba" not in sys.modules
        np.savez("numpy.npz", **{f"{dt}/{k}": v for dt, g in grads.items() for k, v in g.items()},
                 **{"fit/" + k: v for k, v in state.items()})
        # then the compiled module loads (without its on-disk cache, one warning), nothing compiled yet
        available = backends.available()
        fast = backends.select("auto") is not kernels and backends.select("numba") is not kernels
        print(json.dumps({"untouched": untouched, "losses": losses, "available": available,
                          "fast": fast, "warnings": cache_warnings()}))
        """, timeout=120)  # fmt: skip
    assert got["untouched"], "the NumPy backend imported numba"
    assert got["available"] == {"numpy": True, "numba": True}
    assert got["fast"]
    assert len(got["warnings"]) == 1, got["warnings"]
    assert "NUMBA_CACHE_DIR=" in got["warnings"][0] and "no locator available" in got["warnings"][0]
    # the same numbers as this process's own NumPy path (same code, same seeds: equal to the bit)
    saved = np.load(tmp_path / "numpy.npz")
    for dt in ("float64", "float32"):
        for k, v in _ORACLE["lstm_grads"]("numpy", np.dtype(dt)).items():
            np.testing.assert_array_equal(saved[f"{dt}/{k}"], v, err_msg=f"{dt} {k}")


@pytest.mark.slow  # 20-45 s: numba compiles the float64 forward and backward with no cache to load them from
def test_compiled_kernels_run_uncached_where_numba_cannot_cache(tmp_path):
    got = _run(tmp_path, """
        from lstmkit import _jit, kernels_numba as kn
        fast = lstm_grads("numba", np.float64)
        ref = lstm_grads("numpy", np.float64)
        fast_fit, ref_fit = tiny_fit("numba"), tiny_fit("numpy")
        err = max(float(np.abs(fast[k] - ref[k]).max()) for k in ref)
        fit_err = max(float(np.abs(fast_fit[1][k] - ref_fit[1][k]).max()) for k in ref_fit[1])
        print(json.dumps({"err": err, "fit_err": fit_err, "losses": [fast_fit[0], ref_fit[0]],
                          "cached": _jit.CACHED, "cache": type(kn._forward._cache).__name__,
                          "compiled": len(kn._forward.signatures) > 0, "warnings": cache_warnings()}))
        """, timeout=300)  # fmt: skip
    assert got["compiled"] and not got["cached"] and got["cache"] == "NullCache"
    assert got["err"] <= 1e-12, got["err"]  # the NumPy reference is the oracle: float64 to 1e-12
    assert got["fit_err"] <= 1e-12, got["fit_err"]
    assert_close(got["losses"][0], got["losses"][1], 1e-12, 0.0, "fit losses")
    assert len(got["warnings"]) == 1, got["warnings"]


def test_the_normal_install_caches_the_compiled_kernels_on_disk():
    # where numba has a cache directory (this checkout's __pycache__, or NUMBA_CACHE_DIR), every
    # compiled loop is decorated with cache=True as before: a FunctionCache, no warning
    kn = pytest.importorskip("lstmkit.kernels_numba")
    if not kn.AVAILABLE:  # pragma: no cover
        pytest.skip(kn.UNAVAILABLE_REASON)
    from lstmkit import _jit, kernels_units, packed_gemm

    assert _jit.CACHED
    for mod, names in ((kn, ("_gemm", "_operand", "_step", "_forward", "_infer", "_backward")),
                       (packed_gemm, ("pack", "scratch")),
                       (kernels_units, ("_forward_units", "_backward_units"))):  # fmt: skip
        for name in names:
            assert type(getattr(mod, name)._cache).__name__ == "FunctionCache", f"{mod.__name__}.{name}"


@pytest.mark.parametrize("os_name", ["posix", "nt"])
def test_the_numba_cache_advice_is_in_the_platforms_shell(monkeypatch, os_name):
    # the remedy was "set NUMBA_CACHE_DIR=/some/writable/dir" everywhere: a POSIX path, and in no shell's
    # syntax on Windows (cmd's set takes no /dir, PowerShell sets $env:NAME). Each shell's own form now.
    _jit = pytest.importorskip("lstmkit._jit")
    monkeypatch.setattr(_jit, "_warned", False)
    monkeypatch.setattr(os, "name", os_name)
    with pytest.warns(_jit.NumbaCacheWarning) as caught:
        _jit._warn(RuntimeError("cannot cache function 'f': no locator available for file 'x.py'"))
    monkeypatch.undo()
    said = str(caught[0].message)
    if os_name == "nt":
        assert r"set NUMBA_CACHE_DIR=C:\some\writable\folder (cmd)" in said, said
        assert r'$env:NUMBA_CACHE_DIR = "C:\some\writable\folder" (PowerShell)' in said, said
        assert "/some/writable/dir" not in said, said
    else:
        assert "export NUMBA_CACHE_DIR=/some/writable/dir" in said and "$env:" not in said, said


def test_llvmlite_failing_to_read_the_cpu_leaves_the_compiled_kernels_on_blas(monkeypatch):
    # packed_gemm.kernels() called supported() (llvmlite's get_host_cpu_features) outside the try that
    # guards the packed path: where llvmlite raised there, the first forward raised with it instead of
    # running the compiled kernels on BLAS. The fault injected: supported() raising as llvmlite does.
    kn = pytest.importorskip("lstmkit.kernels_numba")
    if not kn.AVAILABLE:  # pragma: no cover
        pytest.skip(kn.UNAVAILABLE_REASON)
    from lstmkit import packed_gemm

    def failing():
        raise RuntimeError("failed to get host cpu features")

    monkeypatch.setattr(packed_gemm, "supported", failing)
    monkeypatch.setattr(packed_gemm, "_built", {})  # not built yet in this process
    monkeypatch.setattr(packed_gemm, "UNAVAILABLE_REASON", {})
    monkeypatch.setattr(kn, "USE_PACKED", True)
    x = np.random.default_rng(3).normal(size=(5, 2, 4))
    ys = {}
    for backend in ("numba", "numpy"):
        m = lstmkit.LSTM(4, 6, seed=0, dtype=np.float64)
        m.backend = backend
        y, _ = m(x)
        dx, _ = m.backward(np.ones_like(y))
        ys[backend] = (y, dx)
    assert packed_gemm.kernels(np.float64).size == 0  # BLAS, said once
    assert packed_gemm.UNAVAILABLE_REASON[np.dtype(np.float64)].endswith("failed to get host cpu features")
    assert_close(ys["numba"][0], ys["numpy"][0], 1e-12, 0.0, "y")
    assert_close(ys["numba"][1], ys["numpy"][1], 1e-12, 0.0, "dx")


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
    # a module inside the installed numba missing (a broken install): not 'numba is not installed'
    "numba_module": ("import sys\nsys.modules['numba.extending'] = None\n", {}),
    # numba installed but refusing to import, with a plain ImportError as its own __init__ raises it (its
    # NumPy too new): not 'numba is not installed'
    "numba_import": (
        """
        import sys

        class _Broken:
            def find_spec(self, name, path=None, target=None):
                if name == "numba":
                    raise ImportError("Numba needs NumPy 2.5 or less. Got NumPy 2.6.")

        sys.meta_path.insert(0, _Broken())
        """,
        {},
    ),
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
        import warnings
        import numpy as np
        import lstmkit
        from lstmkit import backends, kernels

        x = np.random.default_rng(1).normal(size=(4, 2, 2))
        m = lstmkit.LSTM(2, 3, seed=0, dtype=np.float64)  # backend "auto"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y, _ = m(x)
            dx, _ = m.backward(np.ones_like(y))
            y2, _ = m(x)  # a second call: no second warning
        said = [str(w.message) for w in caught if issubclass(w.category, backends.CompiledKernelsWarning)]
        at = [w.filename for w in caught if issubclass(w.category, backends.CompiledKernelsWarning)]
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
                          "loads": backends._numba_kernels.cache_info().misses, "said": said, "at": at}))
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
    error = {"numba_config": "RuntimeError: ", "numba_import": "ImportError: Numba needs NumPy 2.5 or less",
             "numba_module": "ModuleNotFoundError: import of numba.extending halted",
             "kernels_numba": "RuntimeError: injected fault"}[fault]
    # the error as numba raised it, and the advice for an installed numba failing, not 'not installed'
    assert f", got {error}" in got["refused"] and "not installed" not in got["refused"], got["refused"]
    assert "--force-reinstall \"lstmkit[fast]\") or use backend='numpy'" in got["refused"], got["refused"]
    # "auto" said it runs the reference, once, naming why (numba is installed: a silent slow run otherwise),
    # at the user's line (the -c script), not inside lstmkit
    assert len(got["said"]) == 1 and "runs the NumPy reference" in got["said"][0] and error in got["said"][0], got["said"]
    assert got["at"] == ["<string>"], got["at"]
