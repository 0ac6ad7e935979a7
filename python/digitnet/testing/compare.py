"""Comparing an implementation's answer with digitnet's, element by element, within the
tolerances of :mod:`digitnet.testing.bounds`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.errors import AnswerError
from digitnet.testing.cases import FloatArray
from digitnet.testing.expected import Answer

__all__ = ["Mismatch", "as_shape", "close", "compare"]


@dataclass
class Mismatch:
    """How an answer disagrees with digitnet's: a one-line ``message`` (which element, expected
    and got), and the names of the arrays that differ and of those that agree."""

    message: str
    differing: list[str] = field(default_factory=list)
    agreeing: list[str] = field(default_factory=list)
    element: str | None = None
    expected: float | None = None
    got: float | None = None
    tolerance: float | None = None


def _name(key: str, layer: int, count: int) -> str:
    return key if key in ("output", "correct") and count == 1 else f"{key}[{layer}]"


def as_shape(name: str, value: Any, shape: tuple[int, ...]) -> FloatArray:
    """``value`` as a float64 array of ``shape``; where a vector ``(k,)`` is expected, network.py's
    column ``(k, 1)`` is as good. Anything else raises :class:`AnswerError` naming both shapes."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AnswerError(
            "malformed", f"{name} is not an array of numbers ({type(value).__name__}: {error})"
        ) from None
    if array.shape == shape:
        return array
    if len(shape) == 1 and array.shape == (shape[0], 1):
        return array.reshape(shape)
    raise AnswerError("shape", f"{name} has shape {array.shape}, expected {_shape_text(shape)}")


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"({shape[0]}, 1) or ({shape[0]},)"
    return str(shape)


def close(got: FloatArray, expected: FloatArray, tolerance: FloatArray) -> bool:
    """Whether every element of ``got`` lies within ``tolerance`` of ``expected``."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(got - expected) <= tolerance))


def compare(got: Answer, expected: Answer, tolerances: Answer) -> Mismatch | None:
    """``None`` when ``got`` agrees with ``expected`` everywhere; else the worst element (the
    largest difference in units of its tolerance) and which arrays differ."""
    worst: tuple[float, str, tuple[int, ...], float, float, float] | None = None
    differing, agreeing = [], []
    for key, arrays in expected.items():
        for layer, (want, have, tol) in enumerate(
            zip(arrays, got[key], tolerances[key], strict=True)
        ):
            name = _name(key, layer, len(arrays))
            with np.errstate(invalid="ignore", over="ignore"):
                excess = np.abs(have - want) / tol
            excess = np.where(np.isfinite(have), excess, np.inf)
            if not np.any(excess > 1):
                agreeing.append(name)
                continue
            differing.append(name)
            where = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), want.shape))
            ratio = float(excess[where])
            if worst is None or ratio > worst[0]:
                worst = (ratio, name, where, float(want[where]), float(have[where]),
                         float(tol[where]))  # fmt: skip
    if worst is None:
        return None
    _, name, index, want_value, have_value, tol_value = worst
    element = f"{name}[{', '.join(map(str, index))}]"
    message = (
        f"{element}: digitnet {want_value!r}, yours {have_value!r} "
        f"(difference {abs(have_value - want_value):.3g}, tolerance {tol_value:.2g})"
    )
    return Mismatch(message, differing, agreeing, element, want_value, have_value, tol_value)
