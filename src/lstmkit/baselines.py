"""Forecast baselines and error measures: what an LSTM forecast must beat, and how it is scored.

A forecast for lead l (1 = next step) made at origin o (the first unseen index) from history
y[:o]:

    naive           ŷ_{o+l-1} = y_{o-1}                                   (last value, every lead)
    seasonal naive  ŷ_{o+l-1} = y_{o+l-1-m·⌈l/m⌉}                           (same season, last cycle)

Errors over pairs (y_j, ŷ_j), j = 1..n:

    MAE  = (1/n) Σ |y_j - ŷ_j|
    RMSE = sqrt((1/n) Σ (y_j - ŷ_j)²)
    MASE = MAE / ((1/(N-m)) Σ_{t=m}^{N-1} |y_t - y_{t-m}|)     scale: in-sample seasonal-naive MAE
                                                                 on the training part (m = 1 when
                                                                 there is no season; Hyndman & Koehler 2006)

Shapes: a series is (N,) or (N, S) for S series; forecasts are (n_origins, horizon[, S]). MAE, RMSE
and MASE score one series: errors of series in different units (sales, °C) pooled into one figure
mean nothing, so score each series on its own (as ``LSTMForecaster.backtest`` does).
"""

from __future__ import annotations

import numpy as np


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last value: (N[, S]) -> (horizon[, S])."""
    last = np.asarray(history)[-1]
    return np.repeat(last[None], horizon, axis=0)


def seasonal_naive_forecast(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """ŷ_{N+l-1} = y_{N+l-1-m·⌈l/m⌉} for l = 1..horizon: (N[, S]) -> (horizon[, S]). Needs N >= m."""
    history = np.asarray(history)
    N, m = len(history), int(period)
    if N < m:
        raise ValueError(f"seasonal_naive_forecast: expected history of at least period={m} values, got {N}.")
    lead = np.arange(1, horizon + 1)
    idx = N + lead - 1 - m * np.ceil(lead / m).astype(int)  # (horizon,)
    return history[idx]


def mae(y: np.ndarray, y_hat: np.ndarray) -> float:
    """(1/n) Σ |y - ŷ| over every element."""
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(y_hat))))


def rmse(y: np.ndarray, y_hat: np.ndarray) -> float:
    """sqrt((1/n) Σ (y - ŷ)²) over every element."""
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(y_hat)) ** 2)))


def mase_scale(train: np.ndarray, period: int = 1) -> float | np.ndarray:
    """(1/(N-m)) Σ_{t=m}^{N-1} |y_t - y_{t-m}| on the training part: a float for (N,), one per series
    (S,) for (N, S), each in its series' own units (never pooled across series)."""
    train = np.asarray(train, dtype=np.float64)
    m = int(period)
    if len(train) <= m:
        raise ValueError(f"mase_scale: expected more than period={m} training values, got {len(train)}.")
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)  # () or (S,)
    return float(scale) if scale.ndim == 0 else scale


def mase(y: np.ndarray, y_hat: np.ndarray, scale: float) -> float:
    """MAE / scale (scale from :func:`mase_scale`); < 1 beats the in-sample seasonal naive forecast."""
    return mae(y, y_hat) / scale if scale > 0 else float("inf")


def lag_profile(forecast: np.ndarray, series: np.ndarray, index: np.ndarray, max_shift: int = 3) -> dict[int, float]:
    """corr(ŷ_j, y_{index_j - s}) for s = 0..max_shift: which past value does the forecast follow?

    ``forecast`` (n,) holds one-step forecasts of ``series[index]`` (index (n,) ints >= max_shift).
    A forecast that merely repeats the last observation peaks at s = 1 (ŷ_t ≈ y_{t-1}); a useful
    one peaks at s = 0. Undefined correlations (a constant input) are NaN.
    """
    f = np.asarray(forecast, dtype=np.float64).ravel()
    series, index = np.asarray(series, dtype=np.float64).ravel(), np.asarray(index)
    out = {}
    for s in range(0, max_shift + 1):
        if (index - s).min() < 0:
            break
        z = series[index - s]
        out[s] = float(np.corrcoef(f, z)[0, 1]) if len(f) > 2 and f.std() > 0 and z.std() > 0 else float("nan")
    return out
