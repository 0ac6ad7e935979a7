"""``digitnet plot``: draws a saved model's confusion matrix and misclassified test digits (or,
with ``--weights``, its first layer's weights), and the learning curves of a saved training
history, as PNG files."""

from __future__ import annotations

import argparse
import functools
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

from digitnet import plots
from digitnet._files import write_atomically
from digitnet.commands import _arguments as arguments
from digitnet.errors import DigitnetError, HistoryFileError
from digitnet.history import History
from digitnet.network import Network

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CONFUSION_PNG", "LEARNING_CURVES_PNG", "MISCLASSIFIED_PNG", "add_parser"]

#: The files written, in the output directory.
CONFUSION_PNG = "confusion.png"
MISCLASSIFIED_PNG = "misclassified.png"
LEARNING_CURVES_PNG = "learning_curves.png"
WEIGHTS_PNG = "weights.png"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``plot`` subcommand to ``subparsers`` (what ``add_subparsers()`` returned)."""
    parser = subparsers.add_parser(
        "plot",
        help="draw a model's confusion matrix and mistakes on the MNIST test set, or learning "
        "curves",
        description=f"With MODEL, write {CONFUSION_PNG} and {MISCLASSIFIED_PNG} for its "
        f"predictions on the MNIST test set; with --learning-curves, write {LEARNING_CURVES_PNG} "
        f"from a history saved by digitnet.plots.save_history; with MODEL --weights, write "
        f"{WEIGHTS_PNG} (each first-layer neuron's weights as an image) instead of using the "
        "test set. Needs matplotlib "
        "(pip install digitnet[plot]).",
    )
    parser.add_argument(
        "model",
        nargs="?",
        type=Path,
        metavar="MODEL",
        help="a model written by train --save or network2.py",
    )
    parser.add_argument(
        "--learning-curves",
        type=Path,
        metavar="HISTORY_JSON",
        help="a training history written by digitnet.plots.save_history",
    )
    parser.add_argument(
        "--weights",
        action="store_true",
        help=f"draw MODEL's first-layer weights as images ({WEIGHTS_PNG}) instead of its "
        "test-set pictures (needs no MNIST)",
    )
    parser.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="directory to write the PNG files into (made if missing; default: the current one)",
    )
    parser.add_argument(
        "--max-images",
        type=arguments.positive_int,
        default=36,
        metavar="N",
        help="at most N misclassified digits in the gallery (default: 36)",
    )
    parser.add_argument(
        "--dpi",
        type=arguments.positive_int,
        default=100,
        help="resolution, dots per inch (default: 100)",
    )
    parser.set_defaults(run=functools.partial(_run, parser))


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.model is None and args.learning_curves is None:
        parser.error("give a MODEL, --learning-curves HISTORY_JSON, or both")
    if args.weights and args.model is None:
        parser.error("--weights draws a MODEL's weights: give the MODEL")
    try:
        plots.require_matplotlib()
    except ImportError as error:
        raise DigitnetError(str(error)) from None
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigitnetError(f"{out}: cannot create the directory: {error.strerror}") from error

    if args.learning_curves is not None:
        history = History.load(args.learning_curves)
        if not history:
            raise HistoryFileError(f"{args.learning_curves}: holds no epochs")
        _write(plots.learning_curves(history), out / LEARNING_CURVES_PNG, args.dpi)

    if args.model is not None and args.weights:
        _write_weights(args.model, out / WEIGHTS_PNG, args.dpi)
    elif args.model is not None:
        from digitnet.datasets import mnist

        net = Network.load(args.model)
        test = mnist.load_arrays(args.data_dir).test
        if net.sizes[0] != test.x.shape[1] or net.sizes[-1] <= int(test.y.max()):
            raise DigitnetError(
                f"{args.model}: a network of sizes {net.sizes} does not fit the test images "
                f"({test.x.shape[1]} pixels, labels 0 to {int(test.y.max())})"
            )
        predicted = net.predict(test.x)
        correct = int((predicted == test.y).sum())
        print(
            f"{args.model}: {net.sizes}, test accuracy {100 * correct / len(test.y):.2f}% "
            f"({correct} / {len(test.y)})"
        )
        confusion = plots.confusion_matrix(test.y, predicted, n_classes=net.sizes[-1])
        _write(confusion, out / CONFUSION_PNG, args.dpi)
        gallery = plots.misclassified(test.x, test.y, predicted, max_images=args.max_images)
        _write(gallery, out / MISCLASSIFIED_PNG, args.dpi)
    return 0


def _write_weights(model: Path, path: Path, dpi: int) -> None:
    """Draws the first layer's weights of the model in ``model`` as images into ``path``."""
    net = Network.load(model)
    side = math.isqrt(net.sizes[0])
    if side * side != net.sizes[0]:
        raise DigitnetError(
            f"{model}: its {net.sizes[0]} inputs are not a square image, so its weights cannot "
            "be drawn as pictures"
        )
    _write(plots.first_layer_weights(net.weights[0]), path, dpi)


def _write(figure: Figure, path: Path, dpi: int) -> None:
    """Renders ``figure`` as PNG and writes it to ``path`` atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    try:
        write_atomically(path, buffer.getvalue())
    except OSError as error:
        raise DigitnetError(f"{path}: cannot write: {error.strerror or error}") from error
    print(f"Wrote {path}")
