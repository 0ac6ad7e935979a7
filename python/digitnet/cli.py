"""The ``digitnet`` command: one subcommand per module of :mod:`digitnet.commands` (``train``,
``evaluate``, ``check``, ``export``, ``plot``, ``predict``, ``serve``, ``sweep``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from digitnet.commands import check, evaluate, export, plot, predict, serve, sweep, train
from digitnet.commands.train import DEFAULT_SEED
from digitnet.errors import DigitnetError

__all__ = ["DEFAULT_SEED", "EXIT_INTERRUPTED", "main"]

#: The exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
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
    for command in (train, evaluate, check, export, plot, predict, serve, sweep):
        command.add_parser(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
