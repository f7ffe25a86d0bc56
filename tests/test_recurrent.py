"""LSTM and RNN sequence layers: hand-written BPTT against finite differences and PyTorch.

Every option of the engine is drawn by hypothesis: num_layers 1-3, bidirectional, proj_size,
lengths, bias=False, batch_first, unbatched input, initial states, float32/float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import assert_close, central_difference, rel_error, sample_indices, torch_forward_backward

import lstmkit

torch = pytest.importorskip("torch")


@pytest.fixture(params=["numpy", "numba"])
def backend(request, monkeypatch):
    """Run a test on the readable NumPy kernels and on the compiled ones (when numba is here)."""
    if request.param == "numba" and not lstmkit.backends.available()["numba"]:
        pytest.skip("numba not installed: the compiled backend is optional")
    monkeypatch.setattr(lstmkit.LSTM, "backend", request.param)
    return request.param


@st.composite
def configs(draw, cell="lstm"):
    """One engine configuration with inputs: (module kwargs, x, hx, lengths)."""
    L = draw(st.integers(1, 3))
    bidir = draw(st.booleans())
    H = draw(st.integers(1, 4))
    I = draw(st.integers(1, 3))
    T = draw(st.integers(1, 5))
    unbatched = draw(st.booleans())
    B = 1 if unbatched else draw(st.integers(1, 3))
    kw = dict(
        num_layers=L,
        bidirectional=bidir,
        bias=draw(st.booleans()),
        batch_first=False if unbatched else draw(st.booleans()),
    )
    if cell == "lstm":
        kw["proj_size"] = draw(st.integers(0, H - 1))
    else:
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    D = 2 if bidir else 1
    P = kw.get("proj_size") or H
    shape = (T, I) if unbatched else ((B, T, I) if kw["batch_first"] else (T, B, I))
    x = rng.normal(size=shape)
    hx = None
    if draw(st.booleans()):
        sizes = (P, H) if cell == "lstm" else (H,)
        hx = [rng.normal(size=(L * D, s) if unbatched else (L * D, B, s)) for s in sizes]
    lengths = None
    if not unbatched and draw(st.booleans()):
        lengths = rng.integers(1, T + 1, size=B)
    return I, H, kw, x, hx, lengths, seed


def _run(module, x, hx, lengths, rng):
    """Forward, then backward of a random projection of all outputs and final states."""
    hx_arg = None if hx is None else (tuple(hx) if len(hx) == 2 else hx[0])
    y, state = module(x, hx_arg, lengths=lengths)
    states = list(state) if isinstance(state, tuple) else [state]
    wy = rng.normal(size=y.shape)
    ws = [rng.normal(size=s.shape) for s in states]
    d_state = tuple(ws) if len(ws) == 2 else ws[0]
    dx, d_init = module.backward(wy, d_state)
    d_init = list(d_init) if isinstance(d_init, tuple) else [d_init]
    return y, states, wy, ws, dx, d_init


@pytest.mark.parametrize("cls,cell", [(lstmkit.LSTM, "lstm"), (lstmkit.RNN, "rnn")])
def test_torch_parity_over_option_grid(cls, cell, backend):
    if cls is lstmkit.RNN and backend == "numba":
        pytest.skip("the RNN has one backend (the NumPy kernels): already run")
    @settings(max_examples=40)
    @given(cfg=configs(cell=cell), dtype=st.sampled_from([np.float64, np.float32]))
    def check(cfg, dtype):
        I, H, kw, x, hx, lengths, seed = cfg
        m = cls(I, H, dtype=dtype, seed=seed, **kw)
        rng = np.random.default_rng(seed + 1)
        y, states, wy, ws, dx, d_init = _run(m, x, hx, lengths, rng)
        ty, tstates, tdx, td_init, tgrads = torch_forward_backward(m, x, hx, lengths, wy, ws)
        tol = 1e-10 if dtype == np.float64 else 1e-5
        assert_close(y, ty, tol, name="y")
        for a, b in zip(states, tstates):
            assert_close(a, b, tol, name="final state")
        assert_close(dx, tdx, tol, name="dx")
        if hx is not None:
            for a, b in zip(d_init, td_init):
                assert_close(a, b, tol, name="d initial state")
        assert set(m.grads) == set(tgrads)
        for k, g in tgrads.items():
            assert_close(m.grads[k], g, tol * max(1.0, np.abs(g).max()), name=f"grad {k}")

    check()


@pytest.mark.parametrize("cls,cell", [(lstmkit.LSTM, "lstm"), (lstmkit.RNN, "rnn")])
def test_gradients_match_finite_differences(cls, cell, backend):
    if cls is lstmkit.RNN and backend == "numba":
        pytest.skip("the RNN has one backend (the NumPy kernels): already run")
    """Central differences (float64, eps 1e-5) on parameters, inputs and initial states."""

    @settings(max_examples=25)
    @given(cfg=configs(cell=cell))
    def check(cfg):
        I, H, kw, x, hx, lengths, seed = cfg
        if cell == "rnn" and kw["nonlinearity"] == "relu":
            kw["nonlinearity"] = "tanh"  # relu's kink makes finite differences ill-posed
        m = cls(I, H, dtype=np.float64, seed=seed, **kw)
        rng = np.random.default_rng(seed + 1)
        hx = [np.array(h) for h in hx] if hx is not None else None
        y, states, wy, ws, dx, d_init = _run(m, x, hx, lengths, rng)
        grads = {k: g.copy() for k, g in m.grads.items()}

        def loss():
            hx_arg = None if hx is None else (tuple(hx) if len(hx) == 2 else hx[0])
            with m.no_grad():
                y_, st_ = m(x, hx_arg, lengths=lengths)
            st_ = st_ if isinstance(st_, tuple) else (st_,)
            return float((y_ * wy).sum() + sum((s * w).sum() for s, w in zip(st_, ws)))

        worst = 0.0
        targets = [(f"param {k}", p, grads[k]) for k, p in m.parameters().items()]
        targets.append(("x", x, dx))
        if hx is not None:
            targets += [(f"hx[{j}]", h, d) for j, (h, d) in enumerate(zip(hx, d_init))]
        for name, arr, analytic in targets:
            for idx in sample_indices(arr, 6, rng):
                num = central_difference(loss, arr, idx)
                err = rel_error(analytic[idx], num)
                assert err <= 1e-6, f"{name}{idx}: analytic {analytic[idx]:.12g} vs numeric {num:.12g} ({kw})"
                worst = max(worst, err)

    check()


def test_dropout_between_layers_gradients_and_determinism(backend):
    """Dropout masks are seeded; backward uses the same masks (finite differences with a re-seeded
    generator); eval mode disables dropout."""
    m = lstmkit.LSTM(3, 4, num_layers=3, dropout=0.4, bidirectional=True, dtype=np.float64, seed=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 2, 3))
    wy = rng.normal(size=(5, 2, 8))

    def fwd():
        m.dropout_rng = np.random.default_rng(123)
        return m(x)[0]

    y = fwd()
    m.backward(wy)
    grads = {k: g.copy() for k, g in m.grads.items()}

    def loss():
        with m.no_grad():
            return float((fwd() * wy).sum())

    for k, p in m.parameters().items():
        for idx in sample_indices(p, 3, rng):
            num = central_difference(loss, p, idx)
            assert rel_error(grads[k][idx], num) <= 1e-6, k
    # the masks really drop something, and eval mode is deterministic and mask-free
    m.eval()
    y_eval = m(x)[0]
    assert not np.allclose(y, y_eval)
    t = torch.nn.LSTM(3, 4, num_layers=3, dropout=0.4, bidirectional=True, dtype=torch.float64).eval()
    t.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    assert_close(y_eval, t(torch.tensor(x))[0].detach().numpy(), 1e-12, name="eval-mode y")
    # same seed, same masks, same outputs
    a = lstmkit.LSTM(3, 4, num_layers=2, dropout=0.5, seed=7)(x.astype(np.float32))[0]
    b = lstmkit.LSTM(3, 4, num_layers=2, dropout=0.5, seed=7)(x.astype(np.float32))[0]
    np.testing.assert_array_equal(a, b)


def test_default_init_is_torch_uniform_and_seeded():
    m = lstmkit.LSTM(5, 16, num_layers=2, bidirectional=True, proj_size=4, seed=0)
    t = torch.nn.LSTM(5, 16, num_layers=2, bidirectional=True, proj_size=4)
    assert list(m.state_dict()) == list(t.state_dict())
    k = 1 / np.sqrt(16)
    for name, v in m.state_dict().items():
        assert v.shape == tuple(t.state_dict()[name].shape)
        assert v.dtype == np.float32
        assert np.abs(v).max() <= k
    allw = np.concatenate([v.ravel() for v in m.state_dict().values()])
    assert abs(allw.mean()) < 0.02 and abs(allw.std() - k / np.sqrt(3)) < 0.01  # U(-k, k): sd = k/√3
    s1, s2 = lstmkit.LSTM(5, 16, seed=0).state_dict(), lstmkit.LSTM(5, 16, seed=0).state_dict()
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    assert not np.array_equal(s1["weight_ih_l0"], lstmkit.LSTM(5, 16, seed=1).state_dict()["weight_ih_l0"])
    assert list(lstmkit.RNN(3, 4, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]


def test_a_layer_keeps_no_hold_of_its_seed():
    """The seed is used at construction (initial weights, dropout_rng) and not kept: a Generator
    given as seed is not held by the layer (it kept it, unread, as ``seed``)."""
    for cls in (lstmkit.LSTM, lstmkit.RNN):
        rng = np.random.default_rng(0)
        layer = cls(3, 4, seed=rng)
        assert not any(v is rng for v in vars(layer).values())
        assert not hasattr(layer, "seed")
        # the same Generator state gives the same weights: the seed is all it took
        again = cls(3, 4, seed=np.random.default_rng(0))
        assert all(np.array_equal(a, b) for a, b in zip(layer.state_dict().values(), again.state_dict().values()))


def test_lengths_semantics(backend):
    """Outputs past each end are 0; final states are the states at the last valid step; the
    result for one sequence does not depend on the padding or on the other sequences."""
    m = lstmkit.LSTM(2, 3, bidirectional=True, dtype=np.float64, seed=1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3, 2))
    lengths = np.array([2, 6, 4])
    y, (h, c) = m(x, lengths=lengths)
    for b, n in enumerate(lengths):
        assert np.all(y[n:, b] == 0)
        y1, (h1, c1) = m(x[:n, b])  # the sequence alone, unbatched, exactly its length
        assert_close(y[:n, b], y1, 1e-14)
        assert_close(h[:, b], h1, 1e-14)
        assert_close(c[:, b], c1, 1e-14)
    x2 = x.copy()
    x2[2:, 0] = 1e3  # change the padding of sequence 0
    assert_close(m(x2, lengths=lengths)[0][:, 0], y[:, 0], 0.0)


def test_step_by_step_cell_matches_fused_layer(backend):
    """The readable per-step LSTMCell and the fused sequence layer agree to round-off."""
    rng = np.random.default_rng(5)
    m = lstmkit.LSTM(3, 4, dtype=np.float64, seed=2)
    cell = lstmkit.LSTMCell(3, 4, dtype=np.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in m.state_dict().items()})
    x, h0, c0 = rng.normal(size=(7, 2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    y, (hT, cT) = m(x, (h0[None], c0[None]))
    h, c = h0, c0
    for t in range(7):
        h, c = cell(x[t], (h, c))
        assert_close(y[t], h, 1e-14, name=f"h_{t + 1}")
    assert_close(hT[0], h, 1e-14)
    assert_close(cT[0], c, 1e-14)
    # and backward: BPTT through the cells step by step equals the fused backward
    wy = rng.normal(size=y.shape)
    dx, (dh0, dc0) = m.backward(wy)
    steps, h, c = [], h0, c0
    for t in range(7):
        s = cell.step(x[t], (h, c))
        steps.append(s)
        h, c = s.h, s.c
    dh_next, dc_next = np.zeros((2, 4)), np.zeros((2, 4))
    for t in reversed(range(7)):
        cell._cache = (steps[t], True)
        dxt, (dh_next, dc_next) = cell.backward(wy[t] + dh_next, dc_next)
        assert_close(dxt, dx[t], 1e-13, name=f"dx_{t + 1}")
    assert_close(dh_next, dh0[0], 1e-13)
    assert_close(dc_next, dc0[0], 1e-13)
    for k in cell.grads:
        assert_close(cell.grads[k], m.grads[k + "_l0"], 1e-12, name=k)


def test_inference_keeps_no_cache_and_gradients_accumulate():
    m = lstmkit.LSTM(2, 3, dtype=np.float64, seed=0)
    x = np.ones((4, 1, 2))
    with m.no_grad():
        m(x)
    with pytest.raises(RuntimeError, match="forward"):
        m.backward(np.ones((4, 1, 3)))
    m(x)
    m.backward(np.ones((4, 1, 3)))
    g1 = m.grads["weight_hh_l0"].copy()
    m(x)
    m.backward(np.ones((4, 1, 3)))
    assert_close(m.grads["weight_hh_l0"], 2 * g1, 1e-14)
    m.zero_grad()
    assert all(not g.any() for g in m.grads.values())


def test_no_grad_restores_requires_grad_even_on_error_and_nests():
    m = lstmkit.LSTM(2, 3, seed=0)
    with m.no_grad() as inner:
        assert inner is m and m.requires_grad is False
        with m.no_grad():
            assert m.requires_grad is False
        assert m.requires_grad is False  # the inner block gives back what it found
    assert m.requires_grad is True
    with pytest.raises(ValueError, match="x"):
        with m.no_grad():
            m(np.ones((4, 1, 5)))  # wrong input size
    assert m.requires_grad is True
    m.requires_grad = False
    with m.no_grad():
        pass
    assert m.requires_grad is False  # not forced back to True
    m.requires_grad = True

    @m.no_grad()  # as a decorator too, nesting through recursion
    def depth(n):
        assert m.requires_grad is False
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and m.requires_grad is True


@pytest.mark.parametrize(
    "make",
    [
        lambda: lstmkit.LSTM(3, 4, dtype=np.float64, seed=0),
        lambda: lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=np.float64, seed=0),
        lambda: lstmkit.LSTM(3, 4, peephole=True, layer_norm=True, dtype=np.float64, seed=0),  # the variant path
        lambda: lstmkit.RNN(3, 4, num_layers=2, dtype=np.float64, seed=0),
    ],
    ids=["lstm", "stacked-bidir-proj", "variant", "rnn"],
)
def test_an_empty_batch_gives_empty_outputs(make, backend):
    # B = 0 (e.g. the last, empty chunk of a split): shapes follow, nothing fails, no gradient
    m = make()
    x = np.zeros((5, 0, 3))
    y, state = m(x)
    D = 2 if m.bidirectional else 1
    assert y.shape == (5, 0, D * m.output_size)
    for s in (state if isinstance(state, tuple) else (state,)):
        assert s.shape[1] == 0
    dx, _ = m.backward(np.zeros_like(y))
    assert dx.shape == x.shape
    assert all(not g.any() for g in m.grads.values())
    with m.no_grad():
        assert m(x)[0].shape == y.shape


def test_float32_stays_float32():
    m = lstmkit.LSTM(2, 3, num_layers=2, proj_size=2, seed=0)
    y, (h, c) = m(np.ones((4, 2, 2)))  # float64 input is cast to the module's dtype
    dx, (dh, dc) = m.backward(np.ones_like(y))
    for a in (y, h, c, dx, dh, dc, *m.grads.values()):
        assert a.dtype == np.float32


def test_assigning_a_parameter_attribute_writes_the_parameter():
    # m.weight_ih_l0 = W must change what the model computes (as load_state_dict does), not
    # create a plain attribute that shadows the parameter while forward keeps the old weights
    m = lstmkit.LSTM(3, 4, num_layers=2, seed=0)
    ref = lstmkit.LSTM(3, 4, num_layers=2, seed=0)
    W = np.random.default_rng(1).normal(size=(16, 4))  # float64: cast to the module's float32
    m.weight_ih_l1 = W
    ref.load_state_dict({**ref.state_dict(), "weight_ih_l1": W})
    x = np.random.default_rng(2).normal(size=(5, 2, 3))
    np.testing.assert_array_equal(m(x)[0], ref(x)[0])
    np.testing.assert_array_equal(m.state_dict()["weight_ih_l1"], W.astype(np.float32))
    assert m.weight_ih_l1 is m.parameters()["weight_ih_l1"] and "weight_ih_l1" not in vars(m)
    before = m.state_dict()
    for value, message in ((np.zeros((4, 16)), r"LSTM: expected weight_hh_l0 shape \(16, 4\), got shape \(4, 16\)"),
                           (np.full((16, 4), np.nan), "LSTM: expected weight_hh_l0 finite values, got NaN or inf")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            m.weight_hh_l0 = value
    for k, v in before.items():  # a refused value changes nothing
        np.testing.assert_array_equal(m.state_dict()[k], v)
    m.note = "any other attribute is a plain attribute"
    assert m.note.startswith("any")


def test_dropout_with_one_layer_warns_as_torch_does():
    # dropout acts between stacked layers: with one layer it does nothing (torch.nn.LSTM warns too)
    for cls in (lstmkit.LSTM, lstmkit.RNN):
        with pytest.warns(UserWarning, match=rf"{cls.__name__}: dropout=0.5 acts between stacked layers, so with num_layers=1 it does nothing"):
            cls(3, 4, dropout=0.5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lstmkit.LSTM(3, 4, num_layers=2, dropout=0.5)
        lstmkit.LSTM(3, 4, dropout=0.0)


def test_no_grad_blocks_that_overlap_restore_the_mode_once_all_have_left():
    # two threads' blocks on one model interleave as enter a, enter b, exit a, exit b: the model
    # stays in no-grad mode until b leaves, then trains again (it used to stay in no-grad mode)
    import threading

    lstm = lstmkit.LSTM(2, 3, seed=0)
    a, b = lstm.no_grad(), lstm.no_grad()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert lstm.requires_grad is False
    b.__exit__(None, None, None)
    assert lstm.requires_grad is True
    x = np.ones((4, 1, 2), np.float32)

    def infer():
        for _ in range(50):
            with lstm.no_grad():
                lstm(x)

    threads = [threading.Thread(target=infer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lstm.requires_grad is True
    y, _ = lstm(x)
    lstm.backward(np.ones_like(y))  # a training step works after them
    lstm.requires_grad = False
    with lstm.no_grad():
        pass
    assert lstm.requires_grad is False  # and a model set to inference stays so


@pytest.mark.parametrize("bidirectional", [False, True])
def test_an_empty_batch_with_lengths(bidirectional):
    m = lstmkit.LSTM(3, 4, bidirectional=bidirectional, seed=0)
    y, (h, c) = m(np.zeros((5, 0, 3), np.float32), lengths=np.array([], dtype=np.int64))
    assert y.shape == (5, 0, 4 * (1 + bidirectional)) and h.shape == (1 + bidirectional, 0, 4)
    assert m.backward(np.zeros_like(y))[0].shape == (5, 0, 3)


def test_a_length_of_zero_is_told_to_leave_the_empty_sequence_out_not_to_pad():
    lstm = lstmkit.LSTM(2, 3, seed=0)
    X = np.zeros((4, 2, 2))  # (T, B, I)
    with pytest.raises(ValueError, match=r"^LSTM: expected lengths values in \[1, T=4\], got 0 at index 1\. A sequence has at least one step \(lengths >= 1\): leave the empty ones out of the batch\.$"):
        lstm(X, lengths=np.array([4, 0]))
    with pytest.raises(ValueError, match=r"^LSTM: expected lengths values in \[1, T=4\], got 5 at index 1\. Pad the batch to the longest sequence\.$"):
        lstm(X, lengths=np.array([4, 5]))


@pytest.mark.parametrize("make", [lambda **kw: lstmkit.RNN(3, 4, **kw), lambda **kw: lstmkit.RNNCell(3, 4, **kw)])
def test_nonlinearity_set_after_construction_is_a_valid_choice_and_the_one_built(make):
    # RNN(3, 4).nonlinearity = "RELU" was taken silently and forward ran; and backward reads the
    # attribute, so a change between a forward and its backward would differentiate another function
    m = make()
    name = type(m).__name__
    with pytest.raises(ValueError, match=rf"^{name}: expected nonlinearity one of \['tanh', 'relu'\], got 'RELU'\. Did you mean 'relu'\?$"):
        m.nonlinearity = "RELU"
    with pytest.raises(ValueError, match=rf"^{name}: expected nonlinearity 'tanh', as built \(forward and backward compute with it\), "
                       rf"got 'relu'\. Build a new {name} with nonlinearity='relu' and load this one's weights with "
                       r"new.load_state_dict\(old.state_dict\(\)\) \(the same parameters\)\.$"):  # fmt: skip
        m.nonlinearity = "relu"
    assert m.nonlinearity == "tanh"
    m.nonlinearity = "tanh"  # the value it has: taken
    relu = make(nonlinearity="relu")
    relu.load_state_dict(m.state_dict())  # the advice: the same parameters, a strict load
    relu.nonlinearity = "relu"
    assert relu.nonlinearity == "relu"


@pytest.mark.parametrize("cls", ["LSTM", "RNN"])
@pytest.mark.parametrize("lengths", [np.array([4, 3]), [4, 3], np.array([4, 3], dtype=np.int32)])
def test_lengths_in_the_place_of_hx_say_where_they_go(cls, lengths):
    # SequenceModel takes (x, lengths, state): lengths passed second to a layer land in hx
    m = getattr(lstmkit, cls)(2, 3, batch_first=True, seed=0)
    x = np.zeros((2, 4, 2))
    with pytest.raises(TypeError, match=rf"^{cls}: expected hx .* or None, got 2 integers, which look like lengths\. "
                                         rf"Lengths go in the third argument: {cls.lower()}\(x, None, lengths\) or {cls.lower()}\(x, lengths=lengths\)\.$"):  # fmt: skip
        m(x, lengths)
    m(x, None, lengths), m(x, lengths=lengths)  # as the message says


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_lengths_in_the_place_of_state_say_they_go_second_for_sequence_model(cell):
    # helper-207 #1: sm(x, None, lengths), the LSTM's order, was told "lstm(x, None, lengths)", what it had done
    sm = lstmkit.SequenceModel(2, 2, 3, cell=cell, seed=0)
    x, lengths = np.zeros((2, 4, 2)), np.array([4, 3])
    with pytest.raises(TypeError, match=r"^SequenceModel: expected state .* or None, got 2 integers, which look like lengths\. "
                                        r"Lengths go second for SequenceModel: model\(x, lengths\) or model\(x, lengths=lengths\)\.$") as err:  # fmt: skip
        sm(x, None, lengths)
    assert err.value.__context__ is None or err.value.__suppress_context__  # the layer's advice is not chained below it
    sm(x, lengths), sm(x, lengths=lengths)  # as the message says
    with pytest.raises(TypeError, match=r"^(LSTM|RNN): expected (hx|h0) "):  # another bad state keeps the layer's own words
        sm(x, None, np.zeros((2, 3), dtype=np.int64))


@pytest.mark.parametrize("cls", ["LSTM", "RNN"])
def test_one_length_in_the_place_of_hx_is_one_integer(cls):
    # helper-207 #6: "got 1 integers, which look like lengths" when B = 1
    with pytest.raises(TypeError, match=rf"^{cls}: expected hx .* or None, got 1 integer, which looks like lengths\. Lengths go in the third"):
        getattr(lstmkit, cls)(2, 3, batch_first=True, seed=0)(np.zeros((1, 4, 2)), [4])


def test_float_states_of_batch_size_are_not_taken_for_lengths():
    rnn = lstmkit.RNN(2, 3, seed=0)
    with pytest.raises(TypeError, match=r"^RNN: expected hx a real floating-point array, got dtype int64"):
        rnn(np.zeros((4, 2, 2)), np.zeros((1, 2, 3), dtype=np.int64))  # integers, but states' shape: the dtype is the problem
