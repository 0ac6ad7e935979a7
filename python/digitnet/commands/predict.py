"""``digitnet predict MODEL IMAGE...``: the digit a saved model reads in each image file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitnet.datasets import mnist
from digitnet.errors import ImageError
from digitnet.images import preprocess, probabilities
from digitnet.network import Network

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``predict`` subcommand to the ``digitnet`` command's ``subparsers``."""
    parser = subparsers.add_parser(
        "predict",
        help="read the digit in image files (scans, photos, drawings) with a saved model",
        description="Print the digit a saved model reads in each image, and its probability. "
        "Each image is made into an MNIST-style input first: grey levels, dark-on-light "
        "inverted, cropped to the ink, scaled into 20x20 and centred by its centre of mass.",
    )
    parser.add_argument("model", type=Path, help="a model written by 'digitnet train --save'")
    parser.add_argument(
        "images", type=Path, nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints ``PATH: DIGIT (probability P)`` for each image; returns 1 if any was unreadable."""
    net = Network.load(args.model)
    mnist.check_network(net.sizes, name=str(args.model))
    status = 0
    for path in args.images:
        try:
            x = preprocess(path)
        except ImageError as error:
            print(f"digitnet: error: {error}", file=sys.stderr, flush=True)
            status = 1
            continue
        shares = probabilities(net, x)[0]
        digit = int(shares.argmax())
        print(f"{path}: {digit} (probability {shares[digit]:.2f})", flush=True)
    return status
