"""``digitnet.sklearn.MLPRegressor``: scikit-learn's ``MLPRegressor`` (same parameters,
defaults, fitted attributes, warnings and errors) trained by digitnet's engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from digitnet import costs
from digitnet.sklearn.perceptron import MultilayerPerceptron

try:
    import sklearn.neural_network  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        RegressorMixin,
        _fit_context,
    )
    from sklearn.metrics import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        r2_score,
    )
    from sklearn.utils import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        column_or_1d,
    )
    from sklearn.utils._param_validation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        StrOptions,
    )
    from sklearn.utils.metaestimators import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        available_if,
    )
    from sklearn.utils.validation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_is_fitted,
        validate_data,
    )
except ImportError as error:  # scikit-learn missing
    raise ImportError(
        f"digitnet.MLPRegressor needs scikit-learn 1.7 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, MultilayerPerceptron):  # type: ignore[misc]
    """A multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, with the same
    parameters, defaults and attributes (see its documentation), trained by digitnet's engine:
    an identity output layer with the squared error, or an exp output layer with the Poisson
    deviance (``loss="poisson"``, targets ``y ≥ 0``).

    One parameter scikit-learn lacks:

    init : {"glorot", "large", "scaled"}, default="glorot"
        ``"glorot"``: scikit-learn's uniform Glorot initialisation (factor 2 for logistic
        networks, 6 otherwise); ``"large"``: N(0, 1) (network.py); ``"scaled"``: weights
        N(0, 1/n_in) (network2.py). The initial parameters are drawn by the network from a seed
        that ``random_state`` gives, so they differ from scikit-learn's for the same
        ``random_state``.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **sklearn.neural_network.MLPRegressor._parameter_constraints,
        "init": [StrOptions({"glorot", "large", "scaled"})],
    }

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: float = 10,
        max_fun: int = 15000,
        init: str = "glorot",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.init = init

    # ---- scikit-learn's public methods --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator, unused-ignore]
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Any:  # noqa: N803
        """Fits the model to data matrix ``X`` and targets ``y``; returns ``self``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    # scikit-learn's MLPRegressor offers partial_fit whatever the solver (its availability
    # test forgets to call _check_solver); so does this drop-in, with lbfgs continuing from the
    # current parameters.
    @available_if(lambda est: True)  # type: ignore[untyped-decorator, unused-ignore]
    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator, unused-ignore]
    def partial_fit(
        self,
        X: ArrayLike,  # noqa: N803 -- scikit-learn's name
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> Any:
        """Updates the model with one epoch over ``(X, y)``; returns ``self``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:  # noqa: N803 -- scikit-learn's name
        """The predicted values, ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        check_is_fitted(self)
        return self._predict(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ---- what MultilayerPerceptron asks of it -------------------------------------------------

    def _output(self) -> tuple[costs.Cost, str]:
        if self.loss == "poisson":
            return costs.PoissonCost, "exp"
        return costs.QuadraticCost, "identity"

    def _loss_outputs(self) -> int:
        return self.n_outputs_ if self.loss == "squared_error" else 1

    def _validate_input(
        self, features: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        x, y = validate_data(
            self,
            features,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return x, y

    def _predict(self, features: Any, check_input: bool = True) -> NDArray[Any]:
        y_pred = self._forward_pass_fast(features, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, features: Any, y: Any, sample_weight: Any = None) -> float:
        y_pred = self._predict(features, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return float("nan")
        return float(r2_score(y, y_pred, sample_weight=sample_weight))
