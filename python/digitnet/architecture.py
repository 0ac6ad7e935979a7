"""What a network is made of, checked before it is built: the activations a layer can have, how
its weights can start, and which cost suits which output layer.

The command line checks its options with :func:`architecture` before loading any data;
:class:`digitnet.Network` and the NumPy reference check theirs with it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias, get_args

from digitnet import costs

__all__ = [
    "ACTIVATIONS",
    "HIDDEN_ACTIVATIONS",
    "INITS",
    "OUTPUT_ACTIVATIONS",
    "ActivationName",
    "InitName",
    "architecture",
    "check_init",
]

#: An activation's name.
ActivationName: TypeAlias = Literal["sigmoid", "tanh", "relu", "identity", "softmax", "exp"]
#: How weights start: N(0, 1) ("large", network.py), N(0, 1/n_in) ("scaled", network2.py), or
#: Glorot and Bengio's uniform U(±√(6/(n_in + n_out))) for weights and biases ("glorot"; with
#: 2 in place of 6, "glorot-sigmoid", scikit-learn's choice for logistic networks).
InitName: TypeAlias = Literal["large", "scaled", "glorot", "glorot-sigmoid"]

#: The activations a layer can have.
ACTIVATIONS: tuple[ActivationName, ...] = get_args(ActivationName)
#: The activations a hidden layer can have (softmax and exp belong on the output layer only).
HIDDEN_ACTIVATIONS: tuple[ActivationName, ...] = tuple(
    a for a in ACTIVATIONS if a not in ("softmax", "exp")
)
#: The output activations some cost suits.
OUTPUT_ACTIVATIONS: tuple[ActivationName, ...] = ("sigmoid", "softmax", "identity", "exp")
#: How weights can start.
INITS: tuple[InitName, ...] = get_args(InitName)


def _suits(cost: costs.Cost, output: str) -> bool:
    """Whether ``cost`` may be trained with an ``output`` layer (its delta assumes one)."""
    if cost is costs.CrossEntropyCost:
        return output == "sigmoid"
    if cost is costs.LogLikelihoodCost:
        return output == "softmax"
    if cost is costs.PoissonCost:
        return output == "exp"
    return output != "softmax"


def architecture(
    sizes: Sequence[int],
    cost: object,
    activation: str | Sequence[str],
    output: str | None,
) -> tuple[costs.Cost, list[str]]:
    """The cost class and each non-input layer's activation name for a network of ``sizes``;
    a ``ValueError`` names what does not fit."""
    cost_class = costs.cost(cost)
    layers = len(sizes) - 1
    if isinstance(activation, str):
        hidden = [activation] * (layers - 1)
    elif isinstance(activation, Sequence) and len(activation) == layers - 1:
        hidden = [str(a) for a in activation]
    else:
        raise ValueError(
            f"activation: expected a name or one name per hidden layer ({layers - 1}), "
            f"got {activation!r}"
        )
    last = cost_class.output if output is None else str(output)
    if last not in ACTIVATIONS:
        raise ValueError(f"output: unknown {last!r}; expected one of {', '.join(ACTIVATIONS)}")
    names = [*hidden, last]
    unknown = [a for a in names if a not in ACTIVATIONS]
    if unknown:
        raise ValueError(
            f"activation: unknown {unknown[0]!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    for only_output in ("softmax", "exp"):
        if only_output in hidden:
            raise ValueError(
                f"activation: {only_output} belongs on the output layer only (output=...)"
            )
    if not _suits(cost_class, last):
        raise ValueError(
            f"cost: {cost_class.name} does not suit a {last} output layer "
            "(cross-entropy needs sigmoid outputs, log-likelihood needs softmax, Poisson needs "
            "exp, the quadratic cost any element-wise output)"
        )
    return cost_class, names


def check_init(init: object) -> InitName:
    """``init`` if it names a way to start the weights; otherwise a ``ValueError``."""
    for name in INITS:
        if init == name:
            return name
    raise ValueError(f"init: must be one of {', '.join(INITS)}, got {init!r}")
