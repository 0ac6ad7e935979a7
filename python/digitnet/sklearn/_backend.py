"""The one place the estimators get their networks from: the Rust engine by default, the NumPy
reference when a test asks for it (``digitnet.sklearn._backend.BACKEND = "reference"``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np

from digitnet import costs, reference
from digitnet.network import Network
from digitnet.network_api import NetworkAPI

__all__ = ["BACKEND", "Architecture", "Backend", "new_network"]

#: Which implementation trains and predicts.
Backend: TypeAlias = Literal["engine", "reference"]
BACKEND: Backend = "engine"


@dataclass(frozen=True)
class Architecture:
    """What an estimator's network is made of, kept to build it again."""

    sizes: Sequence[int]
    dtype: np.dtype[Any]
    cost: costs.Cost
    activation: str
    output: str


def new_network(architecture: Architecture, seed: int, init: str) -> NetworkAPI:
    """A network of ``architecture`` from the current backend (the reference computes in
    float64)."""
    a = architecture
    if BACKEND == "reference":
        return reference.Network(
            a.sizes, seed, cost=a.cost, activation=a.activation, output=a.output, init=init
        )
    return Network(
        a.sizes,
        seed,
        a.dtype.name,
        cost=a.cost,
        activation=a.activation,
        output=a.output,
        init=init,
    )
