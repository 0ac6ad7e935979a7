"""``digitnet check MODULE.py`` and ``digitnet check --exec COMMAND``: your own network against
digitnet, method by method; exit status 0 when everything agrees, 1 when something does not, 2
when the implementation cannot be loaded or run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from digitnet.errors import CheckError

__all__ = ["EXIT_AGREE", "EXIT_CANNOT_CHECK", "EXIT_DISAGREE", "add_parser", "run"]

#: Exit statuses: everything agreed, something disagreed, nothing could be checked.
EXIT_AGREE, EXIT_DISAGREE, EXIT_CANNOT_CHECK = 0, 1, 2
_METHODS = ["feedforward", "backprop", "update_mini_batch", "cost_derivative", "evaluate"]
_COSTS = ["QuadraticCost", "CrossEntropyCost"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``check`` subcommand to the ``digitnet`` command's ``subparsers``."""
    parser = subparsers.add_parser(
        "check",
        help="check your own network.py (or a program in any language) against digitnet",
        description="Compare each method of your network.py-style class (feedforward, "
        "backprop, update_mini_batch, and cost_derivative and evaluate when present; "
        "network2.py's cost= and lmbda too) with digitnet on generated cases, and show the "
        "smallest case where they disagree. With --exec, check a program that answers the "
        "cases sent as JSON lines (see docs/check-protocol.md). Exit status: 0 all agree, "
        "1 some disagree, 2 cannot load or run it. Needs Hypothesis (pip install "
        "'digitnet[check]').",
    )
    parser.add_argument("module", type=Path, nargs="?", metavar="MODULE.py",
                        help="the Python file defining the network class")  # fmt: skip
    parser.add_argument("--exec", dest="command", metavar="COMMAND",
                        help="check this program (run by the shell) instead")  # fmt: skip
    parser.add_argument("--class", dest="class_name", default="Network", metavar="NAME",
                        help="the network class in MODULE.py (default: Network)")  # fmt: skip
    parser.add_argument(
        "--methods",
        type=_choices(_METHODS),
        default=None,
        help="comma-separated methods to check (default: all the class has; with --exec: "
        "feedforward,backprop,update_mini_batch)",
    )
    parser.add_argument(
        "--cost",
        type=_choices(_COSTS),
        default=None,
        help="with --exec: comma-separated costs the program implements (default: "
        "QuadraticCost); a class's are found beside it",
    )
    parser.add_argument(
        "--lmbda", action="store_true", help="with --exec: also check network2.py's L2 term"
    )
    parser.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="the float type your code computes in (sets the tolerances)",
    )
    parser.add_argument("--examples", type=_positive, default=100, metavar="N",
                        help="cases tried per method (default: 100)")  # fmt: skip
    parser.add_argument("--seed", type=_non_negative, default=0, help="which cases (default: 0)")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="the limit for each call of a method, or each answer of a program (default: 10; "
        "a program's first answer gets --startup-timeout)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="with --exec: the limit for the first answer (default: 30)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    """Runs the check and prints its report; returns the exit status."""
    parser: argparse.ArgumentParser = args.parser
    if (args.module is None) == (args.command is None):
        parser.error("give either MODULE.py or --exec COMMAND")
    if args.module is not None and (args.cost is not None or args.lmbda):
        parser.error("--cost and --lmbda apply to --exec (a class's costs are found beside it)")
    try:
        from digitnet import testing
    except ImportError as error:
        print(f"digitnet check: error: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK

    def show(result: Any) -> None:
        print(f"  {result.summary()}", flush=True)

    options: dict[str, Any] = {
        "dtype": args.dtype,
        "max_examples": args.examples,
        "seed": args.seed,
        "on_result": show,
    }
    try:
        if args.command is not None:
            print(f"Checking the program {args.command!r} against digitnet ({args.dtype}):",
                  flush=True)  # fmt: skip
            report = testing.check_program(
                args.command,
                methods=args.methods or ["feedforward", "backprop", "update_mini_batch"],
                costs=args.cost or ["QuadraticCost"],
                lmbda=args.lmbda,
                timeout=args.timeout,
                startup_timeout=args.startup_timeout,
                **options,
            )
        else:
            factory = testing.load_class(args.module, args.class_name)
            subject = f"{args.module} (class {args.class_name})"
            print(f"Checking {subject} against digitnet ({args.dtype}):", flush=True)
            report = testing.check_network(
                factory, methods=args.methods, subject=subject, timeout=args.timeout, **options
            )
    except CheckError as error:
        print(f"digitnet check: error: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    details = [r.details() for r in report.results if r.status == "failed"]
    for text in details:
        print(f"\n{text}")
    print(f"\n{report.verdict()}")
    return EXIT_AGREE if report.passed else EXIT_DISAGREE


def _choices(allowed: list[str]) -> Any:
    def parse(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [c for c in chosen if c not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(allowed)}; got {text!r}"
            )
        return chosen

    return parse


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000000, got {text}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value
