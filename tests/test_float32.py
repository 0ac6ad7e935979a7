"""float32 networks: the same engine code in single precision, checked against float64.

Tolerances. float32 rounds to u = 2**-24 ≈ 6e-8. A layer's weighted input is a dot product of
at most 65 terms (64 inputs and a bias), so its error is at most γ₆₅ = 65u/(1 − 65u) ≈ 4e-6
of Σ|w·a| (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1), and the sigmoid
(slope ≤ 1/4) does not amplify it. With weights and inputs of order 1, Σ|w·a| is within a
small factor of the outputs' scale, so single-step results agree normwise to about 1e-5;
the tests allow 1e-4 for the cancellation that summing over a batch adds. A whole epoch is
bounded like the float64 one (test_equivalence.py), against its measured conditioning, with
float32's u in place of float64's.

Weights are drawn N(0, 1/n_in), so weighted inputs are of order 1. Deep in saturation the
comparison would measure float32 itself, not the engine: there the relative error of
sigmoid'(z) equals the absolute error of z (its condition number is |z|), and 1 − sigmoid(z)
is below float32's resolution once z > 17.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import assert_close, assert_within_conditioning
from hypothesis import given, settings
from hypothesis import strategies as st

import digitnet
from digitnet import reference

SINGLE_STEP = 1e-4
U32 = float(np.finfo(np.float32).eps) / 2


@st.composite
def pair(draw: st.DrawFn) -> tuple[digitnet.Network, reference.Network, np.ndarray, np.ndarray]:
    """A float32 engine network and a float64 reference with the same (float32-representable)
    parameters, and a batch with one-hot targets."""
    sizes = draw(st.lists(st.integers(1, 64), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    rows = draw(st.integers(1, 40))
    f32 = digitnet.Network(sizes, seed=0, dtype="float32")
    ref = reference.Network(sizes, seed=0)
    weights = [
        (rng.standard_normal((y, x)) / np.sqrt(x)).astype(np.float32)
        for x, y in itertools.pairwise(sizes)
    ]
    biases = [rng.standard_normal((y, 1)).astype(np.float32) for y in sizes[1:]]
    for net in (f32, ref):
        net.weights = weights
        net.biases = biases
    x = rng.standard_normal((rows, sizes[0])).astype(np.float32).astype(np.float64)
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], rows)]
    return f32, ref, x, y


def test_float32_attributes_and_outputs() -> None:
    net = digitnet.Network([5, 4, 3], seed=2, dtype="float32")
    assert net.dtype == np.float32
    assert all(p.dtype == np.float32 for p in [*net.weights, *net.biases])
    assert net.feedforward(np.zeros((2, 5))).dtype == np.float32
    _nabla_b, nabla_w = net.backprop(np.zeros((5, 1)), 1)
    assert nabla_w[0].dtype == np.float32


def test_a_seed_gives_the_float64_start_rounded() -> None:
    f64 = digitnet.Network([7, 5, 3], seed=11)
    f32 = digitnet.Network([7, 5, 3], seed=11, dtype=np.float32)
    for a, b in zip([*f64.weights, *f64.biases], [*f32.weights, *f32.biases], strict=True):
        np.testing.assert_array_equal(a.astype(np.float32), b)


@pytest.mark.parametrize("bad", ["float16", "int32", np.complex64])
def test_other_dtypes_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="dtype"):
        digitnet.Network([2, 2], dtype=bad)


def test_not_a_dtype_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="dtype"):
        digitnet.Network([2, 2], dtype="banana")


@settings(max_examples=150)
@given(case=pair())
def test_feedforward_agrees_with_float64(case: tuple) -> None:
    f32, ref, x, _ = case
    assert_close(f32.feedforward(x).astype(np.float64), ref.feedforward(x), rtol=SINGLE_STEP)


@settings(max_examples=150)
@given(case=pair())
def test_backprop_agrees_with_float64(case: tuple) -> None:
    f32, ref, x, y = case
    (b32, w32), (b64, w64) = f32.backprop(x, y), ref.backprop(x, y)
    for a, b in zip(b32 + w32, b64 + w64, strict=True):
        assert_close(a.astype(np.float64), b, rtol=SINGLE_STEP)


@settings(max_examples=100)
@given(case=pair(), eta=st.floats(0.01, 3.0), mini_batch_size=st.integers(1, 16))
def test_an_epoch_agrees_with_float64_within_its_conditioning(
    case: tuple, eta: float, mini_batch_size: int
) -> None:
    f32, ref, x, y = case
    order = np.random.default_rng(0).permutation(x.shape[0])
    nudged = reference.Network(ref.sizes, seed=0)
    noise = np.random.default_rng(1)
    nudged.weights = [w * (1 + 1e-7 * noise.standard_normal(w.shape)) for w in ref.weights]
    nudged.biases = [b * (1 + 1e-7 * noise.standard_normal(b.shape)) for b in ref.biases]
    for net in (f32, ref, nudged):
        net.train_epoch((x, y), mini_batch_size, eta, order=order)

    def flat(net: object) -> np.ndarray:
        return np.concatenate([p.ravel().astype(np.float64) for p in [*net.weights, *net.biases]])

    steps = -(-x.shape[0] // mini_batch_size)
    assert_within_conditioning(
        "float32 vs float64", flat(f32), flat(ref), flat(nudged), 1e-7, steps, U32, SINGLE_STEP
    )


def test_float32_learns_as_float64_does() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (600, 12))
    labels = (x[:, :4].sum(axis=1) > 2).astype(int) + 2 * (x[:, 4:8].sum(axis=1) > 2)
    results = {}
    for dtype in ("float64", "float32"):
        net = digitnet.Network([12, 16, 4], seed=3, dtype=dtype)
        net.SGD((x[:500], labels[:500]), 20, 10, 3.0, verbose=False)
        results[dtype] = net.evaluate((x[500:], labels[500:]))
    assert results["float32"] >= 80
    assert abs(results["float32"] - results["float64"]) <= 5
