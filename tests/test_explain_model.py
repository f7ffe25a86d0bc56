"""Explaining a trained lstmkit model on an input sequence: the step-by-step numbers are the
model's own (its fused layer and read-out), the file path goes through ``lstmkit.load``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.explain import explain, forward
from lstmkit.explain.model import example_from_model, read_sequence

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4, 2)).astype(np.float32)
    y = (np.cumsum(X[:, :, 0], axis=1) > 0).astype(int)
    est = lstmkit.LSTMClassifier(hidden_size=3, epochs=2, batch_size=8, seed=0, dtype="float64").fit(X, y)
    path = tmp_path_factory.mktemp("model") / "clf.npz"
    est.save(path)
    return est, path, X


def test_trace_equals_the_models_predictions(trained):
    est, path, X = trained
    model = lstmkit.load(path)
    ex = example_from_model(model, X[3])
    fw = forward(ex)
    probs = np.stack([r["y"] for r in fw.steps])  # softmax(W_y h_t + b_y), step by step
    np.testing.assert_allclose(probs, est.predict_proba(X[3:4])[0], atol=1e-10)
    assert ex.readout.classes == ("0", "1")


def test_cli_model_and_input(trained, tmp_path, capsys):
    _, path, X = trained
    seq = tmp_path / "x.npy"
    np.save(seq, X[0].astype(np.float64))
    assert main(["explain", "--model", str(path), "--input", str(seq), "--form", "table"]) == 0
    out = capsys.readouterr().out
    assert "Step 4" in out and "y_4 = softmax(W_y h_4 + b_y)" in out
    assert main(["explain", "--model", str(path), "--input", "1,0; 0,1", "--format", "md"]) == 0
    assert "## Step 2" in capsys.readouterr().out
    assert main(["explain", "--model", str(path)]) == 2
    assert "--model without --input" in capsys.readouterr().err
    # --input alone was told "got neither" (FILE nor --model); with a FILE it was ignored silently
    assert main(["explain", "--input", "1,0"]) == 2
    assert ("explain: expected --model with --input (the trained model to run on the sequence), got --input without "
            "--model. Add --model MODEL.npz, or leave out --input: a worked example holds its own inputs.") in capsys.readouterr().err
    assert main(["explain", str(EXAMPLES / "seed000.toml"), "--input", "1,0"]) == 2
    assert f"got --input with the worked-example FILE {EXAMPLES / 'seed000.toml'}." in capsys.readouterr().err


def test_deeper_networks_show_the_first_layer_and_say_so():
    lstm = lstmkit.LSTM(2, 3, num_layers=2, dtype=np.float64, seed=1)
    ex = example_from_model(lstm, np.ones((2, 2)))
    assert "first layer, forward direction" in ex.note and ex.readout is None
    y, _ = lstmkit.LSTM(2, 3, dtype=np.float64, seed=1)(np.ones((2, 1, 2)))
    np.testing.assert_allclose(forward(ex).steps[-1]["h"], y[-1, 0], atol=1e-12)  # same seed, same layer 0
    with pytest.raises(ValueError, match="proj_size=1"):
        example_from_model(lstmkit.LSTM(2, 3, proj_size=1, seed=0), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"expected x a \(T, 2\) sequence"):
        example_from_model(lstm, np.ones((2, 3)))


def test_read_sequence(tmp_path):
    np.testing.assert_array_equal(read_sequence("1,0; 0.5,-1"), [[1, 0], [0.5, -1]])
    p = tmp_path / "s.csv"
    p.write_text("1,2\n3,4\n")
    np.testing.assert_array_equal(read_sequence(str(p)), [[1, 2], [3, 4]])
    with pytest.raises(FileNotFoundError):
        read_sequence(str(tmp_path / "none.csv"))
    (tmp_path / "h.csv").write_text("\ufeffa,b\n1,2\n\n3,4\n")  # a header row (after a BOM), a blank line
    np.testing.assert_array_equal(read_sequence(str(tmp_path / "h.csv")), [[1, 2], [3, 4]])
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(ValueError, match=r"expected --input 2 numbers on every row of .*r.csv, got '3,x' on data row 2"):
        read_sequence(str(tmp_path / "r.csv"))
    (tmp_path / "m.npz").write_bytes(b"PK\x03\x04\xb8\xff binary")
    with pytest.raises(ValueError, match=r"got .*m.npz, a binary file"):
        read_sequence(str(tmp_path / "m.npz"))
    assert "W_{ii}" in explain(example_from_model(lstmkit.LSTMCell(2, 2, seed=0), np.ones((1, 2))), "md")


def test_a_forecaster_is_refused_with_the_way_to_its_network():
    fc = lstmkit.LSTMForecaster(window=3, hidden_size=2, epochs=1, seed=0)
    for model in (fc, fc.fit(np.sin(np.arange(30.0)))):  # unfitted or fitted: the same reason
        with pytest.raises(TypeError, match=r"got an LSTMForecaster\. Explain its network on scaled windows"):
            example_from_model(model, np.ones((3, 1)))


def test_input_neither_a_file_nor_numbers_says_what_input_takes(trained, capsys):
    _, path, _ = trained
    assert main(["explain", "--model", str(path), "--input", "a,b"]) == 1
    err = capsys.readouterr().err
    assert "expected --input a .npy or .csv file of the sequence (T, I), or its numbers inline like '1,0; 1,0; 0,1'" in err
    assert "got 'a,b', which is neither a file nor numbers" in err and "No such file" not in err


def test_input_of_unequal_steps_or_another_width_than_the_model_s_says_which(trained, tmp_path, capsys):
    # '1,0,3; 1,0' was refused as "expected --input numbers like '1,0; 1,0; 0,1' ..., got '1,0,3; 1,0'",
    # and '1,0,3; 1,0,3' (3 inputs for a 2-input model) as the library's x (T, 2): neither said what was wrong
    _, path, _ = trained  # 2 inputs a step
    np.save(tmp_path / "s.npy", np.ones((4, 3)))
    for spec, said in (
        ("1,0,3; 1,0", "expected --input 2 numbers at every step (the model's inputs), got 3 numbers at step 1, '1,0,3', in '1,0,3; 1,0'."),
        ("1,0; 1,0,3", "expected --input 2 numbers at every step (the model's inputs), got 3 numbers at step 2, '1,0,3', in '1,0; 1,0,3'."),
        ("1; 0", "expected --input 2 numbers at every step (the model's inputs), got 1 number at step 1, '1', in '1; 0'."),
        (str(tmp_path / "s.npy"), f"expected --input 2 numbers at every step (the model's inputs), got 3 numbers at each of its "
                                  f"4 steps ({tmp_path / 's.npy'})."),
    ):  # fmt: skip
        assert main(["explain", "--model", str(path), "--input", spec]) == 1, spec
        assert capsys.readouterr().err == f"lstmkit: error: explain: {said}\n", spec
    # without a model to say the width, steps of unequal length are told against the first
    with pytest.raises(ValueError, match=r"^explain: expected --input 3 numbers at every step \(as step 1\), got 2 numbers at "
                                         r"step 2, '1,0', in '1,0,3; 1,0'\.$"):  # fmt: skip
        read_sequence("1,0,3; 1,0")


@pytest.fixture(scope="module")
def default_models(tmp_path_factory):
    # what `lstmkit train` makes by default: a label per sequence (head="last"), or a regressor
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4, 2))
    d = tmp_path_factory.mktemp("models")
    clf = lstmkit.LSTMClassifier(hidden_size=3, epochs=2, batch_size=8, seed=0, dtype="float64")
    clf.fit(X, np.where(X[:, :, 0].sum(1) > 0, "up", "down"))
    reg = lstmkit.LSTMRegressor(hidden_size=3, epochs=2, batch_size=8, seed=0, dtype="float64").fit(X, 3 + 2 * X[:, :, 1].sum(1))
    step = lstmkit.LSTMRegressor(hidden_size=2, epochs=2, batch_size=8, seed=0, dtype="float64").fit(X, np.cumsum(X, axis=1))
    for name, est in (("clf", clf), ("reg", reg), ("step", step)):
        est.save(d / f"{name}.npz")
    return {"clf": clf, "reg": reg, "step": step, "dir": d, "X": X}


def test_a_sequence_classifier_reads_out_at_the_last_step(default_models):
    clf, X = default_models["clf"], default_models["X"]
    assert clf.model_.head_mode == "last"
    ex = example_from_model(lstmkit.load(default_models["dir"] / "clf.npz"), X[5])
    fw = forward(ex)
    # the estimator's own predict_proba (its fused layer and read-out) on the same sequence
    np.testing.assert_allclose(fw.steps[-1]["y"], clf.predict_proba(X[5:6])[0], atol=1e-10)
    assert all("y" not in r.values for r in fw.steps[:-1]) and not ex.note
    text = explain(ex, "text", width=200)
    assert "y_4 = softmax(W_y h_4 + b_y)" in text and "y_3 =" not in text and "read-out is not shown" not in text
    assert f"predicted class {list(clf.classes_).index(clf.predict(X[5:6])[0])} ({clf.predict(X[5:6])[0]})" in text
    assert "Read-out: y_4 = softmax(W_y h_4 + b_y), at the last step only" in text


def test_a_regressor_reads_out_its_values_in_ys_units(default_models):
    reg, step, X = default_models["reg"], default_models["step"], default_models["X"]
    fw = forward(example_from_model(lstmkit.load(default_models["dir"] / "reg.npz"), X[2]))
    assert fw.steps[-1]["y"] == pytest.approx(reg.predict(X[2:3])[0], abs=1e-10)  # predict: in y's units
    assert "pred" not in fw.steps[-1].values
    ex = example_from_model(lstmkit.load(default_models["dir"] / "step.npz"), X[2])
    np.testing.assert_allclose(np.stack([r["y"] for r in forward(ex).steps]), step.predict(X[2:3])[0], atol=1e-10)
    text = explain(ex, "text", width=200)
    assert "y_4 = a_4 * y_scale + y_mean" in text and "softmax(" not in text
    assert main(["explain", "--model", str(default_models["dir"] / "reg.npz"), "--input", "1,0; 0,1", "-f", "md"]) == 0


def test_a_bare_sequence_model_shows_its_outputs_and_says_what_they_are():
    from lstmkit.models import SequenceModel

    seq = SequenceModel(2, 2, 3, head="last", dtype=np.float64, seed=0)
    x = np.array([[1.0, 0.0], [0.5, -1.0]])
    fw = forward(example_from_model(seq, x))
    np.testing.assert_allclose(fw.steps[-1]["y"], seq(x[None])[0][0], atol=1e-12)
    text = explain(example_from_model(seq, x), "text", width=400)
    assert "does not say whether they are logits" in text and text.startswith("SequenceModel: 3 units")


def test_the_note_of_a_deeper_network_says_why_there_is_no_read_out():
    # precisely why there is no read-out; one sentence, lower case after a semicolon (it read
    # "...forward direction; The model's read-out is not shown (shown for one-layer classifiers ...)")
    from lstmkit.models import SequenceModel

    seq = SequenceModel(2, 2, 3, num_layers=2, dtype=np.float64, seed=0)
    ex = example_from_model(seq, np.ones((3, 2)))
    assert ex.note == ("The network has 2 layers; this shows the first layer, forward direction; the model's read-out "
                       "is not shown: it reads layer 2's h_t, and the numbers below are layer 1's.")
    assert ex.readout is None


def test_a_trained_model_is_not_said_to_be_seed_000s_example():
    # it said "notation: per-gate matrices, ... (seed 000)" of any trained model
    ex = example_from_model(lstmkit.LSTMCell(2, 2, seed=0), np.ones((1, 2)))
    text = explain(ex, "text", width=300)
    assert "notation: per-gate matrices, W_i* x_t + W_h* h_{t-1} + b (seed 000's notation)." in text
    assert "(seed 000)" not in text


def test_an_input_npy_declaring_more_than_it_holds_is_one_line_before_anything_is_allocated(trained, tmp_path, capsys):
    # --input read its .npy with a bare np.load: a 192-byte file whose header declares (1e6, 1e6, 2) float64
    # asked for 14.6 TiB (a MemoryError). It goes through lstmkit.tables' reader, which checks the header first
    _, path, _ = trained
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 2)})
    (tmp_path / "huge.npy").write_bytes(buf.getvalue())
    assert main(["explain", "--model", str(path), "--input", str(tmp_path / "huge.npy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"lstmkit: error: {tmp_path / 'huge.npy'}: expected a NumPy .npz/.npy file, got a truncated or damaged .npy file "
                          "(its header declares shape (1000000, 1000000, 2) of float64") and err.count("\n") == 1, err  # fmt: skip


def test_cli_model_missing_file_is_one_line_in_the_projects_form(tmp_path, capsys):
    # (helper-162 #10) a --model that does not exist gave OSError's "[Errno 2] No such file or directory: ...":
    # now "<where>: expected <arg> ..., got ..., which does not exist. <fix>", exit 1, and a directory likewise
    missing = tmp_path / "out" / "clf.npz"
    assert main(["explain", "--model", str(missing), "--input", "1,0; 0,1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"lstmkit: error: explain: expected --model an lstmkit model file") and "Errno" not in err
    assert f"got {str(missing)!r}, which does not exist. " in err and "--model-out" in err and len(err.splitlines()) == 1
    assert main(["explain", "--model", str(tmp_path), "--input", "1,0; 0,1"]) == 1
    assert f"got {str(tmp_path)!r}, which is a directory. " in capsys.readouterr().err
    # the library's exception class says which (helper-173 #7): a directory is IsADirectoryError, not FileNotFoundError
    from lstmkit.commands.explain import _model_example

    with pytest.raises(IsADirectoryError, match="which is a directory"):
        _model_example(str(tmp_path), "1,0; 0,1")
    with pytest.raises(FileNotFoundError, match="which does not exist"):
        _model_example(str(missing), "1,0; 0,1")
