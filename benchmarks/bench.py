"""digitnet's benchmarks: ``python benchmarks/bench.py [--quick] [--data-dir DIR] [--json PATH]``.

On the first 50,000 MNIST training images it times, side by side and in one process, one
training epoch of network.py's network (sigmoid, quadratic cost, mini-batch SGD) in

1. digitnet in float64 and 2. in float32 (``digitnet.Network``, Rust);
3. ``digitnet.reference.Network`` (NumPy, vectorised over the mini-batch, float64);
4. network.py's own per-sample loop (``network_py_loop.py``), timed on slices and extrapolated;
5. PyTorch on the CPU in float32, with autograd and with a hand-written update
   (``torch_mlp.py``), when torch can be imported (``--torch-path`` adds a directory holding it
   to the end of ``sys.path``, so this project's NumPy stays the one used).

For each it prints seconds per epoch (medians), samples per second, achieved GFLOP/s against
the roofline of a single-threaded 2048×2048 NumPy matmul in the same dtype, and the ratio to
digitnet. Training runs on one thread throughout. Then inference speed on the 10,000 test
images at 1 and 2 threads, the peak memory of ``python -m digitnet train --epochs 1``, and a
summary of the performance targets with PASS/FAIL. ``--json PATH`` writes every figure.

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
import threadpoolctl  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import digitnet  # noqa: E402
from digitnet.datasets import mnist  # noqa: E402

FloatArray = npt.NDArray[np.floating[Any]]
LabelArray = npt.NDArray[np.int64]

BOOK_SIZES = [784, 30, 10]
ETA = 3.0
SEED = 1
TRAIN_SAMPLES = 50_000
MIB = 1024 * 1024
ROOFLINE_N = 2048

# The targets the summary checks.
TARGET_F64_VS_REFERENCE = 5.0
TARGET_F64_VS_LOOP = 50.0
TARGET_F32_VS_REFERENCE = 8.0
TARGET_F32_VS_TORCH = 10.0
TARGET_ROOFLINE_FRACTION = 0.5
TARGET_INFERENCE_SPEEDUP = 1.3
TARGET_MEMORY_HEADROOM_MIB = 50.0

#: A single-threaded run whose process CPU time is below this share of its wall time was
#: descheduled part of the time (another process wanted the CPU), so its time is inflated.
BUSY_CPU_PER_WALL = 0.9

DIGITNET_F64 = "digitnet float64"
DIGITNET_F32 = "digitnet float32"
REFERENCE = "reference NumPy f64"
LOOP = "network.py loop f64"
TORCH = "pytorch f32"


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
    loop_slice: int
    torch_slice: int | None
    headline: bool = False


CONFIGS = [
    TrainingConfig("book-b10", BOOK_SIZES, 10, 7, None, 5_000, None, headline=True),
    TrainingConfig("784-100-10-b10", [784, 100, 10], 10, 5, None, 5_000, None),
    TrainingConfig("784-800-10-b100", [784, 800, 10], 100, 3, 10_000, 1_000, None),
    TrainingConfig("book-b1", BOOK_SIZES, 1, 5, 5_000, 5_000, 10_000),
    TrainingConfig("book-b100", BOOK_SIZES, 100, 5, None, 5_000, None),
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

    def repeats(self, config: TrainingConfig) -> int:
        return min(config.repeats, self.max_repeats)

    def slice_size(self, wanted: int | None, batch: int) -> int:
        """The number of samples in a timed slice: whole mini-batches, at most an epoch."""
        size = self.samples if wanted is None else wanted
        size = min(self.samples, max(batch, size // self.slice_divisor))
        return max(batch, size - size % batch) if size >= batch else size


# ---- measurements ------------------------------------------------------------------------------


@dataclasses.dataclass
class Timing:
    """One implementation's epoch times in one configuration."""

    impl: str
    dtype: str
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


def time_passes(run: Callable[[], None], repeats: int) -> tuple[list[float], float]:
    """Runs ``run`` once to warm up, then ``repeats`` times timed; returns the times and the
    CPU/wall ratio of the timed runs."""
    run()
    times = []
    with Clock() as clock:
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return times, clock.cpu_per_wall


def method_text(repeats: int, size: int, samples: int, what: str = "epochs") -> str:
    if size >= samples:
        return f"median of {repeats} {what} after a warm-up"
    return f"slices of {size:,} samples (median of {repeats}), ×{samples / size:.1f}"


def time_api(
    net: digitnet.Network | digitnet.reference.Network,
    x: FloatArray,
    y: LabelArray,
    batch: int,
    repeats: int,
    size: int,
    samples: int,
) -> tuple[list[float], float]:
    """``net.SGD`` over the first ``size`` samples for a warm-up epoch and ``repeats`` timed
    ones; returns per-epoch seconds (its History's, scaled to ``samples``) and CPU/wall."""
    with Clock() as clock:
        history = net.SGD(
            (x[:size], y[:size]), repeats + 1, batch, ETA, verbose=False, progress=False
        )
    scale = samples / size
    return [s * scale for s in history.seconds[1:]], clock.cpu_per_wall


def run_training(
    config: TrainingConfig,
    settings: Settings,
    data64: tuple[FloatArray, LabelArray],
    data32: tuple[FloatArray, LabelArray],
    torch_module: ModuleType | None,
) -> list[Timing]:
    """Times every implementation on one configuration."""
    n = settings.samples
    repeats = settings.repeats(config)
    timings = []
    x64, y = data64
    x32, _ = data32

    for impl, dtype, x in ((DIGITNET_F64, "float64", x64), (DIGITNET_F32, "float32", x32)):
        net = digitnet.Network(config.sizes, seed=SEED, dtype=dtype)
        seconds, cpu = time_api(net, x, y, config.batch, repeats, n, n)
        timings.append(Timing(impl, dtype, seconds, n, cpu, method_text(repeats, n, n)))

    reference = digitnet.reference.Network(config.sizes, seed=SEED)
    start_weights = [np.array(w) for w in reference.weights]
    start_biases = [np.array(b) for b in reference.biases]
    size = settings.slice_size(config.reference_slice, config.batch)
    seconds, cpu = time_api(reference, x64, y, config.batch, repeats, size, n)
    timings.append(Timing(REFERENCE, "float64", seconds, size, cpu, method_text(repeats, size, n)))

    size = settings.slice_size(config.loop_slice, config.batch)
    loop = network_py_loop.LoopNetwork(start_weights, start_biases)
    loop_data = network_py_loop.samples(x64[:size], y[:size])
    rng = np.random.default_rng(SEED)

    def loop_pass() -> None:
        with np.errstate(over="ignore"):  # the book's sigmoid overflows harmlessly for z < -709
            loop.train(network_py_loop.shuffled(loop_data, rng), config.batch, ETA)

    times, cpu = time_passes(loop_pass, repeats)
    timings.append(
        Timing(
            LOOP,
            "float64",
            [t * n / size for t in times],
            size,
            cpu,
            method_text(repeats, size, n, "passes"),
        )
    )

    if torch_module is not None:
        size = settings.slice_size(config.torch_slice, config.batch)
        xt, yt = torch_module.tensors(x32[:size], y[:size])
        for variant in torch_module.VARIANTS:
            model = torch_module.TorchMLP(start_weights, start_biases, seed=SEED)

            def torch_pass(model: Any = model, variant: str = variant) -> None:
                model.train_epoch(xt, yt, config.batch, ETA, variant)

            times, cpu = time_passes(torch_pass, repeats)
            timings.append(
                Timing(
                    f"{TORCH} {variant}",
                    "float32",
                    [t * n / size for t in times],
                    size,
                    cpu,
                    method_text(repeats, size, n, "passes"),
                    variant=variant,
                )
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


def roofline(dtype: type[np.floating[Any]], repeats: int) -> tuple[float, list[float]]:
    """GFLOP/s of a single-threaded ``ROOFLINE_N``² NumPy matmul in ``dtype``: the median of
    ``repeats`` after a warm-up, and every run's figure."""
    rng = np.random.default_rng(0)
    a = rng.random((ROOFLINE_N, ROOFLINE_N)).astype(dtype)
    b = rng.random((ROOFLINE_N, ROOFLINE_N)).astype(dtype)
    flops = 2.0 * ROOFLINE_N**3
    with threadpool_limits(limits=1):
        a @ b
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            rates.append(flops / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates), rates


def torch_roofline(torch_module: ModuleType, repeats: int) -> float:
    """The same matmul in torch, float32, one thread: for information, not used for %roof."""
    torch = torch_module.torch
    a = torch.rand(ROOFLINE_N, ROOFLINE_N)
    b = torch.rand(ROOFLINE_N, ROOFLINE_N)
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
    for context, run in cases:
        with context():
            run()
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(repeats):
        for i, (context, run) in enumerate(cases):
            with context():
                start = time.perf_counter()
                run()
                times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


@contextlib.contextmanager
def digitnet_threads(threads: int) -> Iterator[None]:
    saved = digitnet.get_num_threads()
    digitnet.set_num_threads(threads)
    try:
        yield
    finally:
        digitnet.set_num_threads(saved)


def blas_threads(threads: int) -> AbstractContextManager[object]:
    return threadpool_limits(limits=threads, user_api="blas")


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
    x64, x32 = test
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
class MemoryResult:
    command: list[str]
    returncode: int
    peak_rss_mib: float
    dataset_mib: float
    seconds: float
    last_line: str

    @property
    def limit_mib(self) -> float:
        return self.dataset_mib + TARGET_MEMORY_HEADROOM_MIB


#: Runs its arguments as a command and prints, as JSON, the command's exit status, output and
#: max RSS. The measuring is done in this small, fresh process because Linux carries a parent's
#: peak RSS into a child it forks and execs: measured from the benchmark process itself, which
#: holds the data sets, the child's max RSS would be the benchmark's.
_MEASURE_RSS = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
output = done.stdout + done.stderr
print(json.dumps({"returncode": done.returncode, "maxrss": maxrss, "output": output}))
"""


def run_memory(data_path: Path, dataset_bytes: int) -> MemoryResult:
    """Peak RSS of the default training run (float64 arrays), one epoch, in a child process."""
    command = [
        sys.executable,
        "-m",
        "digitnet",
        "train",
        "--epochs",
        "1",
        "--no-progress",
        "--data-dir",
        str(data_path),
    ]
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE_RSS, *command], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    try:
        report = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        report = {"returncode": -1, "maxrss": 0, "output": completed.stdout + completed.stderr}
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    lines = str(report["output"]).strip().splitlines()
    return MemoryResult(
        command,
        int(report["returncode"]),
        int(report["maxrss"]) * scale / MIB,
        dataset_bytes / MIB,
        seconds,
        lines[-1] if lines else "",
    )


# ---- reporting ---------------------------------------------------------------------------------


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


def print_training(
    config: TrainingConfig,
    settings: Settings,
    timings: list[Timing],
    roof: dict[str, float],
    measured_here: dict[str, float],
) -> list[dict[str, Any]]:
    """Prints one training table; returns its rows as JSON-ready dicts."""
    n = settings.samples
    flops = flops_per_epoch(config.sizes, n, config.batch)
    f64 = next(t for t in timings if t.impl == DIGITNET_F64).seconds
    f32 = next(t for t in timings if t.impl == DIGITNET_F32).seconds
    print(
        f"\n== training: {config.sizes}, mini-batch {config.batch}, eta {ETA}, {n:,} samples, "
        f"1 thread{'  (headline)' if config.headline else ''}"
    )
    source = (
        "the start's (--quick)"
        if settings.quick
        else f"the higher of the start's and {measured_here['float64']:.1f} / "
        f"{measured_here['float32']:.1f} measured just before"
    )
    print(
        f"   {flops / 1e9:.2f} GFLOP per epoch; roofline used: float64 {roof['float64']:.1f}, "
        f"float32 {roof['float32']:.1f} GFLOP/s ({source})"
    )
    header = (
        f"{'impl':<26}{'s/epoch':>9}{'samples/s':>12}{'GFLOP/s':>9}{'%roof':>7}"
        f"{'cpu/wall':>9}{'vs digitnet f64':>17}{'vs digitnet f32':>17}"
    )
    print(header)
    torch_rows = [t for t in timings if t.variant]
    fastest_torch = min(torch_rows, key=lambda t: t.seconds) if torch_rows else None
    rows = []
    for t in timings:
        gflops = flops / t.seconds / 1e9
        pct = gflops / roof[t.dtype]
        name = t.impl + (" *" if t is fastest_torch and len(torch_rows) > 1 else "")
        print(
            f"{name:<26}{fmt_seconds(t.seconds):>9}{n / t.seconds:>12,.0f}{gflops:>9.1f}"
            f"{pct:>7.0%}{t.cpu_per_wall:>8.2f}{'!' if t.descheduled else ' '}"
            f"{fmt_ratio(t.seconds / f64):>17}"
            f"{fmt_ratio(t.seconds / f32):>17}"
        )
        rows.append(
            {
                "impl": t.impl,
                "dtype": t.dtype,
                "variant": t.variant or None,
                "seconds_per_epoch": t.seconds,
                "epoch_seconds": t.epoch_seconds,
                "samples_per_second": n / t.seconds,
                "gflops": gflops,
                "roofline_fraction": pct,
                "cpu_per_wall": t.cpu_per_wall,
                "descheduled": t.descheduled,
                "vs_digitnet_f64": t.seconds / f64,
                "vs_digitnet_f32": t.seconds / f32,
                "samples_per_pass": t.samples_per_pass,
                "extrapolated": t.extrapolated,
                "method": t.method,
                "fastest_torch": t is fastest_torch,
            }
        )
    print("   how timed:")
    for t in timings:
        print(f"     {t.impl}: {t.method}")
    if fastest_torch is not None and len(torch_rows) > 1:
        print(f"   * fastest PyTorch variant ({fastest_torch.variant})")
    print(
        "   vs digitnet: this row's s/epoch ÷ digitnet's (how many times faster digitnet is); "
        "%roof: of the matmul roofline in the row's dtype; cpu/wall ≈ busy threads"
    )
    if any(t.descheduled for t in timings):
        print(
            f"   ! cpu/wall below {BUSY_CPU_PER_WALL}: the run was descheduled part of the time "
            "(another process wanted the CPU), so its time is inflated"
        )
    return rows


def print_inference(results: list[InferenceTiming], controls: tuple[float, float]) -> None:
    print("\n== inference: predict() over the 10,000 test images")
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


@dataclasses.dataclass
class Target:
    ok: bool | None  # None: not measured
    text: str

    def line(self) -> str:
        mark = "SKIP" if self.ok is None else "PASS" if self.ok else "FAIL"
        return f"{mark}  {self.text}"


def targets(
    training: dict[str, list[Timing]],
    settings: Settings,
    roofs: dict[str, dict[str, float]],
    inference: list[InferenceTiming],
    memory: MemoryResult | None,
    torch_status: str,
    control: float,
) -> list[Target]:
    """The performance targets and whether this run met them."""
    headline = next(c for c in CONFIGS if c.headline)
    rows = {t.impl: t for t in training[headline.key]}
    f64, f32 = rows[DIGITNET_F64].seconds, rows[DIGITNET_F32].seconds
    where = f"{headline.sizes}, mini-batch {headline.batch}"
    out = []

    def ratio_target(name: str, fast: float, slow: float, goal: float, what: str) -> Target:
        ratio = slow / fast
        return Target(ratio >= goal, f"{name} ≥ {goal:g}x {what} ({where}): {ratio:.1f}x")

    out.append(
        ratio_target(
            "digitnet f64", f64, rows[REFERENCE].seconds, TARGET_F64_VS_REFERENCE, "the reference"
        )
    )
    out.append(
        ratio_target(
            "digitnet f64", f64, rows[LOOP].seconds, TARGET_F64_VS_LOOP, "the network.py loop"
        )
    )
    out.append(
        ratio_target(
            "digitnet f32", f32, rows[REFERENCE].seconds, TARGET_F32_VS_REFERENCE, "the reference"
        )
    )
    torch_rows = [t for t in training[headline.key] if t.variant]
    if torch_rows:
        fastest = min(torch_rows, key=lambda t: t.seconds)
        out.append(
            ratio_target(
                "digitnet f32",
                f32,
                fastest.seconds,
                TARGET_F32_VS_TORCH,
                f"PyTorch's fastest ({fastest.variant})",
            )
        )
    else:
        out.append(
            Target(
                None,
                f"digitnet f32 ≥ {TARGET_F32_VS_TORCH:g}x PyTorch's fastest: torch {torch_status}",
            )
        )

    config = next(c for c in CONFIGS if c.key == ROOFLINE_CONFIG)
    flops = flops_per_epoch(config.sizes, settings.samples, config.batch)
    for impl, dtype in ((DIGITNET_F64, "float64"), (DIGITNET_F32, "float32")):
        t = next(t for t in training[config.key] if t.impl == impl)
        fraction = flops / t.seconds / 1e9 / roofs[config.key][dtype]
        out.append(
            Target(
                fraction >= TARGET_ROOFLINE_FRACTION,
                f"{impl} ≥ {TARGET_ROOFLINE_FRACTION:.0%} of the {dtype} matmul roofline "
                f"({config.sizes}, mini-batch {config.batch}): {fraction:.0%}",
            )
        )

    for r in inference:
        if r.impl.startswith("digitnet") and r.threads == 2:
            out.append(
                Target(
                    r.speedup >= TARGET_INFERENCE_SPEEDUP,
                    f"{r.impl} inference {r.sizes}: 2 threads ≥ {TARGET_INFERENCE_SPEEDUP}x "
                    f"1 thread: {r.speedup:.2f}x (control {control:.2f}x)",
                )
            )

    if memory is None:
        out.append(Target(None, "peak memory of a training run: not measured (--no-memory)"))
    elif memory.returncode != 0:
        out.append(Target(False, f"peak memory: the training run failed ({memory.last_line})"))
    else:
        out.append(
            Target(
                memory.peak_rss_mib <= memory.limit_mib,
                f"peak RSS of digitnet train ≤ float64 data set + "
                f"{TARGET_MEMORY_HEADROOM_MIB:.0f} MiB: {memory.peak_rss_mib:.0f} MiB vs "
                f"{memory.dataset_mib:.0f} + {TARGET_MEMORY_HEADROOM_MIB:.0f} = "
                f"{memory.limit_mib:.0f} MiB",
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


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        description="Benchmarks digitnet against the NumPy reference, network.py's loop and "
        "PyTorch on MNIST."
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
        default=TRAIN_SAMPLES,
        help=f"training samples per epoch, the first N (default {TRAIN_SAMPLES:,})",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure here")
    parser.add_argument(
        "--torch-path",
        default=os.environ.get("DIGITNET_BENCH_TORCH_PATH"),
        metavar="DIR",
        help="a site-packages directory holding torch, appended to sys.path "
        "(default: $DIGITNET_BENCH_TORCH_PATH)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory training run"
    )
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error("--samples must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    settings = (
        Settings(True, args.samples, 2, 5, 2, 2)
        if args.quick
        else Settings(False, args.samples, 7, 1, 5, 5)
    )
    torch_module, torch_status = import_torch(args.torch_path)
    limiter = threadpool_limits(limits=1)  # every BLAS and OpenMP pool: 1 thread from here on
    if torch_module is not None:
        torch_module.torch.set_num_threads(1)
    data_path = mnist.data_dir(args.data_dir)

    lines, info = blas_lines()
    kernel = openblas_kernel(info)
    load = os.getloadavg()
    print(f"digitnet benchmarks{' (--quick)' if args.quick else ''}")
    print("\n== set-up")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()}")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, digitnet "
        f"{digitnet.__version__}, threadpoolctl {threadpoolctl.__version__}"
    )
    print(f"torch: {torch_status}")
    print(f"environment: {environment_line(kernel)}")
    print(
        "threads: training on 1 thread -- BLAS/OpenMP pools limited to 1 with threadpoolctl"
        + (", torch.set_num_threads(1)" if torch_module is not None else "")
        + ", digitnet trains on one thread (cpu/wall columns check it); inference as listed"
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
        f"\n== roofline: single-threaded NumPy {ROOFLINE_N}x{ROOFLINE_N} matmul "
        "(measured again before each training section)"
    )
    roof: dict[str, float] = {}
    roof_runs: dict[str, list[float]] = {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        roof[name], roof_runs[name] = roofline(dtype, settings.roofline_repeats)
        print(
            f"{name:<9}{roof[name]:>8.1f} GFLOP/s  (median of {settings.roofline_repeats}; "
            f"runs {', '.join(f'{r:.1f}' for r in roof_runs[name])})"
        )
    torch_roof = None
    if torch_module is not None:
        torch_roof = torch_roofline(torch_module, settings.roofline_repeats)
        print(f"(torch float32, 1 thread: {torch_roof:.1f} GFLOP/s; not used for %roof)")

    training: dict[str, list[Timing]] = {}
    training_json = []
    section_roofs: dict[str, dict[str, float]] = {}
    for config in CONFIGS:
        # Measured again next to each section, as the machine's speed drifts when it is shared;
        # the higher of the two is used, which can only lower %roof. (--quick: not again.)
        here = dict(roof)
        if not settings.quick:
            here = {
                np.dtype(dtype).name: roofline(dtype, settings.roofline_repeats)[0]
                for dtype in (np.float64, np.float32)
            }
        section_roof = {name: max(roof[name], here[name]) for name in roof}
        section_roofs[config.key] = section_roof
        timings = run_training(config, settings, data64, data32, torch_module)
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

    control_before = two_thread_control(settings.inference_repeats)
    inference = run_inference((splits64.test.x, splits32.test.x), settings)
    control_after = two_thread_control(settings.inference_repeats)
    control = min(control_before, control_after)
    print_inference(inference, (control_before, control_after))

    memory = None
    if not args.no_memory:
        memory = run_memory(data_path, dataset_bytes)
        print(f"\n== memory: {' '.join(['python', *memory.command[1:]])}")
        if memory.returncode != 0:
            print(f"the training run failed with exit status {memory.returncode}:")
            print(f"  {memory.last_line}")
        else:
            print(f"peak RSS of the training run        {memory.peak_rss_mib:8.1f} MiB")
            print(f"float64 data set (x of all splits)  {memory.dataset_mib:8.1f} MiB")
            print(
                f"target: data set + {TARGET_MEMORY_HEADROOM_MIB:.0f} MiB          "
                f"{memory.limit_mib:8.1f} MiB  "
                f"(over the data set by {memory.peak_rss_mib - memory.dataset_mib:.1f} MiB)"
            )
            print(f"run took {memory.seconds:.1f} s; it printed: {memory.last_line}")

    results = targets(training, settings, section_roofs, inference, memory, torch_status, control)
    load_end = os.getloadavg()
    elapsed = time.perf_counter() - started
    print("\n== summary")
    for target in results:
        print(target.line())
    busy = [
        f"{t.impl} ({key})" for key, timings in training.items() for t in timings if t.descheduled
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
    print(
        f"(load average at end {load_end[0]:.2f}; the machine is shared, so figures vary by a "
        f"few percent between runs; took {elapsed:.0f} s)"
    )
    limiter.restore_original_limits()

    if args.json:
        document = {
            "quick": args.quick,
            "samples": n,
            "seconds": elapsed,
            "machine": {
                "cpu": cpu_model(),
                "cpus": os.cpu_count(),
                "load_average_start": list(load),
                "load_average_end": list(load_end),
            },
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "digitnet": digitnet.__version__,
                "torch": torch_status,
            },
            "environment_removed": REMOVED_ENVIRONMENT,
            "numpy_loaded_before_removal": NUMPY_ALREADY_LOADED,
            "openblas_kernel": kernel,
            "threadpool_info": info,
            "torch_parallel_info": torch_info or None,
            "roofline_gflops": roof,
            "roofline_runs": roof_runs,
            "torch_roofline_gflops": torch_roof,
            "training": training_json,
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
            "memory": None
            if memory is None
            else {**dataclasses.asdict(memory), "limit_mib": memory.limit_mib},
            "targets": [{"ok": t.ok, "text": t.text} for t in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
