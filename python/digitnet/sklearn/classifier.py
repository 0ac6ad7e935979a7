"""``digitnet.sklearn.MLPClassifier``: scikit-learn's ``MLPClassifier`` (same parameters,
defaults, fitted attributes, warnings and errors) trained by digitnet's engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from digitnet import costs
from digitnet.activations import as_probabilities
from digitnet.sklearn.perceptron import MultilayerPerceptron

try:
    import sklearn.neural_network  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        ClassifierMixin,
        _fit_context,
    )
    from sklearn.metrics import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        accuracy_score,
    )
    from sklearn.preprocessing import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        LabelBinarizer,
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
    from sklearn.utils.multiclass import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        type_of_target,
        unique_labels,
    )
    from sklearn.utils.validation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_is_fitted,
        validate_data,
    )
except ImportError as error:  # scikit-learn missing
    raise ImportError(
        f"digitnet.MLPClassifier needs scikit-learn 1.7 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, MultilayerPerceptron):  # type: ignore[misc]
    """A multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, with the same
    parameters, defaults and attributes (see its documentation), trained by digitnet's engine.

    Two parameters scikit-learn lacks bring the book's network one line away:

    loss : {"log_loss", "quadratic"}, default="log_loss"
        ``"log_loss"``: scikit-learn's cross-entropy (softmax outputs for multiclass, logistic
        outputs for binary and multilabel targets). ``"quadratic"``: logistic outputs and the
        quadratic cost ``½‖a − y‖²`` of network.py (``loss_`` is its mean over the samples);
        ``predict_proba`` then scales a multiclass output row to sum to 1.
    init : {"glorot", "large", "scaled"}, default="glorot"
        ``"glorot"``: scikit-learn's uniform Glorot initialisation (factor 2 for logistic
        networks, 6 otherwise). ``"large"``: weights and biases N(0, 1), as network.py starts;
        ``"scaled"``: weights N(0, 1/n_in), network2.py's default. The initial parameters are
        drawn by the network from a seed that ``random_state`` gives, so they differ from
        scikit-learn's for the same ``random_state``.

    The book's run (network.py's ``net.SGD(training_data, 30, 10, 3.0)`` on ``[784, 30, 10]``)::

        MLPClassifier((30,), "logistic", solver="sgd", loss="quadratic", init="large",
                      alpha=0, batch_size=10, learning_rate_init=3.0, momentum=0,
                      max_iter=30, n_iter_no_change=np.inf)
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **sklearn.neural_network.MLPClassifier._parameter_constraints,
        "loss": [StrOptions({"log_loss", "quadratic"})],
        "init": [StrOptions({"glorot", "large", "scaled"})],
    }

    def __init__(
        self,
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
        loss: str = "log_loss",
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

    @available_if(lambda est: est._check_solver())  # type: ignore[untyped-decorator, unused-ignore]
    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator, unused-ignore]
    def partial_fit(
        self,
        X: ArrayLike,  # noqa: N803 -- scikit-learn's name
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> Any:
        """Updates the model with one epoch over ``(X, y)``; the first call must name all
        ``classes``. Returns ``self``."""
        if _partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:  # noqa: N803 -- scikit-learn's name
        """The predicted classes (a label indicator matrix for multilabel targets)."""
        check_is_fitted(self)
        return self._predict(X)

    def predict_proba(self, X: ArrayLike) -> NDArray[Any]:  # noqa: N803 -- scikit-learn's name
        """The probability of each class for each sample, in the order of ``classes_``."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        if self.loss == "quadratic" and self._label_binarizer.y_type_ == "multiclass":
            # Independent logistic outputs: scaled to sum to 1, keeping their ratios.
            scaled: NDArray[Any] = as_probabilities(y_pred).astype(y_pred.dtype)
            return scaled
        return y_pred

    def predict_log_proba(self, X: ArrayLike) -> NDArray[Any]:  # noqa: N803
        """``log(predict_proba(X))``."""
        y_prob = self.predict_proba(X)
        log_prob: NDArray[Any] = np.log(y_prob, out=y_prob)
        return log_prob

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    # ---- what MultilayerPerceptron asks of it -------------------------------------------------

    def _check_solver(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    def _output(self) -> tuple[costs.Cost, str]:
        if self.loss == "quadratic":
            return costs.QuadraticCost, "sigmoid"
        if self._label_binarizer.y_type_ == "multiclass":
            return costs.LogLikelihoodCost, "softmax"
        return costs.CrossEntropyCost, "sigmoid"

    def _validate_input(
        self, features: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        x, y = validate_data(
            self,
            features,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # As scikit-learn: a first fit (or a fit without warm_start) defines classes_; a
        # warm start needs the same classes, partial_fit no new ones.
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return x, self._label_binarizer.transform(y).astype(bool)

    def _predict(self, features: Any, check_input: bool = True) -> NDArray[Any]:
        y_pred = self._forward_pass_fast(features, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        predicted: NDArray[Any] = self._label_binarizer.inverse_transform(y_pred)
        return predicted

    def _score(self, features: Any, y: Any, sample_weight: Any = None) -> float:
        y_pred = self._predict(features, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return float("nan")
        return float(accuracy_score(y, y_pred, sample_weight=sample_weight))


def _partial_fit_first_call(clf: MLPClassifier, classes: ArrayLike | None) -> bool:
    """Whether this is the first ``partial_fit`` call (which sets ``classes_``); the classes
    must be given then, and be the same if given later (scikit-learn's rule)."""
    if getattr(clf, "classes_", None) is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is not None:
        if getattr(clf, "classes_", None) is not None:
            if not np.array_equal(clf.classes_, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                    f"was: {clf.classes_!r}"
                )
        else:
            clf.classes_ = unique_labels(classes)
            return True
    return False
