"""Ctrl-C at awkward moments, and hostile files: digitnet stops promptly, leaves no partial file,
and turns every malformed input into its own exception.

No Rust parser exists (model files and IDX files are parsed in Python), so no cargo-fuzz target
is needed: the Hypothesis campaigns below fuzz the parsers where they are.

Ctrl-C is a SIGINT sent from a helper thread, as tests/test_interrupt.py does; the latencies
asserted are hang detectors (the binding looks for signals between slices of milliseconds), not
speed claims.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import math
import os
import pickle
import random
import re
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import interrupt_after
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import digitnet
from digitnet import cli, persistence
from digitnet.datasets import idx, mnist
from digitnet.errors import DatasetError, ModelFileError

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")

#: A hang detector: the binding checks for signals between slices of at most ~50 ms of work.
PROMPT = 2.0
MB = 1 << 20


def status_bytes(key: str) -> int:
    """A ``VmRSS:``/``VmHWM:`` figure of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise LookupError(key)


@contextlib.contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Measures how far the resident set rises above its level at entry (Python, NumPy and Rust
    allocations alike, which tracemalloc cannot all see): resets the kernel's high-water mark
    (``echo 5 > /proc/self/clear_refs``) and reads it back at exit into the yielded list."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pytest.skip("needs /proc/self/clear_refs to reset the peak RSS")
    start = status_bytes("VmRSS:")
    growth: list[int] = []
    yield growth
    growth.append(status_bytes("VmHWM:") - start)


# ================================================================== Ctrl-C during inference


@pytest.fixture(scope="module")
def wide_net() -> digitnet.Network:
    return digitnet.Network([784, 800, 10], seed=0)


@pytest.fixture(scope="module")
def big_input() -> np.ndarray:
    """300,000 rows of 784 zeros: 1.9 GB of address space, but untouched zero pages cost no
    memory, and the network's work does not depend on the values."""
    return np.zeros((300_000, 784))


def interrupt_delay(net: digitnet.Network, x: np.ndarray) -> float:
    """When to interrupt: a quarter of the expected duration (from one timed slice), at most
    0.5 s, so that the call is surely still running on a fast machine."""
    started = time.perf_counter()
    net.predict(x[:8192])
    total = (time.perf_counter() - started) * x.shape[0] / 8192
    return min(0.5, total / 4)


@pytest.mark.parametrize("method", ["predict", "evaluate", "feedforward"])
def test_ctrl_c_during_inference_is_prompt(
    method: str, wide_net: digitnet.Network, big_input: np.ndarray
) -> None:
    probe = np.random.default_rng(0).uniform(0, 1, (500, 784))
    expected = wide_net.feedforward(probe)
    labels = np.zeros(big_input.shape[0], dtype=np.int64)
    calls: dict[str, Callable[[], Any]] = {
        "predict": lambda: wide_net.predict(big_input),
        "evaluate": lambda: wide_net.evaluate((big_input, labels)),
        "feedforward": lambda: wide_net.feedforward(big_input),
    }
    sent = interrupt_after(interrupt_delay(wide_net, big_input))
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        calls[method]()
    latency = time.perf_counter() - sent[0]
    print(
        f"\n{method}: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT "
        f"({sent[0] - started:.2f} s into the call)"
    )
    assert latency < PROMPT, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"

    # Still usable, and unchanged: inference does not touch the parameters.
    np.testing.assert_array_equal(wide_net.feedforward(probe), expected)
    assert wide_net.evaluate((probe, wide_net.predict(probe))) == 500


# ============================================================= Ctrl-C while loading a data set


@pytest.fixture(scope="module")
def large_idx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNIST's four files, gzipped, with 200,000 training images (157 MB decompressed).

    Twenty random images repeat, so the file compresses well and is written in a fraction of a
    second, while reading it still decompresses and converts every byte."""
    directory = tmp_path_factory.mktemp("large-idx")
    rng = np.random.default_rng(0)
    n = 200_000
    base = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    images = np.tile(base, (n // 20, 1, 1))
    labels = (np.arange(n) % 10).astype(np.uint8)
    for name, array in [
        ("train-images-idx3-ubyte", images),
        ("train-labels-idx1-ubyte", labels),
        ("t10k-images-idx3-ubyte", images[:1000]),
        ("t10k-labels-idx1-ubyte", labels[:1000]),
    ]:
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip framing
        body = compressor.compress(header + array.tobytes()) + compressor.flush()
        (directory / f"{name}.gz").write_bytes(body)
    return directory


def listing(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``directory`` with its size and modification time."""
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
    }


def test_ctrl_c_while_loading_leaves_nothing_behind(
    large_idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(mnist.CACHE_ENV, str(cache))
    monkeypatch.delenv(mnist.DATA_ENV, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = listing(large_idx_dir)

    sent = interrupt_after(0.1)  # loading takes seconds: 157 MB to inflate, 1.2 GB to fill
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        mnist.load_arrays(large_idx_dir)
    latency = time.perf_counter() - sent[0]
    print(
        f"\nload_arrays: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT "
        f"({sent[0] - started:.2f} s into loading)"
    )
    assert latency < PROMPT

    assert listing(large_idx_dir) == before  # the data is only read
    assert not cache.exists()  # nothing cached or downloaded
    assert list(work.iterdir()) == []  # no stray file in the working directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]


# ============================================================ Ctrl-C while saving a model


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data set in MNIST's format that trains in milliseconds: 10,200 training images (10,000
    of them go to the validation split) and 100 test images, uncompressed."""
    directory = tmp_path_factory.mktemp("train-data")
    rng = np.random.default_rng(1)
    for name, shape in [
        ("train-images-idx3-ubyte", (10_200, 28, 28)),
        ("train-labels-idx1-ubyte", (10_200,)),
        ("t10k-images-idx3-ubyte", (100, 28, 28)),
        ("t10k-labels-idx1-ubyte", (100,)),
    ]:
        array = rng.integers(0, 10 if len(shape) == 1 else 256, shape, dtype=np.uint8)
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (directory / name).write_bytes(header + array.tobytes())
    return directory


def interrupting(real: Callable[..., Any], before: bool) -> Callable[..., Any]:
    """``real`` with Ctrl-C arriving just before or just after it runs."""

    def wrapper(*args: Any) -> Any:
        if before:
            signal.raise_signal(signal.SIGINT)
            time.sleep(5)  # KeyboardInterrupt is raised here, by the signal handler
        result = real(*args)
        signal.raise_signal(signal.SIGINT)
        time.sleep(5)
        return result

    return wrapper


# Each moment of persistence.write_atomically at which Ctrl-C can land with a file open.
SAVE_MOMENTS = [("fsync", False), ("chmod", False), ("replace", True)]


@pytest.mark.parametrize(
    ("function", "before"),
    SAVE_MOMENTS,
    ids=["after the data is written", "after the sync", "before the rename"],
)
@pytest.mark.parametrize("old_model", [False, True], ids=["new file", "over an old model"])
def test_ctrl_c_during_the_final_save(
    function: str,
    before: bool,
    old_model: bool,
    train_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``digitnet train --save`` interrupted while writing the model: exit status 130, and the
    path holds the old model (or nothing), never a partial file, and no temporary is left."""
    model = tmp_path / "model.json"
    if old_model:
        digitnet.Network([784, 7, 10], seed=5).save(model)
    monkeypatch.setattr(persistence.os, function, interrupting(getattr(os, function), before))
    status = cli.main(
        [
            "train",
            "--epochs",
            "1",
            "--sizes",
            "784,30,10",
            "--data-dir",
            str(train_dir),
            "--save",
            str(model),
        ]
    )
    monkeypatch.undo()
    assert status == cli.EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    if old_model:
        assert digitnet.load(model).sizes == [784, 7, 10]
        assert [p.name for p in tmp_path.iterdir()] == ["model.json"]
    else:
        assert list(tmp_path.iterdir()) == []


def test_second_ctrl_c_during_the_save_after_an_interrupted_training(
    train_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C during training makes ``train --save`` save the network as it is; a second Ctrl-C
    during that save leaves no file, not a partial one."""
    model = tmp_path / "model.json"
    monkeypatch.setattr(persistence.os, "fsync", interrupting(os.fsync, before=False))
    interrupt_after(0.3)
    status = cli.main(
        [
            "train",
            "--epochs",
            "1000000",
            "--sizes",
            "784,30,10",
            "--data-dir",
            str(train_dir),
            "--save",
            str(model),
        ]
    )
    monkeypatch.undo()
    assert status == cli.EXIT_INTERRUPTED
    assert "Epoch" in capsys.readouterr().out  # it was training when interrupted
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_at_random_moments_around_the_save(train_dir: Path, tmp_path: Path) -> None:
    """The real command in a process of its own, interrupted at random moments from just before
    to just after the model is written: each time the file is absent or a complete model."""
    rng = random.Random(1234)
    outcomes: Counter[str] = Counter()
    for run in range(6):
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        model = directory / "model.json"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "digitnet",
                "train",
                "--epochs",
                "1",
                "--sizes",
                "784,300,10",
                "--data-dir",
                str(train_dir),
                "--save",
                str(model),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None
        for line in process.stdout:  # "Best: ..." is printed just before the model is saved
            if line.startswith("Best:"):
                break
        time.sleep(rng.uniform(0.0, 0.15))  # the save of this model takes about 0.1 s
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        # 0: the signal came after the save; 130: caught by digitnet; -SIGINT: it came while
        # the interpreter was exiting. Whichever: the file must be whole or absent.
        assert process.returncode in (0, cli.EXIT_INTERRUPTED, -signal.SIGINT), err
        names = [p.name for p in directory.iterdir()]
        assert names in ([], ["model.json"]), names
        if names:
            assert digitnet.load(model).sizes == [784, 300, 10]
        outcomes["saved" if names else "absent"] += 1
    print(f"\nrandom Ctrl-C around the save: {dict(outcomes)}")


# ===================================================================== hostile model files

FUZZ_COUNTS: Counter[str] = Counter()
COSTS = ["QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def canary(scratch: Path) -> Path:
    """A file that would exist if anything in a model file were executed."""
    return scratch / "CODE-WAS-EXECUTED"


def check_load(path: Path, content: bytes, kind: str) -> None:
    """``digitnet.load`` gives a valid network or a ModelFileError naming the file, nothing else."""
    FUZZ_COUNTS[kind] += 1
    path.write_bytes(content)
    message = ""
    try:
        net = digitnet.load(path)
    except ModelFileError as error:
        message = str(error)
    if message:
        assert str(path) in message
        FUZZ_COUNTS["refused"] += 1
        return
    FUZZ_COUNTS["loaded"] += 1
    assert len(net.sizes) >= 2
    assert all(isinstance(s, int) and s >= 1 for s in net.sizes)
    for w, b, (n_in, n_out) in zip(
        net.weights, net.biases, itertools.pairwise(net.sizes), strict=True
    ):
        assert w.shape == (n_out, n_in)
        assert b.shape == (n_out, 1)
        assert np.all(np.isfinite(w))
        assert np.all(np.isfinite(b))
    assert net.feedforward(np.zeros(net.sizes[0])).shape == (net.sizes[-1],)


@st.composite
def valid_model(draw: st.DrawFn) -> dict[str, Any]:
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    number = st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-1000, 1000)
    model: dict[str, Any] = {
        "sizes": sizes,
        "weights": [
            [[draw(number) for _ in range(a)] for _ in range(b)]
            for a, b in itertools.pairwise(sizes)
        ],
        "biases": [[[draw(number)] for _ in range(b)] for b in sizes[1:]],
        "cost": draw(st.sampled_from(COSTS)),
    }
    if draw(st.booleans()):
        hidden = draw(st.sampled_from(["sigmoid", "tanh", "relu"]))
        output = "softmax" if model["cost"] == "LogLikelihoodCost" else "sigmoid"
        model["activations"] = [hidden] * (len(sizes) - 2) + [output]
    return model


class Deep:
    """A placeholder for ``depth`` nested lists, spliced into the JSON text (json.dumps itself
    would hit the recursion limit)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth


def encode(value: Any) -> bytes:
    deep: list[int] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Deep):
            deep.append(obj.depth)
            return f"__DEEP_{len(deep) - 1}__"
        raise TypeError(type(obj).__name__)

    text = json.dumps(value, allow_nan=True, default=default)  # NaN and Infinity tokens
    for i, depth in enumerate(deep):
        text = text.replace(f'"__DEEP_{i}__"', "[" * depth + "1" + "]" * depth, 1)
    return text.encode()


JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()  # NaN and infinities included
    | st.text(max_size=8)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
HOSTILE = st.one_of(
    JSON_VALUE,
    st.integers(2**31, 10**30),
    st.sampled_from([10**400, -(10**400), 2**64, 2**63 - 1, 0, -1, True, 1e308, float("inf")]),
    st.lists(
        st.sampled_from([10**12, 2**27, 2**26, 16383, 8192, 1, 0, 10**400]), min_size=1, max_size=4
    ),
    st.integers(1, 3000).map(Deep),
    st.sampled_from(
        [
            "__import__('os').system('touch CODE-WAS-EXECUTED')",
            "os.system",
            "CrossEntropyCost ",
            "quadraticcost",
            "softmax",
            "eval",
            "",
        ]
    ),
)


@st.composite
def structurally_mutated(draw: st.DrawFn) -> bytes:
    """A valid model with values replaced anywhere (keys, list items at any depth), keys
    removed or added, or the whole document wrapped."""
    model: Any = draw(valid_model())
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(["sizes", "weights", "biases", "cost", "activations", "x"]))
        value = draw(HOSTILE)
        container = model.get(key)
        action = draw(st.sampled_from(["set", "inside", "delete"]))
        if action == "delete":
            model.pop(key, None)
        elif action == "inside" and isinstance(container, list) and container:
            while True:
                i = draw(st.integers(0, len(container) - 1))
                if isinstance(container[i], list) and container[i] and draw(st.booleans()):
                    container = container[i]
                    continue
                container[i] = value
                break
        else:
            model[key] = value
    wrap = draw(st.sampled_from(["none", "none", "list", "nested"]))
    if wrap == "list":
        model = [model]
    elif wrap == "nested":
        model = {"model": model}
    return encode(model)


TOKENS = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e999",
    b"1e-999",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b'"',
    b"null",
    b"true",
    b"99999999999999999999999999",
    b"-0",
    b"\xff\xfe",
    b"\x00",
    b"\\u0000",
    b"[" * 50,
    b"]" * 50,
]


@st.composite
def byte_mutated(draw: st.DrawFn) -> bytes:
    """A valid model file with bytes flipped, cut, inserted, deleted or duplicated, or a number
    replaced by a hostile one."""
    data = bytearray(encode(draw(valid_model())))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "dup", "number"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            data[at % len(data)] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 12))]
        elif kind == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
        else:
            numbers = list(re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", bytes(data)))
            if numbers:
                match = numbers[at % len(numbers)]
                token = draw(
                    st.sampled_from(
                        [*TOKENS[:6], b"1e400", b"123456789" * 40, b"0", b"-1", b"2.5", b"1" * 20]
                    )
                )
                data[match.start() : match.end()] = token
    return bytes(data)


class Boom:
    """Unpickling this would run a shell command creating the canary file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.target}",))


def fuzz(examples: int) -> Any:
    """Hypothesis settings for a campaign of ``examples`` examples."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


@fuzz(400)
@given(blob=st.binary(max_size=300) | st.binary(max_size=200).map(lambda b: b'{"sizes": [' + b))
def test_load_random_bytes(blob: bytes, scratch: Path, canary: Path) -> None:
    check_load(scratch / "random.json", blob, "random bytes")
    assert not canary.exists()


def test_load_never_unpickles_or_evaluates(scratch: Path, canary: Path) -> None:
    payloads = [
        pickle.dumps(Boom(canary)),
        pickle.dumps({"sizes": [2, 1], "weights": Boom(canary)}),
        json.dumps(
            {
                "sizes": [2, 1],
                "weights": [[[1, 2]]],
                "biases": [[[0]]],
                "cost": f"__import__('os').system('touch {canary}')",
            }
        ).encode(),
        json.dumps(
            {"sizes": f"__import__('os').system('touch {canary}')", "weights": [], "biases": []}
        ).encode(),
    ]
    for payload in payloads:
        check_load(scratch / "payload.json", payload, "code payloads")
    assert not canary.exists()


@fuzz(800)
@given(blob=byte_mutated())
def test_load_byte_mutations_of_a_valid_file(blob: bytes, scratch: Path, canary: Path) -> None:
    check_load(scratch / "bytes.json", blob, "byte mutations")
    assert not canary.exists()


@fuzz(800)
@given(blob=structurally_mutated())
def test_load_structural_mutations(blob: bytes, scratch: Path, canary: Path) -> None:
    check_load(scratch / "structure.json", blob, "structural mutations")
    assert not canary.exists()


def hostile_size_file(sizes: Any, rows: int = 1, columns: int = 1) -> bytes:
    """A small file claiming layer ``sizes``, each matrix ``rows`` x ``columns`` of 0.5."""
    # At most two matrices: a file listing as many as a million claimed layers is large for
    # real, and what that costs is test_parser_memory_is_proportional_to_the_file's subject.
    layers = min(max(len(sizes) - 1, 1), 2) if isinstance(sizes, list) else 1
    matrix = [[0.5] * columns] * rows
    return encode({"sizes": sizes, "weights": [matrix] * layers, "biases": [matrix] * layers})


HOSTILE_SIZES = [
    [10**12, 10**12],
    [2**63, 2**63],
    [2**64 + 1, 2],
    [10**400, 2],
    [2**27, 1],
    [1, 2**26],  # exactly the parameter limit: refused by the shape check, not by allocating
    [8192, 16383],
    [784, 2**26, 10],
    [1] * 1_000_000,  # a million layers: 3 MB of file
    [10**12] * 1000,
]


@pytest.mark.parametrize(
    "sizes", HOSTILE_SIZES, ids=lambda s: f"{len(s)} layers, max {max(s)}"[:40]
)
def test_hostile_sizes_allocate_nothing_large(sizes: list[int], scratch: Path) -> None:
    path = scratch / "sizes.json"
    path.write_bytes(hostile_size_file(sizes, columns=2))
    with peak_rss_growth() as growth, pytest.raises(ModelFileError):
        digitnet.load(path)
    largest = str(max(sizes))
    largest = largest if len(largest) < 20 else f"a {len(largest)}-digit number"
    print(f"\nsizes of {len(sizes)} layers up to {largest}: peak RSS +{growth[0] / MB:.1f} MB")
    assert growth[0] < 64 * MB
    FUZZ_COUNTS["hostile sizes"] += 1


@fuzz(150)
@given(
    sizes=st.lists(
        st.integers(1, 2**70) | st.sampled_from([2**26, 2**27, 10**12]), min_size=2, max_size=5
    ),
    rows=st.integers(0, 3),
)
def test_hostile_sizes_campaign(sizes: list[int], rows: int, scratch: Path) -> None:
    FUZZ_COUNTS["hostile sizes"] += 1
    path = scratch / "sizes-fuzz.json"
    path.write_bytes(hostile_size_file(sizes, rows))
    with peak_rss_growth() as growth, contextlib.suppress(ModelFileError):
        digitnet.load(path)
    assert growth[0] < 64 * MB, f"{sizes}: peak RSS +{growth[0] / MB:.0f} MB"


def test_parser_memory_is_proportional_to_the_file(scratch: Path) -> None:
    """What a real (not merely claimed) size costs: JSON of many small containers expands most.
    The bound is what CPython's json module needs (~25x for ``{},``), not a design figure: with
    ``MAX_FILE_BYTES`` = 1 GiB a file may make the parser hold ~25 GiB."""
    ratios = {}
    for name, unit in [("{}", b"{},"), ("[]", b"[],"), ("0.5", b"0.5,"), ("0", b"0,")]:
        body = b'{"sizes": [1, 1], "weights": [' + unit * (4 * MB // len(unit)) + b"0]}"
        path = scratch / "big.json"
        path.write_bytes(body)
        with peak_rss_growth() as growth, pytest.raises(ModelFileError):
            digitnet.load(path)
        ratios[name] = growth[0] / len(body)
    print(
        "\nparser peak RSS per byte of file: "
        + ", ".join(f"{k}: {v:.1f}x" for k, v in ratios.items())
    )
    assert max(ratios.values()) < 40


def test_loading_a_small_model_allocates_little(scratch: Path) -> None:
    path = scratch / "small.json"
    digitnet.Network([3, 2], seed=0).save(path)
    tracemalloc.start()
    try:
        digitnet.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB, f"tracemalloc peak {peak / MB:.0f} MB"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_not_a_model_file() -> None:
    with peak_rss_growth() as growth, pytest.raises(ModelFileError, match="regular file"):
        digitnet.load("/dev/zero")
    assert growth[0] < 64 * MB


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []

    def load() -> None:
        try:
            outcome.append(digitnet.load(fifo))
        except BaseException as error:  # reported below, in the test's thread
            outcome.append(error)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(1.0)
    blocked = worker.is_alive()
    if blocked:  # release it: a writer that opens and closes the pipe gives the reader EOF
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5.0)
    assert not blocked, "digitnet.load waited on a named pipe"
    assert isinstance(outcome[0], ModelFileError)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_fuzz_example_count() -> None:
    """The campaigns above ran (this test comes after them in the file) and reached both of
    the loader's outcomes: files refused with a ModelFileError, and files loaded as networks."""
    total = sum(v for k, v in FUZZ_COUNTS.items() if k not in ("refused", "loaded"))
    print(f"\ndigitnet.load fuzzing: {total} examples: {dict(FUZZ_COUNTS)}")
    if not total:
        pytest.skip("the fuzzing campaigns were not selected")
    checked = total - FUZZ_COUNTS["hostile sizes"]  # those are counted by their own test
    assert FUZZ_COUNTS["refused"] + FUZZ_COUNTS["loaded"] == checked
    assert FUZZ_COUNTS["refused"] > 0
    assert FUZZ_COUNTS["loaded"] > 0, "no fuzzed file loaded: the mutations never got that far"


# ================================================================ IDX headers that lie

IDX_CODES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@fuzz(150)
@given(
    code=st.sampled_from(sorted(IDX_CODES)),
    shape=st.lists(
        st.integers(0, 2**32 - 1) | st.sampled_from([2**16, 2**24, 2**31, 60_000, 28]),
        min_size=1,
        max_size=4,
    ),
    payload=st.binary(max_size=512),
    gz=st.booleans(),
)
def test_idx_oversized_headers_allocate_nothing_large(
    code: int, shape: list[int], payload: bytes, gz: bool, scratch: Path
) -> None:
    """A header announcing more data than the file holds is refused from the header and the
    file's size: tracemalloc's peak stays far below what the header claims.

    (tests/test_datasets.py tries three fixed absurd shapes; this is the random campaign.)"""
    claimed = math.prod(shape) * IDX_CODES[code]
    assume(claimed > len(payload))
    blob = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload
    if gz:
        blob = gzip.compress(blob, mtime=0)
    path = scratch / "lying.idx"
    path.write_bytes(blob)
    readers: list[Callable[[], Any]] = [lambda: idx.read_idx(path), lambda: idx.parse_idx(blob)]
    scaled = getattr(idx, "read_idx_scaled", None)  # the float reader, where it exists
    if scaled is not None and code == 0x08:
        readers.append(lambda: scaled(path))
    for read in readers:
        tracemalloc.start()
        try:
            with pytest.raises(DatasetError, match=r"truncated|absurd|trailing"):
                read()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * MB + 4 * len(blob), f"{shape}: peak {peak / MB:.1f} MB"
