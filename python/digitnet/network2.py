"""network2.py's API over the Rust engine: ``from digitnet import network2`` and code written
for the book's chapter 3 runs unchanged.

``network2.Network(sizes, cost=CrossEntropyCost)`` starts from network2.py's default
initialisation (N(0, 1/n_in) weights), and its ``SGD`` takes network2.py's arguments in
network2.py's order and returns its four lists ``(evaluation_cost, evaluation_accuracy,
training_cost, training_accuracy)``. Everything else is :class:`digitnet.Network`'s.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from digitnet import network as _network
from digitnet._convert import Data
from digitnet.costs import Cost, CostName, CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from digitnet.network import sigmoid, sigmoid_prime

__all__ = [
    "CrossEntropyCost",
    "LogLikelihoodCost",
    "Network",
    "QuadraticCost",
    "load",
    "sigmoid",
    "sigmoid_prime",
    "vectorized_result",
]


class Network(_network.Network):
    """network2.py's ``Network``: cross-entropy cost and scaled initialisation by default."""

    _network2_output = True

    def __init__(
        self,
        sizes: Sequence[int],
        cost: Cost | CostName = CrossEntropyCost,
        seed: int | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("init", "scaled")
        super().__init__(sizes, seed, cost=cost, **options)

    def SGD(  # type: ignore[override]  # noqa: N802 -- network2.py's name and signature
        self,
        training_data: Data,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        evaluation_data: Data | None = None,
        monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False,
        **options: Any,
    ) -> tuple[list[float], list[int], list[float], list[int]]:
        """Trains as network2.py does and returns its four per-epoch lists: evaluation cost,
        evaluation accuracy (correct counts), training cost, training accuracy; each is empty
        unless monitored. ``options`` are :meth:`digitnet.Network.SGD`'s extras."""
        history = super().SGD(
            training_data,
            epochs,
            mini_batch_size,
            eta,
            lmbda=lmbda,
            evaluation_data=evaluation_data,
            monitor_evaluation_cost=monitor_evaluation_cost,
            monitor_evaluation_accuracy=monitor_evaluation_accuracy,
            monitor_training_cost=monitor_training_cost,
            monitor_training_accuracy=monitor_training_accuracy,
            **options,
        )
        return (
            history.evaluation_cost,
            history.evaluation_accuracy,
            history.training_cost,
            history.training_accuracy,
        )


def load(filename: str | os.PathLike[str]) -> Network:
    """Loads a network saved by network2.py's or digitnet's ``save`` as a network2 ``Network``."""
    return Network.load(filename)


def vectorized_result(j: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A (10, 1) column with 1.0 at index ``j`` and zeros elsewhere (network2.py's helper)."""
    if isinstance(j, bool) or not isinstance(j, numbers.Integral) or not 0 <= j < 10:
        raise ValueError(f"j: must be a digit from 0 to 9, got {j!r}")
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
