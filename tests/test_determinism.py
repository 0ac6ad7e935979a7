"""One seed, one result, on any machine: trained parameters and predictions are the same bits
for every kernel path this CPU has and every thread count, and fixed runs have pinned digests.

The engine sums every output in one order that depends only on the shapes (see
``rust/digitnet-core/src/kernels``), computes ``exp`` itself, and takes ``ln``/``sin``/``cos``
from a pure-Rust libm, so these digests hold on any CPU; a machine that computes other bits
fails them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import digitnet
from digitnet.datasets import mnist
from digitnet.sgd import StepOptions
from digitnet.training import Adam, Momentum, Nesterov

KERNELS = [k for k in digitnet.available_kernels() if k != "auto"]
THREADS = [1, 2, 3, 4]


@pytest.fixture(autouse=True)
def restore_engine_settings() -> Iterator[None]:
    threads = digitnet.get_num_threads()
    yield
    digitnet.set_num_threads(threads)
    digitnet.set_kernel("auto")


def digest(net: digitnet.Network, *extra: np.ndarray) -> str:
    """SHA-256 of every weight and bias (layer by layer, C order, native float bytes)."""
    h = hashlib.sha256()
    for w, b in zip(net.weights, net.biases, strict=True):
        h.update(np.ascontiguousarray(w).tobytes())
        h.update(np.ascontiguousarray(b).tobytes())
    for array in extra:
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    hidden = draw(st.lists(st.integers(1, 40), min_size=0, max_size=2))
    outputs = draw(st.integers(2, 12))
    cost = draw(st.sampled_from(["QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost"]))
    activation = draw(st.sampled_from(["sigmoid", "tanh", "relu"]))
    n = draw(st.integers(1, 250))
    return {
        "sizes": [height * width, *hidden, outputs],
        "shape": (height, width),
        "dtype": draw(st.sampled_from(["float64", "float32"])),
        "cost": cost,
        "activation": activation,
        "n": n,
        # Up to 200 and past n, so that the last mini-batch is short or the only one.
        "batch": draw(st.integers(1, 200)),
        "optimizer": draw(st.sampled_from([None, "momentum", "nesterov", "adam"])),
        "dropout": draw(st.sampled_from([0.0, 0.0, 0.3])) if hidden else 0.0,
        "augment": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "eta": 0.01 if activation == "relu" else 0.5,
    }


def train(run: dict[str, Any]) -> str:
    rng = np.random.default_rng(run["seed"])
    x = rng.uniform(0, 1, (run["n"], run["sizes"][0])).astype(run["dtype"])
    labels = rng.integers(0, run["sizes"][-1], run["n"])
    kwargs: dict[str, Any] = {"cost": getattr(digitnet, run["cost"])}
    if run["cost"] != "LogLikelihoodCost":
        kwargs["activation"] = run["activation"]
    if run["cost"] == "CrossEntropyCost":
        kwargs["output"] = "sigmoid"
    net = digitnet.Network(run["sizes"], seed=run["seed"], dtype=run["dtype"], **kwargs)
    augment = (
        digitnet.Augment(max_shift=1.0, max_rotation=15.0, image_shape=run["shape"])
        if run["augment"]
        else None
    )
    try:
        net.SGD(
            (x, labels),
            2,
            run["batch"],
            run["eta"],
            optimizer=run["optimizer"],
            dropout=run["dropout"],
            augment=augment,
            verbose=False,
        )
        outcome = "trained"
    except digitnet.DivergenceError as error:
        # A refused step is a result too: it must be refused at the same mini-batch everywhere.
        outcome = str(error)
    return outcome + digest(net, net.feedforward(x), net.predict(x))


def assert_one_result_everywhere(compute: Callable[[], str]) -> None:
    """Runs ``compute`` on every kernel path this CPU has and every thread count of
    :data:`THREADS`: all must give one result."""
    results = {}
    for kernel in KERNELS:
        for threads in THREADS:
            digitnet.set_kernel(kernel)
            digitnet.set_num_threads(threads)
            results[(kernel, threads)] = compute()
    assert len(set(results.values())) == 1, results


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=runs())
def test_every_kernel_and_thread_count_gives_the_same_bits(run: dict[str, Any]) -> None:
    assert_one_result_everywhere(lambda: train(run))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", [None, "momentum", "nesterov", "adam"])
def test_element_wise_passes_cut_over_threads_give_the_same_bits(
    optimizer: str | None, dtype: str
) -> None:
    """The runs above are too small to be cut: here the first layer's 56,000 weights (their L2
    term and optimizer step) and each mini-batch's 72 x 700 inputs (their gather) are large
    enough to be split into up to 3 parts of at least 16,384 values."""

    def trained() -> str:
        rng = np.random.default_rng(5)
        x = rng.uniform(0, 1, (300, 700)).astype(dtype)
        labels = rng.integers(0, 10, 300)
        net = digitnet.Network([700, 80, 10], seed=5, dtype=dtype, cost=digitnet.CrossEntropyCost)
        net.SGD((x, labels), 2, 72, 0.05, lmbda=0.5, optimizer=optimizer, verbose=False)
        return digest(net, net.feedforward(x))

    assert_one_result_everywhere(trained)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("optimizer", "dropout"), [(None, 0.0), (None, 0.3), ("adam", 0.3)])
def test_wide_hidden_layers_split_over_units_give_the_same_bits(
    optimizer: str | None, dropout: float, dtype: str
) -> None:
    """A hidden layer of at least 1 MiB of weights (here 700 x 400) has its forward product
    split over units on more than one thread, each part staged and copied into place, where
    smaller ones are split over samples: the bits must be those of one thread."""

    def trained() -> str:
        rng = np.random.default_rng(6)
        x = rng.uniform(0, 1, (150, 700)).astype(dtype)
        labels = rng.integers(0, 10, 150)
        net = digitnet.Network([700, 400, 10], seed=6, dtype=dtype, activation="tanh")
        net.SGD((x, labels), 2, 37, 0.05, optimizer=optimizer, dropout=dropout, verbose=False)
        return digest(net, net.feedforward(x))

    assert_one_result_everywhere(trained)


#: Output layer and cost pairs of scikit-learn's MLPs (and the book's quadratic sigmoid).
HEADS = [
    ("identity", "QuadraticCost"),
    ("exp", "PoissonCost"),
    ("sigmoid", "CrossEntropyCost"),
    ("softmax", "LogLikelihoodCost"),
    ("sigmoid", "QuadraticCost"),
]


@st.composite
def weighted_runs(draw: st.DrawFn) -> dict[str, Any]:
    hidden = draw(st.lists(st.integers(1, 30), min_size=0, max_size=2))
    output, cost = draw(st.sampled_from(HEADS))
    return {
        "sizes": [draw(st.integers(1, 40)), *hidden, draw(st.integers(1, 6))],
        "dtype": draw(st.sampled_from(["float64", "float32"])),
        "activation": draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
        "output": output,
        "cost": cost,
        "init": draw(st.sampled_from(["glorot", "glorot-sigmoid"])),
        "n": draw(st.integers(1, 250)),
        "batch": draw(st.integers(1, 200)),
        "weighted": draw(st.booleans()),
        "optimizer": draw(
            st.sampled_from(
                [None, Momentum(0.9), Nesterov(0.5), Adam(form="efficient"), Adam(form="paper")]
            )
        ),
        "alpha": draw(st.sampled_from([0.0, 1e-4, 0.5])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def fit_epochs(run: dict[str, Any]) -> str:
    """Two epochs of scikit-learn-style training and the whole-set objective, as one digest."""
    rng = np.random.default_rng(run["seed"])
    n, n_out = run["n"], run["sizes"][-1]
    x = rng.uniform(-1, 1, (n, run["sizes"][0])).astype(run["dtype"])
    if run["output"] == "softmax":
        y = np.eye(n_out, dtype=run["dtype"])[rng.integers(0, n_out, n)]
    else:
        y = rng.uniform(0, 1, (n, n_out)).astype(run["dtype"])
    weights = rng.uniform(0, 2, n).astype(run["dtype"]) if run["weighted"] else None
    hidden = "sigmoid" if run["activation"] == "logistic" else run["activation"]
    net = digitnet.Network(
        run["sizes"],
        seed=run["seed"],
        dtype=run["dtype"],
        cost=run["cost"],
        activation=hidden,
        output=run["output"],
        init=run["init"],
    )
    options = StepOptions(1e-3, run["alpha"], run["optimizer"], batch_l2=True)
    records = []
    try:
        for _ in range(2):
            order = rng.permutation(n)
            records.append(net._fit_epoch(x, y, order, run["batch"], options, weights))
        outcome = repr(records)
    except digitnet.DivergenceError as error:
        outcome = str(error)
    loss, total, grad_w, grad_b = net._objective(x, y, weights)
    return outcome + repr((loss, total)) + digest(net, *grad_w, *grad_b, net.feedforward(x))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=weighted_runs())
def test_weighted_epochs_and_the_objective_give_the_same_bits_everywhere(
    run: dict[str, Any],
) -> None:
    """What scikit-learn's MLPs use (sample weights, L2 per mini-batch, the loss record, the
    whole-set objective, Glorot, the new outputs) is as reproducible as the book's training."""
    assert_one_result_everywhere(lambda: fit_epochs(run))


def test_inference_chunking_and_threads_do_not_change_outputs() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (3000, 50))
    net = digitnet.Network([50, 70, 10], seed=2, activation="tanh")
    digitnet.set_num_threads(1)
    whole = net.feedforward(x)
    rows = np.vstack([net.feedforward(x[i : i + 1]) for i in range(0, 3000, 97)])
    np.testing.assert_array_equal(rows, whole[::97])
    for kernel in KERNELS:
        for threads in THREADS:
            digitnet.set_kernel(kernel)
            digitnet.set_num_threads(threads)
            np.testing.assert_array_equal(net.feedforward(x), whole)


def test_inference_and_training_compute_the_same_outputs() -> None:
    """With cross-entropy, a single sample's output error is ``a − y``; for ``y = 0`` the
    gradient of the output biases is the training pass's own output ``a``, bit for bit."""
    rng = np.random.default_rng(5)
    net = digitnet.Network([30, 17, 4], seed=9, cost=digitnet.CrossEntropyCost)
    for _ in range(5):
        x = rng.uniform(0, 1, (30, 1))
        nabla_b, _ = net.backprop(x, np.zeros((4, 1)))
        np.testing.assert_array_equal(nabla_b[-1], net.feedforward(x))


# SHA-256 of the parameters after fixed short runs, with this engine. They change only when
# the arithmetic does, which a commit must say (see the README, "Results").
GOLDEN = {
    "book-synthetic-f64": "b223b6d3d2de06f9f6b34ffec23c18767979e95bce65425e7bf0caec10b2be8e",
    "toolkit-synthetic-f32": "6bc6d68d667467a2c88601a174d8a25befa521ce60342221dba0be5e94f47e76",
    "book-mnist-seed3-1-epoch": "085ef25ac0c74de4f4ef22901fce83956bb0faf48ec59dcee6e6006c943d4eb6",
}


def synthetic(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(123)
    return rng.uniform(0, 1, (500, 36)).astype(dtype), rng.integers(0, 10, 500)


def golden_book_synthetic() -> str:
    net = digitnet.Network([36, 20, 10], seed=3)
    net.SGD(synthetic("float64"), 3, 10, 3.0, verbose=False)
    return digest(net)


def golden_toolkit_synthetic() -> str:
    net = digitnet.Network(
        [36, 24, 16, 10],
        seed=7,
        dtype="float32",
        activation="relu",
        cost=digitnet.LogLikelihoodCost,
        init="scaled",
    )
    net.SGD(
        synthetic("float32"),
        2,
        25,
        0.01,
        optimizer=digitnet.Adam(),
        dropout=0.2,
        augment=digitnet.Augment(max_shift=1.0, max_rotation=10.0, image_shape=(6, 6)),
        lmbda=0.5,
        verbose=False,
    )
    return digest(net)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("book-synthetic-f64", golden_book_synthetic),
        ("toolkit-synthetic-f32", golden_toolkit_synthetic),
    ],
)
@pytest.mark.parametrize("kernel", KERNELS)
def test_golden_digests(name: str, make: Any, kernel: str) -> None:
    digitnet.set_kernel(kernel)
    digitnet.set_num_threads(2)
    assert make() == GOLDEN[name]


@pytest.mark.slow
def test_golden_digest_of_the_book_run_on_mnist(mnist_dir: Path) -> None:
    """The book's network, seed 3, one epoch on real MNIST."""
    splits = mnist.load_arrays(mnist_dir)
    net = digitnet.Network([784, 30, 10], seed=3)
    net.SGD(splits.train, 1, 10, 3.0, verbose=False)
    assert digest(net) == GOLDEN["book-mnist-seed3-1-epoch"]


def test_kernel_names_and_refusals() -> None:
    names = digitnet.available_kernels()
    assert names[0] == "scalar"
    assert names[-1] == "auto"
    assert digitnet.get_kernel() in names
    digitnet.set_kernel("scalar")
    assert digitnet.get_kernel() == "scalar"
    digitnet.set_kernel("auto")
    assert digitnet.get_kernel() == names[-2]
    with pytest.raises(ValueError, match=r"kernel: must be one of scalar.*got .neon."):
        digitnet.set_kernel("neon")
    with pytest.raises(TypeError, match="kernel"):
        digitnet.set_kernel(3)  # type: ignore[arg-type]


def test_a_bad_kernel_variable_warns_and_imports() -> None:
    code = "import digitnet; print(digitnet.get_kernel())"
    env = {**os.environ, "DIGITNET_KERNEL": "sse9"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "DIGITNET_KERNEL ignored, using auto" in done.stderr
    assert done.stdout.strip() == digitnet.available_kernels()[-2]
    env["DIGITNET_KERNEL"] = "scalar"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "scalar"
    assert not done.stderr


@pytest.mark.parametrize("threads", [1, 2])
def test_a_non_finite_input_found_while_training_fails_the_call_and_changes_nothing(
    threads: int,
) -> None:
    """``SGD`` checks a data set much larger than its network as the first epoch gathers it,
    not in a pass before training. A NaN or infinity anywhere must still fail the call, name
    the first bad value in row-major order as the pass before did, and leave the parameters and
    the random state as they were: the same call on clean data then gives a fresh network's
    result."""
    digitnet.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = np.where(rng.random((1200, 64)) < 0.7, 0.0, rng.random((1200, 64)))
    labels = rng.integers(0, 10, 1200)
    fresh = digitnet.Network([64, 8, 10], seed=5)
    fresh.SGD((x, labels), 2, 10, 1.0, verbose=False, progress=False)
    last = (1199, 63)
    for at in [(0, 0), (600, 31), last]:
        for bad in (np.nan, np.inf, -np.inf):
            xb = x.copy()
            xb[at] = bad
            xb[last] = np.nan  # a later one, when `at` is not last: the first is named
            net = digitnet.Network([64, 8, 10], seed=5)
            before = digest(net)
            with pytest.raises(ValueError, match=rf"training inputs: .*\[{at[0]}, {at[1]}\]"):
                net.SGD((xb, labels), 2, 10, 1.0, verbose=False, progress=False)
            assert digest(net) == before
            net.SGD((x, labels), 2, 10, 1.0, verbose=False, progress=False)
            assert digest(net) == digest(fresh)


def _large_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Image-like rows (mostly zeros), many beside a small network's parameters, so that the
    engine checks them as the first epoch gathers them."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((1500, 24)) < 0.6, 0.0, rng.random((1500, 24)))
    return x, np.eye(3)[rng.integers(0, 3, 1500)]


def _epochs_plan(
    epochs: int, order: np.ndarray, optimizer: Any
) -> Callable[[object], tuple[np.ndarray, StepOptions] | None]:
    calls: list[object] = []

    def plan(record: object) -> tuple[np.ndarray, StepOptions] | None:
        calls.append(record)
        if len(calls) > epochs:
            return None
        return np.roll(order, len(calls)), StepOptions(0.2, 0.01, optimizer, batch_l2=True)

    return plan


@pytest.mark.parametrize("optimizer", [None, Adam(form="efficient")])
def test_fit_epochs_checking_inputs_as_it_trains_gives_the_bits_of_a_check_before(
    optimizer: Any,
) -> None:
    """scikit-learn's many-epoch call checks a large set's inputs in the first epoch's gather
    when its order is a permutation; one epoch per call (``train_epoch``, which checks before)
    must give the same bits, the epochs after the first included."""
    x, y = _large_set(3)
    order = np.random.default_rng(4).permutation(len(x)).astype(np.int64)
    nets = [
        digitnet.Network([24, 5, 3], 2, output="softmax", cost=digitnet.costs.LogLikelihoodCost)
        for _ in range(2)
    ]
    done = nets[0]._fit_epochs(x, y, 7, None, _epochs_plan(3, order, optimizer))
    loop = digitnet.network_api.NetworkAPI._fit_epochs(
        nets[1], x, y, 7, None, _epochs_plan(3, order, optimizer)
    )
    assert done == loop == 3
    assert digest(nets[0]) == digest(nets[1])


@pytest.mark.parametrize("order_kind", ["permutation", "repeats", "no epochs"])
def test_fit_epochs_names_a_bad_input_and_changes_nothing(order_kind: str) -> None:
    """A NaN or infinity in the inputs fails a many-epoch call whatever its plan: with a
    permutation (checked in the first epoch's gather), with an order that repeats samples
    (checked before, as a gather would not see them all) and with a plan of no epochs. The
    error names the first bad value, and the parameters, the optimizer's state and the random
    state are as before: a clean call afterwards gives a fresh network's bits."""
    x, y = _large_set(5)
    n = len(x)
    order = {
        "permutation": np.random.default_rng(6).permutation(n),
        "repeats": np.arange(n) // 2,
        "no epochs": np.arange(n),
    }[order_kind].astype(np.int64)
    epochs = 0 if order_kind == "no epochs" else 2
    optimizer = Momentum(0.9)

    def train(net: digitnet.Network, data: np.ndarray) -> int:
        return net._fit_epochs(data, y, 10, None, _epochs_plan(epochs, order, optimizer))

    fresh = digitnet.Network([24, 5, 3], 7, output="softmax", cost=digitnet.costs.LogLikelihoodCost)
    train(fresh, x)
    train(fresh, x)
    last = (n - 1, 23)
    for at in [(0, 0), (n // 2, 11), last]:
        for bad in (np.nan, np.inf):
            xb = x.copy()
            xb[at] = bad
            xb[last] = -np.inf  # a later one, when `at` is not last: the first is named
            net = digitnet.Network(
                [24, 5, 3], 7, output="softmax", cost=digitnet.costs.LogLikelihoodCost
            )
            train(net, x)
            before = digest(net)
            with pytest.raises(ValueError, match=rf"training inputs: .*\[{at[0]}, {at[1]}\]"):
                train(net, xb)
            assert digest(net) == before
            train(net, x)
            assert digest(net) == digest(fresh)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_a_failed_call_keeps_the_optimizers_state(optimizer: str) -> None:
    """A call whose inputs turn out bad puts back the optimizer's velocities or moments of
    the calls before it, not only the parameters: training goes on as if it had not run."""
    rng = np.random.default_rng(1)
    x = np.where(rng.random((1000, 49)) < 0.6, 0.0, rng.random((1000, 49)))
    labels = rng.integers(0, 4, 1000)
    bad = x.copy()
    bad[700, 20] = np.nan

    def train(with_failure: bool) -> str:
        net = digitnet.Network([49, 6, 4], seed=2)
        net.SGD((x, labels), 1, 25, 0.05, optimizer=optimizer, verbose=False, progress=False)
        if with_failure:
            with pytest.raises(ValueError, match=r"training inputs: .*\[700, 20\]"):
                net.SGD((bad, labels), 1, 25, 0.05, optimizer=optimizer, verbose=False)
        net.SGD((x, labels), 1, 25, 0.05, optimizer=optimizer, verbose=False, progress=False)
        return digest(net)

    assert train(with_failure=True) == train(with_failure=False)
