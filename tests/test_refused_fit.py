"""A refused fit leaves the Trainer as it was: every refusal point of ``Trainer.fit`` (and of the
one-call ``fit`` and ``Trainer.evaluate``), its state compared before and after, and the run that
follows compared with the same run without the refused call (the oracle: a trainer that never saw it)."""

import json

import numpy as np
import pytest

from lstmkit import io as lio
from lstmkit.checkpoint import ResumeRefused, read_checkpoint, save_checkpoint
from lstmkit.io import FileFormatError
from lstmkit.losses import UnweighedTargets
from lstmkit.models import SequenceModel
from lstmkit.training import Trainer, UnweighedSamples, fit

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 4, 2))
Y = rng.integers(0, 2, size=(12, 4))
L = rng.integers(2, 5, size=12)
S = rng.uniform(0.5, 2.0, size=12)  # sample weights, not all equal
PAST = {"validation_split": 0.25, "sample_weight": S}  # the fit each trainer has behind it (and resumes)


def make(**kw):
    # dropout, shuffling, Adam, a schedule, early stopping (best weights): every piece of state a fit writes
    model = SequenceModel(2, 2, 4, num_layers=2, dropout=0.25, dtype=np.float64, seed=0)
    options = {"batch_size": 4, "seed": 0, "lr": 0.05, "patience": 5, "schedule": "plateau", "schedule_options": {"patience": 0}}
    return Trainer(model, **{**options, **kw})


def state(t):
    """Everything of the trainer a fit may write: the state a checkpoint records (weights, optimizer,
    schedule, random generators, epoch, history, early stopping, the data's record and the settings
    with the sample weights' digest), validation_indices, the model's mode, and which history and
    generator objects the trainer holds (a caller may hold them too)."""
    sd = t.state_dict()
    return {
        "arrays": {k: v.copy() for k, v in sd["arrays"].items()}, "meta": json.dumps(sd["meta"], sort_keys=True),
        "settings": json.dumps(t.settings(), sort_keys=True), "data": json.dumps(t._data),
        "validation_indices": None if t.validation_indices is None else t.validation_indices.tolist(),
        "training": t.model.training, "objects": (id(t.history), id(t.shuffle_rng), id(t.model.dropout_rng)),
    }  # fmt: skip


def assert_same(after, before):
    assert after.keys() == before.keys()
    assert after["arrays"].keys() == before["arrays"].keys()
    for k, v in before["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][k], v, err_msg=k)
    for k in before:
        if k != "arrays":
            assert after[k] == before[k], k


def weights(model):
    return {k: v.copy() for k, v in model.parameters().items()}


def strip(history):
    return [{k: v for k, v in e.items() if k != "time"} for e in history.epochs]


def _damaged(tmp_path, ck):  # a checkpoint whose Adam state was edited: refused as damaged, after its settings and data agree
    arrays, meta = lio.load_arrays(ck)
    meta["optimizer"]["beta1"] = 0.5
    lio.save_arrays(tmp_path / "bad.npz", arrays, meta)
    return {"checkpoint": tmp_path / "bad.npz", "resume": True}


def _nan_weight(tmp_path, ck):  # every field well-formed, a NaN weight: refused by the model's load, after the others are written
    arrays, meta = lio.load_arrays(ck)
    arrays["model/head.bias"] = arrays["model/head.bias"] * np.nan
    lio.save_arrays(tmp_path / "nan.npz", arrays, meta)
    return {"checkpoint": tmp_path / "nan.npz", "resume": True}


# (what, the refused call's arguments (from tmp_path and the checkpoint the past fit wrote), its error, words of its message)
REFUSALS = [
    ("epochs < 0", lambda tmp, ck: {"epochs": -1}, ValueError, "epochs"),
    ("resume without a checkpoint", lambda tmp, ck: {"resume": True}, ValueError, "expected checkpoint a path with resume=True"),
    ("on_resume not callable", lambda tmp, ck: {"on_resume": "print"}, TypeError, "on_resume"),
    ("X of another width", lambda tmp, ck: {"X": X[..., :1]}, ValueError, "expected X 2 features"),
    ("Y of other rows", lambda tmp, ck: {"Y": Y[:5]}, ValueError, "expected Y 12 rows"),
    ("a negative sample weight", lambda tmp, ck: {"sample_weight": -S}, ValueError, "expected sample_weight finite values >= 0"),
    # the refusals after the data and its weights are read (the data's record and the weights' digest were written first)
    ("validation_data of 1", lambda tmp, ck: {"X": X + 1, "validation_split": 0.0, "validation_data": [X]}, TypeError, "expected validation_data a tuple"),
    ("validation_data weighing nothing", lambda tmp, ck: {"X": X + 1, "validation_split": 0.0, "validation_data": (X, Y, L, np.zeros(12))},
     UnweighedSamples, "expected validation_data[3] a weight > 0"),
    ("validation_split 1.5", lambda tmp, ck: {"X": X + 1, "validation_split": 1.5}, ValueError, "expected validation_split a float in (0, 1)"),
    ("training targets weighing nothing", lambda tmp, ck: {"X": X + 1, "sample_weight": np.zeros(12)}, UnweighedSamples,
     "expected sample_weight a weight > 0 for a valid target among the training targets"),
    ("monitor not logged", lambda tmp, ck: {"X": X + 1, "validation_split": 0.0}, ValueError,
     "expected monitor one of the logged values ['loss', 'accuracy'], got 'val_loss'"),  # (a trainer that watches val_loss)
    # a resume refused by the checkpoint
    ("a resume with other sample weights", lambda tmp, ck: {"sample_weight": S[::-1], "checkpoint": ck, "resume": True}, ResumeRefused,
     "was written with sample_weight"),
    ("a resume without the sample weights", lambda tmp, ck: {"sample_weight": None, "checkpoint": ck, "resume": True}, ResumeRefused,
     "was written with sample_weight"),
    ("a resume on other data", lambda tmp, ck: {"X": X + 1, "checkpoint": ck, "resume": True}, ResumeRefused, "while training on other data"),
    ("a resume with fewer epochs", lambda tmp, ck: {"epochs": 0, "checkpoint": ck, "resume": True}, ResumeRefused, "has run 1 epochs already"),
    ("a damaged checkpoint", _damaged, FileFormatError, "expected checkpoint field optimizer.beta1 0.9"),
    ("a NaN weight in the checkpoint", _nan_weight, FileFormatError, "expected checkpoint state that loads"),
]  # fmt: skip


@pytest.mark.parametrize("what,refused,exc,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_fit_leaves_the_trainer_as_it_was_and_the_next_fit_runs_as_without_it(tmp_path, what, refused, exc, words):
    ck = tmp_path / "c.npz"
    t = make(monitor="val_loss" if what == "monitor not logged" else None)
    history = t.fit(X, Y, L, epochs=1, checkpoint=ck, **PAST)  # a trainer with a past: fitted, recorded, a checkpoint written
    written = ck.read_bytes()
    before = state(t)
    call = {"X": X, "Y": Y, "lengths": L, "epochs": 3, **PAST, **refused(tmp_path, ck)}
    with pytest.raises(exc) as e:
        t.fit(call.pop("X"), call.pop("Y"), **call)
    assert words in str(e.value), str(e.value)
    assert_same(state(t), before)
    assert t.history is history
    assert ck.read_bytes() == written  # (nothing ran: the checkpoint is the past fit's)
    # the next fit, a resume from the past fit's checkpoint, and the trainer's checkpoint of where it is now
    # (save_checkpoint records its data and weights: the past fit's) are the run that never saw the refusal
    save_checkpoint(tmp_path / "now.npz", t)
    t.fit(X, Y, L, epochs=3, checkpoint=ck, resume=True, **PAST)
    oracle = make(monitor="val_loss" if what == "monitor not logged" else None)
    oracle.fit(X, Y, L, epochs=1, **PAST)
    oracle.fit(X, Y, L, epochs=3, **PAST)
    assert strip(t.history) == strip(oracle.history) and t.epoch == oracle.epoch == 3
    for k, v in weights(oracle.model).items():
        np.testing.assert_array_equal(t.model.parameters()[k], v, err_msg=k)
    resumed = make(monitor="val_loss" if what == "monitor not logged" else None)
    resumed.fit(X, Y, L, epochs=3, checkpoint=tmp_path / "now.npz", resume=True, **PAST)
    for k, v in weights(oracle.model).items():
        np.testing.assert_array_equal(resumed.model.parameters()[k], v, err_msg=k)


def test_a_resume_refused_for_the_split_it_draws_leaves_the_trainer_as_it_was(tmp_path):
    # the rows validation_split holds out are drawn from the checkpoint's seed: checked after the checkpoint,
    # before anything of it is written. Seed 0 holds out rows 1 and 3 of 8 (NumPy's permutation below); with
    # class weights [0, 1] and class 1 only in row 7, the held-out targets weigh nothing
    x = rng.normal(size=(8, 3, 2))
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    held = np.sort(np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0]).permutation(8)[:2])
    assert 7 not in held

    def trainer():
        model = SequenceModel(2, 2, 4, head="last", num_layers=2, dropout=0.25, dtype=np.float64, seed=0)
        return Trainer(model, class_weight=[0.0, 1.0], batch_size=4, seed=0, lr=0.05)

    ck = tmp_path / "c.npz"
    trainer().fit(x, y, epochs=1, checkpoint=ck)  # the checkpoint: no split (a Trainer's split is not a setting)
    t = trainer()
    history = t.fit(x[::-1], y[::-1], epochs=2)  # a trainer with a past of its own, two epochs in
    before = state(t)
    with pytest.raises(UnweighedTargets, match=r"^Trainer.fit: expected class_weight a weight > 0 for a class among the targets "
                                               r"validation_split held out"):
        t.fit(x, y, epochs=2, checkpoint=ck, resume=True, validation_split=0.25)
    assert_same(state(t), before)
    assert t.history is history
    t.fit(x, y, epochs=2, checkpoint=ck, resume=True)  # it resumes from the checkpoint as if the refusal had not been
    oracle = trainer()
    oracle.fit(x, y, epochs=2)
    assert strip(t.history) == strip(oracle.history)
    for k, v in weights(oracle.model).items():
        np.testing.assert_array_equal(t.model.parameters()[k], v, err_msg=k)


def test_a_checkpoint_saved_after_a_refused_fit_records_the_data_trained_on(tmp_path):
    # the user-facing case: a fit refused (validation data of the wrong form, on new data), then the trainer saved by
    # hand; the checkpoint records the data and weights it was trained on, so a resume on them goes ahead
    t = make()
    t.fit(X, Y, L, epochs=1, **PAST)
    with pytest.raises(TypeError, match="expected validation_data a tuple"):
        t.fit(X[:6], Y[:6], L[:6], epochs=3, validation_data=X[6:], sample_weight=S[:6][::-1])
    save_checkpoint(tmp_path / "c.npz", t)
    assert read_checkpoint(tmp_path / "c.npz")["meta"]["data"]["shapes"] == [[12, 4, 2], [12, 4], [12]]
    resumed = make()
    resumed.fit(X, Y, L, epochs=2, checkpoint=tmp_path / "c.npz", resume=True, **PAST)
    oracle = make()
    oracle.fit(X, Y, L, epochs=2, **PAST)
    for k, v in weights(oracle.model).items():
        np.testing.assert_array_equal(resumed.model.parameters()[k], v, err_msg=k)


def test_the_one_call_fit_refused_leaves_the_model_as_it_was(tmp_path):
    # fit(model, ...) builds a Trainer for the call: a refusal, by the Trainer or by its fit, leaves the model's
    # weights, its dropout generator and its mode as they were, and a fit after it is that of a model never refused
    def model():
        return SequenceModel(2, 2, 4, num_layers=2, dropout=0.25, dtype=np.float64, seed=0)

    ck = tmp_path / "c.npz"
    fit(model(), X, Y, L, epochs=1, batch_size=4, seed=0, checkpoint=ck, **PAST)
    m = model()
    m.eval()
    before = (weights(m), json.dumps(m.dropout_rng.bit_generator.state), m.training)
    for call, exc in [
        ({"batch_size": 0}, ValueError),
        ({"validation_split": 2.0}, ValueError),
        ({"sample_weight": np.zeros(12)}, UnweighedSamples),
        ({"checkpoint": ck, "resume": True, "sample_weight": None}, ResumeRefused),
        ({"checkpoint": ck, "resume": True, "epochs": 0}, ResumeRefused),
    ]:
        with pytest.raises(exc):
            fit(m, X, Y, L, **{"epochs": 2, "batch_size": 4, "seed": 0, **PAST, **call})
        after = (weights(m), json.dumps(m.dropout_rng.bit_generator.state), m.training)
        assert after[1:] == before[1:], call
        for k, v in before[0].items():
            np.testing.assert_array_equal(after[0][k], v, err_msg=k)
    m.train()
    fit(m, X, Y, L, epochs=2, batch_size=4, seed=0, checkpoint=ck, resume=True, **PAST)
    oracle = model()
    fit(oracle, X, Y, L, epochs=2, batch_size=4, seed=0, **PAST)
    for k, v in weights(oracle).items():
        np.testing.assert_array_equal(m.parameters()[k], v, err_msg=k)


def test_a_refused_evaluate_leaves_the_trainer_and_its_model_as_they_were():
    # evaluate writes nothing: its refusals (of the data, the weights, targets weighing nothing, a metric's result)
    # leave the trainer's state, the model's mode and its generator as they were; the numbers after are the same
    mean_only = []  # (a metric that returns a mean, once told to: refused when called)

    def hits(out, y, mask):
        return 0.5 if mean_only else (float(((out.argmax(-1) == y) * mask).sum()), float(mask.sum()))

    t = make(metrics={"hits": hits})
    t.fit(X, Y, L, epochs=1, **PAST)
    t.model.train()
    before = state(t)
    expected = t.evaluate(X, Y, L, sample_weight=S)
    assert_same(state(t), before)
    for args, kw, exc in [
        ((X[..., :1], Y, L), {}, ValueError),
        ((X, Y[:5], L), {}, ValueError),
        ((X, Y, L), {"sample_weight": -S}, ValueError),
        ((X, Y, L), {"sample_weight": np.zeros(12)}, UnweighedSamples),
    ]:
        with pytest.raises(exc):
            t.evaluate(*args, **kw)
        assert_same(state(t), before)
    mean_only.append(True)
    with pytest.raises(TypeError, match=r"metrics\['hits'\] to return a pair"):
        t.evaluate(X, Y, L)
    mean_only.clear()
    assert_same(state(t), before)
    assert t.evaluate(X, Y, L, sample_weight=S) == expected


class _NoOutputSize(SequenceModel):
    """A model that does not say its number of outputs (a duck-typed one's): its class weights are not
    compared with its outputs when the Trainer is built."""

    def __getattribute__(self, k):
        if k == "output_size" and object.__getattribute__(self, "__dict__").get("hide"):  # (built with one)
            raise AttributeError(k)
        return super().__getattribute__(k)


def test_class_weights_not_one_per_output_of_a_model_without_output_size_are_refused_before_anything_runs():
    # the outputs are read from the model (eval mode, one sequence) before anything is written: refused in the
    # first batch, the shuffle and the dropout masks were drawn and the model put in training mode first
    x, y = X[:, :3], rng.integers(0, 2, size=12)
    model = _NoOutputSize(2, 3, 4, head="last", num_layers=2, dropout=0.25, dtype=np.float64, seed=0)  # 3 outputs
    model.__dict__["hide"] = True
    model.eval()
    t = Trainer(model, class_weight=[1.0, 2.0], batch_size=4, seed=0)

    def seen():
        opt = t.optimizer.state_dict()
        return (weights(model), json.dumps(model.dropout_rng.bit_generator.state), model.training,
                json.dumps(t.shuffle_rng.bit_generator.state), t._data, t.epoch, json.dumps(opt["scalars"]), len(t.history))  # fmt: skip

    before = seen()
    message = (r"expected class_weight shape \(3,\) \(one weight per output of the model, one per class\), got shape \(2,\)\. "
               r"Give one class weight per class, in the order of the class indices, or build the model with one output per class\.$")  # fmt: skip
    with pytest.raises(ValueError, match="^Trainer.fit: " + message):
        t.fit(x, y, epochs=1)
    with pytest.raises(ValueError, match="^Trainer.evaluate: " + message):
        t.evaluate(x, y)
    after = seen()
    assert after[1:] == before[1:]
    for k, v in before[0].items():
        np.testing.assert_array_equal(after[0][k], v, err_msg=k)


def test_a_user_metric_returning_its_mean_is_refused_before_anything_runs():
    # refused in the first batch, after the shuffle, the dropout masks and the first optimizer step: the
    # weights had moved. Now the metric is called on the model's output for X's first sequence first
    for bad, exc, words in [(lambda o, y, m: 0.5, TypeError, "to return a pair (sum over valid targets, their count), got float 0.5"),
                            (lambda o, y, m: (0.0, -1), ValueError, "to return a count >= 0, got -1.0")]:  # fmt: skip
        t = make(metrics={"m": bad})
        before = state(t)
        with pytest.raises(exc) as e:
            t.fit(X, Y, L, epochs=2, validation_split=0.25)
        assert str(e.value).startswith("Trainer: expected metrics['m'] " + words), str(e.value)
        assert_same(state(t), before)
        assert len(t.history) == 0
