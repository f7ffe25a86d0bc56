"""Python pickling of live objects (joblib.dump, multiprocessing, scikit-learn's n_jobs): a round trip
gives back the same model, its predictions equal to the bit to the original's (the oracle), and the
holder relation of a model's sub-modules (Module.to refuses a held layer cast alone) restored.
lstmkit's own files never hold a pickle (test_modelfile, test_io); this is transport, not a format."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import lstmkit
from lstmkit import optim
from lstmkit.module import _EvalMode
from lstmkit.training import predict


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5, 3))
    return X, (X[:, :, 0].sum(1) > 0).astype(int), X[:, :, 1].sum(1)


def _assert_holds_its_parts(model):
    """The unpickled model's layers are its own: cast alone to the other dtype they are refused, naming the
    model; cast with the model, they are cast, their arrays still the model's."""
    other = np.float32 if model.dtype == np.float64 else np.float64
    for name in ("rnn", "head"):
        with pytest.raises(ValueError, match=rf"the dtype of the SequenceModel holding it as \.{name}, got {other.__name__}"):
            getattr(model, name).to(other)
    assert model.to(other) is model
    for name in ("rnn", "head"):
        sub = getattr(model, name)
        assert sub.dtype == other
        for k, p in sub.parameters().items():
            assert model.parameters()[f"{name}.{k}"] is p and model.grads[f"{name}.{k}"] is sub.grads[k]


def _fitted(kind):
    X, y, yr = _data()
    if kind == "classifier":
        est = lstmkit.LSTMClassifier(hidden_size=4, epochs=2, seed=0).fit(X, y)
        return est, lambda e: e.predict_proba(X)
    if kind == "regressor":
        est = lstmkit.LSTMRegressor(hidden_size=4, epochs=2, seed=0).fit(X, yr)
        return est, lambda e: e.predict(X)
    if kind == "forecaster":
        est = lstmkit.LSTMForecaster(window=6, horizon=2, hidden_size=4, epochs=2).fit(np.sin(np.arange(60) / 3.0) + 2.0)
        return est, lambda e: e.predict(4)
    text = "hello world, hello lstm. " * 4
    est = lstmkit.TextGenerator(hidden_size=4, epochs=1, seq_len=10, batch_size=2).fit(text)
    return est, lambda e: (e.perplexity(text), e.generate("he", length=20, seed=3))


@pytest.mark.parametrize("kind", ["classifier", "regressor", "forecaster", "text"])
def test_a_fitted_estimator_pickles_and_predicts_as_the_original(kind):
    # a regression of 69bdced: the layers' recorded holder, a weakref, made pickle raise TypeError
    est, predict = _fitted(kind)
    expected = predict(est)
    back = _round_trip(est)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    got = predict(back)
    if kind == "text":
        assert got == expected
    else:
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    for e in (back, est):  # pickling left the original as it was
        _assert_holds_its_parts(e.regressor_.model_ if kind == "forecaster" else e.model_)


def test_a_sequence_model_pickles_with_its_layers_sharing_its_parameters():
    X, _, _ = _data()
    m = lstmkit.SequenceModel(3, 2, 4, num_layers=2, seed=0)
    out, (h, c) = m(X)
    back = _round_trip(m)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    out2, (h2, c2) = back(X)
    for a, b in ((out, out2), (h, h2), (c, c2)):
        np.testing.assert_array_equal(a, b)
    back.backward(np.ones_like(out2))  # gradients reach the model's dict through its layers
    m.backward(np.ones_like(out))
    for k, g in m.grads.items():
        np.testing.assert_array_equal(back.grads[k], g)
    _assert_holds_its_parts(back)
    rnn = _round_trip(m.rnn)  # a layer pickled alone is a layer of its own
    assert rnn.double().dtype == np.float64


def _from_old_state(m):
    """A copy restored from the state an older lstmkit pickled: its whole __dict__, counters included."""
    c = object.__new__(type(m))
    c.__setstate__(copy.deepcopy({k: v for k, v in m.__dict__.items() if k != "_held_by"}))
    return c


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy", "old state"])
def test_a_copy_made_while_a_predict_runs_has_no_block_open(how):
    # helper-138 finding 3: the copy kept the open blocks' depth counters (1), so after copy.train() its
    # predicts never switched to eval (they ran with inter-layer dropout) and its no_grad left gradients on.
    # The reference: the original's predict in eval mode with no block open (dropout off), serially.
    X, _, _ = _data()
    m = lstmkit.SequenceModel(3, 2, 8, num_layers=2, dropout=0.5, seed=0)
    ref = predict(m.eval(), X, batch_size=8)
    m.train()
    take = {"pickle": _round_trip, "deepcopy": copy.deepcopy, "copy": copy.copy, "old state": _from_old_state}[how]
    with _EvalMode(m), m.no_grad():  # what a predict running on m in another thread has open
        c = take(m)
    assert m.training and m.requires_grad  # the original's blocks closed as they opened
    assert not c.training and c.requires_grad is False  # a snapshot in the mode it was seen in
    c.train()
    c.requires_grad = True
    np.testing.assert_array_equal(predict(c, X, batch_size=8), ref)
    assert c.training and c.rnn.training and c.requires_grad  # restored by the copy's own blocks
    with c.no_grad():
        assert c.requires_grad is False
    assert c.requires_grad is True


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_an_optimizer_pickles_with_its_model_and_steps_on_as_the_original(name):
    X, _, _ = _data()
    m = lstmkit.SequenceModel(3, 2, 4, seed=0)
    opt = getattr(optim, name)(m, lr=0.05)
    for _ in range(2):  # slots and step count that are not their initial ones
        opt.zero_grad()
        out, _ = m(X)
        m.backward(out - 1.0)
        opt.step()
    back = _round_trip(opt)
    assert back.t == opt.t == 2
    assert back.module.parameters() is not m.parameters()  # a copy of the model, not the original
    for o in (opt, back):  # one more step each, from the same data
        o.zero_grad()
        out, _ = o.module(X)
        o.module.backward(out - 1.0)
        o.step()
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(back.module.state_dict()[k], v)
    _assert_holds_its_parts(back.module)


def test_a_fitted_trainer_pickles():
    X, y, _ = _data()
    t = lstmkit.Trainer(lstmkit.SequenceModel(3, 2, 4, seed=0), batch_size=8, seed=0)
    t.fit(X, np.repeat(y[:, None], 5, axis=1), epochs=2)
    back = _round_trip(t)
    assert back.epoch == t.epoch and back.history.epochs == t.history.epochs
    np.testing.assert_array_equal(back.model(X)[0], t.model(X)[0])
    assert back.optimizer.module is back.model  # one model in the copy, as in the original
    _assert_holds_its_parts(back.model)
