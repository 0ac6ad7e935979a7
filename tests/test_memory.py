"""Repeated training and inference hold no growing memory, and training on MNIST holds the data
set plus a small constant.

Memory is the resident set size read from /proc/self/statm (Python, NumPy and the Rust engine
alike). Each loop first runs a tenth of its iterations as a warm-up (buffers, allocator arenas,
caches), then the measured iterations; the bound on growth is 16 MB, and each loop is sized so
that leaking its main allocation once per call would grow by far more than that (the figure is
printed beside each result), while the allocator's noise stays well below it.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import digitnet
from digitnet.datasets import mnist

MB = 1 << 20
GROWTH_BOUND = 16 * MB
PAGE = os.sysconf("SC_PAGE_SIZE")

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="reads the RSS from /proc/self/statm"
)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def growth(step: Callable[[int], Any], iterations: int) -> int:
    """The RSS growth over ``iterations`` calls of ``step(i)``, after a warm-up of a tenth."""
    for i in range(iterations // 10):
        step(i)
    gc.collect()
    before = rss()
    for i in range(iterations):
        step(i)
    gc.collect()
    return rss() - before


def report(name: str, grown: int, iterations: int, leak_per_call: int) -> None:
    print(
        f"\n{name}: {iterations} calls, RSS {grown / MB:+.2f} MB (bound {GROWTH_BOUND // MB} MB; "
        f"leaking {leak_per_call / 1024:.0f} KB per call would add "
        f"{leak_per_call * iterations / MB:.0f} MB)"
    )
    assert leak_per_call * iterations > 2 * GROWTH_BOUND, "the loop is too small to see a leak"
    assert grown < GROWTH_BOUND


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (2_000, 784)), rng.integers(0, 10, 2_000)


def test_update_mini_batch(samples: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)

    def step(i: int) -> None:
        start = (i * 10) % 1_990
        net.update_mini_batch((x[start : start + 10], y[start : start + 10]), 0.5)

    grown = growth(step, 3_000)
    report("update_mini_batch", grown, 3_000, 10 * 784 * 8)  # the batch's inputs
    assert all(np.all(np.isfinite(w)) for w in net.weights)


def test_update_mini_batch_with_adam_and_lists(samples: tuple[np.ndarray, np.ndarray]) -> None:
    """network.py's list of (x, y) columns, the optimizer's state and L2: another code path."""
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)
    batch = [(x[k].reshape(784, 1), np.eye(10)[y[k]].reshape(10, 1)) for k in range(10)]

    def step(i: int) -> None:
        net.update_mini_batch(batch, 0.001, lmbda=1.0, n=2_000, optimizer="adam")

    report("update_mini_batch (lists, Adam)", growth(step, 3_000), 3_000, 10 * 784 * 8)


def test_feedforward_and_predict(samples: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)

    def step(i: int) -> None:
        start = (i * 200) % 1_800
        net.feedforward(x[start : start + 200])
        if i % 3 == 0:
            net.predict(x[start : start + 200])
        elif i % 3 == 1:
            net.evaluate((x[start : start + 200], y[start : start + 200]))

    report("feedforward (+ predict, evaluate)", growth(step, 3_000), 3_000, 200 * 10 * 8)


def test_backprop_and_parameters(samples: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)
    targets = np.eye(10)[y[:10]]

    def step(i: int) -> None:
        net.backprop(x[:10], targets)
        weights, biases = list(net.weights), list(net.biases)
        net.weights, net.biases = weights, biases

    report("backprop + weights/biases get and set", growth(step, 1_000), 1_000, 784 * 30 * 8)


def test_short_sgd_calls(samples: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)
    test = (x[:100], y[:100])

    def step(i: int) -> None:
        net.SGD(
            (x[:200], y[:200]),
            1,
            10,
            0.5,
            test_data=test,
            evaluation_data=test,
            monitor_evaluation_cost=True,
            verbose=False,
            dropout=0.1,
        )

    report("SGD (1 epoch, monitored)", growth(step, 300), 300, 784 * 30 * 8)


def test_copies(samples: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = samples
    net = digitnet.Network([784, 30, 10], seed=0)
    net.update_mini_batch((x[:10], y[:10]), 0.5, optimizer="momentum")  # state to copy too
    kept: list[digitnet.Network] = []

    def step(i: int) -> None:
        clone = net.copy()
        clone.update_mini_batch((x[:10], y[:10]), 0.5, optimizer="momentum")
        pickle.loads(pickle.dumps(clone))
        kept[:] = [clone]  # one alive at a time

    report("copy + pickle round trip", growth(step, 300), 300, 2 * 784 * 30 * 8)


def test_save_and_load(tmp_path: Path) -> None:
    net = digitnet.Network([500, 30, 10], seed=0)
    path = tmp_path / "model.json"

    def step(i: int) -> None:
        net.save(path)
        loaded = digitnet.load(path)
        assert loaded.sizes == [500, 30, 10]

    parameters = 500 * 30 + 30 + 30 * 10 + 10
    report("save + load", growth(step, 300), 300, parameters * 8)


def test_training_on_mnist_holds_the_data_and_a_small_constant(mnist_dir: Path) -> None:
    """``net.SGD(splits.train, 1, 10, 3.0)`` on the 50,000 float64 training images (314 MB
    already in memory) adds less than 50 MB at its peak: no copy of the data set, only the
    one-hot targets (4 MB), the shuffled order and the engine's mini-batch buffers."""
    splits = mnist.load_arrays(mnist_dir)
    x = splits.train.x
    assert x.dtype == np.float64
    assert x.flags.c_contiguous
    net = digitnet.Network([784, 30, 10], seed=0)
    net.SGD((x[:100], splits.train.y[:100]), 1, 10, 3.0, verbose=False)  # warm up
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
    except OSError:
        pytest.skip("needs /proc/self/clear_refs to reset the peak RSS")
    before = rss()
    net.SGD(splits.train, 1, 10, 3.0, verbose=False)
    peak = peak_rss()
    data_mb = (x.nbytes + splits.train.y.nbytes) / MB
    print(
        f"\nSGD on MNIST ({data_mb:.0f} MB of training data): RSS after loading "
        f"{before / MB:.0f} MB, peak increase during the epoch {(peak - before) / MB:.1f} MB, "
        f"after it {(rss() - before) / MB:+.1f} MB"
    )
    assert peak - before < 50 * MB
    assert net.evaluate(splits.test) > 8_000  # it did train


def peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise LookupError("VmHWM")
