"""What one ``SGD`` call costs besides its epochs: ``python benchmarks/call_overhead.py
[--data-dir DIR] [--rounds N] [--samples N]``.

``bench.py`` times digitnet by one-epoch ``SGD`` calls, as a user who calls ``SGD`` once per
epoch would see it. Every call checks all of ``x`` (every value finite, and the largest
``|x|``, which the overflow proofs of the SGD step need). A call with no epochs, or one whose
network is large beside its data or that augments it, makes that check in a pass of its own
before training: for 50,000 MNIST images, 314 MB of float64 read from memory. Otherwise the
first epoch checks each mini-batch as it gathers it, where the rows are in cache. This script
separates the check from the training, on the book's network (``[784, 30, 10]``, mini-batch
10, float64) at 1 and 2 threads, the two taking turns:

- ``SGD(..., epochs=0)``: the call without training: the pass of its own;
- a one-epoch call, as ``bench.py`` times it (the check in its gathers);
- the later epochs of a three-epoch call, which check nothing.

Medians of ``--rounds`` rounds (default 5) on the first ``--samples`` images (default
50,000). As in ``bench.py``, the machine's forced OpenBLAS kernel choice is removed before
NumPy is imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_name, None)

import numpy.typing as npt  # noqa: E402  (after the environment is fixed)

import digitnet  # noqa: E402
from digitnet.datasets import mnist  # noqa: E402

SIZES = [784, 30, 10]
BATCH = 10
ETA = 3.0


def measure(
    net: digitnet.Network, data: tuple[npt.NDArray[Any], npt.NDArray[Any]]
) -> tuple[float, ...]:
    """(seconds of a 0-epoch call, of a 1-epoch call's epoch, of epochs 2-3 of a 3-epoch call)."""
    started = time.perf_counter()
    net.SGD(data, 0, BATCH, ETA, verbose=False, progress=False)
    empty = time.perf_counter() - started
    one = net.SGD(data, 1, BATCH, ETA, verbose=False, progress=False).seconds[0]
    later = net.SGD(data, 3, BATCH, ETA, verbose=False, progress=False).seconds[1:]
    return (empty, one, statistics.median(later))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="directory of MNIST's files")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=50_000, help="training images used")
    args = parser.parse_args(argv)
    train = mnist.load_arrays(args.data_dir).train
    data = (train.x[: args.samples], train.y[: args.samples])
    counts = (1, 2)
    nets = {t: digitnet.Network(SIZES, seed=3) for t in counts}
    figures: dict[int, list[tuple[float, ...]]] = {t: [] for t in counts}
    for round_ in range(args.rounds + 1):
        for t in counts:
            digitnet.set_num_threads(t)
            result = measure(nets[t], data)
            if round_ > 0:  # the first round warms the trainers and caches up
                figures[t].append(result)
    print(
        f"[784, 30, 10], mini-batch {BATCH}, float64, {len(data[1]):,} images "
        f"({data[0].nbytes / 1e6:.0f} MB of x); medians of {args.rounds} rounds"
    )
    print("threads  0-epoch call  1-epoch call  epoch inside a 3-epoch call  1-epoch call's extra")
    for t in counts:
        empty, one, later = (statistics.median(f[i] for f in figures[t]) for i in range(3))
        print(
            f"{t:>7}  {empty * 1e3:9.1f} ms  {one:10.3f} s  {later:25.3f} s  "
            f"{(one - later) / one:19.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
