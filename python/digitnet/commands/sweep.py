"""``digitnet sweep SPEC.toml --out DIR``: many ``digitnet train`` runs from one spec, on every
core here or on a Dask cluster (``--scheduler``); rerunning it skips the finished trials."""

from __future__ import annotations

import argparse
from pathlib import Path

from digitnet import sweep
from digitnet.sweep.results import RESULTS_CSV, SUMMARY_CSV

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``sweep`` subcommand to ``subparsers`` (what ``add_subparsers()`` returned)."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a hyperparameter sweep from a TOML spec, here or on a Dask cluster",
        description="Train every trial of SPEC ([base]: digitnet train's options for all "
        "trials; [grid]: lists of values to cross, seeds among them; [random]: options "
        f"sampled from ranges) and write DIR/{RESULTS_CSV} (a row per trial as it finishes), "
        f"DIR/{SUMMARY_CSV} and DIR/sweep.png. Running it again skips the trials already in "
        f"DIR/{RESULTS_CSV}. --scheduler needs pip install digitnet[sweep].",
    )
    parser.add_argument("spec", type=Path, metavar="SPEC.toml", help="the sweep spec")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory for the results"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the trials on the Dask cluster of this scheduler (like tcp://host:8786)",
    )
    where.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help=f"local worker processes (default: one per CPU, here {sweep.default_workers()})",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    sweep.run(args.spec, args.out, client=args.scheduler, workers=args.workers)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value
