"""Checking your own network against digitnet: ``check_network(Network)`` compares a
network.py-style class, ``check_program("./mynet")`` a program in any language (speaking the
JSON-lines protocol of ``docs/check-protocol.md``), method by method, on cases that Hypothesis
generates and, on a disagreement, shrinks to the smallest. ``digitnet.testing.strategies`` holds
the Hypothesis strategies for your own tests.

Needs Hypothesis: ``pip install 'digitnet[check]'``.
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis
except ImportError as _error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "digitnet.testing needs the package 'hypothesis': pip install 'digitnet[check]'",
        name="hypothesis",
    ) from _error

from digitnet.errors import CheckError
from digitnet.testing import strategies
from digitnet.testing.bounds import tolerances
from digitnet.testing.cases import Case
from digitnet.testing.python_impl import load_class
from digitnet.testing.report import CheckReport, MethodResult
from digitnet.testing.runner import check_network, check_program

del _hypothesis

__all__ = [
    "Case",
    "CheckError",
    "CheckReport",
    "MethodResult",
    "check_network",
    "check_program",
    "load_class",
    "strategies",
    "tolerances",
]
