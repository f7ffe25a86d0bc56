"""lstmkit.LstmkitWarning: the one base of lstmkit's warnings, so that a single filter silences them all."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lstmkit
from lstmkit.estimators import MissingLengthsWarning
from lstmkit.forecast import ForecastWarning
from lstmkit.tables import CSVWarning, read_csv_sequences
from lstmkit.text import TextWarning, _as_text

_USER = (CSVWarning, ForecastWarning, MissingLengthsWarning, TextWarning)


def test_every_lstmkit_warning_is_an_lstmkit_warning_and_still_what_it_was():
    assert issubclass(lstmkit.LstmkitWarning, UserWarning) and "LstmkitWarning" in lstmkit.__all__
    for cls in _USER:
        assert issubclass(cls, lstmkit.LstmkitWarning) and issubclass(cls, UserWarning), cls
    _jit = pytest.importorskip("lstmkit._jit")  # (imports numba)
    from lstmkit.backends import CompiledKernelsWarning

    for cls in (_jit.NumbaCacheWarning, CompiledKernelsWarning):  # RuntimeWarnings, as they were
        assert issubclass(cls, lstmkit.LstmkitWarning) and issubclass(cls, RuntimeWarning), cls


def _trigger_each(tmp_path):
    """One of each warning, from the calls that give it."""
    p = tmp_path / "s.csv"
    p.write_text("id,a\nu,1\nv,2\nu,3\n")  # u's rows interleaved with v's: a CSVWarning
    read_csv_sequences(p, group="id")
    _as_text(str(p), "TextGenerator.fit")  # a str naming an existing file: a TextWarning
    fc = lstmkit.LSTMForecaster(window=4, hidden_size=2, epochs=1, batch_size=16, seed=0)
    fc.backtest(np.full(30, 5.0), test_size=6)  # a constant series: MASE's scale is 0, a ForecastWarning
    rng = np.random.default_rng(0)
    X, lengths = rng.normal(size=(6, 5, 1)), np.array([5, 3, 5, 2, 5, 4])
    X[np.arange(5)[None, :] >= lengths[:, None]] = 0.0  # zero-padded
    est = lstmkit.LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(X, rng.normal(size=6), lengths=lengths)
    est.predict(X)  # fitted with lengths, X padded without them: a MissingLengthsWarning


def test_a_filter_on_lstmkit_warning_silences_each_and_nothing_else(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _trigger_each(tmp_path)
    assert {cls for cls in _USER if any(issubclass(w.category, cls) for w in caught)} == set(_USER)  # each was given
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=lstmkit.LstmkitWarning)
        _trigger_each(tmp_path)
        warnings.warn("someone else's", UserWarning)
        warnings.warn("and a runtime one", RuntimeWarning)
    assert [str(w.message) for w in caught] == ["someone else's", "and a runtime one"]


def test_a_filter_on_lstmkit_warning_silences_the_compiled_kernels_ones(monkeypatch):
    _jit = pytest.importorskip("lstmkit._jit")
    from lstmkit import backends

    monkeypatch.setattr(_jit, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=lstmkit.LstmkitWarning)
        _jit._warn(RuntimeError("cannot cache function 'f': no locator available for file 'x.py'"))
        backends._warn_broken("helper-223's test")  # (a reason of its own: the once-per-process cache not hit)
    assert caught == []
    monkeypatch.setattr(_jit, "_warned", False)
    with pytest.warns(_jit.NumbaCacheWarning):  # without the filter: given
        _jit._warn(RuntimeError("cannot cache function 'f': no locator available for file 'x.py'"))
