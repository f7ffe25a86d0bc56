"""Shared test configuration: hypothesis profiles (CI is derandomised and has no deadline), and
the fixture of NumPy's BLAS thread count (test_threads, test_memory)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
