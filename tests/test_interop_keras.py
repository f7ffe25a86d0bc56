"""Keras 3 interop, checked against Keras itself running on its torch backend (no TensorFlow):
LSTM and Bidirectional(LSTM) stacks with a Dense read-out, weights both ways, and .keras /
.weights.h5 files read without importing Keras; Keras' return_sequences=False as a
SequenceModel(head="last") both ways."""

from __future__ import annotations

import itertools
import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported, once for this module

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from oracles import record_close  # noqa: E402

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import lstmkit  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="The structure of `inputs`")
from lstmkit.interop.keras import from_keras, model_from_keras, read_keras, read_keras_file, to_keras, write_keras_file  # noqa: E402

assert keras.backend.backend() == "torch"
ERRORS: dict[str, float] = {}


def check_close(name, ours, ref, tol):
    record_close(ERRORS, "keras", name, ours, ref, tol)


@pytest.fixture(scope="module", autouse=True)
def report_errors():
    yield
    print("\nmax |lstmkit - keras| per quantity:", {k: f"{v:.2g}" for k, v in ERRORS.items()})


def keras_model(I, H, L, bi, bias, dense, *, activation="tanh", recurrent_activation="sigmoid", dtype="float64", seed=0, last=False):
    """A Keras model with random weights everywhere (biases too: a wrong gate order shows);
    ``last``: the last LSTM layer returns its last step only (return_sequences=False)."""
    rng = np.random.default_rng(seed)
    layers = [keras.Input((None, I), dtype=dtype)]
    for k in range(L):
        lstm = keras.layers.LSTM(H, return_sequences=not (last and k == L - 1), use_bias=bias, activation=activation, recurrent_activation=recurrent_activation, dtype=dtype)
        layers.append(keras.layers.Bidirectional(lstm, dtype=dtype) if bi else lstm)
    if dense:
        layers.append(keras.layers.Dense(2, dtype=dtype))
    model = keras.Sequential(layers)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(dtype) for w in lay.get_weights()])
    return model


def keras_run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


#: Keras' Dense on the torch backend multiplies float64 tensors in float32 (keras.ops.matmul takes
#: dtypes.result_type(torch.float64, torch.float64), which is "float32" in keras 3.15), so a float64
#: model with a Dense read-out agrees with exact arithmetic to ~1e-7 only; the recurrent layers,
#: compared before the Dense, agree to round-off.
DENSE_TOL = 2e-6


def check_model(name, model, module, head, x):
    """Compare the recurrent output (before any Dense) at round-off and the read-out at DENSE_TOL."""
    has_dense = isinstance(model.layers[-1], keras.layers.Dense)
    rec_ref = keras_run(keras.Model(model.inputs, model.layers[-2].output) if has_dense else model, x)
    ours_rec = module.eval()(x)[0]
    check_close(f"{name} (recurrent part)", ours_rec, rec_ref, 1e-12 if x.dtype == np.float64 else 2e-6)
    if has_dense:
        ours = lstmkit.modelfile.LSTMFile(module, head, {}).predict(x)
        check_close(f"{name} (with Dense)", ours, keras_run(model, x), DENSE_TOL)


GRID = list(itertools.product((1, 2), (False, True), (True, False), (False, True)))


@pytest.mark.parametrize("L, bi, bias, dense", GRID)
def test_import_matches_keras(L, bi, bias, dense):
    model = keras_model(3, 4, L, bi, bias, dense, seed=L + 2 * bi + 4 * bias)
    x = np.random.default_rng(1).normal(size=(2, 6, 3))
    module, head = from_keras(model)
    assert module.batch_first and module.num_layers == L and module.bidirectional == bi and module.bias == bias
    check_model("import float64", model, module, head, x)
    # and back: lstmkit -> keras holds the very same weights (the bias was summed once, Keras has one)
    again = to_keras(module, head)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    check_model("export float64", again, module, head, x)


@pytest.mark.parametrize(
    "activation, recurrent_activation",
    [("tanh", "hard_sigmoid"), ("softsign", "sigmoid"), ("relu", "hard_sigmoid"), ("elu", "sigmoid")],
)
def test_import_activations_match_keras(activation, recurrent_activation):
    model = keras_model(3, 4, 1, True, True, True, activation=activation, recurrent_activation=recurrent_activation, seed=3)
    x = np.random.default_rng(2).normal(size=(2, 5, 3))
    module, head = from_keras(model)
    check_model("import activations", model, module, head, x)
    check_model("export activations", to_keras(module, head), module, head, x)


def test_float32_and_torch_lstm_weights_through_keras():
    """PyTorch -> lstmkit -> Keras: the three agree (two independent peers at once)."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    from lstmkit.interop.pytorch import from_torch

    module = from_torch(net)
    x = np.random.default_rng(3).normal(size=(2, 7, 3)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x))[0].numpy()
    check_close("torch -> keras (float32)", keras_run(to_keras(module), x), ref, 2e-6)


def test_files_read_without_keras_match(tmp_path):
    model = keras_model(3, 4, 2, True, True, True, seed=5)
    x = np.random.default_rng(4).normal(size=(2, 6, 3))
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    for name in ("m.keras", "m.weights.h5"):
        module, head = read_keras_file(tmp_path / name)
        check_model(f"read {name}", model, module, head, x)
    # options only a .keras file carries (activation, dropout) come back too
    m2 = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True, activation="softsign", recurrent_dropout=0.25, dropout=0.1)])
    m2.save(tmp_path / "o.keras")
    module, head = read_keras_file(tmp_path / "o.keras")
    assert head is None
    assert module.variant.changed() == {"activations": ("sigmoid", "softsign", "softsign"), "dropout_input": 0.1, "dropout_recurrent": 0.25}
    x32 = x.astype(np.float32)
    check_close("read o.keras (float32)", module.eval()(x32)[0], keras_run(m2, x32), 2e-6)


def test_write_files_load_in_keras(tmp_path):
    m = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, seed=7)
    head = {"weight": np.random.default_rng(0).normal(size=(2, 8)), "bias": np.ones(2)}
    x = np.random.default_rng(5).normal(size=(2, 6, 3))
    write_keras_file(tmp_path / "w.keras", m, head)
    loaded = keras.saving.load_model(tmp_path / "w.keras", safe_mode=True)
    check_model("written .keras in keras", loaded, m, head, x)
    write_keras_file(tmp_path / "w.weights.h5", m, head)
    fresh = to_keras(lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, seed=99), {"weight": np.zeros((2, 8)), "bias": np.zeros(2)})
    fresh.load_weights(tmp_path / "w.weights.h5")
    check_model("written .weights.h5 in keras", fresh, m, head, x)
    # a suffix in capitals is the same format, as convert reads suffixes (M.KERAS was refused, then not read as a zip)
    write_keras_file(tmp_path / "W.KERAS", m, head)
    back, back_head = read_keras_file(tmp_path / "W.KERAS")
    assert np.allclose(back(x)[0], m(x)[0], atol=1e-12) and np.allclose(back_head["weight"], head["weight"])


def test_refusals_name_the_option():
    with pytest.raises(ValueError, match="go_backwards"):
        from_keras(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, go_backwards=True, return_sequences=True)]))
    with pytest.raises(ValueError, match="merge_mode"):
        from_keras(keras.Sequential([keras.Input((None, 3)), keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), merge_mode="sum")]))
    with pytest.raises(ValueError, match="activation"):
        from_keras(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, activation="gelu", return_sequences=True)]))
    with pytest.raises(ValueError, match="Dense activation"):
        from_keras(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True), keras.layers.Dense(2, activation="softmax")]))
    # Keras' default, return_sequences=False, reads the last step only (bidirectional: the forward last
    # and the backward first): from_keras (an LSTM over every step) refuses it, pointing to model_from_keras
    for layer in (keras.layers.LSTM(4), keras.layers.Bidirectional(keras.layers.LSTM(4))):
        with pytest.raises(ValueError, match=r"expected return_sequences True on the last LSTM layer .*, got False\. Use .*model_from_keras"):
            from_keras(keras.Sequential([keras.Input((None, 3)), layer, keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="GRU") as raised:  # a layer of the model, as a file's (a TypeError: obj itself no Keras model)
        from_keras(keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(4)]))
    assert type(raised.value) is ValueError  # a ValueError, as it was: the readers' own refusal type stays inside the module
    with pytest.raises(TypeError, match=r"expected obj a keras LSTM, Bidirectional\(LSTM\) or a model of them, got GRU\."):
        from_keras(keras.layers.GRU(4))
    for m, what in ((lstmkit.LSTM(3, 4, proj_size=2), "proj_size"), (lstmkit.LSTM(3, 4, peephole=True), "peephole")):
        with pytest.raises(ValueError, match=what):
            to_keras(m)
    # lstmkit's hard_sigmoid is ONNX's (α = 0.2), Keras' has α = 1/6: refused, with the spec that is Keras' one
    with pytest.raises(ValueError, match=r"got 'hard_sigmoid'\. Keras' hard_sigmoid is .* give \('hard_sigmoid', 1/6, 0\.5\)"):
        to_keras(lstmkit.LSTM(3, 4, activations=("hard_sigmoid", "tanh", "tanh")))
    to_keras(lstmkit.LSTM(3, 4, activations=(("hard_sigmoid", 1 / 6, 0.5), "tanh", "tanh")))  # and that one is taken


def test_broken_files_are_refused_by_name(tmp_path):
    import h5py

    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="config.json"):
        read_keras_file(tmp_path / "junk.keras")
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="HDF5"):
        read_keras_file(tmp_path / "junk.weights.h5")
    with h5py.File(tmp_path / "odd.weights.h5", "w") as f:
        f.create_group("layers/lstm/cell/vars")  # no arrays inside: named as the group, before anything is read
    with pytest.raises(ValueError, match=r"the variables of /layers/lstm/cell/vars 2 or 3 of them .*, got 0: \[\]\."):
        read_keras_file(tmp_path / "odd.weights.h5")
    with pytest.raises(FileNotFoundError):
        read_keras_file(tmp_path / "none.weights.h5")


def test_functional_files_are_read_when_their_layers_chain(tmp_path):
    """A Functional model is read as the stack its layers are listed in only when each reads the one before and
    the last is its one output: two LSTMs side by side on the input (outputs [y_a, Dense(y_b)]) were read as a
    stack of two with a Dense, another model."""
    inp = keras.Input((None, 4))
    chain = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(4, return_sequences=True)(keras.layers.LSTM(4, return_sequences=True)(inp))))
    chain.save(tmp_path / "chain.keras")
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    module, head = read_keras_file(tmp_path / "chain.keras")
    check_close("Functional chain read from .keras", lstmkit.modelfile.LSTMFile(module, head, {}).predict(x), keras_run(chain, x), 1e-5)
    y_a, y_b = keras.layers.LSTM(4, return_sequences=True)(inp), keras.layers.LSTM(4, return_sequences=True)(inp)
    keras.Model(inp, [y_a, keras.layers.Dense(2)(y_b)]).save(tmp_path / "branches.keras")
    with pytest.raises(ValueError, match=r"to read the layer before it, .* \(a chain of layers, as a Sequential\), got one reading \['input_layer(_\d+)?'\]"):
        read_keras_file(tmp_path / "branches.keras")
    keras.Model(inp, [chain.layers[1].output, chain.output]).save(tmp_path / "two_outputs.keras")
    with pytest.raises(ValueError, match=rf"expected {re.escape(str(tmp_path))}/two_outputs\.keras model outputs one, the last layer"):
        model_from_keras(tmp_path / "two_outputs.keras")


def test_keras_files_are_read_with_keras_blocked(tmp_path):
    """read_keras_file needs json + h5py only: run it where keras, torch and tensorflow cannot load."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    model = keras_model(3, 4, 2, True, True, True, seed=6)
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(7).normal(size=(2, 5, 3))
    np.save(tmp_path / "x.npy", x)
    expected = keras_run(keras.Model(model.inputs, model.layers[-2].output), x)
    child = textwrap.dedent(
        f"""
        import sys
        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("keras", "torch", "tensorflow", "jax"):
                    raise ImportError(name + " is blocked")
        sys.meta_path.insert(0, Blocker())
        import numpy as np
        from lstmkit.interop.keras import read_keras_file
        module, head = read_keras_file({str(tmp_path / "m.keras")!r})
        np.save({str(tmp_path / "y.npy")!r}, module(np.load({str(tmp_path / "x.npy")!r}))[0])
        """
    )
    src = str(Path(lstmkit.__file__).resolve().parents[1])
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=src), timeout=60)
    assert r.returncode == 0, r.stderr
    check_close("read .keras with keras blocked", np.load(tmp_path / "y.npy"), expected, 1e-12)


# -- return_sequences=False: the last step only, lstmkit's SequenceModel(head="last") -----------------
LAST_GRID = list(itertools.product((1, 2), (False, True), (False, True)))


@pytest.mark.parametrize("L, bi, dense", LAST_GRID)
def test_last_step_models_match_keras(L, bi, dense, tmp_path):
    """LSTM(H) [+ Dense(O)], Keras' commonest sequence model, in float32: Keras' numbers, from the live
    model and from its .keras file, and back to Keras with the same weights."""
    model = keras_model(3, 4, L, bi, True, dense, dtype="float32", seed=10 + L + 2 * bi + 4 * dense, last=True)
    x = np.random.default_rng(8).normal(size=(3, 6, 3)).astype(np.float32)
    ref = keras_run(model, x)  # (B, O) or (B, D*H)
    assert ref.shape == (3, 2 if dense else 4 * (1 + bi))
    seq = model_from_keras(model)
    assert (seq.head_mode, seq.readout, seq.rnn.num_layers, seq.rnn.bidirectional) == ("last", "linear" if dense else "identity", L, bi)
    check_close("return_sequences=False (float32)", seq.eval()(x)[0], ref, 1e-5)
    model.save(tmp_path / "m.keras")
    check_close("return_sequences=False .keras (float32)", model_from_keras(tmp_path / "m.keras").eval()(x)[0], ref, 1e-5)
    again = to_keras(seq)
    assert not again.layers[L - 1].get_config().get("return_sequences", False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    check_close("return_sequences=False exported (float32)", keras_run(again, x), ref, 1e-5)


@pytest.mark.parametrize("head, readout, bi", [("last", "linear", True), ("last", "identity", False), ("all", "linear", False), ("all", "identity", True)])
def test_sequence_model_to_keras_and_back(head, readout, bi, tmp_path):
    """lstmkit -> Keras (a .keras file, loaded by Keras) -> lstmkit: Keras computes lstmkit's numbers."""
    seq = lstmkit.SequenceModel(3, 2 if readout == "linear" else None, 4, num_layers=2, head=head, readout=readout, bidirectional=bi, seed=3)
    x = np.random.default_rng(9).normal(size=(2, 5, 3)).astype(np.float32)
    ours = seq.eval()(x)[0]
    write_keras_file(tmp_path / "s.keras", seq)
    loaded = keras.saving.load_model(tmp_path / "s.keras", safe_mode=True)
    assert isinstance(loaded.layers[-1], keras.layers.Dense) == (readout == "linear")
    recurrent = [lay for lay in loaded.layers if isinstance(lay, (keras.layers.LSTM, keras.layers.Bidirectional))]
    sequences = [(lay.forward_layer if bi else lay).return_sequences for lay in recurrent]
    assert sequences == [True, head == "all"]
    check_close(f"SequenceModel head={head} in keras (float32)", keras_run(loaded, x), ours, 1e-5)
    back = model_from_keras(tmp_path / "s.keras")
    assert back.config() == seq.config()
    check_close(f"SequenceModel head={head} keras -> lstmkit (float32)", back.eval()(x)[0], ours, 1e-5)
    module, ro, mode = read_keras(tmp_path / "s.keras")  # the file's parts, read once: model_from_keras's model
    assert mode == head and type(module) is lstmkit.LSTM and (ro is None) == (readout == "identity")
    check_close(f"read_keras head={head} (float32)", lstmkit.SequenceModel.from_parts(module, ro, mode).eval()(x)[0], ours, 1e-5)
    rnn, sro = seq.parts()  # what to_keras writes: from_parts' inverse
    assert rnn is seq.rnn and (sro is None) == (readout == "identity")
    np.testing.assert_array_equal(lstmkit.SequenceModel.from_parts(rnn, sro, head).eval()(x)[0], ours)
    if head == "all":  # the (LSTM, readout) readers are unchanged for models over every step
        module, ro = read_keras_file(tmp_path / "s.keras")
        assert type(module) is lstmkit.LSTM and (ro is None) == (readout == "identity")


def test_return_sequences_false_refusals(tmp_path):
    import json
    import zipfile

    # on a layer before the last: its next layer reads every step. Keras builds no such model, so
    # the attribute is flipped on a built one (live) and in config.json (file)
    model = keras_model(3, 4, 2, True, True, True, dtype="float32", last=True)
    model.layers[0].forward_layer.return_sequences = model.layers[0].backward_layer.return_sequences = False
    for fn in (model_from_keras, from_keras):
        with pytest.raises(ValueError, match=r"expected layer 'bidirectional\w*' return_sequences True on every LSTM layer but the last .*, got False\."):
            fn(model)
    plain = keras_model(3, 4, 2, False, True, False, dtype="float32")
    plain.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(files["config.json"])
    first = next(c for c in config["config"]["layers"] if c["class_name"] == "LSTM")
    first["config"]["return_sequences"] = False
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    with pytest.raises(ValueError, match=rf"model_from_keras: expected {re.escape(str(tmp_path))}/bad\.keras layer {first['config']['name']!r} return_sequences True on every"):
        model_from_keras(tmp_path / "bad.keras")
    # read_keras_file, like from_keras, returns an LSTM over every step: the last step only is refused
    keras_model(3, 4, 1, False, True, True, dtype="float32", last=True).save(tmp_path / "last.keras")
    with pytest.raises(ValueError, match=r"read_keras_file: expected return_sequences True on the last LSTM layer .*model_from_keras"):
        read_keras_file(tmp_path / "last.keras")
    # what a Keras LSTM model cannot hold
    seq = lstmkit.SequenceModel(3, 2, 4, head="last", seed=0)
    with pytest.raises(ValueError, match="expected readout None for a SequenceModel"):
        to_keras(seq, seq.head.state_dict())
    with pytest.raises(ValueError, match=r"expected model inputs 'features' .*, got 'tokens'"):
        to_keras(lstmkit.SequenceModel(3, 2, 4, head="last", inputs="tokens", seed=0))
    with pytest.raises(TypeError, match="expected module an lstmkit LSTM or SequenceModel, got RNN"):
        to_keras(lstmkit.SequenceModel(3, 2, 4, cell="rnn", seed=0))


@pytest.mark.parametrize("name,method", [("w.keras", "save"), ("w.weights.h5", "save_weights")])
def test_a_failed_write_leaves_the_file_that_was_there(tmp_path, monkeypatch, name, method):
    m = lstmkit.LSTM(3, 4, batch_first=True, dtype=np.float32, seed=7)
    path = tmp_path / name
    write_keras_file(path, m)
    before = path.read_bytes()

    def broken(self, filepath, *args, **kwargs):  # Keras dying half-way: a partial file, then an error
        with open(filepath, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, method, broken)
    with pytest.raises(OSError, match="disk full"):
        write_keras_file(path, lstmkit.LSTM(3, 4, batch_first=True, dtype=np.float32, seed=8))
    assert path.read_bytes() == before  # Keras wrote into the file itself: it was left with b"partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left beside it


# -- what an import computes: Keras' model(x), its dropouts off ------------------------------------
def keras_dropout_model(last: bool, dtype="float32", seed=0):
    """Two LSTMs with dropout/recurrent_dropout and a Dropout between them, random weights: Keras' model(x)
    (inference) applies none of them; lstmkit keeps them as dropout_input/dropout_recurrent/dropout."""
    L = keras.layers
    lstm = dict(dropout=0.2, recurrent_dropout=0.1, dtype=dtype)
    model = keras.Sequential([keras.Input((None, 3), dtype=dtype), L.LSTM(5, return_sequences=True, **lstm), L.Dropout(0.3),
                              L.LSTM(5, return_sequences=not last, **lstm), L.Dense(2, dtype=dtype)])  # fmt: skip
    rng = np.random.default_rng(seed)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(dtype) for w in lay.get_weights()])
    return model


@pytest.mark.parametrize("last", [False, True])
def test_imports_come_back_in_eval_computing_keras_model_x(last, tmp_path):
    """Keras' Dropout and an LSTM's dropout/recurrent_dropout act in training only; every reader returned the
    model in training mode, so each call drew fresh masks: 0.01-0.05 off Keras' model(x), another answer each call.
    Now eval: Keras' numbers, the same every call; the options are kept and act after .train()."""
    model = keras_dropout_model(last)
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype(np.float32)
    ref = keras_run(model, x)  # Keras' inference: no dropout
    assert np.array_equal(ref, keras_run(model, x))
    model.save(tmp_path / "d.keras")
    seqs = {"model_from_keras(live)": model_from_keras(model), "model_from_keras(.keras)": model_from_keras(tmp_path / "d.keras")}
    parts = [("read_keras", *read_keras(tmp_path / "d.keras")[:2])]
    if not last:  # the (LSTM, readout) readers: a model over every step
        parts += [("from_keras", *from_keras(model)), ("read_keras_file", *read_keras_file(tmp_path / "d.keras"))]
    for name, seq in seqs.items():
        assert seq.training is False and seq.rnn.training is False, name
        check_close(f"{name} with dropouts, as called (float32)", seq(x)[0], ref, 1e-5)
        assert np.array_equal(seq(x)[0], seq(x)[0]), name
        assert (seq.rnn.dropout, seq.rnn.variant.changed()) == (0.3, {"dropout_input": 0.2, "dropout_recurrent": 0.1})
        assert np.abs(seq.train()(x)[0] - ref).max() > 1e-3, name  # in training mode the dropouts act
    for name, module, head in parts:
        assert module.training is False, name
        ours = module(x)[0] @ head["weight"].T + head["bias"]  # the module as returned, its read-out by hand
        check_close(f"{name} with dropouts, as called (float32)", ours[:, -1] if last else ours, ref, 1e-5)


def test_time_distributed_dense_is_the_read_out(tmp_path):
    """TimeDistributed(Dense), the per-step head of most Keras tutorials, computes Dense at each step: it is read
    as the Dense read-out, from the live model, a .keras and a .weights.h5 (whose Dense lies under
    layers/time_distributed/layer: the .weights.h5 was read as the LSTM alone, its read-out silently dropped)."""
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.Bidirectional(L.LSTM(4, return_sequences=True)), L.TimeDistributed(L.Dense(2))])
    rng = np.random.default_rng(11)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    x = np.random.default_rng(12).normal(size=(2, 5, 3)).astype(np.float32)
    ref = keras_run(model, x)
    assert ref.shape == (2, 5, 2)
    model.save(tmp_path / "td.keras")
    model.save_weights(tmp_path / "td.weights.h5")
    for src in (model, tmp_path / "td.keras", tmp_path / "td.weights.h5"):
        seq = model_from_keras(src)
        assert seq.readout == "linear" and seq.head_mode == "all", src
        check_close("TimeDistributed(Dense) (float32)", seq(x)[0], ref, 1e-5)
    module, head = read_keras_file(tmp_path / "td.weights.h5")
    check_close("TimeDistributed(Dense) .weights.h5 read-out", lstmkit.modelfile.LSTMFile(module, head, {}).predict(x), ref, 1e-5)
    # what TimeDistributed wraps must be a linear Dense, as a Dense on its own
    bad = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.TimeDistributed(L.Activation("relu"))])
    bad.save(tmp_path / "bad.keras")
    # refused naming the layer by its name, from the live model as from the .keras (the live one said 'layer 1'), an
    # EinsumDense (whose equation may read its kernel transposed) as an Activation
    for inner, what in ((L.Activation("relu"), "Activation"), (L.EinsumDense("bf,of->bo", output_shape=(4,), bias_axes="o"), "EinsumDense")):
        bad = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.TimeDistributed(inner, name="per_step")])
        bad.save(tmp_path / "bad.keras")
        for src, file in ((bad, ""), (tmp_path / "bad.keras", f"{tmp_path / 'bad.keras'} ")):
            with pytest.raises(ValueError, match=rf"^model_from_keras: expected {re.escape(file)}layer 'per_step' LSTM, Bidirectional\(LSTM\), Dropout "
                                                 rf"between or after them, a final Dense \(or TimeDistributed\(Dense\)\), got TimeDistributed\({what}\)\.$"):  # fmt: skip
                model_from_keras(src)
    soft = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="softmax"))])
    with pytest.raises(ValueError, match="Dense activation"):
        model_from_keras(soft)


WRAPPED = {  # what a TimeDistributed wraps in a .weights.h5, refused: (the layers after the LSTM, the wrapped layer's name, what it holds)
    "Dropout": (lambda L: [L.TimeDistributed(L.Dropout(0.2, name="drop"))], "drop", "no weights"),
    "Activation": (lambda L: [L.TimeDistributed(L.Activation("relu", name="relu"))], "relu", "no weights"),
    "LayerNormalization named dense": (lambda L: [L.TimeDistributed(L.LayerNormalization(name="dense_9"))], "dense_9", r"weights float32 \(4,\), float32 \(4,\)"),
    "Sequential of a Dense": (lambda L: [L.TimeDistributed(keras.Sequential([L.Dense(2)], name="head"))], "head", r"groups of its own \['layers'\]"),
    "Dense, then a Dropout": (lambda L: [L.TimeDistributed(L.Dense(2)), L.TimeDistributed(L.Dropout(0.2, name="drop"))], "drop", "no weights"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(WRAPPED))
def test_weights_h5_time_distributed_of_another_layer_is_refused(tmp_path, case):
    """A .weights.h5 records a TimeDistributed by its class (layers/time_distributed) and the layer it wraps by
    its name only (layers/time_distributed/layer/vars' attribute). Any time_distributed* group was read as a
    Dense: a wrapped Dropout or Activation (no weights) ended in "IndexError: list index out of range", a
    LayerNormalization in "Dense kernel shape (4, O), got shape (4,)". Now the wrapped layer is read only when it
    holds a Dense's kernel and bias; anything else is refused naming the group and the wrapped layer."""
    L = keras.layers
    layers, wrapped, holding = WRAPPED[case]
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), *layers(L)])
    model.save_weights(tmp_path / "m.weights.h5")
    group = "time_distributed_1" if case.startswith("Dense,") else "time_distributed"
    said = (rf"^{{}}: expected {re.escape(str(tmp_path / 'm.weights.h5'))} layer '{group}' TimeDistributed\(Dense\): a float kernel \(F, O\) and a bias \(O,\) under layers/{group}/layer/vars, "
            rf"got TimeDistributed of the layer '{wrapped}' holding {holding}\. A \.weights\.h5 records no layer classes: read the \.keras file")  # fmt: skip
    for fn in (read_keras_file, read_keras, model_from_keras):
        with pytest.raises(ValueError, match=said.format(fn.__name__)):
            fn(tmp_path / "m.weights.h5")


def test_weights_h5_time_distributed_dense_named_otherwise_is_read(tmp_path):
    """A TimeDistributed(Dense) whose Dense the user named ("head") is told by its weights, not its name: read as
    the read-out, computing Keras' output (the default-named one: test_time_distributed_dense_is_the_read_out)."""
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.TimeDistributed(L.Dense(2, name="head"), name="out")])
    rng = np.random.default_rng(15)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    model.save_weights(tmp_path / "m.weights.h5")
    x = np.random.default_rng(16).normal(size=(2, 5, 3)).astype(np.float32)
    check_close("TimeDistributed(Dense(name='head')) .weights.h5 (float32)", model_from_keras(tmp_path / "m.weights.h5")(x)[0], keras_run(model, x), 1e-5)


def test_masking_is_refused_saying_to_pass_lengths(tmp_path):
    """A Masking layer is not read: refused by name, saying to pass lengths instead, from the live model and
    every file. A Functional .keras was refused naming 'not_equal', an op Keras adds beside a Masking, which the
    user never wrote; a .weights.h5 (a weightless group layers/masking) was read as if it had no Masking.
    And the advice holds: lengths give what Keras' Masking gives for sequences padded at the end."""
    L = keras.layers
    inp = keras.Input((None, 3))
    functional = keras.Model(inp, L.Dense(2)(L.LSTM(4)(L.Masking(0.0)(inp))))
    sequential = keras.Sequential([keras.Input((None, 3)), L.Masking(0.0), L.LSTM(4), L.Dense(2)])
    rng = np.random.default_rng(13)
    for lay in functional.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    sequential.set_weights(functional.get_weights())
    functional.save(tmp_path / "f.keras")
    sequential.save(tmp_path / "s.keras")
    functional.save_weights(tmp_path / "f.weights.h5")
    said = r"expected (\S+ )?model without Masking \(lstmkit reads no Keras mask\), got layer 'masking\w*', {}\. .*pass each sequence's length .*lengths=lengths"
    for src in (functional, sequential):
        with pytest.raises(ValueError, match=said.format(r"Masking\(mask_value=0\.0\)")):  # as from a file (it was a TypeError)
            model_from_keras(src)
    for name in ("f.keras", "s.keras"):
        for fn in (model_from_keras, read_keras):
            with pytest.raises(ValueError, match=said.format(r"Masking\(mask_value=0\.0\)")) as info:
                fn(tmp_path / name)
            assert "not_equal" not in str(info.value)
    with pytest.raises(ValueError, match=said.format("a weights group layers/masking")):
        read_keras_file(tmp_path / "f.weights.h5")
    # the same layers without the Masking, with lengths: Keras' masked outputs on sequences padded with zeros
    x = np.random.default_rng(14).normal(size=(3, 6, 3)).astype(np.float32)
    lengths = np.array([6, 4, 1])
    x[np.arange(6)[None, :] >= lengths[:, None]] = 0.0
    ref = keras_run(functional, x)
    plain = keras.Sequential([keras.Input((None, 3)), L.LSTM(4), L.Dense(2)])
    plain.set_weights(functional.get_weights())
    assert np.abs(keras_run(plain, x) - ref).max() > 1e-3  # without the mask the padding counts
    check_close("Masking -> lengths (float32)", model_from_keras(plain)(x, lengths=lengths)[0], ref, 1e-5)
    # over every step: each sequence's own steps are Keras' (past its length Keras repeats its last output)
    every = keras.Sequential([keras.Input((None, 3)), L.Masking(0.0), L.LSTM(4, return_sequences=True), L.Dense(2)])
    plain = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.Dense(2)])
    plain.set_weights(every.get_weights())
    valid = np.arange(6)[None, :] < lengths[:, None]  # (B, T)
    check_close("Masking -> lengths, every step (float32)", model_from_keras(plain)(x, lengths=lengths)[0][valid], keras_run(every, x)[valid], 1e-5)


UNPLACEABLE = {  # layers a .weights.h5 records by their class's group name only: (layers, the group refused, what it holds)
    "Lambda (no weights)": (lambda L: [L.LSTM(4, return_sequences=True), L.Lambda(lambda t: 2.0 * t), L.Dense(2)], "lambda", "no weights"),
    "Activation (no weights)": (lambda L: [L.LSTM(4, return_sequences=True), L.Activation("relu"), L.Dense(2)], "activation", "no weights"),
    "BatchNormalization": (lambda L: [L.LSTM(4, return_sequences=True), L.BatchNormalization(), L.Dense(2)], "batch_normalization", "weights"),
    # the first LSTM's last step, repeated over 5 steps into the second: read as a 2-layer stack over every step
    "RepeatVector between LSTMs": (lambda L: [L.LSTM(4), L.RepeatVector(5), L.LSTM(4, return_sequences=True), L.Dense(2)], "repeat_vector", "no weights"),
    "EinsumDense": (lambda L: [L.LSTM(4, return_sequences=True), L.EinsumDense("btf,fo->bto", output_shape=(None, 2))], "einsum_dense", "weights"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(UNPLACEABLE))
def test_weights_h5_layers_it_cannot_place_are_refused_by_name(tmp_path, case):
    """A .weights.h5 names each layer's group by its class (layers/lambda, layers/repeat_vector) and holds no
    configuration. A group of a layer without weights was skipped: a Lambda or Activation dropped from the
    computation, an LSTM(return_sequences=False) -> RepeatVector -> LSTM read as a two-layer stack over every step,
    all without a word. Every group but lstm, bidirectional, dense, time_distributed (and the skipped input_layer,
    dropout) is refused naming it, with or without weights, from every reader."""
    L = keras.layers
    layers, group, holding = UNPLACEABLE[case]
    keras.Sequential([keras.Input((None, 3)), *layers(L)]).save_weights(tmp_path / "m.weights.h5")
    said = (rf"^{{}}: expected {re.escape(str(tmp_path / 'm.weights.h5'))} layers LSTM, Bidirectional\(LSTM\), Dense or TimeDistributed\(Dense\) groups \(input_layer and "
            rf"dropout groups are skipped: no-ops at inference\), got group layers/{group} \(layer class '{group}' by its name; it "
            rf"holds {holding}\)\. lstmkit cannot place it: .* Read the \.keras file")  # fmt: skip
    for fn in (read_keras_file, read_keras, model_from_keras):
        with pytest.raises(ValueError, match=said.format(fn.__name__)):
            fn(tmp_path / "m.weights.h5")


def test_weights_h5_dropout_and_input_layer_are_skipped(tmp_path):
    """The two weightless groups skipped, as the docstring says: a Functional model's input_layer and a Dropout
    (before the first LSTM and between two): read, computing Keras' model(x) (Dropout acts in training only)."""
    L = keras.layers
    inp = keras.Input((None, 3))
    out = L.Dense(2)(L.LSTM(4, return_sequences=True)(L.Dropout(0.3)(L.LSTM(4, return_sequences=True)(L.Dropout(0.2)(inp)))))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(17)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    model.save_weights(tmp_path / "m.weights.h5")
    import h5py

    with h5py.File(tmp_path / "m.weights.h5") as f:
        assert {"input_layer", "dropout", "dropout_1"} <= set(f["layers"])
    x = np.random.default_rng(18).normal(size=(2, 5, 3)).astype(np.float32)
    check_close("Dropout, input_layer skipped in .weights.h5 (float32)", model_from_keras(tmp_path / "m.weights.h5")(x)[0], keras_run(model, x), 1e-5)


DENSE_LOOKALIKES = {  # wrapped in TimeDistributed, with a Dense's shapes: (the layer, its default name)
    # "bf,of->bo" reads its kernel (O, F) transposed: with F = O = 4, the shapes of Dense(4)'s
    "EinsumDense transposed": (lambda L: L.EinsumDense("bf,of->bo", output_shape=(4,), bias_axes="o"), "einsum_dense", r"float32 \(4, 4\), float32 \(4,\)"),
    "EinsumDense without bias": (lambda L: L.EinsumDense("bf,fo->bo", output_shape=(2,)), "einsum_dense", r"float32 \(4, 2\)"),
    "Embedding": (lambda L: L.Embedding(4, 4), "embedding", r"float32 \(4, 4\)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DENSE_LOOKALIKES))
def test_weights_h5_time_distributed_dense_lookalikes_are_refused(tmp_path, case):
    """A TimeDistributed(EinsumDense) or (Embedding) whose weights have a Dense's shapes was read as a Dense: the
    transposed EinsumDense computes y = x K^T + b, not x K + b. A .weights.h5 records the wrapped layer by its name
    only; Keras' default names of those classes are refused, naming the layer."""
    L = keras.layers
    make, label, holding = DENSE_LOOKALIKES[case]
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.TimeDistributed(make(L))])
    model.save_weights(tmp_path / "m.weights.h5")
    said = (rf"^{{}}: expected {re.escape(str(tmp_path / 'm.weights.h5'))} layer 'time_distributed' TimeDistributed\(Dense\): .*, got TimeDistributed of the layer '{label}(_\d+)?' "
            rf"\(Keras' default name of an \w+, which is no Dense\) holding weights {holding}\. .*read the \.keras file")  # fmt: skip
    for fn in (read_keras_file, model_from_keras):
        with pytest.raises(ValueError, match=said.format(fn.__name__)):
            fn(tmp_path / "m.weights.h5")


def test_a_quantized_dense_or_a_live_lora_one_is_refused(tmp_path):
    """A Dense quantized to int8 holds an int8 kernel, a bias and the kernel's scale: its .keras and .weights.h5 were
    read as a kernel and a bias (the scale dropped; the output off by ~75 here), the live model refused as a kernel of
    shape (2,). A live Dense with LoRA on holds its kernel, bias and two low-rank factors: read without the factors.
    All refused naming the layer and its arrays; a LoRA model's saved file (the kernel merged) is read as before."""
    L = keras.layers
    x = np.random.default_rng(19).normal(size=(2, 5, 3)).astype(np.float32)
    quant = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.Dense(2, name="head")])
    quant.layers[-1].quantize("int8")
    quant.save(tmp_path / "q.keras")
    quant.save_weights(tmp_path / "q.weights.h5")
    said = r"^model_from_keras: expected {}layer '{}' a Dense's weights: a float kernel \(F, O\) and a float bias \(O,\) \(or none\), got 3 arrays: .*int8 \(4, 2\).*\. A quantized Dense"
    for src, label in ((quant, "head"), (tmp_path / "q.keras", "head"), (tmp_path / "q.weights.h5", "dense")):
        file = "" if src is quant else re.escape(f"{src} ")  # a file's refusal names the file
        with pytest.raises(ValueError, match=said.format(file, label)):
            model_from_keras(src)
    lora = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.Dense(2, name="head")])
    lora.layers[-1].enable_lora(2)
    lora.layers[-1].lora_kernel_b.assign(np.random.default_rng(20).normal(size=(2, 2)))  # Keras starts it at 0: no change
    with pytest.raises(ValueError, match=r"expected layer 'head' a Dense's weights: .*, got 4 arrays: float32 \(4, 2\), float32 \(2,\), float32 \(4, 2\), float32 \(2, 2\)\."):
        model_from_keras(lora)
    lora.save(tmp_path / "l.keras")
    check_close("LoRA Dense saved, merged (float32)", model_from_keras(tmp_path / "l.keras")(x)[0], keras_run(lora, x), 1e-5)


def _read_live_and_saved(model, path, seed):
    """``model`` given random weights (seeded), saved to ``path``, then read by model_from_keras live and
    from the file: [(source, SequenceModel read, lstmkit's dropout warnings)], Keras' own warnings aside."""
    rng = np.random.default_rng(seed)
    for lay in model.layers:
        lay.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32) for w in lay.get_weights()])
    model.save(path)
    reads = []
    for src in (model, path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seq = model_from_keras(src)
        reads.append((src, seq, [str(w.message) for w in caught if "dropout" in str(w.message).lower()]))
    return reads


def test_a_dropout_before_the_dense_is_left_out_saying_so(tmp_path):
    """A Dropout after the last LSTM (before the Dense, the usual place in Keras tutorials) was read as lstmkit's
    dropout between LSTM layers: over one LSTM, lstmkit's warning 'dropout=0.5 acts between stacked layers, so with
    num_layers=1 it does nothing. Use num_layers > 1' (advice about a setting the user never gave); over two, its rate
    replaced that of the Dropout between them (0.5 for 0.2: another model to train further). It is left out, with a
    warning naming it and why the model still computes Keras' model(x); the Dropout between LSTMs is kept."""
    L = keras.layers
    x = np.random.default_rng(21).normal(size=(2, 5, 3)).astype(np.float32)
    for between, last in ((None, False), (0.2, False), (0.2, True)):
        mid = [L.Dropout(between, name="between"), L.LSTM(4, return_sequences=not last)] if between else []
        model = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), *mid, L.Dropout(0.5, name="before_head"), L.Dense(2)])
        for src, seq, said in _read_live_and_saved(model, tmp_path / "m.keras", 22):
            assert said == ["model_from_keras: layer 'before_head', Dropout(rate=0.5) after the last LSTM layer (before the Dense read-out), is left "
                            "out: lstmkit's dropout acts between stacked LSTM layers only (none after the last one, before the read-out). Dropout "
                            "acts in training only, so the model read computes what Keras' model(x) and predict compute; trained further, it "
                            "trains without that dropout."], (between, src)  # fmt: skip
            assert seq.rnn.dropout == (between or 0.0), (between, src)
            check_close("Dropout before the Dense left out (float32)", seq(x)[0], keras_run(model, x), 1e-5)


def test_dropouts_between_layers_of_other_rates_are_read_with_a_warning_live_and_from_a_file(tmp_path):
    """helper-140 findings 5 and 7, live: Dropout(0.2) between the first two of three LSTMs and none between the
    last two was read as dropout 0.2 between both, silently; a Dropout(1.0) (Keras takes it) was refused as
    'LSTM: expected dropout ...', not by its layer. Now the warning names the gaps; the model computes Keras'
    model(x) (Dropout acts in training only); two in a row are one of their combined rate 1 - 0.8 * 0.5 = 0.6."""
    L = keras.layers
    x = np.random.default_rng(23).normal(size=(2, 5, 3)).astype(np.float32)
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True, name="a"), L.Dropout(0.2, name="d1"),
                              L.LSTM(4, return_sequences=True, name="b"), L.LSTM(4, return_sequences=True, name="c"), L.Dense(2)])  # fmt: skip
    for src, seq, said in _read_live_and_saved(model, tmp_path / "m.keras", 24):
        assert said == ["model_from_keras: the Dropout layers between the LSTM layers (between 'a' and 'b': 'd1' Dropout(rate=0.2); "
                        "between 'b' and 'c': none) are read as one dropout=0.2 between every two stacked LSTM layers: lstmkit's dropout "
                        "has one rate for all of them. Dropout acts in training only, so the model read computes what Keras' model(x) and "
                        "predict compute; trained further, it trains with dropout=0.2 between every two layers."], src  # fmt: skip
        assert seq.rnn.dropout == 0.2
        check_close("Dropouts between some layers (float32)", seq(x)[0], keras_run(model, x), 1e-5)
    two = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.Dropout(0.2), L.Dropout(0.5), L.LSTM(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert model_from_keras(two).rnn.dropout == pytest.approx(0.6, abs=1e-15)
    full = keras.Sequential([keras.Input((None, 3)), L.LSTM(4, return_sequences=True), L.Dropout(1.0, name="all"), L.LSTM(4)])
    with pytest.raises(ValueError) as raised:
        model_from_keras(full)
    assert str(raised.value) == "model_from_keras: expected layer 'all' rate a number in [0, 1), got 1.0."


def test_write_keras_file_with_the_module_first_names_the_order(tmp_path):
    lstm = lstmkit.LSTM(2, 3)
    with pytest.raises(TypeError, match=r"write_keras_file: expected path .*got LSTM\. The path comes first: write_keras_file\(path, module"):
        write_keras_file(lstm, str(tmp_path / "x.keras"))
    assert not (tmp_path / "x.keras").exists()


def test_write_keras_file_takes_a_readout_as_save_lstm_does(tmp_path):
    # helper-229 #1: to_keras checked only the weight's shape: a Linear failed with "'Linear' object is not
    # subscriptable", a misspelt bias was written without one; now save_lstm's rule and checks
    from oracles import BAD_READOUTS

    m, lin = lstmkit.LSTM(2, 3, batch_first=True, seed=0), lstmkit.Linear(3, 2, seed=1)
    write_keras_file(tmp_path / "lin.weights.h5", m, lin)
    _, head = read_keras_file(tmp_path / "lin.weights.h5")
    np.testing.assert_array_equal(head["weight"], lin.weight)
    np.testing.assert_array_equal(head["bias"], lin.bias)
    for readout, refusal in BAD_READOUTS:
        with pytest.raises(ValueError, match="^to_keras: " + refusal):
            write_keras_file(tmp_path / "bad.weights.h5", m, readout)
        assert not (tmp_path / "bad.weights.h5").exists()
    with pytest.raises(TypeError, match=r"^to_keras: expected readout as a mapping .*, got str\. Pass the read-out's weight and bias: "
                                        r"to_keras\(module, readout=\{\"weight\": W, \"bias\": b\}\) or a Linear \(readout=linear\)\.$"):  # fmt: skip
        to_keras(m, "head.npz")
