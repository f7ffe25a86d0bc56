"""Safe files: no pickle on load, atomic writes, clear errors; the model-file envelope."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from lstmkit import io, modelfile


def test_round_trip(tmp_path):
    p = tmp_path / "a.npz"
    io.save_arrays(p, {"w": np.arange(6.0).reshape(2, 3), "n": np.array([1, 2])}, {"k": [1, "x"]})
    arrays, meta = io.load_arrays(p)
    np.testing.assert_array_equal(arrays["w"], np.arange(6.0).reshape(2, 3))
    assert meta == {"k": [1, "x"]}


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, __meta__=np.array("{}"), w=np.array([object()], dtype=object))
    with pytest.raises(io.FileFormatError, match="not a valid lstmkit file"):
        io.load_arrays(p)
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(io.FileFormatError):
        io.load_arrays(raw)


def test_truncated_file_is_refused(tmp_path):
    p = tmp_path / "a.npz"
    io.save_arrays(p, {"w": np.ones(100)}, {})
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(io.FileFormatError):
        io.load_arrays(p)


def test_atomic_write_keeps_previous_file_on_crash(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.npz"
    io.save_arrays(p, {"w": np.ones(3)}, {"epoch": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        io.save_arrays(p, {"w": np.zeros(3)}, {"epoch": 2})
    arrays, meta = io.load_arrays(p)
    assert meta == {"epoch": 1} and arrays["w"].sum() == 3
    assert [f.name for f in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary left behind


def test_model_envelope_kind_and_version(tmp_path):
    p = tmp_path / "m.npz"
    modelfile.save_model(p, "LSTM", {"hidden_size": 3}, {"w": np.ones(2)}, {"classes": ["a", "b"]})
    mf = modelfile.read_model(p, "LSTM")
    assert mf.config == {"hidden_size": 3} and mf.extra == {"classes": ["a", "b"]}
    with pytest.raises(io.FileFormatError, match="expected a model of kind RNN, got LSTM"):
        modelfile.read_model(p, "RNN")
    io.save_arrays(p, {}, {"format": "lstmkit-model", "format_version": 99, "kind": "LSTM"})
    with pytest.raises(io.FileFormatError, match="expected format_version <= 1, got 99"):
        modelfile.read_model(p)
