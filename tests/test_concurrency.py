"""Networks in threads: training releases the GIL, so separate networks train in parallel with
exactly the results they have one after the other; one network used from two threads at once is
either safe or refused with a clear RuntimeError, never corrupted.
"""

from __future__ import annotations

import copy
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import digitnet

IN_USE = "in use by another thread"


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 784)), rng.integers(0, 10, n)


def parameters(net: digitnet.Network) -> list[np.ndarray]:
    return [*net.weights, *net.biases]


def run_in_threads(jobs: list[Callable[[], Any]]) -> list[BaseException]:
    """Runs the jobs in threads started together; returns the exceptions they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


# ============================================================ separate networks, in parallel

# Two different training setups, so that the parallel runs share no code path by accident: the
# second draws dropout masks and image transformations from its network's random stream.
SETUPS: list[dict[str, Any]] = [
    {"seed": 1, "options": {}},
    {
        "seed": 2,
        "options": {
            "dropout": 0.2,
            "optimizer": "momentum",
            "augment": digitnet.Augment(max_shift=1.0, max_rotation=5.0),
        },
    },
]


def test_separate_networks_train_in_parallel_exactly_as_in_sequence() -> None:
    x, y = data(10_000)
    setups = SETUPS

    def make() -> list[digitnet.Network]:
        return [digitnet.Network([784, 100, 10], seed=s["seed"]) for s in setups]

    def train(net: digitnet.Network, options: dict[str, Any]) -> None:
        net.SGD((x, y), 2, 10, 0.5, verbose=False, **options)

    sequential = make()
    started = time.perf_counter()
    for net, setup in zip(sequential, setups, strict=True):
        train(net, setup["options"])
    one_after_the_other = time.perf_counter() - started

    parallel = make()
    started, cpu = time.perf_counter(), time.process_time()
    errors = run_in_threads(
        [lambda n=n, s=s: train(n, s["options"]) for n, s in zip(parallel, setups, strict=True)]
    )
    together, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert errors == []

    for a, b in zip(sequential, parallel, strict=True):
        for p, q in zip(parameters(a), parameters(b), strict=True):
            np.testing.assert_array_equal(p, q)
    # CPU time over wall time is how many cores the two threads actually got: on a loaded
    # machine it can be 1 however well the GIL is released (no speed-up is asserted).
    print(
        f"\n2 networks training: {one_after_the_other:.2f} s one after the other, "
        f"{together:.2f} s in 2 threads: speed-up {one_after_the_other / together:.2f}x "
        f"(process CPU time / wall time in threads: {cpu / together:.2f})"
    )


def test_training_lets_other_python_threads_run() -> None:
    """Evidence that training releases the GIL: a pure-Python thread keeps running while a
    network trains. Were the GIL held through the call, the thread's longest pause would be the
    whole training time; the bound, a quarter of it, leaves a loaded machine's scheduler room
    (the exact figures are printed, not asserted)."""
    x, y = data(5_000, seed=1)
    net = digitnet.Network([784, 100, 10], seed=1)
    stop = threading.Event()
    progress: list[float] = []

    def spin() -> None:
        count, longest, last = 0, 0.0, time.perf_counter()
        while not stop.is_set():
            count += 1
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        progress.extend([count, longest])

    spinner = threading.Thread(target=spin)
    spinner.start()
    started = time.perf_counter()
    net.SGD((x, y), 3, 10, 0.5, verbose=False)
    seconds = time.perf_counter() - started
    stop.set()
    spinner.join()
    count, longest = progress
    print(
        f"\nduring {seconds:.2f} s of training a Python thread made {count / seconds:,.0f} "
        f"steps/s; its longest pause was {longest * 1000:.1f} ms"
    )
    assert count > 0
    assert longest < seconds / 4, f"the thread stalled {longest:.2f} s of {seconds:.2f} s"


def test_many_threads_each_with_its_own_network() -> None:
    """Four threads, each training, copying and evaluating its own network, agree with the same
    work done in one thread."""
    x, y = data(2_000, seed=3)

    def work(seed: int, out: dict[int, list[np.ndarray]]) -> None:
        net = digitnet.Network(
            [784, 30, 10], seed=seed, dtype=np.float32 if seed % 2 else np.float64
        )
        net.SGD((x, y), 2, 10, 1.0, verbose=False, optimizer="adam" if seed % 3 else None)
        clone = net.copy()
        clone.train_epoch((x, y), 20, 0.5)
        out[seed] = [*parameters(clone), net.predict(x).astype(np.float64)]

    threaded: dict[int, list[np.ndarray]] = {}
    assert run_in_threads([lambda s=s: work(s, threaded) for s in range(4)]) == []
    alone: dict[int, list[np.ndarray]] = {}
    for seed in range(4):
        work(seed, alone)
    for seed in range(4):
        for p, q in zip(threaded[seed], alone[seed], strict=True):
            np.testing.assert_array_equal(p, q)


# ======================================================================= one shared network


def shared_operations(
    net: digitnet.Network, x: np.ndarray, y: np.ndarray, tmp: Path
) -> dict[str, Callable[[], Any]]:
    """Every public way of reading or changing a network, on small inputs."""
    rng = np.random.default_rng(9)
    new_weights = [rng.normal(0, 0.1, w.shape) for w in net.weights]
    new_biases = [rng.normal(0, 0.1, b.shape) for b in net.biases]
    xs, ys = x[:50], y[:50]
    return {
        "weights": lambda: net.weights,
        "biases": lambda: net.biases,
        "set weights": lambda: setattr(net, "weights", new_weights),
        "set biases": lambda: setattr(net, "biases", new_biases),
        "set weights[1]": lambda: net.weights.__setitem__(1, new_weights[1]),
        "feedforward": lambda: net.feedforward(xs),
        "predict": lambda: net.predict(xs),
        "evaluate": lambda: net.evaluate((xs, ys)),
        "total_cost": lambda: net.total_cost((xs, ys)),
        "backprop": lambda: net.backprop(xs[:5], np.eye(10)[ys[:5]]),
        "update_mini_batch": lambda: net.update_mini_batch((xs[:10], ys[:10]), 0.5),
        "train_epoch": lambda: net.train_epoch((xs, ys), 10, 0.5),
        "SGD": lambda: net.SGD((xs, ys), 1, 10, 0.5, verbose=False),
        "copy": lambda: net.copy(),
        "deepcopy": lambda: copy.deepcopy(net),
        "pickle": lambda: pickle.dumps(net),
        "save": lambda: net.save(tmp / "shared.json"),
        "default_weight_initializer": lambda: net.default_weight_initializer(),
        "large_weight_initializer": lambda: net.large_weight_initializer(),
    }


def test_one_network_from_two_threads_is_never_corrupted(tmp_path: Path) -> None:
    """Thread A trains while thread B calls everything else on the same network: each call
    succeeds or raises RuntimeError; afterwards the network is whole, finite and trains on."""
    x, y = data(5_000, seed=4)
    net = digitnet.Network([784, 30, 10], seed=0)
    operations = shared_operations(net, x, y, tmp_path)
    outcomes: Counter[tuple[str, str]] = Counter()
    unexpected: list[BaseException] = []
    deadline = time.perf_counter() + 1.0

    def trainer() -> None:
        while time.perf_counter() < deadline:
            try:
                net.SGD((x, y), 1, 10, 0.5, verbose=False)
                outcomes["A: SGD", "ok"] += 1
            except RuntimeError:
                outcomes["A: SGD", "refused"] += 1

    def meddler() -> None:
        while time.perf_counter() < deadline:
            for name, operation in operations.items():
                try:
                    operation()
                    outcomes[name, "ok"] += 1
                except RuntimeError:
                    outcomes[name, "refused"] += 1
                except Exception as error:
                    unexpected.append(error)

    assert run_in_threads([trainer, meddler]) == []
    assert unexpected == []
    refused = sum(v for (_, kind), v in outcomes.items() if kind == "refused")
    done = sum(v for (_, kind), v in outcomes.items() if kind == "ok")
    print(f"\nshared network, 1 s: {done} calls succeeded, {refused} refused")
    assert outcomes["A: SGD", "ok"] >= 1
    assert refused >= 1, "the two threads never overlapped"

    # Whole and consistent: the right shapes, finite, the same seen through every accessor.
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert all(np.all(np.isfinite(p)) for p in parameters(net))
    np.testing.assert_array_equal(net.predict(x), net.feedforward(x).argmax(axis=1))
    np.testing.assert_array_equal(net.copy().feedforward(x[:9]), net.feedforward(x[:9]))
    before = net.weights[0].copy()
    net.SGD((x, y), 1, 10, 0.5, verbose=False)
    assert not np.array_equal(net.weights[0], before)
    assert all(np.all(np.isfinite(p)) for p in parameters(net))


def operation_names() -> list[str]:
    net = digitnet.Network([784, 2, 10], seed=0)
    return list(shared_operations(net, *data(50), Path()).keys())


@pytest.mark.parametrize("name", operation_names())
def test_a_refusal_says_the_network_is_in_use(name: str, tmp_path: Path) -> None:
    """While another thread trains the network, the call is refused with a message that says
    why (or, if it is safe, succeeds)."""
    x, y = data(2_000, seed=5)
    net = digitnet.Network([784, 30, 10], seed=0)
    operation = shared_operations(net, x, y, tmp_path)[name]
    stop = threading.Event()
    started = threading.Event()

    holder_refusals: list[str] = []

    def hold() -> None:
        def on_epoch(result: digitnet.EpochResult) -> bool:
            started.set()
            return stop.is_set()

        while not stop.is_set():
            try:
                net.SGD((x, y), 10**6, 10, 0.1, verbose=False, callback=on_epoch)
            except RuntimeError as error:  # the other thread got in first: train on
                holder_refusals.append(str(error))

    holder = threading.Thread(target=hold)
    holder.start()
    messages: list[str] = []
    try:
        assert started.wait(10)
        deadline = time.perf_counter() + 2.0
        while not messages and time.perf_counter() < deadline:
            try:
                operation()
            except RuntimeError as error:
                messages.append(str(error))
    finally:
        stop.set()
        holder.join()
    assert messages, f"{name} was never refused while the network trained"
    assert IN_USE in messages[0], messages[0]
    assert all(IN_USE in m for m in holder_refusals), holder_refusals


def test_concurrent_predictions_on_one_network_are_correct() -> None:
    """Inference only reads: several threads predicting at once on one network all succeed and
    get what a single thread gets."""
    net = digitnet.Network([784, 64, 10], seed=2)
    inputs = [data(3_000, seed=10 + i)[0] for i in range(4)]
    expected = [(net.predict(x), net.feedforward(x)) for x in inputs]
    results: dict[int, list[tuple[np.ndarray, np.ndarray, int]]] = {i: [] for i in range(4)}

    def reader(i: int) -> None:
        for _ in range(15):
            predicted = net.predict(inputs[i])
            results[i].append(
                (predicted, net.feedforward(inputs[i]), net.evaluate((inputs[i], predicted)))
            )

    assert run_in_threads([lambda i=i: reader(i) for i in range(4)]) == []
    for i in range(4):
        assert len(results[i]) == 15
        for predicted, outputs, correct in results[i]:
            np.testing.assert_array_equal(predicted, expected[i][0])
            np.testing.assert_array_equal(outputs, expected[i][1])
            assert correct == 3_000


def test_inference_threads_setting_is_shared_safely() -> None:
    """``set_num_threads`` from one thread while others predict: every prediction is right."""
    net = digitnet.Network([784, 32, 10], seed=3)
    x = data(20_000, seed=6)[0]
    expected = net.predict(x)
    original = digitnet.get_num_threads()
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for threads in (1, 2, 3):
                digitnet.set_num_threads(threads)

    def predict() -> None:
        for _ in range(10):
            np.testing.assert_array_equal(net.predict(x), expected)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        assert run_in_threads([predict, predict]) == []
    finally:
        stop.set()
        flipper.join()
        digitnet.set_num_threads(original)
