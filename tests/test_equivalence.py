"""The Rust engine against the NumPy reference, on random networks, parameters and data."""

from __future__ import annotations

import itertools

import numpy as np
from conftest import assert_close, assert_within_conditioning
from hypothesis import given, settings
from hypothesis import strategies as st

import digitnet
from digitnet import reference

layer_sizes = st.lists(st.integers(1, 64), min_size=2, max_size=4)


@st.composite
def networks(
    draw: st.DrawFn, scales: tuple[float, ...] = (0.1, 1.0, 3.0, 30.0)
) -> tuple[digitnet.Network, reference.Network]:
    """A Rust network and a reference network with the same random parameters.

    Scales up to 30 push |z| into the hundreds, where the sigmoid saturates.
    """
    sizes = draw(layer_sizes)
    scale = draw(st.sampled_from(scales))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    rust = digitnet.Network(sizes, seed=0)
    ref = reference.Network(sizes, seed=0)
    weights = [scale * rng.standard_normal((y, x)) for x, y in itertools.pairwise(sizes)]
    biases = [scale * rng.standard_normal((y, 1)) for y in sizes[1:]]
    for net in (rust, ref):
        net.weights = weights
        net.biases = biases
    return rust, ref


@st.composite
def batches(
    draw: st.DrawFn, n_in: int, n_out: int, max_rows: int = 40, extreme: bool = True
) -> tuple[np.ndarray, ...]:
    """Inputs (with ``extreme``, sometimes huge, to saturate the first layer) and one-hot or
    real targets."""
    rows = draw(st.integers(1, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    scale = draw(st.sampled_from([1.0, 100.0] if extreme else [1.0]))
    x = scale * rng.standard_normal((rows, n_in))
    if draw(st.booleans()):
        y = np.eye(n_out)[rng.integers(0, n_out, rows)]
    else:
        y = rng.uniform(0, 1, (rows, n_out))
    return x, y


@settings(max_examples=150)
@given(data=st.data())
def test_feedforward_agrees(data: st.DataObject) -> None:
    rust, ref = data.draw(networks())
    x, _ = data.draw(batches(rust.sizes[0], rust.sizes[-1]))
    assert_close(rust.feedforward(x), ref.feedforward(x))


@settings(max_examples=150)
@given(data=st.data())
def test_backprop_agrees(data: st.DataObject) -> None:
    """To 1e-10 of each gradient's scale, or, where the gradient is a sum that cancels (saturated
    units whose slopes span many orders of magnitude), within what summing in another order can
    change: the reference's own movement when its parameters are nudged by a relative 1e-13
    measures that amplification (see ``assert_within_conditioning``)."""
    rust, ref = data.draw(networks())
    x, y = data.draw(batches(rust.sizes[0], rust.sizes[-1]))
    nudged = reference.Network(ref.sizes, seed=0)
    noise = np.random.default_rng(0)
    nudged.weights = [w * (1 + 1e-13 * noise.standard_normal(w.shape)) for w in ref.weights]
    nudged.biases = [b * (1 + 1e-13 * noise.standard_normal(b.shape)) for b in ref.biases]
    rust_b, rust_w = rust.backprop(x, y)
    ref_b, ref_w = ref.backprop(x, y)
    nudged_b, nudged_w = nudged.backprop(x, y)
    for a, b, c in zip(rust_b + rust_w, ref_b + ref_w, nudged_b + nudged_w, strict=True):
        if not np.any(b):
            # Every slope underflowed to 0: nothing to scale by, and the engine must agree.
            assert not np.any(a)
            continue
        assert_within_conditioning(
            "backprop float64", a.ravel(), b.ravel(), c.ravel(), 1e-13, 1,
            float(np.finfo(float).eps), 1e-10,
        )  # fmt: skip


@settings(max_examples=100)
@given(data=st.data(), eta=st.floats(0.01, 5.0))
def test_update_mini_batch_agrees(data: st.DataObject, eta: float) -> None:
    rust, ref = data.draw(networks())
    x, y = data.draw(batches(rust.sizes[0], rust.sizes[-1], max_rows=20))
    rust.update_mini_batch((x, y), eta)
    ref.update_mini_batch((x, y), eta)
    for a, b in zip([*rust.weights, *rust.biases], [*ref.weights, *ref.biases], strict=True):
        assert_close(a, b)


@settings(max_examples=300)
@given(data=st.data(), eta=st.floats(0.01, 1.0), mini_batch_size=st.integers(1, 16))
def test_a_whole_epoch_agrees_given_the_same_order(
    data: st.DataObject, eta: float, mini_batch_size: int
) -> None:
    # An epoch is a chain of updates, and each step scales a difference in the parameters by up
    # to about 1 + eta * |x|^2 * |W|^2 * sigma''. With large steps, inputs or weights that is a
    # chaotic map: two correct implementations that merely sum in different orders part after a
    # few steps. So whole epochs are compared to 1e-10 where that growth stays bounded (20,000
    # examples pass here): inputs and weights of order 1, eta up to 1. The next test covers
    # the rest against the measured conditioning of the epoch.
    rust, ref = data.draw(networks(scales=(0.1, 1.0)))
    x, y = data.draw(batches(rust.sizes[0], rust.sizes[-1], max_rows=60, extreme=False))
    order = np.random.default_rng(data.draw(st.integers(0, 2**32))).permutation(x.shape[0])
    rust.train_epoch((x, y), mini_batch_size, eta, order=order)
    ref.train_epoch((x, y), mini_batch_size, eta, order=order)
    for a, b in zip([*rust.weights, *rust.biases], [*ref.weights, *ref.biases], strict=True):
        assert_close(a, b)


def test_single_samples_in_network_py_shapes_agree() -> None:
    rng = np.random.default_rng(1)
    rust = digitnet.Network([5, 4, 3], seed=2)
    ref = reference.Network([5, 4, 3], seed=2)
    ref.weights, ref.biases = rust.weights, rust.biases
    x, y = rng.standard_normal((5, 1)), np.eye(3)[:, [1]]
    assert rust.feedforward(x).shape == (3, 1)
    assert_close(rust.feedforward(x), ref.feedforward(x))
    (rb, rw), (fb, fw) = rust.backprop(x, y), ref.backprop(x, y)
    assert [b.shape for b in rb] == [(4, 1), (3, 1)]
    assert [w.shape for w in rw] == [(4, 5), (3, 4)]
    for a, b in zip(rb + rw, fb + fw, strict=True):
        assert_close(a, b)


def test_saturated_units_agree_to_full_precision() -> None:
    """Where the naive 1 - sigmoid(z) would lose every digit, both keep them."""
    z = np.array([-745.0, -300.0, -40.0, -20.0, 0.0, 20.0, 40.0, 300.0, 745.0])
    assert_close(digitnet.sigmoid_prime(z), reference.sigmoid_prime(z))
    assert_close(digitnet.sigmoid(z), reference.sigmoid(z))
    # Element-wise too: each value is within a few ulp of the other.
    np.testing.assert_allclose(digitnet.sigmoid_prime(z), reference.sigmoid_prime(z), rtol=1e-14)
    assert digitnet.sigmoid_prime(40.0) > 0.0


def _parameters(net: digitnet.Network | reference.Network) -> np.ndarray:
    return np.concatenate([p.ravel() for p in [*net.weights, *net.biases]])


@settings(max_examples=150)
@given(data=st.data(), eta=st.floats(0.01, 5.0), mini_batch_size=st.integers(1, 16))
def test_any_epoch_agrees_within_its_conditioning(
    data: st.DataObject, eta: float, mini_batch_size: int
) -> None:
    """Anywhere, extremes included, the engine and the reference differ after an epoch by no
    more than the reference itself moves when its starting point is nudged by a few ulp.

    The nudge (relative 1e-13) measures how much the epoch amplifies a difference; rounding
    differences arise at every step, each at most a few hundred ulp of its step, and each is
    amplified at most as much, whence the bound's factor of 100 per mini-batch step."""
    rust, ref = data.draw(networks())
    x, y = data.draw(batches(rust.sizes[0], rust.sizes[-1], max_rows=60))
    order = np.random.default_rng(data.draw(st.integers(0, 2**32))).permutation(x.shape[0])
    nudged = reference.Network(ref.sizes, seed=0)
    noise = np.random.default_rng(0)
    nudged.weights = [w * (1 + 1e-13 * noise.standard_normal(w.shape)) for w in ref.weights]
    nudged.biases = [b * (1 + 1e-13 * noise.standard_normal(b.shape)) for b in ref.biases]
    for net in (rust, ref, nudged):
        net.train_epoch((x, y), mini_batch_size, eta, order=order)
    steps = -(-x.shape[0] // mini_batch_size)
    assert_within_conditioning(
        "equivalence float64", _parameters(rust), _parameters(ref), _parameters(nudged), 1e-13,
        steps, float(np.finfo(float).eps), 1e-10,
    )  # fmt: skip
