"""``LSTMForecaster``: seed 002's "predict the next values of a time series", with honest baselines.

Pipeline, fitted on the training part only and inverted on output (S series, window W, horizon H):

    y      (N, S)   raw series (a 1-D series is S = 1)
    u_t  = log y_t                      if log=True        (needs y > 0)
    z_t  = u_t - u_{t-1}                if difference=1    (else z_t = u_t)
    s_t  = (z_t - μ) / σ                μ, σ per series, from the training part
    X_j  = s_{j..j+W-1}        (W, S)   one input window
    Y_j  = s_{j+W..j+W+H-1}    (H, S)   the next H values, flattened to (H*S,)

The model is an LSTM over the window whose last hidden state feeds a linear read-out to all H*S
outputs at once: a **direct multi-output** forecast (no feeding back of its own predictions within
the horizon). Asking for more than H steps repeats that block recursively, each block conditioned on
the previous block's forecast; this is said in :meth:`LSTMForecaster.predict`. ``validation_split``
validates on the last windows, the end of the series (chronological, not random).

:meth:`LSTMForecaster.backtest` holds out the last part of a series, fits on the rest, and makes a
forecast from every origin in the held-out part using the true history up to that origin. It
scores the LSTM beside the naive (last value) and seasonal-naive forecasts, which ignore a trend,
and a trend-aware one (seasonal naive × the last growth over a season, ``seasonal_growth``, for a
positive seasonal series; else ``drift``, the last value plus the mean step) on exactly the same
(origin, lead) pairs with MAE, RMSE, MASE and sMAPE (see :mod:`lstmkit.baselines`), and reports
corr(ŷ_t, y_{t-s}) for s = 0..3: a model that only repeats the last value peaks at s = 1. When
the model is no better than a baseline, a :class:`ForecastWarning` says so. :func:`plot_forecast` draws
the series, the backtest and the forecast ahead (matplotlib, imported there).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import baselines as bl
from ._checks import LstmkitWarning, all_finite, check_int, count, fail, first_index, is_int, is_number, optional_import
from .estimators import FLOAT64_MAX, NotFittedError, check_hyper_parameters, json_params, keyword_only, mean_and_scale, r2, with_defaults
from .saving import register
from .training import check_stream

KIND = "LSTMForecaster"

#: what MASE divides by when the training part's naive error is 0 (sktime's EPS): machine epsilon of float64,
#: :func:`lstmkit.baselines.mase`'s rule
EPS = bl.EPS


class ForecastWarning(LstmkitWarning):
    """The forecast is no better than a baseline (or merely lags the input)."""


#: what to do about a missing value (NaN) in a series, said wherever one is refused (lstmkit forecast's CSV blanks too)
FILL = ("Fill missing values first (interpolate them, say), or keep only the rows after the last gap: the "
        "forecaster reads the rows as evenly spaced steps.")  # fmt: skip


def as_series(y, where: str, arg: str = "y", stacklevel: int = 3) -> tuple[np.ndarray, bool]:
    """(N,) or (N, S) real array -> ((N, S) float64, was_1d). Rejects NaN (with :data:`FILL`), inf,
    3-D, and empty: no values (N = 0) or no series (S = 0); a pandas DataFrame's non-numeric
    columns are named. A pandas Series or DataFrame with times as its index (datetime64, a
    DatetimeIndex, or a PeriodIndex; read without importing pandas) is checked by :func:`check_time_index`: rows out
    of time order are refused, uneven steps warned of (``stacklevel``: the warning's, for the
    user's line)."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        _refuse_columns(y, where, arg)
        fail(where, arg, "a real numeric array (N,) or (N, n_series)", "None" if y is None else f"dtype {arr.dtype}", exc=TypeError)
    if arr.ndim not in (1, 2):
        fail(where, arg, "a 1-D series (N,) or a 2-D array (N, n_series)", f"{arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:  # (0,), (0, S) or (N, 0): nothing to fit, forecast from or score
        fail(where, arg, "at least one value" if len(arr) == 0 else "at least one series (column)", f"an empty array of shape {arr.shape}")
    arr = arr.astype(np.float64, order="C")
    if not all_finite(arr):  # the first value refused, and what to do about it
        at = first_index(~np.isfinite(arr))
        fail(where, arg, "finite values", f"{arr[at]} at index {at}", FILL if np.isnan(arr[at]) else "Replace the infinite values.")
    check_time_index(y, where, arg, stacklevel + 1)
    was_1d = arr.ndim == 1
    return (arr[:, None] if was_1d else arr), was_1d


def _refuse_columns(y, where: str, arg: str) -> None:
    """A pandas DataFrame ``y`` (``columns`` and ``dtypes``) with non-numeric columns (a date column
    left in, text): refused naming them (TypeError), and how to keep the series."""
    columns, dtypes = getattr(y, "columns", None), getattr(y, "dtypes", None)
    if columns is None or dtypes is None or isinstance(y, np.ndarray):
        return
    kinds = [(c, dt, getattr(dt, "kind", "O")) for c, dt in zip(columns, dtypes)]  # pandas' own dtypes (Int64) have a kind
    bad = [(c, dt) for c, dt, kind in kinds if kind not in "iuf"]
    if not bad:
        return
    numeric = [c for c, _, kind in kinds if kind in "iuf"]
    keep = f"select the series ({arg}[{numeric!r}])" if numeric else "select the columns of the series"
    fail(where, arg, "a real numeric array (N,) or (N, n_series)",
         f"non-numeric column{'s' if len(bad) > 1 else ''} " + ", ".join(f"{c!r} (dtype {dt})" for c, dt in bad),
         f"Keep only the series: {keep}, or make a column of dates the index ({arg}.set_index({bad[0][0]!r})).",
         exc=TypeError)  # fmt: skip


def check_time_index(y, where: str, arg: str = "y", stacklevel: int = 2) -> None:
    """Check the times of a pandas Series' or DataFrame's index (``y.index`` holding datetime64: a
    DatetimeIndex; a tz-aware one's order and steps within a day read in UTC, its calendar -
    time of day, day of month, weekday - and the times shown in its local time, so neither change of
    clocks reads as a gap or a time twice); anything else (a NumPy array, a list, a RangeIndex) is
    not checked. A PeriodIndex is checked on its periods, a step counted in its ``freq``'s unit (a
    monthly one's step from 2020-01 to 2020-03 is 2 periods of 'M'; a '15min' one's steps are 15
    periods of 'min'). The forecaster reads the rows in their order
    as evenly spaced steps, so

    - times not increasing (a series sorted newest first, a time twice) or NaT are refused
      (ValueError naming ``arg``'s index, and "sort it: y.sort_index()");
    - uneven steps (a gap) are warned of (UserWarning, ``stacklevel``). When every time is at
      one local time of day (midnight, or any other: a daily 09:00), a step is in months when
      every time is on the same day of the month, or on the month's last day (monthly,
      quarterly, yearly data), in business days when every time is a Monday to Friday and the
      weekends are skipped (a step from a Friday to the Monday), else in local days (a change of
      clocks between two 09:00s is still 1 day); otherwise a step is in time (hours, minutes,
      seconds, in UTC when tz-aware); the usual step is the median one.
    """
    index = getattr(y, "index", None)
    if index is None or callable(index) or isinstance(y, np.ndarray):  # a list's index is a method
        return
    name = f"{arg}'s index"
    if str(getattr(index, "dtype", "")).startswith("period"):  # a PeriodIndex: its periods, counted in its freq
        try:
            # period numbers, in the freq's unit (a '15min' index's go up by 15, of 'min'); NaT: int64's min
            ordinals, freq = np.asarray(index.asi8, dtype=np.int64), str(index.freqstr).lstrip("0123456789")
        except (TypeError, ValueError, AttributeError):
            return
        if ordinals.ndim != 1 or len(ordinals) < 2:
            return
        def shown(i: int) -> str:  # row i's period, as pandas writes it ('2020-03', '2020Q1'): only the rows named
            return str(index[i])

        nat, steps = ordinals == np.iinfo(np.int64).min, np.diff(ordinals)
        usual = None if nat.any() or (steps <= 0).any() else int(np.median(steps))
        every = f"{usual} period" + ("s" if usual != 1 else "") + f" of {freq!r}"
    else:
        aware = getattr(index, "tz", None) is not None
        try:
            # order, NaT and steps within a day on the instants (UTC: an hour stays an hour across a change of clocks),
            # the calendar (time of day, day of month, weekday) on the local times (a day stays a day)
            t = np.asarray(index.tz_convert(None) if aware else index)
            local = np.asarray(index.tz_localize(None)) if aware else t
        except (TypeError, ValueError, AttributeError):
            return
        if t.dtype.kind != "M" or t.ndim != 1 or len(t) < 2:
            return
        t, local = t.astype("datetime64[ns]"), local.astype("datetime64[ns]")  # local: the times shown
        def shown(i: int) -> str:  # row i's local time: only the rows a message names (not every row's, each call)
            return _when(local[i])

        nat, steps = np.isnat(t), np.diff(t).astype(np.int64)  # ns
        if not nat.any() and (steps > 0).all():
            steps, unit = calendar_steps(local, t)
            usual = int(np.median(steps)) if unit else float(np.median(steps))
            every = f"{usual} {unit}" + ("s" if usual != 1 else "") if unit else duration(usual)
    if nat.any():
        i = int(np.argmax(nat))
        fail(where, name, "times (the rows' times, in order)", f"NaT at row {i}", "Drop the row or set its time.")
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        fail(where, name, "increasing times (the rows in time order)", f"{shown(i + 1)} at row {i + 1} after "
             f"{shown(i)} at row {i}", f"The series is read in row order: sort it: {arg}.sort_index().")  # fmt: skip
    uneven = steps != usual
    if uneven.any():
        i = int(np.argmax(uneven))
        warnings.warn(f"{where}: {name} is unevenly spaced: {int(uneven.sum())} of {len(steps)} steps differ from the usual "
                      f"{every}, the first from {shown(i)} to {shown(i + 1)} (rows {i} to {i + 1}). The "
                      "forecaster reads the rows as evenly spaced: fill the gaps (or resample) for a forecast in time.",
                      LstmkitWarning, stacklevel=stacklevel)  # fmt: skip


def calendar_steps(local: np.ndarray, instants: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The steps between times ``local`` (N,) datetime64, N >= 2, increasing, as shown (local
    times), and their unit: when every time is at one time of day, in months ('month') when every
    time is on the same day of the month or on the month's last day, else in business days
    ('business day', :func:`business_days`), else in days ('day'); otherwise in nanoseconds ('')
    between ``instants`` (N,) datetime64, the same times in UTC (default: ``local``). Steps (N - 1,)
    int64. The one rule of :func:`check_time_index` and ``lstmkit forecast``'s column of times."""
    local = np.asarray(local).astype("datetime64[ns]")
    days = local.astype("datetime64[D]")
    time_of_day = (local - days.astype("datetime64[ns]")).astype(np.int64)  # ns since local midnight
    one_time = bool((time_of_day == time_of_day[0]).all())  # every row at one local time of day: calendar steps
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)  # 0-based
    month_end = (days + 1).astype("datetime64[M]") != month
    if one_time and (len(set(day_of_month.tolist())) == 1 or month_end.all()):
        return np.diff(month.astype(np.int64)), "month"
    if one_time and business_days(days):  # steps counted in business days
        return np.busday_count(days[:-1], days[1:]).astype(np.int64), "business day"
    if one_time:  # days (a week: 7), local: 23 or 25 hours apart in UTC across a change of clocks
        return np.diff(days.astype(np.int64)), "day"
    return np.diff(np.asarray(local if instants is None else instants).astype("datetime64[ns]")).astype(np.int64), ""


def business_days(days: np.ndarray) -> bool:
    """Whether dates ``days`` (N,) datetime64[D], increasing, are a business-day series: weekdays
    only (Monday to Friday), the weekends skipped (a step from a Friday to the Monday, 3 days, at
    least once). Its steps are then counted in business days (``np.busday_count``), as both
    :func:`check_time_index` and ``lstmkit forecast``'s column of dates count them."""
    days = np.asarray(days, dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 0 Monday .. 6 Sunday (1970-01-01 was a Thursday)
    return bool((weekday < 5).all() and ((weekday[:-1] == 4) & (np.diff(days.astype(np.int64)) == 3)).any())


def _when(t: np.datetime64) -> str:
    """A time as ISO text: the day alone at midnight, else to the second (or finer when it has more)."""
    day = t.astype("datetime64[D]")
    if t == day:
        return str(day)
    return str(t.astype("datetime64[s]")) if t == t.astype("datetime64[s]") else str(t)


def duration(ns: float) -> str:
    """A step of ``ns`` nanoseconds in words, in the largest unit it is a whole number of: '1 day',
    '6 hours', '15 minutes', '90 seconds', '0.5 seconds' (a pandas index's steps, and ``lstmkit
    forecast``'s column of times)."""
    for size, unit in ((86400e9, "day"), (3600e9, "hour"), (60e9, "minute"), (1e9, "second")):
        if ns >= size and float(ns / size).is_integer():
            n = int(ns / size)
            return f"{n} {unit}" + ("s" if n != 1 else "")
    return f"{ns / 1e9:g} seconds"


#: the largest magnitude a value in model space (y, or log y) may have: the difference of two such values, or
#: one less the mean, stays finite below it (a quarter of float64's largest, about 4.49e307)
LARGEST = FLOAT64_MAX / 4
#: the largest magnitude of a fitted mean and scale (per series): fit computes them from model-space values (each
#: within ±LARGEST, their differences within ±2 LARGEST), so they are within ±2 LARGEST, half of float64's largest;
#: a scaled output z within ±1 then maps back to z scale + mean, finite. A model file's are checked against it
SCALING_LARGEST = 2 * LARGEST


def read_series(path, column) -> np.ndarray:
    """A series from CSV column(s): ``column`` a name/index -> (N,), a list of them -> (N, S)."""
    from .tables import read_csv_columns

    y = read_csv_columns(path, column)  # (N, len(columns))
    return y[:, 0] if isinstance(column, (str, int, np.integer)) else y


@dataclass
class BacktestResult:
    """Scores of the LSTM and the baselines on the same held-out (origin, lead) pairs.

    forecasts: method ("lstm", "naive", "seasonal_naive" with a season, and "seasonal_growth" or
    "drift": :meth:`LSTMForecaster.backtest`) -> (n_origins, H, S) forecasts; actual: (n_origins, H, S) with NaN where the
    lead runs past the series; origins: (n_origins,) indices of the first unseen value; names: the
    S series' names. Each series is scored on its own (errors in sales and in °C pooled into one
    figure mean nothing): metrics: method -> {"MAE", "RMSE", "MASE", "sMAPE"} (MASE the MAE over the
    training part's in-sample seasonal-naive MAE, sMAPE in percent and NaN when the scored values
    hold a 0: :mod:`lstmkit.baselines`); lag_corr: s -> corr(ŷ_t,
    y_{t-s}) of the lead-1 LSTM forecasts; skill_vs_naive: 1 - MAE_lstm / MAE_naive (> 0: better
    than naive). Each is a float for one series and an (S,) array, one per series, for several;
    :meth:`series` gives one series' result with floats.
    """

    origins: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float | np.ndarray]]
    lag_corr: dict[int, float | np.ndarray]
    skill_vs_naive: float | np.ndarray
    notes: list[str] = field(default_factory=list)
    names: tuple[str, ...] = ()
    parts: list["BacktestResult"] = field(default_factory=list, repr=False)  # several series: one result each

    def series(self, key: int | str) -> "BacktestResult":
        """One series' result (metrics as floats), by position or by name."""
        S = self.actual.shape[2]
        names = list(self.names) or [f"series{j}" for j in range(S)]
        if isinstance(key, str) and key in names:
            key = names.index(key)
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)) or not -S <= key < S:
            fail("BacktestResult.series", "key", f"a position 0..{S - 1} or a name among {names}", repr(key), exc=KeyError)
        return self.parts[key] if self.parts else self

    def mae_by_lead(self) -> dict[str, np.ndarray]:
        """method -> MAE of each lead over the origins where it is scored: (H,) for one series, (H, S)
        for several (each series on its own); NaN for a lead that no origin scores (the test part
        ends before it)."""
        ok = ~np.isnan(self.actual)
        err = {k: np.where(ok, np.abs(np.nan_to_num(self.actual) - f), 0.0) for k, f in self.forecasts.items()}
        n = ok.sum(axis=0)  # (H, S)
        by_lead = {k: np.where(n > 0, e.sum(axis=0) / np.maximum(n, 1), np.nan) for k, e in err.items()}  # (H, S)
        return {k: v[:, 0] for k, v in by_lead.items()} if self.actual.shape[2] == 1 else by_lead

    def table(self) -> str:
        """A plain-text table: one row per method, MAE / RMSE / MASE / sMAPE (%; n/a when undefined),
        best MAE marked; several series: one such table each, under its name."""
        if self.parts:
            return "\n\n".join(f"{name}:\n{part.table()}" for name, part in zip(self.names, self.parts))
        best = min(self.metrics, key=lambda k: self.metrics[k]["MAE"])
        lines = [f"{'method':<16}{'MAE':>10}{'RMSE':>10}{'MASE':>8}{'sMAPE%':>8}", "-" * 52]
        for name, m in self.metrics.items():
            mark = "  <- best" if name == best else ""
            mase = f"{m['MASE']:>8.3f}" if m["MASE"] < 1e4 else f"{m['MASE']:>8.1e}"  # 8 wide: huge when MASE's scale is 0
            smape = m.get("sMAPE", np.nan)
            smape = f"{smape:>8.2f}" if np.isfinite(smape) else f"{'n/a':>8}"  # n/a: the scored values hold a 0
            lines.append(f"{name:<16}{m['MAE']:>10.3f}{m['RMSE']:>10.3f}{mase}{smape}{mark}")
        if self.actual.shape[1] > 1:
            width = max(16, 3 + max(len(name) for name in self.forecasts))  # 'seasonal_growth' and a space
            lines.append(f"{'MAE by lead':<{width}}" + " ".join(f"{h:>7d}" for h in range(1, self.actual.shape[1] + 1)))
            for name, v in self.mae_by_lead().items():
                lines.append(f"  {name:<{width - 2}}" + " ".join(f"{x:7.1f}" if np.isfinite(x) else f"{'n/a':>7}" for x in v))
            if np.isnan(next(iter(self.mae_by_lead().values()))).any():
                lines.append("  (n/a: a lead beyond the end of the test part, scored at no origin)")
        lags = ", ".join(f"s={s}: {c:+.3f}" for s, c in self.lag_corr.items())
        lines.append(f"lag check corr(forecast_t, actual_(t-s)): {lags}")
        lines.append(f"skill vs naive (1 - MAE/MAE_naive): {self.skill_vs_naive:+.3f}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def plot_forecast(path, y, result: BacktestResult | None = None, forecast=None, *, times=None, times_ahead=None,
                  time_label: str | None = None, names=None, title: str = "") -> None:
    """A figure of a series, its backtest and its forecast ahead, written to ``path`` (atomically)
    in the format its suffix names (.png, .pdf, .svg; :func:`lstmkit.io.save_figure`). One panel
    per series, one above the other on a shared x axis::

        y            (N,) or (N, S)   the series, in black, drawn on top of the forecasts
        result       BacktestResult   of ``backtest(y, ...)``, or None: each method's lead-1 forecasts
                                      at its origins (n_origins,), labelled with their lead-1 MAE and
                                      the MAE over all leads, and a line where the test part starts
        forecast     (k,) or (k, S)   the values ahead (``predict(k)``), or None; (k,) for one series
        times        (N,)             each row's x value: numbers, or dates as NumPy datetime64 (drawn
                                      as dates); default the row index 0..N-1
        times_ahead  (k,)             the forecast's, as ``times`` (needed with both); default N..N+k-1
        time_label   str              the x axis' name; default "time index" ("time" with ``times``)
        names        S str            the panels' y axis names; default "value"

    ``result`` and ``forecast`` are in y's units, as ``backtest`` and ``predict`` give them.
    matplotlib (an optional extra, ``lstmkit[cli]``) is imported here, never by the engine;
    everything is checked before; without it, a ModuleNotFoundError (``name="matplotlib"``) gives
    the pip line that installs it.
    """
    where = "plot_forecast"
    y2, _ = as_series(y, where)  # (N, S)
    N, S = y2.shape
    f2 = None
    if forecast is not None:
        f = np.asarray(forecast)
        if f.dtype.kind not in "iuf" or f.ndim not in (1, 2) or (f.ndim == 1 and S != 1) or (f.ndim == 2 and f.shape[1] != S):
            shape = "(k,) or (k, 1)" if S == 1 else f"(k, {S})"
            fail(where, "forecast", f"a real array {shape}, a value ahead per row for each of y's {S} series",
                 f"{f.dtype} shape {f.shape}", "Give predict(k)'s output for this series.")  # fmt: skip
        f2 = f.astype(np.float64).reshape(len(f), S)  # (k, S)
    k = 0 if f2 is None else len(f2)
    if result is not None:
        if not isinstance(result, BacktestResult):
            fail(where, "result", "a BacktestResult (LSTMForecaster.backtest's) or None", type(result).__name__, exc=TypeError)
        o = np.asarray(result.origins)
        if result.actual.shape[2] != S or not len(o) or not 0 < o.min() <= o.max() < N:  # rows 1..N-1: a value seen before each
            origins = f"origins {o.min()}..{o.max()}" if len(o) else "no origins"
            fail(where, "result", f"a backtest of y ({count(N, 'row')}, {S} series)",
                 f"one of {result.actual.shape[2]} series with {origins}", "Give the result of backtest(y, ...) on this y.")  # fmt: skip
        if not np.allclose(result.actual[:, 0, :], y2[o], rtol=1e-12, atol=0, equal_nan=True):  # its lead-1 values are y's
            fail(where, "result", "a backtest of y (its actual values at the origins are y's)",
                 "a backtest of another series", "Give the result of backtest(y, ...) on this y.")  # fmt: skip
    if times is None:
        if times_ahead is not None:
            fail(where, "times_ahead", "None without times (the forecast then goes on from row N)", "an array")
        x, x_ahead = np.arange(N, dtype=np.float64), np.arange(N, N + k, dtype=np.float64)
    else:
        x = _plot_times(times, N, "times", "y's rows")
        if k and times_ahead is None:
            fail(where, "times_ahead", f"{k} times for the {count(k, 'value')} ahead, with times", "None",
                 "Give the times the forecast is for.")  # fmt: skip
        if not k and times_ahead is not None:
            fail(where, "times_ahead", "None without a forecast (they are the forecast's times)", "an array")
        x_ahead = _plot_times(times_ahead if k else np.array([], dtype=x.dtype), k, "times_ahead", "the forecast's rows")
        if (x.dtype.kind == "M") != (x_ahead.dtype.kind == "M"):
            fail(where, "times_ahead", f"of the kind of times ({x.dtype})", f"{x_ahead.dtype}", "Give both as dates or both as numbers.")
    if names is not None:
        names = list(names) if not isinstance(names, str) else [names]
        if len(names) != S or not all(isinstance(n, str) for n in names):
            fail(where, "names", f"{count(S, 'name')} (str), one per series", repr(names))
    if time_label is not None and not isinstance(time_label, str):
        fail(where, "time_label", "a str or None", type(time_label).__name__, exc=TypeError)
    if not isinstance(title, str):
        fail(where, "title", "a str", type(title).__name__, exc=TypeError)

    with optional_import("matplotlib", where, "to draw the forecast"):
        from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

    from ._palette import BLACK, BLUE, GREEN, GREY, PURPLE, VERMILLION
    from .io import save_figure

    fig = Figure(figsize=(9, 1.5 + 2.5 * S) if S > 1 else (9, 4))
    axes = fig.subplots(S, 1, sharex=True, squeeze=False)[:, 0]
    # each curve its own colour (Okabe-Ito), line style and marker: told apart in greyscale and by colour-blind readers
    styles = {"lstm": (VERMILLION, "--", "s"), "naive": (GREY, ":", None), "seasonal_naive": (BLUE, "-.", "^"),
              "seasonal_growth": (GREEN, (0, (5, 1, 1, 1, 1, 1)), "v"), "drift": (GREEN, (0, (5, 1, 1, 1, 1, 1)), "v")}
    for j, ax in enumerate(axes):
        # on top of the forecasts (zorder 3 over lines' 2): they overlap the series in the test part, which stays visible
        ax.plot(x, y2[:, j], color=BLACK, lw=1.2, label="series", zorder=3)
        if result is not None:
            r = result.series(j)
            lead1 = r.mae_by_lead()  # the curves are lead-1 forecasts: label them with lead-1 MAE
            for name, fj in r.forecasts.items():  # (n_origins, H, 1)
                c, ls, marker = styles.get(name, (GREY, (0, (3, 1)), "D"))
                mae1, mae = lead1[name][0], r.metrics[name]["MAE"]
                ax.plot(x[r.origins], fj[:, 0, 0], ls=ls, marker=marker, ms=3, markevery=max(1, len(r.origins) // 12), color=c,
                        label=f"{name}: lead 1 (MAE {mae1:.1f}; all leads {mae:.1f})")  # fmt: skip
            o = r.origins[0]
            ax.axvline(x[o - 1] + (x[o] - x[o - 1]) / 2, color=GREY, lw=0.8)  # between the last seen value and the first unseen
        if f2 is not None:
            ax.plot(x_ahead, f2[:, j], ls="-", marker="o", ms=3, color=PURPLE, lw=2, label="forecast ahead")
        ax.set_ylabel(names[j] if names else "value")
        ax.legend(fontsize=8)
    axes[-1].set_xlabel(time_label if time_label is not None else "time index" if times is None else "time")
    axes[0].set_title(title)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_times(t, n: int, arg: str, rows: str) -> np.ndarray:
    """``t`` as (n,) finite numbers (float64) or datetime64 (no NaT), for :func:`plot_forecast`."""
    arr = np.asarray(t)
    if arr.dtype.kind not in "iufM" or arr.shape != (n,):
        fail("plot_forecast", arg, f"({n},): a number or a NumPy datetime64 for each of {rows}", f"{arr.dtype} shape {arr.shape}")
    bad = np.isnat(arr) if arr.dtype.kind == "M" else ~np.isfinite(arr.astype(np.float64))
    if bad.any():
        fail("plot_forecast", arg, "finite numbers or dates", f"{arr[bad][0]} at index {int(np.argmax(bad))}")
    return arr if arr.dtype.kind == "M" else arr.astype(np.float64)


@register
class LSTMForecaster:
    """Forecast one or several series with an LSTM over a sliding window (direct multi-output).

    Parameters
    ----------
    window : int            W, input steps per forecast
    horizon : int           H, steps forecast at once (direct multi-output)
    seasonal_period : int   m for the seasonal-naive baseline and MASE (None: no season, m = 1)
    log : bool              model log y (every value must be > 0)
    difference : int        0: model levels, 1: model first differences z_t = u_t - u_{t-1}
    validation_split : float
                            the fraction of the windows held out to validate, **the last ones**: the end
                            of the series, in time (as Keras' validation_split takes the last fraction;
                            a random choice would validate on windows earlier than those trained on).
                            The count is round(n_windows * validation_split). Before them, the horizon - 1
                            windows whose targets reach into the validated windows' targets are left
                            out of training, and the scaling is fitted on the values the training
                            windows hold: no value that validation scores is seen in training. (The
                            last training targets are the first validated windows' inputs: values
                            before the validated ones, as a forecast's input always is.) The
                            val_* numbers of ``training_history_`` score these windows (see below),
                            and ``patience`` stops on val_loss.
    hidden_size, num_layers, bidirectional, dropout, forget_bias, lstm_options, epochs, batch_size, optimizer,
    learning_rate, clip, patience, seed, verbose : passed to the
    :class:`lstmkit.LSTMRegressor` that is trained (its targets are already scaled here, so it
    does not standardize again). ``lstm_options`` holds ``proj_size`` and the LSTM variants, e.g.
    ``{"peephole": True, "zoneout_cell": 0.1}`` (see :class:`lstmkit.LSTMRegressor`).

    Learned attributes: ``window_``, ``horizon_``, ``log_``, ``difference_`` (the pipeline predict
    runs: the parameters at fit; as in scikit-learn, ``set_params`` takes effect at the next fit),
    ``fitted_params_`` (every parameter at fit, as JSON: what ``save`` writes),
    ``n_series_``, ``is_1d_``, ``mean_``/``scale_`` (S,), ``series_`` (N, S)
    the fitted series (``history_`` before, a name the estimators give their training log: reading
    it still works, with a FutureWarning), ``series_names_`` the S series' names at fit (a tuple of str, from
    ``fit(y, names=...)``, a pandas DataFrame's columns or a Series' name; None when none were
    given), ``validation_indices_`` the windows validation_split held out (int64, ascending; None
    without a split): window j's inputs are the model-space values j..j+W-1 and its targets
    j+W..j+W+H-1, i.e. y[j+W+difference .. j+W+H-1+difference] (model value i is made from y[i] and,
    with difference=1, y[i+1]), ``regressor_`` the trained :class:`lstmkit.LSTMRegressor` and its
    ``training_history_`` (:class:`lstmkit.History`). All are saved with the model, and a file
    saved before ``series_names_`` was recorded loads with None. One saved before
    ``validation_indices_`` was recorded (when the split was a seeded random choice of the windows)
    loads with the windows that choice held out, as its regressor recorded them (None without a
    split; without the attribute from a file older than that record), and saves again as it loaded.

    What training reports (the progress lines, ``training_history_``): ``loss`` and ``val_loss``,
    the objective, are the MSE of the scaled model-space targets s_t; the MAE is in the units of
    what the network forecasts, the scaling undone (|ŝ - s| * σ = |ẑ - z|, each series with its σ,
    ``scale_``), and named by what that is: with neither log nor difference, y itself, so ``mae``
    and ``val_mae`` are the MAE in y's units; with ``difference=1`` the one-step changes
    y_t - y_{t-1}, in y's units, ``mae_diff``; with ``log=True`` log y, ``mae_log`` (a difference of
    logs reads as a relative error: 0.05 is about 5%); with both, the changes of log y (about the
    relative changes), ``mae_log_diff``. They are not called mae, as the forecast's MAE in y's units
    is not what they measure, and training cannot score that one: undoing a difference needs the
    level before each window's targets, and a forecast H steps ahead adds up H predicted changes,
    none of which a batch of scaled windows carries; :meth:`backtest` scores the forecasts in y's
    units.

    Series names work as scikit-learn's ``feature_names_in_``: when the forecaster recorded them,
    ``predict`` and ``score`` refuse a history named otherwise (other series, or the same in
    another order: each series has its own scaling and outputs), and warn when given one with no
    names (a NumPy array: its columns are read as the recorded series, in order).
    """

    @keyword_only
    def __init__(
        self,
        *,
        window: int = 12,
        horizon: int = 1,
        seasonal_period: int | None = None,
        log: bool = False,
        difference: int = 0,
        hidden_size: int = 32,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        forget_bias: float | None = 1.0,
        lstm_options: dict | None = None,
        epochs: int = 100,
        batch_size: int = 16,
        optimizer: str = "adam",
        learning_rate: float = 0.01,
        clip: float | None = 5.0,
        patience: int | None = None,
        validation_split: float = 0.0,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        self.window = window
        self.horizon = horizon
        self.seasonal_period = seasonal_period
        self.log = log
        self.difference = difference
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.forget_bias = forget_bias
        self.lstm_options = lstm_options
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clip = clip
        self.patience = patience
        self.validation_split = validation_split
        self.seed = seed
        self.verbose = verbose

    # -- scikit-learn conventions ----------------------------------------------------------
    _param_names = (
        "window", "horizon", "seasonal_period", "log", "difference", "hidden_size", "num_layers", "bidirectional", "dropout", "forget_bias", "lstm_options", "epochs",
        "batch_size", "optimizer", "learning_rate", "clip", "patience", "validation_split", "seed", "verbose",
    )  # fmt: skip

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params) -> "LSTMForecaster":
        for k, v in params.items():
            if k not in self._param_names:
                fail(KIND, "parameter", f"one of {list(self._param_names)}", repr(k), exc=ValueError)
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = LSTMForecaster().get_params()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"LSTMForecaster({changed})"

    @property
    def history_(self) -> np.ndarray:
        """Deprecated name of ``series_``, the fitted series (N, S) (FutureWarning): on
        :class:`~lstmkit.LSTMClassifier`, :class:`~lstmkit.LSTMRegressor` and
        :class:`~lstmkit.TextGenerator` ``history_`` is the training log, which is the
        forecaster's ``training_history_``."""
        warnings.warn(f"{KIND}.history_ is the fitted series, now named series_ (history_ will go in a future version); "
                      "the training log is training_history_.", FutureWarning, stacklevel=2)  # fmt: skip
        return self.series_

    def _check_params(self) -> None:
        check_int(self.window, KIND, "window", minimum=1)
        check_int(self.horizon, KIND, "horizon", minimum=1)
        if self.seasonal_period is not None:
            check_int(self.seasonal_period, KIND, "seasonal_period", minimum=1)
        if check_int(self.difference, KIND, "difference") not in (0, 1):  # True, 1.0: refused, not read as 1
            fail(KIND, "difference", "0 or 1", repr(self.difference))
        check_hyper_parameters(self, KIND)  # the regressor's (bidirectional, log too), named as the forecaster's

    def __setstate__(self, state: dict) -> None:
        """Unpickling: a fitted forecaster pickled before ``fitted_params_`` was recorded gets it,
        and ``window_``, ``horizon_``, ``log_``, ``difference_``, from its parameters as pickled
        (what predict and save read before then; without them they raised AttributeError), as
        :class:`~lstmkit.estimators.LSTMRegressor` does; one pickled before ``series_`` was named
        so has its ``history_`` as ``series_``. A parameter added since the pickle was made gets its
        default first (:func:`~lstmkit.estimators.with_defaults`)."""
        state = with_defaults(type(self), state)
        if "history_" in state:
            state.setdefault("series_", state.pop("history_"))
        self.__dict__.update(state)
        if "regressor_" in state and "fitted_params_" not in state:
            self._fitted_pipeline(json_params(self.get_params()))

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "regressor_"):
            raise NotFittedError(f"LSTMForecaster.{what}: expected a fitted forecaster, got one that is not fitted. Call fit(y) first.")

    # -- transform pipeline ----------------------------------------------------------------
    def _to_model_space(self, y: np.ndarray, log: bool, difference: int, where: str = KIND, arg: str = "y",
                        was_1d: bool = False) -> np.ndarray:
        """(N, S) raw -> (N - difference, S) log/differenced, unscaled (``log`` and ``difference``:
        the parameters of the fit about to run, or ``log_`` and ``difference_``, those of the fitted model).
        A value refused is named as in ``arg`` of ``where`` (its index in a 1-D series when ``was_1d``)."""
        u = y

        def index(bad):
            at = first_index(bad)
            return at, (at[0] if was_1d else at)

        if log:
            if (y <= 0).any():
                at, shown = index(y <= 0)
                fail(where, arg, "values > 0 with log=True", f"{y[at]} at index {shown}", "Use log=False.")
            u = np.log(y)
        if not (np.abs(u) <= LARGEST).all():  # a difference, or the centring, would overflow to inf
            at, shown = index(np.abs(u) > LARGEST)
            fail(where, arg, f"values within ±{LARGEST:.3g} (a quarter of float64's largest: the differences and the centring "
                 "overflow beyond it)", f"{y[at]} at index {shown}",
                 "Divide the series by a power of ten and multiply the forecasts back" + ("." if log else ", or use log=True."))  # fmt: skip
        return np.diff(u, axis=0) if difference else u

    @staticmethod
    def _from_model_space(z: np.ndarray, last: np.ndarray, log: bool, difference: int) -> np.ndarray:
        """(H, S) forecasts in model space after a series whose last raw value is ``last`` (S,), back
        to y (``log``, ``difference``: the fitted model's ``log_`` and ``difference_``)."""
        u_last = np.log(last) if log else last
        u = u_last[None] + np.cumsum(z, axis=0) if difference else z
        return np.exp(u) if log else u

    def _windows(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled (M, S) -> X (n, W, S), Y (n, H*S) for every full window and target block."""
        W, H = self.window, self.horizon
        n = len(s) - W - H + 1
        X = np.stack([s[j : j + W] for j in range(n)])  # (n, W, S)
        Y = np.stack([s[j + W : j + W + H].reshape(-1) for j in range(n)])  # (n, H*S)
        return X, Y

    # -- fit / predict ---------------------------------------------------------------------
    def fit(self, y, names=None, stream=None) -> "LSTMForecaster":
        """Fit on the whole series ``y`` (N,) or (N, S). Scaling is fitted on ``y`` alone (with
        validation_split, on the part that training sees: see the class docstring). Returns self.

        ``names``: the S series' names, recorded as ``series_names_`` (default: a pandas
        DataFrame's column names, or a Series' name, when they are strings; else none recorded).
        ``stream``: where the training's progress goes when ``verbose`` (a text stream, the
        Trainer's ``stream``; None: ``sys.stdout`` as it stands during the fit)."""
        self._check_params()
        stream = check_stream(stream, f"{KIND}.fit")  # (the Trainer's check, in this fit's name)
        params = json_params(self.get_params())  # this fit's: fitted_params_, what save writes
        y2, was_1d = as_series(y, f"{KIND}.fit")
        series_names = _names_of(y, names, y2.shape[1], f"{KIND}.fit")
        z = self._to_model_space(y2, self.log, self.difference, f"{KIND}.fit", was_1d=was_1d)
        need = self.window + self.horizon
        if len(z) < need:
            fail(
                f"{KIND}.fit", "y", f"at least window+horizon+difference = {need + self.difference} values",
                f"{len(y2)}", "Use a shorter window or horizon.",
            )  # fmt: skip
        n, held = len(z) - need + 1, None  # windows; those held out to validate
        if self.validation_split:
            n_val, gap = self._split_sizes(n)
            if n_val < 1 or n - n_val - gap < 1:
                fail(f"{KIND}.fit", "validation_split", f"a fraction of the {n} windows that leaves at least one to validate "
                     f"and one to train on (before the validated windows, the {gap} whose targets reach into theirs "
                     f"are left out)", self.validation_split, "Use a longer series, or another validation_split.")  # fmt: skip
            held = np.arange(n - n_val, n)  # the last windows: their targets are the end of the series
            seen = z[: n - n_val + self.window]  # the training windows' inputs and targets, all before the validated targets
        else:
            seen = z
        mean, scale = mean_and_scale(seen)  # (S,) each: NumPy's mean and std, neither overflowing nor underflowing
        X, Y = self._windows((z - mean) / scale)
        validation = None
        if held is not None:  # train on the windows before, less the gap (none with horizon 1)
            validation, X, Y = (X[held], Y[held]), X[: held[0] - gap], Y[: held[0] - gap]
        mae_as = (self._mae_name(), np.tile(scale, self.horizon))  # Y's outputs are (H, S) flattened: series s at h * S + s
        # a failed fit leaves a fitted forecaster as it was
        regressor = self._new_regressor()._fit_targets(X, Y, validation_data=validation, mae_as=mae_as, stream=stream)
        self.mean_, self.scale_, self.regressor_ = mean, scale, regressor
        self._fitted_pipeline(params)
        self.validation_indices_ = held
        self.n_series_, self.series_, self.is_1d_ = y2.shape[1], y2, was_1d
        self.series_names_ = series_names
        self.training_history_ = regressor.history_
        return self

    def _fitted_pipeline(self, params: dict) -> None:
        """Record ``params`` (JSON, :func:`~lstmkit.estimators.json_params`) as ``fitted_params_`` and
        what predict reads of them as ``window_``, ``horizon_``, ``log_``, ``difference_``: a
        ``set_params`` after fit is for the next fit (scikit-learn's rule), not the fitted model's input."""
        self.fitted_params_ = params
        self.window_, self.horizon_ = int(params["window"]), int(params["horizon"])
        self.log_, self.difference_ = bool(params["log"]), int(params["difference"])

    def _split_sizes(self, n: int) -> tuple[int, int]:
        """Of ``n`` windows, (n_val, gap): validation_split holds out the last n_val = round(n *
        validation_split), and the gap = horizon - 1 windows before them, whose targets reach into
        theirs, are left out of training (the rule of :meth:`fit`, checked again at load)."""
        return int(round(n * self.validation_split)), self.horizon - 1

    def _mae_name(self) -> str:
        """The name of training's MAE, by the units it is in (the class docstring): "mae" in y's
        units; "mae_diff", "mae_log", "mae_log_diff" of the changes, the logs, the changes of logs."""
        return "mae" + ("_log" if self.log else "") + ("_diff" if self.difference else "")

    def _new_regressor(self):
        """The regressor to train; its validation_split is 0: :meth:`fit` passes the last windows as validation_data."""
        from .estimators import LSTMRegressor

        return LSTMRegressor(
            hidden_size=self.hidden_size, num_layers=self.num_layers, bidirectional=self.bidirectional,
            dropout=self.dropout, forget_bias=self.forget_bias, lstm_options=self.lstm_options,
            epochs=self.epochs, standardize=False, per_step=False, dtype="float64",
            batch_size=self.batch_size, optimizer=self.optimizer, learning_rate=self.learning_rate, clip=self.clip,
            patience=self.patience, validation_split=0.0, seed=self.seed, verbose=self.verbose,
        )  # fmt: skip

    def _forecast_block(self, histories: list[np.ndarray]) -> np.ndarray:
        """One direct H-step block for each raw history (each (>= W+difference, S)) -> (n, H, S).
        Only a history's last W+difference rows are read (log is elementwise, a difference reads
        neighbouring rows): the window is made from them alone, not from the whole history (a
        backtest's n prefixes of the series cost O(n N) otherwise); the whole series is checked
        where it comes in (:meth:`_check_history`, :meth:`backtest`)."""
        W, H, S, d = self.window_, self.horizon_, self.n_series_, self.difference_
        X = np.stack([(self._to_model_space(h[-(W + d):], self.log_, d) - self.mean_) / self.scale_ for h in histories])  # (n, W, S)
        Z = self.regressor_.predict(X).reshape(len(histories), H, S) * self.scale_ + self.mean_  # (n, H, S)
        return np.stack([self._from_model_space(Z[i], h[-1], self.log_, self.difference_) for i, h in enumerate(histories)])

    def predict(self, steps: int | None = None, y=None, names=None) -> np.ndarray:
        """Forecast ``steps`` values (default: the horizon at fit) after the end of ``y`` (default: the fitted series).

        Returns (steps,) when fitted on a 1-D series, else (steps, S). Steps beyond the horizon are
        made recursively, one H-step block at a time, each block appended to the history.
        ``names``: the names of ``y``'s series (default: a DataFrame's columns, a Series' name);
        when the forecaster recorded names at fit, other names (or another order) are refused.
        """
        self._check_fitted("predict")
        steps = self.horizon_ if steps is None else check_int(steps, f"{KIND}.predict", "steps", minimum=1)
        return self._forecast(self.series_ if y is None else self._check_history(y, "predict", names), steps)

    def _forecast(self, hist: np.ndarray, steps: int) -> np.ndarray:
        """:meth:`predict` of a checked history (>= W+difference, S)."""
        out = []
        while sum(len(b) for b in out) < steps:
            block = self._forecast_block([hist])[0]  # (H, S)
            out.append(block)
            hist = np.concatenate([hist, block])
        f = np.concatenate(out)[:steps]
        return f[:, 0] if self.is_1d_ else f

    def score(self, y, history=None, names=None) -> float:
        """R² of the forecast of ``y`` (k,) or (k, S), the k values that follow ``history`` (default:
        the fitted series, so ``y`` is what came after it).

        The predictions scored are ``predict(k, history)``: one forecast made at the end of
        ``history``, direct for the first ``horizon`` values and recursive beyond (not a forecast
        from every origin: that is :meth:`backtest`, beside the naive baselines). R² = 1 -
        Σ(y - ŷ)² / Σ(y - ȳ)² over the k values, for each series in its own units, averaged over the
        series: scikit-learn's ``r2_score(y, ŷ)`` (multioutput="uniform_average"), the score of its
        regressors. A series whose k values are all equal scores 1.0 if forecast exactly, else 0.0
        (as ``force_finite=True``); with k < 2, R² is undefined: this warns and returns nan, as
        ``r2_score`` does. ``names``: ``y``'s series, checked as :meth:`predict` checks them (a
        DataFrame's columns by default; ``history``'s own columns are checked too)."""
        where = f"{KIND}.score"
        self._check_fitted("score")
        hist = self.series_ if history is None else self._check_history(history, "score", arg="history")
        actual = self._check_series(y, "score", names, stacklevel=4)  # (k, S)
        k = len(actual)
        pred = self._forecast(hist, k).reshape(k, -1) if k >= 2 else actual  # (k, S) (k < 2: r2 warns, nothing forecast)
        return r2(actual, pred, where, "values")

    def _check_series(self, y, what: str, names=None, arg: str = "y", stacklevel: int = 5) -> np.ndarray:
        """``y`` (k,) or (k, S) as (k, S) float64: finite, the fitted series (names checked by
        :meth:`_check_names` when known, before their count), S of them."""
        where = f"{KIND}.{what}"
        y2, _ = as_series(y, where, arg, stacklevel)
        found = _names_of(y, names, y2.shape[1], where)
        if found is not None:  # other names: said by name, more use than a count
            self._check_names(found, what, arg=arg)
        if y2.shape[1] != self.n_series_:
            got = f"{count(y2.shape[1], 'column')}" if np.ndim(y) == 2 else f"a 1-D series (shape {np.shape(y)})"
            fail(where, arg, f"with {count(self.n_series_, 'column')} (one per series, as at fit)", got)
        if found is None:
            self._check_names(None, what, stacklevel, arg)
        return y2

    def _check_history(self, y, what: str, names=None, arg: str = "y") -> np.ndarray:
        y2 = self._check_series(y, what, names, arg)
        need = self.window_ + self.difference_  # the fitted model's
        if len(y2) < need:
            fail(f"{KIND}.{what}", arg, f"at least window+difference = {need} values of history", f"{len(y2)}")
        self._to_model_space(y2, self.log_, 0, f"{KIND}.{what}", arg, np.ndim(y) == 1)  # > 0 with log, within LARGEST
        return y2

    def _check_names(self, names: tuple[str, ...] | None, what: str, stacklevel: int = 4, arg: str = "y") -> None:
        """Refuse ``names`` (those of the series in argument ``arg``) other than ``series_names_``, or
        in another order (scikit-learn's feature-name check); warn of series with no names when some
        were recorded."""
        fitted = getattr(self, "series_names_", None)
        if fitted is None or names == fitted:
            return
        where = f"{KIND}.{what}"
        if names is None:
            warnings.warn(f"{where}: {arg} names no series (an array), but the forecaster was fitted on {list(fitted)}: "
                          "its columns are read as those series, in that order.", LstmkitWarning, stacklevel=stacklevel)  # fmt: skip
            return
        fail(where, "names" if arg == "y" else f"{arg}'s names", f"{list(fitted)} (the series at fit, in that order)",
             f"{list(names)} ({how_names_differ(names, fitted)})", "Give the series the forecaster was fitted on, in the order of fit.")

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the fitted forecaster to one model file (lstmkit.modelfile; atomic; no pickle).

        It holds the LSTM weights, the scaling, the fitted series (so ``predict()`` works after
        loading without the data) and the parameters of the fit (``fitted_params_``; a ``set_params``
        since is for the next fit).
        """
        self._check_fitted("save")
        from .modelfile import save_model

        reg = self.regressor_
        extra = {
            "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "is_1d": self.is_1d_,
            "history": self.series_.tolist(),  # the file's name for series_ (as files have always had it)
            "series_names": None if self.series_names_ is None else list(self.series_names_),
            "regressor": {"params": reg.fitted_params_, **reg._file_extra()},
        }  # fmt: skip
        held = getattr(self, "validation_indices_", _UNKNOWN)  # unknown: loaded from a file that did not record it
        if held is not _UNKNOWN:
            extra["validation_indices"] = None if held is None else held.tolist()
        save_model(path, KIND, self.fitted_params_, reg.model_.state_dict(), extra)

    @classmethod
    def load(cls, path) -> "LSTMForecaster":
        """Load a forecaster written by :meth:`save` (any other kind of model file is refused)."""
        from .saving import load

        return load(path, kind=KIND)

    @classmethod
    def _from_model_file(cls, mf, path="") -> "LSTMForecaster":
        """The forecaster in ``mf``; a field that disagrees with the weights or with another field
        (the regressor's outputs with horizon x series, the scaling with the series, ...) is refused
        with a FileFormatError naming it."""
        from .estimators import LSTMRegressor, _check_params_match_model, _finite_numbers, _refuser
        from .io import FileFormatError
        from .modelfile import ModelFile

        refuse = _refuser(path)
        try:
            fc = cls(**mf.config)
            fc._check_params()
            ex = mf.extra
            r = dict(ex["regressor"])
            reg = LSTMRegressor._from_model_file(ModelFile("LSTMRegressor", r.pop("params"), mf.arrays, r, {}), path, prefix="regressor.")
            _check_params_match_model(fc, reg.model_, refuse)  # the parameters that shape the network
            rows = ex["history"]
            if not (isinstance(rows, list) and all(isinstance(row, list) and all(is_number(v) for v in row) for row in rows)):
                # np.array would read "1.5" and true as numbers
                refuse("history", "the fitted series as a list of rows of numbers", f"{rows!r:.80}")
            history = np.array(rows, dtype=np.float64)
            W, H, d = fc.window, fc.horizon, fc.difference
            if history.ndim != 2 or history.shape[1] < 1 or len(history) < W + d:
                refuse("history", f"the fitted series as rows (N >= window+difference = {W + d}, n_series >= 1)", f"shape {history.shape}")
            bad = ~np.isfinite(history) | (history <= 0 if fc.log else False)
            if bad.any():
                at = first_index(bad)
                refuse("history", "finite values" + (" > 0 (log=True)" if fc.log else ""), f"{history[at]} at index {at}")
            if not fc.log and not (np.abs(history) <= LARGEST).all():  # as fit refuses y (log y is always within)
                at = first_index(np.abs(history) > LARGEST)
                refuse("history", f"values within ±{LARGEST:.3g} (as fit takes y)", f"{history[at]} at index {at}")
            S = history.shape[1]
            for key in ("mean", "scale"):
                if not _finite_numbers(ex[key], S) or (key == "scale" and min(ex[key]) <= 0):
                    refuse(key, f"{S} finite numbers{' > 0' if key == 'scale' else ''} (one per series)", f"{ex[key]!r:.80}")
                big = [i for i, v in enumerate(ex[key]) if abs(v) > SCALING_LARGEST]
                if big:  # fit's are within it; from beyond it a forecast overflows to inf, or is that number whatever the model says
                    refuse(key, f"values within ±{SCALING_LARGEST:.3g} (what fit makes of a series it takes)", f"{ex[key][big[0]]!r} at index {big[0]}")
            if reg.standardize is not False:  # the forecaster scales the series itself (the regressor's load then checks
                # that its y_mean and y_scale are 0 and 1); another would rescale every forecast (1e308: inf)
                refuse("regressor.params.standardize", "false (the forecaster scales the series itself)", repr(reg.standardize))
            if not isinstance(ex["is_1d"], bool) or (ex["is_1d"] and S != 1):
                refuse("is_1d", "true only for one series" if isinstance(ex["is_1d"], bool) else "true or false", f"{ex['is_1d']!r} with {S} series")
            series_names = ex.get("series_names")  # absent in a file saved before names were recorded
            if series_names is not None and (not isinstance(series_names, list) or len(series_names) != S
                                             or not all(isinstance(n, str) and n for n in series_names)):  # fmt: skip
                refuse("series_names", f"null or {S} non-empty strings (one per series)", f"{series_names!r:.80}")
            held = _validation_windows_in(fc, ex, reg, len(history) - d - W - H + 1, refuse)
            if reg.n_features_in_ != S:
                refuse("regressor.n_features_in", f"{S} (one input per series of history)", reg.n_features_in_)
            if reg.per_step_:
                refuse("regressor.per_step", "false (one forecast block per window)", "true")
            if reg.n_outputs_ != H * S:
                refuse("config horizon", f"{reg.n_outputs_} / {S} (the model's outputs per window / the series)", H)
        except FileFormatError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise FileFormatError(f"{path}: expected a valid LSTMForecaster model file, got one that fails to load ({exc}).") from None
        fc.regressor_, fc.series_, fc.n_series_, fc.is_1d_ = reg, history, S, ex["is_1d"]
        fc._fitted_pipeline(json_params(fc.get_params()))  # the file's parameters, those of its fit
        fc.series_names_ = None if series_names is None else tuple(series_names)
        if held is not _UNKNOWN:
            fc.validation_indices_ = held
        fc.mean_, fc.scale_ = np.array(ex["mean"], dtype=np.float64), np.array(ex["scale"], dtype=np.float64)
        fc.training_history_ = reg.history_
        return fc

    # -- backtest --------------------------------------------------------------------------
    def backtest(self, y, test_size: int, names=None, stream=None) -> BacktestResult:
        """Fit on ``y[:-test_size]``; forecast from every origin in the last ``test_size`` values.

        For origin o (first unseen index) the LSTM's and the baselines' forecasts of leads 1..H use
        the true history y[:o]; leads past the end of ``y`` are left out of the scores. The
        baselines (:mod:`lstmkit.baselines`): ``naive``; ``seasonal_naive`` with a
        ``seasonal_period`` m; and a trend-aware one, ``seasonal_growth`` (seasonal naive × the last
        growth over a season, y[o-1] / y[o-1-m]) with m when y[o-1] and y[o-1-m] are > 0 at every
        origin of every series, else ``drift`` (y[o-1] + l · (y[o-1] - y[0]) / (o - 1)). The table's
        "best" is over all of them; a ForecastWarning says when the LSTM is no better than one.
        Several series (``y`` (N, S)) are scored each on its own, MASE on its own in-sample scale;
        ``names`` (S strings, default series0, series1, ...) name them in the table and the
        warnings. Afterwards the forecaster is the one fitted on ``y[:-test_size]``, and its
        history is the whole ``y``: ``predict(k)`` goes on from the end of ``y`` (``fit(y)`` first
        to use it all). ``stream``: where the fit's progress goes, as in :meth:`fit`.
        """
        where = f"{KIND}.backtest"
        stream = check_stream(stream, where)
        y2, was_1d = as_series(y, where)
        N, S = y2.shape
        test_size = check_int(test_size, where, "test_size", minimum=1)
        given = _names_of(y, names, S, where)  # recorded by the fit below
        names = _series_names(given, S, where)
        m = self.seasonal_period or 1
        span = self.window + self.horizon + self.difference
        min_train = max(span, m + 1)
        if N - min_train < 1:  # no test_size would do: the series is too short for these settings
            why = (f"seasonal_period + 1 = {m + 1} to fit on" if m + 1 > span else
                   f"window + horizon + difference = {span} to fit on")  # fmt: skip
            fail(where, "y", f"at least {min_train + 1} values for a backtest ({why}, and 1 to test)", f"{N} values",
                 "Use a longer series" + (", or a smaller seasonal_period." if m + 1 > span else ", or a smaller window or horizon."))
        if N - test_size < min_train:
            fail(where, "test_size", f"at most N - {min_train} = {N - min_train} (enough training data)", test_size)
        self._check_params()
        self._to_model_space(y2, self.log, 0, where, was_1d=was_1d)  # the test part too: > 0 with log, within LARGEST
        self.fit(y2[: N - test_size, 0] if was_1d else y2[: N - test_size], names=given, stream=stream)
        H = self.horizon_
        origins = np.arange(N - test_size, N)
        histories = [y2[:o] for o in origins]
        lstm = self._forecast_block(histories)  # (n, H, S)
        naive = np.stack([bl.naive_forecast(h, H) for h in histories])
        fc = {"lstm": lstm, "naive": naive}
        if self.seasonal_period:
            fc["seasonal_naive"] = np.stack([bl.seasonal_naive_forecast(h, H, m) for h in histories])
        fc.update(_trend_baseline(y2, origins, histories, H, self.seasonal_period))
        actual = np.full((len(origins), H, S), np.nan)
        for i, o in enumerate(origins):
            k = min(H, N - o)
            actual[i, :k] = y2[o : o + k]
        scales = bl.mase_scale(y2[: N - test_size], m)  # (S,): each series' in-sample scale
        parts = [_score_series(origins, actual[:, :, j : j + 1], {k: f[:, :, j : j + 1] for k, f in fc.items()},
                               y2[:, j], float(scales[j]), names[j]) for j in range(S)]  # fmt: skip
        if S == 1:
            result = parts[0]
        else:
            result = BacktestResult(
                origins, actual, fc,
                {k: {score: np.array([p.metrics[k][score] for p in parts]) for score in parts[0].metrics[k]} for k in fc},
                {s: np.array([p.lag_corr[s] for p in parts]) for s in parts[0].lag_corr},
                np.array([p.skill_vs_naive for p in parts]),
                [f"{p.names[0]}: {n}" for p in parts for n in p.notes], names, parts,
            )  # fmt: skip
        for n in result.notes:
            warnings.warn(n, ForecastWarning, stacklevel=2)
        self.series_ = y2  # predict() goes on from the end of y, not from the end of the training part
        return result


def _trend_baseline(y: np.ndarray, origins: np.ndarray, histories: list[np.ndarray], H: int,
                    m: int | None) -> dict[str, np.ndarray]:
    """The trend-aware baseline of a backtest of ``y`` (N, S) from ``origins`` (n,) (``histories``:
    ``y[:o]`` for each origin o), {name: (n, H, S)}:
    ``seasonal_growth`` (:func:`lstmkit.baselines.seasonal_growth_forecast`, seasonal naive times the
    last growth over a season) when there is a season ``m`` and every value it divides by or grows
    from, y[o-1] and y[o-1-m] at every origin o of every series, is > 0; else ``drift``
    (:func:`lstmkit.baselines.drift_forecast`, the last value plus the history's mean step)."""
    if m and (y[origins - 1] > 0).all() and (y[origins - 1 - m] > 0).all():
        return {"seasonal_growth": np.stack([bl.seasonal_growth_forecast(h, H, m) for h in histories])}
    return {"drift": np.stack([bl.drift_forecast(h, H) for h in histories])}


#: a file's validation windows when it records none (saved before forecaster or regressor recorded them)
_UNKNOWN = object()


def _validation_windows_in(fc: LSTMForecaster, extra: dict, reg, n_max: int, refuse):
    """The windows ``fc``'s validation_split held out, as the model file records them (``extra``, the
    regressor ``reg`` loaded from it; ``n_max``: the saved history's windows), checked: None without
    a split; with one, the last round(n * validation_split) of the n windows fit saw, after at least
    one training window (:meth:`LSTMForecaster._split_sizes`), where n is at most ``n_max``: a
    backtest fits on the start of the series and keeps the whole of it as history. A file saved
    before the split was chronological has no key: its regressor held out a seeded random choice
    of the windows (its own validation_split > 0) and recorded them, which are returned (a key
    written since must equal them); a file older still records none: :data:`_UNKNOWN`."""
    split, rows = fc.validation_split, extra.get("validation_indices", _UNKNOWN)
    if not split:
        if rows is not _UNKNOWN and rows is not None:
            refuse("validation_indices", f"null (validation_split={split!r}: no windows held out)", f"{rows!r:.80}")
        return None
    if reg.validation_split:  # saved before the split was chronological: the regressor's random choice
        drawn = getattr(reg, "validation_indices_", None)
        drawn = _UNKNOWN if drawn is None else drawn  # None: a regressor file older than its record
        if rows is not _UNKNOWN and (drawn is _UNKNOWN or rows != drawn.tolist()):
            refuse("validation_indices", f"the windows the regressor's random split held out (regressor.validation_indices, "
                   f"{'not recorded' if drawn is _UNKNOWN else f'{drawn.tolist()!r:.80}'})", f"{rows!r:.80}")  # fmt: skip
        return drawn
    n = rows[-1] + 1 if isinstance(rows, list) and rows and all(is_int(i) for i in rows) else 0  # the windows fit saw
    n_val, gap = fc._split_sizes(n)
    if not (1 <= n <= n_max and n_val >= 1 and n - n_val - gap >= 1 and rows == list(range(n - n_val, n))):
        refuse("validation_indices", f"the windows validation_split={split!r} held out: the last round(n * {split!r}) of "
               f"the n windows fit saw (n <= {n_max}, the history's), after at least one training window",
               "none" if rows is _UNKNOWN else f"{rows!r:.80}")  # fmt: skip
    return np.array(rows, dtype=np.int64)


def how_names_differ(names, fitted, noun: str = "series") -> str:
    """How the ``noun`` ``names`` differ from ``fitted``, those at fit, said in a refusal's
    parentheses (LSTMForecaster's, ``lstmkit forecast --model``'s; the estimators' with "columns"):
    "unseen at fit: ['c']; missing: ['b']", or "the same series in another order" when they are
    the same names."""
    unseen, missing = [n for n in names if n not in fitted], [n for n in fitted if n not in names]
    how = "; ".join([f"unseen at fit: {unseen}"] * bool(unseen) + [f"missing: {missing}"] * bool(missing))
    return how or f"the same {noun} in another order"


def _series_names(names, S: int, where: str) -> tuple[str, ...]:
    """``names`` as S strings; None: series0, series1, ..."""
    if names is None:
        return tuple(f"series{j}" for j in range(S))
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if len(names) != S or not all(isinstance(n, str) and n for n in names):
        fail(where, "names", f"{S} non-empty strings (one per series)", f"{names!r:.80}")
    return tuple(names)


def _names_of(y, names, S: int, where: str) -> tuple[str, ...] | None:
    """The S series' names: ``names`` (checked by :func:`_series_names`), else a pandas DataFrame's
    column names or a Series' name when they are strings, else None. ``names`` and a DataFrame's
    own names that disagree are refused."""
    cols = getattr(y, "columns", None)  # a DataFrame
    own = list(cols) if cols is not None else [getattr(y, "name", None)] if np.ndim(y) == 1 else [None]
    own = tuple(own) if own and all(isinstance(n, str) and n for n in own) else None
    if names is None:
        return own if own is not None and len(own) == S else None
    names = _series_names(names, S, where)
    if own is not None and own != names:
        fail(where, "names", f"y's own column names {list(own)} (or None)", f"{list(names)}")
    return names


def _score_series(origins: np.ndarray, actual: np.ndarray, forecasts: dict, y: np.ndarray, scale: float, name: str) -> BacktestResult:
    """One series' scores: actual and forecasts (n, H, 1), y (N,) the whole series, scale its
    in-sample seasonal-naive MAE (MASE's denominator).

    A scale of 0 (a constant training part, or one that repeats every m = seasonal_period steps:
    the in-sample seasonal-naive forecast is exact) would make MASE inf for every method, 0/0 for
    an exact one. As sktime's ``mean_absolute_scaled_error`` (``mae / max(mae_naive, eps)``), MASE
    then divides by machine epsilon, :data:`EPS` (:func:`lstmkit.baselines.mase`'s rule): 0 for an exact forecast, huge for any other, and
    a note (warned by :meth:`LSTMForecaster.backtest`) says why and to compare the MAE instead.
    (statsforecast's utilsforecast ``mase`` reports 0 there, which reads as a perfect forecast.)"""
    ok = ~np.isnan(actual)
    metrics = {
        k: {"MAE": bl.mae(actual[ok], f[ok]), "RMSE": bl.rmse(actual[ok], f[ok]), "MASE": bl.mase(actual[ok], f[ok], scale),
            "sMAPE": bl.smape(actual[ok], f[ok])}
        for k, f in forecasts.items()
    }
    lead1 = forecasts["lstm"][:, 0, 0]  # (n,)
    lag_corr = bl.lag_profile(lead1, y, origins)
    # how far the lead-1 forecast lies from the value before its target, and from its target
    distances = (float(np.mean(np.abs(lead1 - y[origins - 1]))), float(np.mean(np.abs(lead1 - y[origins]))))
    skill = 1.0 - metrics["lstm"]["MAE"] / metrics["naive"]["MAE"] if metrics["naive"]["MAE"] > 0 else float("nan")
    notes = _diagnose(metrics, lag_corr, distances)
    if not scale > 0:
        notes.append("MASE's scale, the training part's in-sample MAE of the naive forecast (y_t = y_(t-m), m = "
                     "seasonal_period or 1), is 0: the series is constant, or repeats every m steps. MASE divides by "
                     f"machine epsilon ({EPS:.3g}) instead, as sktime does: 0 for an exact forecast, huge for any other; "
                     "compare the MAE.")  # fmt: skip
    if (actual[ok] == 0).any():
        notes.append("sMAPE is not defined (n/a): the test part holds a 0, where its term is 200% for any forecast "
                     "(0/0 for an exact one); compare MASE, scale-free too.")  # fmt: skip
    return BacktestResult(origins, actual, forecasts, metrics, lag_corr, skill, notes, (name,))


def _diagnose(metrics: dict, lag_corr: dict, distances: tuple[float, float]) -> list[str]:
    """Plain-language warnings: no better than a baseline (naive, seasonal naive, seasonal growth
    or drift, those in ``metrics``); the forecast tracks the previous value.

    ``distances``: mean |ŷ_t - y_{t-1}| and mean |ŷ_t - y_t| of the lead-1 forecasts. The lag note
    needs both signs of a forecast that repeats the last value: it correlates more with y_{t-1}
    than with y_t, and lies nearer y_{t-1}. On a smooth series (neighbours correlate ~0.98) a good
    forecast can correlate a hair more with y_{t-1} while lying much nearer y_t; it is not flagged.
    """
    notes = []
    lstm_mae = metrics["lstm"]["MAE"]
    for name in ("naive", "seasonal_naive", "seasonal_growth", "drift"):
        if name in metrics and lstm_mae >= metrics[name]["MAE"]:
            notes.append(f"the LSTM (MAE {lstm_mae:.3g}) is no better than the {name.replace('_', '-')} forecast (MAE {metrics[name]['MAE']:.3g}).")
    c0, c1 = lag_corr.get(0, np.nan), lag_corr.get(1, np.nan)
    d_prev, d_target = distances
    if np.isfinite(c1) and (not np.isfinite(c0) or c1 > c0) and d_prev < d_target:
        notes.append(
            f"the forecast correlates more with the previous value (corr {c1:+.3f}) than with the value it "
            f"predicts (corr {c0:+.3f}) and lies nearer it (mean distance {d_prev:.3g} against {d_target:.3g}): "
            "it mostly lags the input by one step."
        )
    return notes
