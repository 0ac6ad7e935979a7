"""Saving and loading networks in network2.py's JSON format, so models move both ways between
the book's code and digitnet; a ``.safetensors`` name selects that format instead
(:mod:`digitnet.formats.safetensors`), and :func:`export_onnx` writes an ONNX graph.

The format is ``{"sizes": [...], "weights": [...], "biases": [...], "cost": "QuadraticCost"}``
with each weight matrix and bias column as nested lists. Files are parsed as data, never
executed, and written atomically: an interrupted save never leaves a half-written file.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from digitnet import _convert
from digitnet.errors import DigitnetError, ModelFileError
from digitnet.formats import safetensors as safetensors_format
from digitnet.formats.description import MAX_LAYERS, MAX_PARAMETERS, ModelDescription
from digitnet.network import Network

#: The largest model file read: far above any MLP on MNIST, and a bound on what a hostile file
#: can make the parser allocate.
MAX_FILE_BYTES = 1 << 30

COSTS = ("QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost")


def save(net: Network, filename: str | os.PathLike[str]) -> None:
    """Writes ``net`` to ``filename``, atomically: in the safetensors format if the name ends in
    ``.safetensors``, else in network2.py's JSON format."""
    path = Path(filename)
    if _is_safetensors(path):
        write_atomically(path, safetensors_format.encode(describe(net)))
        return
    if path.suffix.lower() == ".onnx":
        raise ValueError(f"{path}: ONNX is written by net.to_onnx(), not by save()")
    data: dict[str, Any] = {
        "sizes": net.sizes,
        "weights": [w.tolist() for w in net.weights],
        "biases": [b.tolist() for b in net.biases],
        "cost": net.cost.name,
    }
    if any(a != "sigmoid" for a in net.activations):
        # digitnet's extension; left out for all-sigmoid networks, whose files network2.py reads.
        data["activations"] = net.activations
    write_atomically(path, json.dumps(data).encode())


def export_onnx(net: Network, filename: str | os.PathLike[str], *, digit: bool = True) -> None:
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


def describe(net: Network) -> ModelDescription:
    """``net``'s architecture and parameters as plain data."""
    return ModelDescription(
        sizes=list(net.sizes),
        activations=list(net.activations),
        cost=net.cost.name,
        dtype="float32" if net.dtype == np.float32 else "float64",
        weights=[np.array(w) for w in net.weights],
        biases=[np.array(b) for b in net.biases],
    )


def _is_safetensors(path: Path) -> bool:
    return path.suffix.lower() == safetensors_format.SUFFIX


def write_atomically(path: Path, content: bytes) -> None:
    """Writes ``content`` to a temporary file beside ``path``, syncs it, then renames it over
    ``path``; on any failure (Ctrl-C included) the temporary file is removed."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(filename: str | os.PathLike[str]) -> Network:
    """Reads a network saved by :func:`save` (JSON or safetensors, by the file's extension) or by
    network2.py's ``Network.save``."""
    path = Path(filename)
    if path.suffix.lower() == ".onnx":
        raise ModelFileError(f"{path}: ONNX models are exported for runtimes, not read back")
    if _is_safetensors(path):
        raw = read_bytes(path, MAX_FILE_BYTES, ModelFileError, "digitnet model")
        return _from_description(path, safetensors_format.decode(raw, str(path)))
    return _network(path, read_json(path, MAX_FILE_BYTES, ModelFileError, "digitnet model"))


def _from_description(path: Path, model: ModelDescription) -> Network:
    try:
        net = Network(
            model.sizes,
            dtype=model.dtype,
            cost=model.cost,
            activation=model.activations[:-1],
            output=model.activations[-1],
        )
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    net.weights = model.weights
    net.biases = model.biases
    return net


def read_json(path: Path, limit: int, error: type[DigitnetError], what: str) -> Any:
    """The JSON value in the file ``path``, read as data only (see :func:`read_bytes`), with no
    NaN or Infinity tokens. Any failure is ``error``, naming the file."""
    raw = read_bytes(path, limit, error, what)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as failure:
        raise error(f"{path}: not valid JSON ({failure})") from None


def read_bytes(path: Path, limit: int, error: type[DigitnetError], what: str) -> bytes:
    """The content of the file ``path``: a regular file of at most ``limit`` bytes (no FIFO to
    wait on, no device to drain), and no more of it than its size. Any failure is ``error``,
    naming the file."""
    try:
        # Opened without blocking, so that a named pipe cannot make us wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise error(f"{path}: not a regular file")
            if status.st_size > limit:
                raise error(f"{path}: larger than {limit} bytes; not a {what}")
            raw = file.read(status.st_size + 1)
    except OSError as failure:
        raise error(f"{path}: cannot read: {failure.strerror or failure}") from None
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit} bytes; not a {what}")
    return raw


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _network(path: Path, data: Any) -> Network:
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in ("sizes", "weights", "biases") if key not in data]
    if missing:
        raise ModelFileError(f"{path}: missing {', '.join(missing)}")
    cost = data.get("cost", "QuadraticCost")
    if cost not in COSTS:
        raise ModelFileError(f"{path}: cost must be one of {', '.join(COSTS)}, got {cost!r}")
    claimed = data["sizes"]
    if not isinstance(claimed, list) or len(claimed) > MAX_LAYERS:
        raise ModelFileError(f"{path}: sizes must be a list of at most {MAX_LAYERS} layer sizes")
    try:
        sizes = _convert.sizes(claimed)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: {error}") from None
    for key in ("weights", "biases"):
        if not isinstance(data[key], list) or len(data[key]) != len(sizes) - 1:
            raise ModelFileError(
                f"{path}: {key} must be a list of {len(sizes) - 1} matrices, one per layer"
            )
    parameters = sum(y * (x + 1) for x, y in itertools.pairwise(sizes))
    if parameters > MAX_PARAMETERS:
        raise ModelFileError(f"{path}: sizes {sizes} ask for {parameters} parameters; too many")
    weights = _matrices(path, "weights", data["weights"], [(y, x) for x, y in _pairs(sizes)])
    biases = _matrices(path, "biases", data["biases"], [(y, 1) for _, y in _pairs(sizes)])
    activations = data.get("activations", ["sigmoid"] * (len(sizes) - 1))
    if not (
        isinstance(activations, list)
        and len(activations) == len(sizes) - 1
        and all(isinstance(a, str) for a in activations)
    ):
        raise ModelFileError(f"{path}: activations must be a list of {len(sizes) - 1} names")
    try:
        net = Network(sizes, cost=cost, activation=activations[:-1], output=activations[-1])
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    net.weights = weights
    net.biases = biases
    return net


def _pairs(sizes: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(sizes))


def _matrices(
    path: Path, name: str, value: Any, shapes: list[tuple[int, int]]
) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
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
