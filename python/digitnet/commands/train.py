"""``digitnet train``: trains a network on MNIST and reports the test accuracy after each epoch
(the defaults reproduce the book's chapter 1 run), or trains one of :mod:`digitnet.recipes`."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from digitnet import _convert, recipes
from digitnet.architecture import HIDDEN_ACTIVATIONS, INITS, OUTPUT_ACTIVATIONS, architecture
from digitnet.commands import _arguments as arguments
from digitnet.costs import COSTS
from digitnet.datasets import mnist
from digitnet.history import EpochResult
from digitnet.network import Network
from digitnet.recipes import RECIPES
from digitnet.training import OPTIMIZERS, Augment, EarlyStopping, HalveOnPlateau

__all__ = ["DEFAULT_SEED", "add_parser", "run"]

#: The default seed: one whose N(0, 1) start trains to the book's accuracy (a rare seed leaves
#: the book's network stuck near 85%; see the README).
DEFAULT_SEED = 3


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``train`` subcommand to the ``digitnet`` command's ``subparsers``."""
    train = subparsers.add_parser(
        "train",
        help="train a network on MNIST (defaults reproduce the book's chapter 1 run)",
        description="Train on the 50,000 training images and report test accuracy after each "
        "epoch; the defaults are the book's: --sizes 784,30,10 --epochs 30 --batch-size 10 "
        "--eta 3.0.",
    )
    train.add_argument(
        "--sizes", type=arguments.mnist_sizes, default=[784, 30, 10], help="layer sizes"
    )
    train.add_argument("--epochs", type=arguments.non_negative_int, default=30)
    train.add_argument(
        "--batch-size", type=arguments.positive_int, default=10, help="mini-batch size"
    )
    train.add_argument("--eta", type=arguments.learning_rate, default=3.0, help="learning rate")
    train.add_argument("--seed", type=arguments.seed, default=DEFAULT_SEED)
    train.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    train.add_argument("--save", type=Path, metavar="PATH", help="write the trained model here")
    train.add_argument(
        "--save-history",
        type=Path,
        metavar="PATH",
        help="write the per-epoch results as JSON (for digitnet plot --learning-curves)",
    )
    train.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar during each epoch (default: when stderr is a terminal)",
    )
    train.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default=None,
        help="train a measured recipe instead (see digitnet.recipes; only --seed, --data-dir "
        "and --save apply): network2-ch3 (the book's chapter 3, ~98%%), best-mlp (~99%%)",
    )
    beyond = train.add_argument_group(
        "beyond chapter 1", "network2.py's options and more (defaults: the chapter 1 network)"
    )
    beyond.add_argument("--dtype", choices=[d.name for d in _convert.DTYPES], default="float64")
    beyond.add_argument(
        "--cost", choices=sorted(COSTS), default="QuadraticCost", help="the cost to minimise"
    )
    beyond.add_argument(
        "--activation", choices=HIDDEN_ACTIVATIONS, default="sigmoid",
        help="the hidden layers' activation",
    )  # fmt: skip
    beyond.add_argument(
        "--output", choices=OUTPUT_ACTIVATIONS, default=None,
        help="the output layer's activation (default: softmax for LogLikelihoodCost, else sigmoid)",
    )  # fmt: skip
    beyond.add_argument(
        "--init", choices=INITS, default="large",
        help="initial weights N(0, 1) (large) or N(0, 1/n_in) (scaled, network2.py's default)",
    )  # fmt: skip
    beyond.add_argument(
        "--lmbda", type=arguments.non_negative_real, default=0.0, help="L2 parameter"
    )
    beyond.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    beyond.add_argument(
        "--dropout",
        type=arguments.probability,
        default=0.0,
        help="probability of dropping a hidden unit",
    )
    beyond.add_argument(
        "--shift", type=arguments.non_negative_real, default=0.0, metavar="PIXELS",
        help="expand the training set: random shifts of up to this many pixels",
    )  # fmt: skip
    beyond.add_argument(
        "--rotate", type=arguments.non_negative_real, default=0.0, metavar="DEGREES",
        help="expand the training set: random rotations of up to this many degrees",
    )  # fmt: skip
    beyond.add_argument(
        "--halve-on-plateau", type=arguments.positive_int, default=None, metavar="EPOCHS",
        help="halve eta after this many epochs without progress on the validation set; "
        "stop at eta/128 (the book's schedule)",
    )  # fmt: skip
    beyond.add_argument(
        "--early-stopping", type=arguments.positive_int, default=None, metavar="EPOCHS",
        help="stop after this many epochs without progress on the validation set and keep "
        "the best epoch's parameters",
    )  # fmt: skip
    train.set_defaults(run=run, parser=train)


def build(args: argparse.Namespace) -> tuple[Network, dict[str, Any]]:
    """The network and the keyword options of ``SGD`` that this subcommand's ``args`` ask for
    (a recipe aside): the one mapping from the command's options to the API, which
    ``digitnet sweep`` uses too."""
    net = Network(
        args.sizes,
        seed=args.seed,
        dtype=args.dtype,
        cost=args.cost,
        activation=args.activation,
        output=args.output,
        init=args.init,
    )
    options: dict[str, Any] = {
        "lmbda": args.lmbda,
        "optimizer": args.optimizer,
        "dropout": args.dropout,
        "augment": Augment(args.shift, args.rotate) if args.shift or args.rotate else None,
        "schedule": None
        if args.halve_on_plateau is None
        else HalveOnPlateau(args.halve_on_plateau),
        "early_stopping": None
        if args.early_stopping is None
        else EarlyStopping(args.early_stopping),
    }
    return net, options


def run(args: argparse.Namespace) -> int:
    """Trains as the options say, printing each epoch's result; returns 0."""
    _check_before_training(args)
    if args.recipe is not None:
        return _train_recipe(args)
    splits = mnist.load_arrays(args.data_dir, dtype=args.dtype)
    net, options = build(args)
    judged = args.halve_on_plateau is not None or args.early_stopping is not None
    options["evaluation_data"] = splits.validation if judged else None
    extras = ", ".join(
        f"{key} {value}" for key, value in options.items()
        if value not in (None, 0.0, "sgd") and key != "evaluation_data"
    )  # fmt: skip
    print(
        f"Training {args.sizes} on {len(splits.train.y)} images: {args.epochs} epochs, "
        f"mini-batch {args.batch_size}, eta {args.eta}, seed {args.seed}"
        + (f", {extras}" if extras else ""),
        flush=True,
    )

    def report(result: EpochResult) -> None:
        validation = ""
        if result.evaluation_correct is not None and result.evaluation_total:
            share = 100 * result.evaluation_correct / result.evaluation_total
            validation = f", validation {share:6.2f}%"
        print(
            f"Epoch {result.epoch + 1:>3}/{args.epochs}: test accuracy "
            f"{100 * (result.accuracy or 0):6.2f}% ({result.correct} / {result.total})"
            f"{validation}  {result.seconds:6.2f} s",
            flush=True,
        )

    history = None
    try:
        history = net.SGD(
            splits.train,
            args.epochs,
            args.batch_size,
            args.eta,
            test_data=splits.test,
            verbose=False,
            progress=args.progress,
            callback=report,
            **options,
        )
    except KeyboardInterrupt:
        if args.save:
            net.save(args.save)
            print(f"Interrupted; saved the network as it is to {args.save}", file=sys.stderr)
        raise
    best = None if history is None else history.best()
    if history and best is not None and best.accuracy is not None:
        print(
            f"Best: {100 * best.accuracy:.2f}% after epoch {best.epoch + 1}; "
            f"final: {100 * (history[-1].accuracy or 0):.2f}%; "
            f"mean epoch time {statistics.fmean(history.seconds):.3f} s"
        )
    if args.save:
        net.save(args.save)
        print(f"Saved to {args.save}")
    if args.save_history and history is not None:
        history.save(args.save_history)
        print(f"Saved the history to {args.save_history}")
    return 0


def _train_recipe(args: argparse.Namespace) -> int:
    recipe = RECIPES[args.recipe]
    print(f"Recipe {args.recipe}: {recipe.description}", flush=True)
    splits = mnist.load_arrays(args.data_dir, dtype=recipe.dtype)
    net, _ = recipes.run(args.recipe, splits, seed=args.seed, verbose=True)
    if args.save:
        net.save(args.save)
        print(f"Saved to {args.save}")
    return 0


def _check_before_training(args: argparse.Namespace) -> None:
    """Usage errors that argparse cannot see alone, found before minutes of training."""
    parser: argparse.ArgumentParser = args.parser
    try:
        architecture(args.sizes, args.cost, args.activation, args.output)
    except ValueError as error:
        parser.error(f"--cost {args.cost} with --output {args.output}: {error}")
    for option, path in (("--save", args.save), ("--save-history", args.save_history)):
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK) or path.is_dir():
            parser.error(f"{option}: cannot write {path} (no such writable directory)")
