"""Finding, downloading, caching and loading MNIST, or any data set in its format.

The data is looked for, in this order, in:

1. the ``path`` argument of the loaders (a directory, or an ``.npz`` file);
2. the directory (or ``.npz`` file) named by the ``DIGITNET_DATA`` environment variable;
3. the cache directory, :func:`cache_dir`: ``platformdirs.user_cache_dir("digitnet")/mnist``,
   or ``$DIGITNET_CACHE_DIR/mnist`` when that environment variable is set.

A directory holds the four IDX files (``train-images-idx3-ubyte`` and so on, each gzipped
``NAME.gz`` or raw ``NAME``) or Keras's ``mnist.npz``.  Only the cache is ever downloaded into:
the files missing from it are fetched from :data:`MIRRORS` (overridden by the space-separated
base URLs in ``DIGITNET_MNIST_MIRRORS``), their decompressed SHA-256 checked against
:data:`SHA256`, and written atomically.  A directory named by ``path`` or ``DIGITNET_DATA`` is
checked for structure only, so Fashion-MNIST and other data sets in MNIST's format load too.
"""

from __future__ import annotations

import gzip
import hashlib
import operator
import os
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, cast

import numpy as np
import numpy.typing as npt
import platformdirs

from digitnet.datasets.idx import read_idx, read_idx_scaled
from digitnet.errors import DatasetError, UnsuitableNetworkError, _DownloadError

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "FILES",
    "IMAGE_PIXELS",
    "MIRRORS",
    "MIRRORS_ENV",
    "NPZ_NAME",
    "N_CLASSES",
    "SHA256",
    "ArrayData",
    "MnistSplits",
    "cache_dir",
    "check_network",
    "data_dir",
    "load_arrays",
    "load_data",
    "load_data_wrapper",
]

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
#: The four IDX files of a data set in MNIST's format, each found as ``NAME`` or ``NAME.gz``.
FILES: tuple[str, ...] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
_IMAGES = (TRAIN_IMAGES, TEST_IMAGES)
#: Keras's single-file form of MNIST, used when a directory holds it instead of the IDX files.
NPZ_NAME = "mnist.npz"
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

#: SHA-256 of the decompressed content of each downloaded file (independent of recompression).
SHA256: dict[str, str] = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Base URLs the ``NAME.gz`` files are downloaded from, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Environment variable naming a directory to load the data from (never downloaded into).
DATA_ENV = "DIGITNET_DATA"
#: Environment variable replacing digitnet's cache root; MNIST is cached in its ``mnist``.
CACHE_ENV = "DIGITNET_CACHE_DIR"
#: Environment variable replacing :data:`MIRRORS` with space-separated base URLs.
MIRRORS_ENV = "DIGITNET_MNIST_MIRRORS"

_DOWNLOAD_CHUNK = 64 * 1024
_DOWNLOAD_TIMEOUT = 30.0  # seconds without progress before a mirror is given up
_MAX_DOWNLOAD = 1 << 28  # bytes, compressed or decompressed: the real files are far smaller
_CLASSES = 10  # network.py's one-hot vectors have ten entries
#: What a network for MNIST takes and gives: 28x28 pixels in, one output per digit.
IMAGE_PIXELS = 28 * 28
N_CLASSES = _CLASSES

_U8 = npt.NDArray[np.uint8]
_Pair = tuple[npt.NDArray[Any], _U8]  # images (bytes, or floats in [0, 1]) and labels
_FloatArray = npt.NDArray[np.floating[Any]]
_F64 = npt.NDArray[np.float64]


class ArrayData(NamedTuple):
    """One split as arrays: ``x`` is ``(n, pixels)`` floats in [0, 1], ``y`` ``(n,)`` int64."""

    x: _FloatArray
    y: npt.NDArray[np.int64]


class MnistSplits(NamedTuple):
    """The training, validation and test splits returned by :func:`load_arrays`."""

    train: ArrayData
    validation: ArrayData
    test: ArrayData


@dataclass(frozen=True)
class _Source:
    path: Path  # a directory, or an .npz file
    origin: str  # how it was chosen, for messages
    is_cache: bool


def check_network(sizes: Sequence[int], name: str = "net") -> None:
    """Raises :class:`~digitnet.errors.UnsuitableNetworkError` naming ``name`` unless a network
    of layer ``sizes`` reads MNIST digits (784 inputs, 10 outputs)."""
    if sizes[0] != IMAGE_PIXELS or sizes[-1] != N_CLASSES:
        raise UnsuitableNetworkError(
            f"{name}: a network of sizes {list(sizes)} is not for MNIST, which needs "
            f"{IMAGE_PIXELS} inputs and {N_CLASSES} outputs"
        )


def cache_dir() -> Path:
    """Return the directory MNIST is cached in (it may not exist yet).

    That is ``$DIGITNET_CACHE_DIR/mnist`` when the variable is set, else ``mnist`` inside
    ``platformdirs.user_cache_dir("digitnet")``.
    """
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("digitnet", False))
    return base / "mnist"


def _resolve(path: str | os.PathLike[str] | None) -> _Source:
    """Choose where the data comes from: the path argument, DIGITNET_DATA, or the cache."""
    if path is not None:
        text = os.fsdecode(path)
        p = Path(text).expanduser()
        if p.is_dir() or (p.is_file() and p.suffix == ".npz"):
            return _Source(p, "the path argument", False)
        if p.exists():
            raise DatasetError(
                f"{p}: not a directory (give the directory holding the MNIST files, "
                "or an .npz file)"
            )
        # Keras's default path="mnist.npz" names a file in Keras's own cache: when there is no
        # such file here, fall back to the usual places, so Keras code runs unchanged.
        if text != NPZ_NAME:
            raise DatasetError(f"{p}: no such directory (given as the path argument)")
    env = os.environ.get(DATA_ENV)
    if env:
        p = Path(env).expanduser()
        if p.is_dir() or (p.is_file() and p.suffix == ".npz"):
            return _Source(p, f"${DATA_ENV}", False)
        raise DatasetError(f"{DATA_ENV}={env}: no such directory")
    return _Source(cache_dir(), "the cache directory", True)


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory the loaders would read (see the module docstring), not downloading.

    A ``path`` (or ``DIGITNET_DATA``) naming an ``.npz`` file is returned as it is.
    """
    return _resolve(path).path


def _find(directory: Path) -> dict[str, Path | None]:
    """Map each of the four IDX names to the file holding it in ``directory``, if any."""
    found: dict[str, Path | None] = {}
    for name in FILES:
        raw, gz = directory / name, directory / f"{name}.gz"
        found[name] = raw if raw.is_file() else gz if gz.is_file() else None
    return found


def _check_split(
    images: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    image_name: str,
    label_name: str,
    image_dtype: npt.DTypeLike = np.uint8,
) -> tuple[_U8, _U8]:
    """Check one split's structure: 3-D images (unsigned bytes, or ``image_dtype`` when read
    straight into floats), 1-D uint8 labels, as many of each."""
    if images.ndim != 3 or images.dtype != image_dtype:
        raise DatasetError(
            f"{image_name}: expected 3-D unsigned-byte images (count, rows, columns), "
            f"found {images.ndim}-D {images.dtype} data of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(
            f"{label_name}: expected 1-D unsigned-byte labels, "
            f"found {labels.ndim}-D {labels.dtype} data of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{image_name} holds {len(images)} images but {label_name} holds "
            f"{len(labels)} labels: the counts must match"
        )
    return images, labels


def _check_sizes(train: _U8, test: _U8, train_name: str, test_name: str) -> None:
    """Check that training and test images have the same number of rows and columns."""
    if train.shape[1:] != test.shape[1:]:
        tr = "x".join(map(str, train.shape[1:]))
        te = "x".join(map(str, test.shape[1:]))
        raise DatasetError(
            f"{train_name} holds {tr} images but {test_name} holds {te} images: "
            "the sizes must match"
        )


def _load_idx(found: dict[str, Path], floats: np.dtype[Any] | None = None) -> tuple[_Pair, _Pair]:
    """Read and check the four IDX files; with ``floats``, images come as that float type
    in [0, 1], read without holding their bytes (see ``read_idx_scaled``)."""
    names = {key: str(p) for key, p in found.items()}
    arrays = {
        key: read_idx_scaled(p, floats) if floats is not None and key in _IMAGES else read_idx(p)
        for key, p in found.items()
    }
    kind = np.uint8 if floats is None else floats
    train = _check_split(
        arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS], names[TRAIN_IMAGES], names[TRAIN_LABELS], kind
    )
    test = _check_split(
        arrays[TEST_IMAGES], arrays[TEST_LABELS], names[TEST_IMAGES], names[TEST_LABELS], kind
    )
    _check_sizes(train[0], test[0], names[TRAIN_IMAGES], names[TEST_IMAGES])
    return train, test


def _load_npz(path: Path) -> tuple[_Pair, _Pair]:
    """Read and check a Keras-style ``mnist.npz``, refusing pickled objects."""
    try:
        # The file is opened here, not by np.load, so that it is closed whatever np.load does.
        with path.open("rb") as f:
            arrays = _read_npz(f, path)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e}") from e
    names = {key: f"{path}[{key}]" for key in _NPZ_KEYS}
    train = _check_split(arrays["x_train"], arrays["y_train"], names["x_train"], names["y_train"])
    test = _check_split(arrays["x_test"], arrays["y_test"], names["x_test"], names["y_test"])
    _check_sizes(train[0], test[0], names["x_train"], names["x_test"])
    return train, test


def _read_npz(f: BinaryIO, path: Path) -> dict[str, npt.NDArray[Any]]:
    """Read the four arrays of an MNIST ``.npz`` from an open file, never unpickling."""
    try:
        loaded = np.load(f, allow_pickle=False)
    except ValueError as e:  # what np.load says of anything that is neither .npy nor .npz
        raise DatasetError(f"{path}: not an .npz archive ({e})") from e
    except (EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: not an .npz archive ({e})") from e
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path}: not an .npz archive but a single .npy array")
    arrays: dict[str, npt.NDArray[Any]] = {}
    with loaded as npz:
        missing = [key for key in _NPZ_KEYS if key not in npz.files]
        if missing:
            raise DatasetError(
                f"{path}: missing key(s) {', '.join(missing)} "
                f"(an MNIST .npz holds {', '.join(_NPZ_KEYS)})"
            )
        for key in _NPZ_KEYS:
            try:
                arrays[key] = npz[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise DatasetError(
                        f"{path}: {key} holds pickled Python objects, which are refused"
                    ) from e
                raise DatasetError(f"{path}: {key} is malformed: {e}") from e
            except (EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
                raise DatasetError(f"{path}: {key} cannot be read: {e}") from e
    return arrays


def _mirrors() -> tuple[str, ...]:
    """Return the mirror base URLs to try, each ending in a slash."""
    env = os.environ.get(MIRRORS_ENV, "")
    bases = tuple(env.split()) or MIRRORS
    return tuple(b if b.endswith("/") else f"{b}/" for b in bases)


def _gunzip_sha256(path: Path) -> str:
    """Return the SHA-256 of a gzip file's decompressed content."""
    digest = hashlib.sha256()
    total = 0
    try:
        with gzip.open(path, "rb") as gz:
            while chunk := gz.read(1 << 20):
                total += len(chunk)
                if total > _MAX_DOWNLOAD:
                    raise _DownloadError(f"decompresses to more than {_MAX_DOWNLOAD} bytes")
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as e:
        raise _DownloadError(f"not a valid gzip file: {e}") from e
    return digest.hexdigest()


def _fetch(url: str, dest: Path, sha256: str) -> None:
    """Download ``url`` to ``dest`` atomically, checking its decompressed SHA-256.

    Raises ``_DownloadError``; on any failure or interrupt no file is left behind.
    """
    import http.client
    import urllib.error
    import urllib.request

    from digitnet.progress import new_bar, shown_by_default

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "digitnet"})
            # A fresh opener reads the proxy settings of the environment as it is now.
            opener = urllib.request.build_opener()
            with opener.open(request, timeout=_DOWNLOAD_TIMEOUT) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                got = 0
                with new_bar(
                    total=total,
                    desc=dest.name,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    disable=not shown_by_default(),
                    leave=False,
                ) as bar:
                    while chunk := response.read(_DOWNLOAD_CHUNK):
                        got += len(chunk)
                        if got > _MAX_DOWNLOAD:
                            raise _DownloadError(f"more than {_MAX_DOWNLOAD} bytes")
                        out.write(chunk)
                        bar.update(len(chunk))
                if total is not None and got != total:
                    raise _DownloadError(f"transfer cut short: got {got} of {total} bytes")
        digest = _gunzip_sha256(tmp)
        if digest != sha256:
            raise _DownloadError(
                f"checksum mismatch: the decompressed content has SHA-256 {digest}, "
                f"expected {sha256}"
            )
        tmp.chmod(0o644)  # mkstemp makes it private; the cache is an ordinary directory
        os.replace(tmp, dest)
        done = True
    except urllib.error.HTTPError as e:
        e.close()
        raise _DownloadError(f"HTTP error {e.code}: {e.reason}") from e
    except urllib.error.URLError as e:
        raise _DownloadError(str(e.reason)) from e
    except (http.client.HTTPException, OSError, ValueError) as e:
        raise _DownloadError(f"{type(e).__name__}: {e}") from e
    finally:
        if not done:
            tmp.unlink(missing_ok=True)


def _download(directory: Path, names: list[str]) -> list[str]:
    """Download the missing files into the cache; return what went wrong, mirror by mirror."""
    failures: list[str] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return [f"cannot create the cache directory {directory}: {e}"]
    for name in names:
        for base in _mirrors():
            url = f"{base}{name}.gz"
            try:
                _fetch(url, directory / f"{name}.gz", SHA256[name])
                break
            except _DownloadError as e:
                failures.append(f"{url}: {e}")
        else:
            break  # no mirror has this file: the others would fail the same way
    return failures


def _missing_message(
    source: _Source, missing: list[str], failures: list[str], download: bool
) -> str:
    """Explain which files are missing, where they were looked for, and how to provide them."""
    files = ", ".join(f"{name}[.gz]" for name in missing)
    lines = [f"MNIST data not found: missing {files} in {source.path} ({source.origin})."]
    if source.is_cache:
        lines.append(f"No path argument was given and {DATA_ENV} is not set.")
        if not download:
            lines.append("Downloading is disabled (download=False).")
        elif failures:
            lines.append("Downloading them failed:")
            lines.extend(f"  {failure}" for failure in failures)
    else:
        lines.append(f"Only the cache directory is downloaded into, not {source.origin}.")
    lines += [
        f"Provide the four files (gzipped or not), or Keras's {NPZ_NAME}, in one of three ways:",
        "  1. pass the directory holding them as the path argument, "
        'e.g. load_data(path="/data/mnist");',
        f"  2. set the environment variable {DATA_ENV} to that directory;",
        f"  3. place them in the cache directory {cache_dir()}.",
    ]
    return "\n".join(lines)


def _load_uint8(
    path: str | os.PathLike[str] | None, download: bool, floats: np.dtype[Any] | None = None
) -> tuple[_Pair, _Pair]:
    """Find the data by the rules above, downloading into the cache if allowed, and load it;
    with ``floats``, the images come as that float type in [0, 1]."""
    source = _resolve(path)
    if source.path.is_file():
        return _as_floats(_load_npz(source.path), floats)
    found = _find(source.path)
    missing = [name for name, p in found.items() if p is None]
    if not missing:
        return _load_idx({name: p for name, p in found.items() if p is not None}, floats)
    npz = source.path / NPZ_NAME
    if npz.is_file():
        return _as_floats(_load_npz(npz), floats)
    failures: list[str] = []
    if source.is_cache and download:
        failures = _download(source.path, missing)
        found = _find(source.path)
        missing = [name for name, p in found.items() if p is None]
        if not missing:
            return _load_idx({name: p for name, p in found.items() if p is not None}, floats)
    raise DatasetError(_missing_message(source, missing, failures, download))


def _as_floats(data: tuple[_Pair, _Pair], floats: np.dtype[Any] | None) -> tuple[_Pair, _Pair]:
    """The images of ``data`` as ``floats`` in [0, 1] (unchanged when ``floats`` is None)."""
    if floats is None:
        return data
    (x_train, y_train), (x_test, y_test) = data
    return (x_train.astype(floats) / 255, y_train), (x_test.astype(floats) / 255, y_test)


def _rows(images: npt.NDArray[Any]) -> _FloatArray:
    """Images ``(n, rows, cols)`` as rows ``(n, rows·cols)``: a view of contiguous images."""
    n, rows, cols = images.shape
    x: _FloatArray = np.ascontiguousarray(images.reshape(n, rows * cols))
    return x


def _check_validation_size(validation_size: int) -> int:
    """Check, before any loading, that ``validation_size`` is a non-negative integer."""
    if isinstance(validation_size, bool):
        raise TypeError("validation_size: expected an integer, got bool")
    try:
        size = operator.index(validation_size)
    except TypeError:
        kind = type(validation_size).__name__
        raise TypeError(f"validation_size: expected an integer, got {kind}") from None
    if size < 0:
        raise ValueError(f"validation_size must not be negative, got {size}")
    return size


def _split_point(n_train: int, validation_size: int) -> int:
    """Return how many training images stay in the training split; check ``validation_size``."""
    if not 0 <= validation_size <= n_train:
        raise ValueError(
            f"validation_size must be between 0 and the {n_train} training images, "
            f"got {validation_size}"
        )
    return n_train - validation_size


def load_data(
    path: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[tuple[_U8, _U8], tuple[_U8, _U8]]:
    """Return ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, like Keras's loader.

    Images are ``(n, 28, 28)`` for MNIST, labels ``(n,)``; ``path`` may also name an ``.npz``.
    """
    return _load_uint8(path, download)


def load_data_wrapper(
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
    validation_size: int = 10_000,
) -> tuple[list[tuple[_F64, _F64]], list[tuple[_F64, int]], list[tuple[_F64, int]]]:
    """Return ``(training_data, validation_data, test_data)`` as network.py's lists of pairs.

    Training pairs are ``(x, y)``: ``x`` a ``(784, 1)`` float64 column of pixels / 255, ``y`` a
    one-hot ``(10, 1)`` column; validation and test pairs are ``(x, int label)``, validation
    being the last ``validation_size`` official training images.  Each ``x`` and ``y`` is a
    view into one large array per split (changing one in place changes that array).
    """
    validation_size = _check_validation_size(validation_size)
    f64 = np.dtype(np.float64)
    (x_train, y_train), (x_test, y_test) = _load_uint8(path, download, floats=f64)
    k = _split_point(len(x_train), validation_size)
    for labels, what in ((y_train, "training"), (y_test, "test")):
        if labels.size and int(labels.max()) >= _CLASSES:
            raise DatasetError(
                f"{what} labels must lie in 0..{_CLASSES - 1} for network.py's one-hot "
                f"vectors, found {int(labels.max())}"
            )
    pixels = x_train.shape[1] * x_train.shape[2]

    def columns(images: _F64) -> _F64:
        return cast("_F64", _rows(images).reshape(len(images), pixels, 1))

    one_hot: _F64 = np.zeros((k, _CLASSES, 1))
    one_hot[np.arange(k), y_train[:k], 0] = 1.0
    training: list[tuple[_F64, _F64]] = list(zip(columns(x_train[:k]), one_hot, strict=True))
    validation: list[tuple[_F64, int]] = list(
        zip(columns(x_train[k:]), y_train[k:].tolist(), strict=True)
    )
    test: list[tuple[_F64, int]] = list(zip(columns(x_test), y_test.tolist(), strict=True))
    return training, validation, test


def load_arrays(
    path: str | os.PathLike[str] | None = None,
    dtype: npt.DTypeLike = np.float64,
    validation_size: int = 10_000,
    download: bool = True,
) -> MnistSplits:
    """Return the training, validation and test splits as ``(x, y)`` arrays of ``dtype``.

    ``x`` is C-contiguous ``(n, 784)`` float64 or float32 in [0, 1], ``y`` ``(n,)`` int64;
    the validation split is the last ``validation_size`` official training images.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected float64 or float32, got {dtype!r}") from None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype: must be float64 or float32, got {dt}")
    validation_size = _check_validation_size(validation_size)
    (x_train, y_train), (x_test, y_test) = _load_uint8(path, download, floats=dt)
    k = _split_point(len(x_train), validation_size)

    def split(images: _FloatArray, labels: _U8) -> ArrayData:
        return ArrayData(_rows(images), labels.astype(np.int64))

    return MnistSplits(
        train=split(x_train[:k], y_train[:k]),
        validation=split(x_train[k:], y_train[k:]),
        test=split(x_test, y_test),
    )
