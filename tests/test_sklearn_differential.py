"""digitnet.sklearn against scikit-learn itself: from the same parameters, the same epochs give
the same parameters and losses (to 1e-10, float64), L-BFGS-B the same loss, and bad parameter
values the same kind of error.

How two runs are made to start alike: scikit-learn fits one epoch (``max_iter=1``,
``warm_start``) and its ``coefs_``/``intercepts_`` (and the state its epoch loop keeps) are
copied into ours, which was fitted likewise on the same data; then both fit again from there.
Each warm fit seeds a fresh ``RandomState`` from the same ``random_state`` and draws nothing for
initialisation, so shuffling and the early-stopping split are the same on both sides too.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from conftest import assert_close
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import neural_network
from sklearn.exceptions import ConvergenceWarning

from digitnet import sklearn as dsk

SK = {"classifier": neural_network.MLPClassifier, "regressor": neural_network.MLPRegressor}
OURS = {"classifier": dsk.MLPClassifier, "regressor": dsk.MLPRegressor}
#: What scikit-learn's epoch loop keeps between fits, copied with the parameters.
STATE = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_", "t_")
PRIVATE_STATE = ("_best_coefs", "_best_intercepts", "_no_improvement_count")
#: The error both libraries raise when training produced (or, in digitnet, would have produced)
#: parameters that are not finite.
DIVERGED = (
    "Solver produced non-finite parameter weights. The input data may contain large values and "
    "need to be preprocessed."
)


def targets(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Targets of ``kind`` for ``n`` samples (each class at least twice, for stratifying)."""
    if kind == "binary":
        return np.resize([0, 1], n)[rng.permutation(n)]
    if kind == "multiclass":
        return np.resize(["a", "b", "c"], n)[rng.permutation(n)]
    if kind == "multilabel":
        y = rng.integers(0, 2, (n, 3))
        y[:2] = [[1, 0, 1], [0, 1, 0]]  # no label constant
        return y
    if kind == "single":
        return rng.normal(size=n)
    if kind == "multi":
        return rng.normal(size=(n, 2))
    return rng.poisson(2.0, size=n).astype(float)  # poisson


def estimator(kind: str) -> str:
    return "classifier" if kind in ("binary", "multiclass", "multilabel") else "regressor"


def started_alike(
    kind: str, params: dict[str, Any], x: np.ndarray, y: np.ndarray, w: Any
) -> tuple[Any, Any] | None:
    """scikit-learn's and digitnet's estimators after one epoch of scikit-learn's, both
    holding its parameters and loop state; None if that epoch diverged (scikit-learn raised
    its non-finite error), which leaves no common start to compare from."""
    which = estimator(kind)
    extra = {"loss": "poisson"} if kind == "poisson" else {}
    theirs = SK[which](**params, **extra)
    ours = OURS[which](**params, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge; a batch may be clipped
        try:
            theirs.set_params(max_iter=1, warm_start=True).fit(x, y, sample_weight=w)
        except ValueError as error:
            if str(error) != DIVERGED:
                raise
            return None
        try:
            ours.set_params(max_iter=1, warm_start=True).fit(x, y, sample_weight=w)
        except ValueError as error:
            # This epoch starts from digitnet's own initial weights, not scikit-learn's, and
            # only makes the estimator fitted: its parameters and state are replaced below, so
            # that it diverged says nothing about the epochs compared.
            if str(error) != DIVERGED:
                raise
    ours.coefs_ = [c.copy() for c in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    for name in ("n_iter_", *STATE, *PRIVATE_STATE):
        if hasattr(theirs, name):
            value = getattr(theirs, name)
            setattr(ours, name, value.copy() if isinstance(value, list) else value)
    theirs.set_params(max_iter=params.get("max_iter", 200))
    ours.set_params(max_iter=params.get("max_iter", 200))
    return theirs, ours


def largest(arrays: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(a), initial=0.0)) for a in arrays)


def amplification(before: float, after: float) -> float:
    """How much more than a fixed relative bound two runs may differ after a fit whose largest
    weight went from ``before`` to ``after``: 1 for the runs that do not blow up. A run whose
    weights grow over 100-fold in a few epochs is diverging, and its dynamics amplify the
    rounding differences between BLAS's summation order and the engine's as they amplify the
    weights (seen: 1e8-fold growth, from 0.8 to 7.8e7 in three epochs of momentum 0.9 on
    identity layers, left a relative difference of 3e-9)."""
    growth = after / max(before, 1e-300)
    return 1.0 if growth <= 100.0 else growth


def assert_same_curve(ours: list[float], theirs: list[float], rtol: float) -> None:
    """A loss or validation-score curve as scikit-learn's: an epoch whose loss overflowed
    (inf, or NaN from inf − inf) while the parameters stayed finite is recorded as such on both
    sides, at the same epochs; the finite values agree to ``rtol``."""
    a, b = np.array(ours, dtype=float), np.array(theirs, dtype=float)
    assert a.shape == b.shape, f"{len(ours)} epochs, scikit-learn {len(theirs)}"
    finite = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), finite), f"losses {ours} vs {theirs}"
    assert np.array_equal(a[~finite], b[~finite], equal_nan=True), f"losses {ours} vs {theirs}"
    assert_close(a[finite], b[finite], rtol)


def assert_same_fit(theirs: Any, ours: Any, rtol: float = 1e-10) -> None:
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        assert_close(a, b, rtol)
    for a, b in zip(ours.intercepts_, theirs.intercepts_, strict=True):
        assert_close(a, b, rtol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_
    assert ours.n_layers_ == theirs.n_layers_
    assert ours.t_ == theirs.t_
    assert_same_curve(ours.loss_curve_, theirs.loss_curve_, rtol)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    if theirs.validation_scores_ is not None:
        assert_same_curve(ours.validation_scores_, theirs.validation_scores_, rtol)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    else:
        assert ours.validation_scores_ is None
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=rtol)


def fit_both(theirs: Any, ours: Any, x: np.ndarray, y: Any, w: Any) -> bool:
    """Fits both from where they stand, with the same warnings. False if scikit-learn's fit
    diverged, after checking that digitnet's refused with scikit-learn's error: a step that
    would leave a parameter non-finite is never taken, so it fails at the mini-batch where the
    overflow starts instead of at the end of the fit."""
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        try:
            theirs.fit(x, y, sample_weight=w)
        except ValueError as error:
            if str(error) != DIVERGED:
                raise
            with pytest.raises(ValueError, match="non-finite parameter weights") as refused:
                ours.fit(x, y, sample_weight=w)
            assert str(refused.value) == DIVERGED
            for kept in (*ours.coefs_, *ours.intercepts_):
                assert np.isfinite(kept).all(), "the refused step changed no parameter"
            return False
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours.fit(x, y, sample_weight=w)
    assert [type(m.message) for m in ours_warned] == [type(m.message) for m in theirs_warned]
    assert [str(m.message) for m in ours_warned] == [str(m.message) for m in theirs_warned]
    return True


SOLVERS = [
    {"solver": "sgd", "momentum": 0.0},
    {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False},
    {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True},
    {"solver": "sgd", "momentum": 1.0, "nesterovs_momentum": False},
    {"solver": "sgd", "momentum": 0.5, "learning_rate": "invscaling", "power_t": 0.25},
    {"solver": "adam"},
    {"solver": "adam", "beta_1": 0.0, "beta_2": 0.5, "epsilon": 1e-3},
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda p: "-".join(map(str, p.values())))
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "single", "multi"])
def test_two_epochs_without_shuffling_give_scikit_learns_parameters(
    solver: dict[str, Any], kind: str
) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(23, 4)), targets(kind, rng, 23)
    params = {
        "hidden_layer_sizes": (5, 3),
        "batch_size": 5,  # a short last batch of 3
        "shuffle": False,
        "learning_rate_init": 0.05,
        "max_iter": 2,
        "random_state": 0,
        **solver,
    }
    started = started_alike(kind, params, x, y, None)
    assert started is not None
    theirs, ours = started
    assert fit_both(theirs, ours, x, y, None)
    assert_same_fit(theirs, ours)


@settings(max_examples=40)
@given(
    kind=st.sampled_from(["binary", "multiclass", "multilabel", "single", "multi", "poisson"]),
    activation=st.sampled_from(["identity", "logistic", "tanh", "relu"]),
    solver=st.sampled_from(SOLVERS),
    learning_rate=st.sampled_from(["constant", "invscaling", "adaptive"]),
    alpha=st.sampled_from([0.0, 1e-4, 0.3]),
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
    n=st.integers(10, 30),
    batch_size=st.integers(1, 12),
    weighted=st.booleans(),
    shuffle=st.booleans(),
    early_stopping=st.booleans(),
    stopping=st.sampled_from([(1, 10.0), (10, 1e-4), (2, 0.0)]),
    seed=st.integers(0, 2**16),
)
def test_any_parameters_give_scikit_learns_epochs(
    kind: str,
    activation: str,
    solver: dict[str, Any],
    learning_rate: str,
    alpha: float,
    hidden: list[int],
    n: int,
    batch_size: int,
    weighted: bool,
    shuffle: bool,
    early_stopping: bool,
    stopping: tuple[int, float],
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 3)), targets(kind, rng, n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    params = {
        "hidden_layer_sizes": tuple(hidden),
        "activation": activation,
        "alpha": alpha,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "early_stopping": early_stopping,
        "validation_fraction": 0.25,
        "n_iter_no_change": stopping[0],
        "tol": stopping[1],
        "learning_rate_init": 0.01 if kind == "poisson" else 0.05,
        "max_iter": 4,
        "random_state": seed,
        **solver,
    }
    if solver["solver"] == "sgd" and "learning_rate" not in solver:
        params["learning_rate"] = learning_rate
    started = started_alike(kind, params, x, y, w)
    # Large rates with momentum 1 can overflow within scikit-learn's own first epoch.
    assume(started is not None)
    assert started is not None
    theirs, ours = started
    start = largest(theirs.coefs_)
    if fit_both(theirs, ours, x, y, w):
        assert_same_fit(theirs, ours, rtol=1e-9 * amplification(start, largest(theirs.coefs_)))


@pytest.mark.parametrize("solver", SOLVERS[1:], ids=lambda p: "-".join(map(str, p.values())))
@pytest.mark.parametrize("kind", ["multiclass", "multi"])
def test_partial_fit_keeps_the_solvers_state_as_scikit_learn_does(
    solver: dict[str, Any], kind: str
) -> None:
    """Three partial_fit calls are three epochs of one fit, velocities, moments and the
    invscaling rate carried over, in scikit-learn and here alike (the same random_state gives
    the same start within each library)."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 3)), targets(kind, rng, 20)
    params = {"hidden_layer_sizes": (4,), "batch_size": 6, "shuffle": False, "tol": 0.0,
              "learning_rate_init": 0.05, "random_state": 0, **solver}  # fmt: skip
    which = estimator(kind)
    first = {"classes": np.unique(y)} if kind == "multiclass" else {}
    for library in (SK, OURS):
        stepwise, whole = library[which](**params), library[which](**params, max_iter=3)
        stepwise.partial_fit(x, y, **first)
        stepwise.partial_fit(x, y)
        stepwise.partial_fit(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            whole.fit(x, y)
        for a, b in zip(stepwise.coefs_, whole.coefs_, strict=True):
            assert_close(a, b, 1e-12)
        assert stepwise.loss_curve_ == pytest.approx(whole.loss_curve_, rel=1e-12)
        assert stepwise.t_ == whole.t_
        assert stepwise.n_iter_ == 1


@pytest.mark.parametrize(
    "kind", ["binary", "multiclass", "multilabel", "single", "multi", "poisson"]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_lbfgs_follows_scikit_learns_path_and_reaches_its_loss(kind: str, weighted: bool) -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 3)), targets(kind, rng, 40)
    w = rng.uniform(0.5, 2.0, 40) if weighted else None
    extra = {"loss": "poisson"} if kind == "poisson" else {}
    which = estimator(kind)
    params = {"hidden_layer_sizes": (4,), "activation": "tanh", "alpha": 1e-2,
              "solver": "lbfgs", "random_state": 0}  # fmt: skip
    theirs, ours = SK[which](**params, **extra), OURS[which](**params, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(max_iter=1, warm_start=True).fit(x, y, sample_weight=w)
        ours.set_params(max_iter=1, warm_start=True).fit(x, y, sample_weight=w)
        ours.coefs_ = [c.copy() for c in theirs.coefs_]
        ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
        # Three iterations: the same loss and gradient give SciPy the same path.
        theirs.set_params(max_iter=3).fit(x, y, sample_weight=w)
        ours.set_params(max_iter=3).fit(x, y, sample_weight=w)
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        assert_close(a, b, 1e-8)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    # To convergence: rounding makes the paths part after ~50 iterations, and a hidden layer's
    # loss has many minima, so this part fits a network without one (a generalised linear
    # model with L2: one minimum), from each library's own start. Same loss within tol.
    params.update(hidden_layer_sizes=(), max_iter=2000)
    theirs, ours = SK[which](**params, **extra), OURS[which](**params, **extra)
    theirs.fit(x, y, sample_weight=w)
    ours.fit(x, y, sample_weight=w)
    assert abs(ours.loss_ - theirs.loss_) <= theirs.tol * max(1.0, abs(theirs.loss_))


BAD_VALUES = [
    {"hidden_layer_sizes": 0},
    {"hidden_layer_sizes": (3, 0)},
    {"hidden_layer_sizes": "ten"},
    {"activation": "softmax"},
    {"solver": "newton"},
    {"alpha": -1.0},
    {"batch_size": 0},
    {"batch_size": "all"},
    {"learning_rate": "cosine"},
    {"learning_rate_init": 0.0},
    {"power_t": -0.5},
    {"max_iter": 0},
    {"max_iter": 2.5},
    {"shuffle": "yes"},
    {"random_state": "seed"},
    {"tol": -1e-3},
    {"warm_start": 1.5},
    {"momentum": 1.5},
    {"nesterovs_momentum": None},
    {"early_stopping": "no"},
    {"validation_fraction": 1.0},
    {"beta_1": 1.0},
    {"beta_2": -0.1},
    {"epsilon": 0.0},
    {"n_iter_no_change": 0},
    {"n_iter_no_change": 2.5},
    {"max_fun": 0},
]


@pytest.mark.parametrize("which", ["classifier", "regressor"])
@pytest.mark.parametrize(
    "bad", BAD_VALUES, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items())
)
def test_bad_values_raise_what_scikit_learn_raises(which: str, bad: dict[str, Any]) -> None:
    x, y = np.random.default_rng(0).normal(size=(12, 2)), np.resize([0, 1], 12)
    params = {"max_iter": 5, **bad}
    with pytest.raises(Exception) as theirs:  # noqa: PT011 -- whatever scikit-learn raises
        SK[which](**params).fit(x, y)
    with pytest.raises(type(theirs.value)) as ours:
        OURS[which](**params).fit(x, y)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("which", ["classifier", "regressor"])
def test_bad_loss_and_init_are_parameter_errors(which: str) -> None:
    from sklearn.utils._param_validation import InvalidParameterError

    x, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(InvalidParameterError, match="'init' parameter"):
        OURS[which](init="he").fit(x, y)
    with pytest.raises(InvalidParameterError, match="'loss' parameter"):
        OURS[which](loss="hinge").fit(x, y)
