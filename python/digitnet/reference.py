"""The NumPy reference: network.py's and network2.py's maths, vectorised over the mini-batch,
and nothing clever.

It has the same API as :class:`digitnet.Network` and is what the tests compare the Rust engine
with, and the baseline the benchmarks measure against. Samples are rows: for a batch ``X`` of
shape ``(m, n_in)``, layer ``l`` computes ``Z = A @ W.T + b`` and ``A = f(Z)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from digitnet import _convert, costs
from digitnet._convert import FloatArray, IntArray
from digitnet.activations import (
    ELEMENTWISE,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    softmax,
    tanh_prime,
)
from digitnet.architecture import architecture, check_init
from digitnet.errors import DivergenceError
from digitnet.network_api import NetworkAPI
from digitnet.sgd import EpochCallback, ProgressCallback, StepOptions
from digitnet.training import Adam, Momentum, Nesterov

__all__ = [
    "ACTIVATIONS",
    "Network",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "tanh_prime",
    "transform_image",
]

#: Each element-wise activation and its derivative (:data:`digitnet.activations.ELEMENTWISE`).
ACTIVATIONS = ELEMENTWISE


def transform_image(
    image: FloatArray, shape: tuple[int, int], dy: float, dx: float, degrees: float
) -> FloatArray:
    """The image (row by row) rotated by ``degrees`` about its centre, then shifted by
    ``(dy, dx)`` pixels, with bilinear interpolation and zeros outside: output pixel ``(r, c)``
    takes the input at ``R(-θ)·(r - cy - dy, c - cx - dx) + (cy, cx)``."""
    h, w = shape
    src = image.reshape(h, w).astype(np.float64)
    theta = np.deg2rad(degrees)
    sin, cos = np.sin(theta), np.cos(theta)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r, c = np.meshgrid(
        np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij"
    )
    y, x = r - cy - dy, c - cx - dx
    sy, sx = cos * y + sin * x + cy, -sin * y + cos * x + cx
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    padded = np.pad(src, 1)  # index -1 and h (or w) read as 0

    def pixel(rows: FloatArray, cols: FloatArray) -> FloatArray:
        inside = (rows >= -1) & (rows <= h) & (cols >= -1) & (cols <= w)
        ri = np.clip(rows, -1, h).astype(int) + 1
        ci = np.clip(cols, -1, w).astype(int) + 1
        return np.where(inside, padded[ri, ci], 0.0)

    value = (1 - fy) * ((1 - fx) * pixel(y0, x0) + fx * pixel(y0, x0 + 1)) + fy * (
        (1 - fx) * pixel(y0 + 1, x0) + fx * pixel(y0 + 1, x0 + 1)
    )
    result: FloatArray = value.reshape(-1).astype(image.dtype)
    return result


class Network(NetworkAPI):
    """network.py's (and network2.py's) ``Network`` in plain NumPy, with digitnet's API."""

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        *,
        cost: costs.Cost | costs.CostName = costs.QuadraticCost,
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
        init: str = "large",
    ) -> None:
        self._sizes = tuple(_convert.sizes(sizes))
        self.seed = _convert.seed(seed)
        cost_class, activations = architecture(self._sizes, cost, activation, output)
        self._cost, self._activations = cost_class, tuple(activations)
        self.rng = np.random.default_rng(self.seed)
        self._state: dict[str, Any] = {"optimizer": None}
        self._weights: list[FloatArray] = []
        self._biases: list[FloatArray] = []
        self._initialize(init)

    @property
    def sizes(self) -> list[int]:
        """The number of neurons in each layer, the input layer first (a new list each time)."""
        return list(self._sizes)

    @property
    def activations(self) -> list[str]:
        """Each non-input layer's activation (a new list each time)."""
        return list(self._activations)

    @property
    def cost(self) -> costs.Cost:
        """The cost class (network2.py's ``cost`` attribute)."""
        return self._cost

    def _initialize(self, init: str) -> None:
        name = check_init(init)
        if name in ("glorot", "glorot-sigmoid"):
            # Glorot and Bengio's uniform rule, as scikit-learn's MLPs start (weights and
            # biases alike): U(±√(f/(n_in + n_out))), f = 6, or 2 for logistic networks.
            factor = 6.0 if name == "glorot" else 2.0
            self._weights, self._biases = [], []
            for x, y in itertools.pairwise(self.sizes):
                bound = np.sqrt(factor / (x + y))
                self._weights.append(self.rng.uniform(-bound, bound, (y, x)))
                self._biases.append(self.rng.uniform(-bound, bound, y))
        else:
            self._biases = [self.rng.standard_normal(y) for y in self.sizes[1:]]
            self._weights = [
                self.rng.standard_normal((y, x)) / (np.sqrt(x) if name == "scaled" else 1.0)
                for x, y in itertools.pairwise(self.sizes)
            ]
        self._state = {"optimizer": None}

    def _get_weights(self) -> list[FloatArray]:
        return [w.copy() for w in self._weights]

    def _get_biases(self) -> list[FloatArray]:
        return [b.copy() for b in self._biases]

    def _set_weights(self, weights: list[FloatArray]) -> None:
        self._weights = [w.astype(np.float64) for w in weights]

    def _set_biases(self, biases: list[FloatArray]) -> None:
        self._biases = [b.astype(np.float64) for b in biases]

    def _feedforward(self, x: FloatArray) -> FloatArray:
        _check_finite("a", x)
        return self._forward(x, None)[0][-1]

    def _predict(self, x: FloatArray) -> IntArray:
        labels: IntArray = self._feedforward(x).argmax(axis=1)
        return labels

    def _forward(
        self, x: FloatArray, masks: list[FloatArray] | None
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Every layer's activation (the input first) and slope ``f'(z)`` (times the dropout
        mask on hidden layers)."""
        activations: list[FloatArray] = [x]
        slopes: list[FloatArray] = []
        last = len(self._weights) - 1
        for layer, (w, b, name) in enumerate(
            zip(self._weights, self._biases, self.activations, strict=True)
        ):
            z: FloatArray = activations[-1] @ w.T + b
            a: FloatArray
            slope: FloatArray
            if name == "softmax":
                a, slope = softmax(z), np.ones_like(z)
            else:
                f, f_prime = ELEMENTWISE[name]
                a, slope = f(z), f_prime(z)
            if masks is not None and layer < last:
                a, slope = a * masks[layer], slope * masks[layer]
            activations.append(a)
            slopes.append(slope)
        return activations, slopes

    def _backprop(
        self, x: FloatArray, y: FloatArray, masks: list[FloatArray] | None = None
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """The gradient of the cost summed over the rows of ``(x, y)``."""
        _check_finite("x", x)
        _check_finite("y", y)
        _, nabla_b, nabla_w = self._gradient(x, y, masks, None)
        return nabla_b, nabla_w

    def _gradient(
        self,
        x: FloatArray,
        y: FloatArray,
        masks: list[FloatArray] | None,
        sample_weight: FloatArray | None,
    ) -> tuple[FloatArray, list[FloatArray], list[FloatArray]]:
        """The output for each row of ``x`` and the gradient of the cost summed over the rows,
        each row's term times its weight when ``sample_weight`` is given."""
        activations, slopes = self._forward(x, masks)
        # The output error: (a - y) * f'(z) for the quadratic cost, a - y for cross-entropy with
        # sigmoids, log-likelihood with softmax and the Poisson cost with exp.
        delta = activations[-1] - y
        if self.cost is costs.QuadraticCost:
            delta = delta * slopes[-1]
        if sample_weight is not None:
            delta = delta * sample_weight[:, np.newaxis]
        nabla_b: list[FloatArray] = [np.zeros_like(b) for b in self._biases]
        nabla_w: list[FloatArray] = [np.zeros_like(w) for w in self._weights]
        nabla_b[-1] = delta.sum(axis=0)
        nabla_w[-1] = delta.T @ activations[-2]
        for layer in range(2, self.num_layers):
            delta = (delta @ self._weights[-layer + 1]) * slopes[-layer]
            nabla_b[-layer] = delta.sum(axis=0)
            nabla_w[-layer] = delta.T @ activations[-layer - 1]
        return activations[-1], nabla_b, nabla_w

    def _update(
        self,
        x: FloatArray,
        y: FloatArray,
        options: StepOptions,
        n: int,
        masks: list[FloatArray] | None = None,
    ) -> None:
        nabla_b, nabla_w = self._backprop(x, y, masks)
        self._step(nabla_b, nabla_w, x.shape[0], options, options.lmbda / n)

    def _step(
        self,
        nabla_b: list[FloatArray],
        nabla_w: list[FloatArray],
        m: float,
        options: StepOptions,
        l2: float,
    ) -> None:
        """One step on the gradient sums ``nabla_b``, ``nabla_w`` of a mini-batch of size (or
        total weight) ``m``, with ``l2·w`` added to each weight's mean gradient."""
        eta = options.eta
        if options.optimizer is None:
            # network2.py: w <- (1 - eta*lmbda/n) w - (eta/m) nabla_w
            weights = [
                (1 - eta * l2) * w - (eta / m) * nw
                for w, nw in zip(self._weights, nabla_w, strict=True)
            ]
            biases = [b - (eta / m) * nb for b, nb in zip(self._biases, nabla_b, strict=True)]
        else:
            g_w = [nw / m + l2 * w for w, nw in zip(self._weights, nabla_w, strict=True)]
            g_b = [nb / m for nb in nabla_b]
            weights, biases = self._optimizer_step(options, g_w, g_b)
        if not all(np.all(np.isfinite(p)) for p in [*weights, *biases]):
            raise DivergenceError("training diverged: a parameter would no longer be finite")
        self._weights, self._biases = weights, biases

    def _optimizer_step(
        self, options: StepOptions, g_w: list[FloatArray], g_b: list[FloatArray]
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """The optimizer's update of every parameter; its state is kept only if it is used."""
        opt = options.optimizer
        if self._state["optimizer"] != opt:
            zeros = [np.zeros_like(p) for p in [*self._weights, *self._biases]]
            self._state = {"optimizer": opt, "first": zeros, "second": [z.copy() for z in zeros],
                           "steps": 0}  # fmt: skip
        state, eta = self._state, options.eta
        params = [*self._weights, *self._biases]
        grads = [*g_w, *g_b]
        first, second, steps = list(state["first"]), list(state["second"]), state["steps"] + 1
        new = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if isinstance(opt, Momentum):
                first[i] = opt.mu * first[i] - eta * g
                new.append(p + first[i])
            elif isinstance(opt, Nesterov):
                first[i] = opt.mu * first[i] - eta * g
                new.append(p + opt.mu * first[i] - eta * g)
            elif isinstance(opt, Adam) and opt.form == "efficient":
                # The paper's section 2 reordering (scikit-learn's): the bias corrections go
                # into the step size, so epsilon is added to sqrt(v), not to sqrt(v_hat).
                first[i] = opt.beta1 * first[i] + (1 - opt.beta1) * g
                second[i] = opt.beta2 * second[i] + (1 - opt.beta2) * (g * g)
                rate = eta * np.sqrt(1 - opt.beta2**steps) / (1 - opt.beta1**steps)
                new.append(p + -rate * first[i] / (np.sqrt(second[i]) + opt.epsilon))
            elif isinstance(opt, Adam):
                first[i] = opt.beta1 * first[i] + (1 - opt.beta1) * g
                second[i] = opt.beta2 * second[i] + (1 - opt.beta2) * g * g
                m_hat = first[i] * (1 / (1 - opt.beta1**steps))
                v_hat = second[i] * (1 / (1 - opt.beta2**steps))
                new.append(p - eta * m_hat / (np.sqrt(v_hat) + opt.epsilon))
        if all(np.all(np.isfinite(p)) for p in new):
            state.update(first=first, second=second, steps=steps)
        layers = len(self._weights)
        return new[:layers], new[layers:]

    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        options: StepOptions,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        n = x.shape[0]
        if order is None:
            order = self.rng.permutation(n)
        batches = range(0, n, mini_batch_size)
        for done, start in enumerate(batches, 1):
            batch = order[start : start + mini_batch_size]
            xb: FloatArray = x[batch]
            masks: list[FloatArray] | None = None
            if options.augment is not None:
                a = options.augment
                draws = self.rng.uniform(-1, 1, (len(batch), 3)) * [
                    a.max_shift,
                    a.max_shift,
                    a.max_rotation,
                ]
                xb = np.stack(
                    [
                        transform_image(row, a.image_shape, *d)
                        for row, d in zip(xb, draws, strict=True)
                    ]
                )
            if options.dropout > 0:
                keep = 1 - options.dropout
                masks = [
                    (self.rng.random((len(batch), size)) < keep) / keep for size in self.sizes[1:-1]
                ]
            self._update(xb, y[batch], options, n, masks)
            if on_progress is not None:
                on_progress(done, len(batches))

    def _fit_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        order: IntArray,
        batch_size: int,
        options: StepOptions,
        sample_weight: FloatArray | None,
    ) -> tuple[float, float]:
        _check_finite("x", x)
        _check_finite("y", y)
        eps = float(np.finfo(np.float64).eps)
        data = l2_total = 0.0
        for start in range(0, x.shape[0], batch_size):
            batch = order[start : start + batch_size]
            weights = None if sample_weight is None else sample_weight[batch]
            total = float(len(batch)) if weights is None else float(np.sum(weights))
            if total == 0:
                continue
            outputs, nabla_b, nabla_w = self._gradient(x[batch], y[batch], None, weights)
            losses = costs.sample_loss(self.cost, outputs, y[batch], eps)
            if weights is not None:
                losses = losses * weights
            squares = sum(float(np.sum(w * w)) for w in self._weights)
            data += len(batch) * float(np.sum(losses)) / total
            l2_total += len(batch) * squares / total
            l2 = options.lmbda / (total if options.batch_l2 else x.shape[0])
            self._step(nabla_b, nabla_w, total, options, l2)
        return data, l2_total

    def _objective(
        self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None
    ) -> tuple[float, float, list[FloatArray], list[FloatArray]]:
        _check_finite("x", x)
        _check_finite("y", y)
        outputs, nabla_b, nabla_w = self._gradient(x, y, None, sample_weight)
        losses = costs.sample_loss(self.cost, outputs, y, float(np.finfo(np.float64).eps))
        if sample_weight is None:
            return float(np.sum(losses)), float(x.shape[0]), nabla_w, nabla_b
        total = float(np.sum(sample_weight))
        return float(np.sum(losses * sample_weight)), total, nabla_w, nabla_b

    def _sgd(
        self,
        x: FloatArray,
        y: FloatArray,
        epochs: int,
        mini_batch_size: int,
        options: StepOptions,
        on_progress: ProgressCallback | None,
        on_epoch: EpochCallback,
    ) -> int:
        _check_finite("training inputs", x)
        _check_finite("training targets", y)
        for epoch in range(epochs):
            self._train_epoch(x, y, mini_batch_size, options, None, on_progress)
            answer = on_epoch(epoch)
            if answer is True:
                return epoch + 1
            if isinstance(answer, float):
                options = StepOptions(
                    answer, options.lmbda, options.optimizer, options.dropout, options.augment
                )
        return epochs


def _check_finite(name: str, array: FloatArray) -> None:
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains a non-finite value (NaN or infinity)")
