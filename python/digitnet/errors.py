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
