"""Gate activations an LSTM may use instead of σ and tanh, each with its derivative.

ONNX's ``LSTM`` operator takes three activations ``(f, g, h)``: ``f`` for the gates i, f, o,
``g`` for the candidate memory, ``h`` for the cell state on its way to the output
(default ``("sigmoid", "tanh", "tanh")``). This module names the functions the ONNX operator
lists, with ONNX's definitions and onnxruntime's default parameters::

    sigmoid(z)            = 1 / (1 + e^{-z})                      ' = y (1 - y)        (from y)
    tanh(z)                                                        ' = 1 - y²           (from y)
    relu(z)               = max(0, z)                              ' = [y > 0] = [z > 0] (from y)
    affine(z)             = α z + β            (α=1, β=0)          ' = α
    leaky_relu(z)         = z if z >= 0 else α z   (α=0.01)        ' = 1 if z >= 0 else α
    thresholded_relu(z)   = z if z > α else 0      (α=1)           ' = [z > α]
    scaled_tanh(z)        = α tanh(β z)        (α=1, β=1)          ' = α β (1 - tanh²(β z))
    hard_sigmoid(z)       = min(max(α z + β, 0), 1)  (α=0.2, β=0.5) ' = α [0 < α z + β < 1]
    elu(z)                = z if z >= 0 else α (e^z - 1)  (α=1)    ' = 1 if z >= 0 else y + α  (z < 0: from y)
    softsign(z)           = z / (1 + |z|)                          ' = 1 / (1 + |z|)²
    softplus(z)           = log(1 + e^z)                           ' = σ(z) = 1 - e^{-y} (from y)

σ, tanh and relu and their derivatives are :mod:`lstmkit.functional`'s (``sigmoid``,
``sigmoid_grad_from_output``, ...): :meth:`Activation.grad` calls them.

An activation is given by name (``"hard_sigmoid"``; ONNX's ``"HardSigmoid"`` is accepted too,
case and underscores ignored) or as ``(name, alpha)`` / ``(name, alpha, beta)``.
:func:`get_activation` turns either into an :class:`Activation`. Shapes: elementwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import count, fail
from .functional import relu, relu_grad_from_output, sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output

#: name -> (default alpha, default beta); None where the function takes no parameter
DEFAULTS: dict[str, tuple[float | None, float | None]] = {
    "sigmoid": (None, None),
    "tanh": (None, None),
    "relu": (None, None),
    "affine": (1.0, 0.0),
    "leaky_relu": (0.01, None),
    "thresholded_relu": (1.0, None),
    "scaled_tanh": (1.0, 1.0),
    "hard_sigmoid": (0.2, 0.5),
    "elu": (1.0, None),
    "softsign": (None, None),
    "softplus": (None, None),
}
_BY_KEY = {k.replace("_", ""): k for k in DEFAULTS}  # "hardsigmoid" -> "hard_sigmoid"


@dataclass(frozen=True)
class Activation:
    """One elementwise activation ``y = fn(z)`` with parameters ``alpha``/``beta`` (see module doc)."""

    name: str  # canonical snake-case name, a key of DEFAULTS
    alpha: float | None = None  # the function's α, if it has one
    beta: float | None = None  # the function's β, if it has one

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """y = fn(z), same shape as z."""
        n, a, b = self.name, self.alpha, self.beta
        if n == "sigmoid":
            return sigmoid(z)
        if n == "tanh":
            return tanh(z)
        if n == "relu":
            return relu(z)
        if n == "affine":
            return a * z + b
        if n == "leaky_relu":
            return np.where(z >= 0, z, a * z)
        if n == "thresholded_relu":
            return np.where(z > a, z, 0.0).astype(z.dtype, copy=False)
        if n == "scaled_tanh":
            return a * np.tanh(b * z)
        if n == "hard_sigmoid":
            return np.clip(a * z + b, 0.0, 1.0)
        if n == "elu":
            return np.where(z >= 0, z, a * np.expm1(np.minimum(z, 0.0)))
        if n == "softsign":
            return z / (1.0 + np.abs(z))
        return np.logaddexp(0.0, z).astype(z.dtype, copy=False)  # softplus, stable for any z

    def grad(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dy/dz at z, given y = fn(z) (σ, tanh, relu and softplus use only y; elu uses y + α where z < 0).

        z and y have the same shape; the result has it too. The others use z (and α, β) only.
        σ, tanh and relu are :mod:`lstmkit.functional`'s ``*_grad_from_output`` (one set of formulas).
        """
        n, a, b = self.name, self.alpha, self.beta
        if n == "sigmoid":
            return sigmoid_grad_from_output(y)  # σ' = y (1 - y)
        if n == "tanh":
            return tanh_grad_from_output(y)  # tanh' = 1 - y²
        if n == "relu":
            return relu_grad_from_output(y)  # [y > 0], which is [z > 0]
        if n == "affine":
            return np.full_like(z, a)
        if n == "leaky_relu":
            return np.where(z >= 0, 1.0, a).astype(z.dtype, copy=False)
        if n == "thresholded_relu":
            return (z > a).astype(z.dtype)
        if n == "scaled_tanh":
            t = np.tanh(b * z)
            return a * b * (1.0 - t * t)
        if n == "hard_sigmoid":
            u = a * z + b
            return np.where((u > 0) & (u < 1), a, 0.0).astype(z.dtype, copy=False)
        if n == "elu":
            return np.where(z >= 0, 1.0, y + a).astype(z.dtype, copy=False)
        if n == "softsign":
            d = 1.0 + np.abs(z)
            return 1.0 / (d * d)
        return -np.expm1(-y)  # softplus' = σ(z) = 1 - e^{-y}, from the output

    def spec(self):
        """The shortest spec that rebuilds this activation: a name or (name, alpha[, beta])."""
        da, db = DEFAULTS[self.name]
        if self.alpha == da and self.beta == db:
            return self.name
        return (self.name, self.alpha) if db is None else (self.name, self.alpha, self.beta)


def get_activation(spec, where: str = "activations", arg: str = "activation") -> Activation:
    """Turn a name, ``(name, alpha[, beta])`` or :class:`Activation` into an :class:`Activation`."""
    if isinstance(spec, Activation):
        return spec
    params: tuple = ()
    if isinstance(spec, (tuple, list)) and spec and isinstance(spec[0], str):
        spec, params = spec[0], tuple(spec[1:])
    if not isinstance(spec, str):
        fail(where, arg, "a name or (name, alpha[, beta])", repr(spec), f"Known names: {sorted(DEFAULTS)}.", exc=TypeError)
    name = _BY_KEY.get(spec.lower().replace("_", ""))
    if name is None:
        fail(where, arg, f"one of {sorted(DEFAULTS)} (ONNX's CamelCase names also work)", repr(spec))
    defaults = DEFAULTS[name]
    n_params = sum(d is not None for d in defaults)
    if len(params) > n_params:
        fail(where, arg, f"at most {count(n_params, 'parameter')} for {name!r}", f"{len(params)}: {params!r}")
    values = list(defaults)
    for k, v in enumerate(params):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v):
            fail(where, f"{arg} {'alpha' if k == 0 else 'beta'}", "a finite number", repr(v), exc=TypeError)
        values[k] = float(v)
    return Activation(name, values[0], values[1])
