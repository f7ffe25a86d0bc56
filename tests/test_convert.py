"""``lstmkit convert``: a PyTorch model through every format and back, checked against torch and
onnxruntime; bad inputs give one-line errors; and the matrix of every source format x every target,
over the models each holds: the same numbers, or a one-line refusal and no file."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("h5py")

import lstmkit  # noqa: E402
from lstmkit.cli import main  # noqa: E402
from lstmkit.interop.onnx import to_onnx  # noqa: E402
from oracles import assert_close  # noqa: E402


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def test_pt_through_every_format(tmp_path, capsys):
    torch.manual_seed(0)
    net = Net().eval()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    chain = ["net.pt", "net.npz", "net.keras", "net2.npz", "net.onnx", "net3.npz", "net.weights.h5", "net4.npz", "back.pt"]
    for src, dst in zip(chain, chain[1:]):
        extra = ["--batch-first"] if src.endswith(".pt") else []
        assert main(["convert", str(tmp_path / src), str(tmp_path / dst), *extra]) == 0, capsys.readouterr().err
        assert "->" in capsys.readouterr().out
    for name in ("net.npz", "net2.npz", "net3.npz", "net4.npz"):
        got = lstmkit.read_lstm(tmp_path / name).predict(x)
        err = np.abs(got - ref).max()
        assert err < 2e-6, (name, err)
    sess = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    assert np.abs(sess.run(["out"], {"x": x})[0] - ref).max() < 2e-6
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    for k, v in net.lstm.state_dict().items():  # .pt -> ... -> .pt: the LSTM weights exactly
        assert torch.equal(back[f"rnn.{k}"], v) or k.startswith("bias"), k
    # Keras keeps one bias (b_ih + b_hh): after it the sum is what survives, exactly
    for k in [k for k in net.lstm.state_dict() if k.startswith("bias_ih")]:
        kh = k.replace("bias_ih", "bias_hh")
        np.testing.assert_allclose((back[f"rnn.{k}"] + back[f"rnn.{kh}"]).numpy(), (net.lstm.state_dict()[k] + net.lstm.state_dict()[kh]).numpy(), rtol=0, atol=1e-6)


def test_pt_keys_survive_a_round_trip_through_npz(tmp_path, capsys):
    # .pt (self.lstm, self.fc) -> .npz -> .pt loads, strictly, into the same nn.Module
    torch.manual_seed(2)
    net = Net().eval()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    for src, dst in (("net.pt", "net.npz"), ("net.npz", "back.pt"), ("net.pt", "copy.pt")):
        assert main(["convert", str(tmp_path / src), str(tmp_path / dst)]) == 0, capsys.readouterr().err
    x = torch.from_numpy(np.random.default_rng(2).normal(size=(2, 6, 3)).astype(np.float32))
    for name in ("back.pt", "copy.pt"):
        twin = Net().eval()
        twin.load_state_dict(torch.load(tmp_path / name, weights_only=True), strict=True)
        with torch.no_grad():
            assert torch.equal(twin(x), net(x)), name
    # other names on request; the input is never the output
    assert main(["convert", str(tmp_path / "net.npz"), str(tmp_path / "named.pt"), "--torch-names", "encoder,out"]) == 0
    keys = list(torch.load(tmp_path / "named.pt", weights_only=True))
    assert keys[0] == "encoder.weight_ih_l0" and keys[-2:] == ["out.weight", "out.bias"]
    capsys.readouterr()
    before = (tmp_path / "net.pt").read_bytes()
    assert main(["convert", str(tmp_path / "net.pt"), str(tmp_path / "net.pt")]) == 2  # a usage error (cab3415)
    assert "expected OUT other than IN" in capsys.readouterr().err and (tmp_path / "net.pt").read_bytes() == before


def test_onnx_options_and_rnn(tmp_path, capsys):
    torch.manual_seed(1)
    rnn = torch.nn.RNN(3, 4, nonlinearity="relu")
    torch.save(rnn.state_dict(), tmp_path / "rnn.pt")
    assert main(["convert", str(tmp_path / "rnn.pt"), str(tmp_path / "rnn.onnx"), "--nonlinearity", "relu", "--lengths", "--initial-state"]) == 0
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "rnn.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["x", "lengths", "h0"]
    y = sess.run(["y"], {"x": x, "lengths": np.array([5, 5], np.int32), "h0": np.zeros((1, 2, 4), np.float32)})[0]
    with torch.no_grad():
        ref = rnn(torch.from_numpy(x))[0].numpy()
    assert np.abs(y - ref).max() < 2e-6


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.pt", "out.npz"], "No such file"),
        (["bad.npz", "out.onnx"], "not a valid lstmkit file"),
        (["bad.onnx", "out.npz"], "onnx cannot parse"),
        (["cell.npz", "out.onnx"], "expected an LSTM or RNN for ONNX, got LSTMCell"),
        (["proj.npz", "out.onnx"], "proj_size"),
        (["peep.npz", "out.pt"], "peephole"),
        (["peep.npz", "out.keras"], "peephole"),
        # the library's readers and writers are the command's words: 'convert:', not 'load_state_dict_file:'
        (["bad.pt", "out.npz"], "lstmkit: error: convert: expected bad.pt a state_dict saved with torch.save"),
        (["bad.keras", "out.npz"], "lstmkit: error: convert: expected bad.keras a .keras zip"),
        (["bad.weights.h5", "out.npz"], "lstmkit: error: convert: expected bad.weights.h5 an HDF5 weights file"),
        (["proj.npz", "out.keras"], "lstmkit: error: convert: expected module options Keras LSTM has, got proj_size set."),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    for name in ("bad.npz", "bad.pt", "bad.keras", "bad.weights.h5"):
        (tmp_path / name).write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff garbage")
    lstmkit.save_lstm(tmp_path / "cell.npz", lstmkit.LSTMCell(3, 4, seed=0))
    lstmkit.save_lstm(tmp_path / "proj.npz", lstmkit.LSTM(3, 4, proj_size=2, seed=0))
    lstmkit.save_lstm(tmp_path / "peep.npz", lstmkit.LSTM(3, 4, peephole=True, seed=0))
    assert main(["convert", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error:") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / args[1]).exists()


def test_a_files_proj_size_keeps_its_word(tmp_path, capsys):
    # convert has no --proj-size: the word is the file's, not an option (the training commands say --proj-size)
    lstmkit.save_lstm(tmp_path / "proj.npz", lstmkit.LSTM(3, 4, proj_size=2, seed=0))
    assert main(["convert", str(tmp_path / "proj.npz"), str(tmp_path / "out.onnx")]) == 1
    assert capsys.readouterr().err == ("lstmkit: error: convert: expected module options the ONNX LSTM operator can "
                                       "express, got proj_size set. Export a model without them.\n")  # fmt: skip


def test_the_librarys_errors_are_worded_by_name_options_as_every_command_s(tmp_path, capsys, monkeypatch):
    # convert lets the library's error through; lstmkit.cli words it with convert's OWNERS, OPTIONS and SAME_NAME
    import lstmkit.cli as cli
    from lstmkit.commands import convert

    calls, words = [], cli.name_options

    def spy(message, *names):
        calls.append((message, names))
        return words(message, *names)

    monkeypatch.setattr(cli, "name_options", spy)
    torch.save({"weight_ih_l0": torch.zeros(16, 3, dtype=torch.int64)}, tmp_path / "int.pt")
    assert main(["convert", str(tmp_path / "int.pt"), str(tmp_path / "out.npz")]) == 1
    pt = tmp_path / "int.pt"  # named by convert, which knows the file the state came from (helper-89 finding 6)
    assert calls == [(f"module_from_state_dict: expected {pt} state['weight_ih_l0'] a floating-point tensor, got dtype int64.",
                      ("convert", convert.OWNERS, convert.OPTIONS, convert.SAME_NAME))]  # fmt: skip
    assert capsys.readouterr().err == (f"lstmkit: error: convert: expected {pt} state['weight_ih_l0'] a floating-point "
                                       "tensor, got dtype int64.\n")  # fmt: skip


def test_a_readout_the_pt_has_not_is_named_as_the_option(tmp_path, capsys):
    """--readout naming no Linear of the .pt: the library's KeyError was printed as it was, naming a function the
    user never called and its argument ('module_from_state_dict: expected readout ...'); now convert's words."""
    torch.save(Net().state_dict(), tmp_path / "net.pt")
    assert main(["convert", str(tmp_path / "net.pt"), str(tmp_path / "net.npz"), "--readout", "head"]) == 1
    assert capsys.readouterr().err == "lstmkit: error: convert: expected --readout one of ['fc'], got 'head'.\n"
    assert not (tmp_path / "net.npz").exists()


def test_estimator_file_to_onnx(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5, 2)).astype(np.float32)
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    clf = lstmkit.LSTMClassifier(hidden_size=3, epochs=1, batch_size=8, seed=0).fit(X, y)
    clf.save(tmp_path / "clf.npz")
    assert main(["convert", str(tmp_path / "clf.npz"), str(tmp_path / "clf.onnx"), "--lengths"]) == 0
    assert "LSTMClassifier" in capsys.readouterr().out
    sess = ort.InferenceSession(str(tmp_path / "clf.onnx"), providers=["CPUExecutionProvider"])
    lengths = np.array([5, 3] * 8, np.int32)
    logits = sess.run(["out"], {"x": X, "lengths": lengths})[0]
    assert (logits.argmax(1) == np.searchsorted(clf.classes_, clf.predict(X, lengths=lengths))).all()
    assert main(["convert", str(tmp_path / "clf.npz"), str(tmp_path / "clf.keras")]) == 1
    assert "expected OUT to be .onnx" in capsys.readouterr().err


def test_a_forecaster_file_is_refused_with_the_reason(tmp_path, capsys):
    fc = lstmkit.LSTMForecaster(window=4, hidden_size=3, epochs=1, seed=0).fit(np.sin(np.arange(40.0)))
    fc.save(tmp_path / "fc.npz")
    assert main(["convert", str(tmp_path / "fc.npz"), str(tmp_path / "fc.onnx")]) == 1
    err = capsys.readouterr().err
    assert "got an LSTMForecaster (its window, scaling and differencing" in err and not (tmp_path / "fc.onnx").exists()


def keras_last_step_model(L, bi, dense, seed):
    """Keras' commonest sequence model: LSTM(H) (return_sequences=False on the last layer) [+ Dense(O)]."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((None, 3))]
    for k in range(L):
        lstm = keras.layers.LSTM(4, return_sequences=k < L - 1, bias_initializer="random_normal")
        layers.append(keras.layers.Bidirectional(lstm) if bi else lstm)
    if dense:
        layers.append(keras.layers.Dense(2, bias_initializer="random_normal"))
    return keras.Sequential(layers)


@pytest.mark.parametrize("L, bi, dense", [(1, True, True), (2, False, False)])
def test_keras_last_step_through_npz_onnx_and_back(tmp_path, capsys, L, bi, dense):
    """.keras (return_sequences=False) -> .npz -> .onnx -> .npz -> .keras: every file computes Keras' numbers."""
    import warnings

    keras = pytest.importorskip("keras")
    model = keras_last_step_model(L, bi, dense, seed=L)
    model.save(tmp_path / "k.keras")
    x = np.random.default_rng(5).normal(size=(3, 6, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = keras.ops.convert_to_numpy(model(x))  # (B, O) or (B, D*H)
    chain = ["k.keras", "k.npz", "k.onnx", "k2.npz", "back.keras"]
    for src, dst in zip(chain, chain[1:]):
        assert main(["convert", str(tmp_path / src), str(tmp_path / dst)]) == 0, capsys.readouterr().err
        assert "head='last'" in capsys.readouterr().out
    for name in ("k.npz", "k2.npz"):
        seq = lstmkit.load(tmp_path / name)
        assert type(seq) is lstmkit.SequenceModel and seq.head_mode == "last"
        assert np.abs(seq.eval()(x)[0] - ref).max() < 1e-5, name
    sess = ort.InferenceSession(str(tmp_path / "k.onnx"), providers=["CPUExecutionProvider"])
    assert np.abs(sess.run(["out"], {"x": x})[0] - ref).max() < 1e-5
    back = keras.saving.load_model(tmp_path / "back.keras", safe_mode=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.abs(keras.ops.convert_to_numpy(back(x)) - ref).max() < 1e-5


def test_keras_last_step_refused_where_a_format_cannot_say_it(tmp_path, capsys):
    keras_last_step_model(1, False, True, seed=0).save(tmp_path / "k.keras")
    for out in ("k.pt", "k.weights.h5"):
        assert main(["convert", str(tmp_path / "k.keras"), str(tmp_path / out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("lstmkit: error:") and err.count("\n") == 1, err
        assert "expected OUT .npz, .keras or .onnx for a SequenceModel with head='last'" in err and "holds weights only" in err
        assert not (tmp_path / out).exists()


@pytest.mark.parametrize("head", ["all", "last"])
def test_onnx_token_graph_converts_to_a_token_sequence_model(tmp_path, capsys, head):
    """A graph that takes token ids (a Gather of the ids before the LSTM) is a SequenceModel(inputs='tokens')
    whatever its head: with head='all' it became a features LSTM file, the ids' lookup lost."""
    seq = lstmkit.SequenceModel(5, 3, 4, num_layers=2, bidirectional=True, head=head, inputs="tokens", seed=0)
    to_onnx(seq, path=tmp_path / "t.onnx")
    ids = np.random.default_rng(0).integers(0, 5, size=(2, 6))
    ref = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"]).run(["out"], {"x": ids})[0]
    assert main(["convert", str(tmp_path / "t.onnx"), str(tmp_path / "t.npz")]) == 0, capsys.readouterr().err
    back = lstmkit.load(tmp_path / "t.npz")
    assert type(back) is lstmkit.SequenceModel and back.inputs == "tokens" and back.head_mode == head
    assert np.abs(back.eval()(ids)[0] - ref).max() < 1e-5
    for out in ("t.pt", "t.weights.h5", "t.keras"):  # these take feature vectors: refused, nothing written
        assert main(["convert", str(tmp_path / "t.onnx"), str(tmp_path / out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("lstmkit: error:") and err.count("\n") == 1 and "tokens" in err, err
        assert not (tmp_path / out).exists()



def test_sequence_model_over_every_step_to_weights_h5(tmp_path, capsys):
    """A SequenceModel file over every step goes to .weights.h5 as its LSTM and Dense, which load into Keras' twin
    of it (it was refused: 'expected an LSTM for a Keras file, got SequenceModel')."""
    keras = pytest.importorskip("keras")
    seq = lstmkit.SequenceModel(3, 2, 4, bidirectional=True, seed=0).eval()
    seq.save(tmp_path / "s.npz")
    assert main(["convert", str(tmp_path / "s.npz"), str(tmp_path / "s.weights.h5")]) == 0, capsys.readouterr().err
    twin = keras.Sequential([keras.Input((None, 3)), keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)), keras.layers.Dense(2)])
    twin.load_weights(tmp_path / "s.weights.h5")
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    assert np.abs(keras.ops.convert_to_numpy(twin(x)) - seq(x)[0]).max() < 1e-5


@pytest.mark.parametrize("option", [{"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"}])
def test_other_activations_than_keras_defaults_are_refused_to_weights_h5(tmp_path, capsys, option):
    """A .weights.h5 holds no configuration: read back, Keras' default activations are assumed. A relu LSTM went
    .keras -> .weights.h5 -> .npz as a tanh one; refused, pointing to .keras, which keeps them."""
    keras = pytest.importorskip("keras")
    keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True, **option)]).save(tmp_path / "k.keras")
    assert main(["convert", str(tmp_path / "k.keras"), str(tmp_path / "k.weights.h5")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error: convert: expected OUT .keras for an LSTM with activations") and err.count("\n") == 1, err
    assert "Keras' default activations would be assumed" in err and not (tmp_path / "k.weights.h5").exists()
    assert main(["convert", str(tmp_path / "k.keras"), str(tmp_path / "k2.keras")]) == 0, capsys.readouterr().err


def test_an_estimators_onnx_converts_back_naming_what_is_not_kept(tmp_path, capsys):
    """clf.npz -> clf.onnx -> back.npz: the SequenceModel computing the graph's logits 'out', the output line naming
    the 'proba' (and its classes) left behind; a regressor's graph in y's units. Both were refused, in an error
    naming sequence_model_from_onnx, a function the user never called."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5, 2)).astype(np.float32)
    lstmkit.LSTMClassifier(hidden_size=3, epochs=1, batch_size=8, seed=0).fit(X, np.where(X[:, :, 0].sum(1) > 0, "up", "down")).save(tmp_path / "clf.npz")
    lstmkit.LSTMRegressor(hidden_size=3, epochs=1, batch_size=8, seed=0).fit(X, X.sum(axis=(1, 2)) * 10 + 5).save(tmp_path / "reg.npz")
    for name in ("clf", "reg"):
        for src, dst in ((f"{name}.npz", f"{name}.onnx"), (f"{name}.onnx", f"{name}_back.npz")):
            assert main(["convert", str(tmp_path / src), str(tmp_path / dst)]) == 0, capsys.readouterr().err
        line = capsys.readouterr().out.splitlines()[-1]
        kept = "its output 'proba' (a Softmax of the first, over classes ['down', 'up']) is not kept: the model outputs the logits"
        assert (kept in line) == (name == "clf"), line
        out = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"]).run(["out"], {"x": X})[0]
        back = lstmkit.load(tmp_path / f"{name}_back.npz")
        assert type(back) is lstmkit.SequenceModel and back.head_mode == "last"
        with back.no_grad():
            assert_close(back.eval()(X)[0], out, 1e-5 * np.abs(out).max(), name=f"{name}.onnx -> .npz")
    # a text generator's graph: its vocabulary, in the graph's metadata, is named as not kept
    lstmkit.TextGenerator(hidden_size=3, seq_len=5, batch_size=2, epochs=1, seed=0).fit("abcdbcadcabd" * 2).save(tmp_path / "gen.npz")
    for src, dst in (("gen.npz", "gen.onnx"), ("gen.onnx", "gen_back.npz")):
        assert main(["convert", str(tmp_path / src), str(tmp_path / dst)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.rstrip().endswith("; its vocabulary (5 characters, one per id) is not kept: the model takes the ids")


def test_onnx_refusals_name_the_command_and_its_argument(tmp_path, capsys):
    """A graph convert cannot read is refused as 'convert: expected IN ...', not in the words of the library's
    sequence_model_from_onnx; a softmax over the steps is refused (it is no classifier's probabilities)."""
    import warnings

    class Relu(torch.nn.Module):
        def __init__(self, act):
            super().__init__()
            self.lstm = torch.nn.LSTM(3, 4, batch_first=True)
            self.act = act

        def forward(self, x):
            return self.act(self.lstm(x)[0])

    for name, act in (("relu", torch.nn.ReLU()), ("steps", torch.nn.Softmax(dim=1))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Relu(act).eval(), (torch.randn(2, 5, 3),), tmp_path / f"{name}.onnx", dynamo=False, input_names=["x"], output_names=["out"])
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff garbage")
    for name, message in (
        ("relu", "lstmkit: error: convert: expected IN only LSTM/RNN nodes, a MatMul[+Add] or Gemm read-out, a softmax on the output and"),
        ("steps", "lstmkit: error: convert: expected Softmax node '/act/Softmax' over the last axis (the classes), got axis 1 of 3 axes."),
        ("bad", "lstmkit: error: convert: expected IN an ONNX model file, got '"),
    ):
        assert main(["convert", str(tmp_path / f"{name}.onnx"), str(tmp_path / "out.npz")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1 and "_from_onnx" not in err, err
        assert not (tmp_path / "out.npz").exists()


def test_a_training_checkpoint_converts_to_its_model(tmp_path, capsys):
    """A checkpoint (an interrupted run's) as IN: its model, a SequenceModel of the weights it holds, to any format
    a SequenceModel goes to; the output line says which weights, and what an estimator's checkpoint does not hold.
    It was 'not a valid lstmkit file: unexpected entry 'model/rnn.weight_ih_l0.npy''."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5, 2)).astype(np.float32)
    lengths = np.array([5, 3] * 8)
    clf = lstmkit.LSTMClassifier(hidden_size=3, epochs=2, batch_size=8, seed=0)
    clf.fit(X, (X[:, :, 0].sum(1) > 0).astype(int), lengths=lengths, checkpoint=tmp_path / "ck.npz")
    assert main(["convert", str(tmp_path / "ck.npz"), str(tmp_path / "model.npz")]) == 0, capsys.readouterr().err
    line = capsys.readouterr().out
    assert line.startswith(f"{tmp_path / 'ck.npz'} (lstmkit training checkpoint, epoch 2) -> ") and "the weights after epoch 2" in line, line
    assert "its outputs a score per class, in the labels' sorted order (the labels are not in a checkpoint)" in line
    assert f"finish the run (the same 'lstmkit train' command with --checkpoint {tmp_path / 'ck.npz'})" in line
    model = lstmkit.load(tmp_path / "model.npz")
    assert type(model) is lstmkit.SequenceModel
    for k, v in clf.model_.state_dict().items():  # the weights of the run, exactly
        np.testing.assert_array_equal(model.state_dict()[k], v)
    # to ONNX: trained with lengths, so it says --lengths is wanted for padded batches, unless it is given
    for extra, said in (([], True), (["--lengths"], False)):
        assert main(["convert", str(tmp_path / "ck.npz"), str(tmp_path / "ck.onnx"), *extra]) == 0
        assert ("trained with lengths (padded sequences): give --lengths" in capsys.readouterr().out) == said
    # a Trainer's run with early stopping: the best weights so far, which it ends with (restore_best)
    Xr, Yr = rng.normal(size=(8, 5, 3)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    seq = lstmkit.SequenceModel(3, 2, 4, head="last", seed=0)
    trainer = lstmkit.Trainer(seq, loss="mse", optimizer="sgd", lr=3.0, patience=5, seed=0)  # a rate that overshoots: epoch 1 is the best
    trainer.fit(Xr, Yr, epochs=4, checkpoint=tmp_path / "t.npz")
    assert trainer.best_epoch == 1
    assert main(["convert", str(tmp_path / "t.npz"), str(tmp_path / "t_model.npz")]) == 0
    line = capsys.readouterr().out
    assert "early stopping's best weights so far, of epoch 1 (what the run ends with)" in line and "network only" not in line, line
    for k, v in seq.state_dict().items():
        np.testing.assert_array_equal(lstmkit.load(tmp_path / "t_model.npz").state_dict()[k], v)


def test_an_npz_in_is_read_once(tmp_path, monkeypatch, capsys):
    """An .npz IN is told apart (model file or checkpoint, module or estimator) from its metadata alone,
    then its arrays read once: each entry inflated once (it was up to three times, every array
    decompressed to learn the kind)."""
    import zipfile

    X = np.random.default_rng(0).normal(size=(8, 5, 2)).astype(np.float32)
    lstmkit.save_lstm(tmp_path / "m.npz", lstmkit.LSTM(2, 3, seed=0), {"weight": np.ones((2, 3), np.float32)})
    lstmkit.LSTMClassifier(hidden_size=3, epochs=1, batch_size=4, seed=0).fit(X, np.arange(8) % 2, checkpoint=tmp_path / "ck.npz").save(tmp_path / "clf.npz")
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    for name, out in (("m.npz", "m.pt"), ("clf.npz", "clf.onnx"), ("ck.npz", "ck.onnx")):
        opened.clear()
        assert main(["convert", str(tmp_path / name), str(tmp_path / out)]) == 0, capsys.readouterr().err
        with zipfile.ZipFile(tmp_path / name) as z:
            entries = sorted(z.namelist())
        assert sorted(opened) == sorted(entries + ["__meta__.npy"]), (name, opened)  # the metadata read twice, each array once


def test_lengths_help_says_when_it_is_needed(capsys):
    """A model trained on padded sequences, exported without --lengths, runs every sequence to the batch's last
    step (predict_proba(X, lengths) and onnxruntime differed by up to 0.99). A model file does not record whether
    it was, so --lengths' help says when it is needed."""
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "without it every sequence runs to the batch's last step, so a model for padded sequences of different lengths needs it" in text


def test_a_weights_h5_says_how_it_was_read(tmp_path, capsys):
    """A .weights.h5 holds no configuration: the output line says it was read as an LSTM over every step with
    Keras' default activations."""
    lstmkit.save_lstm(tmp_path / "m.npz", lstmkit.LSTM(3, 4, seed=0))
    assert main(["convert", str(tmp_path / "m.npz"), str(tmp_path / "m.weights.h5")]) == 0
    assert "default activations" not in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "m.weights.h5"), str(tmp_path / "back.npz")]) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.rstrip().endswith(
        "; read as a .weights.h5 is: an LSTM over every step with Keras' default activations (a .keras keeps its configuration)"), line


@pytest.mark.parametrize("option, refused", [
    ({"go_backwards": True}, "layer 'second' go_backwards False (lstmkit runs reverse directions only inside a bidirectional LSTM), got True"),
    ({"activation": "gelu"}, "layer 'second' activation one of ['elu', 'hard_sigmoid', 'linear', 'relu', 'sigmoid', 'softplus', "
                             "'softsign', 'tanh'], got 'gelu'"),
    ({"recurrent_activation": "gelu"}, "layer 'second' recurrent_activation one of ['elu', 'hard_sigmoid', 'linear', 'relu', "
                                       "'sigmoid', 'softplus', 'softsign', 'tanh'], got 'gelu'"),
])  # fmt: skip
def test_a_keras_layers_refusal_names_the_layer(tmp_path, capsys, option, refused):
    """A .keras of two LSTMs whose second has an option lstmkit cannot run: the refusal names that layer. convert's
    errors dropped it ('convert: expected go_backwards False ...'): the layer was in the where ("read_keras layer
    'second'"), which the command's name replaced whole."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True, name="first"),
                      L.LSTM(4, return_sequences=True, name="second", **option), L.Dense(2)]).save(tmp_path / "k.keras")  # fmt: skip
    assert main(["convert", str(tmp_path / "k.keras"), str(tmp_path / "k.npz")]) == 1
    assert capsys.readouterr().err == f"lstmkit: error: convert: expected {tmp_path / 'k.keras'} {refused}.\n"  # the file named too
    assert not (tmp_path / "k.npz").exists()


# -- the convert matrix ---------------------------------------------------------------------------
# Every source format convert reads x every target it writes, over the models each source can hold.
# Each pair either computes the source's numbers on random input (the source run by its own runtime:
# lstmkit for .npz, torch for .pt, Keras for .keras/.weights.h5, onnxruntime for .onnx; the converted
# file by its own), or convert refuses in one line naming what cannot travel, and writes nothing.
# A conversion that silently computes something else is the one outcome not allowed.
I, H, O, V, B, T = 3, 4, 2, 5, 2, 5
TARGETS = ("npz", "pt", "keras", "weights.h5", "onnx")


class Spec(NamedTuple):
    cell: str = "lstm"  # lstm, rnn, lstmcell, rnncell
    L: int = 1
    bi: bool = False
    proj: int = 0
    readout: bool = True  # a Linear/Dense after the recurrent layer (O outputs)
    head: str = "all"  # "all": an output per step; "last": one per sequence
    inputs: str = "features"  # "features" x (B, T, I); "tokens" ids (B, T) in [0, V)
    batch_first: bool = True  # the layout the source takes (a .pt's: given with --batch-first)
    nonlinearity: str = "tanh"  # an RNN's (a .pt's: given with --nonlinearity)
    activation: str = "tanh"  # Keras' activation (candidate and cell output)
    recurrent_activation: str = "sigmoid"  # Keras' (the gates')
    bias: bool = True
    peephole: bool = False  # an lstmkit variant that torch and Keras have no twin for
    estimator: str = ""  # an estimator-onnx source's: "classifier" or "regressor"
    softmax: bool = False  # a torch model's softmax after its read-out (what converts is the logits before it)
    last: str = "h_n[-1]"  # how a torch model with head="last" picks it: h_n[-1], y[:, -1] (time major y[-1]) or torch.cat((h_n[-2], h_n[-1]), 1)


#: name -> (how the source is made, what it holds)
SOURCES = {
    "npz-lstm-time-major": ("module", Spec(batch_first=False)),
    "npz-lstm-2bi-no-bias": ("module", Spec(L=2, bi=True, readout=False, bias=False)),
    "npz-lstm-proj-bi": ("module", Spec(L=2, bi=True, proj=2)),
    "npz-lstm-peephole": ("module", Spec(peephole=True)),
    "npz-rnn-relu-bi": ("module", Spec(cell="rnn", bi=True, nonlinearity="relu")),
    "npz-lstmcell": ("module", Spec(cell="lstmcell")),
    "npz-rnncell": ("module", Spec(cell="rnncell", readout=False)),
    "npz-seq-tokens": ("seq", Spec(inputs="tokens")),
    "npz-seq-last-2bi": ("seq", Spec(head="last", L=2, bi=True)),
    "npz-seq-tokens-last-identity": ("seq", Spec(inputs="tokens", head="last", readout=False)),
    "npz-seq-identity-bi": ("seq", Spec(bi=True, readout=False)),
    "npz-seq-rnn-last": ("seq", Spec(cell="rnn", head="last")),
    "npz-seq-last-proj": ("seq", Spec(head="last", proj=2)),
    "npz-classifier": ("classifier", Spec(head="last")),
    "npz-classifier-per-step": ("classifier", Spec()),
    "npz-text-generator": ("generator", Spec(inputs="tokens")),
    "npz-regressor": ("regressor", Spec(head="last")),
    "npz-forecaster": ("forecaster", Spec()),
    "pt-lstm-2bi": ("torch", Spec(L=2, bi=True)),
    "pt-lstm-bare-time-major-no-bias": ("torch", Spec(readout=False, batch_first=False, bias=False)),
    "pt-lstm-proj": ("torch", Spec(L=2, proj=2)),
    "pt-rnn-relu": ("torch", Spec(cell="rnn", nonlinearity="relu")),
    "pt-lstmcell": ("torch", Spec(cell="lstmcell")),
    "pt-embedding": ("torch", Spec(inputs="tokens")),
    "pt-embedding-no-readout": ("torch", Spec(inputs="tokens", readout=False)),
    "pt-whole-module": ("torch-module", Spec()),
    "keras-last": ("keras", Spec(head="last")),
    "keras-2bi": ("keras", Spec(L=2, bi=True, readout=False)),
    "keras-2bi-last": ("keras", Spec(L=2, bi=True, head="last")),
    "keras-relu": ("keras", Spec(activation="relu")),
    "keras-hard-sigmoid": ("keras", Spec(recurrent_activation="hard_sigmoid")),
    "keras-embedding": ("keras", Spec(inputs="tokens")),
    "h5-2bi": ("keras-weights", Spec(L=2, bi=True)),
    "h5-no-dense": ("keras-weights", Spec(readout=False)),
    "onnx-torch-2bi": ("torch-onnx", Spec(L=2, bi=True)),
    "onnx-torch-rnn-time-major": ("torch-onnx", Spec(cell="rnn", readout=False, batch_first=False)),
    "onnx-torch-embedding": ("torch-onnx", Spec(inputs="tokens")),
    "onnx-torch-embedding-rnn-time-major": ("torch-onnx", Spec(cell="rnn", inputs="tokens", batch_first=False)),
    "onnx-seq-tokens-2bi": ("onnx", Spec(inputs="tokens", L=2, bi=True)),
    "onnx-seq-last-2bi": ("onnx", Spec(head="last", L=2, bi=True)),
    "onnx-seq-tokens-last-identity": ("onnx", Spec(inputs="tokens", head="last", readout=False)),
    "onnx-seq-rnn": ("onnx", Spec(cell="rnn")),
    "onnx-seq-peephole": ("onnx", Spec(peephole=True)),
    "onnx-classifier": ("estimator-onnx", Spec(head="last", bi=True, estimator="classifier")),
    "onnx-classifier-per-step": ("estimator-onnx", Spec(bi=True, estimator="classifier")),
    "onnx-regressor": ("estimator-onnx", Spec(head="last", estimator="regressor")),
    "onnx-torch-softmax": ("torch-onnx", Spec(L=2, softmax=True)),
    "onnx-torch-h-last-2": ("torch-onnx", Spec(L=2, head="last")),
    "onnx-torch-y-last-time-major-softmax": ("torch-onnx", Spec(head="last", batch_first=False, last="y[:, -1]", softmax=True)),
    "onnx-torch-cat-last-bi": ("torch-onnx", Spec(bi=True, head="last", last="cat")),
    "npz-checkpoint": ("checkpoint", Spec(head="last")),
}
SUFFIX = {"module": "npz", "seq": "npz", "classifier": "npz", "regressor": "npz", "generator": "npz", "forecaster": "npz", "torch": "pt", "torch-module": "pt",
          "keras": "keras", "keras-weights": "weights.h5", "torch-onnx": "onnx", "onnx": "onnx", "estimator-onnx": "onnx", "checkpoint": "npz"}  # fmt: skip


def refusal(kind: str, s: Spec, target: str) -> tuple[str, ...]:
    """What the error must name when ``kind``/``s`` cannot travel to ``target`` (any one of them); () if it can."""
    if kind == "forecaster":
        return ("window, scaling and differencing",)
    if kind == "torch-module":
        return ("weights_only=True",)
    if kind in ("classifier", "regressor", "generator"):
        return () if target == "onnx" else ("expected OUT to be .onnx",)
    if kind == "torch" and s.inputs == "tokens":  # emb.weight beside fc.weight, or before the LSTM's: not a read-out
        return ("at most one Linear read-out",) if s.readout else ("a read-out after the LSTM",)
    if kind == "keras" and s.inputs == "tokens":
        return ("got Embedding",)
    why = []
    keras = target in ("keras", "weights.h5")
    if s.cell in ("lstmcell", "rnncell") and (keras or target == "onnx"):
        why.append({"lstmcell": "got LSTMCell", "rnncell": "got RNNCell"}[s.cell])
    if s.cell == "rnn" and keras:
        why.append("got RNN")
    if s.proj and (keras or target == "onnx"):
        why.append("proj_size")
    if s.head == "last" and target in ("pt", "weights.h5"):
        why.append("head='last'")
    if s.inputs == "tokens" and target in ("pt", "weights.h5", "keras"):
        why.append("tokens")
    if s.peephole and target in ("pt", "keras", "weights.h5"):
        why.append("peephole")
    if (s.activation, s.recurrent_activation) != ("tanh", "sigmoid") and target in ("pt", "weights.h5"):
        why.append("activations")
    return tuple(why)


def matrix_input(s: Spec, seed: int):
    """Random input, batch first: ids (B, T), a cell's x (B, I), else x (B, T, I)."""
    rng = np.random.default_rng(seed)
    if s.inputs == "tokens":
        return rng.integers(0, V, size=(B, T))
    return rng.normal(size=(B, I) if s.cell.endswith("cell") else (B, T, I)).astype(np.float32)


def time_major(f, x, tm: bool):
    """f run on x (B, T, ...) given to it as (T, B, ...) when ``tm``, its per-step output put back batch first."""
    if not tm or x.ndim < 2 or (x.ndim == 2 and x.dtype.kind == "f"):  # a cell's (B, I): no time axis
        return f(x)
    y = f(np.ascontiguousarray(np.swapaxes(x, 0, 1)))
    return np.swapaxes(y, 0, 1) if y.ndim == 3 else y


# the sources, each in its own tool
def lstmkit_sequence_model(s: Spec, seed: int):
    options = {"proj_size": s.proj} if s.proj else {}
    options.update({"peephole": True} if s.peephole else {}, **({"nonlinearity": s.nonlinearity} if s.nonlinearity != "tanh" else {}))
    return lstmkit.SequenceModel(
        V if s.inputs == "tokens" else I, O if s.readout else None, H, s.L, s.cell, s.head, "linear" if s.readout else "identity",
        s.bi, lstm_options=options, seed=seed, inputs=s.inputs,
    )  # fmt: skip


def lstmkit_module(s: Spec, seed: int):
    if s.cell == "lstm":
        m = lstmkit.LSTM(I, H, s.L, s.bias, s.batch_first, bidirectional=s.bi, proj_size=s.proj, seed=seed, **({"peephole": True} if s.peephole else {}))
    elif s.cell == "rnn":
        m = lstmkit.RNN(I, H, s.L, s.nonlinearity, s.bias, s.batch_first, bidirectional=s.bi, seed=seed)
    else:
        m = lstmkit.LSTMCell(I, H, s.bias, seed=seed) if s.cell == "lstmcell" else lstmkit.RNNCell(I, H, s.bias, s.nonlinearity, seed=seed)
    F = (1 + s.bi) * (s.proj or H) if hasattr(m, "num_directions") else H
    rng = np.random.default_rng(seed)
    readout = {"weight": rng.normal(size=(O, F)).astype(np.float32), "bias": rng.normal(size=O).astype(np.float32)} if s.readout else None
    return m.eval(), readout


def torch_net(s: Spec, names=("lstm", "fc"), batch_first=None):
    """The PyTorch model of ``s``: attributes ``names`` = (recurrent, read-out); "" for a bare module."""
    nn = torch.nn
    bf = s.batch_first if batch_first is None else batch_first
    if s.cell == "lstm":
        rnn = nn.LSTM(I, H, s.L, bias=s.bias, batch_first=bf, bidirectional=s.bi, proj_size=s.proj)
    elif s.cell == "rnn":
        rnn = nn.RNN(I, H, s.L, nonlinearity=s.nonlinearity, bias=s.bias, batch_first=bf, bidirectional=s.bi)
    else:
        rnn = nn.LSTMCell(I, H, bias=s.bias) if s.cell == "lstmcell" else nn.RNNCell(I, H, bias=s.bias, nonlinearity=s.nonlinearity)
    F = (1 + s.bi) * (s.proj or H) if not s.cell.endswith("cell") else H

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            if s.inputs == "tokens":
                self.emb = nn.Embedding(V, I)  # registered first, as it runs first
            setattr(self, names[0], rnn)
            if s.readout:
                setattr(self, names[1], nn.Linear(F, O))

        def forward(self, x):
            y = rnn(self.emb(x) if s.inputs == "tokens" else x)
            if s.head == "last":  # torch's sequence classifier: the last layer's final state
                out, (h, _) = y
                y = {"h_n[-1]": lambda: h[-1], "y[:, -1]": lambda: out[:, -1] if bf else out[-1], "cat": lambda: torch.cat((h[-2], h[-1]), 1)}[s.last]()
            y = y[0] if isinstance(y, tuple) else y  # (y, state) of a layer, (h, c) of an LSTMCell
            y = getattr(self, names[1])(y) if s.readout else y
            return torch.softmax(y, -1) if s.softmax else y

    net = Model() if names[0] else rnn
    for p in net.parameters():  # random everywhere, biases too: a wrong gate order shows
        torch.nn.init.normal_(p, std=0.5)
    return net.eval()


def torch_run(net, x, batch_first=True):
    """torch on x (batch first): a model's output, a bare layer's y of (y, state), a cell's h of (h, c)."""

    def run(a):
        out = net(torch.from_numpy(a))
        return (out[0] if isinstance(out, tuple) else out).numpy()

    with torch.no_grad():
        return time_major(run, x, not batch_first)


def keras_net(s: Spec, seed: int | None = 0):
    """The Keras model of ``s`` (random weights with ``seed``; None: as built)."""
    keras = pytest.importorskip("keras")
    layers = [keras.Input((None,), dtype="int64"), keras.layers.Embedding(V, I)] if s.inputs == "tokens" else [keras.Input((None, I))]
    for k in range(s.L):
        lstm = keras.layers.LSTM(H, return_sequences=s.head == "all" or k < s.L - 1, activation=s.activation,
                                 recurrent_activation=s.recurrent_activation, use_bias=s.bias)  # fmt: skip
        layers.append(keras.layers.Bidirectional(lstm) if s.bi else lstm)
    if s.readout:
        layers.append(keras.layers.Dense(O))
    model = keras.Sequential(layers)
    if seed is not None:
        rng = np.random.default_rng(seed)
        for lay in model.layers:
            lay.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    return model


def keras_run(model, x):
    import warnings

    keras = pytest.importorskip("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.ops.convert_to_numpy(model(x, training=False))


def ort_run(path, x, tm=None):
    """onnxruntime on x (batch first), given time major when ``tm`` (None: when the graph names its input's
    dims (T, B, ...), as lstmkit writes them); its ``proba`` if it has one (a classifier's), else its first output."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    names = [o.name for o in sess.get_outputs()]
    name = "proba" if "proba" in names else names[0]
    tm = inp.shape[0] == "T" if tm is None else tm
    return time_major(lambda a: sess.run([name], {inp.name: a.astype(np.int64) if a.dtype.kind == "i" else a})[0], x, tm)


def make_source(path, kind: str, s: Spec, x, seed: int):
    """Write the source file of ``kind`` to ``path``; return its outputs on x, by its own runtime."""
    import warnings

    if kind == "module":
        module, readout = lstmkit_module(s, seed)
        lstmkit.save_lstm(path, module, readout)
        f = lstmkit.modelfile.LSTMFile(module, readout, {}).predict
        return time_major(f, x, not getattr(module, "batch_first", True))
    if kind in ("seq", "onnx"):
        model = lstmkit_sequence_model(s, seed)
        if kind == "seq":
            model.save(path)
            with model.no_grad():
                return model.eval()(x)[0]
        to_onnx(model, path=path)
        return ort_run(path, x)
    if kind in ("classifier", "regressor", "generator", "forecaster", "estimator-onnx", "checkpoint"):
        rng = np.random.default_rng(seed)
        if kind == "forecaster":
            lstmkit.LSTMForecaster(window=4, hidden_size=H, epochs=1, seed=seed).fit(np.sin(np.arange(30.0))).save(path)
            return None
        if kind == "generator":  # V = 5: 'abcd' and the unknown character
            gen = lstmkit.TextGenerator(hidden_size=H, seq_len=5, batch_size=2, epochs=1, seed=seed).fit("abcdbcadcabd" * 2)
            gen.save(path)
            with gen.model_.no_grad():
                return gen.model_.eval()(x)[0]
        X = rng.normal(size=(8, T, I)).astype(np.float32)
        if kind == "checkpoint":  # a classifier's run, its checkpoint the source: the network as it was trained
            est = lstmkit.LSTMClassifier(hidden_size=H, epochs=2, batch_size=8, seed=seed).fit(X, (X[:, :, 0].sum(1) > 0).astype(int), checkpoint=path)
            with est.model_.no_grad():
                return est.model_.eval()(x)[0]
        if kind == "classifier" or s.estimator == "classifier":
            y = (X[:, :, 0] > 0).astype(int) if s.head == "all" else (X[:, :, 0].sum(1) > 0).astype(int)
            est = lstmkit.LSTMClassifier(hidden_size=H, bidirectional=True, epochs=1, batch_size=8, seed=seed).fit(X, y)
        else:
            est = lstmkit.LSTMRegressor(hidden_size=H, epochs=1, batch_size=8, seed=seed).fit(X, X.sum(axis=(1, 2)) + 3)
        if kind == "estimator-onnx":  # its graph the source: the first output, a classifier's logits (its proba is not kept)
            to_onnx(est, path=path)
            return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["out"], {"x": x})[0]
        est.save(path)
        if kind == "classifier":
            return est.predict_proba(x)
        return est.predict(x)[:, None]  # the ONNX graph keeps the trailing axis of one output
    if kind in ("torch", "torch-module", "torch-onnx"):
        torch.manual_seed(seed)
        net = torch_net(s, names=("lstm", "fc") if s.readout or s.inputs == "tokens" else ("", "fc"))
        if kind == "torch":
            torch.save(net.state_dict(), path)
        elif kind == "torch-module":
            torch.save(Net(), path)  # a pickled module: code, not weights
            return None
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = x if s.batch_first else np.swapaxes(x, 0, 1)
                torch.onnx.export(net, (torch.from_numpy(np.ascontiguousarray(a)),), path, dynamo=False, input_names=["x"], output_names=["out"])
            return ort_run(path, x, tm=not s.batch_first)
        return torch_run(net, x, s.batch_first)
    model = keras_net(s, seed)
    if kind == "keras":
        model.save(path)
    else:
        model.save_weights(path)
    return keras_run(model, x)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """name -> (path, kind, spec, x, the source's outputs on x); each source made once, when first asked for."""
    made = {}
    folder = tmp_path_factory.mktemp("sources")

    def get(name):
        if name not in made:
            kind, s = SOURCES[name]
            seed = list(SOURCES).index(name)
            x = matrix_input(s, seed)
            path = folder / f"{name}.{SUFFIX[kind]}"
            made[name] = (path, kind, s, x, make_source(path, kind, s, x, seed))
        return made[name]

    return get


def run_converted(path, target: str, s: Spec, x):
    """The converted file's outputs on x (batch first), by its own runtime; for a .pt and a .weights.h5, which
    hold weights only, loaded into the model ``s`` describes (as their user would)."""
    if target == "npz":
        mf = lstmkit.modelfile.read_model(path)
        if mf.kind in lstmkit.modelfile.MODULE_KINDS:
            f = lstmkit.read_lstm(path)
            return time_major(f.predict, x, not getattr(f.module, "batch_first", True))
        model = lstmkit.load(path)
        with model.no_grad():
            return model.eval()(x)[0]
    if target == "pt":
        state = torch.load(path, weights_only=True)
        rnn_name = next(k for k in state if "weight_ih" in k).rpartition(".")[0]
        head_name = next((k.rpartition(".")[0] for k in state if k.rpartition(".")[0] != rnn_name), "head")
        net = torch_net(s._replace(softmax=False), names=(rnn_name, head_name), batch_first=True)
        net.load_state_dict(state, strict=True)
        return torch_run(net, x)
    if target == "keras":
        keras = pytest.importorskip("keras")
        return keras_run(keras.saving.load_model(path, safe_mode=True), x)
    if target == "weights.h5":
        model = keras_net(s, seed=None)
        model.load_weights(path)
        return keras_run(model, x)
    return ort_run(path, x)


@pytest.mark.parametrize("source, target", [(s, t) for s in SOURCES for t in TARGETS])
def test_convert_matrix(sources, tmp_path, capsys, source, target):
    path, kind, s, x, ref = sources(source)
    out = tmp_path / f"out.{target}"
    args = ["convert", str(path), str(out)]
    if path.suffix == ".pt":  # what a state_dict does not record
        args += (["--batch-first"] if s.batch_first else []) + (["--nonlinearity", s.nonlinearity] if s.cell.startswith("rnn") else [])
    code = main(args)
    out_text, err = capsys.readouterr()
    why = refusal(kind, s, target)
    if why:
        assert code == 1, f"{source} -> .{target}: expected a refusal naming {' or '.join(why)}, got exit {code}"
        assert err.startswith("lstmkit: error: convert: ") and err.count("\n") == 1 and any(w in err for w in why), err
        assert not out.exists()
        return
    assert code == 0, err
    got = run_converted(out, target, s, x)
    if s.softmax:  # converted: the logits before it, and the output line says so
        assert "its Softmax on the output is not kept" in out_text, out_text
        got = np.exp(got - got.max(-1, keepdims=True))
        got = got / got.sum(-1, keepdims=True)
    assert_close(got, ref, 1e-5 * max(1.0, float(np.abs(ref).max())), name=f"{source} -> .{target}")


@pytest.mark.parametrize("output", ["Y", "Y_h"])
def test_a_graphs_raw_node_output_is_said_in_the_output_line(tmp_path, capsys, output):
    """A graph whose output is its bidirectional LSTM node's own Y (T, D, B, H) or Y_h (D, B, H), no Transpose/
    Reshape after it (a hand-built graph, onnx.helper), converted without a word to a model whose y is lstmkit's
    (T, B, D*H) or, head='last', (B, D*H): model_from_onnx warns of it since cf78380, convert said nothing. The
    output line now gives the expression, which on the written model's y is onnxruntime's output of the graph."""
    from onnx import TensorProto, helper, numpy_helper, save

    I, H, D, T, B = 3, 4, 2, 5, 2
    rng = np.random.default_rng(3)
    inits = {"W": rng.normal(size=(D, 4 * H, I)), "R": rng.normal(size=(D, 4 * H, H)), "B": rng.normal(size=(D, 8 * H))}
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=H, direction="bidirectional")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "B", I])],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])  # fmt: skip
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), tmp_path / "raw.onnx")
    assert main(["convert", str(tmp_path / "raw.onnx"), str(tmp_path / "raw.npz")]) == 0, capsys.readouterr().err
    line = capsys.readouterr().out.strip()
    said = f"; its output is its last LSTM node's own {output} as the operator arranges it: the model written outputs y with the directions side by side"
    assert said in line and "a reshape alone mixes up" in line, line
    expr = line.split("the graph's output from it: ")[1].split(" = ", 1)[1]
    X = rng.normal(size=(T, B, I)).astype(np.float32)
    ref = ort.InferenceSession(str(tmp_path / "raw.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]
    if output == "Y":  # an LSTM over every step, time-major as the graph: lstmkit.read_lstm
        y = lstmkit.read_lstm(tmp_path / "raw.npz").module.eval()(X)[0]  # (T, B, D*H)
    else:  # a SequenceModel(head='last'), batch first
        y = lstmkit.load(tmp_path / "raw.npz").eval()(X.transpose(1, 0, 2))[0]  # (B, D*H)
    assert_close(eval(expr, {"y": y, "B": B, "T": T}), ref, 1e-5, name=f"raw {output}, from the model written as the output line says")
