"""The known mistakes in network.py-style code, each as a NumPy model of what the mistaken code
computes: an answer that the model of a mistake reproduces, and digitnet's does not, earns that
mistake's hint."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from digitnet.testing.bounds import sigmoid
from digitnet.testing.cases import Case, FloatArray
from digitnet.testing.compare import close
from digitnet.testing.expected import Answer

__all__ = ["HINTS", "exception_hints", "hints_for", "shape_hints"]

#: What each known mistake looks like, said to the person who made it.
HINTS: dict[str, str] = {
    "transposed": "weights[l] is used transposed: a layer computes σ(w·a + b) with w of shape "
    "(sizes[l+1], sizes[l]), and backprop carries δ back with wᵀ (δˡ = (wˡ⁺¹)ᵀδˡ⁺¹)",
    "no σ′ at output": "the output error lacks σ′(zᴸ): for the quadratic cost "
    "δᴸ = (aᴸ − y) ⊙ σ′(zᴸ) (the book's equation BP1)",
    "no σ′ in hidden layers": "the hidden layers' error lacks σ′(z): "
    "δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ) (equation BP2)",
    "σ′ with cross-entropy": "with the cross-entropy cost the output error is δᴸ = aᴸ − y: "
    "its σ′(zᴸ) cancels (chapter 3), so multiplying by it again is wrong",
    "σ′ of a": "σ′ is applied to the activation a instead of the weighted input z",
    "off by one (weights)": "a layer index is off by one: δ for layer l is carried back with the "
    "weights of the layer after it (network.py's weights[-l+1], not weights[-l])",
    "off by one (activations)": "a layer index is off by one: ∇w of a layer is δ times the "
    "activation of the layer before it (network.py's activations[-l-1])",
    "off by one (z)": "a layer index is off by one: δ of a layer uses σ′ of its own weighted "
    "input (network.py's zs[-l])",
    "wrong sign": "the sign is wrong: the cost derivative is a − y (not y − a), and "
    "gradient descent steps against the gradient, w − (η/m)·Σ∇w",
    "no division by batch size": "the step is m times digitnet's: the summed gradient must be "
    "divided by the mini-batch's size, w − (η/m)·Σ∇w",
    "sum vs mean": "the step is 1/m of digitnet's: the gradients were averaged over the "
    "mini-batch and then divided by m again (sum them, then divide once: (η/m)·Σ∇w)",
    "L2 with batch size": "the weight decay uses the mini-batch's size: it is (1 − ηλ/n)·w with n "
    "the size of the whole training set",
    "L2 missing": "the update ignores lmbda: network2.py's weights decay, (1 − ηλ/n)·w",
}

_SHAPE_WORDS = re.compile(
    r"shape|broadcast|align|dimension|matmul|size \d|operands could not|index \d+ is out of bounds",
    re.IGNORECASE,
)


def _forward(case: Case, x: FloatArray, transposed: bool = False) -> list[FloatArray]:
    """Every layer's weighted input and activation: ``[a⁰, z¹, a¹, z², a², ...]``."""
    out = [x]
    for w, b in zip(case.weights, case.biases, strict=True):
        z = (w.T if transposed else w) @ out[-1] + b
        out += [z, sigmoid(z)]
    return out


def _sp(z: FloatArray) -> FloatArray:
    result: FloatArray = sigmoid(z) * sigmoid(-z)
    return result


def _backprop(case: Case, x: FloatArray, y: FloatArray, mistake: str | None) -> Answer:
    """network.py's backprop of one sample, or what ``mistake`` makes of it."""
    trace = _forward(case, x)
    acts, zs = trace[0::2], trace[1::2]
    layers = len(case.weights)

    def slope(layer: int) -> FloatArray:
        return _sp(acts[layer + 1]) if mistake == "σ′ of a" else _sp(zs[layer])

    delta = acts[-1] - y
    output_slope = case.cost == "QuadraticCost" and mistake != "no σ′ at output"
    if output_slope or mistake == "σ′ with cross-entropy":
        delta = delta * slope(layers - 1)
    nabla_b: list[FloatArray] = [np.zeros(0)] * layers
    nabla_w: list[FloatArray] = [np.zeros(0)] * layers
    for layer in range(layers - 1, -1, -1):
        before = acts[layer + 1] if mistake == "off by one (activations)" else acts[layer]
        nabla_b[layer], nabla_w[layer] = delta, np.outer(delta, before)
        if layer == 0:
            break
        w = case.weights[layer - 1 if mistake == "off by one (weights)" else layer]
        carried = w @ delta if mistake == "transposed" else w.T @ delta
        if mistake != "no σ′ in hidden layers":
            carried = carried * slope(layer if mistake == "off by one (z)" else layer - 1)
        delta = carried
    sign = -1.0 if mistake == "wrong sign" else 1.0
    return {"nabla_b": [sign * b for b in nabla_b], "nabla_w": [sign * w for w in nabla_w]}


def _update(case: Case, mistake: str | None, gradient_mistake: str | None) -> Answer:
    """One step of network2.py's update, with a mistake in the step or in its gradients."""
    grads = [_backprop(case, x, y, gradient_mistake) for x, y in zip(case.x, case.y, strict=True)]
    m = len(grads)
    step = {"no division by batch size": case.eta, "sum vs mean": case.eta / m**2}.get(
        mistake or "", case.eta / m
    )
    if mistake == "wrong sign":
        step = -step
    decay = {"L2 with batch size": case.eta * case.lmbda / m, "L2 missing": 0.0}.get(
        mistake or "", case.eta * case.lmbda / case.n
    )
    weights = [
        (1 - decay) * w - step * sum(g["nabla_w"][i] for g in grads)
        for i, w in enumerate(case.weights)
    ]
    biases = [b - step * sum(g["nabla_b"][i] for g in grads) for i, b in enumerate(case.biases)]
    return {"weights": weights, "biases": biases}


def _variants(case: Case) -> dict[str, Callable[[], Answer]]:
    """The answer each applicable mistake gives on ``case``, computed when called."""
    if case.method == "feedforward":
        return {
            "transposed": lambda: {
                "output": [np.stack([_forward(case, x, transposed=True)[-1] for x in case.x])]
            }
        }
    if case.method == "cost_derivative":
        return {"wrong sign": lambda: {"output": [case.y - case.x]}}
    gradient = [
        "transposed", "σ′ of a", "off by one (weights)", "off by one (activations)",
        "off by one (z)", "no σ′ in hidden layers", "wrong sign",
        "no σ′ at output" if case.cost == "QuadraticCost" else "σ′ with cross-entropy",
    ]  # fmt: skip
    if case.method == "backprop":
        return {
            name: (lambda name=name: _backprop(case, case.x[0], case.y[0], name))  # type: ignore[misc]
            for name in gradient
        }
    if case.method != "update_mini_batch":
        return {}
    steps = ["no division by batch size", "sum vs mean", "wrong sign"]
    if case.lmbda > 0:
        steps += ["L2 with batch size", "L2 missing"]
    variants: dict[str, Callable[[], Answer]] = {
        name: (lambda name=name: _update(case, name, None))  # type: ignore[misc]
        for name in steps
    }
    for name in gradient:
        if name != "wrong sign":
            variants[f"gradient: {name}"] = lambda name=name: _update(case, None, name)  # type: ignore[misc]
    return variants


def _matches(got: Answer, model: Answer, tolerances: Answer, rel: float) -> bool:
    for key, arrays in model.items():
        for have, want, tol in zip(got[key], arrays, tolerances[key], strict=True):
            if have.shape != want.shape:
                return False
            if not close(have, want, 4 * tol + rel * (np.abs(want) + np.abs(have))):
                return False
    return True


def hints_for(
    case: Case, got: Answer, expected: Answer, tolerances: Answer, dtype: str
) -> list[str]:
    """The hints of the known mistakes whose model reproduces ``got`` while digitnet's answer
    does not."""
    rel = 1e-5 if dtype == "float32" else 1e-9
    found = []
    for name, model in _variants(case).items():
        try:
            with np.errstate(all="ignore"):
                answer = model()
        except (ValueError, IndexError):
            continue  # the mistake cannot even run on this case's shapes
        if _matches(answer, expected, tolerances, 0.0):
            continue  # on this case the mistake changes nothing
        if _matches(got, answer, tolerances, rel):
            if name.startswith("gradient: "):
                gradient = name.removeprefix("gradient: ")
                found.append(f"the gradients look like a backprop where {HINTS[gradient]}")
            else:
                found.append(HINTS[name])
    return found


def _layer_shapes(case: Case, name: str) -> list[tuple[int, ...]]:
    pairs = list(zip(case.sizes[:-1], case.sizes[1:], strict=True))
    if name in ("nabla_w", "weights"):
        return [(y, x) for x, y in pairs]
    return [(y, 1) for _, y in pairs]


def shape_hints(message: str, case: Case) -> list[str]:
    """Hints for an answer of the wrong shape, from the message describing it."""
    found = re.search(r"(\w+)\[(\d+)\] has shape \(([\d, ]+)\)", message)
    if found:
        name, layer = found.group(1), int(found.group(2))
        shape = tuple(int(d) for d in found.group(3).replace(" ", "").split(",") if d)
        shapes = _layer_shapes(case, name)
        if len(shape) == 1:
            shape = (shape[0], 1)
        others = [i for i, s in enumerate(shapes) if s == shape and i != layer]
        if others and abs(others[0] - layer) == 1:
            return [
                f"a layer index is off by one: {name}[{layer}] has the shape of layer "
                f"{others[0]}'s (in network.py's loop: weights[-l+1], activations[-l-1], zs[-l])"
            ]
    found = re.search(r"has shape \((\d+), (\d+)\), expected \((\d+), (\d+)\)", message)
    if found:
        a, b, c, d = map(int, found.groups())
        if (a, b) == (d, c):
            return [
                "the array is transposed: ∇w of a layer has the shape of its weights, "
                "(sizes[l+1], sizes[l]), and is δ·aᵀ"
            ]
    found = re.search(r"has shape \((\d+), (\d+)\), expected \((\d+), 1\)", message)
    if found and found.group(1) == found.group(2) == found.group(3):
        return [
            "a (k,) vector added to a (k, 1) column broadcasts to (k, k): keep biases and "
            "inputs as columns (network.py's shapes), or all as vectors"
        ]
    if "one per layer" in message:
        return ["a layer is missing or extra: is a loop's range off by one?"]
    return []


def exception_hints(message: str) -> list[str]:
    """Hints for an exception raised by the implementation, from its message."""
    if "xrange" in message or "iteritems" in message:
        return [
            "this looks like Python 2 code (the book's network.py): xrange is range in Python 3"
        ]
    if _SHAPE_WORDS.search(message):
        return [
            "the shapes do not fit: weights[l] has shape (sizes[l+1], sizes[l]); a transposed "
            "matrix or a layer index off by one gives such errors"
        ]
    return []
