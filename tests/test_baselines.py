"""Forecast baselines and error measures, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import baselines as bl


def test_baselines_by_hand():
    h = np.array([1.0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(bl.naive_forecast(h, 3), [7, 7, 7])
    # period 3, last cycle is [5, 6, 7]: leads 1..4 -> 5, 6, 7, 5
    np.testing.assert_array_equal(bl.seasonal_naive_forecast(h, 4, 3), [5, 6, 7, 5])
    y, f = np.array([1.0, 2, 3]), np.array([2.0, 2, 5])
    assert bl.mae(y, f) == pytest.approx(1.0)  # (1 + 0 + 2) / 3
    assert bl.rmse(y, f) == pytest.approx(np.sqrt(5 / 3))  # (1 + 0 + 4) / 3
    # in-sample naive scale of [1, 3, 2, 6]: (2 + 1 + 4) / 3
    assert bl.mase_scale(np.array([1.0, 3, 2, 6]), 1) == pytest.approx(7 / 3)
    assert bl.mase(y, f, 7 / 3) == pytest.approx(3 / 7)


def test_lag_profile_exposes_a_forecast_that_repeats_the_last_value():
    y = np.cumsum(np.random.default_rng(0).normal(size=60))
    idx = np.arange(10, 60)
    lag = bl.lag_profile(y[idx - 1], y, idx)  # the naive forecast
    assert lag[1] == pytest.approx(1.0) and lag[0] < lag[1]


def test_mase_scale_is_per_series_never_pooled_across_units():
    # sales [10, 30, 20] and °C [1.0, 1.5, 1.0]: naive steps |20|, |10| and |0.5|, |0.5|; one scale each
    train = np.array([[10.0, 1.0], [30.0, 1.5], [20.0, 1.0]])
    np.testing.assert_allclose(bl.mase_scale(train, 1), [15.0, 0.5])  # pooled it was (20 + 10 + 0.5 + 0.5) / 4 = 7.75
    assert bl.mase_scale(train[:, 0], 1) == 15.0 and isinstance(bl.mase_scale(train[:, 0], 1), float)
