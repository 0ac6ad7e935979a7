"""Types of the compiled extension ``digitnet._core`` (built from ``rust/digitnet-py``)."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__version__: str

Float64Array = NDArray[np.float64]

class Network:
    """The Rust engine's network; ``digitnet.Network`` wraps it with the network.py API."""

    def __init__(self, sizes: Sequence[int], seed: int) -> None: ...
    @property
    def sizes(self) -> list[int]: ...
    def weights(self) -> list[Float64Array]: ...
    def biases(self) -> list[Float64Array]: ...
    def set_weights(self, weights: Sequence[Float64Array]) -> None: ...
    def set_biases(self, biases: Sequence[Float64Array]) -> None: ...
    def feedforward(self, x: Float64Array) -> Float64Array: ...
    def predict(self, x: Float64Array) -> NDArray[np.int64]: ...
    def evaluate(self, x: Float64Array, labels: NDArray[np.int64]) -> int: ...
    def backprop(
        self, x: Float64Array, y: Float64Array
    ) -> tuple[list[Float64Array], list[Float64Array]]: ...
    def update_mini_batch(self, x: Float64Array, y: Float64Array, eta: float) -> None: ...
    def sgd(
        self,
        x: Float64Array,
        y: Float64Array,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        on_progress: Callable[[int, int], Any] | None = None,
        on_epoch: Callable[[int], Any] | None = None,
    ) -> int: ...
    def train_epoch(
        self,
        x: Float64Array,
        y: Float64Array,
        mini_batch_size: int,
        eta: float,
        order: NDArray[np.int64] | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
    ) -> None: ...

def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]: ...
def sigmoid_prime(z: NDArray[np.float64]) -> NDArray[np.float64]: ...
