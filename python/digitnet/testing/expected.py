"""digitnet's own answer to a case: what the engine (``digitnet.Network``, float64) computes."""

from __future__ import annotations

import numpy as np

from digitnet.network import Network
from digitnet.testing.cases import Case, FloatArray

__all__ = ["ANSWER_KEYS", "Answer", "expected"]

#: An answer: each named result as a list of arrays (vectors 1-D, one row per sample).
Answer = dict[str, list[FloatArray]]

#: The named results each method answers with.
ANSWER_KEYS: dict[str, tuple[str, ...]] = {
    "feedforward": ("output",),
    "backprop": ("nabla_b", "nabla_w"),
    "update_mini_batch": ("weights", "biases"),
    "cost_derivative": ("output",),
    "evaluate": ("correct",),
}


def engine(case: Case) -> Network:
    """A float64 ``digitnet.Network`` holding the case's parameters and cost."""
    net = Network(list(case.sizes), seed=0, cost=case.cost)
    net.weights = list(case.weights)
    net.biases = list(case.biases)
    return net


def expected(case: Case) -> Answer:
    """digitnet's answer to ``case``, in the shapes of the protocol."""
    net = engine(case)
    if case.method == "feedforward":
        # Row by row: a (1, 1) batch would read as network.py's column.
        return {"output": [np.stack([net.feedforward(row) for row in case.x])]}
    if case.method == "backprop":
        nabla_b, nabla_w = net.backprop(case.x[0], case.y[0])
        return {"nabla_b": [b.reshape(-1) for b in nabla_b], "nabla_w": list(nabla_w)}
    if case.method == "update_mini_batch":
        net.update_mini_batch((case.x, case.y), case.eta, case.lmbda, case.n)
        return {
            "weights": [np.array(w) for w in net.weights],
            "biases": [np.array(b).reshape(-1) for b in net.biases],
        }
    if case.method == "cost_derivative":
        return {"output": [net.cost_derivative(case.x, case.y)]}
    correct = net.evaluate((case.x, np.array(case.labels)))
    return {"correct": [np.array([float(correct)])]}
