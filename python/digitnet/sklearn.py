"""``digitnet.MLPClassifier``: the book's network as a scikit-learn classifier.

It fits a :class:`digitnet.Network` with mini-batch SGD on the quadratic cost, exactly as
network.py trains, and works wherever scikit-learn expects a classifier (``Pipeline``,
``cross_val_score``, ``GridSearchCV``). Needs scikit-learn: ``pip install digitnet[sklearn]``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from digitnet.activations import as_probabilities
from digitnet.costs import QuadraticCost, per_sample
from digitnet.history import EpochResult
from digitnet.network import Network

try:
    from sklearn.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        BaseEstimator,
        ClassifierMixin,
    )
    from sklearn.utils import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_random_state,
        check_scalar,
    )
    from sklearn.utils.multiclass import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_classification_targets,
    )
    from sklearn.utils.validation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        check_is_fitted,
        validate_data,
    )
except ImportError as error:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError(
        f"digitnet.MLPClassifier needs scikit-learn 1.6 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["MLPClassifier"]

_SEED_BOUND = 2**64  # digitnet.Network takes seeds in [0, 2**64)


class MLPClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fully connected sigmoid network trained by network.py's mini-batch SGD, as a
    scikit-learn classifier; labels may be of any type scikit-learn accepts.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(30,)
        Neurons in each hidden layer; the network is ``[n_features, *hidden, n_classes]``.
    epochs : int, default=30
        Epochs of SGD that :meth:`fit` runs.
    mini_batch_size : int, default=10
        Samples per gradient step.
    eta : float, default=3.0
        The learning rate.
    random_state : int, RandomState, Generator or None, default=None
        Fixes the network's initial parameters and its shuffling: an int is used as the
        :class:`~digitnet.Network` seed itself (so ``random_state=s`` trains exactly as
        ``Network(sizes, seed=s)``); a RandomState or Generator, or None (numpy's global
        RandomState), supplies a fresh seed on each :meth:`fit`.
    verbose : bool, default=False
        Print the training loss after each epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; output neuron ``i`` stands for ``classes_[i]``.
    network_ : digitnet.Network
        The trained network (its ``seed`` is the one drawn from ``random_state``).
    loss_curve_ : list of float
        The mean quadratic cost ``mean(||a - y||^2) / 2`` on the training data after each epoch.
    n_iter_ : int
        The number of epochs trained (by :meth:`fit`, or in total by :meth:`partial_fit`).
    n_features_in_ : int
        The number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when fitted on a DataFrame with string column names.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (30,),
        epochs: int = 30,
        mini_batch_size: int = 10,
        eta: float = 3.0,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.random_state = random_state
        self.verbose = verbose

    # ---- training -----------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPClassifier:  # noqa: N803 -- sklearn's name
        """Trains a new network for ``epochs`` epochs on ``(X, y)``; returns ``self``."""
        epochs = check_scalar(self.epochs, "epochs", numbers.Integral, min_val=0)
        self._check_step_parameters()
        x, labels = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(labels)
        classes, indices = np.unique(labels, return_inverse=True)
        network = Network(self._sizes(x.shape[1], len(classes)), seed=self._draw_seed())
        self.classes_ = classes
        self.network_ = network
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        targets = indices.reshape(-1).astype(np.int64)

        def after_epoch(result: EpochResult) -> None:
            self._record_epoch(x, targets)

        network.SGD(
            (x, targets),
            int(epochs),
            int(self.mini_batch_size),
            float(self.eta),
            verbose=False,
            progress=False,
            callback=after_epoch,
        )
        return self

    def partial_fit(
        self,
        X: ArrayLike,  # noqa: N803 -- sklearn's name
        y: ArrayLike,
        classes: ArrayLike | None = None,
    ) -> MLPClassifier:
        """Trains one epoch on ``(X, y)``, making the network on the first call, which must name
        all ``classes``; returns ``self``."""
        self._check_step_parameters()
        first_call = not hasattr(self, "network_")
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            all_classes = np.unique(np.asarray(classes))
            x, labels = validate_data(self, X, y, dtype=np.float64, order="C", reset=True)
        else:
            all_classes = self.classes_
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_
            ):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to partial_fit, "
                    f"{self.classes_!r}"
                )
            x, labels = validate_data(self, X, y, dtype=np.float64, order="C", reset=False)
        check_classification_targets(labels)
        targets = _class_indices(labels, all_classes)
        if first_call:
            self.classes_ = all_classes
            self.network_ = Network(
                self._sizes(x.shape[1], len(all_classes)), seed=self._draw_seed()
            )
            self.loss_curve_ = []
            self.n_iter_ = 0
        self.network_.train_epoch((x, targets), int(self.mini_batch_size), float(self.eta))
        self._record_epoch(x, targets)
        return self

    # ---- prediction ---------------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> NDArray[Any]:  # noqa: N803 -- sklearn's name
        """The predicted class of each sample: the label of the most active output neuron."""
        x = self._validated_input(X)
        predicted: NDArray[Any] = self.classes_[self.network_.predict(x)]
        return predicted

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:  # noqa: N803 -- sklearn's name
        """The network's output activations for each sample, scaled to sum to 1 over the classes
        (in the order of ``classes_``)."""
        x = self._validated_input(X)
        return as_probabilities(self.network_.feedforward(x))

    # ---- helpers ------------------------------------------------------------------------------

    def _validated_input(self, X: ArrayLike) -> NDArray[np.float64]:  # noqa: N803
        check_is_fitted(self)
        x: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        return x

    def _record_epoch(self, x: NDArray[np.float64], targets: NDArray[np.int64]) -> None:
        loss = _quadratic_cost(self.network_, x, targets)
        self.loss_curve_.append(loss)
        self.n_iter_ += 1
        if self.verbose:
            print(f"Epoch {self.n_iter_}: loss {loss:.6f}", flush=True)

    def _check_step_parameters(self) -> None:
        check_scalar(self.mini_batch_size, "mini_batch_size", numbers.Integral, min_val=1)
        eta = check_scalar(self.eta, "eta", numbers.Real, min_val=0.0, include_boundaries="neither")
        if not np.isfinite(eta):
            raise ValueError(f"eta == {eta}, must be finite.")

    def _sizes(self, n_features: int, n_classes: int) -> list[int]:
        hidden: Any = self.hidden_layer_sizes
        layers = [hidden] if isinstance(hidden, numbers.Integral) else hidden
        try:
            hidden_sizes = list(layers)
        except TypeError:
            raise ValueError(
                "hidden_layer_sizes must be an int or a sequence of ints, "
                f"got {type(hidden).__name__}"
            ) from None
        for size in hidden_sizes:
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise ValueError(f"hidden_layer_sizes must hold positive integers, got {hidden!r}")
        return [n_features, *(int(s) for s in hidden_sizes), n_classes]

    def _draw_seed(self) -> int:
        state = self.random_state
        if isinstance(state, np.random.Generator):
            return int(state.integers(0, _SEED_BOUND, dtype=np.uint64))
        if isinstance(state, numbers.Integral) and not isinstance(state, bool):
            if not 0 <= state < _SEED_BOUND:
                raise ValueError(f"random_state must be in [0, 2**64), got {state}")
            return int(state)
        return int(check_random_state(state).randint(0, _SEED_BOUND, dtype=np.uint64))


def _class_indices(labels: NDArray[Any], classes: NDArray[Any]) -> NDArray[np.int64]:
    """The index in ``classes`` (sorted) of each label; a label not among them is an error."""
    positions = np.searchsorted(classes, labels)
    clipped = np.minimum(positions, len(classes) - 1)
    unknown = classes[clipped] != labels
    if np.any(unknown):
        raise ValueError(
            f"y contains labels not in classes: {np.unique(labels[unknown])[:5].tolist()}"
        )
    return clipped.astype(np.int64)


def _quadratic_cost(network: Network, x: NDArray[np.float64], targets: NDArray[np.int64]) -> float:
    """network.py's quadratic cost ``||a - y||^2 / 2`` averaged over the samples of ``x``."""
    if x.shape[0] == 0:
        return 0.0
    outputs = network.feedforward(x)
    one_hot = np.zeros_like(outputs)
    one_hot[np.arange(x.shape[0]), targets] = 1.0
    return float(np.mean(per_sample(QuadraticCost, outputs, one_hot)))
