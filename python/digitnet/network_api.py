"""``NetworkAPI``: network.py's and network2.py's public API, written once over a handful of
array-level primitives.

Both the Rust-backed :class:`digitnet.Network` and the NumPy :class:`digitnet.reference.Network`
implement the primitives; everything users call, with its argument handling, lives here, so the
two cannot differ in anything but the arithmetic. What ``SGD`` does between epochs lives in
:mod:`digitnet.sgd`; what a valid architecture is, in :mod:`digitnet.architecture`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from digitnet import _convert, costs, sgd, training
from digitnet._convert import Data, FloatArray, IntArray
from digitnet.history import EpochResult, History
from digitnet.reprs import network_html
from digitnet.sgd import EpochCallback, EpochPlan, ProgressCallback, StepOptions
from digitnet.training import Augment, EarlyStopping, HalveOnPlateau, Optimizer, OptimizerName

__all__ = ["NetworkAPI", "ParameterList"]


class ParameterList(Sequence[FloatArray]):
    """A network's weights or biases as read-only arrays.

    Assigning an item (``net.weights[0] = w``) or the whole list (``net.weights = [...]``) checks
    and sets the parameters; editing a returned array in place raises, since it is a copy.
    """

    def __init__(self, owner: NetworkAPI, kind: str, arrays: list[FloatArray]) -> None:
        self._owner = owner
        self._kind = kind
        self._arrays = arrays
        for array in arrays:
            array.flags.writeable = False

    @overload
    def __getitem__(self, index: int) -> FloatArray: ...
    @overload
    def __getitem__(self, index: slice) -> list[FloatArray]: ...
    def __getitem__(self, index: int | slice) -> FloatArray | list[FloatArray]:
        return self._arrays[index]

    def __setitem__(self, index: int, value: ArrayLike) -> None:
        arrays: list[Any] = list(self._arrays)
        arrays[index] = value
        setattr(self._owner, self._kind, arrays)
        self._arrays = list(getattr(self._owner, self._kind)._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __iter__(self) -> Iterator[FloatArray]:
        return iter(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self._arrays)
        return f"<{self._kind} of shapes [{shapes}]>"


class NetworkAPI(ABC):
    """A fully connected network with network.py's and network2.py's methods and attributes."""

    # Layer sizes, activations, cost and dtype are fixed when a network is made: each is a
    # read-only property over the one place that holds it, so nothing can make them disagree.

    @property
    @abstractmethod
    def sizes(self) -> list[int]:
        """The number of neurons in each layer, the input layer first (a new list each time)."""

    @property
    @abstractmethod
    def activations(self) -> list[str]:
        """Each non-input layer's activation (a new list each time)."""

    @property
    @abstractmethod
    def cost(self) -> costs.Cost:
        """The cost class (network2.py's ``cost`` attribute)."""

    @property
    def dtype(self) -> np.dtype[Any]:
        """The float type the network computes in."""
        return np.dtype(np.float64)

    #: Whether ``SGD`` prints network2.py's lines even when nothing is monitored.
    _network2_output: bool = False

    # ---- the primitives: batches are rows, biases are 1-D -------------------------------------

    @abstractmethod
    def _get_weights(self) -> list[FloatArray]: ...
    @abstractmethod
    def _get_biases(self) -> list[FloatArray]: ...
    @abstractmethod
    def _set_weights(self, weights: list[FloatArray]) -> None: ...
    @abstractmethod
    def _set_biases(self, biases: list[FloatArray]) -> None: ...
    @abstractmethod
    def _initialize(self, init: str) -> None: ...
    @abstractmethod
    def _feedforward(self, x: FloatArray) -> FloatArray: ...
    @abstractmethod
    def _predict(self, x: FloatArray) -> IntArray: ...
    @abstractmethod
    def _backprop(
        self, x: FloatArray, y: FloatArray, masks: list[FloatArray] | None = None
    ) -> tuple[list[FloatArray], list[FloatArray]]: ...
    @abstractmethod
    def _update(
        self,
        x: FloatArray,
        y: FloatArray,
        options: StepOptions,
        n: int,
        masks: list[FloatArray] | None = None,
    ) -> None: ...
    @abstractmethod
    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        options: StepOptions,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None: ...
    @abstractmethod
    def _fit_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        order: IntArray,
        batch_size: int,
        options: StepOptions,
        sample_weight: FloatArray | None,
    ) -> tuple[float, float]:
        """One epoch of mini-batches of ``batch_size`` rows taken in ``order``, each step on
        the mini-batch's mean gradient weighted by ``sample_weight`` (rows of weight 0 do not
        count; a mini-batch whose weights are all 0 is skipped).

        Returns ``(data, l2)``: ``Σ_b m_b·D_b/s_b`` and ``Σ_b m_b·‖W‖²_b/s_b`` over the
        mini-batches ``b``, where ``m_b`` is the mini-batch's rows, ``s_b`` its total weight,
        ``D_b = Σ_i w_i·ℓ_i`` with :func:`digitnet.costs.sample_loss` ``ℓ`` of each row, and
        ``‖W‖²_b`` the squared norm of all the weights just before ``b``'s step (not
        measured, so ``l2 = 0``, when ``lmbda`` is 0): what scikit-learn's ``loss_`` is made of.
        """

    def _fit_epochs(
        self,
        x: FloatArray,
        y: FloatArray,
        batch_size: int,
        sample_weight: FloatArray | None,
        plan: EpochPlan,
    ) -> int:
        """Epochs of :meth:`_fit_epoch`, as many as ``plan`` asks for: before each epoch
        ``plan(record)`` gets the last epoch's ``(data, l2)`` (``None`` before the first) and
        returns ``None`` to stop or ``(order, options)`` for the next epoch. Returns the
        number of epochs trained. The engine's version checks the data once, not per epoch."""
        record: tuple[float, float] | None = None
        epochs = 0
        while (step := plan(record)) is not None:
            order, options = step
            record = self._fit_epoch(x, y, order, batch_size, options, sample_weight)
            epochs += 1
        return epochs

    @abstractmethod
    def _objective(
        self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None
    ) -> tuple[float, float, list[FloatArray], list[FloatArray]]:
        """``(D, s, ∇w, ∇b)`` over all rows: ``D = Σ_i w_i·ℓ_i``, ``s = Σ_i w_i`` and the
        gradients of ``D`` (no L2 term, not divided by ``s``), for whole-batch solvers."""

    @abstractmethod
    def _sgd(
        self,
        x: FloatArray,
        y: FloatArray,
        epochs: int,
        mini_batch_size: int,
        options: StepOptions,
        on_progress: ProgressCallback | None,
        on_epoch: EpochCallback,
    ) -> int: ...

    # ---- network.py's attributes --------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        """The number of layers, the input layer included."""
        return len(self.sizes)

    @property
    def weights(self) -> ParameterList:
        """The weight matrices, ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``."""
        return ParameterList(self, "weights", self._get_weights())

    @weights.setter
    def weights(self, value: Sequence[ArrayLike]) -> None:
        expected = [(y, x) for x, y in itertools.pairwise(self.sizes)]
        self._set_weights(self._parameter_list("weights", value, expected))

    @property
    def biases(self) -> ParameterList:
        """The bias columns, ``biases[l]`` of shape ``(sizes[l+1], 1)``."""
        return ParameterList(self, "biases", [b.reshape(-1, 1) for b in self._get_biases()])

    @biases.setter
    def biases(self, value: Sequence[ArrayLike]) -> None:
        expected = [(y, 1) for y in self.sizes[1:]]
        arrays = self._parameter_list("biases", value, expected, also_vectors=True)
        self._set_biases([np.ascontiguousarray(b.reshape(-1)) for b in arrays])

    def _parameter_list(
        self,
        kind: str,
        value: Sequence[ArrayLike],
        expected: list[tuple[int, int]],
        also_vectors: bool = False,
    ) -> list[FloatArray]:
        if isinstance(value, (str, bytes, np.ndarray)) or not isinstance(value, Sequence):
            raise TypeError(f"{kind}: expected a list of arrays, got {type(value).__name__}")
        if len(value) != len(expected):
            raise ValueError(
                f"{kind}: expected a list of {len(expected)} arrays, one per layer, "
                f"got {len(value)}"
            )
        arrays = []
        for i, (item, shape) in enumerate(zip(value, expected, strict=True)):
            array = _convert.float_array(f"{kind}[{i}]", item, self.dtype)
            ok = array.shape == shape or (also_vectors and array.shape == shape[:1])
            if not ok:
                raise ValueError(f"{kind}[{i}]: expected shape {shape}, got {array.shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{kind}[{i}]: contains a non-finite value (NaN or infinity)")
            arrays.append(np.ascontiguousarray(array))
        return arrays

    # ---- network2.py's initialisers -----------------------------------------------------------

    def default_weight_initializer(self) -> None:
        """Redraws the parameters: weights N(0, 1/n_in), biases N(0, 1) (network2.py's
        default), from the network's random stream."""
        self._initialize("scaled")

    def large_weight_initializer(self) -> None:
        """Redraws the parameters: weights and biases N(0, 1), as network.py starts."""
        self._initialize("large")

    # ---- network.py's methods -----------------------------------------------------------------

    def feedforward(self, a: ArrayLike) -> FloatArray:
        """The network's output for input ``a``: a column ``(n_in, 1)`` gives ``(n_out, 1)`` as in
        network.py, a vector ``(n_in,)`` gives ``(n_out,)``, a batch ``(n, n_in)`` gives
        ``(n, n_out)``."""
        n_in = self.sizes[0]
        array = _convert.float_array("a", a, self.dtype)
        out = self._feedforward(_convert.rows("a", array, n_in, self.dtype))
        if array.shape == (n_in, 1):
            return out.reshape(-1, 1)
        if array.ndim == 1:
            return out.reshape(-1)
        return out

    def predict(self, x: ArrayLike) -> IntArray:
        """The predicted class (index of the most active output) for each row of ``x``."""
        return self._predict(_convert.rows("x", x, self.sizes[0], self.dtype))

    def backprop(self, x: ArrayLike, y: ArrayLike) -> tuple[list[FloatArray], list[FloatArray]]:
        """The gradient of the cost for the sample ``(x, y)`` as ``(nabla_b, nabla_w)``, in the
        shapes of ``biases`` and ``weights``; for a batch of rows, the sum over the batch."""
        xs, ys = self._sample_or_batch(x, y)
        nabla_b, nabla_w = self._backprop(xs, ys)
        return [b.reshape(-1, 1) for b in nabla_b], nabla_w

    def _sample_or_batch(self, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        n_in, n_out = self._ends()
        xs = _convert.rows("x", x, n_in, self.dtype)
        y_array = np.asarray(y)
        if y_array.ndim == 0:
            labels = _convert.label_array("y", y_array.reshape(1), n_out)
            return xs, _convert.one_hot(labels, n_out, self.dtype)
        rows = _convert.rows("y", y_array, n_out)
        return xs, _convert.targets("y", rows, xs.shape[0], n_out, self.dtype)

    def update_mini_batch(
        self,
        mini_batch: Data,
        eta: float,
        lmbda: float = 0.0,
        n: int | None = None,
        *,
        optimizer: Optimizer | OptimizerName | None = None,
    ) -> None:
        """One step of gradient descent on a list of ``(x, y)`` tuples or on arrays ``(X, Y)``:
        ``w ← (1 − ηλ/n)·w − (η/m)·Σ∇w`` and ``b ← b − (η/m)·Σ∇b`` (network.py's update when
        ``lmbda`` is 0; network2.py's with ``lmbda`` and the training set's size ``n``)."""
        x, y = _convert.training_arrays("mini_batch", mini_batch, *self._ends(), self.dtype)
        options = self._options(eta, lmbda, optimizer, 0.0, None)
        size = x.shape[0] if n is None else _convert.positive_int("n", n)
        self._update(x, y, options, size)

    def cost_derivative(self, output_activations: ArrayLike, y: ArrayLike) -> FloatArray:
        """The vector of partial derivatives of the quadratic cost with respect to the output
        activations, ``output_activations - y``."""
        difference: FloatArray = _convert.float_array(
            "output_activations", output_activations
        ) - _convert.float_array("y", y)
        return difference

    def evaluate(self, test_data: Data) -> int:
        """The number of test inputs for which the network's most active output is the label;
        ``test_data`` is a list of ``(x, label)`` tuples or arrays ``(X, labels)``."""
        x, labels = self._labelled("test_data", test_data)
        return self._evaluate(x, labels)

    def accuracy(self, data: Data, convert: bool = False) -> int:
        """network2.py's ``accuracy``: how many inputs in ``data`` are classified as their label.
        ``data`` may hold labels or one-hot vectors (``convert`` is accepted for network2.py's
        callers; the kind of ``y`` is recognised either way)."""
        return self.evaluate(data)

    def total_cost(self, data: Data, lmbda: float = 0.0, convert: bool = False) -> float:
        """network2.py's ``total_cost``: the mean cost over ``data`` plus the L2 term
        ``½·(λ/len(data))·Σ‖w‖²`` (``y`` may be labels or one-hot vectors, whatever
        ``convert`` says)."""
        lmbda = _convert.non_negative_real("lmbda", lmbda)
        x, labels = self._labelled("data", data)
        if x.shape[0] == 0:
            raise ValueError("data: is empty")
        return self._total_cost(x, _convert.one_hot(labels, self.sizes[-1]), lmbda)

    def _total_cost(self, x: FloatArray, targets: FloatArray, lmbda: float) -> float:
        outputs = self._feedforward(x)
        mean = float(np.mean(costs.per_sample(self.cost, outputs, targets)))
        squares = sum(float(np.sum(np.square(w, dtype=np.float64))) for w in self._get_weights())
        return float(mean + 0.5 * (lmbda / x.shape[0]) * squares)

    def _labelled(self, name: str, data: Data) -> tuple[FloatArray, IntArray]:
        x, labels = _convert.labelled_arrays(name, data, *self._ends(), self.dtype)
        if not _convert.all_finite(x):
            raise ValueError(f"{name}: contains a non-finite value (NaN or infinity)")
        return x, labels

    def _evaluate(self, x: FloatArray, labels: IntArray) -> int:
        return int(np.count_nonzero(self._predict(x) == labels))

    def train_epoch(
        self,
        training_data: Data,
        mini_batch_size: int,
        eta: float,
        order: ArrayLike | None = None,
        *,
        lmbda: float = 0.0,
        optimizer: Optimizer | OptimizerName | None = None,
        dropout: float = 0.0,
        augment: Augment | None = None,
    ) -> None:
        """One epoch of SGD visiting the samples in ``order`` (a permutation of their indices; a
        fresh random one when ``None``), cut into mini-batches of ``mini_batch_size``."""
        x, y = _convert.training_arrays("training_data", training_data, *self._ends(), self.dtype)
        indices = None
        if order is not None:
            indices = _convert.label_array("order", order, x.shape[0])
            if indices.shape[0] != x.shape[0]:
                raise ValueError(
                    f"order: expected one index per sample ({x.shape[0]}), got {indices.shape[0]}"
                )
            if np.any(np.bincount(indices, minlength=x.shape[0]) != 1):
                raise ValueError("order: must be a permutation of the sample indices")
        options = self._options(eta, lmbda, optimizer, dropout, augment)
        batch = _convert.positive_int("mini_batch_size", mini_batch_size)
        self._train_epoch(x, y, batch, options, indices, None)

    def _options(
        self, eta: float, lmbda: float, optimizer: object, dropout: float, augment: object
    ) -> StepOptions:
        lmbda = _convert.non_negative_real("lmbda", lmbda)
        dropout = _convert.probability("dropout", dropout)
        if augment is not None and not isinstance(augment, Augment):
            raise TypeError(f"augment: expected a digitnet.Augment, got {type(augment).__name__}")
        return StepOptions(
            _convert.learning_rate(eta), lmbda, training.optimizer(optimizer), dropout, augment
        )

    def SGD(  # noqa: N802 -- network.py's name, kept so its users' code runs unchanged
        self,
        training_data: Data,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        test_data: Data | None = None,
        *,
        lmbda: float = 0.0,
        evaluation_data: Data | None = None,
        monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False,
        optimizer: Optimizer | OptimizerName | None = None,
        dropout: float = 0.0,
        augment: Augment | None = None,
        schedule: HalveOnPlateau | None = None,
        early_stopping: EarlyStopping | None = None,
        verbose: bool = True,
        progress: bool | None = None,
        callback: Callable[[EpochResult], object] | None = None,
    ) -> History:
        """Trains with mini-batch stochastic gradient descent, as network.py does, plus
        network2.py's options and more.

        ``training_data`` is a list of ``(x, y)`` tuples or arrays ``(X, Y)`` (Y labels or
        one-hot). With ``test_data``, the network is evaluated after each epoch and the result
        printed (``verbose``), as network.py does. network2.py's ``lmbda`` (L2 regularisation),
        ``evaluation_data`` and ``monitor_*`` flags work as there, and their figures are in the
        returned :class:`~digitnet.history.History`. Beyond the book: ``optimizer``
        ("momentum", "nesterov", "adam" or an instance), ``dropout`` (the probability of
        dropping a hidden neuron), ``augment`` (random shifts and rotations of the images),
        ``schedule`` (:class:`~digitnet.training.HalveOnPlateau`) and ``early_stopping``
        (:class:`~digitnet.training.EarlyStopping`), both judged on ``evaluation_data``.
        ``progress`` shows a progress bar during each epoch (default: on a terminal, and in
        Jupyter as a notebook bar). ``callback(result)`` runs after each epoch; returning
        ``True`` stops.
        """
        x, y = _convert.training_arrays("training_data", training_data, *self._ends(), self.dtype)
        epochs = _convert.non_negative_int("epochs", epochs)
        mini_batch_size = _convert.positive_int("mini_batch_size", mini_batch_size)
        options = self._options(eta, lmbda, optimizer, dropout, augment)
        test = None if test_data is None else self._labelled("test_data", test_data)
        evaluation = None
        if evaluation_data is not None:
            evaluation = self._labelled("evaluation_data", evaluation_data)
        monitoring = sgd.Monitoring(
            evaluation_cost=monitor_evaluation_cost,
            evaluation_accuracy=monitor_evaluation_accuracy,
            training_cost=monitor_training_cost,
            training_accuracy=monitor_training_accuracy,
            verbose=verbose,
        )
        return sgd.run(
            self,
            (x, y),
            epochs,
            mini_batch_size,
            options,
            test=test,
            evaluation=evaluation,
            monitoring=monitoring,
            schedule=schedule,
            early_stopping=early_stopping,
            progress=progress,
            callback=callback,
        )

    def _ends(self) -> tuple[int, int]:
        return self.sizes[0], self.sizes[-1]

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}({self.sizes})"

    def _repr_html_(self) -> str:
        return network_html(self)
