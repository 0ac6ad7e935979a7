"""The safetensors format: one little-endian tensor per weight and bias, the architecture in the
header's metadata, so that PyTorch, JAX or NumPy code can read a digitnet model.

Tensors are named ``layers.{l}.weight`` (shape ``(sizes[l+1], sizes[l])``) and
``layers.{l}.bias`` (``(sizes[l+1], 1)``), in network.py's shapes, of dtype ``F64`` or ``F32``.
The metadata holds ``sizes`` and ``activations`` (JSON lists), ``cost`` and ``dtype``.

Files are written by the ``safetensors`` package. They are read by this module's own parser,
which checks the whole header (its length, JSON, every tensor's name, dtype, shape and byte
range) against the architecture before it reads a number, so that a hostile or truncated file
is a :class:`~digitnet.errors.ModelFileError` naming it, and nothing is allocated that the file
does not hold.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import safetensors.numpy

from digitnet.errors import ModelFileError
from digitnet.formats.description import (
    MAX_LAYERS,
    MAX_PARAMETERS,
    DType,
    ModelDescription,
)

#: The file name extension that selects this format.
SUFFIX = ".safetensors"
#: The largest header read: a 1000-layer model needs ~200 KB. Bounds what the JSON parser may
#: allocate for a hostile header (the format's own readers allow 100 MB).
MAX_HEADER_BYTES = 1 << 20

#: How each safetensors dtype a digitnet model uses is laid out in the file.
_STORED: dict[str, np.dtype[np.floating[Any]]] = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4")}
_METADATA_KEYS = ("sizes", "activations", "cost", "dtype")


def encode(model: ModelDescription) -> bytes:
    """The safetensors file holding ``model``."""
    tensors: dict[str, np.ndarray[Any, Any]] = {}
    for layer, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        tensors[f"layers.{layer}.weight"] = np.ascontiguousarray(w, dtype=model.dtype)
        tensors[f"layers.{layer}.bias"] = np.ascontiguousarray(
            np.reshape(b, (-1, 1)), dtype=model.dtype
        )
    metadata = {
        "sizes": json.dumps(model.sizes),
        "activations": json.dumps(model.activations),
        "cost": model.cost,
        "dtype": model.dtype,
    }
    content: bytes = safetensors.numpy.save(tensors, metadata=metadata)
    return content


def decode(raw: bytes, source: str) -> ModelDescription:
    """The model in the safetensors file content ``raw``; any flaw is a ``ModelFileError``
    whose message starts with ``source`` (the file's name)."""
    header, body = _split(raw, source)
    metadata = header.pop("__metadata__", None)
    sizes, activations, cost, dtype = _architecture(metadata, source)
    expected = _expected_tensors(sizes, dtype)
    unexpected = sorted(set(header) - set(expected))
    if unexpected:
        raise _error(source, f"unexpected tensor {unexpected[0]!r}; a digitnet model holds only "
                     "layers.{l}.weight and layers.{l}.bias")  # fmt: skip
    ranges = []
    for name, (shape, tensor_dtype) in expected.items():
        if name not in header:
            raise _error(source, f"missing tensor {name!r}")
        ranges.append(_check_entry(source, name, header[name], shape, tensor_dtype, len(body)))
    _check_coverage(source, ranges, len(body))
    arrays = {}
    for (name, (shape, tensor_dtype)), (begin, _) in zip(expected.items(), ranges, strict=True):
        count = math.prod(shape)
        array = np.frombuffer(body, _STORED[tensor_dtype], count, begin).reshape(shape)
        if not np.all(np.isfinite(array)):
            raise _error(source, f"tensor {name!r} holds a non-finite number")
        arrays[name] = array.astype(dtype)  # a copy, in native byte order
    layers = range(len(sizes) - 1)
    return ModelDescription(
        sizes=sizes,
        activations=activations,
        cost=cost,
        dtype=dtype,
        weights=[arrays[f"layers.{layer}.weight"] for layer in layers],
        biases=[arrays[f"layers.{layer}.bias"] for layer in layers],
    )


def _error(source: str, problem: str) -> ModelFileError:
    return ModelFileError(f"{source}: {problem}")


def _split(raw: bytes, source: str) -> tuple[dict[str, Any], memoryview]:
    """The header as a JSON object, and the byte buffer after it."""
    if len(raw) < 8:
        raise _error(source, "too short for a safetensors file (no 8-byte header length)")
    length = int.from_bytes(raw[:8], "little")
    if length > MAX_HEADER_BYTES:
        raise _error(
            source, f"header of {length} bytes claimed; at most {MAX_HEADER_BYTES} are read"
        )
    if 8 + length > len(raw):
        raise _error(
            source, f"truncated: header of {length} bytes claimed, {len(raw) - 8} bytes follow"
        )
    try:
        text = raw[8 : 8 + length].decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("the header does not start with '{'")
        header = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as failure:
        raise _error(source, f"not a safetensors file: bad header ({failure})") from None
    if not isinstance(header, dict):
        raise _error(source, "not a safetensors file: the header is not a JSON object")
    return header, memoryview(raw)[8 + length :]


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key appears twice")
    return out


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _architecture(metadata: Any, source: str) -> tuple[list[int], list[str], str, DType]:
    """Sizes, activations, cost and dtype from the header's metadata, checked for shape only
    (whether the names make a valid network is for the class that builds it to say)."""
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise _error(source, "no digitnet metadata (a __metadata__ map of strings)")
    missing = [key for key in _METADATA_KEYS if key not in metadata]
    if missing:
        raise _error(source, f"metadata lacks {', '.join(missing)}; not a digitnet model")
    sizes = _json_list(source, "sizes", metadata["sizes"])
    if not 2 <= len(sizes) <= MAX_LAYERS + 1 or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes
    ):
        raise _error(source, f"sizes must be a list of 2 to {MAX_LAYERS + 1} positive integers")
    parameters = sum(y * (x + 1) for x, y in itertools.pairwise(sizes))
    if parameters > MAX_PARAMETERS:
        raise _error(source, f"sizes ask for {parameters} parameters; at most {MAX_PARAMETERS}")
    activations = _json_list(source, "activations", metadata["activations"])
    if len(activations) != len(sizes) - 1 or not all(isinstance(a, str) for a in activations):
        raise _error(source, f"activations must be a list of {len(sizes) - 1} names")
    dtype = metadata["dtype"]
    if dtype not in ("float64", "float32"):
        raise _error(source, f"dtype must be float64 or float32, got {dtype!r}")
    return sizes, activations, metadata["cost"], dtype


def _json_list(source: str, key: str, text: str) -> list[Any]:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list):
        raise _error(source, f"metadata {key} must be a JSON list, got {text[:40]!r}")
    return value


def _expected_tensors(sizes: list[int], dtype: DType) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each tensor's name, shape and safetensors dtype, in layer order."""
    code = "F64" if dtype == "float64" else "F32"
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    for layer, (x, y) in enumerate(itertools.pairwise(sizes)):
        expected[f"layers.{layer}.weight"] = ((y, x), code)
        expected[f"layers.{layer}.bias"] = ((y, 1), code)
    return expected


def _check_entry(
    source: str, name: str, entry: Any, shape: tuple[int, ...], dtype: str, body: int
) -> tuple[int, int]:
    """The byte range of the tensor ``name``, once its entry matches what the sizes ask for."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _error(source, f"tensor {name!r}: expected dtype, shape and data_offsets")
    if entry["dtype"] != dtype:
        raise _error(source, f"tensor {name!r}: dtype {entry['dtype']!r}, expected {dtype}")
    if entry["shape"] != list(shape) or not all(type(n) is int for n in entry["shape"]):
        raise _error(
            source, f"tensor {name!r}: shape {entry['shape']!r} does not chain with the sizes "
            f"(expected {list(shape)})",
        )  # fmt: skip
    offsets = entry["data_offsets"]
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(n) is int for n in offsets)
        and 0 <= offsets[0] <= offsets[1]
    ):
        raise _error(source, f"tensor {name!r}: data_offsets {offsets!r} are not a byte range")
    begin, end = offsets
    if end > body:
        raise _error(
            source, f"truncated: tensor {name!r} ends at byte {end} of a {body}-byte buffer"
        )
    size = math.prod(shape) * _STORED[dtype].itemsize
    if end - begin != size:
        raise _error(
            source, f"tensor {name!r}: data_offsets span {end - begin} bytes, its shape {size}"
        )
    return begin, end


def _check_coverage(source: str, ranges: list[tuple[int, int]], body: int) -> None:
    """The format's rule: the tensors tile the byte buffer, with no gap and no overlap."""
    position = 0
    for begin, end in sorted(ranges):
        if begin != position:
            problem = "overlap" if begin < position else "leave a gap"
            raise _error(source, f"tensors {problem} at byte {min(begin, position)} of the buffer")
        position = end
    if position != body:
        raise _error(source, f"{body - position} bytes after the last tensor")


__all__ = ["MAX_HEADER_BYTES", "SUFFIX", "decode", "encode"]
