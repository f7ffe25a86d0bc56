"""Activations and their derivatives, stable for any finite input.

Each derivative is written from the forward *output*, as back-propagation uses it:

    σ(z)    = 1 / (1 + e^{-z})          σ'(z)    = σ(z) (1 - σ(z))
    tanh(z)                             tanh'(z) = 1 - tanh(z)²
    relu(z) = max(z, 0)                 relu'(z) = [relu(z) > 0]   (1 where the output is > 0, else 0)
    softmax(z)_k     = e^{z_k} / Σ_j e^{z_j}
    log_softmax(z)_k = z_k - log Σ_j e^{z_j}

(softmax and log_softmax subtract m = max_j z_j before exponentiating; they have no derivative here.)

Who uses the derivatives: :meth:`lstmkit.activations.Activation.grad` calls
``sigmoid_grad_from_output``, ``tanh_grad_from_output`` and ``relu_grad_from_output``; it is the
backward of the LSTM variants (:mod:`lstmkit.variants`, an ``LSTM`` with any option on) and of
``LSTMCell`` with an option on. The plain paths write the same formulas inline in their loops
(``o * (1 - o)``, ``1 - g * g``, ``h > 0``): the kernels (:mod:`lstmkit.kernels`,
:mod:`lstmkit.kernels_numba`, :mod:`lstmkit.kernels_units`) and the plain ``LSTMCell`` /
``RNNCell`` backward (:mod:`lstmkit.cell`).

The clip of the LSTM variants, whose derivative is written from the input, as its output cannot
tell a clipped value from one at the bound (``clipped``: the gate clip, their ``gate_clip``, ONNX's
``clip``; ``clipped_grad``: its derivative, and that of the cell clip, ``cell_clip``, the same
function of c written as ``numpy.clip`` by the cell's step):

    clipped(z, c) = min(max(z, -c), c)  clipped'(z) = [|z| <= c]   (1 inside [-c, c], else 0)

Shapes: every function is elementwise (softmax and log_softmax along ``axis``) and keeps its input's shape.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{-z}), without overflow for any finite z.

    With e = e^{-|z|} ∈ (0, 1]:  σ(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0; both branches
    are the same function, and neither exponentiates a positive number. ``out`` may alias ``z``.
    """
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    num = np.where(z >= 0, 1.0, e).astype(e.dtype, copy=False)
    return np.divide(num, 1.0 + e, out=out)


def sigmoid_grad_from_output(s: np.ndarray) -> np.ndarray:
    """dσ/dz written from s = σ(z):  s (1 - s)."""
    return s * (1.0 - s)


def tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh(z); NumPy's tanh saturates to ±1 without overflow."""
    return np.tanh(z, out=out)


def tanh_grad_from_output(t: np.ndarray) -> np.ndarray:
    """dtanh/dz written from t = tanh(z):  1 - t²."""
    return 1.0 - t * t


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(z, 0)."""
    return np.maximum(z, 0.0, out=out)


def relu_grad_from_output(r: np.ndarray) -> np.ndarray:
    """drelu/dz written from r = relu(z):  1 where r > 0, else 0."""
    return (r > 0).astype(r.dtype)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(z)_k = e^{z_k - m} / Σ_j e^{z_j - m} with m = max_j z_j (shift for stability)."""
    z = np.asarray(z)
    with np.errstate(over="ignore"):  # z - m may round to -inf only where e^{z-m} is 0 anyway
        e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z)_k = z_k - m - log Σ_j e^{z_j - m}."""
    z = np.asarray(z)
    with np.errstate(over="ignore"):
        s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def clipped(z: np.ndarray, clip: float | None) -> np.ndarray:
    """z clipped to [-clip, clip], or z itself when ``clip`` is None (no clip): the gate clip of
    :mod:`lstmkit.variants` and :mod:`lstmkit.cell`. Their cell clip is the same function of c,
    written as :func:`numpy.clip` under ``if cell_clip is not None`` (the step keeps c before the
    clip for the backward); its derivative is :func:`clipped_grad` all the same."""
    return z if clip is None else np.clip(z, -clip, clip)


def clipped_grad(z: np.ndarray, clip: float | None):
    """d clipped(z)/dz written from z: 1 where |z| <= clip, else 0, in z's dtype; the number 1.0
    when ``clip`` is None (no clip: the identity's derivative, broadcast by the caller's product).
    The variants' backward multiplies by it for the gate clip and the cell clip alike."""
    return 1.0 if clip is None else (np.abs(z) <= clip).astype(z.dtype)
