"""The check itself: for each method, Hypothesis generates cases until one disagrees with
digitnet, then shrinks it to the smallest case that still disagrees."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import Flaky, NoSuchExample

from digitnet.errors import AnswerError, ProgramFailedError
from digitnet.testing import strategies
from digitnet.testing.bounds import ambiguous_samples, tolerances
from digitnet.testing.cases import COSTS, METHODS, Case, CostName, Method
from digitnet.testing.compare import Mismatch, compare
from digitnet.testing.expected import Answer, expected
from digitnet.testing.mistakes import exception_hints, hints_for, shape_hints
from digitnet.testing.program import ProgramImplementation
from digitnet.testing.python_impl import PythonImplementation
from digitnet.testing.report import CheckReport, MethodResult, python_reproduction

__all__ = ["check_network", "check_program"]

#: The methods a program is asked about unless told otherwise.
PROGRAM_METHODS: tuple[Method, ...] = ("feedforward", "backprop", "update_mini_batch")
#: Methods whose result depends on the cost.
COST_METHODS = ("backprop", "update_mini_batch")


class Implementation(Protocol):
    """What the checker needs of an implementation."""

    name: str

    def answer(self, case: Case) -> Answer: ...


@dataclass
class _Verdict:
    problem: str
    mismatch: Mismatch | None = None
    hints: tuple[str, ...] = ()
    kind: str = "value"
    #: For a wrong value: the answer, digitnet's and the tolerances, to find hints in at the end.
    answers: tuple[Answer, Answer, Answer] | None = None


def _judge(impl: Implementation, case: Case, dtype: str) -> _Verdict | None:
    """``None`` when the implementation's answer to ``case`` agrees with digitnet's."""
    try:
        got = impl.answer(case)
    except AnswerError as error:
        hints = error.hints + tuple(shape_hints(str(error), case))
        return _Verdict(str(error), hints=hints, kind=error.kind)
    want = expected(case)
    if case.method == "evaluate":
        slack = ambiguous_samples(case, dtype)
        have, target = got["correct"][0][0], want["correct"][0][0]
        if abs(have - target) <= slack:
            return None
        near = f" ({slack} of them near a tie)" if slack else ""
        return _Verdict(
            f"evaluate counted {have:g} correct of {len(case.x)}, digitnet {target:g}{near}",
            kind="count",
        )
    tol = tolerances(case, dtype)
    mismatch = compare(got, want, tol)
    if mismatch is None:
        return None
    return _Verdict(mismatch.message, mismatch, answers=(got, want, tol))


#: How long a crashing program's case is shrunk: each try restarts the program (for a Python
#: interpreter with NumPy, a few tenths of a second; for C, a millisecond).
CRASH_SHRINK_SECONDS = 10.0


class _Search:
    """The condition Hypothesis minimises: "this case disagrees", remembering why."""

    def __init__(self, impl: Implementation, dtype: str) -> None:
        self.impl, self.dtype = impl, dtype
        self.calls = 0
        self.restarts = 0
        self.first_crash: float | None = None
        self.hung: ProgramFailedError | None = None
        self.hung_case: Case | None = None
        self.last: tuple[Case, _Verdict] | None = None

    def __call__(self, case: Case) -> bool:
        crashing = self.first_crash is not None and (
            time.monotonic() - self.first_crash > CRASH_SHRINK_SECONDS
        )
        if self.hung is not None or crashing:
            return False  # stop: Hypothesis keeps the smallest failing case found so far
        self.calls += 1
        try:
            verdict = _judge(self.impl, case, self.dtype)
        except ProgramFailedError as error:
            if error.hung:
                self.hung, self.hung_case = error, case
                return False
            self.restarts += 1
            if self.first_crash is None:
                self.first_crash = time.monotonic()
            verdict = _Verdict(str(error), hints=tuple(exception_hints(str(error))), kind="crash")
        if verdict is None:
            return False
        self.last = (case, verdict)
        return True


def _check_one(
    impl: Implementation,
    method: Method,
    cost: CostName | None,
    *,
    dtype: str,
    lmbda: bool,
    max_examples: int,
    seed: int,
    reproduce: Callable[[Case], str] | None,
) -> MethodResult:
    strategy = strategies.cases(
        method, cost=cost or "QuadraticCost", dtype=_dtype(dtype), lmbda=lmbda
    )
    search = _Search(impl, dtype)
    options = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    try:
        find(strategy, search, settings=options, random=random.Random(seed))
    except NoSuchExample:
        pass
    except Flaky:
        pass  # answers that change from call to call, or a stopped search: report the last
    if search.hung is not None:
        return MethodResult(method, cost, "failed", search.calls, search.hung_case,
                            str(search.hung), shrunk=False, fault=True)  # fmt: skip
    if search.last is None:
        return MethodResult(method, cost, "passed", search.calls)
    # Shrinking only ever accepts a smaller failing case, so the last one is the smallest.
    case, verdict = search.last
    if verdict.answers is not None:  # the mistakes' models run once, on the smallest case
        verdict.hints += tuple(hints_for(case, *verdict.answers, dtype))
    mismatch = verdict.mismatch
    return MethodResult(
        method,
        cost,
        "failed",
        search.calls,
        case,
        verdict.problem,
        differing=mismatch.differing if mismatch else [],
        agreeing=mismatch.agreeing if mismatch else [],
        hints=list(dict.fromkeys(verdict.hints)),
        reproduction=reproduce(case) if reproduce else None,
        fault=verdict.kind in ("exception", "crash"),
    )


def _dtype(name: str) -> strategies.DtypeName:
    if name == "float32":
        return "float32"
    if name == "float64":
        return "float64"
    raise ValueError(f"dtype: must be 'float64' or 'float32', got {name!r}")


def _run(
    impl: Implementation,
    plan: Sequence[tuple[Method, CostName | None]],
    *,
    subject: str,
    dtype: str,
    lmbda: bool,
    max_examples: int,
    seed: int,
    reproduce: Callable[[Case], str] | None,
    on_result: Callable[[MethodResult], Any] | None,
    missing: Sequence[str] = (),
) -> CheckReport:
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype: must be 'float64' or 'float32', got {dtype!r}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples: must be a positive integer, got {max_examples!r}")
    report = CheckReport(subject, dtype, [], max_examples)
    for method in missing:
        result = MethodResult(method, None, "failed", problem=f"the class has no method {method}")
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    for method, cost in plan:
        if getattr(impl, "hung", False):
            result = MethodResult(method, cost, "not checked", problem="the program hung before")
        else:
            result = _check_one(impl, method, cost, dtype=dtype, lmbda=lmbda and method ==
                                "update_mini_batch", max_examples=max_examples, seed=seed,
                                reproduce=reproduce)  # fmt: skip
        if result.status == "failed" and result.shrunk and method == "update_mini_batch":
            backprop = [r for r in report.results if r.method == "backprop" and r.cost == cost]
            if backprop and backprop[0].status == "failed":
                result.hints.append("backprop disagrees too, and the update uses it: fix it first")
        report.results.append(result)
        if on_result is not None:
            on_result(result)
        close = getattr(impl, "close", None)
        if close is not None:
            close()  # each method starts with a fresh program
    return report


def _plan(methods: Sequence[str], costs: Sequence[str]) -> list[tuple[Method, CostName | None]]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown[0]!r}; expected some of {', '.join(METHODS)}")
    plan: list[tuple[Method, CostName | None]] = []
    for method in METHODS:
        if method not in methods:
            continue
        if method in COST_METHODS and costs:
            plan += [(method, c) for c in COSTS if c in costs]
        else:
            plan.append((method, None))
    return plan


def check_network(
    factory: Callable[..., Any],
    *,
    methods: Sequence[str] | None = None,
    costs: Mapping[str, Any] | str = "auto",
    dtype: str = "float64",
    max_examples: int = 100,
    seed: int = 0,
    on_result: Callable[[MethodResult], Any] | None = None,
    subject: str | None = None,
    timeout: float | None = 10.0,
) -> CheckReport:
    """Checks a network.py-style class (or ``factory(sizes)``) against digitnet, method by
    method, on Hypothesis-generated cases, and returns the report.

    Each case builds ``factory(sizes)``, sets its ``weights`` and ``biases`` as network.py keeps
    them and calls a method: ``feedforward``, ``backprop``, ``update_mini_batch`` (network2.py's
    ``lmbda`` and ``n`` too when it takes them), and ``cost_derivative`` and ``evaluate`` when
    the class has them; ``methods`` picks some. With network2.py's ``cost=`` argument, backprop
    and the update are checked for each cost in ``costs`` (by default the ``QuadraticCost`` and
    ``CrossEntropyCost`` classes found beside the class). ``dtype`` is the float type the class
    computes in (it receives arrays of that type; tolerances follow, see
    :mod:`digitnet.testing.bounds`). The same ``seed`` tries the same cases. ``on_result`` is
    called with each method's result as it is known; ``subject`` names the class in the report.
    A call that takes longer than ``timeout`` seconds is interrupted (where a timer signal can:
    POSIX, main thread) and the method reported as hanging.
    """
    impl = PythonImplementation(factory, costs, dtype, timeout)
    chosen = impl.methods if methods is None else [m for m in methods if m in impl.methods]
    missing = [m for m in (methods or impl.missing) if m not in impl.methods]
    class_name = getattr(factory, "__name__", "Network")

    def reproduce(case: Case) -> str:
        return python_reproduction(case, class_name, impl.lmbda, bool(impl.costs))

    return _run(
        impl,
        _plan(chosen, list(impl.costs)),
        subject=subject or f"{getattr(factory, '__module__', '?')}.{impl.name}",
        dtype=dtype,
        lmbda=impl.lmbda,
        max_examples=max_examples,
        seed=seed,
        reproduce=reproduce,
        on_result=on_result,
        missing=missing,
    )


def check_program(
    command: str,
    *,
    methods: Sequence[str] = PROGRAM_METHODS,
    costs: Sequence[str] = ("QuadraticCost",),
    lmbda: bool = False,
    dtype: str = "float64",
    timeout: float = 10.0,
    startup_timeout: float = 30.0,
    max_examples: int = 100,
    seed: int = 0,
    on_result: Callable[[MethodResult], Any] | None = None,
) -> CheckReport:
    """Checks a program in any language that speaks the JSON-lines protocol
    (``docs/check-protocol.md``) against digitnet, as :func:`check_network` checks a class.

    ``command`` runs in the shell; ``costs`` and ``lmbda`` say which of network2.py's features
    the program implements; ``timeout`` bounds each answer (``startup_timeout`` the first), and
    a program that hangs, crashes or prints garbage is reported as such and stopped.
    """
    unknown = [c for c in costs if c not in COSTS]
    if unknown:
        raise ValueError(f"costs: unknown {unknown[0]!r}; expected some of {', '.join(COSTS)}")
    with ProgramImplementation(command, timeout, startup_timeout) as impl:
        return _run(
            impl,
            _plan(list(methods), list(costs) if set(costs) != {"QuadraticCost"} else []),
            subject=f"the program {command!r}",
            dtype=dtype,
            lmbda=lmbda,
            max_examples=max_examples,
            seed=seed,
            reproduce=lambda case: f"echo '{case.to_json_line()}' | {command}",
            on_result=on_result,
        )
