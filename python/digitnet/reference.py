"""The NumPy reference: network.py's maths, vectorised over the mini-batch, and nothing clever.

It has the same API as :class:`digitnet.Network` and is what the tests compare the Rust engine
with, and the baseline the benchmarks measure against. Samples are rows: for a batch ``X`` of
shape ``(m, n_in)``, layer ``l`` computes ``Z = A @ W.T + b`` and ``A = sigmoid(Z)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from digitnet import _convert
from digitnet._convert import FloatArray, IntArray
from digitnet._network_api import EpochCallback, NetworkAPI, ProgressCallback


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid function, in the form that cannot overflow: ``exp(z) / (1 + exp(z))`` for
    negative ``z``."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """The derivative of the sigmoid, ``sigmoid(z) * (1 - sigmoid(z))``, written as
    ``sigmoid(z) * sigmoid(-z)`` so it keeps its precision where the sigmoid saturates."""
    return sigmoid(z) * sigmoid(-z)


class Network(NetworkAPI):
    """network.py's ``Network`` in plain NumPy, with digitnet's API."""

    def __init__(self, sizes: Any, seed: int | None = None) -> None:
        self.sizes = _convert.sizes(sizes)
        self.seed = _convert.seed(seed)
        self.rng = np.random.default_rng(self.seed)
        self._biases: list[FloatArray] = [self.rng.standard_normal(y) for y in self.sizes[1:]]
        self._weights: list[FloatArray] = [
            self.rng.standard_normal((y, x))
            for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        ]

    def _get_weights(self) -> list[FloatArray]:
        return [w.copy() for w in self._weights]

    def _get_biases(self) -> list[FloatArray]:
        return [b.copy() for b in self._biases]

    def _set_weights(self, weights: list[FloatArray]) -> None:
        self._weights = [w.copy() for w in weights]

    def _set_biases(self, biases: list[FloatArray]) -> None:
        self._biases = [b.copy() for b in biases]

    def _feedforward(self, x: FloatArray) -> FloatArray:
        _check_finite("a", x)
        a = x
        for w, b in zip(self._weights, self._biases, strict=True):
            a = sigmoid(a @ w.T + b)
        return a

    def _predict(self, x: FloatArray) -> IntArray:
        labels: IntArray = self._feedforward(x).argmax(axis=1)
        return labels

    def _backprop(self, x: FloatArray, y: FloatArray) -> tuple[list[FloatArray], list[FloatArray]]:
        """The gradient of the quadratic cost summed over the rows of ``(x, y)``."""
        _check_finite("x", x)
        _check_finite("y", y)
        # Forward, keeping every layer's weighted input z and activation.
        activation = x
        activations = [x]
        zs = []
        for w, b in zip(self._weights, self._biases, strict=True):
            z = activation @ w.T + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # Backward: the output error, then each layer's error from the one above.
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b: list[FloatArray] = [np.zeros_like(b) for b in self._biases]
        nabla_w: list[FloatArray] = [np.zeros_like(w) for w in self._weights]
        nabla_b[-1] = delta.sum(axis=0)
        nabla_w[-1] = delta.T @ activations[-2]
        for layer in range(2, self.num_layers):
            delta = (delta @ self._weights[-layer + 1]) * sigmoid_prime(zs[-layer])
            nabla_b[-layer] = delta.sum(axis=0)
            nabla_w[-layer] = delta.T @ activations[-layer - 1]
        return nabla_b, nabla_w

    def _update(self, x: FloatArray, y: FloatArray, eta: float) -> None:
        nabla_b, nabla_w = self._backprop(x, y)
        m = x.shape[0]
        self._weights = [w - (eta / m) * nw for w, nw in zip(self._weights, nabla_w, strict=True)]
        self._biases = [b - (eta / m) * nb for b, nb in zip(self._biases, nabla_b, strict=True)]

    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        eta: float,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        n = x.shape[0]
        if order is None:
            order = self.rng.permutation(n)
        batches = range(0, n, mini_batch_size)
        for done, start in enumerate(batches, 1):
            batch = order[start : start + mini_batch_size]
            self._update(x[batch], y[batch], eta)
            if on_progress is not None:
                on_progress(done, len(batches))

    def _sgd(
        self,
        x: FloatArray,
        y: FloatArray,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        on_progress: ProgressCallback | None,
        on_epoch: EpochCallback,
    ) -> int:
        _check_finite("training inputs", x)
        _check_finite("training targets", y)
        for epoch in range(epochs):
            self._train_epoch(x, y, mini_batch_size, eta, None, on_progress)
            if on_epoch(epoch):
                return epoch + 1
        return epochs


def _check_finite(name: str, array: FloatArray) -> None:
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains a non-finite value (NaN or infinity)")
