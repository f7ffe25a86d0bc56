"""Checkpoints: resume == uninterrupted (bit for bit), atomic writes, no pickle, clear errors."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from lstmkit import io as lio
from lstmkit.checkpoint import ResumeRefused, load_checkpoint, read_checkpoint, save_checkpoint
from lstmkit.estimators import LSTMClassifier, LSTMRegressor
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
    with pytest.raises(ResumeRefused, match="c.npz was written with model hidden_size 5, got 6. Resume with the same settings") as e:
        load_checkpoint(tmp_path / "c.npz", other)
    # what a caller needs to word it in its own terms (the CLI names its options), beside the message
    assert (e.value.reason, e.value.setting, e.value.recorded, e.value.current, e.value.missing) == ("settings", "model hidden_size", 5, 6, ())
    assert other.epoch == 0
    for k, v in before.items():
        assert np.array_equal(other.model.parameters()[k], v)
    # a checkpoint from before settings were recorded: the weights' keys and shapes still decide
    arrays, meta = lio.load_arrays(tmp_path / "c.npz")
    del meta["settings"]
    lio.save_arrays(tmp_path / "old.npz", arrays, meta)
    with pytest.raises(ValueError, match="old.npz was written for another model or trainer: Trainer.load_state_dict: expected model/ arrays exactly the model's keys"):
        load_checkpoint(tmp_path / "old.npz", other)
    assert other.epoch == 0
    for k, v in before.items():
        assert np.array_equal(other.model.parameters()[k], v)

    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(FileFormatError, match="not a valid lstmkit file"):
        load_checkpoint(tmp_path / "junk.npz", t)
    lio.save_arrays(tmp_path / "model.npz", {"model/a": np.zeros(2)}, {"format": "lstmkit-model"})
    with pytest.raises(FileFormatError, match="expected an lstmkit checkpoint"):
        load_checkpoint(tmp_path / "model.npz", t)


def test_an_entry_a_checkpoint_never_holds_is_refused_before_anything_is_inflated(tmp_path, monkeypatch):
    X, Y, lengths = data()
    t = make_trainer()
    t.fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    # 16 MiB of zeros beside the checkpoint's own entries, deflated to a few KiB: a zip bomb that
    # Trainer.load_state_dict would refuse by its name ('keys starting with model/, ...') only
    # after inflating it; its name alone refuses it now, from the zip directory
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (16 << 20,)})
    with zipfile.ZipFile(tmp_path / "c.npz", "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("extra/big.npy", header.getvalue() + bytes(16 << 20))
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(name) or real_open(self, name, *a, **k))
    before = t.model.state_dict()
    with pytest.raises(FileFormatError, match=r"c.npz: not a valid lstmkit file: unexpected entry 'extra/big.npy' \(expected arrays named model/\*, optim/\* or best/\*\)"):
        load_checkpoint(tmp_path / "c.npz", t)
    assert opened == []  # no entry read, not even the metadata
    assert all(np.array_equal(t.model.parameters()[k], v) for k, v in before.items())


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


# -- a resume continues the same run: settings that differ are refused --------------------------
def trainer_with(**changes):
    """make_trainer's settings (lr 0.01, batch_size 7, clip 1.0, patience 50, seed 5, a plateau
    schedule with factor 0.7, a 2-layer model with dropout 0.25), some of them changed."""
    model_kw = {"num_layers": 2, "dropout": 0.25, "forget_bias": 1.0, **changes.pop("model", {})}
    kw = {"optimizer": "adam", "lr": 0.01, "batch_size": 7, "clip": 1.0, "patience": 50, "seed": 5,
          "schedule": "plateau", "schedule_options": {"patience": 0, "factor": 0.7}, **changes}  # fmt: skip
    return Trainer(SequenceModel(3, 2, 5, seed=11, **model_kw), **kw)


@pytest.mark.parametrize(
    "changes,shown",
    [
        ({"lr": 0.5}, "lr 0.01, got 0.5"),
        ({"batch_size": 4}, "batch_size 7, got 4"),
        ({"clip": None}, "clip 1.0, got None"),
        ({"seed": 123}, "seed 5, got 123"),
        ({"optimizer": "sgd"}, "optimizer 'Adam', got 'SGD'"),
        ({"optimizer_options": {"weight_decay": 0.1}}, "optimizer weight_decay 0.0, got 0.1"),
        ({"optimizer_options": {"betas": (0.8, 0.999)}}, "optimizer beta1 0.9, got 0.8"),
        ({"patience": 3}, "patience 50, got 3"),
        ({"shuffle": False}, "shuffle True, got False"),
        ({"bptt": 2}, "bptt None, got 2"),
        ({"schedule_options": {"patience": 0, "factor": 0.5}}, "schedule factor 0.7, got 0.5"),
        ({"schedule": "cosine", "schedule_options": {"T_max": 6}}, "schedule 'ReduceLROnPlateau', got 'CosineAnnealingLR'"),
        ({"model": {"dropout": 0.5}}, "model dropout 0.25, got 0.5"),
    ],
)
def test_resume_with_other_settings_is_refused_and_changes_nothing(tmp_path, changes, shown):
    X, Y, lengths = data()
    path = tmp_path / "c.npz"
    trainer_with().fit(X, Y, lengths, epochs=1, checkpoint=path)
    other = trainer_with(**changes)
    before = other.model.state_dict()
    with pytest.raises(ValueError) as e:
        other.fit(X, Y, lengths, epochs=3, checkpoint=path, resume=True)
    assert str(e.value) == (f"load_checkpoint: {path} was written with {shown}. Resume with the same settings (only epochs may "
                            f"grow), or start afresh: delete {path} or give another checkpoint path.")  # how to, by name
    assert other.epoch == 0 and other.optimizer.t == 0 and len(other.history) == 0
    for k, v in before.items():
        assert np.array_equal(other.model.parameters()[k], v), k
    assert read_checkpoint(path)["meta"]["epoch"] == 1  # the checkpoint was not overwritten


def test_on_resume_is_called_when_a_resume_goes_ahead(tmp_path):
    # on_resume(trainer): once the checkpoint is loaded and every check passed, before the first epoch
    # (the callback's epochs come after it); not on a fresh start, nor with a refusal
    X, Y, lengths = data()
    seen = []
    path = tmp_path / "c.npz"

    def resumed(t):
        seen.append(("resumed", t.epoch, len(t.history)))

    trainer_with().fit(X, Y, lengths, epochs=1, checkpoint=path, resume=True, on_resume=resumed)
    assert seen == [] and read_checkpoint(path)["meta"]["epoch"] == 1
    with pytest.raises(ResumeRefused):
        trainer_with(lr=0.5).fit(X, Y, lengths, epochs=2, checkpoint=path, resume=True, on_resume=resumed)
    assert seen == []
    t = trainer_with(callbacks=[lambda t, logs: seen.append(("epoch", logs["epoch"]))])
    t.fit(X, Y, lengths, epochs=3, checkpoint=path, resume=True, on_resume=resumed)
    assert seen == [("resumed", 1, 1), ("epoch", 2), ("epoch", 3)] and read_checkpoint(path)["meta"]["epoch"] == 3
    with pytest.raises(TypeError, match=r"^Trainer.fit: expected on_resume a callable on_resume\(trainer\) or None, got str.$"):
        trainer_with().fit(X, Y, lengths, epochs=4, checkpoint=path, resume=True, on_resume="print")


def test_resume_may_grow_epochs_and_change_the_display(tmp_path):
    # the same run, only longer, with progress lines and a callback: the uninterrupted run's weights
    X, Y, lengths = data()
    straight = trainer_with()
    straight.fit(X, Y, lengths, epochs=3)
    trainer_with().fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    seen, out = [], io.StringIO()
    resumed = trainer_with(verbose=2, stream=out, callbacks=[lambda t, logs: seen.append(logs["epoch"])])
    resumed.fit(X, Y, lengths, epochs=3, checkpoint=tmp_path / "c.npz", resume=True)
    assert seen == [2, 3] and "epoch 2/3" in out.getvalue() and "epoch 1/3" not in out.getvalue()
    for k, v in straight.model.parameters().items():
        assert np.array_equal(v, resumed.model.parameters()[k]), k


def test_names_read_in_any_case_compare_as_read(tmp_path):
    # an estimator takes optimizer="ADAM" for "adam" (make_optimizer lowercases): the same run, and
    # a resume with the other spelling ends with the uninterrupted run's weights
    X, Y, lengths = data()
    y = Y[:, -1]
    straight = LSTMClassifier(hidden_size=4, epochs=2, optimizer="adam", seed=0).fit(X, y, lengths)
    LSTMClassifier(hidden_size=4, epochs=1, optimizer="ADAM", seed=0).fit(X, y, lengths, checkpoint=tmp_path / "e.npz")
    resumed = LSTMClassifier(hidden_size=4, epochs=2, optimizer="adam", seed=0).fit(X, y, lengths, checkpoint=tmp_path / "e.npz", resume=True)
    assert resumed.n_epochs_ == 2
    for k, v in straight.model_.parameters().items():
        assert np.array_equal(v, resumed.model_.parameters()[k]), k
    # (the resumed run wrote the checkpoint after its epoch 2: in its own spelling)
    with pytest.raises(ValueError, match=r"e.npz was written with optimizer 'adam', got 'sgd'\. Resume with the same settings"):
        LSTMClassifier(hidden_size=4, epochs=3, optimizer="sgd", seed=0).fit(X, y, lengths, checkpoint=tmp_path / "e.npz", resume=True)
    # an activation's name, in any case, with or without '_', its default parameters spelled out or not
    def trainer(acts):
        return trainer_with(model={"lstm_options": {"activations": acts}})

    trainer(["Hard_Sigmoid", "tanh", "TANH"]).fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "t.npz")
    resumed = trainer([["hardsigmoid", 0.2, 0.5], "Tanh", "tanh"])
    resumed.fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "t.npz", resume=True)
    assert resumed.epoch == 2
    with pytest.raises(ValueError, match=r"t.npz was written with model lstm_options .*, got .*'softsign'"):
        trainer(["hard_sigmoid", "softsign", "tanh"]).fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "t.npz", resume=True)


def test_resume_on_other_data_or_fewer_epochs_is_refused_and_changes_nothing(tmp_path):
    X, Y, lengths = data()
    trainer_with().fit(X, Y, lengths, epochs=3, checkpoint=tmp_path / "c.npz")
    before = (tmp_path / "c.npz").read_bytes()
    other = X.copy()
    other[0, 0, 0] += 1.0  # one value changed: the same shapes
    cases = [
        ((other, Y, lengths, 5), r"c.npz was written while training on other data \(X \(30, 6, 3\), Y \(30, 6\), lengths \(30,\)\), "
                                 r"got X \(30, 6, 3\), Y \(30, 6\), lengths \(30,\) \(the same shapes, other values\)\. Resume on the same data, "
                                 r"or start afresh: delete \S*c.npz or give another checkpoint path\.$"),
        ((X[:20], Y[:20], lengths[:20], 5), r"got X \(20, 6, 3\), Y \(20, 6\), lengths \(20,\)\."),
        ((X, Y, None, 5), r"lengths None"),
        ((X, Y, lengths, 2), r"c.npz has run 3 epochs already, got epochs=2\. Resume with epochs >= 3 to go on, or start afresh: delete "
                              r"\S*c.npz or give another checkpoint path\.$"),
    ]
    for (x, y, n, epochs), message in cases:
        t = trainer_with()
        state = {k: v.copy() for k, v in t.model.parameters().items()}
        with pytest.raises(ResumeRefused, match=message) as e:
            t.fit(x, y, n, epochs=epochs, checkpoint=tmp_path / "c.npz", resume=True)
        assert (e.value.reason, e.value.epoch, e.value.epochs) == (("epochs", 3, 2) if epochs == 2 else ("data", None, None))
        assert t.epoch == 0 and all(np.array_equal(v, state[k]) for k, v in t.model.parameters().items())
    assert (tmp_path / "c.npz").read_bytes() == before  # the checkpoint is not touched either
    t = trainer_with()
    t.fit(X, Y, lengths, epochs=3, checkpoint=tmp_path / "c.npz", resume=True)  # the same data, as many epochs: done
    assert t.epoch == 3


def test_a_run_whose_cosine_reached_eta_min_zero_resumes(tmp_path):
    # at epoch T_max the rate is eta_min = 0: a checkpoint written there is the library's own, not damaged
    X, Y, lengths = data()
    straight = make_trainer("cosine")  # T_max 6
    straight.fit(X, Y, lengths, epochs=8)
    make_trainer("cosine").fit(X, Y, lengths, epochs=6, checkpoint=tmp_path / "c.npz")
    assert read_checkpoint(tmp_path / "c.npz")["meta"]["optimizer"]["lr"] == 0.0
    resumed = make_trainer("cosine")
    resumed.fit(X, Y, lengths, epochs=8, checkpoint=tmp_path / "c.npz", resume=True)  # past T_max, as torch's cosine
    for k, v in straight.model.parameters().items():
        assert np.array_equal(v, resumed.model.parameters()[k]), k


def test_an_unseeded_run_resumes_unseeded_only(tmp_path):
    X, Y, lengths = data()
    trainer_with(seed=None).fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    with pytest.raises(ValueError, match="c.npz was written with seed None, got 5. Resume with the same settings"):
        load_checkpoint(tmp_path / "c.npz", trainer_with(seed=5))
    resumed = trainer_with(seed=None)  # takes the checkpoint's random seed
    load_checkpoint(tmp_path / "c.npz", resumed)
    assert resumed.epoch == 1 and resumed.entropy == read_checkpoint(tmp_path / "c.npz")["meta"]["rng"]["entropy"]


def test_a_checkpoint_without_recorded_settings_still_loads(tmp_path):
    # files written before settings were recorded: no comparison, the checkpoint's optimizer wins
    X, Y, lengths = data()
    trainer_with().fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "c.npz")
    arrays, meta = lio.load_arrays(tmp_path / "c.npz")
    del meta["settings"]
    lio.save_arrays(tmp_path / "old.npz", arrays, meta)
    t = trainer_with(lr=0.5)
    load_checkpoint(tmp_path / "old.npz", t)
    assert t.epoch == 2 and t.optimizer.initial_lr == 0.01


# -- the estimators: their hyper-parameters by their names ----------------------------------------
def est_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5, 3)).astype(np.float32)
    return X, (X[:, :, 0].sum(1) > 0).astype(int)


@pytest.mark.parametrize(
    "changes,shown",
    [
        ({"learning_rate": 0.5}, "learning_rate 0.01, got 0.5"),
        ({"batch_size": 4}, "batch_size 8, got 4"),
        ({"seed": 123}, "seed 0, got 123"),
        ({"validation_split": 0.25}, "validation_split 0.0, got 0.25"),
        ({"clip": None}, "clip 5.0, got None"),
        ({"weight_decay": 0.1}, "weight_decay 0.0, got 0.1"),
        ({"hidden_size": 3}, "hidden_size 4, got 3"),
        ({"lstm_options": {"peephole": True}}, "lstm_options None, got {'peephole': True}"),
    ],
)
def test_estimator_resume_with_other_hyper_parameters_is_refused(tmp_path, changes, shown):
    X, y = est_data()
    path = tmp_path / "ck.npz"
    params = {"hidden_size": 4, "batch_size": 8, "seed": 0}
    LSTMClassifier(**params, epochs=1).fit(X, y, checkpoint=path)
    est = LSTMClassifier(**{**params, **changes}, epochs=3)
    with pytest.raises(ValueError) as e:
        est.fit(X, y, checkpoint=path, resume=True)
    assert str(e.value) == (f"load_checkpoint: {path} was written with {shown}. Resume with the same settings (only epochs may "
                            f"grow), or start afresh: delete {path} or give another checkpoint path.")  # how to, by name
    assert not hasattr(est, "model_")


def test_a_setting_that_changes_the_data_is_named_before_the_data(tmp_path):
    # a regressor resuming a classifier's checkpoint: it trains on scaled numbers where the classifier
    # trained on class indices, so the data differ too, but what the user changed is the task, the loss
    # (compared first: the estimators' other parameters differ because of it); it was refused as 'other
    # data'. Likewise a dtype: X in float64 where it was float32
    X, y = est_data()
    path = tmp_path / "ck.npz"
    LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=1).fit(X, y, checkpoint=path)
    fix = f"Resume with the same settings (only epochs may grow), or start afresh: delete {path} or give another checkpoint path."
    cases = [
        (LSTMRegressor(hidden_size=4, batch_size=8, seed=0, epochs=2), y.astype(np.float64), ("loss", "cross_entropy", "mse"),
         "loss 'cross_entropy', got 'mse'"),
        (LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=2, dtype="float64"), y, ("dtype", "float32", "float64"),
         "dtype 'float32', got 'float64'"),
    ]  # fmt: skip
    for est, target, (setting, recorded, current), shown in cases:
        with pytest.raises(ResumeRefused) as e:
            est.fit(X, target, checkpoint=path, resume=True)
        assert (e.value.reason, e.value.setting, e.value.recorded, e.value.current) == ("settings", setting, recorded, current)
        assert str(e.value) == f"load_checkpoint: {path} was written with {shown}. {fix}"
        assert not hasattr(est, "model_")


def test_estimator_resume_may_grow_epochs_and_change_verbose(tmp_path, capsys):
    X, y = est_data()
    path = tmp_path / "ck.npz"
    straight = LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=3).fit(X, y)
    LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=1).fit(X, y, checkpoint=path)
    resumed = LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=3, verbose=2).fit(X, y, checkpoint=path, resume=True)
    assert "epoch 2/3" in capsys.readouterr().out and resumed.n_epochs_ == 3
    for k, v in straight.model_.state_dict().items():
        assert np.array_equal(v, resumed.model_.state_dict()[k]), k
    # seed=None (a fresh random seed each fit): the resume takes the checkpoint's
    LSTMClassifier(hidden_size=4, epochs=1).fit(X, y, checkpoint=tmp_path / "none.npz")
    again = LSTMClassifier(hidden_size=4, epochs=2).fit(X, y, checkpoint=tmp_path / "none.npz", resume=True)
    assert again.n_epochs_ == 2 and len(again.history_) == 2


# -- a damaged checkpoint: refused before anything is written ------------------------------------
def snapshot(t):
    """Everything a load may write: model, optimizer, schedule, RNGs and the trainer's progress."""
    opt = t.optimizer.state_dict()
    return {
        "model": t.model.state_dict(), "optim": opt["arrays"], "optim_scalars": opt["scalars"],
        "schedule": t.schedule.state_dict(), "epoch": t.epoch, "history": json.dumps(t.history.epochs),
        "early": (t.best, t.best_epoch, t.wait, t.stopped), "best_state": dict(t.best_state or {}),
        "shuffle": json.dumps(t.shuffle_rng.bit_generator.state), "dropout": json.dumps(t.model.dropout_rng.bit_generator.state),
        "entropy": t.entropy,
    }  # fmt: skip


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict) and a[k] and isinstance(next(iter(a[k].values())), np.ndarray):
            assert a[k].keys() == b[k].keys(), k
            for name in a[k]:
                assert np.array_equal(a[k][name], b[k][name]), (k, name)
        else:
            assert a[k] == b[k], k


def _pop(d, key):
    d.pop(key)


DAMAGE = [  # (what, edit of (arrays, meta), the field the error names): a damaged or edited file
    ("no early_stopping.wait", lambda a, m: _pop(m["early_stopping"], "wait"), "checkpoint field early_stopping.wait an integer >= 0, got nothing"),
    ("epoch a string", lambda a, m: m.update(epoch="two"), "checkpoint field epoch an integer >= 0, got str 'two'"),
    ("history a number", lambda a, m: m.update(history=5), "checkpoint field history a list of objects"),
    ("history of numbers", lambda a, m: m.update(history=[1, 2]), "checkpoint field history a list of objects"),
    ("entropy a string", lambda a, m: m["rng"].update(entropy="abc"), "checkpoint field rng.entropy an integer >= 0"),
    ("entropy negative", lambda a, m: m["rng"].update(entropy=-1), "checkpoint field rng.entropy an integer >= 0"),
    ("shuffle state broken", lambda a, m: m["rng"]["shuffle"].update(state="x"), "checkpoint field rng.shuffle the state of one of NumPy's bit generators"),
    ("dropout state unknown", lambda a, m: m["rng"].update(dropout={"bit_generator": "Nope"}), "checkpoint field rng.dropout"),
    # the trainer's shuffling generator is always a PCG64: another one was edited in
    ("shuffle state of another generator", lambda a, m: m["rng"].update(shuffle=np.random.PCG64DXSM(0).state), "bad.npz: expected checkpoint field rng.shuffle the state of a PCG64, got PCG64DXSM"),
    ("stopped a string", lambda a, m: m["early_stopping"].update(stopped="yes"), "checkpoint field early_stopping.stopped true or false"),
    ("best a string", lambda a, m: m["early_stopping"].update(best="low"), "checkpoint field early_stopping.best null or a number"),
    ("optimizer.t a string", lambda a, m: m["optimizer"].update(t="2"), "checkpoint field optimizer.t an integer >= 0"),
    ("no optimizer.lr", lambda a, m: _pop(m["optimizer"], "lr"), "checkpoint field optimizer.lr a number >= 0, got nothing"),
    ("settings a number", lambda a, m: m.update(settings=5), "checkpoint field settings an object"),
    # the fields that depend on the trainer (its optimizer's, its schedule's), found by Trainer.load_state_dict
    ("no optimizer.beta1", lambda a, m: _pop(m["optimizer"], "beta1"), "bad.npz: expected checkpoint field optimizer.beta1 a number, got nothing (the field is missing)"),
    ("optimizer.eps a string", lambda a, m: m["optimizer"].update(eps="1e-8"), "bad.npz: expected checkpoint field optimizer.eps a number, got str '1e-8'"),
    ("schedule field gone", lambda a, m: _pop(m["schedule"], "bad_epochs"), "bad.npz: expected checkpoint field schedule the fields of a ReduceLROnPlateau"),
    ("schedule.factor a string", lambda a, m: m["schedule"].update(factor="x"), "bad.npz: expected checkpoint field schedule.factor a value like 0.7"),
    ("best weights of another shape", lambda a, m: a.update({"best/head.bias": np.zeros(3, np.float32)}), "bad.npz: expected checkpoint field best weights of the model's keys and shapes"),
    ("history shorter than the epochs", lambda a, m: m["history"].pop(), "bad.npz: expected checkpoint field history 2 entries (one per epoch run)"),
    ("history value a string", lambda a, m: m["history"][0].update(loss="x"), "bad.npz: expected checkpoint field history[0].loss a number, got str 'x'"),
    ("schedule epoch negative", lambda a, m: m["schedule"].update(epoch=-5), "bad.npz: expected checkpoint state that loads, got ReduceLROnPlateau.load_state_dict: expected epoch >= 0, got -5"),
    # a hyper-parameter that is not what the settings recorded beside it make (they are this
    # trainer's): edited, even within range (beta1 0.5 loaded silently); its lr is the initial one
    ("optimizer.beta1 in range, not the settings'", lambda a, m: m["optimizer"].update(beta1=0.5), "bad.npz: expected checkpoint field optimizer.beta1 0.9 (as its settings record 'optimizer beta1'), got 0.5. The checkpoint is damaged"),
    ("optimizer.beta1 out of range", lambda a, m: m["optimizer"].update(beta1=7), "bad.npz: expected checkpoint field optimizer.beta1 0.9 (as its settings record 'optimizer beta1'), got 7."),
    ("optimizer.weight_decay not the settings'", lambda a, m: m["optimizer"].update(weight_decay=0.25), "bad.npz: expected checkpoint field optimizer.weight_decay 0.0 (as its settings record 'optimizer weight_decay'), got 0.25."),
    ("optimizer.initial_lr not the settings' lr", lambda a, m: m["optimizer"].update(initial_lr=0.5), "bad.npz: expected checkpoint field optimizer.initial_lr 0.01 (as its settings record 'lr'), got 0.5."),
    ("schedule.base_lr not the optimizer's", lambda a, m: m["schedule"].update(base_lr=0.5), "bad.npz: expected checkpoint field schedule.base_lr 0.01 (as optimizer.initial_lr), got 0.5."),
    # the model's names and shapes are this trainer's, so what the loads refuse was edited or damaged:
    # found after the model's weights were written, and undone
    ("optimizer slot of another shape", lambda a, m: a.update({"optim/exp_avg/head.weight": np.zeros((1, 1), np.float32)}), "bad.npz: expected checkpoint state that loads, got Adam.load_state_dict: expected exp_avg/head.weight shape (2, 5), got shape (1, 1)"),
    ("optimizer slot missing", lambda a, m: _pop(a, "optim/exp_avg/head.weight"), "got Adam.load_state_dict: expected state array 'exp_avg/head.weight' present after"),
    ("optimizer slot nan", lambda a, m: a["optim/exp_avg/head.weight"].fill(np.nan), "got Adam.load_state_dict: expected exp_avg/head.weight finite values, got nan or inf"),
    ("mean of squares negative", lambda a, m: a["optim/exp_avg_sq/head.bias"].fill(-1.0), "got Adam.load_state_dict: expected exp_avg_sq/head.bias values >= 0 (a mean of squares), got min -1.0"),
    ("model weight nan", lambda a, m: a["model/head.bias"].fill(np.nan), "bad.npz: expected checkpoint state that loads, got SequenceModel.load_state_dict: expected head.bias finite values, got NaN or inf"),
]  # fmt: skip
OTHER = [  # (what, edit, the mismatch the error names): well-formed, for another model or trainer
    ("no model weight", lambda a, m: _pop(a, "model/head.bias"), "Trainer.load_state_dict: expected model/ arrays exactly the model's keys"),
    ("another optimizer", lambda a, m: m["optimizer"].update(type="SGD"), "Trainer.load_state_dict: expected optimizer state of an Adam, got state of 'SGD'"),
    ("a weight of another shape", lambda a, m: a.update({"model/head.weight": np.zeros((3, 5), np.float32)}), "Trainer.load_state_dict: expected model/head.weight shape (2, 5) (this model's), got shape (3, 5)"),
]  # fmt: skip


@pytest.mark.parametrize("what,edit,message,damaged", [(*d, True) for d in DAMAGE] + [(*o, False) for o in OTHER], ids=[d[0] for d in DAMAGE + OTHER])
def test_a_damaged_checkpoint_changes_nothing(tmp_path, what, edit, message, damaged):
    X, Y, lengths = data()
    trainer_with().fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "c.npz")
    arrays, meta = lio.load_arrays(tmp_path / "c.npz")
    edit(arrays, meta)
    lio.save_arrays(tmp_path / "bad.npz", arrays, meta)
    t = trainer_with()
    t.fit(X, Y, lengths, epochs=1)  # a trainer one epoch in: its state differs from the file's
    before = snapshot(t)
    with pytest.raises(ValueError) as e:
        load_checkpoint(tmp_path / "bad.npz", t)
    assert str(tmp_path / "bad.npz") in str(e.value) and message in str(e.value), str(e.value)
    # a damaged field is called damaged, naming it; only a well-formed file of another model or
    # trainer is called that
    assert isinstance(e.value, FileFormatError) == damaged, str(e.value)
    assert ("The checkpoint is damaged or was edited" in str(e.value)) == damaged, str(e.value)
    assert ("was written for another model or trainer" in str(e.value)) != damaged, str(e.value)
    assert_same(snapshot(t), before)
    load_checkpoint(tmp_path / "c.npz", t)  # the file as written does load: the snapshot can tell
    assert t.epoch == 2 and t.optimizer.t != before["optim_scalars"]["t"]


def test_an_lr_changed_by_a_schedule_or_a_callback_resumes(tmp_path):
    # the current lr is not the settings' (the initial one) once a schedule or a callback has
    # changed it: such a checkpoint is the run's own and loads; only its initial_lr is compared
    X, Y, lengths = data()
    halve = lambda t, logs: setattr(t.optimizer, "lr", t.optimizer.lr / 2)  # noqa: E731
    for kw in ({"schedule": "cosine", "schedule_options": {"T_max": 6}}, {"schedule": None, "callbacks": [halve]}):
        straight = trainer_with(**kw)
        straight.fit(X, Y, lengths, epochs=3)
        trainer_with(**kw).fit(X, Y, lengths, epochs=2, checkpoint=tmp_path / "c.npz")
        opt = read_checkpoint(tmp_path / "c.npz")["meta"]["optimizer"]
        assert opt["lr"] != opt["initial_lr"] == 0.01
        resumed = trainer_with(**kw)
        resumed.fit(X, Y, lengths, epochs=3, checkpoint=tmp_path / "c.npz", resume=True)
        assert resumed.optimizer.lr == straight.optimizer.lr
        for k, v in straight.model.parameters().items():
            assert np.array_equal(v, resumed.model.parameters()[k]), k


def test_an_estimator_checkpoint_whose_optimizer_was_edited_is_damaged(tmp_path):
    # an estimator records its hyper-parameters (learning_rate, weight_decay, ...), not Adam's betas:
    # the settings make the optimizer, so a beta1 they do not make was edited (it loaded silently)
    X, y = est_data()
    path = tmp_path / "ck.npz"
    LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=1).fit(X, y, checkpoint=path)
    arrays, meta = lio.load_arrays(path)
    meta["optimizer"]["beta1"] = 0.5
    lio.save_arrays(tmp_path / "bad.npz", arrays, meta)
    est = LSTMClassifier(hidden_size=4, batch_size=8, seed=0, epochs=2)
    with pytest.raises(FileFormatError) as e:
        est.fit(X, y, checkpoint=tmp_path / "bad.npz", resume=True)
    assert str(e.value) == (f"{tmp_path / 'bad.npz'}: expected checkpoint field optimizer.beta1 0.9 (as the settings it records make it), got 0.5. "
                            "The checkpoint is damaged or was edited: resume from another one or start afresh.")  # fmt: skip
    assert not hasattr(est, "model_")
    assert est.fit(X, y, checkpoint=path, resume=True).n_epochs_ == 2  # the file as written resumes


def test_damaged_fields_are_file_format_errors(tmp_path):
    X, Y, lengths = data()
    trainer_with().fit(X, Y, lengths, epochs=1, checkpoint=tmp_path / "c.npz")
    arrays, meta = lio.load_arrays(tmp_path / "c.npz")
    meta["epoch"] = "two"
    lio.save_arrays(tmp_path / "bad.npz", arrays, meta)
    with pytest.raises(FileFormatError, match=r"bad.npz: expected checkpoint field epoch an integer >= 0, got str 'two'. The checkpoint is damaged"):
        read_checkpoint(tmp_path / "bad.npz")


def test_lstm_options_none_and_empty_are_one_setting(tmp_path):
    # LSTMClassifier builds the same model from lstm_options=None and {}: a resume across the two is the same run
    X, Y, lengths = data()
    y = Y[:, -1]
    straight = LSTMClassifier(hidden_size=4, epochs=2, seed=0).fit(X, y, lengths)
    LSTMClassifier(hidden_size=4, epochs=1, lstm_options={}, seed=0).fit(X, y, lengths, checkpoint=tmp_path / "e.npz")
    resumed = LSTMClassifier(hidden_size=4, epochs=2, lstm_options=None, seed=0).fit(X, y, lengths, checkpoint=tmp_path / "e.npz", resume=True)
    for k, v in straight.model_.parameters().items():
        assert np.array_equal(v, resumed.model_.parameters()[k]), k


def test_a_checkpoint_that_recorded_equal_class_weights_resumes_without_them(tmp_path, monkeypatch):
    # before 5631f17 a Trainer recorded class weights of one number ([1.0, 1.0]) as a setting, and an
    # estimator its mapping of equal weights; they train as none does (Σ c ℓ / Σ c is the plain mean), so such
    # a checkpoint resumes with none, with [2, 2], or with the mapping, and refuses other weights
    from lstmkit import SequenceModel, Trainer
    from lstmkit.checkpoint import ResumeRefused, settings_difference

    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4, 2))
    Y = (X[:, :, 0] > 0.5).astype(int)
    recorded = Trainer.settings
    monkeypatch.setattr(Trainer, "settings", lambda self: {**recorded(self), "class_weight": [1.0, 1.0]})  # the old record
    ck = str(tmp_path / "old.npz")
    Trainer(SequenceModel(2, 2, 3, seed=0), batch_size=4, seed=0).fit(X, Y, epochs=1, checkpoint=ck)
    monkeypatch.setattr(Trainer, "settings", recorded)
    for then in (None, [2.0, 2.0]):
        Trainer(SequenceModel(2, 2, 3, seed=0), class_weight=then, batch_size=4, seed=0).fit(
            X, Y, epochs=2, checkpoint=ck, resume=True)  # fmt: skip
    with pytest.raises(ResumeRefused, match="class_weight"):
        Trainer(SequenceModel(2, 2, 3, seed=0), class_weight=[1.0, 2.0], batch_size=4, seed=0).fit(
            X, Y, epochs=3, checkpoint=ck, resume=True)  # fmt: skip
    # an estimator's mapping, and what is not one number > 0, compare as recorded
    assert settings_difference({"settings": {"class_weight": {"a": 3, "b": 3}}}, {}) is None
    assert settings_difference({"settings": {"class_weight": [2, 2.0]}}, {}) is None  # (JSON's int and float: one number)
    # (an int beyond float64, a damaged file's: no weight, not an OverflowError)
    for weights in ([0.0, 0.0], [1.0, 2.0], {"a": 1, "b": 2}, [True, True], [], ["a", "a"], [None, None], [10**400, 10**400]):
        assert settings_difference({"settings": {"class_weight": weights}}, {}) is not None, weights


def test_a_resume_with_other_sample_weights_says_the_setting_is_their_digest(tmp_path):
    # the setting is a digest on both sides: the refusal says it is the sample weights'
    from lstmkit import SequenceModel, Trainer

    X, Y = np.random.default_rng(0).normal(size=(6, 3, 2)), np.array([0, 1, 0, 1, 1, 0])
    ck = str(tmp_path / "w.npz")
    Trainer(SequenceModel(2, 2, 3, head="last", seed=0), seed=0).fit(X, Y, epochs=1, checkpoint=ck, sample_weight=[1, 2, 1, 2, 1, 2])
    with pytest.raises(ResumeRefused, match=r"Resume with the same sample weights \(the setting is their digest; only epochs may grow\), or start afresh"):
        Trainer(SequenceModel(2, 2, 3, head="last", seed=0), seed=0).fit(X, Y, epochs=2, checkpoint=ck, resume=True,
                                                                      sample_weight=[2, 1, 2, 1, 2, 1])  # fmt: skip
