"""Baselines and error measures: what an LSTM result must beat, and how it is scored.

Forecasts. A forecast for lead l (1 = next step) made at origin o (the first unseen index) from
history y[:o], m the season's length:

    naive                  ŷ_{o+l-1} = y_{o-1}                                 (last value, every lead)
    seasonal naive         ŷ_{o+l-1} = y_{o+l-1-m·⌈l/m⌉}                         (same season, last cycle)
    seasonal naive × growth ŷ_{o+l-1} = y_{o+l-1-m·⌈l/m⌉} · g^⌈l/m⌉,  g = y_{o-1} / y_{o-1-m}
                                                          (the last year-over-year growth, per cycle)
    drift                  ŷ_{o+l-1} = y_{o-1} + l · (y_{o-1} - y_0) / (o - 1)  (the last value plus the
                                                          mean step of the history, per lead)

Errors over pairs (y_j, ŷ_j), j = 1..n:

    MAE  = (1/n) Σ |y_j - ŷ_j|
    RMSE = sqrt((1/n) Σ (y_j - ŷ_j)²)
    MASE = MAE / ((1/(N-m)) Σ_{t=m}^{N-1} |y_t - y_{t-m}|)     scale: in-sample seasonal-naive MAE
                                                                 on the training part (m = 1 when
                                                                 there is no season; Hyndman & Koehler 2006);
                                                                 a scale of 0 is replaced by EPS (sktime's)
    sMAPE = (100/n) Σ 2 |y_j - ŷ_j| / (|y_j| + |ŷ_j|)            in percent, 0..200: the M4 competition's
                                                                 form (Makridakis, Spiliotis &
                                                                 Assimakopoulos 2020; sktime's).
                                                                 Makridakis 1993 and the M3
                                                                 competition divide by y_j + ŷ_j, no
                                                                 absolute values: the same where both
                                                                 are positive. NaN when any y_j is 0
                                                                 (a term is then 200 for any
                                                                 forecast, 0/0 for an exact one)

Shapes: a series is (N,) or (N, S) for S series; forecasts are (n_origins, horizon[, S]). MAE, RMSE,
MASE and sMAPE score one series: errors of series in different units (sales, °C) pooled into one figure
mean nothing, so score each series on its own (as ``LSTMForecaster.backtest`` does).

Classification: :func:`majority_accuracy`, the accuracy of always answering the training labels'
most frequent class. Text: :class:`CharNGram`, a character n-gram count model with add-k
smoothing, and its perplexity. NumPy and the standard library only.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ._checks import check_int, check_real, fail


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


def seasonal_growth_forecast(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Seasonal naive scaled by the last year-over-year growth: (N[, S]) -> (horizon[, S]).

        ŷ_{N+l-1} = y_{N+l-1-m·⌈l/m⌉} · g^⌈l/m⌉,   g = y_{N-1} / y_{N-1-m},   l = 1..horizon

    The same season of the last cycle, grown as the last value grew over the value a cycle before it
    (once per cycle ahead): a trend-aware baseline for a positive series with a multiplicative trend
    and season (counts, sales, the airline passengers). Needs N >= m + 1 and y_{N-1}, y_{N-1-m} > 0.
    """
    history = np.asarray(history, dtype=np.float64)
    where = "seasonal_growth_forecast"
    m = check_int(period, where, "period", minimum=1)
    horizon = check_int(horizon, where, "horizon", minimum=1)
    N = len(history)
    if N < m + 1:
        fail(where, "history", f"at least period + 1 = {m + 1} values (a cycle before the last value)", f"{N}")
    last, before = history[-1], history[-1 - m]  # () or (S,)
    if not (np.all(last > 0) and np.all(before > 0)):
        fail(where, "history", f"positive values at y[N-1] and y[N-1-period] = y[{N - 1 - m}] (a growth ratio of levels)",
             f"{np.ravel(last).tolist()} and {np.ravel(before).tolist()}",
             "Use seasonal_naive_forecast for a series that is not positive.")  # fmt: skip
    lead = np.arange(1, horizon + 1)
    cycles = np.ceil(lead / m).astype(int)  # (horizon,) ⌈l/m⌉
    growth = (last / before)[None] ** cycles.reshape((-1,) + (1,) * (history.ndim - 1))  # (horizon[, S])
    return history[N + lead - 1 - m * cycles] * growth


def drift_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value plus the history's mean step, once per lead: (N[, S]) -> (horizon[, S]).

        ŷ_{N+l-1} = y_{N-1} + l · (y_{N-1} - y_0) / (N - 1),   l = 1..horizon

    The naive forecast with a trend: the line through the first and last values, extended
    (Hyndman & Athanasopoulos' drift method). A trend-aware baseline for any series, of any sign,
    with or without a season. Needs N >= 2.
    """
    history = np.asarray(history, dtype=np.float64)
    horizon = check_int(horizon, "drift_forecast", "horizon", minimum=1)
    N = len(history)
    if N < 2:
        fail("drift_forecast", "history", "at least 2 values (a first and a last)", f"{N}",
             "Give a history of 2 values or more, or use naive_forecast for a single one.")
    slope = (history[-1] - history[0]) / (N - 1)  # () or (S,)
    lead = np.arange(1, horizon + 1).reshape((-1,) + (1,) * (history.ndim - 1))  # (horizon[, 1])
    return history[-1][None] + lead * slope[None]


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


#: what MASE divides by when its scale is 0 (sktime's EPS): machine epsilon of float64, 2^-52
EPS = float(np.finfo(np.float64).eps)


def mase(y: np.ndarray, y_hat: np.ndarray, scale: float) -> float:
    """MAE / max(scale, EPS) (scale from :func:`mase_scale`); < 1 beats the in-sample seasonal naive
    forecast. A scale of 0 (a constant series, or one repeating every m steps: the in-sample
    naive forecast is exact) would make MASE inf for any forecast and 0/0 for an exact one: as
    sktime's ``mean_absolute_scaled_error`` it divides by machine epsilon, :data:`EPS`, instead
    (0 for an exact forecast, huge for any other; compare the MAE there). A NaN scale gives NaN."""
    return float(mae(y, y_hat) / np.maximum(scale, EPS))


def smape(y: np.ndarray, y_hat: np.ndarray) -> float:
    """(100/n) Σ 2 |y - ŷ| / (|y| + |ŷ|) over every element, in percent (0 to 200): scale-free, as
    MASE is, in the M4 competition's form (Makridakis 1993 and M3 divide by y + ŷ, the same for
    positive values). NaN when any y is 0: a term is then 200 whatever the
    forecast (0/0 for an exact one), which says nothing of its error; compare the MAE or MASE."""
    y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)
    if (y == 0).any():
        return float("nan")
    return float(np.mean(200.0 * np.abs(y - y_hat) / (np.abs(y) + np.abs(y_hat))))


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


def majority_label(y_train, where: str = "majority_label"):
    """The most frequent label of ``y_train`` (the smallest of those tied), labels of any shape
    ((n,) or per step (n, T)) and kind; every element counts once."""
    y_train = np.ravel(y_train)
    if y_train.size == 0:
        fail(where, "y_train", "at least one label", "none")
    labels, counts = np.unique(y_train, return_counts=True)
    return labels[np.argmax(counts)]


def majority_accuracy(y_train, y_test) -> float:
    """The accuracy of always answering :func:`majority_label` of ``y_train``: the fraction of
    ``y_test``'s labels equal to it. Labels of any shape ((n,) or per step (n, T)); every element
    counts once."""
    label, y_test = majority_label(y_train, "majority_accuracy"), np.ravel(y_test)
    if y_test.size == 0:
        fail("majority_accuracy", "y_test", "at least one label", "none")
    return float(np.mean(y_test == label))


class CharNGram:
    """A character n-gram count model with add-k smoothing: the perplexity a neural text model must beat.

        P(c | h) = (C(h·c) + k) / (C(h) + k·(V + 1)),    C(h) = Σ_c C(h·c)

    h: the n - 1 characters before c (at a text's start, the i characters before position i < n - 1,
    read by the order-(i + 1) counts); C(h·c): how often h followed by c occurs in the training text
    (C(h) is then how often h occurs followed by a character); V: the number of distinct characters of
    the training text, plus one "unknown" that stands for any other, so the V + 1 probabilities sum
    to 1 after every h (an unseen character, or a context holding one, has count 0).

        perplexity(text) = exp(-(1/(L-1)) Σ_{i=1}^{L-1} log P(text_i | text_{max(0, i-n+1)..i-1}))

    over a text of L characters, its first character unscored, as
    :meth:`lstmkit.text.TextGenerator.perplexity` scores it. Add-k, not interpolated or Kneser-Ney:
    a simple baseline (k is fixed, not tuned on the scored text).

    ``fit(text)`` stores ``counts_`` (n Counters, order j = 1..n: the j-grams' counts),
    ``contexts_`` (n Counters: C(h) for the (j-1)-character contexts) and ``vocab_`` (the sorted
    distinct characters).
    """

    def __init__(self, n: int = 4, k: float = 0.1):
        self.n = check_int(n, "CharNGram", "n", minimum=1)
        self.k = check_real(k, "CharNGram", "k", low=0, low_open=True)

    def fit(self, text: str) -> "CharNGram":
        """Count every j-gram of ``text`` (str) for j = 1..n."""
        if not isinstance(text, str) or not text:
            fail("CharNGram.fit", "text", "a non-empty str", f"{type(text).__name__} of length {len(text)}"
                 if isinstance(text, str) else type(text).__name__)  # fmt: skip
        self.vocab_ = "".join(sorted(set(text)))
        self.counts_, self.contexts_ = [], []
        for j in range(1, self.n + 1):
            grams = Counter(text[i : i + j] for i in range(len(text) - j + 1))
            contexts = Counter()
            for g, c in grams.items():
                contexts[g[:-1]] += c  # C(h) = Σ_c C(h·c)
            self.counts_.append(grams)
            self.contexts_.append(contexts)
        return self

    def prob(self, context: str, char: str) -> float:
        """P(char | the last n - 1 characters of context) (all of context when shorter)."""
        self._check_fitted("prob")
        h = context[max(0, len(context) - self.n + 1) :]
        j = len(h)  # the order-(j + 1) counts
        V = len(self.vocab_) + 1
        return (self.counts_[j][h + char] + self.k) / (self.contexts_[j][h] + self.k * V)

    def perplexity(self, text: str) -> float:
        """exp of the mean -log P(text_i | its context) over i = 1..L-1 (the class docstring)."""
        self._check_fitted("perplexity")
        if not isinstance(text, str) or len(text) < 2:
            fail("CharNGram.perplexity", "text", "a str of at least 2 characters",
                 f"{len(text)} characters" if isinstance(text, str) else type(text).__name__)  # fmt: skip
        nll = 0.0
        for i in range(1, len(text)):
            nll -= math.log(self.prob(text[max(0, i - self.n + 1) : i], text[i]))
        return math.exp(nll / (len(text) - 1))

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "counts_"):
            fail(f"CharNGram.{what}", "the model", "fitted", "an unfitted CharNGram", "Call fit(text) first.")
