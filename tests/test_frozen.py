"""lstmkit.frozen: a frozen LSTM gives the LSTM's inference, prepares its weights once, and stays a snapshot.

Oracle: the LSTM it was frozen from, on the NumPy reference kernels in no_grad and eval mode
(checked against PyTorch and finite differences elsewhere), float64 to 1e-12 and float32 to 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit import threads
from oracles import assert_close

TOL = {np.float64: 1e-12, np.float32: 1e-5}
BACKENDS = ["numpy"] + (["numba"] if lstmkit.backends.available()["numba"] else [])


def _reference(m, x, hx=None, lengths=None):
    """m's inference on the NumPy reference kernels, in eval mode, m left as it was."""
    backend, training = m.backend, m.training
    m.backend = "numpy"
    m.eval()
    try:
        with m.no_grad():
            return m(x, hx, lengths=lengths)
    finally:
        m.backend, m.training = backend, training


def _inputs(m, T=6, B=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, m.input_size) if m.batch_first else (T, B, m.input_size)).astype(m.dtype)
    LD = m.num_layers * m.num_directions
    hx = (rng.normal(size=(LD, B, m.output_size)).astype(m.dtype), rng.normal(size=(LD, B, m.hidden_size)).astype(m.dtype))
    return x, hx, rng.integers(1, T + 1, B)


def _assert_same(got, want, dtype):
    (y, (h, c)), (y_r, (h_r, c_r)) = got, want
    for name, a, b in (("y", y, y_r), ("h_n", h, h_r), ("c_n", c, c_r)):
        assert_close(a, b, TOL[dtype], TOL[dtype], name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw",
    [{}, {"num_layers": 2, "bidirectional": True}, {"proj_size": 3}, {"batch_first": True},
     {"num_layers": 2, "dropout": 0.5, "peephole": True, "zoneout_cell": 0.3}],  # fmt: skip
)
@pytest.mark.parametrize("with_state", [False, True])
def test_frozen_gives_the_lstms_inference(backend, dtype, kw, with_state):
    m = lstmkit.LSTM(4, 8, dtype=dtype, seed=0, **kw)
    m.backend = backend
    x, hx, lengths = _inputs(m)
    f = m.freeze()
    assert isinstance(f, lstmkit.FrozenLSTM) and f.backend == backend and f.dtype == m.dtype
    args = (hx, lengths) if with_state else (None, None)
    want = _reference(m, x, *args)
    for _ in range(2):  # the second call on what the first prepared
        _assert_same(f(x, *args), want, dtype)
    assert m.training and m.requires_grad and m._cache is None  # the LSTM itself untouched


@pytest.fixture
def split_units(monkeypatch):
    """Two threads, the hidden units split from a W_hh of 1000 elements and 16 units per thread
    (as tests/test_kernels_units.py); yields the list of the (u0, u1) that ``_packed_rows`` packed."""
    kn = pytest.importorskip("lstmkit.kernels_numba")
    if not kn.AVAILABLE or threads._BLAS is None or not kn.GEMM or kn._packed_kernels(np.float32).size == 0:
        pytest.skip("no packed kernels or BLAS threads here: the units are never split")
    from lstmkit import kernels_units as ku

    monkeypatch.setattr(threads, "UNIT_WEIGHTS", 1000)
    monkeypatch.setattr(threads, "MIN_UNITS", 16)
    packed, real = [], ku._packed_rows

    def spy(W_ih, W_hh, u0, u1, bufs=None):
        packed.append((u0, u1))
        return real(W_ih, W_hh, u0, u1, bufs)

    monkeypatch.setattr(ku, "_packed_rows", spy)
    threads.set_num_threads(2)
    yield packed
    threads.set_num_threads(1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True}])
def test_a_split_layer_packs_its_weights_once(split_units, dtype, kw):
    m = lstmkit.LSTM(5, 48, dtype=dtype, seed=0, **kw)
    m.backend = "numba"
    x, hx, lengths = _inputs(m, T=7, B=4)
    per_call = 2 * m.num_layers * m.num_directions  # each thread its rows, each layer and direction
    want = _reference(m, x, hx, lengths)
    with m.no_grad():
        m(x, hx, lengths=lengths)
        m(x, hx, lengths=lengths)
    assert len(split_units) == 2 * per_call  # forward packs on every call
    split_units.clear()
    f = m.freeze()
    for _ in range(3):
        _assert_same(f(x, hx, lengths), want, dtype)
        _assert_same(f(x), _reference(m, x), dtype)
    assert len(split_units) == per_call  # the first call packed, the others read what it kept
    # another thread count splits the units otherwise: packed again, for it, and kept
    split_units.clear()
    threads.set_num_threads(3)
    for _ in range(2):
        _assert_same(f(x, hx, lengths), want, dtype)
    assert len(split_units) == 3 * m.num_layers * m.num_directions
    assert sorted(set(split_units)) == [(0, 16), (16, 32), (32, 48)]


def test_a_frozen_lstm_is_a_snapshot():
    m = lstmkit.LSTM(4, 8, num_layers=2, seed=0)
    x, hx, _ = _inputs(m)
    before = _reference(m, x, hx)
    f = m.freeze()
    m.weight_hh_l1 = np.zeros_like(m.weight_hh_l1)  # the LSTM changes (so would an optimizer step)
    m.load_state_dict({"bias_ih_l0": np.ones_like(m.bias_ih_l0)}, strict=False)
    _assert_same(f(x, hx), before, np.float32)
    _assert_same(m.freeze()(x, hx), _reference(m, x, hx), np.float32)  # freezing again sees the change
    # what it hands out are copies: writing them changes nothing
    f.weight_ih_l0[...] = 0
    f.state_dict()["weight_hh_l0"][...] = 0
    _assert_same(f(x, hx), before, np.float32)
    assert sorted(f.state_dict()) == sorted(m.state_dict())


def test_a_frozen_lstm_runs_inference_only():
    m = lstmkit.LSTM(4, 8, seed=0)
    f = m.freeze()
    x, _, _ = _inputs(m)
    y, _ = f(x)
    with pytest.raises(TypeError, match=r"FrozenLSTM\.backward: a frozen LSTM runs inference only"):
        f.backward(np.ones_like(y))
    with pytest.raises(AttributeError, match=r"FrozenLSTM: expected hidden_size unchanged .* got an assignment"):
        f.hidden_size = 3
    with pytest.raises(AttributeError, match="FrozenLSTM: expected weight_ih_l0 unchanged"):
        f.weight_ih_l0 = np.zeros((32, 4), np.float32)
    for name in ("grads", "train", "load_state_dict", "no_grad"):
        with pytest.raises(AttributeError, match=f"FrozenLSTM has no attribute '{name}': it runs inference only"):
            getattr(f, name)
    with pytest.raises(AttributeError, match="FrozenLSTM has no attribute 'save'"):
        f.save("model.lstm")
    assert (f.input_size, f.hidden_size, f.num_layers, f.output_size) == (4, 8, 1, 8)
    assert repr(f) == f"FrozenLSTM({m!r})"


def test_freeze_takes_an_lstm_and_checks_inputs_as_the_lstm_does():
    with pytest.raises(TypeError, match="FrozenLSTM: expected lstm an lstmkit.LSTM, got RNN"):
        lstmkit.FrozenLSTM(lstmkit.RNN(4, 8))
    f = lstmkit.LSTM(4, 8, seed=0).freeze()
    with pytest.raises(ValueError, match=r"LSTM: expected x feature size .*input_size=4, got 3"):
        f(np.zeros((5, 2, 3), np.float32))


def test_a_frozen_lstms_stream_steps_its_weights():
    m = lstmkit.LSTM(4, 8, seed=0)
    f = m.freeze()
    x, _, _ = _inputs(m, B=1)
    m.weight_ih_l0 = np.zeros_like(m.weight_ih_l0)
    s = f.stream()
    ys = np.stack([s.step(x[t]) for t in range(x.shape[0])])
    assert_close(ys, f(x)[0], 1e-5, 1e-5, "y")


def test_a_frozen_lstm_copies_and_pickles_for_transport():
    # joblib / multiprocessing hand a model to workers by pickle (transport, not a file format)
    import copy
    import pickle

    m = lstmkit.LSTM(4, 8, num_layers=2, seed=0)
    f = m.freeze()
    x, hx, lengths = _inputs(m)
    want = _reference(m, x, hx, lengths)
    for g in (copy.deepcopy(f), pickle.loads(pickle.dumps(f))):
        assert isinstance(g, lstmkit.FrozenLSTM)
        _assert_same(g(x, hx, lengths), want, np.float32)
