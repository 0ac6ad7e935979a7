"""A network speaking digitnet check's JSON-lines protocol in Python (NumPy), written for
digitnet's tests: correct, or with ``--mistake transposed`` carrying δ back with w instead of wᵀ
(which fails on shapes), or with ``--mistake sign`` stepping up the gradient.
Samples are rows here, unlike network.py: the protocol does not care how the program works."""

import json
import sys

import numpy as np

MISTAKE = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--mistake" else None


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def answer(case):
    weights = [np.array(w, dtype=float).reshape(-1, len(w[0])) for w in case["weights"]]
    biases = [np.array(b, dtype=float) for b in case["biases"]]
    xs, ys = np.array(case["x"], dtype=float), np.array(case["y"], dtype=float)
    quadratic = case["cost"] == "QuadraticCost"

    def gradient(x, y):
        activations = [x]
        for w, b in zip(weights, biases, strict=True):
            activations.append(sigmoid(w @ activations[-1] + b))
        a = activations[-1]
        delta = (a - y) * (a * (1 - a) if quadratic else 1.0)
        nabla_b, nabla_w = [], []
        for layer in range(len(weights) - 1, -1, -1):
            nabla_b.insert(0, delta)
            nabla_w.insert(0, np.outer(delta, activations[layer]))
            if layer:
                w = weights[layer]
                back = w @ delta if MISTAKE == "transposed" else w.T @ delta
                a = activations[layer]
                delta = back * a * (1 - a)
        return nabla_b, nabla_w

    method = case["method"]
    if method == "feedforward":
        out = []
        for x in xs:
            for w, b in zip(weights, biases, strict=True):
                x = sigmoid(w @ x + b)
            out.append(x.tolist())
        return {"output": out}
    if method == "backprop":
        nabla_b, nabla_w = gradient(xs[0], ys[0])
        return {"nabla_b": [b.tolist() for b in nabla_b], "nabla_w": [w.tolist() for w in nabla_w]}
    if method == "update_mini_batch":
        grads = [gradient(x, y) for x, y in zip(xs, ys, strict=True)]
        step = case["eta"] / len(xs) * (-1 if MISTAKE == "sign" else 1)
        decay = 1 - case["eta"] * case["lmbda"] / case["n"]
        new_w = [decay * w - step * sum(g[1][i] for g in grads) for i, w in enumerate(weights)]
        new_b = [b - step * sum(g[0][i] for g in grads) for i, b in enumerate(biases)]
        return {"weights": [w.tolist() for w in new_w], "biases": [b.tolist() for b in new_b]}
    return {"error": f"no method {method}"}


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
