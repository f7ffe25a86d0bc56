"""``lstmkit.load(path)``: a model file comes back whole and in eval mode, computing what the saved model
computes, checked against the model that was saved in its own framework (PyTorch, Keras); and a model
loaded that way still trains with its dropout (the Trainer puts it in training mode itself)."""

from __future__ import annotations

import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")

import lstmkit  # noqa: E402
from lstmkit.cli import main  # noqa: E402
from lstmkit.io import FileFormatError  # noqa: E402
from oracles import assert_close  # noqa: E402


class Tagger(torch.nn.Module):
    """A per-step classifier as a torch user writes it: nn.LSTM, then nn.Linear at every step."""

    def __init__(self, batch_first: bool):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=batch_first)
        self.fc = torch.nn.Linear(10, 4)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def torch_tagger_file(tmp_path, batch_first: bool):
    torch.manual_seed(0)
    net = Tagger(batch_first).eval()
    torch.save(net.state_dict(), tmp_path / "tagger.pt")
    return net


def test_load_of_a_converted_pt_keeps_its_read_out(tmp_path, capsys):
    """'lstmkit convert tagger.pt tagger.npz' writes the LSTM and its nn.Linear; load returned the bare LSTM, so
    a user got (B, T, 10) hidden states instead of the model's (B, T, 4) logits, silently."""
    net = torch_tagger_file(tmp_path, batch_first=True)
    assert main(["convert", str(tmp_path / "tagger.pt"), str(tmp_path / "tagger.npz"), "--batch-first"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("read-out 10 -> 4")  # loaded whole: no word of read_lstm
    model = lstmkit.load(tmp_path / "tagger.npz")
    assert type(model) is lstmkit.SequenceModel and (model.head_mode, model.readout) == ("all", "linear")
    assert model.training is False
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()  # (B, T, 4)
    out, _ = model(x)
    assert out.shape == ref.shape == (2, 6, 4)
    assert_close(out, ref, 1e-6, name="load(converted .pt) vs torch")
    # a save_lstm file with a read-out, as written in Python: the same model
    lstmkit.save_lstm(tmp_path / "again.npz", model.rnn, readout=model.head.state_dict())
    assert_close(lstmkit.load(tmp_path / "again.npz")(x)[0], ref, 1e-6, name="load(save_lstm with read-out) vs torch")


def test_load_refuses_what_a_sequence_model_would_read_otherwise(tmp_path, capsys):
    """A SequenceModel is batch first: a time-major module with a read-out (a .pt converted without
    --batch-first) would take x in another layout, and a cell is not a SequenceModel's layer. Refused, naming
    read_lstm, whose predict computes the saved model (torch's numbers)."""
    net = torch_tagger_file(tmp_path, batch_first=False)
    assert main(["convert", str(tmp_path / "tagger.pt"), str(tmp_path / "tm.npz")]) == 0
    # convert's output line says so (it said nothing: the user found out at lstmkit.load), and what to run instead
    tm = str(tmp_path / "tm.npz")
    assert capsys.readouterr().out.rstrip().endswith(
        f"+ read-out 10 -> 4; written time-major (batch_first=False) with a read-out: lstmkit.load refuses it, "
        f"lstmkit.read_lstm({tm!r}).predict(x) runs it with its read-out, x as (T, B, I); if the model takes x as (B, T, I) "
        f"(a .pt does not record it), give --batch-first and lstmkit.load loads it whole")  # fmt: skip
    with pytest.raises(FileFormatError) as info:
        lstmkit.load(tmp_path / "tm.npz")
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'tm.npz'}: expected a file lstmkit.load can rebuild whole"), msg
    assert "got a time-major LSTM (batch_first=False) with a read-out. Use lstmkit.read_lstm(path)" in msg and "--batch-first" in msg
    x = np.random.default_rng(1).normal(size=(6, 2, 3)).astype(np.float32)  # (T, B, I)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert_close(lstmkit.read_lstm(tmp_path / "tm.npz").predict(x), ref, 1e-6, name="read_lstm(time-major).predict vs torch")
    cell = lstmkit.LSTMCell(3, 4, seed=0)
    lstmkit.save_lstm(tmp_path / "cell.npz", cell, readout={"weight": np.ones((2, 4), np.float32)})
    with pytest.raises(FileFormatError, match=r"got an LSTMCell with a read-out\. Use lstmkit\.read_lstm\(path\)"):
        lstmkit.load(tmp_path / "cell.npz")
    assert main(["convert", str(tmp_path / "cell.npz"), str(tmp_path / "cell2.npz")]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        f"; a cell with a read-out: lstmkit.load refuses it, lstmkit.read_lstm({str(tmp_path / 'cell2.npz')!r}).predict(x) runs it with its read-out")
    assert lstmkit.read_lstm(tmp_path / "cell2.npz").predict(np.ones((2, 3), np.float32)).shape == (2, 2)


def test_kind_names_the_files_kind_not_the_type_returned(tmp_path):
    """load(path, kind=...) checks the kind written in the file: an LSTM file with a read-out is kind "LSTM" and comes
    back as its SequenceModel, with or without kind; kind="SequenceModel" refuses it (the docstring said a file of
    another kind than kind raises, which read as if kind were the type returned)."""
    lstm = lstmkit.LSTM(3, 4, batch_first=True, seed=0)
    lstmkit.save_lstm(tmp_path / "m.npz", lstm, readout={"weight": np.ones((2, 4), np.float32)})
    assert type(lstmkit.load(tmp_path / "m.npz", kind="LSTM")) is lstmkit.SequenceModel
    with pytest.raises(FileFormatError, match=r"m\.npz: expected a model of kind SequenceModel, got LSTM\.$"):
        lstmkit.load(tmp_path / "m.npz", kind="SequenceModel")


def test_a_module_without_read_out_loads_as_itself_in_eval(tmp_path):
    lstm = lstmkit.LSTM(3, 4, num_layers=2, dropout=0.5, dropout_recurrent=0.3, batch_first=True, seed=0)
    lstmkit.save_lstm(tmp_path / "m.npz", lstm)
    back = lstmkit.load(tmp_path / "m.npz")
    assert type(back) is lstmkit.LSTM and back.training is False
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    assert np.array_equal(back(x)[0], back(x)[0])  # no masks drawn: the same answer every call
    assert np.array_equal(back(x)[0], lstm.eval()(x)[0])


@pytest.mark.parametrize("last", [False, True])
def test_load_of_a_converted_keras_model_with_dropout_computes_keras_model_x(tmp_path, capsys, last):
    """A .keras with Dropout and LSTM(dropout=, recurrent_dropout=) converted to .npz (an LSTM + read-out file over
    every step; a SequenceModel file for return_sequences=False): load returned it in training mode, 0.04 off
    Keras' model(x) and another answer each call."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    L = keras.layers
    drop = dict(dropout=0.2, recurrent_dropout=0.1)
    km = keras.Sequential([keras.Input((None, 3)), L.LSTM(6, return_sequences=True, **drop), L.Dropout(0.3),
                           L.LSTM(6, return_sequences=not last, **drop), L.Dense(2)])  # fmt: skip
    rng = np.random.default_rng(3)
    for lay in km.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    km.save(tmp_path / "d.keras")
    assert main(["convert", str(tmp_path / "d.keras"), str(tmp_path / "d.npz")]) == 0, capsys.readouterr().err
    x = np.random.default_rng(4).normal(size=(2, 5, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = keras.ops.convert_to_numpy(km(x))  # Keras' inference: no dropout
    model = lstmkit.load(tmp_path / "d.npz")
    assert type(model) is lstmkit.SequenceModel and model.head_mode == ("last" if last else "all")
    assert model.training is False and model.rnn.training is False
    assert model.rnn.dropout == 0.3 and model.rnn.variant.changed() == {"dropout_input": 0.2, "dropout_recurrent": 0.1}
    assert_close(model(x)[0], ref, 1e-5, name="load(converted .keras with dropout) vs keras")
    assert np.array_equal(model(x)[0], model(x)[0])


def test_a_loaded_model_still_trains_with_its_dropout(tmp_path):
    """load gives the model in eval mode; the Trainer puts it in training mode for every epoch itself, so the
    dropouts act in training (masks drawn), and predict runs it in eval again."""
    seq = lstmkit.SequenceModel(3, 2, 4, num_layers=2, dropout=0.5, lstm_options={"dropout_input": 0.3, "dropout_recurrent": 0.3}, seed=0)
    seq.save(tmp_path / "s.npz")
    model = lstmkit.load(tmp_path / "s.npz")
    assert model.training is False
    seen = []

    def record(trainer, logs):  # after each epoch's updates: the mode and masks of its last training forward
        masks = trainer.model.rnn.last_masks["l0"]
        seen.append((trainer.model.training, trainer.model.rnn.training, masks.x is not None, masks.h is not None))

    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(8, 5, 3)).astype(np.float32), rng.integers(0, 2, size=(8, 5))
    lstmkit.Trainer(model, batch_size=4, seed=0, callbacks=[record]).fit(X, Y, epochs=2)
    assert seen == [(True, True, True, True)] * 2
    assert np.array_equal(lstmkit.training.predict(model, X), lstmkit.training.predict(model, X))


def test_a_checkpoint_model_comes_back_in_eval(tmp_path):
    seq = lstmkit.SequenceModel(3, 2, 4, dropout=0.0, lstm_options={"dropout_recurrent": 0.4}, head="last", seed=0)
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(8, 5, 3)).astype(np.float32), rng.integers(0, 2, size=8)
    lstmkit.Trainer(seq, batch_size=4, seed=0).fit(X, Y, epochs=1, checkpoint=tmp_path / "ck.npz")
    model = lstmkit.saving.checkpoint_model(tmp_path / "ck.npz").model
    assert model.training is False
    assert np.array_equal(model(X)[0], seq.eval()(X)[0])


@pytest.mark.parametrize("path, got", [("builtin:seed000", "a built-in worked example 'builtin:seed000'"),
                                       ("examples/seed000.toml", "a worked example's .toml 'examples/seed000.toml'")])  # fmt: skip
def test_load_of_a_worked_example_points_to_explain_load(path, got):
    # before: a bare FileNotFoundError for builtin:, "not a zip (.npz) archive" for the .toml
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full = path if path.startswith("builtin:") else os.path.join(root, path)
    got = got.replace(path, full)
    with pytest.raises(FileFormatError, match=rf"^lstmkit\.load: expected path a model file .*, got {re.escape(got)}\. "
                                              rf"A worked example is read by lstmkit\.explain\.load\(path\)"):  # fmt: skip
        lstmkit.load(full)
    from lstmkit.explain import load as load_worked

    assert load_worked(full)  # which reads it


@pytest.mark.parametrize("name", ["missing.toml", "missing.TOML", "builtin:nosuch"])
def test_load_of_a_missing_file_or_builtin_name_stays_file_not_found(tmp_path, name):
    # helper-207 #2: a missing .toml, and a builtin: name lstmkit does not ship, were FileFormatErrors calling
    # them worked examples; code catching FileNotFoundError for a missing file no longer saw it
    path = name if name.startswith("builtin:") else str(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        lstmkit.load(path)
