"""The benchmark suite: its network.py-style loop (and PyTorch variants) compute the reference's
update, and ``benchmarks/bench.py --quick`` runs to its summary on real MNIST."""

from __future__ import annotations

import importlib.util
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
    spec.loader.exec_module(module)
    return module


loop = load("network_py_loop")


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
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout
    assert "== summary" in text
    summary = text.split("== summary", 1)[1]
    marks = [line for line in summary.splitlines() if line[:6] in ("PASS  ", "FAIL  ", "SKIP  ")]
    assert len(marks) >= 8, summary
    # A speed or memory figure may miss its target on a loaded machine (each states one with ≥
    # or ≤); a line without a target is a part of the benchmark that failed to run.
    broken = [line for line in marks if line.startswith("FAIL") and not {"≥", "≤"} & set(line)]
    assert broken == [], broken
    assert "environment:" in text
    assert "torch:" in text

    figures = json.loads(out.read_text())
    assert figures["samples"] == 1000
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:  # removed in bench.py's process before it loaded NumPy
            assert figures["environment_removed"][name] == os.environ[name]
    book = next(s for s in figures["training"] if s["key"] == "book-b10")
    # 1,000 samples of [784, 30, 10]: 4·(784·30 + 30·10) + 2·30·10 flops each, and 100
    # updates of 2·(23,820 + 40) flops.
    assert book["gflop_per_epoch"] == pytest.approx((1000 * 95_880 + 100 * 47_720) / 1e9)
    impls = {row["impl"] for row in book["rows"]}
    assert {"digitnet float64", "digitnet float32"} <= impls
    assert all(row["seconds_per_epoch"] > 0 for row in book["rows"])
    assert figures["memory"]["returncode"] == 0
    assert figures["memory"]["peak_rss_mib"] > figures["memory"]["dataset_mib"] / 2
