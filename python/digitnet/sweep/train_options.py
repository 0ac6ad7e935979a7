"""The one place the sweep learns ``digitnet train``'s options: its own argument parser, whose
names, types, defaults, choices and checks every ``[base]``, ``[grid]`` and ``[random]`` value
goes through."""

from __future__ import annotations

import argparse
import functools

__all__ = ["train_parser"]


@functools.cache
def train_parser() -> argparse.ArgumentParser:
    """``digitnet train``'s argument parser."""
    # Imported here, not at the top: the command line registers ``digitnet sweep``, which
    # imports this package. Once ``train`` lives in ``digitnet.commands.train``, this becomes
    # that module's parser and the import moves up.
    from digitnet import cli

    subcommands = next(
        action
        for action in cli._parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    parser: argparse.ArgumentParser = subcommands.choices["train"]
    return parser
