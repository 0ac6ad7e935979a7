"""Types of the compiled extension ``digitnet._core`` (built from ``rust/digitnet-py``).

It raises :class:`digitnet.errors.DivergenceError` and :class:`digitnet.errors.InternalError`
(the Python classes themselves) and ``ValueError``/``TypeError``/``MemoryError``."""

from collections.abc import Callable, Sequence
from typing import Any, Protocol, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Network",
    "__version__",
    "_panic_for_tests",
    "available_kernels",
    "get_kernel",
    "get_num_threads",
    "set_kernel",
    "set_num_threads",
    "sigmoid",
    "sigmoid_prime",
    "transform_image",
]

__version__: str

_FloatArray = NDArray[np.floating[Any]]
#: (kind, hyperparameters, steps, first_w, first_b, second_w, second_b): see
#: ``rust/digitnet-py/src/optimizer_state.rs``.
_OptimizerState = tuple[
    str,
    list[float],
    int,
    list[_FloatArray],
    list[_FloatArray],
    list[_FloatArray],
    list[_FloatArray],
]

class _StepOptions(Protocol):
    """What the engine reads of ``digitnet.sgd.StepOptions`` (by attribute name); the
    optimizer is a ``digitnet.training`` Momentum, Nesterov or Adam, the augment an Augment."""

    @property
    def eta(self) -> float: ...
    @property
    def lmbda(self) -> float: ...
    @property
    def optimizer(self) -> object | None: ...
    @property
    def dropout(self) -> float: ...
    @property
    def augment(self) -> object | None: ...
    @property
    def batch_l2(self) -> bool: ...

def _panic_for_tests(message: str) -> None: ...

@final
class Network:
    """The Rust engine's network; ``digitnet.Network`` wraps it with the network.py API."""

    def __new__(
        cls,
        sizes: Sequence[int],
        seed: int,
        dtype: str = "float64",
        activations: Sequence[str] | None = None,
        cost: str = "QuadraticCost",
        init: str = "large",
    ) -> Network: ...
    @property
    def sizes(self) -> list[int]: ...
    @property
    def activations(self) -> list[str]: ...
    @property
    def cost(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    def copy(self) -> Network: ...
    def initialize(self, init: str) -> None: ...
    def weights(self) -> list[_FloatArray]: ...
    def biases(self) -> list[_FloatArray]: ...
    def set_weights(self, weights: Sequence[_FloatArray]) -> None: ...
    def set_biases(self, biases: Sequence[_FloatArray]) -> None: ...
    def feedforward(self, x: _FloatArray) -> _FloatArray: ...
    def predict(self, x: _FloatArray) -> NDArray[np.int64]: ...
    def evaluate(self, x: _FloatArray, labels: NDArray[np.int64]) -> int: ...
    def backprop(
        self, x: _FloatArray, y: _FloatArray, masks: Sequence[_FloatArray] | None = None
    ) -> tuple[list[_FloatArray], list[_FloatArray]]: ...
    def update_mini_batch(
        self,
        x: _FloatArray,
        y: _FloatArray,
        options: _StepOptions,
        n: int | None = None,
        masks: Sequence[_FloatArray] | None = None,
    ) -> None: ...
    def optimizer_state(self) -> _OptimizerState | None: ...
    def set_optimizer_state(self, state: _OptimizerState) -> None: ...
    def reset_optimizer(self) -> None: ...
    def sgd(
        self,
        x: _FloatArray,
        y: _FloatArray,
        epochs: int,
        mini_batch_size: int,
        options: _StepOptions,
        on_progress: Callable[[int, int], Any] | None = None,
        on_epoch: Callable[[int], bool | float | None] | None = None,
    ) -> int: ...
    def train_epoch(
        self,
        x: _FloatArray,
        y: _FloatArray,
        mini_batch_size: int,
        options: _StepOptions,
        order: NDArray[np.int64] | None = None,
        sample_weight: _FloatArray | None = None,
        record_loss: bool = False,
        on_progress: Callable[[int, int], Any] | None = None,
    ) -> tuple[float, float] | None: ...
    def train_epochs(
        self,
        x: _FloatArray,
        y: _FloatArray,
        mini_batch_size: int,
        plan: Callable[[tuple[float, float] | None], tuple[NDArray[np.int64], _StepOptions] | None],
        sample_weight: _FloatArray | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
    ) -> int: ...
    def objective(
        self, x: _FloatArray, y: _FloatArray, sample_weight: _FloatArray | None = None
    ) -> tuple[float, float, list[_FloatArray], list[_FloatArray]]: ...

def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]: ...
def sigmoid_prime(z: NDArray[np.float64]) -> NDArray[np.float64]: ...
def transform_image(
    image: NDArray[np.float64], shape: tuple[int, int], dy: float, dx: float, degrees: float
) -> NDArray[np.float64]: ...
def get_num_threads() -> int: ...
def set_num_threads(threads: int) -> None: ...
def available_kernels() -> list[str]: ...
def get_kernel() -> str: ...
def set_kernel(name: str) -> None: ...
