"""Independent oracles for the engine tests: central finite differences and PyTorch.

Both take an lstmkit module and compute what its hand-written backward must match, without using
that backward. On failure, ``assert_close`` shows the first few differing pairs and the max error
(llm.c ``check_tensor`` style).
"""

from __future__ import annotations

import numpy as np


def assert_close(actual, expected, atol, rtol=0.0, name="value"):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected)
    bad = err > atol + rtol * np.abs(expected)
    if bad.any():
        idx = np.argwhere(bad)[:5]
        pairs = ", ".join(f"{tuple(i)}: {actual[tuple(i)]:.12g} vs {expected[tuple(i)]:.12g}" for i in idx)
        raise AssertionError(f"{name}: max abs error {err.max():.3g} (atol {atol}); first: {pairs}")
    return float(err.max()) if err.size else 0.0


def record_close(errors, peer, name, ours, ref, tol):
    """:func:`assert_close` that also keeps the largest error per quantity in ``errors`` (for a
    test module's report of its parity against ``peer``)."""
    err = assert_close(ours, ref, tol, name=f"{name} (lstmkit vs {peer})")
    errors[name] = max(errors.get(name, 0.0), err)
    return err


def lstm_kernel_args(dt, T=6, B=3, I=4, H=5, P=0, lengths=None, seed=0):
    """Random arguments for one direction's kernels (kernels.lstm_forward and its compiled twins):
    x, W_ih, W_hh, b, W_hr (None without P), h0, c0, mask (None without lengths)."""
    rng = np.random.default_rng(seed)
    Pp = P or H
    x = rng.normal(size=(T, B, I)).astype(dt)
    k = 1 / np.sqrt(H)  # PyTorch's scale: float32 round-off stays near 1e-7 relative
    W_ih = (k * rng.normal(size=(4 * H, I))).astype(dt)
    W_hh = (k * rng.normal(size=(4 * H, Pp))).astype(dt)
    b = rng.normal(size=4 * H).astype(dt)
    W_hr = (k * rng.normal(size=(P, H))).astype(dt) if P else None
    h0 = rng.normal(size=(B, Pp)).astype(dt)
    c0 = rng.normal(size=(B, H)).astype(dt)
    mask = None
    if lengths is not None:
        mask = (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[..., None].astype(dt)
    return x, W_ih, W_hh, b, W_hr, h0, c0, mask


# --------------------------------------------------------------------------------------------
# finite differences
# --------------------------------------------------------------------------------------------
def central_difference(loss, arr, idx, eps=1e-5):
    """(loss(arr[idx] + eps) - loss(arr[idx] - eps)) / 2eps, restoring arr afterwards."""
    old = arr[idx]
    arr[idx] = old + eps
    lp = loss()
    arr[idx] = old - eps
    lm = loss()
    arr[idx] = old
    return (lp - lm) / (2 * eps)


def numeric_gradient(loss, arr, eps=1e-6):
    """Central differences of scalar loss() w.r.t. every entry of ``arr`` (restored afterwards)."""
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        grad[idx] = central_difference(loss, arr, idx, eps)
    return grad


def rel_error(analytic, numeric, floor=1e-4):
    """|a - n| / (|a| + |n|) over entries where |a| + |n| >= floor; below it, the absolute error
    divided by ``floor`` (central differences in float64 are accurate to ~1e-10 absolute)."""
    a, n = np.asarray(analytic), np.asarray(numeric)
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)))


def sample_indices(arr, k, rng):
    """Up to k distinct random multi-indices into ``arr``."""
    flat = rng.choice(arr.size, size=min(k, arr.size), replace=False)
    return [np.unravel_index(int(i), arr.shape) for i in flat]


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------
def torch_twin(module):
    """A torch.nn.LSTM / nn.RNN with the same options and weights as an lstmkit LSTM / RNN."""
    import torch

    from lstmkit import LSTM

    tdtype = torch.float64 if module.dtype == np.float64 else torch.float32
    common = dict(
        num_layers=module.num_layers,
        bias=module.bias,
        batch_first=module.batch_first,
        bidirectional=module.bidirectional,
        dtype=tdtype,
    )
    if isinstance(module, LSTM):
        t = torch.nn.LSTM(module.input_size, module.hidden_size, proj_size=module.proj_size, **common)
    else:
        t = torch.nn.RNN(module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, **common)
    t.load_state_dict({k: torch.tensor(v) for k, v in module.state_dict().items()})
    return t


def torch_forward_backward(module, x, hx, lengths, wy, wstate):
    """Run the torch twin on the same inputs; return outputs, states and every gradient.

    The loss is Σ y*wy + Σ_s state_s * wstate_s (a random projection of all outputs and final
    states). With ``lengths`` the batch is packed (enforce_sorted=False) and unpacked to T.
    Returns (y, states, dx, d_initial_states, {param name: grad}).
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    t = torch_twin(module)
    tdtype = next(t.parameters()).dtype
    xt = torch.tensor(x, dtype=tdtype, requires_grad=True)
    states = [torch.tensor(s, dtype=tdtype, requires_grad=True) for s in hx] if hx is not None else None
    targ = None if states is None else (tuple(states) if len(states) == 2 else states[0])
    if lengths is not None:
        packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=module.batch_first, enforce_sorted=False)
        yp, st = t(packed, targ)
        T = x.shape[1] if module.batch_first else x.shape[0]
        y, _ = pad_packed_sequence(yp, batch_first=module.batch_first, total_length=T)
    else:
        y, st = t(xt, targ)
    st = st if isinstance(st, tuple) else (st,)
    loss = (y * torch.tensor(wy, dtype=tdtype)).sum()
    for s, w in zip(st, wstate):
        loss = loss + (s * torch.tensor(w, dtype=tdtype)).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in t.named_parameters()}
    d_init = [s.grad.numpy() for s in states] if states is not None else None
    return y.detach().numpy(), [s.detach().numpy() for s in st], xt.grad.numpy(), d_init, grads


# read-outs save_lstm, to_onnx and to_keras refuse alike (for LSTM(2, 3): O = 2, F = 3), each with the
# refusal's words after '<where>: ' (tests/test_interop_onnx.py, tests/test_interop_keras.py)
BAD_READOUTS = [  # (read-out for LSTM(2, 3): O = 2, F = 3), the refusal save_lstm gives it too
    ({"weight": np.ones((2, 3)), "bais": np.ones(2)}, r"expected readout keys 'weight' and 'bias', got unknown keys \['bais'\]\.$"),
    ({"weight": np.ones((2, 3)), "bias": np.ones(5)}, r"expected readout\['bias'\] a float array of shape \(2,\), got dtype float64 shape \(5,\)\.$"),
    ({"weight": np.ones((0, 3))}, r"expected readout\['weight'\] a float array of shape \(O, 3\) with O >= 1, got dtype float64 shape \(0, 3\)\.$"),
    ({"weight": np.ones((2, 3), np.int64)}, r"expected readout\['weight'\] a float array of shape \(O, 3\) with O >= 1, got dtype int64 shape \(2, 3\)\.$"),
    ({"weight": np.full((2, 3), np.nan)}, r"expected readout\['weight'\] finite values, got nan at index \(0, 0\)\.$"),
]
