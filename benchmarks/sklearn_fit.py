"""scikit-learn's MLPClassifier against ``digitnet.sklearn.MLPClassifier`` on MNIST.

``python benchmarks/sklearn_fit.py [--quick] [--data-dir DIR]`` (``bench.py`` runs it too): the
whole ``fit`` of each, with the same parameters and ``random_state``, at their default threads
(scikit-learn: NumPy's BLAS threads; digitnet: its own), in float64 on the 60,000 training
images, the runs of the two taking turns. Three settings:

1. scikit-learn's defaults: ``(100,)``, relu, adam, batch 200;
2. the book's: ``(30,)``, logistic, sgd, batch 10, learning rate 3.0, no momentum, no L2;
3. ``solver="lbfgs"`` at scikit-learn's defaults otherwise.

Each runs a fixed number of epochs (or L-BFGS iterations: ``n_iter_no_change`` is raised so
that neither stops early; scikit-learn's ConvergenceWarning is expected and silenced) and
reports the median seconds per epoch, the test accuracy and the speed-up, with issue 14's
targets as PASS/FAIL. As in ``bench.py``, the machine's forced OpenBLAS kernel choice is
removed before NumPy is imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402  (after the environment is fixed)

#: (name, parameters shared by both, epochs or iterations in a full / quick run, target)
SETTINGS: tuple[tuple[str, dict[str, Any], int, int, float], ...] = (
    ("defaults: (100,) relu adam batch 200", {}, 5, 2, 2.5),
    (
        "book: (30,) logistic sgd batch 10 lr 3",
        {
            "hidden_layer_sizes": (30,),
            "activation": "logistic",
            "solver": "sgd",
            "batch_size": 10,
            "learning_rate_init": 3.0,
            "momentum": 0.0,
            "alpha": 0.0,
        },
        3,
        1,
        10.0,
    ),
    ("lbfgs: (100,) relu", {"solver": "lbfgs"}, 40, 10, 1.0),
)


@dataclass(frozen=True)
class Fit:
    """One fit's wall time, the epochs (iterations) it ran and its test accuracy."""

    seconds: float
    epochs: int
    accuracy: float

    @property
    def per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)


def timed_fit(
    make: Callable[..., Any],
    params: dict[str, Any],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> Fit:
    """Fits a fresh estimator and times the whole ``fit``."""
    x, y, x_test, y_test = data
    estimator = make(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a capped run
        start = time.perf_counter()
        estimator.fit(x, y)
        seconds = time.perf_counter() - start
    accuracy = float(np.mean(estimator.predict(x_test) == y_test))
    return Fit(seconds, int(estimator.n_iter_), accuracy)


def compare(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], quick: bool, repeats: int
) -> list[dict[str, Any]]:
    """Every setting, both estimators taking turns ``repeats`` times; one row per setting."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    from digitnet.sklearn import MLPClassifier as DnMLP

    rows = []
    for name, shared, full, short, target in SETTINGS:
        epochs = short if quick else full
        params = {
            **shared,
            "max_iter": epochs,
            "n_iter_no_change": epochs + 1,
            "random_state": 0,
        }
        fits: dict[str, list[Fit]] = {"scikit-learn": [], "digitnet": []}
        for _ in range(repeats):
            fits["scikit-learn"].append(timed_fit(SkMLP, params, data))
            fits["digitnet"].append(timed_fit(DnMLP, params, data))
        per_epoch = {k: statistics.median(f.per_epoch for f in v) for k, v in fits.items()}
        print(
            f"  ({name}: scikit-learn {per_epoch['scikit-learn']:.3f} s/epoch, digitnet "
            f"{per_epoch['digitnet']:.3f})",
            file=sys.stderr,
            flush=True,
        )
        rows.append(
            {
                "setting": name,
                "epochs": epochs,
                "sklearn_s_per_epoch": per_epoch["scikit-learn"],
                "digitnet_s_per_epoch": per_epoch["digitnet"],
                "sklearn_fit_s": statistics.median(f.seconds for f in fits["scikit-learn"]),
                "digitnet_fit_s": statistics.median(f.seconds for f in fits["digitnet"]),
                "sklearn_accuracy": fits["scikit-learn"][-1].accuracy,
                "digitnet_accuracy": fits["digitnet"][-1].accuracy,
                "speedup": per_epoch["scikit-learn"] / per_epoch["digitnet"],
                "target": target,
            }
        )
    return rows


def print_rows(rows: Sequence[dict[str, Any]], repeats: int) -> None:
    print(
        f"\nscikit-learn MLPClassifier vs digitnet.sklearn.MLPClassifier (whole fit, float64, "
        f"default threads, 60,000 images; median of {repeats})"
    )
    print(
        f"  {'setting':40} {'epochs':>6} {'sklearn s/ep':>12} {'digitnet s/ep':>13} "
        f"{'speed-up':>8} {'acc sk':>7} {'acc dn':>7}"
    )
    for r in rows:
        print(
            f"  {r['setting']:40} {r['epochs']:>6} {r['sklearn_s_per_epoch']:>12.3f} "
            f"{r['digitnet_s_per_epoch']:>13.3f} {r['speedup']:>7.2f}x "
            f"{r['sklearn_accuracy']:>7.4f} {r['digitnet_accuracy']:>7.4f}"
        )
    for r in rows:
        verdict = "PASS" if r["speedup"] >= r["target"] else "FAIL"
        print(f"  target {r['setting']}: >= {r['target']:g}x: {r['speedup']:.2f}x {verdict}")


def load(data_dir: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from digitnet.datasets import mnist

    splits = mnist.load_arrays(data_dir, dtype=np.float64)
    x = np.concatenate([splits.train.x, splits.validation.x])
    y = np.concatenate([splits.train.y, splits.validation.y])
    return x, y, splits.test.x, splits.test.y


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, one repeat")
    parser.add_argument("--data-dir", type=Path, help="MNIST directory ($DIGITNET_DATA)")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    rows = compare(load(args.data_dir), args.quick, repeats)
    print_rows(rows, repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
