"""network.py's public API, written once over a handful of array-level primitives.

Both the Rust-backed :class:`digitnet.Network` and the NumPy :class:`digitnet.reference.Network`
implement the primitives; everything users call, with its argument handling, lives here, so the
two cannot differ in anything but the arithmetic.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
from tqdm import tqdm

from digitnet import _convert
from digitnet._convert import FloatArray, IntArray
from digitnet.history import EpochResult, History

ProgressCallback = Callable[[int, int], Any]
EpochCallback = Callable[[int], Any]


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

    def __setitem__(self, index: int, value: Any) -> None:
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
    """A fully connected sigmoid network with network.py's methods and attributes."""

    sizes: list[int]
    #: The float type the network computes in.
    dtype: np.dtype[Any] = np.dtype(np.float64)

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
    def _feedforward(self, x: FloatArray) -> FloatArray: ...
    @abstractmethod
    def _predict(self, x: FloatArray) -> IntArray: ...
    @abstractmethod
    def _backprop(
        self, x: FloatArray, y: FloatArray
    ) -> tuple[list[FloatArray], list[FloatArray]]: ...
    @abstractmethod
    def _update(self, x: FloatArray, y: FloatArray, eta: float) -> None: ...
    @abstractmethod
    def _train_epoch(
        self,
        x: FloatArray,
        y: FloatArray,
        mini_batch_size: int,
        eta: float,
        order: IntArray | None,
        on_progress: ProgressCallback | None,
    ) -> None: ...
    @abstractmethod
    def _sgd(
        self,
        x: FloatArray,
        y: FloatArray,
        epochs: int,
        mini_batch_size: int,
        eta: float,
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
    def weights(self, value: Sequence[Any]) -> None:
        expected = [(y, x) for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self._set_weights(self._parameter_list("weights", value, expected))

    @property
    def biases(self) -> ParameterList:
        """The bias columns, ``biases[l]`` of shape ``(sizes[l+1], 1)``."""
        return ParameterList(self, "biases", [b.reshape(-1, 1) for b in self._get_biases()])

    @biases.setter
    def biases(self, value: Sequence[Any]) -> None:
        expected = [(y, 1) for y in self.sizes[1:]]
        arrays = self._parameter_list("biases", value, expected, also_vectors=True)
        self._set_biases([np.ascontiguousarray(b.reshape(-1)) for b in arrays])

    def _parameter_list(
        self,
        kind: str,
        value: Sequence[Any],
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
            arrays.append(array)
        return arrays

    # ---- network.py's methods -----------------------------------------------------------------

    def feedforward(self, a: Any) -> FloatArray:
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

    def predict(self, x: Any) -> IntArray:
        """The predicted class (index of the most active output) for each row of ``x``."""
        return self._predict(_convert.rows("x", x, self.sizes[0], self.dtype))

    def backprop(self, x: Any, y: Any) -> tuple[list[FloatArray], list[FloatArray]]:
        """The gradient of the quadratic cost for the sample ``(x, y)`` as ``(nabla_b, nabla_w)``,
        in the shapes of ``biases`` and ``weights``; for a batch of rows, the sum over the batch."""
        n_in, n_out = self.sizes[0], self.sizes[-1]
        xs = _convert.rows("x", x, n_in, self.dtype)
        y_array = np.asarray(y)
        if y_array.ndim == 0:
            labels = _convert.label_array("y", y_array.reshape(1), n_out)
            ys = _convert.one_hot(labels, n_out, self.dtype)
        else:
            ys = _convert.targets(
                "y", _convert.rows("y", y_array, n_out), xs.shape[0], n_out, self.dtype
            )
        nabla_b, nabla_w = self._backprop(xs, ys)
        return [b.reshape(-1, 1) for b in nabla_b], nabla_w

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:
        """One step of gradient descent, ``w -= eta/m * sum(nabla_w)`` (and for ``b``), on a list of
        ``(x, y)`` tuples or on arrays ``(X, Y)``."""
        x, y = _convert.training_arrays("mini_batch", mini_batch, *self._ends(), self.dtype)
        self._update(x, y, _convert.learning_rate(eta))

    def cost_derivative(self, output_activations: Any, y: Any) -> FloatArray:
        """The vector of partial derivatives of the quadratic cost with respect to the output
        activations, ``output_activations - y``."""
        difference: FloatArray = _convert.float_array(
            "output_activations", output_activations
        ) - _convert.float_array("y", y)
        return difference

    def evaluate(self, test_data: Any) -> int:
        """The number of test inputs for which the network's most active output is the label;
        ``test_data`` is a list of ``(x, label)`` tuples or arrays ``(X, labels)``."""
        x, labels = _convert.labelled_arrays("test_data", test_data, *self._ends(), self.dtype)
        return self._evaluate(x, labels)

    def _evaluate(self, x: FloatArray, labels: IntArray) -> int:
        return int(np.count_nonzero(self._predict(x) == labels))

    def train_epoch(
        self,
        training_data: Any,
        mini_batch_size: int,
        eta: float,
        order: Any = None,
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
        self._train_epoch(
            x,
            y,
            _convert.positive_int("mini_batch_size", mini_batch_size),
            _convert.learning_rate(eta),
            indices,
            None,
        )

    def SGD(  # noqa: N802 -- network.py's name, kept so its users' code runs unchanged
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        test_data: Any = None,
        *,
        verbose: bool = True,
        progress: bool | None = None,
        callback: Callable[[EpochResult], Any] | None = None,
    ) -> History:
        """Trains with mini-batch stochastic gradient descent, as network.py does.

        ``training_data`` is a list of ``(x, y)`` tuples or arrays ``(X, Y)`` (Y labels or
        one-hot). With ``test_data``, the network is evaluated after each epoch and the result
        printed (``verbose``). ``progress`` shows a progress bar during each epoch (default: when
        stderr is a terminal). ``callback(result)`` runs after each epoch; returning ``True``
        stops training. Returns the per-epoch :class:`~digitnet.history.History`.
        """
        x, y = _convert.training_arrays("training_data", training_data, *self._ends(), self.dtype)
        epochs = _convert.non_negative_int("epochs", epochs)
        mini_batch_size = _convert.positive_int("mini_batch_size", mini_batch_size)
        eta = _convert.learning_rate(eta)
        test = None
        if test_data is not None:
            test = _convert.labelled_arrays("test_data", test_data, *self._ends(), self.dtype)

        history = History()
        show_bar = sys.stderr.isatty() if progress is None else progress
        bar = _EpochBar(show_bar)
        started = time.perf_counter()

        def on_epoch(epoch: int) -> bool:
            nonlocal started
            seconds = time.perf_counter() - started
            bar.close()
            correct = total = None
            if test is not None:
                correct, total = self._evaluate(*test), test[0].shape[0]
            result = EpochResult(epoch, seconds, correct, total)
            history.append(result)
            if verbose:
                if test is not None:
                    print(f"Epoch {epoch}: {correct} / {total}", flush=True)
                else:
                    print(f"Epoch {epoch} complete", flush=True)
            stop = bool(callback(result)) if callback is not None else False
            started = time.perf_counter()
            return stop

        try:
            self._sgd(
                x, y, epochs, mini_batch_size, eta, bar.update if show_bar else None, on_epoch
            )
        finally:
            bar.close()
        return history

    def _ends(self) -> tuple[int, int]:
        return self.sizes[0], self.sizes[-1]

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}({self.sizes})"

    def _repr_html_(self) -> str:
        from digitnet.reprs import network_html  # imported here: reprs imports this module

        return network_html(self)


class _EpochBar:
    """A tqdm progress bar over the mini-batches of the current epoch, made on first update."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: tqdm[Any] | None = None

    def update(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._bar = tqdm(total=total, unit="batch", leave=False, file=sys.stderr)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
