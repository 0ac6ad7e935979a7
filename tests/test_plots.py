"""``digitnet.plots`` and the ``digitnet plot`` subcommand: each picture rendered to PNG with the
Agg backend and inspected, the history file format, and the command run in-process."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402

import digitnet  # noqa: E402
from digitnet import plots  # noqa: E402
from digitnet.commands import plot as plot_command  # noqa: E402
from digitnet.history import EpochResult, History  # noqa: E402
from digitnet.plots import HistoryFileError  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """The (width, height) of a PNG file, after checking that it is one and decodes."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert imread(path).shape[:2] == (height, width)
    return width, height


def assert_sensible_png(path: Path) -> None:
    width, height = png_size(path)
    assert 200 <= width <= 4000
    assert 150 <= height <= 4000


def synthetic_history(n: int = 12, test: bool = True) -> History:
    rng = np.random.default_rng(0)
    history = History()
    for epoch in range(n):
        correct = 9000 + int(900 * (1 - np.exp(-epoch / 3))) if test else None
        history.append(EpochResult(epoch, 1 + rng.random(), correct, 10_000 if test else None))
    return history


def predictions(n: int = 2000, accuracy: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 10, n)
    y_pred = np.where(rng.random(n) < accuracy, y_true, rng.integers(0, 10, n))
    return y_true, y_pred


# ---- learning curves ----------------------------------------------------------------------------


def test_learning_curves_draw_accuracy_and_time(tmp_path: Path) -> None:
    history = synthetic_history()
    fig = plots.learning_curves(history)
    accuracy_ax, seconds_ax = fig.axes
    (curve,) = [line for line in accuracy_ax.get_lines() if line.get_label() == "test accuracy"]
    np.testing.assert_allclose(curve.get_ydata(), [100 * a for a in history.accuracies])
    np.testing.assert_array_equal(curve.get_xdata(), range(12))
    heights = [bar.get_height() for bar in seconds_ax.patches]
    np.testing.assert_allclose(heights, history.seconds)
    best = history.best()
    assert best is not None
    labels = [text.get_text() for text in accuracy_ax.get_legend().get_texts()]
    assert f"best: {100 * best.accuracy:.2f}% (epoch {best.epoch})" in labels
    fig.savefig(tmp_path / "curves.png")
    assert_sensible_png(tmp_path / "curves.png")


def test_learning_curves_without_test_data_show_time_only() -> None:
    fig = plots.learning_curves(synthetic_history(5, test=False))
    (ax,) = fig.axes
    assert len(ax.patches) == 5
    assert not ax.get_lines()


def test_learning_curves_into_given_axes() -> None:
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert plots.learning_curves(synthetic_history(), ax=right) is figure
    assert not left.get_lines()


def test_learning_curves_of_nothing_is_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        plots.learning_curves(History())


# ---- confusion matrix ---------------------------------------------------------------------------


def test_confusion_matrix_annotates_every_count(tmp_path: Path) -> None:
    y_true, y_pred = predictions()
    fig = plots.confusion_matrix(y_true, y_pred)
    ax = fig.axes[0]
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    annotations = {
        (round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
        for t in ax.texts
    }
    assert len(annotations) == 100
    assert sum(annotations.values()) == len(y_true)
    assert all(annotations[i, j] == counts[i, j] for i in range(10) for j in range(10))
    assert ax.get_title().startswith(f"{np.trace(counts)} / {len(y_true)} correct")
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    fig.savefig(tmp_path / "confusion.png")
    assert_sensible_png(tmp_path / "confusion.png")


def test_normalized_confusion_matrix_rows_are_percentages() -> None:
    y_true, y_pred = predictions()
    ax = plots.confusion_matrix(y_true, y_pred, normalize=True).axes[0]
    shares = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(shares.sum(axis=1), 100.0)
    assert all("." in t.get_text() for t in ax.texts)


def test_confusion_matrix_size_follows_the_labels_or_n_classes() -> None:
    ax = plots.confusion_matrix([0, 1, 2], [0, 2, 2]).axes[0]
    assert len(ax.texts) == 9
    ax = plots.confusion_matrix([0, 1, 2], [0, 2, 2], n_classes=10).axes[0]
    assert len(ax.texts) == 100


@pytest.mark.parametrize(
    ("y_true", "y_pred", "kwargs", "error", "message"),
    [
        ([0, 1], [0], {}, ValueError, "differ in length"),
        ([], [], {}, ValueError, "empty"),
        ([0.5, 1], [0, 1], {}, TypeError, "integer class labels"),
        ([-1, 1], [0, 1], {}, ValueError, "non-negative"),
        ([[0, 1]], [[0, 1]], {}, ValueError, "1-D"),
        ([0, 11], [0, 1], {"n_classes": 10}, ValueError, "n_classes"),
    ],
)
def test_confusion_matrix_input_errors(
    y_true: Any, y_pred: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        plots.confusion_matrix(y_true, y_pred, **kwargs)


# ---- misclassified gallery ----------------------------------------------------------------------


def gallery_images(fig: Any) -> list[Any]:
    return [ax for ax in fig.axes if ax.images]


@pytest.mark.parametrize("max_images", [36, 5])
@pytest.mark.parametrize("shape", [(784,), (28, 28)])
def test_misclassified_gallery(tmp_path: Path, max_images: int, shape: tuple[int, ...]) -> None:
    y_true, y_pred = predictions(300)
    images = np.random.default_rng(2).random((300, *shape))
    wrong = np.flatnonzero(y_true != y_pred)
    fig = plots.misclassified(images, y_true, y_pred, max_images=max_images)
    shown = gallery_images(fig)
    assert len(shown) == min(len(wrong), max_images)
    assert len(fig.axes) == len(shown)  # no empty panels left in the grid
    for ax, i in zip(shown, wrong, strict=False):
        assert ax.get_title() == f"pred {y_pred[i]} / true {y_true[i]}"
        np.testing.assert_array_equal(ax.images[0].get_array(), images[i].reshape(28, 28))
    fig.savefig(tmp_path / "gallery.png")
    assert_sensible_png(tmp_path / "gallery.png")


def test_misclassified_with_fewer_mistakes_than_the_cap() -> None:
    y_true = np.arange(10)
    y_pred = y_true.copy()
    y_pred[[2, 7]] = 0
    fig = plots.misclassified(np.zeros((10, 784)), y_true, y_pred)
    assert [ax.get_title() for ax in gallery_images(fig)] == ["pred 0 / true 2", "pred 0 / true 7"]


def test_misclassified_without_mistakes_says_so() -> None:
    fig = plots.misclassified(np.zeros((3, 64)), [1, 2, 3], [1, 2, 3])
    assert not gallery_images(fig)
    assert [t.get_text() for t in fig.texts] == ["no misclassified images"]


def test_misclassified_into_a_subfigure() -> None:
    figure = Figure()
    _left, right = figure.subfigures(1, 2)
    y_true, y_pred = predictions(50)
    assert plots.misclassified(np.zeros((50, 784)), y_true, y_pred, fig=right) is figure


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        (np.zeros((4, 780)), {}, "square images"),
        (np.zeros(4), {}, "square images"),
        (np.zeros((3, 784)), {}, "differ in length"),
        (np.zeros((4, 784)), {"max_images": 0}, "max_images"),
    ],
)
def test_misclassified_input_errors(images: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plots.misclassified(images, [0, 1, 2, 3], [1, 1, 2, 3], **kwargs)


# ---- accuracy curves, digits, first-layer weights ---------------------------------------------


def monitored_history(n: int = 8) -> History:
    return History(
        EpochResult(
            epoch,
            1.0,
            training_correct=900 + 10 * epoch,
            training_total=1000,
            evaluation_correct=8000 + 50 * epoch,
            evaluation_total=10_000,
        )
        for epoch in range(n)
    )


def test_accuracy_curves_draw_each_recorded_accuracy(tmp_path: Path) -> None:
    history = monitored_history()
    fig = plots.accuracy_curves(history, title="Overfitting")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert sorted(lines) == ["training (last: 97.00%)", "validation (last: 83.50%)"]
    np.testing.assert_allclose(
        lines["training (last: 97.00%)"].get_ydata(), [90 + e for e in range(8)]
    )
    np.testing.assert_allclose(
        lines["validation (last: 83.50%)"].get_ydata(), [80 + 0.5 * e for e in range(8)]
    )
    assert ax.get_title() == "Overfitting"
    fig.savefig(tmp_path / "accuracy.png")
    assert_sensible_png(tmp_path / "accuracy.png")


def test_accuracy_curves_of_test_accuracy_only_and_into_given_axes() -> None:
    figure = Figure()
    left, _right = figure.subplots(1, 2)
    assert plots.accuracy_curves(synthetic_history(), ax=left) is figure
    assert [line.get_label().split(" (")[0] for line in left.get_lines()] == ["test"]


def test_accuracy_curves_without_any_accuracy_is_value_error() -> None:
    with pytest.raises(ValueError, match="records no accuracy"):
        plots.accuracy_curves(synthetic_history(test=False))


@pytest.mark.parametrize("shape", [(784,), (28, 28)])
def test_digits_are_titled_with_their_labels(tmp_path: Path, shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(3).random((40, *shape))
    labels = np.arange(40) % 10
    fig = plots.digits(images, labels, max_images=12, columns=5)
    shown = gallery_images(fig)
    assert [ax.get_title() for ax in shown] == [str(label) for label in labels[:12]]
    assert len(fig.axes) == 12  # the unused panels of the last row are removed
    np.testing.assert_array_equal(shown[11].images[0].get_array(), images[11].reshape(28, 28))
    fig.savefig(tmp_path / "digits.png")
    assert_sensible_png(tmp_path / "digits.png")


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "message"),
    [
        (np.zeros((3, 784)), [1, 2], {}, "differ in length"),
        (np.zeros((0, 784)), [], {}, "is empty"),
        (np.zeros((2, 784)), [1, 2], {"max_images": 0}, "max_images"),
        (np.zeros((2, 784)), [1, 2], {"columns": True}, "columns"),
        (np.zeros((2, 783)), [1, 2], {}, "square images"),
    ],
)
def test_digits_input_errors(
    images: Any, labels: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plots.digits(images, labels, **kwargs)


def test_first_layer_weights_draw_each_neuron_on_its_own_symmetric_scale(tmp_path: Path) -> None:
    net = digitnet.Network([784, 30, 10], seed=4)
    weights = net.weights[0]
    fig = plots.first_layer_weights(weights)
    shown = gallery_images(fig)
    assert [ax.get_title() for ax in shown] == [f"neuron {k}" for k in range(30)]
    for k in (0, 29):
        image = shown[k].images[0]
        np.testing.assert_array_equal(image.get_array(), weights[k].reshape(28, 28))
        low, high = image.get_clim()
        assert high == -low == pytest.approx(np.abs(weights[k]).max())
    assert "all 30 hidden neurons" in fig.get_suptitle()
    fig.savefig(tmp_path / "weights.png")
    assert_sensible_png(tmp_path / "weights.png")


def test_first_layer_weights_capped_and_into_a_subfigure() -> None:
    figure = Figure()
    _left, right = figure.subfigures(1, 2)
    weights = np.random.default_rng(5).standard_normal((50, 64))
    assert plots.first_layer_weights(weights, max_neurons=12, columns=4, fig=right) is figure
    assert len(gallery_images(figure)) == 12
    assert "the first 12 of 50" in right.get_suptitle()
    titled = plots.first_layer_weights(weights, max_neurons=2, title="What training changed")
    assert titled.get_suptitle() == "What training changed"


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.zeros(784), "weight matrix"),
        (np.zeros((3, 780)), "square images"),
        (np.zeros((0, 784)), "no neurons"),
        (np.full((2, 784), np.nan), "non-finite"),
        (np.array([["a"] * 4]), "weight matrix"),
    ],
)
def test_first_layer_weights_input_errors(weights: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plots.first_layer_weights(weights)


# ---- history files ----------------------------------------------------------------------------


def test_history_file_round_trip(tmp_path: Path) -> None:
    history = synthetic_history(4)
    history.append(EpochResult(4, 0.5))
    plots.save_history(history, tmp_path / "h.json")
    records = json.loads((tmp_path / "h.json").read_text())
    assert records[0] == {
        "epoch": 0,
        "seconds": history[0].seconds,
        "correct": history[0].correct,
        "total": 10_000,
    }
    loaded = plots.load_history(tmp_path / "h.json")
    assert isinstance(loaded, History)
    assert loaded == history


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"epoch": 0}', "expected a JSON list"),
        ("[1]", r"\[0\]: expected an object"),
        ('[{"epoch": 0}]', "missing 'seconds'"),
        ('[{"epoch": 0, "seconds": 1, "loss": 2}]', "unknown key 'loss'"),
        ('[{"epoch": -1, "seconds": 1}]', "epoch must be a non-negative integer"),
        ('[{"epoch": true, "seconds": 1}]', "epoch must be a non-negative integer"),
        ('[{"epoch": 0, "seconds": "1"}]', "seconds must be a non-negative number"),
        ('[{"epoch": 0, "seconds": NaN}]', "not valid JSON"),
        ('[{"epoch": 0, "seconds": 1, "correct": 5}]', "both be given or both null"),
        ('[{"epoch": 0, "seconds": 1, "correct": 5, "total": 4}]', "exceeds total"),
        ('[{"epoch": 0, "seconds": 1, "correct": 1.5, "total": 4}]', "correct must be"),
    ],
)
def test_history_file_errors_name_the_file_and_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(HistoryFileError, match=message) as caught:
        plots.load_history(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, digitnet.DigitnetError)


def test_history_file_missing(tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="cannot read"):
        plots.load_history(tmp_path / "absent.json")


def test_without_matplotlib_history_files_work_and_plots_say_how_to_install_it(
    tmp_path: Path,
) -> None:
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from digitnet import plots\n"
        "from digitnet.history import History, EpochResult\n"
        "plots.save_history(History([EpochResult(0, 1.0)]), sys.argv[1])\n"
        "assert plots.load_history(sys.argv[1])[0].seconds == 1.0\n"
        "try:\n"
        "    plots.confusion_matrix([0], [0])\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "h.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "pip install digitnet[plot]" in result.stdout


# ---- the plot command, in-process ---------------------------------------------------------------


def run_plot(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="digitnet")
    plot_command.add_parser(parser.add_subparsers(required=True))
    args = parser.parse_args(["plot", *argv])
    status: int = args.run(args)
    return status


def test_plot_command_needs_a_model_or_a_history(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_plot()
    assert exit_.value.code == 2
    assert "give a MODEL, --learning-curves HISTORY_JSON, or both" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--max-images=0", "--dpi=x"])
def test_plot_command_usage_errors(option: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_plot("model.json", option)
    assert exit_.value.code == 2


def test_plot_command_learning_curves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plots.save_history(synthetic_history(), tmp_path / "history.json")
    out = tmp_path / "new" / "dir"
    assert run_plot("--learning-curves", str(tmp_path / "history.json"), "--out", str(out)) == 0
    assert_sensible_png(out / "learning_curves.png")
    assert f"Wrote {out / 'learning_curves.png'}" in capsys.readouterr().out


def test_plot_command_bad_history_and_model_files_are_digitnet_errors(tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text("[]")
    with pytest.raises(HistoryFileError, match="holds no epochs"):
        run_plot("--learning-curves", str(tmp_path / "h.json"), "--out", str(tmp_path))
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(digitnet.ModelFileError, match="not valid JSON"):
        run_plot(str(tmp_path / "m.json"), "--out", str(tmp_path))
    assert not list(tmp_path.glob("*.png"))


@pytest.fixture(scope="module")
def tiny_model(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A [784, 10, 10] network trained for one epoch on 5,000 MNIST images, saved."""
    from digitnet.datasets import mnist

    train = mnist.load_arrays(mnist_dir).train
    net = digitnet.Network([784, 10, 10], seed=0)
    net.SGD((train.x[:5000], train.y[:5000]), 1, 10, 3.0, verbose=False, progress=False)
    path = tmp_path_factory.mktemp("model") / "tiny.json"
    net.save(path)
    return path


@pytest.mark.slow
def test_plot_command_on_a_model(
    tiny_model: Path, mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run_plot(
        str(tiny_model), "--data-dir", str(mnist_dir), "--out", str(tmp_path), "--max-images", "16"
    )
    assert status == 0
    output = capsys.readouterr().out
    assert "test accuracy" in output
    accuracy = float(output.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 50  # one epoch on 5,000 images; measured 67.3%
    assert_sensible_png(tmp_path / "confusion.png")
    assert_sensible_png(tmp_path / "misclassified.png")


@pytest.mark.slow
def test_plot_command_refuses_a_model_not_for_the_data(mnist_dir: Path, tmp_path: Path) -> None:
    digitnet.Network([784, 10, 5], seed=0).save(tmp_path / "five.json")
    with pytest.raises(digitnet.DigitnetError, match="does not fit the test images"):
        run_plot(str(tmp_path / "five.json"), "--data-dir", str(mnist_dir), "--out", str(tmp_path))


def test_load_history_reads_only_regular_files(tmp_path: Path) -> None:
    """A named pipe is refused at once rather than waited on (read as the model loader reads)."""
    fifo = tmp_path / "history.json"
    os.mkfifo(fifo)
    with pytest.raises(plots.HistoryFileError, match="not a regular file"):
        plots.load_history(fifo)


def test_plot_command_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--weights draws the model's first layer without reading MNIST (none is given here)."""
    digitnet.Network([784, 16, 10], seed=0).save(tmp_path / "model.json")
    assert run_plot(str(tmp_path / "model.json"), "--weights", "--out", str(tmp_path)) == 0
    assert_sensible_png(tmp_path / "weights.png")
    assert not (tmp_path / "confusion.png").exists()
    assert f"Wrote {tmp_path / 'weights.png'}" in capsys.readouterr().out


def test_plot_command_weights_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_plot("--weights", "--learning-curves", "h.json")
    assert exit_.value.code == 2
    assert "--weights draws a MODEL's weights" in capsys.readouterr().err
    digitnet.Network([10, 4, 2], seed=0).save(tmp_path / "small.json")
    with pytest.raises(digitnet.DigitnetError, match="10 inputs are not a square image"):
        run_plot(str(tmp_path / "small.json"), "--weights", "--out", str(tmp_path))
    assert not list(tmp_path.glob("*.png"))
