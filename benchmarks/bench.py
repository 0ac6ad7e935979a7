"""digitnet's benchmarks: ``python benchmarks/bench.py [--quick] [--data-dir DIR] [--json PATH]
[--previous-python PY]``.

On the first 50,000 MNIST training images it times, side by side and in one process, one
training epoch of network.py's network (sigmoid, quadratic cost, mini-batch SGD) in

1. digitnet in float64 and in float32 (``digitnet.Network``, Rust), at 1 thread, 2 threads and
   its default (the CPUs of this process's affinity mask), set with ``digitnet.set_num_threads``;
2. the lean vectorised NumPy loop (``numpy_lean.py``, float64 and float32): the headline
   baseline, what a skilled NumPy user writes;
3. ``digitnet.reference.Network`` (NumPy, vectorised over the mini-batch, float64);
4. network.py's own per-sample loop (``network_py_loop.py``), timed on slices and extrapolated;
5. PyTorch on the CPU in float32, with autograd and with a hand-written update
   (``torch_mlp.py``), when torch can be imported (``--torch-path`` adds a directory holding it
   to the end of ``sys.path``, so this project's NumPy stays the one used).

Every peer runs at 1 thread (threadpoolctl, ``torch.set_num_threads(1)``) and at its default
threads; the runs of one implementation at its thread counts take turns. For each it prints
seconds per epoch (medians), samples per second, achieved GFLOP/s against the roofline of a
2048×2048 NumPy matmul in the same dtype on as many BLAS threads, and the ratio to digitnet at
the same setting; then digitnet's thread scaling, its figures beside the previous engine's
(with ``--previous-python PY``, a Python whose digitnet is that engine: measured side by side
by ``previous_engine.py``; without it, from ``baseline-0.1*.json``, the file measured on this
CPU in another run, which a shared machine's drift makes a rough guide), inference on the
10,000 test images (``--quick``: 2,000) at 1 and 2 threads, the wall time and peak memory of
``python -m digitnet train``, the whole ``fit`` of scikit-learn's MLPClassifier against
``digitnet.sklearn.MLPClassifier`` (``sklearn_fit.py``; ``--no-sklearn`` skips it), and the
issues' targets with PASS/FAIL. ``--json PATH`` writes every figure.

The machine's environment sets ``OPENBLAS_CORETYPE=Haswell`` and ``OPENBLAS_L2_SIZE``, which
make OpenBLAS use its Haswell (AVX2) kernels on a CPU that has AVX-512; both are removed from
this process's environment below, before NumPy is imported, so that the NumPy baselines run the
kernels OpenBLAS would pick by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

#: Variables that force OpenBLAS's kernel choice; removed before NumPy is loaded (this process
#: and its children only), so OpenBLAS picks the kernels for the CPU it runs on.
FORCED_OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REMOVED_ENVIRONMENT = {
    name: os.environ.pop(name) for name in FORCED_OPENBLAS_VARIABLES if name in os.environ
}
NUMPY_ALREADY_LOADED = "numpy" in sys.modules

import network_py_loop  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import numpy_lean  # noqa: E402
import previous_engine  # noqa: E402
import sklearn_fit  # noqa: E402
import threadpoolctl  # noqa: E402
from previous_engine import cpu_model  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import digitnet  # noqa: E402
from digitnet.datasets import mnist  # noqa: E402

FloatArray = npt.NDArray[np.floating[Any]]
LabelArray = npt.NDArray[np.int64]

BOOK_SIZES = [784, 30, 10]
ETA = 3.0
SEED = 1
TRAIN_SAMPLES = 50_000
#: ``--quick``'s default number of training samples.
QUICK_SAMPLES = 5_000
#: ``--quick`` times inference on the first this many test images (the full run: all).
QUICK_TEST_SAMPLES = 2_000
MIB = 1024 * 1024
ROOFLINE_N = 2048
BASELINE_FILE = Path(__file__).resolve().parent / "baseline-0.1.json"
#: The previous engine's figures, one file per machine it was measured on (``cpu`` names it):
#: ``previous_engine.py --write`` makes one for the machine it runs on.
BASELINE_FILES = sorted(BASELINE_FILE.parent.glob("baseline-0.1*.json"))

# The targets the summary checks (issue 10).
TARGET_VS_LEAN = 4.0
TARGET_ROOFLINE_FRACTION = 0.6
#: The roofline the target is measured against: NumPy's matmul on this many BLAS threads.
TARGET_ROOFLINE_THREADS = 2
TARGET_SCALING = 1.7
#: At one thread, a configuration may be at most this factor slower than the previous engine.
TARGET_ONE_THREAD_SLOWDOWN = 1.10
TARGET_TRAIN_SECONDS = 2.0

#: A run whose process CPU time is below this share of its wall time was descheduled part of
#: the time (another process wanted the CPU), so its time is inflated.
BUSY_CPU_PER_WALL = 0.9

DIGITNET_F64 = "digitnet float64"
DIGITNET_F32 = "digitnet float32"
LEAN_F64 = "lean NumPy f64"
LEAN_F32 = "lean NumPy f32"
REFERENCE = "reference NumPy f64"
LOOP = "network.py loop f64"
TORCH = "pytorch f32"
DIGITNET = {"float64": DIGITNET_F64, "float32": DIGITNET_F32}
LEAN = {"float64": LEAN_F64, "float32": LEAN_F32}


# ---- configuration -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """One training comparison. The slow implementations are timed on slices of the first
    ``*_slice`` samples (``None``: whole epochs) and extrapolated to a whole epoch."""

    key: str
    sizes: list[int]
    batch: int
    repeats: int
    reference_slice: int | None
    lean_slice: int | None
    loop_slice: int
    torch_slice: int | None
    headline: bool = False


CONFIGS = [
    TrainingConfig("book-b10", BOOK_SIZES, 10, 7, None, None, 5_000, None, headline=True),
    TrainingConfig("784-100-10-b10", [784, 100, 10], 10, 5, None, None, 5_000, None),
    TrainingConfig("784-800-10-b100", [784, 800, 10], 100, 3, 10_000, 10_000, 1_000, None),
    TrainingConfig("book-b1", BOOK_SIZES, 1, 5, 5_000, 10_000, 5_000, 10_000),
    TrainingConfig("book-b100", BOOK_SIZES, 100, 5, None, None, 5_000, None),
]
ROOFLINE_CONFIG = "784-800-10-b100"


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much to measure: the full run or ``--quick``."""

    quick: bool
    samples: int
    #: Timed repetitions are capped to this (``--quick``: fewer).
    max_repeats: int
    #: Slices are divided by this (``--quick``: smaller slices).
    slice_divisor: int
    roofline_repeats: int
    inference_repeats: int
    #: Test images inference is timed on (None: all 10,000).
    test_samples: int | None
    #: Runs of ``python -m digitnet train`` timed (their median is the figure).
    train_runs: int

    def repeats(self, config: TrainingConfig) -> int:
        return min(config.repeats, self.max_repeats)

    def slice_size(self, wanted: int | None, batch: int) -> int:
        """The number of samples in a timed slice: whole mini-batches, at most an epoch."""
        size = self.samples if wanted is None else wanted
        size = min(self.samples, max(batch, size // self.slice_divisor))
        return max(batch, size - size % batch) if size >= batch else size


@dataclasses.dataclass(frozen=True)
class Threads:
    """The thread counts each library uses by default in this process."""

    digitnet: int
    blas: int
    torch: int | None

    def digitnet_counts(self) -> list[int]:
        """digitnet's thread counts to time: 1, 2 (for the scaling target) and its default."""
        return sorted({1, 2, self.digitnet})

    def roofline_counts(self) -> list[int]:
        """The BLAS thread counts a roofline is needed at: every count a row runs with."""
        counts = {1, TARGET_ROOFLINE_THREADS, self.digitnet, self.blas}
        if self.torch is not None:
            counts.add(self.torch)
        return sorted(counts)


def default_threads(info: list[dict[str, Any]], torch_module: ModuleType | None) -> Threads:
    """The default thread counts, read before anything limits them."""
    blas = [int(lib["num_threads"]) for lib in info if lib.get("user_api") == "blas"]
    torch_threads = None if torch_module is None else int(torch_module.torch.get_num_threads())
    return Threads(digitnet.get_num_threads(), max(blas, default=1), torch_threads)


# ---- measurements ------------------------------------------------------------------------------


@dataclasses.dataclass
class Timing:
    """One implementation's epoch times in one configuration at one thread count."""

    impl: str
    dtype: str
    threads: int
    #: Whether ``threads`` is this implementation's default.
    default: bool
    #: Seconds per epoch of each timed pass, extrapolated when timed on a slice.
    epoch_seconds: list[float]
    #: Samples trained on in each timed pass.
    samples_per_pass: int
    #: Process CPU time over wall time while it ran (≈ the number of busy threads).
    cpu_per_wall: float
    method: str
    variant: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(self.epoch_seconds)

    @property
    def extrapolated(self) -> bool:
        return self.method.startswith("slices")

    @property
    def descheduled(self) -> bool:
        return self.cpu_per_wall < BUSY_CPU_PER_WALL

    @property
    def setting(self) -> str:
        return f"{self.threads}" + (" (default)" if self.default else "")


class Clock:
    """Wall and process CPU time over a block."""

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    @property
    def cpu_per_wall(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else float("nan")


#: A timed case: a context to run in (its thread count) and a pass, which returns the seconds
#: it measured itself (e.g. a History's epoch time) or None to be timed from outside.
Case = tuple[Callable[[], AbstractContextManager[object]], Callable[[], float | None]]


def alternate(cases: Sequence[Case], repeats: int) -> list[tuple[list[float], float]]:
    """Runs each case once to warm up, then ``repeats`` times, the cases taking turns within
    each repetition so that a change in the machine's load affects them alike; returns each
    case's times and its CPU/wall ratio over its timed passes."""
    for context, run in cases:
        with context():
            run()
    times: list[list[float]] = [[] for _ in cases]
    wall = [0.0] * len(cases)
    cpu = [0.0] * len(cases)
    for _ in range(repeats):
        for i, (context, run) in enumerate(cases):
            with context(), Clock() as clock:
                measured = run()
            times[i].append(clock.wall if measured is None else measured)
            wall[i] += clock.wall
            cpu[i] += clock.cpu
    return [(t, c / w if w > 0 else float("nan")) for t, c, w in zip(times, cpu, wall, strict=True)]


def method_text(repeats: int, size: int, samples: int, what: str = "epochs") -> str:
    if size >= samples:
        return f"median of {repeats} {what} after a warm-up"
    return f"slices of {size:,} samples (median of {repeats}), ×{samples / size:.1f}"


@contextlib.contextmanager
def digitnet_threads(threads: int) -> Iterator[None]:
    saved = digitnet.get_num_threads()
    digitnet.set_num_threads(threads)
    try:
        yield
    finally:
        digitnet.set_num_threads(saved)


def blas_threads(threads: int) -> AbstractContextManager[object]:
    limits: AbstractContextManager[object] = threadpool_limits(limits=threads, user_api="blas")
    return limits


@contextlib.contextmanager
def peer_threads(threads: int, torch_module: ModuleType | None) -> Iterator[None]:
    """Every BLAS and OpenMP pool (threadpoolctl) and torch's at ``threads``."""
    torch = None if torch_module is None else torch_module.torch
    saved = None if torch is None else torch.get_num_threads()
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(saved)


def sgd_pass(net: Any, x: FloatArray, y: LabelArray, batch: int, scale: float) -> float:
    """One epoch of ``net.SGD`` over ``(x, y)``; its History's epoch time times ``scale``."""
    history = net.SGD((x, y), 1, batch, ETA, verbose=False, progress=False)
    return float(history.seconds[0]) * scale


def run_training(
    config: TrainingConfig,
    settings: Settings,
    threads: Threads,
    data64: tuple[FloatArray, LabelArray],
    data32: tuple[FloatArray, LabelArray],
    torch_module: ModuleType | None,
) -> list[Timing]:
    """Times every implementation on one configuration, each at its thread counts."""
    n = settings.samples
    repeats = settings.repeats(config)
    timings: list[Timing] = []
    x64, y = data64
    x32, _ = data32
    data = {"float64": x64, "float32": x32}

    def add(
        impl: str,
        dtype: str,
        counts: Sequence[int],
        default: int,
        cases: Sequence[Case],
        size: int,
        what: str = "epochs",
        variant: str = "",
    ) -> None:
        results = alternate(cases, repeats)
        for count, (times, cpu) in zip(counts, results, strict=True):
            seconds = times if what == "epochs" else [t * n / size for t in times]
            timings.append(
                Timing(
                    impl,
                    dtype,
                    count,
                    count == default,
                    seconds,
                    size,
                    cpu,
                    method_text(repeats, size, n, what),
                    variant,
                )
            )

    def peer_counts(default: int) -> list[int]:
        return sorted({1, default})

    for dtype in ("float64", "float32"):
        counts = threads.digitnet_counts()
        nets = [digitnet.Network(config.sizes, seed=SEED, dtype=dtype) for _ in counts]
        cases: list[Case] = [
            (
                functools.partial(digitnet_threads, count),
                functools.partial(sgd_pass, net, data[dtype], y, config.batch, 1.0),
            )
            for count, net in zip(counts, nets, strict=True)
        ]
        add(DIGITNET[dtype], dtype, counts, threads.digitnet, cases, n)

    reference = digitnet.reference.Network(config.sizes, seed=SEED)
    start_weights = [np.array(w) for w in reference.weights]
    start_biases = [np.array(b) for b in reference.biases]
    blas_counts = peer_counts(threads.blas)

    def peer_context(count: int) -> Callable[[], AbstractContextManager[object]]:
        return functools.partial(peer_threads, count, torch_module)

    size = settings.slice_size(config.lean_slice, config.batch)
    for dtype in ("float64", "float32"):
        x = data[dtype][:size]
        targets = numpy_lean.one_hot(y[:size], dtype)
        rng = np.random.default_rng(SEED)

        def lean_pass(
            net: numpy_lean.LeanNetwork,
            x: FloatArray = x,
            t: FloatArray = targets,
            rng: np.random.Generator = rng,
        ) -> None:
            net.train_epoch(x, t, config.batch, ETA, rng.permutation(len(x)))

        cases = [
            (
                peer_context(count),
                functools.partial(
                    lean_pass, numpy_lean.LeanNetwork(start_weights, start_biases, dtype)
                ),
            )
            for count in blas_counts
        ]
        add(LEAN[dtype], dtype, blas_counts, threads.blas, cases, size, "passes")

    size = settings.slice_size(config.reference_slice, config.batch)
    cases = []
    for count in blas_counts:
        net = digitnet.reference.Network(config.sizes, seed=SEED)
        cases.append(
            (
                peer_context(count),
                functools.partial(sgd_pass, net, x64[:size], y[:size], config.batch, n / size),
            )
        )
    add(REFERENCE, "float64", blas_counts, threads.blas, cases, size)

    size = settings.slice_size(config.loop_slice, config.batch)
    loop_data = network_py_loop.samples(x64[:size], y[:size])
    loop_rng = np.random.default_rng(SEED)

    def loop_pass(loop: network_py_loop.LoopNetwork) -> None:
        with np.errstate(over="ignore"):  # the book's sigmoid overflows harmlessly for z < -709
            loop.train(network_py_loop.shuffled(loop_data, loop_rng), config.batch, ETA)

    cases = [
        (
            peer_context(count),
            functools.partial(loop_pass, network_py_loop.LoopNetwork(start_weights, start_biases)),
        )
        for count in blas_counts
    ]
    add(LOOP, "float64", blas_counts, threads.blas, cases, size, "passes")

    if torch_module is not None and threads.torch is not None:
        size = settings.slice_size(config.torch_slice, config.batch)
        xt, yt = torch_module.tensors(x32[:size], y[:size])
        torch_counts = peer_counts(threads.torch)
        for variant in torch_module.VARIANTS:

            def torch_pass(model: Any, variant: str = variant) -> None:
                model.train_epoch(xt, yt, config.batch, ETA, variant)

            cases = [
                (
                    peer_context(count),
                    functools.partial(
                        torch_pass, torch_module.TorchMLP(start_weights, start_biases, seed=SEED)
                    ),
                )
                for count in torch_counts
            ]
            add(
                f"{TORCH} {variant}",
                "float32",
                torch_counts,
                threads.torch,
                cases,
                size,
                "passes",
                variant,
            )
    return timings


def flops_per_epoch(sizes: Sequence[int], samples: int, batch: int) -> float:
    """Floating-point operations of one epoch: per sample, the forward pass 2·Σ n_l·n_{l-1}, the
    weight gradients as much again, and the error propagation 2·Σ_{l≥2} n_l·n_{l-1}; per
    mini-batch, the update 2·params."""
    products = [a * b for a, b in itertools.pairwise(sizes)]
    per_sample = 2 * sum(products) + 2 * sum(products) + 2 * sum(products[1:])
    params = sum(products) + sum(sizes[1:])
    return float(samples * per_sample + math.ceil(samples / batch) * 2 * params)


def inference_flops(sizes: Sequence[int]) -> float:
    """Floating-point operations of one forward pass of one sample."""
    return float(2 * sum(a * b for a, b in itertools.pairwise(sizes)))


#: Rooflines in GFLOP/s by dtype name and BLAS thread count.
Rooflines = dict[str, dict[int, float]]


def roofline(
    dtype: type[np.floating[Any]], threads: int, repeats: int
) -> tuple[float, list[float]]:
    """GFLOP/s of a ``ROOFLINE_N``² NumPy matmul in ``dtype`` on ``threads`` BLAS threads: the
    median of ``repeats`` after a warm-up, and every run's figure."""
    rng = np.random.default_rng(0)
    a = rng.random((ROOFLINE_N, ROOFLINE_N)).astype(dtype)
    b = rng.random((ROOFLINE_N, ROOFLINE_N)).astype(dtype)
    flops = 2.0 * ROOFLINE_N**3
    with threadpool_limits(limits=threads):
        a @ b
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            rates.append(flops / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates), rates


def rooflines(
    threads: Threads, repeats: int
) -> tuple[Rooflines, dict[str, dict[int, list[float]]]]:
    """The roofline in each dtype at every thread count a row runs with, and every run."""
    roofs: Rooflines = {}
    runs: dict[str, dict[int, list[float]]] = {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        roofs[name], runs[name] = {}, {}
        for count in threads.roofline_counts():
            roofs[name][count], runs[name][count] = roofline(dtype, count, repeats)
    return roofs, runs


def torch_roofline(torch_module: ModuleType, repeats: int) -> float:
    """The same matmul in torch, float32, one thread: for information, not used for %roof."""
    torch = torch_module.torch
    a = torch.rand(ROOFLINE_N, ROOFLINE_N)
    b = torch.rand(ROOFLINE_N, ROOFLINE_N)
    with peer_threads(1, torch_module):
        a @ b
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            rates.append(2.0 * ROOFLINE_N**3 / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


@dataclasses.dataclass
class InferenceTiming:
    impl: str
    sizes: list[int]
    threads: int
    seconds: float
    samples: int
    speedup: float

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds

    @property
    def gflops(self) -> float:
        return self.samples * inference_flops(self.sizes) / self.seconds / 1e9


def alternating_medians(
    cases: Sequence[tuple[Callable[[], AbstractContextManager[object]], Callable[[], object]]],
    repeats: int,
) -> list[float]:
    """Median seconds of each ``run`` inside its ``context``, the cases taking turns within each
    repetition, so that a change in the machine's load affects them alike."""

    def timed_outside(run: Callable[[], object]) -> None:
        run()

    timed: list[Case] = [(context, functools.partial(timed_outside, run)) for context, run in cases]
    return [statistics.median(times) for times, _ in alternate(timed, repeats)]


def two_thread_control(repeats: int) -> float:
    """Speed-up of a 2048² float64 NumPy matmul on 2 BLAS threads over 1, the runs taking turns:
    near 2x when the machine has a second core free, near 1x when something else is using it."""
    rng = np.random.default_rng(0)
    a = rng.random((ROOFLINE_N, ROOFLINE_N))
    b = rng.random((ROOFLINE_N, ROOFLINE_N))
    one, two = alternating_medians(
        [(functools.partial(blas_threads, threads), lambda: a @ b) for threads in (1, 2)],
        repeats,
    )
    return one / two


def run_inference(test: tuple[FloatArray, FloatArray], settings: Settings) -> list[InferenceTiming]:
    """``predict`` over the test images: digitnet at 1 and 2 threads, the reference with 1 and 2
    BLAS threads; the 1- and 2-thread runs take turns."""
    x64, x32 = (x[: settings.test_samples] for x in test)
    n = len(x64)
    results: list[InferenceTiming] = []
    cases: list[tuple[list[int], str]] = [
        (BOOK_SIZES, "float64"),
        (BOOK_SIZES, "float32"),
        ([784, 800, 10], "float64"),
        ([784, 800, 10], "float32"),
    ]
    for sizes, dtype in cases:
        net = digitnet.Network(sizes, seed=SEED, dtype=dtype)
        x = x64 if dtype == "float64" else x32
        repeats = settings.inference_repeats * (1 if sizes[1] > 100 else 5)
        one, two = alternating_medians(
            [
                (functools.partial(digitnet_threads, threads), functools.partial(net.predict, x))
                for threads in (1, 2)
            ],
            repeats,
        )
        results.append(InferenceTiming(f"digitnet {dtype}", sizes, 1, one, n, 1.0))
        results.append(InferenceTiming(f"digitnet {dtype}", sizes, 2, two, n, one / two))
    for sizes in (BOOK_SIZES, [784, 800, 10]):
        reference = digitnet.reference.Network(sizes, seed=SEED)
        repeats = settings.inference_repeats * (1 if sizes[1] > 100 else 5)
        one, two = alternating_medians(
            [
                (
                    functools.partial(blas_threads, threads),
                    functools.partial(reference.predict, x64),
                )
                for threads in (1, 2)
            ],
            repeats,
        )
        results.append(InferenceTiming(REFERENCE, sizes, 1, one, n, 1.0))
        results.append(InferenceTiming(REFERENCE, sizes, 2, two, n, one / two))
    return results


@dataclasses.dataclass
class TrainRun:
    """One run of ``python -m digitnet train`` in a child process."""

    command: list[str]
    returncode: int
    #: Wall time of the child process, from its start to its exit.
    seconds: float
    peak_rss_mib: float
    last_line: str


#: Runs its arguments as a command and prints, as JSON, the command's exit status, wall time,
#: output and max RSS. The measuring is done in this small, fresh process because Linux carries
#: a parent's peak RSS into a child it forks and execs: measured from the benchmark process
#: itself, which holds the data sets, the child's max RSS would be the benchmark's. The wall
#: time is taken around the child alone, so this wrapper's own start-up is not in it.
_MEASURE_CHILD = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
seconds = time.perf_counter() - start
maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
output = done.stdout + done.stderr
print(json.dumps({"returncode": done.returncode, "seconds": seconds, "maxrss": maxrss,
                  "output": output}))
"""


def run_train_command(data_path: Path) -> TrainRun:
    """The whole default ``digitnet train`` (load, 30 epochs of the book's network, an
    evaluation each epoch) in a child process: its wall time and peak RSS."""
    command = [
        sys.executable,
        "-m",
        "digitnet",
        "train",
        "--no-progress",
        "--data-dir",
        str(data_path),
    ]
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE_CHILD, *command],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        report = {
            "returncode": -1,
            "seconds": float("nan"),
            "maxrss": 0,
            "output": completed.stdout + completed.stderr,
        }
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    lines = str(report["output"]).strip().splitlines()
    return TrainRun(
        command,
        int(report["returncode"]),
        float(report["seconds"]),
        int(report["maxrss"]) * scale / MIB,
        lines[-1] if lines else "",
    )


def train_seconds(runs: Sequence[TrainRun]) -> float | None:
    """The median wall time of the runs, or None if any failed."""
    if not runs or any(run.returncode != 0 for run in runs):
        return None
    return statistics.median(run.seconds for run in runs)


# ---- the previous engine -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The previous engine's seconds per 50,000-sample epoch, from a ``baseline-0.1*.json``."""

    #: ``seconds[config key][dtype]``.
    seconds: dict[str, dict[str, float]]
    samples: int
    engine: str
    #: The CPU model the figures were measured on (``cpu_model()``'s text there).
    cpu: str
    #: The file they came from.
    file: str

    def scaled(self, key: str, dtype: str, samples: int) -> float:
        """The previous engine's seconds for an epoch of ``samples`` samples."""
        return self.seconds[key][dtype] * samples / self.samples


def load_baseline(path: Path | None = None) -> Baseline:
    """The previous engine's figures: from ``path``, else those measured on this machine's CPU,
    else ``baseline-0.1.json``."""
    if path is None:
        documents = {p: json.loads(p.read_text()) for p in BASELINE_FILES}
        path = next((p for p, d in documents.items() if d["cpu"] == cpu_model()), BASELINE_FILE)
    document = json.loads(path.read_text())
    seconds = {
        key: {dtype: float(entry[dtype]) for dtype in ("float64", "float32")}
        for key, entry in document["training_seconds_per_epoch"].items()
    }
    missing = [c.key for c in CONFIGS if c.key not in seconds]
    if missing:
        raise SystemExit(f"bench.py: {path.name} has no figures for {', '.join(missing)}")
    return Baseline(
        seconds, TRAIN_SAMPLES, str(document["engine_commit"]), str(document["cpu"]), path.name
    )


def digitnet_timing(timings: Sequence[Timing], dtype: str, threads: int) -> Timing:
    return next(t for t in timings if t.impl == DIGITNET[dtype] and t.threads == threads)


def default_timing(timings: Sequence[Timing], impl: str) -> Timing:
    return next(t for t in timings if t.impl == impl and t.default)


def fmt_seconds(s: float) -> str:
    if s >= 100:
        return f"{s:.0f}"
    if s >= 10:
        return f"{s:.1f}"
    if s >= 0.01:
        return f"{s:.3f}"
    return f"{s:.5f}"


def fmt_ratio(r: float) -> str:
    return f"{r:.1f}x" if r >= 0.95 else f"{r:.2f}x"


def same_setting(timings: Sequence[Timing], t: Timing, dtype: str) -> Timing:
    """digitnet's row in ``dtype`` that ``t`` is compared with: at the same thread count for
    digitnet's own rows, else at 1 thread for a 1-thread row and at its default for a default
    row."""
    if t.impl in DIGITNET.values() or t.threads == 1:
        return digitnet_timing(timings, dtype, t.threads)
    return default_timing(timings, DIGITNET[dtype])


def print_training(
    config: TrainingConfig,
    settings: Settings,
    timings: list[Timing],
    roof: Rooflines,
    measured_here: Rooflines,
) -> list[dict[str, Any]]:
    """Prints one training table; returns its rows as JSON-ready dicts."""
    n = settings.samples
    flops = flops_per_epoch(config.sizes, n, config.batch)
    print(
        f"\n== training: {config.sizes}, mini-batch {config.batch}, eta {ETA}, {n:,} samples"
        f"{'  (headline)' if config.headline else ''}"
    )
    source = (
        "the start's (--quick)"
        if settings.quick
        else "the higher of the start's and those measured just before"
    )
    used = ", ".join(
        f"{dtype} " + " / ".join(f"{rate:.1f} ({count} thr)" for count, rate in rates.items())
        for dtype, rates in roof.items()
    )
    print(f"   {flops / 1e9:.2f} GFLOP per epoch; roofline used: {used} GFLOP/s ({source})")
    if not settings.quick:
        here = ", ".join(
            f"{dtype} " + " / ".join(f"{rate:.1f}" for rate in rates.values())
            for dtype, rates in measured_here.items()
        )
        print(f"   (measured just before: {here})")
    header = (
        f"{'impl':<26}{'threads':>12}{'s/epoch':>9}{'samples/s':>12}{'GFLOP/s':>9}{'%roof':>7}"
        f"{'cpu/wall':>9}{'vs digitnet f64':>17}{'vs digitnet f32':>17}"
    )
    print(header)
    torch_rows = [t for t in timings if t.variant]
    fastest_torch = min(torch_rows, key=lambda t: t.seconds) if torch_rows else None
    rows = []
    for t in timings:
        gflops = flops / t.seconds / 1e9
        pct = gflops / roof[t.dtype][t.threads]
        vs64 = t.seconds / same_setting(timings, t, "float64").seconds
        vs32 = t.seconds / same_setting(timings, t, "float32").seconds
        name = t.impl + (" *" if t is fastest_torch and len(torch_rows) > 1 else "")
        print(
            f"{name:<26}{t.setting:>12}{fmt_seconds(t.seconds):>9}{n / t.seconds:>12,.0f}"
            f"{gflops:>9.1f}{pct:>7.0%}{t.cpu_per_wall:>8.2f}{'!' if t.descheduled else ' '}"
            f"{fmt_ratio(vs64):>17}{fmt_ratio(vs32):>17}"
        )
        rows.append(
            {
                "impl": t.impl,
                "dtype": t.dtype,
                "variant": t.variant or None,
                "threads": t.threads,
                "default_threads": t.default,
                "seconds_per_epoch": t.seconds,
                "epoch_seconds": t.epoch_seconds,
                "samples_per_second": n / t.seconds,
                "gflops": gflops,
                "roofline_fraction": pct,
                "cpu_per_wall": t.cpu_per_wall,
                "descheduled": t.descheduled,
                "vs_digitnet_f64": vs64,
                "vs_digitnet_f32": vs32,
                "samples_per_pass": t.samples_per_pass,
                "extrapolated": t.extrapolated,
                "method": t.method,
                "fastest_torch": t is fastest_torch,
            }
        )
    print("   how timed (the thread counts of one implementation take turns):")
    for impl in dict.fromkeys(t.impl for t in timings):
        print(f"     {impl}: {next(t.method for t in timings if t.impl == impl)}")
    if fastest_torch is not None and len(torch_rows) > 1:
        print(
            f"   * fastest PyTorch row ({fastest_torch.variant}, {fastest_torch.setting} threads)"
        )
    print(
        "   vs digitnet: this row's s/epoch ÷ digitnet's at the same setting (1 thread, or each "
        "one's default), i.e. how many times faster digitnet is; %roof: of the matmul roofline in "
        "the row's dtype on as many BLAS threads; cpu/wall ≈ busy threads"
    )
    if any(t.descheduled for t in timings):
        print(
            f"   ! cpu/wall below {BUSY_CPU_PER_WALL}: the run was descheduled part of the time "
            "(another process wanted the CPU), so its time is inflated"
        )
    return rows


def scaling_rows(training: dict[str, list[Timing]]) -> list[dict[str, Any]]:
    """digitnet's seconds per epoch at each thread count and its speed-up over 1 thread."""
    out = []
    for config in CONFIGS:
        for dtype in ("float64", "float32"):
            rows = sorted(
                (t for t in training[config.key] if t.impl == DIGITNET[dtype]),
                key=lambda t: t.threads,
            )
            one = rows[0].seconds
            out.append(
                {
                    "key": config.key,
                    "dtype": dtype,
                    "seconds": {t.threads: t.seconds for t in rows},
                    "speedup": {t.threads: one / t.seconds for t in rows},
                    "default_threads": next(t.threads for t in rows if t.default),
                }
            )
    return out


def print_scaling(scaling: list[dict[str, Any]]) -> None:
    print("\n== digitnet thread scaling: seconds per epoch, and speed-up over 1 thread")
    counts = sorted({c for row in scaling for c in row["seconds"]})
    print(f"{'configuration':<20}{'dtype':<9}" + "".join(f"{f'{c} thr':>18}" for c in counts))
    for row in scaling:
        cells = []
        for c in counts:
            mark = "*" if c == row["default_threads"] else " "
            cells.append(f"{fmt_seconds(row['seconds'][c])} ({fmt_ratio(row['speedup'][c])}){mark}")
        print(f"{row['key']:<20}{row['dtype']:<9}" + "".join(f"{cell:>18}" for cell in cells))
    print("   * digitnet's default thread count (digitnet.get_num_threads() at start)")


def previous_rows(
    training: dict[str, list[Timing]], baseline: Baseline, samples: int
) -> list[dict[str, Any]]:
    """digitnet at 1 thread and at its default beside the previous engine, per configuration."""
    method = f"against {baseline.file}, another run's figures"
    return [
        previous_row(
            config.key,
            dtype,
            (
                baseline.scaled(config.key, dtype, samples),
                digitnet_timing(training[config.key], dtype, 1).seconds,
                default_timing(training[config.key], DIGITNET[dtype]).seconds,
            ),
            method,
        )
        for config in CONFIGS
        for dtype in ("float64", "float32")
    ]


def side_by_side_rows(figures: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """:func:`previous_rows` from ``previous_engine.side_by_side``: every figure from the same
    alternation of child processes, 50,000-sample epochs."""
    return [
        previous_row(
            config.key,
            dtype,
            tuple(figures[name][config.key][dtype] for name in PREVIOUS_COLUMNS),
            "side by side",
        )
        for config in CONFIGS
        for dtype in ("float64", "float32")
    ]


#: ``previous_engine.side_by_side``'s participants, whose order is that of
#: :func:`previous_row`'s seconds: the previous engine, digitnet at 1 thread, at its default.
PREVIOUS_COLUMNS = tuple(name for name, _, _ in previous_engine.PARTICIPANTS)


def previous_row(key: str, dtype: str, seconds: Sequence[float], method: str) -> dict[str, Any]:
    """One configuration's row: ``seconds`` are the previous engine's, digitnet's at 1 thread
    and at its default."""
    before, one, default = seconds
    return {
        "key": key,
        "dtype": dtype,
        "previous_seconds": before,
        "one_thread_seconds": one,
        "default_seconds": default,
        "one_thread_vs_previous": one / before,
        "default_vs_previous": default / before,
        "method": method,
    }


def print_previous(rows: list[dict[str, Any]], baseline: Baseline, samples: int) -> None:
    print(
        f"\n== against the previous engine ({baseline.file}: commit {baseline.engine}, one "
        "thread, quiet machine)"
    )
    if samples != baseline.samples:
        print(
            f"   its seconds per {baseline.samples:,}-sample epoch scaled to {samples:,} samples "
            "(per-epoch overheads weigh more on a short epoch)"
        )
    print(
        f"{'configuration':<20}{'dtype':<9}{'previous':>10}{'1 thread':>10}{'÷ prev':>8}"
        f"{'default':>10}{'÷ prev':>8}"
    )
    for r in rows:
        print(
            f"{r['key']:<20}{r['dtype']:<9}{fmt_seconds(r['previous_seconds']):>10}"
            f"{fmt_seconds(r['one_thread_seconds']):>10}{r['one_thread_vs_previous']:>8.2f}"
            f"{fmt_seconds(r['default_seconds']):>10}{r['default_vs_previous']:>8.2f}"
        )
    print("   ÷ prev: this run's seconds over the previous engine's (below 1: faster now)")


def print_inference(results: list[InferenceTiming], controls: tuple[float, float]) -> None:
    print(f"\n== inference: predict() over the first {results[0].samples:,} test images")
    print(
        f"{'impl':<26}{'network':<16}{'threads':>8}{'seconds':>10}{'samples/s':>13}"
        f"{'GFLOP/s':>9}{'speed-up':>10}"
    )
    for r in results:
        threads = f"{r.threads}" + (" BLAS" if r.impl == REFERENCE else "")
        print(
            f"{r.impl:<26}{r.sizes!s:<16}{threads:>8}{fmt_seconds(r.seconds):>10}"
            f"{r.samples_per_second:>13,.0f}{r.gflops:>9.1f}{fmt_ratio(r.speedup):>10}"
        )
    print("   speed-up: over the same implementation on 1 thread (1- and 2-thread runs alternate)")
    print(
        f"   control: a 2048² NumPy matmul ran {controls[0]:.2f}x (before) and {controls[1]:.2f}x "
        "(after) faster on 2 BLAS threads than on 1 (≈2x: a second core was free; ≈1x: another "
        "process was using it)"
    )


def print_train_runs(runs: Sequence[TrainRun], dataset_mib: float) -> None:
    print(f"\n== digitnet train: {' '.join(['python', *runs[0].command[1:]])}")
    for i, run in enumerate(runs, 1):
        status = "" if run.returncode == 0 else f" FAILED with exit status {run.returncode}"
        print(f"run {i}: {run.seconds:.2f} s wall{status}; it printed: {run.last_line}")
    seconds = train_seconds(runs)
    if seconds is not None:
        print(f"wall time (median of {len(runs)}): {seconds:.2f} s")
    peak = max(run.peak_rss_mib for run in runs)
    print(
        f"peak RSS {peak:.1f} MiB, for a float64 data set (x of all splits) of {dataset_mib:.1f} "
        f"MiB (over it by {peak - dataset_mib:.1f} MiB)"
    )


@dataclasses.dataclass
class Target:
    key: str
    ok: bool | None  # None: not measured
    text: str

    def line(self) -> str:
        mark = "SKIP" if self.ok is None else "PASS" if self.ok else "FAIL"
        return f"{mark}  {self.text}"


def targets(
    training: dict[str, list[Timing]],
    settings: Settings,
    roofs: dict[str, Rooflines],
    previous: list[dict[str, Any]],
    train_runs: Sequence[TrainRun],
) -> list[Target]:
    """Issue 10's performance targets and whether this run met them."""
    headline = next(c for c in CONFIGS if c.headline)
    book = training[headline.key]
    out = []
    for dtype, short in (("float64", "f64"), ("float32", "f32")):
        ours = default_timing(book, DIGITNET[dtype])
        lean = default_timing(book, LEAN[dtype])
        ratio = lean.seconds / ours.seconds
        out.append(
            Target(
                f"book-vs-lean-{short}",
                ratio >= TARGET_VS_LEAN,
                f"digitnet {short} ({ours.threads} threads) ≥ {TARGET_VS_LEAN:g}x the lean NumPy "
                f"loop ({lean.threads} BLAS threads), {headline.sizes} mini-batch "
                f"{headline.batch}, default threads: {ratio:.2f}x",
            )
        )

    config = next(c for c in CONFIGS if c.key == ROOFLINE_CONFIG)
    where = f"{config.sizes} mini-batch {config.batch}"
    rows = training[config.key]
    ours = default_timing(rows, DIGITNET_F64)
    roof = roofs[config.key]["float64"][TARGET_ROOFLINE_THREADS]
    fraction = flops_per_epoch(config.sizes, settings.samples, config.batch) / ours.seconds
    fraction /= roof * 1e9
    out.append(
        Target(
            "roofline-2-core-f64",
            fraction >= TARGET_ROOFLINE_FRACTION,
            f"digitnet f64 ({ours.threads} threads) ≥ {TARGET_ROOFLINE_FRACTION:.0%} of the "
            f"{TARGET_ROOFLINE_THREADS}-core f64 roofline ({roof:.1f} GFLOP/s), {where}: "
            f"{fraction:.0%}",
        )
    )

    speedups = {
        short: digitnet_timing(rows, dtype, 1).seconds / digitnet_timing(rows, dtype, 2).seconds
        for dtype, short in (("float64", "f64"), ("float32", "f32"))
    }
    out.append(
        Target(
            "scaling-2-threads",
            all(s >= TARGET_SCALING for s in speedups.values()),
            f"digitnet on 2 threads ≥ {TARGET_SCALING}x 1 thread, {where}: "
            + ", ".join(f"{short} {s:.2f}x" for short, s in speedups.items()),
        )
    )

    def regression(key: str, field: str, limit: float, what: str) -> Target:
        slower = [r for r in previous if r[field] > limit]
        worst = max(previous, key=lambda r: r[field])
        detail = f"worst {worst['key']} {worst['dtype']} at {worst[field]:.2f}x its time"
        if slower:
            detail = f"{len(slower)} of {len(previous)} over: " + ", ".join(
                f"{r['key']} {r['dtype']} {r[field]:.2f}x" for r in slower
            )
        return Target(key, not slower, f"{what} ({previous[0]['method']}): {detail}")

    out.append(
        regression(
            "no-slower-default",
            "default_vs_previous",
            1.0,
            "no configuration slower than the previous engine at default threads",
        )
    )
    out.append(
        regression(
            "no-slower-one-thread",
            "one_thread_vs_previous",
            TARGET_ONE_THREAD_SLOWDOWN,
            f"no configuration more than {TARGET_ONE_THREAD_SLOWDOWN - 1:.0%} slower than the "
            "previous engine at 1 thread",
        )
    )

    seconds = train_seconds(train_runs)
    what = (
        "the whole digitnet train (load, 30 epochs, evaluation each epoch) "
        f"≤ {TARGET_TRAIN_SECONDS:g} s wall"
    )
    if seconds is None:
        failed = next(run for run in train_runs if run.returncode != 0)
        out.append(Target("train-wall", False, f"{what}: the run failed ({failed.last_line})"))
    else:
        out.append(
            Target(
                "train-wall",
                seconds <= TARGET_TRAIN_SECONDS,
                f"{what}: {seconds:.2f} s (median of {len(train_runs)})",
            )
        )
    return out


# ---- set-up and environment --------------------------------------------------------------------


def import_torch(extra_path: str | None) -> tuple[ModuleType | None, str]:
    """``torch_mlp`` (and so torch) if it can be imported, with ``extra_path`` appended to
    ``sys.path`` (appended, so this environment's NumPy keeps precedence)."""
    if extra_path:
        sys.path.append(extra_path)
    try:
        import torch_mlp
    except ModuleNotFoundError as error:
        if error.name == "torch" or (error.name or "").startswith("torch."):
            return None, "not installed"
        return None, f"not importable ({error})"
    except Exception as error:  # a broken install: say so, and go on without it
        return None, f"not importable ({type(error).__name__}: {error})"
    torch = torch_mlp.torch
    return torch_mlp, f"{torch.__version__} from {Path(torch.__file__).parent.parent}"


def blas_lines() -> tuple[list[str], list[dict[str, Any]]]:
    info = threadpool_info()
    lines = []
    for lib in info:
        name = " ".join(str(part) for part in (lib["internal_api"], lib.get("version")) if part)
        arch = f", kernel {lib['architecture']}" if lib.get("architecture") else ""
        lines.append(
            f"  {lib['user_api']}: {name}{arch}, {lib['num_threads']} thread(s), "
            f"{Path(lib['filepath']).name}"
        )
    return lines, info


def openblas_kernel(info: list[dict[str, Any]]) -> str | None:
    for lib in info:
        if lib.get("internal_api") == "openblas":
            return str(lib.get("architecture"))
    return None


def environment_line(kernel: str | None) -> str:
    if REMOVED_ENVIRONMENT:
        removed = " and ".join(f"{k}={v}" for k, v in REMOVED_ENVIRONMENT.items())
        text = f"removed {removed} from the environment before importing NumPy (this process only)"
    else:
        text = "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE were not set; nothing removed"
    if NUMPY_ALREADY_LOADED:
        text += " -- but NumPy was already loaded, so OpenBLAS had read them"
    if kernel is not None:
        text += f"; OpenBLAS runs its {kernel} kernels"
        if kernel.lower() == "haswell":
            text += (
                " (still Haswell: AVX-512 unused, the NumPy baselines run slower than they could)"
            )
    return text


def load_data(
    data_dir: Path | None, samples: int
) -> tuple[mnist.MnistSplits, mnist.MnistSplits, int]:
    splits64 = mnist.load_arrays(data_dir, dtype=np.float64)
    splits32 = mnist.load_arrays(data_dir, dtype=np.float32)
    available = len(splits64.train.y)
    if samples > available:
        raise SystemExit(f"bench.py: --samples {samples} exceeds the {available} training images")
    dataset_bytes = sum(split.x.nbytes for split in splits64)
    return splits64, splits32, dataset_bytes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmarks digitnet against a lean NumPy loop, the NumPy reference, "
        "network.py's loop and PyTorch on MNIST."
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (< 1 minute)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="MNIST directory (default: $DIGITNET_DATA, else digitnet's cache)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        help=f"training samples per epoch, the first N (default {TRAIN_SAMPLES:,}; with "
        f"--quick {QUICK_SAMPLES:,})",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure here")
    parser.add_argument(
        "--no-sklearn",
        action="store_true",
        help="skip the comparison with scikit-learn's MLPClassifier (sklearn_fit.py)",
    )
    parser.add_argument(
        "--previous-python",
        default=os.environ.get("DIGITNET_BENCH_PREVIOUS_PYTHON"),
        metavar="PY",
        help="a Python whose digitnet is the previous engine (see previous_engine.py): the "
        "regression targets are then measured side by side, not against a baseline file "
        "(default: $DIGITNET_BENCH_PREVIOUS_PYTHON)",
    )
    parser.add_argument(
        "--torch-path",
        default=os.environ.get("DIGITNET_BENCH_TORCH_PATH"),
        metavar="DIR",
        help="a site-packages directory holding torch, appended to sys.path "
        "(default: $DIGITNET_BENCH_TORCH_PATH)",
    )
    args = parser.parse_args(argv)
    if args.samples is None:
        args.samples = QUICK_SAMPLES if args.quick else TRAIN_SAMPLES
    if args.samples < 1:
        parser.error("--samples must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    settings = (
        Settings(True, args.samples, 2, 5, 2, 2, QUICK_TEST_SAMPLES, 1)
        if args.quick
        else Settings(False, args.samples, 7, 1, 5, 5, None, 3)
    )
    baseline = load_baseline()
    torch_module, torch_status = import_torch(args.torch_path)
    data_path = mnist.data_dir(args.data_dir)

    lines, info = blas_lines()
    threads = default_threads(info, torch_module)
    kernel = openblas_kernel(info)
    load = os.getloadavg()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"digitnet benchmarks{' (--quick)' if args.quick else ''}")
    print("\n== set-up")
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs"
        + (f" ({affinity} in this process's affinity mask)" if affinity is not None else "")
        + f", {platform.system()}"
    )
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, digitnet "
        f"{digitnet.__version__} (kernel {digitnet.get_kernel()} of "
        f"{', '.join(digitnet.available_kernels())}), threadpoolctl {threadpoolctl.__version__}"
    )
    print(f"torch: {torch_status}")
    print(f"environment: {environment_line(kernel)}")
    print(
        f"threads: digitnet at 1, 2 and its default {threads.digitnet} "
        f"(digitnet.set_num_threads); the peers at 1 and their defaults: BLAS {threads.blas}"
        + (f", torch {threads.torch}" if threads.torch is not None else "")
        + " (threadpoolctl, torch.set_num_threads)"
    )
    print("threadpoolctl.threadpool_info():")
    for line in lines:
        print(line)
    torch_info = ""
    if torch_module is not None:
        torch_info = torch_module.parallel_info()
        print("torch.__config__.parallel_info():")
        for line in torch_info.strip().splitlines():
            print(f"  {line.strip()}")
    print(f"data: {data_path}, first {settings.samples:,} training images")

    splits64, splits32, dataset_bytes = load_data(args.data_dir, settings.samples)
    n = settings.samples
    data64 = (splits64.train.x[:n], splits64.train.y[:n])
    data32 = (splits32.train.x[:n], splits32.train.y[:n])

    print(
        f"\n== roofline: NumPy {ROOFLINE_N}x{ROOFLINE_N} matmul on 1, 2, ... BLAS threads "
        "(measured again before each training section)"
    )
    roof, roof_runs = rooflines(threads, settings.roofline_repeats)
    for name, rates in roof.items():
        for count, rate in rates.items():
            runs = ", ".join(f"{r:.1f}" for r in roof_runs[name][count])
            print(
                f"{name:<9}{count:>2} thread(s){rate:>8.1f} GFLOP/s  "
                f"(median of {settings.roofline_repeats}; runs {runs})"
            )
    torch_roof = None
    if torch_module is not None:
        torch_roof = torch_roofline(torch_module, settings.roofline_repeats)
        print(f"(torch float32, 1 thread: {torch_roof:.1f} GFLOP/s; not used for %roof)")

    training: dict[str, list[Timing]] = {}
    training_json = []
    section_roofs: dict[str, Rooflines] = {}
    for config in CONFIGS:
        # Measured again next to each section, as the machine's speed drifts when it is shared;
        # the higher of the two is used, which can only lower %roof. (--quick: not again.)
        here = roof if settings.quick else rooflines(threads, settings.roofline_repeats)[0]
        section_roof = {
            name: {count: max(rate, here[name][count]) for count, rate in rates.items()}
            for name, rates in roof.items()
        }
        section_roofs[config.key] = section_roof
        timings = run_training(config, settings, threads, data64, data32, torch_module)
        training[config.key] = timings
        rows = print_training(config, settings, timings, section_roof, here)
        training_json.append(
            {
                "key": config.key,
                "sizes": config.sizes,
                "mini_batch": config.batch,
                "eta": ETA,
                "samples": n,
                "gflop_per_epoch": flops_per_epoch(config.sizes, n, config.batch) / 1e9,
                "headline": config.headline,
                "roofline_gflops": section_roof,
                "roofline_gflops_measured_here": here,
                "rows": rows,
            }
        )

    scaling = scaling_rows(training)
    print_scaling(scaling)
    if args.previous_python:
        print(
            "\n== against the previous engine, side by side (benchmarks/previous_engine.py: "
            "child processes taking turns, 50,000-sample epochs)"
        )
        figures = previous_engine.side_by_side(args.previous_python, data_path)
        previous = side_by_side_rows(figures)
    else:
        previous = previous_rows(training, baseline, n)
        print_previous(previous, baseline, n)

    control_before = two_thread_control(settings.inference_repeats)
    inference = run_inference((splits64.test.x, splits32.test.x), settings)
    control_after = two_thread_control(settings.inference_repeats)
    control = min(control_before, control_after)
    print_inference(inference, (control_before, control_after))

    train_runs = [run_train_command(data_path) for _ in range(settings.train_runs)]
    print_train_runs(train_runs, dataset_bytes / MIB)

    sklearn_rows: list[dict[str, Any]] = []
    if not args.no_sklearn:
        full = (
            np.concatenate([splits64.train.x, splits64.validation.x]),
            np.concatenate([splits64.train.y, splits64.validation.y]),
            splits64.test.x,
            splits64.test.y,
        )
        sklearn_repeats = 1 if args.quick else 3
        sklearn_rows = sklearn_fit.compare(full, args.quick, sklearn_repeats)
        sklearn_fit.print_rows(sklearn_rows, sklearn_repeats)

    results = targets(training, settings, section_roofs, previous, train_runs)
    load_end = os.getloadavg()
    elapsed = time.perf_counter() - started
    print("\n== summary")
    for target in results:
        print(target.line())
    busy = [
        f"{t.impl} at {t.threads} thread(s) ({key})"
        for key, timings in training.items()
        for t in timings
        if t.descheduled
    ]
    if busy:
        print(
            f"WARNING: {len(busy)} training run(s) were descheduled (cpu/wall < "
            f"{BUSY_CPU_PER_WALL}) by another process: their times and ratios are inflated; "
            "rerun when the machine is quiet"
        )
    if control < 1.5:
        print(
            f"WARNING: 2 BLAS threads ran a matmul only {control:.2f}x faster than 1: another "
            "process held the second core, so the 2-thread figures are unreliable; rerun when "
            "the machine is quiet"
        )
    if cpu_model() != baseline.cpu:
        print(
            f"WARNING: the previous engine's figures ({baseline.file}) were measured on "
            f"{baseline.cpu}, this is {cpu_model()}: the comparison with them means little"
        )
    if args.quick or n != TRAIN_SAMPLES:
        print(
            "NOTE: a smoke run (--quick or --samples): short epochs weigh per-epoch overheads "
            "more, so the ratios and the comparison with the previous engine are not the figures"
        )
    print(
        f"(load average at end {load_end[0]:.2f}; the machine is shared, so figures vary by a "
        f"few percent between runs; took {elapsed:.0f} s)"
    )

    if args.json:
        peak = max(run.peak_rss_mib for run in train_runs)
        document = {
            "quick": args.quick,
            "samples": n,
            "seconds": elapsed,
            "sklearn": sklearn_rows,
            "machine": {
                "cpu": cpu_model(),
                "cpus": os.cpu_count(),
                "affinity_cpus": affinity,
                "load_average_start": list(load),
                "load_average_end": list(load_end),
            },
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "digitnet": digitnet.__version__,
                "digitnet_kernel": digitnet.get_kernel(),
                "torch": torch_status,
            },
            "default_threads": dataclasses.asdict(threads),
            "environment_removed": REMOVED_ENVIRONMENT,
            "numpy_loaded_before_removal": NUMPY_ALREADY_LOADED,
            "openblas_kernel": kernel,
            "threadpool_info": info,
            "torch_parallel_info": torch_info or None,
            "roofline_gflops": roof,
            "roofline_runs": roof_runs,
            "torch_roofline_gflops": torch_roof,
            "training": training_json,
            "thread_scaling": scaling,
            "previous_engine": {"file": baseline.file, "rows": previous},
            "inference": [
                {
                    **dataclasses.asdict(r),
                    "samples_per_second": r.samples_per_second,
                    "gflops": r.gflops,
                }
                for r in inference
            ],
            "two_thread_control": [control_before, control_after],
            "descheduled_runs": busy,
            "train_command": {
                "runs": [dataclasses.asdict(run) for run in train_runs],
                "median_seconds": train_seconds(train_runs),
            },
            "memory": {
                "returncode": max(run.returncode for run in train_runs),
                "peak_rss_mib": peak,
                "dataset_mib": dataset_bytes / MIB,
            },
            "targets": [{"key": t.key, "ok": t.ok, "text": t.text} for t in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
