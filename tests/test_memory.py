"""The memory experiment: the recall task, the gradient reaching back, the RNN-vs-LSTM table."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmkit.datasets import recall_task
from lstmkit.memory import gradient_reach, make_model, run_memory_experiment


def test_recall_task_layout():
    X, y = recall_task(50, lag=3, n_symbols=4, seed=0)
    assert X.shape == (50, 5, 6) and y.shape == (50,)
    np.testing.assert_array_equal(X[:, 0, :4].argmax(axis=1), y)  # the answer is at step 0
    assert (X[:, 1:4, 4] == 1).all() and (X[:, 1:4, :4].sum(axis=2) == 1).all()  # distractors
    assert (X[:, -1, 5] == 1).all() and (X[:, -1, :5] == 0).all()  # the query step
    X2, y2 = recall_task(50, lag=3, n_symbols=4, seed=0)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradient_reach_matches_finite_differences(cell):
    # g(k) = mean_b ||dℓ_b/dx_{b,t-k}||, checked against centred differences of the loss itself
    from lstmkit.functional import log_softmax

    model = make_model(cell, 3, 4, seed=0, forget_bias=1.0)
    X, y = recall_task(2, lag=2, n_symbols=3, seed=1)
    g = gradient_reach(model, X, y)
    model.eval()

    def loss_b(Xp, b):
        with model.no_grad():
            z, _ = model(Xp)
        return -log_softmax(z, axis=1)[b, y[b]]

    eps, T = 1e-6, X.shape[1]
    num = np.zeros((2, T))
    for b in range(2):
        for s in range(T):
            d = np.zeros(X.shape[2])
            for i in range(X.shape[2]):
                Xp, Xm = X.copy(), X.copy()
                Xp[b, s, i] += eps
                Xm[b, s, i] -= eps
                d[i] = (loss_b(Xp, b) - loss_b(Xm, b)) / (2 * eps)
            num[b, s] = np.linalg.norm(d)
    np.testing.assert_allclose(g, num.mean(axis=0)[::-1], rtol=1e-5, atol=1e-10)


def test_rnn_gradient_vanishes_while_an_open_forget_gate_carries_it():
    # the seeds' claim at initialisation, 30 steps back: the RNN's gradient falls by orders of
    # magnitude; the LSTM's (forget gate open, σ(3) ≈ 0.95) does not
    X, y = recall_task(20, lag=30, n_symbols=4, seed=0)
    g_rnn = gradient_reach(make_model("rnn", 4, 16, seed=0), X, y)
    g_lstm = gradient_reach(make_model("lstm", 4, 16, seed=0, forget_bias=3.0), X, y)
    assert g_rnn[30] < 1e-3 * g_rnn[0]
    assert g_lstm[30] > 1e-1 * g_lstm[0]


def test_experiment_table_and_plot(tmp_path):
    r = run_memory_experiment(lags=(1, 3), steps=5, n_test=20, hidden_size=4, seed=0)
    assert set(r.accuracy) == {"rnn", "lstm"} and r.accuracy["lstm"].shape == (2,)
    assert all(((a >= 0) & (a <= 1)).all() for a in r.accuracy.values())
    assert r.grad_trained["rnn"].shape == (5,) and r.chance == 0.25
    table = r.table()
    assert "lstm acc" in table and "rnn init" in table
    r.plot(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_to_dict_is_the_result_as_json(tmp_path):
    import json

    r = run_memory_experiment(lags=(3, 1, 3), steps=2, n_test=10, hidden_size=3, seed=0)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["lags"] == [1, 3] and d["chance"] == 0.25  # sorted, each lag once
    for c in ("rnn", "lstm"):
        assert d["cells"][c]["accuracy"] == r.accuracy[c].tolist()
        assert len(d["cells"][c]["grad_trained"]) == 5  # k = 0 .. lag + 1 at the longest lag
    assert d["settings"]["steps"] == 2 and d["settings"]["seed"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lags": ()}, "expected lags a non-empty sequence of ints >= 0, got ()"),
        ({"lags": 5}, "expected lags a non-empty sequence"),
        ({"lags": (2, -1)}, "expected each lag >= 0, got -1"),
        ({"lags": (2.5,)}, "expected each lag an integer, got float 2.5"),
        ({"n_symbols": 1}, "expected n_symbols >= 2, got 1"),
        ({"steps": 0}, "expected steps >= 1, got 0"),
        ({"lr": 0.0}, "expected lr a finite number > 0, got 0.0"),
        ({"clip": float("nan")}, "expected clip a finite number > 0, got nan"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match="run_memory_experiment: " + message.replace("(", r"\(").replace(")", r"\)")):
        run_memory_experiment(**{"lags": (1,), **kwargs})


def test_cli_memory_prints_the_table_and_writes_plot_and_json(tmp_path, capsys):
    import json

    from lstmkit.cli import main

    rc = main(["memory", "--lags", "1,2", "--steps", "2", "--n-test", "10", "--hidden-size", "3",
               "--plot", str(tmp_path / "m.png"), "--json", str(tmp_path / "m.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "lstm acc" in out and "rnn trained" in out
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "m.json").read_text())["lags"] == [1, 2]


def test_cli_memory_refuses_lags_as_the_command_line_is_parsed(capsys):
    # --lags is this command's own type (the ranges of the other options: test_cli's parametrised rows)
    from lstmkit.cli import main

    for value in ("3,x", "2,-1", ","):
        with pytest.raises(SystemExit) as exc:
            main(["memory", f"--lags={value}"])
        assert exc.value.code == 2, value
        assert f"argument --lags: expected comma-separated integers >= 0, got {value!r}" in capsys.readouterr().err, value


def test_memory_command_says_what_its_time_is(capsys):
    # the last line was a bare '6.2 s': it says what took that long
    from lstmkit.cli import main

    assert main(["memory", "--lags", "1,2", "--steps", "2", "--n-test", "10", "--hidden-size", "3"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"the whole experiment took \d+\.\d s \(both networks trained and tested at 2 lags, "
                        r"their gradients measured at the longest\)", last), last  # fmt: skip
