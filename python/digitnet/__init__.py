"""digitnet: the handwritten-digit network of Michael Nielsen's *Neural Networks and Deep
Learning*, with its training core in Rust.

``digitnet.Network`` is a drop-in for network.py's ``Network`` (and takes network2.py's options);
``digitnet.network2`` is network2.py's API; ``digitnet.reference`` is the same network in plain
NumPy; ``digitnet.datasets.mnist`` loads MNIST.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

from digitnet import _convert, _core, network2, reference
from digitnet.costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from digitnet.errors import (
    DatasetError,
    DigitnetError,
    DivergenceError,
    HistoryFileError,
    ImageError,
    InternalError,
    ModelFileError,
    UnsuitableNetworkError,
)
from digitnet.history import EpochResult, History
from digitnet.network import Network, sigmoid, sigmoid_prime
from digitnet.training import Adam, Augment, EarlyStopping, HalveOnPlateau, Momentum, Nesterov

__version__: str = _core.__version__
#: Reads a network saved by ``Network.save`` or network2.py (``digitnet.Network.load``).
load = Network.load


def get_num_threads() -> int:
    """The number of threads inference (``feedforward``, ``predict``, ``evaluate``) uses:
    one per CPU unless set. Training uses one thread."""
    return _core.get_num_threads()


def set_num_threads(threads: int) -> None:
    """Sets the number of threads inference uses; ``DIGITNET_NUM_THREADS`` sets it at import."""
    _core.set_num_threads(_convert.positive_int("threads", threads))


def _threads_from_environment() -> None:
    """Applies ``DIGITNET_NUM_THREADS``; a bad value is a warning, not a failed import (the
    setting is a tuning knob, and a typo in it must not stop every program that imports us)."""
    value = os.environ.get("DIGITNET_NUM_THREADS", "").strip()
    if not value:
        return
    try:
        set_num_threads(int(value) if value.isdigit() else 0)
    except (ValueError, OverflowError):
        warnings.warn(
            f"DIGITNET_NUM_THREADS: must be a positive integer, got {value!r}; using the "
            f"default ({get_num_threads()} threads)",
            RuntimeWarning,
            stacklevel=2,
        )


_threads_from_environment()

__all__ = [
    "Adam",
    "Augment",
    "CrossEntropyCost",
    "DatasetError",
    "DigitnetError",
    "DivergenceError",
    "EarlyStopping",
    "EpochResult",
    "HalveOnPlateau",
    "History",
    "HistoryFileError",
    "ImageError",
    "InternalError",
    "LogLikelihoodCost",
    "ModelFileError",
    "Momentum",
    "Nesterov",
    "Network",
    "QuadraticCost",
    "UnsuitableNetworkError",
    "__version__",
    "get_num_threads",
    "load",
    "network2",
    "reference",
    "set_num_threads",
    "sigmoid",
    "sigmoid_prime",
]

if TYPE_CHECKING:
    from digitnet.sklearn import MLPClassifier as MLPClassifier


def __getattr__(name: str) -> object:
    """Imports ``digitnet.MLPClassifier``, which needs scikit-learn, on first use."""
    if name == "MLPClassifier":
        from digitnet.sklearn import MLPClassifier

        return MLPClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
