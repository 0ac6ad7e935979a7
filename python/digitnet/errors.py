"""The exceptions digitnet raises, besides the built-in ``ValueError`` and ``TypeError``."""

from __future__ import annotations


class DigitnetError(Exception):
    """Base class of digitnet's own exceptions."""


class DatasetError(DigitnetError):
    """A data set is missing, truncated, corrupt or not in the expected format.

    The message names the file and says what is wrong with it.
    """


class ModelFileError(DigitnetError):
    """A saved model file is unreadable, malformed, or describes an invalid network.

    The message names the file and what is wrong with it.
    """


class DivergenceError(DigitnetError, ArithmeticError):
    """Training produced parameters that are not finite (the learning rate is probably too
    large). The message names the epoch and mini-batch; the network keeps the parameters it had
    before that mini-batch."""


class SweepSpecError(DigitnetError, ValueError):
    """A sweep spec (``digitnet sweep SPEC.toml``) is unreadable or asks for an unknown option,
    a bad value or an empty grid. The message names the section and option."""
