"""What a check found, for people: a :class:`CheckReport` of one :class:`MethodResult` per method,
as plain text (``str``) and as HTML for Jupyter (``_repr_html_``)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from digitnet.testing.cases import Case, FloatArray

__all__ = ["AGREE", "CheckReport", "MethodResult", "case_lines", "python_reproduction"]

Status = Literal["passed", "failed", "not checked"]
#: The report's last line when everything agreed.
AGREE = "All methods agree with digitnet."


def _values(array: FloatArray) -> str:
    """An array as nested lists of shortest round-trip floats (exact, so it can be pasted)."""
    return repr(np.asarray(array, dtype=np.float64).tolist())


def _columns(rows: FloatArray) -> str:
    return ", ".join(f"np.array({_values(row.reshape(-1, 1))})" for row in rows)


def case_lines(case: Case) -> list[tuple[str, str]]:
    """The fields of ``case`` that its method reads, as (name, value) pairs in network.py's
    terms."""
    lines = [("sizes", repr(list(case.sizes)))]
    if case.method in ("backprop", "update_mini_batch") and case.cost != "QuadraticCost":
        lines.append(("cost", case.cost))
    if case.method != "cost_derivative":
        lines.append(("weights", "[" + ", ".join(_values(w) for w in case.weights) + "]"))
        lines.append(
            ("biases", "[" + ", ".join(_values(b.reshape(-1, 1)) for b in case.biases) + "]")
        )
    if case.method == "feedforward":
        lines += [(f"a[{i}]" if len(case.x) > 1 else "a", _values(x.reshape(-1, 1)))
                  for i, x in enumerate(case.x)]  # fmt: skip
    elif case.method == "cost_derivative":
        lines += [("output_activations", _values(case.x[0].reshape(-1, 1))),
                  ("y", _values(case.y[0].reshape(-1, 1)))]  # fmt: skip
    elif case.method == "evaluate":
        lines += [(f"x[{i}]", _values(x.reshape(-1, 1))) for i, x in enumerate(case.x)]
        lines.append(("labels", repr(case.labels)))
    else:
        for i, (x, y) in enumerate(zip(case.x, case.y, strict=True)):
            suffix = f"[{i}]" if case.method == "update_mini_batch" else ""
            lines += [
                (f"x{suffix}", _values(x.reshape(-1, 1))),
                (f"y{suffix}", _values(y.reshape(-1, 1))),
            ]
    if case.method == "update_mini_batch":
        lines.append(("eta", repr(case.eta)))
        if case.lmbda or case.n != len(case.x):
            lines += [("lmbda", repr(case.lmbda)), ("n", repr(case.n))]
    return lines


def python_reproduction(case: Case, class_name: str, lmbda: bool, costs: bool) -> str:
    """Python lines that replay ``case`` on the user's class (with ``numpy`` as ``np``)."""
    cost = f", cost={case.cost}" if costs else ""
    weights = ", ".join(f"np.array({_values(w)})" for w in case.weights)
    biases = ", ".join(f"np.array({_values(b.reshape(-1, 1))})" for b in case.biases)
    lines = [
        f"net = {class_name}({list(case.sizes)}{cost})",
        f"net.weights = [{weights}]",
        f"net.biases = [{biases}]",
    ]
    if case.method == "feedforward":
        lines.append(f"net.feedforward({_columns(case.x[:1])})")
    elif case.method == "backprop":
        lines.append(f"net.backprop({_columns(case.x[:1])}, {_columns(case.y[:1])})")
    elif case.method == "cost_derivative":
        lines.append(f"net.cost_derivative({_columns(case.x[:1])}, {_columns(case.y[:1])})")
    elif case.method == "evaluate":
        pairs = ", ".join(
            f"({_columns(x[None])}, {label})" for x, label in zip(case.x, case.labels, strict=True)
        )
        lines.append(f"net.evaluate([{pairs}])")
    else:
        pairs = ", ".join(
            f"({_columns(x[None])}, {_columns(y[None])})"
            for x, y in zip(case.x, case.y, strict=True)
        )
        extra = f", {case.lmbda!r}, {case.n}" if lmbda else ""
        lines += [
            f"net.update_mini_batch([{pairs}], {case.eta!r}{extra})",
            "net.weights, net.biases",
        ]
    return "\n".join(lines)


@dataclass
class MethodResult:
    """How one method fared: ``passed`` on every case tried, ``failed`` with the smallest case
    found (``case``, ``problem``, ``hints``), or ``not checked`` (``problem`` says why)."""

    method: str
    cost: str | None
    status: Status
    examples: int = 0
    case: Case | None = None
    problem: str | None = None
    differing: list[str] = field(default_factory=list)
    agreeing: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    reproduction: str | None = None
    #: Whether ``case`` is the smallest found (a program that hung is not run again to shrink).
    shrunk: bool = True
    #: Whether the implementation failed (raised, crashed, hung) rather than answered wrongly.
    fault: bool = False

    @property
    def label(self) -> str:
        """The method's name, with its cost when there is one."""
        return f"{self.method} ({self.cost})" if self.cost else self.method

    def summary(self, width: int = 36) -> str:
        """One line: the method (padded to ``width``) and its outcome."""
        if self.status == "passed":
            return f"{self.label:<{width}} agrees ({self.examples} cases)"
        if self.status == "not checked":
            return f"{self.label:<{width}} not checked: {self.problem}"
        return f"{self.label:<{width}} {'FAILED' if self.fault else 'DISAGREES'}"

    def details(self) -> str:
        """The failure, its case and hints, as indented lines (empty unless failed)."""
        if self.status != "failed":
            return ""
        what = "failed" if self.fault else "disagrees with digitnet"
        which = "the smallest case found" if self.shrunk else "on this case"
        lines = [f"{self.label} {what}, {which}:"]
        if self.case is not None:
            lines += [f"  {name:<9} {value}" for name, value in case_lines(self.case)]
        lines.append(f"  problem   {self.problem}")
        if self.differing and self.agreeing:
            lines.append(
                f"  differ    {', '.join(self.differing)} (agree: {', '.join(self.agreeing)})"
            )
        lines += [f"  hint      {hint}" for hint in self.hints]
        if self.reproduction:
            lines.append("  reproduce")
            lines += [f"    {line}" for line in self.reproduction.splitlines()]
        return "\n".join(lines)


@dataclass
class CheckReport:
    """The outcome of checking an implementation against digitnet, method by method.

    ``passed`` (and ``bool(report)``) is true when every method agreed; ``str(report)`` is the
    report ``digitnet check`` prints, and Jupyter shows it as a table.
    """

    subject: str
    dtype: str
    results: list[MethodResult]
    max_examples: int

    @property
    def passed(self) -> bool:
        """Whether every method checked agreed with digitnet (and at least one was checked)."""
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failures(self) -> list[MethodResult]:
        """The results that did not pass."""
        return [r for r in self.results if r.status != "passed"]

    def verdict(self) -> str:
        """The last line: whether everything agreed."""
        if self.passed:
            return AGREE
        failed = len(self.failures)
        return f"{failed} of {len(self.results)} checks disagree with digitnet (or could not run)."

    def heading(self) -> str:
        """The first line: what was checked, how."""
        return (
            f"Checking {self.subject} against digitnet ({self.dtype}, up to "
            f"{self.max_examples} cases per method):"
        )

    def __str__(self) -> str:
        width = max((len(r.label) for r in self.results), default=0) + 2
        parts = [self.heading(), *(f"  {r.summary(width)}" for r in self.results)]
        for result in self.results:
            if result.status == "failed":
                parts += ["", result.details()]
        parts += ["", self.verdict()]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"<CheckReport of {self.subject}: {self.verdict()}>"

    def assert_passed(self) -> None:
        """Raises ``AssertionError`` with the whole report unless everything agreed (for users'
        own test suites)."""
        if not self.passed:
            raise AssertionError(str(self))

    def _repr_html_(self) -> str:
        e = html.escape
        colour = {"passed": "#1a7f37", "failed": "#cf222e", "not checked": "#9a6700"}
        rows = "".join(
            f"<tr><td><code>{e(r.label)}</code></td>"
            f'<td style="color:{colour[r.status]};font-weight:bold">'
            f"{e('agrees' if r.status == 'passed' else r.status)}</td>"
            f"<td>{e(str(r.examples) + ' cases' if r.status == 'passed' else r.problem or '')}"
            "</td></tr>"
            for r in self.results
        )
        details = "".join(
            f"<pre>{e(r.details())}</pre>" for r in self.results if r.status == "failed"
        )
        verdict_colour = colour["passed" if self.passed else "failed"]
        return (
            '<div class="digitnet-check">'
            f"<p>{e(self.heading())}</p>"
            '<table style="border-collapse:collapse"><thead><tr><th>method</th><th>result</th>'
            f"<th></th></tr></thead><tbody>{rows}</tbody></table>{details}"
            f'<p style="color:{verdict_colour};font-weight:bold">{e(self.verdict())}</p></div>'
        )
