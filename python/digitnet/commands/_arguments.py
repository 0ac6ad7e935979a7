"""argparse ``type=`` functions for the subcommands: each parses the text, then checks the value
with the same :mod:`digitnet._convert` function the Python API uses, so the command line and the
library accept exactly the same values and say the same thing about the others."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from typing import TypeVar

from digitnet import _convert
from digitnet.datasets import mnist

__all__ = [
    "MAX_COUNT",
    "MAX_LAYER",
    "MAX_PARAMETERS",
    "learning_rate",
    "mnist_sizes",
    "non_negative_int",
    "non_negative_real",
    "port",
    "positive_int",
    "probability",
    "seed",
]

_T = TypeVar("_T")
#: The names _convert's checks put before their messages when they have no name given.
_OWN_NAMES = ("", "seed", "eta", "sizes")

#: Bounds on what the command accepts: far beyond any useful run, and far below what would
#: fail only after the data is loaded.
MAX_LAYER = 1_000_000
MAX_PARAMETERS = 1 << 31
MAX_COUNT = 1_000_000_000


def _adapter(
    parse: Callable[[str], _T], what: str, check: Callable[[str, _T], _T]
) -> Callable[[str], _T]:
    """An argparse type: ``parse`` the text (as ``what``), then ``check(name, value)``; either
    failure becomes argparse's usage error, which names the option."""

    def argument(text: str) -> _T:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            return check("", value)
        except (TypeError, ValueError) as error:
            # _convert's messages start with the argument's name, which argparse gives itself.
            head, colon, rest = str(error).partition(": ")
            shown = rest if colon and head in _OWN_NAMES else str(error)
            raise argparse.ArgumentTypeError(shown) from None

    return argument


def _count(check: Callable[[str, int], int]) -> Callable[[str, int], int]:
    def bounded(name: str, value: int) -> int:
        if abs(value) > MAX_COUNT:
            raise ValueError(f"must be at most {MAX_COUNT}, got {value}")
        return check(name, value)

    return bounded


positive_int = _adapter(int, "an integer", _count(_convert.positive_int))
non_negative_int = _adapter(int, "an integer", _count(_convert.non_negative_int))
seed = _adapter(int, "an integer", lambda _, value: _convert.seed(value))
port = _adapter(int, "a port number", lambda n, v: _convert.int_in_range(n, v, 0, 65535))
learning_rate = _adapter(float, "a number", lambda _, value: _convert.learning_rate(value))
non_negative_real = _adapter(float, "a number", _convert.non_negative_real)
probability = _adapter(float, "a number", _convert.probability)


def _split_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def _check_mnist_sizes(name: str, value: list[int]) -> list[int]:
    sizes = _convert.sizes(value)
    if max(sizes) > MAX_LAYER:
        raise ValueError(f"a layer may have at most {MAX_LAYER} neurons")
    if sum(x * y for x, y in itertools.pairwise(sizes)) > MAX_PARAMETERS:
        raise ValueError(f"more than {MAX_PARAMETERS} weights; too many")
    mnist.check_network(sizes, name="sizes")
    return sizes


#: Layer sizes for MNIST, like ``784,30,10``.
mnist_sizes = _adapter(_split_sizes, "comma-separated integers like 784,30,10", _check_mnist_sizes)
