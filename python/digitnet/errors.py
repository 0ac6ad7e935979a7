"""Every exception digitnet defines, in one place; besides these it raises the built-in
``ValueError`` and ``TypeError`` for bad arguments.

Errors about the *contents* of a file or data set also derive from ``ValueError`` (as
``json.JSONDecodeError`` does), so code that catches bad values catches them too; when the
cause is an operating-system error, it is chained (``__cause__``).
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "DigitnetError",
    "DivergenceError",
    "HistoryFileError",
    "ImageError",
    "InternalError",
    "ModelFileError",
    "UnsuitableNetworkError",
]


class DigitnetError(Exception):
    """Base class of digitnet's own exceptions."""


class DatasetError(DigitnetError, ValueError):
    """A data set is missing, truncated, corrupt or not in the expected format.

    The message names the file and says what is wrong with it.
    """


class ModelFileError(DigitnetError, ValueError):
    """A saved model file is unreadable, malformed, or describes an invalid network.

    The message names the file and what is wrong with it.
    """


class HistoryFileError(DigitnetError, ValueError):
    """A saved training history is unreadable or malformed; the message names the file."""


class ImageError(DigitnetError, ValueError):
    """An image cannot be used: unreadable, not an image, corrupt, too large, or blank.

    The message names the file, when there is one, and says what is wrong.
    """


class UnsuitableNetworkError(DigitnetError, ValueError):
    """A network does not suit what it is asked to do, such as reading MNIST digits without 784
    inputs and 10 outputs; the message names the network (or its file) and its sizes."""


class DivergenceError(DigitnetError, ArithmeticError):
    """Training produced parameters that are not finite (the learning rate is probably too
    large). The message names the epoch and mini-batch; the network keeps the parameters it had
    before that mini-batch."""


class InternalError(DigitnetError, RuntimeError):
    """A bug inside digitnet (a Rust panic or a failed internal check): an ordinary exception,
    never a crash. Please report it."""


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


class SweepSpecError(DigitnetError, ValueError):
    """A sweep spec (``digitnet sweep SPEC.toml``) is unreadable or asks for an unknown option,
    a bad value or an empty grid. The message names the section and option."""


# Private control flow: raised and caught inside digitnet, never seen by its users, so not in
# __all__; they live here with the rest all the same.


class _RefusedError(Exception):
    """A request that ``digitnet serve``'s ``/api/predict`` refuses, with the HTTP status and
    message to answer: raised while reading the request in :mod:`digitnet.web.app`, caught by
    the endpoint there, which answers ``{"error": message}`` with that status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _DownloadError(Exception):
    """One mirror failed to deliver one MNIST file; the message says why. Raised by the download
    in :mod:`digitnet.datasets.mnist`, caught there, which then tries the next mirror and names
    every failure in the :class:`DatasetError` it raises if none delivers."""


class _Expired(BaseException):
    """A checked call ran past its time limit: raised by the timer signal inside the user's code
    in :mod:`digitnet.testing.python_impl`, caught there and reported as a
    :class:`ProgramFailedError`. A ``BaseException`` so the user's ``except Exception`` cannot
    swallow it."""
