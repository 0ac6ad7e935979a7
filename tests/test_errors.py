"""Every bad input gives a Python exception that names the problem; nothing crashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import digitnet
from digitnet import _core, reference
from digitnet.sgd import StepOptions


def net() -> digitnet.Network:
    return digitnet.Network([4, 3, 2], seed=0)


GOOD_X = np.zeros((5, 4))
GOOD_Y = np.array([0, 1, 0, 1, 1])
NAN_X = np.where(np.eye(5, 4) == 1, np.nan, 0.0)

# (id, call, exception, message pattern): one case per row.
CASES: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    ("sizes not a list", lambda: digitnet.Network(784), TypeError, "sizes"),
    ("sizes a string", lambda: digitnet.Network("784"), TypeError, "sizes"),
    ("one layer", lambda: digitnet.Network([784]), ValueError, "at least 2 layers"),
    ("zero-size layer", lambda: digitnet.Network([784, 0, 10]), ValueError, r"sizes\[1\]"),
    ("negative layer", lambda: digitnet.Network([784, -3, 10]), ValueError, r"sizes\[1\]"),
    ("float layer", lambda: digitnet.Network([784, 30.5, 10]), TypeError, r"sizes\[1\]"),
    ("bool layer", lambda: digitnet.Network([True, 2]), TypeError, r"sizes\[0\]"),
    ("huge layers", lambda: digitnet.Network([2**40, 2**30]), MemoryError, "weights"),
    ("negative seed", lambda: digitnet.Network([2, 2], seed=-1), ValueError, "seed"),
    ("seed too big", lambda: digitnet.Network([2, 2], seed=2**64), ValueError, "seed"),
    ("float seed", lambda: digitnet.Network([2, 2], seed=1.5), TypeError, "seed"),
    (
        "feedforward wrong width",
        lambda: net().feedforward(np.zeros((5, 3))),
        ValueError,
        r"\(5, 3\)",
    ),
    ("feedforward rank 3", lambda: net().feedforward(np.zeros((2, 4, 1))), ValueError, "shape"),
    ("feedforward strings", lambda: net().feedforward(np.array([["a"] * 4])), TypeError, "dtype"),
    (
        "feedforward complex",
        lambda: net().feedforward(np.zeros((1, 4), complex)),
        TypeError,
        "dtype",
    ),
    ("feedforward NaN", lambda: net().feedforward(NAN_X), ValueError, "non-finite"),
    ("feedforward ragged", lambda: net().feedforward([[1, 2], [3]]), ValueError, "rectangular"),
    (
        "weights wrong count",
        lambda: setattr(net(), "weights", [np.zeros((3, 4))]),
        ValueError,
        "2 arrays",
    ),
    (
        "weights wrong shape",
        lambda: setattr(net(), "weights", [np.zeros((4, 3)), np.zeros((2, 3))]),
        ValueError,
        r"weights\[0\]",
    ),
    (
        "weights NaN",
        lambda: setattr(net(), "weights", [np.full((3, 4), np.nan), np.zeros((2, 3))]),
        ValueError,
        "non-finite",
    ),
    (
        "weights not a list",
        lambda: setattr(net(), "weights", np.zeros((3, 4))),
        TypeError,
        "weights",
    ),
    (
        "biases wrong shape",
        lambda: setattr(net(), "biases", [np.zeros((3, 2)), np.zeros((2, 1))]),
        ValueError,
        r"biases\[0\]",
    ),
    (
        "weights item wrong shape",
        lambda: net().weights.__setitem__(1, np.zeros((3, 3))),
        ValueError,
        r"weights\[1\]",
    ),
    (
        "SGD zero epochs ok, negative not",
        lambda: net().SGD((GOOD_X, GOOD_Y), -1, 2, 1.0),
        ValueError,
        "epochs",
    ),
    (
        "SGD zero batch",
        lambda: net().SGD((GOOD_X, GOOD_Y), 1, 0, 1.0),
        ValueError,
        "mini_batch_size",
    ),
    (
        "SGD float batch",
        lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2.5, 1.0),
        TypeError,
        "mini_batch_size",
    ),
    ("SGD zero eta", lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2, 0.0), ValueError, "eta"),
    ("SGD negative eta", lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2, -3.0), ValueError, "eta"),
    ("SGD NaN eta", lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2, float("nan")), ValueError, "eta"),
    ("SGD string eta", lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2, "3"), TypeError, "eta"),
    ("SGD empty list", lambda: net().SGD([], 1, 2, 1.0), ValueError, "empty"),
    (
        "SGD empty arrays",
        lambda: net().SGD((np.zeros((0, 4)), np.zeros(0, int)), 1, 2, 1.0),
        ValueError,
        "empty",
    ),
    ("SGD not pairs", lambda: net().SGD([1, 2, 3], 1, 2, 1.0), TypeError, r"training_data\[0\]"),
    ("SGD not iterable", lambda: net().SGD(5, 1, 2, 1.0), TypeError, "training_data"),
    (
        "SGD wrong input width",
        lambda: net().SGD((np.zeros((5, 3)), GOOD_Y), 1, 2, 1.0),
        ValueError,
        "training_data inputs",
    ),
    (
        "SGD mismatched counts",
        lambda: net().SGD((GOOD_X, GOOD_Y[:4]), 1, 2, 1.0),
        ValueError,
        "training_data targets",
    ),
    (
        "SGD label out of range",
        lambda: net().SGD((GOOD_X, np.array([0, 1, 2, 0, 1])), 1, 2, 1.0),
        ValueError,
        r"targets\[2\]",
    ),
    (
        "SGD negative label",
        lambda: net().SGD((GOOD_X, np.array([0, -1, 0, 0, 1])), 1, 2, 1.0),
        ValueError,
        r"targets\[1\]",
    ),
    (
        "SGD fractional labels",
        lambda: net().SGD((GOOD_X, np.full(5, 0.5)), 1, 2, 1.0),
        TypeError,
        "labels",
    ),
    ("SGD NaN input", lambda: net().SGD((NAN_X, GOOD_Y), 1, 2, 1.0), ValueError, "non-finite"),
    (
        "SGD inf target",
        lambda: net().SGD((GOOD_X, np.full((5, 2), np.inf)), 1, 2, 1.0),
        ValueError,
        "non-finite",
    ),
    (
        "SGD ragged list",
        lambda: net().SGD([(np.zeros((4, 1)), 0), (np.zeros((3, 1)), 1)], 1, 2, 1.0),
        ValueError,
        r"\(4, 1\) column",
    ),
    (
        "SGD test labels out of range",
        lambda: net().SGD((GOOD_X, GOOD_Y), 1, 2, 1.0, test_data=(GOOD_X, GOOD_Y + 5)),
        ValueError,
        "test_data labels",
    ),
    ("evaluate mismatched", lambda: net().evaluate((GOOD_X, GOOD_Y[:3])), ValueError, "test_data"),
    (
        "evaluate wrong width",
        lambda: net().evaluate((np.zeros((5, 2)), GOOD_Y)),
        ValueError,
        "test_data inputs",
    ),
    (
        "backprop wrong y",
        lambda: net().backprop(np.zeros((4, 1)), np.zeros((3, 1))),
        ValueError,
        "y",
    ),
    ("backprop label out of range", lambda: net().backprop(np.zeros((4, 1)), 7), ValueError, "y"),
    (
        "update_mini_batch zero eta",
        lambda: net().update_mini_batch((GOOD_X, GOOD_Y), 0),
        ValueError,
        "eta",
    ),
    (
        "train_epoch bad order",
        lambda: net().train_epoch((GOOD_X, GOOD_Y), 2, 1.0, order=[0, 1, 2, 3, 9]),
        ValueError,
        "order",
    ),
    (
        "train_epoch short order",
        lambda: net().train_epoch((GOOD_X, GOOD_Y), 2, 1.0, order=[0, 1]),
        ValueError,
        "order",
    ),
    (
        "core wrong dtype",
        lambda: _core.Network([2, 2], 0).feedforward(np.zeros((1, 2), np.float32)),
        TypeError,
        "x: expected a 2-D NumPy array of float64",
    ),
    (
        "core shape",
        lambda: _core.Network([2, 2], 0).feedforward(np.zeros((1, 3))),
        ValueError,
        r"inputs: expected shape \(n, 2\)",
    ),
    (
        "core negative label",
        lambda: _core.Network([2, 2], 0).evaluate(np.zeros((1, 2)), np.array([-1])),
        ValueError,
        r"labels\[0\]",
    ),
    (
        "core zero batch",
        lambda: _core.Network([2, 2], 0).sgd(
            np.zeros((1, 2)), np.zeros((1, 2)), 1, 0, StepOptions(1.0)
        ),
        ValueError,
        "mini_batch_size",
    ),
    (
        "core order out of range",
        lambda: _core.Network([2, 2], 0).train_epoch(
            np.zeros((1, 2)), np.zeros((1, 2)), 1, StepOptions(1.0), np.array([3])
        ),
        ValueError,
        "order",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_raises(
    call: Callable[[], Any], error: type[BaseException], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("impl", [digitnet, reference])
def test_failed_assignment_changes_nothing(impl: Any) -> None:
    n = impl.Network([3, 2, 2], seed=0)
    before = [w.copy() for w in n.weights]
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        n.weights = [np.ones((2, 3)), np.ones((3, 3))]
    for a, b in zip(n.weights, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fortran_ordered_and_strided_inputs_are_used_correctly() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 8))
    n = digitnet.Network([4, 3], seed=1)
    expected = n.feedforward(np.ascontiguousarray(x[::2, ::2]))
    np.testing.assert_array_equal(n.feedforward(x[::2, ::2]), expected)
    np.testing.assert_array_equal(n.feedforward(np.asfortranarray(x[::2, ::2])), expected)


def test_zero_epochs_trains_nothing() -> None:
    n = net()
    before = n.weights[0].copy()
    assert n.SGD((GOOD_X, GOOD_Y), 0, 2, 1.0, verbose=False) == []
    np.testing.assert_array_equal(n.weights[0], before)


def test_an_internal_panic_is_an_ordinary_exception_asking_for_a_bug_report() -> None:
    """Every method of the binding runs under the same guard as this deliberate panic."""
    caught: list[Exception] = []
    try:
        _core._panic_for_tests("an invariant broke")
    except Exception as error:  # what users write must catch it, unlike PanicException
        caught.append(error)
    assert len(caught) == 1
    assert isinstance(caught[0], digitnet.InternalError)
    assert "an invariant broke" in str(caught[0])
    assert "please report it" in str(caught[0])
