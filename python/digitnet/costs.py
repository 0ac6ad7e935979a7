"""The costs a network can be trained for, as network2.py defines them.

Each is a class with static methods ``fn(a, y)`` (the cost of output ``a`` for target ``y``)
and ``delta(z, a, y)`` (the output layer's error), in NumPy, so network2.py code that calls
them runs unchanged. Training itself computes them in the Rust engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class QuadraticCost:
    """``½‖a − y‖²``: chapter 1's cost; works with any element-wise output activation."""

    name = "QuadraticCost"
    #: The output activation it is used with unless another is chosen.
    output = "sigmoid"

    @staticmethod
    def fn(a: Any, y: Any) -> float:
        """The cost of output ``a`` for desired output ``y``."""
        return float(0.5 * np.linalg.norm(np.asarray(a) - np.asarray(y)) ** 2)

    @staticmethod
    def delta(z: Any, a: Any, y: Any) -> Any:
        """The output error ``(a − y) ⊙ σ'(z)`` for sigmoid outputs."""
        from digitnet.reference import sigmoid_prime  # imported here: reference imports costs

        return (np.asarray(a) - np.asarray(y)) * sigmoid_prime(np.asarray(z, dtype=np.float64))


class CrossEntropyCost:
    """``−Σ [y ln a + (1 − y) ln(1 − a)]`` for sigmoid outputs: learns fast even when the
    output neurons saturate, since its error ``a − y`` carries no ``σ'(z)``."""

    name = "CrossEntropyCost"
    output = "sigmoid"

    @staticmethod
    def fn(a: Any, y: Any) -> float:
        """The cost of output ``a`` for desired output ``y`` (``0·ln 0`` counted as 0)."""
        a, y = np.asarray(a, dtype=np.float64), np.asarray(y, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))

    @staticmethod
    def delta(z: Any, a: Any, y: Any) -> Any:
        """The output error ``a − y`` (``z`` is unused, as in network2.py)."""
        return np.asarray(a) - np.asarray(y)


class LogLikelihoodCost:
    """``−ln a_y`` for a softmax output layer (the book's chapter 3 alternative)."""

    name = "LogLikelihoodCost"
    output = "softmax"

    @staticmethod
    def fn(a: Any, y: Any) -> float:
        """The cost of softmax output ``a`` for the one-hot desired output ``y``."""
        a, y = np.asarray(a, dtype=np.float64), np.asarray(y, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return float(-np.sum(y * np.log(np.maximum(a, np.finfo(np.float64).tiny))))

    @staticmethod
    def delta(z: Any, a: Any, y: Any) -> Any:
        """The output error ``a − y``."""
        return np.asarray(a) - np.asarray(y)


Cost = type[QuadraticCost] | type[CrossEntropyCost] | type[LogLikelihoodCost]
COSTS: dict[str, Cost] = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}


def per_sample(cost: Cost, a: Any, y: Any) -> Any:
    """``cost.fn`` of each row of outputs ``a`` against targets ``y``, vectorised."""
    a, y = np.asarray(a, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if cost is QuadraticCost:
        return 0.5 * np.sum((a - y) ** 2, axis=1)
    if cost is CrossEntropyCost:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)), axis=1)
    with np.errstate(divide="ignore"):
        return -np.sum(y * np.log(np.maximum(a, np.finfo(np.float64).tiny)), axis=1)


def cost(value: Any) -> Cost:
    """A cost class from itself or its name."""
    if isinstance(value, str) and value in COSTS:
        return COSTS[value]
    if value in COSTS.values():
        found: Cost = value
        return found
    raise ValueError(
        f"cost: expected one of {', '.join(COSTS)} (the class or its name), got {value!r}"
    )
