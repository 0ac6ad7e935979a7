"""Models saved as safetensors: exact round trips, files the ``safetensors`` package itself reads
and writes, and a loader that refuses every hostile or broken file with ``ModelFileError``."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open

import digitnet
from digitnet.errors import ModelFileError
from digitnet.formats import safetensors as safetensors_format
from digitnet.formats.description import ModelDescription

MB = 1 << 20
HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "tanh", "relu", "softmax")
COSTS = ("QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost")
DTYPES = ("float64", "float32")


def valid(hidden: str, output: str, cost: str) -> bool:
    try:
        digitnet.Network([2, 2, 2], cost=cost, activation=hidden, output=output)
    except ValueError:
        return False
    return True


ARCHITECTURES = [
    combination for combination in itertools.product(HIDDEN, OUTPUTS, COSTS) if valid(*combination)
]


def test_every_activation_and_cost_is_covered() -> None:
    assert {h for h, _, _ in ARCHITECTURES} == set(HIDDEN)
    assert {o for _, o, _ in ARCHITECTURES} == set(OUTPUTS)
    assert {c for _, _, c in ARCHITECTURES} == set(COSTS)


def with_special_values(net: digitnet.Network) -> None:
    """Puts values that a lossy round trip would change into the parameters: -0.0, the smallest
    subnormal, the largest finite number, and one with all mantissa bits set."""
    info = np.finfo(net.dtype)
    specials = np.array(
        [-0.0, info.smallest_subnormal, -info.max, np.nextafter(net.dtype.type(2), 0)],
        dtype=net.dtype,
    )
    w = np.array(net.weights[0])
    w.flat[: len(specials)] = specials
    b = np.array(net.biases[-1])
    b.flat[0] = -info.smallest_subnormal
    net.weights = [w, *net.weights[1:]]
    net.biases = [*net.biases[:-1], b]


def bits(array: np.ndarray) -> np.ndarray:
    return array.view(np.uint64 if array.dtype == np.float64 else np.uint32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("hidden", "output", "cost"), ARCHITECTURES)
def test_round_trip_is_bit_for_bit(
    hidden: str, output: str, cost: str, dtype: str, tmp_path: Path
) -> None:
    net = digitnet.Network(
        [7, 5, 4, 3], seed=11, dtype=dtype, cost=cost, activation=hidden, output=output
    )
    with_special_values(net)
    path = tmp_path / "model.safetensors"
    net.save(path)
    loaded = digitnet.load(path)
    assert (loaded.sizes, loaded.activations, loaded.cost, loaded.dtype) == (
        net.sizes, net.activations, net.cost, net.dtype
    )  # fmt: skip
    for a, b in zip([*net.weights, *net.biases], [*loaded.weights, *loaded.biases], strict=True):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(bits(a), bits(b))
    x = np.random.default_rng(0).standard_normal((6, 7)).astype(dtype)
    np.testing.assert_array_equal(bits(net.feedforward(x)), bits(loaded.feedforward(x)))


def test_a_mixed_per_layer_architecture_round_trips(tmp_path: Path) -> None:
    net = digitnet.Network(
        [6, 5, 4, 3, 2], seed=2, activation=["relu", "tanh", "sigmoid"], output="softmax",
        cost="LogLikelihoodCost",
    )  # fmt: skip
    net.save(tmp_path / "m.safetensors")
    assert digitnet.load(tmp_path / "m.safetensors").activations == net.activations


def test_the_extension_is_case_blind_and_json_stays_the_default(tmp_path: Path) -> None:
    net = digitnet.Network([3, 2], seed=0)
    net.save(tmp_path / "m.SafeTensors")
    assert (tmp_path / "m.SafeTensors").read_bytes()[8:9] == b"{"
    net.save(tmp_path / "m.model")
    assert set(json.loads((tmp_path / "m.model").read_text())) == {
        "sizes", "weights", "biases", "cost"
    }  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_safetensors_package_reads_the_same_arrays(dtype: str, tmp_path: Path) -> None:
    net = digitnet.Network([784, 30, 10], seed=5, dtype=dtype, activation="tanh")
    path = tmp_path / "model.safetensors"
    net.save(path)
    tensors = safetensors.numpy.load_file(path)
    assert set(tensors) == {f"layers.{i}.{k}" for i in range(2) for k in ("weight", "bias")}
    for i in range(2):
        for name, expected in (("weight", net.weights[i]), ("bias", net.biases[i])):
            got = tensors[f"layers.{i}.{name}"]
            assert got.dtype == np.dtype(dtype)
            assert got.shape == expected.shape
            np.testing.assert_array_equal(bits(got), bits(expected))
    with safe_open(path, framework="numpy") as file:
        metadata = file.metadata()
    assert metadata == {
        "sizes": "[784, 30, 10]",
        "activations": '["tanh", "sigmoid"]',
        "cost": "QuadraticCost",
        "dtype": dtype,
    }


def test_reads_a_file_the_safetensors_package_wrote(tmp_path: Path) -> None:
    """What someone exporting from their own code writes: arrays and metadata, no digitnet."""
    rng = np.random.default_rng(3)
    tensors = {
        "layers.0.weight": rng.standard_normal((4, 6)).astype(np.float32),
        "layers.0.bias": rng.standard_normal((4, 1)).astype(np.float32),
        "layers.1.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "layers.1.bias": rng.standard_normal((3, 1)).astype(np.float32),
    }
    metadata = {
        "sizes": "[6, 4, 3]", "activations": '["relu", "softmax"]',
        "cost": "LogLikelihoodCost", "dtype": "float32",
    }  # fmt: skip
    path = tmp_path / "theirs.safetensors"
    safetensors.numpy.save_file(tensors, path, metadata=metadata)
    net = digitnet.load(path)
    assert net.dtype == np.float32
    assert net.activations == ["relu", "softmax"]
    np.testing.assert_array_equal(net.weights[1], tensors["layers.1.weight"])
    np.testing.assert_array_equal(net.biases[0], tensors["layers.0.bias"])


def test_a_float32_model_is_half_the_size(tmp_path: Path) -> None:
    for dtype in DTYPES:
        digitnet.Network([784, 100, 10], seed=0, dtype=dtype).save(
            tmp_path / f"{dtype}.safetensors"
        )
    size64 = (tmp_path / "float64.safetensors").stat().st_size
    size32 = (tmp_path / "float32.safetensors").stat().st_size
    assert size64 > 8 * 78_500
    assert size32 < 0.51 * size64


# ---- broken and hostile files ---------------------------------------------------------------


def header_and_body() -> tuple[dict[str, Any], bytes]:
    """A valid model file's header (as a fresh dict) and byte buffer."""
    header, body = _header_and_body()
    return copy.deepcopy(header), body


@functools.cache
def _header_and_body() -> tuple[dict[str, Any], bytes]:
    net = digitnet.Network([3, 4, 2], seed=1)
    raw = safetensors_format.encode(
        ModelDescription(
            sizes=net.sizes,
            activations=net.activations,
            cost=net.cost.name,
            dtype="float64",
            weights=list(net.weights),
            biases=list(net.biases),
        )
    )
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def assemble(header: Any, body: bytes, length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + body


def edit(change: Callable[[dict[str, Any]], Any]) -> bytes:
    header, body = header_and_body()
    change(header)
    return assemble(header, body)


def setting(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(header: dict[str, Any]) -> None:
        header["__metadata__"][key] = value

    return change


def entry(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(header: dict[str, Any]) -> None:
        header[name][key] = value

    return change


def _valid_file() -> bytes:
    return assemble(*header_and_body())


def raw_header(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


BROKEN: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "too short"),
    "seven bytes": (lambda: b"\x10\0\0\0\0\0\0", "too short"),
    "header length 2**63": (lambda: struct.pack("<Q", 2**63) + b"{}", "header of"),
    "header length 2**64-1": (lambda: b"\xff" * 8 + b"{}", "header of"),
    "header past the end": (lambda: struct.pack("<Q", 100) + b"{}", "truncated"),
    "truncated body": (lambda: _valid_file()[:-9], "truncated"),
    "one byte extra": (lambda: _valid_file() + b"\0", "after the last tensor"),
    "not JSON": (lambda: raw_header(b"{abc"), "bad header"),
    "not UTF-8": (lambda: raw_header(b'{"\xff": 1}'), "bad header"),
    "a JSON list": (lambda: raw_header(b"[1, 2]"), "bad header"),
    "a JSON string": (lambda: raw_header(b'"{"'), "bad header"),
    "padded with spaces, no metadata": (lambda: raw_header(b"{}     "), "metadata"),
    "nesting past the recursion limit": (
        lambda: raw_header(b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"),
        "bad header",
    ),
    "duplicate key": (lambda: raw_header(b'{"a": 1, "a": 2}'), "twice"),
    "NaN in header": (lambda: raw_header(b'{"a": NaN}'), "non-finite"),
    "header past the limit": (lambda: raw_header(b"{" + b" " * (1 << 20) + b"}"), "header of"),
    "no metadata": (lambda: edit(lambda h: h.pop("__metadata__")), "metadata"),
    "metadata not strings": (lambda: edit(setting("sizes", [3, 4, 2])), "metadata"),
    "metadata lacks cost": (lambda: edit(lambda h: h["__metadata__"].pop("cost")), "lacks cost"),
    "sizes not JSON": (lambda: edit(setting("sizes", "3,4,2")), "sizes"),
    "sizes with a boolean": (lambda: edit(setting("sizes", "[3, true, 2]")), "sizes"),
    "sizes with a float": (lambda: edit(setting("sizes", "[3, 4.0, 2]")), "sizes"),
    "sizes with zero": (lambda: edit(setting("sizes", "[3, 0, 2]")), "sizes"),
    "one size": (lambda: edit(setting("sizes", "[3]")), "sizes"),
    "1002 sizes": (lambda: edit(setting("sizes", json.dumps([1] * 1002))), "sizes"),
    "absurd sizes": (lambda: edit(setting("sizes", "[100000000, 100000000]")), "parameters"),
    "a 400-digit size": (lambda: edit(setting("sizes", f"[{10**400}, 2]")), "parameters"),
    "a 5000-digit size": (lambda: edit(setting("sizes", f"[{'9' * 5000}, 2]")), "sizes"),
    "sizes that do not chain": (lambda: edit(setting("sizes", "[3, 5, 2]")), "does not chain"),
    "activations too few": (lambda: edit(setting("activations", '["sigmoid"]')), "activations"),
    "unknown activation": (lambda: edit(setting("activations", '["gelu", "sigmoid"]')), "gelu"),
    "softmax hidden": (lambda: edit(setting("activations", '["softmax", "sigmoid"]')), "softmax"),
    "unknown cost": (lambda: edit(setting("cost", "HingeCost")), "HingeCost"),
    "cost not fitting the output": (lambda: edit(setting("cost", "LogLikelihoodCost")), "suit"),
    "dtype float16": (lambda: edit(setting("dtype", "float16")), "dtype"),
    "dtype says float32": (lambda: edit(setting("dtype", "float32")), "dtype 'F64'"),
    "tensor dtype F16": (lambda: edit(entry("layers.0.bias", "dtype", "F16")), "dtype 'F16'"),
    "missing tensor": (lambda: edit(lambda h: h.pop("layers.1.weight")), "missing tensor"),
    "unexpected tensor": (
        lambda: edit(lambda h: h.update({"extra": h.pop("layers.1.weight")})),
        "unexpected",
    ),
    "weight transposed": (lambda: edit(entry("layers.0.weight", "shape", [3, 4])), "chain"),
    "bias as a vector": (lambda: edit(entry("layers.0.bias", "shape", [4])), "chain"),
    "shape with a boolean": (lambda: edit(entry("layers.1.bias", "shape", [2, True])), "chain"),
    "extra entry key": (lambda: edit(entry("layers.1.bias", "extra", 1)), "expected dtype"),
    "entry not an object": (lambda: edit(lambda h: h.update({"layers.1.bias": 5})), "expected"),
    "offsets past the end": (
        lambda: edit(entry("layers.1.bias", "data_offsets", [10**20, 10**20 + 16])),
        "truncated",
    ),
    "offsets negative": (lambda: edit(entry("layers.1.bias", "data_offsets", [-16, 0])), "range"),
    "offsets reversed": (lambda: edit(entry("layers.1.bias", "data_offsets", [16, 0])), "range"),
    "offsets of floats": (
        lambda: edit(entry("layers.0.bias", "data_offsets", [0.0, 32.0])),
        "range",
    ),
    "offsets one short": (lambda: edit(entry("layers.0.bias", "data_offsets", [0, 24])), "span"),
    "overlapping tensors": (lambda: overlapping(), "overlap"),
}


def overlapping() -> bytes:
    header, body = header_and_body()
    _, second = sorted(
        (name for name in header if name != "__metadata__"),
        key=lambda n: header[n]["data_offsets"][0],
    )[:2]
    # The second tensor starts 8 bytes into the first one; the buffer still has the right size.
    begin, end = header[second]["data_offsets"]
    header[second]["data_offsets"] = [begin - 8, end - 8]
    return assemble(header, body)


def non_finite() -> bytes:
    header, body = header_and_body()
    begin = header["layers.0.weight"]["data_offsets"][0]
    return assemble(header, body[:begin] + struct.pack("<d", np.inf) + body[begin + 8 :])


BROKEN["infinity in a weight"] = (non_finite, "non-finite")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_are_model_file_errors_naming_the_file(case: str, tmp_path: Path) -> None:
    make, message = BROKEN[case]
    path = tmp_path / "broken.safetensors"
    path.write_bytes(make())
    with bounded_memory(), pytest.raises(ModelFileError) as caught:
        digitnet.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_the_valid_file_behind_the_broken_ones_loads(tmp_path: Path) -> None:
    path = tmp_path / "fine.safetensors"
    path.write_bytes(_valid_file())
    assert digitnet.load(path).sizes == [3, 4, 2]


def claiming(sizes: list[int]) -> tuple[dict[str, Any], int]:
    """A header consistent with ``sizes`` (relu layers, float64), and the body size it needs."""
    header: dict[str, Any] = {
        "__metadata__": {
            "sizes": json.dumps(sizes), "activations": json.dumps(["relu"] * (len(sizes) - 1)),
            "cost": "QuadraticCost", "dtype": "float64",
        }
    }  # fmt: skip
    offset = 0
    for layer, (x, y) in enumerate(itertools.pairwise(sizes)):
        for name, shape in (("weight", [y, x]), ("bias", [y, 1])):
            size = 8 * shape[0] * shape[1]
            header[f"layers.{layer}.{name}"] = {
                "dtype": "F64", "shape": shape, "data_offsets": [offset, offset + size]
            }  # fmt: skip
            offset += size
    return header, offset


def test_claiming_a_model_just_under_the_limit_without_its_bytes_allocates_nothing(
    tmp_path: Path,
) -> None:
    header, needed = claiming([8191, 16383])
    assert needed == 8 * 16383 * 8192  # 1 GiB, of a file of a few hundred bytes
    path = tmp_path / "claims-1-GiB.safetensors"
    path.write_bytes(assemble(header, b"\0" * 64))
    with bounded_memory(), pytest.raises(ModelFileError, match="truncated"):
        digitnet.load(path)


def test_onnx_is_not_read_back_nor_written_by_save(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="exported"):
        digitnet.load(tmp_path / "model.onnx")
    with pytest.raises(ValueError, match="to_onnx"):
        digitnet.Network([2, 2]).save(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


# ---- fuzzing: random and mutated headers and bodies ------------------------------------------

#: What one load of a small file may allocate at its peak; the files fuzzed are at most ~2 KB.
MEMORY_BOUND = 4 * MB


class bounded_memory:  # noqa: N801 -- used like a function, as a context manager
    """Asserts that the Python heap grows by at most ``MEMORY_BOUND`` inside the block."""

    def __enter__(self) -> None:
        tracemalloc.start()

    def __exit__(self, *exc: object) -> None:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, f"tracemalloc peak {peak / MB:.1f} MB"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_only_model_file_errors(raw: bytes, scratch: Path) -> str:
    """Loads ``raw`` as a file; anything but success or ModelFileError fails the test."""
    path = scratch / "fuzzed.safetensors"
    path.write_bytes(raw)
    with bounded_memory():
        try:
            digitnet.load(path)
        except ModelFileError as error:
            message = str(error)
        else:
            return "loaded"
    assert message.startswith(f"{path}: ")
    return "refused"


FUZZ = settings(max_examples=200)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(raw=st.binary(max_size=600))
def test_fuzz_random_bytes(raw: bytes, scratch: Path) -> None:
    assert load_only_model_file_errors(raw, scratch) == "refused"


@FUZZ
@given(length=st.integers(0, 2**64 - 1), header=st.binary(max_size=300))
def test_fuzz_random_headers(length: int, header: bytes, scratch: Path) -> None:
    assert load_only_model_file_errors(struct.pack("<Q", length) + header, scratch) == "refused"


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_bytes_of_a_valid_file(data: st.DataObject, scratch: Path) -> None:
    raw = bytearray(_valid_file())
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "length"]))
        position = data.draw(st.integers(0, len(raw)))
        if kind == "flip" and position < len(raw):
            raw[position] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "truncate":
            del raw[position:]
        elif kind == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del raw[position : position + data.draw(st.integers(1, 16))]
        else:
            raw[:8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
    load_only_model_file_errors(bytes(raw), scratch)


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_headers(data: st.DataObject, scratch: Path) -> None:
    """Replaces or deletes values anywhere in a valid header (metadata strings, dtypes, shapes,
    offsets) and keeps the body; the header length stays right, so the parser reads it all."""
    header, body = header_and_body()
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(header)))
        if not isinstance(header[name], dict) or data.draw(st.booleans()):
            header[name] = data.draw(JSON_VALUES)
            continue
        key = data.draw(st.sampled_from([*sorted(header[name]), "extra"]))
        action = data.draw(st.sampled_from(["replace", "delete", "integers", "string"]))
        if action == "delete":
            header[name].pop(key, None)
        elif action == "integers":
            header[name][key] = data.draw(st.lists(st.integers(-(2**65), 2**65), max_size=3))
        elif action == "string":
            header[name][key] = json.dumps(data.draw(JSON_VALUES))
        else:
            header[name][key] = data.draw(JSON_VALUES)
    load_only_model_file_errors(assemble(header, body), scratch)


@FUZZ
@given(
    sizes=st.lists(st.integers(1, 2**40) | st.sampled_from([2**13, 2**14, 2**27]),
                   min_size=2, max_size=4),
    body=st.binary(max_size=512),
)  # fmt: skip
def test_fuzz_claimed_sizes_against_small_bodies(
    sizes: list[int], body: bytes, scratch: Path
) -> None:
    """Headers that agree with their own sizes, over a body too small to hold them: refused
    before anything of the claimed size is allocated."""
    header, needed = claiming(sizes)
    outcome = load_only_model_file_errors(assemble(header, body), scratch)
    assert outcome == "refused" or needed == len(body)
