"""Fused single-direction kernels: one layer, one direction, whole sequence, forward and backward.

Structured the way fast implementations are (cuDNN, oneDNN, Karpathy's batched LSTM):

* the input projection of *all* time steps is one matrix product before the loop,
* the loop holds only the recurrent product ``h_{t-1} W_hh^T`` and elementwise work,
  written into preallocated buffers,
* the weight gradients are one matrix product each after the backward loop.

Equations (packed gate order i, f, g, o; P = H unless projected, then h_t = W_hr r_t)::

    Z      = X W_ih^T + (b_ih + b_hh)                         (T, B, 4H)   one GEMM
    z_t    = Z_t + h_{t-1} W_hh^T                             (B, 4H)      in the loop
    i,f,o  = σ(z_t[i]), σ(z_t[f]), σ(z_t[o]);  g = tanh(z_t[g])
    c_t    = f * c_{t-1} + i * g                              (B, H)
    r_t    = o * tanh(c_t)                                    (B, H)
    h_t    = r_t                  (no projection)             (B, P)
    h_t    = r_t W_hr^T           (proj_size = P)             (B, P)

Variable lengths: ``mask`` (T, B, 1) is 1 where t < length_b. Where it is 0 the step is skipped:
h_t = h_{t-1}, c_t = c_{t-1}, and the output y_t is 0. The final state is therefore the state at
each sequence's last valid step (PyTorch packed sequences, ONNX ``sequence_lens``).

Backward (``dh_next``/``dc_next`` are the gradients flowing from step t+1 into step t; m_t =
``mask[t]`` (B, 1), and every m term drops out without lengths, m = 1; capitals stack the T steps
as (T*B, ·) rows: X, H_prev = h_0 .. h_{T-1}, R = r_1 .. r_T, dZ = dz_1 .. dz_T, dH = dH_1 .. dH_T)::

    dy    *= m                                                before the loop (padded y_t are constant 0)
    dh_t   = dy_t + dh_next                                   (B, P)
    dH_t   = dh_t * m_t ;  dr_t = dh_t W_hr                   (projection only; else dr_t = dh_t)
    do     = dr_t * tanh(c_t)
    dc_t   = dc_next + dr_t * o * (1 - tanh(c_t)^2)           (1 - tanh² from the output)
    di = dc_t * g ;  df = dc_t * c_{t-1} ;  dg = dc_t * i
    dz_t   = [di σ'(i), df σ'(f), dg (1 - g^2), do σ'(o)] * m_t   (B, 4H)  (σ' = s(1-s) from the output s)
    dc_next = m_t * (dc_t * f) + (1 - m_t) * dc_next          padded rows: passed straight through
    dh_next = dz_t W_hh + (1 - m_t) * dh_t                    padded rows: passed straight through
  after the loop:  dW_ih = dZ^T X,  dW_hh = dZ^T H_prev,  db = Σ dZ,  dW_hr = dH^T R (projection only),
                   dX = dZ W_ih;  dh0 = dh_next, dc0 = dc_next.

Shapes: T steps, B batch, I input, H hidden, P output (= proj_size or H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .functional import sigmoid


@dataclass
class LSTMCache:
    """What backward reads, per direction. Arrays are time-major."""

    x: np.ndarray  # (T, B, I) input
    acts: np.ndarray  # (T, B, 4H) activated gates i, f, g, o
    hs: np.ndarray  # (T+1, B, P) h_0 .. h_T (h_0 = initial state)
    cs: np.ndarray  # (T+1, B, H) c_0 .. c_T
    tcs: np.ndarray  # (T, B, H) tanh(c_t)
    rs: np.ndarray | None  # (T, B, H) r_t = o*tanh(c_t), projection only
    mask: np.ndarray | None  # (T, B, 1) 1 where valid


def write_into(out, y):
    """y, or y copied into ``out`` and ``out`` itself where a caller gave one (``lstm_forward``'s
    ``out``: a direction's columns of a bidirectional layer's output)."""
    if out is None:
        return y
    out[...] = y
    return out


def lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, mask=None, keep=True, out=None, prepared=None):
    """One direction of one LSTM layer over a whole sequence.

    Args:
        x: (T, B, I) input, time-major.
        W_ih: (4H, I); W_hh: (4H, P); b: (4H,) = b_ih + b_hh, or None; W_hr: (P, H) or None.
        h0: (B, P); c0: (B, H) initial states.
        mask: (T, B, 1) of 0/1 in x's dtype, or None when every sequence has length T.
        keep: keep the activations for backward (False: inference, nothing per step is kept).
        out: (T, B, P) array of x's dtype, any strides (a direction's columns of a bidirectional
            layer's output, reversed in time for the backward one), or None.
        prepared: a dict the caller keeps while its weights stay unchanged (:meth:`lstmkit.LSTM.freeze`),
            where the compiled kernels keep the weights they prepare (packed copies); this
            reference prepares nothing and ignores it.
    Returns:
        y (T, B, P) with zeros at padded steps (written into ``out`` and ``out`` itself where it is
        given), h_T (B, P), c_T (B, H), cache (or None).
    """
    T, B, _ = x.shape
    H = W_hh.shape[0] // 4
    P = W_hh.shape[1]
    dt = x.dtype
    # Z = X W_ih^T + b : the input projection of every step in one GEMM       (T, B, 4H)
    acts = (x.reshape(T * B, x.shape[2]) @ W_ih.T).reshape(T, B, 4 * H)
    if b is not None:
        acts += b
    hs = np.empty((T + 1, B, P), dtype=dt)  # h_0 .. h_T
    hs[0] = h0
    if keep:
        cs = np.empty((T + 1, B, H), dtype=dt)
        tcs = np.empty((T, B, H), dtype=dt)
    else:  # inference: two rolling buffers, nothing per step is kept
        cs = np.empty((2, B, H), dtype=dt)
        tcs = np.empty((1, B, H), dtype=dt)
    cs[0] = c0
    rs = np.empty((T, B, H), dtype=dt) if W_hr is not None else None
    rec = np.empty((B, 4 * H), dtype=dt)  # h_{t-1} W_hh^T
    ig = np.empty((B, H), dtype=dt)  # i * g
    for t in range(T):
        ct, cn = (t, t + 1) if keep else (t % 2, (t + 1) % 2)
        tc = tcs[t] if keep else tcs[0]
        z = acts[t]  # (B, 4H) holds Z_t; becomes the activations in place
        np.matmul(hs[t], W_hh.T, out=rec)
        z += rec  # z_t = Z_t + h_{t-1} W_hh^T
        sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
        np.tanh(z[:, 2 * H : 3 * H], out=z[:, 2 * H : 3 * H])  # g = c~_t
        sigmoid(z[:, 3 * H :], out=z[:, 3 * H :])  # o
        i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        c = cs[cn]
        np.multiply(f, cs[ct], out=c)  # c_t = f * c_{t-1}
        np.multiply(i, g, out=ig)
        c += ig  # ... + i * g
        np.tanh(c, out=tc)
        if W_hr is None:
            np.multiply(o, tc, out=hs[t + 1])  # h_t = o * tanh(c_t)
        else:
            np.multiply(o, tc, out=rs[t])  # r_t = o * tanh(c_t)
            np.matmul(rs[t], W_hr.T, out=hs[t + 1])  # h_t = r_t W_hr^T
        if mask is not None:  # padded rows keep their previous state
            m = mask[t]
            hs[t + 1] = m * hs[t + 1] + (1 - m) * hs[t]
            c[...] = m * c + (1 - m) * cs[ct]
    y = np.empty((T, B, P), dtype=dt) if out is None else out
    if mask is not None:
        np.multiply(hs[1:], mask, out=y)
    else:
        y[...] = hs[1:]
    h_T = hs[T].copy()
    c_T = cs[T if keep else T % 2].copy()
    if not keep:
        return y, h_T, c_T, None
    return y, h_T, c_T, LSTMCache(x, acts, hs, cs, tcs, rs, mask)


def lstm_backward(dy, dh_T, dc_T, W_ih, W_hh, W_hr, cache: LSTMCache, add_to=None):
    """Back-propagation through time for :func:`lstm_forward`.

    Args:
        dy: (T, B, P) gradient of the loss w.r.t. y (ignored at padded steps).
        dh_T: (B, P), dc_T: (B, H) gradients w.r.t. the final states.
        add_to: None, or (gW_ih (4H, I), gW_hh (4H, P)), a layer's gradients of W_ih and W_hh:
            dW_ih and dW_hh are added to them in place and returned as None.
    Returns:
        dx (T, B, I), dW_ih (4H, I), dW_hh (4H, P), db (4H,), dW_hr (P, H) or None,
        dh0 (B, P), dc0 (B, H).
    """
    x, acts, hs, cs, tcs, rs, mask = cache.x, cache.acts, cache.hs, cache.cs, cache.tcs, cache.rs, cache.mask
    T, B, _ = x.shape
    H = W_hh.shape[0] // 4
    dt = x.dtype
    if mask is not None:
        dy = dy * mask  # outputs at padded steps are constant zeros
    dz_all = np.empty((T, B, 4 * H), dtype=dt)  # dL/dz_t for every step
    dhs = np.empty_like(dy) if W_hr is not None else None  # dL/dh_t, for dW_hr
    dh_next = dh_T.astype(dt, copy=True)  # (B, P)
    dc_next = dc_T.astype(dt, copy=True)  # (B, H)
    dh = np.empty_like(dh_next)
    dc = np.empty((B, H), dtype=dt)
    tmp = np.empty((B, H), dtype=dt)
    for t in reversed(range(T)):
        i, f, g, o = (acts[t, :, k * H : (k + 1) * H] for k in range(4))
        tc = tcs[t]
        dz = dz_all[t]
        dzi, dzf, dzg, dzo = (dz[:, k * H : (k + 1) * H] for k in range(4))
        np.add(dy[t], dh_next, out=dh)  # dh_t = dy_t + dh_next
        if W_hr is not None:
            dhs[t] = dh if mask is None else dh * mask[t]  # padded rows did not use W_hr
            dr = dh @ W_hr  # dr_t = dh_t W_hr                          (B, H)
        else:
            dr = dh
        np.multiply(dr, tc, out=dzo)  # do = dr * tanh(c_t)
        dzo *= o * (1 - o)  # through σ (from output)
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)  # 1 - tanh(c_t)^2
        tmp *= o
        tmp *= dr
        np.add(dc_next, tmp, out=dc)  # dc_t = dc_next + dr * o * (1 - tanh²)
        np.multiply(dc, g, out=dzi)  # di = dc * g
        dzi *= i * (1 - i)  # through σ
        np.multiply(dc, cs[t], out=dzf)  # df = dc * c_{t-1}
        dzf *= f * (1 - f)  # through σ
        np.multiply(dc, i, out=dzg)  # dg = dc * i
        dzg *= 1 - g * g  # through tanh
        if mask is None:
            np.multiply(dc, f, out=dc_next)  # dc_next = dc * f
            np.matmul(dz, W_hh, out=dh_next)  # dh_next = dz W_hh
        else:  # padded rows: no gate gradient; state gradients pass straight through
            m = mask[t]
            dz *= m
            dc_next[...] = m * (dc * f) + (1 - m) * dc_next
            np.matmul(dz, W_hh, out=dh_next)
            dh_next += (1 - m) * dh
    dZ = dz_all.reshape(T * B, 4 * H)
    dW_ih = dZ.T @ x.reshape(T * B, x.shape[2])  # (4H, I)
    dW_hh = dZ.T @ hs[:-1].reshape(T * B, hs.shape[2])  # (4H, P)
    db = dZ.sum(axis=0)  # (4H,)
    dW_hr = dhs.reshape(T * B, dhs.shape[2]).T @ rs.reshape(T * B, H) if W_hr is not None else None
    dx = (dZ @ W_ih).reshape(T, B, W_ih.shape[1])  # (T, B, I)
    if add_to is not None:
        dW_ih, dW_hh = add_weight_grads(add_to, dW_ih, dW_hh)
    return dx, dW_ih, dW_hh, db, dW_hr, dh_next, dc_next


def add_weight_grads(add_to, dW_ih, dW_hh):
    """add_to[0] += dW_ih and add_to[1] += dW_hh (lstm_backward's ``add_to``); returns (None, None),
    what lstm_backward returns for them then."""
    for g, dW in zip(add_to, (dW_ih, dW_hh)):
        g += dW
    return None, None


@dataclass
class RNNCache:
    """What :func:`rnn_backward` reads. Arrays are time-major."""

    x: np.ndarray  # (T, B, I)
    hs: np.ndarray  # (T+1, B, H) h_0 .. h_T
    mask: np.ndarray | None  # (T, B, 1) lengths mask, 1 where t < length_b; None without lengths


def rnn_forward(x, W_ih, W_hh, b, h0, mask=None, keep=True, nonlinearity="tanh"):
    """One direction of one simple-RNN layer: h_t = act(X_t W_ih^T + b + h_{t-1} W_hh^T).

    x (T, B, I); W_ih (H, I); W_hh (H, H); b (H,) or None; h0 (B, H); mask (T, B, 1) or None.
    Returns y (T, B, H), h_T (B, H), cache.
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    hs = np.empty((T + 1, B, H), dtype=x.dtype)
    hs[0] = h0
    Z = (x.reshape(T * B, x.shape[2]) @ W_ih.T).reshape(T, B, H)  # one GEMM for every step
    if b is not None:
        Z += b
    for t in range(T):
        z = Z[t]
        z += hs[t] @ W_hh.T
        if nonlinearity == "tanh":
            np.tanh(z, out=hs[t + 1])
        else:
            np.maximum(z, 0, out=hs[t + 1])
        if mask is not None:
            m = mask[t]
            hs[t + 1] = m * hs[t + 1] + (1 - m) * hs[t]
    y = hs[1:] * mask if mask is not None else hs[1:].copy()
    return y, hs[T].copy(), (RNNCache(x, hs, mask) if keep else None)


def rnn_backward(dy, dh_T, W_ih, W_hh, cache: RNNCache, nonlinearity="tanh"):
    """BPTT for :func:`rnn_forward`, m_t = ``mask[t]`` (m = 1 without lengths)::

        dy    *= m                                             (padded y_t are constant 0)
        dz_t   = (dy_t + dh_next) * act'(h_t) * m_t            act' from the output: 1 - h_t², or [h_t > 0]
        dh_next = dz_t W_hh + (1 - m_t) * (dy_t + dh_next)     padded rows: passed straight through
      after the loop:  dW_ih = dZ^T X,  dW_hh = dZ^T H_prev,  db = Σ dZ,  dX = dZ W_ih;  dh0 = dh_next.

    Args:
        dy: (T, B, H) gradient w.r.t. y (ignored at padded steps).  dh_T: (B, H) gradient w.r.t. h_T.
        W_ih: (H, I); W_hh: (H, H).  cache: the :class:`RNNCache` of :func:`rnn_forward`.
        nonlinearity: "tanh" or "relu", as in the forward.
    Returns:
        dx (T, B, I), dW_ih (H, I), dW_hh (H, H), db (H,), dh0 (B, H).
    """
    x, hs, mask = cache.x, cache.hs, cache.mask
    T, B, _ = x.shape
    if mask is not None:
        dy = dy * mask
    dz_all = np.empty((T, B, W_hh.shape[0]), dtype=x.dtype)
    dh_next = dh_T.astype(x.dtype, copy=True)
    for t in reversed(range(T)):
        dh = dy[t] + dh_next
        h = hs[t + 1]
        dz = dz_all[t]
        if nonlinearity == "tanh":
            np.multiply(dh, 1 - h * h, out=dz)  # tanh' from output
        else:
            np.multiply(dh, h > 0, out=dz)
        if mask is None:
            np.matmul(dz, W_hh, out=dh_next)
        else:
            m = mask[t]
            dz *= m
            dh_next = dz @ W_hh + (1 - m) * dh
    dZ = dz_all.reshape(T * B, dz_all.shape[2])
    dW_ih = dZ.T @ x.reshape(T * B, x.shape[2])
    dW_hh = dZ.T @ hs[:-1].reshape(T * B, hs.shape[2])
    db = dZ.sum(axis=0)
    dx = (dZ @ W_ih).reshape(T, B, W_ih.shape[1])
    return dx, dW_ih, dW_hh, db, dh_next
