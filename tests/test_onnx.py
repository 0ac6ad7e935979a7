"""ONNX export checked by the software that runs it: onnx.checker on every file, onnxruntime's CPU
provider on real MNIST images agreeing with ``net.feedforward`` and ``net.predict``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from conftest import assert_close

import digitnet
from digitnet import cli
from digitnet.datasets import mnist
from digitnet.formats import onnx as onnx_format

#: (sizes, hidden activation, output activation, cost, learning rate): every activation as
#: output and as hidden layer, 2 to 4 layers (counting the input layer, as network.py does).
CASES = {
    "2 layers, softmax": ([784, 10], "sigmoid", "softmax", "LogLikelihoodCost", 0.5),
    "3 layers, sigmoid": ([784, 30, 10], "sigmoid", "sigmoid", "CrossEntropyCost", 0.5),
    "3 layers, tanh": ([784, 30, 10], "tanh", "tanh", "QuadraticCost", 0.1),
    "3 layers, relu into sigmoid": ([784, 30, 10], "relu", "sigmoid", "QuadraticCost", 1.0),
    "4 layers, relu": ([784, 40, 20, 10], "relu", "relu", "QuadraticCost", 0.02),
    "4 layers, tanh into softmax": ([784, 30, 20, 10], "tanh", "softmax", "LogLikelihoodCost", 0.1),
    "3 layers, identity (linear regression head)": (
        [784, 30, 10],
        "identity",
        "identity",
        "QuadraticCost",
        0.01,
    ),
    "3 layers, relu into exp (Poisson)": ([784, 30, 10], "relu", "exp", "PoissonCost", 0.01),
}
DTYPES = ("float64", "float32")
#: The agreement asked of onnxruntime, per dtype.
RTOL = {"float64": 1e-12, "float32": 1e-5}


@pytest.fixture(scope="module")
def splits(mnist_dir: Path) -> mnist.MnistSplits:
    return mnist.load_arrays(mnist_dir)


def trained(case: str, dtype: str, splits: mnist.MnistSplits) -> digitnet.Network:
    """The case's network after one epoch on 5,000 training images: outputs as a trained
    network has them (many near 0 or 1), in a second."""
    sizes, hidden, output, cost, eta = CASES[case]
    net = digitnet.Network(
        sizes, seed=7, dtype=dtype, cost=cost, activation=hidden, output=output, init="scaled"
    )
    x, y = splits.train
    net.SGD((x[:5000].astype(dtype), y[:5000]), 1, 10, eta, verbose=False)
    return net


def session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])


def assert_agrees(actual: np.ndarray, expected: np.ndarray, rtol: float, elementwise: bool) -> None:
    """onnxruntime's outputs within ``rtol`` of digitnet's: each relative to itself
    (``elementwise``), or all relative to the largest (conftest's normwise measure).

    Element-wise is the test for sigmoid, softmax and exp outputs in float64: they are positive
    and their relative error is the absolute error of ``z``. Outputs that are sums cancelling to
    near zero (tanh, ReLU), and float32 ones, whose tiny exp(z) moves by ``|z|·6e-8`` relative
    from the rounding of ``z`` alone, are measured normwise.
    """
    assert actual.dtype == expected.dtype
    if not elementwise:
        assert_close(actual, expected, rtol)
        return
    assert actual.shape == expected.shape
    error = np.abs(actual - expected) / np.abs(expected)
    worst = np.unravel_index(np.argmax(error), error.shape)
    assert error[worst] <= rtol, (
        f"output {worst}: onnxruntime {actual[worst]!r}, digitnet {expected[worst]!r}"
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_onnxruntime_agrees_on_1000_mnist_images(
    case: str, dtype: str, splits: mnist.MnistSplits, tmp_path: Path
) -> None:
    net = trained(case, dtype, splits)
    path = tmp_path / "model.onnx"
    net.to_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    x = splits.test.x[:1000].astype(dtype)
    activations, digits = session(path).run(None, {"input": x})
    elementwise = dtype == "float64" and net.activations[-1] in ("sigmoid", "softmax", "exp")
    assert_agrees(activations, net.feedforward(x), RTOL[dtype], elementwise)
    np.testing.assert_array_equal(digits, net.predict(x))
    assert digits.dtype == np.int64


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_batch_of_1_and_of_10000(dtype: str, splits: mnist.MnistSplits, tmp_path: Path) -> None:
    net = trained("3 layers, sigmoid", dtype, splits)
    net.to_onnx(tmp_path / "model.onnx")
    runtime = session(tmp_path / "model.onnx")
    for x in (splits.test.x[:1], splits.test.x):
        x = x.astype(dtype)
        activations, digits = runtime.run(None, {"input": x})
        assert activations.shape == (len(x), 10)
        assert digits.shape == (len(x),)
        assert_agrees(activations, net.feedforward(x), RTOL[dtype], dtype == "float64")
        np.testing.assert_array_equal(digits, net.predict(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_graph_states_its_versions_types_and_batch_dimension(
    dtype: str, tmp_path: Path
) -> None:
    net = digitnet.Network(
        [5, 4, 3, 2], seed=0, dtype=dtype, activation=["relu", "tanh"], output="softmax",
        cost="LogLikelihoodCost",
    )  # fmt: skip
    net.to_onnx(tmp_path / "m.onnx")
    model = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == onnx_format.IR_VERSION == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", onnx_format.OPSET)]
    element = onnx.TensorProto.DOUBLE if dtype == "float64" else onnx.TensorProto.FLOAT
    (graph_input,) = model.graph.input
    assert graph_input.name == "input"
    assert graph_input.type.tensor_type.elem_type == element
    dims = graph_input.type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("batch", 5)
    assert [o.name for o in model.graph.output] == ["activations", "digit"]
    assert [n.op_type for n in model.graph.node] == [
        "Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Softmax", "ArgMax"
    ]  # fmt: skip
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    np.testing.assert_array_equal(weights["layers.1.weight"], net.weights[1])
    np.testing.assert_array_equal(weights["layers.2.bias"], net.biases[2].reshape(-1))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["sizes"] == "[5, 4, 3, 2]"


def test_without_the_digit_output(tmp_path: Path) -> None:
    net = digitnet.Network([4, 3], seed=0)
    net.to_onnx(tmp_path / "m.onnx", digit=False)
    model = onnx.load(tmp_path / "m.onnx")
    assert [o.name for o in model.graph.output] == ["activations"]
    assert "ArgMax" not in [n.op_type for n in model.graph.node]
    x = np.random.default_rng(0).standard_normal((3, 4))
    (activations,) = session(tmp_path / "m.onnx").run(None, {"input": x})
    assert_agrees(activations, net.feedforward(x), 1e-12, elementwise=True)


def test_sigmoid_outputs_near_zero_keep_their_relative_accuracy(tmp_path: Path) -> None:
    """A trained network's wrong-class outputs are sigmoids of z around -10 to -40, where
    onnxruntime's own Sigmoid kernel returns 1e-3-relative errors or 0 (see formats/onnx.py)."""
    net = digitnet.Network([1, 1], seed=0)
    net.weights = [np.array([[1.0]])]
    net.biases = [np.array([[0.0]])]
    net.to_onnx(tmp_path / "m.onnx")
    z = -np.linspace(0, 700, 1401).reshape(-1, 1)
    activations, _ = session(tmp_path / "m.onnx").run(None, {"input": z})
    expected = net.feedforward(z)
    assert np.all(expected > 0)
    assert_agrees(activations, expected, 1e-12, elementwise=True)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_train_then_export_then_onnxruntime(
    mnist_dir: Path, splits: mnist.MnistSplits, tmp_path: Path
) -> None:
    """Done when: ``digitnet train --save model.safetensors``, ``digitnet export``, and
    onnxruntime reads the same digits as digitnet."""
    model, exported = tmp_path / "model.safetensors", tmp_path / "m.onnx"
    trained = run("train", "--epochs", "1", "--save", model, "--data-dir", mnist_dir)
    assert trained.returncode == 0, trained.stderr
    done = run("export", model, "--onnx", exported)
    assert done.returncode == 0, done.stderr
    assert f"Wrote {exported}" in done.stdout
    test = splits.test
    (activations, digits) = session(exported).run(None, {"input": test.x})
    net = digitnet.load(model)
    np.testing.assert_array_equal(digits, net.predict(test.x))
    assert_agrees(activations, net.feedforward(test.x), 1e-12, elementwise=True)
    assert np.mean(digits == test.y) > 0.7  # one epoch of the default run: ~82%; chance: 10%


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "missing.safetensors", d / "m.onnx"), "cannot read"),
        (lambda d: (d / "m.json", d / "no" / "such" / "dir.onnx"), "cannot write"),
        (lambda d: (d / "m.onnx", d / "out.onnx"), "not read back"),
    ],
    ids=["missing model", "unwritable output", "an onnx model"],
)
def test_export_errors_are_one_line(
    make: Callable[[Path], tuple[Path, Path]], message: str, tmp_path: Path
) -> None:
    digitnet.Network([4, 2], seed=0).save(tmp_path / "m.json")
    (tmp_path / "m.onnx").write_bytes(b"")
    model, out = make(tmp_path)
    done = run("export", model, "--onnx", out)
    assert done.returncode == 1
    assert done.stderr.startswith("digitnet: error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_onnx_package_export_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes "import onnx" raise ImportError
    monkeypatch.delitem(sys.modules, "digitnet.formats.onnx")
    monkeypatch.delattr(digitnet.formats, "onnx")
    net = digitnet.Network([3, 2], seed=0)
    with pytest.raises(ImportError, match=r"pip install digitnet\[onnx\]"):
        net.to_onnx(tmp_path / "m.onnx")
    net.save(tmp_path / "m.safetensors")
    assert cli.main(["export", str(tmp_path / "m.safetensors"), "--onnx", "out.onnx"]) == 1
    assert "digitnet[onnx]" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
