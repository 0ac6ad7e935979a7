"""What ``SGD`` can add to plain stochastic gradient descent: optimizers, learning-rate
schedules, early stopping and training-set expansion. All the arithmetic runs in the Rust
engine; these classes only describe what to do.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

__all__ = [
    "OPTIMIZERS",
    "Adam",
    "Augment",
    "EarlyStopping",
    "HalveOnPlateau",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "OptimizerName",
    "PlateauState",
    "optimizer",
]


@dataclass(frozen=True)
class Momentum:
    """Momentum-based gradient descent (the book's chapter 3): ``v ← μv − ηg``, ``w ← w + v``."""

    mu: float = 0.9
    #: What the engine reads to tell the two momentum rules apart.
    nesterov: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_unit("mu", self.mu)


@dataclass(frozen=True)
class Nesterov:
    """Nesterov's accelerated gradient: ``v ← μv − ηg``, ``w ← w + μv − ηg``."""

    mu: float = 0.9
    nesterov: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_unit("mu", self.mu)


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma and Ba, 2015); use a small ``eta`` with it, such as 0.001.

    ``form="paper"`` is the paper's Algorithm 1, ``w ← w − η·m̂/(√v̂ + ε)``;
    ``form="efficient"`` is the reordering of its section 2, which scikit-learn (and
    TensorFlow) compute: ``η_t = η·√(1−β₂ᵗ)/(1−β₁ᵗ)``, ``w ← w − η_t·m/(√v + ε)``. The two
    differ only in where ε acts.
    """

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    form: Literal["paper", "efficient"] = "paper"

    def __post_init__(self) -> None:
        _check_unit("beta1", self.beta1)
        _check_unit("beta2", self.beta2)
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, numbers.Real):
            raise TypeError(f"epsilon: expected a number, got {type(self.epsilon).__name__}")
        if not (math.isfinite(float(self.epsilon)) and float(self.epsilon) > 0):
            raise ValueError(f"epsilon: must be a positive finite number, got {self.epsilon}")
        if self.form not in ("paper", "efficient"):
            raise ValueError(f"form: must be 'paper' or 'efficient', got {self.form!r}")


def _check_unit(name: str, value: Any) -> None:
    """A hyperparameter in [0, 1), as momentum and Adam's decay rates must be."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not 0 <= float(value) < 1:
        raise ValueError(f"{name}: must be in [0, 1), got {value}")


Optimizer: TypeAlias = Momentum | Nesterov | Adam
#: An optimizer's name ("sgd": plain gradient descent, no optimizer).
OptimizerName: TypeAlias = Literal["sgd", "momentum", "nesterov", "adam"]
_NAMED: dict[str, Optimizer] = {"momentum": Momentum(), "nesterov": Nesterov(), "adam": Adam()}
#: The names :func:`optimizer` accepts.
OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "momentum", "nesterov", "adam")


def optimizer(value: object) -> Optimizer | None:
    """An optimizer from itself, its name (with default settings), or ``None``/"sgd"."""
    if value is None or value == "sgd":
        return None
    if isinstance(value, str) and value in _NAMED:
        return _NAMED[value]
    if isinstance(value, Momentum | Nesterov | Adam):
        return value
    raise ValueError(
        f"optimizer: expected 'sgd', 'momentum', 'nesterov', 'adam' or an instance of "
        f"Momentum, Nesterov or Adam, got {value!r}"
    )


@dataclass(frozen=True)
class Augment:
    """Training-set expansion (the book's chapter 3): each time an image is used it is shifted
    by up to ``max_shift`` pixels and rotated by up to ``max_rotation`` degrees, drawn at
    random, so each epoch sees new variants without a copy of the data set."""

    max_shift: float = 1.0
    max_rotation: float = 0.0
    image_shape: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        for name in ("max_shift", "max_rotation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
            if not (math.isfinite(float(value)) and float(value) >= 0):
                raise ValueError(f"{name}: must be a non-negative finite number, got {value}")
        shape = self.image_shape
        if not isinstance(shape, tuple):
            raise TypeError(f"image_shape: expected a (height, width) tuple, got {shape!r}")
        if not (
            isinstance(shape, tuple)
            and len(shape) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise ValueError(
                f"image_shape: expected (height, width), two positive integers, got {shape!r}"
            )


@dataclass(frozen=True)
class HalveOnPlateau:
    """The book's learning-rate schedule: halve η each time the accuracy on the evaluation
    data has not improved for ``patience`` epochs, and stop once η has fallen to
    ``1/min_factor`` of its start (128 in the book).

    It only describes the rule: ``SGD`` keeps each run's progress (:meth:`start`) apart, so
    one instance can serve any number of runs."""

    patience: int = 10
    min_factor: float = 128.0

    def __post_init__(self) -> None:
        _check_patience(self.patience)
        value = self.min_factor
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"min_factor: expected a number, got {type(value).__name__}")
        if not (math.isfinite(float(value)) and float(value) > 1):
            raise ValueError(f"min_factor: must be a finite number above 1, got {value}")

    def start(self) -> PlateauState:
        """The state of one run of this schedule, before its first epoch."""
        return PlateauState(self)


class PlateauState:
    """One run of a :class:`HalveOnPlateau` schedule: the best accuracy so far and how long
    it has waited for a better one."""

    def __init__(self, schedule: HalveOnPlateau) -> None:
        self.schedule = schedule
        self.best = -math.inf
        self.waited = 0

    def next_eta(self, eta: float, start: float, accuracy: float) -> float | None:
        """The learning rate for the next epoch, or ``None`` to stop training."""
        if accuracy > self.best:
            self.best, self.waited = accuracy, 0
            return eta
        self.waited += 1
        if self.waited < self.schedule.patience:
            return eta
        self.waited = 0
        halved = eta / 2
        return None if halved <= start / self.schedule.min_factor * (1 + 1e-12) else halved


@dataclass(frozen=True)
class EarlyStopping:
    """Stops when the accuracy on the evaluation data has not improved for ``patience``
    epochs; with ``restore_best`` the network ends with the parameters of its best epoch."""

    patience: int = 10
    restore_best: bool = True

    def __post_init__(self) -> None:
        _check_patience(self.patience)
        if not isinstance(self.restore_best, bool):
            raise TypeError(
                f"restore_best: expected a bool, got {type(self.restore_best).__name__}"
            )


def _check_patience(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"patience: expected a positive integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"patience: must be a positive integer, got {value}")
