"""Hypothesis strategies for network.py-style tests: layer sizes, networks (weights and biases in
network.py's shapes), inputs, one-hot targets, mini-batches, and the checker's whole cases.

Parameters mix moderate values with large ones, so sigmoids saturate in some examples; every
value is exactly representable in the chosen float type.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from digitnet.testing.cases import Case, CostName, FloatArray, Method

__all__ = [
    "DtypeName",
    "Parameters",
    "cases",
    "inputs",
    "layer_sizes",
    "mini_batches",
    "networks",
    "one_hot_targets",
]

DtypeName = Literal["float64", "float32"]

#: Parameters are drawn from [-4, 4]: sigmoids in their sensitive range. Some layers have theirs
#: scaled by 16 (a power of two, so float32 values stay exact) to saturate the sigmoids: a
#: weighted input beyond ~37 rounds σ to 1 in float64.
MODERATE, SATURATING = 4.0, 16.0
#: Inputs: MNIST's pixels lie in [0, 1]; a wider range tests more.
INPUT_RANGE = 2.0


@dataclass(frozen=True, eq=False)
class Parameters:
    """A network's layer ``sizes``, ``weights[l]`` of shape ``(sizes[l+1], sizes[l])`` and
    ``biases[l]`` of shape ``(sizes[l+1], 1)``, as network.py keeps them."""

    sizes: list[int]
    weights: list[FloatArray]
    biases: list[FloatArray]


def _width(dtype: str) -> Literal[32, 64]:
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype: must be 'float64' or 'float32', got {dtype!r}")
    return 32 if dtype == "float32" else 64


@functools.cache
def _floats(low: float, high: float, dtype: DtypeName) -> st.SearchStrategy[float]:
    return st.floats(low, high, width=_width(dtype))


@functools.cache
def _array(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> Any:
    """Arrays of ``shape`` (drawn as flat lists: faster than ``hypothesis.extra.numpy.arrays``,
    which matters when a check draws thousands of small networks)."""
    count = int(np.prod(shape))
    return st.lists(elements, min_size=count, max_size=count).map(
        lambda values: np.array(values, dtype=np.float64).reshape(shape)
    )


def layer_sizes(
    min_layers: int = 2, max_layers: int = 4, max_width: int = 5
) -> st.SearchStrategy[list[int]]:
    """Layer sizes: ``min_layers`` to ``max_layers`` layers (the input layer included) of 1 to
    ``max_width`` neurons each."""
    if not 2 <= min_layers <= max_layers or max_width < 1:
        raise ValueError("layer_sizes: need 2 <= min_layers <= max_layers and max_width >= 1")
    return st.lists(st.integers(1, max_width), min_size=min_layers, max_size=max_layers)


_SCALES = st.sampled_from([1.0, SATURATING])


@st.composite
def networks(
    draw: st.DrawFn,
    sizes: list[int] | st.SearchStrategy[list[int]] | None = None,
    *,
    dtype: DtypeName = "float64",
    saturated: bool = True,
) -> Parameters:
    """A network's parameters for the given layer ``sizes`` (or sizes drawn from
    :func:`layer_sizes`), as float64 arrays whose values are exact in ``dtype``."""
    if sizes is None:
        sizes = layer_sizes()
    chosen = list(draw(sizes) if isinstance(sizes, st.SearchStrategy) else sizes)
    element = _floats(-MODERATE, MODERATE, dtype)
    scales = _SCALES if saturated else st.just(1.0)
    weights, biases = [], []
    for x, y in itertools.pairwise(chosen):
        scale = draw(scales)
        weights.append(scale * draw(_array((y, x), element)))
        biases.append(scale * draw(_array((y, 1), element)))
    return Parameters(chosen, weights, biases)


def inputs(n_in: int, *, dtype: DtypeName = "float64") -> st.SearchStrategy[FloatArray]:
    """An input column of shape ``(n_in, 1)``, as network.py's ``feedforward`` takes."""
    result: st.SearchStrategy[FloatArray] = _array(
        (n_in, 1), _floats(-INPUT_RANGE, INPUT_RANGE, dtype)
    )
    return result


def one_hot_targets(n_out: int) -> st.SearchStrategy[FloatArray]:
    """A desired output: a one-hot column of shape ``(n_out, 1)``, as in network.py's
    training data."""

    def column(label: int) -> FloatArray:
        target = np.zeros((n_out, 1))
        target[label] = 1.0
        return target

    return st.integers(0, n_out - 1).map(column)


def mini_batches(
    n_in: int,
    n_out: int,
    *,
    min_size: int = 1,
    max_size: int = 5,
    dtype: DtypeName = "float64",
) -> st.SearchStrategy[list[tuple[FloatArray, FloatArray]]]:
    """A mini-batch as network.py's ``update_mini_batch`` takes it: a list of ``(x, y)``
    tuples of an input column and a one-hot target column."""
    sample = st.tuples(inputs(n_in, dtype=dtype), one_hot_targets(n_out))
    return st.lists(sample, min_size=min_size, max_size=max_size)


@st.composite
def cases(
    draw: st.DrawFn,
    method: Method,
    *,
    cost: CostName = "QuadraticCost",
    dtype: DtypeName = "float64",
    lmbda: bool = False,
    max_batch: int = 4,
) -> Case:
    """A whole :class:`~digitnet.testing.cases.Case` for ``method``: a network, a batch (one
    sample for ``backprop``), and for ``update_mini_batch`` a learning rate and, with ``lmbda``,
    an L2 parameter and a training-set size ``n`` at least the batch's."""
    _width(dtype)
    net = draw(networks(dtype=dtype))
    n_in, n_out = net.sizes[0], net.sizes[-1]
    m = 1 if method == "backprop" else draw(st.integers(1, max_batch))
    if method == "cost_derivative":
        x = draw(_array((m, n_out), _floats(0.0, 1.0, dtype)))
    else:
        x = draw(_array((m, n_in), _floats(-INPUT_RANGE, INPUT_RANGE, dtype)))
    labels = draw(st.lists(st.integers(0, n_out - 1), min_size=m, max_size=m))
    y = np.zeros((m, n_out))
    y[np.arange(m), labels] = 1.0
    eta, rate, n = 3.0, 0.0, m
    if method == "update_mini_batch":
        eta = draw(_floats(0.125, 4.0, dtype))
        if lmbda:
            rate = draw(_floats(0.0, 8.0, dtype))
            n = draw(st.integers(m, 100))
    return Case(
        method=method,
        sizes=tuple(net.sizes),
        weights=tuple(net.weights),
        biases=tuple(b.reshape(-1) for b in net.biases),
        x=x,
        y=y,
        eta=eta,
        lmbda=rate,
        n=n,
        cost=cost,
    )
