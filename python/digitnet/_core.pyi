"""Types of the compiled extension ``digitnet._core`` (built from ``rust/digitnet-py``).

It raises :class:`digitnet.errors.DivergenceError` and :class:`digitnet.errors.InternalError`
(the Python classes themselves) and ``ValueError``/``TypeError``/``MemoryError``."""

from collections.abc import Callable, Sequence
from typing import Any, final

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
_OptimizerSpec = tuple[str, float, float, float]
_AugmentSpec = tuple[int, int, float, float]

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
        eta: float,
        lmbda: float = 0.0,
        n: int | None = None,
        optimizer: _OptimizerSpec | None = None,
        masks: Sequence[_FloatArray] | None = None,
    ) -> None: ...
    def reset_optimizer(self) -> None: ...
    def sgd(
        self,
        x: _FloatArray,
        y: _FloatArray,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        optimizer: _OptimizerSpec | None = None,
        dropout: float = 0.0,
        augment: _AugmentSpec | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
        on_epoch: Callable[[int], bool | float | None] | None = None,
    ) -> int: ...
    def train_epoch(
        self,
        x: _FloatArray,
        y: _FloatArray,
        mini_batch_size: int,
        eta: float,
        order: NDArray[np.int64] | None = None,
        lmbda: float = 0.0,
        optimizer: _OptimizerSpec | None = None,
        dropout: float = 0.0,
        augment: _AugmentSpec | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
    ) -> None: ...

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
