"""Saving and loading networks: in network2.py's JSON format by default, so models move both
ways between the book's code and digitnet; in the safetensors format when the file name ends in
``.safetensors`` (:mod:`digitnet.formats.safetensors`); and :func:`export_onnx` writes an ONNX
graph for runtimes (:mod:`digitnet.formats.onnx`).

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
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from digitnet import _convert
from digitnet._files import read_bytes, read_json, write_atomically
from digitnet.architecture import architecture
from digitnet.costs import COSTS, Cost
from digitnet.errors import ModelFileError
from digitnet.formats import safetensors as safetensors_format
from digitnet.formats.description import (
    MAX_LAYERS,
    MAX_PARAMETERS,
    DType,
    FloatArray,
    ModelDescription,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "ModelDescription",
    "SavableNetwork",
    "describe",
    "export_onnx",
    "read_json",
    "read_model",
    "save",
    "write_atomically",
    "write_model",
]

#: The largest model file read: far above any MLP on MNIST, and a bound on what a hostile file
#: can make the parser allocate.
MAX_FILE_BYTES = 1 << 30


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
    @property
    def dtype(self) -> np.dtype[Any]: ...


def describe(net: SavableNetwork) -> ModelDescription:
    """``net``'s architecture and parameters as plain data, in the network's own precision."""
    dtype: DType = "float32" if net.dtype == np.float32 else "float64"
    return ModelDescription(
        sizes=list(net.sizes),
        activations=list(net.activations),
        cost=net.cost.name,
        dtype=dtype,
        weights=[np.array(w, dtype=dtype) for w in net.weights],
        biases=[np.array(b, dtype=dtype).reshape(-1, 1) for b in net.biases],
    )


def save(net: SavableNetwork, filename: str | os.PathLike[str]) -> None:
    """Writes ``net`` to ``filename``, atomically: in the safetensors format if the name ends in
    ``.safetensors``, else in network2.py's JSON format."""
    write_model(filename, describe(net))


def export_onnx(
    net: SavableNetwork, filename: str | os.PathLike[str], *, digit: bool = True
) -> None:
    """Writes ``net`` to ``filename`` as an ONNX model (see :mod:`digitnet.formats.onnx`),
    atomically; with ``digit``, the graph also outputs each row's predicted class."""
    try:
        from digitnet.formats import onnx as onnx_format  # the onnx package is an extra
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs the onnx package ({error}); "
            "install it with: pip install digitnet[onnx]"
        ) from error
    write_atomically(Path(filename), onnx_format.encode(describe(net), digit=digit))


def write_model(filename: str | os.PathLike[str], model: ModelDescription) -> None:
    """Writes ``model`` to ``filename`` atomically, in the format its extension names."""
    path = Path(filename)
    if _is_safetensors(path):
        write_atomically(path, safetensors_format.encode(model))
        return
    if path.suffix.lower() == ".onnx":
        raise ValueError(f"{path}: ONNX is written by net.to_onnx(), not by save()")
    data: dict[str, Any] = {
        "sizes": model.sizes,
        "weights": [w.astype(np.float64).tolist() for w in model.weights],
        "biases": [b.astype(np.float64).tolist() for b in model.biases],
        "cost": model.cost,
    }
    if any(a != "sigmoid" for a in model.activations):
        # digitnet's extension; left out for all-sigmoid networks, whose files network2.py reads.
        data["activations"] = model.activations
    write_atomically(path, json.dumps(data).encode())


def read_model(filename: str | os.PathLike[str]) -> ModelDescription:
    """The network described by a file written by :func:`save` (JSON or safetensors, by the
    file's extension) or by network2.py's ``Network.save``, checked to be a valid one; anything
    wrong is a :class:`~digitnet.errors.ModelFileError` naming the file."""
    path = Path(filename)
    if path.suffix.lower() == ".onnx":
        raise ModelFileError(f"{path}: ONNX models are exported for runtimes, not read back")
    if _is_safetensors(path):
        raw = read_bytes(path, MAX_FILE_BYTES, ModelFileError, "digitnet model")
        model = safetensors_format.decode(raw, str(path))
        _check_architecture(path, model.sizes, model.cost, model.activations)
        return model
    return _description(path, read_json(path, MAX_FILE_BYTES, ModelFileError, "digitnet model"))


def _is_safetensors(path: Path) -> bool:
    return path.suffix.lower() == safetensors_format.SUFFIX


def _check_architecture(path: Path, sizes: list[int], cost: str, activations: list[str]) -> None:
    try:
        architecture(sizes, cost, activations[:-1], activations[-1])
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from error


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
    _check_architecture(path, sizes, cost, activations)
    return ModelDescription(sizes, list(activations), COSTS[cost].name, "float64", weights, biases)


def _matrices(path: Path, name: str, value: Any, shapes: list[tuple[int, int]]) -> list[FloatArray]:
    if not isinstance(value, list) or len(value) != len(shapes):
        raise ModelFileError(f"{path}: {name} must be a list of {len(shapes)} matrices")
    out: list[FloatArray] = []
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
