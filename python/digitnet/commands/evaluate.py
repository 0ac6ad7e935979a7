"""``digitnet evaluate MODEL``: a saved model's accuracy on the MNIST test set, per class, and
its confusion matrix."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digitnet.datasets import mnist
from digitnet.network import Network

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``evaluate`` subcommand to the ``digitnet`` command's ``subparsers``."""
    evaluate = subparsers.add_parser(
        "evaluate", help="report a saved model's accuracy on the MNIST test set"
    )
    evaluate.add_argument("model", type=Path, help="a model written by --save or network2.py")
    evaluate.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints the test accuracy, the accuracy per digit and the confusion matrix; returns 0."""
    net = Network.load(args.model)
    mnist.check_network(net.sizes, name=str(args.model))
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
