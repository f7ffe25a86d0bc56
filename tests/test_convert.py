"""``lstmkit convert``: a PyTorch model through every format and back, checked against torch and
onnxruntime; bad inputs give one-line errors."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("h5py")

import lstmkit  # noqa: E402
from lstmkit.cli import main  # noqa: E402
from lstmkit.interop.onnx import to_onnx  # noqa: E402


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
    assert main(["convert", str(tmp_path / "net.pt"), str(tmp_path / "net.pt")]) == 1
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
        (["in.txt", "out.npz"], "expected IN to end in one of"),
        (["bad.npz", "out.onnx"], "not a valid lstmkit file"),
        (["bad.onnx", "out.npz"], "onnx cannot parse"),
        (["cell.npz", "out.onnx"], "expected an LSTM or RNN for ONNX, got LSTMCell"),
        (["proj.npz", "out.onnx"], "proj_size"),
        (["peep.npz", "out.pt"], "peephole"),
        (["peep.npz", "out.keras"], "peephole"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff garbage")
    lstmkit.save_lstm(tmp_path / "cell.npz", lstmkit.LSTMCell(3, 4, seed=0))
    lstmkit.save_lstm(tmp_path / "proj.npz", lstmkit.LSTM(3, 4, proj_size=2, seed=0))
    lstmkit.save_lstm(tmp_path / "peep.npz", lstmkit.LSTM(3, 4, peephole=True, seed=0))
    assert main(["convert", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error:") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / args[1]).exists()


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
