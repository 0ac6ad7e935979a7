"""The engine's scikit-learn primitives against the NumPy reference: ``_fit_epoch`` (weighted
mini-batches, L2 per mini-batch, the loss record) and ``_objective`` agree to 1e-10 in float64
for every activation, output, cost and optimizer; and the estimators fit alike on both."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

import digitnet
from digitnet import costs, reference
from digitnet.sgd import StepOptions
from digitnet.training import Adam, Momentum, Nesterov

#: Each output layer with the cost scikit-learn pairs it with, and targets for it.
OUTPUTS = {
    "softmax": costs.LogLikelihoodCost,
    "sigmoid": costs.CrossEntropyCost,
    "identity": costs.QuadraticCost,
    "exp": costs.PoissonCost,
}


def targets(output: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    if output == "softmax":
        return np.eye(k)[rng.integers(0, k, n)]
    if output == "sigmoid":
        return rng.integers(0, 2, (n, k)).astype(float)
    if output == "exp":
        return rng.poisson(1.5, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def pair(sizes: list[int], hidden: str, output: str, cost: Any, init: str, seed: int):
    """An engine network and a reference one holding the engine's initial parameters."""
    engine = digitnet.Network(
        sizes, seed, "float64", cost=cost, activation=hidden, output=output, init=init
    )
    ref = reference.Network(sizes, seed, cost=cost, activation=hidden, output=output)
    ref.weights = [np.array(w) for w in engine.weights]
    ref.biases = [np.array(b) for b in engine.biases]
    return engine, ref


def assert_same_parameters(engine: Any, ref: Any) -> None:
    for a, b in zip(engine.weights, ref.weights, strict=True):
        assert_close(a, b)
    for a, b in zip(engine.biases, ref.biases, strict=True):
        assert_close(a, b)


OPTIMIZERS = [None, Momentum(0.9), Nesterov(0.5), Adam(form="efficient"), Adam(0.0, 0.5, 1e-3)]


@settings(max_examples=60)
@given(
    hidden=st.sampled_from(["identity", "sigmoid", "tanh", "relu"]),
    output=st.sampled_from(list(OUTPUTS)),
    quadratic=st.booleans(),
    layers=st.lists(st.integers(1, 7), min_size=0, max_size=2),
    n=st.integers(1, 30),
    batch_size=st.integers(1, 12),
    weighted=st.booleans(),
    batch_l2=st.booleans(),
    lmbda=st.sampled_from([0.0, 0.01, 1.0]),
    optimizer=st.sampled_from(OPTIMIZERS),
    init=st.sampled_from(["glorot", "glorot-sigmoid"]),
    seed=st.integers(0, 2**32),
)
def test_fit_epoch_is_the_references(
    hidden: str,
    output: str,
    quadratic: bool,
    layers: list[int],
    n: int,
    batch_size: int,
    weighted: bool,
    batch_l2: bool,
    lmbda: float,
    optimizer: Any,
    init: str,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    cost = costs.QuadraticCost if quadratic and output == "sigmoid" else OUTPUTS[output]
    sizes = [3, *layers, 2]
    engine, ref = pair(sizes, hidden, output, cost, init, seed)
    x, y = rng.normal(size=(n, 3)), targets(output, rng, n, 2)
    w = rng.uniform(0.0, 2.0, n) if weighted else None
    eta = 0.01 if output == "exp" else 0.1
    options = StepOptions(eta, lmbda, optimizer, batch_l2=batch_l2)
    for _ in range(2):  # the optimizer's state carries over
        order = rng.permutation(n).astype(np.int64)
        try:
            got = engine._fit_epoch(x, y, order, batch_size, options, w)
        except digitnet.DivergenceError:
            # Identity layers with momentum on mini-batches of one can overflow: the reference
            # must refuse the same mini-batch, both keeping the parameters from before it. Its
            # NumPy warns on the way (exp overflowing to inf), which is not the refusal.
            with (
                np.errstate(over="ignore", invalid="ignore"),
                pytest.raises(digitnet.DivergenceError),
            ):
                ref._fit_epoch(x, y, order, batch_size, options, w)
            assert_same_parameters(engine, ref)
            return
        expected = ref._fit_epoch(x, y, order, batch_size, options, w)
        assert got[0] == pytest.approx(expected[0], rel=1e-10, abs=1e-300)
        # The engine skips the squared norm when no L2 term uses it (lmbda 0).
        assert lmbda * got[1] == pytest.approx(lmbda * expected[1], rel=1e-10, abs=1e-300)
        assert_same_parameters(engine, ref)


class Plan:
    """A plan for ``_fit_epochs``: ``epochs`` epochs, each in a fresh order and at a rate of
    its own (as scikit-learn's schedules change it), remembering the records it was given."""

    def __init__(self, n: int, epochs: int, optimizer: Any, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n, self.epochs, self.optimizer = n, epochs, optimizer
        self.records: list[tuple[float, float] | None] = []

    def __call__(self, record: tuple[float, float] | None) -> tuple[Any, StepOptions] | None:
        self.records.append(record)
        if len(self.records) > self.epochs:
            return None
        eta = 0.1 / len(self.records)
        order = self.rng.permutation(self.n).astype(np.int64)
        return order, StepOptions(eta, 0.01, self.optimizer, batch_l2=True)


@settings(max_examples=30)
@given(
    dtype=st.sampled_from(["float64", "float32"]),
    layers=st.lists(st.integers(1, 7), min_size=0, max_size=2),
    n=st.integers(1, 30),
    batch_size=st.integers(1, 12),
    weighted=st.booleans(),
    epochs=st.integers(0, 4),
    optimizer=st.sampled_from(OPTIMIZERS),
    seed=st.integers(0, 2**32),
)
def test_fit_epochs_is_fit_epoch_after_fit_epoch(
    dtype: str,
    layers: list[int],
    n: int,
    batch_size: int,
    weighted: bool,
    epochs: int,
    optimizer: Any,
    seed: int,
) -> None:
    """The engine's many-epoch call gives the bits, records and epoch count of one
    ``_fit_epoch`` call per epoch (the base class's loop), rates and orders changing between
    epochs."""
    rng = np.random.default_rng(seed)
    sizes = [3, *layers, 2]
    x = rng.normal(size=(n, 3)).astype(dtype)
    y = targets("softmax", rng, n, 2).astype(dtype)
    w = rng.uniform(0.0, 2.0, n).astype(dtype) if weighted else None
    nets = [
        digitnet.Network(sizes, seed % 1000, dtype, cost=costs.LogLikelihoodCost, output="softmax")
        for _ in range(2)
    ]
    plans = [Plan(n, epochs, optimizer, seed) for _ in range(2)]
    done = nets[0]._fit_epochs(x, y, batch_size, w, plans[0])
    loop = digitnet.network_api.NetworkAPI._fit_epochs(nets[1], x, y, batch_size, w, plans[1])
    assert done == loop == epochs
    assert plans[0].records == plans[1].records
    assert len(plans[0].records) == epochs + 1
    assert plans[0].records[0] is None
    assert all(r is not None and r[0] > 0 for r in plans[0].records[1:])
    for a, b in zip(
        [*nets[0].weights, *nets[0].biases], [*nets[1].weights, *nets[1].biases], strict=True
    ):
        assert np.array_equal(a, b)


def test_fit_epochs_checks_the_data_before_the_plan_and_its_answers() -> None:
    x, y = np.random.default_rng(0).normal(size=(6, 3)), np.eye(2)[[0, 1, 0, 1, 1, 0]]
    net = digitnet.Network([3, 4, 2], 1)
    calls: list[object] = []

    def never(record: object) -> None:
        calls.append(record)

    bad = x.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="training inputs"):
        net._fit_epochs(bad, y, 2, None, never)
    with pytest.raises(ValueError, match="mini_batch_size"):
        net._fit_epochs(x, y, 0, None, never)
    assert calls == []
    with pytest.raises(TypeError, match="plan: must return None or"):
        net._fit_epochs(x, y, 2, None, lambda record: 3)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match=r"order\[2\]: must be an integer in 0..6"):
        net._fit_epochs(x, y, 2, None, lambda r: (np.array([0, 1, 6, 2, 3, 4]), StepOptions(0.1)))
    with pytest.raises(ValueError, match="eta"):
        net._fit_epochs(x, y, 2, None, lambda r: (np.arange(6), StepOptions(-1.0)))


def test_an_error_in_the_plan_keeps_the_epochs_before_it() -> None:
    x, y = np.random.default_rng(0).normal(size=(6, 3)), np.eye(2)[[0, 1, 0, 1, 1, 0]]
    net, twin = digitnet.Network([3, 4, 2], 1), digitnet.Network([3, 4, 2], 1)
    order, options = np.arange(6)[::-1].copy(), StepOptions(0.5)

    def once_then_fail(record: tuple[float, float] | None) -> tuple[Any, StepOptions]:
        if record is None:
            return order, options
        raise KeyError("from the plan")

    with pytest.raises(KeyError, match="from the plan"):
        net._fit_epochs(x, y, 4, None, once_then_fail)
    twin._fit_epoch(x, y, order, 4, options, None)
    for a, b in zip([*net.weights, *net.biases], [*twin.weights, *twin.biases], strict=True):
        assert np.array_equal(a, b)


@settings(max_examples=40)
@given(
    hidden=st.sampled_from(["identity", "sigmoid", "tanh", "relu"]),
    output=st.sampled_from(list(OUTPUTS)),
    layers=st.lists(st.integers(1, 7), min_size=0, max_size=2),
    n=st.integers(1, 40),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_objective_is_the_references(
    hidden: str, output: str, layers: list[int], n: int, weighted: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    engine, ref = pair([4, *layers, 3], hidden, output, OUTPUTS[output], "glorot", seed)
    x, y = rng.normal(size=(n, 4)), targets(output, rng, n, 3)
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    data, total, grad_w, grad_b = engine._objective(x, y, w)
    ref_data, ref_total, ref_w, ref_b = ref._objective(x, y, w)
    assert data == pytest.approx(ref_data, rel=1e-10)
    assert total == pytest.approx(ref_total, rel=1e-12)
    for a, b in zip([*grad_w, *grad_b], [*ref_w, *ref_b], strict=True):
        assert_close(np.asarray(a).reshape(np.shape(b)), b)


@pytest.mark.parametrize(
    ("which", "params"),
    [
        ("classifier", {"solver": "adam"}),
        ("classifier", {"solver": "sgd", "learning_rate": "invscaling", "activation": "logistic"}),
        ("classifier", {"solver": "sgd", "loss": "quadratic", "init": "large", "momentum": 0}),
        ("classifier", {"solver": "lbfgs"}),
        ("regressor", {"solver": "sgd", "early_stopping": True, "activation": "tanh"}),
        ("regressor", {"solver": "adam", "loss": "poisson", "learning_rate_init": 0.01}),
    ],
)
def test_the_estimators_fit_alike_on_both_backends(
    which: str, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the same start (the engine's, copied into the reference's estimator with the
    epoch loop's state), six more epochs (or L-BFGS-B iterations) give the same fit."""
    pytest.importorskip("sklearn")
    from digitnet import sklearn as dsk
    from digitnet.sklearn import _backend

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = rng.integers(0, 3, 60) if which == "classifier" else rng.poisson(2.0, 60).astype(float)
    cls = dsk.MLPClassifier if which == "classifier" else dsk.MLPRegressor
    models = {}
    for backend in ("engine", "reference"):
        monkeypatch.setattr(_backend, "BACKEND", backend)
        model = cls(hidden_layer_sizes=(6,), random_state=0, warm_start=True, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.set_params(max_iter=1).fit(x, y)
        models[backend] = model
    engine, ref = models["engine"], models["reference"]
    ref.coefs_ = [c.copy() for c in engine.coefs_]
    ref.intercepts_ = [b.copy() for b in engine.intercepts_]
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                 "_best_coefs", "_best_intercepts", "_no_improvement_count"):  # fmt: skip
        if hasattr(engine, name):
            value = getattr(engine, name)
            setattr(ref, name, value.copy() if isinstance(value, list) else value)
    for backend, model in models.items():
        monkeypatch.setattr(_backend, "BACKEND", backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.set_params(max_iter=6).fit(x, y)
    assert type(engine._network) is digitnet.Network
    assert type(ref._network) is reference.Network
    rtol = 1e-8 if params["solver"] == "lbfgs" else 1e-10
    for a, b in zip([*engine.coefs_, *engine.intercepts_], [*ref.coefs_, *ref.intercepts_],
                    strict=True):  # fmt: skip
        assert_close(a, b, rtol)
    assert engine.loss_ == pytest.approx(ref.loss_, rel=rtol)
    assert engine.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(engine.predict_proba(x) if which == "classifier" else
                               engine.predict(x), ref.predict_proba(x) if which == "classifier"
                               else ref.predict(x), rtol=1e-8)  # fmt: skip
