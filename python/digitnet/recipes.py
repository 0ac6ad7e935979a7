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

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from digitnet.costs import CrossEntropyCost, LogLikelihoodCost
from digitnet.datasets.mnist import MnistSplits
from digitnet.history import History
from digitnet.network import Network
from digitnet.training import Adam, Augment, EarlyStopping, HalveOnPlateau


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
        """``sgd`` with fresh copies of its stateful parts: a ``HalveOnPlateau`` remembers its
        best accuracy, so one instance must not serve two runs."""
        return {key: copy.deepcopy(value) for key, value in self.sgd.items()}


RECIPES: dict[str, Recipe] = {
    "network2-ch3": Recipe(
        description="PLACEHOLDER",
        network={"sizes": [784, 100, 10], "cost": CrossEntropyCost, "init": "scaled"},
        sgd={
            "epochs": 30,
            "mini_batch_size": 10,
            "eta": 0.5,
            "lmbda": 5.0,
            "schedule": HalveOnPlateau(patience=5, min_factor=128),
            "early_stopping": EarlyStopping(patience=1000, restore_best=True),
        },
    ),
    "best-mlp": Recipe(
        description="PLACEHOLDER",
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
            "eta": 0.001,
            "optimizer": Adam(),
            "dropout": 0.3,
            "augment": Augment(max_shift=2.0, max_rotation=10.0),
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
