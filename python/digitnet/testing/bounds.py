"""How far a correct implementation may stray from digitnet: a first-order running bound on the
rounding error of network.py's formulas, computed for each element of each answer.

Following Higham's *Accuracy and Stability of Numerical Algorithms* (§3.1, §3.5), with unit
roundoff ``u`` (2⁻⁵³ for float64, 2⁻²⁴ for float32) and ``γ(k) = k·u / (1 − k·u)``, a sum of ``k``
products computed in any order errs by at most ``γ(k)·Σ|terms|``. Carried through the network
(``e_X`` bounds the error in ``X``, ``|·|`` is taken element-wise):

- forward, a layer of fan-in ``k``: ``e_z ≤ γ(k+1)·(|W|·|a| + |b|) + |W|·e_a``;
  ``e_σ ≤ s·e_z + 4u·σ(z)`` with ``s = min(¼, σ'(z) + 0.1·e_z)`` (``|σ''| < 0.1``), ``4u`` the
  rounding of ``1/(1 + exp(−z))`` with a libm ``exp``;
- ``σ'(z) = σ(z)(1 − σ(z))`` errs by ``e_σ' ≤ 0.1·e_z + 8u``: *absolutely*, not relatively, since
  ``1 − σ(z)`` rounds to 0 once σ saturates (the book's formula must pass, and does);
- backward: ``δᴸ = (a − y)⊙σ'(zᴸ)`` (quadratic) or ``a − y`` (cross-entropy),
  ``δˡ = (Wᵀδˡ⁺¹)⊙σ'(zˡ)`` with the same rules, ``∇b = δ``, ``∇w = δ·aᵀ``
  (``e ≤ e_δ·|a|ᵀ + |δ|·e_aᵀ + u·|δ|·|a|ᵀ``);
- the update ``w' = (1 − ηλ/n)·w − (η/m)·Σ∇w``: ``e ≤ (η/m)·(Σe_∇ + (γ(m) + 3u)·Σ|∇|) +
  4u·(1 + ηλ/n)·|w| + u·|w'|``.

The answer is accepted when ``|yours − digitnet| ≤ 2·(bound(u_yours) + bound(u_float64)) +
tiny``: digitnet's own float64 error is bounded the same way; the factor 2 covers the neglected
second-order terms; ``tiny`` (the smallest normal number of your float type) covers underflow. For
an implementation in float64 that is about 1e-15 of the values involved, for float32 about 1e-6;
the mistakes this check looks for are wrong by a quarter or more of them.
"""

from __future__ import annotations

import numpy as np

from digitnet.testing.cases import Case, FloatArray
from digitnet.testing.expected import Answer

__all__ = ["SAFETY", "UNIT_ROUNDOFF", "ambiguous_samples", "sigmoid", "tolerances"]

#: Unit roundoff of each float type the checked implementation may compute in.
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
#: Covers the second-order terms the bound leaves out.
SAFETY = 2.0


def _gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u)


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid, in the form that cannot overflow."""
    e = np.exp(-np.abs(z))
    result: FloatArray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return result


class _Pass:
    """One sample's forward and backward pass with the error bound of each quantity."""

    def __init__(self, case: Case, x: FloatArray, y: FloatArray, u: float) -> None:
        a: FloatArray = x.astype(np.float64)
        e_a: FloatArray = np.zeros_like(a)
        self.a, self.e_a = [a], [e_a]
        self.s, self.e_s = [], []  # σ'(z) and its error bound, per layer
        for w, b in zip(case.weights, case.biases, strict=True):
            z = w @ a + b
            e_z = _gamma(w.shape[1] + 1, u) * (np.abs(w) @ np.abs(a) + np.abs(b)) + np.abs(w) @ e_a
            a = sigmoid(z)
            s = a * sigmoid(-z)
            e_a = np.minimum(0.25, s + 0.1 * e_z) * e_z + 4 * u * a
            self.a.append(a)
            self.e_a.append(e_a)
            self.s.append(s)
            self.e_s.append(0.1 * e_z + 8 * u)
        self.case, self.y, self.u = case, y, u

    def gradient(self) -> tuple[list[FloatArray], list[FloatArray], list[FloatArray]]:
        """``|∇w|`` per layer, and the error bounds of ``∇b`` and ``∇w``."""
        u, layers = self.u, len(self.case.weights)
        d = self.a[-1] - self.y
        if self.case.cost == "QuadraticCost":
            s, e_s = self.s[-1], self.e_s[-1]
            delta = d * s
            e_delta = self.e_a[-1] * (s + e_s) + np.abs(d) * e_s + 2 * u * np.abs(delta)
        else:
            delta = d
            e_delta = self.e_a[-1] + u * np.abs(d)
        e_b: list[FloatArray] = [np.zeros(0)] * layers
        e_w: list[FloatArray] = [np.zeros(0)] * layers
        mag_w: list[FloatArray] = [np.zeros(0)] * layers
        for layer in range(layers - 1, -1, -1):
            a_prev, e_prev = self.a[layer], self.e_a[layer]
            mag = np.outer(np.abs(delta), np.abs(a_prev))
            e_b[layer] = e_delta
            e_w[layer] = np.outer(e_delta, np.abs(a_prev)) + np.outer(np.abs(delta), e_prev)
            e_w[layer] = e_w[layer] + u * mag
            mag_w[layer] = mag
            if layer == 0:
                break
            w = self.case.weights[layer]
            g = w.T @ delta
            e_g = _gamma(w.shape[0], u) * (np.abs(w).T @ np.abs(delta)) + np.abs(w).T @ e_delta
            s, e_s = self.s[layer - 1], self.e_s[layer - 1]
            delta = g * s
            e_delta = e_g * (s + e_s) + np.abs(g) * e_s + u * np.abs(delta)
        return mag_w, e_b, e_w

    def delta_magnitudes(self) -> list[FloatArray]:
        """``|∇b|`` per layer (the error vectors δ), recomputed without bounds."""
        layers = len(self.case.weights)
        out: list[FloatArray] = [np.zeros(0)] * layers
        delta = self.a[-1] - self.y
        if self.case.cost == "QuadraticCost":
            delta = delta * self.s[-1]
        for layer in range(layers - 1, -1, -1):
            out[layer] = np.abs(delta)
            if layer:
                delta = (self.case.weights[layer].T @ delta) * self.s[layer - 1]
        return out


def _bounds(case: Case, u: float) -> Answer:
    """The first-order error bound of each element of a correct answer in precision ``u``."""
    if case.method == "cost_derivative":
        return {"output": [u * (np.abs(case.x) + np.abs(case.y))]}
    if case.method == "evaluate":
        return {"correct": [np.zeros(1)]}
    passes = [_Pass(case, x, y, u) for x, y in zip(case.x, case.y, strict=True)]
    if case.method == "feedforward":
        return {"output": [np.stack([p.e_a[-1] for p in passes])]}
    gradients = [p.gradient() for p in passes]
    if case.method == "backprop":
        _, e_b, e_w = gradients[0]
        return {"nabla_b": e_b, "nabla_w": e_w}
    m, eta, decay = len(passes), case.eta, case.eta * case.lmbda / case.n
    step = eta / m
    weights, biases = [], []
    for layer, (w, b) in enumerate(zip(case.weights, case.biases, strict=True)):
        sum_w = sum(g[0][layer] for g in gradients)
        sum_b = sum(p.delta_magnitudes()[layer] for p in passes)
        e_sw = sum(g[2][layer] for g in gradients)
        e_sb = sum(g[1][layer] for g in gradients)
        new_w = np.abs((1 - decay) * w) + step * sum_w
        new_b = np.abs(b) + step * sum_b
        weights.append(
            step * (e_sw + (_gamma(m, u) + 3 * u) * sum_w)
            + 4 * u * (1 + decay) * np.abs(w)
            + u * new_w
        )
        biases.append(
            step * (e_sb + (_gamma(m, u) + 3 * u) * sum_b) + 3 * u * np.abs(b) + u * new_b
        )
    return {"weights": weights, "biases": biases}


def tolerances(case: Case, dtype: str) -> Answer:
    """The largest difference from digitnet's answer a correct implementation computing in
    ``dtype`` may show, element by element (see the module's docstring)."""
    if dtype not in UNIT_ROUNDOFF:
        raise ValueError(f"dtype: must be 'float64' or 'float32', got {dtype!r}")
    yours, ours = _bounds(case, UNIT_ROUNDOFF[dtype]), _bounds(case, UNIT_ROUNDOFF["float64"])
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    return {
        key: [SAFETY * (a + b) + tiny for a, b in zip(yours[key], ours[key], strict=True)]
        for key in yours
    }


def ambiguous_samples(case: Case, dtype: str) -> int:
    """How many of the case's samples have a runner-up output within rounding distance of the
    largest, so that a correct ``evaluate`` may count them either way."""
    feed = Case("feedforward", case.sizes, case.weights, case.biases, case.x, case.y)
    bound = tolerances(feed, dtype)["output"][0]
    count = 0
    for x, y, e in zip(case.x, case.y, bound, strict=True):
        a = _Pass(case, x, y, 0.0).a[-1]
        top = int(np.argmax(a))
        if np.count_nonzero(a + e >= a[top] - e[top]) > 1:
            count += 1
    return count
