"""The ``digitnet`` command line, run as users run it: in a separate process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import digitnet


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "-1"], "--epochs"),
        (["train", "--epochs", "two"], "--epochs"),
        (["train", "--batch-size", "0"], "--batch-size"),
        (["train", "--eta", "0"], "--eta"),
        (["train", "--eta", "nan"], "--eta"),
        (["train", "--sizes", "784,0,10"], "--sizes"),
        (["train", "--sizes", "100,30,10"], "784 inputs and 10 outputs"),
        (["train", "--sizes", "784;30;10"], "--sizes"),
        (["train", "--seed", "-4"], "--seed"),
        (["train", "--bogus"], "unrecognized arguments"),
        (["evaluate"], "model"),
        ([], "COMMAND"),
    ],
)
def test_usage_errors_exit_2_naming_the_option(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_data_is_one_clear_error(tmp_path: Path) -> None:
    result = run("train", "--epochs", "1", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "train-images-idx3-ubyte" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_refuses_a_bad_model_file(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{not json")
    result = run("evaluate", str(tmp_path / "m.json"))
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr


def test_train_save_and_evaluate(mnist_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    result = run(
        "train", "--epochs", "2", "--sizes", "784,20,10", "--data-dir", str(mnist_dir),
        "--save", str(model),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("Epoch   1/2: test accuracy")
    assert lines[2].startswith("Epoch   2/2: test accuracy")
    assert lines[3].startswith("Best: ")
    assert digitnet.load(model).sizes == [784, 20, 10]

    evaluated = run("evaluate", str(model), "--data-dir", str(mnist_dir))
    assert evaluated.returncode == 0, evaluated.stderr
    final = lines[2].split("accuracy")[1].split("%")[0].strip()
    assert f"Test accuracy: {final}%" in evaluated.stdout
    assert "Confusion matrix" in evaluated.stdout
    rows = [line for line in evaluated.stdout.splitlines() if line.startswith("  9:  ")]
    assert sum(int(v) for v in rows[-1].split()[1:]) == 1009  # test images of a 9


def test_ctrl_c_saves_a_valid_model_and_exits_130(mnist_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "train", "--data-dir", str(mnist_dir),
         "--sizes", "784,100,10", "--save", str(model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.readline()  # "Training ..." : the data is loaded and training has begun
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert json.loads(model.read_text())["sizes"] == [784, 100, 10]
    assert not [p for p in tmp_path.iterdir() if p.name != "model.json"]


def test_train_with_network2_options_and_beyond(mnist_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    result = run(
        "train", "--epochs", "2", "--sizes", "784,40,10", "--data-dir", str(mnist_dir),
        "--cost", "LogLikelihoodCost", "--activation", "relu", "--init", "scaled",
        "--optimizer", "momentum", "--eta", "0.05", "--lmbda", "1", "--dropout", "0.1",
        "--shift", "1", "--early-stopping", "3", "--dtype", "float32", "--save", str(model),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "validation" in result.stdout
    final = float(result.stdout.split("final: ")[1].split("%")[0])
    assert final > 85.0
    loaded = digitnet.load(model)
    assert loaded.cost is digitnet.LogLikelihoodCost
    assert loaded.activations == ["relu", "softmax"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--dropout", "1"], "--dropout"),
        (["train", "--lmbda", "-1"], "--lmbda"),
        (["train", "--cost", "HingeCost"], "--cost"),
        (["train", "--optimizer", "rmsprop"], "--optimizer"),
        (["train", "--shift", "nan"], "--shift"),
        (["train", "--halve-on-plateau", "0"], "--halve-on-plateau"),
    ],
)
def test_bad_toolkit_options_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
