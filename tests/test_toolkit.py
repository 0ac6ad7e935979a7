"""The toolkit beyond network.py, piece by piece: the Rust engine against the NumPy reference
for tanh and ReLU hidden layers, softmax with the log-likelihood cost, cross-entropy with
sigmoids, L2 with the training set's size, explicit dropout masks, and momentum, Nesterov and
Adam with their state carried from step to step; then what ``SGD`` adds (divergence refused,
the learning-rate schedule, early stopping, the epoch callback, dropout, image augmentation),
the initialisers, the combinations that are refused, and the recipes.

Tolerances, float64. Single steps are compared to 1e-10 in both regimes of
test_equivalence.py: weights and inputs of order 1, and the extreme one (weights up to 30,
inputs up to 100), where sigmoid and tanh units saturate (both sides use saturation-safe
derivatives) and ReLU activations and softmax inputs reach the thousands (only the max-shifted
softmax does not overflow there). Outputs and parameters are compared normwise, as
``conftest.assert_close`` does. Gradients are compared normwise against the magnitude of the
terms they sum (``gradient_terms``), because the output error ``a − y`` itself cancels when a
unit saturates at its target: one ulp of ``a``, by which two correct tanh implementations
differ, is then a large part of a gradient made only of such terms. A ReLU unit whose weighted
input lies within rounding of 0 could take either slope, but in float64 that needs
|z| ≲ 1e-14·Σ|w·a|, which random draws do not produce.

Chains of updates (whole epochs, several optimizer steps) are compared to 1e-10 only where
they are well conditioned, as test_equivalence.py argues: weighted inputs of order 1 (weights
N(0, 1/n_in)) and small steps, η ≤ 0.25 for SGD (tanh and ReLU have slopes up to 1, four times
the sigmoid's, so this is test_equivalence.py's η ≤ 1), η/(1 − μ) ≤ 0.25 with momentum, η ≤
2e-3 with Adam (whose steps are about η per entry whatever the gradient). 20,000 examples of
that regime pass with errors below 4e-13. Targets for the log-likelihood cost are probability
distributions, as it assumes: with rows that do not sum to 1, ``a − y`` is not its gradient
and training drifts without bound. Elsewhere an epoch is bounded by its measured conditioning,
as in test_equivalence.py.

float32. As test_float32.py argues, with weights N(0, 1/n_in) and inputs of order 1 a single
step agrees normwise with float64 to about 1e-5, and the tests allow SINGLE_STEP = 1e-4. Two
things are new. ReLU's slope jumps at 0, and float32 puts a weighted input within about
1e-5·Σ|w·a| of 0 on either side, a legitimate O(1) difference in that unit's backward pass:
such units (|z| ≤ 1e-4·Σ|w·a| in float64) are pinned to 0 in both computations with the
dropout masks, which zero a unit's activation (already ≈ 0) and its slope. A ReLU output
layer has no mask, so it is compared in float64 only. And Adam divides each gradient entry by
its own magnitude, so an entry that cancels to within float32's rounding moves by an
arbitrary ±η: chains of optimizer steps in float32 are bounded, like test_float32.py's epoch,
by their measured conditioning (the reference's own change when its start is nudged by 1e-7),
which exposes exactly those entries.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import assert_close, assert_within_conditioning
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import digitnet
from digitnet import reference
from digitnet.datasets.mnist import ArrayData, MnistSplits
from digitnet.sgd import StepOptions
from digitnet.training import Adam, Augment, EarlyStopping, HalveOnPlateau, Momentum, Nesterov

SINGLE_STEP = 1e-4
U32 = float(np.finfo(np.float32).eps) / 2

HIDDEN = ("sigmoid", "tanh", "relu")
#: (cost, output activation) pairs the engine accepts.
HEADS = (
    ("QuadraticCost", "sigmoid"),
    ("QuadraticCost", "tanh"),
    ("QuadraticCost", "relu"),
    ("CrossEntropyCost", "sigmoid"),
    ("LogLikelihoodCost", "softmax"),
)

AnyNet = digitnet.Network | reference.Network


# ---- drawing networks, data, masks and optimizers ---------------------------------------------


@dataclasses.dataclass
class Case:
    """An engine network and a reference network with equal parameters, and a batch."""

    rust: digitnet.Network
    ref: reference.Network
    x: np.ndarray
    y: np.ndarray
    rng: np.random.Generator
    x_scale: float = 1.0

    def __repr__(self) -> str:
        net = self.rust
        return (
            f"Case({net.sizes}, {net.activations}, {net.cost.name}, {net.dtype.name}, "
            f"rows={self.x.shape[0]}, x_scale={self.x_scale}, "
            f"w_max={max(float(np.max(np.abs(w))) for w in net.weights):.3g})"
        )

    def batch(self, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Another batch like the first, with one-hot targets."""
        rows = self.x.shape[0] if rows is None else rows
        x = self.x_scale * self.rng.standard_normal((rows, self.x.shape[1]))
        if self.rust.dtype == np.float32:
            x = x.astype(np.float32).astype(np.float64)
        y = np.eye(self.y.shape[1])[self.rng.integers(0, self.y.shape[1], rows)]
        return x, y


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    extreme: bool = True,
    dtype: str = "float64",
    max_rows: int = 40,
    hidden: tuple[str, ...] = HIDDEN,
    heads: tuple[tuple[str, str], ...] = HEADS,
) -> Case:
    """A random architecture from ``hidden`` and ``heads``, random parameters and a batch.

    float64 draws weights and biases as scale·N(0, 1) with scale up to 30 when ``extreme``
    (and inputs up to 100), else weights scale·N(0, 1/n_in), scale ≤ 1; float32 draws them as
    test_float32.py does, N(0, 1/n_in) weights, every value float32-representable, so both
    sides start from the same numbers."""
    sizes = draw(st.lists(st.integers(1, 32), min_size=2, max_size=4))
    layers = len(sizes) - 1
    acts = draw(st.lists(st.sampled_from(hidden), min_size=layers - 1, max_size=layers - 1))
    cost, output = draw(st.sampled_from(heads))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.integers(1, max_rows))
    pairs = list(itertools.pairwise(sizes))
    x_scale = 1.0
    if dtype == "float64":
        scale = draw(st.sampled_from((0.1, 1.0, 3.0, 30.0) if extreme else (0.1, 1.0)))
        x_scale = draw(st.sampled_from((1.0, 100.0) if extreme else (1.0,)))
        # Ordinary: weighted inputs of order 1 (N(0, 1/n_in) weights, as "scaled" draws them).
        weights = [
            scale * rng.standard_normal((b, a)) / (1 if extreme else np.sqrt(a)) for a, b in pairs
        ]
        biases = [scale * rng.standard_normal(b) for b in sizes[1:]]
        x = x_scale * rng.standard_normal((rows, sizes[0]))
    else:
        weights = [(rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32) for a, b in pairs]
        biases = [rng.standard_normal(b).astype(np.float32) for b in sizes[1:]]
        x = rng.standard_normal((rows, sizes[0])).astype(np.float32).astype(np.float64)
    if draw(st.booleans()):
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], rows)]
    else:
        y = rng.uniform(0, 1, (rows, sizes[-1]))
        if cost == "LogLikelihoodCost":  # a probability distribution, as the cost assumes
            y /= y.sum(axis=1, keepdims=True)
        y = y.astype(np.float32).astype(np.float64)
    arch: dict[str, Any] = {"cost": cost, "activation": acts, "output": output}
    rust = digitnet.Network(sizes, seed=0, dtype=dtype, **arch)
    ref = reference.Network(sizes, seed=0, **arch)
    for net in (rust, ref):
        net.weights = weights
        net.biases = [b.reshape(-1, 1) for b in biases]
    case = Case(rust, ref, x, y, rng, x_scale)
    note(repr(case))
    return case


def twin(net: reference.Network, nudge: float = 0.0, seed: int = 0) -> reference.Network:
    """A reference network with the same architecture and parameters, each multiplied by
    ``1 + nudge·N(0, 1)``."""
    other = reference.Network(
        net.sizes,
        seed=0,
        cost=net.cost,
        activation=net.activations[:-1],
        output=net.activations[-1],
    )
    noise = np.random.default_rng(seed)
    other.weights = [w * (1 + nudge * noise.standard_normal(w.shape)) for w in net.weights]
    other.biases = [b * (1 + nudge * noise.standard_normal(b.shape)) for b in net.biases]
    return other


def masks_for(case: Case, keep: float | None, x: np.ndarray | None = None) -> list[np.ndarray]:
    """Random dropout masks (0 or 1/keep) for each hidden layer, or none."""
    rows = (case.x if x is None else x).shape[0]
    if keep is None or case.rust.num_layers < 3:
        return []
    return [(case.rng.random((rows, n)) < keep) / keep for n in case.rust.sizes[1:-1]]


# 1/keep is exact in float32 for these, so both sides multiply by the same mask values.
keeps = st.sampled_from([None, 0.8, 0.5, 0.25])


@st.composite
def optimizers(draw: st.DrawFn) -> tuple[Momentum | Nesterov | Adam, float]:
    """An optimizer with random hyperparameters and a learning rate that suits it."""
    kind = draw(st.sampled_from(["momentum", "nesterov", "adam"]))
    if kind == "adam":
        adam = Adam(
            beta1=draw(st.floats(0.5, 0.95)),
            beta2=draw(st.floats(0.9, 0.9999)),
            epsilon=draw(st.sampled_from([1e-8, 1e-6])),
        )
        return adam, draw(st.floats(1e-4, 1e-2))
    mu = draw(st.floats(0.5, 0.95))
    return (Momentum(mu) if kind == "momentum" else Nesterov(mu)), draw(st.floats(1e-3, 0.2))


def as_dtype(net: digitnet.Network, arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(a, dtype=net.dtype) for a in arrays]


def engine_backprop(
    net: digitnet.Network, x: np.ndarray, y: np.ndarray, masks: list[np.ndarray]
) -> list[np.ndarray]:
    nabla_b, nabla_w = net._core.backprop(*as_dtype(net, [x, y]), as_dtype(net, masks) or None)
    return [*nabla_b, *nabla_w]


def gradient_terms(
    ref: reference.Network,
    x: np.ndarray,
    y: np.ndarray,
    masks: list[np.ndarray],
    rtol: float = 1e-10,
    eps: float = float(np.finfo(np.float64).eps),
) -> list[np.ndarray]:
    """For each gradient entry, the sum of the magnitudes of what it sums: backpropagation
    with every quantity in absolute value and the output error ``a − y`` taken as ``|a| + |y|``.

    That is the scale of the rounding a gradient entry carries. conftest.assert_close measures
    against the array's largest entry because entries can cancel; the output error cancels too
    when a unit saturates at its target (tanh(z) → 1 with target 1), and there one ulp of ``a``
    (np.tanh and the engine's (1 − e)/(1 + e) differ by one, both correct) is a large part of
    ``a − y``, and of a gradient made only of such terms.

    A slope ``f'(z)`` carries the rounding of ``z`` itself: each side computes ``z`` to within
    ``γ = k·eps`` of ``Σ|w·a| + |b|`` (``k`` terms), and ``|f''| ≤ 2|f'|`` for the sigmoid,
    tanh and exp, so the two slopes may differ by ``2·|f'|·2γ·Σ|w·a|``. That is negligible unless
    ``z`` cancels: a unit saturated at ``z ≈ 28`` out of terms of 1e5 has slopes that differ by
    1e-10 relative. Each slope's magnitude is widened by that difference over ``rtol``, so that
    ``rtol`` times the terms bounds it."""
    activations, raw_slopes = ref._forward(x, masks or None)
    slopes = []
    for layer, slope in enumerate(raw_slopes):
        w, b = ref.weights[layer], ref.biases[layer]
        z_terms = np.abs(activations[layer]) @ np.abs(w).T + np.abs(b).reshape(1, -1)
        z_error = 2 * (w.shape[1] + 1) * eps * z_terms
        slopes.append(np.abs(slope) * (1 + 2 * z_error / rtol))
    delta = np.abs(activations[-1]) + np.abs(y)
    if ref.cost is digitnet.QuadraticCost:
        delta = delta * slopes[-1]
    layers = len(ref.weights)
    terms_b: list[np.ndarray] = [np.empty(0)] * layers
    terms_w: list[np.ndarray] = [np.empty(0)] * layers
    for layer in range(layers - 1, -1, -1):
        terms_b[layer] = delta.sum(axis=0)
        terms_w[layer] = delta.T @ np.abs(activations[layer])
        if layer > 0:
            delta = (delta @ np.abs(ref.weights[layer])) * slopes[layer - 1]
    return [*terms_b, *terms_w]


def assert_close_to_terms(
    actual: np.ndarray, expected: np.ndarray, terms: np.ndarray, rtol: float = 1e-10
) -> None:
    """Normwise agreement measured against the magnitude of the summed terms (see
    :func:`gradient_terms`), which bounds ``|expected|`` and equals it up to the cancellation."""
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), "non-finite values"
    scale = float(np.max(terms, initial=0.0))
    assert scale >= float(np.max(np.abs(expected), initial=0.0)) * (1 - 1e-12)
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    assert error <= rtol * scale + 1e-300, f"max error {error:.3e} vs terms {scale:.3e}"


def engine_update(
    net: digitnet.Network,
    x: np.ndarray,
    y: np.ndarray,
    options: StepOptions,
    n: int,
    masks: list[np.ndarray],
) -> None:
    """One step of the engine with explicit masks (the binding's own entry point)."""
    net._core.update_mini_batch(*as_dtype(net, [x, y]), options, n, as_dtype(net, masks) or None)


def parameters(net: AnyNet) -> list[np.ndarray]:
    return [np.asarray(p, dtype=np.float64) for p in [*net.weights, *net.biases]]


def flat(net: AnyNet) -> np.ndarray:
    return np.concatenate([p.ravel() for p in parameters(net)])


def assert_same_parameters(a: AnyNet, b: AnyNet, rtol: float = 1e-10) -> None:
    for p, q in zip(parameters(a), parameters(b), strict=True):
        assert_close(p, q, rtol=rtol)


def assert_identical(a: AnyNet, b: AnyNet) -> None:
    for p, q in zip(parameters(a), parameters(b), strict=True):
        np.testing.assert_array_equal(p, q)


# ---- float64: single steps, extremes included -------------------------------------------------


@settings(max_examples=150)
@given(case=cases())
def test_feedforward_agrees(case: Case) -> None:
    assert_close(case.rust.feedforward(case.x), case.ref.feedforward(case.x))


@settings(max_examples=150)
@given(case=cases(), keep=keeps)
def test_backprop_agrees_with_and_without_dropout_masks(case: Case, keep: float | None) -> None:
    masks = masks_for(case, keep)
    ref_b, ref_w = case.ref._backprop(case.x, case.y, masks or None)
    terms = gradient_terms(case.ref, case.x, case.y, masks)
    engine = engine_backprop(case.rust, case.x, case.y, masks)
    for a, b, t in zip(engine, [*ref_b, *ref_w], terms, strict=True):
        assert_close_to_terms(a, b, t)


@settings(max_examples=150)
@given(
    case=cases(),
    keep=keeps,
    eta=st.floats(0.01, 5.0),
    lmbda=st.floats(0.0, 10.0),
    extra=st.integers(0, 50_000),
)
def test_an_l2_step_with_the_training_set_size_agrees(
    case: Case, keep: float | None, eta: float, lmbda: float, extra: int
) -> None:
    """network2.py's step ``w ← (1 − ηλ/n)·w − (η/m)·Σ∇w``, n the training set's size."""
    n = case.x.shape[0] + extra
    masks = masks_for(case, keep)
    if masks:
        engine_update(case.rust, case.x, case.y, StepOptions(eta, lmbda), n, masks)
    else:
        case.rust.update_mini_batch((case.x, case.y), eta, lmbda, n)
    case.ref._update(case.x, case.y, StepOptions(eta, lmbda), n, masks or None)
    assert_same_parameters(case.rust, case.ref)


@settings(max_examples=150)
@given(case=cases(), keep=keeps, opt=optimizers(), lmbda=st.floats(0.0, 10.0))
def test_one_optimizer_step_agrees_anywhere(
    case: Case, keep: float | None, opt: tuple[Any, float], lmbda: float
) -> None:
    optimizer, eta = opt
    masks = masks_for(case, keep)
    options = StepOptions(eta, lmbda, optimizer)
    engine_update(case.rust, case.x, case.y, options, 1000, masks)
    case.ref._update(case.x, case.y, options, 1000, masks or None)
    assert_same_parameters(case.rust, case.ref)


@settings(max_examples=100)
@given(
    case=cases(extreme=False),
    keep=keeps,
    opt=optimizers(),
    lmbda=st.floats(0.0, 5.0),
    steps=st.integers(2, 6),
)
def test_consecutive_optimizer_steps_agree(
    case: Case, keep: float | None, opt: tuple[Any, float], lmbda: float, steps: int
) -> None:
    """Velocities and moments carry from step to step, on new mini-batches each time."""
    optimizer, eta = opt
    options = StepOptions(eta, lmbda, optimizer)
    x, y = case.x, case.y
    for _ in range(steps):
        masks = masks_for(case, keep, x)
        if masks:
            engine_update(case.rust, x, y, options, 500, masks)
        else:
            case.rust.update_mini_batch((x, y), eta, lmbda, 500, optimizer=optimizer)
        case.ref._update(x, y, options, 500, masks or None)
        assert_same_parameters(case.rust, case.ref)
        x, y = case.batch()


def test_optimizer_state_is_carried_and_reset_by_a_new_optimizer() -> None:
    """The second momentum step uses the first's velocity; switching optimizer starts afresh."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 5)), np.eye(3)[rng.integers(0, 3, 8)]
    carried = digitnet.Network([5, 4, 3], seed=1)
    fresh = carried.copy()
    for _ in range(2):
        carried.update_mini_batch((x, y), 0.1, optimizer=Momentum(0.9))
    fresh.update_mini_batch((x, y), 0.1, optimizer=Momentum(0.9))
    fresh._core.reset_optimizer()
    fresh.update_mini_batch((x, y), 0.1, optimizer=Momentum(0.9))
    assert not np.allclose(flat(carried), flat(fresh), rtol=1e-6, atol=0)
    # A different optimizer (here different μ) forgets the velocity, in both implementations.
    ref = reference.Network([5, 4, 3], seed=0)
    ref.weights, ref.biases = carried.weights, carried.biases
    carried.update_mini_batch((x, y), 0.1, optimizer=Momentum(0.5))
    ref.update_mini_batch((x, y), 0.1, optimizer=Momentum(0.5))
    assert_same_parameters(carried, ref)


# ---- float64: chains of steps --------------------------------------------------------------


@st.composite
def epoch_options(draw: st.DrawFn, well_conditioned: bool = True) -> StepOptions:
    """Plain SGD or an optimizer, with L2. ``well_conditioned`` keeps the steps small enough
    for a whole epoch to be compared to 1e-10 (see the module docstring): η ≤ 0.25 for SGD
    (tanh and ReLU have slopes up to 1, four times the sigmoid's, so this is
    test_equivalence.py's η ≤ 1), η/(1 − μ) ≤ 0.25 with momentum, η ≤ 2e-3 with Adam."""
    lmbda = draw(st.floats(0.0, 5.0))
    if draw(st.booleans()):
        return StepOptions(draw(st.floats(0.01, 0.25 if well_conditioned else 1.0)), lmbda)
    optimizer, eta = draw(optimizers())
    if well_conditioned:
        if isinstance(optimizer, Adam):
            eta = min(eta, 2e-3)
        else:
            eta = min(eta, 0.25 * (1 - optimizer.mu))
    return StepOptions(eta, lmbda, optimizer)


@settings(max_examples=200)
@given(
    case=cases(extreme=False, max_rows=60),
    options=epoch_options(),
    mini_batch_size=st.integers(1, 16),
)
def test_a_whole_epoch_agrees_given_the_same_order(
    case: Case, options: StepOptions, mini_batch_size: int
) -> None:
    order = case.rng.permutation(case.x.shape[0])
    kwargs = {"lmbda": options.lmbda, "optimizer": options.optimizer}
    case.rust.train_epoch((case.x, case.y), mini_batch_size, options.eta, order, **kwargs)
    case.ref.train_epoch((case.x, case.y), mini_batch_size, options.eta, order, **kwargs)
    assert_same_parameters(case.rust, case.ref)


@settings(max_examples=100)
@given(
    case=cases(max_rows=60),
    options=epoch_options(well_conditioned=False),
    mini_batch_size=st.integers(1, 16),
)
def test_any_epoch_agrees_within_its_conditioning(
    case: Case, options: StepOptions, mini_batch_size: int
) -> None:
    """Extremes included: test_equivalence.py's bound, for every architecture and optimizer.

    Unlike sigmoid networks, ReLU networks can blow up at large steps; epochs whose reference
    run overflows or refuses a step are left to the divergence tests."""
    order = case.rng.permutation(case.x.shape[0])
    nudged = twin(case.ref, 1e-13)
    kwargs = {"lmbda": options.lmbda, "optimizer": options.optimizer}
    with np.errstate(all="ignore"):
        try:
            for net in (case.ref, nudged):
                net.train_epoch((case.x, case.y), mini_batch_size, options.eta, order, **kwargs)
        except digitnet.DivergenceError:
            assume(False)
    assume(max(float(np.max(np.abs(flat(n)))) for n in (case.ref, nudged)) < 1e100)
    case.rust.train_epoch((case.x, case.y), mini_batch_size, options.eta, order, **kwargs)
    steps = -(-case.x.shape[0] // mini_batch_size)
    eps = float(np.finfo(float).eps)
    assert_within_conditioning(
        "toolkit float64", flat(case.rust), flat(case.ref), flat(nudged), 1e-13, steps, eps, 1e-10
    )


# ---- float32 --------------------------------------------------------------------------------

F32_HEADS = tuple(h for h in HEADS if h[1] != "relu")


def pin_ambiguous_relu_units(case: Case, keep: float | None) -> list[np.ndarray]:
    """Masks (random with ``keep``, else ones) in which every hidden ReLU unit whose weighted
    input is within 1e-4·Σ|w·a| of 0 is dropped, so its slope is 0 on both sides."""
    if case.rust.num_layers < 3:
        return []
    masks = masks_for(case, keep) or [np.ones((case.x.shape[0], n)) for n in case.rust.sizes[1:-1]]
    a = case.x
    for layer, (w, b, name) in enumerate(
        zip(case.ref.weights, case.ref.biases, case.ref.activations[:-1], strict=False)
    ):
        z = a @ w.T + b.T
        if name == "relu":
            masks[layer][np.abs(z) <= 1e-4 * (np.abs(a) @ np.abs(w).T + np.abs(b).T)] = 0.0
        f = {"sigmoid": reference.sigmoid, "tanh": np.tanh, "relu": reference.relu}[name]
        a = f(z) * masks[layer]
    return masks


@settings(max_examples=150)
@given(case=cases(dtype="float32", heads=F32_HEADS))
def test_float32_feedforward_agrees_with_float64(case: Case) -> None:
    # Inference has no masks: a ReLU unit near 0 has activation ≈ 0 either way, continuous.
    out = case.rust.feedforward(case.x).astype(np.float64)
    assert_close(out, case.ref.feedforward(case.x), rtol=SINGLE_STEP)


@settings(max_examples=150)
@given(case=cases(dtype="float32", heads=F32_HEADS), keep=keeps)
def test_float32_backprop_agrees_with_float64(case: Case, keep: float | None) -> None:
    masks = pin_ambiguous_relu_units(case, keep)
    ref_b, ref_w = case.ref._backprop(case.x, case.y, masks or None)
    eps = float(np.finfo(np.float32).eps)
    terms = gradient_terms(case.ref, case.x, case.y, masks, SINGLE_STEP, eps)
    engine = engine_backprop(case.rust, case.x, case.y, masks)
    for a, b, t in zip(engine, [*ref_b, *ref_w], terms, strict=True):
        assert a.dtype == np.float32
        assert_close_to_terms(a, b, t, rtol=SINGLE_STEP)


@settings(max_examples=150)
@given(
    case=cases(dtype="float32", heads=F32_HEADS),
    keep=keeps,
    eta=st.floats(0.01, 3.0),
    lmbda=st.floats(0.0, 10.0),
)
def test_float32_l2_step_agrees_with_float64(
    case: Case, keep: float | None, eta: float, lmbda: float
) -> None:
    masks = pin_ambiguous_relu_units(case, keep)
    engine_update(case.rust, case.x, case.y, StepOptions(eta, lmbda), 100, masks)
    case.ref._update(case.x, case.y, StepOptions(eta, lmbda), 100, masks or None)
    assert_same_parameters(case.rust, case.ref, rtol=SINGLE_STEP)


@settings(max_examples=100)
@given(
    case=cases(dtype="float32", hidden=("sigmoid", "tanh"), heads=F32_HEADS),
    opt=optimizers(),
    lmbda=st.floats(0.0, 5.0),
    steps=st.integers(1, 5),
)
def test_float32_optimizer_steps_agree_within_their_conditioning(
    case: Case, opt: tuple[Any, float], lmbda: float, steps: int
) -> None:
    optimizer, eta = opt
    nudged = twin(case.ref, 1e-7, seed=1)
    x, y = case.x, case.y
    for _ in range(steps):
        for net in (case.rust, case.ref, nudged):
            net.update_mini_batch((x, y), eta, lmbda, 500, optimizer=optimizer)
        x, y = case.batch()
    assert_within_conditioning(
        "toolkit float32", flat(case.rust), flat(case.ref), flat(nudged), 1e-7, steps, U32,
        SINGLE_STEP,
    )  # fmt: skip


# ---- initialisation -------------------------------------------------------------------------


def assert_normal(values: np.ndarray, std: float) -> None:
    """Mean, standard deviation and the fraction within one deviation of N(0, std²), each to
    within 5 standard errors."""
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    assert abs(values.mean()) <= 5 * std / math.sqrt(n)
    assert abs(values.std() / std - 1) <= 5 / math.sqrt(2 * n)
    inside = float(np.mean(np.abs(values) <= std))
    p = math.erf(1 / math.sqrt(2))
    assert abs(inside - p) <= 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scaled_initialisation_draws_weights_with_std_one_over_sqrt_n_in(dtype: str) -> None:
    net = digitnet.Network([500, 300, 60], seed=5, dtype=dtype, init="scaled")
    for w, n_in in zip(net.weights, [500, 300], strict=True):
        assert_normal(w, 1 / math.sqrt(n_in))
    assert_normal(np.concatenate([b.ravel() for b in net.biases]), 1.0)


def test_large_initialisation_draws_standard_normals() -> None:
    net = digitnet.Network([500, 300, 60], seed=6)
    for p in [*net.weights, np.concatenate([b.ravel() for b in net.biases])]:
        assert_normal(p, 1.0)


@pytest.mark.parametrize("cls", [digitnet.Network, reference.Network])
def test_network2_initialisers_redraw_from_the_networks_stream(cls: type[AnyNet]) -> None:
    sizes = [400, 200, 10]
    net, same = cls(sizes, seed=8), cls(sizes, seed=8)
    before = flat(net)
    net.default_weight_initializer()
    assert not np.array_equal(flat(net), before)
    for w, n_in in zip(net.weights, sizes, strict=False):
        assert_normal(w, 1 / math.sqrt(n_in))
    assert_normal(np.concatenate([b.ravel() for b in net.biases]), 1.0)
    net.large_weight_initializer()
    for w in net.weights:
        assert_normal(w, 1.0)
    # The same seed and the same calls give the same parameters.
    same.default_weight_initializer()
    same.large_weight_initializer()
    assert_identical(net, same)


def test_initialisers_forget_the_optimizer_state_as_the_reference_does() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 5)), np.eye(3)[rng.integers(0, 3, 6)]
    rust, ref = digitnet.Network([5, 4, 3], seed=1), reference.Network([5, 4, 3], seed=1)
    ref.weights, ref.biases = rust.weights, rust.biases
    for net in (rust, ref):
        net.update_mini_batch((x, y), 0.1, optimizer="nesterov")
        net.default_weight_initializer()
    ref.weights, ref.biases = rust.weights, rust.biases
    for net in (rust, ref):
        net.update_mini_batch((x, y), 0.1, optimizer="nesterov")
    assert_same_parameters(rust, ref)


# ---- divergence ---------------------------------------------------------------------------


def divergent_setting() -> tuple[digitnet.Network, np.ndarray, np.ndarray]:
    """A ReLU network with softmax outputs and a training set on which η = 1e30 takes a few
    mini-batches of 4 to overflow (one layer's error goes infinite)."""
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((64, 10)), rng.integers(0, 5, 64)
    net = digitnet.Network([10, 20, 5], seed=1, activation="relu", cost="LogLikelihoodCost")
    return net, x, labels


def number_after(word: str, message: str) -> int:
    found = re.search(word + r" (\d+)", message)
    assert found is not None, message
    return int(found.group(1))


def test_divergence_in_an_epoch_keeps_the_parameters_before_the_failing_mini_batch() -> None:
    net, x, labels = divergent_setting()
    order = np.random.default_rng(1).permutation(64)
    before = net.copy()
    with pytest.raises(digitnet.DivergenceError, match=r"mini-batch \d+") as info:
        net.train_epoch((x, labels), 4, 1e30, order=order)
    failing = number_after("mini-batch", str(info.value))
    assert failing >= 1, "the setting should take a few good steps first"
    assert np.all(np.isfinite(flat(net)))
    # Replaying the mini-batches before the failing one gives exactly the network's parameters.
    done = order[: 4 * failing]
    before.train_epoch((x[done], labels[done]), 4, 1e30, order=np.arange(done.size))
    assert_identical(net, before)
    # The failing mini-batch alone fails again, and changes nothing.
    failed = order[4 * failing : 4 * failing + 4]
    with pytest.raises(digitnet.DivergenceError):
        net.update_mini_batch((x[failed], np.eye(5)[labels[failed]]), 1e30)
    assert_identical(net, before)


def test_divergence_in_sgd_names_the_epoch_and_keeps_the_last_good_parameters() -> None:
    net, x, labels = divergent_setting()
    before = net.copy()
    # One mini-batch per epoch, so that the epochs before the failing one can be replayed.
    with pytest.raises(digitnet.DivergenceError, match=r"epoch \d+, mini-batch 0") as info:
        net.SGD((x, labels), 10, 64, 1e100, verbose=False)
    assert isinstance(info.value, ArithmeticError)
    epoch = number_after("epoch", str(info.value))
    assert epoch >= 1
    before.SGD((x, labels), epoch, 64, 1e100, verbose=False)
    assert_identical(net, before)


@pytest.mark.parametrize("optimizer", [Momentum(0.9), Nesterov(0.5), Adam()])
def test_a_refused_optimizer_step_leaves_parameters_and_state_unchanged(
    optimizer: Momentum | Nesterov | Adam,
) -> None:
    """Output biases of -1.7e308 leave the softmax uniform (every z rounds to the bias), and
    a step of η = 1e308 pushes some of them past the largest float: refused, all or nothing."""
    net, x, labels = divergent_setting()
    y = np.eye(5)[labels]
    for start in range(0, 12, 4):
        net.update_mini_batch(
            (x[start : start + 4], y[start : start + 4]), 0.01, optimizer=optimizer
        )
    net.biases = [net.biases[0], np.full((5, 1), -1.7e308)]
    before = net.copy()
    with pytest.raises(digitnet.DivergenceError, match="would no longer be finite"):
        net.update_mini_batch((x[12:16], y[12:16]), 1e308, optimizer=optimizer)
    assert_identical(net, before)
    # Had the refused step touched the velocities, moments or Adam's step count, the next
    # steps would differ.
    for n in (net, before):
        for start in range(16, 28, 4):
            n.update_mini_batch(
                (x[start : start + 4], y[start : start + 4]), 0.01, optimizer=optimizer
            )
    assert_identical(net, before)


# ---- refused combinations -----------------------------------------------------------------


@pytest.mark.parametrize("cls", [digitnet.Network, reference.Network])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "softmax"}, "output layer only"),
        ({"activation": ["relu", "softmax"]}, "output layer only"),
        ({"cost": "CrossEntropyCost", "output": "tanh"}, "CrossEntropyCost"),
        ({"cost": "CrossEntropyCost", "output": "softmax"}, "CrossEntropyCost"),
        ({"cost": "LogLikelihoodCost", "output": "sigmoid"}, "LogLikelihoodCost"),
        ({"cost": "QuadraticCost", "output": "softmax"}, "QuadraticCost"),
        ({"activation": "swish"}, "unknown 'swish'"),
        ({"activation": ["relu"]}, "one name per hidden layer"),
        ({"cost": "network2.CrossEntropyCost"}, "cost"),
        ({"init": "xavier"}, "init"),
    ],
)
def test_invalid_architectures_are_refused(
    cls: type[AnyNet], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        cls([4, 5, 6, 3], **kwargs)


def test_the_engine_itself_refuses_invalid_architectures() -> None:
    core = digitnet._core.Network
    with pytest.raises(ValueError, match="hidden"):
        core([3, 4, 2], 0, "float64", ["softmax", "sigmoid"], "QuadraticCost", "large")
    with pytest.raises(ValueError, match="CrossEntropyCost"):
        core([3, 4, 2], 0, "float64", ["sigmoid", "tanh"], "CrossEntropyCost", "large")


@pytest.mark.parametrize("cls", [digitnet.Network, reference.Network])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": 1.5}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"lmbda": -1.0}, "lmbda"),
        ({"lmbda": math.nan}, "lmbda"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"optimizer": "Adam"}, "optimizer"),
        ({"optimizer": ""}, "optimizer"),
    ],
)
def test_invalid_training_options_are_refused(
    cls: type[AnyNet], kwargs: dict[str, Any], message: str
) -> None:
    net = cls([4, 3, 2], seed=0)
    x, labels = np.zeros((6, 4)), np.zeros(6, dtype=int)
    before = flat(net)
    with pytest.raises(ValueError, match=message):
        net.SGD((x, labels), 1, 2, 0.1, verbose=False, **kwargs)
    with pytest.raises(ValueError, match=message):
        net.train_epoch((x, labels), 2, 0.1, **kwargs)
    if "dropout" not in kwargs:
        with pytest.raises(ValueError, match=message):
            net.update_mini_batch((x, labels), 0.1, **kwargs)
    np.testing.assert_array_equal(flat(net), before)


def test_invalid_optimizer_hyperparameters_are_refused_by_the_engine() -> None:
    """The Python classes refuse them first; the engine checks again on its own (it reads the
    options by attribute, so plain namespaces get past the classes' own checks)."""
    net = digitnet.Network([4, 3, 2], seed=0)
    x, y = np.zeros((6, 4)), np.eye(2)[np.zeros(6, dtype=int)]
    for bad in (
        SimpleNamespace(mu=1.5, nesterov=False),
        SimpleNamespace(mu=-0.1, nesterov=True),
        SimpleNamespace(beta1=1.0, beta2=0.999, epsilon=1e-8, form="paper"),
        SimpleNamespace(beta1=0.9, beta2=0.999, epsilon=0.0, form="efficient"),
    ):
        with pytest.raises(ValueError, match=r"momentum|beta1|epsilon"):
            net._core.train_epoch(x, y, 2, StepOptions(0.1, optimizer=bad))  # type: ignore[arg-type]
    bad_form = SimpleNamespace(beta1=0.9, beta2=0.999, epsilon=1e-8, form="other")
    with pytest.raises(ValueError, match="form"):
        net._core.train_epoch(x, y, 2, StepOptions(0.1, optimizer=bad_form))  # type: ignore[arg-type]
    # μ = 1 is well defined (scikit-learn allows it): the engine takes it and trains.
    before = net.weights[1].copy()
    undamped = SimpleNamespace(mu=1.0, nesterov=False)
    net._core.train_epoch(x, y, 2, StepOptions(0.1, optimizer=undamped))  # type: ignore[arg-type]
    assert not np.array_equal(net.weights[1], before)
    for make in (lambda: Momentum(1.0), lambda: Nesterov(-0.1), lambda: Adam(beta1=1.0)):
        with pytest.raises(ValueError, match=r"mu|beta1"):
            make()


def test_schedule_and_early_stopping_need_evaluation_data() -> None:
    net = digitnet.Network([4, 3, 2], seed=0)
    data = (np.zeros((6, 4)), np.zeros(6, dtype=int))
    for kwargs in ({"schedule": HalveOnPlateau()}, {"early_stopping": EarlyStopping()}):
        with pytest.raises(ValueError, match="evaluation_data"):
            net.SGD(data, 1, 2, 0.1, verbose=False, **kwargs)


# ---- schedule, early stopping, callback ---------------------------------------------------


def small_problem(seed: int = 0, n: int = 200, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Points in the unit cube of 8 dimensions labelled by which side of 2 the sums of their
    first and last four coordinates fall (four classes; two: the first sum only)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 8))
    labels = (x[:, :4].sum(axis=1) > 2).astype(int)
    if classes == 4:
        labels += 2 * (x[:, 4:].sum(axis=1) > 2)
    return x, labels


def test_halve_on_plateau_rule() -> None:
    schedule = HalveOnPlateau(patience=2, min_factor=8).start()
    etas: list[float | None] = []
    eta: float | None = 1.0
    for accuracy in [5, 6, 6, 6, 7, 7, 7, 7, 7]:
        assert eta is not None
        eta = schedule.next_eta(eta, 1.0, accuracy)
        etas.append(eta)
    # Halves after two epochs without improvement (an improvement restarts the count), and
    # stops when η would reach 1/8 of its start.
    assert etas == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, None]


def test_sgd_halves_the_learning_rate_on_a_plateau_and_stops_at_its_floor() -> None:
    """Evaluation samples that are all the same input, half labelled 0 and half 1: whatever
    a two-class network learns, it gets exactly half of them right, so every epoch is a
    plateau."""
    x, labels = small_problem(classes=2)
    evaluation = (np.full((10, 8), 0.5), np.repeat([0, 1], 5))
    net = digitnet.Network([8, 10, 2], seed=2)
    start = net.copy()
    patience, eta = 2, 1.5
    history = net.SGD(
        (x, labels),
        100,
        10,
        eta,
        evaluation_data=evaluation,
        verbose=False,
        schedule=HalveOnPlateau(patience=patience, min_factor=8),
    )
    expected = [eta] * (patience + 1) + [eta / 2] * patience + [eta / 4] * patience
    assert [r.eta for r in history] == expected
    assert history.evaluation_accuracy == [5] * len(expected)
    # The engine trained each epoch at the rate the history reports: replaying gives the same.
    for rate in expected:
        start.train_epoch((x, labels), 10, rate)
    assert_identical(net, start)


def test_early_stopping_restores_the_best_epochs_parameters() -> None:
    x, labels = small_problem(1, n=60)
    evaluation = small_problem(2, n=40)
    net = digitnet.Network([8, 30, 4], seed=3)
    seen: dict[int, np.ndarray] = {}
    patience = 3

    def capture(result: digitnet.EpochResult) -> None:
        seen[result.epoch] = flat(net)

    history = net.SGD(
        (x, labels),
        60,
        5,
        6.0,
        evaluation_data=evaluation,
        verbose=False,
        early_stopping=EarlyStopping(patience=patience),
        callback=capture,
    )
    accuracy = history.evaluation_accuracy
    best = int(np.argmax(accuracy))  # the first of the best
    assert history.best_epoch == best
    assert len(history) == best + patience + 1 < 60, "stopped after `patience` bad epochs"
    assert max(accuracy[best + 1 :]) <= accuracy[best]
    assert best < len(history) - 1, "the test needs a best epoch that is not the last"
    np.testing.assert_array_equal(flat(net), seen[best])


def test_early_stopping_without_restore_keeps_the_last_parameters() -> None:
    x, labels = small_problem(1, n=60)
    evaluation = small_problem(2, n=40)
    net = digitnet.Network([8, 30, 4], seed=3)
    seen: list[np.ndarray] = []
    history = net.SGD(
        (x, labels),
        60,
        5,
        6.0,
        evaluation_data=evaluation,
        verbose=False,
        early_stopping=EarlyStopping(patience=3, restore_best=False),
        callback=lambda r: seen.append(flat(net)),
    )
    assert history.best_epoch is None
    assert len(seen) == len(history) < 60
    np.testing.assert_array_equal(flat(net), seen[-1])


def test_the_callback_runs_once_per_epoch_and_can_stop_training() -> None:
    x, labels = small_problem()
    net, twin_net = digitnet.Network([8, 10, 4], seed=4), digitnet.Network([8, 10, 4], seed=4)
    calls: list[digitnet.EpochResult] = []

    def stop_after_three(result: digitnet.EpochResult) -> bool:
        calls.append(result)
        return result.epoch == 2

    history = net.SGD(
        (x, labels), 10, 10, 1.0, test_data=(x, labels), verbose=False, callback=stop_after_three
    )
    assert [r.epoch for r in calls] == [0, 1, 2]
    assert all(a is b for a, b in zip(calls, history, strict=True))
    assert calls[-1].correct == net.evaluate((x, labels))
    # Stopping by the callback is stopping after that epoch, nothing else changes.
    twin_net.SGD((x, labels), 3, 10, 1.0, verbose=False)
    assert_identical(net, twin_net)


def test_without_callback_or_monitoring_an_epoch_costs_no_evaluation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, labels = small_problem()
    net, observed = digitnet.Network([8, 10, 4], seed=5), digitnet.Network([8, 10, 4], seed=5)

    def forbidden(*args: Any) -> Any:
        raise AssertionError("evaluated although nothing asked for it")

    for name in ("_evaluate", "_total_cost", "_feedforward", "_predict"):
        monkeypatch.setattr(net, name, forbidden)
    history = net.SGD((x, labels), 4, 10, 1.0, verbose=False)
    assert len(history) == 4
    assert all(r.correct is None and r.training_cost is None for r in history)
    # A callback that does nothing does not change the training either.
    observed.SGD((x, labels), 4, 10, 1.0, verbose=False, callback=lambda r: None)
    assert_identical(net, observed)


def test_reused_schedules_are_fresh_in_the_recipes() -> None:
    """SGD keeps each run's schedule state itself, so a recipe's one schedule instance serves
    every run fresh: a configuration that cannot be changed."""
    from digitnet import recipes

    for recipe in recipes.RECIPES.values():
        first, second = recipe.sgd_options(), recipe.sgd_options()
        for key in ("schedule", "early_stopping"):
            if first.get(key) is not None:
                assert first[key] == second[key]
                assert first[key] == recipe.sgd[key]
                with pytest.raises(dataclasses.FrozenInstanceError):
                    first[key].patience = 1


# ---- dropout ------------------------------------------------------------------------------


def dropout_probe(keep: float, seed: int) -> tuple[digitnet.Network, digitnet.Network, np.ndarray]:
    """A network before and after one SGD step with dropout on one sample, and the sample.

    Every hidden ReLU unit is on (biases 5, small weights, so z > 0 and the slope is 1), the
    output unit is far from saturation, and every hidden unit reaches it, so a hidden unit's
    bias gradient is non-zero exactly when its mask is: the biases that moved are the units
    that were kept."""
    rng = np.random.default_rng(seed)
    net = digitnet.Network([3, 3000, 1500, 1], seed=seed, activation="relu")
    net.weights = [
        0.1 * rng.standard_normal((3000, 3)),
        1e-3 * rng.standard_normal((1500, 3000)),
        1e-3 * rng.standard_normal((1, 1500)),
    ]
    net.biases = [np.full((3000, 1), 5.0), np.full((1500, 1), 5.0), np.zeros((1, 1))]
    before = net.copy()
    x = rng.uniform(0, 1, (1, 3))
    net.train_epoch((x, np.zeros((1, 1))), 1, 1.0, dropout=1 - keep)
    return before, net, x


@pytest.mark.parametrize("keep", [0.8, 0.5])
def test_dropout_drops_each_hidden_unit_with_its_probability_and_scales_the_kept(
    keep: float,
) -> None:
    before, after, x = dropout_probe(keep, seed=int(keep * 10))
    kept = [b1.ravel() != b0.ravel() for b0, b1 in zip(before.biases, after.biases, strict=True)]
    assert kept[2].all()  # the output layer has no dropout
    for layer in kept[:2]:
        dropped = float(np.mean(~layer))
        assert abs(dropped - (1 - keep)) <= 5 * math.sqrt(keep * (1 - keep) / layer.size)
    # With those masks (0 or 1/keep: inverted dropout), the reference's step is the engine's.
    ref = reference.Network(before.sizes, seed=0, activation="relu")
    ref.weights, ref.biases = before.weights, before.biases
    masks = [(k / keep)[None, :] for k in kept[:2]]
    ref._update(x, np.zeros((1, 1)), StepOptions(1.0), 1, masks)
    assert_same_parameters(after, ref)


def test_dropout_training_is_reproducible_and_differs_from_training_without() -> None:
    x, labels = small_problem()

    def trained(seed: int, dropout: float) -> np.ndarray:
        net = digitnet.Network([8, 20, 20, 4], seed=seed, activation="relu")
        start = digitnet.Network([8, 20, 20, 4], seed=1, activation="relu")
        net.weights, net.biases = start.weights, start.biases  # the same start for every seed
        net.SGD((x, labels), 2, 10, 0.1, verbose=False, dropout=dropout)
        return flat(net)

    with_dropout = trained(1, 0.3)
    np.testing.assert_array_equal(with_dropout, trained(1, 0.3))
    assert not np.array_equal(with_dropout, trained(1, 0.0))
    assert not np.array_equal(with_dropout, trained(2, 0.3))
    assert not np.array_equal(with_dropout, trained(1, 0.5))


def test_inference_after_dropout_training_is_deterministic() -> None:
    x, labels = small_problem()
    net = digitnet.Network([8, 20, 4], seed=1, activation="relu", cost="LogLikelihoodCost")
    net.SGD((x, labels), 2, 10, 0.1, verbose=False, dropout=0.5)
    ref = reference.Network([8, 20, 4], seed=0, activation="relu", cost="LogLikelihoodCost")
    ref.weights, ref.biases = net.weights, net.biases
    np.testing.assert_array_equal(net.feedforward(x), net.feedforward(x))
    assert_close(net.feedforward(x), ref.feedforward(x))


# ---- image augmentation -------------------------------------------------------------------


def test_reference_transform_identity_and_integer_shifts() -> None:
    image = np.arange(20, dtype=np.float64).reshape(4, 5) + 1
    same = reference.transform_image(image.ravel(), (4, 5), 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(same, image.ravel())
    down = reference.transform_image(image.ravel(), (4, 5), 1.0, 0.0, 0.0).reshape(4, 5)
    np.testing.assert_array_equal(down[0], 0)
    np.testing.assert_array_equal(down[1:], image[:-1])
    left = reference.transform_image(image.ravel(), (4, 5), 0.0, -2.0, 0.0).reshape(4, 5)
    np.testing.assert_array_equal(left[:, :3], image[:, 2:])
    np.testing.assert_array_equal(left[:, 3:], 0)
    up_right = reference.transform_image(image.ravel(), (4, 5), -1.0, 1.0, 0.0).reshape(4, 5)
    np.testing.assert_array_equal(up_right[:-1, 1:], image[1:, :-1])
    assert not up_right[-1].any()
    assert not up_right[:, 0].any()


def test_reference_transform_half_pixel_shift_averages_neighbours() -> None:
    image = np.arange(12, dtype=np.float64).reshape(3, 4) ** 2
    half = reference.transform_image(image.ravel(), (3, 4), 0.0, 0.5, 0.0).reshape(3, 4)
    np.testing.assert_allclose(half[:, 1:], (image[:, 1:] + image[:, :-1]) / 2, rtol=1e-15)
    np.testing.assert_allclose(half[:, 0], image[:, 0] / 2, rtol=1e-15)


def test_reference_transform_quarter_and_half_turns() -> None:
    rng = np.random.default_rng(0)
    square = rng.uniform(0, 1, (6, 6))
    quarter = reference.transform_image(square.ravel(), (6, 6), 0.0, 0.0, 90.0).reshape(6, 6)
    np.testing.assert_allclose(quarter, np.rot90(square), atol=1e-12)  # counter-clockwise
    clockwise = reference.transform_image(square.ravel(), (6, 6), 0.0, 0.0, -90.0)
    np.testing.assert_allclose(clockwise.reshape(6, 6), np.rot90(square, -1), atol=1e-12)
    oblong = rng.uniform(0, 1, (4, 7))
    half = reference.transform_image(oblong.ravel(), (4, 7), 0.0, 0.0, 180.0).reshape(4, 7)
    np.testing.assert_allclose(half, oblong[::-1, ::-1], atol=1e-12)
    as32 = reference.transform_image(square.ravel().astype(np.float32), (6, 6), 0.3, 0.0, 5.0)
    assert as32.dtype == np.float32


SHAPE = (28, 28)
#: The test image: a bilinear polynomial A·u + B·v + C·u·v of the centred coordinates
#: (u, v) = (r − 13.5, c − 13.5), which bilinear interpolation reproduces exactly, with random
#: ink in the two outermost rows and columns.
POLY = (0.3, -0.2, 0.05)


def polynomial_image(seed: int) -> np.ndarray:
    h, w = SHAPE
    u, v = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    a, b, c = POLY
    image = a * u + b * v + c * u * v
    border = (np.abs(u) > 12) | (np.abs(v) > 12)
    image[border] = np.random.default_rng(seed).uniform(0, 1, int(border.sum()))
    return image.ravel()


def engine_augmented(net: digitnet.Network, image: np.ndarray, augment: Augment) -> np.ndarray:
    """The image as the engine's training step saw it after augmentation.

    With zero weights and bias, a one-output sigmoid network with the quadratic cost and target
    0 has the output error δ = (σ(0) − 0)·σ'(0) = 1/8 exactly, so one step at η = 1 on that one
    sample sets the weights to −x̃/8 and the bias to −1/8, both exactly."""
    net.weights = [np.zeros((1, image.size))]
    net.biases = [np.zeros((1, 1))]
    net.train_epoch((image[None, :], np.zeros((1, 1))), 1, 1.0, augment=augment)
    assert net.biases[0][0, 0] == -0.125
    augmented: np.ndarray = -8.0 * net.weights[0][0]
    return augmented


def recover_transform(augmented: np.ndarray) -> tuple[float, float, float]:
    """``(dy, dx, degrees)`` of the transformation that made ``augmented`` from the polynomial.

    Output pixel (u, v) takes the input at (U, V) = R(−θ)(u − dy, v − dx), so in the core
    |u|, |v| ≤ 6 (whose samples, for shifts ≤ 2 px and turns ≤ 10°, stay more than a pixel
    inside the polynomial) the output is A·U + B·V + C·U·V: a quadratic in (u, v) whose
    second-order terms are C·(−½ sin 2θ·u² + cos 2θ·uv + ½ sin 2θ·v²), and whose first-order
    terms are linear in (dy, dx) once θ is known."""
    h, w = SHAPE
    u, v = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    core = (np.abs(u) <= 6) & (np.abs(v) <= 6)
    uu, vv = u[core], v[core]
    design = np.column_stack([np.ones_like(uu), uu, vv, uu * uu, uu * vv, vv * vv])
    q = np.linalg.lstsq(design, augmented.reshape(h, w)[core], rcond=None)[0]
    a, b, c = POLY
    theta = math.atan2(q[5] - q[3], q[4]) / 2
    sin, cos = math.sin(theta), math.cos(theta)
    sin2, cos2 = math.sin(2 * theta), math.cos(2 * theta)
    rhs = np.array([q[1] - (a * cos - b * sin), q[2] - (a * sin + b * cos)]) / c
    dy, dx = np.linalg.solve([[sin2, -cos2], [-cos2, -sin2]], rhs)
    return float(dy), float(dx), math.degrees(theta)


@pytest.mark.parametrize(
    ("max_shift", "max_rotation"), [(2.0, 0.0), (0.0, 10.0), (2.0, 10.0), (0.7, 3.0)]
)
def test_the_engines_augmentation_is_the_references_transform(
    max_shift: float, max_rotation: float
) -> None:
    """Each augmented image the engine trains on is reference.transform_image of the original
    for some shift and angle within the bounds, to rounding (the 1e-8 allows for recovering
    those from the image: a least-squares fit whose error is ~1e-12 of a pixel), and the draws
    spread over the bounds. (test_augment.py compares the transform itself, through
    ``_core.transform_image``; this checks what training feeds the network.)"""
    net = digitnet.Network([784, 1], seed=11)
    augment = Augment(max_shift=max_shift, max_rotation=max_rotation)
    draws = []
    for trial in range(30):
        image = polynomial_image(trial)
        augmented = engine_augmented(net, image, augment)
        dy, dx, degrees = recover_transform(augmented)
        assert max(abs(dy), abs(dx)) <= max_shift + 1e-9
        assert abs(degrees) <= max_rotation + 1e-9
        assert_close(augmented, reference.transform_image(image, SHAPE, dy, dx, degrees), 1e-8)
        draws.append((dy, dx, degrees))
    spread = np.max(np.abs(draws), axis=0)
    for bound, largest in zip([max_shift, max_shift, max_rotation], spread, strict=True):
        assert largest >= 0.6 * bound  # each of 30 uniform draws misses this with p = 0.6
    assert len({d for d in draws}) == len(draws)


def test_augmented_training_is_reproducible_and_changes_the_result() -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(0, 1, (120, 64)), rng.integers(0, 10, 120)

    def trained(seed: int, augment: Augment | None) -> np.ndarray:
        net = digitnet.Network([64, 12, 10], seed=seed, init="scaled")
        net.SGD((x, labels), 2, 10, 0.5, verbose=False, augment=augment)
        return flat(net)

    small = Augment(max_shift=1.0, max_rotation=8.0, image_shape=(8, 8))
    np.testing.assert_array_equal(trained(1, small), trained(1, small))
    assert not np.array_equal(trained(1, small), trained(1, None))
    assert not np.array_equal(trained(1, small), trained(2, small))
    with pytest.raises(ValueError, match="image_shape"):
        trained(1, Augment())  # 28 x 28 does not fit 64 inputs


# ---- recipes --------------------------------------------------------------------------------


def test_every_recipe_builds_a_valid_network_and_trains_an_epoch() -> None:
    from digitnet import recipes

    rng = np.random.default_rng(0)

    def split(n: int, dtype: str) -> ArrayData:
        return ArrayData(rng.uniform(0, 1, (n, 784)).astype(dtype), rng.integers(0, 10, n))

    assert set(recipes.RECIPES) >= {"network2-ch3", "best-mlp"}
    for name, recipe in recipes.RECIPES.items():
        assert recipe.description
        assert "\n" not in recipe.description
        net = recipe.build(seed=0)
        assert net.sizes[0] == 784
        assert net.sizes[-1] == 10
        dtype = net.dtype.name
        splits = MnistSplits(split(300, dtype), split(100, dtype), split(100, dtype))
        trained, history = recipes.run(name, splits, seed=0, verbose=False, epochs=1)
        assert len(history) == 1
        assert history[0].evaluation_total == 100
        assert np.all(np.isfinite(flat(trained)))
        assert 0 <= trained.evaluate(splits.test) <= 100
    with pytest.raises(KeyError, match="unknown recipe"):
        recipes.run(
            "no-such-recipe",
            MnistSplits(split(1, "float64"), split(1, "float64"), split(1, "float64")),
        )
