"""digitnet.sklearn against scikit-learn on the same data, parameters and seeds:
``python benchmarks/sklearn_parity.py [--sets digits diabetes mnist] [--seeds 0 1 2 3 4]``.

For each set and configuration, both libraries fit with ``random_state`` = each seed and the
script prints, as Markdown rows, each seed's test score (accuracy, or R² for diabetes), their
mean ± standard deviation, the median epochs (``n_iter_``) and the median wall time of ``fit``
(both at their default threads, float64). MNIST is the official 60,000/10,000 split, from
``--data-dir``, ``$DIGITNET_DATA`` or digitnet's cache. Not run by the tests: it takes minutes.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import neural_network
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from digitnet import sklearn as dsk
from digitnet.datasets import mnist

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Config:
    """One row: a data set and the parameters both libraries fit with."""

    data: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    regression: bool = False


CONFIGS = (
    Config("digits", "defaults ((100,), relu, adam, batch 200)"),
    Config("digits", "(50,), 30 epochs", {"hidden_layer_sizes": (50,), "max_iter": 30}),
    Config(
        "diabetes",
        "(10,), lbfgs, alpha 30",
        {"hidden_layer_sizes": (10,), "solver": "lbfgs", "alpha": 30.0},
        regression=True,
    ),
    Config(
        "diabetes",
        "(20,), adam, lr 0.01, early stopping",
        {
            "hidden_layer_sizes": (20,),
            "learning_rate_init": 0.01,
            "early_stopping": True,
            "max_iter": 300,
        },
        regression=True,
    ),
    Config("mnist", "defaults ((100,), relu, adam, batch 200)"),
    Config(
        "mnist",
        "the book's network ((30,), logistic, sgd, batch 10, lr 0.5), 30 epochs",
        {
            "hidden_layer_sizes": (30,),
            "activation": "logistic",
            "solver": "sgd",
            "batch_size": 10,
            "learning_rate_init": 0.5,
            "momentum": 0.0,
            "max_iter": 30,
            "n_iter_no_change": np.inf,
        },
    ),
)


def load(name: str, data_dir: str | None) -> Split:
    """The training and test split of a data set."""
    if name == "digits":
        x, y = load_digits(return_X_y=True)
        parts: list[np.ndarray] = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
        return parts[0], parts[1], parts[2], parts[3]
    if name == "diabetes":
        x, y = load_diabetes(return_X_y=True)
        parts = train_test_split(x, y, random_state=0)
        return parts[0], parts[1], parts[2], parts[3]
    splits = mnist.load_arrays(data_dir)
    x_train = np.concatenate([splits.train.x, splits.validation.x])
    y_train = np.concatenate([splits.train.y, splits.validation.y])
    return x_train, splits.test.x, y_train, splits.test.y


def model(library: Any, config: Config, seed: int) -> Any:
    """The estimator of ``library`` (scikit-learn's module or digitnet.sklearn) for a row."""
    if config.regression:
        regressor = library.MLPRegressor(random_state=seed, **config.params)
        return TransformedTargetRegressor(
            make_pipeline(StandardScaler(), regressor), transformer=StandardScaler()
        )
    return library.MLPClassifier(random_state=seed, **config.params)


def epochs(fitted: Any) -> int:
    inner = getattr(fitted, "regressor_", fitted)
    return int(inner[-1].n_iter_ if hasattr(inner, "steps") else inner.n_iter_)


def run(config: Config, split: Split, seeds: Sequence[int], library: Any) -> list[str]:
    x_train, x_test, y_train, y_test = split
    scores, times, iters = [], [], []
    for seed in seeds:
        estimator = model(library, config, seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, on both sides
            estimator.fit(x_train, y_train)
        times.append(time.perf_counter() - start)
        scores.append(estimator.score(x_test, y_test))
        iters.append(epochs(estimator))
    mean, spread = statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0
    return [
        ", ".join(f"{s:.4f}" for s in scores),
        f"{mean:.4f} ± {spread:.4f}",
        f"{statistics.median(iters):g}",
        f"{statistics.median(times):.2f} s",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits", "diabetes", "mnist"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--data-dir", default=None, help="MNIST's directory")
    args = parser.parse_args(argv)
    print("| data | configuration | library | scores by seed | mean ± sd | epochs | fit time |")
    print("|---|---|---|---|---|---|---|")
    loaded: dict[str, Split] = {}
    libraries: list[tuple[str, Callable[[], Any]]] = [
        ("scikit-learn", lambda: neural_network),
        ("digitnet", lambda: dsk),
    ]
    for config in CONFIGS:
        if config.data not in args.sets:
            continue
        split = loaded.setdefault(config.data, load(config.data, args.data_dir))
        for name, library in libraries:
            cells = run(config, split, args.seeds, library())
            print(f"| {config.data} | {config.title} | {name} | " + " | ".join(cells) + " |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
