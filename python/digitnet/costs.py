"""The costs a network can be trained for, as network2.py defines them.

Each is a class with static methods ``fn(a, y)`` (the cost of output ``a`` for target ``y``)
and ``delta(z, a, y)`` (the output layer's error), in NumPy, so network2.py code that calls
them runs unchanged. Training itself computes them in the Rust engine.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from digitnet._convert import Float64Array
from digitnet.activations import sigmoid_prime

__all__ = [
    "COSTS",
    "Cost",
    "CostName",
    "CrossEntropyCost",
    "LogLikelihoodCost",
    "PoissonCost",
    "QuadraticCost",
    "cost",
    "per_sample",
    "sample_loss",
]

#: A cost's name, as network2.py's model files record it.
CostName: TypeAlias = Literal[
    "QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost", "PoissonCost"
]


class QuadraticCost:
    """``½‖a − y‖²``: chapter 1's cost; works with any element-wise output activation."""

    name: CostName = "QuadraticCost"
    #: The output activation it is used with unless another is chosen.
    output = "sigmoid"

    @staticmethod
    def elementwise(a: ArrayLike, y: ArrayLike) -> Float64Array:
        """Each output's share of the cost, ``½(a − y)²``; ``fn`` and ``per_sample`` sum it."""
        difference = _floats(a) - _floats(y)
        return 0.5 * difference * difference

    @staticmethod
    def fn(a: ArrayLike, y: ArrayLike) -> float:
        """The cost of output ``a`` for desired output ``y``."""
        return float(np.sum(QuadraticCost.elementwise(a, y)))

    @staticmethod
    def delta(z: ArrayLike, a: ArrayLike, y: ArrayLike) -> Float64Array:
        """The output error ``(a − y) ⊙ σ'(z)`` for sigmoid outputs."""
        return (_floats(a) - _floats(y)) * sigmoid_prime(_floats(z))


class CrossEntropyCost:
    """``−Σ [y ln a + (1 − y) ln(1 − a)]`` for sigmoid outputs: learns fast even when the
    output neurons saturate, since its error ``a − y`` carries no ``σ'(z)``."""

    name: CostName = "CrossEntropyCost"
    output = "sigmoid"

    @staticmethod
    def elementwise(a: ArrayLike, y: ArrayLike) -> Float64Array:
        """Each output's share of the cost (``0·ln 0`` counted as 0)."""
        a, y = _floats(a), _floats(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))

    @staticmethod
    def fn(a: ArrayLike, y: ArrayLike) -> float:
        """The cost of output ``a`` for desired output ``y`` (``0·ln 0`` counted as 0)."""
        return float(np.sum(CrossEntropyCost.elementwise(a, y)))

    @staticmethod
    def delta(z: ArrayLike, a: ArrayLike, y: ArrayLike) -> Float64Array:
        """The output error ``a − y`` (``z`` is unused, as in network2.py)."""
        return _floats(a) - _floats(y)


class LogLikelihoodCost:
    """``−ln a_y`` for a softmax output layer (the book's chapter 3 alternative)."""

    name: CostName = "LogLikelihoodCost"
    output = "softmax"

    @staticmethod
    def elementwise(a: ArrayLike, y: ArrayLike) -> Float64Array:
        """Each output's share of the cost, ``−y ln a`` (``a`` kept above 0)."""
        a, y = _floats(a), _floats(y)
        return -y * np.log(np.maximum(a, np.finfo(np.float64).tiny))

    @staticmethod
    def fn(a: ArrayLike, y: ArrayLike) -> float:
        """The cost of softmax output ``a`` for the one-hot desired output ``y``."""
        return float(np.sum(LogLikelihoodCost.elementwise(a, y)))

    @staticmethod
    def delta(z: ArrayLike, a: ArrayLike, y: ArrayLike) -> Float64Array:
        """The output error ``a − y``."""
        return _floats(a) - _floats(y)


class PoissonCost:
    """Half the Poisson deviance, ``Σ [y ln(y/a) − y + a]``, for an ``exp`` output layer and
    non-negative targets (counts, rates): scikit-learn's ``MLPRegressor(loss="poisson")``."""

    name: CostName = "PoissonCost"
    output = "exp"

    @staticmethod
    def elementwise(a: ArrayLike, y: ArrayLike) -> Float64Array:
        """Each output's share of the cost (``0·ln 0`` counted as 0)."""
        a, y = _floats(a), _floats(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / a), 0.0)
        return np.asarray(log_term - y + a, dtype=np.float64)

    @staticmethod
    def fn(a: ArrayLike, y: ArrayLike) -> float:
        """The cost of output ``a`` for target ``y``."""
        return float(np.sum(PoissonCost.elementwise(a, y)))

    @staticmethod
    def delta(z: ArrayLike, a: ArrayLike, y: ArrayLike) -> Float64Array:
        """The output error ``a − y`` (the exp output is the Poisson cost's canonical link)."""
        return _floats(a) - _floats(y)


Cost = type[QuadraticCost] | type[CrossEntropyCost] | type[LogLikelihoodCost] | type[PoissonCost]
COSTS: dict[str, Cost] = {
    c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost, PoissonCost)
}


def per_sample(cost: Cost, a: ArrayLike, y: ArrayLike) -> Float64Array:
    """``cost.fn`` of each row of outputs ``a`` against targets ``y``, vectorised."""
    summed: Float64Array = np.sum(cost.elementwise(a, y), axis=1)
    return summed


def sample_loss(cost: Cost, a: ArrayLike, y: ArrayLike, eps: float) -> Float64Array:
    """Each row's loss ``ℓ`` as the engine's loss records compute it (scikit-learn's forms):
    ``cost.fn`` per row, except that probabilities are clipped to ``[eps, 1 − eps]`` before
    any logarithm (``eps`` the dtype's machine epsilon) and ``0·ln(anything)`` counts as 0."""
    a, y = _floats(a), _floats(y)
    if cost is QuadraticCost:
        return per_sample(cost, a, y)
    if cost is PoissonCost:
        return per_sample(cost, a, y)
    p = np.clip(a, eps, 1 - eps)
    terms = _xlogy(y, p)
    if cost is CrossEntropyCost:
        terms = terms + _xlogy(1 - y, 1 - p)
    summed: Float64Array = -np.sum(terms, axis=1)
    return summed


def _xlogy(x: Float64Array, y: Float64Array) -> Float64Array:
    """``x·ln y``, 0 where ``x`` is 0 (as ``scipy.special.xlogy``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Float64Array = np.where(x == 0, 0.0, x * np.log(y))
    return result


def _floats(value: ArrayLike) -> Float64Array:
    return np.asarray(value, dtype=np.float64)


def cost(value: object) -> Cost:
    """A cost class from itself or its name."""
    if isinstance(value, str) and value in COSTS:
        return COSTS[value]
    for found in COSTS.values():
        if value is found:
            return found
    raise ValueError(
        f"cost: expected one of {', '.join(COSTS)} (the class or its name), got {value!r}"
    )
