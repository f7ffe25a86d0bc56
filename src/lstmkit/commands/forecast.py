"""``lstmkit forecast``: fit an LSTMForecaster on a series (or load one), backtest it beside the
naive baselines, forecast ahead, and optionally plot."""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import numpy as np

from ..cli import CommandError, UsageError
from ._lstm import add_lstm_arguments, add_verbose_argument, lstm_options, verbosity
from ._options import count, fraction, integer, positive, record_typed, refuse_with_model

#: what a loaded model (--model) reads: the other options set up the training of a new one and are refused with it
WITH_MODEL = ("data", "column", "model", "steps", "out", "plot")

#: the classes whose errors name their arguments, and those spelled otherwise on this command line:
#: lstmkit.cli shows the options instead (commands._options.name_options)
OWNERS = ("LSTMForecaster", "LSTMRegressor", "LSTM")
OPTIONS = {"test_size": "--backtest", "seasonal_period": "--season", "learning_rate": "--lr", "y": "the series"}

HELP = "forecast a time series with an LSTM, scored beside naive and seasonal-naive baselines"
EXAMPLE = (
    "lstmkit forecast builtin:airline --column passengers --log --difference 1 --season 12 "
    "--horizon 12 --backtest 24 --model-out airline_model.npz --plot airline.png"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="?", help="series: a .csv (with --column), a .npy (N,) or (N, S), or builtin:airline")
    p.add_argument("--column", help=".csv: comma-separated column(s) holding the series")
    p.add_argument("--model", help="use this saved forecaster instead of training (data then only extends the history; "
                                  "the training options are refused with it)")
    p.add_argument("--model-out", help="save the trained forecaster to this file")
    p.add_argument("--window", type=integer(1), default=12, help="input steps per forecast (default 12)")
    p.add_argument("--horizon", type=integer(1), default=1, help="steps forecast at once, direct multi-output (default 1)")
    p.add_argument("--season", type=integer(1), default=None, help="seasonal period for the seasonal-naive baseline and MASE")
    p.add_argument("--log", action="store_true", help="model log(y) (all values > 0)")
    p.add_argument("--difference", type=int, default=0, choices=(0, 1), help="1: model first differences")
    p.add_argument("--backtest", type=integer(0), default=0, metavar="N",
                   help="hold out the last N values, fit on the rest, score (training only: not with --model)")
    p.add_argument("--steps", type=integer(1), default=None, help="values to forecast after the series (default: horizon)")
    p.add_argument("--hidden-size", type=integer(1), default=32)
    p.add_argument("--num-layers", type=integer(1), default=1)
    p.add_argument("--dropout", type=fraction, default=0.0, help="between layers (num_layers > 1)")
    p.add_argument("--epochs", type=integer(0), default=100)
    p.add_argument("--batch-size", type=integer(1), default=16)
    p.add_argument("--lr", type=positive, default=0.01)
    p.add_argument("--patience", type=integer(0), default=None, help="early stopping on --validation-split (default: off)")
    p.add_argument("--validation-split", type=fraction, default=0.0, help="fraction of training windows held out")
    p.add_argument("--seed", type=int, default=0)
    add_verbose_argument(p)
    p.add_argument("--out", help="write the forecast to this CSV: the step number and a column per series, named as in the data")
    p.add_argument("--plot", help="write a figure of the series, backtest and forecast: .png, .pdf or .svg (matplotlib)")
    add_lstm_arguments(p)
    record_typed(p)  # which were typed: with --model, those it would not read are refused


def load_series(data: str, column):
    """What ``data`` holds: ((N,) or (N, S) float64, the S series' names, or None when the file names
    none: a .npy), from builtin:airline, a CSV column list, or a .npy file."""
    if data == "builtin:airline":
        from importlib import resources

        with resources.as_file(resources.files("lstmkit").joinpath("data/airline_passengers.csv")) as csv_path:
            return load_series(str(csv_path), column or "passengers")
    if data.startswith("builtin:"):
        raise CommandError(f"forecast: expected a series file or a built-in one among ['builtin:airline'], got {data!r}.")
    p = Path(data)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.suffix.lower() == ".csv":
        from ..tables import column_index, read_csv, read_csv_columns

        header, _ = read_csv(p)
        if not column:
            raise CommandError(f"{p}: expected --column naming the series among {header}, got none.")
        columns = [c.strip() for c in column.split(",")]
        y = read_csv_columns(p, columns)
        names = [header[column_index(header, c, str(p))] for c in columns]
        check_time_column(p, columns)
        return (y[:, 0] if y.shape[1] == 1 else y), names
    if p.suffix.lower() == ".npy":
        from ..tables import read_array

        y = read_array(p)
        if y.dtype.kind not in "iuf" or y.ndim not in (1, 2):
            raise CommandError(f"{p}: expected a numeric array (N,) or (N, S), got dtype {y.dtype} shape {y.shape}.")
        if not np.isfinite(y).all():
            raise CommandError(f"{p}: expected finite values, got NaN/inf (NaN in data).")
        return y.astype(np.float64), None
    raise CommandError(f"{p}: expected a .csv or .npy series (or builtin:airline), got {p.suffix or 'no extension'!r}.")


#: names of a first column read as the time of each row when it holds numbers (dates are read whatever its name)
TIME_NAMES = re.compile(r"(?i)^(t|time.*|date.*|.*_?(date|time)|year|month|week|day|quarter|period|step|index|timestamp)$")
_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def _times(cells: list[str]):
    """The cells as times and their unit, or None: ISO ``YYYY-MM`` as months, ``YYYY-MM-DD`` as
    days (as months when every date is the same day of the month, or the month's last day), numbers as
    themselves."""
    import calendar
    import datetime

    dates = [_DATE.fullmatch(c) for c in cells]
    if all(dates):
        try:
            ymd = [(int(m[1]), int(m[2]), int(m[3]) if m[3] else None) for m in dates]
            if all(d is None for _, _, d in ymd):
                return np.array([y * 12 + mo - 1 for y, mo, _ in ymd], dtype=float), "month"
            if any(d is None for _, _, d in ymd):
                return None
            days = [datetime.date(y, mo, d) for y, mo, d in ymd]
        except ValueError:  # month 13, day 31 of April: not dates
            return None
        if len({d.day for d in days}) == 1 or all(d.day == calendar.monthrange(d.year, d.month)[1] for d in days):
            return np.array([d.year * 12 + d.month - 1 for d in days], dtype=float), "month"
        return np.array([d.toordinal() for d in days], dtype=float), "day"
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:
        return None
    return (values, "") if np.isfinite(values).all() else None


def check_time_column(path, series_columns) -> None:
    """When a CSV's first column, not among the series, reads as times (ISO dates, or numbers under a
    name like 'date', 'year', 't'): refuse rows out of time order (a forecaster reads the rows as the
    order of time), and warn of uneven steps (a month missing, say): the forecaster assumes even ones."""
    from ..tables import column_index, read_csv

    header, rows = read_csv(path)
    if len(rows) < 2 or 0 in {column_index(header, c, str(path)) for c in series_columns}:
        return
    cells = [r[0].strip() for r in rows]
    found = _times(cells)
    if found is None or (found[1] == "" and not TIME_NAMES.match(header[0])):
        return
    t, unit = found
    step = np.diff(t)
    if (step <= 0).any():
        i = int(np.argmax(step <= 0))
        raise CommandError(f"{path}: expected the rows in time order (column {header[0]!r} increasing), got {cells[i + 1]!r} "
                           f"on line {i + 3} after {cells[i]!r} on line {i + 2}. The series is read in file order: sort "
                           f"the file by {header[0]!r}.")  # fmt: skip
    usual = float(np.median(step))
    uneven = ~np.isclose(step, usual, rtol=1e-9, atol=0)
    if uneven.any():
        i = int(np.argmax(uneven))
        units = f" {unit}" + ("" if usual == 1 else "s") if unit else ""
        warnings.warn(f"{path}: column {header[0]!r} is unevenly spaced: {int(uneven.sum())} of {len(step)} steps differ "
                      f"from the usual {usual:g}{units}, the first from {cells[i]!r} to {cells[i + 1]!r} (line {i + 3}). "
                      f"The forecaster reads the rows as evenly spaced: fill the gaps (or resample) for a forecast "
                      f"in time.", stacklevel=2)  # fmt: skip


def plot_forecast(path, y, result=None, forecast=None, title="", names=None) -> None:
    """Series, backtest forecasts (lead 1) of every method, and the forecast ahead, in one figure
    (PNG, PDF or SVG by the suffix of ``path``): one panel per series, its name (``names``) on the
    y axis."""
    from matplotlib.figure import Figure  # a figure of its own: pyplot's backend and figures untouched

    from ..io import save_figure

    y = np.asarray(y, dtype=np.float64)
    y2 = y[:, None] if y.ndim == 1 else y  # (N, S)
    N, S = y2.shape
    f2 = None if forecast is None else np.asarray(forecast, dtype=np.float64).reshape(-1, S)  # (k, S)
    x, x_ahead = np.arange(N, dtype=np.float64), np.arange(N, N + (0 if f2 is None else len(f2)), dtype=np.float64)
    fig = Figure(figsize=(9, 1.5 + 2.5 * S) if S > 1 else (9, 4))
    axes = np.atleast_1d(fig.subplots(S, 1, sharex=True, squeeze=False)[:, 0])
    for j, ax in enumerate(axes):
        ax.plot(x, y2[:, j], color="black", lw=1.2, label="series")
        if result is not None:
            r = result.series(j)
            styles = {"lstm": ("tab:red", "-"), "naive": ("tab:grey", ":"), "seasonal_naive": ("tab:blue", "--")}
            lead1 = r.mae_by_lead()  # the curves are lead-1 forecasts: label them with lead-1 MAE
            for name, f in r.forecasts.items():
                c, ls = styles.get(name, ("tab:green", "-"))
                mae1, mae = lead1[name][0], r.metrics[name]["MAE"]
                ax.plot(x[r.origins], f[:, 0, 0], ls, color=c, label=f"{name}: lead 1 (MAE {mae1:.1f}; all leads {mae:.1f})")
            o = r.origins[0]
            ax.axvline((x[o - 1] + x[o]) / 2, color="grey", lw=0.8)
        if f2 is not None:
            ax.plot(x_ahead, f2[:, j], "-", color="tab:orange", lw=2, label="forecast ahead")
        ax.set_ylabel(names[j] if names else "value")
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("time index")
    axes[0].set_title(title)
    fig.tight_layout()
    save_figure(fig, path)


def forecast_table(f: np.ndarray, names: list[str]) -> str:
    """The forecast (k, S) as CSV text: the step number and a column per series, named as in the data."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", *names])
    w.writerows([i + 1, *(f"{v:.6g}" for v in row)] for i, row in enumerate(f))
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    from ..forecast import ForecastWarning, LSTMForecaster

    names = None
    if args.model:
        if args.backtest:  # a backtest fits on the start of the series: a loaded model has seen all of it
            raise UsageError(f"forecast: expected --backtest without --model, got --backtest {args.backtest} with --model "
                               f"{args.model}. A backtest refits the model on the series less its last {args.backtest} "
                               f"values: leave out --model and give the training options.")  # fmt: skip
        if args.model_out:
            raise UsageError(f"forecast: expected --model-out without --model, got both. A loaded model is not "
                               f"retrained: copy {args.model} instead.")  # fmt: skip
        refuse_with_model("forecast", args, WITH_MODEL)  # --epochs, --window, ...: not read, so not taken
        fc = LSTMForecaster.load(args.model)
        y = fc.history_[:, 0] if fc.is_1d_ else fc.history_
        if args.data:
            y, names = load_series(args.data, args.column)
        result = None
    else:
        if not args.data:
            raise UsageError("forecast: expected a series (a .csv with --column, a .npy, or builtin:airline), got none.")
        y, names = load_series(args.data, args.column)
        fc = LSTMForecaster(
            window=args.window, horizon=args.horizon, seasonal_period=args.season, log=args.log,
            difference=args.difference, hidden_size=args.hidden_size, num_layers=args.num_layers,
            dropout=args.dropout, forget_bias=args.forget_bias, lstm_options=lstm_options(args),
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            patience=args.patience, validation_split=args.validation_split, seed=args.seed,
            verbose=verbosity(args),
        )  # fmt: skip
        result = None
        if args.backtest:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ForecastWarning)  # the notes are printed with the table
                result = fc.backtest(y, args.backtest, names=names)
            print(f"backtest on the last {count(args.backtest, 'value')} (fit on the first {len(y) - args.backtest}):")
            print(result.table())
            print()
        fc.fit(y)  # the final model uses the whole series
        if args.model_out:
            fc.save(args.model_out)
            print(f"model saved to {args.model_out}")
    f = fc.predict(args.steps, y)
    f2 = f[:, None] if f.ndim == 1 else f  # (k, S)
    labels = names or [f"series{j}" for j in range(f2.shape[1])]  # a .npy, a model without data: unnamed
    how = "direct" if len(f) <= fc.horizon else f"direct blocks of {fc.horizon}, recursive"
    print(f"forecast of the next {count(len(f), 'value')} ({how}):")
    if f2.shape[1] == 1:
        print(" ".join(f"{v:.2f}" for v in f2[:, 0]))
    else:  # a line per series, named (each in its own units), the values of a step one above the other
        cells = [[f"{v:.2f}" for v in col] for col in f2.T]
        width, value_width = max(len(n) for n in labels), max(len(c) for col in cells for c in col)
        for name, col in zip(labels, cells):
            print(f"{name:<{width}}  " + " ".join(c.rjust(value_width) for c in col))
    if args.out:
        from ..io import atomic_write_bytes

        text = forecast_table(f2, labels)
        atomic_write_bytes(args.out, lambda fh: fh.write(text.encode()))
        print(f"forecast written to {args.out}")
    if args.plot:
        plot_forecast(args.plot, y, result, f, title=str(args.data or args.model), names=names)
        print(f"plot written to {args.plot}")
    return 0
