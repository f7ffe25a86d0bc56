"""One time step, written to be read: ``LSTMCell`` and ``RNNCell``.

This is the explainable reference. Every intermediate of a step is kept in a :class:`LSTMStep`,
so later tools (explain, check, exercise) can show each number. The sequence layers of
:mod:`lstmkit.recurrent` (the fused kernels of :mod:`lstmkit.kernels`, or :mod:`lstmkit.kernels_numba`
on the fast path) compute the same thing faster and are tested to agree with this to round-off.

The LSTM cell, as in the seed decks (gate order i, f, g, o; g is the candidate memory c~)::

    i_t  = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)        input gate
    f_t  = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)        forget gate
    g_t  = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)     candidate memory c~_t
    o_t  = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)        output gate
    c_t  = f_t * c_{t-1} + i_t * g_t                       cell state (long-term memory)
    h_t  = o_t * tanh(c_t)                                 output (short-term memory)

Shapes: B batch, I input size, H hidden size. x (B, I), h and c (B, H); a 1-D x (I,) is one
unbatched sample and gives 1-D results.

Back-propagation through a loop of calls, as a PyTorch user unrolls ``nn.LSTMCell``: each call in
training mode (with ``requires_grad``, outside ``no_grad()``) keeps its step, and each ``backward``
takes back the latest step kept, so calling backward once per call, latest first, walks the loop in
reverse (BPTT), the parameter gradients accumulating over the steps as autograd's do::

    hx = None
    for t in range(T):
        hx = cell(x[t], hx)                              # keeps step t
    dh, dc = np.zeros((B, H)), np.zeros((B, H))          # nothing comes back from after the last step
    for t in reversed(range(T)):
        dx[t], (dh, dc) = cell.backward(dy[t] + dh, dc)   # dy[t] = dL/dh_t, the loss's at step t
    # dh, dc: the gradients of the initial state; cell.grads: summed over the T steps

A call given the state the previous call returned (the same arrays) continues its loop. A walk
left unfinished (a backward for the last step only, as ``loss.backward()`` would be in torch, with
steps of its loop still kept) is refused at the next call that keeps its step, rather than left as
partial gradients; ``clear_steps()`` drops the rest on purpose (truncated BPTT).

What is kept, as the layers of :mod:`lstmkit.recurrent` keep one forward's cache: in eval mode
(``cell.eval()``) a call keeps its own step only, dropping those kept before, so an inference loop
costs no memory and one backward still follows the latest call; under ``with cell.no_grad():``
nothing is kept. (torch keeps a graph in eval mode too; a cell computes the same in both modes, so
walk a loop back in training mode.) A loop run in training mode and never back-propagated keeps
every step: a cell warns when the steps kept hold :data:`KEPT_WARNING_BYTES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import numpy as np

from . import layout
from ._checks import LstmkitRuntimeWarning, check_bool, check_dtype, check_float_array, check_int, check_rng, check_shape, count, describe_pair, fail
from .functional import clipped, clipped_grad, sigmoid, tanh
from .module import VARIANT_CHECKS, Module, built_check, built_choice_check
from .variants import DEFAULT_ACTIVATIONS, LSTMVariant, layer_norm_backward, layer_norm_forward

#: the RNN's nonlinearity choices (torch's)
NONLINEARITIES = ("tanh", "relu")


@dataclass(frozen=True)
class LSTMStep:
    """Every number of one LSTM step, the cache of backward: each (B, H) unless noted (x (B, I);
    norm_x, norm_h (B, 4H); ln_stats a tuple of statistics), batched (B = 1) after a 1-D x."""

    x: np.ndarray  # x_t          (B, I)
    h_prev: np.ndarray  # h_{t-1}      (B, H)
    c_prev: np.ndarray  # c_{t-1}      (B, H)
    z_i: np.ndarray  # pre-activation of the input gate
    z_f: np.ndarray  # pre-activation of the forget gate
    z_g: np.ndarray  # pre-activation of the candidate
    z_o: np.ndarray  # pre-activation of the output gate
    i: np.ndarray  # σ(z_i)
    f: np.ndarray  # σ(z_f)
    g: np.ndarray  # tanh(z_g) = c~_t
    o: np.ndarray  # σ(z_o)
    c: np.ndarray  # c_t = f*c_{t-1} + i*g
    tanh_c: np.ndarray  # tanh(c_t) (variants: h(c_t), or h(γ_c * LN(c_t) + β_c) with layer_norm)
    h: np.ndarray  # h_t = o*tanh(c_t)
    # variants (None when the option is off); z_i, z_f, z_o above include the peephole terms
    peephole_i: np.ndarray | None = None  # p_i * c_{t-1}, added to z_i
    peephole_f: np.ndarray | None = None  # p_f * c_{t-1}, added to z_f
    peephole_o: np.ndarray | None = None  # p_o * c_t, added to z_o
    c_unclipped: np.ndarray | None = None  # f*c_{t-1} + i*g before the cell clip
    norm_x: np.ndarray | None = None  # γ_ih * LN(W_ih x_t)     (B, 4H), layer_norm
    norm_h: np.ndarray | None = None  # γ_hh * LN(W_hh h_{t-1}) (B, 4H), layer_norm
    c_norm: np.ndarray | None = None  # γ_c * LN(c_t) + β_c, the input of h(·), layer_norm
    ln_stats: tuple | None = None  # layer_norm: (â, 1/sqrt(σ²+ε)) of W_ih x, W_hh h, c_t, for backward


#: bytes held by the kept steps at which a cell warns that its memory grows (a loop run in training
#: mode and never back-propagated keeps every step, as torch keeps a graph whose outputs are held):
#: 100 MB, about 450 steps of LSTMCell(64, 128) at batch 32
KEPT_WARNING_BYTES = 100_000_000


class _Kept(NamedTuple):
    """One call's step, kept for backward."""

    cache: tuple  # what backward reads
    out: Any  # the state the call returned: (h_t, c_t), or h_t for the RNN cell
    link: bool  # the call was given the state the step kept below it returned (one loop)
    nbytes: int  # the bytes of the cache's arrays (h_{t-1}, c_{t-1} counted again: about); 0 in eval mode


def _nbytes(cache) -> int:
    """The bytes of the arrays in a step's cache (a tuple of arrays and LSTMSteps), each counted."""
    total = 0
    for a in vars(cache).values() if isinstance(cache, LSTMStep) else cache:
        if isinstance(a, np.ndarray):
            total += a.nbytes
        elif isinstance(a, (tuple, LSTMStep)):  # an LSTMStep; its layer-norm statistics
            total += _nbytes(a)
    return total


def _same_state(hx, out) -> bool:
    """Whether ``hx`` is the state ``out`` a call returned (the same arrays, as a loop passes them on)."""
    if isinstance(out, tuple):
        return isinstance(hx, (tuple, list)) and len(hx) == len(out) and all(a is b for a, b in zip(hx, out))
    return hx is out


def _init_uniform(rng: np.random.Generator, shape, hidden_size: int, dtype) -> np.ndarray:
    """PyTorch's default: U(-1/sqrt(H), 1/sqrt(H))."""
    k = 1.0 / np.sqrt(hidden_size)
    return rng.uniform(-k, k, size=shape).astype(dtype)


class _CellBase(Module):
    """Shared checks for one-step cells."""

    gate_count = 4
    _set_checks = {**Module._set_checks, "bias": built_check("bias")}
    #: one step of a backward walk through a loop, as the messages show it
    _walk = "dx[t], (dh, dc) = cell.backward(dy[t] + dh, dc)"

    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32, seed=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = check_int(input_size, name, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, name, "hidden_size", minimum=1)
        self.bias = check_bool(bias, name, "bias")
        self.dtype = check_dtype(dtype, name)
        rng = check_rng(seed, name)
        G, H, I = self.gate_count, self.hidden_size, self.input_size
        shapes = {"weight_ih": (G * H, I), "weight_hh": (G * H, H)}
        if self.bias:
            shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
        for k, shape in shapes.items():
            self._add_param(k, _init_uniform(rng, shape, H, self.dtype))
        self._add_variant_params(rng)
        self._kept: list[_Kept] = []  # the steps kept for backward, the latest last
        self._kept_bytes = 0  # the sum of their nbytes
        self._open = 0  # steps back-propagated by an unfinished walk (0: none unfinished)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        s += f", dtype={self.dtype.name}"
        variant = getattr(self, "variant", None)
        for k, v in (variant.changed().items() if variant is not None else ()):
            s += f", {k}={v!r}"
        return s

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _add_variant_params(self, rng: np.random.Generator) -> None:
        """Parameters of the options, created after the plain ones (none for the base)."""

    def _check_x(self, x, where):
        x = check_float_array(x, where, "x", self.dtype)
        if x.ndim not in (1, 2):
            fail(where, "x", "a 2-D array (B, I) or a 1-D array (I,)", f"{x.ndim}-D shape {x.shape}")
        if x.shape[-1] != self.input_size:
            fail(where, "x", f"last dimension input_size={self.input_size}", f"shape {x.shape}")
        batched = x.ndim == 2
        return (x if batched else x[None, :]), batched

    def _check_state(self, s, B, batched, where, arg):
        H = self.hidden_size
        if s is None:
            return np.zeros((B, H), dtype=self.dtype)
        s = check_float_array(s, where, arg, self.dtype)
        check_shape(s, (B, H) if batched else (H,), where, arg, "It must match x's batch size and hidden_size.")
        return s if batched else s[None, :]

    # -- the steps kept for backward ----------------------------------------------------------
    @property
    def kept_steps(self) -> int:
        """How many calls' steps are kept for :meth:`backward` (0 once every one is back-propagated;
        at most 1 after a call in eval mode)."""
        return len(self._kept)

    def clear_steps(self) -> None:
        """Drop every step kept for backward (truncated BPTT: stop a walk early on purpose)."""
        self._kept.clear()
        self._kept_bytes = 0
        self._open = 0

    _drop_kept = clear_steps  # a cast to another dtype (Module.to) drops them too

    def _keep(self, cache, hx, out) -> None:
        """Keep one call's step for backward: on top of those kept in training mode, alone in eval mode
        (as a layer keeps its last forward). ``out``: the call's returned state (the arrays the next
        call of the same loop is given as hx, so that a walk can tell where its loop began)."""
        where = type(self).__name__
        if self._open:
            n = sum(1 for _ in self._loop_below())
            fail(where, "the backward walk of the last loop", "finished before a new call",
                 f"{count(n, 'step')} of that loop still kept (backward ran for its last {self._open})",
                 f"backward takes one step, the latest first: call it once per call of the cell, {self._walk} "
                 "for t = T-1 .. 0. To stop a walk early on purpose (truncated BPTT), drop the rest with "
                 "cell.clear_steps().", exc=RuntimeError)  # fmt: skip
        if not self.training:  # eval mode: this step alone, so an inference loop keeps one step (not counted)
            self._kept[:] = [_Kept(cache, out, False, 0)]
            self._kept_bytes = 0
            return
        top = self._kept[-1] if self._kept else None
        link = top is not None and hx is not None and _same_state(hx, top.out)
        nbytes = (top.nbytes if link else 0) or _nbytes(cache)  # a loop's steps: the same arrays' shapes (an eval step counts 0)
        self._kept.append(_Kept(cache, out, link, nbytes))
        before, self._kept_bytes = self._kept_bytes, self._kept_bytes + nbytes
        if before < KEPT_WARNING_BYTES <= self._kept_bytes:  # said once each time the steps grow past it
            import warnings

            warnings.warn(
                f"{where}: {count(len(self._kept), 'step')} are kept for backward, {self._kept_bytes / 1e6:.3g} MB, "
                "and memory grows with each call: every call in training mode with requires_grad outside no_grad() "
                "keeps its step until a backward takes it back. Run loops that are not back-propagated (inference, "
                "generation) under `with cell.no_grad():` (nothing kept) or after cell.eval() (the latest call "
                "kept), or drop the steps with cell.clear_steps().", LstmkitRuntimeWarning, stacklevel=3)  # the call in the loop

    def _loop_below(self):
        """The kept steps of the loop whose walk is unfinished (the top of the stack down to its first step)."""
        for k in reversed(self._kept):
            yield k
            if not k.link:
                return

    def _take(self, where: str):
        """The latest step kept, taken off for backward."""
        if not self._kept:
            fix = ("Call the cell on an input first (with requires_grad, outside no_grad()): each call keeps its step "
                   "and each backward takes back one, the latest first, so call backward once per call.")
            if not self.training:
                fix += (" In eval mode a call keeps its own step only (an inference loop keeps no more): walk a loop "
                        "back in training mode (cell.train(); a cell computes the same in both modes).")
            fail(where, "a forward pass", "before backward", "none kept", fix, exc=RuntimeError)
        k = self._kept.pop()
        self._kept_bytes -= k.nbytes
        self._open = self._open + 1 if k.link else 0  # its loop goes on below: the walk is unfinished
        return k.cache

    def _linear_pre(self, x, h_prev):
        """z = W_ih x + b_ih + W_hh h + b_hh for all gates at once, (B, G*H)."""
        z = x @ self.weight_ih.T + h_prev @ self.weight_hh.T
        if self.bias:
            z += self.bias_ih + self.bias_hh
        return z

    def _accumulate(self, dz, x, h_prev):
        """Parameter gradients of z = W_ih x + b_ih + W_hh h + b_hh."""
        self.grads["weight_ih"] += dz.T @ x  # (GH, I)
        self.grads["weight_hh"] += dz.T @ h_prev  # (GH, H)
        if self.bias:
            db = dz.sum(axis=0)
            self.grads["bias_ih"] += db
            self.grads["bias_hh"] += db


class LSTMCell(_CellBase):
    """One LSTM step with PyTorch's parameters and the seeds' equations.

    Parameters ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,)
    in gate order i, f, g, o, initialised U(-1/sqrt(H), 1/sqrt(H)) from ``seed``.

    ``h, c = cell(x, hx=None)``: x (B, I) or (I,); hx = (h_prev, c_prev), each (B, H) or (H,),
    zeros when None. ``cell.step(x, hx)`` returns the full :class:`LSTMStep`.
    ``dx, (dh_prev, dc_prev) = cell.backward(dh, dc=None)`` back-propagates the latest call not yet
    back-propagated; parameter gradients accumulate in ``cell.grads``. A loop of calls (``for t:
    hx = cell(x[t], hx)``) is walked back by one backward per call, latest first, as in the module
    docstring (``kept_steps`` says how many are kept; ``clear_steps()`` drops them). In eval mode a
    call keeps its own step only; under ``with cell.no_grad():`` nothing is kept.

    Variants (keyword-only, off by default; the equations of :mod:`lstmkit.variants` for one step):
    ``peephole`` (parameters ``weight_ci``, ``weight_cf``, ``weight_co`` (H,): z_i += p_i*c_{t-1},
    z_f += p_f*c_{t-1}, z_o += p_o*c_t), ``input_forget`` (f = 1 - i), ``gate_clip`` (clip every
    gate pre-activation, ONNX ``clip``), ``cell_clip`` (clip c_t), ``activations`` ((f, g, h) as
    in ONNX) and ``layer_norm`` (``ln_weight_ih``, ``ln_weight_hh`` (4H,), ``ln_weight_c`` (H,)
    and, with bias, ``ln_bias_c`` (H,)). :class:`LSTMStep` then also shows the extra terms.
    The sequence regularisers (dropouts, zoneout, DropConnect) live on :class:`lstmkit.LSTM`.
    """

    gate_count = 4
    _set_checks = {**_CellBase._set_checks, **VARIANT_CHECKS}  # its variant options read as attributes (Module)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype=np.float32,
        seed=None,
        *,
        peephole: bool = False,
        input_forget: bool = False,
        gate_clip: float | None = None,
        cell_clip: float | None = None,
        activations=DEFAULT_ACTIVATIONS,
        layer_norm: bool = False,
    ):
        self.variant = LSTMVariant.checked(
            "LSTMCell",
            peephole=peephole,
            input_forget=input_forget,
            gate_clip=gate_clip,
            cell_clip=cell_clip,
            activations=activations,
            layer_norm=layer_norm,
        )
        super().__init__(input_size, hidden_size, bias, dtype, seed)

    def _add_variant_params(self, rng):
        H = self.hidden_size
        if self.variant.peephole:
            for gate in "ifo":
                self._add_param(f"weight_c{gate}", _init_uniform(rng, (H,), H, self.dtype))
        if self.variant.layer_norm:
            self._add_param("ln_weight_ih", np.ones(4 * H, dtype=self.dtype))
            self._add_param("ln_weight_hh", np.ones(4 * H, dtype=self.dtype))
            self._add_param("ln_weight_c", np.ones(H, dtype=self.dtype))
            if self.bias:
                self._add_param("ln_bias_c", np.zeros(H, dtype=self.dtype))

    # -- construction from the seeds' notations ----------------------------------------------
    @classmethod
    def from_per_gate(cls, gates: Mapping[str, np.ndarray], dtype=np.float64) -> "LSTMCell":
        """Build from seed 000's per-gate matrices (see :func:`layout.from_per_gate`).

        Args:
            gates: ``W_ii, W_if, W_ic, W_io`` (each (H, I)), ``W_hi, W_hf, W_hc, W_ho`` (each (H, H))
                and optionally ``b_ii, b_if, b_ic, b_io, b_hi, b_hf, b_hc, b_ho`` (each (H,); zeros
                when missing). PyTorch's letter ``g`` is taken for the candidate ``c``.
            dtype: the cell's dtype: float64 by default (the constructor's default is float32).
        Returns:
            An ``LSTMCell(I, H)`` with bias holding these weights; :meth:`to_per_gate` gives them back.
        """
        packed = layout.from_per_gate(gates)
        return cls._from_packed(packed, dtype)

    @classmethod
    def from_concat(cls, concat: Mapping[str, np.ndarray], input_size: int, dtype=np.float64) -> "LSTMCell":
        """Build from seeds 001/003's ``W_*·[h_{t-1}, x_t] + b_*`` matrices (H, H+I) (see
        :func:`layout.from_concat`), in float64 by default (the constructor's default is float32)."""
        packed = layout.from_concat(concat, input_size)
        return cls._from_packed(packed, dtype)

    @classmethod
    def _from_packed(cls, packed, dtype):
        H4, I = packed["weight_ih"].shape
        cell = cls(I, H4 // 4, bias=True, dtype=dtype, seed=0)
        cell.load_state_dict(packed)
        return cell

    def to_per_gate(self) -> dict[str, np.ndarray]:
        """This cell's weights in seed 000's per-gate notation (copies; see :func:`layout.to_per_gate`).

        Returns:
            ``W_ii, W_if, W_ic, W_io`` (each (H, I)), ``W_hi, W_hf, W_hc, W_ho`` (each (H, H)) and,
            with bias, ``b_ii, b_if, b_ic, b_io, b_hi, b_hf, b_hc, b_ho`` (each (H,)); the candidate
            is called ``c`` as in the seed. The variant parameters (peephole, layer norm) are not
            included. :meth:`from_per_gate` takes the result back.
        """
        return layout.to_per_gate(self._params)

    def to_concat(self) -> dict[str, np.ndarray]:
        """This cell's weights in seeds 001/003's ``W_*·[h_{t-1}, x_t] + b_*`` notation (see :func:`layout.to_concat`).

        Returns:
            ``W_i, W_f, W_c, W_o`` (each (H, H+I), the h columns first, then x) and ``b_i, b_f, b_c,
            b_o`` (each (H,), ``b_ih + b_hh`` of the gate; zeros without bias). The variant
            parameters (peephole, layer norm) are not included. :meth:`from_concat` with
            ``input_size=I`` takes the result back (the bias all in ``bias_ih``).
        """
        return layout.to_concat(self._params)

    # -- forward / backward -----------------------------------------------------------------
    @staticmethod
    def _unpack_hx(hx, where):
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            fail(where, "hx", "a pair (h_prev, c_prev)", describe_pair(hx), "An LSTM cell has two states: pass hx=(h_prev, c_prev).",
                 exc=TypeError)  # fmt: skip
        return hx

    def forward(self, x, hx=None):
        """``(h_t, c_t)`` for one step; keeps the step for :meth:`backward` (when ``requires_grad``),
        on top of the steps already kept in training mode, alone in eval mode (see the module
        docstring: a loop of calls is walked back by one backward per call, latest first).

        Args:
            x: x_t, (B, I), or (I,) for one unbatched sample.
            hx: ``(h_prev, c_prev)`` = (h_{t-1}, c_{t-1}), each (B, H) (each (H,) with a 1-D x), or
                None for zeros.
        Returns:
            ``(h_t, c_t)``, each (B, H); each (H,) with a 1-D x.
        """
        s = self.step(x, hx)
        out = (s.h, s.c) if np.ndim(x) == 2 else (s.h[0], s.c[0])
        if self.requires_grad:
            self._keep((s, np.ndim(x) == 2), hx, out)
        return out

    __call__ = forward

    def step(self, x, hx=None) -> LSTMStep:
        """Compute one step and return every intermediate; nothing is kept for :meth:`backward`
        (:meth:`forward` keeps the step).

        Args:
            x: x_t, (B, I), or (I,) for one unbatched sample.
            hx: ``(h_prev, c_prev)`` = (h_{t-1}, c_{t-1}), each (B, H) (each (H,) with a 1-D x), or
                None for zeros.
        Returns:
            The :class:`LSTMStep`, its arrays batched even after a 1-D x (B = 1): x (B, I), the
            gates, states and h (B, H); with layer_norm also norm_x, norm_h (B, 4H).
        """
        where = "LSTMCell"
        x, batched = self._check_x(x, where)
        B = x.shape[0]
        h_prev, c_prev = (None, None) if hx is None else self._unpack_hx(hx, where)
        h_prev = self._check_state(h_prev, B, batched, where, "hx[0] (h_prev)")
        c_prev = self._check_state(c_prev, B, batched, where, "hx[1] (c_prev)")
        if not self.variant.is_plain:
            return self._variant_step(x, h_prev, c_prev)
        H = self.hidden_size
        z = self._linear_pre(x, h_prev)  # (B, 4H) = W_ih x + b_ih + W_hh h_{t-1} + b_hh
        z_i, z_f, z_g, z_o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        i = sigmoid(z_i)  # input gate
        f = sigmoid(z_f)  # forget gate
        g = tanh(z_g)  # candidate memory c~_t
        o = sigmoid(z_o)  # output gate
        c = f * c_prev + i * g  # c_t = f_t*c_{t-1} + i_t*c~_t
        tanh_c = tanh(c)
        h = o * tanh_c  # h_t = o_t*tanh(c_t)
        return LSTMStep(x, h_prev, c_prev, z_i, z_f, z_g, z_o, i, f, g, o, c, tanh_c, h)

    def backward(self, dh, dc=None):
        """Back-propagate the latest step kept (the last call not yet back-propagated).

        The module docstring's equations read upward, each derivative written from the forward's
        output kept in the step (σ' = s (1 - s), tanh' = 1 - t²)::

            do       = dh ⊙ tanh(c_t)
            dc      += dh ⊙ o ⊙ (1 - tanh(c_t)²)                 all that reaches c_t
            di = dc ⊙ g ;  df = dc ⊙ c_{t-1} ;  dg = dc ⊙ i ;  dc_{t-1} = dc ⊙ f
            dz       = [di ⊙ i(1-i), df ⊙ f(1-f), dg ⊙ (1-g²), do ⊙ o(1-o)]   (B, 4H), order i, f, g, o
            dW_ih   += dz^T x ;  dW_hh += dz^T h_{t-1} ;  db_ih, db_hh += Σ_B dz    (in ``grads``)
            dx       = dz W_ih ;  dh_{t-1} = dz W_hh

        With variant options it is the backward of :mod:`lstmkit.variants` for one step, without
        masks or projection (peephole, clips, CIFG and layer norm: :meth:`_variant_backward`).

        Args:
            dh: dL/dh_t, (B, H), or (H,) after a 1-D x: the loss's at t plus the dh_prev the
                step after gave back; zeros when None.
            dc: dL/dc_t, shaped as dh: the dc_prev the step after gave back; zeros when None.
        Returns:
            ``dx, (dh_prev, dc_prev)``: dL/dx_t (B, I), dL/dh_{t-1} (B, H), dL/dc_{t-1} (B, H);
            (I,), (H,), (H,) after a 1-D x. Pass (dh_prev, dc_prev) to the backward of the step
            before (the call before). Parameter gradients accumulate in ``grads``.
        Raises:
            RuntimeError: no step kept (no call since every one was back-propagated, or
            ``requires_grad`` was off, or the step was taken after a call in eval mode).
        """
        where = "LSTMCell.backward"
        s, batched = self._take(where)
        B, H = s.h.shape
        dh = self._check_state(dh, B, batched, where, "dh")
        dc = self._check_state(dc, B, batched, where, "dc")
        if not self.variant.is_plain:
            dx, dh_prev, dc_prev = self._variant_backward(s, dh, dc)
            if not batched:
                return dx[0], (dh_prev[0], dc_prev[0])
            return dx, (dh_prev, dc_prev)
        # h = o * tanh(c)
        do = dh * s.tanh_c  # dL/do
        dc = dc + dh * s.o * (1.0 - s.tanh_c**2)  # backprop through tanh(c): 1 - tanh² from output
        # c = f * c_prev + i * g
        di = dc * s.g
        df = dc * s.c_prev
        dg = dc * s.i
        dc_prev = dc * s.f
        # through the activations, derivatives from their outputs
        dz = np.concatenate(
            [
                di * s.i * (1.0 - s.i),  # σ'
                df * s.f * (1.0 - s.f),  # σ'
                dg * (1.0 - s.g**2),  # tanh'
                do * s.o * (1.0 - s.o),  # σ'
            ],
            axis=1,
        )  # (B, 4H)
        # z = W_ih x + b_ih + W_hh h_prev + b_hh
        self._accumulate(dz, s.x, s.h_prev)
        dx = dz @ self.weight_ih  # (B, I)
        dh_prev = dz @ self.weight_hh  # (B, H)
        if not batched:
            return dx[0], (dh_prev[0], dc_prev[0])
        return dx, (dh_prev, dc_prev)

    def _variant_step(self, x, h_prev, c_prev):
        """One step with the options (the equations of :mod:`lstmkit.variants` without masks).

        Returns the :class:`LSTMStep` (with the layer-norm statistics backward needs).
        """
        v, H = self.variant, self.hidden_size
        fa, ga, ha = v.acts  # f for the gates, g for the candidate, h for the output of c
        clip = v.gate_clip
        ln_stats = None
        norm_x = norm_h = c_norm = None
        if v.layer_norm:
            norm_x, ln_x = layer_norm_forward(x @ self.weight_ih.T, self.ln_weight_ih)  # γ_ih*LN(W_ih x)
            norm_h, ln_h = layer_norm_forward(h_prev @ self.weight_hh.T, self.ln_weight_hh)  # γ_hh*LN(W_hh h)
            z = norm_x + norm_h
            if self.bias:
                z += self.bias_ih + self.bias_hh
        else:
            z = self._linear_pre(x, h_prev)  # W_ih x + b_ih + W_hh h_{t-1} + b_hh
        z_i, z_f, z_g, z_o = z[:, :H].copy(), z[:, H : 2 * H].copy(), z[:, 2 * H : 3 * H], z[:, 3 * H :].copy()
        peep_i = peep_f = peep_o = None
        if v.peephole:
            peep_i = self.weight_ci * c_prev  # i sees c_{t-1}
            peep_f = self.weight_cf * c_prev  # f sees c_{t-1}
            z_i += peep_i
            z_f += peep_f
        i = fa(clipped(z_i, clip))  # input gate
        f = 1.0 - i if v.input_forget else fa(clipped(z_f, clip))  # forget gate (coupled: 1 - i)
        g = ga(clipped(z_g, clip))  # candidate memory
        c = f * c_prev + i * g  # c_t = f*c_{t-1} + i*g
        c_unclipped = None
        if v.cell_clip is not None:
            c_unclipped, c = c, np.clip(c, -v.cell_clip, v.cell_clip)  # c_t clipped
        if v.peephole:
            peep_o = self.weight_co * c  # o sees c_t
            z_o += peep_o
        o = fa(clipped(z_o, clip))  # output gate
        if v.layer_norm:
            c_norm, ln_c = layer_norm_forward(c, self.ln_weight_c, self._params.get("ln_bias_c"))
            ln_stats = (ln_x, ln_h, ln_c)
        act_c = ha(c_norm if v.layer_norm else c)  # h(c_t) or h(γ_c*LN(c_t) + β_c)
        h = o * act_c  # h_t = o*h(·)
        step = LSTMStep(
            x, h_prev, c_prev, z_i, z_f, z_g, z_o, i, f, g, o, c, act_c, h,
            peep_i, peep_f, peep_o, c_unclipped, norm_x, norm_h, c_norm, ln_stats,
        )  # fmt: skip
        return step

    def _variant_backward(self, s: LSTMStep, dh, dc):
        """Backward of :meth:`_variant_step`, its lines in reverse. Returns dx, dh_prev, dc_prev."""
        v = self.variant
        fa, ga, ha = v.acts
        clip = v.gate_clip
        g_ = self.grads
        # h = o * h(n), n = c or γ_c*LN(c) + β_c
        do = dh * s.tanh_c
        dn = dh * s.o * ha.grad(s.c_norm if v.layer_norm else s.c, s.tanh_c)  # through h(·)
        if v.layer_norm:  # n = γ_c*LN(c) + β_c
            dcn, dg_c, db_c = layer_norm_backward(dn, self.ln_weight_c, s.ln_stats[2])
            g_["ln_weight_c"] += dg_c
            if self.bias:
                g_["ln_bias_c"] += db_c
            dc = dc + dcn
        else:
            dc = dc + dn
        # o = f(clip(z_o)), z_o includes p_o*c
        dz_o = do * fa.grad(clipped(s.z_o, clip), s.o) * clipped_grad(s.z_o, clip)
        if v.peephole:
            g_["weight_co"] += (dz_o * s.c).sum(axis=0)
            dc = dc + dz_o * self.weight_co
        if v.cell_clip is not None:  # c = clip(c_unclipped)
            dc = dc * clipped_grad(s.c_unclipped, v.cell_clip)
        # c = f*c_prev + i*g
        df = dc * s.c_prev
        di = dc * s.g
        dg = dc * s.i
        dc_prev = dc * s.f
        if v.input_forget:  # f = 1 - i
            di = di - df
            dz_f = np.zeros_like(df)
        else:
            dz_f = df * fa.grad(clipped(s.z_f, clip), s.f) * clipped_grad(s.z_f, clip)
        dz_i = di * fa.grad(clipped(s.z_i, clip), s.i) * clipped_grad(s.z_i, clip)
        dz_g = dg * ga.grad(clipped(s.z_g, clip), s.g) * clipped_grad(s.z_g, clip)
        if v.peephole:  # z_i += p_i*c_prev, z_f += p_f*c_prev
            g_["weight_ci"] += (dz_i * s.c_prev).sum(axis=0)
            g_["weight_cf"] += (dz_f * s.c_prev).sum(axis=0)
            dc_prev = dc_prev + dz_i * self.weight_ci + dz_f * self.weight_cf
        dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=1)  # (B, 4H)
        if not v.layer_norm:  # z = W_ih x + b_ih + W_hh h_prev + b_hh
            self._accumulate(dz, s.x, s.h_prev)
            return dz @ self.weight_ih, dz @ self.weight_hh, dc_prev
        # z = γ_ih*LN(W_ih x) + γ_hh*LN(W_hh h_prev) + b
        if self.bias:
            db = dz.sum(axis=0)
            g_["bias_ih"] += db
            g_["bias_hh"] += db
        da_x, dg_ih, _ = layer_norm_backward(dz, self.ln_weight_ih, s.ln_stats[0])
        da_h, dg_hh, _ = layer_norm_backward(dz, self.ln_weight_hh, s.ln_stats[1])
        g_["ln_weight_ih"] += dg_ih
        g_["ln_weight_hh"] += dg_hh
        g_["weight_ih"] += da_x.T @ s.x
        g_["weight_hh"] += da_h.T @ s.h_prev
        return da_x @ self.weight_ih, da_h @ self.weight_hh, dc_prev


class RNNCell(_CellBase):
    """One step of the simple (Elman) RNN the seeds contrast with the LSTM::

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      (or relu)

    Parameters ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,).
    ``h = cell(x, hx=None)`` with hx = h_{t-1} (zeros when None); ``dx, dh_prev = cell.backward(dh)``
    back-propagates the latest call not yet back-propagated (a loop of calls: one backward per call,
    latest first, as :class:`LSTMCell`).
    """

    gate_count = 1
    _walk = "dx[t], dh = cell.backward(dy[t] + dh)"
    _set_checks = {**_CellBase._set_checks, "nonlinearity": built_choice_check("nonlinearity", NONLINEARITIES)}

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float32, seed=None):
        self.nonlinearity = nonlinearity  # checked when set (_set_checks)
        super().__init__(input_size, hidden_size, bias, dtype, seed)

    def forward(self, x, hx=None):
        """h_t = tanh(z) or max(z, 0), z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, for one step.

        Keeps (x, h_{t-1}, h_t) for :meth:`backward` (when ``requires_grad``), on top of the steps
        already kept in training mode (a loop of calls is walked back by one backward per call,
        latest first), alone in eval mode.

        Args:
            x: x_t, (B, I), or (I,) for one unbatched sample.
            hx: h_{t-1}, (B, H) ((H,) with a 1-D x), or None for zeros.
        Returns:
            h_t, (B, H); (H,) with a 1-D x.
        """
        where = "RNNCell"
        x, batched = self._check_x(x, where)
        h_prev = self._check_state(hx, x.shape[0], batched, where, "hx")
        z = self._linear_pre(x, h_prev)
        h = np.tanh(z) if self.nonlinearity == "tanh" else np.maximum(z, 0.0)
        out = h if batched else h[0]
        if self.requires_grad:
            self._keep((x, h_prev, h, batched), hx, out)
        return out

    __call__ = forward

    def backward(self, dh):
        """Back-propagate the latest step kept (the last :meth:`forward` not yet back-propagated).

        dz = dh * (1 - h_t²) for tanh, dh * [h_t > 0] for relu (both from the output h_t); then
        dW_ih += dz^T x, dW_hh += dz^T h_{t-1} and (with bias) db_ih, db_hh += Σ_B dz in
        ``cell.grads``, dx = dz W_ih and dh_prev = dz W_hh.

        Args:
            dh: dL/dh_t, shaped like h_t: (B, H), or (H,) after a 1-D x.
        Returns:
            ``dx, dh_prev``: (B, I) and (B, H); (I,) and (H,) after a 1-D x. Pass dh_prev (plus
            the loss's dL/dh_{t-1}) to the backward of the step before.
        Raises:
            RuntimeError: no step kept (no call since every one was back-propagated, or
            ``requires_grad`` was off, or the step was taken after a call in eval mode).
        """
        where = "RNNCell.backward"
        x, h_prev, h, batched = self._take(where)
        dh = self._check_state(dh, x.shape[0], batched, where, "dh")
        dz = dh * (1.0 - h * h) if self.nonlinearity == "tanh" else dh * (h > 0)
        self._accumulate(dz, x, h_prev)
        dx, dh_prev = dz @ self.weight_ih, dz @ self.weight_hh
        return (dx, dh_prev) if batched else (dx[0], dh_prev[0])
