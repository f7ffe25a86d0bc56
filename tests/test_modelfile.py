"""Model files: round trips, refusal of bad files (truncated, corrupted, hostile, future), fuzzing,
and inference from a saved file in a process where only NumPy can be imported."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmkit
from lstmkit import FileFormatError, load_lstm, read_lstm, save_lstm
from lstmkit.modelfile import FORMAT_VERSION, read_model, save_model

SRC = Path(lstmkit.__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


def small_file(tmp_path, name="m.npz"):
    m = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, seed=1)
    path = tmp_path / name
    save_lstm(path, m, readout={"weight": RNG.normal(size=(2, 8)).astype(np.float32), "bias": np.zeros(2, np.float32)})
    return m, path


def rewrite(path, out, meta_update=None, arrays_update=None, drop=()):
    """Write a copy of an lstmkit file with metadata keys / arrays changed (bypassing save checks)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta.update(meta_update or {})
    arrays.update(arrays_update or {})
    for k in drop:
        arrays.pop(k)
    np.savez(out, __meta__=np.array(json.dumps(meta)), **arrays)
    return out


# -- round trips ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: lstmkit.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, batch_first=True, seed=2),
        lambda: lstmkit.LSTM(3, 5, bias=False, dtype=np.float64, dropout=0.25, num_layers=2, seed=2),
        lambda: lstmkit.RNN(3, 5, nonlinearity="relu", bidirectional=True, seed=2),
        lambda: lstmkit.LSTMCell(3, 5, seed=2),
        lambda: lstmkit.RNNCell(3, 5, bias=False, nonlinearity="relu", seed=2),
        lambda: lstmkit.LSTM(
            3, 5, bidirectional=True, proj_size=2, seed=2, peephole=True, layer_norm=True, gate_clip=3.0,
            activations=(("hard_sigmoid", 0.3, 0.4), "softsign", "tanh"), zoneout_cell=0.1,
        ),
        lambda: lstmkit.LSTMCell(3, 5, seed=2, peephole=True, layer_norm=True, cell_clip=2.0),
    ],
    ids=["lstm-bi-proj", "lstm-nobias-f64", "rnn-relu-bi", "lstmcell", "rnncell", "lstm-variants", "lstmcell-variants"],
)
def test_round_trip_is_exact(tmp_path, make):
    m = make()
    save_lstm(tmp_path / "m.npz", m, extra={"vocab": ["a", "b"]})
    f = read_lstm(tmp_path / "m.npz")
    assert type(f.module) is type(m)
    assert lstmkit.modelfile.module_config(f.module) == lstmkit.modelfile.module_config(m)
    assert f.readout is None and f.extra == {"vocab": ["a", "b"]}
    for k, v in m.state_dict().items():
        assert f.module.state_dict()[k].dtype == v.dtype
        np.testing.assert_array_equal(f.module.state_dict()[k], v)
    x = RNG.normal(size=(4, 2, 3) if hasattr(m, "num_directions") else (2, 3)).astype(m.dtype)
    out = m.eval()(x)
    np.testing.assert_array_equal(f.predict(x), out[0] if isinstance(out, tuple) else out)


def test_an_entry_a_model_file_never_holds_is_refused_before_anything_is_inflated(tmp_path, monkeypatch):
    _, path = small_file(tmp_path)
    # 16 MiB of zeros deflated to a few KiB, under a name no model file has (rnn.* and head.* only)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (16 << 20,)})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("payload.npy", header.getvalue() + bytes(16 << 20))
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(name) or real_open(self, name, *a, **k))
    for load in (read_model, read_lstm, lstmkit.load):
        with pytest.raises(FileFormatError, match=r"m.npz: not a valid lstmkit file: unexpected entry 'payload.npy' \(expected arrays named rnn.\* or head.\*\)"):
            load(path)
    assert opened == []  # no entry read, not even the metadata


def test_a_training_checkpoint_is_told_from_a_model_file(tmp_path, monkeypatch, capsys):
    """A checkpoint given where a model file is read (lstmkit.load, predict, explain --model, convert) is refused
    as a training checkpoint, saying how to get its model, from its zip directory and metadata alone: an entry
    of the checkpoint's layout is never inflated, and an entry of neither layout is refused as it was. It was
    'not a valid lstmkit file: unexpected entry 'model/rnn.weight_ih_l0.npy' (expected arrays named rnn.* or head.*)'."""
    from lstmkit.cli import main

    X = RNG.normal(size=(8, 5, 2)).astype(np.float32)
    lstmkit.LSTMClassifier(hidden_size=3, epochs=2, batch_size=4, seed=0).fit(X, np.arange(8) % 2, checkpoint=tmp_path / "ck.npz")
    np.savez(tmp_path / "data.npz", X=X)
    path = tmp_path / "ck.npz"
    message = (f"{path}: expected a model file, got a training checkpoint (the weights and optimizer state of a run at epoch 2, "
               f"to resume it). For its model, finish the run (the same 'lstmkit train' command with --checkpoint {path} writes "
               f"--model-out; --epochs 2 writes it as it is now), or take its weights as they are: 'lstmkit convert {path} model.npz' "
               "(lstmkit.saving.checkpoint_model in Python).")  # fmt: skip
    for load in (read_model, read_lstm, lstmkit.load, lstmkit.LSTMClassifier.load):
        with pytest.raises(FileFormatError) as info:
            load(path)
        assert str(info.value) == message
    for argv in (["predict", str(path), str(tmp_path / "data.npz")], ["explain", "--model", str(path), "--input", "1,0; 0,1"]):
        assert main(argv) == 1
        assert capsys.readouterr().err == f"lstmkit: error: {message}\n"
    # 16 MiB of zeros deflated, under a name of the checkpoint's layout: told from the metadata, never inflated
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (16 << 20,)})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("optim/payload.npy", header.getvalue() + bytes(16 << 20))
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    with pytest.raises(FileFormatError, match="got a training checkpoint"):
        lstmkit.load(path)
    assert opened == ["__meta__.npy"]
    # another entry beside the checkpoint's: neither layout, refused as before, nothing read
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("payload.npy", header.getvalue())
    opened.clear()
    with pytest.raises(FileFormatError, match=r"not a valid lstmkit file: unexpected entry 'model/rnn.weight_ih_l0.npy' \(expected arrays named rnn.\* or head.\*\)"):
        lstmkit.load(path)
    assert opened == []


def test_checkpoint_model_takes_the_model_out_of_a_checkpoint(tmp_path):
    """lstmkit.saving.checkpoint_model: the run's SequenceModel with the checkpoint's weights, checked as a resume
    checks the file; a model file is not a checkpoint."""
    from lstmkit.saving import checkpoint_model

    X = RNG.normal(size=(8, 5, 2)).astype(np.float32)
    reg = lstmkit.LSTMRegressor(hidden_size=3, epochs=2, batch_size=4, seed=0).fit(X, X.sum(axis=(1, 2)), checkpoint=tmp_path / "ck.npz")
    ck = checkpoint_model(tmp_path / "ck.npz")
    assert (ck.epoch, ck.weights_epoch) == (2, 2) and ck.model.config() == reg.model_.config()
    for k, v in reg.model_.state_dict().items():
        np.testing.assert_array_equal(ck.model.state_dict()[k], v)
    _, model_file = small_file(tmp_path)
    with pytest.raises(FileFormatError, match=r"expected an lstmkit checkpoint \(format 'lstmkit-checkpoint'\)|unexpected entry"):
        checkpoint_model(model_file)
    # a non-finite weight: named as read_model names one (the array as the file names it, the value, its index)
    from lstmkit.io import load_arrays, save_arrays

    arrays, meta = load_arrays(tmp_path / "ck.npz")
    arrays["model/rnn.weight_hh_l0"][1, 2] = np.inf
    save_arrays(tmp_path / "inf.npz", arrays, meta)
    with pytest.raises(FileFormatError) as info:
        checkpoint_model(tmp_path / "inf.npz")
    assert str(info.value) == f"{tmp_path / 'inf.npz'}: expected finite values in array 'model/rnn.weight_hh_l0', got inf at index (1, 2)."


def test_envelope_is_documented_json(tmp_path):
    _, path = small_file(tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    assert "__meta__.npy" in names and "rnn.weight_ih_l0.npy" in names and "head.weight.npy" in names
    mf = read_model(path)
    assert set(mf.meta) == {"format", "format_version", "lstmkit_version", "kind", "config", "extra"}
    assert mf.meta["format"] == "lstmkit-model" and mf.meta["format_version"] == FORMAT_VERSION
    assert mf.meta["lstmkit_version"] == lstmkit.__version__ and mf.kind == "LSTM"
    assert mf.config == {
        "input_size": 3, "hidden_size": 4, "num_layers": 2, "bias": True, "batch_first": False,
        "dropout": 0.0, "bidirectional": True, "proj_size": 0, "dtype": "float32",
    }


# -- refusals -------------------------------------------------------------------------------------
def test_truncated_files_are_refused(tmp_path):
    _, path = small_file(tmp_path)
    data = path.read_bytes()
    for n in (0, 1, 10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        bad = tmp_path / "t.npz"
        bad.write_bytes(data[:n])
        with pytest.raises(FileFormatError, match="t.npz"):
            read_lstm(bad)


def test_flipped_bit_in_weights_is_caught_by_crc(tmp_path):
    _, path = small_file(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"rnn.weight_hh_l0.npy") + 200  # inside that entry's data
    data[at] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="(?i)crc|bad"):
        read_lstm(path)


class _Boom:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_inside_is_refused_without_executing(tmp_path):
    m, path = small_file(tmp_path)
    marker = tmp_path / "PWNED"
    obj = np.empty(1, dtype=object)
    obj[0] = _Boom(str(marker))
    hostile = tmp_path / "hostile.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["rnn.weight_ih_l0"] = obj
    np.savez(hostile, **arrays)  # numpy pickles object arrays
    into = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, seed=9)
    before = into.state_dict()
    with pytest.raises(FileFormatError, match="object"):
        load_lstm(hostile, into=into)
    assert not marker.exists()
    for k, v in before.items():
        np.testing.assert_array_equal(into.state_dict()[k], v)
    # the metadata itself as a pickled object
    meta_obj = np.empty((), dtype=object)
    meta_obj[()] = _Boom(str(marker))
    arrays["rnn.weight_ih_l0"] = m.state_dict()["weight_ih_l0"]
    arrays["__meta__"] = meta_obj
    np.savez(hostile, **arrays)
    with pytest.raises(FileFormatError):
        read_lstm(hostile)
    assert not marker.exists()


def _npy_bytes(header: dict, payload: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + payload


def test_absurd_shape_is_refused_before_allocating(tmp_path):
    _, path = small_file(tmp_path)
    bad = tmp_path / "absurd.npz"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "rnn.weight_hh_l0.npy":
                data = _npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (2**20, 2**20)}, b"\0" * 64)
            zout.writestr(info.filename, data)
    with pytest.raises(FileFormatError, match="absurd shape"):
        read_lstm(bad)
    # a shape that is small enough but does not match the bytes stored
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "rnn.weight_hh_l0.npy":
                data = _npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (1000, 1000)}, b"\0" * 64)
            zout.writestr(info.filename, data)
    with pytest.raises(FileFormatError, match="declares shape"):
        read_lstm(bad)


def test_absurd_config_is_refused_before_building(tmp_path):
    _, path = small_file(tmp_path)
    for update, match in (
        ({"hidden_size": 10**9}, "hidden_size"),
        ({"num_layers": 10**9}, "num_layers"),
        ({"input_size": -1}, "input_size"),
        ({"hidden_size": True}, "hidden_size"),
        ({"dtype": "object"}, "dtype"),
        ({"warp_drive": 1}, "warp_drive"),
    ):
        meta = read_model(path).meta
        config = dict(meta["config"], **update)
        bad = rewrite(path, tmp_path / "c.npz", meta_update={"config": config})
        with pytest.raises(FileFormatError, match=match):
            read_lstm(bad)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"rnn.weight_hh_l0": np.ones((16, 4), dtype=np.complex64)}, "complex64"),
        ({"rnn.weight_hh_l0": np.array(["x"] * 4)}, "<U1"),
        ({"rnn.weight_hh_l0": np.ones((16, 4), dtype=np.int64)}, "float"),
        ({"rnn.weight_hh_l0": np.full((16, 4), np.nan, np.float32)}, "finite"),
        ({"head.weight": np.full((2, 8), np.inf, np.float32)}, "finite"),
        ({"rnn.weight_hh_l0": np.ones((16, 5), np.float32)}, "shape"),
        ({"head.weight": np.ones((2, 7), np.float32)}, "shape"),
        ({"rnn.weight_xx_l9": np.ones(3, np.float32)}, "weight_xx_l9"),
        ({"optimizer.m": np.ones(3, np.float32)}, "optimizer.m"),
    ],
    ids=["complex", "strings", "int-weights", "nan", "inf-readout", "wrong-shape", "readout-shape", "unexpected", "foreign"],
)
def test_bad_arrays_are_refused_and_model_left_as_it_was(tmp_path, change, match):
    _, path = small_file(tmp_path)
    bad = rewrite(path, tmp_path / "bad.npz", arrays_update=change)
    into = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, seed=9)
    before = into.state_dict()
    with pytest.raises(FileFormatError, match=match):
        load_lstm(bad, into=into)
    for k, v in before.items():
        np.testing.assert_array_equal(into.state_dict()[k], v)


def test_missing_weight_is_refused(tmp_path):
    _, path = small_file(tmp_path)
    bad = rewrite(path, tmp_path / "bad.npz", drop=["rnn.bias_hh_l1_reverse"])
    with pytest.raises(FileFormatError, match="bias_hh_l1_reverse"):
        read_lstm(bad)


@pytest.mark.parametrize(
    "update, match",
    [
        ({"format_version": FORMAT_VERSION + 1, "lstmkit_version": "9.0"}, "Upgrade lstmkit"),
        ({"format": "something-else"}, "format"),
        ({"format_version": "1"}, "format_version"),
        ({"kind": "LSTMClassifier"}, "kind"),
        ({"surprise": 1}, "surprise"),
        ({"config": [1, 2]}, "config"),
        ({"lstmkit_version": 3}, "lstmkit_version"),
    ],
)
def test_bad_metadata_is_refused(tmp_path, update, match):
    _, path = small_file(tmp_path)
    bad = rewrite(path, tmp_path / "bad.npz", meta_update=update)
    with pytest.raises(FileFormatError, match=match):
        read_lstm(bad)


def test_hostile_metadata_json_is_refused(tmp_path):
    _, path = small_file(tmp_path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    for text in ("[" * 100_000 + "]" * 100_000, '{"format": NaN}', "not json", '"a string"'):
        np.savez(tmp_path / "j.npz", __meta__=np.array(text), **arrays)
        with pytest.raises(FileFormatError):
            read_lstm(tmp_path / "j.npz")


def test_load_into_other_config_is_refused(tmp_path):
    # the settings that differ, each with both values (it printed both whole configs, the difference left to find)
    _, path = small_file(tmp_path)  # LSTM(3, 4, num_layers=2, bidirectional=True)
    fix = "Leave out into= (load_lstm(path) builds the module the file describes), or build into with the file's config."
    for other, differ in (
        (lstmkit.LSTM(3, 4, num_layers=1, seed=0), "num_layers 2 where into has 1, bidirectional True where into has False"),
        (lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, peephole=True, seed=0), "peephole False where into has True"),
    ):  # a variant at its default is not written in the file: said by its value all the same
        before = other.state_dict()
        with pytest.raises(FileFormatError) as e:
            load_lstm(path, into=other)
        assert str(e.value) == f"{path}: expected an LSTM of into's config, got one with {differ}. {fix}"
        assert all(np.array_equal(other.state_dict()[k], v) for k, v in before.items())


def test_save_refuses_what_load_would_refuse(tmp_path):
    m = lstmkit.LSTM(2, 3, seed=0)
    with pytest.raises(ValueError, match="readout"):
        save_lstm(tmp_path / "x.npz", m, readout={"weight": np.ones((2, 4), np.float32)})
    with pytest.raises(ValueError, match="finite"):
        save_model(tmp_path / "x.npz", "LSTM", {}, {"a": np.array([np.nan])})
    with pytest.raises(TypeError, match="JSON"):
        save_model(tmp_path / "x.npz", "LSTM", {"x": float("nan")}, {})
    assert not (tmp_path / "x.npz").exists()


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_lstm(tmp_path / "nope.npz")


# -- fuzzing --------------------------------------------------------------------------------------
_VALID: dict[str, bytes] = {}


def _valid_bytes() -> bytes:
    if "b" not in _VALID:
        buf = io.BytesIO()
        m = lstmkit.LSTM(2, 3, bidirectional=True, seed=0)
        arrays = {f"rnn.{k}": v for k, v in m.state_dict().items()}
        arrays["head.weight"] = np.ones((2, 6), np.float32)
        meta = {"format": "lstmkit-model", "format_version": 1, "lstmkit_version": "0.1.0", "kind": "LSTM",
                "config": lstmkit.modelfile.module_config(m), "extra": {}}
        np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
        _VALID["b"] = buf.getvalue()
    return _VALID["b"]


@pytest.fixture()
def no_unpickling(monkeypatch):
    """Any unpickling fails the test, except numba reading its own compiled-kernel cache (files
    numba wrote in __pycache__, never a model file) when a loaded model runs the fast path."""
    originals = {name: getattr(pickle, name) for name in ("loads", "load", "Unpickler")}

    def guard(name):
        def refuse(*a, **k):
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_globals.get("__name__", "").startswith("numba."):
                    return originals[name](*a, **k)
                frame = frame.f_back
            raise AssertionError("the loader tried to unpickle")

        return refuse

    for name in originals:
        monkeypatch.setattr(pickle, name, guard(name))


def _load_bytes(tmp_path, data: bytes):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        read_lstm(path)
    except (FileFormatError, ValueError):
        pass  # the only acceptable failures; anything else fails the test


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzz_mutated_bytes(tmp_path, no_unpickling, edits):
    data = bytearray(_valid_bytes())
    for pos, byte in edits:
        data[int(pos * len(data))] = byte
    _load_bytes(tmp_path, bytes(data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True), junk=st.binary(max_size=64))
def test_fuzz_truncated_and_spliced(tmp_path, no_unpickling, cut, junk):
    data = _valid_bytes()
    n = int(cut * len(data))
    _load_bytes(tmp_path, data[:n] + junk)
    _load_bytes(tmp_path, data[:n] + junk + data[n:])


# -- NumPy-only inference ------------------------------------------------------------------------
BLOCKER = textwrap.dedent(
    """
    import sys
    BLOCKED = ("torch", "onnx", "onnxruntime", "keras", "tensorflow", "jax", "matplotlib", "h5py", "rich", "numba", "sklearn", "scipy")
    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"{name} is blocked in this test", name=name)  # as a module not installed
            return None
    sys.meta_path.insert(0, Blocker())
    """
)


def test_inference_from_file_needs_numpy_only(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2).double()
    head = torch.nn.Linear(4, 3).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        expected = head(net(x)[0]).numpy()
    m = lstmkit.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, dtype=np.float64, seed=0)
    m.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    save_lstm(tmp_path / "net.npz", m, readout={k: v.numpy() for k, v in head.state_dict().items()})
    np.save(tmp_path / "x.npy", x.numpy())
    child = BLOCKER + textwrap.dedent(
        f"""
        import numpy as np
        import lstmkit
        f = lstmkit.read_lstm({str(tmp_path / "net.npz")!r})
        np.save({str(tmp_path / "y.npy")!r}, f.predict(np.load({str(tmp_path / "x.npy")!r})))
        try:
            import torch
        except ImportError:
            pass
        else:
            raise SystemExit("torch was importable")
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not heavy, heavy
        print("ok")
        """
    )
    env = dict(os.environ, PYTHONPATH=str(SRC))
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "CompiledKernelsWarning" not in r.stderr, r.stderr  # numba not installed: the reference, unannounced
    y = np.load(tmp_path / "y.npy")
    err = np.abs(y - expected).max()
    assert err < 1e-12, f"max |lstmkit - torch| = {err}"


_JSON_VALUES = st.one_of(
    # integers: small ones and an absurd one only (an unguarded loader fails fast with MemoryError on
    # 10**12; a mid-sized value could really allocate gigabytes on a shared machine)
    st.none(), st.booleans(), st.sampled_from([-3, -1, 0, 1, 2, 3, 4, 5, 7, 10**12]), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "tanh", "relu", "float64", "float16", "object", "sigmoid"]),
    st.lists(st.sampled_from(["sigmoid", "tanh", 1, None]), max_size=4), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_CONFIG_KEYS = [
    "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size", "dtype",
    "nonlinearity", "peephole", "input_forget", "gate_clip", "activations", "layer_norm", "zoneout_cell", "seed", "bogus",
]  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["LSTM", "RNN", "LSTMCell", "RNNCell"]),
    edits=st.dictionaries(st.sampled_from(_CONFIG_KEYS), _JSON_VALUES, min_size=1, max_size=3),
    drop=st.booleans(),
)
def test_fuzz_config_values(tmp_path, no_unpickling, kind, edits, drop):
    """Valid zip, valid JSON, hostile values: absurd sizes, wrong types, unknown keys, a missing array."""
    make = {"LSTM": lambda: lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, seed=0, peephole=True),
            "RNN": lambda: lstmkit.RNN(3, 4, num_layers=2, seed=0), "LSTMCell": lambda: lstmkit.LSTMCell(3, 4, seed=0),
            "RNNCell": lambda: lstmkit.RNNCell(3, 4, seed=0)}[kind]  # fmt: skip
    save_lstm(tmp_path / "m.npz", make())
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    meta = read_model(tmp_path / "m.npz").meta
    meta["config"].update(edits)
    if drop:
        arrays.pop(sorted(arrays)[0])
    np.savez(tmp_path / "f.npz", __meta__=np.array(json.dumps(meta)), **arrays)
    try:
        read_lstm(tmp_path / "f.npz")
    except (FileFormatError, ValueError):
        pass


_EST: dict[str, bytes] = {}


def _estimator_bytes() -> bytes:
    if "b" not in _EST:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(12, 4, 2)).astype(np.float32)
        y = np.where(X[:, :, 0].sum(1) > 0, "up", "down")
        clf = lstmkit.LSTMClassifier(hidden_size=3, epochs=1, batch_size=6, seed=0).fit(X, y)
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            clf.save(Path(d) / "clf.npz")
            _EST["b"] = (Path(d) / "clf.npz").read_bytes()
    return _EST["b"]


@pytest.mark.skipif(not hasattr(lstmkit, "load"), reason="estimators (lstmkit.load) not in this checkout")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6), cut=st.floats(0, 1))
def test_fuzz_estimator_file_bytes(tmp_path, no_unpickling, edits, cut):
    data = bytearray(_estimator_bytes())
    for pos, byte in edits:
        data[int(pos * len(data))] = byte
    data = data[: max(1, int(cut * len(data)))] if cut < 0.5 else data
    (tmp_path / "e.npz").write_bytes(bytes(data))
    try:
        lstmkit.load(tmp_path / "e.npz")
    except (FileFormatError, ValueError):
        pass


@pytest.mark.skipif(not hasattr(lstmkit, "LSTMClassifier"), reason="estimators not in this checkout")
def test_estimator_inference_from_file_needs_numpy_only(tmp_path, monkeypatch):
    # the child cannot import numba, so it runs the NumPy reference kernels: compare with those
    monkeypatch.setattr(lstmkit.LSTM, "backend", "numpy")
    (tmp_path / "clf.npz").write_bytes(_estimator_bytes())
    X = np.random.default_rng(1).normal(size=(5, 4, 2)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    expected = lstmkit.load(tmp_path / "clf.npz").predict_proba(X)
    child = BLOCKER + textwrap.dedent(
        f"""
        import numpy as np
        import lstmkit
        clf = lstmkit.load({str(tmp_path / "clf.npz")!r})
        np.save({str(tmp_path / "p.npy")!r}, clf.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
        import json
        print(json.dumps([str(v) for v in clf.predict(np.load({str(tmp_path / "X.npy")!r}))]))
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not heavy, heavy
        """
    )
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(SRC)), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "CompiledKernelsWarning" not in r.stderr, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)
    assert set(json.loads(r.stdout.strip().splitlines()[-1])) <= {"up", "down"}  # labels (strings) come back


@pytest.mark.skipif(not hasattr(lstmkit, "load"), reason="estimators (lstmkit.load) not in this checkout")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["config", "model_config"]),
    key=st.sampled_from(["hidden_size", "input_size", "output_size", "num_layers", "cell", "head", "readout", "bidirectional",
                         "dtype", "inputs", "lstm_options", "forget_bias", "epochs", "classes", "n_features_in", "bogus"]),
    value=_JSON_VALUES,
)  # fmt: skip
def test_fuzz_estimator_config_values(tmp_path, no_unpickling, where, key, value):
    """Valid zip and JSON, hostile values in an estimator's config or model_config (output_size=10**12, ...)."""
    (tmp_path / "e.npz").write_bytes(_estimator_bytes())
    with np.load(tmp_path / "e.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    meta = read_model(tmp_path / "e.npz").meta
    (meta["extra"]["model_config"] if where == "model_config" else meta["config"] if key != "classes" else meta["extra"])[key] = value
    np.savez(tmp_path / "f.npz", __meta__=np.array(json.dumps(meta)), **arrays)
    try:
        lstmkit.load(tmp_path / "f.npz")
    except (FileFormatError, ValueError):
        pass


_OTHER: dict[str, bytes] = {}


def _other_estimator_bytes(kind: str) -> bytes:
    if kind not in _OTHER:
        import tempfile

        from lstmkit.forecast import LSTMForecaster
        from lstmkit.text import TextGenerator

        est = (
            TextGenerator(hidden_size=8, epochs=1, seq_len=10, seed=0).fit("hello world " * 40)
            if kind == "TextGenerator"
            else LSTMForecaster(window=4, hidden_size=4, epochs=1, seed=0).fit(np.sin(np.arange(60) / 3))
        )
        with tempfile.TemporaryDirectory() as d:
            est.save(Path(d) / "e.npz")
            _OTHER[kind] = (Path(d) / "e.npz").read_bytes()
    return _OTHER[kind]


def _json_paths(o, prefix=()):
    if isinstance(o, dict):
        for k, v in o.items():
            yield prefix + (k,)
            yield from _json_paths(v, prefix + (k,))
    elif isinstance(o, list) and len(o) <= 16:
        for i, v in enumerate(o):
            yield prefix + (i,)
            yield from _json_paths(v, prefix + (i,))


@pytest.mark.skipif(not hasattr(lstmkit, "load"), reason="estimators (lstmkit.load) not in this checkout")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["TextGenerator", "LSTMForecaster"]), pick=st.integers(0, 10**6), value=_JSON_VALUES)
def test_fuzz_text_and_forecaster_files(tmp_path, no_unpickling, kind, pick, value):
    """Any one metadata value of a TextGenerator / LSTMForecaster file replaced by a hostile one."""
    pytest.importorskip("lstmkit.text")
    (tmp_path / "e.npz").write_bytes(_other_estimator_bytes(kind))
    with np.load(tmp_path / "e.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    meta = read_model(tmp_path / "e.npz").meta
    paths = [p for p in _json_paths(meta) if p[0] in ("config", "extra")]
    where = paths[pick % len(paths)]
    target = meta
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    np.savez(tmp_path / "f.npz", __meta__=np.array(json.dumps(meta)), **arrays)
    try:
        lstmkit.load(tmp_path / "f.npz")
    except (FileFormatError, ValueError):
        pass


def test_lstmkit_load_reads_bare_modules_too(tmp_path):
    """One loader for every kind: a module saved with save_lstm comes back from lstmkit.load."""
    import lstmkit

    m = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, seed=0)
    path = tmp_path / "lstm.npz"
    lstmkit.save_lstm(path, m)
    back = lstmkit.load(path)
    assert type(back) is lstmkit.LSTM and back.num_layers == 2 and back.bidirectional
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    np.testing.assert_array_equal(back(x)[0], m(x)[0])
    with pytest.raises(lstmkit.io.FileFormatError, match="expected a model of kind LSTMClassifier, got LSTM"):
        lstmkit.load(path, kind="LSTMClassifier")


# -- estimator files whose metadata disagrees with the weights or with itself ---------------------------
_CONSISTENT: dict[str, bytes] = {}


def _estimator_file(tmp_path, kind: str) -> Path:
    """A small fitted estimator of ``kind`` saved to tmp_path (each kind trained once per session)."""
    if kind not in _CONSISTENT:
        import tempfile

        rng = np.random.default_rng(0)
        X = rng.normal(size=(12, 4, 2)).astype(np.float32)
        est = {
            "clf": lambda: lstmkit.LSTMClassifier(hidden_size=3, epochs=2, batch_size=6, seed=0).fit(X, np.where(X[:, :, 0].sum(1) > 0, "up", "down")),
            "ints": lambda: lstmkit.LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, (X[:, :, 0].sum(1) > 0).astype(int)),
            "reg": lambda: lstmkit.LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X, X.sum(axis=1)),  # k = 2 outputs
            "gen": lambda: lstmkit.TextGenerator(hidden_size=4, epochs=2, seq_len=5, batch_size=2, seed=0).fit("abcd " * 6),
            "fc": lambda: lstmkit.LSTMForecaster(window=4, horizon=2, hidden_size=3, epochs=1, seed=0).fit(np.sin(np.arange(30) / 3)),
            "fc2": lambda: lstmkit.LSTMForecaster(window=4, hidden_size=3, epochs=1, seed=0).fit(np.stack([np.arange(1.0, 31), np.ones(30)], 1)),
        }[kind]()
        with tempfile.TemporaryDirectory() as d:
            est.save(Path(d) / "e.npz")
            _CONSISTENT[kind] = (Path(d) / "e.npz").read_bytes()
    path = tmp_path / f"{kind}.npz"
    path.write_bytes(_CONSISTENT[kind])
    return path


def _edit(path, out, edits=(), arrays_update=None):
    """A copy of a model file with metadata values replaced: edits are (key path, value), value DROP deletes."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    meta = read_model(path).meta
    for keys, value in edits:
        target = meta
        for k in keys[:-1]:
            target = target[k]
        if value is DROP:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    arrays.update(arrays_update or {})
    np.savez(out, __meta__=np.array(json.dumps(meta)), **arrays)
    return out


DROP = object()


@pytest.mark.parametrize(
    "kind,edits,message",
    [
        # the user's reports: classes on a 2-output model that are not 2 labels
        ("ints", [(("extra", "classes"), [0, 1, 2])], r"expected classes 2 labels \(one per output of the model's read-out\), got 3: \[0, 1, 2\]\."),
        ("ints", [(("extra", "classes"), [0])], r"expected classes 2 labels \(one per output of the model's read-out\), got 1: \[0\]\."),
        ("clf", [(("extra", "classes"), ["up", "down"])], r"expected classes at least 2 distinct labels in sorted order \(as fit learns them\), got \['up', 'down'\]\."),
        ("clf", [(("extra", "classes"), ["up", "up"])], r"expected classes at least 2 distinct labels in sorted order"),
        ("clf", [(("extra", "classes"), [["down"], "up"])], r"expected classes a list of labels \(strings or numbers\), got \[\['down'\], 'up'\]\."),
        ("clf", [(("extra", "classes_dtype"), "<U1")], r"expected classes labels that are str32 values, got \['down', 'up'\]\."),
        ("clf", [(("extra", "classes_dtype"), "<M8[s]")], r"expected classes_dtype a NumPy dtype of bools, numbers or strings, got '<M8\[s\]'\."),
        ("clf", [(("extra", "per_step"), True)], r"expected per_step False \(the model reads out head='last'\), got True\."),
        ("clf", [(("extra", "n_features_in"), 3)], r"expected n_features_in 2 \(the LSTM's input_size\), got 3\."),
        ("clf", [(("extra", "n_features_in"), True)], r"expected n_features_in 2 \(the LSTM's input_size\), got True\."),
        ("clf", [(("extra", "feature_names_in"), ["a", "b", "c"])], r"expected feature_names_in 2 column names \(one per feature, n_features_in\)"),
        ("clf", [(("config", "hidden_size"), 5)], r"expected config hidden_size 3 \(the stored model's\), got 5\."),
        ("clf", [(("config", "lstm_options"), {"peephole": True})], r"expected config lstm_options \{\} \(the stored model's\), got \{'peephole': True\}\."),
        ("clf", [(("config", "batch_size"), 0)], r"expected a valid LSTMClassifier model file, got one that fails to load \(LSTMClassifier: expected batch_size >= 1, got 0\.\)\."),
        ("clf", [(("extra", "history"), "x")], r"expected history a list of JSON objects \(one per epoch\), got 'x'\."),
        ("clf", [(("extra", "n_epochs"), 5)], r"expected n_epochs 2 \(the epochs in history\), got 5\."),
        ("clf", [(("extra", "best_epoch"), 7)], r"expected best_epoch None or an epoch in \[1, 2\], got 7\."),
        # the user's report: a regressor's scaling for 3 outputs on a 2-output model
        ("reg", [(("extra", "y_mean"), [0.0, 1.0, 2.0])], r"expected y_mean a list of 2 finite numbers \(one per output of the model's read-out\), got \[0\.0, 1\.0, 2\.0\]\."),
        ("reg", [(("extra", "y_scale"), [1.0, 0.0])], r"expected y_scale values > 0, got \[1\.0, 0\.0\]\."),
        ("reg", [(("extra", "y_scale"), [1.0, "2"])], r"expected y_scale a list of 2 finite numbers"),
        ("reg", [(("extra", "y_ndim"), 1)], r"expected y_ndim 2 \(y \(n, k\), per_step=False, k=2\), got 1\."),
        ("reg", [(("extra", "y_ndim"), 7)], r"expected y_ndim 2 \(y \(n, k\), per_step=False, k=2\), got 7\."),
        ("reg", [(("extra", "per_step"), True)], r"expected per_step False \(the model reads out head='last'\), got True\."),
        ("reg", [(("config", "standardize"), "yes")], r"expected a valid LSTMRegressor model file, got one that fails to load \(LSTMRegressor: expected standardize True or False, got 'yes'\.\)\."),
        # TextGenerator: the vocabulary is the one-hot input and the read-out's rows
        ("gen", [(("extra", "vocab"), [0, 32, 97, 98, 99])], r"expected vocab 6 characters \(the model's input_size\), got 5\."),
        ("gen", [(("extra", "vocab"), [0, 32, 97, 98, 99, 99])], r"expected vocab distinct code points, the first 0 \(unknown\), got \[0, 32, 97, 98, 99, 99\]\."),
        ("gen", [(("extra", "vocab"), [32, 0, 97, 98, 99, 100])], r"expected vocab distinct code points, the first 0"),
        ("gen", [(("extra", "vocab"), [0, 32, 97, 98, 99, 2**40])], r"expected vocab a list of Unicode code points"),
        ("gen", [(("extra", "n_updates"), -1)], r"expected n_updates an integer >= 0, got -1\."),
        ("gen", [(("extra", "history"), [1, 2])], r"expected history a list of JSON objects \(one per epoch\), got \[1, 2\]\."),
        ("gen", [(("config", "model", "head"), "last")], r"expected model config head 'all', got 'last'\."),
        ("gen", [(("config", "params", "hidden_size"), 8)], r"expected config hidden_size 4 \(the stored model's\), got 8\."),
        # LSTMForecaster: horizon x series outputs, one scale per series, enough history to forecast from
        ("fc", [(("config", "horizon"), 3)], r"expected config horizon 2 / 1 \(the model's outputs per window / the series\), got 3\."),
        ("fc", [(("config", "hidden_size"), 5)], r"expected config hidden_size 3 \(the stored model's\), got 5\."),
        ("fc", [(("config", "hidden_size"), 0)], r"expected a valid LSTMForecaster model file, got one that fails to load \(LSTMForecaster: expected hidden_size >= 1, got 0\.\)\."),
        ("fc", [(("extra", "mean"), [0.0, 1.0])], r"expected mean 1 finite numbers \(one per series\), got \[0\.0, 1\.0\]\."),
        ("fc", [(("extra", "scale"), [0.0])], r"expected scale 1 finite numbers > 0 \(one per series\), got \[0\.0\]\."),
        ("fc", [(("extra", "history"), [[1.0], [2.0]])], r"expected history the fitted series as rows \(N >= window\+difference = 4, n_series >= 1\), got shape \(2, 1\)\."),
        ("fc", [(("extra", "regressor", "y_mean"), [0.0])], r"expected regressor\.y_mean a list of 2 finite numbers"),
        ("fc", [(("extra", "regressor", "n_features_in"), 2)], r"expected regressor\.n_features_in 1 \(the LSTM's input_size\), got 2\."),
        ("fc2", [(("extra", "is_1d"), True)], r"expected is_1d true only for one series, got True with 2 series\."),
        ("fc2", [(("extra", "history"), [[1.0]] * 10)], r"expected mean 1 finite numbers \(one per series\), got \[.*\]\."),
    ],
)  # fmt: skip
def test_estimator_metadata_that_disagrees_with_the_model_is_refused_naming_the_field(tmp_path, kind, edits, message):
    good = _estimator_file(tmp_path, kind)
    bad = _edit(good, tmp_path / "bad.npz", edits)
    with pytest.raises(FileFormatError, match=r"bad\.npz: " + message):
        lstmkit.load(bad)
    lstmkit.load(good)  # the same file without the edit loads


def _three_kinds_of_file(tmp_path):
    """The same network (2 inputs, 3 hidden units, 1 layer, no projection) in an estimator's file, a
    SequenceModel's and an LSTM's, with where each keeps the model's config in its metadata."""
    sm = lstmkit.SequenceModel(2, 2, 3, seed=0)
    sm.save(tmp_path / "sm.npz")
    save_lstm(tmp_path / "lstm.npz", lstmkit.LSTM(2, 3, seed=0))
    return {
        "estimator": (_estimator_file(tmp_path, "reg"), ("extra", "model_config"), ("lstm_options",)),  # LSTMRegressor(hidden_size=3), 2 features
        "SequenceModel": (tmp_path / "sm.npz", ("config",), ("lstm_options",)),
        "LSTM": (tmp_path / "lstm.npz", ("config",), ()),
    }


@pytest.mark.parametrize("kind", ["estimator", "SequenceModel", "LSTM"])
@pytest.mark.parametrize(
    "key, bad, right, source",
    [
        ("hidden_size", 100, 3, "shapes"),  # a hostile size over 3-unit weights: refused before allocating
        ("hidden_size", 3.0, 3, "shapes"),  # a size is an int
        ("input_size", True, 2, "shapes"),
        ("num_layers", True, 1, "names"),  # True == 1, but not a number of layers
        ("num_layers", 10**9, 1, "names"),
        ("proj_size", 2, 0, "shapes"),  # weight_hh_l0 (12, 3): no projection
    ],
)  # fmt: skip
def test_a_config_that_disagrees_with_the_weights_is_refused_alike_in_every_kind_of_file(tmp_path, kind, key, bad, right, source):
    # one rule (modelfile.check_model_config) for the three readers; the estimator's own copy said
    # "expected a valid LSTMRegressor model file, got one that fails to load (rnn.weight_ih_l0 of shape (400, 2) ...)"
    good, at, options = _three_kinds_of_file(tmp_path)[kind]
    where = at + (options if key == "proj_size" else ()) + (key,)
    bad_path = _edit(good, tmp_path / "bad.npz", [(where, bad)])
    prefix = "lstm_options " if key == "proj_size" and options else ""
    message = (f"{bad_path}: expected model config {prefix}{key} = {right} (from the weights' {source}), got {bad!r}. "
               "The file's config and weights disagree (edited or corrupt): save the model again.")  # fmt: skip
    with pytest.raises(FileFormatError) as e:
        lstmkit.load(bad_path)
    assert str(e.value) == message
    lstmkit.load(good)  # the same file unedited loads


def test_sequence_model_load_round_trip_and_refusals(tmp_path, monkeypatch):
    # SequenceModel.load(path), as the estimators' and TextGenerator's load: bit-equal weights, the same config, eval mode
    m = lstmkit.SequenceModel(3, 2, 5, num_layers=2, head="last", bidirectional=True, dropout=0.25,
                              lstm_options={"proj_size": 2, "peephole": True}, dtype=np.float64, seed=4)  # fmt: skip
    m.save(tmp_path / "m.npz")
    back = lstmkit.SequenceModel.load(tmp_path / "m.npz")
    assert type(back) is lstmkit.SequenceModel and back.config() == m.config() and not back.training
    assert back.state_dict().keys() == m.state_dict().keys()
    for k, v in m.state_dict().items():
        assert back.state_dict()[k].dtype == v.dtype and np.array_equal(back.state_dict()[k], v)
    x = RNG.normal(size=(4, 6, 3))
    np.testing.assert_array_equal(back(x)[0], m.eval()(x)[0])  # (B, O) = (4, 2)
    # another kind of file, and a config that disagrees with the weights: refused naming the file,
    # before any model is built
    monkeypatch.setattr(lstmkit.SequenceModel, "__init__", lambda *a, **k: pytest.fail("a model was built"))
    reg = _estimator_file(tmp_path, "reg")
    with pytest.raises(FileFormatError, match=rf"^{reg}: expected a model of kind SequenceModel, got LSTMRegressor"):
        lstmkit.SequenceModel.load(reg)
    bad = _edit(tmp_path / "m.npz", tmp_path / "bad.npz", [(("config", "hidden_size"), 10**9)])
    with pytest.raises(FileFormatError, match=rf"^{bad}: expected model config hidden_size = 5 \(from the weights' shapes\), got 1000000000\."):
        lstmkit.SequenceModel.load(bad)


def test_text_generator_vocab_must_match_the_read_out_rows(tmp_path):
    # a read-out with one row more than the vocabulary (and a model config that says so): the
    # input layer still has 6 one-hot columns, the read-out 7 rows
    good = _estimator_file(tmp_path, "gen")
    mf = read_model(good)
    W, b = mf.arrays["head.weight"], mf.arrays["head.bias"]
    bad = _edit(good, tmp_path / "bad.npz", [(("config", "model", "output_size"), 7)],
                {"head.weight": np.vstack([W, W[:1]]), "head.bias": np.append(b, b[:1])})  # fmt: skip
    with pytest.raises(FileFormatError, match=r"bad\.npz: expected vocab 7 characters \(the model's output_size\), got 6\."):
        lstmkit.load(bad)


def test_files_written_before_the_training_record_was_saved_still_load(tmp_path):
    clf = _edit(_estimator_file(tmp_path, "clf"), tmp_path / "old_clf.npz", [(("extra", "n_epochs"), DROP), (("extra", "best_epoch"), DROP)])
    back = lstmkit.load(clf)
    assert not hasattr(back, "n_epochs_") and not hasattr(back, "best_epoch_") and len(back.history_) == 2
    gen = _edit(_estimator_file(tmp_path, "gen"), tmp_path / "old_gen.npz", [(("extra", "history"), DROP)])
    back = lstmkit.load(gen)
    assert not hasattr(back, "history_") and len(back.generate("a", 5, seed=0)) == 6


@pytest.mark.parametrize("key, value", [("batch_first", "false"), ("batch_first", 0), ("bias", "no"), ("bidirectional", 1)])
def test_a_flag_in_the_config_must_be_true_or_false(tmp_path, key, value):
    # bool("false") is True: a hand-edited or foreign flag would load with the axes swapped
    save_lstm(tmp_path / "m.npz", lstmkit.LSTM(3, 4, seed=0))
    mf = read_model(tmp_path / "m.npz")
    save_model(tmp_path / "bad.npz", mf.kind, dict(mf.config, **{key: value}), mf.arrays, mf.extra)
    with pytest.raises(FileFormatError, match=rf"bad.npz: expected LSTM config {key} true or false, got {value!r}\."):
        read_lstm(tmp_path / "bad.npz")


def test_a_read_out_beyond_the_modules_float32_range_is_named_at_save_and_at_read(tmp_path):
    # a float64 1e39 in a float32 module's read-out: save_lstm wrote it, and read_lstm cast it to inf (NumPy's
    # overflow warning only), so predict gave inf; lstmkit.load said 'finite values, got NaN or inf' of a finite number
    import warnings

    lstm = lstmkit.LSTM(3, 4, batch_first=True, seed=0)
    W = np.zeros((2, 4))
    W[0, 1] = 1e39
    with pytest.raises(ValueError, match=r"save_lstm: expected readout\['weight'\] values within float32's range .*got 1e\+39 at index \(0, 1\)"):
        lstmkit.save_lstm(tmp_path / "bf.npz", lstm, readout={"weight": W, "bias": np.zeros(2)})
    assert not (tmp_path / "bf.npz").exists()
    # a file written otherwise (as an older lstmkit did): refused naming the file and the array
    arrays = {f"rnn.{k}": v for k, v in lstm.state_dict().items()}
    save_model(tmp_path / "old.npz", "LSTM", lstmkit.modelfile.module_config(lstm), {**arrays, "head.weight": W})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'overflow encountered in cast'
        with pytest.raises(FileFormatError) as e:
            lstmkit.read_lstm(tmp_path / "old.npz")
    # the advice is one read_lstm can follow (it has no dtype option: the file's config decides the float type)
    assert str(e.value) == (f"{tmp_path / 'old.npz'}: read_lstm: expected head.weight values within float32's range (±3.4e38), got 1e+39 "
                            "at index (0, 1). The read-out is read in the model's float type: save the model in float64 "
                            "(dtype=numpy.float64), or scale the read-out down.")  # fmt: skip
    W[0, 1] = 3e38  # within the range: read as given
    lstmkit.save_lstm(tmp_path / "ok.npz", lstm, readout={"weight": W})
    assert lstmkit.read_lstm(tmp_path / "ok.npz").readout["weight"][0, 1] == np.float32(3e38)


def test_a_read_out_without_rows_is_refused_at_save_and_at_read(tmp_path):
    # a read-out weight of shape (0, F) (O = 0 outputs): save_lstm wrote it and read_lstm read it back, against "a file
    # that the reader would refuse is never written"; only lstmkit.load refused it, at SequenceModel's output_size
    lstm = lstmkit.LSTM(3, 4, batch_first=True, seed=0)
    empty = np.zeros((0, 4), np.float32)
    with pytest.raises(ValueError, match=r"^save_lstm: expected readout\['weight'\] a float array of shape \(O, 4\) with O >= 1, got dtype float32 shape \(0, 4\)\.$"):
        save_lstm(tmp_path / "zero.npz", lstm, readout={"weight": empty})
    assert not (tmp_path / "zero.npz").exists()
    # a file written otherwise: read_lstm, and so lstmkit.load, refuse it naming the file
    arrays = {f"rnn.{k}": v for k, v in lstm.state_dict().items()}
    save_model(tmp_path / "old.npz", "LSTM", lstmkit.modelfile.module_config(lstm), {**arrays, "head.weight": empty})
    msg = rf"^{tmp_path / 'old.npz'}: read_lstm: expected readout\['weight'\] a float array of shape \(O, 4\) with O >= 1, got dtype float32 shape \(0, 4\)\.$"
    for read in (read_lstm, lstmkit.load):
        with pytest.raises(FileFormatError, match=msg):
            read(tmp_path / "old.npz")


@pytest.mark.parametrize("make", [lambda: lstmkit.LSTM(2, 3, num_layers=2, bidirectional=True, seed=1), lambda: lstmkit.RNN(2, 3, seed=1),
                                  lambda: lstmkit.LSTMCell(2, 3, seed=1), lambda: lstmkit.RNNCell(2, 3, seed=1)])  # fmt: skip
def test_bare_modules_save_and_load_themselves_as_save_lstm_and_load_lstm_do(make, tmp_path):
    m = make()
    m.save(tmp_path / "m.npz")
    back = type(m).load(tmp_path / "m.npz")
    assert type(back) is type(m) and back.training is False  # eval, as lstmkit.load and SequenceModel.load return theirs
    assert back.state_dict().keys() == m.state_dict().keys()
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    assert type(load_lstm(tmp_path / "m.npz")) is type(m)  # the same file as save_lstm writes
    other = lstmkit.RNN if type(m) is lstmkit.LSTM else lstmkit.LSTM
    with pytest.raises(FileFormatError, match=rf"m\.npz: expected a model of kind {other.__name__}, got {type(m).__name__}\."):
        other.load(tmp_path / "m.npz")


def test_save_and_load_of_what_is_no_module_file_say_the_fix(tmp_path):
    lstm = lstmkit.LSTM(2, 3, seed=0)
    sm = lstmkit.SequenceModel(2, 2, 3, seed=0)
    sm.save(tmp_path / "sm.npz")
    with pytest.raises(FileFormatError, match=r"expected a model of kind LSTM, got SequenceModel"):
        lstmkit.LSTM.load(tmp_path / "sm.npz")
    with pytest.raises(TypeError, match=r"^save_lstm: expected module .*, got str\. The path comes first: save_lstm\(path, module"):
        save_lstm(lstm, str(tmp_path / "a.npz"))
    with pytest.raises(TypeError, match=r"^save_lstm: expected module .*, got SequenceModel\. Use its own \.save\(path\)"):
        save_lstm(tmp_path / "a.npz", sm)
    with pytest.raises(TypeError, match=r"^save_lstm: expected module .*, got LSTMClassifier\. Use its own \.save\(path\)"):
        save_lstm(tmp_path / "a.npz", lstmkit.LSTMClassifier())
    with pytest.raises(TypeError, match=r"^Linear\.save: expected self one of LSTM, RNN, LSTMCell, RNNCell .*readout=linear"):
        lstmkit.Linear(3, 2, seed=0).save(tmp_path / "a.npz")
    with pytest.raises(TypeError, match=r"^Linear\.load: .*lstmkit\.load\(path\)"):
        lstmkit.Linear.load(tmp_path / "sm.npz")
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.parametrize("base", ["LSTM", "RNN", "LSTMCell", "RNNCell"])
def test_a_subclass_of_a_module_kind_is_told_to_save_its_state_dict(tmp_path, base):
    # helper-207 #4: MyLSTM(2, 3).save(p) said "save_lstm(path, module)" and MyLSTM.load(p) "lstmkit.load(path)",
    # which refuse it too (a file of the base kind would read back as the base class, without the subclass's code)
    sub = type(f"My{base}", (getattr(lstmkit, base),), {})
    named = type(base, (getattr(lstmkit, base),), {})  # a subclass that takes the base's name is one too
    m = sub(2, 3, seed=0)
    start = rf"A subclass of {base} has no module file \(it would read back as an {base}, without its own code\): "
    fix = (start + rf"save its weights, numpy\.savez\(path, \*\*m\.state_dict\(\)\), and load them into a new My{base}: "
           rf"m\.load_state_dict\(dict\(numpy\.load\(path\)\)\)\.$")
    # helper-219 #2: .load's caller has a file of the base kind and no m to numpy.savez: read it as the base kind
    load_fix = (start + rf"read the file as an {base} and load its weights into a new My{base}: "
                rf"m = My{base}\(\.\.\.\); m\.load_state_dict\(lstmkit\.{base}\.load\(path\)\.state_dict\(\)\)\.$")
    with pytest.raises(TypeError, match=rf"^My{base}\.save: expected self one of LSTM, RNN, LSTMCell, RNNCell .*, got My{base}\. {fix}"):
        m.save(tmp_path / "a.npz")
    with pytest.raises(TypeError, match=rf"^save_lstm: expected module .*, got My{base}\. {fix}"):
        save_lstm(tmp_path / "a.npz", m)
    saved = getattr(lstmkit, base)(2, 3, seed=2)
    saved.save(tmp_path / "b.npz")
    with pytest.raises(TypeError, match=rf"^My{base}\.load: expected cls .*, got My{base}\. {load_fix}"):
        sub.load(tmp_path / "b.npz")
    with pytest.raises(TypeError, match=rf"^{base}\.load: expected cls .*, got {base}\. {load_fix.replace('My', '')}"):
        named.load(tmp_path / "b.npz")
    loaded = sub(2, 3, seed=1)  # as the message says
    loaded.load_state_dict(getattr(lstmkit, base).load(tmp_path / "b.npz").state_dict())
    for k, v in saved.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    assert not (tmp_path / "a.npz").exists()
    np.savez(tmp_path / "w.npz", **m.state_dict())  # as the message says
    other = sub(2, 3, seed=1)
    other.load_state_dict(dict(np.load(tmp_path / "w.npz")))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)


def test_a_readout_that_is_no_read_out_is_named_as_passed(tmp_path):
    # an LSTM given as the read-out was refused as "got dict" (its state_dict(), which the caller never passed)
    lstm = lstmkit.LSTM(3, 2, seed=0)
    head = "expected readout as a mapping with 'weight' \\(O, F\\) and optional 'bias' \\(O,\\) or an object with such a state_dict\\(\\)"
    fix = r" Pass the read-out's weight and bias: save_lstm\(path, module, readout=\{\"weight\": W, \"bias\": b\}\) or a Linear \(readout=linear\)\.$"
    with pytest.raises(TypeError, match=rf"^save_lstm: {head} .*, got LSTM, whose state_dict\(\) has no 'weight'/'bias' of a read-out\.{fix}"):
        save_lstm(tmp_path / "a.npz", lstm, readout=lstmkit.LSTM(3, 2))
    with pytest.raises(TypeError, match=rf"^save_lstm: {head} .*, got dict with keys \['b', 'w'\]\.{fix}"):
        save_lstm(tmp_path / "a.npz", lstm, readout={"w": np.ones((1, 2)), "b": np.zeros(1)})
    with pytest.raises(TypeError, match=rf"^save_lstm: {head} .*, got int\.{fix}"):
        save_lstm(tmp_path / "a.npz", lstm, readout=3)
    assert not (tmp_path / "a.npz").exists()
    save_lstm(tmp_path / "ok.npz", lstm, readout=lstmkit.Linear(2, 1, seed=0))  # a Linear is one
