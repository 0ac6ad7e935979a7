"""Real images of handwritten digits made into network inputs the way MNIST's images were made.

MNIST's digits were scanned, size-normalised to fit a 20x20 box keeping their aspect ratio
(anti-aliased, hence grey levels), and placed in a 28x28 field with their centre of mass at the
centre. :func:`preprocess` does the same to a photo, a scan, a drawing or an array: it finds the
polarity (dark ink on light paper is inverted), stretches the contrast, crops to the ink, scales it
into 20x20 and centres it by its centre of mass. The geometry is NumPy; Pillow (``pip install
'digitnet[images]'``) is needed only to read image files.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np

from digitnet._convert import Float64Array
from digitnet.activations import as_probabilities
from digitnet.datasets.mnist import check_network
from digitnet.errors import ImageError
from digitnet.network_api import NetworkAPI

if TYPE_CHECKING:
    from PIL import Image

#: What :func:`preprocess` accepts: a file path, an encoded image file's bytes, a Pillow image,
#: or a 2-D array of grey levels.
ImageLike: TypeAlias = "str | os.PathLike[str] | bytes | Image.Image | np.ndarray[Any, Any]"

#: The side of the field the digit is placed in, and of the box it is scaled to fit, as in MNIST.
FIELD = 28
BOX = 20
#: Where the centre of mass goes, in pixel indices (row, column); MNIST's average is (14.0, 14.0).
CENTRE = 14.0
#: The largest image read (width x height); bigger ones are refused as possible decompression
#: bombs before they are decoded.
MAX_PIXELS = 50_000_000
#: Images are shrunk (by pixel averaging) to at most this side before processing, to bound memory.
WORKING_SIDE = 2048
#: Ink fainter than this fraction of the darkest ink is paper noise: cleared, and not cropped to.
INK_THRESHOLD = 0.2
#: An image whose ink differs from its background by less than this fraction of the full grey
#: scale is taken to be blank.
MIN_CONTRAST = 0.1


def preprocess(image: ImageLike, *, max_pixels: int = MAX_PIXELS) -> Float64Array:
    """The MNIST-style input for a picture of one digit: 784 floats in [0, 1], ink bright.

    ``image`` is a path, an encoded file's bytes, a Pillow image or a 2-D array (floats are taken
    as grey levels in [0, 1], integers in [0, 255] or up to 65535). Raises :class:`ImageError` for
    an unreadable, corrupt, oversized (more than ``max_pixels``) or blank image.
    """
    if isinstance(image, np.ndarray):
        grey, scale = _array_grey(image)
    else:
        grey, scale = read_image(image, max_pixels=max_pixels), 1.0
    return _mnist_style(grey, scale, _describe(image))


def read_image(image: ImageLike, *, max_pixels: int = MAX_PIXELS) -> Float64Array:
    """Decodes an image file (a path or its bytes) or a Pillow image into grey levels in [0, 1].

    Transparency is flattened onto white when the visible ink is dark, onto black when it is
    light. Raises :class:`ImageError` naming the file when it cannot be read or decoded, or has
    more than ``max_pixels`` pixels.
    """
    if isinstance(image, np.ndarray):
        grey, scale = _array_grey(image)
        return np.asarray(grey / scale, dtype=np.float64)
    if isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)):
        with open_image(image, max_pixels=max_pixels) as opened:
            return _decoded(opened, _describe(image), max_pixels)
    if isinstance(image, _pillow(_describe(image)).Image):
        return _decoded(image, _describe(image), max_pixels)
    raise TypeError(
        f"image: expected a path, bytes, a PIL image or a 2-D array, got {type(image).__name__}"
    )


def open_image(
    image: str | os.PathLike[str] | bytes, *, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Opens an image file (a path or its bytes) as a Pillow image, reading only its header.

    Raises :class:`ImageError` naming the file if it cannot be read, is not an image, or declares
    more than ``max_pixels`` pixels. Use it in a ``with`` block; :func:`read_image` decodes it.
    """
    name = _describe(image)
    pil = _pillow(name)
    if isinstance(image, (bytes, bytearray, memoryview)):
        source: Any = io.BytesIO(bytes(image))
    elif isinstance(image, (str, os.PathLike)):
        source = os.fspath(image)  # opened by Pillow, which then closes it with the image
    else:
        raise TypeError(
            f"image: expected a path, bytes, a PIL image or a 2-D array, got {type(image).__name__}"
        )
    try:
        opened = pil.open(source)
    except pil.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file (or in a format Pillow cannot read)") from None
    except OSError as error:
        raise ImageError(f"{name}: cannot read: {error.strerror or error}") from error
    except (pil.DecompressionBombError, pil.DecompressionBombWarning) as error:
        raise ImageError(f"{name}: refused as a possible decompression bomb: {error}") from None
    except Exception as error:  # Pillow's parsers raise many types on bad data
        detail = str(error) or type(error).__name__
        raise ImageError(f"{name}: not a readable image ({detail})") from None
    width, height = opened.size
    if width * height > max_pixels:
        opened.close()
        raise ImageError(
            f"{name}: {width}x{height} pixels is more than the {max_pixels} allowed; "
            "refused as a possible decompression bomb"
        )
    return cast("Image.Image", opened)


def probabilities(net: NetworkAPI, inputs: Any) -> Float64Array:
    """The network's outputs for rows of 784 inputs, each row normalised to sum to 1.

    The outputs are sigmoids trained with the quadratic cost, each an independent score in
    (0, 1); dividing by their sum keeps their ratios, as the softmax of a network trained for it
    would give.
    """
    check_network(net.sizes)
    outputs = np.atleast_2d(net.feedforward(np.atleast_2d(np.asarray(inputs, dtype=np.float64))))
    return as_probabilities(outputs)


def predict_images(net: NetworkAPI, images: Iterable[ImageLike]) -> list[tuple[int, float]]:
    """For each image, the digit the network reads and its probability (see :func:`probabilities`).

    Every image is preprocessed first, so the first bad one raises :class:`ImageError` before any
    is classified.
    """
    check_network(net.sizes)
    rows = [preprocess(image) for image in images]
    if not rows:
        return []
    shares = probabilities(net, np.stack(rows))
    digits = np.argmax(shares, axis=1)
    return [(int(d), float(shares[i, d])) for i, d in enumerate(digits)]


# ---- reading --------------------------------------------------------------------------------


def _describe(image: object) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.fsdecode(image)
    if isinstance(image, np.ndarray):
        return "the array"
    filename = getattr(image, "filename", None)  # a Pillow image opened from a file
    return filename if isinstance(filename, str) and filename else "the image"


def _pillow(name: str) -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImageError(
            f"{name}: reading image files needs Pillow: pip install 'digitnet[images]'"
        ) from None
    return Image


def _decoded(image: Image.Image, name: str, max_pixels: int) -> Float64Array:
    """Checks the declared size, then decodes, orients and flattens the image to grey levels."""
    from PIL import Image, ImageOps

    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width}x{height} pixels is more than the {max_pixels} allowed; "
            "refused as a possible decompression bomb"
        )
    if width == 0 or height == 0:
        raise ImageError(f"{name}: the image is empty ({width}x{height} pixels)")
    try:
        image.load()
        oriented = ImageOps.exif_transpose(image)
        return _flatten(oriented if oriented is not None else image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"{name}: refused as a possible decompression bomb: {error}") from None
    except MemoryError:
        raise ImageError(f"{name}: too large to decode in the memory available") from None
    except Exception as error:  # Pillow's decoders raise many types on bad data
        detail = str(error) or type(error).__name__
        raise ImageError(f"{name}: corrupt or truncated image ({detail})") from None


def _flatten(image: Image.Image) -> Float64Array:
    """Grey levels in [0, 1] of a decoded image, transparency composited, large images shrunk."""
    factor = math.ceil(max(image.size) / WORKING_SIDE)
    alpha = None
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        if factor > 1:
            image = image.convert("F").reduce(factor)
        values = np.asarray(image, dtype=np.float64)
        grey = values / _full_scale(values)
    else:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA").convert("LA") if has_alpha else image.convert("L")
        if factor > 1:
            image = image.reduce(factor)
        values = np.asarray(image, dtype=np.float64) / 255.0
        if has_alpha:
            grey, alpha = values[..., 0], values[..., 1]
        else:
            grey = values
    if alpha is not None and alpha.min() < 1.0:
        visible = alpha.sum()
        ink_tone = (grey * alpha).sum() / visible if visible > 0 else 0.0
        backdrop = 1.0 if ink_tone < 0.5 else 0.0
        grey = grey * alpha + backdrop * (1.0 - alpha)
    return np.ascontiguousarray(grey, dtype=np.float64)


def _array_grey(image: np.ndarray[Any, Any]) -> tuple[Float64Array, float]:
    """A 2-D array's grey levels as floats, and the full scale they are on (1, 255, ...)."""
    if image.ndim != 2:
        raise ValueError(f"image: expected a 2-D array of grey levels, got shape {image.shape}")
    if image.dtype == np.bool_:
        return image.astype(np.float64), 1.0
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise TypeError(f"image: expected an array of numbers, got dtype {image.dtype}")
    if image.size == 0:
        raise ImageError(f"the array: the image is empty (shape {image.shape})")
    values = image.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("image: contains a non-finite value (NaN or infinity)")
    return values, _full_scale(values)


def _full_scale(values: Float64Array) -> float:
    """The grey scale that numbers up to ``values.max()`` are on: 1, 255, 4095 or 65535."""
    top = float(values.max(initial=0.0))
    for scale in (1.0, 255.0, 4095.0, 65535.0):
        if top <= scale:
            return scale
    return max(top - float(values.min()), 1.0)


# ---- MNIST's normalisation ------------------------------------------------------------------


def _mnist_style(grey: Float64Array, scale: float, name: str) -> Float64Array:
    ink = _ink(grey, scale, name)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    height, width = crop.shape
    factor = BOX / max(height, width)
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    digit = resample(crop, size)
    digit /= digit.max()

    field = np.zeros((FIELD, FIELD))
    mass = digit.sum()
    centre_row = (digit.sum(axis=1) @ np.arange(size[0])) / mass
    centre_col = (digit.sum(axis=0) @ np.arange(size[1])) / mass
    # As in MNIST, ink shifted past the field's edge (by a lopsided digit) is cut off.
    top = math.floor(CENTRE - centre_row + 0.5)
    left = math.floor(CENTRE - centre_col + 0.5)
    rows_in = slice(max(top, 0), min(top + size[0], FIELD))
    cols_in = slice(max(left, 0), min(left + size[1], FIELD))
    field[rows_in, cols_in] = digit[
        rows_in.start - top : rows_in.stop - top, cols_in.start - left : cols_in.stop - left
    ]
    return np.clip(field, 0.0, 1.0).reshape(FIELD * FIELD)


def _ink(grey: Float64Array, scale: float, name: str) -> Float64Array:
    """Ink in [0, 1] on a background of exactly 0, whichever the polarity of ``grey``."""
    height, width = grey.shape
    band = max(1, min(height, width) // 20)
    border = np.concatenate(
        [
            grey[:band].ravel(),
            grey[-band:].ravel(),
            grey[band:-band, :band].ravel(),
            grey[band:-band, -band:].ravel(),
        ]
    )
    background = float(np.median(border))
    darkest, lightest = float(grey.min()), float(grey.max())
    if background > (darkest + lightest) / 2:
        strength, contrast = background - grey, background - darkest
    else:
        strength, contrast = grey - background, lightest - background
    if contrast < MIN_CONTRAST * scale:
        raise ImageError(f"{name}: the image is blank (no ink stands out from the background)")
    ink = np.clip(strength / contrast, 0.0, 1.0)
    ink[ink < INK_THRESHOLD] = 0.0
    return ink


def resample(image: Float64Array, size: tuple[int, int]) -> Float64Array:
    """``image`` resized to ``size`` (rows, columns) with an anti-aliasing triangle filter.

    Each output pixel is a weighted mean of the input pixels under a triangle as wide as the
    larger of one input pixel and one output pixel, so shrinking averages instead of skipping.
    """
    rows = _filter_weights(image.shape[0], size[0])
    cols = _filter_weights(image.shape[1], size[1])
    return np.asarray(rows @ image @ cols.T, dtype=np.float64)


def _filter_weights(n_in: int, n_out: int) -> Float64Array:
    """The ``(n_out, n_in)`` matrix of triangle-filter weights resizing one axis, rows summing
    to 1."""
    step = n_in / n_out
    radius = max(step, 1.0)
    centres = (np.arange(n_out) + 0.5) * step
    distance = (np.arange(n_in) + 0.5)[None, :] - centres[:, None]
    weights = np.clip(1.0 - np.abs(distance) / radius, 0.0, None)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


__all__ = [
    "BOX",
    "CENTRE",
    "FIELD",
    "MAX_PIXELS",
    "ImageError",
    "ImageLike",
    "open_image",
    "predict_images",
    "preprocess",
    "probabilities",
    "read_image",
    "resample",
]
