"""The one place the estimators get their networks from: the Rust engine by default, the NumPy
reference when a test asks for it (``digitnet.sklearn._backend.BACKEND = "reference"``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import numpy as np

from digitnet import costs, reference
from digitnet.network import Network
from digitnet.network_api import NetworkAPI

__all__ = ["BACKEND", "Backend", "new_network"]

#: Which implementation trains and predicts.
Backend: TypeAlias = Literal["engine", "reference"]
BACKEND: Backend = "reference"


def new_network(
    sizes: Sequence[int],
    seed: int,
    dtype: np.dtype[np.floating],
    *,
    cost: costs.Cost,
    activation: str,
    output: str,
    init: str,
) -> NetworkAPI:
    """A network of ``sizes`` from the current backend (the reference computes in float64)."""
    if BACKEND == "reference":
        return reference.Network(
            sizes, seed, cost=cost, activation=activation, output=output, init=init
        )
    return Network(
        sizes, seed, dtype.name, cost=cost, activation=activation, output=output, init=init
    )
