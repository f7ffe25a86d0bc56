"""The seeds' data: generated tasks checked against their definitions by hand."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from lstmkit.datasets import counting_task, digits_sequences, stdlib_text


def test_counting_task_targets_by_hand():
    X, y = counting_task(200, 7, seed=0)
    assert X.shape == (200, 7, 2) and y.shape == (200, 7)
    assert (X.sum(axis=2) == 1).all()  # one-hot A = [1, 0] or B = [0, 1]
    for b in range(20):
        seen = 0
        for t in range(7):
            seen += X[b, t, 0] == 1
            assert y[b, t] == (seen > 1)
    # the slides' A, A, B would be labelled [0, 1, 1]; some generated row starts A, A, B
    rows = np.flatnonzero((X[:, :3, 0] == [1, 1, 0]).all(axis=1))
    assert len(rows) and (y[rows[0], :3] == [0, 1, 1]).all()


def test_counting_task_is_seeded():
    a, b = counting_task(5, 4, seed=3), counting_task(5, 4, seed=3)
    assert all((u == v).all() for u, v in zip(a, b))


def test_digits_as_sequences_of_rows():
    from sklearn.datasets import load_digits

    X, y = digits_sequences()
    assert X.shape == (1797, 8, 8) and y.shape == (1797,)
    np.testing.assert_array_equal(X[5, 2] * 16, load_digits().data[5, 16:24])  # step 2 = image row 2
    assert X.min() == 0 and X.max() == 1


def test_digits_without_scikit_learn_gives_the_pip_line(monkeypatch):
    # it said "got ImportError. pip install scikit-learn": the extra's pip line, in the words of History.plot's
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")] + ["sklearn"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: the import fails as if not installed
    with pytest.raises(ModuleNotFoundError) as raised:
        digits_sequences()
    assert str(raised.value) == ("digits_sequences: expected scikit-learn installed (to load its digits), got none. "
                                 "Install it: pip install \"lstmkit[cli]\".")
    assert raised.value.name == "sklearn" and raised.value.__suppress_context__


def test_stdlib_text_is_local_source():
    import inspect
    import textwrap

    assert stdlib_text(500) == inspect.getsource(textwrap)[:500]
