"""A test case: one network's parameters, a batch and the settings for one method, in a form
that serialises to one self-contained JSON line (``docs/check-protocol.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["COSTS", "METHODS", "Case", "CostName", "FloatArray", "Method"]

#: A float array of any precision.
FloatArray = NDArray[np.floating[Any]]

Method = Literal["feedforward", "backprop", "update_mini_batch", "cost_derivative", "evaluate"]
CostName = Literal["QuadraticCost", "CrossEntropyCost"]

#: The methods a check can compare, in the order it compares them.
METHODS: tuple[Method, ...] = (
    "feedforward",
    "backprop",
    "update_mini_batch",
    "cost_derivative",
    "evaluate",
)
#: The costs a case can use: network.py's, and network2.py's other one.
COSTS: tuple[CostName, ...] = ("QuadraticCost", "CrossEntropyCost")


@dataclass(frozen=True, eq=False)
class Case:
    """One call to compare: ``method`` of a network with layer ``sizes``, ``weights[l]`` of shape
    ``(sizes[l+1], sizes[l])`` and ``biases[l]`` of shape ``(sizes[l+1],)``, on the samples that
    are the rows of ``x`` with the one-hot targets that are the rows of ``y``.

    ``feedforward`` and ``evaluate`` read ``x`` (and ``evaluate`` the labels ``y.argmax(1)``),
    ``backprop`` reads its one sample, ``update_mini_batch`` its mini-batch with ``eta``,
    ``lmbda`` and the training set's size ``n``; ``cost_derivative`` takes the rows of ``x`` as
    output activations.
    """

    method: Method
    sizes: tuple[int, ...]
    weights: tuple[FloatArray, ...]
    biases: tuple[FloatArray, ...]
    x: FloatArray
    y: FloatArray
    eta: float = 3.0
    lmbda: float = 0.0
    n: int = 1
    cost: CostName = "QuadraticCost"

    @property
    def labels(self) -> list[int]:
        """The class of each target row."""
        return [int(i) for i in np.argmax(self.y, axis=1)]

    def to_json(self) -> dict[str, Any]:
        """The case as the protocol's JSON object: every field, nested lists of numbers."""
        return {
            "method": self.method,
            "sizes": list(self.sizes),
            "cost": self.cost,
            "eta": self.eta,
            "lmbda": self.lmbda,
            "n": self.n,
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "x": self.x.tolist(),
            "y": self.y.tolist(),
        }

    def to_json_line(self) -> str:
        """The case as one line of JSON (no newline inside, none at the end)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    def __repr__(self) -> str:
        return f"Case({self.to_json_line()})"
