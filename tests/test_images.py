"""MNIST-style preprocessing of real images, ``predict_images`` and ``digitnet predict``: on
digits the tests draw themselves, on real MNIST digits saved as scanned-looking PNG files, and on
broken, blank and hostile files."""

from __future__ import annotations

import argparse
import io
import re
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import digitnet
from digitnet.commands import predict as predict_command
from digitnet.errors import DigitnetError
from digitnet.images import ImageError, predict_images, preprocess, probabilities, read_image

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

INK, PAPER = 0, 255  # a scan: black ink on white paper
# Centring rounds the offset, so the centre of mass ends within half a pixel (ties exactly half).
HALF_PIXEL = 0.5 + 1e-9


# ---- drawing digits -------------------------------------------------------------------------


def draw(
    digit: str,
    box: tuple[int, int, int, int],
    canvas: tuple[int, int] = (200, 200),
    width: int = 12,
    scan: bool = True,
) -> Any:
    """A grey image of ``digit`` drawn with a thick pen inside ``box`` (left, top, right,
    bottom): black on white like a scan, or white on black like a screen."""
    ink, paper = (INK, PAPER) if scan else (PAPER, INK)
    image = Image.new("L", canvas, paper)
    pen = ImageDraw.Draw(image)
    left, top, right, bottom = box
    middle = (left + right) // 2
    if digit == "1":
        pen.line([(middle, top), (middle, bottom)], fill=ink, width=width)
    elif digit == "0":
        pen.ellipse(box, outline=ink, width=width)
    elif digit == "7":
        pen.line([(left, top), (right, top), (middle - (right - left) // 6, bottom)], fill=ink,
                 width=width, joint="curve")  # fmt: skip
    elif digit == "blob":
        pen.ellipse(box, fill=ink)
    else:
        raise ValueError(digit)
    return image


def png_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def ink_box(x: np.ndarray) -> tuple[int, int]:
    """The height and width of the bounding box of the non-zero pixels of a 784-vector."""
    field = x.reshape(28, 28)
    rows = np.flatnonzero(field.any(axis=1))
    cols = np.flatnonzero(field.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    field = x.reshape(28, 28)
    mass = field.sum()
    return (
        float(field.sum(axis=1) @ np.arange(28) / mass),
        float(field.sum(axis=0) @ np.arange(28) / mass),
    )


def difference(x: np.ndarray, y: np.ndarray) -> float:
    """The mean absolute difference of two 784-vectors, at the best shift by up to one pixel (a
    symmetric digit's centre of mass can round either way when the input changes slightly)."""
    a, b = x.reshape(28, 28), y.reshape(28, 28)
    return min(
        float(np.abs(np.roll(a, (dr, dc), axis=(0, 1)) - b).mean())
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
    )


def assert_mnist_like(x: np.ndarray) -> None:
    """The properties MNIST's digits have: 784 floats in [0, 1], bright ink on a zero background,
    the ink's box fitting 20x20 and 20 long on its longer side, its centre of mass at (14, 14)."""
    assert x.shape == (784,)
    assert x.dtype == np.float64
    assert x.min() == 0.0
    assert x.max() == pytest.approx(1.0)
    assert np.all((x >= 0) & (x <= 1))
    field = x.reshape(28, 28)
    assert field[[0, 0, -1, -1], [0, -1, 0, -1]].sum() == 0  # the corners are background
    height, width = ink_box(x)
    assert max(height, width) == 20
    assert min(height, width) <= 20
    row, col = centre_of_mass(x)
    assert abs(row - 14) <= HALF_PIXEL
    assert abs(col - 14) <= HALF_PIXEL


# ---- the properties of the preprocessing ----------------------------------------------------


@pytest.mark.parametrize("digit", ["1", "0", "7"])
@pytest.mark.parametrize("scan", [True, False], ids=["dark-on-light", "light-on-dark"])
@pytest.mark.parametrize(
    ("canvas", "box"),
    [
        ((200, 200), (60, 30, 140, 170)),  # centred
        ((200, 200), (5, 5, 70, 120)),  # in a corner
        ((640, 480), (420, 250, 600, 470)),  # off-centre on a photo-sized page
        ((48, 40), (14, 4, 34, 36)),  # small: scaled up
    ],
    ids=["centred", "corner", "off-centre", "small"],
)
def test_drawn_digits_come_out_like_mnist(
    digit: str, scan: bool, canvas: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    width = max(2, (box[3] - box[1]) // 9)
    assert_mnist_like(preprocess(draw(digit, box, canvas, width, scan)))


@pytest.mark.parametrize("digit", ["1", "0", "7"])
def test_polarity_is_normalised(digit: str) -> None:
    scan = preprocess(draw(digit, (50, 20, 150, 180), scan=True))
    screen = preprocess(draw(digit, (50, 20, 150, 180), scan=False))
    np.testing.assert_allclose(scan, screen, atol=1e-12)
    assert scan.reshape(28, 28)[14].max() > 0.5  # the ink is bright, as in MNIST


def test_position_on_the_page_does_not_matter() -> None:
    at_left = preprocess(draw("7", (10, 10, 90, 150), canvas=(400, 300)))
    at_right = preprocess(draw("7", (290, 130, 370, 270), canvas=(400, 300)))
    np.testing.assert_allclose(at_left, at_right, atol=1e-12)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((40, 10, 100, 190), (20, 7)),  # 61 x 181: tall and thin
        ((10, 70, 190, 130), (7, 20)),  # 181 x 61: wide and flat
        ((50, 50, 150, 150), (20, 20)),  # round
        ((20, 40, 170, 140), (13, 20)),  # 151 x 101
    ],
)
def test_aspect_ratio_is_kept(box: tuple[int, int, int, int], expected: tuple[int, int]) -> None:
    x = preprocess(draw("blob", box))
    assert ink_box(x) == expected
    assert_mnist_like(x)


def test_paper_noise_and_grey_ink_are_ignored() -> None:
    rng = np.random.default_rng(0)
    clean = preprocess(draw("0", (60, 30, 140, 170), width=14))
    page = np.asarray(draw("0", (60, 30, 140, 170), width=14), dtype=np.float64)
    # Greyish paper with speckle, and ink that is dark grey rather than black: a cheap scan.
    noisy = 90 + (page / 255) * 130 + rng.normal(0, 6, page.shape)
    x = preprocess(np.clip(noisy, 0, 255).astype(np.uint8))
    assert_mnist_like(x)
    assert difference(x, clean) < 0.02


def test_ink_centred_off_the_field_is_cut_off_as_in_mnist() -> None:
    # A "7" whose heavy bar puts its centre of mass near the top: centring it pushes the foot of
    # its stem past the bottom edge, which is cut off (about 1% of MNIST's digits touch an edge).
    image = Image.new("L", (200, 200), PAPER)
    pen = ImageDraw.Draw(image)
    pen.rectangle((20, 20, 120, 50), fill=INK)
    pen.line([(110, 50), (60, 180)], fill=INK, width=4)
    x = preprocess(image)
    field = x.reshape(28, 28)
    assert field[-1].any()  # ink down to the last row...
    assert ink_box(x)[0] < 20  # ...because some was cut
    row, col = centre_of_mass(x)
    assert abs(row - 14) < 1
    assert abs(col - 14) <= HALF_PIXEL


# Random scribbles: polylines and dots, in either polarity, anywhere on a page.
_points = st.tuples(st.integers(10, 110), st.integers(10, 80))
_strokes = st.lists(st.lists(_points, min_size=1, max_size=5), min_size=1, max_size=3)


def scribble(strokes: list[list[tuple[int, int]]], width: int, scan: bool = True) -> Any:
    ink, paper = (INK, PAPER) if scan else (PAPER, INK)
    image = Image.new("L", (120, 90), paper)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        if len(stroke) == 1:
            pen.point(stroke, fill=ink)
        else:
            pen.line(stroke, fill=ink, width=width, joint="curve")
    return image


@given(
    strokes=_strokes,
    width=st.integers(1, 12),
    shift=st.tuples(st.integers(0, 80), st.integers(0, 60)),
)
def test_any_scribble_comes_out_in_the_mnist_frame(
    strokes: list[list[tuple[int, int]]], width: int, shift: tuple[int, int]
) -> None:
    x = preprocess(scribble(strokes, width))
    assert x.shape == (784,)
    assert np.all((x >= 0) & (x <= 1))
    assert 0 < x.max() <= 1
    assert max(ink_box(x)) <= 20
    # The same whatever the polarity, and wherever it is on the page.
    np.testing.assert_allclose(preprocess(scribble(strokes, width, scan=False)), x, atol=1e-12)
    page = Image.new("L", (200, 150), PAPER)
    page.paste(scribble(strokes, width), shift)
    np.testing.assert_allclose(preprocess(page), x, atol=1e-12)


@given(stroke=st.lists(_points, min_size=2, max_size=6), width=st.integers(1, 12))
def test_any_stroke_is_centred_and_fills_the_box(stroke: list[tuple[int, int]], width: int) -> None:
    x = preprocess(scribble([stroke], width))
    field = x.reshape(28, 28)
    # A connected stroke so lopsided that centring it cuts ink off still has ink at that edge;
    # otherwise it is centred and fills the 20x20 box.
    if not (field[0].any() or field[-1].any() or field[:, 0].any() or field[:, -1].any()):
        assert_mnist_like(x)


# ---- the kinds of input ---------------------------------------------------------------------


def test_every_kind_of_input_gives_the_same_result(tmp_path: Path) -> None:
    image = draw("7", (40, 20, 160, 180))
    expected = preprocess(image)
    path = tmp_path / "seven.png"
    image.save(path)
    grey = np.asarray(image)
    for source in (path, str(path), path.read_bytes(), image.convert("RGB"), grey, grey / 255.0):
        np.testing.assert_allclose(preprocess(source), expected, atol=1e-12)
    np.testing.assert_allclose(preprocess(grey < 128), expected, atol=1e-12)  # a bool mask of ink
    np.testing.assert_allclose(preprocess(grey.astype(np.uint16) * 257), expected, atol=1e-12)
    as_jpeg = tmp_path / "seven.jpg"
    image.save(as_jpeg, quality=90)
    assert difference(preprocess(as_jpeg), expected) < 0.02


def test_transparent_background_is_paper(tmp_path: Path) -> None:
    expected = preprocess(draw("0", (50, 20, 150, 180)))
    for colour in ((0, 0, 0), (255, 255, 255)):  # dark ink, and light ink, on nothing
        image = Image.new("RGBA", (200, 200), (*colour, 0))
        ImageDraw.Draw(image).ellipse((50, 20, 150, 180), outline=(*colour, 255), width=12)
        image.save(tmp_path / "drawing.png")
        np.testing.assert_allclose(preprocess(tmp_path / "drawing.png"), expected, atol=1e-12)
        image.save(tmp_path / "drawing.gif")  # a palette with a transparent entry
        np.testing.assert_allclose(preprocess(tmp_path / "drawing.gif"), expected, atol=1e-12)


def test_sixteen_bit_and_palette_images(tmp_path: Path) -> None:
    image = draw("1", (60, 20, 140, 180))
    expected = preprocess(image)
    deep = Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
    deep.save(tmp_path / "deep.png")
    np.testing.assert_allclose(preprocess(tmp_path / "deep.png"), expected, atol=1e-12)
    image.convert("P").save(tmp_path / "palette.gif")
    np.testing.assert_allclose(preprocess(tmp_path / "palette.gif"), expected, atol=1e-12)


def test_huge_images_are_shrunk_first(tmp_path: Path) -> None:
    image = draw("0", (500, 300, 2500, 3700), canvas=(3000, 4000), width=150)
    x = preprocess(image)
    assert_mnist_like(x)
    assert difference(x, preprocess(image.resize((300, 400)))) < 0.02
    Image.fromarray(np.asarray(image).astype(np.uint16) * 257).save(tmp_path / "deep.png")
    np.testing.assert_allclose(preprocess(tmp_path / "deep.png"), x, atol=1e-3)


def test_arrays_need_no_pillow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    image = draw("7", (40, 20, 160, 180))
    expected = preprocess(image)
    grey = np.asarray(image)
    image.save(tmp_path / "seven.png")
    for name in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails
    np.testing.assert_allclose(preprocess(grey), expected, atol=1e-12)
    with pytest.raises(ImageError, match=r"seven\.png: reading image files needs Pillow"):
        preprocess(tmp_path / "seven.png")


def test_read_image_gives_grey_levels() -> None:
    grey = read_image(draw("1", (60, 20, 140, 180)))
    assert grey.shape == (200, 200)
    assert grey.dtype == np.float64
    assert grey.min() == 0.0
    assert grey.max() == 1.0


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blank",
    [
        np.full((50, 50), 255, dtype=np.uint8),
        np.zeros((50, 50)),
        np.full((28, 28), 0.5),
        # faint smudges on paper, not ink: 5% of the grey scale
        np.where(np.random.default_rng(0).random((60, 60)) < 0.1, 243, 255).astype(np.uint8),
    ],
    ids=["white", "black", "grey", "smudged"],
)
def test_blank_images_raise_image_error(blank: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="blank"):
        preprocess(blank)
    Image.fromarray(blank if blank.dtype == np.uint8 else (255 * blank).astype(np.uint8)).save(
        tmp_path / "blank.png"
    )
    with pytest.raises(ImageError, match=r"blank\.png: the image is blank"):
        preprocess(tmp_path / "blank.png")
    assert issubclass(ImageError, DigitnetError)


def test_a_text_file_named_png_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "digit.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match=r"digit\.png: not an image file"):
        preprocess(path)


def test_a_truncated_png_is_refused_by_name(tmp_path: Path) -> None:
    whole = png_bytes(draw("0", (50, 20, 150, 180)).convert("RGB"))
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: corrupt or truncated image"):
        preprocess(path)
    garbled = bytearray(whole)
    garbled[60:200] = bytes(140)  # a damaged IDAT chunk
    with pytest.raises(ImageError, match="the image: corrupt or truncated image"):
        preprocess(bytes(garbled))


def png_header(width: int, height: int) -> bytes:
    """A PNG file declaring a ``width`` x ``height`` greyscale image, with no image data."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    header = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + header + end


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (8000, 8000), (60_000, 1000)],
    ids=["past-pillows-limit", "past-digitnets-limit", "long-strip"],
)
def test_decompression_bombs_are_refused_before_decoding(
    width: int, height: int, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(width, height))
    with pytest.raises(ImageError, match=r"bomb\.png: .*decompression bomb"):
        preprocess(path)


def test_max_pixels_bounds_what_is_decoded() -> None:
    data = png_bytes(draw("1", (60, 20, 140, 180)))
    assert preprocess(data, max_pixels=200 * 200).shape == (784,)
    with pytest.raises(ImageError, match="200x200 pixels is more than the 39999 allowed"):
        preprocess(data, max_pixels=200 * 200 - 1)


def test_missing_files_and_directories_are_named(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"nothing\.png: cannot read: No such file"):
        preprocess(tmp_path / "nothing.png")
    with pytest.raises(ImageError, match="cannot read"):
        preprocess(tmp_path)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (np.zeros((3, 4, 5)), ValueError, "2-D array"),
        (np.array([[1.0, np.nan], [0.0, 0.0]]), ValueError, "non-finite"),
        (np.array([["a", "b"]]), TypeError, "array of numbers"),
        (np.zeros((0, 5)), ImageError, "empty"),
        (12, TypeError, "expected a path, bytes, a PIL image or a 2-D array"),
    ],
)
def test_bad_arguments(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        preprocess(value)


# ---- predicting -----------------------------------------------------------------------------


def test_predict_images_gives_digits_and_probabilities(tmp_path: Path) -> None:
    net = digitnet.Network([784, 30, 10], seed=1)
    image = draw("0", (50, 20, 150, 180))
    image.save(tmp_path / "zero.png")
    results = predict_images(net, [tmp_path / "zero.png", image, np.asarray(image)])
    assert len(results) == 3
    assert len(set(results)) == 1
    digit, probability = results[0]
    assert isinstance(digit, int)
    assert 0 <= digit <= 9
    assert isinstance(probability, float)
    assert 0.1 <= probability <= 1
    shares = probabilities(net, preprocess(image))
    assert shares.shape == (1, 10)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0, digit] == pytest.approx(probability)
    assert predict_images(net, []) == []


def test_predict_images_refuses_networks_not_for_mnist() -> None:
    with pytest.raises(ValueError, match="not for MNIST"):
        predict_images(digitnet.Network([100, 10]), [np.eye(10)])


def run_predict(*args: str) -> int:
    parser = argparse.ArgumentParser(prog="digitnet")
    predict_command.add_parser(parser.add_subparsers())
    parsed = parser.parse_args(["predict", *args])
    status: int = parsed.run(parsed)
    return status


def test_predict_command_prints_each_image_and_fails_on_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    digitnet.Network([784, 30, 10], seed=1).save(model)
    draw("1", (60, 20, 140, 180)).save(tmp_path / "one.png")
    draw("0", (50, 20, 150, 180)).save(tmp_path / "zero.png")
    (tmp_path / "notes.png").write_text("not an image")
    one, zero, notes = (str(tmp_path / name) for name in ("one.png", "zero.png", "notes.png"))

    assert run_predict(str(model), one, zero) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    for path, line in zip([one, zero], out, strict=True):
        assert re.fullmatch(rf"{re.escape(path)}: \d \(probability [01]\.\d\d\)", line), line

    assert run_predict(str(model), one, notes, zero) == 1
    captured = capsys.readouterr()
    assert [line.split(": ")[0] for line in captured.out.splitlines()] == [one, zero]
    assert (
        captured.err
        == f"digitnet: error: {notes}: not an image file (or in a format Pillow cannot read)\n"
    )


def test_predict_command_refuses_a_bad_model(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(digitnet.ModelFileError, match="not valid JSON"):
        run_predict(str(tmp_path / "model.json"), "any.png")
    digitnet.Network([100, 10]).save(tmp_path / "small.json")
    with pytest.raises(DigitnetError, match="not for MNIST"):
        run_predict(str(tmp_path / "small.json"), "any.png")


# ---- real MNIST digits, printed and scanned -------------------------------------------------


@pytest.fixture(scope="module")
def trained(mnist_dir: Path) -> tuple[digitnet.Network, Any]:
    """A [784, 30, 10] network trained for 5 epochs on real MNIST (about 93%), and the data."""
    from digitnet.datasets import mnist

    splits = mnist.load_arrays(mnist_dir)
    net = digitnet.Network([784, 30, 10], seed=1)
    net.SGD(splits.train, 5, 10, 3.0, verbose=False)
    return net, splits


@pytest.mark.slow
def test_mnist_digits_saved_as_scans_are_read_as_well_as_the_raw_arrays(
    trained: tuple[digitnet.Network, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    net, splits = trained
    x, y = splits.test.x[:2000], splits.test.y[:2000]
    raw = float(np.mean(net.predict(x) == y))

    # Each digit as a scan would show it: 4x the size, smoothly resampled, black ink on white.
    paths = []
    for i, pixels in enumerate(x):
        grey = np.round(255 * (1 - pixels.reshape(28, 28))).astype(np.uint8)
        path = tmp_path / f"{i:04d}.png"
        Image.fromarray(grey).resize((112, 112), Image.Resampling.BICUBIC).save(path)
        paths.append(path)
    predicted = np.array([digit for digit, _ in predict_images(net, paths)])
    via_png = float(np.mean(predicted == y))

    record_property("accuracy_raw", raw)
    record_property("accuracy_png", via_png)
    with capsys.disabled():
        print(
            f"\naccuracy on 2000 MNIST test digits: raw {raw:.2%}, via 4x PNG scans {via_png:.2%}"
        )
    assert raw > 0.9
    assert via_png >= raw - 0.03

    # And the command line says the same for the first few.
    shown = [str(p) for p in paths[:20]]
    assert run_predict(str(save_model(net, tmp_path)), *shown) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split(": ")[1][0]) for line in lines] == list(predicted[:20])


def save_model(net: digitnet.Network, directory: Path) -> Path:
    path = directory / "model.json"
    net.save(path)
    return path
