"""Inference shared between threads: predict calls overlapping on one model or estimator."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lstmkit
from lstmkit.models import SequenceModel
from lstmkit.training import predict


def _overlapped(monkeypatch, cls, call, note):
    """Two calls ``call()`` in threads A and B, ordered by events, not timing: A enters first and waits,
    in its first ``cls.__call__``, until B is inside its call; B's first ``cls.__call__`` waits until A's
    call has returned. ``note(module)`` is recorded at each ``cls.__call__`` of either. Returns
    ({who: call's result}, {who: [note, ...]})."""
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, list] = {"A": [], "B": []}
    original = cls.__call__

    def hooked(self, *args, **kw):
        who = threading.current_thread().name
        if who in seen:
            if who == "A" and not seen["A"]:  # A's first forward: wait until B is inside its call
                a_in.set()
                assert b_in.wait(10)
            if who == "B" and not seen["B"]:  # B's first forward: wait until A's call has returned
                b_in.set()
                assert a_done.wait(10)
            seen[who].append(note(self))
        return original(self, *args, **kw)

    monkeypatch.setattr(cls, "__call__", hooked)
    out = {}

    def run(who):
        out[who] = call()
        if who == "A":
            a_done.set()

    a = threading.Thread(target=run, args=("A",), name="A")
    b = threading.Thread(target=run, args=("B",), name="B")
    a.start()
    assert a_in.wait(10)
    b.start()
    a.join(20)
    b.join(20)
    assert not a.is_alive() and not b.is_alive()
    monkeypatch.setattr(cls, "__call__", original)
    return out, seen


def test_overlapping_predicts_never_run_with_dropout_and_the_last_restores_training_mode(monkeypatch):
    # A enters predict first (saving training mode) and B second; A ends while B is still in its first
    # batch. Each call restoring the mode it saw on entry put the model back in training mode there, so
    # B's second batch ran with inter-layer dropout. Driven by events, not timing: the same order every run.
    model = SequenceModel(3, 2, 8, num_layers=2, dropout=0.5, dtype=np.float64, seed=0)
    assert model.training
    X = np.random.default_rng(1).standard_normal((4, 5, 3))
    # the reference: the same model in eval mode (dropout off), serially
    ref = predict(model.eval(), X, batch_size=2)
    model.train()
    out, seen = _overlapped(monkeypatch, SequenceModel, lambda: predict(model, X, batch_size=2),
                            lambda m: (m.training, m.rnn.training))
    assert seen == {"A": [(False, False)] * 2, "B": [(False, False)] * 2}  # eval mode in every batch of both
    assert np.array_equal(out["A"], ref) and np.array_equal(out["B"], ref)
    assert model.training and model.rnn.training  # the last call to end restored training mode
    # a model in eval mode is left in it
    model.eval()
    assert np.array_equal(predict(model, X, batch_size=2), ref) and not model.training


def test_many_threads_predicting_on_one_fitted_dropout_classifier_match_a_serial_run():
    # a stress run beside the ordered test above: a 2-layer classifier with dropout 0.5, shared by 4 threads
    # (an audit saw 2-4 of 60 calls differ, by up to 0.32 in a probability, before the fix)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 12, 3))
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    clf = lstmkit.LSTMClassifier(hidden_size=16, num_layers=2, dropout=0.5, epochs=1, seed=0, verbose=0).fit(X, y)
    # and a network in training mode, as a caller of training.predict may hand it: switched to eval by the
    # first call to start and back by the last to end
    model = SequenceModel(3, 2, 16, num_layers=2, dropout=0.5, seed=0)
    ref, ref_m = clf.predict_proba(X), predict(model, X, batch_size=64)
    deadline = time.monotonic() + 20  # a bound on the run, not a measurement: fewer calls on a slow host

    def call(k):
        if time.monotonic() > deadline:
            return None
        if k % 2:
            return "clf", clf.predict_proba(X)
        return "model", predict(model, X, batch_size=64)

    with ThreadPoolExecutor(4) as ex:
        results = [r for r in ex.map(call, range(48)) if r is not None]
    assert len(results) >= 8
    for kind, p in results:
        assert np.array_equal(p, ref if kind == "clf" else ref_m), kind
    assert not clf.model_.training and model.training


def test_overlapping_lstm_file_predicts_never_run_with_dropout(monkeypatch):
    # read_lstm's LSTMFile.predict saved the mode it saw, set eval, and restored it: A (entered on a model in
    # training mode) ending while B runs put the model back in training mode under B, whose forward then ran
    # with inter-layer dropout. Ordered by events: B's forward starts only once A's predict has returned.
    from lstmkit.modelfile import LSTMFile
    from lstmkit.recurrent import LSTM

    lstm = LSTM(3, 8, num_layers=2, dropout=0.5, dtype=np.float64, seed=0)
    file = LSTMFile(lstm, None, {})
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    ref = file.predict(x)  # the model in training mode, serially: predict runs it in eval mode
    assert lstm.training
    out, seen = _overlapped(monkeypatch, LSTM, lambda: file.predict(x), lambda m: m.training)
    assert seen == {"A": [False], "B": [False]}  # eval mode in both forwards
    assert np.array_equal(out["A"], ref) and np.array_equal(out["B"], ref)
    assert lstm.training  # the last call to end restored training mode
