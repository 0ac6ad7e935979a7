"""``digitnet.Network``: network.py's API over the Rust engine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from digitnet import _convert, _core, costs, persistence
from digitnet._convert import FloatArray, IntArray
from digitnet.architecture import architecture, check_init
from digitnet.errors import InternalError
from digitnet.network_api import NetworkAPI
from digitnet.sgd import EpochCallback, EpochPlan, ProgressCallback, StepOptions

_Self = TypeVar("_Self", bound="Network")


class Network(NetworkAPI):
    """A fully connected network trained by mini-batch SGD, computed in Rust.

    ``Network([784, 30, 10])`` makes the book's chapter 1 network: sigmoid neurons, the
    quadratic cost, weights and biases drawn from N(0, 1). The same ``seed`` gives the same
    starting parameters and the same training run, bit for bit; ``seed=None`` draws one (see
    :attr:`seed`). ``dtype`` is ``float64`` (the default, exact to the NumPy reference) or
    ``float32`` (faster; the same code in single precision).

    Beyond chapter 1: ``cost`` is network2.py's ``QuadraticCost`` or ``CrossEntropyCost``,
    ``LogLikelihoodCost`` (with a softmax output layer) or ``PoissonCost`` (with an exp output
    layer); ``activation`` is the hidden layers' ("sigmoid", "tanh", "relu" or "identity", or
    one per hidden layer); ``output`` the output layer's (by default sigmoid, softmax for the
    log-likelihood cost, exp for the Poisson cost; "identity" makes a regressor with the
    quadratic cost); ``init`` is "large" (N(0, 1) weights, network.py), "scaled" (N(0, 1/n_in),
    network2.py's default), or "glorot" / "glorot-sigmoid" (weights and biases uniform on
    ±√(6/(n_in+n_out)), or with 2 in place of 6: scikit-learn's initialisation).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        dtype: DTypeLike = np.float64,
        *,
        cost: costs.Cost | costs.CostName = costs.QuadraticCost,
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
        init: str = "large",
    ) -> None:
        checked = _convert.sizes(sizes)
        #: The seed the parameters were drawn with (drawn from the system when ``None``).
        self.seed = _convert.seed(seed)
        kind = _convert.dtype(dtype)
        cost_class, activations = architecture(checked, cost, activation, output)
        self._core = _core.Network(
            checked, self.seed, kind.name, activations, cost_class.name, check_init(init)
        )
        self._read_engine()

    def _read_engine(self) -> None:
        """Reads what the engine fixed when it was made, so that reading it never waits for a
        training thread (the engine is borrowed while it trains)."""
        self._sizes = tuple(self._core.sizes)
        self._activations = tuple(self._core.activations)
        self._cost = costs.cost(self._core.cost)
        self._dtype = np.dtype(self._core.dtype)

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

    @property
    def dtype(self) -> np.dtype[Any]:
        """The float type the network computes in, ``float64`` or ``float32``."""
        return self._dtype

    def copy(self: _Self) -> _Self:
        """An independent copy of the same class, with the same parameters and random stream:
        it trains on exactly as this network would."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._core = self._core.copy()
        return clone

    def __copy__(self: _Self) -> _Self:
        return self.copy()

    def __deepcopy__(self: _Self, memo: dict[int, Any]) -> _Self:
        return self.copy()

    def __getstate__(self) -> dict[str, Any]:
        """Pickles as sizes, seed, dtype, parameters and the optimizer's state (velocities,
        Adam's moments), for multiprocessing and joblib: an unpickled network goes on training
        with the same optimizer as this one would.

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
            "optimizer_state": self._core.optimizer_state(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        Network.__init__(
            self,
            state["sizes"],
            seed=state["seed"],
            dtype=state["dtype"],
            cost=state["cost"],
            activation=state["activations"][:-1],
            output=state["activations"][-1],
        )
        self.weights = state["weights"]
        self.biases = state["biases"]
        # Absent from pickles made before the state was kept.
        optimizer_state = state.get("optimizer_state")
        if optimizer_state is not None:
            self._core.set_optimizer_state(optimizer_state)

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Writes the network to ``filename`` (atomically): in the safetensors format if the name
        ends in ``.safetensors``, else in network2.py's JSON format."""
        persistence.save(self, filename)

    @classmethod
    def load(cls: type[_Self], filename: str | os.PathLike[str]) -> _Self:
        """A network of this class read from a file written by :meth:`save` or by network2.py's
        ``Network.save``; a bad file is a :class:`~digitnet.errors.ModelFileError`."""
        model = persistence.read_model(filename)
        net = object.__new__(cls)
        Network.__init__(
            net,
            model.sizes,
            dtype=model.dtype,
            cost=costs.COSTS[model.cost],
            activation=model.activations[:-1],
            output=model.activations[-1],
        )
        net.weights = model.weights
        net.biases = model.biases
        return net

    def to_onnx(self, filename: str | os.PathLike[str], *, digit: bool = True) -> None:
        """Writes the network to ``filename`` as an ONNX model (atomically; needs the ``onnx``
        extra): input ``(batch, n_in)``, outputs the activations and, with ``digit``, each row's
        predicted class."""
        persistence.export_onnx(self, filename, digit=digit)

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
        self._core.update_mini_batch(x, y, options, n, masks)

    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        options: StepOptions,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self._core.train_epoch(x, y, mini_batch_size, options, order, on_progress=on_progress)

    def _fit_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        order: IntArray,
        batch_size: int,
        options: StepOptions,
        sample_weight: FloatArray | None,
    ) -> tuple[float, float]:
        record = self._core.train_epoch(
            x, y, batch_size, options, order, sample_weight, record_loss=True
        )
        if record is None:  # the binding returns the record whenever it is asked for
            raise InternalError("train_epoch returned no loss record")
        return record

    def _fit_epochs(
        self,
        x: FloatArray,
        y: FloatArray,
        batch_size: int,
        sample_weight: FloatArray | None,
        plan: EpochPlan,
    ) -> int:
        return self._core.train_epochs(x, y, batch_size, plan, sample_weight)

    def _objective(
        self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None
    ) -> tuple[float, float, list[FloatArray], list[FloatArray]]:
        return self._core.objective(x, y, sample_weight)

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
        return self._core.sgd(
            x,
            y,
            epochs,
            mini_batch_size,
            options,
            on_progress=on_progress,
            on_epoch=on_epoch,
        )


@overload
def sigmoid(z: float) -> float: ...
@overload
def sigmoid(z: ArrayLike) -> NDArray[np.float64]: ...
def sigmoid(z: ArrayLike) -> float | NDArray[np.float64]:
    """The sigmoid function ``1 / (1 + exp(-z))``, element-wise; a number gives a float."""
    array = _convert.float_array("z", z)
    out = _core.sigmoid(array)
    return float(out) if array.ndim == 0 else out


@overload
def sigmoid_prime(z: float) -> float: ...
@overload
def sigmoid_prime(z: ArrayLike) -> NDArray[np.float64]: ...
def sigmoid_prime(z: ArrayLike) -> float | NDArray[np.float64]:
    """The derivative of the sigmoid function, element-wise; a number gives a float."""
    array = _convert.float_array("z", z)
    out = _core.sigmoid_prime(array)
    return float(out) if array.ndim == 0 else out


__all__ = ["Network", "sigmoid", "sigmoid_prime"]
