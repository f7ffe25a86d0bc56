"""LSTMStream: one step per call gives torch's numbers for the whole sequence, on both backends.

Oracle: torch.nn.LSTM run on the whole sequence (independent of lstmkit), float64 to 1e-12 and
float32 to 1e-5. Plus the contract: checks that name the argument, a rejected step leaves the
state alone, the weights are a snapshot, reset/state round trip.
"""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit import LSTMStream
from oracles import assert_close, torch_twin

torch = pytest.importorskip("torch")

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    if request.param == "numba" and not lstmkit.backends.available()["numba"]:
        pytest.skip("numba not installed: the compiled backend is optional")
    return request.param


def _lstm(backend, dtype, **kw):
    m = lstmkit.LSTM(kw.pop("I", 3), kw.pop("H", 5), dtype=dtype, seed=kw.pop("seed", 0), **kw).eval()
    m.backend = backend
    return m


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw, B",
    [
        ({}, 1),
        ({}, 3),
        ({"num_layers": 2}, 2),
        ({"num_layers": 2, "proj_size": 2, "H": 4}, 3),
        ({"bias": False, "I": 1, "H": 20}, 1),  # tiny product: the compiled loop, not BLAS
        ({"I": 32, "H": 128}, 1),  # one row, large product: BLAS on W as stored
        ({"I": 16, "H": 64}, 4),  # batch, large product: packed weights (BLAS on W^T without AVX-512)
    ],
)
def test_stream_matches_torch_on_the_whole_sequence(backend, dtype, kw, B):
    T = 6
    m = _lstm(backend, dtype, **kw)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(T, B, m.input_size)).astype(dtype)
    h0 = rng.normal(size=(m.num_layers, B, m.output_size)).astype(dtype)
    c0 = rng.normal(size=(m.num_layers, B, m.hidden_size)).astype(dtype)
    with torch.no_grad():
        y_t, (h_t, c_t) = torch_twin(m)(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    s = m.stream(B, (h0, c0))
    ys = np.stack([s.step(x[t]) for t in range(T)])
    tol = TOL[dtype]
    assert_close(ys, y_t.numpy(), tol, tol, "y")
    h, c = s.state
    assert_close(h, h_t.numpy(), tol, tol, "h_T")
    assert_close(c, c_t.numpy(), tol, tol, "c_T")
    assert s.steps == T


def test_stream_equals_forward_per_step_and_continues_a_forward(backend):
    m = _lstm(backend, np.float64, num_layers=2)
    x = np.random.default_rng(2).normal(size=(8, 2, 3))
    y, (h, c) = m(x[:5])
    s = m.stream(2, (h, c))  # carry on from where forward stopped
    rest = np.stack([s.step(x[t]) for t in range(5, 8)])
    y_all, (h_all, c_all) = m(x)
    assert_close(rest, y_all[5:], 1e-12, 1e-12, "y after the handover")
    assert_close(s.state[0], h_all, 1e-12, 1e-12, "h_T")


def test_unbatched_stream(backend):
    m = _lstm(backend, np.float64)
    x = np.random.default_rng(3).normal(size=(4, 3))
    y, (h, c) = m(x)  # unbatched forward: (T, I)
    s = m.stream(unbatched=True)
    ys = np.stack([s.step(x[t]) for t in range(4)])
    assert ys.shape == (4, 5) and s.state[0].shape == (1, 5)
    assert_close(ys, y, 1e-12, 1e-12, "y")
    assert_close(s.state[1], c, 1e-12, 1e-12, "c_T")


def test_weights_are_a_snapshot_and_reset_restarts(backend):
    m = _lstm(backend, np.float64)
    x = np.random.default_rng(4).normal(size=(3, 1, 3))
    s = m.stream()
    first = [s.step(x[t]) for t in range(3)]
    m.weight_ih_l0[...] += 1.0  # the stream keeps the weights it was made with
    s.reset()
    assert s.steps == 0
    again = [s.step(x[t]) for t in range(3)]
    assert_close(np.stack(again), np.stack(first), 0, 0, "after reset")
    assert not np.allclose(m.stream().step(x[0]), first[0])  # a new stream sees the new weights


def test_returned_arrays_are_copies(backend):
    s = _lstm(backend, np.float64).stream()
    y = s.step(np.ones((1, 3)))
    h, c = s.state
    y[...] = 7.0
    h[...] = 7.0
    assert not np.any(s.state[0] == 7.0)


def test_rejected_step_leaves_the_state_alone(backend):
    s = _lstm(backend, np.float32).stream(2)
    s.step(np.ones((2, 3), np.float32))
    before = s.state
    bad = np.ones((2, 3), np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"LSTMStream.step.*x.*finite values.*\(1, 2\)"):
        s.step(bad)
    with pytest.raises(ValueError, match=r"LSTMStream.step.*x.*shape \(2, 3\).*shape \(3,\)"):
        s.step(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"x.*floating"):
        s.step(np.ones((2, 3), np.int64))
    assert s.steps == 1
    for a, b in zip(s.state, before):
        assert_close(a, b, 0, 0, "state")


def test_read_only_input_is_accepted(backend):
    x = np.ones((1, 3))
    x.flags.writeable = False
    s = _lstm(backend, np.float64).stream()
    y = s.step(x)
    assert_close(y, _lstm(backend, np.float64)(x[None])[0][0], 1e-12, 1e-12, "y")


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: lstmkit.LSTM(3, 4, bidirectional=True).stream(), ValueError, "unidirectional.*bidirectional=True"),
        (lambda: lstmkit.LSTM(3, 4, peephole=True).stream(), ValueError, "plain LSTM.*peephole"),
        (lambda: LSTMStream(lstmkit.RNN(3, 4)), TypeError, "lstm.*an lstmkit.LSTM.*RNN"),
        (lambda: lstmkit.LSTM(3, 4).stream(0), ValueError, r"^LSTMStream: expected batch_size >= 1, got 0.$"),
        (lambda: lstmkit.LSTM(3, 4).stream(2, unbatched=True), ValueError, "unbatched.*batch_size=1"),
        (lambda: lstmkit.LSTM(3, 4).stream(2, (np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))), ValueError, r"state\[0\] batch size 2 \(as the stream.s batch_size\)"),
    ],
)
def test_bad_streams_are_refused_with_the_argument_named(make, err, match):
    with pytest.raises(err, match=match):
        make()


@pytest.mark.parametrize("batch_size,got", [(2.0, "float 2.0"), ("2", "str '2'"), (True, "bool True"), (None, "NoneType None")])
def test_a_batch_size_that_is_no_integer_is_a_type_error(batch_size, got):
    with pytest.raises(TypeError, match=rf"^LSTMStream: expected batch_size an integer, got {got}.$"):
        lstmkit.LSTM(3, 4).stream(batch_size)
    assert lstmkit.LSTM(3, 4).stream(np.int64(2)).batch_size == 2
