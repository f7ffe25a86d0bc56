"""Activations: stable for any finite input, derivatives from outputs checked by differences."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lstmkit.activations import get_activation
from lstmkit.functional import (
    log_softmax,
    relu,
    relu_grad_from_output,
    sigmoid,
    sigmoid_grad_from_output,
    softmax,
    tanh,
    tanh_grad_from_output,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_warning_at_extremes(dtype):
    z = np.array([-1e4, -710.0, -50.0, 0.0, 50.0, 710.0, 1e4, np.finfo(dtype).max, -np.finfo(dtype).max], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, t, p = sigmoid(z), tanh(z), softmax(z)
    assert s.dtype == dtype and np.all(np.isfinite(s)) and np.all(np.isfinite(t)) and np.all(np.isfinite(p))
    assert s[0] == 0.0 and s[3] == 0.5 and s[6] == 1.0
    assert t[0] == -1.0 and t[6] == 1.0


def test_sigmoid_values_and_tails():
    for z in (-40.0, -3.0, -1e-3, 0.0, 0.5, 3.0, 40.0):
        expected = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
        assert sigmoid(np.array(z)) == pytest.approx(expected, rel=1e-15)


def test_derivatives_from_outputs_match_differences():
    z = np.linspace(-6, 6, 41)
    eps = 1e-6
    np.testing.assert_allclose(sigmoid_grad_from_output(sigmoid(z)), (sigmoid(z + eps) - sigmoid(z - eps)) / (2 * eps), atol=1e-9)
    np.testing.assert_allclose(tanh_grad_from_output(tanh(z)), (np.tanh(z + eps) - np.tanh(z - eps)) / (2 * eps), atol=1e-9)
    z = z[np.abs(z) > 1e-3]  # relu: off its kink at 0
    np.testing.assert_allclose(relu_grad_from_output(relu(z)), (relu(z + eps) - relu(z - eps)) / (2 * eps), atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gate_activations_are_these_functions(dtype):
    # one set of formulas: Activation (the variants' and the cell's backward) calls sigmoid, tanh, relu
    # and their *_grad_from_output, in the input's dtype
    z = np.linspace(-5, 5, 23).astype(dtype)
    for name, f, grad in (("sigmoid", sigmoid, sigmoid_grad_from_output), ("tanh", tanh, tanh_grad_from_output),
                          ("relu", relu, relu_grad_from_output)):  # fmt: skip
        act = get_activation(name)
        y = act(z)
        assert y.dtype == dtype and act.grad(z, y).dtype == dtype
        np.testing.assert_array_equal(y, f(z))
        np.testing.assert_array_equal(act.grad(z, y), grad(f(z)))


def test_softmax_and_log_softmax():
    z = np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0]])
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    e = np.exp([1.0, 2.0, 0.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(log_softmax(z), np.log(p), rtol=1e-14)
