"""The activation functions and their derivatives in NumPy, written for precision where they
saturate: what the reference network and the costs' ``delta`` compute with. A leaf module."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from digitnet._convert import FloatArray

__all__ = [
    "ELEMENTWISE",
    "as_probabilities",
    "exp_prime",
    "identity",
    "identity_prime",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "tanh_prime",
]


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid function, in the form that cannot overflow: ``exp(z) / (1 + exp(z))`` for
    negative ``z``."""
    e = np.exp(-np.abs(z))
    result: FloatArray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return result


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """The derivative of the sigmoid, ``sigmoid(z) * (1 - sigmoid(z))``, written as
    ``sigmoid(z) * sigmoid(-z)`` so it keeps its precision where the sigmoid saturates."""
    return sigmoid(z) * sigmoid(-z)


def tanh_prime(z: FloatArray) -> FloatArray:
    """The derivative of tanh, ``1 - tanh(z)**2``, written as ``4e/(1+e)**2`` with
    ``e = exp(-2|z|)``, which keeps its precision where tanh saturates."""
    e = np.exp(-2 * np.abs(z))
    result: FloatArray = 4 * e / (1 + e) ** 2
    return result


def relu(z: FloatArray) -> FloatArray:
    """``max(0, z)``."""
    return np.maximum(z, 0.0)


def relu_prime(z: FloatArray) -> FloatArray:
    """1 where ``z > 0``, else 0."""
    return (z > 0).astype(z.dtype)


def identity(z: FloatArray) -> FloatArray:
    """``z`` itself (a linear layer: scikit-learn's "identity", a regressor's output)."""
    return z.copy()


def identity_prime(z: FloatArray) -> FloatArray:
    """1 everywhere."""
    return np.ones_like(z)


def exp_prime(z: FloatArray) -> FloatArray:
    """The derivative of ``exp``: ``exp`` itself (the Poisson cost's output layer)."""
    result: FloatArray = np.exp(z)
    return result


def softmax(z: FloatArray) -> FloatArray:
    """Each row's ``exp(z_j) / Σ_k exp(z_k)``, shifted by the row's maximum against overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: FloatArray = e / e.sum(axis=1, keepdims=True)
    return result


#: Each element-wise activation and its derivative, by name (softmax is not element-wise).
ELEMENTWISE: dict[
    str, tuple[Callable[[FloatArray], FloatArray], Callable[[FloatArray], FloatArray]]
] = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (np.tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "identity": (identity, identity_prime),
    "exp": (np.exp, exp_prime),
}


def as_probabilities(outputs: FloatArray) -> NDArray[np.float64]:
    """Each row of output activations scaled to sum to 1, keeping their ratios; a row whose
    outputs all underflowed to 0 becomes uniform. (Sigmoid outputs are independent scores in
    (0, 1); this is what classifiers report as the probability of each class.)"""
    outputs = np.asarray(outputs, dtype=np.float64)
    totals = outputs.sum(axis=1, keepdims=True)
    uniform = np.full_like(outputs, 1.0 / outputs.shape[1])
    safe = np.where(totals > 0, totals, 1.0)
    return np.asarray(np.where(totals > 0, outputs / safe, uniform), dtype=np.float64)
