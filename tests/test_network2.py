"""network2.py's users switch by changing one import: the book's chapter 3 script runs
unchanged on ``digitnet.network2``, prints what network2.py prints, returns its four lists, and
reads and writes its model files.

The reference for each figure is network2.py's own formula, written out here in NumPy.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import digitnet
from digitnet import network2 as network2
from digitnet.datasets import mnist
from digitnet.errors import ModelFileError

Pairs = list[tuple[np.ndarray, Any]]


# ---- network2.py's formulas, in NumPy -------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def feedforward(weights: list[np.ndarray], biases: list[np.ndarray], a: np.ndarray) -> np.ndarray:
    """network2.py's ``feedforward`` of one column."""
    for b, w in zip(biases, weights, strict=True):
        a = sigmoid(np.dot(w, a) + b)
    return a


def total_cost(net: network2.Network, data: Pairs, lmbda: float, convert: bool = False) -> float:
    """network2.py's ``total_cost``, line for line."""
    weights, biases = list(net.weights), list(net.biases)
    cost = 0.0
    for x, y in data:
        a = feedforward(weights, biases, x)
        if convert:
            y = network2.vectorized_result(y)
        cost += net.cost.fn(a, y) / len(data)
    cost += 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2 for w in weights)
    return cost


def accuracy(net: network2.Network, data: Pairs, convert: bool = False) -> int:
    """network2.py's ``accuracy``: with ``convert`` the ``y`` are one-hot columns."""
    weights, biases = list(net.weights), list(net.biases)
    results = [
        (int(np.argmax(feedforward(weights, biases, x))), int(np.argmax(y)) if convert else y)
        for x, y in data
    ]
    return sum(int(x == y) for x, y in results)


# ---- data in network2.py's format -----------------------------------------------------------


def synthetic_data(n_train: int = 600, n_eval: int = 200, seed: int = 0) -> tuple[Pairs, Pairs]:
    """784-pixel "images" whose label is the brightest of ten bands of rows, as network2.py's
    lists: training pairs (x column, one-hot column), evaluation pairs (x column, int)."""
    rng = np.random.default_rng(seed)

    def sample() -> tuple[np.ndarray, int]:
        label = int(rng.integers(0, 10))
        image = rng.uniform(0, 0.5, 784)
        image[label * 78 : label * 78 + 78] += 0.5
        return image.reshape(784, 1), label

    training = [(x, network2.vectorized_result(j)) for x, j in (sample() for _ in range(n_train))]
    evaluation = [sample() for _ in range(n_eval)]
    return training, evaluation


@pytest.fixture(scope="module")
def mnist_slice(mnist_dir: Path) -> tuple[Pairs, Pairs]:
    training_data, validation_data, _test_data = mnist.load_data_wrapper(mnist_dir)
    return training_data[:1000], validation_data[:300]


# ---- the chapter 3 script -------------------------------------------------------------------

EPOCH_LINES = [
    r"Epoch (\d+) training complete",
    r"Cost on training data: (\S+)",
    r"Accuracy on training data: (\d+) / (\d+)",
    r"Cost on evaluation data: (\S+)",
    r"Accuracy on evaluation data: (\d+) / (\d+)",
    r"",
]


def chapter3_script(training_data: Pairs, validation_data: Pairs, epochs: int) -> dict[str, Any]:
    """The book's chapter 3 usage, with only the import changed."""
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data,
        epochs,
        10,
        0.5,
        lmbda=5.0,
        evaluation_data=validation_data,
        monitor_evaluation_accuracy=True,
        monitor_evaluation_cost=True,
        monitor_training_accuracy=True,
        monitor_training_cost=True,
    )
    return {
        "net": net,
        "evaluation_cost": evaluation_cost,
        "evaluation_accuracy": evaluation_accuracy,
        "training_cost": training_cost,
        "training_accuracy": training_accuracy,
    }


def check_script(
    result: dict[str, Any],
    output: str,
    training_data: Pairs,
    validation_data: Pairs,
    epochs: int,
) -> None:
    net = result["net"]
    assert isinstance(net, network2.Network)
    for key in ("evaluation_cost", "evaluation_accuracy", "training_cost", "training_accuracy"):
        assert len(result[key]) == epochs, key
    # The printed lines: network2.py's, epoch by epoch, with the figures it returns.
    lines = output.split("\n")
    assert lines[-1] == ""  # the output ends with a newline
    lines = lines[:-1]
    assert len(lines) == len(EPOCH_LINES) * epochs
    for epoch in range(epochs):
        block = lines[epoch * len(EPOCH_LINES) : (epoch + 1) * len(EPOCH_LINES)]
        found = [re.fullmatch(p, line) for p, line in zip(EPOCH_LINES, block, strict=True)]
        assert all(found), block
        groups = [m.groups() for m in found if m is not None]
        assert int(groups[0][0]) == epoch
        assert float(groups[1][0]) == result["training_cost"][epoch]
        assert (int(groups[2][0]), int(groups[2][1])) == (
            result["training_accuracy"][epoch],
            len(training_data),
        )
        assert float(groups[3][0]) == result["evaluation_cost"][epoch]
        assert (int(groups[4][0]), int(groups[4][1])) == (
            result["evaluation_accuracy"][epoch],
            len(validation_data),
        )
    # The monitored figures are network2.py's formulas applied to the final network.
    lmbda = 5.0
    rel = 1e-10  # the engine's sums run in another order than the formula's loop
    assert net.total_cost(training_data, lmbda) == pytest.approx(
        total_cost(net, training_data, lmbda), rel=rel
    )
    assert net.total_cost(validation_data, lmbda, convert=True) == pytest.approx(
        total_cost(net, validation_data, lmbda, convert=True), rel=rel
    )
    assert result["training_cost"][-1] == pytest.approx(
        net.total_cost(training_data, lmbda), rel=1e-12
    )
    assert result["evaluation_cost"][-1] == pytest.approx(
        net.total_cost(validation_data, lmbda, convert=True), rel=1e-12
    )
    assert net.accuracy(training_data, convert=True) == accuracy(net, training_data, True)
    assert net.accuracy(training_data, convert=True) == result["training_accuracy"][-1]
    assert net.accuracy(validation_data) == accuracy(net, validation_data)
    assert net.accuracy(validation_data) == result["evaluation_accuracy"][-1]


def test_chapter3_script_on_synthetic_data(capsys: pytest.CaptureFixture[str]) -> None:
    training_data, validation_data = synthetic_data()
    result = chapter3_script(training_data, validation_data, 3)
    check_script(result, capsys.readouterr().out, training_data, validation_data, 3)
    assert result["evaluation_accuracy"][-1] >= 0.9 * len(validation_data)


@pytest.mark.slow
def test_chapter3_script_on_real_mnist(
    mnist_slice: tuple[Pairs, Pairs], capsys: pytest.CaptureFixture[str]
) -> None:
    training_data, validation_data = mnist_slice
    assert training_data[0][0].shape == (784, 1)
    assert training_data[0][1].shape == (10, 1)
    assert isinstance(validation_data[0][1], int)
    result = chapter3_script(training_data, validation_data, 3)
    check_script(result, capsys.readouterr().out, training_data, validation_data, 3)
    # On 1,000 images (where λ = 5 weighs heavily) three epochs reach about 72% (10 runs:
    # 70.7-80%); chance is 10%.
    assert result["evaluation_accuracy"][-1] >= 0.5 * len(validation_data)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    training_data, validation_data = synthetic_data(200, 50)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.SGD(training_data, 1, 10, 0.5, lmbda=5.0)
    filename = str(tmp_path / "net.json")  # network2.py's users pass a string
    net.save(filename)
    loaded = network2.load(filename)
    assert isinstance(loaded, network2.Network)
    assert loaded.sizes == [784, 30, 10]
    assert loaded.cost is network2.CrossEntropyCost
    for a, b in zip([*net.weights, *net.biases], [*loaded.weights, *loaded.biases], strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.accuracy(validation_data) == net.accuracy(validation_data)
    # network2.py's own ``load`` reads it: json, then np.array of each list.
    data = json.loads(Path(filename).read_text())
    assert data["cost"] == "CrossEntropyCost"
    assert data["sizes"] == [784, 30, 10]
    np.testing.assert_array_equal(np.array(data["biases"][1]), net.biases[1])
    # The loaded network trains on with network2.py's SGD.
    assert len(loaded.SGD(training_data, 1, 10, 0.5, 5.0, validation_data, False, True)[1]) == 1


def test_sgd_takes_network2s_arguments_by_position(capsys: pytest.CaptureFixture[str]) -> None:
    training_data, validation_data = synthetic_data(100, 30)
    net = network2.Network([784, 10, 10])
    lists = net.SGD(training_data, 2, 10, 0.5, 5.0, validation_data, True, True, True, True)
    assert [len(x) for x in lists] == [2, 2, 2, 2]
    assert capsys.readouterr().out.count("training complete") == 2


def test_without_monitoring_sgd_returns_four_empty_lists() -> None:
    training_data, _ = synthetic_data(50, 0)
    net = network2.Network([784, 10, 10])
    assert net.SGD(training_data, 1, 10, 0.5) == ([], [], [], [])


def test_without_monitoring_the_output_is_network2s(capsys: pytest.CaptureFixture[str]) -> None:
    training_data, _ = synthetic_data(50, 0)
    network2.Network([784, 10, 10]).SGD(training_data, 2, 10, 0.5)
    assert capsys.readouterr().out == "Epoch 0 training complete\n\nEpoch 1 training complete\n\n"


def test_default_initialisation_is_network2s() -> None:
    """network2.py starts with weights N(0, 1/n_in), biases N(0, 1);
    ``large_weight_initializer`` switches to chapter 1's N(0, 1)."""
    net = network2.Network([784, 100, 10])
    assert abs(float(np.std(net.weights[0])) * 28 - 1) < 0.02
    assert abs(float(np.std(net.weights[1])) * 10 - 1) < 0.1
    assert abs(float(np.std(np.concatenate([b.ravel() for b in net.biases]))) - 1) < 0.2
    net.large_weight_initializer()
    assert abs(float(np.std(net.weights[0])) - 1) < 0.02
    assert net.cost is network2.CrossEntropyCost


def test_module_helpers_are_network2s() -> None:
    e = network2.vectorized_result(3)
    assert e.shape == (10, 1)
    assert e[3, 0] == 1.0
    assert e.sum() == 1.0
    assert network2.sigmoid(0.0) == 0.5
    assert network2.sigmoid_prime(0.0) == 0.25
    a, y = np.array([[0.8], [0.1]]), np.array([[1.0], [0.0]])
    expected = -np.log(0.8) - np.log(0.9)
    assert network2.CrossEntropyCost.fn(a, y) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_array_equal(network2.CrossEntropyCost.delta(None, a, y), a - y)
    z = np.array([[0.3], [-2.0]])
    np.testing.assert_allclose(
        network2.QuadraticCost.delta(z, a, y), (a - y) * sigmoid(z) * (1 - sigmoid(z)), rtol=1e-14
    )
    assert network2.QuadraticCost.fn(a, y) == pytest.approx(0.5 * (0.2**2 + 0.1**2), rel=1e-15)


# ---- files written by network2.py -------------------------------------------------------------


def write_network2_file(path: Path, sizes: list[int], cost: str, seed: int) -> dict[str, Any]:
    """What network2.py's ``Network.save`` writes: ``json.dump`` of sizes, weights and biases
    as nested lists (biases as columns) and the cost class's ``__name__``."""
    rng = np.random.default_rng(seed)
    data = {
        "sizes": sizes,
        "weights": [rng.standard_normal((y, x)).tolist() for x, y in itertools.pairwise(sizes)],
        "biases": [rng.standard_normal((y, 1)).tolist() for y in sizes[1:]],
        "cost": cost,
    }
    with open(path, "w") as f:
        json.dump(data, f)
    return data


@pytest.mark.parametrize("cost", ["CrossEntropyCost", "QuadraticCost"])
def test_a_network2_file_predicts_as_its_parameters_do(tmp_path: Path, cost: str) -> None:
    data = write_network2_file(tmp_path / "net2.json", [784, 30, 10], cost, seed=1)
    net = network2.load(str(tmp_path / "net2.json"))
    assert isinstance(net, network2.Network)
    assert net.cost is getattr(network2, cost)
    weights = [np.array(w) for w in data["weights"]]
    biases = [np.array(b) for b in data["biases"]]
    _, validation_data = synthetic_data(0, 300, seed=2)
    for x, _label in validation_data[:50]:
        out = net.feedforward(x)
        assert out.shape == (10, 1)
        np.testing.assert_allclose(out, feedforward(weights, biases, x), rtol=1e-12, atol=1e-300)
    expected = sum(int(np.argmax(feedforward(weights, biases, x)) == y) for x, y in validation_data)
    assert net.accuracy(validation_data) == expected
    xs = np.hstack([x for x, _ in validation_data]).T
    np.testing.assert_array_equal(
        net.predict(xs), [np.argmax(feedforward(weights, biases, x)) for x, _ in validation_data]
    )


def test_digitnet_extensions_survive_network2_load(tmp_path: Path) -> None:
    net = digitnet.Network([6, 5, 4], seed=1, activation="relu", cost="LogLikelihoodCost")
    net.save(tmp_path / "relu.json")
    loaded = network2.load(tmp_path / "relu.json")
    assert isinstance(loaded, network2.Network)
    assert loaded.activations == ["relu", "softmax"]
    assert loaded.cost is network2.LogLikelihoodCost
    x = np.random.default_rng(0).standard_normal((3, 6))
    np.testing.assert_array_equal(loaded.feedforward(x), net.feedforward(x))


def hostile(tmp_path: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "sizes": [2, 1],
        "weights": [[[1.0, 2.0]]],
        "biases": [[[0.5]]],
        "cost": "CrossEntropyCost",
    }
    data.update(changes)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # network2.py's own load would getattr() this name on its module.
        ({"cost": "os.system"}, "cost must be one of"),
        ({"cost": "__import__('os').system('echo pwned')"}, "cost must be one of"),
        ({"cost": "sigmoid"}, "cost must be one of"),  # a name network2 does have
        ({"cost": ["CrossEntropyCost"]}, "cost must be one of"),
        ({"cost": {"__class__": "CrossEntropyCost"}}, "cost must be one of"),
        ({"sizes": [10**6, 10**6]}, "too many"),
        ({"sizes": [2] * 100_000}, "at most"),
        ({"sizes": [2, -1]}, r"sizes\[1\]"),
        ({"sizes": [2, 1.5]}, r"sizes\[1\]"),
        ({"cost": "LogLikelihoodCost"}, "LogLikelihoodCost"),  # no softmax output: invalid
        ({"activations": ["softmax"], "cost": "QuadraticCost"}, "QuadraticCost"),
        ({"activations": "relu"}, "activations must be a list"),
        ({"activations": ["relu", "relu"]}, "activations must be a list"),
        ({"activations": [{"name": "relu"}]}, "activations must be a list"),
        ({"activations": ["eval"]}, "unknown 'eval'"),
    ],
)
def test_network2_load_refuses_hostile_files(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = hostile(tmp_path, **changes)
    with pytest.raises(ModelFileError, match=message) as info:
        network2.load(path)
    assert str(path) in str(info.value)


def test_network2_load_refuses_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        network2.load(tmp_path)
    with pytest.raises(ModelFileError, match="cannot read"):
        network2.load(str(tmp_path / "absent.json"))
