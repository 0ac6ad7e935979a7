"""``digitnet.Network``: network.py's API over the Rust engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from digitnet import _convert, _core, costs
from digitnet._convert import FloatArray, IntArray
from digitnet._network_api import (
    INITS,
    EpochCallback,
    NetworkAPI,
    ProgressCallback,
    StepOptions,
    _architecture,
)
from digitnet.errors import DivergenceError


class Network(NetworkAPI):
    """A fully connected network trained by mini-batch SGD, computed in Rust.

    ``Network([784, 30, 10])`` makes the book's chapter 1 network: sigmoid neurons, the
    quadratic cost, weights and biases drawn from N(0, 1). The same ``seed`` gives the same
    starting parameters and the same training run, bit for bit; ``seed=None`` draws one (see
    :attr:`seed`). ``dtype`` is ``float64`` (the default, exact to the NumPy reference) or
    ``float32`` (faster; the same code in single precision).

    Beyond chapter 1: ``cost`` is network2.py's ``QuadraticCost`` or ``CrossEntropyCost``, or
    ``LogLikelihoodCost`` (with a softmax output layer); ``activation`` is the hidden layers'
    ("sigmoid", "tanh" or "relu", or one per hidden layer); ``output`` the output layer's
    (by default sigmoid, or softmax for the log-likelihood cost); ``init`` is "large" (N(0, 1)
    weights, network.py) or "scaled" (N(0, 1/n_in), network2.py's default).
    """

    def __init__(
        self,
        sizes: Any,
        seed: int | None = None,
        dtype: Any = np.float64,
        *,
        cost: Any = costs.QuadraticCost,
        activation: Any = "sigmoid",
        output: str | None = None,
        init: str = "large",
    ) -> None:
        self.sizes = _convert.sizes(sizes)
        self.seed = _convert.seed(seed)
        self.dtype = _convert.dtype(dtype)
        self.cost, self.activations = _architecture(self.sizes, cost, activation, output)
        if init not in INITS:
            raise ValueError(f"init: must be one of {', '.join(INITS)}, got {init!r}")
        with _diverged_as_error():
            self._core = _core.Network(
                self.sizes, self.seed, self.dtype.name, self.activations, self.cost.name, init
            )

    def copy(self) -> Network:
        """An independent copy with the same parameters and random stream: it trains on exactly
        as this network would."""
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone._core = self._core.copy()
        return clone

    def __copy__(self) -> Network:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        return self.copy()

    def __getstate__(self) -> dict[str, Any]:
        """Pickles as sizes, seed, dtype and parameters (for multiprocessing and joblib).

        The random stream is not kept: an unpickled network shuffles as a fresh one of the same
        seed would. Files from others are better exchanged with :meth:`save`, which, unlike
        pickle, cannot run code when loaded.
        """
        return {
            "sizes": self.sizes,
            "seed": self.seed,
            "dtype": self.dtype.name,
            "cost": self.cost.name,
            "activations": self.activations,
            "weights": [np.array(w) for w in self.weights],
            "biases": [np.array(b) for b in self.biases],
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["sizes"],
            seed=state["seed"],
            dtype=state["dtype"],
            cost=state["cost"],
            activation=state["activations"][:-1],
            output=state["activations"][-1],
        )
        self.weights = state["weights"]
        self.biases = state["biases"]

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Writes the network to ``filename`` (atomically): in the safetensors format if the name
        ends in ``.safetensors``, else in network2.py's JSON format."""
        from digitnet.persistence import save  # imported here: persistence imports this module

        save(self, filename)

    def to_onnx(self, filename: str | os.PathLike[str], *, digit: bool = True) -> None:
        """Writes the network to ``filename`` as an ONNX model (atomically; needs the ``onnx``
        extra): input ``(batch, n_in)``, outputs the activations and, with ``digit``, each row's
        predicted class."""
        from digitnet.persistence import export_onnx  # as for save

        export_onnx(self, filename, digit=digit)

    def _get_weights(self) -> list[FloatArray]:
        return self._core.weights()

    def _get_biases(self) -> list[FloatArray]:
        return self._core.biases()

    def _set_weights(self, weights: list[FloatArray]) -> None:
        self._core.set_weights(weights)

    def _set_biases(self, biases: list[FloatArray]) -> None:
        self._core.set_biases(biases)

    def _initialize(self, init: str) -> None:
        self._core.initialize(init)

    def _feedforward(self, x: FloatArray) -> FloatArray:
        return self._core.feedforward(x)

    def _predict(self, x: FloatArray) -> IntArray:
        return self._core.predict(x)

    def _evaluate(self, x: FloatArray, labels: IntArray) -> int:
        return self._core.evaluate(x, labels)

    def _backprop(
        self, x: FloatArray, y: FloatArray, masks: list[FloatArray] | None = None
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        return self._core.backprop(x, y, masks)

    def _update(
        self,
        x: FloatArray,
        y: FloatArray,
        options: StepOptions,
        n: int,
        masks: list[FloatArray] | None = None,
    ) -> None:
        with _diverged_as_error():
            self._core.update_mini_batch(
                x, y, options.eta, options.lmbda, n, _optimizer(options), masks
            )

    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        options: StepOptions,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        with _diverged_as_error():
            self._core.train_epoch(
                x,
                y,
                mini_batch_size,
                options.eta,
                order,
                **_options(options),
                on_progress=on_progress,
            )

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
        with _diverged_as_error():
            return self._core.sgd(
                x,
                y,
                epochs,
                mini_batch_size,
                options.eta,
                **_options(options),
                on_progress=on_progress,
                on_epoch=on_epoch,
            )


def _optimizer(options: StepOptions) -> tuple[str, float, float, float] | None:
    return None if options.optimizer is None else options.optimizer._core()


def _options(options: StepOptions) -> dict[str, Any]:
    """The binding's keyword arguments for everything but the learning rate."""
    return {
        "lmbda": options.lmbda,
        "optimizer": _optimizer(options),
        "dropout": options.dropout,
        "augment": None if options.augment is None else options.augment._core(),
    }


@contextmanager
def _diverged_as_error() -> Iterator[None]:
    """Turns the binding's ``DivergedError`` into :class:`digitnet.DivergenceError`."""
    try:
        yield
    except _core.DivergedError as error:
        raise DivergenceError(str(error)) from None


def sigmoid(z: Any) -> Any:
    """The sigmoid function ``1 / (1 + exp(-z))``, element-wise; a number gives a float."""
    array = _convert.float_array("z", z)
    out = _core.sigmoid(array)
    return float(out) if array.ndim == 0 else out


def sigmoid_prime(z: Any) -> Any:
    """The derivative of the sigmoid function, element-wise; a number gives a float."""
    array = _convert.float_array("z", z)
    out = _core.sigmoid_prime(array)
    return float(out) if array.ndim == 0 else out


__all__ = ["Network", "sigmoid", "sigmoid_prime"]
