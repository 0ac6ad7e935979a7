"""A network as plain data: what a model file holds, independent of any class that computes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.floating[Any]]]
DType = Literal["float64", "float32"]

#: The largest number of parameters a loaded network may have.
MAX_PARAMETERS = 1 << 27
#: The most layers a loaded network may have: far more than any useful MLP, and a bound on the
#: bookkeeping a hostile file can cause.
MAX_LAYERS = 1000


@dataclass(frozen=True)
class ModelDescription:
    """A fully connected network's architecture and parameters, in network.py's shapes.

    ``activations[l]`` is layer ``l + 1``'s activation (the output layer's is the last);
    ``weights[l]`` has shape ``(sizes[l+1], sizes[l])`` and ``biases[l]`` ``(sizes[l+1], 1)``;
    ``cost`` is the cost's class name (``"QuadraticCost"``, ...).
    """

    sizes: list[int]
    activations: list[str]
    cost: str
    dtype: DType
    weights: list[FloatArray]
    biases: list[FloatArray]


__all__ = ["MAX_LAYERS", "MAX_PARAMETERS", "DType", "FloatArray", "ModelDescription"]
