"""Data for the seeds' tasks: shipped, generated, or already on the machine — never downloaded.

    airline_passengers()        (144,) float64   monthly passengers 1949-1960 (shipped CSV, seed 002)
    counting_task(n, T, seed)   X (n, T, 2), y (n, T)   seed 000's "more than one A so far" task
    recall_task(n, lag, ...)    X (n, lag+2, S+2), y (n,)   recall the first symbol after `lag` steps
    stdlib_text(max_chars)      str   Python's own standard-library source (seed 003's text)
    digits_sequences()          X (1797, 8, 8), y (1797,)   scikit-learn's digits, row by row (seed 001)

Every generator takes a ``seed`` and draws from its own ``numpy.random.Generator``.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

from ._checks import check_int, check_rng, optional_import

#: standard-library modules whose source is the default training text (present on every CPython)
STDLIB_TEXT_MODULES = ("textwrap", "string", "fnmatch", "glob", "bisect", "heapq", "colorsys", "calendar", "difflib")


def airline_passengers(with_months: bool = False):
    """Monthly international airline passengers (thousands), Jan 1949 - Dec 1960, Box & Jenkins.

    Returns the (144,) float64 series, or ``(months, values)`` with ``months`` a list of
    ``"YYYY-MM"`` strings when ``with_months``. Source and checks: ``lstmkit/data/README.md``.
    """
    text = resources.files("lstmkit").joinpath("data/airline_passengers.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    months = [r[0] for r in rows[1:]]
    values = np.array([float(r[1]) for r in rows[1:]], dtype=np.float64)
    return (months, values) if with_months else values


def counting_task(n: int, T: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Seed 000's task: one-hot A = [1, 0] / B = [0, 1] sequences, target 1 once more than one A was seen.

    y[b, t] = 1 if  Σ_{s<=t} [x_s = A] > 1  else 0.

    Returns X (n, T, 2) float64 and y (n, T) int64. Symbols are A or B with probability 1/2 each.
    """
    n = check_int(n, "counting_task", "n", minimum=1)
    T = check_int(T, "counting_task", "T", minimum=1)
    rng = check_rng(seed, "counting_task")
    is_a = rng.random((n, T)) < 0.5  # (n, T)
    X = np.stack([is_a, ~is_a], axis=-1).astype(np.float64)  # (n, T, 2)
    y = (np.cumsum(is_a, axis=1) > 1).astype(np.int64)  # (n, T)
    return X, y


def recall_task(n: int, lag: int, n_symbols: int = 4, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first symbol across ``lag`` distractor steps, answer when asked.

    Step 0 shows one of ``n_symbols`` symbols (the answer); steps 1..lag show random distractor
    symbols from the same alphabet; the last step (lag+1) shows a "query" marker. The target is the
    first symbol, read at the last step, so the answer depends on an input ``lag + 1`` steps back
    and nothing in between helps. Channels: S symbols, then "distractor" flag, then "query" flag.

    Returns X (n, lag+2, S+2) float64 and y (n,) int64 in [0, S).
    """
    n = check_int(n, "recall_task", "n", minimum=1)
    lag = check_int(lag, "recall_task", "lag", minimum=0)
    S = check_int(n_symbols, "recall_task", "n_symbols", minimum=2)
    rng = check_rng(seed, "recall_task")
    T = lag + 2
    y = rng.integers(0, S, size=n)  # (n,)
    X = np.zeros((n, T, S + 2))
    X[np.arange(n), 0, y] = 1.0
    if lag:
        noise = rng.integers(0, S, size=(n, lag))  # (n, lag) distractor symbols
        X[np.arange(n)[:, None], 1 + np.arange(lag)[None, :], noise] = 1.0
        X[:, 1 : lag + 1, S] = 1.0
    X[:, -1, S + 1] = 1.0
    return X, y.astype(np.int64)


def stdlib_text(max_chars: int | None = 200_000, modules=STDLIB_TEXT_MODULES) -> str:
    """The source of some standard-library modules, concatenated (text found on every Python).

    Read with :func:`inspect.getsource`, nothing downloaded. Non-ASCII characters are kept.
    ``max_chars`` is a cap, not a promise: the default ``modules`` (STDLIB_TEXT_MODULES) hold about
    180,000 characters; name more modules for more text. Raises OSError if none of ``modules`` has
    source on this installation.
    """
    import importlib
    import inspect

    parts = []
    for name in modules:
        try:
            parts.append(inspect.getsource(importlib.import_module(name)))
        except (OSError, TypeError, ImportError):
            continue
    if not parts:
        raise OSError(f"stdlib_text: expected source files for {list(modules)}, got none (a Python without .py sources?).")
    text = "\n".join(parts)
    return text if max_chars is None else text[: check_int(max_chars, "stdlib_text", "max_chars", minimum=1)]


def digits_sequences() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits read row by row: X (1797, 8, 8) float64 in [0, 1], y (1797,) int64.

    Step t is image row t (8 pixel intensities 0..16, divided by 16). Needs scikit-learn
    (``lstmkit[cli]``); without it, a ModuleNotFoundError (``name="sklearn"``) gives the pip line
    that installs it.
    """
    with optional_import("sklearn", "digits_sequences", "to load its digits"):
        from sklearn.datasets import load_digits
    d = load_digits()
    return d.images.astype(np.float64) / 16.0, d.target.astype(np.int64)
