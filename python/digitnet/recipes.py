"""Tried and measured training recipes for MNIST: a network's architecture and its ``SGD``
settings, with what they reach on the test set.

>>> from digitnet import recipes
>>> from digitnet.datasets import mnist
>>> splits = mnist.load_arrays(dtype=recipes.RECIPES["best-mlp"].dtype)
>>> net, history = recipes.run("best-mlp", splits, seed=1)

Each recipe trains on ``splits.train`` and judges its schedule and early stopping on
``splits.validation``; the test set is only used to report the final accuracy, never to choose
anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from digitnet.costs import CrossEntropyCost, LogLikelihoodCost
from digitnet.datasets.mnist import MnistSplits
from digitnet.history import History
from digitnet.network import Network
from digitnet.training import Augment, EarlyStopping, HalveOnPlateau, Nesterov

__all__ = ["RECIPES", "Recipe", "run"]


@dataclass(frozen=True)
class Recipe:
    """A network (``digitnet.Network``'s keyword arguments, ``sizes`` included) and how to
    train it (``Network.SGD``'s keyword arguments: ``epochs``, ``mini_batch_size``, ``eta``
    and any options)."""

    description: str
    network: dict[str, Any] = field(default_factory=dict)
    sgd: dict[str, Any] = field(default_factory=dict)

    @property
    def dtype(self) -> str:
        """The float type the recipe computes in (load the data in it to avoid a copy)."""
        return str(self.network.get("dtype", "float64"))

    def build(self, seed: int | None = None) -> Network:
        """A fresh network of this recipe."""
        return Network(seed=seed, **self.network)

    def sgd_options(self) -> dict[str, Any]:
        """A copy of ``sgd`` to pass on (``SGD`` keeps each run's state itself, so the
        schedule and early-stopping options can be shared by any number of runs)."""
        return dict(self.sgd)


RECIPES: dict[str, Recipe] = {
    "network2-ch3": Recipe(
        description=(
            "The book's chapter 3 network and settings ([784, 100, 10], cross-entropy, λ = 5, "
            "η = 0.5, mini-batches of 10, network2.py's N(0, 1/n_in) weights) with the "
            "schedule the book proposes: η halved after 5 epochs without a better validation "
            "accuracy, training stopped at η/128 (at most 60 epochs), and the best validation "
            "epoch's parameters kept. Measured (benchmarks/results.py), seeds 1-5: test "
            "98.06-98.28%, median 98.09% (the plain 30 epochs: median 97.75%); 40 s each "
            "(median, the whole command) on a shared 2-core Xeon."
        ),
        network={"sizes": [784, 100, 10], "cost": CrossEntropyCost, "init": "scaled"},
        sgd={
            "epochs": 60,
            "mini_batch_size": 10,
            "eta": 0.5,
            "lmbda": 5.0,
            "schedule": HalveOnPlateau(patience=5, min_factor=128),
            # Only to end with the best validation epoch: the schedule decides when to stop.
            "early_stopping": EarlyStopping(patience=60, restore_best=True),
        },
    ),
    "best-mlp": Recipe(
        description=(
            "[784, 800, 10] in float32: ReLU hidden layer, softmax with the log-likelihood "
            "cost, Nesterov momentum (μ = 0.9, η = 0.05), mini-batches of 100, dropout 0.3, "
            "images shifted up to 2 px and turned up to 10° each time they are used, η halved "
            "after 4 epochs without a better validation accuracy; 40 epochs. Measured "
            "(benchmarks/results.py), seeds 1-5: test 98.91-99.05%, median 98.97%; 405 s each "
            "(median, the whole command) on a 2-core Xeon shared with other jobs."
        ),
        network={
            "sizes": [784, 800, 10],
            "activation": "relu",
            "cost": LogLikelihoodCost,
            "init": "scaled",
            "dtype": "float32",
        },
        sgd={
            "epochs": 40,
            "mini_batch_size": 100,
            "eta": 0.05,
            "optimizer": Nesterov(mu=0.9),
            "dropout": 0.3,
            "augment": Augment(max_shift=2.0, max_rotation=10.0),
            "schedule": HalveOnPlateau(patience=4),
        },
    ),
}


def run(
    name: str,
    splits: MnistSplits,
    seed: int | None = None,
    verbose: bool = True,
    epochs: int | None = None,
) -> tuple[Network, History]:
    """Trains recipe ``name`` on ``splits.train`` (judging schedules and early stopping on
    ``splits.validation``) and reports the accuracy on ``splits.test``. ``epochs`` overrides
    the recipe's number of epochs (for a quick try). Returns the network and its history."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; expected one of {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    options = recipe.sgd_options()
    if epochs is not None:
        options["epochs"] = epochs
    net = recipe.build(seed)
    started = time.perf_counter()
    history = net.SGD(
        splits.train,
        options.pop("epochs"),
        options.pop("mini_batch_size"),
        options.pop("eta"),
        evaluation_data=splits.validation,
        monitor_evaluation_accuracy=True,
        verbose=verbose,
        progress=False,
        **options,
    )
    correct = net.evaluate(splits.test)
    if verbose:
        total = len(splits.test.y)
        seconds = time.perf_counter() - started
        print(
            f"{name}: test accuracy {correct} / {total} ({100 * correct / total:.2f}%) "
            f"after {len(history)} epochs in {seconds:.0f} s (seed {net.seed})"
        )
    return net, history
