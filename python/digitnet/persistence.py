"""Saving and loading networks in network2.py's JSON format, so models move both ways between
the book's code and digitnet.

The format is ``{"sizes": [...], "weights": [...], "biases": [...], "cost": "QuadraticCost"}``
with each weight matrix and bias column as nested lists (and digitnet's ``"activations"`` when
a layer is not sigmoid). Files are parsed as data, never executed, and written atomically: an
interrupted save never leaves a half-written file.

This module reads and writes a plain :class:`ModelDescription` and knows nothing of the network
classes: ``digitnet.Network.load`` (a class method, so each class loads as itself) builds a
network from what :func:`read_model` returns.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from digitnet import _convert
from digitnet._files import read_json, write_atomically
from digitnet.architecture import architecture
from digitnet.costs import COSTS, Cost, CostName
from digitnet.errors import ModelFileError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "ModelDescription",
    "SavableNetwork",
    "read_json",
    "read_model",
    "save",
    "write_atomically",
    "write_model",
]

#: The largest model file read: far above any MLP on MNIST, and a bound on what a hostile file
#: can make the parser allocate.
MAX_FILE_BYTES = 1 << 30
#: The largest number of parameters a loaded network may have.
MAX_PARAMETERS = 1 << 27
#: The most layers a loaded network may have: far more than any useful MLP, and a bound on the
#: bookkeeping a hostile file can cause.
MAX_LAYERS = 1000


@dataclass(frozen=True)
class ModelDescription:
    """A network as a file holds it: layer sizes, each non-input layer's activation, the cost's
    name, the weight matrices ``(sizes[l+1], sizes[l])`` and bias columns ``(sizes[l+1], 1)``."""

    sizes: list[int]
    activations: list[str]
    cost: CostName
    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]]


class SavableNetwork(Protocol):
    """What :func:`save` reads of a network (any :class:`digitnet.network_api.NetworkAPI`)."""

    @property
    def sizes(self) -> list[int]: ...
    @property
    def activations(self) -> list[str]: ...
    @property
    def cost(self) -> Cost: ...
    @property
    def weights(self) -> Sequence[NDArray[Any]]: ...
    @property
    def biases(self) -> Sequence[NDArray[Any]]: ...


def save(net: SavableNetwork, filename: str | os.PathLike[str]) -> None:
    """Writes ``net`` to ``filename`` in network2.py's JSON format, atomically."""
    write_model(
        filename,
        ModelDescription(
            sizes=net.sizes,
            activations=net.activations,
            cost=net.cost.name,
            weights=[np.asarray(w, dtype=np.float64) for w in net.weights],
            biases=[np.asarray(b, dtype=np.float64).reshape(-1, 1) for b in net.biases],
        ),
    )


def write_model(filename: str | os.PathLike[str], model: ModelDescription) -> None:
    """Writes ``model`` to ``filename`` in network2.py's JSON format, atomically."""
    data: dict[str, Any] = {
        "sizes": model.sizes,
        "weights": [w.tolist() for w in model.weights],
        "biases": [b.tolist() for b in model.biases],
        "cost": model.cost,
    }
    if any(a != "sigmoid" for a in model.activations):
        # digitnet's extension; left out for all-sigmoid networks, whose files network2.py reads.
        data["activations"] = model.activations
    write_atomically(Path(filename), json.dumps(data).encode())


def read_model(filename: str | os.PathLike[str]) -> ModelDescription:
    """The network described by a file written by :func:`save` or by network2.py's
    ``Network.save``, checked to be a valid one; anything wrong is a
    :class:`~digitnet.errors.ModelFileError` naming the file."""
    path = Path(filename)
    return _description(path, read_json(path, MAX_FILE_BYTES, ModelFileError, "digitnet model"))


def _description(path: Path, data: Any) -> ModelDescription:
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in ("sizes", "weights", "biases") if key not in data]
    if missing:
        raise ModelFileError(f"{path}: missing {', '.join(missing)}")
    cost = data.get("cost", "QuadraticCost")
    if not isinstance(cost, str) or cost not in COSTS:
        raise ModelFileError(f"{path}: cost must be one of {', '.join(COSTS)}, got {cost!r}")
    claimed = data["sizes"]
    if not isinstance(claimed, list) or len(claimed) > MAX_LAYERS:
        raise ModelFileError(f"{path}: sizes must be a list of at most {MAX_LAYERS} layer sizes")
    try:
        sizes = _convert.sizes(claimed)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: {error}") from error
    for key in ("weights", "biases"):
        if not isinstance(data[key], list) or len(data[key]) != len(sizes) - 1:
            raise ModelFileError(
                f"{path}: {key} must be a list of {len(sizes) - 1} matrices, one per layer"
            )
    parameters = sum(y * (x + 1) for x, y in itertools.pairwise(sizes))
    if parameters > MAX_PARAMETERS:
        raise ModelFileError(f"{path}: sizes {sizes} ask for {parameters} parameters; too many")
    pairs = list(itertools.pairwise(sizes))
    weights = _matrices(path, "weights", data["weights"], [(y, x) for x, y in pairs])
    biases = _matrices(path, "biases", data["biases"], [(y, 1) for _, y in pairs])
    activations = data.get("activations", ["sigmoid"] * (len(sizes) - 1))
    if not (
        isinstance(activations, list)
        and len(activations) == len(sizes) - 1
        and all(isinstance(a, str) for a in activations)
    ):
        raise ModelFileError(f"{path}: activations must be a list of {len(sizes) - 1} names")
    try:
        architecture(sizes, cost, activations[:-1], activations[-1])
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from error
    return ModelDescription(sizes, list(activations), COSTS[cost].name, weights, biases)


def _matrices(
    path: Path, name: str, value: Any, shapes: list[tuple[int, int]]
) -> list[NDArray[np.float64]]:
    if not isinstance(value, list) or len(value) != len(shapes):
        raise ModelFileError(f"{path}: {name} must be a list of {len(shapes)} matrices")
    out = []
    for i, (item, shape) in enumerate(zip(value, shapes, strict=True)):
        if not (isinstance(item, list) and len(item) == shape[0]) or not all(
            isinstance(row, list) and len(row) == shape[1] for row in item
        ):
            raise ModelFileError(f"{path}: {name}[{i}] must be a {shape[0]}x{shape[1]} matrix")
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for row in item for v in row
        ):
            raise ModelFileError(f"{path}: {name}[{i}] must hold only numbers")
        try:
            array = np.array(item, dtype=np.float64)
        except OverflowError:
            array = np.array([math.inf])
        if not np.all(np.isfinite(array)):
            raise ModelFileError(f"{path}: {name}[{i}] holds a non-finite number")
        out.append(array)
    return out
