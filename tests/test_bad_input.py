"""Bad input to every public function and command-line option: a precise exception whose message
names the argument at fault, one case per row.

This extends tests/test_errors.py (which it does not repeat) to the whole public surface: the
``Network`` constructor and every method, ``network2``, the training options (optimizers,
``Augment``, schedules), ``sigmoid``, ``set_num_threads``, saving and loading, the data-set
loaders, the reference network, image preprocessing, plots, and each ``digitnet`` subcommand.

The last section checks the other side: inputs that are unusual but valid (strided, Fortran
order, float32 for float64, integers, uint8, lists) are accepted and give bit for bit the result
of the C-contiguous float64 equivalent.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import digitnet
from digitnet import cli, images, network2, plots, reference
from digitnet.datasets import mnist, parse_idx, read_idx
from digitnet.errors import DatasetError, ModelFileError, UnsuitableNetworkError


@dataclass(frozen=True)
class Ctx:
    """What a case may need besides literals: a small MNIST-format directory and a scratch one."""

    data: Path  # 10,010 training and 10 test images, 28x28 (10,000 go to validation)
    tmp: Path


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("small-mnist")
    write_mnist(directory, n_train=10_010, n_test=10)
    return directory


def write_mnist(directory: Path, n_train: int, n_test: int) -> None:
    """The four IDX files of a random data set in MNIST's format (uncompressed)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (directory / name).write_bytes(header + array.tobytes())


def net() -> digitnet.Network:
    return digitnet.Network([4, 3, 2], seed=0)


def n2() -> network2.Network:
    return network2.Network([4, 3, 2], seed=0)


X = np.linspace(0, 1, 20).reshape(5, 4)
Y = np.array([0, 1, 0, 1, 1])
NAN_X = np.where(np.eye(5, 4) == 1, np.nan, 0.5)
INF_Y = np.array([[0.0, 1.0]] * 4 + [[np.inf, 0.0]])
EVAL = (X, Y)


def sgd(**options: Any) -> Callable[[Ctx], Any]:
    """A case calling ``net().SGD((X, Y), 2, 2, 1.0, **options)`` quietly."""
    options.setdefault("verbose", False)
    return lambda c: net().SGD((X, Y), 2, 2, 1.0, **options)


def with_schedule(**fields: Any) -> Callable[[Ctx], Any]:
    """SGD with a HalveOnPlateau made inside the call (refusing at either point is right), on
    a learning rate so small that the evaluation accuracy plateaus at once."""
    return lambda c: net().SGD(
        (X, Y),
        4,
        5,
        1e-9,
        evaluation_data=EVAL,
        schedule=digitnet.HalveOnPlateau(**fields),
        verbose=False,
    )


def with_early_stopping(**fields: Any) -> Callable[[Ctx], Any]:
    return lambda c: net().SGD(
        (X, Y),
        4,
        5,
        1e-9,
        evaluation_data=EVAL,
        early_stopping=digitnet.EarlyStopping(**fields),
        verbose=False,
    )


def with_augment(**fields: Any) -> Callable[[Ctx], Any]:
    fields.setdefault("image_shape", (2, 2))
    return lambda c: net().SGD((X, Y), 1, 5, 1.0, augment=digitnet.Augment(**fields), verbose=False)


NO_DATA = pytest.mark.skipif(not os.environ.get("DIGITNET_DATA"), reason="needs DIGITNET_DATA")


Case = tuple[str, Callable[[Ctx], Any], type[BaseException], str]


def case(
    name: str,
    call: Callable[[Ctx], Any],
    error: type[BaseException],
    pattern: str,
    *marks: pytest.MarkDecorator,
) -> Any:
    return pytest.param(call, error, pattern, id=name, marks=marks)


CASES = [
    # ---- Network(...): sizes, seed, dtype, cost, activations, init --------------------------
    case(
        "sizes numpy floats",
        lambda c: digitnet.Network(np.array([2.0, 2.0])),
        TypeError,
        r"sizes\[0\]",
    ),
    case("sizes None", lambda c: digitnet.Network(None), TypeError, "sizes"),
    case("sizes empty", lambda c: digitnet.Network([]), ValueError, "sizes"),
    case("sizes 2**64", lambda c: digitnet.Network([2**64, 2]), OverflowError, "sizes"),
    case(
        "sizes 1e12 x 1e12",
        lambda c: digitnet.Network([10**12, 10**12]),
        MemoryError,
        r"weights\[0\]",
    ),
    case(
        "sizes huge middle",
        lambda c: digitnet.Network([784, 2**40, 10]),
        MemoryError,
        r"weights\[0\]",
    ),
    case("seed string", lambda c: digitnet.Network([2, 2], seed="a"), TypeError, "seed"),
    case("dtype int32", lambda c: digitnet.Network([2, 2], dtype=np.int32), ValueError, "dtype"),
    case("dtype float16", lambda c: digitnet.Network([2, 2], dtype="float16"), ValueError, "dtype"),
    case("dtype complex", lambda c: digitnet.Network([2, 2], dtype=complex), ValueError, "dtype"),
    case("dtype bool", lambda c: digitnet.Network([2, 2], dtype=bool), ValueError, "dtype"),
    case("dtype bogus name", lambda c: digitnet.Network([2, 2], dtype="bogus"), TypeError, "dtype"),
    case("dtype object", lambda c: digitnet.Network([2, 2], dtype=object()), TypeError, "dtype"),
    case("cost unknown", lambda c: digitnet.Network([2, 2], cost="Bogus"), ValueError, "cost"),
    case(
        "cost instance",
        lambda c: digitnet.Network([2, 2], cost=digitnet.QuadraticCost()),
        ValueError,
        "cost",
    ),
    case(
        "cost vs output",
        lambda c: digitnet.Network([2, 2], cost="CrossEntropyCost", output="softmax"),
        ValueError,
        "cost",
    ),
    case(
        "activation unknown",
        lambda c: digitnet.Network([2, 2, 2], activation="gelu"),
        ValueError,
        "activation",
    ),
    case(
        "activation count",
        lambda c: digitnet.Network([2, 2, 2], activation=["relu"] * 2),
        ValueError,
        "activation",
    ),
    case(
        "activation softmax hidden",
        lambda c: digitnet.Network([2, 2, 2], activation="softmax"),
        ValueError,
        "activation",
    ),
    case(
        "output unknown",
        lambda c: digitnet.Network([2, 2], output="linear"),
        ValueError,
        "output",
    ),
    case("init unknown", lambda c: digitnet.Network([2, 2], init="zeros"), ValueError, "init"),
    # ---- network2.Network -------------------------------------------------------------------
    case("n2 cost unknown", lambda c: network2.Network([2, 2], cost="x"), ValueError, "cost"),
    case("n2 sizes string", lambda c: network2.Network("abc"), TypeError, "sizes"),
    case("n2 negative seed", lambda c: network2.Network([2, 2], seed=-1), ValueError, "seed"),
    case("n2 unknown keyword", lambda c: network2.Network([2, 2], bogus=1), TypeError, "bogus"),
    case("n2 init unknown", lambda c: network2.Network([2, 2], init="bad"), ValueError, "init"),
    case("n2 dtype int", lambda c: network2.Network([2, 2], dtype=np.int64), ValueError, "dtype"),
    case("n2 SGD negative lmbda", lambda c: n2().SGD((X, Y), 1, 2, 1.0, -1.0), ValueError, "lmbda"),
    case(
        "n2 SGD evaluation mismatch",
        lambda c: n2().SGD((X, Y), 1, 2, 1.0, 0.0, (X, Y[:2])),
        ValueError,
        "evaluation_data",
    ),
    case("n2 load directory", lambda c: network2.load(c.tmp), ModelFileError, "cannot read"),
    case(
        "n2 vectorized_result -1",
        lambda c: network2.vectorized_result(-1),
        ValueError,
        "j",
    ),
    case(
        "n2 vectorized_result 10",
        lambda c: network2.vectorized_result(10),
        ValueError,
        "j",
    ),
    # ---- feedforward / predict --------------------------------------------------------------
    case(
        "feedforward 0-d",
        lambda c: net().feedforward(np.float64(1.0)),
        ValueError,
        r"^a: .*shape \(\)",
    ),
    case(
        "feedforward bool",
        lambda c: net().feedforward(np.zeros((1, 4), bool)),
        TypeError,
        "^a: .*bool",
    ),
    case(
        "feedforward objects",
        lambda c: net().feedforward(np.array([[object()] * 4])),
        TypeError,
        "^a: .*object",
    ),
    case(
        "feedforward inf",
        lambda c: net().feedforward(np.full((1, 4), np.inf)),
        ValueError,
        "inputs: .*non-finite",
    ),
    case("predict strings", lambda c: net().predict([["a"] * 4]), TypeError, "^x: .*dtype <U1"),
    case(
        "predict complex",
        lambda c: net().predict(np.zeros((1, 4), complex)),
        TypeError,
        "^x: .*complex",
    ),
    case("predict 0-d", lambda c: net().predict(3.0), ValueError, r"^x: .*shape \(\)"),
    case(
        "predict 3-d",
        lambda c: net().predict(np.zeros((2, 2, 4))),
        ValueError,
        r"^x: .*\(2, 2, 4\)",
    ),
    case(
        "predict wrong width",
        lambda c: net().predict(np.zeros((3, 5))),
        ValueError,
        r"^x: .*\(3, 5\)",
    ),
    case("predict NaN", lambda c: net().predict(NAN_X), ValueError, "inputs: .*non-finite"),
    case(
        "predict ragged",
        lambda c: net().predict([[1, 2, 3, 4], [1]]),
        ValueError,
        "^x: not a rectangular",
    ),
    # ---- evaluate / accuracy / total_cost ---------------------------------------------------
    case(
        "evaluate fractional labels",
        lambda c: net().evaluate((X, np.full(5, 0.5))),
        TypeError,
        "test_data labels",
    ),
    case(
        "evaluate bool labels",
        lambda c: net().evaluate((X, np.zeros(5, bool))),
        TypeError,
        "test_data labels",
    ),
    case(
        "evaluate string labels",
        lambda c: net().evaluate((X, np.array(list("01011")))),
        TypeError,
        "test_data labels",
    ),
    case(
        "evaluate one-hot too wide",
        lambda c: net().evaluate((X, np.zeros((5, 3)))),
        ValueError,
        "test_data labels",
    ),
    case(
        "evaluate list label 7",
        lambda c: net().evaluate([(np.zeros((4, 1)), 7)]),
        ValueError,
        r"test_data labels\[0\]",
    ),
    case(
        "evaluate NaN inputs",
        lambda c: net().evaluate((NAN_X, Y)),
        ValueError,
        "test_data: .*non-finite",
    ),
    case(
        "evaluate 3-d inputs",
        lambda c: net().evaluate((np.zeros((5, 4, 2)), Y)),
        ValueError,
        "test_data inputs",
    ),
    case("evaluate empty list", lambda c: net().evaluate([]), ValueError, "test_data: is empty"),
    case("evaluate a string", lambda c: net().evaluate("data"), TypeError, "test_data"),
    case(
        "accuracy labels out of range",
        lambda c: net().accuracy((X, Y + 3)),
        ValueError,
        r"labels\[0\]",
    ),
    case(
        "total_cost mismatched",
        lambda c: net().total_cost((X, Y[:3])),
        ValueError,
        "data: 5 inputs but 3",
    ),
    case("total_cost NaN inputs", lambda c: net().total_cost((NAN_X, Y)), ValueError, "non-finite"),
    case(
        "total_cost negative lmbda",
        lambda c: net().total_cost((X, Y), lmbda=-1.0),
        ValueError,
        "lmbda",
    ),
    case(
        "total_cost NaN lmbda",
        lambda c: net().total_cost((X, Y), lmbda=float("nan")),
        ValueError,
        "lmbda",
    ),
    case(
        "total_cost string lmbda",
        lambda c: net().total_cost((X, Y), lmbda="x"),
        TypeError,
        "lmbda",
    ),
    case(
        "total_cost empty",
        lambda c: net().total_cost((np.zeros((0, 4)), np.zeros(0, int))),
        ValueError,
        "data",
    ),
    # ---- backprop ---------------------------------------------------------------------------
    case(
        "backprop NaN x",
        lambda c: net().backprop(np.full((4, 1), np.nan), 0),
        ValueError,
        "inputs: .*non-finite",
    ),
    case(
        "backprop inf y",
        lambda c: net().backprop(np.zeros((4, 1)), np.full((2, 1), np.inf)),
        ValueError,
        "targets: .*non-finite",
    ),
    case(
        "backprop fractional label",
        lambda c: net().backprop(np.zeros((4, 1)), 0.5),
        TypeError,
        "^y: ",
    ),
    case(
        "backprop negative label",
        lambda c: net().backprop(np.zeros((4, 1)), -1),
        ValueError,
        r"^y\[0\]",
    ),
    case("backprop string x", lambda c: net().backprop("abcd", 0), TypeError, "^x: "),
    case(
        "backprop complex x",
        lambda c: net().backprop(np.zeros((4, 1), complex), 0),
        TypeError,
        "^x: ",
    ),
    case(
        "backprop mismatched rows",
        lambda c: net().backprop(np.zeros((3, 4)), np.zeros((2, 2))),
        ValueError,
        "^y: ",
    ),
    # ---- update_mini_batch ------------------------------------------------------------------
    case("update n=0", lambda c: net().update_mini_batch((X, Y), 1.0, n=0), ValueError, "^n: "),
    case(
        "update n float", lambda c: net().update_mini_batch((X, Y), 1.0, n=2.0), TypeError, "^n: "
    ),
    case(
        "update n 2**70",
        lambda c: net().update_mini_batch((X, Y), 1.0, n=2**70),
        OverflowError,
        "'n'",
    ),
    case(
        "update lmbda inf",
        lambda c: net().update_mini_batch((X, Y), 1.0, lmbda=float("inf")),
        ValueError,
        "lmbda",
    ),
    case("update negative eta", lambda c: net().update_mini_batch((X, Y), -0.1), ValueError, "eta"),
    case("update bool eta", lambda c: net().update_mini_batch((X, Y), True), TypeError, "eta"),
    case(
        "update optimizer name",
        lambda c: net().update_mini_batch((X, Y), 1.0, optimizer="bogus"),
        ValueError,
        "optimizer",
    ),
    case(
        "update momentum 1",
        lambda c: net().update_mini_batch((X, Y), 1.0, optimizer=digitnet.Momentum(1.0)),
        ValueError,
        "mu",
    ),
    case(
        "update empty list",
        lambda c: net().update_mini_batch([], 1.0),
        ValueError,
        "mini_batch: is empty",
    ),
    case(
        "update NaN inputs",
        lambda c: net().update_mini_batch((NAN_X, Y), 1.0),
        ValueError,
        "inputs: .*non-finite",
    ),
    case(
        "update label out of range",
        lambda c: net().update_mini_batch((X, Y * 2), 1.0),
        ValueError,
        r"mini_batch targets\[1\]",
    ),
    case(
        "update mismatched counts",
        lambda c: net().update_mini_batch((X, Y[:2]), 1.0),
        ValueError,
        "mini_batch targets",
    ),
    case(
        "update inf targets",
        lambda c: net().update_mini_batch((X, INF_Y), 1.0),
        ValueError,
        "targets: .*non-finite",
    ),
    # ---- train_epoch ------------------------------------------------------------------------
    case(
        "train_epoch zero batch",
        lambda c: net().train_epoch((X, Y), 0, 1.0),
        ValueError,
        "mini_batch_size",
    ),
    case(
        "train_epoch float batch",
        lambda c: net().train_epoch((X, Y), 1.5, 1.0),
        TypeError,
        "mini_batch_size",
    ),
    case(
        "train_epoch batch 2**70",
        lambda c: net().train_epoch((X, Y), 2**70, 1.0),
        OverflowError,
        "mini_batch_size",
    ),
    case(
        "train_epoch NaN eta",
        lambda c: net().train_epoch((X, Y), 2, float("nan")),
        ValueError,
        "eta",
    ),
    case(
        "train_epoch dropout 1.5",
        lambda c: net().train_epoch((X, Y), 2, 1.0, dropout=1.5),
        ValueError,
        "dropout",
    ),
    case(
        "train_epoch fractional order",
        lambda c: net().train_epoch((X, Y), 2, 1.0, order=[0.5, 1, 2, 3, 4]),
        TypeError,
        "order",
    ),
    case(
        "train_epoch negative order",
        lambda c: net().train_epoch((X, Y), 2, 1.0, order=[-1, 1, 2, 3, 4]),
        ValueError,
        r"order\[0\]",
    ),
    case(
        "train_epoch 2-d order",
        lambda c: net().train_epoch((X, Y), 2, 1.0, order=[[0, 1, 2, 3, 4]]),
        ValueError,
        "order",
    ),
    case(
        "train_epoch repeated order",
        lambda c: net().train_epoch((X, Y), 2, 1.0, order=[0] * 5),
        ValueError,
        "order",
    ),
    case(
        "train_epoch augment shape",
        lambda c: net().train_epoch((X, Y), 2, 1.0, augment=digitnet.Augment()),
        ValueError,
        "image_shape",
    ),
    # ---- SGD: counts and rates --------------------------------------------------------------
    case("SGD float epochs", lambda c: net().SGD((X, Y), 1.5, 2, 1.0), TypeError, "epochs"),
    case("SGD bool epochs", lambda c: net().SGD((X, Y), True, 2, 1.0), TypeError, "epochs"),
    case(
        "SGD epochs 2**70",
        lambda c: net().SGD((X, Y), 2**70, 2, 1.0, verbose=False),
        OverflowError,
        "epochs",
    ),
    case(
        "SGD negative batch", lambda c: net().SGD((X, Y), 1, -2, 1.0), ValueError, "mini_batch_size"
    ),
    case("SGD bool eta", lambda c: net().SGD((X, Y), 1, 2, True), TypeError, "eta"),
    case("SGD inf eta", lambda c: net().SGD((X, Y), 1, 2, float("inf")), ValueError, "eta"),
    case("SGD complex eta", lambda c: net().SGD((X, Y), 1, 2, 1j), TypeError, "eta"),
    case("SGD negative lmbda", sgd(lmbda=-1), ValueError, "lmbda"),
    case("SGD NaN lmbda", sgd(lmbda=float("nan")), ValueError, "lmbda"),
    case("SGD string lmbda", sgd(lmbda="0.1"), TypeError, "lmbda"),
    case("SGD dropout 1", sgd(dropout=1.0), ValueError, "dropout"),
    case("SGD negative dropout", sgd(dropout=-0.1), ValueError, "dropout"),
    case("SGD NaN dropout", sgd(dropout=float("nan")), ValueError, "dropout"),
    # ---- SGD: optimizers --------------------------------------------------------------------
    case("SGD optimizer rmsprop", sgd(optimizer="rmsprop"), ValueError, "optimizer"),
    case("SGD optimizer number", sgd(optimizer=3), ValueError, "optimizer"),
    case("SGD optimizer class", sgd(optimizer=digitnet.Adam), ValueError, "optimizer"),
    case("Momentum mu 1", lambda c: digitnet.Momentum(1.0), ValueError, "mu"),
    case("Momentum mu NaN", lambda c: digitnet.Momentum(float("nan")), ValueError, "mu"),
    case("Nesterov mu negative", lambda c: digitnet.Nesterov(-0.5), ValueError, "mu"),
    case("Adam beta1 1", lambda c: digitnet.Adam(beta1=1.0), ValueError, "beta1"),
    case("Adam beta2 1.5", lambda c: digitnet.Adam(beta2=1.5), ValueError, "beta2"),
    case("Adam epsilon 0", lambda c: digitnet.Adam(epsilon=0.0), ValueError, "epsilon"),
    case("Adam epsilon inf", lambda c: digitnet.Adam(epsilon=float("inf")), ValueError, "epsilon"),
    case("Momentum mu string", lambda c: digitnet.Momentum("x"), TypeError, "mu"),
    # ---- SGD: augmentation ------------------------------------------------------------------
    case(
        "SGD augment 28x28 for 4 inputs",
        sgd(augment=digitnet.Augment()),
        ValueError,
        r"image_shape.*\(28, 28\)",
    ),
    case(
        "SGD augment 1x3 for 4 inputs", with_augment(image_shape=(1, 3)), ValueError, "image_shape"
    ),
    case("SGD augment negative shift", with_augment(max_shift=-1.0), ValueError, "max_shift"),
    case(
        "SGD augment NaN rotation",
        with_augment(max_rotation=float("nan")),
        ValueError,
        "max_rotation",
    ),
    case("SGD augment not an Augment", sgd(augment="yes"), TypeError, "augment"),
    case("SGD augment a dict", sgd(augment={"max_shift": 1}), TypeError, "augment"),
    case(
        "SGD augment 3-d image_shape",
        with_augment(image_shape=(1, 2, 2)),
        ValueError,
        "image_shape",
    ),
    case(
        "SGD augment negative image_shape",
        with_augment(image_shape=(-2, -2)),
        ValueError,
        "image_shape",
    ),
    case(
        "SGD augment string image_shape",
        with_augment(image_shape="ab"),
        TypeError,
        "image_shape",
    ),
    case(
        "SGD augment string max_shift",
        with_augment(max_shift="a"),
        TypeError,
        "max_shift",
    ),
    # ---- SGD: schedule, early stopping, callback --------------------------------------------
    case(
        "SGD schedule a string", sgd(evaluation_data=EVAL, schedule="halve"), TypeError, "schedule"
    ),
    case(
        "SGD schedule an EarlyStopping",
        sgd(evaluation_data=EVAL, schedule=digitnet.EarlyStopping()),
        TypeError,
        "schedule",
    ),
    case(
        "SGD early_stopping a number",
        sgd(evaluation_data=EVAL, early_stopping=5),
        TypeError,
        "early_stopping",
    ),
    case(
        "SGD schedule without evaluation_data",
        sgd(schedule=digitnet.HalveOnPlateau()),
        ValueError,
        "evaluation_data",
    ),
    case(
        "SGD early_stopping without evaluation_data",
        sgd(early_stopping=digitnet.EarlyStopping()),
        ValueError,
        "evaluation_data",
    ),
    case(
        "SGD schedule min_factor 0",
        with_schedule(patience=1, min_factor=0),
        ValueError,
        "min_factor",
    ),
    case(
        "SGD schedule min_factor NaN",
        with_schedule(patience=1, min_factor=float("nan")),
        ValueError,
        "min_factor",
    ),
    case(
        "SGD schedule patience -1",
        with_schedule(patience=-1),
        ValueError,
        "patience",
    ),
    case(
        "SGD schedule patience string",
        with_schedule(patience="x"),
        TypeError,
        "patience",
    ),
    case(
        "SGD early_stopping patience -1",
        with_early_stopping(patience=-1),
        ValueError,
        "patience",
    ),
    case("SGD callback not callable", sgd(callback=5), TypeError, "callback"),
    # ---- SGD: data --------------------------------------------------------------------------
    case(
        "SGD complex inputs",
        lambda c: net().SGD((X.astype(complex), Y), 1, 2, 1.0),
        TypeError,
        "training_data inputs",
    ),
    case(
        "SGD bool inputs",
        lambda c: net().SGD((X > 0.5, Y), 1, 2, 1.0),
        TypeError,
        "training_data inputs",
    ),
    case(
        "SGD object inputs",
        lambda c: net().SGD((X.astype(object), Y), 1, 2, 1.0),
        TypeError,
        "training_data inputs",
    ),
    case(
        "SGD 3-d inputs",
        lambda c: net().SGD((np.zeros((5, 4, 2)), Y), 1, 2, 1.0),
        ValueError,
        "training_data inputs",
    ),
    case(
        "SGD 0-d inputs",
        lambda c: net().SGD((np.zeros(()), Y), 1, 2, 1.0),
        ValueError,
        "training_data inputs",
    ),
    case(
        "SGD string labels",
        lambda c: net().SGD((X, np.array(list("01011"))), 1, 2, 1.0),
        TypeError,
        "training_data targets",
    ),
    case(
        "SGD object labels",
        lambda c: net().SGD((X, np.array([object()] * 5)), 1, 2, 1.0),
        TypeError,
        "training_data targets",
    ),
    case(
        "SGD NaN labels",
        lambda c: net().SGD((X, np.array([0, 1, np.nan, 0, 1])), 1, 2, 1.0),
        TypeError,
        "training_data targets",
    ),
    case(
        "SGD inf labels",
        lambda c: net().SGD((X, np.array([0, 1, np.inf, 0, 1])), 1, 2, 1.0),
        TypeError,
        "training_data targets",
    ),
    case(
        "SGD 0-d labels",
        lambda c: net().SGD((X, np.array(1)), 1, 2, 1.0),
        ValueError,
        "training_data targets",
    ),
    case(
        "SGD targets too wide",
        lambda c: net().SGD((X, np.zeros((5, 3))), 1, 2, 1.0),
        ValueError,
        "training_data targets",
    ),
    case(
        "SGD NaN one-hot targets",
        lambda c: net().SGD((X, np.full((5, 2), np.nan)), 1, 2, 1.0),
        ValueError,
        "targets: .*non-finite",
    ),
    case(
        "SGD label 2**64-1",
        lambda c: net().SGD((X, np.array([0, 1, 2**64 - 1, 0, 1], np.uint64)), 1, 2, 1.0),
        ValueError,
        r"targets\[2\]",
    ),
    case(
        "SGD empty generator",
        lambda c: net().SGD((pair for pair in []), 1, 2, 1.0),
        ValueError,
        "training_data: is empty",
    ),
    case("SGD a dict", lambda c: net().SGD({"x": X}, 1, 2, 1.0), TypeError, r"training_data\[0\]"),
    case(
        "SGD evaluation mismatched", sgd(evaluation_data=(X, Y[:4])), ValueError, "evaluation_data"
    ),
    case(
        "SGD evaluation labels string",
        sgd(evaluation_data=(X, np.array(list("01011")))),
        TypeError,
        "evaluation_data labels",
    ),
    case(
        "SGD test_data NaN",
        sgd(test_data=(NAN_X, Y)),
        ValueError,
        "test_data",
    ),
    case(
        "SGD evaluation_data NaN",
        sgd(evaluation_data=(NAN_X, Y), monitor_evaluation_accuracy=True),
        ValueError,
        "evaluation_data",
    ),
    # ---- parameters -------------------------------------------------------------------------
    case(
        "weights 3-d",
        lambda c: setattr(net(), "weights", [np.zeros((3, 4, 1)), np.zeros((2, 3))]),
        ValueError,
        r"weights\[0\]",
    ),
    case(
        "weights strings",
        lambda c: setattr(net(), "weights", [np.full((3, 4), "a"), np.zeros((2, 3))]),
        TypeError,
        r"weights\[0\]",
    ),
    case(
        "weights complex",
        lambda c: setattr(net(), "weights", [np.zeros((3, 4)), np.zeros((2, 3), complex)]),
        TypeError,
        r"weights\[1\]",
    ),
    case(
        "weights inf",
        lambda c: setattr(net(), "weights", [np.zeros((3, 4)), np.full((2, 3), -np.inf)]),
        ValueError,
        r"weights\[1\].*non-finite",
    ),
    case(
        "weights 0-d items",
        lambda c: setattr(net(), "weights", [1.0, 2.0]),
        ValueError,
        r"weights\[0\]",
    ),
    case(
        "weights a dict",
        lambda c: setattr(net(), "weights", {0: np.zeros((3, 4))}),
        TypeError,
        "weights",
    ),
    case("biases a string", lambda c: setattr(net(), "biases", "abc"), TypeError, "biases"),
    case(
        "biases one array",
        lambda c: setattr(net(), "biases", [np.zeros((3, 1))]),
        ValueError,
        "biases",
    ),
    case(
        "biases inf",
        lambda c: setattr(net(), "biases", [np.full((3, 1), np.inf), np.zeros((2, 1))]),
        ValueError,
        r"biases\[0\].*non-finite",
    ),
    case(
        "biases complex",
        lambda c: setattr(net(), "biases", [np.zeros((3, 1), complex), np.zeros((2, 1))]),
        TypeError,
        r"biases\[0\]",
    ),
    case(
        "biases item NaN",
        lambda c: net().biases.__setitem__(1, np.full((2, 1), np.nan)),
        ValueError,
        r"biases\[1\].*non-finite",
    ),
    case(
        "n2 weights NaN",
        lambda c: setattr(n2(), "weights", [np.zeros((3, 4)), np.full((2, 3), np.nan)]),
        ValueError,
        r"weights\[1\]",
    ),
    # ---- module functions -------------------------------------------------------------------
    case("sigmoid string", lambda c: digitnet.sigmoid("x"), TypeError, "^z: "),
    case("sigmoid complex", lambda c: digitnet.sigmoid(1j), TypeError, "^z: "),
    case("sigmoid None", lambda c: digitnet.sigmoid(None), TypeError, "^z: "),
    case(
        "sigmoid ragged",
        lambda c: digitnet.sigmoid([[1.0], [1.0, 2.0]]),
        ValueError,
        "^z: not a rectangular",
    ),
    case("sigmoid_prime bool", lambda c: digitnet.sigmoid_prime(True), TypeError, "^z: "),
    case("set_num_threads 0", lambda c: digitnet.set_num_threads(0), ValueError, "threads"),
    case("set_num_threads -1", lambda c: digitnet.set_num_threads(-1), ValueError, "threads"),
    case("set_num_threads 1.5", lambda c: digitnet.set_num_threads(1.5), TypeError, "threads"),
    case("set_num_threads True", lambda c: digitnet.set_num_threads(True), TypeError, "threads"),
    case("set_num_threads '4'", lambda c: digitnet.set_num_threads("4"), TypeError, "threads"),
    case(
        "set_num_threads 2**70", lambda c: digitnet.set_num_threads(2**70), OverflowError, "threads"
    ),
    case(
        "cost_derivative strings",
        lambda c: net().cost_derivative("a", "b"),
        TypeError,
        "output_activations",
    ),
    case(
        "cost_derivative object y",
        lambda c: net().cost_derivative(np.zeros(2), object()),
        TypeError,
        "^y: ",
    ),
    # ---- saving and loading -----------------------------------------------------------------
    case("load a directory", lambda c: digitnet.load(c.tmp), ModelFileError, "cannot read"),
    case(
        "load missing file",
        lambda c: digitnet.load(c.tmp / "none.json"),
        ModelFileError,
        "none.json",
    ),
    case("load empty path", lambda c: digitnet.load(""), ModelFileError, "cannot read"),
    case("load None", lambda c: digitnet.load(None), TypeError, "PathLike"),
    case("load a number", lambda c: digitnet.load(5), TypeError, "PathLike"),
    case("save onto a directory", lambda c: net().save(c.tmp), IsADirectoryError, "Is a directory"),
    case(
        "save into a missing directory",
        lambda c: net().save(c.tmp / "none" / "m.json"),
        FileNotFoundError,
        r"m\.json",
    ),
    case("save None", lambda c: net().save(None), TypeError, "PathLike"),
    # ---- data sets --------------------------------------------------------------------------
    case(
        "load_arrays dtype int32",
        lambda c: mnist.load_arrays(c.data, dtype=np.int32),
        ValueError,
        "dtype",
    ),
    case(
        "load_arrays dtype float16",
        lambda c: mnist.load_arrays(c.data, dtype=np.float16),
        ValueError,
        "dtype",
    ),
    case(
        "load_arrays dtype bogus",
        lambda c: mnist.load_arrays(c.data, dtype="bogus"),
        TypeError,
        "dtype",
    ),
    case(
        "load_arrays validation_size -1",
        lambda c: mnist.load_arrays(c.data, validation_size=-1),
        ValueError,
        "validation_size",
    ),
    case(
        "load_arrays validation_size 10011",
        lambda c: mnist.load_arrays(c.data, validation_size=10_011),
        ValueError,
        "validation_size.*10010",
    ),
    case(
        "load_arrays validation_size 60001",
        lambda c: mnist.load_arrays(validation_size=60_001),
        ValueError,
        "validation_size.*60000",
        NO_DATA,
    ),
    case(
        "load_arrays validation_size 1.5",
        lambda c: mnist.load_arrays(c.data, validation_size=1.5),
        TypeError,
        "validation_size",
    ),
    case(
        "load_arrays validation_size True",
        lambda c: mnist.load_arrays(c.data, validation_size=True),
        TypeError,
        "validation_size",
    ),
    case(
        "load_arrays path a file",
        lambda c: mnist.load_arrays(c.data / "t10k-labels-idx1-ubyte"),
        DatasetError,
        "not a directory",
    ),
    case(
        "load_arrays path missing",
        lambda c: mnist.load_arrays(c.tmp / "nowhere"),
        DatasetError,
        "nowhere: no such directory",
    ),
    case(
        "load_arrays path empty directory",
        lambda c: mnist.load_arrays(c.tmp, download=False),
        DatasetError,
        "train-images-idx3-ubyte",
    ),
    case(
        "load_data_wrapper validation_size -5",
        lambda c: mnist.load_data_wrapper(c.data, validation_size=-5),
        ValueError,
        "validation_size",
    ),
    case(
        "load_data path missing",
        lambda c: mnist.load_data(c.tmp / "nowhere"),
        DatasetError,
        "no such directory",
    ),
    case("read_idx a directory", lambda c: read_idx(c.tmp), DatasetError, "is a directory"),
    case("parse_idx a string", lambda c: parse_idx("abc"), TypeError, "bytes-like"),
    case("parse_idx empty", lambda c: parse_idx(b""), DatasetError, "empty"),
    # ---- reference network, images, plots ---------------------------------------------------
    case("reference zero layer", lambda c: reference.Network([4, 0, 2]), ValueError, r"sizes\[1\]"),
    case(
        "reference feedforward NaN",
        lambda c: reference.Network([4, 2], seed=0).feedforward(NAN_X),
        ValueError,
        "non-finite",
    ),
    case(
        "reference SGD dropout 1",
        lambda c: reference.Network([4, 3, 2], seed=0).SGD((X, Y), 1, 2, 1.0, dropout=1.0),
        ValueError,
        "dropout",
    ),
    case(
        "reference SGD bad optimizer",
        lambda c: reference.Network([4, 2], seed=0).SGD((X, Y), 1, 2, 1.0, optimizer="x"),
        ValueError,
        "optimizer",
    ),
    case(
        "preprocess 4-d array",
        lambda c: images.preprocess(np.zeros((2, 2, 2, 2))),
        ValueError,
        "^image: ",
    ),
    case(
        "preprocess NaN",
        lambda c: images.preprocess(np.full((28, 28), np.nan)),
        ValueError,
        "^image: .*non-finite",
    ),
    case(
        "preprocess strings", lambda c: images.preprocess(np.array([["a"]])), TypeError, "^image: "
    ),
    case("preprocess a number", lambda c: images.preprocess(5), TypeError, "^image: "),
    case(
        "probabilities non-MNIST net",
        lambda c: images.probabilities(net(), np.zeros((1, 784))),
        UnsuitableNetworkError,  # a ValueError
        "^net: ",
    ),
    case(
        "confusion_matrix negative",
        lambda c: plots.confusion_matrix([0, -1], [0, 1]),
        ValueError,
        "y_true",
    ),
    case(
        "confusion_matrix fractional",
        lambda c: plots.confusion_matrix([0.5, 1], [0, 1]),
        TypeError,
        "y_true",
    ),
    case(
        "confusion_matrix lengths",
        lambda c: plots.confusion_matrix([0, 1, 1], [0, 1]),
        ValueError,
        "y_pred",
    ),
    case(
        "misclassified not square",
        lambda c: plots.misclassified(np.zeros((2, 5)), [0, 1], [1, 0]),
        ValueError,
        "^images: ",
    ),
]


def names_argument(error: BaseException, pattern: str) -> bool:
    """Whether the message, or a note PyO3 added ("while processing 'epochs'"), matches."""
    text = "\n".join([str(error), *getattr(error, "__notes__", [])])
    return re.search(pattern, text, re.MULTILINE) is not None


@pytest.mark.parametrize(("call", "error", "pattern"), CASES)
def test_bad_input(
    call: Callable[[Ctx], Any],
    error: type[BaseException],
    pattern: str,
    small_data: Path,
    tmp_path: Path,
) -> None:
    caught: Exception | None = None
    try:
        call(Ctx(small_data, tmp_path))
    except Exception as error_raised:  # the exact type is checked below, not by except
        caught = error_raised
    assert caught is not None, f"accepted; expected {error.__name__}"
    assert type(caught) is error, f"{type(caught).__name__}: {caught}"
    assert names_argument(caught, pattern), f"{pattern!r} not in {caught!r}"


def test_nothing_trains_before_a_late_refusal() -> None:
    """A refused SGD call leaves the parameters as they were."""
    for options in [{"lmbda": -1.0}, {"dropout": 1.0}]:
        n = net()
        before = [w.copy() for w in n.weights]
        with pytest.raises(ValueError, match=r"lmbda|dropout"):
            n.SGD((X, Y), 2, 2, 1.0, verbose=False, **options)
        assert all(np.array_equal(a, b) for a, b in zip(n.weights, before, strict=True))


# ------------------------------------------------------------------------------ command line

# (arguments, text the usage error must contain); "{model}" is replaced by an existing file.
CLI_CASES: list[tuple[list[str], str]] = [
    (["train", "--sizes", ""], "--sizes"),
    (["train", "--sizes", "784"], "--sizes"),
    (["train", "--sizes", "784,-1,10"], "--sizes"),
    (["train", "--sizes", "784,30,10,"], "--sizes"),
    (["train", "--sizes", "784,30.5,10"], "--sizes"),
    (["train", "--epochs", "1.5"], "--epochs"),
    (["train", "--epochs", ""], "--epochs"),
    (["train", "--epochs", "1e3"], "--epochs"),
    (["train", "--batch-size", "-3"], "--batch-size"),
    (["train", "--batch-size", "x"], "--batch-size"),
    (["train", "--eta", "inf"], "--eta"),
    (["train", "--eta", "-1"], "--eta"),
    (["train", "--eta", "abc"], "--eta"),
    (["train", "--seed", "18446744073709551616"], "--seed"),
    (["train", "--seed", "x"], "--seed"),
    (["train", "--progress=yes"], "--progress"),
    (["train", "--save"], "--save"),
    (["train", "--save-history"], "--save-history"),
    (["train", "--data-dir"], "--data-dir"),
    (["train", "--dtype", "float16"], "--dtype"),
    (["train", "--cost", "crossentropy"], "--cost"),
    (["train", "--activation", "gelu"], "--activation"),
    (["train", "--activation", "softmax"], "--activation"),
    (["train", "--output", "linear"], "--output"),
    (["train", "--init", "zeros"], "--init"),
    (["train", "--lmbda", "inf"], "--lmbda"),
    (["train", "--lmbda", "x"], "--lmbda"),
    (["train", "--optimizer", "Adam"], "--optimizer"),
    (["train", "--dropout", "-0.1"], "--dropout"),
    (["train", "--dropout", "1.5"], "--dropout"),
    (["train", "--dropout", "half"], "--dropout"),
    (["train", "--shift", "-1"], "--shift"),
    (["train", "--rotate", "inf"], "--rotate"),
    (["train", "--rotate", "x"], "--rotate"),
    (["train", "--halve-on-plateau", "-2"], "--halve-on-plateau"),
    (["train", "--halve-on-plateau", "1.5"], "--halve-on-plateau"),
    (["train", "--early-stopping", "0"], "--early-stopping"),
    (["train", "--early-stopping", "x"], "--early-stopping"),
    (["train", "extra"], "unrecognized arguments: extra"),
    (["evaluate", "{model}", "other"], "unrecognized arguments: other"),
    (["evaluate", "--bogus", "{model}"], "unrecognized arguments: --bogus"),
    (["evaluate", "{model}", "--data-dir"], "--data-dir"),
    (["plot"], "MODEL"),
    (["plot", "{model}", "--max-images", "0"], "--max-images"),
    (["plot", "{model}", "--max-images", "x"], "--max-images"),
    (["plot", "{model}", "--dpi", "0"], "--dpi"),
    (["plot", "{model}", "--dpi", "-5"], "--dpi"),
    (["plot", "--learning-curves"], "--learning-curves"),
    (["plot", "{model}", "--out"], "--out"),
    (["predict"], "model"),
    (["predict", "{model}"], "IMAGE"),
    (["predict", "--bogus", "{model}", "x.png"], "unrecognized arguments: --bogus"),
    (["serve"], "model"),
    (["serve", "{model}", "--port", "70000"], "--port"),
    (["serve", "{model}", "--port", "-1"], "--port"),
    (["serve", "{model}", "--port", "http"], "--port"),
    (["serve", "{model}", "--host"], "--host"),
    (["serve", "{model}", "extra"], "unrecognized arguments: extra"),
    (["bogus"], "invalid choice: 'bogus'"),
]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.json"
    digitnet.Network([784, 10, 10], seed=0).save(path)
    return path


@pytest.mark.parametrize(("args", "message"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_usage_error(
    args: list[str], message: str, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{model}", str(model_file)) for a in args]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param(["--epochs", HUGE], "--epochs", id="epochs"),
        pytest.param(["--batch-size", HUGE], "--batch-size", id="batch-size"),
        pytest.param(["--sizes", f"784,{HUGE},10"], "--sizes", id="sizes"),
        pytest.param(["--sizes", "784,100000000000,10"], "--sizes", id="sizes-1e11"),
    ],
)
def test_cli_huge_values_are_usage_errors(
    args: list[str], option: str, small_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--data-dir", str(small_data), *args])
    assert info.value.code == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--cost", "CrossEntropyCost", "--output", "softmax"]),
        pytest.param(["--cost", "LogLikelihoodCost", "--output", "sigmoid"]),
    ],
    ids=["cross-entropy softmax", "log-likelihood sigmoid"],
)
def test_cli_cost_that_does_not_suit_the_output_is_a_usage_error(
    args: list[str], small_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--epochs", "1", "--data-dir", str(small_data), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--cost" in err
    assert "--output" in err


@pytest.mark.parametrize(
    "option",
    [
        pytest.param("--save"),
        pytest.param("--save-history"),
    ],
)
def test_cli_unwritable_output_is_refused_before_training(
    option: str, small_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "out.json"
    argv = ["train", "--epochs", "1", "--data-dir", str(small_data), option, str(target)]
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert status in (1, 2)  # a usage error, or one clear error line: either, but no traceback
    assert str(target) in err or option in err
    assert "Epoch" not in out, "the path was found unwritable only after training"


def test_cli_small_data_set_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_mnist(tmp_path, n_train=100, n_test=10)
    status = cli.main(["train", "--epochs", "1", "--data-dir", str(tmp_path)])
    assert status == 1
    assert "digitnet: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--batch-size", "0"], "--batch-size"),
        (["evaluate", "{model}", "--data-dir"], "--data-dir"),
        (["plot", "{model}", "--dpi", "0"], "--dpi"),
        (["predict", "{model}"], "IMAGE"),
        (["serve", "{model}", "--port", "70000"], "--port"),
    ],
    ids=["train", "evaluate", "plot", "predict", "serve"],
)
def test_cli_usage_error_in_a_real_process(args: list[str], message: str, model_file: Path) -> None:
    """As users run it: ``python -m digitnet``, exit status 2, the option named, no traceback."""
    argv = [a.replace("{model}", str(model_file)) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------- accepted inputs

RNG = np.random.default_rng(42)
BASE = RNG.uniform(0, 1, (12, 8))  # C-contiguous float64: what every variant is compared with
INTS = RNG.integers(0, 4, (12, 8))  # small integers: exact in every dtype below


def variants(base: np.ndarray) -> dict[str, Any]:
    """The same values as ``base`` in layouts and dtypes that must be accepted."""
    wide = np.zeros((base.shape[0] * 2, base.shape[1] * 3))
    wide[::2, ::3] = base
    return {
        "fortran": np.asfortranarray(base),
        "strided": wide[::2, ::3],
        "negative row strides": base[::-1].copy()[::-1],
        "negative column strides": base[:, ::-1].copy()[:, ::-1],
        "list": base.tolist(),
    }


def integer_variants(base: np.ndarray) -> dict[str, Any]:
    return {
        "int64": base.astype(np.int64),
        "int32": base.astype(np.int32),
        "uint8": base.astype(np.uint8),
        "float32": base.astype(np.float32),
        "python ints": base.astype(int).tolist(),
    }


def all_variants() -> list[Any]:
    floats = [pytest.param(BASE, v, id=f"float {k}") for k, v in variants(BASE).items()]
    exact = [pytest.param(INTS.astype(float), v, id=k) for k, v in integer_variants(INTS).items()]
    return floats + exact


def mlp() -> digitnet.Network:
    return digitnet.Network([8, 5, 3], seed=7)


LABELS = np.array([0, 1, 2] * 4)


@pytest.mark.parametrize(("base", "variant"), all_variants())
def test_inference_accepts_the_variant(base: np.ndarray, variant: Any) -> None:
    n = mlp()
    np.testing.assert_array_equal(n.feedforward(variant), n.feedforward(base))
    np.testing.assert_array_equal(n.predict(variant), n.predict(base))
    assert n.evaluate((np.asarray(variant), LABELS)) == n.evaluate((base, LABELS))
    assert n.total_cost((np.asarray(variant), LABELS)) == n.total_cost((base, LABELS))


@pytest.mark.parametrize(("base", "variant"), all_variants())
def test_training_accepts_the_variant(base: np.ndarray, variant: Any) -> None:
    a, b = mlp(), mlp()
    a.SGD((base, LABELS), 2, 4, 0.5, verbose=False)
    b.SGD((np.asarray(variant), LABELS), 2, 4, 0.5, verbose=False)
    a.update_mini_batch((base, LABELS), 0.5)
    b.update_mini_batch((np.asarray(variant), LABELS), 0.5)
    for p, q in zip([*a.weights, *a.biases], [*b.weights, *b.biases], strict=True):
        np.testing.assert_array_equal(p, q)
    grads_a = a.backprop(base, np.eye(3)[LABELS])
    grads_b = b.backprop(np.asarray(variant), np.eye(3)[LABELS])
    for p, q in zip([*grads_a[0], *grads_a[1]], [*grads_b[0], *grads_b[1]], strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    "labels",
    [
        LABELS.astype(np.int32),
        LABELS.astype(np.uint8),
        LABELS.astype(np.float64),  # integral floats are labels
        LABELS.tolist(),
        np.eye(3)[LABELS],  # one-hot rows
        np.asfortranarray(np.eye(3)[LABELS]),
        np.eye(3)[LABELS][:, :, None],  # network.py's (n, 10, 1) columns
    ],
    ids=["int32", "uint8", "integral float", "list", "one-hot", "one-hot fortran", "columns"],
)
def test_labels_in_any_integer_or_one_hot_form(labels: Any) -> None:
    a, b = mlp(), mlp()
    y = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    a.SGD((BASE, LABELS), 1, 4, 0.5, verbose=False)
    b.SGD((BASE, y), 1, 4, 0.5, verbose=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert a.evaluate((BASE, LABELS)) == b.evaluate((BASE, y))


def test_network_py_lists_of_columns_equal_arrays() -> None:
    pairs = [
        (x.reshape(8, 1), np.eye(3)[k].reshape(3, 1)) for x, k in zip(BASE, LABELS, strict=True)
    ]
    a, b = mlp(), mlp()
    a.SGD((BASE, LABELS), 1, 4, 0.5, verbose=False)
    b.SGD(pairs, 1, 4, 0.5, verbose=False)
    np.testing.assert_array_equal(a.weights[1], b.weights[1])
    tests = [(x.reshape(8, 1), int(k)) for x, k in zip(BASE, LABELS, strict=True)]
    assert a.evaluate(tests) == a.evaluate((BASE, LABELS))
    np.testing.assert_array_equal(
        a.feedforward(BASE[0].reshape(8, 1)).ravel(), a.feedforward(BASE)[0]
    )


@pytest.mark.parametrize(
    "make",
    [np.asfortranarray, lambda w: w.astype(np.float32), lambda w: w.tolist()],
    ids=["fortran", "float32", "list"],
)
def test_parameters_accept_the_variant(make: Callable[[np.ndarray], Any]) -> None:
    a, b = mlp(), mlp()
    exact = [np.round(p, 2).astype(np.float32).astype(np.float64) for p in [*a.weights, *a.biases]]
    weights, biases = exact[:2], exact[2:]
    a.weights, a.biases = weights, biases
    b.weights = [make(w) for w in weights]
    b.biases = [make(bias.ravel()) for bias in biases]  # vectors as well as columns
    for p, q in zip([*a.weights, *a.biases], [*b.weights, *b.biases], strict=True):
        np.testing.assert_array_equal(p, q)
    ints = mlp()
    ints.weights = [np.ones(w.shape, dtype=np.int8) for w in weights]
    assert ints.weights[0].dtype == np.float64
    assert np.all(ints.weights[1] == 1.0)


def test_float32_network_takes_float64_and_integers() -> None:
    n = digitnet.Network([8, 5, 3], seed=7, dtype=np.float32)
    expected = n.feedforward(BASE.astype(np.float32))
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(n.feedforward(BASE), expected)
    np.testing.assert_array_equal(n.feedforward(np.asfortranarray(BASE)), expected)
    np.testing.assert_array_equal(
        n.feedforward(INTS.astype(np.uint8)), n.feedforward(INTS.astype(np.float32))
    )
    a, b = n.copy(), n.copy()
    a.SGD((BASE.astype(np.float32), LABELS), 1, 4, 0.5, verbose=False)
    b.SGD((BASE, LABELS.astype(np.uint8)), 1, 4, 0.5, verbose=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_mnist_uint8_images_train_like_their_float_pixels() -> None:
    """Raw uint8 pixels are accepted and are the same numbers as their float64 values."""
    pixels = RNG.integers(0, 256, (20, 784), dtype=np.uint8)
    labels = RNG.integers(0, 10, 20)
    a, b = digitnet.Network([784, 6, 10], seed=1), digitnet.Network([784, 6, 10], seed=1)
    a.SGD((pixels / 255.0, labels), 1, 5, 1.0, verbose=False)
    b.SGD(
        ((pixels / 255.0).astype(np.float64, order="F"), labels.astype(np.uint8)),
        1,
        5,
        1.0,
        verbose=False,
    )
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    np.testing.assert_array_equal(a.predict(pixels), a.predict(pixels.astype(np.float64)))


def test_mini_batch_larger_than_the_data_is_one_batch() -> None:
    a, b = mlp(), mlp()
    a.SGD((BASE[:5], LABELS[:5]), 1, 5, 0.5, verbose=False)
    b.SGD((BASE[:5], LABELS[:5]), 1, 10**12, 0.5, verbose=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_empty_inputs_give_empty_outputs() -> None:
    n = mlp()
    assert n.feedforward(np.zeros((0, 8))).shape == (0, 3)
    assert n.predict(np.zeros((0, 8))).shape == (0,)
    assert n.evaluate((np.zeros((0, 8)), np.zeros(0, np.int64))) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [digitnet.Network, reference.Network], ids=["engine", "reference"])
def test_huge_finite_inputs_are_accepted_and_each_non_finite_one_is_named(
    make: Callable[..., Any], dtype: type[np.floating[Any]]
) -> None:
    """The finiteness checks take shortcuts (a sum in Python, the first layer's sums in the
    engine); values whose sums overflow must still pass them, and one NaN or infinity anywhere
    must still be found, with its index where the engine reports one."""
    kwargs = {"dtype": dtype} if make is digitnet.Network else {}
    net = make([8, 5, 3], **kwargs)
    x = np.full((600, 8), np.finfo(dtype).max, dtype)
    labels = np.zeros(600, np.int64)
    # The reference's NumPy arithmetic warns of the overflow; the engine's does not.
    with np.errstate(over="ignore", invalid="ignore"):
        assert 0 <= net.evaluate((x, labels)) <= 600
        assert net.predict(x).shape == (600,)
    for bad in (np.nan, np.inf, -np.inf):
        for at in ((0, 0), (299, 3), (599, 7)):
            xb = np.array(x)
            xb[at] = bad
            with pytest.raises(ValueError, match=r"test_data: .*non-finite"):
                net.evaluate((xb, labels))
            pattern = rf"inputs: .*non-finite.*\[{at[0]}, {at[1]}\]" if kwargs else "non-finite"
            with pytest.raises(ValueError, match=pattern):
                net.predict(xb)


def test_number_of_cases(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """Counts this module's collected tests by kind (no hand-kept constants to go stale): bad
    input to functions, bad command lines, and input that must be accepted (the tests from
    ``all_variants`` on)."""
    mine = [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.path == Path(__file__)
    ]
    accepted_from = all_variants.__code__.co_firstlineno
    kinds: Counter[str] = Counter()
    for item in mine:
        name = item.originalname
        if name == "test_bad_input":
            kinds["functions"] += 1
        elif name.startswith("test_cli"):
            kinds["cli"] += 1
        elif item.function.__code__.co_firstlineno > accepted_from and item is not request.node:
            kinds["accepted"] += 1
    with capsys.disabled():
        print(
            f"\n{kinds['functions']} bad-input cases for functions, "
            f"{kinds['cli']} for the command line, {kinds['accepted']} accepted-input checks"
        )
    assert len(CASES) >= 200
    if kinds["functions"]:  # this module ran whole, not a -k selection of it
        assert kinds["functions"] == len(CASES)
        assert kinds["cli"] >= len(CLI_CASES)
        assert kinds["accepted"] >= 2 * len(all_variants())
