"""Streaming inference: an LSTM run one time step per call, its state kept between calls.

For sequences that arrive a step at a time (a sensor, a generator feeding back its own output),
``LSTM.forward`` on a (1, B, I) input works but pays its full set of checks, list building and
kernel set-up on every step. :class:`LSTMStream` does that work once, when it is made: the
weights are copied (and transposed for the compiled products), the state and scratch arrays
are allocated; each :meth:`LSTMStream.step` then checks one input and runs one step per layer,
updating the state in place::

    stream = lstm.stream(batch_size=1)          # or LSTMStream(lstm, batch_size=1, state=(h0, c0))
    for x_t in xs:                              # x_t: (B, I), or (I,) for batch_size=1 unbatched
        y_t = stream.step(x_t)                  # (B, P): the last layer's h_t
    h_T, c_T = stream.state                     # (L, B, P), (L, B, H), as LSTM.forward returns

Each step is the layer's equations for one t, layer after layer (no dropout: inference)::

    z_t = x_t W_ih^T + h_{t-1} W_hh^T + b_ih + b_hh            (B, 4H)
    i, f, o = σ(z_t[i]), σ(z_t[f]), σ(z_t[o]);  g = tanh(z_t[g])
    c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)   (with proj_size: h_t = (o * tanh(c_t)) W_hr^T)

The weights are a snapshot taken when the stream is made: after changing the LSTM's parameters,
make a new stream. With the compiled kernels (numba) a step is one call into compiled code per
layer; without them it is the NumPy reference kernel on a sequence of length 1. Either way the
numbers are those of ``LSTM.forward`` over the whole sequence (to round-off).
"""

from __future__ import annotations

import numpy as np

from . import backends, kernels
from ._checks import check_bool, check_float_array, check_int, fail


class LSTMStream:
    """One step per call of a unidirectional :class:`lstmkit.LSTM`, inference only.

    Args:
        lstm: a plain (no variant options) unidirectional LSTM, any num_layers and proj_size.
        batch_size: B, the number of sequences stepped together (default 1).
        state: optional initial ``(h0, c0)`` of shapes (L, B, P), (L, B, H) (zeros by default).
        unbatched: accept and return single vectors (I,) -> (P,) (only with batch_size=1).

    Attributes:
        state: ``(h, c)`` copies, (L, B, P) and (L, B, H) (unbatched: (L, P), (L, H)).
        steps: how many steps have run since the stream was made or last reset.
    """

    def __init__(self, lstm, batch_size: int = 1, state=None, *, unbatched: bool = False) -> None:
        from .recurrent import LSTM

        where = "LSTMStream"
        if not isinstance(lstm, LSTM):
            fail(where, "lstm", "an lstmkit.LSTM", type(lstm).__name__, exc=TypeError)
        if lstm.bidirectional:
            fail(where, "lstm", "a unidirectional LSTM", "bidirectional=True",
                 "The backward direction needs the whole sequence: use LSTM.forward.")  # fmt: skip
        if not lstm.variant.is_plain:
            fail(where, "lstm", "a plain LSTM (no variant options)", f"options {lstm.variant.changed()}",
                 "Step with LSTM.forward on one time step instead.")  # fmt: skip
        batch_size = check_int(batch_size, where, "batch_size", minimum=1)
        if check_bool(unbatched, where, "unbatched") and batch_size != 1:
            fail(where, "unbatched", "batch_size=1", f"batch_size={batch_size}")
        self.lstm = lstm
        self.batch_size = int(batch_size)
        self.unbatched = bool(unbatched)
        self.dtype = lstm.dtype
        self._where = where
        self._fast = backends.select(lstm.backend, where) is not kernels
        L, B, H, P = lstm.num_layers, self.batch_size, lstm.hidden_size, lstm.output_size
        dt = self.dtype
        if self._fast:
            from . import kernels_numba

            self._step_kernel = kernels_numba._step
            self._gemm = kernels_numba.GEMM.get(np.dtype(dt), 0)
            self._mk = kernels_numba._packed_kernels(dt)
            # each product by a weight's transpose, prepared once per stream (a copy, or packed panels)
            operand = lambda W: kernels_numba._operand(W, True, B, self._mk, False)  # noqa: E731
        self._layers = []  # per layer: the weights as the kernels want them, whether it projects, scratch
        for layer in range(L):
            W_ih, W_hh, b, W_hr, _ = lstm._weights(layer, 0)
            W_ih, W_hh = W_ih.copy(), W_hh.copy()
            b = b.copy() if b is not None else np.zeros(4 * H, dtype=dt)
            W_hr = W_hr.copy() if W_hr is not None else np.zeros((0, 0), dtype=dt)
            if self._fast:
                scratch = (np.empty((B, 4 * H), dt), np.empty((B, 4 * H), dt), np.empty((B, H), dt))  # zx, zr, r
                ops = (operand(W_ih), operand(W_hh), operand(W_hr))
            else:
                scratch, ops = None, (None, None, None)
            self._layers.append((W_ih, ops[0], W_hh, ops[1], b, W_hr, ops[2], W_hr.size > 0, scratch))
        self._h = np.zeros((L, B, P), dtype=dt)
        self._c = np.zeros((L, B, H), dtype=dt)
        self.reset(state)

    # -- state -------------------------------------------------------------------------------
    def reset(self, state=None) -> None:
        """Start again from ``state`` = (h0, c0) (shapes as :attr:`state`), or from zeros."""
        self.steps = 0
        if state is None:
            self._h[...] = 0
            self._c[...] = 0
            return
        h0, c0 = self.lstm._check_hx(state, self.batch_size, not self.unbatched, f"{self._where}.reset", "state", "the stream's batch_size")
        self._h[...] = h0
        self._c[...] = c0

    @property
    def state(self):
        """(h, c): copies of the current state, (L, B, P) and (L, B, H) ((L, P), (L, H) unbatched)."""
        if self.unbatched:
            return self._h[:, 0].copy(), self._c[:, 0].copy()
        return self._h.copy(), self._c.copy()

    # -- one step ----------------------------------------------------------------------------
    def step(self, x) -> np.ndarray:
        """x_t (B, I) (or (I,) unbatched) -> y_t = h_t of the last layer, (B, P) (or (P,)).

        The state moves on one step. Inputs are checked like ``LSTM.forward``'s (floating,
        finite, the right shape); a rejected input leaves the state as it was.
        """
        x = check_float_array(x, f"{self._where}.step", "x", self.dtype)
        expected = (self.lstm.input_size,) if self.unbatched else (self.batch_size, self.lstm.input_size)
        if x.shape != expected:
            fail(f"{self._where}.step", "x", f"shape {expected}" + (" (I,)" if self.unbatched else " (B, I)"),
                 f"shape {x.shape}")  # fmt: skip
        inp = x.reshape(1, -1) if self.unbatched else x
        if not inp.flags.writeable:  # the compiled step takes writeable arrays (one signature)
            inp = inp.copy()
        for layer, (W_ih, op_ih, W_hh, op_hh, b, W_hr, op_hr, proj, scratch) in enumerate(self._layers):
            h, c = self._h[layer], self._c[layer]
            if self._fast:
                self._step_kernel(inp, op_ih, op_hh, b, op_hr, proj, h, c, *scratch, self._gemm, self._mk)
            else:  # the NumPy reference on a sequence of one step
                _, h_t, c_t, _ = kernels.lstm_forward(
                    inp[None], W_ih, W_hh, b, W_hr if W_hr.size else None, h, c, None, False
                )
                h[...], c[...] = h_t, c_t
            inp = h
        self.steps += 1
        return inp[0].copy() if self.unbatched else inp.copy()

    __call__ = step

    def __repr__(self) -> str:
        return f"LSTMStream({self.lstm!r}, batch_size={self.batch_size}, steps={self.steps})"
