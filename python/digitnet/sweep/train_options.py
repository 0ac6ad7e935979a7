"""The one place the sweep learns ``digitnet train``'s options: its own argument parser, whose
names, types, defaults, choices and checks every ``[base]``, ``[grid]`` and ``[random]`` value
goes through."""

from __future__ import annotations

import argparse
import functools

from digitnet.commands import train

__all__ = ["train_parser"]


@functools.cache
def train_parser() -> argparse.ArgumentParser:
    """``digitnet train``'s argument parser."""
    parser = argparse.ArgumentParser(prog="digitnet")
    subcommands = parser.add_subparsers()
    train.add_parser(subcommands)
    train_parser: argparse.ArgumentParser = subcommands.choices["train"]
    return train_parser
