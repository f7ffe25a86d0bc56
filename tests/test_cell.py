"""LSTMCell and RNNCell: one step against PyTorch's nn.LSTMCell / nn.RNNCell and finite differences."""

from __future__ import annotations

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
