"""``lstmkit forecast``: fit an LSTMForecaster on a series (or load one), backtest it beside the
naive, seasonal-naive and trend-aware baselines, forecast ahead, and optionally plot. The training's
progress goes to stderr: stdout holds the table and the forecast."""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import LstmkitWarning, count, or_list, printable
from ..cli import CommandError, UsageError
from ..forecast import FILL, LSTMForecaster, as_series, calendar_steps, duration, how_names_differ, plot_forecast
from ._data import check_data_suffix
from ._lstm import add_lstm_arguments, add_verbose_argument, lstm_options
from ._options import add_check, fraction, integer, positive, record_typed, refuse_with_model

#: what a loaded model (--model) reads: the other options set up the training of a new one and are refused with it
WITH_MODEL = ("data", "column", "time_column", "model", "steps", "out", "plot")

#: the library's defaults, which the options take as theirs (so that the command line and Python agree)
DEFAULTS = LSTMForecaster().get_params()

#: the classes whose errors name their arguments, and those spelled otherwise on this command line:
#: lstmkit.cli shows the options instead (commands._options.name_options)
OWNERS = ("LSTMForecaster", "LSTMRegressor", "LSTM")
OPTIONS = {"test_size": "--backtest", "seasonal_period": "--season", "learning_rate": "--lr", "y": "the series",
           "names": "--column"}

HELP = "forecast a time series with an LSTM, scored beside naive, seasonal-naive and trend-aware baselines"
EXAMPLE = (
    "lstmkit forecast builtin:airline --column passengers --log --difference 1 --season 12 "
    "--horizon 12 --backtest 24 --model-out airline_model.npz --plot airline.png"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("data", nargs="?", help="series: a .csv (with --column), a .npy (N,) or (N, S), or builtin:airline")
    p.add_argument("--column", type=ColumnNames,
                   help=".csv: comma-separated column(s) holding the series (with --model: default the "
                        "series it was fitted on, recorded in the file; others are refused)")
    p.add_argument("--time-column", metavar="NAME",
                   help=".csv: the column of times (YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or a T and a UTC offset "
                        "(Z, +01:00) or none, or numbers), checked to be in order (in UTC); the "
                        "forecast (--out, --plot) then carries the times ahead, at the series' usual step. Default: "
                        "the first column of dates, else the first column when it holds numbers under a name like "
                        "date, year or t; 'none': read no times")  # fmt: skip
    p.add_argument("--model", help="use this saved forecaster instead of training (data then only extends the history; "
                                  "the training options are refused with it)")
    p.add_argument("--model-out", help="save the trained forecaster to this file")
    p.add_argument("--window", type=integer(1), default=d["window"], help="input steps per forecast (default %(default)s)")
    p.add_argument("--horizon", type=integer(1), default=d["horizon"], help="steps forecast at once, direct multi-output (default %(default)s)")
    p.add_argument("--season", type=integer(1), default=d["seasonal_period"],
                   help="seasonal period m for the seasonal-naive baseline and MASE (mean absolute scaled error: the MAE divided "
                        "by the in-sample MAE of the seasonal-naive forecast y_t = y_{t-m}; default: none, m = 1)")
    p.add_argument("--log", action="store_true", default=d["log"], help="model log(y) (all values > 0)")
    p.add_argument("--difference", type=int, default=d["difference"], choices=(0, 1), help="1: model first differences (default %(default)s)")
    p.add_argument("--backtest", type=integer(0), default=0, metavar="N",
                   help="hold out the last N values, fit on the rest, score (training only: not with --model; default 0: no backtest)")
    p.add_argument("--steps", type=integer(1), default=None, help="values to forecast after the series (default: horizon)")
    p.add_argument("--hidden-size", type=integer(1), default=d["hidden_size"], help="LSTM units (default %(default)s)")
    p.add_argument("--num-layers", type=integer(1), default=d["num_layers"], help="stacked LSTM layers (default %(default)s)")
    p.add_argument("--dropout", type=fraction, default=d["dropout"], help="between layers (num_layers > 1; default %(default)s)")
    p.add_argument("--epochs", type=integer(0), default=d["epochs"], help="training epochs (default %(default)s)")
    p.add_argument("--batch-size", type=integer(1), default=d["batch_size"], help="windows per update (default %(default)s)")
    p.add_argument("--lr", type=positive, default=d["learning_rate"],
                   help=f"learning rate (default %(default)s); the gradients' global norm is clipped at {d['clip']} "
                        f"(LSTMForecaster's clip, which Keras and PyTorch do not do; only lstmkit train has --clip)")  # fmt: skip
    p.add_argument("--patience", type=integer(0), default=d["patience"],
                   help="early stopping: stop after this many epochs without improvement and keep the best epoch's "
                        "weights; it watches val_loss with --validation-split, else the training loss (default: off)")  # fmt: skip
    p.add_argument("--validation-split", type=fraction, default=d["validation_split"],
                   help="fraction of the windows held out to validate: the last ones, at the end of the series "
                        "(training stops short of their targets; default %(default)s)")
    p.add_argument("--seed", type=int, default=d["seed"], help="random seed (default %(default)s)")
    add_verbose_argument(p, "stderr")  # the table and forecast are the product: `forecast ... > result.txt` holds no epoch lines
    p.add_argument("--out", help="write the forecast to this CSV: a column per series, named as in the data, beside "
                                "the times ahead (or the step number)")
    p.add_argument("--plot", help="write a figure of the series, backtest and forecast: .png, .pdf or .svg (matplotlib)")
    add_lstm_arguments(p, forget_bias=d["forget_bias"])
    record_typed(p)  # which were typed: with --model, those it would not read are refused
    add_check(p, lambda args: check_series_name(args.data, args.time_column, args.column))
    add_check(p, lambda args: check_column_list(args.column))
    add_check(p, check_model_options)


def check_model_options(args: argparse.Namespace) -> None:
    """Refuse (UsageError, exit 2), before the command runs, a command line that neither trains nor
    loads a model (no series, no --model), or that loads one beside the options it would not read:
    --backtest N (N > 0: a backtest refits), --model-out (a copy), the training options
    (:func:`._options.refuse_with_model`)."""
    if not args.model:
        if not args.data:
            raise UsageError("forecast: expected a series (a .csv with --column, a .npy, or builtin:airline), got none.")
        return
    if args.backtest:  # a backtest fits on the start of the series: a loaded model has seen all of it
        raise UsageError(f"forecast: expected --backtest without --model, got --backtest {args.backtest} with --model "
                         f"{args.model}. A backtest refits the model on the series less its last {args.backtest} "
                         f"values: leave out --model and give the training options.")  # fmt: skip
    if args.model_out:
        raise UsageError(f"forecast: expected --model-out without --model, got both. A loaded model is not "
                         f"retrained: copy {args.model} instead.")  # fmt: skip
    # --epochs, --window, ...: not read, so not taken; --backtest 0 (no backtest) among them, as an option that
    # would be ignored: no refit to speak of
    refuse_with_model("forecast", args, WITH_MODEL)


#: the built-in series (the data argument)
BUILTIN_SERIES = ("builtin:airline",)
#: the suffixes of the series files :func:`load_series` reads
SUFFIXES = (".csv", ".npy")


def check_series_name(data: str | None, time_column: str | None = None, column: str | None = None) -> None:
    """Refuse (UsageError, exit 2) a series ``data`` that no reader takes, whatever the files hold: a
    built-in name not among :data:`BUILTIN_SERIES`, a file's suffix not among :data:`SUFFIXES`,
    ``--time-column`` or ``--column`` with another file than a .csv (a .npy names no columns: they
    would be ignored). Run before the command (nothing read yet)."""
    if data is None or data in BUILTIN_SERIES:  # none: the command says what it needs
        return
    if data.startswith("builtin:"):
        raise UsageError(f"forecast: expected a series file or a built-in one among {list(BUILTIN_SERIES)}, got {data!r}.")
    suffix = check_data_suffix(data, SUFFIXES, f"series (or {or_list(BUILTIN_SERIES)})")
    written = Path(data).suffix
    if time_column is not None and suffix != ".csv":
        raise UsageError(f"forecast: expected --time-column with a .csv, got it with {written or 'no extension'!r} "
                         f"(a {written or 'file'} holds no times).")  # fmt: skip
    if column is not None and suffix != ".csv":
        raise UsageError(f"forecast: expected --column with a .csv, got it with {written!r} (a {written} names no "
                         f"columns: its columns are the series, in order). Leave out --column.")  # fmt: skip


class ColumnNames(list):
    """``--column``'s names (its argument type): the comma-separated text split and stripped once,
    ``"a, b"`` -> ``["a", "b"]``; ``text``, as typed, is what the refusals quote back."""

    def __init__(self, text: str):
        super().__init__(c.strip() for c in text.split(","))
        self.text = text


def check_column_list(column: ColumnNames | None) -> None:
    """Refuse (UsageError, exit 2) a ``--column`` list with an empty name (``a,``) or a name twice
    (``a,a``: one series read as two), whatever the file holds. Run before the command."""
    if column is None:
        return
    if "" in column:
        raise UsageError(f"forecast: expected --column column names separated by commas, got {column.text!r}, which "
                         f"holds an empty name.")  # fmt: skip
    twice = next((c for i, c in enumerate(column) if c in column[:i]), None)
    if twice is not None:
        raise UsageError(f"forecast: expected --column distinct columns, got {twice!r} twice in {column.text!r}. Name "
                         f"each series once.")  # fmt: skip


def load_series(data: str, column, time_column: str | None = None, fitted_on: str | None = None):
    """What ``data`` holds: ((N,) or (N, S) float64, the S series' names (None when the file names
    none: a .npy), its :class:`TimeColumn` or None), from builtin:airline, a CSV's columns (``column``:
    their names or indices, --column's :class:`ColumnNames` or those recorded), or a .npy file;
    ``data`` is one :func:`check_series_name` takes (run before the command). ``fitted_on``: the model file whose
    recorded series ``column`` lists (--model without --column), named when a CSV lacks one."""
    if data == "builtin:airline":
        from importlib import resources

        with resources.as_file(resources.files("lstmkit").joinpath("data/airline_passengers.csv")) as csv_path:
            return load_series(str(csv_path), column or ["passengers"], time_column, fitted_on)
    p = Path(data)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.suffix.lower() == ".csv":
        from ..tables import column_index, csv_columns, read_csv

        header, rows = read_csv(p)  # once: the series and the times are read from these
        if not column:  # a CSV's series are named on the command line (usage), or recorded in the model (its file)
            recorded = f" ({fitted_on} recorded no names of the series it was fitted on)" if fitted_on else ""
            error = CommandError if fitted_on else UsageError
            raise error(f"{p}: expected --column naming the series among {header}, got none{recorded}.")
        columns = list(column)
        absent = [c for c in columns if c not in header] if fitted_on else []
        if absent:
            raise CommandError(f"{p}: expected the series {fitted_on} was fitted on, {columns}, got no column {absent[0]!r} "
                               f"among {header}. Name the file's columns as at fit (or give the series as a .npy, "
                               f"its columns in that order).")  # fmt: skip
        series = [column_index(header, c, str(p)) for c in columns]
        check_no_gaps(p, header, rows, series)
        y = csv_columns(header, rows, series, str(p))
        time = check_time_column(p, header, rows, series, time_column)
        return (y[:, 0] if y.shape[1] == 1 else y), [header[j] for j in series], time
    from ..tables import read_array  # a .npy

    y = read_array(p)
    if y.dtype.kind not in "iuf" or y.ndim not in (1, 2):
        raise CommandError(f"{p}: expected a numeric array (N,) or (N, S), got dtype {y.dtype} shape {y.shape}.")
    as_series(y, str(p), "the series")  # NaN, inf, empty: the forecaster's refusal, naming the file as a CSV's cell is
    return y.astype(np.float64), None, None


#: cells read as a missing value, lower-cased (what to do about them: lstmkit.forecast.FILL, the library's words)
MISSING = ("", "na", "n/a", "nan", "null", "none")


def check_no_gaps(path, header: list[str], rows: list[list[str]], series: list[int]) -> None:
    """Refuse (CommandError) a missing value (:data:`MISSING`) in the series columns ``series`` of
    the CSV ``path``, saying where the first is (its line, :func:`lstmkit.tables.row_line`), how many
    there are, and what to do (:data:`FILL`)."""
    from ..tables import row_line

    for j in series:
        gaps = [i for i, r in enumerate(rows) if r[j].strip().lower() in MISSING]
        if gaps:
            more = f" ({count(len(gaps), 'missing value')} in the column)" if len(gaps) > 1 else ""
            raise CommandError(f"{path}: expected a number in column {header[j]!r}, got {rows[gaps[0]][j]!r} on line "
                               f"{row_line(rows, gaps[0])}{more}. {FILL}")  # fmt: skip


#: names of a first column read as the time of each row when it holds numbers (dates are read whatever its name)
TIME_NAMES = re.compile(r"(?i)^(t|time.*|date.*|.*_?(date|time)|year|month|week|day|quarter|period|step|index|timestamp)$")
_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
#: a date and a time of day, ISO: ``YYYY-MM-DD HH:MM[:SS]`` (pandas' to_csv of an hourly index) or with a 'T', and a
#: UTC offset or none: ``Z`` or ``+HH:MM`` (``2024-03-01T10:00:00+01:00``, pandas' to_csv of a tz-aware index)
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})([ T])(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?")
#: the forms of times a CSV's column may hold, one throughout (as the messages list them)
TIME_FORMS = "YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or a T and a UTC offset (Z, +01:00) or none, or numbers"
def _times(cells: list[str]):
    """The cells as times, their kind and their instants, or None: ISO ``YYYY-MM`` (its first day),
    ``YYYY-MM-DD`` and ``YYYY-MM-DD HH:MM[:SS]`` (or with a 'T') as datetime64[s] ('time'), the
    times as written; a UTC offset (``Z``, ``+01:00``) kept apart: the instants are the times in
    UTC (the times as written less their offsets; without offsets, the times); numbers as
    themselves (''; their instants too). One form throughout (all with an offset or none). How a
    step is measured (months, business days, days or time) is
    :func:`lstmkit.forecast.calendar_steps`' rule, as for a pandas index: the calendar on the times
    as written, the order and a step within a day on the instants."""
    import datetime

    stamps = [_DATETIME.fullmatch(c) for c in cells]
    dates = [_DATE.fullmatch(c) for c in cells]
    try:
        if all(stamps):
            if len({(m[4], m[7] is None, m[8] is None) for m in stamps}) > 1:  # 'T' and ' ', with and without seconds
                return None  # or an offset: not one form
            when = [datetime.datetime(*(int(m[k]) for k in (1, 2, 3, 5, 6)), int(m[7] or 0)) for m in stamps]
            t = np.array(when, dtype="datetime64[s]")
            offsets = np.array([_offset_seconds(m[8]) for m in stamps], dtype="timedelta64[s]")
            return t, "time", t - offsets
        elif all(dates):
            if len({m[3] is None for m in dates}) > 1:  # YYYY-MM and YYYY-MM-DD: not one form
                return None
            when = [datetime.datetime(int(m[1]), int(m[2]), int(m[3] or 1)) for m in dates]
        else:
            values = np.array([float(c) for c in cells])
            return (values, "", values) if np.isfinite(values).all() else None
    except ValueError:  # month 13, day 31 of April, hour 25, offset +25:00: not times; a word: not a number
        return None
    t = np.array(when, dtype="datetime64[s]")
    return t, "time", t


def _offset_seconds(offset: str | None) -> int:
    """A UTC offset as written, ``Z``, ``+01:00``, ``-05:30`` or none, in seconds east of UTC; ValueError
    beyond ±23:59 (as Python's datetime takes them)."""
    if not offset or offset == "Z":
        return 0
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {offset}")
    return (-1 if offset[0] == "-" else 1) * (hours * 3600 + minutes * 60)


def _form(cell: str) -> str:
    """The form of a cell that reads as a time on its own: 'YYYY-MM', 'YYYY-MM-DD', 'YYYY-MM-DD
    HH:MM[:SS]' (with its ' ' or 'T') or 'a number'."""
    m = _DATETIME.fullmatch(cell)
    if m:
        return f"YYYY-MM-DD{m[4]}HH:MM" + (":SS" if m[7] else "") + (" with a UTC offset" if m[8] else "")
    m = _DATE.fullmatch(cell)
    if m:
        return "YYYY-MM-DD" if m[3] else "YYYY-MM"
    return "a number"


def _why_not_times(cells: list[str], rows: list[list[str]]) -> str:
    """Why ``cells`` (a column of ``rows``, 2 or more) are not times (:func:`_times` gave None), for
    a message: the first cell that is no time on its own, else the first row's cell and the first
    whose form differs from it (mixed forms: a date and a date-time, ' ' and 'T', with and without
    seconds or a UTC offset, dates and numbers)."""
    from ..tables import row_line

    bad = next((i for i, c in enumerate(cells) if _times([c, c]) is None), None)
    if bad is not None:
        return f"{cells[bad]!r} on line {row_line(rows, bad)}"
    forms = [_form(c) for c in cells]
    i = next((i for i, f in enumerate(forms) if f != forms[0]), None)
    if i is None:  # each form reads alone and all are one: not reached (kept as a plain answer)
        return "times in more than one form"
    return (f"{cells[0]!r} ({forms[0]}) on line {row_line(rows, 0)} and {cells[i]!r} ({forms[i]}) on line "
            f"{row_line(rows, i)}")  # fmt: skip


@dataclass(frozen=True)
class TimeColumn:
    """A CSV's column of times, in order (:func:`check_time_column`): the times of the rows, and
    those ahead at the usual step."""

    name: str  # the column's header
    cells: tuple[str, ...]  # the times as written
    t: np.ndarray  # (N,) datetime64[s] (dates, a month as its first day) as written (less a UTC offset), or the numbers
    unit: str  # how a step is counted: 'month', 'business day', 'day' (lstmkit.forecast.calendar_steps), 'second' or ''
    step: float  # the usual (median) step between rows, in units
    offsets: np.ndarray | None = None  # (N,) timedelta64[s]: each row's UTC offset as written (Z: 0), or None (none written)

    def ahead(self, k: int) -> np.ndarray:
        """(k,) the next k times after the last row, at the usual step (as ``t``; at the column's
        time of day for a step in months or days; business days skip the weekends: a Friday's next
        is the Monday; months land on the column's day of the month, or the month's last day when
        the column's are). With a UTC offset, ahead of the last row's in its offset (the column names
        no time zone: a change of clocks ahead is not known)."""
        n = int(self.step) * np.arange(1, k + 1)
        if not self.unit:
            return self.t[-1] + self.step * np.arange(1, k + 1)
        if self.unit == "second":
            return self.t[-1] + n.astype("timedelta64[s]")
        last = self.t[-1].astype("datetime64[D]")
        clock = self.t[-1] - last.astype("datetime64[s]")  # the time of day
        if self.unit == "day":
            days = last + n
        elif self.unit == "business day":
            days = np.busday_offset(last, n)
        else:  # months: on the column's day of the month, or the month's last day
            month = last.astype("datetime64[M]") + n
            day = self.t.astype("datetime64[D]") - self.t.astype("datetime64[M]").astype("datetime64[D]")
            ends = ((self.t.astype("datetime64[D]") + 1).astype("datetime64[M]") != self.t.astype("datetime64[M]")).all()
            last_day = (month + 1).astype("datetime64[D]") - 1
            days = last_day if ends and len(set(day.tolist())) > 1 else np.minimum(month.astype("datetime64[D]") + day[0], last_day)
        return days.astype("datetime64[s]") + clock

    def text(self, t: np.ndarray) -> list[str]:
        """Times ``t`` (as ``t``) written as the column writes them: YYYY-MM, YYYY-MM-DD, YYYY-MM-DD
        HH:MM[:SS] (with the column's ' ' or 'T', and its last row's UTC offset as written: Z, +01:00),
        numbers."""
        if self.unit:
            first = self.cells[0]
            if len(first) == 7:  # YYYY-MM
                return [str(v.astype("datetime64[M]")) for v in t]
            if len(first) == 10:  # YYYY-MM-DD
                return [str(v.astype("datetime64[D]")) for v in t]
            m, offset = _DATETIME.fullmatch(first), _DATETIME.fullmatch(self.cells[-1])[8] or ""
            form = f"%Y-%m-%d{m[4]}%H:%M" + (":%S" if m[7] else "")
            return [v.astype(object).strftime(form) + offset for v in np.asarray(t, dtype="datetime64[s]")]
        integral = all(re.fullmatch(r"[+-]?\d+", c) for c in self.cells) and float(self.step).is_integer()
        return [str(int(round(v))) if integral else f"{v:.12g}" for v in t]

    def x(self, t: np.ndarray, ahead: bool = False) -> np.ndarray:
        """Times ``t`` (the rows' ``t``, (N,); ``ahead``: those of :meth:`ahead`, in the last row's
        offset) as a figure's x values (:func:`lstmkit.forecast.plot_forecast`'s ``times``): dates
        as datetime64[D] (a month as its first day), times of day as datetime64[s], as written
        (local time), but in UTC for steps within a day (unit 'second') where the column writes UTC
        offsets (t less its offsets: as written, the hour repeated at an autumn change of clocks
        would step back; a daily or monthly column, read on local time as its steps are, stays at
        its time of day), else the numbers."""
        if not self.unit:
            return np.asarray(t, dtype=np.float64)
        if len(self.cells[0]) <= 10:
            return np.asarray(t).astype("datetime64[D]")
        if not self._in_utc:
            return np.asarray(t)
        return np.asarray(t) - (self.offsets[-1] if ahead else self.offsets)

    @property
    def _in_utc(self) -> bool:
        """Whether :meth:`x` turns the times to UTC: steps within a day, with UTC offsets written."""
        return self.unit == "second" and self.offsets is not None

    @property
    def label(self) -> str:
        """The axis label: the column's name, and "(UTC)" where :meth:`x` turns its times to UTC."""
        return self.name + (" (UTC)" if self._in_utc else "")


def check_time_column(path, header: list[str], rows: list[list[str]], series_columns,
                      column: str | None = None) -> TimeColumn | None:
    """The column of times of the CSV ``path`` (its ``header, rows``, as :func:`lstmkit.tables.read_csv`
    reads them), checked, or None; ``series_columns`` (names or indices) hold the series.

    ``column`` names it (--time-column; 'none': no times). By default it is the first column, not
    among the series, that holds ISO dates (YYYY-MM, YYYY-MM-DD, or with a time of day), else the
    first column when it holds numbers under a name like 'date', 'year', 't' (a column of numbers
    elsewhere, a month of the year say, is data). A column named like times that holds neither is
    warned of, and a --time-column refused, naming the first cell that is no time or whose form
    differs from the first row's. Rows out of time order are refused (a forecaster reads the rows
    as the order of time); uneven steps (a month missing, say) are warned of: the forecaster
    assumes even ones. A step is measured as a pandas index's is (:func:`lstmkit.forecast.calendar_steps`):
    times at one time of day in months, business days (Monday to Friday, the weekends skipped) or
    days, else in time; and so are the times ahead. Times with a UTC offset (``Z``, ``+01:00``) are
    ordered and stepped within a day in UTC (an hour twice at a change of clocks is in order), on
    the calendar as written, and the times ahead are written in the last row's offset."""
    from ..tables import CSVWarning, column_index, row_line

    series = {column_index(header, c, str(path)) for c in series_columns}
    if column is not None and column.strip().lower() == "none":
        return None
    if column is not None:
        j = column_index(header, column.strip(), f"{path}: --time-column")
        if j in series:
            raise UsageError(f"forecast: expected --time-column another column than the series, got {header[j]!r}, "
                             f"which --column names as a series.")  # fmt: skip
        cells = [r[j].strip() for r in rows]
        found = _times(cells) if len(cells) >= 2 else None
        if found is None:
            if len(cells) < 2:  # too few rows: no form to change
                got, fix = f"{len(cells)} row" + ("s" if len(cells) != 1 else ""), "Give the file 2 rows or more."
            else:
                got = _why_not_times(cells, rows)
                fix = "Write every time in one of these forms, or give --time-column none to number the forecast by step."
            raise CommandError(f"{path}: expected --time-column {header[j]!r} to hold times ({TIME_FORMS}; one form "
                               f"throughout, on 2 rows or more), got {got}. {fix}")  # fmt: skip
    else:
        j = found = None
        others = [k for k in range(len(header)) if k not in series] if len(rows) >= 2 else []
        for k in others:
            times = _times([r[k].strip() for r in rows])
            if times is not None and (times[1] or (k == 0 and TIME_NAMES.match(header[0]))):
                j, found = k, times
                break
        if j is None:
            named = [k for k in others if TIME_NAMES.match(header[k]) and _times([r[k].strip() for r in rows]) is None]
            if named:  # it looks like times: say why it is not read
                k = named[0]
                why = _why_not_times([r[k].strip() for r in rows], rows)
                warnings.warn(f"{path}: column {header[k]!r} is not read as times ({TIME_FORMS}; one form "
                              f"throughout), got {why}: the forecast is numbered by step.", CSVWarning, stacklevel=2)  # fmt: skip
            return None
        cells = [r[j].strip() for r in rows]
    t, kind, instants = found  # instants: in UTC (those of a column with offsets), their order and steps within a day
    back = np.diff(instants) <= (np.timedelta64(0, "s") if kind else 0)
    if back.any():
        i = int(np.argmax(back))
        raise CommandError(f"{path}: expected the rows in time order (column {header[j]!r} increasing), got {cells[i + 1]!r} "
                           f"on line {row_line(rows, i + 1)} after {cells[i]!r} on line {row_line(rows, i)}. The series is "
                           f"read in file order: sort the file by {header[j]!r}.")  # fmt: skip
    if kind:  # the library's rule (a pandas index's): months, business days, days, else seconds
        step, unit = calendar_steps(t, instants)
        step, unit = (step / 1e9, "second") if not unit else (step.astype(float), unit)
    else:
        step, unit = np.diff(t), ""
    usual = float(np.median(step))
    if unit:  # whole months, days or seconds
        usual = float(max(1, round(usual)))
    uneven = ~np.isclose(step, usual, rtol=1e-9, atol=0)
    if uneven.any():
        i = int(np.argmax(uneven))
        every = duration(usual * 1e9) if unit == "second" else f"{usual:g}" + (f" {unit}" + ("" if usual == 1 else "s") if unit else "")
        warnings.warn(f"{path}: column {header[j]!r} is unevenly spaced: {int(uneven.sum())} of {len(step)} steps differ "
                      f"from the usual {every}, the first from {cells[i]!r} to {cells[i + 1]!r} (line "
                      f"{row_line(rows, i + 1)}). The forecaster reads the rows as evenly spaced: fill the gaps (or "
                      f"resample) for a forecast in time.", CSVWarning, stacklevel=2)  # fmt: skip
    stamp = _DATETIME.fullmatch(cells[0]) if kind else None  # one form throughout: all with an offset or none
    return TimeColumn(header[j], tuple(cells), t, unit, usual, t - instants if stamp and stamp[8] else None)


def forecast_table(f: np.ndarray, names: list[str], time: TimeColumn | None) -> str:
    """The forecast (k, S) as CSV text: the times ahead (or the step number) and a column per
    series, named as in the data."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([time.name if time is not None else "step", *names])
    when = time.text(time.ahead(len(f))) if time is not None else [str(i + 1) for i in range(len(f))]
    w.writerows([t, *(f"{v:.6g}" for v in row)] for t, row in zip(when, f))
    return buf.getvalue()


def check_model_columns(column: ColumnNames, recorded: list[str] | None, model: str) -> None:
    """Check the series ``--column`` names beside ``--model`` and no data: the model forecasts its
    own history, so they must be ``recorded``, the series it was fitted on (``series_names_``), in
    that order; others are refused naming both lists (:func:`lstmkit.forecast.how_names_differ`, the
    forecaster's own words), and so is --column with a model that recorded no names (fitted on a
    .npy, or saved before names were recorded). CommandError (exit 1): the model file decides, as
    with a data file's columns."""
    columns = list(column)
    if recorded is None:
        raise CommandError(f"forecast: expected --column with a series file, or with a model that recorded the names of "
                           f"its series, got --column {column.text} with --model {model}, which records none (fitted on "
                           f"unnamed series: a .npy). Leave out --column: the model forecasts the series it was "
                           f"fitted on.")  # fmt: skip
    if columns != list(recorded):
        raise CommandError(f"forecast: expected --column the series {model} was fitted on, {list(recorded)}, in that "
                           f"order, got {columns} ({how_names_differ(columns, recorded)}). Without a data file "
                           f"the model forecasts those series, from its own history: leave out --column.")  # fmt: skip


class Labelled:
    """A text stream (stderr) that writes ``label`` on a line of its own before the first text written
    to it, if any: a fit's progress lines under a title, and no title for a fit that prints none
    (--verbose 0, or refused before training). Everything else is the stream's."""

    def __init__(self, stream, label: str | None):
        self.stream, self.label = stream, label

    def write(self, text: str) -> int:
        if self.label and text:
            self.stream.write(self.label + "\n")
            self.label = None
        return self.stream.write(text)

    def __getattr__(self, name):  # flush, isatty, encoding, ...: the stream's
        return getattr(self.stream, name)


def run(args: argparse.Namespace) -> int:
    from ..forecast import ForecastWarning

    names, time = None, None
    if args.model:  # the options beside it were checked before the command ran (check_model_options)
        fc = LSTMForecaster.load(args.model)
        y = fc.series_[:, 0] if fc.is_1d_ else fc.series_
        recorded = getattr(fc, "series_names_", None)  # None: a file saved before they were recorded, or a .npy's model
        names = None if recorded is None else list(recorded)
        if args.data:  # --column: by default the series fitted on; predict refuses others
            y, names, time = load_series(args.data, args.column or names, args.time_column,
                                         fitted_on=None if args.column else args.model)  # fmt: skip
            if names is None and recorded is not None and (1 if y.ndim == 1 else y.shape[1]) == len(recorded):
                names = list(recorded)  # a .npy of as many columns: taken for the series fitted on (others: predict counts them)
                warnings.warn(f"{args.data} names no series (a .npy): its columns are read as {names}, the series "
                              f"{args.model} was fitted on, in that order.", LstmkitWarning, stacklevel=2)  # fmt: skip
        elif args.column:  # no data: the model's own history is forecast, its series named by --column or refused
            check_model_columns(args.column, recorded, args.model)
        result = None
    else:
        y, names, time = load_series(args.data, args.column, args.time_column)
        verbose = args.verbose  # epoch lines: those of the two fits of a backtest are labelled
        fc = LSTMForecaster(
            window=args.window, horizon=args.horizon, seasonal_period=args.season, log=args.log,
            difference=args.difference, hidden_size=args.hidden_size, num_layers=args.num_layers,
            dropout=args.dropout, forget_bias=args.forget_bias, lstm_options=lstm_options(args),
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            patience=args.patience, validation_split=args.validation_split, seed=args.seed,
            verbose=verbose,
        )  # fmt: skip
        result = None
        # the training's progress (the epoch lines, or the live bar when stderr is a terminal) on stderr, each fit's
        # labelled: stdout is the table's and forecast's
        if args.backtest:
            label = f"backtest fit on the first {count(len(y) - args.backtest, 'value')} (the last {args.backtest} held out):"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ForecastWarning)  # the notes are printed with the table
                result = fc.backtest(y, args.backtest, names=names, stream=Labelled(sys.stderr, label))
            print(f"backtest on the last {count(args.backtest, 'value')} (fit on the first {len(y) - args.backtest}):")
            print(printable(result.table()))  # series names (headings, notes) from the file: escaped
            print()
        label = f"final fit on the whole series ({count(len(y), 'value')}):" if args.backtest else None
        fc.fit(y, names=names, stream=Labelled(sys.stderr, label))  # the final model uses the whole series; a CSV's names are recorded
        if args.model_out:
            fc.save(args.model_out)
            print(f"model saved to {args.model_out}")
    # no data: from the end of the model's own history; a series as (N, S): one --column is 1 column, not a 1-D series
    f = fc.predict(args.steps, *((y.reshape(len(y), -1), names) if args.data else ()))
    f2 = f[:, None] if f.ndim == 1 else f  # (k, S)
    held = getattr(fc, "validation_indices_", None)
    if held is not None and not fc.regressor_.validation_split:  # the last windows (not a file's older random choice)
        # no training window reaches the validated windows' targets, nor the horizon - 1 values before them
        unseen = len(held) + fc.horizon - 1
        print(f"note: the model did not train on the last {count(unseen, 'value')} of the series it was fitted on "
              f"(--validation-split {fc.validation_split:g} held them out to validate); fit it again without "
              f"--validation-split to forecast from a model trained on all of it.")  # fmt: skip
    labels = names or [f"series{j}" for j in range(f2.shape[1])]  # a .npy, a model fitted on one: unnamed
    how = "direct" if len(f) <= fc.horizon else f"direct blocks of {fc.horizon}, recursive"
    when = "" if time is None else f", {' to '.join(dict.fromkeys(time.text(time.ahead(len(f))[[0, -1]])))}"
    print(f"forecast of the next {count(len(f), 'value')} ({how}){when}:")
    if f2.shape[1] == 1:
        print(" ".join(f"{v:.2f}" for v in f2[:, 0]))
    else:  # a line per series, named (each in its own units), the values of a step one above the other
        cells = [[f"{v:.2f}" for v in col] for col in f2.T]
        shown = [printable(n) for n in labels]  # (names from the file: control characters escaped on the terminal)
        width, value_width = max(len(n) for n in shown), max(len(c) for col in cells for c in col)
        for name, col in zip(shown, cells):
            print(f"{name:<{width}}  " + " ".join(c.rjust(value_width) for c in col))
    if args.out:
        from ..io import atomic_write_bytes

        text = forecast_table(f2, labels, time)
        atomic_write_bytes(args.out, lambda fh: fh.write(text.encode()))
        print(f"forecast written to {args.out}")
    if args.plot:
        at = {} if time is None else {"times": time.x(time.t), "times_ahead": time.x(time.ahead(len(f)), ahead=True), "time_label": time.label}
        plot_forecast(args.plot, y, result, f, title=str(args.data or args.model), names=names, **at)
        print(f"plot written to {args.plot}")
    return 0
