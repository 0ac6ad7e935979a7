"""A seed fixes the starting parameters and the whole training run, bit for bit."""

from __future__ import annotations

import numpy as np

import digitnet


def data(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, 8)), rng.integers(0, 4, n)


def trained(seed: int | None) -> digitnet.Network:
    net = digitnet.Network([8, 6, 4], seed=seed)
    net.SGD(data(), 3, 7, 2.0, verbose=False)
    return net


def test_same_seed_same_result_bit_for_bit() -> None:
    a, b = trained(42), trained(42)
    for x, y in zip([*a.weights, *a.biases], [*b.weights, *b.biases], strict=True):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_differ() -> None:
    assert not np.array_equal(trained(1).weights[0], trained(2).weights[0])


def test_no_seed_draws_one_and_records_it() -> None:
    a = digitnet.Network([3, 2])
    b = digitnet.Network([3, 2], seed=a.seed)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert digitnet.Network([3, 2]).seed != a.seed


def test_initial_parameters_are_standard_normal() -> None:
    w = digitnet.Network([400, 500], seed=0).weights[0]
    assert abs(w.mean()) < 0.01
    assert abs(w.std() - 1.0) < 0.01


def test_training_continues_the_random_stream() -> None:
    """Two SGD calls of one epoch equal one call of two epochs."""
    x, y = data()
    once = digitnet.Network([8, 6, 4], seed=5)
    once.SGD((x, y), 2, 7, 2.0, verbose=False)
    twice = digitnet.Network([8, 6, 4], seed=5)
    twice.SGD((x, y), 1, 7, 2.0, verbose=False)
    twice.SGD((x, y), 1, 7, 2.0, verbose=False)
    np.testing.assert_array_equal(once.weights[0], twice.weights[0])
