"""What :class:`~digitnet.sklearn.MLPClassifier` and :class:`~digitnet.sklearn.MLPRegressor`
share, as scikit-learn's ``BaseMultilayerPerceptron`` does: the parameters, building the
network, moving ``coefs_``/``intercepts_`` in and out of it, the forward pass, and ``fit``
choosing the solver.

The network (``digitnet.Network`` over the Rust engine) runs every forward pass and every
mini-batch; ``coefs_`` and ``intercepts_`` are scikit-learn's copies of its parameters
(``coefs_[l]`` is ``network.weights[l].T``), kept in step after each epoch and read back into
the network when the user has changed them.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from digitnet import costs
from digitnet.network_api import NetworkAPI
from digitnet.sklearn import _backend, lbfgs, stochastic

try:
    import scipy.sparse  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        BaseEstimator,
    )
    from sklearn.utils import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_array,
        check_random_state,
    )
    from sklearn.utils.validation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        validate_data,
    )
except ImportError as error:  # scikit-learn missing
    raise ImportError(
        f"digitnet.sklearn needs scikit-learn 1.7 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["HIDDEN", "MultilayerPerceptron", "dense", "sample_weights"]

#: scikit-learn's hidden activations and digitnet's names for them.
HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: digitnet's output activations under scikit-learn's names (``out_activation_``).
OUTPUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
# digitnet.Network takes seeds in [0, 2**64); numpy's RandomState draws below 2**63 at most.
_SEED_BOUND = np.iinfo(np.int64).max


def dense(x: Any) -> Any:
    """``x`` as a dense array (sparse input is accepted as scikit-learn's MLPs accept it; the
    engine computes on dense rows)."""
    if scipy.sparse.issparse(x):
        return x.toarray()
    return x


def sample_weights(sample_weight: ArrayLike | float, x: NDArray[Any]) -> NDArray[np.floating]:
    """``sample_weight`` checked as scikit-learn checks it: a scalar for every row, or one
    number per row of ``x``."""
    n = x.shape[0]
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, float(sample_weight), dtype=x.dtype)  # type: ignore[arg-type, unused-ignore]
    weights: NDArray[np.floating] = check_array(
        sample_weight,
        accept_sparse=False,
        ensure_2d=False,
        dtype=[np.float64, np.float32],
        order="C",
        input_name="sample_weight",
    )
    if weights.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {weights.shape}")
    if weights.shape != (n,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n,)}!")
    if not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


class MultilayerPerceptron(BaseEstimator):  # type: ignore[misc]
    """The machinery both estimators share; not an estimator by itself."""

    # Set by the subclasses' __init__ (scikit-learn's parameters, plus ``init`` and, for the
    # classifier, ``loss="quadratic"``).
    hidden_layer_sizes: int | Sequence[int]
    activation: str
    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    loss: str
    shuffle: bool
    random_state: Any
    tol: float
    verbose: bool | int
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    init: str

    coefs_: list[NDArray[np.floating]]
    intercepts_: list[NDArray[np.floating]]
    n_outputs_: int
    n_layers_: int
    out_activation_: str
    _network: NetworkAPI

    # ---- what the subclasses define -----------------------------------------------------------

    def _validate_input(
        self, features: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        raise NotImplementedError

    def _output(self) -> tuple[costs.Cost, str]:
        """The cost and digitnet's output activation for the encoded targets."""
        raise NotImplementedError

    def _score(self, features: Any, y: Any, sample_weight: Any = None) -> float:
        raise NotImplementedError

    def _predict(self, features: Any, check_input: bool = True) -> NDArray[Any]:
        raise NotImplementedError

    def _loss_outputs(self) -> int:
        """``k``: scikit-learn's squared error is a mean over the outputs, the others a sum."""
        return 1

    # ---- fitting ------------------------------------------------------------------------------

    def _fit(
        self, features: Any, y: Any, sample_weight: Any = None, incremental: bool = False
    ) -> Any:
        hidden: Any = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        x, y = self._validate_input(features, y, incremental, reset=first_pass)
        x = dense(x)
        if sample_weight is not None:
            sample_weight = sample_weights(sample_weight, x)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [x.shape[1], *(int(h) for h in hidden), self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, x.dtype)
        if self.solver in ("sgd", "adam"):
            stochastic.fit(self, x, y, sample_weight, incremental)
        else:
            lbfgs.fit(self, x, y, sample_weight)
        if not all(np.isfinite(p).all() for p in chain(self.coefs_, self.intercepts_)):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _initialize(self, y: NDArray[Any], layer_units: list[int], dtype: np.dtype[Any]) -> None:
        """Sets every fitted attribute for a first fit: a new network with Glorot's initial
        parameters (drawn by the network from a seed that ``random_state`` gives)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        cost, output = self._output()
        self.out_activation_ = OUTPUT_NAMES[output]
        init = self.init
        if init == "glorot" and self.activation == "logistic":
            init = "glorot-sigmoid"  # scikit-learn's factor 2 for logistic networks
        self._architecture = _backend.Architecture(
            layer_units, np.dtype(dtype), cost, HIDDEN[self.activation], output
        )
        seed = int(self._random_state.randint(_SEED_BOUND, dtype=np.int64))
        self._network = _backend.new_network(self._architecture, seed, init)
        self._pull(dtype)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        if self.solver in ("sgd", "adam"):
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.best_validation_score_: float | None = -np.inf
                self.best_loss_: float | None = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # ---- the network and coefs_ ---------------------------------------------------------------

    def _pull(self, dtype: np.dtype[Any] | None = None) -> None:
        """``coefs_`` and ``intercepts_`` from the network's parameters."""
        net = self._network
        kind = dtype if dtype is not None else self.coefs_[0].dtype
        self.coefs_ = [np.ascontiguousarray(w.T, dtype=kind) for w in net.weights]
        self.intercepts_ = [np.array(b.reshape(-1), dtype=kind) for b in net.biases]

    def _fresh_network(self) -> NetworkAPI:
        """A network of the same architecture holding ``coefs_`` and ``intercepts_``, with no
        optimizer state."""
        self._network = _backend.new_network(self._architecture, 0, "large")
        return self._synced_network()

    def _synced_network(self) -> NetworkAPI:
        """The network, with ``coefs_`` and ``intercepts_`` put into it if they were changed
        (or replaced) since it last gave them."""
        net = self._network
        weights, biases = net.weights, net.biases
        same = all(
            np.array_equal(w.T, c) for w, c in zip(weights, self.coefs_, strict=True)
        ) and all(
            np.array_equal(b.reshape(-1), i) for b, i in zip(biases, self.intercepts_, strict=True)
        )
        if not same:
            net.weights = [np.asarray(c).T for c in self.coefs_]
            net.biases = [np.asarray(i).reshape(-1) for i in self.intercepts_]
        return net

    def _network_arrays(self, x: NDArray[Any], y: NDArray[Any] | None = None) -> Any:
        """``x`` (and ``y``) as C-contiguous arrays of the network's dtype."""
        kind = self._network.dtype
        xs = np.ascontiguousarray(x, dtype=kind)
        if y is None:
            return xs
        return xs, np.ascontiguousarray(y, dtype=kind)

    def _forward_pass_fast(self, features: Any, check_input: bool = True) -> NDArray[Any]:
        """The output layer's activations for the rows of ``features``, computed by the engine."""
        if check_input:
            features = validate_data(self, features, accept_sparse=["csr", "csc"], reset=False)
        x = self._network_arrays(dense(features))
        out = self._synced_network().feedforward(x)
        dtype = self.coefs_[0].dtype
        result: NDArray[Any] = np.asarray(out, dtype=dtype).reshape(x.shape[0], -1)
        return result
