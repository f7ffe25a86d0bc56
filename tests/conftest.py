"""Shared test configuration: hypothesis profiles, and the fixture of NumPy's BLAS thread count
(test_threads, test_memory).

Hypothesis profiles (HYPOTHESIS_PROFILE=<name> picks one; otherwise "ci" where CI is set, else "dev"):
- "dev" and "ci" (the default): derandomised, so every run draws the same examples (the suite is
  deterministic, as the library is given a seed); no deadline; a failure prints its reproduce blob.
- "explore": opt-in random search, new examples on every run, e.g.
  ``HYPOTHESIS_PROFILE=explore pytest tests/test_modelfile.py``; a failure it finds prints the
  ``@reproduce_failure`` blob to pin it with.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("dev", derandomize=True, **_COMMON)
settings.register_profile("explore", derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def two_blas_threads():
    """NumPy's BLAS on 2 threads for the test (set back after), so that one thread inside is told apart;
    returns the count's getter."""
    from lstmkit import threads

    if threads._BLAS is None:  # pragma: no cover - another BLAS
        pytest.skip("NumPy's BLAS threads cannot be set here")
    get, set_ = threads._BLAS
    before = get()
    set_(2)
    yield get
    set_(before)
