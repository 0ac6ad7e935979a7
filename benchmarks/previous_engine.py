"""The previous engine against this one, on this machine: ``python benchmarks/previous_engine.py
--previous-python PY [--data-dir DIR] [--write PATH]``.

``bench.py``'s regression targets compare digitnet with the previous engine (0.1.0 at commit
b86de46: the ``gemm`` crate's kernels, one training thread). Figures measured on another
machine say nothing about this one, so this script measures both here, side by side: ``PY`` is
a Python whose ``digitnet`` is that engine (build it from ``git worktree add OLD b86de46`` with
``pip install OLD`` into a virtual environment of its own), this interpreter's ``digitnet`` is
the current one. For each of bench.py's configurations and dtypes, each engine trains in a child
process of its own, taking turns: the previous engine on one training thread (it had no other),
the current one on one thread and at its default threads. The script prints the median seconds
per 50,000-sample epoch of each and the current engine's ratios to the previous one's
(``bench.py --previous-python PY`` uses the same measurement for its regression targets).
``--write PATH`` saves the previous engine's figures in ``baseline-*.json``'s format, naming
this machine's CPU, for ``bench.py`` runs without ``--previous-python``.

The children read MNIST themselves (NumPy only), so both engines train on identical arrays
whatever their loaders did.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

#: (key, sizes, mini-batch, timed epochs, samples per epoch timed): bench.py's configurations,
#: the large network on a 10,000-sample slice scaled to 50,000 as bench.py does.
CONFIGS: tuple[tuple[str, list[int], int, int, int], ...] = (
    ("book-b10", [784, 30, 10], 10, 5, 50_000),
    ("784-100-10-b10", [784, 100, 10], 10, 3, 50_000),
    ("784-800-10-b100", [784, 800, 10], 100, 3, 10_000),
    ("book-b1", [784, 30, 10], 1, 3, 50_000),
    ("book-b100", [784, 30, 10], 100, 5, 50_000),
)
SAMPLES = 50_000
ETA = 3.0
SEED = 1
ROUNDS = 3


def read_idx(path: Path) -> Any:
    import numpy as np

    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def child(data_dir: Path, key: str, dtype: str) -> None:
    """Trains one configuration and prints its per-epoch seconds (scaled to SAMPLES) as JSON."""
    import numpy as np

    import digitnet

    sizes, batch, epochs, samples = next((c[1], c[2], c[3], c[4]) for c in CONFIGS if c[0] == key)
    images = read_idx(data_dir / "train-images-idx3-ubyte.gz")[:samples]
    x = (images.reshape(samples, -1) / np.float64(255.0)).astype(dtype)
    y = read_idx(data_dir / "train-labels-idx1-ubyte.gz")[:samples].astype(np.int64)
    net = digitnet.Network(sizes, seed=SEED, dtype=dtype)
    history = net.SGD((x, y), epochs + 1, batch, ETA, verbose=False, progress=False)
    seconds = [s * SAMPLES / samples for s in history.seconds[1:]]
    print(json.dumps({"version": digitnet.__version__, "seconds": seconds}))


#: Who takes turns: (name, whose digitnet -- the previous engine's Python or this one --,
#: training threads: 1, or None for the engine's default).
PARTICIPANTS: tuple[tuple[str, str, int | None], ...] = (
    ("previous", "previous", 1),
    ("current", "current", 1),
    ("current-default", "current", None),
)


def run_child(
    python: str, data_dir: Path, key: str, dtype: str, threads: int | None = 1
) -> dict[str, Any]:
    """One child's training of ``key`` in ``dtype`` on ``threads`` threads (None: default)."""
    env = {k: v for k, v in os.environ.items() if k != "DIGITNET_NUM_THREADS"}
    if threads is not None:
        env["DIGITNET_NUM_THREADS"] = str(threads)
    out = subprocess.run(
        [python, __file__, "--child", key, dtype, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def side_by_side(
    previous_python: str, data_dir: Path, rounds: int = ROUNDS, echo: bool = True
) -> dict[str, dict[str, dict[str, float]]]:
    """``figures[participant][key][dtype]``: median seconds per 50,000-sample epoch of every
    configuration, the participants taking turns ``rounds`` times; printed as they come when
    ``echo``."""
    pythons = {"previous": previous_python, "current": sys.executable}
    figures: dict[str, dict[str, dict[str, float]]] = {name: {} for name, _, _ in PARTICIPANTS}
    versions: dict[str, str] = {}
    if echo:
        print(
            f"{'configuration':18} {'dtype':8} {'previous':>9} {'current':>9} {'÷ prev':>7} "
            f"{'default':>9} {'÷ prev':>7}   (s/epoch; previous and current on 1 thread)"
        )
    for key, *_ in CONFIGS:
        for dtype in ("float64", "float32"):
            runs: dict[str, list[float]] = {name: [] for name, _, _ in PARTICIPANTS}
            for _ in range(rounds):
                for name, engine, threads in PARTICIPANTS:
                    result = run_child(pythons[engine], data_dir, key, dtype, threads)
                    versions[engine] = result["version"]
                    runs[name].extend(result["seconds"])
            for name, seconds in runs.items():
                figures[name].setdefault(key, {})[dtype] = round(statistics.median(seconds), 4)
            if echo:
                before = figures["previous"][key][dtype]
                one = figures["current"][key][dtype]
                default = figures["current-default"][key][dtype]
                print(
                    f"{key:18} {dtype:8} {before:>9.3f} {one:>9.3f} {one / before:>7.2f} "
                    f"{default:>9.3f} {default / before:>7.2f}",
                    flush=True,
                )
    if echo:
        print("÷ prev: the current engine's seconds over the previous one's (below 1: faster now)")
        print(f"medians over {rounds} alternating child processes each; versions: {versions}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous-python", help="a Python whose digitnet is the old engine")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("DIGITNET_DATA"))
    parser.add_argument("--write", type=Path, help="save the previous engine's figures here")
    parser.add_argument("--child", nargs=2, metavar=("KEY", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_dir is None:
        parser.error("--data-dir or $DIGITNET_DATA is needed")
    if args.child:
        child(args.data_dir, *args.child)
        return 0
    if not args.previous_python:
        parser.error("--previous-python is needed")
    print(f"machine: {cpu_model()}, load average at start: {os.getloadavg()}")
    figures = side_by_side(args.previous_python, args.data_dir)
    if args.write:
        document = {
            "what": (
                "The previous engine's training speed (digitnet 0.1.0 at commit b86de46: the "
                "gemm crate's kernels, one training thread), measured on this machine by "
                "benchmarks/previous_engine.py side by side with the current engine. Seconds "
                "per epoch of 50,000 MNIST training images, medians."
            ),
            "engine_commit": "b86de46",
            "cpu": cpu_model(),
            "threads": 1,
            "training_seconds_per_epoch": figures["previous"],
            "current_engine_same_run": figures["current"],
        }
        args.write.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
