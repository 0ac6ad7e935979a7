"""A network.py-style Python class as the checker sees it: built for each case, its parameters
set as network.py's attributes, its methods called with network.py's arguments."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import itertools
import numbers
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.errors import AnswerError, CheckError, ProgramFailedError, _Expired
from digitnet.testing.cases import COSTS, METHODS, Case, Method
from digitnet.testing.compare import as_shape
from digitnet.testing.expected import Answer
from digitnet.testing.mistakes import exception_hints

__all__ = ["PythonImplementation", "load_class"]

#: The methods a network.py-style class must have; the others are checked when present.
REQUIRED: tuple[Method, ...] = ("feedforward", "backprop", "update_mini_batch")
#: The layer sizes of the probe network built to see what the class offers.
PROBE_SIZES = [2, 3, 1]
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_class(path: str | os.PathLike[str], class_name: str = "Network") -> Any:
    """The class ``class_name`` defined by the Python file ``path``, imported as a module of its
    own (its ``if __name__ == "__main__":`` block does not run). Raises
    :class:`~digitnet.errors.CheckError` with a one-line message, the file's own exception's
    included, when the file cannot be imported or has no such class."""
    file = Path(path)
    if not file.is_file():
        raise CheckError(f"{file}: no such file")
    name = "digitnet_check_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise CheckError(f"{file}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)  # so the file can import its neighbours (mnist_loader, ...)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        detail = f"{type(error).__name__}: {error}{_where(error)}"
        if isinstance(error, SyntaxError) and "print" in str(error):
            detail += " (Python 2 code, like the book's network.py? digitnet checks Python 3)"
        raise CheckError(f"{file}: cannot import it: {detail}") from error
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    found = getattr(module, class_name, None)
    if found is None or not callable(found):
        classes = sorted(n for n, v in vars(module).items() if inspect.isclass(v))
        raise CheckError(
            f"{file}: defines no class {class_name!r}"
            + (f" (it defines {', '.join(classes)}; choose one with --class)" if classes else "")
        )
    return found


def _where(error: BaseException) -> str:
    """Where in the user's code ``error`` was raised, as `` (file.py, line N)``."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_PACKAGE_DIR)
        and "site-packages" not in frame.filename
        and not frame.filename.startswith("<frozen")
    ]
    if isinstance(error, SyntaxError) and error.filename:
        return ""  # its message already names the file and line
    if not frames:
        return ""
    return f" ({os.path.basename(frames[-1].filename)}, line {frames[-1].lineno})"


def _positional_count(function: Any) -> int:
    """How many positional parameters ``function`` takes (not counting ``self``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds)


class PythonImplementation:
    """The user's network class (or any ``factory(sizes)`` making a network), as the checker
    calls it. ``costs`` maps network2.py's cost names to the user's cost classes, passed as
    ``cost=``; ``"auto"`` finds ``QuadraticCost`` and ``CrossEntropyCost`` beside the class when
    it takes a ``cost`` argument."""

    def __init__(
        self,
        factory: Callable[..., Any],
        costs: Mapping[str, Any] | str = "auto",
        dtype: str = "float64",
        timeout: float | None = None,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout: must be a positive number of seconds, got {timeout!r}")
        self.timeout = timeout
        if not callable(factory):
            raise TypeError(f"factory: expected a class or callable, got {type(factory).__name__}")
        self.factory = factory
        self.dtype = np.dtype(dtype)
        self.costs = self._find_costs(costs)
        probe = self._build(PROBE_SIZES, None, "Network")
        self.methods: list[Method] = [m for m in METHODS if callable(getattr(probe, m, None))]
        self.missing: list[Method] = [m for m in REQUIRED if m not in self.methods]
        update = getattr(probe, "update_mini_batch", None)
        #: network2.py's update_mini_batch(mini_batch, eta, lmbda, n)
        self.lmbda = update is not None and _positional_count(update) >= 4
        self.name = getattr(factory, "__qualname__", None) or repr(factory)

    def _find_costs(self, costs: Mapping[str, Any] | str) -> dict[str, Any]:
        if not isinstance(costs, str):
            unknown = [name for name in costs if name not in COSTS]
            if unknown:
                raise ValueError(f"costs: unknown {unknown[0]!r}; expected {', '.join(COSTS)}")
            return dict(costs)
        if costs != "auto":
            raise ValueError(f"costs: expected a mapping or 'auto', got {costs!r}")
        try:
            parameters = inspect.signature(self.factory).parameters
        except (TypeError, ValueError):
            return {}
        if "cost" not in parameters:
            return {}
        found: dict[str, Any] = {}
        default = parameters["cost"].default
        if getattr(default, "__name__", None) in COSTS:
            found[default.__name__] = default
        for name in COSTS:
            if inspect.isclass(beside := self._defined_beside(name)):
                found[name] = beside
        return found

    def _defined_beside(self, name: str) -> Any:
        """What ``name`` is in the module that defines the factory (found through a function's
        globals: a module imported from a file need not be in ``sys.modules``)."""
        function = getattr(self.factory, "__init__", None)
        for source in (self.factory, function):
            names = getattr(source, "__globals__", None)
            if isinstance(names, dict) and name in names:
                return names[name]
        module = sys.modules.get(getattr(self.factory, "__module__", "") or "")
        return getattr(module, name, None)

    def _build(self, sizes: Sequence[int], cost: str | None, call: str) -> Any:
        try:
            if cost is not None and cost in self.costs:
                return self.factory(list(sizes), cost=self.costs[cost])
            return self.factory(list(sizes))
        except Exception as error:
            what = f"Network({list(sizes)}{', cost=' + cost if cost in self.costs else ''})"
            message = f"{what} raised {type(error).__name__}: {error}{_where(error)}"
            if call == "Network":
                raise CheckError(message) from error
            raise AnswerError("exception", message, tuple(exception_hints(str(error)))) from None

    def _column(self, row: np.ndarray) -> np.ndarray:
        return np.array(row, dtype=self.dtype).reshape(-1, 1)

    def answer(self, case: Case) -> Answer:
        """The implementation's answer to ``case``; raises :class:`AnswerError` if it raises or
        answers in the wrong shapes."""
        net = self._build(case.sizes, case.cost, case.method)
        call = f"{case.method}(...)"
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings(), self._time_limit(call):
                warnings.simplefilter("ignore")
                call = "setting weights and biases"
                net.weights = [np.array(w, dtype=self.dtype) for w in case.weights]
                net.biases = [self._column(b) for b in case.biases]
                call = f"{case.method}(...)"
                return self._call(net, case)
        except (AnswerError, ProgramFailedError):
            raise
        except Exception as error:
            message = f"{call} raised {type(error).__name__}: {error}{_where(error)}"
            raise AnswerError("exception", message, tuple(exception_hints(str(error)))) from None

    @contextlib.contextmanager
    def _time_limit(self, call: str) -> Iterator[None]:
        """Interrupts a call that runs longer than ``timeout`` (a Python loop that never ends),
        where a timer signal can: on POSIX, in the main thread (where Jupyter runs cells)."""
        usable = (
            self.timeout is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        if not usable:
            yield
            return
        assert self.timeout is not None

        def expire(signum: int, frame: Any) -> None:
            raise _Expired

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            yield
        except _Expired:
            raise ProgramFailedError(
                f"{call} did not return within {self.timeout:g} s (interrupted it)", hung=True
            ) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _call(self, net: Any, case: Case) -> Answer:
        sizes = case.sizes
        n_out = sizes[-1]
        if case.method == "feedforward":
            outputs = [
                as_shape("feedforward's output", net.feedforward(self._column(x)), (n_out,))
                for x in case.x
            ]
            return {"output": [np.stack(outputs)]}
        if case.method == "cost_derivative":
            outputs = [
                as_shape("cost_derivative's result", net.cost_derivative(
                    self._column(a), self._column(y)), (n_out,))
                for a, y in zip(case.x, case.y, strict=True)
            ]  # fmt: skip
            return {"output": [np.stack(outputs)]}
        if case.method == "backprop":
            result = net.backprop(self._column(case.x[0]), self._column(case.y[0]))
            if not isinstance(result, Sequence) or len(result) != 2:
                raise AnswerError(
                    "malformed",
                    f"backprop returned a {type(result).__name__}, "
                    "expected a pair (nabla_b, nabla_w)",
                )
            return {
                "nabla_b": _layers("nabla_b", result[0], [(y,) for y in sizes[1:]]),
                "nabla_w": _layers("nabla_w", result[1], _weight_shapes(sizes)),
            }
        if case.method == "update_mini_batch":
            batch = [
                (self._column(x), self._column(y)) for x, y in zip(case.x, case.y, strict=True)
            ]
            if self.lmbda:
                net.update_mini_batch(batch, case.eta, case.lmbda, case.n)
            else:
                net.update_mini_batch(batch, case.eta)
            return {
                "weights": _layers("weights", net.weights, _weight_shapes(sizes)),
                "biases": _layers("biases", net.biases, [(y,) for y in sizes[1:]]),
            }
        data = [(self._column(x), label) for x, label in zip(case.x, case.labels, strict=True)]
        correct = net.evaluate(data)
        if isinstance(correct, bool) or not isinstance(correct, numbers.Real):
            raise AnswerError(
                "malformed", f"evaluate returned a {type(correct).__name__}, expected a count"
            )
        return {"correct": [np.array([float(correct)])]}


def _weight_shapes(sizes: Sequence[int]) -> list[tuple[int, ...]]:
    return [(y, x) for x, y in itertools.pairwise(sizes)]


def _layers(name: str, value: Any, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """``value`` as one array per layer of the given shapes, or :class:`AnswerError`."""
    if isinstance(value, (str, bytes, np.ndarray)) or not isinstance(value, Sequence):
        try:
            value = list(value)
        except TypeError:
            raise AnswerError(
                "malformed", f"{name} is a {type(value).__name__}, expected a list of arrays"
            ) from None
    if len(value) != len(shapes):
        raise AnswerError(
            "shape", f"{name} holds {len(value)} arrays, expected {len(shapes)} (one per layer)"
        )
    return [
        as_shape(f"{name}[{i}]", v, s) for i, (v, s) in enumerate(zip(value, shapes, strict=True))
    ]
