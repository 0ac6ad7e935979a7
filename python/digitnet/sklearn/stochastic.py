"""The ``sgd`` and ``adam`` solvers: scikit-learn's epoch loop (``_fit_stochastic``) around the
engine's epochs.

The epochs run in one engine call (``network._fit_epochs``, which checks the data once); what
happens between epochs is scikit-learn's, rule for rule, in the call's ``plan``: the shuffle
(``sklearn.utils.shuffle`` of the previous order, from ``random_state``), ``loss_`` and
``loss_curve_``, the ``tol``/``n_iter_no_change`` count on the training loss or the validation
score, the learning-rate schedules of ``sgd`` (``invscaling``: ``η = η₀/(t_ + 1)^power_t``
after each epoch; ``adaptive``: ÷5 when the count runs out, stopping once ``η ≤ 1e-6``), early
stopping with the best parameters restored, the ``ConvergenceWarning`` and Ctrl-C.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from digitnet._convert import IntArray
from digitnet.errors import DivergenceError
from digitnet.network_api import NetworkAPI
from digitnet.sgd import StepOptions
from digitnet.training import Adam, Momentum, Nesterov, Optimizer

try:
    from sklearn.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        is_classifier,
    )
    from sklearn.exceptions import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        ConvergenceWarning,
    )
    from sklearn.model_selection import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        train_test_split,
    )
    from sklearn.utils import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        shuffle,
    )
except ImportError as error:  # scikit-learn missing
    raise ImportError(
        f"digitnet.sklearn needs scikit-learn 1.7 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["Solver", "fit", "optimizer"]


def optimizer(est: Any) -> Optimizer | None:
    """The engine's optimizer for the estimator's ``solver``, ``momentum``, ``beta_*``."""
    if est.solver == "adam":
        return Adam(est.beta_1, est.beta_2, est.epsilon, form="efficient")
    mu = float(est.momentum)
    if mu == 0:
        return None
    kind: type[Momentum] | type[Nesterov] = Nesterov if est.nesterovs_momentum else Momentum
    if mu < 1:
        return kind(mu)
    # scikit-learn allows momentum=1 (a velocity that never decays) and so does the engine;
    # the dataclasses refuse it for SGD's users, so this one is built without their check.
    rule = object.__new__(kind)
    object.__setattr__(rule, "mu", mu)
    return rule


@dataclass
class Solver:
    """What scikit-learn's ``_optimizer`` holds between epochs and ``partial_fit`` calls: the
    rule, the current learning rate and the schedule (the velocities or Adam's moments live in
    the network the solver trains)."""

    rule: Optimizer | None
    learning_rate_init: float
    learning_rate: float
    schedule: str
    power_t: float
    adam: bool

    def iteration_ends(self, time_step: int) -> None:
        """``invscaling``'s rate for the next epoch, ``time_step`` samples seen so far."""
        if not self.adam and self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool | int) -> bool:
        """Whether training stops now that the loss (or score) has stopped improving; the
        ``adaptive`` schedule divides the rate by 5 instead, until it is at most 1e-6."""
        if self.adam or self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


def fit(
    est: Any,
    x: NDArray[Any],
    y: NDArray[Any],
    sample_weight: NDArray[Any] | None,
    incremental: bool,
) -> None:
    """Trains ``est`` for up to ``max_iter`` epochs (one with ``incremental``, partial_fit)."""
    if not incremental or not hasattr(est, "_optimizer"):
        # A new solver starts from zero velocities (or moments): a fresh network holds them.
        est._network = est._fresh_network()
        est._optimizer = Solver(
            optimizer(est),
            est.learning_rate_init,
            float(est.learning_rate_init),
            est.learning_rate,
            est.power_t,
            est.solver == "adam",
        )
    solver: Solver = est._optimizer
    net: NetworkAPI = est._synced_network()
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    if early_stopping:
        # don't stratify in multilabel classification
        stratify = y if is_classifier(est) and est.n_outputs_ == 1 else None
        if sample_weight is None:
            x_train, x_val, y_train, y_val = train_test_split(
                x,
                y,
                random_state=est._random_state,
                test_size=est.validation_fraction,
                stratify=stratify,
            )
            weight_train = weight_val = None
        else:
            x_train, x_val, y_train, y_val, weight_train, weight_val = train_test_split(
                x,
                y,
                sample_weight,
                random_state=est._random_state,
                test_size=est.validation_fraction,
                stratify=stratify,
            )
        if x_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        if is_classifier(est):
            y_val = est._label_binarizer.inverse_transform(y_val)
    else:
        x_train, y_train, weight_train = x, y, sample_weight
        x_val = y_val = weight_val = None

    n_samples = x_train.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    if est.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if est.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=3,
            )
        batch_size = int(np.clip(est.batch_size, 1, n_samples))

    xs, ys = est._network_arrays(x_train, y_train)
    weights = None if weight_train is None else np.ascontiguousarray(weight_train, net.dtype)
    k = est._loss_outputs()
    # Whether the loop ran out of epochs rather than stopping: warned about once the engine
    # has returned, so that the warning points at the caller's line.
    reached_max_iter = False

    def plan(record: tuple[float, float] | None) -> tuple[IntArray, StepOptions] | None:
        """scikit-learn's loop between two epochs: the last epoch's bookkeeping, then the next
        epoch's order and options, or None to stop."""
        nonlocal sample_idx, reached_max_iter
        if record is not None:
            est._pull()
            if not _epoch_ends(est, solver, record, k, n_samples, early_stopping, validation):
                return None
            if incremental:
                return None
            if est.n_iter_ == est.max_iter:
                reached_max_iter = True
                return None
        if est.shuffle:
            sample_idx = shuffle(sample_idx, random_state=est._random_state)
        options = StepOptions(solver.learning_rate, float(est.alpha), solver.rule, batch_l2=True)
        return np.ascontiguousarray(sample_idx, dtype=np.int64), options

    validation = (x_val, y_val, weight_val)
    try:
        est.n_iter_ = 0
        try:
            net._fit_epochs(xs, ys, batch_size, weights, plan)
        finally:
            est._pull()
        if reached_max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=3)
    except DivergenceError as error:
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may"
            " contain large values and need to be preprocessed."
        ) from error
    if early_stopping:
        est.coefs_ = est._best_coefs
        est.intercepts_ = est._best_intercepts


def _epoch_ends(
    est: Any,
    solver: Solver,
    record: tuple[float, float],
    k: int,
    n_samples: int,
    early_stopping: bool,
    validation: tuple[NDArray[Any] | None, NDArray[Any] | None, NDArray[Any] | None],
) -> bool:
    """scikit-learn's bookkeeping after an epoch whose loss sums are ``record``; returns
    whether training goes on."""
    data, l2 = record
    est.n_iter_ += 1
    # scikit-learn's loss_: the mean over the epoch's samples of each mini-batch's loss (its
    # L2 term included), as the mini-batch saw it before its step.
    est.loss_ = float((data / k + 0.5 * est.alpha * l2) / n_samples)
    est.t_ += n_samples
    est.loss_curve_.append(est.loss_)
    if est.verbose:
        print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
    _update_no_improvement_count(est, early_stopping, *validation)
    solver.iteration_ends(est.t_)
    if est._no_improvement_count > est.n_iter_no_change:
        if early_stopping:
            msg = (
                f"Validation score did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
        else:
            msg = (
                f"Training loss did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
        if solver.trigger_stopping(msg, est.verbose):
            return False
        est._no_improvement_count = 0
    return True


def _update_no_improvement_count(
    est: Any,
    early_stopping: bool,
    x: NDArray[Any] | None,
    y: NDArray[Any] | None,
    sample_weight: NDArray[Any] | None,
) -> None:
    """scikit-learn's count of epochs without an improvement of ``tol``, and the best
    validation score's parameters."""
    if early_stopping:
        score = est._score(x, y, sample_weight=sample_weight)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {est.validation_scores_[-1]:f}")
        last = est.validation_scores_[-1]
        if last < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if last > est.best_validation_score_:
            est.best_validation_score_ = last
            est._best_coefs = [c.copy() for c in est.coefs_]
            est._best_intercepts = [i.copy() for i in est.intercepts_]
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]
