"""The benchmark suite: its lean NumPy loop, network.py-style loop (and PyTorch variants) compute
the reference's update, and ``benchmarks/bench.py --quick`` runs to its summary on real MNIST."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import assert_close

from digitnet import reference

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> ModuleType:
    """Imports ``benchmarks/NAME.py`` by path (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: dataclasses look their module up there.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


loop = load("network_py_loop")
lean = load("numpy_lean")


def batch(sizes: list[int], m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mini-batch of ``m`` rows in [0, 1), their labels and their one-hot targets."""
    rng = np.random.default_rng(seed)
    x = rng.random((m, sizes[0]))
    labels = rng.integers(0, sizes[-1], m)
    one_hot = np.eye(sizes[-1])[labels]
    return x, labels, one_hot


@pytest.mark.parametrize(
    ("sizes", "m", "eta"),
    [([784, 30, 10], 10, 3.0), ([6, 5, 4, 3], 7, 0.5), ([3, 2], 1, 10.0)],
)
def test_loop_update_equals_the_reference(sizes: list[int], m: int, eta: float) -> None:
    ref = reference.Network(sizes, seed=11)
    net = loop.LoopNetwork(ref.weights, ref.biases)
    x, labels, one_hot = batch(sizes, m, seed=5)
    ref.update_mini_batch((x, one_hot), eta)
    net.update_mini_batch(loop.samples(x, labels, classes=sizes[-1]), eta)
    for ours, theirs in zip(net.weights, ref.weights, strict=True):
        assert_close(ours, theirs)
    for ours, theirs in zip(net.biases, ref.biases, strict=True):
        assert_close(ours, theirs)


def test_loop_backprop_sums_to_the_reference_gradient() -> None:
    sizes = [8, 6, 4]
    ref = reference.Network(sizes, seed=2)
    net = loop.LoopNetwork(ref.weights, ref.biases)
    x, labels, one_hot = batch(sizes, 5, seed=3)
    nabla_b, nabla_w = ref.backprop(x, one_hot)
    sum_b = [np.zeros_like(b) for b in nabla_b]
    sum_w = [np.zeros_like(w) for w in nabla_w]
    for column, target in loop.samples(x, labels, classes=sizes[-1]):
        db, dw = net.backprop(column, target)
        sum_b = [s + d for s, d in zip(sum_b, db, strict=True)]
        sum_w = [s + d for s, d in zip(sum_w, dw, strict=True)]
    for ours, theirs in zip(sum_b + sum_w, nabla_b + nabla_w, strict=True):
        assert_close(ours, theirs)


def test_loop_feedforward_and_epoch() -> None:
    sizes = [5, 4, 3]
    ref = reference.Network(sizes, seed=4)
    net = loop.LoopNetwork(ref.weights, ref.biases)
    x, labels, one_hot = batch(sizes, 12, seed=6)
    assert_close(net.feedforward(x[0].reshape(-1, 1)), ref.feedforward(x[0].reshape(-1, 1)))
    # An epoch in a fixed order is the reference's epoch in the same order.
    net.train(loop.samples(x, labels, classes=3), 5, 2.0)
    ref.train_epoch((x, one_hot), 5, 2.0, order=np.arange(12))
    for ours, theirs in zip(net.weights + net.biases, [*ref.weights, *ref.biases], strict=True):
        assert_close(ours, theirs)


@pytest.mark.parametrize(
    ("sizes", "m", "eta"),
    [([784, 30, 10], 10, 3.0), ([784, 30, 10], 1, 3.0), ([6, 5, 4, 3], 7, 0.5), ([3, 2], 1, 10.0)],
)
def test_lean_update_equals_the_reference(sizes: list[int], m: int, eta: float) -> None:
    ref = reference.Network(sizes, seed=11)
    net = lean.LeanNetwork(ref.weights, ref.biases, np.float64)
    x, _, one_hot = batch(sizes, m, seed=5)
    ref.update_mini_batch((x, one_hot), eta)
    net.update_mini_batch(x, one_hot, eta)
    for ours, theirs in zip(net.weights, ref.weights, strict=True):
        assert_close(ours, theirs)
    for ours, theirs in zip(net.biases, ref.biases, strict=True):
        assert_close(ours, np.ravel(theirs))
    assert_close(net.feedforward(x), ref.feedforward(x))


def test_lean_epoch_equals_the_reference_epoch() -> None:
    # 23 rows in mini-batches of 5: a short last batch, and buffers reused across batches.
    sizes = [12, 9, 5]
    ref = reference.Network(sizes, seed=4)
    net = lean.LeanNetwork(ref.weights, ref.biases, np.float64)
    x, labels, one_hot = batch(sizes, 23, seed=6)
    order = np.random.default_rng(2).permutation(23)
    for _ in range(3):
        net.train_epoch(x, lean.one_hot(labels, np.float64, classes=5), 5, 2.0, order)
        ref.train_epoch((x, one_hot), 5, 2.0, order=order)
    for ours, theirs in zip(net.weights, ref.weights, strict=True):
        assert_close(ours, theirs)
    for ours, theirs in zip(net.biases, ref.biases, strict=True):
        assert_close(ours, np.ravel(theirs))


U32 = float(np.finfo(np.float32).eps) / 2


def gamma(k: int, u: float = U32) -> float:
    """Higham's γ_k = k·u / (1 − k·u): the relative bound on a k-term float sum of products."""
    return k * u / (1 - k * u)


@pytest.mark.parametrize(("sizes", "m"), [([20, 16, 10], 8), ([6, 5, 4, 3], 7), ([30, 10], 1)])
def test_lean_float32_step_is_within_its_rounding_bound(sizes: list[int], m: int) -> None:
    """A float32 step against the float64 one from the same (float32-representable) start.

    Each stage of the step (every layer's forward product with its bias, each error
    propagation, the weight-gradient product over the m rows, and the element-wise sigmoid,
    slope and error, at most 6 roundings each, fewer than γ_K for K ≥ 6) rounds to at most γ_K
    of the magnitudes it sums, K being the longest sum; with S = 2L + 1 such stages chained
    (L layers) the gradient's first-order error is at most S·γ_K·(|Δ|ᵀ|A|), and the step
    ``W − (η/m)·G`` adds one rounding of W. So, element-wise,
    ``|W32 − W64| ≤ u·|W64| + (η/m)·(S + 1)·γ_K·(|Δ|ᵀ|A|)`` (and for b with Σ|Δ|)."""
    rng = np.random.default_rng(3)
    eta = 0.5
    weights = [
        (rng.standard_normal((y, x)) / np.sqrt(x)).astype(np.float32)
        for x, y in itertools.pairwise(sizes)
    ]
    biases = [rng.standard_normal(y).astype(np.float32) for y in sizes[1:]]
    x = rng.random((m, sizes[0])).astype(np.float32)
    one_hot = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], m)]
    single = lean.LeanNetwork(weights, biases, np.float32)
    double = lean.LeanNetwork(weights, biases, np.float64)
    single.update_mini_batch(x, one_hot, eta)
    double.update_mini_batch(x, one_hot, eta)
    ref = reference.Network(sizes, seed=0)
    ref.weights = [w.astype(np.float64) for w in weights]
    ref.biases = [b.astype(np.float64).reshape(-1, 1) for b in biases]
    ref.update_mini_batch((x.astype(np.float64), one_hot.astype(np.float64)), eta)
    for ours, theirs in zip(double.weights, ref.weights, strict=True):
        assert_close(ours, theirs)

    layers = len(sizes) - 1
    k = max(max(sizes[:-1]) + 1, max(sizes[1:]), m)
    factor = (2 * layers + 2) * gamma(k)
    buffers = double.buffers(m)  # the float64 step's activations and errors
    for layer in range(layers):
        delta = np.abs(buffers.deltas[layer])
        below = np.abs(buffers.activations[layer])
        w_bound = U32 * np.abs(double.weights[layer]) + eta / m * factor * (delta.T @ below)
        b_bound = U32 * np.abs(double.biases[layer]) + eta / m * factor * delta.sum(axis=0)
        w_error = np.abs(single.weights[layer].astype(np.float64) - double.weights[layer])
        b_error = np.abs(single.biases[layer].astype(np.float64) - double.biases[layer])
        assert np.all(w_error <= w_bound), f"layer {layer}: {np.max(w_error / w_bound):.2f}"
        assert np.all(b_error <= b_bound), f"layer {layer}: {np.max(b_error / b_bound):.2f}"
        assert single.weights[layer].dtype == np.float32


@pytest.mark.parametrize("variant", ["manual", "autograd"])
def test_torch_update_equals_the_reference(variant: str) -> None:
    torch = pytest.importorskip("torch")
    torch_mlp = load("torch_mlp")
    sizes = [6, 5, 4, 3]
    ref = reference.Network(sizes, seed=8)
    model = torch_mlp.TorchMLP(ref.weights, ref.biases, dtype=torch.float64)
    x, labels, one_hot = batch(sizes, 7, seed=9)
    ref.update_mini_batch((x, one_hot), 3.0)
    xt, yt = torch_mlp.tensors(x, labels, dtype=torch.float64, classes=3)
    model.train_epoch(xt, yt, 7, 3.0, variant, shuffle=False)
    weights, biases = model.numpy_parameters()
    for ours, theirs in zip(weights + biases, [*ref.weights, *ref.biases], strict=True):
        assert_close(ours, theirs)


#: The targets of issue 10 that bench.py's summary checks, by their keys in its JSON.
ISSUE_10_TARGETS = (
    "book-vs-lean-f64",  # book config, default threads: >= 4x the lean NumPy loop, f64
    "book-vs-lean-f32",  # ... and f32
    "roofline-2-core-f64",  # [784, 800, 10] batch 100: >= 60% of the 2-core f64 roofline
    "scaling-2-threads",  # [784, 800, 10] batch 100: 2 threads >= 1.7x one
    "no-slower-default",  # no configuration slower than the previous engine, default threads
    "no-slower-one-thread",  # none more than 10% slower at one thread
    "train-wall",  # the whole digitnet train <= 2 s wall
)


def test_bench_quick_runs_to_its_summary(mnist_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DIGITNET_BENCH_TORCH_PATH"}
    env["DIGITNET_DATA"] = str(mnist_dir)
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bench.py"),
            "--quick",
            "--samples",
            "1000",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,  # under a minute on a quiet machine; the margin is for a shared one
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout
    assert "== summary" in text
    summary = text.split("== summary", 1)[1]
    figures = json.loads(out.read_text())
    # Issue 10's targets, each measured and printed once: PASS or FAIL (a smoke run's figures
    # decide nothing), never SKIP.
    assert [t["key"] for t in figures["targets"]] == list(ISSUE_10_TARGETS)
    verdicts = [line for line in summary.splitlines() if line.startswith(("PASS", "FAIL", "SKIP"))]
    assert len(verdicts) == len(ISSUE_10_TARGETS), verdicts
    for target, line in zip(figures["targets"], verdicts, strict=True):
        assert target["ok"] in (True, False), target
        assert line == f"{'PASS' if target['ok'] else 'FAIL'}  {target['text']}"
    assert "environment:" in text
    assert "torch:" in text

    assert figures["samples"] == 1000
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:  # removed in bench.py's process before it loaded NumPy
            assert figures["environment_removed"][name] == os.environ[name]
    book = next(s for s in figures["training"] if s["key"] == "book-b10")
    # 1,000 samples of [784, 30, 10]: 4·(784·30 + 30·10) + 2·30·10 flops each, and 100
    # updates of 2·(23,820 + 40) flops.
    assert book["gflop_per_epoch"] == pytest.approx((1000 * 95_880 + 100 * 47_720) / 1e9)
    impls = {row["impl"] for row in book["rows"]}
    assert {"digitnet float64", "digitnet float32", "lean NumPy f64", "lean NumPy f32"} <= impls
    # Every implementation at one thread and at its default; digitnet also at 2.
    threads = figures["default_threads"]
    for impl in impls:
        rows = [row for row in book["rows"] if row["impl"] == impl]
        assert min(row["threads"] for row in rows) == 1
        assert sum(row["default_threads"] for row in rows) == 1
    assert {row["threads"] for row in book["rows"] if row["impl"] == "digitnet float64"} == {
        1,
        2,
        threads["digitnet"],
    }
    assert {2, threads["digitnet"]} <= set(map(int, figures["roofline_gflops"]["float64"]))
    assert figures["train_command"]["runs"][0]["returncode"] == 0
    assert all(row["seconds_per_epoch"] > 0 for row in book["rows"])
    assert figures["memory"]["returncode"] == 0
    assert figures["memory"]["peak_rss_mib"] > figures["memory"]["dataset_mib"] / 2


def test_every_baseline_file_covers_bench_configurations_and_names_one_cpu() -> None:
    """bench.py compares with the baseline file measured on this machine's CPU: each file must
    hold every configuration previous_engine.py measures, and no two may claim the same CPU."""
    previous_engine = load("previous_engine")
    keys = [config[0] for config in previous_engine.CONFIGS]
    files = sorted(BENCHMARKS.glob("baseline-0.1*.json"))
    assert len(files) >= 2
    cpus = []
    for path in files:
        document = json.loads(path.read_text())
        cpus.append(document["cpu"])
        figures = document["training_seconds_per_epoch"]
        for key in keys:
            for dtype in ("float64", "float32"):
                assert figures[key][dtype] > 0, (path.name, key, dtype)
    assert len(set(cpus)) == len(cpus), cpus


def test_side_by_side_rows_take_every_figure_from_the_same_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With --previous-python, the regression targets use previous_engine.side_by_side's
    figures for all three columns, and say so."""
    # bench.py imports its sibling scripts by name, and removes OpenBLAS's variables from the
    # environment on import: both are undone after this test.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
    bench = load("bench")
    previous_engine = load("previous_engine")
    assert [name for name, _, _ in previous_engine.PARTICIPANTS] == [
        "previous",
        "current",
        "current-default",
    ]
    figures: dict[str, dict[str, dict[str, float]]] = {
        name: {
            config.key: {"float64": 1.0 + i + j, "float32": 2.0 + i * j}
            for j, config in enumerate(bench.CONFIGS)
        }
        for i, (name, _, _) in enumerate(previous_engine.PARTICIPANTS)
    }
    rows = bench.side_by_side_rows(figures)
    assert len(rows) == 2 * len(bench.CONFIGS)
    for row in rows:
        key, dtype = row["key"], row["dtype"]
        before = figures["previous"][key][dtype]
        assert row["previous_seconds"] == before
        assert row["one_thread_vs_previous"] == figures["current"][key][dtype] / before
        assert row["default_vs_previous"] == figures["current-default"][key][dtype] / before
        assert row["method"] == "side by side"
    args = bench.parse_args(["--previous-python", "/some/python"])
    assert args.previous_python == "/some/python"


def test_call_overhead_prints_each_thread_counts_figures(mnist_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "call_overhead.py"),
            "--data-dir",
            str(mnist_dir),
            "--samples",
            "500",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        # threads, the 0-epoch call in ms, the 1-epoch call and a later epoch in s, the share
        empty, one, later = float(row[1]), float(row[3]), float(row[5])
        assert empty > 0
        assert one > 0
        assert later > 0
        assert row[7].endswith("%")
