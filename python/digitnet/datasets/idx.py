"""Reading IDX files, the simple binary format MNIST and its relatives are distributed in.

An IDX file is a 4-byte magic number (two zero bytes, a type code and the number of
dimensions), one big-endian ``uint32`` size per dimension, then the data in C order,
big-endian.  Files may be gzipped; that is detected from the gzip magic bytes, not the name.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import stat
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from digitnet.errors import DatasetError

__all__ = ["IDX_TYPES", "MAX_ELEMENTS", "MAX_NDIM", "parse_idx", "read_idx"]

#: The IDX type codes and the (big-endian) dtypes of the data they announce.
IDX_TYPES: Final[dict[int, np.dtype[Any]]] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_NAMES: Final[dict[int, str]] = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}

#: A header announcing more elements than this is refused before anything is allocated.
MAX_ELEMENTS: Final = 2**31
#: The largest number of dimensions accepted (NumPy's own limit is at least this).
MAX_NDIM: Final = 32

_GZIP_MAGIC: Final = b"\x1f\x8b"
# Deflate cannot expand one compressed byte into more than 1032 bytes, so a gzip file of
# n bytes cannot hold more than about 1032 * n bytes: a header asking for more is refused.
_GZIP_MAX_RATIO: Final = 1032
_CHUNK: Final = 1 << 20  # read in 1 MiB pieces, so that Ctrl-C is seen promptly


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class _Header:
    """A parsed IDX header: the on-disk dtype, the shape and the header's length in bytes."""

    code: int
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype[Any]:
        return IDX_TYPES[self.code]

    @property
    def size(self) -> int:
        return 4 + 4 * len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        kind = "" if self.code == 0x08 else f" {_TYPE_NAMES[self.code]}"
        return f"{dims}{kind} = {self.nbytes} bytes of data"


def _parse_header(read: Callable[[int], bytes], name: str) -> _Header:
    """Read and validate an IDX header through ``read(n)``, which returns at most n bytes."""
    magic = read(4)
    if not magic:
        raise DatasetError(f"{name}: empty file, not an IDX file")
    if len(magic) < 4:
        raise DatasetError(
            f"{name}: truncated header: file has {len(magic)} bytes, "
            "an IDX file starts with a 4-byte magic number"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"{name}: bad magic number 0x{magic.hex()}: not an IDX file "
            "(its first two bytes must be zero)"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_TYPES)
        raise DatasetError(f"{name}: unknown IDX type code 0x{code:02x} (known: {known})")
    if not 1 <= ndim <= MAX_NDIM:
        raise DatasetError(
            f"{name}: bad number of dimensions {ndim} in the header (must be 1 to {MAX_NDIM})"
        )
    raw = read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DatasetError(
            f"{name}: truncated header: {ndim} dimensions need {4 * ndim} bytes of sizes, "
            f"file has {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw)
    # Zero-sized dimensions are counted as 1 so that no product of the others can overflow.
    if math.prod(max(d, 1) for d in shape) > MAX_ELEMENTS:
        dims = "x".join(str(d) for d in shape)
        raise DatasetError(
            f"{name}: absurd header: {dims} elements is more than the limit of "
            f"{MAX_ELEMENTS}; refusing to allocate it"
        )
    return _Header(code, shape)


def _check_length(header: _Header, have: int, name: str, *, exact: bool = True) -> None:
    """Raise unless ``have`` bytes of data (after the header) is what the header announces."""
    if have < header.nbytes:
        raise DatasetError(f"{name}: truncated: header says {header.describe()}, file has {have}")
    if have > header.nbytes:
        count = str(have) if exact else "more"
        raise DatasetError(
            f"{name}: trailing data: header says {header.describe()}, file has {count}"
        )


def _new_array(header: _Header) -> tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]:
    """Allocate the native-endian result and a flat byte view of it to fill."""
    out = np.empty(header.shape, dtype=header.dtype.newbyteorder("="))
    return out, out.reshape(-1).view(np.uint8)


def _finish(header: _Header, out: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Turn the big-endian bytes copied into ``out`` into native values, in place."""
    if header.dtype.byteorder == ">":  # "=" on a big-endian machine: nothing to do
        out.byteswap(inplace=True)
    return out


def _reader(stream: _Readable) -> Callable[[int], bytes]:
    """Return a ``read(n)`` that keeps reading until it has n bytes or the stream ends."""

    def read(n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            part = stream.read(n)
            if not part:
                break
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    return read


def _read_stream(stream: _Readable, name: str, limit: int, what: str) -> npt.NDArray[Any]:
    """Parse an IDX stream of unknown length, reading no more than the header says + 1 byte.

    ``limit`` is the most data the source could hold (``what`` describes the source).
    """
    read = _reader(stream)
    header = _parse_header(read, name)
    if header.nbytes > limit:
        raise DatasetError(
            f"{name}: truncated: header says {header.describe()}, more than {what} can hold"
        )
    # Memory grows only with the data actually there, so a lying header costs nothing.
    chunks: list[bytes] = []
    have, want = 0, header.nbytes + 1
    while have < want:
        chunk = read(min(_CHUNK, want - have))
        if not chunk:
            break
        chunks.append(chunk)
        have += len(chunk)
    _check_length(header, have, name, exact=False)
    out, flat = _new_array(header)
    pos = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        flat[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        pos += len(chunk)
    return _finish(header, out)


def _read_gzip(fileobj: IO[bytes], name: str, compressed_size: int) -> npt.NDArray[Any]:
    """Parse a gzipped IDX stream, turning every kind of gzip corruption into DatasetError."""
    limit = _GZIP_MAX_RATIO * compressed_size
    what = f"a gzip file of {compressed_size} bytes"
    try:
        with gzip.GzipFile(fileobj=fileobj, mode="rb") as gz:
            return _read_stream(gz, name, limit, what)
    except EOFError as e:
        raise DatasetError(f"{name}: truncated gzip stream: {e}") from e
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DatasetError(f"{name}: corrupt gzip stream: {e}") from e
    except OSError as e:
        raise DatasetError(f"{name}: cannot read: {e}") from e


def _read_raw_file(f: io.BufferedReader, name: str, file_size: int) -> npt.NDArray[Any]:
    """Parse an uncompressed IDX regular file, whose size is known before reading the data."""
    header = _parse_header(_reader(f), name)
    _check_length(header, file_size - header.size, name)
    out, flat = _new_array(header)
    pos = 0
    while pos < flat.size:
        n = f.readinto(flat[pos : pos + _CHUNK].data)
        if not n:
            raise DatasetError(f"{name}: truncated: file shrank while being read")
        pos += n
    if f.read(1):
        raise DatasetError(f"{name}: trailing data: file grew while being read")
    return _finish(header, out)


def _read_scaled(
    stream: _Readable, name: str, limit: int, what: str, dtype: np.dtype[Any], divisor: float
) -> npt.NDArray[Any]:
    """Parse an unsigned-byte IDX stream straight into floats divided by ``divisor``, a chunk at
    a time, so that the bytes are never all held at once beside the floats."""
    read = _reader(stream)
    header = _parse_header(read, name)
    if header.code != 0x08:
        raise DatasetError(f"{name}: expected unsigned bytes (type 0x08), got {header.describe()}")
    if header.nbytes > limit:
        raise DatasetError(
            f"{name}: truncated: header says {header.describe()}, more than {what} can hold"
        )
    # np.empty touches no memory: a header that lies about the length costs only what arrives.
    out = np.empty(header.shape, dtype=dtype)
    flat = out.reshape(-1)
    have = 0
    while have <= header.nbytes:
        chunk = read(min(_CHUNK, header.nbytes + 1 - have))
        if not chunk:
            break
        if have + len(chunk) > header.nbytes:
            have += len(chunk)
            break
        values = np.frombuffer(chunk, dtype=np.uint8)
        np.divide(values, divisor, out=flat[have : have + len(chunk)], dtype=dtype)
        have += len(chunk)
    _check_length(header, have, name, exact=False)
    return out


def read_idx_scaled(
    path: str | os.PathLike[str], dtype: npt.DTypeLike = np.float64, divisor: float = 255.0
) -> npt.NDArray[Any]:
    """Read an unsigned-byte IDX file (raw or gzipped) directly into a float array of
    ``dtype`` holding each byte divided by ``divisor`` (by default, pixels in [0, 1]).

    The result equals ``read_idx(path).astype(dtype) / divisor``, but the bytes and the floats
    are never held at once, which keeps the peak memory of loading MNIST at the size of the
    float data.
    """
    name = os.fsdecode(path)
    dt = np.dtype(dtype)
    with _open(path, name) as (f, size):
        try:
            magic = f.read(2)
            f.seek(0)
            if magic == _GZIP_MAGIC:
                limit = _GZIP_MAX_RATIO * size
                what = f"a gzip file of {size} bytes"
                try:
                    with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                        return _read_scaled(gz, name, limit, what, dt, divisor)
                except EOFError as e:
                    raise DatasetError(f"{name}: truncated gzip stream: {e}") from e
                except (gzip.BadGzipFile, zlib.error) as e:
                    raise DatasetError(f"{name}: corrupt gzip stream: {e}") from e
            return _read_scaled(f, name, size, f"a file of {size} bytes", dt, divisor)
        except OSError as e:
            raise DatasetError(f"{name}: cannot read: {e.strerror or e}") from e


def parse_idx(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> npt.NDArray[Any]:
    """Parse an IDX file held in memory, raw or gzipped, into a native-endian array.

    ``name`` is used in the messages of the ``DatasetError`` raised for malformed data.
    """
    view = memoryview(data).cast("B")
    if bytes(view[:2]) == _GZIP_MAGIC:
        return _read_gzip(io.BytesIO(view), name, len(view))
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        part = bytes(view[pos : pos + n])
        pos += len(part)
        return part

    header = _parse_header(read, name)
    _check_length(header, len(view) - header.size, name)
    out, flat = _new_array(header)
    if header.nbytes:
        flat[:] = np.frombuffer(view, dtype=np.uint8, count=header.nbytes, offset=header.size)
    return _finish(header, out)


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """Read an IDX file, raw or gzipped, into a native-endian, C-contiguous array it owns.

    Raises ``DatasetError``, naming the file, when it is missing, malformed or corrupt.
    """
    name = os.fsdecode(path)
    with _open(path, name) as (f, size):
        try:
            magic = f.read(2)
            f.seek(0)
            if magic == _GZIP_MAGIC:
                return _read_gzip(f, name, size)
            return _read_raw_file(f, name, size)
        except OSError as e:
            raise DatasetError(f"{name}: cannot read: {e.strerror or e}") from e


@contextmanager
def _open(path: str | os.PathLike[str], name: str) -> Iterator[tuple[io.BufferedReader, int]]:
    """The open regular file and its size; every way of failing is a ``DatasetError``."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with block below
    except FileNotFoundError as e:
        raise DatasetError(f"{name}: no such file") from e
    except IsADirectoryError as e:
        raise DatasetError(f"{name}: is a directory, not an IDX file") from e
    except OSError as e:
        raise DatasetError(f"{name}: cannot open: {e.strerror or e}") from e
    with f:
        try:
            st = os.fstat(f.fileno())
        except OSError as e:
            raise DatasetError(f"{name}: cannot read: {e.strerror or e}") from e
        if not stat.S_ISREG(st.st_mode):
            raise DatasetError(f"{name}: not a regular file")
        yield f, st.st_size
