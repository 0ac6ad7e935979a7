"""``digitnet export MODEL --onnx OUT.onnx``: a saved model as an ONNX graph, for onnxruntime
and other ONNX runtimes."""

from __future__ import annotations

import argparse
from pathlib import Path

from digitnet import persistence
from digitnet.errors import DigitnetError
from digitnet.network import Network

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``export`` subcommand to the ``digitnet`` command's ``subparsers``."""
    parser = subparsers.add_parser(
        "export",
        help="write a saved model as an ONNX graph (needs digitnet[onnx])",
        description="Write a saved model (.json or .safetensors) as an ONNX model: input "
        "'input' of shape (batch, n_in), output 'activations' of shape (batch, n_out) and, "
        "unless --no-digit, 'digit', each row's predicted class.",
    )
    parser.add_argument("model", type=Path, help="a model written by 'digitnet train --save'")
    parser.add_argument(
        "--onnx", type=Path, required=True, metavar="OUT.onnx", help="the ONNX file to write"
    )
    parser.add_argument(
        "--digit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add the output 'digit' (ArgMax of the activations; default: yes)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Reads the model, writes the ONNX file and says what it wrote."""
    net = Network.load(args.model)
    try:
        persistence.export_onnx(net, args.onnx, digit=args.digit)
    except ImportError as error:
        raise DigitnetError(str(error)) from None
    except OSError as error:
        raise DigitnetError(f"{args.onnx}: cannot write: {error.strerror or error}") from error
    outputs = "activations and digit" if args.digit else "activations"
    print(f"Wrote {args.onnx}: {net.sizes} ({net.dtype.name}), outputs {outputs}")
    return 0
