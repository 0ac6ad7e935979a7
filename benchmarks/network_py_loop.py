"""The training step of network.py as the book writes it: one sample at a time, column vectors.

``update_mini_batch`` runs ``backprop`` on each ``(x, y)`` pair of the mini-batch in turn, adds
the per-sample gradients into running lists ``nabla_b`` and ``nabla_w``, and then moves every
weight and bias by ``eta / len(mini_batch)`` times the summed gradient. ``backprop`` does a
forward pass that keeps each layer's weighted input ``z`` and activation, then walks back from
the output error ``(a - y) * sigmoid'(z)``. Inputs are ``(n_in, 1)`` columns and targets one-hot
``(n_out, 1)`` columns; weights are ``(n_out, n_in)`` and biases ``(n_out, 1)``.

This is the baseline "network.py loop" of the benchmarks; it is deliberately not vectorised over
the mini-batch. ``tests/test_benchmarks.py`` checks that its update equals
``digitnet.reference``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Sample = tuple[Array, Array]


def sigmoid(z: Array) -> Array:
    """The logistic function, element-wise, in the book's plain form."""
    result: Array = 1.0 / (1.0 + np.exp(-z))
    return result


def sigmoid_prime(z: Array) -> Array:
    """The derivative of the sigmoid, ``sigmoid(z) * (1 - sigmoid(z))``, as the book has it."""
    s = sigmoid(z)
    return s * (1.0 - s)


class LoopNetwork:
    """A sigmoid network trained per sample, in the style of network.py."""

    def __init__(self, weights: Sequence[Any], biases: Sequence[Any]) -> None:
        """Starts from the given parameters (copied): weights ``(n_out, n_in)``, biases
        ``(n_out, 1)`` or ``(n_out,)``."""
        self.weights: list[Array] = [np.array(w, dtype=np.float64) for w in weights]
        self.biases: list[Array] = [np.array(b, dtype=np.float64).reshape(-1, 1) for b in biases]
        self.num_layers = len(self.weights) + 1
        self.sizes = [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def feedforward(self, a: Array) -> Array:
        """The output column for the input column ``a``."""
        for w, b in zip(self.weights, self.biases, strict=True):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def update_mini_batch(self, mini_batch: Sequence[Sample], eta: float) -> None:
        """One gradient-descent step on the summed per-sample gradients of ``mini_batch``."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
        step = eta / len(mini_batch)
        self.weights = [w - step * nw for w, nw in zip(self.weights, nabla_w, strict=True)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b, strict=True)]

    def backprop(self, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """The gradient of the quadratic cost ``|a - y|² / 2`` for one sample, as
        ``(nabla_b, nabla_w)`` in the shapes of the biases and weights."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for w, b in zip(self.weights, self.biases, strict=True):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)
        for layer in range(2, self.num_layers):
            delta = np.dot(self.weights[-layer + 1].T, delta) * sigmoid_prime(zs[-layer])
            nabla_b[-layer] = delta
            nabla_w[-layer] = np.dot(delta, activations[-layer - 1].T)
        return nabla_b, nabla_w

    def train(self, training_data: Sequence[Sample], mini_batch_size: int, eta: float) -> None:
        """One pass over ``training_data`` in the order given, mini-batch by mini-batch (the
        book shuffles the list first; :func:`shuffled` does that)."""
        for start in range(0, len(training_data), mini_batch_size):
            self.update_mini_batch(training_data[start : start + mini_batch_size], eta)


def samples(
    x: npt.NDArray[np.floating[Any]], labels: npt.NDArray[np.integer[Any]], classes: int = 10
) -> list[Sample]:
    """network.py's training data from row arrays: ``(n_in, 1)`` input columns (views of ``x``
    when it is float64) paired with one-hot ``(classes, 1)`` target columns."""
    x64 = np.asarray(x, dtype=np.float64)
    one_hot = np.zeros((len(labels), classes, 1))
    one_hot[np.arange(len(labels)), labels, 0] = 1.0
    columns = x64.reshape(len(x64), -1, 1)
    return list(zip(columns, one_hot, strict=True))


def shuffled(training_data: Sequence[Sample], rng: np.random.Generator) -> list[Sample]:
    """The samples in a random order, as ``random.shuffle`` leaves network.py's list."""
    order = rng.permutation(len(training_data))
    return [training_data[i] for i in order]
