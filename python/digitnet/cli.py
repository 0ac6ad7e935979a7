"""The ``digitnet`` command: ``digitnet train`` reproduces the book's run on MNIST, ``digitnet
evaluate MODEL`` reports a saved model's accuracy."""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from digitnet import persistence, plots, recipes
from digitnet._network_api import _architecture
from digitnet.commands import plot as plot_command
from digitnet.commands import predict as predict_command
from digitnet.commands import serve as serve_command
from digitnet.costs import COSTS
from digitnet.datasets import mnist
from digitnet.errors import DigitnetError
from digitnet.history import EpochResult
from digitnet.network import Network
from digitnet.recipes import RECIPES
from digitnet.training import Augment, EarlyStopping, HalveOnPlateau

#: The default seed: one whose N(0, 1) start trains to the book's accuracy (a rare seed leaves
#: the book's network stuck near 85%; see the README).
DEFAULT_SEED = 3

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
        return status
    except (DigitnetError, ValueError) as error:
        # Library errors name the argument and the problem: one line, no traceback.
        print(f"digitnet: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitnet",
        description="Handwritten-digit recognition with the network of Nielsen's book, in Rust.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a network on MNIST (defaults reproduce the book's chapter 1 run)",
        description="Train on the 50,000 training images and report test accuracy after each "
        "epoch; the defaults are the book's: --sizes 784,30,10 --epochs 30 --batch-size 10 "
        "--eta 3.0.",
    )
    train.add_argument("--sizes", type=_sizes, default=[784, 30, 10], help="layer sizes")
    train.add_argument("--epochs", type=_non_negative, default=30)
    train.add_argument("--batch-size", type=_positive, default=10, help="mini-batch size")
    train.add_argument("--eta", type=_learning_rate, default=3.0, help="learning rate")
    train.add_argument("--seed", type=_seed, default=DEFAULT_SEED)
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
        help="show a progress bar during each epoch (default: on a terminal)",
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
    beyond.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    beyond.add_argument(
        "--cost", choices=sorted(COSTS), default="QuadraticCost", help="the cost to minimise"
    )
    beyond.add_argument(
        "--activation", choices=["sigmoid", "tanh", "relu"], default="sigmoid",
        help="the hidden layers' activation",
    )  # fmt: skip
    beyond.add_argument(
        "--output", choices=["sigmoid", "softmax"], default=None,
        help="the output layer's activation (default: softmax for LogLikelihoodCost, else sigmoid)",
    )  # fmt: skip
    beyond.add_argument(
        "--init", choices=["large", "scaled"], default="large",
        help="initial weights N(0, 1) (large) or N(0, 1/n_in) (scaled, network2.py's default)",
    )  # fmt: skip
    beyond.add_argument("--lmbda", type=_non_negative_real, default=0.0, help="L2 parameter")
    beyond.add_argument(
        "--optimizer", choices=["sgd", "momentum", "nesterov", "adam"], default="sgd"
    )
    beyond.add_argument(
        "--dropout", type=_probability, default=0.0, help="probability of dropping a hidden unit"
    )
    beyond.add_argument(
        "--shift", type=_non_negative_real, default=0.0, metavar="PIXELS",
        help="expand the training set: random shifts of up to this many pixels",
    )  # fmt: skip
    beyond.add_argument(
        "--rotate", type=_non_negative_real, default=0.0, metavar="DEGREES",
        help="expand the training set: random rotations of up to this many degrees",
    )  # fmt: skip
    beyond.add_argument(
        "--halve-on-plateau", type=_positive, default=None, metavar="EPOCHS",
        help="halve eta after this many epochs without progress on the validation set; "
        "stop at eta/128 (the book's schedule)",
    )  # fmt: skip
    beyond.add_argument(
        "--early-stopping", type=_positive, default=None, metavar="EPOCHS",
        help="stop after this many epochs without progress on the validation set and keep "
        "the best epoch's parameters",
    )  # fmt: skip
    train.set_defaults(run=_train, parser=train)

    evaluate = commands.add_parser(
        "evaluate", help="report a saved model's accuracy on the MNIST test set"
    )
    evaluate.add_argument("model", type=Path, help="a model written by --save or network2.py")
    evaluate.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    evaluate.set_defaults(run=_evaluate)
    plot_command.add_parser(commands)
    predict_command.add_parser(commands)
    serve_command.add_parser(commands)
    return parser


def _train(args: argparse.Namespace) -> int:
    _check_before_training(args)
    if args.recipe is not None:
        return _train_recipe(args)
    splits = mnist.load_arrays(args.data_dir, dtype=args.dtype)
    net = Network(
        args.sizes,
        seed=args.seed,
        dtype=args.dtype,
        cost=args.cost,
        activation=args.activation,
        output=args.output,
        init=args.init,
    )
    judged = args.halve_on_plateau is not None or args.early_stopping is not None
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
        "evaluation_data": splits.validation if judged else None,
    }
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
            persistence.save(net, args.save)
            print(f"Interrupted; saved the network as it is to {args.save}", file=sys.stderr)
        raise
    if history:
        best = history.best()
        assert best is not None
        assert best.accuracy is not None
        print(
            f"Best: {100 * best.accuracy:.2f}% after epoch {best.epoch + 1}; "
            f"final: {100 * (history[-1].accuracy or 0):.2f}%; "
            f"mean epoch time {statistics.fmean(history.seconds):.3f} s"
        )
    if args.save:
        persistence.save(net, args.save)
        print(f"Saved to {args.save}")
    if args.save_history and history is not None:
        plots.save_history(history, args.save_history)
        print(f"Saved the history to {args.save_history}")
    return 0


def _train_recipe(args: argparse.Namespace) -> int:
    recipe = RECIPES[args.recipe]
    print(f"Recipe {args.recipe}: {recipe.description}", flush=True)
    splits = mnist.load_arrays(args.data_dir, dtype=recipe.dtype)
    net, _ = recipes.run(args.recipe, splits, seed=args.seed, verbose=True)
    if args.save:
        persistence.save(net, args.save)
        print(f"Saved to {args.save}")
    return 0


def _check_before_training(args: argparse.Namespace) -> None:
    """Usage errors that argparse cannot see alone, found before minutes of training."""
    parser: argparse.ArgumentParser = args.parser
    try:
        _architecture(args.sizes, args.cost, args.activation, args.output)
    except ValueError as error:
        parser.error(f"--cost {args.cost} with --output {args.output}: {error}")
    for option, path in (("--save", args.save), ("--save-history", args.save_history)):
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK) or path.is_dir():
            parser.error(f"{option}: cannot write {path} (no such writable directory)")


def _evaluate(args: argparse.Namespace) -> int:
    net = persistence.load(args.model)
    if net.sizes[0] != 784 or net.sizes[-1] != 10:
        raise DigitnetError(f"{args.model}: a network of sizes {net.sizes} is not for MNIST")
    test = mnist.load_arrays(args.data_dir).test
    predicted = net.predict(test.x)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test.y, predicted), 1)
    correct = int(np.trace(confusion))
    print(f"{args.model}: {net.sizes}")
    print(f"Test accuracy: {100 * correct / len(test.y):.2f}% ({correct} / {len(test.y)})")
    print("\nPer class:")
    for digit in range(10):
        total = int(confusion[digit].sum())
        share = confusion[digit, digit] / total if total else 0.0
        print(f"  {digit}: {100 * share:6.2f}% ({confusion[digit, digit]} / {total})")
    print("\nConfusion matrix (rows: true digit, columns: predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit in range(10):
        print(f"  {digit}:  " + "".join(f"{v:>6}" for v in confusion[digit]))
    return 0


#: Bounds on what the command accepts: far beyond any useful run, and far below what would
#: fail only after the data is loaded.
MAX_LAYER = 1_000_000
MAX_PARAMETERS = 1 << 31
MAX_COUNT = 1_000_000_000


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 784,30,10, got {text!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least 2 positive sizes, got {text!r}")
    if max(sizes) > MAX_LAYER:
        raise argparse.ArgumentTypeError(f"a layer may have at most {MAX_LAYER} neurons")
    if sum(x * y for x, y in itertools.pairwise(sizes)) > MAX_PARAMETERS:
        raise argparse.ArgumentTypeError(f"more than {MAX_PARAMETERS} weights; too many")
    if sizes[0] != 784 or sizes[-1] != 10:
        raise argparse.ArgumentTypeError(
            f"MNIST needs 784 inputs and 10 outputs, like 784,30,10; got {text!r}"
        )
    return sizes


def _non_negative_real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number, got {text}")
    return value


def _probability(text: str) -> float:
    value = _non_negative_real(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be a probability below 1, got {text}")
    return value


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _seed(text: str) -> int:
    value = _parse_int(text)
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {text}")
    return value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _integer(text: str) -> int:
    value = _parse_int(text)
    if abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT}, got {text}")
    return value


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
