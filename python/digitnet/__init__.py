"""digitnet: the handwritten-digit network of Michael Nielsen's *Neural Networks and Deep
Learning*, chapter 1, with its training core in Rust.

``digitnet.Network`` is a drop-in for network.py's ``Network``; ``digitnet.reference`` is the
same network in plain NumPy; ``digitnet.datasets.mnist`` loads MNIST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from digitnet import _core, reference
from digitnet.errors import DatasetError, DigitnetError, ModelFileError
from digitnet.history import EpochResult, History
from digitnet.network import Network, sigmoid, sigmoid_prime
from digitnet.persistence import load

__version__: str = _core.__version__

__all__ = [
    "DatasetError",
    "DigitnetError",
    "EpochResult",
    "History",
    "ModelFileError",
    "Network",
    "__version__",
    "load",
    "reference",
    "sigmoid",
    "sigmoid_prime",
]

if TYPE_CHECKING:
    from digitnet.sklearn import MLPClassifier as MLPClassifier


def __getattr__(name: str) -> Any:
    """Imports ``digitnet.MLPClassifier``, which needs scikit-learn, on first use."""
    if name == "MLPClassifier":
        from digitnet.sklearn import MLPClassifier

        return MLPClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
