"""Checkpoints: resume == uninterrupted (bit for bit), atomic writes, no pickle, clear errors."""

import json

import numpy as np
import pytest

from lstmkit import io as lio
from lstmkit.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from lstmkit.io import FileFormatError
from lstmkit.models import SequenceModel
from lstmkit.training import Trainer


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6, 3)).astype(np.float32)
    Y = (X[..., 0].cumsum(axis=1) > 0).astype(np.int64)
    lengths = rng.integers(2, 7, size=30)
    return X, Y, lengths


def make_trainer(schedule="plateau"):
    # dropout, shuffling, a validation split, Adam state, a schedule and early stopping: every
    # piece of state a resume must restore
    model = SequenceModel(3, 2, 5, num_layers=2, dropout=0.25, forget_bias=1.0, seed=11)
    return Trainer(
        model, optimizer="adam", lr=0.01, batch_size=7, clip=1.0, patience=50, seed=5,
        schedule=schedule, schedule_options={"patience": 0, "factor": 0.7} if schedule == "plateau" else {"T_max": 6},
    )


def strip(history):
    return [{k: v for k, v in e.items() if k != "time"} for e in history.epochs]


@pytest.mark.parametrize("schedule,k", [("plateau", 2), ("cosine", 2), ("plateau", 1), ("cosine", 5)])
def test_resume_equals_uninterrupted_bit_for_bit(tmp_path, schedule, k):
    X, Y, lengths = data()
    N = 6
    straight = make_trainer(schedule)
    straight.fit(X, Y, lengths, epochs=N, validation_split=0.2)

    first = make_trainer(schedule)
    first.fit(X, Y, lengths, epochs=k, validation_split=0.2, checkpoint=tmp_path / "ckpt.npz")
    del first  # "the process dies"
    resumed = make_trainer(schedule)
    load_checkpoint(tmp_path / "ckpt.npz", resumed)
    assert resumed.epoch == k
    resumed.fit(X, Y, lengths, epochs=N, validation_split=0.2)

    assert resumed.epoch == straight.epoch == N
    for key, v in straight.model.parameters().items():
        assert np.array_equal(v, resumed.model.parameters()[key]), key
    assert strip(resumed.history) == strip(straight.history)
    assert resumed.optimizer.lr == straight.optimizer.lr


def test_seedless_trainer_resumes_with_the_same_validation_split(tmp_path):
    X, Y, lengths = data()
    t = Trainer(SequenceModel(3, 2, 4, seed=0), seed=None, batch_size=8)
    t.fit(X, Y, lengths, epochs=1, validation_split=0.3, checkpoint=tmp_path / "c.npz")
    t.fit(X, Y, lengths, epochs=3, validation_split=0.3)
    r = Trainer(SequenceModel(3, 2, 4, seed=0), seed=None, batch_size=8)
    load_checkpoint(tmp_path / "c.npz", r)
    r.fit(X, Y, lengths, epochs=3, validation_split=0.3)
    for key, v in t.model.parameters().items():
        assert np.array_equal(v, r.model.parameters()[key]), key


def test_crash_mid_write_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    X, Y, lengths = data()
    path = tmp_path / "ckpt.npz"
    t = make_trainer()
    t.fit(X, Y, lengths, epochs=1, checkpoint=path)
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(lio.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        t.fit(X, Y, lengths, epochs=2, checkpoint=path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary file left behind
    assert read_checkpoint(path)["meta"]["epoch"] == 1


def test_checkpoint_holds_everything_as_json_and_arrays(tmp_path):
    X, Y, lengths = data()
    t = make_trainer()
    t.fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "c.npz")
    ck = read_checkpoint(tmp_path / "c.npz")
    meta = ck["meta"]
    json.dumps(meta)
    assert meta["format"] == "lstmkit-checkpoint" and meta["epoch"] == 2 and len(meta["history"]) == 2
    assert set(meta["rng"]) == {"entropy", "shuffle", "dropout"}
    assert meta["model_config"]["num_layers"] == 2
    assert {"model/rnn.weight_ih_l0", "optim/exp_avg/head.weight", "best/head.bias"} <= set(ck["arrays"])
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:  # plain arrays, no pickle needed
        assert all(z[k].dtype != object for k in z.files)


def test_failed_load_leaves_trainer_unchanged(tmp_path):
    X, Y, lengths = data()
    t = make_trainer()
    t.fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    other = Trainer(SequenceModel(3, 2, 6, seed=0), seed=0)  # hidden_size 6: shapes differ
    before = other.model.state_dict()
    with pytest.raises(ValueError, match="c.npz was written for another model or trainer: SequenceModel.load_state_dict: expected state exactly the keys"):
        load_checkpoint(tmp_path / "c.npz", other)
    assert other.epoch == 0
    for k, v in before.items():
        assert np.array_equal(other.model.parameters()[k], v)

    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(FileFormatError, match="not a valid lstmkit file"):
        load_checkpoint(tmp_path / "junk.npz", t)
    lio.save_arrays(tmp_path / "model.npz", {"a": np.zeros(2)}, {"format": "lstmkit-model"})
    with pytest.raises(FileFormatError, match="expected an lstmkit checkpoint"):
        load_checkpoint(tmp_path / "model.npz", t)


def test_fit_resume_flag(tmp_path):
    X, Y, lengths = data()
    path = tmp_path / "c.npz"
    a = make_trainer()
    a.fit(X, Y, lengths, epochs=3, checkpoint=path)
    b = make_trainer()
    b.fit(X, Y, lengths, epochs=3, checkpoint=path, resume=True)  # already done: nothing to run
    assert b.epoch == 3 and len(b.history) == 3
    fresh = make_trainer()
    fresh.fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "new.npz", resume=True)  # no file yet: starts
    assert fresh.epoch == 1
    with pytest.raises(ValueError, match="checkpoint a path with resume=True"):
        make_trainer().fit(X, Y, lengths, epochs=1, resume=True)


def test_resume_with_variant_regularisers_is_bit_for_bit(tmp_path):
    """Variational dropout, zoneout and DropConnect draw from the model's dropout_rng, which the
    checkpoint carries: resuming still reproduces the uninterrupted run exactly."""
    X, Y, lengths = data()
    opts = {"dropout_recurrent": 0.3, "zoneout_hidden": 0.2, "dropconnect": 0.1, "peephole": True}

    def trainer():
        return Trainer(SequenceModel(3, 2, 4, lstm_options=opts, seed=2), batch_size=8, seed=4)

    straight = trainer()
    straight.fit(X, Y, lengths, epochs=3)
    first = trainer()
    first.fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    resumed = trainer()
    resumed.fit(X, Y, lengths, epochs=3, checkpoint=tmp_path / "c.npz", resume=True)
    for k, v in straight.model.parameters().items():
        assert np.array_equal(v, resumed.model.parameters()[k]), k
