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


def _warn_calls():
    """(file, line, category expression or None) of every ``warnings.warn(`` call in src/lstmkit (read with ast)."""
    import ast
    from pathlib import Path

    root = Path(lstmkit.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            f = node.func if isinstance(node, ast.Call) else None
            if isinstance(f, ast.Attribute) and f.attr == "warn" and isinstance(f.value, ast.Name) and f.value.id == "warnings":
                cat = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "category"), None)
                yield path.relative_to(root).as_posix(), node.lineno, cat


def test_every_warnings_warn_in_lstmkit_gives_an_lstmkit_warning():
    # no category is a plain UserWarning, which a filter on LstmkitWarning lets through; a name is looked up in the
    # module (or, imported in the function, among lstmkit's warning classes). The deprecations stay FutureWarnings.
    import ast
    import builtins
    import importlib

    from lstmkit._checks import LstmkitRuntimeWarning

    classes = {c.__name__: c for c in (*_USER, lstmkit.LstmkitWarning, LstmkitRuntimeWarning)}
    calls = list(_warn_calls())
    assert len(calls) >= 25, [c[:2] for c in calls]  # (29 when this was written: the walk finds them)
    bad, future = [], []
    for file, line, cat in calls:
        if cat is None or not isinstance(cat, ast.Name):
            bad.append(f"{file}:{line}: category {ast.unparse(cat) if cat is not None else 'not given'}")
            continue
        module = importlib.import_module("lstmkit." + file[:-3].replace("/", ".").removesuffix(".__init__"))
        cls = getattr(module, cat.id, None) or classes.get(cat.id) or getattr(builtins, cat.id, None)
        if cls is FutureWarning:
            future.append(file)
        elif not (isinstance(cls, type) and issubclass(cls, lstmkit.LstmkitWarning)):
            bad.append(f"{file}:{line}: category {cat.id}")
    assert bad == []
    assert sorted(future) == ["estimators.py", "forecast.py"]  # keyword_only's and history_'s


def test_a_filter_on_lstmkit_warning_silences_dropout_with_one_layer_r2_of_one_sample_and_kept_steps(monkeypatch):
    import lstmkit.cell

    monkeypatch.setattr(lstmkit.cell, "KEPT_WARNING_BYTES", 1)  # reached at the first step kept
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 3, 2)), rng.normal(size=4)
    est = lstmkit.LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(X, y)

    def trigger():
        lstmkit.LSTM(2, 3, dropout=0.5)  # dropout with num_layers=1 does nothing (as torch.nn.LSTM warns)
        assert np.isnan(est.score(X[:1], y[:1]))  # R² of one sample: not defined
        lstmkit.LSTMCell(2, 3, seed=0)(np.ones((1, 2)))  # a training step kept past KEPT_WARNING_BYTES

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trigger()
    said = [str(w.message) for w in caught]
    assert len(caught) == 3, said
    assert "dropout=0.5 acts between stacked layers" in said[0] and "R² is not defined" in said[1], said
    assert issubclass(caught[2].category, RuntimeWarning) and "kept for backward" in said[2], said  # as it was
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=lstmkit.LstmkitWarning)
        trigger()
    assert caught == []
