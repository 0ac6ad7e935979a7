"""Tests of digitnet.datasets: the IDX reader, finding and loading MNIST, and downloading it.

The real MNIST files are used only when the DIGITNET_DATA environment variable names them;
everything else runs on small files written here.  Nothing contacts any address but 127.0.0.1.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import re
import struct
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import platformdirs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitnet.datasets import (
    ArrayData,
    DatasetError,
    MnistSplits,
    idx,
    load_arrays,
    load_data,
    load_data_wrapper,
    mnist,
    parse_idx,
    read_idx,
)
from digitnet.errors import DigitnetError

# The real data's location, read once before the autouse fixture below clears the variable.
REAL_DATA = os.environ.get("DIGITNET_DATA")
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = mnist.FILES
TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
# A loopback port where nothing listens: any download attempted by mistake fails at once.
DEAD_MIRROR = "http://127.0.0.1:9/"


# ----------------------------------------------------------------------------- helpers


def idx_bytes(array: npt.NDArray[Any]) -> bytes:
    """Encode an array as an uncompressed IDX file."""
    code = TYPE_CODES[array.dtype.kind + str(array.dtype.itemsize)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    """Encode just an IDX header."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def write(path: Path, data: bytes, gz: bool) -> Path:
    """Write ``data`` to ``path``, gzipped if asked (the name is left as given)."""
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def make_images(n: int, rows: int = 4, cols: int = 3, seed: int = 0) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, (n, rows, cols), dtype=np.uint8)


def make_labels(n: int, seed: int = 1) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 10, n, dtype=np.uint8)


Arrays = dict[str, npt.NDArray[Any]]


def synthetic(n_train: int = 14, n_test: int = 5, rows: int = 4, cols: int = 3) -> Arrays:
    return {
        mnist.TRAIN_IMAGES: make_images(n_train, rows, cols, seed=2),
        mnist.TRAIN_LABELS: make_labels(n_train, seed=3),
        mnist.TEST_IMAGES: make_images(n_test, rows, cols, seed=4),
        mnist.TEST_LABELS: make_labels(n_test, seed=5),
    }


def write_dataset(
    directory: Path, arrays: Arrays | None = None, gz: bool | None = True, names: Any = NAMES
) -> Arrays:
    """Write a small data set in MNIST's format; ``gz=None`` mixes gzipped and raw files."""
    arrays = synthetic() if arrays is None else arrays
    directory.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        zipped = bool(i % 2) if gz is None else gz
        write(directory / (f"{name}.gz" if zipped else name), idx_bytes(arrays[name]), zipped)
    return arrays


def sha256_of(array: npt.NDArray[Any]) -> str:
    return hashlib.sha256(idx_bytes(array)).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@contextmanager
def serve(
    handler: type[http.server.BaseHTTPRequestHandler], directory: Path | None = None
) -> Iterator[str]:
    """Run an HTTP server on 127.0.0.1 in a thread; yield its base URL."""
    factory: Callable[..., http.server.BaseHTTPRequestHandler] = (
        functools.partial(handler, directory=str(directory)) if directory else handler
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class FileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory quietly and records the paths asked for."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def file_handler() -> type[FileHandler]:
    """A FileHandler subclass with its own request log."""
    return type("Handler", (FileHandler,), {"requests": []})


class DyingHandler(http.server.BaseHTTPRequestHandler):
    """Promises a whole file, sends half of it, then drops the connection."""

    def do_GET(self) -> None:
        body = gzip.compress(bytes(range(256)) * 64, mtime=0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class CutHandler(DyingHandler):
    """Like DyingHandler but without a Content-Length, so only the gzip stream shows the cut."""

    def do_GET(self) -> None:
        body = gzip.compress(np.arange(5000, dtype=np.uint32).tobytes(), mtime=0)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Give every test its own empty cache, no DIGITNET_DATA and a mirror that cannot answer."""
    monkeypatch.delenv(mnist.DATA_ENV, raising=False)
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache-root"))
    monkeypatch.setenv(mnist.MIRRORS_ENV, DEAD_MIRROR)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path / "cache-root" / "mnist"


@pytest.fixture
def real_data(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real MNIST directory, given to the loaders through DIGITNET_DATA."""
    if not REAL_DATA:
        pytest.skip("DIGITNET_DATA is not set: the real MNIST files are not available")
    monkeypatch.setenv(mnist.DATA_ENV, REAL_DATA)
    return REAL_DATA


@pytest.fixture
def small_checksums(monkeypatch: pytest.MonkeyPatch) -> Arrays:
    """Small data whose checksums replace the real ones in mnist.SHA256."""
    arrays = synthetic()
    for name in NAMES:
        monkeypatch.setitem(mnist.SHA256, name, sha256_of(arrays[name]))
    return arrays


# ----------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", [">u1", ">i1", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_every_type(tmp_path: Path, dtype: str, gz: bool) -> None:
    values = np.arange(-30, 30).reshape(3, 4, 5).astype(dtype)
    array = read_idx(write(tmp_path / "f.idx", idx_bytes(values), gz))
    assert array.shape == (3, 4, 5)
    assert array.dtype == np.dtype(dtype).newbyteorder("=")
    assert array.dtype.isnative
    assert array.flags.c_contiguous
    assert array.flags.owndata
    assert array.flags.writeable
    np.testing.assert_array_equal(array, values)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_accepts_str_and_empty_dimensions(tmp_path: Path, gz: bool) -> None:
    path = write(tmp_path / "empty", idx_header(0x08, (0, 28, 28)), gz)
    array = read_idx(str(path))
    assert array.shape == (0, 28, 28)
    assert array.dtype == np.uint8


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    values = make_images(3)
    zipped = write(tmp_path / "looks-raw", idx_bytes(values), gz=True)
    raw = write(tmp_path / "looks-zipped.gz", idx_bytes(values), gz=False)
    np.testing.assert_array_equal(read_idx(zipped), values)
    np.testing.assert_array_equal(read_idx(raw), values)


def test_parse_idx_matches_read_idx(tmp_path: Path) -> None:
    values = np.linspace(-1, 1, 24).reshape(2, 12)
    data = idx_bytes(values)
    np.testing.assert_array_equal(parse_idx(data), values)
    np.testing.assert_array_equal(parse_idx(gzip.compress(data)), values)
    np.testing.assert_array_equal(
        parse_idx(bytearray(data), "x"), read_idx(write(tmp_path / "x", data, False))
    )
    assert parse_idx(data).flags.owndata


def test_dataset_error_is_a_digitnet_error() -> None:
    assert issubclass(DatasetError, DigitnetError)


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty file"),
    ("short magic", b"\x00\x00\x08", "truncated header"),
    (
        "bad magic",
        b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00",
        "bad magic number 0x12340801",
    ),
    (
        "unknown type",
        b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00",
        "unknown IDX type code 0x0a",
    ),
    ("no dimensions", b"\x00\x00\x08\x00", "bad number of dimensions 0"),
    (
        "too many dimensions",
        b"\x00\x00\x08\x40" + b"\x00\x00\x00\x01" * 64,
        "bad number of dimensions 64",
    ),
    (
        "cut dimensions",
        b"\x00\x00\x08\x03" + struct.pack(">2I", 5, 4),
        "truncated header: 3 dimensions",
    ),
    (
        "truncated data",
        idx_header(0x08, (3, 4, 5)) + bytes(10),
        "truncated: header says 3x4x5 = 60 bytes of data, file has 10",
    ),
    (
        "truncated int32 data",
        idx_header(0x0C, (2, 3)) + bytes(20),
        "truncated: header says 2x3 int32 = 24 bytes of data, file has 20",
    ),
    (
        "trailing data",
        idx_header(0x08, (3, 4, 5)) + bytes(61),
        "trailing data: header says 3x4x5 = 60 bytes of data, file has 61",
    ),
    ("terabytes", idx_header(0x08, (2**31, 2**31, 28)), "absurd header: 2147483648x2147483648x28"),
    ("overflowing zero", idx_header(0x0E, (0, 2**32 - 1, 2**32 - 1)), "absurd header"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    ("data", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_read_idx_rejects_malformed_files(
    tmp_path: Path, data: bytes, message: str, gz: bool
) -> None:
    path = write(tmp_path / "train-images-idx3-ubyte.gz", data, gz)
    if gz and message.startswith("trailing data"):
        message = message.replace("has 61", "has more")  # gzip is read no further than that
    with pytest.raises(DatasetError, match="^" + re.escape(str(path))) as info:
        read_idx(path)
    assert message in str(info.value)
    with pytest.raises(DatasetError) as info:
        parse_idx(path.read_bytes(), "in-memory")
    assert message in str(info.value)


def gz_bytes() -> bytes:
    return gzip.compress(idx_bytes(make_images(20, 28, 28)), mtime=0)


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gz_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_stream_cut_inside_its_trailer(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gz_bytes()[:-3])
    with pytest.raises(DatasetError, match="gzip stream"):
        read_idx(path)


def test_corrupt_gzip_crc(tmp_path: Path) -> None:
    data = bytearray(gz_bytes())
    data[-8] ^= 0xFF  # the CRC-32 is the 4 bytes before the 4-byte length at the end
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match="corrupt gzip stream") as info:
        read_idx(path)
    assert "CRC" in str(info.value)
    assert str(path) in str(info.value)


def test_corrupt_deflate_data(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(bytes(range(256)) * 100, mtime=0))
    data[15:25] = b"\xff" * 10
    path = tmp_path / "labels.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match="corrupt gzip stream: Error -3"):
        read_idx(path)


def test_trailing_garbage_after_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(make_labels(10)), mtime=0) + b"garbage!")
    with pytest.raises(DatasetError, match="gzip"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("shape", [(2**31, 2**31, 28), (2**30, 2), (2**14, 2**14, 8)])
def test_absurd_headers_fail_fast_without_allocating(
    tmp_path: Path, shape: tuple[int, ...], gz: bool
) -> None:
    # (2**30, 2) and (2**14, 2**14, 8) are within the element limit but far beyond what the
    # small file holds: they must be refused from the file's size, before allocating.
    path = write(tmp_path / "huge", idx_header(0x08, shape) + bytes(1000), gz)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"absurd header|truncated"):
            read_idx(path)
        with pytest.raises(DatasetError, match=r"absurd header|truncated"):
            parse_idx(path.read_bytes())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_read_idx_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file") as info:
        read_idx(tmp_path / "nothing-here")
    assert "nothing-here" in str(info.value)
    with pytest.raises(DatasetError, match="is a directory"):
        read_idx(tmp_path)


# ----------------------------------------------------------------------------- Hypothesis


def check_parse(blob: bytes) -> None:
    """parse_idx returns an array matching its header, or raises DatasetError: nothing else."""
    try:
        array = parse_idx(blob, "fuzz")
    except DatasetError:
        return
    data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    code, ndim = data[2], data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = {v: k for k, v in TYPE_CODES.items()}[code]
    assert data[:2] == b"\x00\x00"
    assert array.shape == shape
    assert array.dtype == np.dtype(dtype)
    assert array.dtype.isnative
    assert array.flags.c_contiguous
    assert array.flags.owndata
    assert array.size == int(np.prod(shape))
    assert array.astype(np.dtype(dtype).newbyteorder(">")).tobytes() == data[4 + 4 * ndim :]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=80),
        st.binary(max_size=80).map(lambda b: b"\x00\x00" + b),
        st.binary(max_size=80).map(lambda b: gzip.compress(b, mtime=0)),
        st.binary(max_size=80).map(lambda b: b"\x1f\x8b" + b),
    )
)
def test_parse_idx_on_random_bytes(blob: bytes) -> None:
    check_parse(blob)


@st.composite
def valid_idx(draw: st.DrawFn) -> bytes:
    dtype = draw(st.sampled_from(sorted(TYPE_CODES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
    size = int(np.prod(shape)) * int(dtype[1:])
    raw = draw(st.binary(min_size=size, max_size=size))
    values = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(">")).reshape(shape)
    return idx_bytes(values)


Mutation = Callable[[bytearray], None]


@st.composite
def mutation(draw: st.DrawFn) -> Mutation:
    kind = draw(st.sampled_from(["flip", "truncate", "dim", "append", "byte", "delete"]))
    position = draw(st.integers(0, 200))
    if kind == "flip":
        bit = draw(st.integers(0, 7))

        def flip(b: bytearray) -> None:
            if b:
                b[position % len(b)] ^= 1 << bit

        return flip
    if kind == "truncate":
        return lambda b: b.__delitem__(slice(position % (len(b) + 1), None))
    if kind == "dim":
        value = draw(st.sampled_from([0, 1, 2, 3, 5, 255, 2**16, 2**31, 2**32 - 1]))
        index = draw(st.integers(0, 3))

        def set_dim(b: bytearray) -> None:
            if len(b) >= 8 + 4 * index:
                b[4 + 4 * index : 8 + 4 * index] = struct.pack(">I", value)

        return set_dim
    if kind == "append":
        extra = draw(st.binary(min_size=1, max_size=8))
        return lambda b: b.extend(extra)
    if kind == "byte":  # rewrite one byte of the magic number: type code or ndim
        value = draw(st.integers(0, 255))
        index = draw(st.integers(0, 3))

        def set_byte(b: bytearray) -> None:
            if len(b) > index:
                b[index] = value

        return set_byte
    length = draw(st.integers(1, 8))
    return lambda b: b.__delitem__(slice(position % (len(b) + 1), position % (len(b) + 1) + length))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    valid_idx(),
    st.lists(mutation(), max_size=3),
    st.booleans(),
    st.lists(mutation(), max_size=2),
)
def test_parse_idx_on_mutated_files(
    data: bytes, before: list[Mutation], zipped: bool, after: list[Mutation]
) -> None:
    blob = bytearray(data)
    for mutate in before:
        mutate(blob)
    if zipped:
        blob = bytearray(gzip.compress(bytes(blob), mtime=0))
        for mutate in after:
            mutate(blob)
    check_parse(bytes(blob))


# ----------------------------------------------------------------------------- loading a directory


@pytest.mark.parametrize("gz", [True, False, None], ids=["gz", "raw", "mixed"])
def test_load_data_from_a_directory(tmp_path: Path, gz: bool | None) -> None:
    arrays = write_dataset(tmp_path / "data", gz=gz)
    for path in (tmp_path / "data", str(tmp_path / "data")):
        (x_train, y_train), (x_test, y_test) = load_data(path)
        np.testing.assert_array_equal(x_train, arrays[mnist.TRAIN_IMAGES])
        np.testing.assert_array_equal(y_train, arrays[mnist.TRAIN_LABELS])
        np.testing.assert_array_equal(x_test, arrays[mnist.TEST_IMAGES])
        np.testing.assert_array_equal(y_test, arrays[mnist.TEST_LABELS])
        assert x_train.dtype == y_train.dtype == np.uint8
        assert x_train.shape == (14, 4, 3)
        assert y_test.shape == (5,)


def test_raw_file_is_preferred_when_both_forms_exist(tmp_path: Path) -> None:
    arrays = write_dataset(tmp_path, gz=False)
    (tmp_path / f"{mnist.TRAIN_LABELS}.gz").write_bytes(b"not even gzip")
    (_, y_train), _ = load_data(tmp_path)
    np.testing.assert_array_equal(y_train, arrays[mnist.TRAIN_LABELS])


def test_where_the_data_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    arg, env = tmp_path / "arg", tmp_path / "env"
    write_dataset(arg, synthetic(n_train=11))
    write_dataset(env, synthetic(n_train=12))
    write_dataset(isolated, synthetic(n_train=13))
    assert mnist.cache_dir() == isolated
    assert mnist.data_dir() == isolated
    assert len(load_data()[0][0]) == 13
    monkeypatch.setenv(mnist.DATA_ENV, str(env))
    assert mnist.data_dir() == env
    assert len(load_data()[0][0]) == 12
    assert mnist.data_dir(arg) == arg
    assert len(load_data(arg)[0][0]) == 11


def test_cache_dir_defaults_to_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.CACHE_ENV)
    assert mnist.cache_dir() == Path(platformdirs.user_cache_dir("digitnet", False)) / "mnist"


def test_nonexistent_path_and_data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetError, match="no such directory"):
        load_data(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="not a directory"):
        load_data(write(tmp_path / "file.txt", b"", False))
    monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match=r"DIGITNET_DATA=.*nowhere: no such directory"):
        mnist.data_dir()


def test_keras_default_npz_name_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    write_dataset(isolated, synthetic(n_train=9))
    assert len(load_data("mnist.npz")[0][0]) == 9


def test_wrong_image_dimensions(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays[mnist.TRAIN_IMAGES] = arrays[mnist.TRAIN_IMAGES].reshape(14, 12)
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match="expected 3-D unsigned-byte images") as info:
        load_data(tmp_path)
    assert f"{mnist.TRAIN_IMAGES}.gz" in str(info.value)


@pytest.mark.parametrize(
    "labels", [np.zeros((5, 2), np.uint8), np.zeros(5, np.int32)], ids=["2-D", "int32"]
)
def test_wrong_labels(tmp_path: Path, labels: npt.NDArray[Any]) -> None:
    arrays = synthetic()
    arrays[mnist.TEST_LABELS] = labels
    write_dataset(tmp_path, arrays, gz=False)
    with pytest.raises(DatasetError, match="expected 1-D unsigned-byte labels") as info:
        load_data(tmp_path)
    assert str(tmp_path / mnist.TEST_LABELS) in str(info.value)


def test_float_images_are_refused(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays[mnist.TEST_IMAGES] = arrays[mnist.TEST_IMAGES].astype(np.float32)
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match="float32"):
        load_data(tmp_path)


def test_mismatched_counts_name_both_files(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays[mnist.TRAIN_LABELS] = make_labels(13)
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match=r"14 images but .* 13 labels") as info:
        load_data(tmp_path)
    assert f"{mnist.TRAIN_IMAGES}.gz" in str(info.value)
    assert f"{mnist.TRAIN_LABELS}.gz" in str(info.value)


def test_mismatched_image_sizes(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays[mnist.TEST_IMAGES] = make_images(5, 5, 5)
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match=r"4x3 images but .* 5x5 images"):
        load_data(tmp_path)


def test_corrupt_file_in_a_directory_is_named(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    path = tmp_path / f"{mnist.TEST_IMAGES}.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DatasetError, match="gzip") as info:
        load_data(tmp_path)
    assert str(path) in str(info.value)


def test_missing_files_in_a_named_directory_are_not_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = file_handler()
    write_dataset(tmp_path / "data", names=NAMES[:2])
    with serve(handler, tmp_path / "data") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(DatasetError) as info:
            load_data(tmp_path / "data")
        monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path / "data"))
        with pytest.raises(DatasetError):
            load_arrays()
    assert handler.requests == []
    message = str(info.value)
    assert f"{mnist.TEST_IMAGES}[.gz], {mnist.TEST_LABELS}[.gz]" in message
    assert mnist.TRAIN_IMAGES not in message.splitlines()[0]
    assert str(tmp_path / "data") in message
    for way in ("path argument", "DIGITNET_DATA", str(mnist.cache_dir())):
        assert way in message


def test_nothing_found_and_downloads_disabled(tmp_path: Path, isolated: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_data_wrapper(download=False)
    message = str(info.value)
    assert ", ".join(f"{name}[.gz]" for name in NAMES) in message
    assert "download=False" in message
    assert "1. pass the directory" in message
    assert "2. set the environment variable DIGITNET_DATA" in message
    assert f"3. place them in the cache directory {isolated}" in message
    assert not isolated.exists()


def test_offline_gives_one_clear_error(isolated: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_data()
    message = str(info.value)
    assert message.startswith("MNIST data not found: missing train-images-idx3-ubyte[.gz]")
    assert f"{DEAD_MIRROR}{mnist.TRAIN_IMAGES}.gz" in message
    assert "Downloading them failed" in message
    assert str(isolated) in message
    assert "path argument" in message
    assert "DIGITNET_DATA" in message
    assert listing(isolated) == []


# ----------------------------------------------------------------------------- .npz files


def keras_npz(path: Path, arrays: Arrays | None = None, **override: Any) -> Arrays:
    arrays = synthetic() if arrays is None else arrays
    content = {
        "x_train": arrays[mnist.TRAIN_IMAGES],
        "y_train": arrays[mnist.TRAIN_LABELS],
        "x_test": arrays[mnist.TEST_IMAGES],
        "y_test": arrays[mnist.TEST_LABELS],
    }
    content.update(override)
    content = {k: v for k, v in content.items() if v is not None}
    with path.open("wb") as f:
        np.savez_compressed(f, **content)
    return arrays


def test_npz_in_a_directory_and_as_a_file(tmp_path: Path) -> None:
    arrays = keras_npz(tmp_path / "mnist.npz")
    for path in (tmp_path, tmp_path / "mnist.npz"):
        (x_train, _y_train), (_x_test, y_test) = load_data(path)
        np.testing.assert_array_equal(x_train, arrays[mnist.TRAIN_IMAGES])
        np.testing.assert_array_equal(y_test, arrays[mnist.TEST_LABELS])
    splits = load_arrays(tmp_path / "mnist.npz", validation_size=4)
    assert splits.train.x.shape == (10, 12)


def test_npz_with_pickled_objects_is_refused_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.mkdir, (str(marker),))

    objects = np.empty(3, dtype=object)
    objects[:] = [Exploit(), Exploit(), Exploit()]
    keras_npz(tmp_path / "mnist.npz", y_train=objects)
    with pytest.raises(DatasetError, match="y_train holds pickled Python objects"):
        load_data(tmp_path / "mnist.npz")
    assert not marker.exists()


def test_npz_missing_a_key(tmp_path: Path) -> None:
    keras_npz(tmp_path / "mnist.npz", x_test=None)
    with pytest.raises(DatasetError, match=r"mnist\.npz: missing key\(s\) x_test"):
        load_data(tmp_path)


def test_npz_checked_like_idx(tmp_path: Path) -> None:
    keras_npz(tmp_path / "a.npz", y_train=np.zeros(14, np.int64))
    with pytest.raises(DatasetError, match=r"a\.npz\[y_train\]: expected 1-D unsigned-byte"):
        load_data(tmp_path / "a.npz")
    keras_npz(tmp_path / "b.npz", y_test=np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match=r"b\.npz\[x_test\] holds 5 images but .*4 labels"):
        load_data(tmp_path / "b.npz")


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PK\x03\x04broken zip"])
def test_npz_that_is_not_an_archive(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "mnist.npz").write_bytes(content)
    with pytest.raises(DatasetError, match=r"mnist\.npz"):
        load_data(tmp_path)


def test_npy_named_npz(tmp_path: Path) -> None:
    with (tmp_path / "x.npz").open("wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(DatasetError, match=r"single \.npy array"):
        load_data(tmp_path / "x.npz")


# ----------------------------------------------------------------------------- array forms


def test_load_data_wrapper_on_small_data(tmp_path: Path) -> None:
    arrays = write_dataset(tmp_path)
    training, validation, test = load_data_wrapper(tmp_path, validation_size=4)
    assert (len(training), len(validation), len(test)) == (10, 4, 5)
    images, labels = arrays[mnist.TRAIN_IMAGES], arrays[mnist.TRAIN_LABELS]
    for i, (x, y) in enumerate(training):
        assert x.shape == (12, 1)
        assert x.dtype == np.float64
        np.testing.assert_array_equal(x, images[i].reshape(12, 1) / 255)
        assert y.shape == (10, 1)
        assert y.dtype == np.float64
        assert y.sum() == 1.0
        assert y[labels[i], 0] == 1.0
    for i, (x, label) in enumerate(validation):
        np.testing.assert_array_equal(x, images[10 + i].reshape(12, 1) / 255)
        assert type(label) is int
        assert label == labels[10 + i]
    x, label = test[-1]
    np.testing.assert_array_equal(x, arrays[mnist.TEST_IMAGES][-1].reshape(12, 1) / 255)
    assert label == arrays[mnist.TEST_LABELS][-1]
    with pytest.raises(ValueError, match="validation_size"):
        load_data_wrapper(tmp_path)  # only 14 training images: 10,000 cannot be set aside


def test_load_data_wrapper_needs_ten_classes(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays[mnist.TEST_LABELS] = np.array([0, 1, 2, 10, 3], np.uint8)
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match=r"test labels must lie in 0..9.*found 10"):
        load_data_wrapper(tmp_path, validation_size=2)
    load_data(tmp_path)  # the other loaders do not care
    load_arrays(tmp_path, validation_size=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, "float32"])
def test_load_arrays_on_small_data(tmp_path: Path, dtype: Any) -> None:
    arrays = write_dataset(tmp_path)
    splits = load_arrays(tmp_path, dtype=dtype, validation_size=3)
    assert isinstance(splits, MnistSplits)
    assert isinstance(splits.train, ArrayData)
    images = arrays[mnist.TRAIN_IMAGES].reshape(14, 12)
    for part, expected_x, expected_y in (
        (splits.train, images[:11], arrays[mnist.TRAIN_LABELS][:11]),
        (splits.validation, images[11:], arrays[mnist.TRAIN_LABELS][11:]),
        (splits.test, arrays[mnist.TEST_IMAGES].reshape(5, 12), arrays[mnist.TEST_LABELS]),
    ):
        x, y = part
        assert x.dtype == np.dtype(dtype)
        assert x.flags.c_contiguous
        assert y.dtype == np.int64
        assert y.shape == (len(x),)
        np.testing.assert_allclose(x, expected_x / 255, rtol=1e-6)
        np.testing.assert_array_equal(y, expected_y)


def test_load_arrays_without_validation(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    splits = load_arrays(tmp_path, validation_size=0)
    assert splits.train.x.shape == (14, 12)
    assert splits.validation.x.shape == (0, 12)
    assert splits.validation.y.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dtype": np.int32}, "float64 or float32"),
        ({"dtype": np.float16}, "float64 or float32"),
        ({"validation_size": -1}, "negative"),
        ({"validation_size": 15}, "between 0 and the 14"),
    ],
)
def test_load_arrays_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    write_dataset(tmp_path)
    with pytest.raises(ValueError, match=match):
        load_arrays(tmp_path, **kwargs)


# ----------------------------------------------------------------------------- downloading


def serve_dataset(directory: Path, arrays: Arrays) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        write(directory / f"{name}.gz", idx_bytes(arrays[name]), gz=True)


def test_download_skips_a_failing_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, small_checksums: Arrays
) -> None:
    serve_dataset(tmp_path / "good", small_checksums)
    (tmp_path / "empty").mkdir()
    bad, good = file_handler(), file_handler()
    with serve(bad, tmp_path / "empty") as bad_url, serve(good, tmp_path / "good") as good_url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, f"{bad_url} {good_url.rstrip('/')}")
        (x_train, y_train), (_x_test, _) = load_data()
    assert bad.requests == [f"/{name}.gz" for name in NAMES]
    assert good.requests == [f"/{name}.gz" for name in NAMES]
    assert listing(isolated) == sorted(f"{name}.gz" for name in NAMES)
    np.testing.assert_array_equal(x_train, small_checksums[mnist.TRAIN_IMAGES])
    np.testing.assert_array_equal(y_train, small_checksums[mnist.TRAIN_LABELS])
    # Now it is cached: no more downloads.
    monkeypatch.setenv(mnist.MIRRORS_ENV, DEAD_MIRROR)
    assert load_arrays(validation_size=4).train.x.shape == (10, 12)


def test_download_only_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, small_checksums: Arrays
) -> None:
    serve_dataset(tmp_path / "good", small_checksums)
    write_dataset(isolated, small_checksums, gz=False, names=NAMES[:2])
    handler = file_handler()
    with serve(handler, tmp_path / "good") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        load_data()
    assert handler.requests == [f"/{name}.gz" for name in NAMES[2:]]


def test_download_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, small_checksums: Arrays
) -> None:
    serve_dataset(tmp_path / "good", small_checksums)
    handler = file_handler()
    with serve(handler, tmp_path / "good") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(DatasetError, match="download=False"):
            load_arrays(download=False)
    assert handler.requests == []


def test_checksum_mismatch_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    serve_dataset(tmp_path / "good", synthetic())  # real checksums: these files cannot match
    with serve(file_handler(), tmp_path / "good") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(DatasetError, match="checksum mismatch") as info:
            load_data()
    assert mnist.SHA256[mnist.TRAIN_IMAGES] in str(info.value)
    assert listing(isolated) == []


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (DyingHandler, r"transfer cut short: got \d+ of \d+ bytes"),
        (CutHandler, "not a valid gzip file: Compressed file ended"),
    ],
    ids=["length", "no-length"],
)
def test_server_dying_mid_transfer_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, isolated: Path, handler: type[DyingHandler], message: str
) -> None:
    with serve(handler) as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(DatasetError, match=message) as info:
            load_data()
    assert str(info.value).startswith("MNIST data not found")
    assert listing(isolated) == []


def test_not_gzip_from_the_server_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    (tmp_path / "srv").mkdir()
    for name in NAMES:
        (tmp_path / "srv" / f"{name}.gz").write_text("<html>not found</html>")
    with serve(file_handler(), tmp_path / "srv") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(DatasetError, match="not a valid gzip file"):
            load_data()
    assert listing(isolated) == []


def test_interrupted_download_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path, small_checksums: Arrays
) -> None:
    import tqdm

    class Interrupting(tqdm.tqdm):  # type: ignore[misc, unused-ignore]
        def update(self, n: float | None = 1) -> bool | None:
            raise KeyboardInterrupt

    monkeypatch.setattr(tqdm, "tqdm", Interrupting)
    serve_dataset(tmp_path / "good", small_checksums)
    with serve(file_handler(), tmp_path / "good") as url:
        monkeypatch.setenv(mnist.MIRRORS_ENV, url)
        with pytest.raises(KeyboardInterrupt):
            load_data()
    assert listing(isolated) == []


# ----------------------------------------------------------------------------- the real data


def test_real_checksums_match_the_table(real_data: str) -> None:
    for name in NAMES:
        content = gzip.decompress((Path(real_data) / f"{name}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == mnist.SHA256[name]


def test_real_load_data(real_data: str) -> None:
    assert mnist.data_dir() == Path(real_data)
    (x_train, y_train), (x_test, y_test) = load_data()
    assert x_train.shape == (60_000, 28, 28)
    assert x_test.shape == (10_000, 28, 28)
    assert y_train.shape == (60_000,)
    assert y_test.shape == (10_000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert x_train.max() == 255
    assert x_train.min() == 0


def test_real_load_data_wrapper(real_data: str) -> None:
    (x_train, y_train), (x_test, y_test) = load_data()
    training, validation, test = load_data_wrapper()
    assert (len(training), len(validation), len(test)) == (50_000, 10_000, 10_000)
    x, y = training[0]
    assert x.shape == (784, 1)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, x_train[0].reshape(784, 1) / 255)
    assert y.shape == (10, 1)
    assert y.sum() == 1.0
    assert y[y_train[0], 0] == 1.0
    x, label = validation[0]
    np.testing.assert_array_equal(x, x_train[50_000].reshape(784, 1) / 255)
    assert label == y_train[50_000]
    assert type(label) is int
    x, label = test[-1]
    np.testing.assert_array_equal(x, x_test[-1].reshape(784, 1) / 255)
    assert label == y_test[-1]
    assert sum(int(np.argmax(y)) == y_train[i] for i, (_, y) in enumerate(training)) == 50_000


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_load_arrays(real_data: str, dtype: type[np.floating[Any]]) -> None:
    splits = load_arrays(dtype=dtype)
    assert splits.train.x.shape == (50_000, 784)
    assert splits.validation.x.shape == (10_000, 784)
    assert splits.test.x.shape == (10_000, 784)
    for x, y in splits:
        assert x.dtype == dtype
        assert x.flags.c_contiguous
        assert y.dtype == np.int64
        assert x.min() >= 0.0
        assert x.max() == 1.0
    labels = np.concatenate([splits.train.y, splits.validation.y])
    assert np.bincount(labels).tolist() == TRAIN_COUNTS
    assert np.bincount(splits.test.y).tolist() == TEST_COUNTS
    whole = load_arrays(dtype=dtype, validation_size=0)
    assert whole.train.x.shape == (60_000, 784)
    assert whole.validation.x.shape == (0, 784)


def test_fashion_mnist_loads_from_its_directory() -> None:
    if not (FASHION_MNIST / f"{mnist.TRAIN_IMAGES}.gz").is_file():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    (x_train, y_train), (x_test, y_test) = load_data(FASHION_MNIST)
    assert x_train.shape == (60_000, 28, 28)
    assert x_test.shape == (10_000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


# ---- reading pixels straight into floats ---------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_read_idx_scaled_equals_reading_then_dividing(
    tmp_path: Path, compressed: bool, dtype: type
) -> None:
    images = np.random.default_rng(0).integers(0, 256, (300, 28, 28), dtype=np.uint8)
    data = idx_bytes(images)
    path = tmp_path / ("images.gz" if compressed else "images")
    path.write_bytes(gzip.compress(data) if compressed else data)
    scaled = idx.read_idx_scaled(path, dtype)
    assert scaled.dtype == dtype
    np.testing.assert_array_equal(scaled, idx.read_idx(path).astype(dtype) / 255)


@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx_scaled_refuses_what_read_idx_refuses(tmp_path: Path, compressed: bool) -> None:
    data = idx_bytes(np.zeros((10, 4, 4), dtype=np.uint8))
    for bad, message in [(data[:-5], "truncated"), (data + b"x", "trailing data")]:
        path = tmp_path / "bad.gz"
        path.write_bytes(gzip.compress(bad) if compressed else bad)
        with pytest.raises(DatasetError, match=message):
            idx.read_idx_scaled(path)
    labels = tmp_path / "labels"
    labels.write_bytes(idx_bytes(np.zeros(10, dtype=np.int32)))
    with pytest.raises(DatasetError, match="unsigned bytes"):
        idx.read_idx_scaled(labels)


def test_load_arrays_never_holds_the_bytes_beside_the_floats(tmp_path: Path) -> None:
    """Peak memory is the float data plus a chunk, not plus a copy of every image's bytes."""
    rng = np.random.default_rng(1)
    for name, n in [("train", 6000), ("t10k", 1000)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (tmp_path / f"{name}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (tmp_path / f"{name}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    tracemalloc.start()
    try:
        splits = mnist.load_arrays(tmp_path, validation_size=1000, download=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    floats = 7000 * 784 * 8
    assert splits.train.x.shape == (5000, 784)
    assert peak < floats + 3 * (1 << 20), f"peak {peak} for {floats} bytes of floats"
