"""LSTMCell and RNNCell: one step against PyTorch's nn.LSTMCell / nn.RNNCell and finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracles import assert_close, central_difference, rel_error, sample_indices

import lstmkit

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_matches_torch(dtype, tol, bias, batched):
    rng = np.random.default_rng(0)
    cell = lstmkit.LSTMCell(3, 4, bias=bias, dtype=dtype, seed=1)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    t = torch.nn.LSTMCell(3, 4, bias=bias, dtype=tdt)
    t.load_state_dict({k: torch.tensor(v) for k, v in cell.state_dict().items()})
    shape = (2,) if batched else ()
    x, h, c = rng.normal(size=shape + (3,)), rng.normal(size=shape + (4,)), rng.normal(size=shape + (4,))
    wh, wc = rng.normal(size=shape + (4,)), rng.normal(size=shape + (4,))
    h1, c1 = cell(x, (h, c))
    dx, (dh, dc) = cell.backward(wh, wc)
    xt, ht, ct = (torch.tensor(a, dtype=tdt, requires_grad=True) for a in (x, h, c))
    th, tc = t(xt, (ht, ct))
    ((th * torch.tensor(wh, dtype=tdt)).sum() + (tc * torch.tensor(wc, dtype=tdt)).sum()).backward()
    assert_close(h1, th.detach().numpy(), tol)
    assert_close(c1, tc.detach().numpy(), tol)
    assert_close(dx, xt.grad.numpy(), tol)
    assert_close(dh, ht.grad.numpy(), tol)
    assert_close(dc, ct.grad.numpy(), tol)
    for k, p in t.named_parameters():
        assert_close(cell.grads[k], p.grad.numpy(), tol, name=k)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch(nonlinearity):
    rng = np.random.default_rng(0)
    cell = lstmkit.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=np.float64, seed=1)
    t = torch.nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v) for k, v in cell.state_dict().items()})
    x, h, w = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    h1 = cell(x, h)
    dx, dh = cell.backward(w)
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    (t(xt, ht) * torch.tensor(w)).sum().backward()
    assert_close(h1, t(torch.tensor(x), torch.tensor(h)).detach().numpy(), 1e-12)
    assert_close(dx, xt.grad.numpy(), 1e-12)
    assert_close(dh, ht.grad.numpy(), 1e-12)
    for k, p in t.named_parameters():
        assert_close(cell.grads[k], p.grad.numpy(), 1e-12, name=k)


def test_lstm_cell_finite_differences():
    rng = np.random.default_rng(3)
    cell = lstmkit.LSTMCell(3, 5, dtype=np.float64, seed=2)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    wh, wc = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    cell(x, (h, c))
    dx, (dh, dc) = cell.backward(wh, wc)

    def loss():
        s = cell.step(x, (h, c))
        return float((s.h * wh).sum() + (s.c * wc).sum())

    pairs = [(x, dx), (h, dh), (c, dc)] + [(p, cell.grads[k]) for k, p in cell.parameters().items()]
    for arr, analytic in pairs:
        for idx in sample_indices(arr, 8, rng):
            assert rel_error(analytic[idx], central_difference(loss, arr, idx)) <= 1e-6


def test_step_exposes_every_intermediate():
    cell = lstmkit.LSTMCell(2, 3, dtype=np.float64, seed=0)
    s = cell.step(np.ones((1, 2)))
    z = np.ones((1, 2)) @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh  # h_prev = 0
    assert_close(np.concatenate([s.z_i, s.z_f, s.z_g, s.z_o], axis=1), z, 1e-15)
    assert_close(s.i, 1 / (1 + np.exp(-s.z_i)), 1e-15)
    assert_close(s.g, np.tanh(s.z_g), 1e-15)
    assert_close(s.c, s.f * s.c_prev + s.i * s.g, 1e-15)
    assert_close(s.h, s.o * np.tanh(s.c), 1e-15)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="LSTMCell.backward: expected a forward pass before backward"):
        lstmkit.LSTMCell(2, 3).backward(np.ones(3))


def test_repr_shows_what_differs_from_the_defaults():
    assert repr(lstmkit.LSTMCell(3, 4)) == "LSTMCell(3, 4, dtype=float32)"
    assert repr(lstmkit.LSTMCell(3, 4, bias=False, peephole=True)) == "LSTMCell(3, 4, bias=False, dtype=float32, peephole=True)"
    assert repr(lstmkit.RNNCell(3, 4, nonlinearity="relu", dtype=np.float64)) == "RNNCell(3, 4, nonlinearity='relu', dtype=float64)"
    assert repr(lstmkit.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, dtype=float32, nonlinearity='relu')"
    assert repr(lstmkit.RNN(3, 4)) == "RNN(3, 4, dtype=float32)"


# -- a cell unrolled in a Python loop: one backward per call, latest first, is BPTT ---------------
def _torch_loop(cell, tcell, X, h0, c0, W, Wc):
    """torch autograd through ``for t: hx = tcell(x[t], hx)`` with loss Σ_t Σ h_t*W[t] + Σ c_T*Wc
    (the RNN cell: no c): the gradients of x, h0 (and c0) and every parameter."""
    tcell.load_state_dict({k: torch.tensor(v) for k, v in cell.state_dict().items()})
    xt, ht = torch.tensor(X, requires_grad=True), torch.tensor(h0, requires_grad=True)
    ct = None if c0 is None else torch.tensor(c0, requires_grad=True)
    h, c, loss = ht, ct, 0.0
    for t in range(len(X)):
        if c is None:
            h = tcell(xt[t], h)
        else:
            h, c = tcell(xt[t], (h, c))
        loss = loss + (h * torch.tensor(W[t])).sum()
    if c is not None:
        loss = loss + (c * torch.tensor(Wc)).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in tcell.named_parameters()}
    return xt.grad.numpy(), ht.grad.numpy(), None if ct is None else ct.grad.numpy(), grads


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_loop_backward_per_call_matches_torch_autograd(batched):
    # hx = cell(x[t], hx) for 3 steps, then dx[t], (dh, dc) = cell.backward(W[t] + dh, dc) for
    # t = 2, 1, 0: each backward takes back the latest call's step; the parameter gradients sum
    rng = np.random.default_rng(5)
    shape = (2,) if batched else ()
    X = rng.normal(size=(3, *shape, 3))
    h0, c0, W, Wc = (rng.normal(size=s) for s in (shape + (4,), shape + (4,), (3, *shape, 4), shape + (4,)))
    cell = lstmkit.LSTMCell(3, 4, dtype=np.float64, seed=2)
    hx = (h0, c0)
    for t in range(3):
        hx = cell(X[t], hx)
    assert cell.kept_steps == 3
    dh, dc = np.zeros_like(h0), Wc
    dx = np.empty_like(X)
    for t in reversed(range(3)):
        dx[t], (dh, dc) = cell.backward(W[t] + dh, dc)
    assert cell.kept_steps == 0
    tdx, tdh0, tdc0, tgrads = _torch_loop(cell, torch.nn.LSTMCell(3, 4, dtype=torch.float64), X, h0, c0, W, Wc)
    assert_close(dx, tdx, 1e-13, name="dx")
    assert_close(dh, tdh0, 1e-13, name="dh0")
    assert_close(dc, tdc0, 1e-13, name="dc0")
    for k, g in tgrads.items():
        assert_close(cell.grads[k], g, 1e-13, name=k)


def test_rnn_cell_loop_backward_per_call_matches_torch_autograd():
    rng = np.random.default_rng(6)
    X, h0, W = rng.normal(size=(3, 2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(3, 2, 4))
    cell = lstmkit.RNNCell(3, 4, dtype=np.float64, seed=2)
    h = h0
    for t in range(3):
        h = cell(X[t], h)
    dh, dx = np.zeros_like(h0), np.empty_like(X)
    for t in reversed(range(3)):
        dx[t], dh = cell.backward(W[t] + dh)
    tdx, tdh0, _, tgrads = _torch_loop(cell, torch.nn.RNNCell(3, 4, dtype=torch.float64), X, h0, None, W, None)
    assert_close(dx, tdx, 1e-13, name="dx")
    assert_close(dh, tdh0, 1e-13, name="dh0")
    for k, g in tgrads.items():
        assert_close(cell.grads[k], g, 1e-13, name=k)


def test_two_loops_walked_back_latest_first_match_torch():
    # one cell over two sequences (a siamese pair), then the second walked back, then the first:
    # last in, first out is the reverse of the calls, so each walk meets its own steps
    rng = np.random.default_rng(7)
    XA, XB, W = rng.normal(size=(2, 2, 3)), rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 4))
    cell = lstmkit.LSTMCell(3, 4, dtype=np.float64, seed=3)
    for X in (XA, XB):
        hx = None
        for t in range(len(X)):
            hx = cell(X[t], hx)
    grads_in = {}
    for name, X in (("B", XB), ("A", XA)):
        dh, dc, dx = np.zeros((2, 4)), np.zeros((2, 4)), np.empty_like(X)
        for t in reversed(range(len(X))):
            dx[t], (dh, dc) = cell.backward(W[t] + dh, dc)
        grads_in[name] = dx
    t = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    zero = np.zeros((2, 4))
    tdx_a, _, _, ga = _torch_loop(cell, t, XA, zero, zero, W[:2], zero)
    t.zero_grad()
    tdx_b, _, _, gb = _torch_loop(cell, t, XB, zero, zero, W, zero)
    assert_close(grads_in["A"], tdx_a, 1e-13, name="dx A")
    assert_close(grads_in["B"], tdx_b, 1e-13, name="dx B")
    for k in ga:
        assert_close(cell.grads[k], ga[k] + gb[k], 1e-13, name=k)


@pytest.mark.parametrize("make,walk", [
    (lambda: lstmkit.LSTMCell(3, 4), r"dx\[t\], \(dh, dc\) = cell.backward\(dy\[t\] \+ dh, dc\)"),
    (lambda: lstmkit.RNNCell(3, 4), r"dx\[t\], dh = cell.backward\(dy\[t\] \+ dh\)"),
])
def test_a_walk_left_unfinished_is_refused_at_the_next_call_not_left_as_partial_gradients(make, walk):
    # a torch user's loss.backward(): one backward after a loop of 5 calls, then the next loop
    cell = make()
    X = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    hx = None
    for t in range(5):
        hx = cell(X[t], hx)
    cell.backward(np.ones((2, 4), np.float32))
    name = type(cell).__name__
    with pytest.raises(RuntimeError, match=rf"^{name}: expected the backward walk of the last loop finished before a new call, "
                       rf"got 4 steps of that loop still kept \(backward ran for its last 1\). backward takes one step, the latest "
                       rf"first: call it once per call of the cell, {walk} for t = T-1 .. 0. To stop a walk early on purpose "
                       rf"\(truncated BPTT\), drop the rest with cell.clear_steps\(\).$"):  # fmt: skip
        cell(X[0])
    assert cell.kept_steps == 4  # the refused call kept nothing
    with cell.no_grad():  # a call that keeps nothing is not refused
        cell(X[0])
    cell.clear_steps()
    assert cell.kept_steps == 0
    cell(X[0])  # a new loop
    assert cell.kept_steps == 1


def test_walking_back_past_the_kept_steps_says_how_backward_takes_them():
    cell = lstmkit.LSTMCell(3, 4)
    x = np.ones((2, 3), np.float32)
    hx = cell(x)
    cell(x, hx)
    cell.backward(np.ones((2, 4), np.float32))
    cell.backward(np.ones((2, 4), np.float32))
    with pytest.raises(RuntimeError, match=r"^LSTMCell.backward: expected a forward pass before backward, got none kept. Call the cell "
                       r"on an input first \(with requires_grad, outside no_grad\(\)\): each call keeps its step and each backward "
                       r"takes back one, the latest first, so call backward once per call.$"):  # fmt: skip
        cell.backward(np.ones((2, 4), np.float32))
    with cell.no_grad():
        cell(x)
    assert cell.kept_steps == 0


def test_calls_that_do_not_continue_a_loop_are_walked_back_one_by_one():
    # each step run again from its recorded state just before its backward (test_variants' way):
    # a call given other arrays than the last call's state starts no loop, so nothing is refused
    cell = lstmkit.LSTMCell(3, 4, dtype=np.float64, seed=0)
    X = np.random.default_rng(1).normal(size=(4, 2, 3))
    states, hx = [], (np.zeros((2, 4)), np.zeros((2, 4)))
    for t in range(4):
        states.append(hx)
        hx = cell(X[t], hx)
    dh = dc = np.zeros((2, 4))
    for t in reversed(range(4)):
        cell(X[t], states[t])
        _, (dh, dc) = cell.backward(np.ones((2, 4)) + dh, dc)
    assert cell.kept_steps == 4  # the first loop's, never walked back


def test_a_cell_state_that_is_not_a_pair_says_what_it_is():
    with pytest.raises(TypeError, match=r"^LSTMCell: expected hx a pair \(h_prev, c_prev\), got a tuple of length 1. An LSTM cell "
                       r"has two states: pass hx=\(h_prev, c_prev\).$"):  # fmt: skip
        lstmkit.LSTMCell(3, 4)(np.zeros((1, 3)), (np.zeros((1, 4)),))


@pytest.mark.parametrize("cls,step_bytes", [
    # LSTMCell(3, 4), B=2, float32: x (2, 3) = 24 bytes, and 13 arrays (2, 4) of 32 bytes (h_prev, c_prev,
    # z_i, z_f, z_g, z_o, i, f, g, o, c, tanh(c), h) = 416: 440 a step. RNNCell: x 24, h_prev 32, h 32 = 88
    (lstmkit.LSTMCell, 440),
    (lstmkit.RNNCell, 88),
])
def test_a_cell_warns_when_its_kept_steps_pile_up(monkeypatch, cls, step_bytes):
    # a loop run in training mode and never back-propagated keeps every step: memory grows without a word
    import lstmkit.cell

    monkeypatch.setattr(lstmkit.cell, "KEPT_WARNING_BYTES", 5 * step_bytes)  # reached at the 5th step
    cell, x = cls(3, 4, seed=0), np.ones((2, 3), np.float32)
    hx = None
    size = f"{5 * step_bytes / 1e6:.3g} MB"
    with pytest.warns(RuntimeWarning, match=rf"^{cls.__name__}: 5 steps are kept for backward, {size}, .*"
                      r"cell\.no_grad\(\).*cell\.eval\(\).*clear_steps") as got:  # fmt: skip
        for _ in range(7):
            hx = cell(x, hx)  # the line the warning points at
    assert len(got) == 1 and got[0].filename == __file__
    cell.clear_steps()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cell.no_grad():
            for _ in range(7):
                hx = cell(x, hx)
        assert cell.kept_steps == 0
        cell.eval()
        for _ in range(7):
            hx = cell(x, hx)
        assert cell.kept_steps == 1  # eval mode: the latest call's step


def test_the_warning_comes_at_100_mb_not_after_10000_steps():
    # LSTMCell(64, 128) at B=32 in float32: x 32*64*4 = 8192 bytes and 13 arrays of 32*128*4 = 16384,
    # 221184 bytes a step; 100 MB = 1e8 bytes is passed at step ceil(1e8 / 221184) = 453 (452 steps: 99.98 MB)
    cell, x = lstmkit.LSTMCell(64, 128, seed=0), np.ones((32, 64), np.float32)
    hx = None
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        for t in range(460):
            hx = cell(x, hx)
            if got:
                break
    assert t + 1 == 453
    assert str(got[0].message).startswith("LSTMCell: 453 steps are kept for backward, 100 MB, and memory grows")


@pytest.mark.parametrize("make", [lambda: lstmkit.LSTMCell(3, 4, dtype=np.float64, seed=1),
                                  lambda: lstmkit.RNNCell(3, 4, dtype=np.float64, seed=1)])
def test_in_eval_mode_a_call_keeps_its_own_step_only_as_a_layer_keeps_its_last_forward(make):
    # an inference loop after cell.eval() keeps one step, not one per call (as lstmkit.LSTM keeps the
    # last forward's cache); one backward after the latest call still matches torch's
    X = np.random.default_rng(2).normal(size=(50, 2, 3))
    cell = make()
    hx = None
    for t in range(20):  # a training loop never walked back: dropped by the first call in eval mode
        hx = cell(X[t], hx)
    assert cell.kept_steps == 20
    cell.eval()
    hx = None
    for t in range(50):
        prev, hx = hx, cell(X[t], hx)
    assert cell.kept_steps == 1
    lstm = isinstance(cell, lstmkit.LSTMCell)
    W = np.random.default_rng(3).normal(size=(2, 4))
    dx, _ = cell.backward(W, W) if lstm else cell.backward(W)
    t_cell = (torch.nn.LSTMCell if lstm else torch.nn.RNNCell)(3, 4, dtype=torch.float64)
    with torch.no_grad():
        for k, p in t_cell.named_parameters():
            p.copy_(torch.tensor(cell.parameters()[k]))
    xt = torch.tensor(X[49], requires_grad=True)
    out = t_cell(xt, tuple(torch.tensor(a) for a in prev) if lstm else torch.tensor(prev))
    loss = sum((o * torch.tensor(W)).sum() for o in out) if lstm else (out * torch.tensor(W)).sum()
    loss.backward()
    assert_close(dx, xt.grad.numpy(), 1e-13, name="dx")
    with pytest.raises(RuntimeError, match=r"once per call. In eval mode a call keeps its own step only \(an inference loop "
                       r"keeps no more\): walk a loop back in training mode \(cell.train\(\); a cell computes the same "
                       r"in both modes\).$"):  # fmt: skip
        cell.backward(W, W) if lstm else cell.backward(W)


def test_a_cell_reads_its_variant_options_as_attributes_as_the_lstm_does():
    cell = lstmkit.LSTMCell(3, 4, gate_clip=2, peephole=True)
    assert cell.gate_clip == 2.0 and cell.peephole is True and cell.layer_norm is False
    with pytest.raises(AttributeError, match="^RNNCell has no attribute 'peephole'$"):
        lstmkit.RNNCell(3, 4).peephole
