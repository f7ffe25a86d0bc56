"""Ragged sequences (lengths given): each batch runs its own longest sequence's steps, not the
data's T, in fit and in predict; what comes out is what running all T steps gives to round-off
(a BLAS may round a matrix product's rows differently for fewer rows; padding's outputs exactly). The references run the model directly over all T steps (the
untrimmed path), not through the code under test."""

import numpy as np
import pytest

from lstmkit.losses import softmax_cross_entropy
from lstmkit.models import SequenceModel
from lstmkit.recurrent import LSTM
from lstmkit.training import Trainer, predict

N, T, I, B = 23, 19, 3, 8
LENGTHS = np.array([3, 5, 2, 7, 1, 4, 6, 2,   9, 3, 12, 4, 2, 8, 5, 1,   2, 4, 3, 5, 1, 6, 2])  # batches' longest: 7, 12, 6 (< T)
LONGEST = [7, 12, 6]


def _data(dtype=np.float32, head="all"):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, T, I)).astype(dtype)
    Y = rng.integers(0, 3, (N, T) if head == "all" else N)
    return X, Y


def _record_T(monkeypatch):
    """The T of every LSTM kernel forward (x is time-major (T, B, I)), in call order."""
    seen = []
    kernels = LSTM._kernels

    class Recording:
        def __init__(self, k):
            self._k = k

        def __getattr__(self, name):
            return getattr(self._k, name)

        def lstm_forward(self, x, *args, **kwargs):
            seen.append(x.shape[0])
            return self._k.lstm_forward(x, *args, **kwargs)

    monkeypatch.setattr(LSTM, "_kernels", lambda self: Recording(kernels(self)))
    return seen


@pytest.mark.parametrize("bidirectional", [False, True])
def test_fit_runs_each_batch_at_its_longest_length(monkeypatch, bidirectional):
    X, Y = _data()
    model = SequenceModel(I, 6, 3, bidirectional=bidirectional, seed=0)
    seen = _record_T(monkeypatch)
    Trainer(model, batch_size=B, shuffle=False, seed=0).fit(X, Y, LENGTHS, epochs=2)
    per_batch = [t for t in LONGEST for _ in range(2 if bidirectional else 1)]  # (one call per direction)
    assert seen == per_batch * 2  # was T = 19 for every call


def test_fit_with_bptt_runs_the_chunks_within_the_batch_and_counts_the_rest(monkeypatch):
    X, Y = _data()
    model = SequenceModel(I, 6, 3, seed=0)
    seen = _record_T(monkeypatch)
    advanced = []
    trainer = Trainer(model, batch_size=B, shuffle=False, seed=0, bptt=5)
    from lstmkit import training

    class Bar:  # the progress: each update's advance (1 per chunk run, n for the n chunks not run)
        def start_epoch(self, epoch, epochs, steps):
            advanced.append(("start", steps))

        def update(self, logs, advance=1):
            advanced.append(advance)

        def end_epoch(self, logs):
            pass

        def close(self):
            pass

    monkeypatch.setattr(training, "make_progress", lambda verbose, stream: Bar())
    trainer.fit(X, Y, LENGTHS, epochs=1)
    # chunks of 5 steps up to each batch's longest (7: 5+2; 12: 5+5+2; 6: 5+1), none past it
    assert seen == [5, 2, 5, 5, 2, 5, 1]  # was 5, 5, 5, 4 per batch (then the chunks past every length skipped)
    # the bar: ceil(19 / 5) = 4 chunks a batch, 12 in all, whether run or not
    assert advanced[0] == ("start", 12) and sum(advanced[1:]) == 12


@pytest.mark.parametrize("head", ["all", "last"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_predict_runs_each_batch_at_its_longest_length_and_returns_the_same_numbers(monkeypatch, head, bidirectional):
    X, _ = _data(head=head)
    X[np.arange(T)[None, :] >= LENGTHS[:, None]] = 5.0  # padding that would show if it were read
    model = SequenceModel(I, 6, 3, head=head, bidirectional=bidirectional, num_layers=2, seed=0)
    expected = []  # the untrimmed path: every batch over all T steps, through the model itself
    with model.no_grad():
        model.eval()
        for s in range(0, N, B):
            expected.append(model(X[s : s + B], LENGTHS[s : s + B])[0])
        model.train()
    expected = np.concatenate(expected)
    seen = _record_T(monkeypatch)
    got = predict(model, X, LENGTHS, batch_size=B)
    # to round-off, not bit for bit: the layers' input products have T_b·B rows instead of T·B,
    # and a BLAS (OpenBLAS, MKL) may round a row differently in a product of another row count;
    # outputs are O(1) in float32 (eps 1.2e-7), so a few ulps through 2 layers stay below 1e-6
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    if head == "all":  # the padding's outputs (a padded step: the layer's zeros through the read-out) exactly
        pad = np.arange(T)[None, :] >= LENGTHS[:, None]
        assert np.array_equal(got[pad], expected[pad])
    # per step, one step of padding more (its output fills the steps up to T)
    steps = [t + (head == "all") for t in LONGEST for _ in range(2 * (2 if bidirectional else 1))]  # 2 layers
    assert seen == steps  # was T = 19 for every call


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fit_equals_the_untrimmed_update_to_round_off(dtype, tol, bidirectional):
    """One SGD step on one batch (all N rows, longest 12 of T = 19), with per-step sample weights,
    against the same step taken by hand over all T steps: forward with the lengths, the masked
    mean cross-entropy, backward, w -= lr g."""
    X, Y = _data(dtype)
    w = np.random.default_rng(3).random((N, T))
    w[np.arange(T)[None, :] >= LENGTHS[:, None]] = 0.0  # (fit zeroes them past the lengths too)
    model = SequenceModel(I, 6, 3, bidirectional=bidirectional, seed=1, dtype=dtype)
    ref = SequenceModel(I, 6, 3, bidirectional=bidirectional, seed=1, dtype=dtype)
    Trainer(model, optimizer="sgd", lr=0.5, batch_size=N, shuffle=False, seed=0).fit(X, Y, LENGTHS, epochs=1, sample_weight=w)
    out, _ = ref(X, LENGTHS)  # (N, T, 3), every step
    mask = (np.arange(T)[None, :] < LENGTHS[:, None]).astype(np.float64)
    _, dout = softmax_cross_entropy(out, Y, mask, sample_weight=w)
    ref.zero_grad()
    ref.backward(dout)
    for k, p in ref.parameters().items():
        p -= 0.5 * ref.grads[k]
    for k, p in model.parameters().items():
        np.testing.assert_allclose(p, ref.parameters()[k], rtol=0, atol=tol, err_msg=k)


@pytest.mark.parametrize("head", ["all", "last"])
def test_predict_of_a_module_without_head_mode_runs_all_steps_and_keeps_its_shape(head):
    """A user's Module wrapping a SequenceModel, with no head_mode of its own: predict cannot know
    whether its output is per step, so it runs every step as the wrapped model does (helper-217 #2:
    head="last" gave (5, 38), its 8 outputs cut as if they were steps and repeated)."""
    from lstmkit.module import Module

    class Wrap(Module):
        def __init__(self):
            super().__init__()
            self.inner = SequenceModel(2, 8, 4, head=head, seed=0)
            self.dtype = self.inner.dtype

        def forward(self, x, lengths=None, state=None):
            return self.inner(x, lengths, state)

        __call__ = forward

    X = np.random.default_rng(0).standard_normal((5, 10, 2)).astype(np.float32)
    lengths = np.array([3, 2, 2, 3, 1])
    wrap = Wrap()
    assert not hasattr(wrap, "head_mode")
    got = predict(wrap, X, lengths)
    with wrap.inner.no_grad():
        wrap.inner.eval()
        expected, _ = wrap.inner(X, lengths)  # all 10 steps, the model itself
    assert got.shape == ((5, 8) if head == "last" else (5, 10, 8))
    assert np.array_equal(got, expected)  # the same call, all T steps: the same bits
