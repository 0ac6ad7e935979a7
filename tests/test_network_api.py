"""digitnet.Network used the way network.py is used, and its array fast path."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close

import digitnet
from digitnet import reference


def network_py_data(n: int, seed: int = 0) -> tuple[list, list]:
    """A toy problem in network.py's formats: class = which of 3 input groups is brightest."""
    rng = np.random.default_rng(seed)
    training, test = [], []
    for _ in range(n):
        label = int(rng.integers(0, 3))
        x = rng.uniform(0, 0.3, (6, 1))
        x[2 * label : 2 * label + 2] += 0.7
        y = np.zeros((3, 1))
        y[label] = 1.0
        training.append((x, y))
        test.append((x, label))
    return training, test


@pytest.mark.parametrize("impl", [digitnet, reference])
def test_network_py_attributes(impl) -> None:
    net = impl.Network([784, 30, 10], seed=3)
    assert net.sizes == [784, 30, 10]
    assert net.num_layers == 3
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    assert all(w.dtype == np.float64 for w in [*net.weights, *net.biases])


def test_a_network_py_script_runs_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    training_data, test_data = network_py_data(300)
    net = digitnet.Network([6, 8, 3], seed=1)
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Epoch 0: ")
    assert lines[-1].startswith("Epoch 29: ")
    assert lines[-1].endswith(" / 300")
    assert net.evaluate(test_data) >= 285
    assert net.feedforward(training_data[0][0]).shape == (3, 1)


def test_sgd_without_test_data_prints_complete(capsys: pytest.CaptureFixture[str]) -> None:
    training_data, _ = network_py_data(20)
    history = digitnet.Network([6, 3], seed=1).SGD(training_data, 2, 5, 1.0)
    assert capsys.readouterr().out.splitlines() == ["Epoch 0 complete", "Epoch 1 complete"]
    assert [r.epoch for r in history] == [0, 1]
    assert history.accuracies == [None, None]


def test_sgd_accepts_zip_iterators_and_arrays_alike() -> None:
    training_data, test_data = network_py_data(100)
    xs = np.stack([x.ravel() for x, _ in training_data])
    labels = np.array([label for _, label in test_data])
    one_hot = np.stack([y.ravel() for _, y in training_data])
    nets = [digitnet.Network([6, 5, 3], seed=7) for _ in range(4)]
    nets[0].SGD(training_data, 3, 10, 2.0, verbose=False)
    nets[1].SGD(
        zip([x for x, _ in training_data], [y for _, y in training_data], strict=True),
        3,
        10,
        2.0,
        verbose=False,
    )
    nets[2].SGD((xs, labels), 3, 10, 2.0, verbose=False)
    nets[3].SGD((xs, one_hot), 3, 10, 2.0, verbose=False)
    for other in nets[1:]:
        for a, b in zip(other.weights, nets[0].weights, strict=True):
            np.testing.assert_array_equal(a, b)
    assert nets[0].evaluate(test_data) == nets[0].evaluate((xs, labels))


def test_history_records_each_epoch() -> None:
    training_data, test_data = network_py_data(200)
    history = digitnet.Network([6, 8, 3], seed=2).SGD(
        training_data, 4, 10, 3.0, test_data=test_data, verbose=False
    )
    assert len(history) == 4
    assert all(r.total == 200 and 0 <= r.correct <= 200 for r in history)
    assert all(r.seconds >= 0 for r in history)
    assert history.best().accuracy == max(history.accuracies)


def test_callback_can_stop_training() -> None:
    training_data, test_data = network_py_data(50)
    seen = []
    history = digitnet.Network([6, 3], seed=1).SGD(
        training_data,
        10,
        5,
        1.0,
        test_data=test_data,
        verbose=False,
        callback=lambda r: seen.append(r.epoch) or r.epoch == 2,
    )
    assert seen == [0, 1, 2]
    assert len(history) == 3


def test_the_callback_may_use_the_network() -> None:
    training_data, test_data = network_py_data(50)
    net = digitnet.Network([6, 3], seed=1)
    counts = []
    net.SGD(
        training_data,
        3,
        5,
        1.0,
        verbose=False,
        callback=lambda r: counts.append(net.evaluate(test_data)),
    )
    assert len(counts) == 3


def test_feedforward_shapes() -> None:
    net = digitnet.Network([4, 3, 2], seed=0)
    batch = np.random.default_rng(0).standard_normal((7, 4))
    assert net.feedforward(batch).shape == (7, 2)
    assert net.feedforward(batch[0]).shape == (2,)
    assert net.feedforward(batch[0].reshape(4, 1)).shape == (2, 1)
    np.testing.assert_array_equal(net.feedforward(batch)[3], net.feedforward(batch[3]))
    assert list(net.predict(batch)) == list(net.feedforward(batch).argmax(axis=1))


def test_feedforward_by_hand() -> None:
    net = digitnet.Network([2, 1], seed=0)
    net.weights = [np.array([[0.5, -1.0]])]
    net.biases = [np.array([[0.25]])]
    out = net.feedforward(np.array([[2.0], [1.0]]))
    assert out[0, 0] == pytest.approx(1 / (1 + np.exp(-0.25)), rel=1e-15)


def test_weights_can_be_assigned_but_not_silently_edited() -> None:
    net = digitnet.Network([3, 2], seed=0)
    new = np.arange(6.0).reshape(2, 3)
    net.weights = [new]
    np.testing.assert_array_equal(net.weights[0], new)
    net.weights[0] = 2 * new  # item assignment writes through
    np.testing.assert_array_equal(net.weights[0], 2 * new)
    net.biases[0] = np.ones(2)  # a 1-D bias is accepted too
    np.testing.assert_array_equal(net.biases[0], np.ones((2, 1)))
    with pytest.raises(ValueError, match="read-only"):
        net.weights[0][0, 0] = 99.0
    with pytest.raises(ValueError, match="read-only"):
        net.biases[0] += 1
    np.testing.assert_array_equal(net.weights[0], 2 * new)
    new[0, 0] = -5  # the network holds its own copy
    assert net.weights[0][0, 0] == 0.0


def test_cost_derivative() -> None:
    net = digitnet.Network([2, 2], seed=0)
    np.testing.assert_array_equal(
        net.cost_derivative(np.array([[0.5], [0.25]]), np.array([[1.0], [0.0]])),
        np.array([[-0.5], [0.25]]),
    )


def test_backprop_of_a_batch_is_the_sum_over_its_samples() -> None:
    rng = np.random.default_rng(5)
    net = digitnet.Network([4, 5, 3], seed=1)
    x, y = rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    batch_b, batch_w = net.backprop(x, y)
    singles = [net.backprop(x[i].reshape(4, 1), y[i].reshape(3, 1)) for i in range(6)]
    for layer in range(2):
        assert_close(batch_w[layer], sum(s[1][layer] for s in singles), rtol=1e-13)
        assert_close(batch_b[layer], sum(s[0][layer] for s in singles), rtol=1e-13)


def test_backprop_accepts_an_integer_label() -> None:
    net = digitnet.Network([3, 4], seed=1)
    x = np.ones((3, 1))
    by_label = net.backprop(x, 2)
    by_vector = net.backprop(x, np.eye(4)[:, [2]])
    for a, b in zip(by_label[1], by_vector[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_update_mini_batch_takes_network_py_tuples() -> None:
    training_data, _ = network_py_data(10)
    a, b = digitnet.Network([6, 3], seed=4), digitnet.Network([6, 3], seed=4)
    a.update_mini_batch(training_data, 3.0)
    b.update_mini_batch(
        (
            np.stack([x.ravel() for x, _ in training_data]),
            np.stack([y.ravel() for _, y in training_data]),
        ),
        3.0,
    )
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[0], digitnet.Network([6, 3], seed=4).weights[0])


def test_module_functions() -> None:
    assert digitnet.sigmoid(0.0) == 0.5
    assert isinstance(digitnet.sigmoid(1), float)
    np.testing.assert_allclose(
        digitnet.sigmoid_prime([0.0, 100.0]), [0.25, np.exp(-100.0)], rtol=1e-14
    )


def test_core_is_the_compiled_extension() -> None:
    assert digitnet._core.__file__.endswith((".so", ".pyd"))


def test_copy_trains_on_exactly_as_the_original() -> None:
    import copy

    training_data, _ = network_py_data(60)
    net = digitnet.Network([6, 5, 3], seed=9)
    net.SGD(training_data, 1, 10, 3.0, verbose=False)
    twin = copy.deepcopy(net)
    for n in (net, twin):
        n.SGD(training_data, 2, 10, 3.0, verbose=False)
    for a, b in zip([*net.weights, *net.biases], [*twin.weights, *twin.biases], strict=True):
        np.testing.assert_array_equal(a, b)
    twin.weights = [np.zeros((5, 6)), np.zeros((3, 5))]
    assert net.weights[0].any(), "the copy is independent"


def test_pickle_round_trip_keeps_parameters_and_dtype() -> None:
    import pickle

    net = digitnet.Network([4, 3, 2], seed=5, dtype="float32")
    restored = pickle.loads(pickle.dumps(net))
    assert restored.sizes == net.sizes
    assert restored.seed == net.seed
    assert restored.dtype == np.float32
    for a, b in zip(
        [*net.weights, *net.biases], [*restored.weights, *restored.biases], strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_jupyter_reprs() -> None:
    net = digitnet.Network([4, 3, 2], seed=5)
    assert "<table" in net._repr_html_()
    history = net.SGD((np.zeros((4, 4)), np.array([0, 1, 0, 1])), 2, 2, 1.0, verbose=False)
    assert "<table" in history._repr_html_()


def test_inference_threads_change_speed_not_results() -> None:
    x = np.random.default_rng(0).uniform(0, 1, (5000, 20))
    net = digitnet.Network([20, 40, 10], seed=1)
    before = digitnet.get_num_threads()
    try:
        digitnet.set_num_threads(1)
        one = net.feedforward(x)
        digitnet.set_num_threads(3)
        assert digitnet.get_num_threads() == 3
        np.testing.assert_array_equal(net.feedforward(x), one)
        with pytest.raises(ValueError, match="threads"):
            digitnet.set_num_threads(0)
    finally:
        digitnet.set_num_threads(before)


def test_threads_from_the_environment() -> None:
    import subprocess
    import sys

    code = "import digitnet; print(digitnet.get_num_threads())"
    env = {**__import__("os").environ, "DIGITNET_NUM_THREADS": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "3"
    env["DIGITNET_NUM_THREADS"] = "many"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "DIGITNET_NUM_THREADS: must be a positive integer" in bad.stderr
