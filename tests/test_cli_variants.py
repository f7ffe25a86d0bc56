"""The LSTM's options on the command line: ``lstmkit train`` / ``forecast`` / ``generate`` with the
variant flags save a model whose LSTM has those options, and ``lstmkit predict`` reloads it."""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.datasets import counting_task

FLAGS = ["--peephole", "--input-forget", "--gate-clip", "4", "--cell-clip", "3", "--activations", "leaky_relu:0.1,softsign,tanh",
         "--layer-norm", "--dropout-input", "0.1", "--dropout-recurrent", "0.2", "--zoneout-cell", "0.1",
         "--zoneout-hidden", "0.05", "--dropconnect", "0.1", "--proj-size", "2", "--forget-bias", "2.0"]  # fmt: skip
#: what the saved LSTM must hold after FLAGS
OPTIONS = {
    "peephole": True, "input_forget": True, "gate_clip": 4.0, "cell_clip": 3.0,
    "activations": (("leaky_relu", 0.1), "softsign", "tanh"), "layer_norm": True, "dropout_input": 0.1,
    "dropout_recurrent": 0.2, "zoneout_cell": 0.1, "zoneout_hidden": 0.05, "dropconnect": 0.1, "proj_size": 2,
}  # fmt: skip


def _check_lstm(rnn):
    for k, v in OPTIONS.items():
        assert getattr(rnn, k) == v, k


def test_train_with_every_variant_flag_saves_and_predict_reloads(tmp_path, capsys):
    X, y = counting_task(16, 5, seed=0)
    np.savez(tmp_path / "count.npz", X=X, y=y)
    model = tmp_path / "m.npz"
    argv = ["train", str(tmp_path / "count.npz"), "--per-step", "--hidden-size", "4", "--epochs", "1", "--batch-size", "8"]
    assert main(argv + FLAGS + ["--model-out", str(model)]) == 0
    est = lstmkit.load(model)
    _check_lstm(est.model_.rnn)
    assert est.forget_bias == 2.0 and est.get_params()["lstm_options"]["activations"] == [["leaky_relu", 0.1], "softsign", "tanh"]
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "count.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    assert "accuracy on" in capsys.readouterr().out
    rows = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)  # sequence, step, prediction, proba_0, proba_1
    np.testing.assert_array_equal(rows[:, 2].reshape(16, 5), est.predict(X))  # the reloaded model, in eval mode


def test_forget_bias_flag_sets_the_initial_forget_bias(tmp_path):
    X, y = counting_task(8, 4, seed=0)
    np.savez(tmp_path / "c.npz", X=X, y=y)
    assert main(["train", str(tmp_path / "c.npz"), "--per-step", "--hidden-size", "3", "--epochs", "0", "--forget-bias", "none",
                 "--model-out", str(tmp_path / "a.npz")]) == 0  # fmt: skip
    assert lstmkit.load(tmp_path / "a.npz").forget_bias is None
    assert main(["train", str(tmp_path / "c.npz"), "--per-step", "--hidden-size", "3", "--epochs", "0", "--forget-bias", "2.5",
                 "--model-out", str(tmp_path / "b.npz")]) == 0  # fmt: skip
    sd = lstmkit.load(tmp_path / "b.npz").model_.state_dict()
    # no training (0 epochs): b_if = 2.5 and b_hf = 0 exactly, rows H..2H of the packed biases
    assert np.all(sd["rnn.bias_ih_l0"][3:6] == 2.5) and np.all(sd["rnn.bias_hh_l0"][3:6] == 0)


def test_forecast_and_generate_pass_the_flags(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.sin(np.arange(40.0)) + 2)
    assert main(["forecast", str(tmp_path / "s.npy"), "--window", "4", "--hidden-size", "4", "--epochs", "1",
                 "--model-out", str(tmp_path / "f.npz")] + FLAGS) == 0  # fmt: skip
    _check_lstm(lstmkit.load(tmp_path / "f.npz").regressor_.model_.rnn)
    assert main(["forecast", "--model", str(tmp_path / "f.npz"), "--steps", "2"]) == 0
    (tmp_path / "t.txt").write_text("abcabcabc" * 20)
    assert main(["generate", "--text", str(tmp_path / "t.txt"), "--hidden-size", "4", "--seq-len", "5", "--batch-size", "2",
                 "--epochs", "1", "--length", "5", "--model-out", str(tmp_path / "g.npz")] + FLAGS) == 0  # fmt: skip
    _check_lstm(lstmkit.load(tmp_path / "g.npz").model_.rnn)
    assert main(["generate", "--model", str(tmp_path / "g.npz"), "--length", "5"]) == 0


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--activations", "sigmoid,tanh"], "expected three activations 'f,g,h'"),
        (["--activations", "leaky_relu:x,tanh,tanh"], "expected name:alpha[:beta] with numbers"),
        (["--forget-bias", "big"], "expected a number or 'none'"),
        (["--zoneout-cell", "1.5"], "argument --zoneout-cell: expected a number in [0, 1), got '1.5'"),
        (["--proj-size", "-1"], "argument --proj-size: expected an integer >= 0, got '-1'"),
    ],
)
def test_bad_flags_are_usage_errors(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as e:
        main(["train", "x.npz", "--model-out", "m.npz"] + flags)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_bad_values_are_one_line_errors(tmp_path, capsys):
    X, y = counting_task(8, 4, seed=0)
    np.savez(tmp_path / "c.npz", X=X, y=y)
    base = ["train", str(tmp_path / "c.npz"), "--per-step", "--epochs", "1", "--model-out", str(tmp_path / "m.npz")]
    # the library's checks, in the options' words (a value out of range is refused before, by argparse): usage errors
    for flags, message in ((["--activations", "sigmoid,tanh,nope"], "train: expected --activations[2] one of"),
                           (["--proj-size", "6", "--hidden-size", "4"], "train: expected --proj-size smaller than --hidden-size=4, got 6."),
                           # the flags as typed, not half of them as lstm_options keys ("got unknown ['peephole', '--zoneout-cell']")
                           (["--cell", "rnn", "--peephole", "--zoneout-cell", "0.1"],
                            "train: expected none of the LSTM's options with --cell rnn, got --peephole, --zoneout-cell. "
                            "Leave them out, or train an LSTM (--cell lstm).\n"),
                           (["--cell", "rnn", "--proj-size", "2"], "with --cell rnn, got --proj-size. ")):
        assert main(base + flags) == 2
        err = capsys.readouterr().err
        assert err.startswith("lstmkit: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


ACTIVATIONS = ("expected --activations[0] one of ['affine', 'elu', 'hard_sigmoid', 'leaky_relu', 'relu', 'scaled_tanh', "
               "'sigmoid', 'softplus', 'softsign', 'tanh', 'thresholded_relu'] (ONNX's CamelCase names also work), got 'foo'.")  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "d.npz", "--model-out", "m.npz"],
        ["forecast", "s.npy", "--model-out", "m.npz", "--out", "f.csv"],
        ["forecast", "builtin:airline", "--model-out", "m.npz"],
        ["generate", "--text", "t.txt", "--model-out", "m.npz"],
        ["generate", "--text", "builtin:stdlib", "--model-out", "m.npz"],
    ],
)
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--proj-size", "8", "--hidden-size", "4"], "expected --proj-size smaller than --hidden-size=4, got 8."),
        (["--proj-size", "4", "--hidden-size", "4"], "expected --proj-size smaller than --hidden-size=4, got 4."),
        (["--activations", "foo,tanh,tanh"], ACTIVATIONS),
        (["--activations", "sigmoid,tanh,leaky_relu:0.1:2"], "expected --activations[2] at most 1 parameter for 'leaky_relu', got 2: (0.1, 2.0)."),
    ],
)
def test_the_librarys_lstm_rules_are_usage_errors_before_any_data_is_read(tmp_path, monkeypatch, capsys, argv, flags, message):
    # the library refused these once the data was loaded (exit 1): its own rules, now called as the command line is
    # read, in the options' words; the data files named do not exist and are never looked for, nothing is written
    monkeypatch.chdir(tmp_path)
    assert main(argv + flags) == 2
    err = capsys.readouterr().err
    assert err == f"lstmkit: error: {argv[0]}: {message}\n", err
    assert list(tmp_path.iterdir()) == []

