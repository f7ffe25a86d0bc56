"""Read-out layers: ``Linear``, a forward/backward pair with PyTorch's names and layout.

    y = x Wᵀ + b

Symbols: x the input, W ``weight`` (O, I), b ``bias`` (O,), y the output.
Shapes: any leading dimensions ``...`` (for a sequence read-out, (B, T) or (B,)), I in_features,
O out_features.

    x (..., I)  ->  y (..., O)

Backward of y = x Wᵀ + b, with dy = ∂L/∂y (..., O):

    ∂L/∂x = dy W            (..., I)
    ∂L/∂W = Σ dyᵀ x         (O, I)   summed over every leading index
    ∂L/∂b = Σ dy            (O,)

Parameter gradients accumulate (``+=``) into ``grads``; ``zero_grad()`` clears them.
Initialisation is PyTorch's: W and b ~ U(-1/sqrt(I), 1/sqrt(I)).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_bool, check_dtype, check_float_array, check_int, check_rng, check_shape, fail
from .module import Module, built_check


class Linear(Module):
    """Affine map ``y = x Wᵀ + b`` over the last axis (PyTorch's ``nn.Linear``).

    Args:
        in_features (I), out_features (O), bias (add b), dtype (float32 or float64),
        seed (int, Generator or None; initialisation only).

    Call: ``y = linear(x)`` with x (..., I) -> y (..., O). Backward: ``dx = linear.backward(dy)``
    with dy (..., O) -> dx (..., I); ``grads["weight"]`` (O, I) and ``grads["bias"]`` (O,)
    accumulate.
    """

    _set_checks = {**Module._set_checks, "has_bias": built_check("has_bias", "bias")}

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float32, seed=None) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "Linear", "in_features", minimum=1)
        self.out_features = check_int(out_features, "Linear", "out_features", minimum=1)
        self.has_bias = check_bool(bias, "Linear", "bias")  # (``self.bias`` is the parameter, as in PyTorch)
        self.dtype = check_dtype(dtype, "Linear")
        rng = check_rng(seed, "Linear")
        k = 1.0 / np.sqrt(self.in_features)
        self._add_param("weight", rng.uniform(-k, k, size=(self.out_features, self.in_features)).astype(self.dtype))
        if self.has_bias:
            self._add_param("bias", rng.uniform(-k, k, size=(self.out_features,)).astype(self.dtype))
        self._x = None  # the cache: the input of the last forward

    def forward(self, x) -> np.ndarray:
        """y = x Wᵀ + b.  x (..., I) -> y (..., O)."""
        x = check_float_array(x, "Linear", "x", self.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            fail("Linear", "x", f"last dimension in_features={self.in_features}", f"shape {x.shape}")
        y = x @ self._params["weight"].T  # (..., O)
        if self.has_bias:
            y += self._params["bias"]  # (..., O)
        self._x = x if self.requires_grad else None
        return y

    __call__ = forward

    def backward(self, dy) -> np.ndarray:
        """dy (..., O) -> dx (..., I); accumulates ∂L/∂W and ∂L/∂b into ``grads``."""
        if self._x is None:
            fail("Linear.backward", "a forward pass with requires_grad=True", "before backward", "none", exc=RuntimeError)
        x, self._x = self._x, None
        dy = check_float_array(dy, "Linear.backward", "dy", self.dtype)
        check_shape(dy, x.shape[:-1] + (self.out_features,), "Linear.backward", "dy", "It must have the shape of the output y.")
        W = self._params["weight"]  # (O, I)
        dy2 = dy.reshape(-1, self.out_features)  # (N, O), N = every leading index
        x2 = x.reshape(-1, self.in_features)  # (N, I)
        self.grads["weight"] += dy2.T @ x2  # ∂L/∂W = Σ dyᵀ x   (O, I)
        if self.has_bias:
            self.grads["bias"] += dy2.sum(axis=0)  # ∂L/∂b = Σ dy   (O,)
        return dy @ W  # ∂L/∂x = dy W   (..., I)

    def _drop_kept(self) -> None:
        self._x = None

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias}, dtype={self.dtype.name})"
