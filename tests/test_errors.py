"""Bad input raises ValueError/TypeError naming the argument, the expected and the actual value."""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit

LSTM = lstmkit.LSTM


@pytest.fixture
def lstm():
    return LSTM(3, 4, num_layers=2, seed=0)


@pytest.mark.parametrize(
    "call,exc,pattern",
    [
        (lambda m: m(np.zeros((2, 2, 2, 3))), ValueError, r"LSTM: expected x a 3-D array \(T, B, I\) or a 2-D unbatched array \(T, I\), got 4-D shape \(2, 2, 2, 3\)"),
        (lambda m: m(np.zeros(3)), ValueError, r"expected x a 3-D array .* got 1-D"),
        (lambda m: m(np.zeros((5, 2, 7))), ValueError, r"expected x feature size \(last dimension\) input_size=3, got 7"),
        (lambda m: m(np.zeros((0, 2, 3))), ValueError, r"expected x at least one time step, got T = 0"),
        (lambda m: m(np.full((2, 1, 3), np.nan)), ValueError, r"expected x finite values, got nan at index \(0, 0, 0\)"),
        (lambda m: m(np.zeros((2, 1, 3), dtype=int)), TypeError, r"expected x a real floating-point array, got dtype int64"),
        (lambda m: m(np.array([[["a", "b", "c"]]], dtype=object)), TypeError, r"got dtype object"),
        (lambda m: m(np.zeros((2, 1, 3)), (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))), ValueError, r"expected h0 batch size 1 \(as x\) in dimension 1, got shape \(2, 3, 4\)"),
        (lambda m: m(np.zeros((2, 1, 3)), (np.zeros((1, 1, 4)), np.zeros((2, 1, 4)))), ValueError, r"expected h0 first dimension num_layers\*num_directions = 2, got shape \(1, 1, 4\)"),
        (lambda m: m(np.zeros((2, 1, 3)), (np.zeros((2, 1, 4)), np.zeros((2, 1, 5)))), ValueError, r"expected c0 shape \(2, 1, 4\), got shape \(2, 1, 5\)"),
        (lambda m: m(np.zeros((2, 1, 3)), np.zeros((2, 1, 4))), TypeError, r"expected hx a pair \(h0, c0\)"),
        (lambda m: m(np.zeros((2, 1, 3)), (np.full((2, 1, 4), np.inf), np.zeros((2, 1, 4)))), ValueError, r"expected h0 finite values, got inf"),
        (lambda m: m(np.zeros((4, 2, 3)), lengths=[1, 5]), ValueError, r"expected lengths values in \[1, T=4\], got 5"),
        (lambda m: m(np.zeros((4, 2, 3)), lengths=[0, 2]), ValueError, r"expected lengths values in \[1, T=4\], got 0"),
        (lambda m: m(np.zeros((4, 2, 3)), lengths=[1, 2, 3]), ValueError, r"expected lengths shape \(2,\), one length per sequence, got shape \(3,\)"),
        (lambda m: m(np.zeros((4, 2, 3)), lengths=[1.0, 2.0]), TypeError, r"expected lengths an integer array, got dtype float64"),
        (lambda m: m.backward(np.zeros((4, 2, 4))), RuntimeError, r"LSTM.backward: expected a forward pass .* before backward"),
    ],
)
def test_bad_input_messages(lstm, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(lstm)


def test_backward_shape_check(lstm):
    lstm(np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match=r"LSTM.backward: expected dy shape \(4, 2, 4\), got shape \(4, 2, 3\)"):
        lstm.backward(np.zeros((4, 2, 3)))


@pytest.mark.parametrize(
    "kwargs,exc,pattern",
    [
        (dict(hidden_size=0), ValueError, r"expected hidden_size >= 1, got 0"),
        (dict(hidden_size=2.5), TypeError, r"expected hidden_size an integer, got float 2.5"),
        (dict(proj_size=4), ValueError, r"expected proj_size smaller than hidden_size=4, got 4"),
        (dict(dropout=1.0), ValueError, r"expected dropout a finite number in \[0, 1\), got 1.0"),
        (dict(dtype=np.int32), TypeError, r"expected dtype numpy.float32 or numpy.float64"),
        (dict(seed="x"), TypeError, r"expected seed None, an integer >= 0 or a numpy.random.Generator, got str 'x'"),
        (dict(seed=-1), ValueError, r"expected seed None, an integer >= 0 or a numpy.random.Generator, got int -1"),  # not NumPy's bare error
    ],
)
def test_bad_constructor_arguments(kwargs, exc, pattern):
    args = dict(input_size=3, hidden_size=4) | kwargs
    with pytest.raises(exc, match=pattern):
        LSTM(**args)


def test_failed_load_leaves_model_unchanged(lstm):
    before = lstm.state_dict()
    bad = dict(before)
    bad["weight_hh_l1"] = np.zeros((16, 5))
    with pytest.raises(ValueError, match=r"weight_hh_l1: expected shape|expected weight_hh_l1 shape \(16, 4\)"):
        lstm.load_state_dict(bad | {"weight_ih_l0": np.ones((16, 3))})
    nan = dict(before) | {"bias_ih_l0": np.full(16, np.nan)}
    with pytest.raises(ValueError, match="finite"):
        lstm.load_state_dict(nan)
    with pytest.raises((KeyError, ValueError), match="missing"):
        lstm.load_state_dict({k: v for k, v in before.items() if k != "bias_hh_l1"})
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_unbatched_and_batch_first_shapes():
    m = LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True, seed=0)
    y, (h, c) = m(np.zeros((5, 7, 3)))
    assert y.shape == (5, 7, 4) and h.shape == (4, 5, 2) and c.shape == (4, 5, 4)
    y, (h, c) = m(np.zeros((7, 3)))  # unbatched is (T, I) regardless of batch_first
    assert y.shape == (7, 4) and h.shape == (4, 2) and c.shape == (4, 4)
    dx, (dh, dc) = m.backward(np.ones((7, 4)))
    assert dx.shape == (7, 3) and dh.shape == (4, 2) and dc.shape == (4, 4)
    r = lstmkit.RNN(3, 4, bidirectional=True)
    y, h = r(np.zeros((7, 2, 3)))
    assert y.shape == (7, 2, 8) and h.shape == (2, 2, 4)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy's, from the fast pass
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_finite_check_takes_huge_finite_values_and_finds_every_nonfinite_one(dt):
    # the check's fast pass (a sum of squares) overflows on huge finite values: those must still be
    # accepted, and a nan, +inf or -inf anywhere among them reported with its index
    from lstmkit._checks import check_float_array

    big = np.finfo(dt).max / 2
    x = np.full((3, 2, 4), big, dtype=dt)
    x[0, 0, 0] = -big
    np.testing.assert_array_equal(check_float_array(x, "f", "x", np.dtype(dt)), x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[2, 1, 3] = bad
        with pytest.raises(ValueError, match=r"expected x finite values, got .* at index \(2, 1, 3\)"):
            check_float_array(y, "f", "x", np.dtype(dt))
        z = np.zeros((5,), dtype=dt)
        z[4] = bad
        with pytest.raises(ValueError, match=r"at index \(4,\)"):
            check_float_array(z, "f", "x", np.dtype(dt))


@pytest.mark.parametrize(
    "lengths,exc,message",
    [
        ([3, 0, 2, 4], ValueError, "expected lengths values in [1, T=4], got 0 at index 1. A sequence has at least one step (lengths >= 1): leave the empty ones out of the batch."),
        ([3, 5, 2, 4], ValueError, "expected lengths values in [1, T=4], got 5 at index 1. Pad the batch to the longest sequence."),
        ([3, 2], ValueError, "expected lengths shape (4,), one length per sequence, got shape (2,)."),
        ([3.0, 1.0, 2.0, 4.0], TypeError, "expected lengths an integer array, got dtype float64."),
    ],
)
def test_lengths_are_checked_in_one_wording_by_the_layers_the_trainer_and_the_estimators(lengths, exc, message):
    # three checks said it three ways: the estimators "[1, T=4]", the Trainer "[1, 4]" (both with
    # the range, "got range [0, 4]"), the layers the value and, for a 0, the hint to leave it out
    X = np.zeros((4, 4, 2))  # (n, T, F)
    y = np.array([0, 1, 0, 1])
    calls = {
        "LSTM": lambda: LSTM(2, 3, batch_first=True)(X, lengths=lengths),
        "Trainer.fit": lambda: lstmkit.Trainer(lstmkit.SequenceModel(2, 2, 3, head="last", dtype=np.float64)).fit(X, y, lengths, epochs=1),
        "predict": lambda: lstmkit.training.predict(lstmkit.SequenceModel(2, 2, 3, dtype=np.float64), X, lengths),
        "LSTMClassifier.fit": lambda: lstmkit.LSTMClassifier(epochs=1).fit(X, y, lengths),
        "LSTMRegressor.fit": lambda: lstmkit.LSTMRegressor(epochs=1).fit(X, y.astype(float), lengths),
    }
    for where, call in calls.items():
        with pytest.raises(exc) as info:
            call()
        assert str(info.value) == f"{where}: {message}"


def test_messages_read_a_name_with_its_article_as_it_is_said(tmp_path):
    # "an LSTM" (el-es-tee-em), "a GRU", "an Adam": an acronym by its first letter's sound, a word by its first letter
    from lstmkit._checks import a_or_an

    said = {"LSTM": "an", "RNN": "an", "SGD": "an", "GRU": "a", "Adam": "an", "StepLR": "a", "SequenceModel": "a", "LSTMClassifier": "an"}
    assert {w: a_or_an(w).split()[0] for w in said} == said
    # where a model file for another module is loaded
    from lstmkit.modelfile import load_lstm, save_lstm

    save_lstm(tmp_path / "m.npz", lstmkit.LSTM(3, 4, seed=0))
    with pytest.raises(lstmkit.io.FileFormatError, match=r"expected an RNN with config .*, got an LSTM with config"):
        load_lstm(tmp_path / "m.npz", into=lstmkit.RNN(3, 5, seed=0))


# -- what a PyTorch user passes: lstmkit's message, not NumPy's or torch's ------------------------
def test_a_packed_sequence_is_refused_with_the_padded_route():
    torch = pytest.importorskip("torch")
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(6, 3, 3), torch.tensor([6, 4, 2]))
    with pytest.raises(TypeError, match=r"^LSTM: expected x a real floating-point array, got a torch PackedSequence. Pass the "
                       r"padded tensor and lengths= instead: x, lengths = torch.nn.utils.rnn.pad_packed_sequence\(packed\) "
                       r"\(batch_first=True for a batch-first layer\), then call the layer with \(x, lengths=lengths\).$"):  # fmt: skip
        LSTM(3, 4)(packed)
    # the route it names gives torch's numbers' inputs: the padded tensor and its lengths
    x, lengths = torch.nn.utils.rnn.pad_packed_sequence(packed)
    y, _ = LSTM(3, 4)(x, lengths=lengths)
    assert y.shape == (6, 3, 4) and not y[4:, 2].any()  # past sequence 2's 2 steps: zeros


@pytest.mark.parametrize("x,got", [
    ([np.zeros((3, 3)), np.zeros((2, 3))], r"a ragged list \(items of shapes \(3, 3\), \(2, 3\)\)"),
    ([[[0.0] * 3] * 3, [[0.0] * 3] * 2], r"a ragged list \(items of shapes \(3, 3\), \(2, 3\)\)"),
    (np.array([np.zeros((3, 3)), np.zeros((2, 3))], dtype=object), r"an object array of arrays \(shapes \(3, 3\), \(2, 3\)\)"),
])
def test_sequences_of_different_lengths_in_a_list_are_told_to_pad_and_pass_lengths(x, got):
    with pytest.raises(ValueError, match=rf"^LSTM: expected x a real floating-point array, got {got}. The sequences must be one "
                       r"array: pad them to the longest and pass lengths= \(each one's number of steps\).$"):  # fmt: skip
        LSTM(3, 4)(x)


def test_a_tensor_that_requires_grad_is_detached_and_one_off_the_cpu_is_refused():
    torch = pytest.importorskip("torch")
    m = LSTM(3, 4, dtype=np.float64, seed=0)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    y, (h, c) = m(x, (torch.zeros(1, 2, 4, dtype=torch.float64, requires_grad=True),) * 2)
    y_np, _ = m(x.detach().numpy())
    np.testing.assert_array_equal(y, y_np)
    assert isinstance(y, np.ndarray) and x.grad is None
    with pytest.raises(TypeError, match=r"^LSTM: expected x an array in the CPU's memory, got a torch tensor on meta. lstmkit "
                       r"computes in NumPy, on the CPU: pass tensor.cpu\(\).$"):  # fmt: skip
        m(torch.empty(5, 2, 3, device="meta"))


@pytest.mark.parametrize("call,where,arg,got,fix", [
    (lambda m, x, s: m(x, (s[0],)), "LSTM", "hx", r"a tuple of length 1", r"pass hx=\(h0, c0\)"),
    (lambda m, x, s: m(x, s[0]), "LSTM", "hx", r"an array of shape \(2, 1, 4\)", r"pass hx=\(h0, c0\)"),
    (lambda m, x, s: m(x, [*s, s[0]]), "LSTM", "hx", r"a list of length 3", r"pass hx=\(h0, c0\)"),
    (lambda m, x, s: (m(x), m.backward(np.zeros((2, 1, 4)), (s[0],))), "LSTM.backward", "d_state", r"a tuple of length 1",
     r"pass d_state=\(dh_n, dc_n\)"),
])
def test_an_lstm_state_that_is_not_a_pair_says_what_it_is(lstm, call, where, arg, got, fix):
    s = (np.zeros((2, 1, 4)), np.zeros((2, 1, 4)))
    names = r"\(h0, c0\)" if arg == "hx" else r"\(d_state\[0\], d_state\[1\]\)"
    with pytest.raises(TypeError, match=rf"^{where}: expected {arg} a pair {names}, got {got}. An LSTM has two states: {fix}.$"):
        call(lstm, np.zeros((2, 1, 3)), s)

