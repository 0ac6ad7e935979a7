"""Reading and writing digitnet's JSON files (models, histories) safely: read as data only,
written atomically. A leaf: it imports nothing of digitnet but its exceptions."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from digitnet.errors import DigitnetError

__all__ = ["read_bytes", "read_json", "write_atomically"]


def write_atomically(path: Path, content: bytes) -> None:
    """Writes ``content`` to a temporary file beside ``path``, syncs it, then renames it over
    ``path``; on any failure (Ctrl-C included) the temporary file is removed."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path, limit: int, error: type[DigitnetError], what: str) -> Any:
    """The JSON value in the file ``path``, read as by :func:`read_bytes`, with no NaN or
    Infinity tokens. Any failure is ``error``, naming the file, with the operating system's or
    the parser's error as its cause."""
    raw = read_bytes(path, limit, error, what)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as failure:
        raise error(f"{path}: not valid JSON ({failure})") from failure


def read_bytes(path: Path, limit: int, error: type[DigitnetError], what: str) -> bytes:
    """The bytes of the file ``path``, read as data only: a regular file of at most ``limit``
    bytes (no FIFO to wait on, no device to drain), and no more of it than its size. Any
    failure is ``error``, naming the file."""
    try:
        # Opened without blocking, so that a named pipe cannot make us wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise error(f"{path}: not a regular file")
            if status.st_size > limit:
                raise error(f"{path}: larger than {limit} bytes; not a {what}")
            raw = file.read(status.st_size + 1)
    except OSError as failure:
        raise error(f"{path}: cannot read: {failure.strerror or failure}") from failure
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit} bytes; not a {what}")
    return raw


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")
