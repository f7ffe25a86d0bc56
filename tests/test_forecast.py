"""LSTMForecaster, the baselines and the shipped airline series.

Expected numbers are worked by hand in the comments or come from the Box & Jenkins table.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest

from lstmkit.datasets import airline_passengers
from lstmkit.estimators import NotFittedError
from lstmkit.forecast import ForecastWarning, LSTMForecaster
from lstmkit.io import FileFormatError

FAST = dict(hidden_size=8, epochs=30, batch_size=16, learning_rate=0.02, seed=0)


def test_airline_series_matches_the_published_table():
    months, y = airline_passengers(with_months=True)
    # Box & Jenkins Series G: 144 months, total 40363, Jan 1949 = 112, Dec 1960 = 432,
    # minimum 104 (Nov 1949), maximum 622 (Jul 1960), 1949 total 1520
    assert y.shape == (144,) and y.sum() == 40363
    assert (y[0], y[-1], y.min(), y.max(), y[:12].sum()) == (112, 432, 104, 622, 1520)
    assert months[0] == "1949-01" and months[-1] == "1960-12"
    assert months[int(np.argmin(y))] == "1949-11" and months[int(np.argmax(y))] == "1960-07"


def test_backtest_beats_naive_on_a_seasonal_series_and_scores_baselines_on_the_same_pairs():
    t = np.arange(120)
    y = 10 + np.sin(2 * np.pi * t / 12) * 3 + 0.05 * t
    fc = LSTMForecaster(window=12, horizon=3, seasonal_period=12, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ForecastWarning)  # a model better than naive and seasonal naive: no warning of them
        # seasonal naive × growth is near exact on a season plus a line (its own test: test_backtest_scores_the_trend_aware...)
        warnings.filterwarnings("ignore", "the LSTM .* no better than the seasonal-growth forecast", ForecastWarning)
        r = fc.backtest(y, test_size=24)
    assert r.forecasts["lstm"].shape == (24, 3, 1) and r.actual.shape == (24, 3, 1)
    assert np.isnan(r.actual[-1, 1:]).all()  # leads past the end are left out
    assert r.metrics["lstm"]["MAE"] < r.metrics["naive"]["MAE"] and r.skill_vs_naive > 0
    # the naive row recomputed independently from the series
    ok = ~np.isnan(r.actual[:, :, 0])
    naive = np.repeat(y[r.origins - 1][:, None], 3, axis=1)
    assert r.metrics["naive"]["MAE"] == pytest.approx(np.abs(r.actual[:, :, 0] - naive)[ok].mean())
    assert "seasonal_naive" in r.table() and "<- best" in r.table()


@pytest.mark.filterwarnings("ignore:the forecast correlates more with the previous value")  # the second flag, also expected
@pytest.mark.filterwarnings("ignore:the LSTM .* no better than the drift forecast")  # naive's twin on a random walk, also expected
def test_a_model_no_better_than_naive_is_flagged():
    y = np.cumsum(np.random.default_rng(1).normal(size=100)) + 50  # a random walk: naive is optimal
    fc = LSTMForecaster(window=8, **dict(FAST, epochs=3))
    with pytest.warns(ForecastWarning, match="no better than the naive"):
        r = fc.backtest(y, test_size=20)
    assert any("naive" in n for n in r.notes) and r.skill_vs_naive <= 0


@pytest.mark.filterwarnings("ignore:the LSTM .* is no better than", "ignore:the forecast correlates more")
def test_mase_of_a_series_the_in_sample_naive_forecast_gets_exactly_is_finite_and_says_why():
    eps = 2.220446049250313e-16  # 2^-52, float64's machine epsilon: sktime's EPS
    fc = LSTMForecaster(window=4, **dict(FAST, hidden_size=4, epochs=2))
    # constant: the naive in-sample error is 0 (MASE was inf for every method, even the exact naive forecast)
    with pytest.warns(ForecastWarning, match=r"MASE's scale, .* is 0: the series is constant, or repeats every m steps\. MASE divides by "
                                             r"machine epsilon \(2\.22e-16\) instead, as sktime does"):  # fmt: skip
        r = fc.backtest(np.full(40, 5.0), test_size=8)
    assert r.metrics["naive"]["MASE"] == 0.0  # the naive forecast is exact: 0 / eps
    assert r.metrics["lstm"]["MASE"] == r.metrics["lstm"]["MAE"] / eps > 1e10
    assert "note: MASE's scale" in r.table() and f"{r.metrics['lstm']['MASE']:.1e}" in r.table()
    # a series that repeats every m = 4 steps: the seasonal-naive in-sample error is 0
    fc.set_params(seasonal_period=4)
    with pytest.warns(ForecastWarning, match="MASE's scale"):
        r = fc.backtest(np.tile([1.0, 3.0, 2.0, 5.0], 12), test_size=8)
    assert r.metrics["seasonal_naive"]["MASE"] == 0.0 and r.metrics["naive"]["MASE"] == r.metrics["naive"]["MAE"] / eps
    # a constant difference (a straight line) is no such case: the naive error is the slope, 0.5, in and out of sample
    fc.set_params(seasonal_period=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fc.backtest(0.5 * np.arange(40.0), test_size=8)
    assert r.metrics["naive"]["MASE"] == 1.0 and not [w for w in caught if "MASE" in str(w.message)]


def test_the_lag_note_needs_the_forecast_nearer_the_previous_value():
    from lstmkit.forecast import _diagnose

    metrics = {"lstm": {"MAE": 0.4}, "naive": {"MAE": 0.6}}
    smooth = {0: 0.979, 1: 0.982}  # a good forecast of a smooth series: both correlations high
    # it lies nearer the value it predicts (0.4) than the one before (0.6): not a lag
    assert _diagnose(metrics, smooth, (0.6, 0.4)) == []
    # it lies nearer the value before: a lag, said with three decimals so the two correlations differ
    (note,) = _diagnose(metrics, smooth, (0.1, 0.4))
    assert "(corr +0.982) than with the value it predicts (corr +0.979)" in note and "0.1 against 0.4" in note
    assert _diagnose(metrics, {0: 0.99, 1: 0.9}, (0.1, 0.4)) == []  # correlates more with its target


def test_scaling_is_fitted_on_the_training_part_only():
    y = np.concatenate([np.ones(40) + np.arange(40) % 2, 1000 + np.arange(10.0)])
    fc = LSTMForecaster(window=4, **dict(FAST, epochs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        fc.backtest(y, test_size=10)
    assert fc.mean_[0] == pytest.approx(1.5) and fc.scale_[0] == pytest.approx(0.5)  # only the first 40 values


def test_log_difference_pipeline_inverts_exactly():
    fc = LSTMForecaster()
    y = np.array([[100.0], [110.0], [121.0], [133.1]])
    z = fc._to_model_space(y, log=True, difference=1)  # log growth ln(1.1) each step
    np.testing.assert_allclose(z, np.log(1.1))
    np.testing.assert_allclose(fc._from_model_space(z, np.array([100.0]), log=True, difference=1), y[1:])


def test_the_scaling_is_numpys_mean_and_std_bit_for_bit_on_ordinary_series():
    from lstmkit.estimators import mean_and_scale

    rng = np.random.default_rng(3)
    Z = np.column_stack([airline_passengers(), rng.normal(size=144) * 1e-3, rng.normal(5e4, 7.0, size=144), np.zeros(144)])
    mean, scale = mean_and_scale(Z)
    assert (mean == Z.mean(axis=0)).all()
    assert (scale[:3] == Z[:, :3].std(axis=0)).all() and scale[3] == 1.0  # a constant series: 1, nothing to divide by


@pytest.mark.parametrize("k", [600, -1000])  # 2^600 ≈ 4e180 (NumPy's std overflows: inf), 2^-1000 ≈ 1e-301 (it underflows: 0)
def test_a_series_near_the_ends_of_float64_forecasts_as_the_same_series_near_1(k):
    t = np.arange(60)
    y = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.05 * t
    settings = dict(window=6, horizon=2, **dict(FAST, hidden_size=4, epochs=2))
    plain = LSTMForecaster(**settings).fit(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / underflow RuntimeWarning either
        fc = LSTMForecaster(**settings).fit(y * 2.0**k)
        f = fc.predict(5)
    # a power of two scales exactly: the same standardized values, the same network, the same forecast times 2^k
    assert (fc.mean_ == plain.mean_ * 2.0**k).all() and (fc.scale_ == plain.scale_ * 2.0**k).all()
    assert (f == plain.predict(5) * 2.0**k).all()
    # a power of ten: the standardized values differ in their last bits only
    np.testing.assert_allclose(LSTMForecaster(**settings).fit(y * 10.0 ** (k * 0.3)).predict(5), plain.predict(5) * 10.0 ** (k * 0.3), rtol=1e-12)


def test_a_series_beyond_a_quarter_of_float64_s_largest_is_refused_with_what_to_do():
    y = np.column_stack([np.ones(30), np.r_[np.ones(4), 1e308, np.ones(25)]])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.fit: expected y values within ±4.49e\+307 \(a quarter of float64's largest: the "
                                         r"differences and the centring overflow beyond it\), got 1e\+308 at index \(4, 1\)\. Divide the "
                                         r"series by a power of ten and multiply the forecasts back, or use log=True\.$"):  # fmt: skip
        LSTMForecaster(window=3, epochs=0).fit(y)
    f = LSTMForecaster(window=3, log=True, **dict(FAST, hidden_size=4, epochs=1)).fit(y).predict(2)  # log 1e308 = 709: fine
    assert np.isfinite(f).all()


@pytest.mark.parametrize("y, expected", [
    ([], r"y at least one value, got an empty array of shape \(0,\)"),
    (np.zeros((0, 2)), r"y at least one value, got an empty array of shape \(0, 2\)"),
    (np.zeros((30, 0)), r"y at least one series \(column\), got an empty array of shape \(30, 0\)"),
])  # fmt: skip
def test_an_empty_series_is_refused_by_every_method(y, expected):
    with pytest.raises(ValueError, match=rf"^LSTMForecaster.fit: expected {expected}\.$"):
        LSTMForecaster(window=3).fit(y)
    with pytest.raises(ValueError, match=rf"^LSTMForecaster.backtest: expected {expected}\.$"):
        LSTMForecaster(window=3).backtest(y, test_size=1)
    fc = LSTMForecaster(window=3, epochs=0).fit(np.arange(9.0))
    with pytest.raises(ValueError, match=rf"^LSTMForecaster.predict: expected {expected}\.$"):
        fc.predict(1, y)
    with pytest.raises(ValueError, match=rf"^LSTMForecaster.score: expected {expected}\.$"):  # was: a warning and nan
        fc.score(y)


def test_predict_shapes_several_series_and_recursive_steps():
    t = np.arange(80.0)
    Y = np.stack([np.sin(t / 3), np.cos(t / 5)], axis=1)
    fc = LSTMForecaster(window=6, horizon=2, **dict(FAST, epochs=2)).fit(Y)
    assert fc.predict().shape == (2, 2)
    assert fc.predict(5).shape == (5, 2)  # 3 direct blocks of 2, recursive
    f1 = LSTMForecaster(window=6, **dict(FAST, epochs=2)).fit(Y[:, 0])
    assert f1.predict(3).shape == (3,)


def test_save_load_round_trip_and_wrong_kind(tmp_path):
    y = np.sin(np.arange(60) / 4) + 2
    fc = LSTMForecaster(window=6, horizon=2, log=True, difference=1, **dict(FAST, epochs=2)).fit(y)
    fc.save(tmp_path / "f.npz")
    back = LSTMForecaster.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(back.predict(4), fc.predict(4))
    assert back.get_params() == fc.get_params()
    from lstmkit import LSTMRegressor, load

    assert isinstance(load(tmp_path / "f.npz"), LSTMForecaster)
    X = np.random.default_rng(0).normal(size=(10, 4, 1))
    LSTMRegressor(epochs=1, seed=0).fit(X, X[:, -1, 0]).save(tmp_path / "r.npz")
    with pytest.raises(FileFormatError, match="expected a model of kind LSTMForecaster, got LSTMRegressor"):
        LSTMForecaster.load(tmp_path / "r.npz")


def test_set_params_after_fit_is_for_the_next_fit(tmp_path):
    """scikit-learn's rule: set_params takes effect at the next fit. predict, score and save read the pipeline of the
    fit (window_, horizon_, log_, difference_, fitted_params_), not the parameters set since: window=6 gave the LSTM
    windows it never trained on, log=False and difference=0 read its outputs in another space (forecasts of 1
    passenger), horizon=1 a bare NumPy reshape error, and each was saved so. The oracle: a forecaster fitted afresh
    with the first fit's parameters (seeded: the same model), and, for the next fit, one made with the new ones."""
    y = airline_passengers()[:60].astype(np.float64)
    params = dict(window=12, horizon=3, log=True, difference=1, **dict(FAST, hidden_size=4, epochs=3))
    fresh = LSTMForecaster(**params).fit(y)
    for change in ({"window": 6}, {"log": False}, {"difference": 0}, {"horizon": 1}, {"hidden_size": 8, "epochs": 99}):
        fc = LSTMForecaster(**params).fit(y).set_params(**change)
        np.testing.assert_array_equal(fc.predict(), fresh.predict())  # the horizon at fit: 3 values
        np.testing.assert_array_equal(fc.predict(5), fresh.predict(5))
        np.testing.assert_array_equal(fc.predict(2, y[:30]), fresh.predict(2, y[:30]))
        assert fc.score(y[30:40], history=y[:30]) == fresh.score(y[30:40], history=y[:30])
        with pytest.raises(ValueError, match=r"expected y at least window\+difference = 13 values of history, got 7"):
            fc.predict(1, y[:7])  # the fitted window's
        fc.save(tmp_path / "f.npz")
        back = LSTMForecaster.load(tmp_path / "f.npz")
        assert back.get_params() == LSTMForecaster(**params).get_params(), change
        np.testing.assert_array_equal(back.predict(5), fresh.predict(5))
    fc = fresh.set_params(window=6, log=False).fit(y)  # the next fit takes them
    assert (fc.window_, fc.log_) == (6, False)
    np.testing.assert_array_equal(fc.predict(5), LSTMForecaster(**dict(params, window=6, log=False)).fit(y).predict(5))


def test_sklearn_conventions_and_errors():
    from sklearn.base import clone

    fc = LSTMForecaster(window=5, horizon=2)
    assert clone(fc).get_params() == fc.get_params()
    with pytest.raises(NotFittedError, match="Call fit"):
        fc.predict()
    # a missing value: what to do, as the command line says it of a CSV's blank (it was "Fill or drop missing values first.")
    with pytest.raises(ValueError, match=r"^LSTMForecaster.fit: expected y finite values, got nan at index \(1,\)\. Fill missing values first "
                                         r"\(interpolate them, say\), or keep only the rows after the last gap: the forecaster reads "
                                         r"the rows as evenly spaced steps\.$"):  # fmt: skip
        fc.fit(np.array([1.0, np.nan] + [1.0] * 20))
    with pytest.raises(ValueError, match=r"^LSTMForecaster.fit: expected y finite values, got -inf at index \(7, 1\)\. Replace the infinite values\.$"):
        fc.fit(np.column_stack([np.ones(22), np.r_[np.ones(7), -np.inf, np.ones(14)]]))
    with pytest.raises(ValueError, match=r"^LSTMForecaster.predict: expected y finite values, got inf at index \(3,\)\. Replace"):
        LSTMForecaster(window=3, epochs=0).fit(np.arange(9.0)).predict(1, np.r_[1.0, 2, 3, np.inf, 5])
    with pytest.raises(ValueError, match="expected y at least"):
        fc.fit(np.arange(5.0))
    with pytest.raises(ValueError, match="expected y values > 0 with log=True"):
        LSTMForecaster(window=3, log=True).fit(np.arange(20.0))
    with pytest.raises(ValueError, match="expected parameter one of"):
        fc.set_params(windw=3)
    with pytest.raises(TypeError, match=r"^LSTMForecaster.fit: expected y a real numeric array \(N,\) or \(N, n_series\), got None\.$"):
        fc.fit(None)  # it said 'got dtype object'


def test_same_seed_same_forecast_and_a_csv_column(tmp_path):
    from lstmkit.forecast import read_series

    months, y = airline_passengers(with_months=True)
    (tmp_path / "a.csv").write_text("month,passengers\n" + "".join(f"{m},{v:.0f}\n" for m, v in zip(months, y)))
    s = read_series(tmp_path / "a.csv", "passengers")
    np.testing.assert_array_equal(s, y)
    assert read_series(tmp_path / "a.csv", ["passengers"]).shape == (144, 1)
    a = LSTMForecaster(window=12, log=True, difference=1, **dict(FAST, epochs=2)).fit(s[:60]).predict(3)
    b = LSTMForecaster(window=12, log=True, difference=1, **dict(FAST, epochs=2)).fit(s[:60]).predict(3)
    np.testing.assert_array_equal(a, b)


def test_mae_by_lead_by_hand():
    from lstmkit.forecast import BacktestResult

    actual = np.array([[[1.0], [2.0]], [[3.0], [np.nan]]])  # 2 origins, 2 leads; the last lead unscored
    f = np.array([[[2.0], [2.0]], [[1.0], [9.0]]])
    r = BacktestResult(np.array([5, 6]), actual, {"lstm": f}, {"lstm": {"MAE": 1, "RMSE": 1, "MASE": 1}}, {}, 0.0)
    np.testing.assert_allclose(r.mae_by_lead()["lstm"], [(1 + 2) / 2, 0.0])  # lead 2: only |2 - 2|
    # a lead no origin scores (a test part shorter than the horizon) is n/a, not a perfect 0.0
    actual[:, 1] = np.nan
    np.testing.assert_allclose(r.mae_by_lead()["lstm"], [1.5, np.nan])
    r.lag_corr = {1: 0.5}
    lines = r.table().splitlines()
    assert lines[4].split() == ["lstm", "1.5", "n/a"] and "scored at no origin" in lines[5]


@pytest.mark.parametrize(
    "params,message",
    [
        (dict(hidden_size=0), "LSTMForecaster: expected hidden_size >= 1, got 0."),
        (dict(num_layers=0), "LSTMForecaster: expected num_layers >= 1, got 0."),
        (dict(learning_rate=-1), "LSTMForecaster: expected learning_rate a finite number > 0, got -1."),
        (dict(optimizer="adagrad"), "LSTMForecaster: expected optimizer one of ['sgd', 'adam', 'adamw', 'rmsprop'], got 'adagrad'."),
        (dict(clip=0), "LSTMForecaster: expected clip None or a finite number > 0, got 0."),
        (dict(clip=float("inf")), "LSTMForecaster: expected clip None or a finite number > 0, got inf."),  # fitted, then save failed
        (dict(batch_size=0), "LSTMForecaster: expected batch_size >= 1, got 0."),
    ],
)
def test_bad_hyper_parameters_name_the_forecaster_not_its_regressor(params, message):
    with pytest.raises(ValueError) as info:
        LSTMForecaster(window=3, epochs=1, **params).fit(np.arange(1.0, 30.0))
    assert str(info.value) == message


def test_the_regressors_training_record_survives_save_and_load(tmp_path):
    fc = LSTMForecaster(window=4, **dict(FAST, epochs=2)).fit(np.sin(np.arange(40) / 3))
    fc.save(tmp_path / "f.npz")
    back = LSTMForecaster.load(tmp_path / "f.npz")
    assert back.regressor_.n_epochs_ == 2 and len(back.training_history_) == 2
    assert back.regressor_.best_epoch_ == 1 + int(np.argmin(back.training_history_["loss"]))
    assert back.training_history_.epochs == [{k: v for k, v in e.items() if k != "time"} for e in fc.training_history_.epochs]  # the file has no times


def test_numpy_integers_as_parameters_save_and_load(tmp_path):
    # a grid's np.arange values: saved as JSON numbers (np.int64 is not JSON serialisable)
    fc = LSTMForecaster(window=np.int64(4), **dict(FAST, epochs=1, hidden_size=np.int64(3))).fit(np.sin(np.arange(30) / 3))
    fc.save(tmp_path / "f.npz")
    back = LSTMForecaster.load(tmp_path / "f.npz")
    assert back.window == 4 and type(back.window) is int and back.hidden_size == 3
    np.testing.assert_array_equal(back.predict(3), fc.predict(3))


def test_a_generator_seed_is_saved_as_none(tmp_path):
    # the seed check takes a numpy.random.Generator; save wrote it into the file's JSON and failed
    # ('Object of type Generator is not JSON serializable'): its draws cannot be stored
    fc = LSTMForecaster(window=4, **dict(FAST, epochs=1, seed=np.random.default_rng(0))).fit(np.sin(np.arange(30) / 3))
    fc.save(tmp_path / "f.npz")
    back = LSTMForecaster.load(tmp_path / "f.npz")
    assert back.seed is None
    np.testing.assert_array_equal(back.predict(3), fc.predict(3))


def test_predict_after_a_backtest_goes_on_from_the_end_of_the_series():
    # the model is the one fitted on y[:-8]; its forecast starts after y[-1], as a fresh fit on
    # y[:-8] asked to go on from the whole y (it used to start after y[-9], silently)
    y = np.sin(np.arange(60.0) / 3) + np.arange(60.0) / 30
    fc = LSTMForecaster(window=6, **dict(FAST, epochs=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc.backtest(y, 8)
    twin = LSTMForecaster(window=6, **dict(FAST, epochs=2)).fit(y[:-8])
    np.testing.assert_array_equal(fc.predict(3), twin.predict(3, y))
    assert not np.array_equal(fc.predict(3), twin.predict(3))


def test_a_series_too_short_for_the_seasonal_period_says_so():
    # 144 values, seasonal_period 500: the seasonal baseline needs 501 values to fit on, 1 more to test; no
    # test_size can do (the message was "test_size at most N - 501 = -357")
    fc = LSTMForecaster(window=4, seasonal_period=500, **dict(FAST, epochs=0))
    with pytest.raises(ValueError, match=r"^LSTMForecaster.backtest: expected y at least 502 values for a backtest "
                                         r"\(seasonal_period \+ 1 = 501 to fit on, and 1 to test\), got 144 values. "
                                         r"Use a longer series, or a smaller seasonal_period.$"):  # fmt: skip
        fc.backtest(np.arange(144.0), test_size=12)
    with pytest.raises(ValueError, match=r"expected y at least 10 values for a backtest \(window \+ horizon \+ difference = 9"):
        LSTMForecaster(window=6, horizon=2, difference=1, **dict(FAST, epochs=0)).backtest(np.arange(9.0), test_size=1)


def _two_series(n=60):
    """Daily sales (hundreds) and temperature (°C): two series in units that must not be pooled."""
    t = np.arange(n)
    sales = 100 + 10 * np.sin(2 * np.pi * t / 7) + 0.5 * t
    temperature = 15 + np.sin(t / 5)
    return np.stack([sales, temperature], axis=1)


def test_several_series_are_scored_each_on_its_own():
    # the table averaged sales and °C: naive MAE (9.28 sales + 1.35 °C) / 2 = 5.3, a figure of no unit
    Y = _two_series()
    fc = LSTMForecaster(window=7, horizon=2, seasonal_period=7, **dict(FAST, epochs=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        r = fc.backtest(Y, test_size=10, names=["sales", "temperature"])
    # the naive rows recomputed series by series: |y_(o+l-1) - y_(o-1)| over the pairs inside the series
    pairs = [(o, o + l) for o in r.origins for l in range(2) if o + l < len(Y)]
    naive = [np.mean([abs(Y[t, j] - Y[o - 1, j]) for o, t in pairs]) for j in range(2)]
    in_sample = [np.mean(np.abs(Y[7:50, j] - Y[:43, j])) for j in range(2)]  # seasonal-naive MAE on the 50 fitted
    np.testing.assert_allclose(r.metrics["naive"]["MAE"], naive)
    np.testing.assert_allclose(r.metrics["naive"]["MASE"], np.divide(naive, in_sample))
    assert r.metrics["lstm"]["RMSE"].shape == (2,) and r.skill_vs_naive.shape == (2,) and r.lag_corr[0].shape == (2,)
    assert r.mae_by_lead()["naive"].shape == (2, 2)  # (lead, series)
    # one series' result, with floats, by name or position; the same numbers as the arrays
    temp = r.series("temperature")
    assert temp.metrics["naive"]["MAE"] == pytest.approx(naive[1]) and temp.names == ("temperature",)
    assert r.series(1) is temp and temp.actual.shape == (10, 2, 1)
    with pytest.raises(KeyError, match=r"expected key a position 0..1 or a name among \['sales', 'temperature'\], got 'rain'"):
        r.series("rain")
    # a table per series, under its name, each as a single series' table
    sales_table, temp_table = r.table().split("\n\n")
    assert sales_table == "sales:\n" + r.series(0).table() and temp_table == "temperature:\n" + temp.table()
    assert all(n.startswith(("sales: ", "temperature: ")) for n in r.notes)
    with pytest.raises(ValueError, match=r"expected names 2 non-empty strings \(one per series\), got \['sales'\]"):
        fc.backtest(Y, test_size=10, names=["sales"])


def test_one_series_scores_as_before():
    # one series: floats, no name in the table, series(0) is the result itself
    y = _two_series()[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        r = LSTMForecaster(window=7, **dict(FAST, epochs=1)).backtest(y, test_size=5)
    assert isinstance(r.metrics["lstm"]["MAE"], float) and isinstance(r.skill_vs_naive, float)
    assert r.series(0) is r and r.table().startswith("method ") and r.mae_by_lead()["naive"].shape == (1,)
    assert r.metrics["naive"]["MAE"] == pytest.approx(np.mean(np.abs(y[-5:] - y[-6:-1])))


def test_the_command_line_takes_the_forecaster_s_defaults_and_shows_them(capsys):
    # `forecast --epochs` was 100 and LSTMForecaster's 200: the README's Python airline example scored MAE
    # 18.13, the command line with "the same settings" 16.20
    from lstmkit.cli import build_parser, main

    args = build_parser().parse_args(["forecast", "s.csv"])
    defaults = LSTMForecaster().get_params()
    option = {"window": "window", "horizon": "horizon", "season": "seasonal_period", "log": "log", "difference": "difference",
              "hidden_size": "hidden_size", "num_layers": "num_layers", "dropout": "dropout", "forget_bias": "forget_bias",
              "epochs": "epochs", "batch_size": "batch_size", "lr": "learning_rate", "patience": "patience",
              "validation_split": "validation_split", "seed": "seed"}  # fmt: skip
    assert {dest: getattr(args, dest) for dest in option} == {dest: defaults[p] for dest, p in option.items()}
    with pytest.raises(SystemExit):
        main(["forecast", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for flag, param in (("--epochs", "epochs"), ("--hidden-size", "hidden_size"), ("--window", "window"), ("--lr", "learning_rate"),
                        ("--batch-size", "batch_size"), ("--num-layers", "num_layers"), ("--seed", "seed")):  # fmt: skip
        assert re.search(rf"{flag} \S+ [^-]*\(default {defaults[param]}\)", shown), flag
    # what train's --help says of them: --patience watched only --validation-split; the clipping at 5.0 was not said
    assert ("--patience PATIENCE early stopping: stop after this many epochs without improvement and keep the best epoch's "
            "weights; it watches val_loss with --validation-split, else the training loss (default: off)") in shown
    assert defaults["clip"] == 5.0 and "the gradients' global norm is clipped at 5.0 (LSTMForecaster's clip" in shown


def _dated_csv(path, dates, Y, header="date,sales,temperature"):
    path.write_text("\n".join([header, *(f"{d}," + ",".join(f"{v:.3f}" for v in row) for d, row in zip(dates, Y))]) + "\n")


def test_several_series_on_the_command_line_are_named_everywhere(tmp_path, capsys):
    # the table, the terminal and the CSV named only 'series0', 'series1' or nothing, and the terminal
    # printed the first series alone
    import datetime

    from lstmkit.cli import main

    Y = _two_series()
    dates = [(datetime.date(2024, 1, 1) + datetime.timedelta(k)).isoformat() for k in range(len(Y))]  # to 2024-02-29
    _dated_csv(tmp_path / "s.csv", dates, Y)
    argv = ["forecast", str(tmp_path / "s.csv"), "--column", "sales,temperature", "--horizon", "3", "--backtest", "8",
            "--epochs", "1", "--hidden-size", "2", "--out", str(tmp_path / "f.csv")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\nsales:\nmethod " in out and "\n\ntemperature:\nmethod " in out
    assert "forecast of the next 3 values (direct), 2024-03-01 to 2024-03-03:\nsales  " in out
    table = (tmp_path / "f.csv").read_text().splitlines()
    assert table[0] == "date,sales,temperature" and [r.split(",")[0] for r in table[1:]] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    rows = np.array([[float(v) for v in r.split(",")[1:]] for r in table[1:]])
    lines = out.split("2024-03-03:\n")[1].splitlines()
    assert lines[1].startswith("temperature  ") and [float(v) for v in lines[1].split()[1:]] == pytest.approx(rows[:, 1], abs=0.006)
    # a column given by its index is named by its header; a .npy names none: series0
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "1", "--epochs", "0", "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().splitlines()[0] == "date,sales"
    np.save(tmp_path / "s.npy", Y)
    assert main(["forecast", str(tmp_path / "s.npy"), "--epochs", "0", "--out", str(tmp_path / "n.csv")]) == 0
    assert (tmp_path / "n.csv").read_text().splitlines()[:2][0] == "step,series0,series1"
    assert (tmp_path / "n.csv").read_text().splitlines()[1].startswith("1,")


@pytest.mark.parametrize(
    "cells, ahead",
    [
        (["2000-11", "2000-12"], ["2001-01", "2001-02"]),  # months
        (["1999-10", "2000-01"], ["2000-04", "2000-07"]),  # quarters
        (["2000-01-15", "2000-02-15"], ["2000-03-15", "2000-04-15"]),  # the same day of each month
        (["2000-11-30", "2000-12-31"], ["2001-01-31", "2001-02-28"]),  # month ends
        (["2024-02-27", "2024-02-28"], ["2024-02-29", "2024-03-01"]),  # days, over a leap day
        (["2024-01-01", "2024-01-08"], ["2024-01-15", "2024-01-22"]),  # weeks
        (["1998", "1999"], ["2000", "2001"]),  # years as numbers
        (["0.5", "1.0"], ["1.5", "2"]),  # numbers
        # dates with a time of day, all at one: stepped in months or days as a pandas index is (they
        # were stepped in seconds: 31 days ahead of 2020-02-01 is 2020-03-03)
        (["2020-01-01 00:00:00", "2020-02-01 00:00:00"], ["2020-03-01 00:00:00", "2020-04-01 00:00:00"]),
        (["2000-11-30T09:00", "2000-12-31T09:00"], ["2001-01-31T09:00", "2001-02-28T09:00"]),
        (["2024-03-22 17:30", "2024-03-25 17:30"], ["2024-03-26 17:30", "2024-03-27 17:30"]),  # Friday, Monday: business days
    ],
)
def test_times_ahead_go_on_at_the_usual_step_written_as_the_column_writes_them(tmp_path, cells, ahead):
    from lstmkit.commands.forecast import check_time_column
    from lstmkit.tables import read_csv

    (tmp_path / "s.csv").write_text("date,y\n" + "".join(f"{c},{k}\n" for k, c in enumerate(cells)))
    time = check_time_column(tmp_path / "s.csv", *read_csv(tmp_path / "s.csv"), ["y"])
    assert time.name == "date" and time.cells == tuple(cells)
    assert time.text(time.ahead(2)) == ahead


def test_a_monthly_column_of_dates_and_times_is_stepped_in_months_as_a_pandas_index_is(tmp_path, capsys):
    # pandas' to_csv of a monthly DatetimeIndex writes 'YYYY-MM-DD 00:00:00': the library reads such an
    # index as even months; the command warned "15 of 35 steps differ from the usual 31 days" and
    # forecast 31-day steps ahead, to 2023-03-04
    from lstmkit.cli import main

    stamps = [f"{2020 + k // 12}-{k % 12 + 1:02d}-01 00:00:00" for k in range(36)]
    (tmp_path / "m.csv").write_text("time,v\n" + "".join(f"{s},{k % 7 + 1}\n" for k, s in enumerate(stamps)))
    argv = ["forecast", str(tmp_path / "m.csv"), "--column", "v", "--epochs", "0", "--window", "3", "--hidden-size", "2",
            "--horizon", "3", "--out", str(tmp_path / "f.csv")]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and "2023-01-01 00:00:00 to 2023-03-01 00:00:00" in out
    ahead = [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()[1:]]
    assert ahead == ["2023-01-01 00:00:00", "2023-02-01 00:00:00", "2023-03-01 00:00:00"]


def test_dates_reach_the_plot_and_the_series_name_its_axis(tmp_path, monkeypatch):
    import lstmkit.io
    from lstmkit.cli import main

    figures = []
    monkeypatch.setattr(lstmkit.io, "save_figure", lambda fig, path: figures.append(fig))
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(40)]
    _dated_csv(tmp_path / "m.csv", months, _two_series(40)[:, :1], header="month,sales")
    argv = ["forecast", str(tmp_path / "m.csv"), "--column", "sales", "--horizon", "2", "--backtest", "4", "--epochs", "0",
            "--hidden-size", "2", "--plot", str(tmp_path / "p.png")]  # fmt: skip
    assert main(argv) == 0
    (ax,) = figures[0].axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("month", "sales")  # they were 'time index' and 'value'
    import matplotlib.dates as mdates

    # the months as dates (each month's first day), drawn on a date axis: 40 months from 2000-01 end
    # at 2003-04, and the two ahead are 2003-05 and 2003-06
    lines = {line.get_label(): line.get_xdata() for line in ax.get_lines()}
    assert lines["series"][0] == np.datetime64("2000-01-01") and lines["series"][-1] == np.datetime64("2003-04-01")
    assert list(lines["forecast ahead"]) == [np.datetime64("2003-05-01"), np.datetime64("2003-06-01")]
    assert isinstance(ax.xaxis.get_major_formatter(), (mdates.AutoDateFormatter, mdates.ConciseDateFormatter))
    # several series: a panel each, named
    _dated_csv(tmp_path / "s.csv", months, _two_series(40))
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "sales,temperature", *argv[4:]]) == 0
    assert [a.get_ylabel() for a in figures[1].axes] == ["sales", "temperature"]


def test_the_time_column_is_found_named_or_refused(tmp_path, capsys):
    from lstmkit.cli import main

    days = [f"2024-01-{d:02d}" for d in range(1, 21)]
    rows = [f"{k % 3},{k},{d},{k * 2}" for k, d in enumerate(days)]
    (tmp_path / "s.csv").write_text("\n".join(["store,sales,day,idx", *rows]) + "\n")
    fast = ["--column", "sales", "--epochs", "0", "--window", "3", "--hidden-size", "2", "--out", str(tmp_path / "f.csv")]
    # dates in another column than the first are found; numbers there are not times
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 0
    first = lambda: [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()[:2]]  # noqa: E731
    assert first() == ["day", "2024-01-21"]
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "idx"]) == 0
    assert first() == ["idx", "40"]
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "none"]) == 0
    assert first() == ["step", "1"]
    capsys.readouterr()
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "store"]) == 1  # 0, 1, 2, 0: out of order
    assert "expected the rows in time order (column 'store' increasing), got '0' on line 5 after '2' on line 4" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "sales"]) == 2
    assert "expected --time-column another column than the series, got 'sales'" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "when"]) == 1
    assert "--time-column: expected a column among ['store', 'sales', 'day', 'idx']" in capsys.readouterr().err
    np.save(tmp_path / "s.npy", np.arange(20.0))
    assert main(["forecast", str(tmp_path / "s.npy"), "--epochs", "0", "--time-column", "day"]) == 2
    assert "expected --time-column with a .csv" in capsys.readouterr().err
    # times the forecaster cannot read: named, refused; found by their name, said
    stamps = [f"01/{h + 1:02d}/2024,{h}" for h in range(20)]
    (tmp_path / "h.csv").write_text("\n".join(["timestamp,load", *stamps]) + "\n")
    fast[1] = "load"
    assert main(["forecast", str(tmp_path / "h.csv"), *fast, "--time-column", "timestamp"]) == 1
    assert ("expected --time-column 'timestamp' to hold times (YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or "
            "a T and a UTC offset (Z, +01:00) or none, or numbers; one form throughout, on 2 rows or more), got '01/01/2024' on line 2.") in capsys.readouterr().err  # fmt: skip
    assert main(["forecast", str(tmp_path / "h.csv"), *fast]) == 0
    err = capsys.readouterr().err
    assert "column 'timestamp' is not read as times (YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or a T and a " \
           "UTC offset (Z, +01:00) or none, or numbers; one form throughout), got '01/01/2024' on line 2" in err  # fmt: skip


def test_a_time_column_with_a_time_of_day_is_read_as_times(tmp_path, capsys):
    # hourly data (pandas' to_csv writes 'YYYY-MM-DD HH:MM:SS') was not read as times: the forecast was numbered
    # 1, 2, ... with a warning. Now the times ahead go on at the usual step, written in the column's own form
    from lstmkit.cli import main

    fast = ["--column", "load", "--epochs", "0", "--window", "3", "--hidden-size", "2", "--horizon", "3", "--out", str(tmp_path / "f.csv")]
    stamps = [f"2024-01-01 {h:02d}:00:00,{h}" for h in range(22)]  # to 21:00
    (tmp_path / "h.csv").write_text("\n".join(["timestamp,load", *stamps]) + "\n")
    assert main(["forecast", str(tmp_path / "h.csv"), *fast]) == 0
    when = lambda: [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()]  # noqa: E731
    assert when() == ["timestamp", "2024-01-01 22:00:00", "2024-01-01 23:00:00", "2024-01-02 00:00:00"]
    out, err = capsys.readouterr()
    assert "2024-01-01 22:00:00 to 2024-01-02 00:00:00" in out and "warning" not in err  # read as times: nothing to warn of
    # the ISO 'T' form without seconds, every 15 minutes, one missing: warned in the step's words
    stamps = [f"2024-03-05T{(15 * q) // 60:02d}:{(15 * q) % 60:02d},{q}" for q in range(23) if q != 9]
    (tmp_path / "q.csv").write_text("\n".join(["time,load", *stamps]) + "\n")
    assert main(["forecast", str(tmp_path / "q.csv"), *fast]) == 0
    assert ("column 'time' is unevenly spaced: 1 of 21 steps differ from the usual 15 minutes, the first from "
            "'2024-03-05T02:00' to '2024-03-05T02:30' (line 11)") in capsys.readouterr().err  # fmt: skip
    assert when() == ["time", "2024-03-05T05:45", "2024-03-05T06:00", "2024-03-05T06:15"]
    # one form throughout: with and without seconds mixed is not a column of times
    (tmp_path / "m.csv").write_text("time,load\n2024-01-01 00:00,1\n2024-01-01 01:00:00,2\n2024-01-01 02:00,3\n2024-01-01 03:00,4\n"
                                    "2024-01-01 04:00,5\n2024-01-01 05:00,6\n2024-01-01 06:00,7\n")  # fmt: skip
    assert main(["forecast", str(tmp_path / "m.csv"), *fast, "--time-column", "time"]) == 1


def test_a_series_csv_is_read_once_for_its_series_names_and_times(tmp_path, monkeypatch):
    # the file was parsed three times (header, columns, times): once now, the three read from it
    import lstmkit.tables
    from lstmkit.commands.forecast import load_series

    read, calls = lstmkit.tables.read_csv, []
    monkeypatch.setattr(lstmkit.tables, "read_csv", lambda path: calls.append(path) or read(path))
    (tmp_path / "s.csv").write_text("month,a,b\n2000-01,1,2\n2000-02,3,4\n2000-03,5,6\n")
    y, names, time = load_series(str(tmp_path / "s.csv"), ["b", "1"])  # names or indices, as --column's ColumnNames
    np.testing.assert_array_equal(y, [[2, 1], [4, 3], [6, 5]])
    assert names == ["b", "a"] and time.name == "month" and time.cells == ("2000-01", "2000-02", "2000-03")
    assert len(calls) == 1


class _Frame:
    """What the forecaster reads of a pandas DataFrame (pandas is not a dependency): its string
    column names and its values."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def test_series_names_are_recorded_at_fit_saved_and_checked(tmp_path):
    # a saved forecaster kept no names: predict(y) with the columns swapped ran each series through the
    # other's scaling and outputs, silently
    Y = _two_series(40)
    fc = LSTMForecaster(window=6, horizon=2, **dict(FAST, epochs=1)).fit(Y, names=["sales", "temperature"])
    assert fc.series_names_ == ("sales", "temperature")
    fc.save(tmp_path / "f.npz")
    back = LSTMForecaster.load(tmp_path / "f.npz")
    assert back.series_names_ == ("sales", "temperature")
    np.testing.assert_array_equal(back.predict(3, Y, names=["sales", "temperature"]), fc.predict(3))
    np.testing.assert_array_equal(back.predict(3, _Frame(Y, ["sales", "temperature"])), fc.predict(3))
    swapped = (r"^LSTMForecaster.predict: expected names \['sales', 'temperature'\] \(the series at fit, in that order\), "
               r"got \['temperature', 'sales'\] \(the same series in another order\)\. Give the series the forecaster "
               r"was fitted on, in the order of fit\.$")  # fmt: skip
    with pytest.raises(ValueError, match=swapped):
        back.predict(3, Y[:, ::-1], names=["temperature", "sales"])
    with pytest.raises(ValueError, match=swapped):
        back.predict(3, _Frame(Y[:, ::-1], ["temperature", "sales"]))  # a DataFrame's columns
    with pytest.raises(ValueError, match=r"got \['sales', 'rain'\] \(unseen at fit: \['rain'\]; missing: \['temperature'\]\)\."):
        back.predict(3, Y, names=["sales", "rain"])
    with pytest.raises(ValueError, match=r"expected names y's own column names \['sales', 'temperature'\] \(or None\), got \['a', 'b'\]"):
        back.predict(3, _Frame(Y, ["sales", "temperature"]), names=["a", "b"])
    with pytest.warns(UserWarning, match=r"y names no series \(an array\), but the forecaster was fitted on \['sales', 'temperature'\]"):
        back.predict(3, Y)
    # names from a DataFrame's columns, from a Series' name; none from an array
    assert LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(_Frame(Y, ["a", "b"])).series_names_ == ("a", "b")
    sales = _Frame(Y[:, 0], [])
    del sales.columns
    sales.name = "sales"  # a pandas Series
    assert LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(sales).series_names_ == ("sales",)
    plain = LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(Y)
    assert plain.series_names_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no names recorded: nothing to check, as before
        plain.predict(2, Y[:, ::-1], names=["x", "y"])
    with pytest.raises(ValueError, match=r"expected names 2 non-empty strings \(one per series\), got \['sales'\]"):
        LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(Y, names=["sales"])


def test_how_names_differ_is_one_phrase_for_the_forecaster_and_the_command():
    # LSTMForecaster._check_names and lstmkit forecast's check_model_columns each built 'unseen at fit / missing /
    # another order' in their own copy of three lines; one function now, whose words both messages carry
    from lstmkit.forecast import how_names_differ

    fitted = ("sales", "temperature")
    assert how_names_differ(["temperature", "sales"], fitted) == "the same series in another order"
    assert how_names_differ(["temperature", "sales"], fitted, "columns") == "the same columns in another order"  # the estimators'
    assert how_names_differ(["sales", "rain"], fitted) == "unseen at fit: ['rain']; missing: ['temperature']"
    assert how_names_differ(["sales"], fitted) == "missing: ['temperature']"
    assert how_names_differ(["sales", "temperature", "rain"], fitted) == "unseen at fit: ['rain']"


def test_a_file_saved_before_series_names_loads_without_them(tmp_path):
    from lstmkit.modelfile import read_model, save_model

    Y = _two_series(40)
    LSTMForecaster(window=6, **dict(FAST, epochs=1)).fit(Y, names=["sales", "temperature"]).save(tmp_path / "f.npz")
    mf = read_model(tmp_path / "f.npz")
    old = {k: v for k, v in mf.extra.items() if k != "series_names"}
    save_model(tmp_path / "old.npz", mf.kind, mf.config, mf.arrays, old)
    back = LSTMForecaster.load(tmp_path / "old.npz")
    assert back.series_names_ is None
    back.predict(2, Y[:, ::-1], names=["temperature", "sales"])  # unchecked, as before
    save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, series_names=["sales"]))
    with pytest.raises(FileFormatError, match=r"series_names.*null or 2 non-empty strings \(one per series\), got \['sales'\]"):
        LSTMForecaster.load(tmp_path / "bad.npz")


def test_forecast_with_a_model_reads_and_checks_the_series_it_was_fitted_on(tmp_path, capsys):
    # `--model` took any --column list of the right count (visits,sales ran the sales model on visits and
    # labelled it 'visits'), and without --column it asked for the names again
    from lstmkit.cli import main

    Y = _two_series(40)
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(40)]
    _dated_csv(tmp_path / "s.csv", months, Y, header="month,sales,temperature")
    model = str(tmp_path / "m.npz")
    fit = ["forecast", str(tmp_path / "s.csv"), "--column", "sales,temperature", "--window", "6", "--epochs", "1",
           "--hidden-size", "2", "--steps", "2", "--model-out", model]  # fmt: skip
    assert main(fit) == 0
    trained = capsys.readouterr().out.split("2003-06:\n")[1]
    assert LSTMForecaster.load(model).series_names_ == ("sales", "temperature")
    assert main(["forecast", str(tmp_path / "s.csv"), "--model", model, "--steps", "2"]) == 0  # the names from the file
    assert capsys.readouterr().out.split("2003-06:\n")[1] == trained
    (tmp_path / "o.csv").write_text("month,sales,rain\n" + "".join(f"{m},1,2\n" for m in months))
    assert main(["forecast", str(tmp_path / "o.csv"), "--model", model]) == 1
    assert (f"o.csv: expected the series {model} was fitted on, ['sales', 'temperature'], got no column 'temperature' "
            "among ['month', 'sales', 'rain']. Name the file's columns as at fit") in capsys.readouterr().err  # fmt: skip
    assert main(["forecast", str(tmp_path / "s.csv"), "--model", model, "--column", "temperature,sales"]) == 1
    assert ("forecast: expected --column ['sales', 'temperature'] (the series at fit, in that order), got "
            "['temperature', 'sales'] (the same series in another order).") in capsys.readouterr().err  # fmt: skip
    # without data the model's own history, labelled by its names
    assert main(["forecast", "--model", model, "--steps", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == trained.splitlines()
    # a .npy names no series: read as those fitted on, said
    np.save(tmp_path / "s.npy", np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1, usecols=(1, 2)))
    assert main(["forecast", str(tmp_path / "s.npy"), "--model", model, "--steps", "2"]) == 0
    out, err = capsys.readouterr()
    assert "names no series (a .npy): its columns are read as ['sales', 'temperature'], the series" in err
    assert out.splitlines()[1].startswith("sales ")
    # one of another count of columns: refused for its count, without the warning that named its columns as the
    # model's (it said 'its columns are read as ['sales', 'temperature']', then 'expected --column 2 non-empty strings')
    np.save(tmp_path / "one.npy", Y[:, 0])
    assert main(["forecast", str(tmp_path / "one.npy"), "--model", model]) == 1
    err = capsys.readouterr().err
    assert err == "lstmkit: error: forecast: expected the series with 2 columns (one per series, as at fit), got 1 column.\n"
    main(["forecast", str(tmp_path / "s.csv"), "--column", "sales", "--window", "6", "--epochs", "0", "--model-out", model])
    capsys.readouterr()
    assert main(["forecast", str(tmp_path / "s.npy"), "--model", model]) == 1
    err = capsys.readouterr().err
    assert err == "lstmkit: error: forecast: expected the series with 1 column (one per series, as at fit), got 2 columns.\n"


def test_validation_split_holds_out_the_last_windows(monkeypatch):
    # it held out a seeded random subset of the overlapping windows (rows 0, 13, 21, ...): validation on
    # windows earlier than those trained on
    from lstmkit.estimators import LSTMRegressor

    seen = {}
    fit = LSTMRegressor._fit_targets  # fit's body, which the forecaster calls with the name and scales of its mae

    def spy(self, X, y, *args, **kwargs):
        seen.update(X=X, Y=y, validation=kwargs.get("validation_data"))
        return fit(self, X, y, *args, **kwargs)

    monkeypatch.setattr(LSTMRegressor, "_fit_targets", spy)
    y = np.exp(np.sin(np.arange(40) / 4) + np.arange(40) / 50)  # 40 values > 0
    fc = LSTMForecaster(window=5, horizon=3, log=True, difference=1, validation_split=0.25, **dict(FAST, epochs=2)).fit(y)
    # by hand: z = diff(log y) holds 39 values, z[i] = log y[i+1] - log y[i]; a window is 5 inputs then 3
    # targets, so there are 39 - 8 + 1 = 32 windows, and 0.25 * 32 = 8 are validated: the 8 whose target
    # blocks end at z[38], z[37], ..., z[31], i.e. the targets z[29..38] (y[30..39], the end of the series)
    z = np.log(y[1:]) - np.log(y[:-1])
    starts = [38 - 2 - k for k in range(8)][::-1]  # first target of each validated block: 29 .. 36
    # training windows: every block that ends before z[29], the first validated target: blocks
    # z[5..7] (window 0) to z[26..28] (window 21); windows 22 and 23 (targets z[27..29], z[28..30]) would
    # train on validated values and are left out. The scaling: the values these 22 windows hold, z[0..28]
    mean, std = z[:29].mean(), z[:29].std()
    s = (z - mean) / std
    Xv = np.array([s[t - 5 : t] for t in starts])[:, :, None]
    Yv = np.array([s[t : t + 3] for t in starts])
    Xt = np.array([s[t - 5 : t] for t in range(5, 27)])[:, :, None]
    Yt = np.array([s[t : t + 3] for t in range(5, 27)])
    np.testing.assert_allclose(seen["validation"][0], Xv, rtol=1e-12)
    np.testing.assert_allclose(seen["validation"][1], Yv, rtol=1e-12)
    np.testing.assert_allclose(seen["X"], Xt, rtol=1e-12)
    np.testing.assert_allclose(seen["Y"], Yt, rtol=1e-12)
    assert Yv[-1, -1] == pytest.approx((np.log(y[39] / y[38]) - mean) / std)  # the last validated value is the last of y
    assert (fc.mean_[0], fc.scale_[0]) == pytest.approx((mean, std))
    np.testing.assert_array_equal(fc.validation_indices_, np.arange(24, 32))  # window j's first target is z[j + 5]
    # the history's val_loss scores those windows: the final model's MSE on them
    val_mse = np.mean((fc.regressor_.predict(Xv) - Yv) ** 2)
    assert fc.training_history_.epochs[-1]["val_loss"] == pytest.approx(val_mse, rel=1e-9)
    assert fc.regressor_.validation_split == 0.0 and fc.regressor_.validation_indices_ is None
    # horizon 1: no window left out between; without a split, none held out
    seen.clear()
    fc1 = LSTMForecaster(window=5, validation_split=0.25, **dict(FAST, epochs=1)).fit(y)
    # 40 - (5 + 1) + 1 = 35 windows: round(0.25 * 35) = 9 validated (26..34), the 26 before trained on
    assert len(seen["X"]) == 26 and len(seen["validation"][0]) == 9
    np.testing.assert_allclose(seen["validation"][1][:, 0], (y[31:] - y[:31].mean()) / y[:31].std())  # y[31..39]
    np.testing.assert_array_equal(fc1.validation_indices_, np.arange(26, 35))
    assert LSTMForecaster(window=5, **dict(FAST, epochs=0)).fit(y).validation_indices_ is None
    with pytest.raises(ValueError, match=r"expected validation_split a fraction of the 4 windows that leaves at least one "
                                         r"to validate and one to train on .*, got 0.5"):  # fmt: skip
        LSTMForecaster(window=5, horizon=3, validation_split=0.5, **dict(FAST, epochs=0)).fit(y[:11])  # 11 - 8 + 1 = 4 windows: 2 validated, 2 left out


def test_forecast_with_a_validation_split_says_the_model_did_not_train_on_the_end(tmp_path, capsys):
    # the README said "fit again without a split to forecast"; the command printed the forecast of a model that
    # never trained on the end of the series, and said nothing of it
    from lstmkit.cli import main

    np.save(tmp_path / "s.npy", np.sin(np.arange(40) / 4) + 2)
    argv = ["forecast", str(tmp_path / "s.npy"), "--window", "5", "--horizon", "3", "--epochs", "1", "--hidden-size", "2",
            "--verbose", "0"]  # fmt: skip
    assert main([*argv, "--validation-split", "0.25", "--model-out", str(tmp_path / "m.npz")]) == 0
    # 40 - 5 - 3 + 1 = 33 windows (window j: inputs y[j..j+4], targets y[j+5..j+7]); round(0.25 * 33) = 8 validated,
    # 25..32, and the 2 before them left out: the last trained window, 22, has targets y[27..29], so y[30..39],
    # 10 values, are in no training window
    note = ("note: the model did not train on the last 10 values of the series it was fitted on (--validation-split 0.25 "
            "held them out to validate); fit it again without --validation-split to forecast from a model trained on all of it.")  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[lines.index(note) + 1].startswith("forecast of the next 3 values")
    assert main(["forecast", "--model", str(tmp_path / "m.npz")]) == 0  # said of a saved model too
    assert note in capsys.readouterr().out.splitlines()
    assert main(argv) == 0  # no split: nothing said
    assert "note:" not in capsys.readouterr().out


def test_the_validated_windows_survive_save_and_load(tmp_path):
    # a file's windows must be those the rule gives: the last round(n * split) of the n windows fit saw
    from lstmkit.modelfile import read_model, save_model

    y = np.sin(np.arange(40) / 4)
    fc = LSTMForecaster(window=5, validation_split=0.2, **dict(FAST, epochs=1)).fit(y)
    # 40 - 5 - 1 + 1 = 35 windows: round(0.2 * 35) = 7 validated, 28..34
    np.testing.assert_array_equal(fc.validation_indices_, np.arange(28, 35))
    fc.save(tmp_path / "f.npz")
    mf = read_model(tmp_path / "f.npz")
    assert mf.extra["validation_indices"] == list(range(28, 35))
    np.testing.assert_array_equal(LSTMForecaster.load(tmp_path / "f.npz").validation_indices_, np.arange(28, 35))

    def load_with(**extra):  # the file, its validation windows replaced by extra's
        save_model(tmp_path / "x.npz", mf.kind, mf.config, mf.arrays, {**{k: v for k, v in mf.extra.items() if k != "validation_indices"}, **extra})
        return LSTMForecaster.load(tmp_path / "x.npz")

    # fewer windows: a backtest fits on the start of the series (30 windows: 24..29) and keeps all of it as history
    np.testing.assert_array_equal(load_with(validation_indices=list(range(24, 30))).validation_indices_, np.arange(24, 30))
    # [1] and [34] were taken (consecutive, after a training window); 29..34 is 6 windows, not round(0.2 * 35) = 7;
    # 28..35 runs past the 35 windows; 27..32 is 6 where 33 windows validate round(6.6) = 7
    for rows in ([3, 9], [1], [34], list(range(29, 35)), list(range(28, 36)), [27, 28, 29, 30, 31, 32], [], None, "28", [28.0]):
        with pytest.raises(FileFormatError, match=r"validation_indices.*the windows validation_split=0.2 held out: the last "
                                                  r"round\(n \* 0.2\) of the n windows fit saw \(n <= 35, the history's\)"):  # fmt: skip
            load_with(validation_indices=rows)
    with pytest.raises(FileFormatError, match=r"validation_indices.*, got none\.$"):
        load_with()  # a file saved since the split is chronological records them
    # a real backtest: fitted on y[:35], 30 windows
    fb = LSTMForecaster(window=5, validation_split=0.2, **dict(FAST, epochs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        fb.backtest(y, 5)
    fb.save(tmp_path / "b.npz")
    np.testing.assert_array_equal(LSTMForecaster.load(tmp_path / "b.npz").validation_indices_, np.arange(24, 30))
    # no split: null, and nothing else
    f0 = LSTMForecaster(window=5, **dict(FAST, epochs=0)).fit(y)
    f0.save(tmp_path / "f0.npz")
    m0 = read_model(tmp_path / "f0.npz")
    assert m0.extra["validation_indices"] is None and LSTMForecaster.load(tmp_path / "f0.npz").validation_indices_ is None
    save_model(tmp_path / "bad0.npz", m0.kind, m0.config, m0.arrays, dict(m0.extra, validation_indices=[34]))
    with pytest.raises(FileFormatError, match=r"validation_indices.*null \(validation_split=0.0: no windows held out\), got \[34\]"):
        LSTMForecaster.load(tmp_path / "bad0.npz")


def test_a_file_saved_before_the_validated_windows_loads_saves_again_and_forecasts_the_same(tmp_path):
    # such a file has no validation_indices; its regressor drew its own split, a seeded random choice of the
    # windows, and recorded it (regressor.validation_indices; a file older still, not). It failed to save
    # again: AttributeError 'validation_indices_'
    from lstmkit.modelfile import read_model, save_model

    y = np.sin(np.arange(40) / 4)
    fc = LSTMForecaster(window=5, validation_split=0.2, **dict(FAST, epochs=1)).fit(y)
    fc.save(tmp_path / "f.npz")
    mf = read_model(tmp_path / "f.npz")
    drawn = [1, 7, 13, 15, 27, 30, 32]  # 7 of the 35 windows
    reg = mf.extra["regressor"]
    reg_old = dict(reg, params=dict(reg["params"], validation_split=0.2), validation_indices=drawn)
    reg_older = {k: v for k, v in reg_old.items() if k != "validation_indices"}
    f0 = LSTMForecaster(window=5, **dict(FAST, epochs=1)).fit(y)
    f0.save(tmp_path / "f0.npz")
    m0 = read_model(tmp_path / "f0.npz")
    for name, m, regressor, rows, model in [("old.npz", mf, reg_old, np.array(drawn), fc), ("older.npz", mf, reg_older, None, fc),
                                            ("no_split.npz", m0, m0.extra["regressor"], None, f0)]:  # fmt: skip
        extra = {k: v for k, v in dict(m.extra, regressor=regressor).items() if k != "validation_indices"}
        save_model(tmp_path / name, m.kind, m.config, m.arrays, extra)
        old = LSTMForecaster.load(tmp_path / name)
        old.save(tmp_path / f"again_{name}")
        again = LSTMForecaster.load(tmp_path / f"again_{name}")
        for loaded in (old, again):
            if name == "older.npz":  # which windows were held out is not known
                assert not hasattr(loaded, "validation_indices_")
            else:
                np.testing.assert_array_equal(loaded.validation_indices_, rows)
            np.testing.assert_array_equal(loaded.predict(6), model.predict(6))
        assert ("validation_indices" in read_model(tmp_path / f"again_{name}").extra) == (name != "older.npz")
    # a key beside the regressor's record must be that record
    save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, regressor=reg_old))
    with pytest.raises(FileFormatError, match=r"validation_indices.*the windows the regressor's random split held out "
                                              r"\(regressor.validation_indices, \[1, 7, 13, 15, 27, 30, 32\]\), got \[28, 29"):  # fmt: skip
        LSTMForecaster.load(tmp_path / "bad.npz")


def test_score_is_the_r2_of_one_forecast_of_the_continuation():
    # LSTMForecaster had no score (the other estimators do); it is R² as scikit-learn's regressors', of
    # predict(k, history) against the k values given
    from sklearn.metrics import r2_score

    Y = _two_series(70)
    fc = LSTMForecaster(window=7, horizon=2, **dict(FAST, epochs=3)).fit(Y[:60])
    # from the end of the fitted series: leads 1..10, direct blocks of 2 then recursive
    assert fc.score(Y[60:]) == pytest.approx(r2_score(Y[60:], fc.predict(10)), rel=1e-12)
    # from the end of another history; each series in its own units, the two R² averaged
    f = fc.predict(5, Y[:50])
    by_hand = np.mean([1 - ((Y[50:55, j] - f[:, j]) ** 2).sum() / ((Y[50:55, j] - Y[50:55, j].mean()) ** 2).sum() for j in range(2)])
    assert fc.score(Y[50:55], history=Y[:50]) == pytest.approx(by_hand, rel=1e-12)
    # series names checked as predict checks them, in y and in the history
    named = LSTMForecaster(window=7, horizon=2, **dict(FAST, epochs=3)).fit(Y[:60], names=["sales", "temperature"])
    np.testing.assert_array_equal(named.predict(5), fc.predict(5))  # the names change nothing else
    frame = lambda values: _Frame(values, ["sales", "temperature"])  # noqa: E731
    assert named.score(Y[50:55], history=frame(Y[:50]), names=["sales", "temperature"]) == pytest.approx(by_hand, rel=1e-12)
    assert named.score(frame(Y[50:55]), history=frame(Y[:50])) == pytest.approx(by_hand, rel=1e-12)
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected names \['sales', 'temperature'\] \(the series at fit"):
        named.score(Y[60:, ::-1], names=["temperature", "sales"])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected history's names \['sales', 'temperature'\] .* got \['b', 'a'\]"):
        named.score(frame(Y[60:]), history=_Frame(Y[:60], ["b", "a"]))
    with pytest.warns(UserWarning, match=r"LSTMForecaster.score: history names no series \(an array\)"):
        named.score(frame(Y[50:55]), history=Y[:50])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected y with 2 columns \(one per series, as at fit\), got a 1-D series \(shape \(10,\)\)\.$"):
        fc.score(Y[60:, 0])
    # a history too short is named as the argument it is (it was always "y")
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected history at least window\+difference = 7 values of history, got 3\.$"):
        fc.score(Y[60:], history=Y[:3])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.predict: expected y at least window\+difference = 7 values of history, got 3\.$"):
        fc.predict(2, Y[:3])
    # one series; a constant continuation not forecast exactly scores 0.0, as r2_score's force_finite
    f1 = LSTMForecaster(window=7, **dict(FAST, epochs=3)).fit(Y[:60, 1])
    assert f1.score(Y[60:, 1]) == pytest.approx(r2_score(Y[60:, 1], f1.predict(10)), rel=1e-12)
    assert f1.score(np.full(3, 15.0)) == 0.0
    with pytest.warns(UserWarning, match="R² is not defined with fewer than 2 values"):
        assert np.isnan(f1.score(Y[60:61, 1]))
    with pytest.raises(NotFittedError, match=r"LSTMForecaster.score: expected a fitted forecaster"):
        LSTMForecaster().score(Y[:3, 0])


def test_a_history_with_another_count_of_series_is_refused_in_words(tmp_path, capsys):
    # "forecast: expected the series 2 series (columns), as at fit, got 1."
    from lstmkit.cli import main

    Y = _two_series(40)
    fc = LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(Y)
    with pytest.raises(ValueError, match=r"^LSTMForecaster.predict: expected y with 2 columns \(one per series, as at fit\), got 1 column\.$"):
        fc.predict(2, Y[:, :1])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.predict: expected y with 2 columns \(one per series, as at fit\), got a 1-D series \(shape \(40,\)\)\.$"):
        fc.predict(2, Y[:, 0])
    named = LSTMForecaster(window=6, **dict(FAST, epochs=0)).fit(Y, names=["sales", "temperature"])
    with pytest.raises(ValueError, match=r"got \['sales'\] \(missing: \['temperature'\]\)\."):  # names, when known, before the count
        named.predict(2, Y[:, :1], names=["sales"])
    fc.save(tmp_path / "m.npz")  # no names recorded
    _dated_csv(tmp_path / "s.csv", [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(40)], Y, header="month,sales,temperature")
    assert main(["forecast", str(tmp_path / "s.csv"), "--model", str(tmp_path / "m.npz"), "--column", "sales"]) == 1
    assert "forecast: expected the series with 2 columns (one per series, as at fit), got 1 column.\n" in capsys.readouterr().err


def test_missing_values_in_a_series_file_say_what_to_do(tmp_path, capsys):
    # "expected a number in column 'visits', got '' on line 32.": no hint (the Python API said
    # "Fill or drop missing values first")
    from lstmkit.cli import main

    rows = [f"2000-{m:02d},{m},{'' if m in (4, 9) else m * 2}" for m in range(1, 13)]
    (tmp_path / "s.csv").write_text("\n".join(["month,sales,visits", *rows]) + "\n")
    fix = ("Fill missing values first (interpolate them, say), or keep only the rows after the last gap: the forecaster "
           "reads the rows as evenly spaced steps.")  # fmt: skip
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "sales,visits", "--window", "2", "--epochs", "0"]) == 1
    err = capsys.readouterr().err
    assert f"s.csv: expected a number in column 'visits', got '' on line 5 (2 missing values in the column). {fix}\n" in err
    (tmp_path / "t.csv").write_text("month,sales\n2000-01,1\n2000-02,NA\n2000-03,3\n")
    assert main(["forecast", str(tmp_path / "t.csv"), "--column", "sales", "--window", "1", "--epochs", "0"]) == 1
    assert f"t.csv: expected a number in column 'sales', got 'NA' on line 3. {fix}\n" in capsys.readouterr().err
    Y = np.arange(20.0).reshape(10, 2)
    Y[3, 1] = np.nan
    np.save(tmp_path / "s.npy", Y)
    assert main(["forecast", str(tmp_path / "s.npy"), "--window", "2", "--epochs", "0"]) == 1
    # the forecaster's refusal (one rule, one wording), naming the file it read the series from
    assert f"s.npy: expected the series finite values, got nan at index (3, 1). {fix}\n" in capsys.readouterr().err


def test_the_two_fits_of_a_backtest_are_labelled(tmp_path, capsys):
    # `forecast --backtest N` trains twice, and the two runs' epoch lines looked the same
    from lstmkit.cli import main

    np.save(tmp_path / "s.npy", np.sin(np.arange(30) / 3) + 2)
    argv = ["forecast", str(tmp_path / "s.npy"), "--window", "4", "--epochs", "2", "--hidden-size", "2", "--backtest", "6"]
    assert main([*argv, "--verbose", "2"]) == 0
    out, err = capsys.readouterr()
    # on stderr, as generate's: `forecast ... > result.txt` held the epoch lines mixed with the table and forecast
    assert "epoch" not in out and out.startswith("backtest on the last 6 values") and "forecast of the next" in out
    lines = err.splitlines()
    first, final = lines.index("backtest fit on the first 24 values (the last 6 held out):"), lines.index("final fit on the whole series (30 values):")
    assert [line[:9] for line in lines[first + 1 : first + 3]] == ["epoch 1/2", "epoch 2/2"] and lines[first + 3] == lines[final]
    assert [line[:9] for line in lines[final + 1 : final + 3]] == ["epoch 1/2", "epoch 2/2"] and final > first
    assert sum(line.startswith("epoch ") for line in lines) == 4
    assert main([*argv, "--verbose", "0"]) == 0  # no epoch lines: no labels
    assert "fit on the whole series" not in "".join(capsys.readouterr())


def test_training_s_mae_is_in_y_units_or_named_by_what_it_measures(capsys):
    # the regressor trains on scaled windows (standardize=False): its mae was |ŝ - s|, in units of each
    # series' std, unlabelled. Without log and difference it is the MAE in y's units, computed here from
    # the forecaster's own forecasts of the validated windows (one block each, from the true history)
    rng = np.random.default_rng(0)
    t = np.arange(60)
    Y = np.stack([1000 + 300 * np.sin(t / 3) + rng.normal(0, 20, 60), 2 + np.cos(t / 4) + rng.normal(0, 0.05, 60)], axis=1)
    fc = LSTMForecaster(window=6, horizon=2, validation_split=0.2, **dict(FAST, epochs=2, verbose=2)).fit(Y)
    logs = fc.training_history_.epochs[-1]
    assert list(logs)[:5] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    W, H = 6, 2
    val = fc.validation_indices_  # window j: inputs Y[j .. j+W-1], targets Y[j+W .. j+W+H-1]
    pred = np.stack([fc.predict(H, Y[: j + W]) for j in val])  # (n_val, H, S) in y's units
    actual = np.stack([Y[j + W : j + W + H] for j in val])
    np.testing.assert_allclose(logs["val_mae"], np.abs(pred - actual).mean(), rtol=1e-9)
    assert logs["val_mae"] > 5  # the first series' errors, in the hundreds' units, not near 0.1 as a scaled mae
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r" - mae \d+\.\d+ - val_loss \d+\.\d+ - val_mae \d+\.\d+", line)
    # with log and/or difference the forecast in y's units needs each window's last level: named by what it is,
    # the scaling undone. difference=1: the one-step changes in y's units
    fd = LSTMForecaster(window=6, horizon=2, difference=1, validation_split=0.2, **dict(FAST, epochs=1)).fit(Y)
    logs = fd.training_history_.epochs[-1]
    assert "mae" not in logs and list(logs)[:5] == ["epoch", "loss", "mae_diff", "val_loss", "val_mae_diff"]
    dz = np.diff(Y, axis=0)  # model value i is y[i+1] - y[i]
    val = fd.validation_indices_
    changes = np.stack([fd.regressor_.predict(((dz[j : j + W] - fd.mean_) / fd.scale_)[None])[0] for j in val]).reshape(-1, H, 2)
    changes = changes * fd.scale_ + fd.mean_  # the forecast changes in y's units
    np.testing.assert_allclose(logs["val_mae_diff"], np.abs(changes - np.stack([dz[j + W : j + W + H] for j in val])).mean(), rtol=1e-9)
    # log=True: the logs (a relative error); both: the changes of the logs
    pos = Y + 10
    assert "mae_log" in LSTMForecaster(window=6, log=True, **dict(FAST, epochs=1)).fit(pos).training_history_.keys()
    both = LSTMForecaster(window=6, log=True, difference=1, **dict(FAST, epochs=1)).fit(pos).training_history_
    assert [k for k in both.keys() if "mae" in k] == ["mae_log_diff"]


def test_a_files_history_and_scaling_are_checked_at_load_as_fit_checks_them(tmp_path):
    # each edit loaded without a word: a scale of 1e308 made predict return inf, a mean of 1e308 made every forecast
    # 1e308, a history value of 1e308 made predict refuse y naming no file, and a string or true in the history was read
    # as a number. LARGEST = float64's largest / 4 = 1.7976931348623157e308 / 4 = 4.49e307 (fit refuses y beyond it);
    # mean and scale are of values within ±2 LARGEST (differences), 8.99e307
    from lstmkit.modelfile import read_model, save_model

    y = np.sin(np.arange(40) / 4) + 2
    LSTMForecaster(window=5, horizon=2, **dict(FAST, epochs=1)).fit(y).save(tmp_path / "f.npz")
    mf = read_model(tmp_path / "f.npz")
    history = mf.extra["history"]  # [[y0], [y1], ...]: one series

    def edited(**changes):
        extra = {**mf.extra, **changes}
        save_model(tmp_path / "e.npz", mf.kind, mf.config, mf.arrays, extra)
        return tmp_path / "e.npz"

    reg = mf.extra["regressor"]
    e = re.escape(str(tmp_path / "e.npz"))
    for changes, message in [
        (dict(history=history[:3] + [[1e308]] + history[4:]), r"history values within ±4\.49e\+307 \(as fit takes y\), got 1e\+308 at index \(3, 0\)"),
        (dict(history=history[:3] + [["1.5"]] + history[4:]), r"history the fitted series as a list of rows of numbers, got \[\["),
        (dict(history=history[:3] + [[True]] + history[4:]), r"history the fitted series as a list of rows of numbers"),
        (dict(mean=[1e308]), r"mean values within ±8\.99e\+307 \(what fit makes of a series it takes\), got 1e\+308 at index 0"),
        (dict(scale=[-1e308]), r"scale 1 finite numbers > 0 \(one per series\), got \[-1e\+308\]"),
        (dict(scale=[1e308]), r"scale values within ±8\.99e\+307 .*got 1e\+308 at index 0"),
        (dict(regressor=dict(reg, y_scale=[1.0, 1e308])), r"regressor\.y_scale 1\.0 for every output \(the regressor does "
                                                          r"not standardize: standardize false\), got 1e\+308 at index 1"),
        (dict(regressor=dict(reg, y_mean=[0.5, 0.0])), r"regressor\.y_mean 0\.0 for every output .*got 0\.5 at index 0"),
        # a regressor that standardizes took the file's y_scale for its own: 1e308 made a forecast of -5.2e306
        (dict(regressor=dict(reg, params=dict(reg["params"], standardize=True), y_scale=[1e308, 1.0])),
         r"regressor\.params\.standardize false \(the forecaster scales the series itself\), got True\.$"),
    ]:
        with pytest.raises(FileFormatError, match=rf"^{e}: expected {message}"):
            LSTMForecaster.load(edited(**changes))
    # the bounds' ends load (a file fit could not write, but within what its forecasts take)
    back = LSTMForecaster.load(edited(history=history[:3] + [[4.49e307]] + history[4:], scale=[8.98e307]))
    assert back.scale_[0] == 8.98e307
    # with log=True a history value's log is always within range: 1e308 > 0 loads
    LSTMForecaster(window=5, horizon=2, log=True, **dict(FAST, epochs=1)).fit(y).save(tmp_path / "l.npz")
    lf = read_model(tmp_path / "l.npz")
    save_model(tmp_path / "l2.npz", lf.kind, lf.config, lf.arrays, dict(lf.extra, history=lf.extra["history"][:-1] + [[1e308]]))
    assert LSTMForecaster.load(tmp_path / "l2.npz").series_[-1, 0] == 1e308


# -- plot_forecast: the figure of a series, its backtest and its forecast ahead --------------------
def _seasonal(n=48):
    """A yearly sine on a trend: y_t = 10 + 3 sin(2πt/12) + 0.05 t, so y_t - y_{t-12} = 0.6 exactly."""
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.05 * t


def _backtest_and_ahead(y, test_size=6, steps=3):
    fc = LSTMForecaster(window=12, horizon=2, seasonal_period=12, **dict(FAST, epochs=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)  # 2 epochs: no better than naive, as expected
        result = fc.backtest(y, test_size=test_size)
    return result, fc.fit(y).predict(steps)


def _captured_figures(monkeypatch):
    """The figures plot_forecast hands to lstmkit.io.save_figure, kept instead of rendered."""
    import lstmkit.io

    figures = []
    monkeypatch.setattr(lstmkit.io, "save_figure", lambda fig, path: figures.append((fig, path)))
    return figures


def test_plot_forecast_draws_the_series_each_methods_lead_1_forecasts_and_the_forecast_ahead(monkeypatch):
    pytest.importorskip("matplotlib")
    from lstmkit.forecast import plot_forecast

    y = _seasonal(48)
    result, ahead = _backtest_and_ahead(y)  # origins 42..47: the last 6 values unseen
    figures = _captured_figures(monkeypatch)
    plot_forecast("f.png", y, result, ahead, title="a sine on a trend")
    ((fig, path),) = figures
    (ax,) = fig.axes
    assert path == "f.png" and (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("a sine on a trend", "time index", "value")
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["series"].get_xdata(), np.arange(48))
    np.testing.assert_array_equal(lines["series"].get_ydata(), y)
    # lead-1 forecasts at the origins 42..47, each method's labelled with its lead-1 MAE, by hand from y:
    # naive forecasts y_{o-1}, seasonal naive y_{o-12}, which is 0.6 below y_o (the sine repeats)
    origins = np.arange(42, 48)
    naive_mae1 = np.abs(y[origins] - y[origins - 1]).mean()
    lstm_mae1 = np.abs(y[origins] - result.forecasts["lstm"][:, 0, 0]).mean()
    labels = {label.split(":")[0]: label for label in lines if not label.startswith("_")}
    assert set(labels) == {"series", "lstm", "naive", "seasonal_naive", "seasonal_growth", "forecast ahead"}
    assert labels["naive"].startswith(f"naive: lead 1 (MAE {naive_mae1:.1f}; all leads ")
    assert labels["seasonal_naive"].startswith("seasonal_naive: lead 1 (MAE 0.6; all leads ")
    assert labels["lstm"].startswith(f"lstm: lead 1 (MAE {lstm_mae1:.1f}; all leads ")
    np.testing.assert_array_equal(lines[labels["naive"]].get_xdata(), origins)
    np.testing.assert_allclose(lines[labels["naive"]].get_ydata(), y[origins - 1], rtol=1e-12)
    np.testing.assert_allclose(lines[labels["seasonal_naive"]].get_ydata(), y[origins] - 0.6, rtol=1e-12)
    # seasonal naive × growth: y_{o-12} · y_{o-1} / y_{o-13}
    np.testing.assert_allclose(lines[labels["seasonal_growth"]].get_ydata(), y[origins - 12] * y[origins - 1] / y[origins - 13], rtol=1e-12)
    # the test part starts between row 41 (the last seen) and 42; the 3 values ahead go on at 48, 49, 50
    (start,) = [line for label, line in lines.items() if label.startswith("_")]
    assert list(start.get_xdata()) == [41.5, 41.5]
    np.testing.assert_array_equal(lines["forecast ahead"].get_xdata(), [48, 49, 50])
    np.testing.assert_array_equal(lines["forecast ahead"].get_ydata(), ahead)


def test_plot_forecast_writes_a_panel_per_series_on_dates(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from lstmkit.forecast import plot_forecast

    Y = np.column_stack([_seasonal(40), 20 - _seasonal(40)])  # (40, 2)
    months = np.arange("2000-01", "2003-05", dtype="datetime64[M]").astype("datetime64[D]")  # 40 months
    ahead = np.array([[1.0, 2.0], [3.0, 4.0]])  # (k, S): 2 values ahead of each series
    kw = dict(times=months, times_ahead=np.array(["2003-05-01", "2003-06-01"], dtype="datetime64[D]"),
              time_label="month", names=["sales", "temperature"])  # fmt: skip
    figures = _captured_figures(monkeypatch)
    plot_forecast("p.png", Y, None, ahead, **kw)
    ((fig, _),) = figures
    assert [ax.get_ylabel() for ax in fig.axes] == ["sales", "temperature"] and fig.axes[-1].get_xlabel() == "month"
    for j, ax in enumerate(fig.axes):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines) == ["series", "forecast ahead"]  # no backtest given: none drawn
        assert lines["series"].get_xdata()[0] == np.datetime64("2000-01-01") and len(lines["series"].get_xdata()) == 40
        np.testing.assert_array_equal(lines["forecast ahead"].get_ydata(), ahead[:, j])
    # and once to a file, rendered: the PNG's signature (the one test here that draws)
    monkeypatch.undo()
    plot_forecast(tmp_path / "p.png", Y, None, ahead, **kw)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_forecast_refuses_what_does_not_fit_the_series_before_drawing(monkeypatch):
    from lstmkit.forecast import plot_forecast

    y = _seasonal(48)
    result, ahead = _backtest_and_ahead(y)
    other, _ = _backtest_and_ahead(_seasonal(30), test_size=4)
    figures = _captured_figures(monkeypatch)
    cases = [
        (dict(forecast=np.ones((3, 2))), "plot_forecast: expected forecast a real array (k,) or (k, 1), a value ahead per row for each of y's 1 series, got float64 shape (3, 2). Give predict(k)'s output for this series."),
        (dict(result=ahead), "plot_forecast: expected result a BacktestResult (LSTMForecaster.backtest's) or None, got ndarray."),
        (dict(times=np.arange(48.0)), "plot_forecast: expected times_ahead 3 times for the 3 values ahead, with times, got None. Give the times the forecast is for."),
        (dict(times=np.arange(47.0), times_ahead=[48, 49, 50]), "plot_forecast: expected times (48,): a number or a NumPy datetime64 for each of y's rows, got float64 shape (47,)."),
        (dict(times=np.arange(48.0), times_ahead=np.array(["2004-01", "2004-02", "2004-03"], dtype="datetime64[M]")),
         "plot_forecast: expected times_ahead of the kind of times (float64), got datetime64[M]. Give both as dates or both as numbers."),
        (dict(times_ahead=[48, 49, 50]), "plot_forecast: expected times_ahead None without times (the forecast then goes on from row N), got an array."),
        (dict(names=["a", "b"]), "plot_forecast: expected names 1 name (str), one per series, got ['a', 'b']."),
    ]  # fmt: skip
    for kwargs, message in cases:
        args = {"result": result, "forecast": ahead, **kwargs}
        with pytest.raises((ValueError, TypeError)) as e:
            plot_forecast("f.png", y, args.pop("result"), args.pop("forecast"), **args)
        assert str(e.value) == message
    with pytest.raises(ValueError, match=r"expected result a backtest of y \(20 rows, 1 series\), got one of 1 series with origins 26\.\.29\. Give"):
        plot_forecast("f.png", y[:20], other)  # a backtest of 30 values: its origins are past y's end
    # a backtest of another series whose origins fit: its lead-1 lines and MAEs were drawn beside y without a word
    with pytest.raises(ValueError, match=r"expected result a backtest of y \(its actual values at the origins are y's\), got a backtest of another series"):
        plot_forecast("f.png", y * 100 + 5, result)
    with pytest.raises(ValueError, match=r"expected times_ahead None without a forecast \(they are the forecast's times\), got an array"):
        plot_forecast("f.png", y, result, times=np.arange(48.0), times_ahead=[48, 49, 50])
    assert figures == []  # nothing was drawn


def test_plot_forecast_without_matplotlib_gives_the_pip_line(tmp_path, monkeypatch):
    # a bare "No module named 'matplotlib'" before; the words of History.plot's (lstmkit._checks.optional_import)
    from lstmkit.forecast import plot_forecast

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: the import fails as if not installed
    with pytest.raises(ModuleNotFoundError) as raised:
        plot_forecast(tmp_path / "f.png", _seasonal(48))
    assert str(raised.value) == ("plot_forecast: expected matplotlib installed (to draw the forecast), got none. "
                                 "Install it: pip install \"lstmkit[cli]\".")
    assert raised.value.name == "matplotlib" and raised.value.__suppress_context__
    assert not (tmp_path / "f.png").exists()


def test_backtest_scores_the_trend_aware_seasonal_growth_baseline_on_the_same_pairs():
    # airline 1949-56 (the 1955-56 window): the table scored only the trend-blind baselines and marked the
    # LSTM '<- best' with no note, while seasonal naive × the last year-over-year growth (which the demo added
    # by hand) halved its error. ŷ(o + l - 1) = y(o + l - 13) · y(o - 1) / y(o - 13), written out here
    y = airline_passengers()[:96]
    yl = y.tolist()
    pairs = [(o, l) for o in range(72, 96) for l in range(1, 13) if o + l - 1 < 96]
    want = sum(abs(yl[o + l - 1] - yl[o + l - 13] * yl[o - 1] / yl[o - 13]) for o, l in pairs) / len(pairs)
    assert len(pairs) == 222 and want == pytest.approx(8.99946, abs=1e-5)
    fc = LSTMForecaster(window=12, horizon=12, seasonal_period=12, log=True, difference=1, seed=0)
    with pytest.warns(ForecastWarning, match=r"the LSTM \(MAE .*\) is no better than the seasonal-growth forecast \(MAE 9\)\."):
        r = fc.backtest(y, 24)
    assert list(r.forecasts) == ["lstm", "naive", "seasonal_naive", "seasonal_growth"]
    assert r.metrics["seasonal_growth"]["MAE"] == pytest.approx(want, rel=1e-12)
    lines = r.table().splitlines()
    assert lines[5].startswith("seasonal_growth") and lines[5].endswith("<- best") and "<- best" not in lines[2]
    assert r.metrics["lstm"]["MAE"] > want


def test_backtest_scores_drift_without_a_season_or_with_values_not_positive():
    # drift: ŷ(o + l - 1) = y(o - 1) + l · (y(o - 1) - y(0)) / (o - 1), written out here; a straight line
    # forecasts itself exactly, and a seasonal series with a value <= 0 where the growth divides gets drift too
    t = np.arange(40.0)
    y = 3.0 - 0.5 * t + np.sin(t)  # falls below 0: no growth ratio
    fc = LSTMForecaster(window=4, horizon=2, **dict(FAST, hidden_size=4, epochs=1))
    for m in (None, 4):
        fc.set_params(seasonal_period=m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ForecastWarning)
            r = fc.backtest(y, 8)
        assert "seasonal_growth" not in r.metrics and list(r.forecasts)[-1] == "drift"
        errors = [abs(y[o + l - 1] - (y[o - 1] + l * (y[o - 1] - y[0]) / (o - 1))) for o in range(32, 40) for l in (1, 2) if o + l - 1 < 40]
        assert r.metrics["drift"]["MAE"] == pytest.approx(np.mean(errors), rel=1e-12)


def test_a_datetime_index_out_of_order_is_refused_and_gaps_are_warned_of():
    # a pandas Series' DatetimeIndex was ignored: a series sorted newest first was forecast on from its first row
    # (Jan 2020), and 10 missing months passed silently; lstmkit forecast refuses and warns of both in a CSV
    pd = pytest.importorskip("pandas")
    idx = pd.date_range("2020-01-01", periods=40, freq="MS")
    s = pd.Series(100 + np.arange(40.0), index=idx, name="sales")
    fc = LSTMForecaster(window=4, horizon=2, **dict(FAST, hidden_size=4, epochs=1))
    backwards = (r"^LSTMForecaster.{}: expected {} increasing times \(the rows in time order\), got 2023-03-01 at row 1 "
                 r"after 2023-04-01 at row 0\. The series is read in row order: sort it: {}\.sort_index\(\)\.$")  # fmt: skip
    with pytest.raises(ValueError, match=backwards.format("fit", "y's index", "y")):
        fc.fit(s.iloc[::-1])
    with pytest.raises(ValueError, match=backwards.format("backtest", "y's index", "y")):
        fc.backtest(s.iloc[::-1].to_frame(), 6)
    gap = s.drop(s.index[20:30])
    with pytest.warns(UserWarning, match=r"^LSTMForecaster.fit: y's index is unevenly spaced: 1 of 29 steps differ from the usual "
                                         r"1 month, the first from 2021-08-01 to 2022-07-01 \(rows 19 to 20\)\. The forecaster reads "
                                         r"the rows as evenly spaced: fill the gaps \(or resample\) for a forecast in time\.$") as caught:  # fmt: skip
        fc.fit(gap)
    assert caught[0].filename == __file__  # the user's line
    fc.fit(s)
    for call in (lambda: fc.predict(2, gap), lambda: fc.score(s[-2:], history=gap)):
        with pytest.warns(UserWarning, match=r"(y|history)'s index is unevenly spaced: 1 of 29 steps") as caught:
            call()
        assert caught[0].filename == __file__
    with pytest.raises(ValueError, match=backwards.format("predict", "y's index", "y").replace("2023-03-01", "2022-11-01").replace("2023-04-01", "2022-12-01")):
        fc.predict(2, s.iloc[::-1][4:])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected history's index increasing times .* sort it: history\.sort_index\(\)\.$"):
        fc.score(s[-2:], history=s.iloc[::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # even steps: nothing said, monthly (28-31 days), quarterly, month ends, hourly, business days
        for freq in ("MS", "QS", "ME", "h", "B", "D"):
            fc.fit(pd.Series(100 + np.arange(40.0), index=pd.date_range("2024-01-31", periods=40, freq=freq)))
        fc.fit(pd.Series(100 + np.arange(40.0), index=pd.date_range("2024-01-01", periods=40, freq="D", tz="Europe/Paris")))
        fc.fit(s.reset_index(drop=True))  # a RangeIndex: not times, not checked
    hours = pd.Series(np.arange(40.0), index=pd.date_range("2024-01-01", periods=41, freq="h").delete(7))
    with pytest.warns(UserWarning, match=r"usual 1 hour, the first from 2024-01-01T06:00:00 to 2024-01-01T08:00:00 \(rows 6 to 7\)"):
        fc.fit(hours)
    bdays = pd.Series(np.arange(40.0), index=pd.bdate_range("2024-06-03", periods=41).delete(9))  # a Friday holiday
    with pytest.warns(UserWarning, match=r"1 of 39 steps differ from the usual 1 business day, the first from 2024-06-13 to 2024-06-17"):
        fc.fit(bdays)


def test_a_dataframe_s_non_numeric_columns_are_named():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"date": [f"2020-{m:02d}-01" for m in range(1, 13)] * 2, "sales": np.arange(24.0), "open": [True] * 24})
    with pytest.raises(TypeError, match=r"^LSTMForecaster.fit: expected y a real numeric array \(N,\) or \(N, n_series\), got non-numeric "
                                        r"columns 'date' \(dtype .*\), 'open' \(dtype bool\)\. Keep only the series: select the series "
                                        r"\(y\[\['sales'\]\]\), or make a column of dates the index \(y\.set_index\('date'\)\)\.$"):  # fmt: skip
        LSTMForecaster(window=4).fit(df)


def test_the_log_refusal_names_the_method_and_a_1d_index():
    # it said 'LSTMForecaster: ... at index (19, 0)' for a 1-D series: no method, and an index the series has not
    fc = LSTMForecaster(log=True, window=4, horizon=2, **dict(FAST, epochs=0))
    y = np.r_[np.arange(1.0, 20), -1.0]
    with pytest.raises(ValueError, match=r"^LSTMForecaster.fit: expected y values > 0 with log=True, got -1.0 at index 19\. Use log=False\.$"):
        fc.fit(y)
    with pytest.raises(ValueError, match=r"^LSTMForecaster.backtest: expected y values > 0 with log=True, got -1.0 at index 19\."):
        fc.backtest(y, 4)  # in the test part: it came from the forecasts of the origins, with no method
    fc.fit(y[:-1])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.predict: expected y values > 0 with log=True, got -1.0 at index \(5, 1\)\."):
        LSTMForecaster(log=True, window=4, **dict(FAST, epochs=0)).fit(np.ones((20, 2))).predict(2, np.r_[np.ones((5, 2)), [[1.0, -1.0]]])
    with pytest.raises(ValueError, match=r"^LSTMForecaster.score: expected history values > 0 with log=True, got 0.0 at index 2\."):
        fc.score(y[:3], history=np.r_[1.0, 2, 0, 4, 5])


def test_the_readme_s_rolling_origin_table_s_baselines_by_hand():
    # the README's one-window claim now comes with the two-year windows 1955-60: their baseline columns
    # recomputed here by hand (the LSTM's need training: examples/ and the demo run that)
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^  \| (19\d\d)-(\d\d) \| [\d. /]+ \| ([\d.]+) \| ([\d.]+) \|$", readme, re.M)
    assert [r[0] for r in rows] == ["1955", "1956", "1957", "1958", "1959"]
    y = airline_passengers().tolist()
    for first, _, growth, seasonal in rows:
        end = (int(first) - 1949) * 12 + 24  # the window's last month + 1
        pairs = [(o, l) for o in range(end - 24, end) for l in range(1, 13) if o + l - 1 < end]
        g = sum(abs(y[o + l - 1] - y[o + l - 13] * y[o - 1] / y[o - 13]) for o, l in pairs) / len(pairs)
        s = sum(abs(y[o + l - 1] - y[o + l - 13]) for o, l in pairs) / len(pairs)
        assert (f"{g:.2f}", f"{s:.2f}") == (growth, seasonal), first


def test_a_tz_aware_hourly_series_across_both_changes_of_clocks_is_neither_refused_nor_warned_of():
    # the index was read in local wall-clock time: in Europe/Berlin's autumn change (2024-10-27) 02:00 comes twice,
    # and a correct hourly series was refused as out of order; in the spring one (2024-03-31) 02:00 never comes,
    # and a 2-hour gap was warned of where no hour is missing
    pd = pytest.importorskip("pandas")
    fc = LSTMForecaster(window=4, horizon=2, **dict(FAST, hidden_size=2, epochs=1))
    for start in ("2024-10-26 12:00", "2024-03-30 12:00"):
        idx = pd.date_range(start, periods=48, freq="h", tz="Europe/Berlin")
        assert (idx.to_series().diff().dropna() == pd.Timedelta(hours=1)).all()  # pandas: every step 1 hour
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fc.fit(pd.Series(np.arange(48.0) + 1, index=idx))
        # a daily series at local midnight across the same changes (23 and 25 hours apart in UTC): days, no warning
        days = pd.date_range(start[:10], periods=10, freq="D", tz="Europe/Berlin")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fc.fit(pd.Series(np.arange(10.0) + 1, index=days))
    # an hour really missing after the autumn change is still warned of, named in local time (row 19: 12:00 + 19 h,
    # less the hour the clocks went back, is 06:00; 07:00 deleted)
    gap = pd.date_range("2024-10-26 12:00", periods=48, freq="h", tz="Europe/Berlin").delete(20)
    with pytest.warns(UserWarning, match=r"1 of 46 steps differ from the usual 1 hour, the first from 2024-10-27T06:00:00 to "
                                         r"2024-10-27T08:00:00 \(rows 19 to 20\)"):  # fmt: skip
        fc.fit(pd.Series(np.arange(47.0) + 1, index=gap))
    # and the same hour twice (an instant repeated) is still refused
    twice = pd.DatetimeIndex(list(gap[:5]) + [gap[4]] + list(gap[5:10]))
    with pytest.raises(ValueError, match=r"expected y's index increasing times .*, got 2024-10-26T16:00:00 at row 5 after "
                                         r"2024-10-26T16:00:00 at row 4\."):  # fmt: skip
        fc.fit(pd.Series(np.arange(11.0) + 1, index=twice))


def test_a_tz_aware_daily_series_at_one_local_time_other_than_midnight_is_not_warned_of_across_a_change_of_clocks():
    # a daily 09:00 (Berlin) or 16:00 (New York) series was stepped in UTC time, 23 or 25 hours across a change of
    # clocks, and warned of as "1 of 13 steps differ from the usual 1 day, the first from 2024-03-30T09:00:00 to
    # 2024-03-31T09:00:00": two times one day apart on the calendar
    pd = pytest.importorskip("pandas")
    from lstmkit.forecast import check_time_index

    for start, tz in (("2024-03-25 09:00", "Europe/Berlin"), ("2024-10-28 16:00", "America/New_York")):
        idx = pd.date_range(start, periods=14, freq="D", tz=tz)
        hours = (idx.tz_convert(None).to_series().diff().dropna() / pd.Timedelta(hours=1)).tolist()
        assert sorted(set(hours)) in ([23.0, 24.0], [24.0, 25.0])  # pandas: one step is not 24 hours in UTC
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_time_index(pd.Series(np.arange(14.0), index=idx), "fit")
        # a day really missing is still warned of, in days, named in local time (row 7 is start + 7 days; the 8th deleted)
        gap = idx.delete(8)
        with pytest.warns(UserWarning, match=r"1 of 12 steps differ from the usual 1 day, the first from "
                                             + str(idx[7].tz_localize(None).isoformat()) + r" to "
                                             + str(idx[9].tz_localize(None).isoformat()) + r" \(rows 7 to 8\)"):  # fmt: skip
            check_time_index(pd.Series(np.arange(13.0), index=gap), "fit")
    # times of day that differ (an hourly series) are still stepped in UTC time: a 09:00 and a 10:00 one day apart are
    # a 25-hour step against the usual 24 hours
    mixed = pd.DatetimeIndex(["2024-03-25 09:00", "2024-03-26 09:00", "2024-03-27 10:00", "2024-03-28 10:00"], tz="Europe/Berlin")
    with pytest.warns(UserWarning, match=r"1 of 3 steps differ from the usual 1 day"):
        check_time_index(pd.Series(np.arange(4.0), index=mixed), "fit")


def test_a_csv_of_business_days_is_stepped_in_business_days_as_a_pandas_index_is(tmp_path, capsys):
    # a pandas Series on business days was read as even (no warning) while the same dates in a CSV were warned of
    # ("11 of 59 steps differ from the usual 1 day") and forecast onto a Saturday and a Sunday
    import datetime

    from lstmkit.cli import main

    start = datetime.date(2024, 1, 1)  # a Monday: the weekdays of 12 weeks, 2024-01-01 to 2024-03-22 (a Friday)
    days = [start + datetime.timedelta(days=7 * w + d) for w in range(12) for d in range(5)]
    (tmp_path / "b.csv").write_text("date,v\n" + "\n".join(f"{d.isoformat()},{i + 1}" for i, d in enumerate(days)) + "\n")
    fast = ["--column", "v", "--epochs", "0", "--window", "3", "--hidden-size", "2", "--horizon", "3", "--out", str(tmp_path / "f.csv")]
    assert main(["forecast", str(tmp_path / "b.csv"), *fast]) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err, err
    # the next 3 business days after Friday 2024-03-22: Monday 25th to Wednesday 27th
    assert [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()[1:]] == ["2024-03-25", "2024-03-26", "2024-03-27"]
    assert "2024-03-25 to 2024-03-27" in out
    # a holiday (Friday 2024-02-09) is a gap of one business day, warned of in them
    (tmp_path / "g.csv").write_text("date,v\n" + "\n".join(f"{d.isoformat()},{i + 1}" for i, d in enumerate(days) if d != datetime.date(2024, 2, 9)) + "\n")
    assert main(["forecast", str(tmp_path / "g.csv"), *fast]) == 0
    assert ("column 'date' is unevenly spaced: 1 of 58 steps differ from the usual 1 business day, the first from "
            "'2024-02-08' to '2024-02-12'") in capsys.readouterr().err  # fmt: skip


def test_plot_forecast_draws_the_series_on_top_of_the_backtest_forecasts(monkeypatch):
    # the coloured lead-1 forecasts lie on the series in the test part: drawn after it at the same zorder, they hid it
    pytest.importorskip("matplotlib")
    from lstmkit.forecast import plot_forecast

    y = _seasonal(48)
    result, ahead = _backtest_and_ahead(y)
    figures = _captured_figures(monkeypatch)
    plot_forecast("f.png", y, result, ahead)
    ((fig, _),) = figures
    (ax,) = fig.axes
    lines = {line.get_label().split(":")[0]: line for line in ax.get_lines()}
    below = [lines[k].get_zorder() for k in ("lstm", "naive", "seasonal_naive", "seasonal_growth")]
    assert lines["series"].get_zorder() > max(below)


def test_a_period_index_is_checked_in_its_freq_as_a_datetime_index_is():
    # a PeriodIndex (pd.period_range, df.to_period()) was not checked at all: newest first, a NaT and 10 missing
    # months all passed silently; its steps are counted in its freq, periods by their numbers (2020-01 is 600 months)
    pd = pytest.importorskip("pandas")
    from lstmkit.forecast import check_time_index

    idx = pd.period_range("2020-01", periods=40, freq="M")
    s = pd.Series(100 + np.arange(40.0), index=idx, name="sales")
    fc = LSTMForecaster(window=4, horizon=2, **dict(FAST, hidden_size=4, epochs=1))
    with pytest.raises(ValueError, match=r"^LSTMForecaster.fit: expected y's index increasing times \(the rows in time order\), "
                                         r"got 2023-03 at row 1 after 2023-04 at row 0\. The series is read in row order: "
                                         r"sort it: y\.sort_index\(\)\.$"):  # fmt: skip
        fc.fit(s.iloc[::-1])
    with pytest.raises(ValueError, match=r"^fit: expected y's index times \(the rows' times, in order\), got NaT at row 3\."):
        check_time_index(pd.Series(np.arange(5.0), index=pd.PeriodIndex(["2020-01", "2020-02", "2020-03", None, "2020-05"], freq="M")), "fit")
    with pytest.warns(UserWarning, match=r"^fit: y's index is unevenly spaced: 1 of 29 steps differ from the usual 1 period of "
                                         r"'M', the first from 2021-08 to 2022-07 \(rows 19 to 20\)\."):  # fmt: skip
        check_time_index(s.drop(s.index[20:30]), "fit")
    quarters = pd.period_range("2020Q1", periods=12, freq="Q").delete(5)  # 2021Q2 missing: a step of 2 quarters
    with pytest.warns(UserWarning, match=r"1 of 10 steps differ from the usual 1 period of 'Q-DEC', the first from 2021Q1 to 2021Q3"):
        check_time_index(pd.DataFrame({"a": np.arange(11.0)}, index=quarters), "fit")
    quarter_hours = pd.period_range("2024-01-01 00:00", periods=8, freq="15min").delete(3)  # 00:45 missing
    with pytest.warns(UserWarning, match=r"1 of 6 steps differ from the usual 15 periods of 'min', the first from 2024-01-01 00:30 "):
        check_time_index(pd.Series(np.arange(7.0), index=quarter_hours), "fit")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # even steps: nothing said (months of 28 to 31 days, hours, every other month)
        for periods in (idx, pd.period_range("2024-03-30 20:00", periods=40, freq="h"), pd.period_range("2020-01", periods=40, freq="2M")):
            check_time_index(pd.Series(np.arange(40.0), index=periods), "fit")


def test_a_column_of_times_with_utc_offsets_is_read_in_utc_and_written_as_it_is(tmp_path, capsys):
    # pandas' to_csv of a tz-aware index writes '2024-10-27 02:00:00+01:00': the column was not read as times (a
    # warning, and the forecast numbered by step). Paris on 2024-10-27: 00:00, 01:00, 02:00 at +02:00, then 02:00 again
    # at +01:00 (clocks back), 03:00, ...: one hour apart in UTC (22:00Z 26th, 23:00Z, 00:00Z, 01:00Z, 02:00Z, ...)
    from lstmkit.cli import main

    stamps = [f"2024-10-27T{h:02d}:00:00+02:00" for h in (0, 1, 2)] + [f"2024-10-27T{h:02d}:00:00+01:00" for h in range(2, 23)]
    (tmp_path / "p.csv").write_text("time,load\n" + "".join(f"{s},{k % 5 + 1}\n" for k, s in enumerate(stamps)))
    argv = ["forecast", str(tmp_path / "p.csv"), "--column", "load", "--epochs", "0", "--window", "3", "--hidden-size", "2",
            "--horizon", "2", "--out", str(tmp_path / "f.csv")]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and "2024-10-27T23:00:00+01:00 to 2024-10-28T00:00:00+01:00" in out  # 02:00 twice: in order
    ahead = [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()[1:]]
    assert ahead == ["2024-10-27T23:00:00+01:00", "2024-10-28T00:00:00+01:00"]  # as written, in the last row's offset
    # 'Z' (UTC), an hour missing: warned of in hours; 07:00Z after 08:00+02:00 (06:00Z) is in order
    zulu = [f"2024-03-01T{h:02d}:00Z" for h in range(24) if h != 9]
    (tmp_path / "z.csv").write_text("time,load\n" + "".join(f"{s},{k % 5 + 1}\n" for k, s in enumerate(zulu)))
    argv[1] = str(tmp_path / "z.csv")
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "1 of 22 steps differ from the usual 1 hour, the first from '2024-03-01T08:00Z' to '2024-03-01T10:00Z'" in err
    assert "2024-03-02T00:00Z to 2024-03-02T01:00Z" in out
    mixed = ["2024-03-01T06:00Z", "2024-03-01T08:00+02:00", "2024-03-01T07:00Z"]  # 06:00Z, 06:00Z: a time twice in UTC
    (tmp_path / "m.csv").write_text("time,load\n" + "".join(f"{s},{k + 1}\n" for k, s in enumerate(mixed)))
    argv[1] = str(tmp_path / "m.csv")
    assert main(argv) == 1
    assert "expected the rows in time order (column 'time' increasing), got '2024-03-01T08:00+02:00' on line 3 after " \
           "'2024-03-01T06:00Z' on line 2" in capsys.readouterr().err  # fmt: skip
    # with an offset and without: not one form
    (tmp_path / "n.csv").write_text("time,load\n2024-03-01T06:00Z,1\n2024-03-01T07:00,2\n2024-03-01T08:00Z,3\n")
    assert main([*argv[:1], str(tmp_path / "n.csv"), *argv[2:], "--time-column", "time"]) == 1
    assert "got '2024-03-01T06:00Z' (YYYY-MM-DDTHH:MM with a UTC offset) on line 2 and '2024-03-01T07:00' (YYYY-MM-DDTHH:MM) on line 3" \
           in capsys.readouterr().err  # fmt: skip


def test_backtest_scores_mase_and_smape_by_hand_on_a_tiny_series():
    # y = 1, 2, 4, 8, 16, 32, the last 2 held out: origins 4 and 5, naive forecasts 8 and 16 of 16 and 32.
    # MAE = (8 + 16) / 2 = 12; MASE's scale, the training part 1, 2, 4, 8's naive MAE = (1 + 2 + 4) / 3 = 7/3,
    # MASE = 12 / (7/3) = 36/7; sMAPE = 100 · mean(2·8/24, 2·16/48) = 66.67 %
    y = np.array([1.0, 2, 4, 8, 16, 32])
    fc = LSTMForecaster(window=2, **dict(FAST, hidden_size=2, epochs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        r = fc.backtest(y, test_size=2)
    naive = r.metrics["naive"]
    assert naive["MAE"] == 12.0 and naive["MASE"] == pytest.approx(36 / 7, rel=1e-15)
    assert naive["sMAPE"] == pytest.approx(200 / 3, rel=1e-15)
    # RMSE = sqrt((8² + 16²) / 2) = sqrt(160)
    assert f"{'naive':<16}{12:>10.3f}{np.sqrt(160):>10.3f}{36 / 7:>8.3f}{200 / 3:>8.2f}" in r.table().splitlines()
    assert "sMAPE%" in r.table().splitlines()[0]
    # a 0 in the test part: sMAPE is n/a, said in a note; naive forecasts 8 and 0 of 0 and 32: MAE 20, RMSE sqrt(544), MASE 60/7
    with pytest.warns(ForecastWarning, match=r"sMAPE is not defined \(n/a\): the test part holds a 0"):
        r = fc.backtest(np.array([1.0, 2, 4, 8, 0, 32]), test_size=2)
    assert np.isnan(r.metrics["naive"]["sMAPE"]) and r.table().splitlines()[3].split()[:5] == ["naive", "20.000", f"{np.sqrt(544):.3f}", f"{60 / 7:.3f}", "n/a"]


def test_a_fitted_forecaster_pickled_before_fitted_params_existed_predicts_and_saves(tmp_path):
    import pickle

    import lstmkit

    y = airline_passengers()[:60]
    fc = LSTMForecaster(window=6, horizon=2, hidden_size=4, epochs=1, seed=0).fit(y)
    old = pickle.loads(pickle.dumps(fc))
    for k in ("fitted_params_", "window_", "horizon_", "log_", "difference_"):  # as a forecaster of a version before them
        del old.__dict__[k]
    del old.__dict__["difference"]  # ... and before a parameter (difference stands for one added later)
    del old.regressor_.__dict__["fitted_params_"]
    restored = pickle.loads(pickle.dumps(old))
    assert restored.fitted_params_ == fc.fitted_params_  # its get_params() at fit, difference at its default
    assert restored.get_params() == fc.get_params() and repr(restored) == repr(fc)
    assert np.array_equal(restored.predict(5), fc.predict(5))
    restored.save(tmp_path / "old.npz")
    assert np.array_equal(lstmkit.load(tmp_path / "old.npz").predict(5), fc.predict(5))
    assert not hasattr(pickle.loads(pickle.dumps(LSTMForecaster(window=3))), "fitted_params_")  # an unfitted one has none


def test_fit_and_backtest_write_the_training_s_progress_to_the_stream_they_are_given(capsys):
    # neither took a stream: the progress (verbose) went to sys.stdout as it stood, and lstmkit forecast swapped
    # sys.stdout for stderr around them to keep its stdout for the table and the forecast
    import io

    y = np.sin(np.arange(30) / 3) + 2
    for run in (lambda fc, out: fc.fit(y, stream=out), lambda fc, out: fc.backtest(y, 6, stream=out)):
        out = io.StringIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ForecastWarning)
            run(LSTMForecaster(window=4, hidden_size=2, epochs=2, seed=0, verbose=2), out)
        assert [line[:9] for line in out.getvalue().splitlines()] == ["epoch 1/2", "epoch 2/2"]
        assert capsys.readouterr().out == ""


def test_a_column_of_times_with_utc_offsets_is_plotted_in_utc(tmp_path, monkeypatch):
    # the x values were the times as written: at the autumn change of clocks in Paris (02:00+02:00 then
    # 02:00+01:00 again, an hour later) the plotted line stepped back an hour. In UTC: 22:00Z on the 26th, then
    # one hour apart, the two ahead in the last row's offset (+01:00): 23:00+01:00 and 00:00+01:00 = 22:00Z, 23:00Z
    from lstmkit.cli import main

    figures = []
    monkeypatch.setattr("lstmkit.io.save_figure", lambda fig, path: figures.append(fig))
    stamps = [f"2024-10-27T{h:02d}:00:00+02:00" for h in (0, 1, 2)] + [f"2024-10-27T{h:02d}:00:00+01:00" for h in range(2, 23)]
    (tmp_path / "p.csv").write_text("time,load\n" + "".join(f"{s},{k % 5 + 1}\n" for k, s in enumerate(stamps)))
    assert main(["forecast", str(tmp_path / "p.csv"), "--column", "load", "--epochs", "0", "--window", "3", "--hidden-size", "2",
                 "--horizon", "2", "--plot", str(tmp_path / "p.png")]) == 0  # fmt: skip
    (ax,) = figures[0].axes
    lines = {line.get_label(): np.asarray(line.get_xdata()) for line in ax.get_lines()}
    x = lines["series"]
    hour = np.timedelta64(3600, "s")
    assert x[0] == np.datetime64("2024-10-26T22:00:00") and (np.diff(x) == hour).all()  # 24 rows an hour apart
    assert list(lines["forecast ahead"]) == [np.datetime64("2024-10-27T22:00:00"), np.datetime64("2024-10-27T23:00:00")]
    assert ax.get_xlabel() == "time (UTC)"


def test_a_daily_or_monthly_column_with_utc_offsets_is_plotted_on_its_local_times(tmp_path, monkeypatch):
    # a daily column at local midnight in Paris (+02:00, then +01:00 from 28 October) was plotted in UTC too: at
    # 22:00 or 23:00 the day before, 24 then 25 hours apart, under 'time (UTC)'. Its steps are read on local time
    # (days), and at one time of day no hour repeats: plotted at midnight as written, a day apart
    from lstmkit.cli import main

    figures = []
    monkeypatch.setattr("lstmkit.io.save_figure", lambda fig, path: figures.append(fig))
    days = np.arange(np.datetime64("2024-10-20"), np.datetime64("2024-11-05"))
    monthly = [f"2024-{m:02d}-01T00:00:00{'+02:00' if m < 11 else '+01:00'}" for m in range(1, 13)]
    for stamps, first, step, ahead in (
        ([f"{d}T00:00:00{'+02:00' if d < np.datetime64('2024-10-28') else '+01:00'}" for d in days], "2024-10-20", "D",
         ["2024-11-05", "2024-11-06"]),
        (monthly, "2024-01-01", "M", ["2025-01-01", "2025-02-01"]),
    ):  # fmt: skip
        figures.clear()
        (tmp_path / "p.csv").write_text("time,load\n" + "".join(f"{s},{k % 5 + 1}\n" for k, s in enumerate(stamps)))
        assert main(["forecast", str(tmp_path / "p.csv"), "--column", "load", "--epochs", "0", "--window", "3", "--hidden-size",
                     "2", "--horizon", "2", "--plot", str(tmp_path / "p.png")]) == 0  # fmt: skip
        (ax,) = figures[0].axes
        lines = {line.get_label(): np.asarray(line.get_xdata()) for line in ax.get_lines()}
        x = lines["series"]
        local = np.arange(np.datetime64(first, step), np.datetime64(first, step) + len(stamps)).astype("datetime64[s]")
        assert np.array_equal(x, local)  # midnight as written; in UTC the day (or month) before at 22:00 or 23:00
        assert list(lines["forecast ahead"]) == [np.datetime64(f"{a}T00:00:00") for a in ahead]
        assert ax.get_xlabel() == "time"


def test_baselines_mase_with_a_scale_of_0_divides_by_machine_epsilon_as_backtest_does():
    # baselines.mase returned inf for a scale of 0 (0/0 said inf too) while backtest divided by machine epsilon:
    # one rule, sktime's, MAE / max(scale, eps)
    from lstmkit import baselines as bl

    eps = 2.220446049250313e-16  # 2^-52, float64's machine epsilon: sktime's EPS
    y = np.array([5.0, 5.0, 5.0])
    assert bl.mase(y, y, 0.0) == 0.0  # an exact forecast: 0 / eps
    assert bl.mase(y, np.array([5.0, 6.0, 8.0]), 0.0) == (4 / 3) / eps  # MAE (0 + 1 + 3) / 3
    assert bl.mase(y, np.array([5.0, 6.0, 8.0]), 1e-300) == (4 / 3) / eps  # below eps: eps too
    assert bl.mase(y, np.array([5.0, 6.0, 8.0]), 2.0) == 2 / 3  # an ordinary scale: as before
    assert np.isnan(bl.mase(y, y, float("nan")))
    assert bl.EPS == eps


def test_training_history_is_the_training_log_on_all_four_and_the_series_is_series_(tmp_path):
    # API audit #4: history_ was the training log on the classifier, regressor and generator but the fitted series
    # (an ndarray) on the forecaster. training_history_ is the log on all four; the forecaster's series is series_,
    # its history_ a deprecated alias that says what to use
    from lstmkit import LSTMClassifier, TextGenerator
    from lstmkit.training import History

    y = 10 + np.sin(np.arange(30) / 3)
    fc = LSTMForecaster(window=5, horizon=2, **dict(FAST, epochs=2)).fit(y)
    np.testing.assert_array_equal(fc.series_, y[:, None])
    assert isinstance(fc.training_history_, History) and len(fc.training_history_["loss"]) == 2
    with pytest.warns(FutureWarning, match=re.escape("LSTMForecaster.history_ is the fitted series, now named series_")):
        assert fc.history_ is fc.series_
    fc.save(tmp_path / "f.npz")  # the file keeps the series under its old key: files written before load as they did
    back = LSTMForecaster.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(back.series_, y[:, None])
    import pickle  # a forecaster pickled before the rename (its series in __dict__ as history_) unpickles with series_

    state = dict(fc.__dict__)
    state["history_"] = state.pop("series_")
    old = LSTMForecaster.__new__(LSTMForecaster)
    old.__setstate__(state)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(old)).predict(2), fc.predict(2))
    X = np.random.default_rng(0).normal(size=(8, 3, 1))
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, X[:, 0, 0] > 0)
    gen = TextGenerator(hidden_size=4, seq_len=5, batch_size=2, epochs=1).fit("abcabcabcabc")
    for est in (clf, gen):
        assert isinstance(est.history_, History) and est.training_history_ is est.history_


def test_a_stream_without_write_is_refused_in_fits_and_backtests_name():
    # fit's refusal said "LSTMRegressor.fit:" (the inner estimator's), backtest's too
    y = np.arange(40.0)
    with pytest.raises(TypeError, match=r"^LSTMForecaster\.fit: expected stream None \(sys\.stdout\) or a text stream"):
        LSTMForecaster(window=3, horizon=1, epochs=1).fit(y, stream=5)
    with pytest.raises(TypeError, match=r"^LSTMForecaster\.backtest: expected stream None \(sys\.stdout\) or a text stream"):
        LSTMForecaster(window=3, horizon=1, epochs=1).backtest(y, 5, stream=5)
