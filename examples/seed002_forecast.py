"""Seed 002's time-series prediction on real data: monthly airline passengers 1949-1960.

The last two years are held out; the LSTM forecasts 12 months at once from every origin in them
and is scored beside the naive (last value) and seasonal-naive (same month last year) forecasts.

    python examples/seed002_forecast.py [plot.png]
"""

import sys
import time

from lstmkit import LSTMForecaster
from lstmkit.datasets import airline_passengers
from lstmkit.forecast import plot_forecast

y = airline_passengers()
fc = LSTMForecaster(window=12, horizon=12, seasonal_period=12, log=True, difference=1, epochs=100, seed=0)
t0 = time.perf_counter()
result = fc.backtest(y, test_size=24)
print(f"backtest (fit on 1949-1958, forecasts from every month of 1959-1960) in {time.perf_counter() - t0:.1f} s")
print(result.table())

fc.fit(y)
ahead = fc.predict(12)
print("forecast for 1961:", " ".join(f"{v:.0f}" for v in ahead))
path = sys.argv[1] if len(sys.argv) > 1 else "seed002_forecast.png"
plot_forecast(path, y, result, ahead, title="Airline passengers: backtest and forecast")
print("plot written to", path)
