"""network.py's training as a skilled NumPy user writes it: the benchmarks' headline baseline.

The same network, quadratic cost ``|a - y|² / 2`` summed over the mini-batch, sigmoid units and
step ``W -= eta / m * nabla_W`` (and for ``b``) as network.py, vectorised over the mini-batch:
samples are rows, so each layer is one matmul forward (``Z = A @ W.T + b``), one for the error
(``delta @ W``) and one for the weight gradient (``delta.T @ A``). Every intermediate lives in a
buffer allocated once per mini-batch size and is written in place (``out=``); the sigmoid is
``1 / (1 + exp(-z))`` and its slope ``a * (1 - a)``, as in the book. The mini-batch's rows are
gathered into a buffer with ``np.take``. float64 or float32 throughout, as asked.

``tests/test_benchmarks.py`` checks it against ``digitnet.reference`` (1e-10 in float64).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]


class _Buffers:
    """Every array one mini-batch of ``m`` rows needs, allocated once."""

    def __init__(self, sizes: Sequence[int], m: int, dtype: np.dtype[Any]) -> None:
        self.x = np.empty((m, sizes[0]), dtype)
        self.y = np.empty((m, sizes[-1]), dtype)
        # activations[l] is layer l's output (activations[0] is the input: x).
        self.activations = [self.x] + [np.empty((m, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.slopes = [np.empty((m, n), dtype) for n in sizes[1:]]


class LeanNetwork:
    """A sigmoid network trained by mini-batch SGD with one matmul per layer and pass."""

    def __init__(
        self, weights: Sequence[npt.ArrayLike], biases: Sequence[npt.ArrayLike], dtype: Any
    ) -> None:
        """Starts from the given parameters (copied, in ``dtype``): weights ``(n_out, n_in)``,
        biases ``(n_out, 1)`` or ``(n_out,)``."""
        self.dtype = np.dtype(dtype)
        self.weights: list[Array] = [np.array(w, dtype=self.dtype, order="C") for w in weights]
        self.biases: list[Array] = [np.array(b, dtype=self.dtype).reshape(-1) for b in biases]
        self.sizes = [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]
        self._weight_steps = [np.empty_like(w) for w in self.weights]
        self._bias_steps = [np.empty_like(b) for b in self.biases]
        self._buffers: dict[int, _Buffers] = {}

    def buffers(self, m: int) -> _Buffers:
        """The buffers for mini-batches of ``m`` rows (made on first use)."""
        if m not in self._buffers:
            self._buffers[m] = _Buffers(self.sizes, m, self.dtype)
        return self._buffers[m]

    def _forward(self, buffers: _Buffers) -> None:
        """Fills every layer's activation from ``buffers.x``."""
        with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z < -709: σ = 0, right
            for w, b, below, a in zip(
                self.weights,
                self.biases,
                buffers.activations[:-1],
                buffers.activations[1:],
                strict=True,
            ):
                np.matmul(below, w.T, out=a)
                a += b
                np.negative(a, out=a)
                np.exp(a, out=a)
                a += 1.0
                np.reciprocal(a, out=a)

    def feedforward(self, x: npt.ArrayLike) -> Array:
        """The output rows for the input rows ``x`` (a copy)."""
        rows = np.asarray(x, dtype=self.dtype)
        buffers = self.buffers(rows.shape[0])
        buffers.x[...] = rows
        self._forward(buffers)
        return buffers.activations[-1].copy()

    def _step(self, buffers: _Buffers, eta: float) -> None:
        """One SGD step on the mini-batch already in ``buffers.x`` and ``buffers.y``."""
        self._forward(buffers)
        acts, deltas, slopes = buffers.activations, buffers.deltas, buffers.slopes
        step = eta / buffers.x.shape[0]
        for layer, a in enumerate(acts[1:]):
            np.subtract(1.0, a, out=slopes[layer])
            slopes[layer] *= a
        np.subtract(acts[-1], buffers.y, out=deltas[-1])
        deltas[-1] *= slopes[-1]
        for layer in range(len(self.weights) - 1, -1, -1):
            delta, w = deltas[layer], self.weights[layer]
            if layer > 0:  # the error below, from the weights before their step
                np.matmul(delta, w, out=deltas[layer - 1])
                deltas[layer - 1] *= slopes[layer - 1]
            grad_w, grad_b = self._weight_steps[layer], self._bias_steps[layer]
            np.matmul(delta.T, acts[layer], out=grad_w)
            grad_w *= step
            w -= grad_w
            np.sum(delta, axis=0, out=grad_b)
            grad_b *= step
            self.biases[layer] -= grad_b

    def update_mini_batch(self, x: npt.ArrayLike, y: npt.ArrayLike, eta: float) -> None:
        """One SGD step on the rows ``x`` with one-hot targets ``y``."""
        rows = np.asarray(x, dtype=self.dtype)
        buffers = self.buffers(rows.shape[0])
        buffers.x[...] = rows
        buffers.y[...] = y
        self._step(buffers, eta)

    def train_epoch(
        self, x: Array, y: Array, mini_batch_size: int, eta: float, order: npt.ArrayLike
    ) -> None:
        """One epoch of SGD over the rows of ``x`` (in ``self.dtype``) and one-hot ``y`` (the
        same), visiting them in ``order``, in mini-batches of ``mini_batch_size``."""
        indices = np.asarray(order)
        for start in range(0, len(indices), mini_batch_size):
            batch = indices[start : start + mini_batch_size]
            buffers = self.buffers(len(batch))
            # mode="clip": with the default "raise", np.take copies through a temporary.
            np.take(x, batch, axis=0, out=buffers.x, mode="clip")
            np.take(y, batch, axis=0, out=buffers.y, mode="clip")
            self._step(buffers, eta)


def one_hot(labels: npt.NDArray[np.integer[Any]], dtype: Any, classes: int = 10) -> Array:
    """The labels as one-hot rows in ``dtype``."""
    rows = np.zeros((len(labels), classes), dtype=dtype)
    rows[np.arange(len(labels)), labels] = 1.0
    return rows
