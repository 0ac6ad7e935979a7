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
    """The number of threads training and inference use: by default one per CPU this process
    may run on (its affinity mask). Results are the same for any number."""
    return _core.get_num_threads()


def set_num_threads(threads: int) -> None:
    """Sets the number of threads training and inference use; ``DIGITNET_NUM_THREADS`` sets it
    at import."""
    _core.set_num_threads(_convert.positive_int("threads", threads))


def available_kernels() -> list[str]:
    """The engine's kernel paths this CPU can run, narrowest first, then ``"auto"``
    (for example ``["scalar", "avx2", "avx512", "auto"]``). Every path gives the same bits."""
    return _core.available_kernels()


def get_kernel() -> str:
    """The kernel path in use (``"avx512"``, ``"avx2"`` or ``"scalar"``)."""
    return _core.get_kernel()


def set_kernel(name: str) -> None:
    """Forces a kernel path (for tests and bug reports), or ``"auto"`` for the widest this CPU
    has; ``DIGITNET_KERNEL`` sets it at import. A path this CPU lacks is a ``ValueError`` naming
    the ones it has."""
    if not isinstance(name, str):
        raise TypeError(f"kernel: must be a string, got {type(name).__name__}")
    _core.set_kernel(name)


def _kernel_from_environment() -> None:
    value = os.environ.get("DIGITNET_KERNEL", "").strip()
    if value:
        try:
            set_kernel(value)
        except ValueError as error:
            # A bad variable must not break ``import digitnet``: say so and run on auto.
            warnings.warn(
                f"DIGITNET_KERNEL ignored, using auto: {error}", RuntimeWarning, stacklevel=2
            )


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
_kernel_from_environment()

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
    "available_kernels",
    "get_kernel",
    "get_num_threads",
    "load",
    "network2",
    "reference",
    "set_kernel",
    "set_num_threads",
    "sigmoid",
    "sigmoid_prime",
]

if TYPE_CHECKING:
    from digitnet.sklearn import MLPClassifier as MLPClassifier
    from digitnet.sklearn import MLPRegressor as MLPRegressor


def __getattr__(name: str) -> object:
    """Imports ``digitnet.MLPClassifier`` and ``digitnet.MLPRegressor``, which need
    scikit-learn, on first use."""
    if name == "MLPClassifier":
        from digitnet.sklearn import MLPClassifier

        return MLPClassifier
    if name == "MLPRegressor":
        from digitnet.sklearn import MLPRegressor

        return MLPRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
