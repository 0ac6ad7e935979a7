"""The README's results table: ``python benchmarks/results.py [--rows NAME ...] [--seeds N ...]``.

Runs each row's ``digitnet train`` command for every seed, in a subprocess as a user would, and
prints the test accuracies, their median and the median wall time of the whole command (data
loading included) as Markdown rows. Results are the same bits on every machine and thread
count (see tests/test_determinism.py); the wall times are this machine's.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    title: str
    args: tuple[str, ...]


ROWS = (
    Row("chapter1", "the book's chapter 1", ()),
    Row(
        "chapter3",
        "the book's chapter 3 ([784, 100, 10], cross-entropy, λ 5, η 0.5, batch 10), 30 epochs",
        (
            "--sizes",
            "784,100,10",
            "--cost",
            "CrossEntropyCost",
            "--init",
            "scaled",
            "--lmbda",
            "5",
            "--eta",
            "0.5",
        ),
    ),
    Row(
        "network2-ch3",
        "the same with the book's halve-on-plateau schedule, best validation epoch kept",
        ("--recipe", "network2-ch3"),
    ),
    Row(
        "best-mlp",
        "an MLP: [784, 800, 10] float32, ReLU, softmax, Nesterov, dropout 0.3, "
        "±2 px / ±10° augmentation",
        ("--recipe", "best-mlp"),
    ),
)

#: ``digitnet train``'s closing line, and a recipe's.
FINAL = re.compile(r"final: (\d+\.\d+)%|test accuracy \d+ / \d+ \((\d+\.\d+)%\)")


def run(row: Row, seed: int) -> tuple[float, float]:
    """Test accuracy (%) and wall seconds of one run."""
    command = [sys.executable, "-m", "digitnet", "train", *row.args, "--seed", str(seed)]
    command.append("--no-progress")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    found = FINAL.findall(done.stdout)
    if not found:
        raise RuntimeError(f"no accuracy in the output of {' '.join(command)}:\n{done.stdout}")
    accuracy = next(v for v in found[-1] if v)
    return float(accuracy), seconds


def markdown(row: Row, accuracies: list[float], seconds: list[float]) -> str:
    command = " ".join(("digitnet", "train", *row.args))
    values = ", ".join(f"{a:.2f}" for a in accuracies)
    return (
        f"| {row.title} | `{command}` | {values}% | {statistics.median(accuracies):.2f}% "
        f"| {statistics.median(seconds):.1f} s |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", choices=[r.name for r in ROWS])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    args = parser.parse_args(argv)
    rows = [r for r in ROWS if args.rows is None or r.name in args.rows]
    seeds = ", ".join(map(str, args.seeds))
    print(f"| run | command | seeds {seeds} | median | wall time |")
    print("|---|---|---|---|---|")
    for row in rows:
        results = [run(row, seed) for seed in args.seeds]
        print(markdown(row, [a for a, _ in results], [s for _, s in results]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
