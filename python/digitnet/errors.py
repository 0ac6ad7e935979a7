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


class CheckError(DigitnetError):
    """``digitnet check`` cannot check an implementation: its file cannot be imported, defines no
    such class, or its program cannot be started. The message says why in one line."""


class AnswerError(DigitnetError, ValueError):
    """An answer of a checked implementation that cannot be compared with digitnet's: the call
    raised, or returned the wrong shapes or types. ``kind`` is "exception", "shape" or
    "malformed"; ``hints`` are known mistakes that fit."""

    def __init__(self, kind: str, message: str, hints: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.hints = hints


class ProgramFailedError(DigitnetError):
    """A program under ``digitnet check --exec`` failed to answer a case: it crashed, hung or
    printed something that is not an answer. The message says which, with its last words;
    ``hung`` says whether it got stuck (it is not restarted then)."""

    def __init__(self, message: str, hung: bool = False) -> None:
        super().__init__(message)
        self.hung = hung
