"""Sequence layers ``LSTM`` and ``RNN`` with PyTorch's interface and hand-written BPTT.

Both stack ``num_layers`` layers, optionally in two directions, with dropout between layers,
variable lengths, ``batch_first`` and unbatched input. The per-direction work is done by the
fused kernels of the backend (:mod:`lstmkit.backends`: :mod:`lstmkit.kernels`, the NumPy reference,
or :mod:`lstmkit.kernels_numba`); this module only routes arrays between layers and
directions, so the options are written once for both cell types.

Shapes (torch's): T steps, B batch, I input_size, H hidden_size, P = proj_size or H,
D = 2 if bidirectional else 1, L = num_layers.

    x      (T, B, I)  or (B, T, I) with batch_first, or (T, I) unbatched
    y      (T, B, D*P) (batch_first / unbatched likewise)
    h_n    (D*L, B, P)   c_n (D*L, B, H)   (unbatched: (D*L, P) and (D*L, H))

Row ``l*D + d`` of h_n/c_n is layer l, direction d (0 forward, 1 reverse).

Variable lengths — one clear way: pass ``lengths`` (B,) of ints in [1, T] with the batch padded
to T (pad values are ignored, any order, no sorting). Outputs at steps t >= lengths[b] are 0;
h_n/c_n are the states at each sequence's last valid step; the reverse direction reads each
sequence backwards from its own last valid step. This is what PyTorch's packed sequences and
ONNX's ``sequence_lens`` compute.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import backends, kernels, variants
from ._checks import LstmkitWarning, check_bool, check_dtype, check_float_array, check_int, check_lengths, check_real, check_rng, check_shape, describe_pair, fail
from .cell import NONLINEARITIES
from .module import VARIANT_CHECKS, Module, built_check, built_choice_check, flag_check
from .variants import LSTMVariant

if TYPE_CHECKING:
    from .frozen import FrozenLSTM


def _reverse_index(T: int, lengths: np.ndarray | None) -> np.ndarray | None:
    """Index (T, B) that reverses each sequence within its own length (padding stays put).

    rev[t, b] = lengths[b] - 1 - t for t < lengths[b], else t. It is its own inverse.
    None means plain reversal of the whole time axis.
    """
    if lengths is None:
        return None
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


@lru_cache(maxsize=None)
def _names(layer: int, d: int) -> tuple[str, str, str, str, str, str]:
    """Parameter names of one layer and direction: weight_ih, weight_hh, bias_ih, bias_hh,
    weight_hr, and their suffix ("_l0", "_l1_reverse", ...); made once, read on every forward."""
    sfx = f"_l{layer}" + ("_reverse" if d else "")
    return (f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}", f"weight_hr{sfx}", sfx)


def _reverse(a: np.ndarray, rev: np.ndarray | None) -> np.ndarray:
    """Reverse the time axis of a (T, B, ...) array, each sequence within its length."""
    if rev is None:
        return a[::-1]
    return a[rev, np.arange(a.shape[1])[None, :]]


def _reraise_interrupt(exc: SystemError) -> None:
    """Called from ``except SystemError`` around each call of the kernels (LSTM forward and backward,
    once per layer and direction, not per step): Ctrl-C while a compiled kernel runs surfaces as
    numba's ``SystemError: CPUDispatcher(...) returned a result with an exception set``, the interrupt
    in its context; this raises that KeyboardInterrupt instead (``from None``): the one place that
    converts it, so fit, predict and a forward under no_grad all raise the interrupt itself; for any
    other SystemError it returns and the caller re-raises it as it is. (A try costs nothing until
    something is raised; a ``with`` block costs two Python calls per kernel call.)"""
    from .training import interrupt_in  # (training imports this module)

    interrupt = interrupt_in(exc)
    if interrupt is not None:
        raise interrupt from None


def check_proj_size(proj_size: int, hidden_size: int, where: str = "LSTM") -> int:
    """``proj_size`` (an integer >= 0: 0 for no projection) checked against ``hidden_size``, as torch's
    LSTM: a projection is smaller than the hidden state (``LSTM: expected proj_size smaller than
    hidden_size=4, got 8.``). The layer's rule, called by the command line before any data is read."""
    if proj_size >= hidden_size:
        fail(where, "proj_size", f"smaller than hidden_size={hidden_size}", proj_size)
    return proj_size


class _Recurrent(Module):
    """Layer stacking, directions, dropout, lengths and checks shared by LSTM and RNN."""

    _gates = 4  # rows per hidden unit in weight_ih
    _n_states = 2  # (h, c) for the LSTM; h only for the RNN
    # checked when set after construction too: the flags, the inter-layer dropout
    _set_checks = {
        **Module._set_checks,
        "batch_first": flag_check("batch_first"),
        "bias": built_check("bias"),
        "bidirectional": built_check("bidirectional"),
        "dropout": lambda self, value: check_real(value, type(self).__name__, "dropout", low=0, high=1, high_open=True),
    }

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype=np.float32,
        seed=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_int(input_size, name, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, name, "hidden_size", minimum=1)
        self.num_layers = check_int(num_layers, name, "num_layers", minimum=1)
        self.proj_size = check_proj_size(check_int(proj_size, name, "proj_size", minimum=0), self.hidden_size, name)
        dropout = check_real(dropout, name, "dropout", low=0, high=1, high_open=True)
        self.bias = check_bool(bias, name, "bias")
        self.batch_first = check_bool(batch_first, name, "batch_first")
        self.dropout = dropout
        if self.dropout > 0 and self.num_layers == 1:  # as torch.nn.LSTM warns
            inside = " (or dropout_input / dropout_recurrent for dropout inside the layer)" if self._n_states == 2 else ""
            warnings.warn(f"{name}: dropout={self.dropout} acts between stacked layers, so with num_layers=1 it does "
                          f"nothing. Use num_layers > 1{inside}.", LstmkitWarning, stacklevel=3)  # fmt: skip
        self.bidirectional = check_bool(bidirectional, name, "bidirectional")
        self.dtype = check_dtype(dtype, name)
        # one stream for initialisation, one for dropout masks: both from the seed
        rng = check_rng(seed, name)
        if isinstance(seed, np.random.Generator):
            self.dropout_rng = np.random.default_rng(rng.integers(2**63))
        else:
            init_ss, drop_ss = np.random.SeedSequence(seed).spawn(2)
            rng, self.dropout_rng = np.random.default_rng(init_ss), np.random.default_rng(drop_ss)
        k = 1.0 / np.sqrt(self.hidden_size)  # PyTorch: U(-1/sqrt(H), 1/sqrt(H)) for every parameter
        for name_, shape in self._param_shapes().items():
            self._add_param(name_, self._init_param(name_, shape, rng, k))
        self._cache = None

    def _init_param(self, name: str, shape: tuple, rng: np.random.Generator, k: float) -> np.ndarray:
        """Initial value of one parameter: U(-k, k) with k = 1/sqrt(H), as PyTorch."""
        return rng.uniform(-k, k, size=shape).astype(self.dtype)

    # -- layout ----------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """P: the size of h (proj_size if set, else hidden_size)."""
        return self.proj_size or self.hidden_size

    def _param_shapes(self) -> dict[str, tuple]:
        G, H, P, D = self._gates, self.hidden_size, self.output_size, self.num_directions
        shapes = {}
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else D * P
            for d in range(D):
                ih, hh, bih, bhh, hr, _ = _names(layer, d)
                shapes[ih] = (G * H, in_size)
                shapes[hh] = (G * H, P)
                if self.bias:
                    shapes[bih] = (G * H,)
                    shapes[bhh] = (G * H,)
                if self.proj_size:
                    shapes[hr] = (P, H)
        return shapes

    def _weights(self, layer: int, d: int):
        """(W_ih, W_hh, b = b_ih + b_hh or None, W_hr or None) of one layer and direction."""
        ih, hh, bih, bhh, hr, sfx = _names(layer, d)
        p = self._params
        b = p[bih] + p[bhh] if self.bias else None
        return p[ih], p[hh], b, p.get(hr), sfx

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)[: self._n_states]

    # -- checks ----------------------------------------------------------------------------
    def _check_input(self, x, hx, lengths):
        where = type(self).__name__
        x = check_float_array(x, where, "x", self.dtype)
        if x.ndim not in (2, 3):
            layout_ = "(B, T, I)" if self.batch_first else "(T, B, I)"
            fail(where, "x", f"a 3-D array {layout_} or a 2-D unbatched array (T, I)", f"{x.ndim}-D shape {x.shape}")
        batched = x.ndim == 3
        if not batched:
            x = x[:, None, :]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        T, B, I = x.shape
        if I != self.input_size:
            fail(where, "x", f"feature size (last dimension) input_size={self.input_size}", f"{I}")
        if T == 0:
            fail(where, "x", "at least one time step", "T = 0")
        x = np.ascontiguousarray(x)
        if lengths is not None:
            lengths = self._check_lengths(lengths, T, B, batched, where)
        states = self._check_hx(hx, B, batched, where)
        return x, batched, lengths, states

    def _check_lengths(self, lengths, T, B, batched, where):
        if lengths is None:
            return None
        arr = np.asarray(lengths)
        if not batched and arr.ndim == 0:  # unbatched: one length
            arr = arr.reshape(1)
        arr = check_lengths(arr, B, T, where)  # (B,) int64 in [1, T]
        return None if (arr == T).all() else arr

    def _lengths_as_hx(self, hx, B) -> tuple[str, str] | None:
        """``(expected, got)`` of the refusal when ``hx`` is B integers (a (B,) int array, or a list or
        tuple of B ints): lengths passed in the place of the states; None otherwise. On refusal paths
        only (here and in SequenceModel.forward, whose fix differs: lengths go second there)."""
        if isinstance(hx, np.ndarray):
            ints = hx.shape == (B,) and hx.dtype.kind in "iu"
        else:
            ints = isinstance(hx, (list, tuple)) and len(hx) == B and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in hx)
        if not ints:
            return None
        state = "a pair (h0, c0)" if self._n_states == 2 else "h0 a float array (num_layers*num_directions, B, hidden_size)"
        return f"{state} or None", ("1 integer, which looks like lengths" if B == 1 else f"{B} integers, which look like lengths")

    def _refuse_lengths_as_hx(self, hx, B, batched, where, arg):
        """A TypeError saying where lengths go when ``hx`` is B integers (``rnn(x, lengths)``, as
        ``SequenceModel(x, lengths)`` takes them second); nothing otherwise. On refusal paths only."""
        said = self._lengths_as_hx(hx, B) if arg == "hx" and batched else None
        if said is not None:
            name = type(self).__name__.lower()
            fail(where, "hx", *said, f"Lengths go in the third argument: {name}(x, None, lengths) or {name}(x, lengths=lengths).", exc=TypeError)

    def _check_hx(self, hx, B, batched, where, arg="hx", batch_of="x"):
        """The states ``hx`` ((h, c) or h) as (LD, B, size) arrays, zeros for None; errors name
        ``arg`` (its parts h0, c0 for hx; arg[0], arg[1] otherwise) and ``batch_of``, where B comes from."""
        LD = self.num_layers * self.num_directions
        sizes = self._state_sizes()
        if hx is None:
            return [np.zeros((LD, B, s), dtype=self.dtype) for s in sizes]
        names = (("h0", "c0") if arg == "hx" else (f"{arg}[0]", f"{arg}[1]"))[: self._n_states]
        if self._n_states == 1:
            hx, names = (hx,), (arg,)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            self._refuse_lengths_as_hx(hx, B, batched, where, arg)
            fail(where, arg, f"a pair ({', '.join(names)})", describe_pair(hx),
                 f"An LSTM has two states: pass {arg}={'(dh_n, dc_n)' if arg == 'd_state' else '(h0, c0)'}.", exc=TypeError)  # fmt: skip
        out = []
        for arr, size, name in zip(hx, sizes, names):
            try:
                arr = check_float_array(arr, where, name, self.dtype)
            except TypeError:  # the refusal only: integer lengths passed second say so
                self._refuse_lengths_as_hx(hx if self._n_states == 2 else hx[0], B, batched, where, arg)  # hx as passed
                raise
            expected = (LD, B, size) if batched else (LD, size)
            if arr.shape != expected:  # say which dimension is wrong
                if arr.ndim != len(expected):
                    fail(where, name, f"a {len(expected)}-D array of shape {expected}",
                         f"{arr.ndim}-D shape {arr.shape}")  # fmt: skip
                if arr.shape[0] != LD:
                    fail(where, name, f"first dimension num_layers*num_directions = {LD}", f"shape {arr.shape}")
                if batched and arr.shape[1] != B:
                    fail(where, name, f"batch size {B} (as {batch_of}) in dimension 1", f"shape {arr.shape}")
                check_shape(arr, expected, where, name)
            out.append(arr if batched else arr[:, None, :])
        return out

    # -- forward ---------------------------------------------------------------------------
    def forward(self, x, hx=None, lengths=None):
        """Run every layer and direction over the sequence (the general path; RNN's forward).

        Layer by layer, each direction runs its kernel (the reverse one on each sequence reversed
        within its length); layer l > 0 reads the previous layer's output (D*P), times the
        inter-layer dropout mask in training mode. Keeps the caches for :meth:`backward` when
        ``requires_grad``.

        Args:
            x: (T, B, I), (B, T, I) with batch_first, or (T, I) unbatched.
            hx: initial states, None for zeros. LSTM: ``(h0, c0)`` with h0 (D*L, B, P) and
                c0 (D*L, B, H); RNN: h0 (D*L, B, H). Unbatched: without the B axis.
            lengths: (B,) integers in [1, T] (a scalar or (1,) unbatched), or None for all T.
        Returns:
            y: (T, B, D*P) ((B, T, D*P) with batch_first, (T, D*P) unbatched; the RNN's P is H),
            zeros at padded steps; the final states: LSTM ``(h_n, c_n)`` with h_n (D*L, B, P) and
            c_n (D*L, B, H), RNN h_n (D*L, B, H); unbatched without the B axis. Row l*D + d
            is layer l, direction d; each is the state at the sequence's last valid step.
        """
        return self._forward_checked(*self._check_input(x, hx, lengths))

    __call__ = forward

    def _forward_checked(self, x, batched, lengths, states):
        """:meth:`forward` on inputs as :meth:`_check_input` returns them, checked: x (T, B, I) time-major
        (whatever ``batch_first``), C-contiguous, of the model's dtype, T >= 1, I = input_size; lengths
        int64 (B,) in [1, T], or None (as where every length is T); states a list of C-contiguous
        (D*L, B, S) arrays of the model's dtype, one per state (LSTM: h0, c0). For a caller that has checked
        them itself, in its own words (:class:`~lstmkit.interop.onnx.OnnxLSTM`), so they are not checked
        twice; nothing here checks them again. ``batched`` False: x, the states and the results as one
        sequence (B = 1), the results without the B axis."""
        T, B, _ = x.shape
        D, L = self.num_directions, self.num_layers
        keep = self.requires_grad
        mask = rev = None
        if lengths is not None:
            mask = (np.arange(T)[:, None] < lengths[None, :])[..., None].astype(self.dtype)
            rev = _reverse_index(T, lengths)
        fins, caches, drop_masks = [], [], []  # fins: the kernels' final states of each layer and direction
        P = self.output_size
        inp = x
        for layer in range(L):
            outs = []
            # both directions write their columns of the layer's output, the backward one through a
            # view reversed in time (not a concatenation after them; with lengths, the reversal is
            # an index, not a view)
            full = np.empty((T, B, D * P), dtype=self.dtype) if D == 2 and rev is None else None
            for d in range(D):
                row = layer * D + d
                xin = inp if d == 0 else np.ascontiguousarray(_reverse(inp, rev))
                into = None if full is None else full[:, :, :P] if d == 0 else full[::-1, :, P:]
                y_d, fin, cache = self._dir_forward(layer, d, xin, [s[row] for s in states], mask, keep, into)
                fins.append(fin)
                outs.append(y_d if d == 0 else _reverse(y_d, rev))
                caches.append(cache)
            out = outs[0] if D == 1 else full if full is not None else np.concatenate(outs, axis=2)
            drop = None
            if self.training and self.dropout > 0 and layer < L - 1:
                keep_p = 1.0 - self.dropout  # inverted dropout: scale kept units by 1/(1-p)
                drop = (self.dropout_rng.random(out.shape) < keep_p).astype(self.dtype) / keep_p
                out = out * drop
            drop_masks.append(drop)
            inp = out
        self._cache = (caches, drop_masks, rev, batched, x.shape) if keep else None
        # (L*D, B, S) per state; the kernels return fresh final states, so one can be viewed, not copied
        finals = [f[None] for f in fins[0]] if len(fins) == 1 else [np.stack(f) for f in zip(*fins)]
        y = inp
        if not batched:
            return y[:, 0], self._pack_states([f[:, 0] for f in finals])
        if self.batch_first:
            y = y.transpose(1, 0, 2)
        return np.ascontiguousarray(y), self._pack_states(finals)

    # -- backward --------------------------------------------------------------------------
    def backward(self, dy, d_state=None):
        """Back-propagate through the last forward; parameter gradients accumulate into ``grads``.

        Shapes as in the module docstring (T steps, B batch, I input_size, H hidden_size,
        P = proj_size or H, D directions, L layers); :meth:`LSTM.backward` says the same for the LSTM.

        Args:
            dy: dL/dy, y's shape: (T, B, D*P), (B, T, D*P) with batch_first, (T, D*P) unbatched.
            d_state: dL/d(final state), shaped as forward returned it: dh_n (D*L, B, H) for the
                RNN, ``(dh_n, dc_n)`` (D*L, B, P) and (D*L, B, H) for the LSTM ((D*L, ·)
                unbatched), or None for zeros.
        Returns:
            ``dx, d_initial_state``: dx has x's shape ((T, B, I), (B, T, I) with batch_first,
            (T, I) unbatched); d_initial_state is shaped as hx: dh0 (D*L, B, H) for the RNN,
            ``(dh0, dc0)`` (D*L, B, P) and (D*L, B, H) for the LSTM ((D*L, ·) unbatched).
        Raises:
            RuntimeError: no forward (with ``requires_grad``) since the last backward.
        """
        where = f"{type(self).__name__}.backward"
        if self._cache is None:
            fail(
                where,
                "a forward pass with requires_grad=True",
                "before backward",
                "none",
                "Call the layer on an input first; each backward consumes that forward's cache.",
                exc=RuntimeError,
            )
        caches, drop_masks, rev, batched, (T, B, _) = self._cache
        D, L, P = self.num_directions, self.num_layers, self.output_size
        dy = check_float_array(dy, where, "dy", self.dtype)
        y_shape = (T, B, D * P) if batched else (T, D * P)
        if batched and self.batch_first:
            y_shape = (B, T, D * P)
        check_shape(dy, y_shape, where, "dy", "It must have the shape of the output y.")
        if not batched:
            dy = dy[:, None, :]
        elif self.batch_first:
            dy = dy.transpose(1, 0, 2)
        d_finals = self._check_hx(None if d_state is None else d_state, B, batched, where, "d_state", "dy")
        self._cache = None
        d_init = [np.empty_like(s) for s in d_finals]
        dout = np.ascontiguousarray(dy)
        for layer in reversed(range(L)):
            if drop_masks[layer] is not None:
                dout = dout * drop_masks[layer]
            dinp = None
            for d in range(D):
                row = layer * D + d
                dy_d = dout[:, :, d * P : (d + 1) * P]
                if d == 1:
                    dy_d = _reverse(dy_d, rev)
                dy_d = np.ascontiguousarray(dy_d)
                dx_d, d0 = self._dir_backward(layer, d, dy_d, [s[row] for s in d_finals], caches[row])
                for arr, v in zip(d_init, d0):
                    arr[row] = v
                if d == 1:
                    dx_d = _reverse(dx_d, rev)
                dinp = dx_d if dinp is None else dinp + dx_d
            dout = dinp
        dx = dout
        if not batched:
            return dx[:, 0], self._pack_states([a[:, 0] for a in d_init])
        if self.batch_first:
            dx = dx.transpose(1, 0, 2)
        return np.ascontiguousarray(dx), self._pack_states(d_init)

    def _weight_grads(self, sfx):
        """(grads of weight_ih, weight_hh) of the layer and direction of suffix sfx: the LSTM
        kernels' backward adds dW_ih and dW_hh to them itself (``lstm_backward``'s add_to)."""
        g = self.grads
        return g[f"weight_ih{sfx}"], g[f"weight_hh{sfx}"]

    def _accumulate(self, sfx, dW_ih, dW_hh, db, dW_hr=None):
        """Add a backward's parameter gradients to ``grads``; dW_ih and dW_hh None where the
        kernels' backward added them itself."""
        g = self.grads
        if dW_ih is not None:
            g[f"weight_ih{sfx}"] += dW_ih
            g[f"weight_hh{sfx}"] += dW_hh
        if self.bias:  # z depends on b_ih + b_hh: both receive the same gradient
            g[f"bias_ih{sfx}"] += db
            g[f"bias_hh{sfx}"] += db
        if dW_hr is not None:
            g[f"weight_hr{sfx}"] += dW_hr

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for k, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False), ("proj_size", 0)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s + f", dtype={self.dtype.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _backend_check(module, value) -> str:
    """The check of ``lstm.backend = value``: a name :func:`lstmkit.backends.select` takes, refused
    when set (a bad name, or numba asked for and missing), not at the next forward."""
    backends.select(value, type(module).__name__)
    return value


class LSTM(_Recurrent):
    r"""Multi-layer LSTM over sequences, PyTorch's ``nn.LSTM`` in NumPy with hand-written BPTT.

    For each layer and time step (gate order i, f, g, o as in PyTorch)::

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       (c~_t in the seeds)
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)              (with proj_size: h_t = W_hr (o_t * tanh(c_t)))

    Layer l > 0 takes the previous layer's output (times a dropout mask while training).

    Args:
        input_size (I), hidden_size (H), num_layers (L), bias, batch_first, dropout (between layers,
        training mode only, drawn from the seeded generator ``dropout_rng``), bidirectional (D = 2),
        proj_size (P; 0 for none), dtype (float32 or float64), seed (int, Generator or None).

    Call: ``y, (h_n, c_n) = lstm(x, hx=None, lengths=None)`` — see the module docstring for shapes
    and lengths. Backward: ``dx, (dh0, dc0) = lstm.backward(dy, d_state=None)`` with
    ``d_state = (dh_n, dc_n)``; parameter gradients accumulate into ``lstm.grads`` (same keys and
    shapes as ``state_dict()``).

    Parameters, PyTorch's names: ``weight_ih_l{k}[_reverse]`` (4H, I or D*P),
    ``weight_hh_l{k}[_reverse]`` (4H, P), ``bias_ih_l{k}``/``bias_hh_l{k}`` (4H,),
    ``weight_hr_l{k}`` (P, H) with proj_size; initialised U(-1/sqrt(H), 1/sqrt(H)).

    Variants (keyword-only, all off by default; equations in :mod:`lstmkit.variants`):

        peephole=False        i, f see c_{t-1} and o sees c'_t, the new cell state after cell_clip and
                              before zoneout_cell (c'_t = c_t at unpadded steps when zoneout_cell = 0):
                              z_i += p_i ⊙ c_{t-1}, z_f += p_f ⊙ c_{t-1}, z_o += p_o ⊙ c'_t
                              (Gers & Schmidhuber 2000; ONNX ``P``).
        input_forget=False    coupled gates (CIFG), f = 1 - i (ONNX ``input_forget``); the f rows of
                              the weights stay in the packed layout, unused (their gradient is 0).
        gate_clip=None        clip each gate pre-activation to [-gate_clip, gate_clip] (ONNX ``clip``,
                              as onnxruntime computes it).
        cell_clip=None        clip the new cell state c'_t to [-cell_clip, cell_clip] (TensorFlow's
                              cell_clip), before zoneout_cell.
        activations=("sigmoid", "tanh", "tanh")   (f, g, h) as in ONNX: f for i, f, o; g for the
                              candidate; h for c'_t on its way to h_t. Names or (name, alpha[, beta]),
                              see :mod:`lstmkit.activations`.
        layer_norm=False      z = γ_ih ⊙ LN(W_ih x~) + γ_hh ⊙ LN(W_hh h~) + b and
                              r_t = o ⊙ h(γ_c ⊙ LN(c'_t) + β_c), then h'_t = W_hr r_t with
                              proj_size, else h'_t = r_t (Ba et al. 2016).
        dropout_input=0.0     variational dropout on each layer's input, one mask per sequence
                              (Gal & Ghahramani 2016; Keras ``dropout``).
        dropout_recurrent=0.0 variational dropout on h_{t-1} in the recurrent product, one mask per
                              sequence (Keras ``recurrent_dropout``).
        zoneout_cell=0.0, zoneout_hidden=0.0   zoneout (Krueger et al. 2016): c_t = d ⊙ c_{t-1} +
                              (1 - d) ⊙ c'_t with d ~ Bernoulli(z) each step; eval uses d = z.
        dropconnect=0.0       DropConnect on W_hh, one mask per forward shared by the batch.

    The regularisers act in training mode only, with masks drawn from ``dropout_rng`` (seeded by
    ``seed``) for each layer and each direction separately (as Keras' ``Bidirectional`` does, each
    direction is its own layer); ``dropout_input`` of layer k > 0 applies to the previous layer's
    output after the inter-layer ``dropout``. ``last_masks`` holds the masks of the last forward
    (:class:`lstmkit.variants.VariantMasks`), keyed ``"l{k}"`` / ``"l{k}_reverse"``; in eval mode
    the dropout masks are None and the zoneout entries are the rates. Extra parameters, per layer and direction:
    ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (H,) with peephole (U(-k, k));
    ``ln_weight_ih_l{k}`` (4H,), ``ln_weight_hh_l{k}`` (4H,), ``ln_weight_c_l{k}`` (H,) (ones) and,
    with bias, ``ln_bias_c_l{k}`` (H,) (zeros) with layer_norm. They are created after the plain
    parameters, so a seed gives the same plain weights with or without variants.
    """

    _gates = 4
    _n_states = 2
    # Which kernels run the time loop: "auto" (the compiled ones when numba is installed, else
    # NumPy), "numpy" (the readable reference, kernels.py) or "numba" (kernels_numba.py, required).
    backend = "auto"
    # (layer, direction) -> the dict where the kernels keep what they prepare from the weights (their
    # ``prepared``): only the private copy inside a FrozenLSTM has one; None: prepared on every call
    _packs = None
    # a bad name (or numba asked for and missing) is refused when set, not at the next forward
    _set_checks = {
        **_Recurrent._set_checks,
        "backend": _backend_check,
        **VARIANT_CHECKS,  # its variant options read as attributes (Module)
    }

    def _kernels(self):
        """The kernel module for this layer's forward (see :func:`lstmkit.backends.select`)."""
        return backends.select(self.backend, type(self).__name__)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype=np.float32,
        seed=None,
        *,
        peephole: bool = False,
        input_forget: bool = False,
        gate_clip: float | None = None,
        cell_clip: float | None = None,
        activations=variants.DEFAULT_ACTIVATIONS,
        layer_norm: bool = False,
        dropout_input: float = 0.0,
        dropout_recurrent: float = 0.0,
        zoneout_cell: float = 0.0,
        zoneout_hidden: float = 0.0,
        dropconnect: float = 0.0,
    ) -> None:
        self.variant = LSTMVariant.checked(
            type(self).__name__,
            peephole=peephole,
            input_forget=input_forget,
            gate_clip=gate_clip,
            cell_clip=cell_clip,
            activations=activations,
            layer_norm=layer_norm,
            dropout_input=dropout_input,
            dropout_recurrent=dropout_recurrent,
            zoneout_cell=zoneout_cell,
            zoneout_hidden=zoneout_hidden,
            dropconnect=dropconnect,
        )
        self.last_masks: dict[str, variants.VariantMasks] = {}
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size, dtype, seed)

    def forward(self, x, hx=None, lengths=None):
        """``y, (h_n, c_n) = lstm(x, hx=None, lengths=None)``: the LSTM over the whole sequence.

        Args:
            x: (T, B, I), (B, T, I) with batch_first, or (T, I) unbatched.
            hx: ``(h0, c0)`` with h0 (D*L, B, P) and c0 (D*L, B, H) ((D*L, P) and (D*L, H)
                unbatched), or None for zeros.
            lengths: (B,) integers in [1, T] (see the module docstring), or None for all T.
                Third, where ``SequenceModel.forward(x, lengths, state)`` takes them second: B
                integers passed second are refused, saying so.
        Returns:
            y (T, B, D*P) ((B, T, D*P) with batch_first, (T, D*P) unbatched; zeros at padded
            steps) and ``(h_n, c_n)``, h_n (D*L, B, P) and c_n (D*L, B, H) ((D*L, P) and
            (D*L, H) unbatched), row l*D + d for layer l, direction d.
        """
        # The commonest calls (one plain layer, one direction, a batch, no lengths) go straight to
        # the kernels: the same checks and the same kernel call as the general path, with less
        # Python (~4 µs of a tiny model's ~25 µs forward), and a cache of the general path's form
        # (backward has the matching shortcut). Any other call, and any input this path does not
        # take, goes to the general path (_Recurrent.forward).
        if lengths is None and self._one_plain_layer:
            where = type(self).__name__
            x = check_float_array(x, where, "x", self.dtype)
            if x.ndim == 3 and x.shape[1 if self.batch_first else 0] > 0 and x.shape[2] == self.input_size:
                if self.batch_first:
                    x = np.ascontiguousarray(x.transpose(1, 0, 2))  # (T, B, I)
                B = x.shape[1]
                if hx is None:  # zeros, read and never written (h0 serves as c0 when P = H): the
                    # None case of _check_hx without its generality, 0.5 instead of 2.1 µs
                    h0 = np.zeros((B, self.output_size), dtype=self.dtype)
                    c0 = h0 if not self.proj_size else np.zeros((B, self.hidden_size), dtype=self.dtype)
                else:
                    h0, c0 = (s[0] for s in self._check_hx(hx, B, True, where))
                return self._plain_forward(x, h0, c0)
        return super().forward(x, hx, lengths)

    __call__ = forward

    def _forward_checked(self, x, batched, lengths, states):
        """The general path on checked inputs (:meth:`_Recurrent._forward_checked`), with forward's shortcut
        where it applies (one plain layer, one direction, a batch, no lengths): what forward runs."""
        if lengths is None and batched and self._one_plain_layer:
            return self._plain_forward(x, states[0][0], states[1][0])
        return super()._forward_checked(x, batched, lengths, states)

    @property
    def _one_plain_layer(self) -> bool:
        """One layer, one direction, no variant option: the LSTM forward's shortcut to the kernels."""
        return self.num_layers == 1 and not self.bidirectional and self.variant.is_plain

    def _plain_forward(self, x, h0, c0):
        """forward's shortcut after its checks: x (T, B, I), h0 (B, P), c0 (B, H) -> y, (h_n, c_n)."""
        W_ih, W_hh, b, W_hr, _ = self._weights(0, 0)
        keep = self.requires_grad
        try:
            y, h_n, c_n, cache = self._kernels().lstm_forward(x, W_ih, W_hh, b, W_hr, h0, c0, None, keep, None,
                                                              self._prepared(0, 0))  # fmt: skip
        except SystemError as exc:
            _reraise_interrupt(exc)
            raise
        # as the general path keeps it: (caches, dropout masks, reverse index, batched, (T, B, I))
        self._cache = ([cache], [None], None, True, x.shape) if keep else None
        if self.batch_first:
            y = np.ascontiguousarray(y.transpose(1, 0, 2))  # (B, T, P)
        return y, (h_n[None], c_n[None])

    def backward(self, dy, d_state=None):
        """Back-propagate through the last forward; parameter gradients accumulate into ``grads``.

        Args:
            dy: dL/dy, y's shape: (T, B, D*P), (B, T, D*P) with batch_first, (T, D*P) unbatched.
            d_state: ``(dh_n, dc_n)``, dL/dh_n (D*L, B, P) and dL/dc_n (D*L, B, H) ((D*L, P)
                and (D*L, H) unbatched), or None for zeros.
        Returns:
            dx, x's shape ((T, B, I), (B, T, I) with batch_first, (T, I) unbatched), and
            ``(dh0, dc0)``, shaped as hx's ``(h0, c0)``: (D*L, B, P) and (D*L, B, H) ((D*L, P)
            and (D*L, H) unbatched). (``SequenceModel.backward`` returns dx alone.)
        Raises:
            RuntimeError: no forward (with ``requires_grad``) since the last backward.
        """
        # The shortcut's partner: one plain layer, one direction, a batch (forward's shortcut or
        # the general path with those): the same checks and kernel call as _Recurrent.backward,
        # with less Python (a tiny model's training step: ~7 µs of ~80). Anything else, and any dy
        # or d_state this path does not take, goes to the general path (which says what is wrong).
        c = self._cache
        if c is not None and c[3] and len(c[0]) == 1 and c[1][0] is None and self._one_plain_layer:
            where = f"{type(self).__name__}.backward"
            T, B, _ = c[4]
            P = self.output_size
            dy = check_float_array(dy, where, "dy", self.dtype)
            if dy.shape == ((B, T, P) if self.batch_first else (T, B, P)):
                if d_state is None:  # zeros, read and never written (as in forward)
                    dh = np.zeros((B, P), dtype=self.dtype)
                    dc = dh if not self.proj_size else np.zeros((B, self.hidden_size), dtype=self.dtype)
                else:
                    dh, dc = (s[0] for s in self._check_hx(d_state, B, True, where, "d_state", "dy"))
                cache = c[0][0]
                self._cache = None
                if self.batch_first:
                    dy = dy.transpose(1, 0, 2)  # (T, B, P)
                ih, hh, _, _, hr, sfx = _names(0, 0)
                p = self._params
                kern = backends.for_cache(cache)
                try:
                    dx, dW_ih, dW_hh, db, dW_hr, dh0, dc0 = kern.lstm_backward(
                        np.ascontiguousarray(dy), dh, dc, p[ih], p[hh], p.get(hr), cache, self._weight_grads(sfx))  # fmt: skip
                except SystemError as exc:
                    _reraise_interrupt(exc)
                    raise
                backends.recycle(cache)  # its arrays serve the next forward (the layer dropped it above)
                self._accumulate(sfx, dW_ih, dW_hh, db, dW_hr)
                if self.batch_first:
                    dx = dx.transpose(1, 0, 2)
                return np.ascontiguousarray(dx), (dh0[None], dc0[None])
        return super().backward(dy, d_state)

    def stream(self, batch_size: int = 1, state=None, *, unbatched: bool = False):
        """An :class:`lstmkit.stream.LSTMStream` on this LSTM: inference one time step per call.

        ``stream.step(x_t)`` takes x_t (B, I) and returns the last layer's h_t (B, P), keeping
        (h, c) between calls; much cheaper per step than ``forward`` on a (1, B, I) input. The
        weights are copied now: make a new stream after changing them.
        """
        from .stream import LSTMStream

        return LSTMStream(self, batch_size, state, unbatched=unbatched)

    def freeze(self) -> "FrozenLSTM":
        """A :class:`lstmkit.frozen.FrozenLSTM` of this LSTM: inference on a copy of the weights as they
        are now, which the compiled kernels prepare (pack) once instead of on every call.

        ``frozen(x, hx=None, lengths=None)`` returns what ``forward`` returns in ``no_grad`` and eval
        mode. The weights are copied now: freeze again after changing them.
        """
        from .frozen import FrozenLSTM

        return FrozenLSTM(self)

    def _prepared(self, layer: int, d: int) -> dict | None:
        """The kernels' ``prepared`` dict of one layer and direction (a frozen copy's), or None."""
        packs = self._packs
        return None if packs is None else packs.setdefault((layer, d), {})

    def _weights(self, layer: int, d: int):
        # a frozen copy's weights never change: b = b_ih + b_hh is added once, not on every call
        packs = self._packs
        if packs is None:
            return super()._weights(layer, d)
        w = packs.get(("weights", layer, d))
        if w is None:
            w = packs[("weights", layer, d)] = super()._weights(layer, d)
        return w

    # -- variant parameters ----------------------------------------------------------------
    def _param_shapes(self) -> dict[str, tuple]:
        shapes = super()._param_shapes()
        v, H = self.variant, self.hidden_size
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                if v.peephole:
                    for gate in "ifo":
                        shapes[f"weight_c{gate}{sfx}"] = (H,)
                if v.layer_norm:
                    shapes[f"ln_weight_ih{sfx}"] = (4 * H,)
                    shapes[f"ln_weight_hh{sfx}"] = (4 * H,)
                    shapes[f"ln_weight_c{sfx}"] = (H,)
                    if self.bias:
                        shapes[f"ln_bias_c{sfx}"] = (H,)
        return shapes

    def _init_param(self, name, shape, rng, k):
        if name.startswith("ln_weight"):
            return np.ones(shape, dtype=self.dtype)  # LN gains start at 1
        if name.startswith("ln_bias"):
            return np.zeros(shape, dtype=self.dtype)  # LN shifts start at 0
        return super()._init_param(name, shape, rng, k)

    def _variant_weights(self, layer: int, d: int):
        """(VariantWeights, suffix) of one layer and direction."""
        W_ih, W_hh, b, W_hr, sfx = self._weights(layer, d)
        p = self._params
        w = variants.VariantWeights(W_ih, W_hh, b, W_hr)
        if self.variant.peephole:
            w.p_i, w.p_f, w.p_o = p[f"weight_ci{sfx}"], p[f"weight_cf{sfx}"], p[f"weight_co{sfx}"]
        if self.variant.layer_norm:
            w.g_ih, w.g_hh, w.g_c = p[f"ln_weight_ih{sfx}"], p[f"ln_weight_hh{sfx}"], p[f"ln_weight_c{sfx}"]
            w.b_c = p.get(f"ln_bias_c{sfx}")
        return w, sfx

    #: gradient key of variants.variant_backward -> parameter name prefix
    _VARIANT_GRAD_NAMES = {
        "W_ih": "weight_ih",
        "W_hh": "weight_hh",
        "W_hr": "weight_hr",
        "p_i": "weight_ci",
        "p_f": "weight_cf",
        "p_o": "weight_co",
        "g_ih": "ln_weight_ih",
        "g_hh": "ln_weight_hh",
        "g_c": "ln_weight_c",
        "b_c": "ln_bias_c",
    }

    def _variant_dir_forward(self, layer, d, x, states, mask, keep, out=None):
        w, sfx = self._variant_weights(layer, d)
        T, B, I = x.shape
        masks = variants.draw_masks(
            self.variant, self.dropout_rng, self.training, T, B, I, self.hidden_size, self.output_size, self.dtype
        )
        self.last_masks[sfx[1:]] = masks
        y, h_T, c_T, cache = variants.variant_forward(x, w, states[0], states[1], self.variant, masks, mask, keep)
        return kernels.write_into(out, y), (h_T, c_T), cache

    def _variant_dir_backward(self, layer, d, dy, d_states, cache):
        w, sfx = self._variant_weights(layer, d)
        dx, grads, dh0, dc0 = variants.variant_backward(dy, d_states[0], d_states[1], w, self.variant, cache)
        g = self.grads
        for key, value in grads.items():
            if key == "b":  # z depends on b_ih + b_hh: both receive the same gradient
                g[f"bias_ih{sfx}"] += value
                g[f"bias_hh{sfx}"] += value
            else:
                g[f"{self._VARIANT_GRAD_NAMES[key]}{sfx}"] += value
        return dx, (dh0, dc0)

    # -- per direction ---------------------------------------------------------------------
    def _dir_forward(self, layer, d, x, states, mask, keep, out=None):
        if not self.variant.is_plain:
            return self._variant_dir_forward(layer, d, x, states, mask, keep, out)
        W_ih, W_hh, b, W_hr, _ = self._weights(layer, d)
        try:
            y, h_T, c_T, cache = self._kernels().lstm_forward(
                x, W_ih, W_hh, b, W_hr, states[0], states[1], mask, keep, out, self._prepared(layer, d))
        except SystemError as exc:
            _reraise_interrupt(exc)
            raise
        return y, (h_T, c_T), cache

    def _dir_backward(self, layer, d, dy, d_states, cache):
        if not self.variant.is_plain:
            return self._variant_dir_backward(layer, d, dy, d_states, cache)
        W_ih, W_hh, _, W_hr, sfx = self._weights(layer, d)
        kern = backends.for_cache(cache)  # the backward of whichever kernels ran the forward
        try:
            dx, dW_ih, dW_hh, db, dW_hr, dh0, dc0 = kern.lstm_backward(
                dy, d_states[0], d_states[1], W_ih, W_hh, W_hr, cache, self._weight_grads(sfx))
        except SystemError as exc:
            _reraise_interrupt(exc)
            raise
        backends.recycle(cache)  # backward dropped the layer's cache: nothing reads this one again
        self._accumulate(sfx, dW_ih, dW_hh, db, dW_hr)
        return dx, (dh0, dc0)

    @staticmethod
    def _pack_states(states):
        return (states[0], states[1])

    def extra_repr(self) -> str:
        s = super().extra_repr()
        for k, v in self.variant.changed().items():
            s += f", {k}={v!r}"
        return s


class RNN(_Recurrent):
    r"""Multi-layer simple (Elman) RNN, PyTorch's ``nn.RNN``: the network the seeds contrast with
    the LSTM, whose gradient through many steps vanishes::

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)       (nonlinearity='relu': max(·, 0))

    Same options, shapes and lengths semantics as :class:`LSTM` (no proj_size).
    ``y, h_n = rnn(x, hx=None, lengths=None)``; ``dx, dh0 = rnn.backward(dy, d_state=None)``.
    Parameters ``weight_ih_l{k}`` (H, I), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}``.
    """

    _gates = 1
    _n_states = 1
    _set_checks = {**_Recurrent._set_checks, "nonlinearity": built_choice_check("nonlinearity", NONLINEARITIES)}

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=np.float32,
        seed=None,
    ) -> None:
        self.nonlinearity = nonlinearity  # checked when set (_set_checks)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, dtype, seed)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"

    def _dir_forward(self, layer, d, x, states, mask, keep, out=None):
        W_ih, W_hh, b, _, _ = self._weights(layer, d)
        y, h_T, cache = kernels.rnn_forward(x, W_ih, W_hh, b, states[0], mask, keep, self.nonlinearity)
        return kernels.write_into(out, y), (h_T,), cache

    def _dir_backward(self, layer, d, dy, d_states, cache):
        W_ih, W_hh, _, _, sfx = self._weights(layer, d)
        dx, dW_ih, dW_hh, db, dh0 = kernels.rnn_backward(dy, d_states[0], W_ih, W_hh, cache, self.nonlinearity)
        self._accumulate(sfx, dW_ih, dW_hh, db)
        return dx, (dh0,)

    @staticmethod
    def _pack_states(states):
        return states[0]
