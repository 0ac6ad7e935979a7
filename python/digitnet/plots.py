"""Pictures of training and of a network's mistakes, drawn with matplotlib, and a JSON file
format for a training :class:`~digitnet.History`.

The drawing functions take an existing matplotlib ``Axes`` (or ``Figure``) to draw into, or make a
new ``Figure``; either way they return the figure. They never use ``pyplot``, so they work with
any backend, need no display, and leave no figure open. matplotlib is imported only when one is
drawn: ``pip install digitnet[plot]``. :func:`save_history` and :func:`load_history` (which are
:meth:`digitnet.History.save` and :meth:`digitnet.History.load`) need no matplotlib.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from digitnet.errors import HistoryFileError
from digitnet.history import EpochResult, History

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = [
    "HistoryFileError",
    "accuracy_curves",
    "confusion_matrix",
    "digits",
    "first_layer_weights",
    "learning_curves",
    "load_history",
    "misclassified",
    "require_matplotlib",
    "save_history",
]

_ACCURACY_COLOR = "C0"
_SECONDS_COLOR = "0.6"


# ---- matplotlib, imported on first use ----------------------------------------------------------


def _new_figure(**kwargs: Any) -> Figure:
    """A figure not managed by pyplot (nothing stays open, no GUI backend is needed)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            f"digitnet's plots need matplotlib ({error}); "
            "install it with: pip install digitnet[plot]"
        ) from error
    return Figure(**kwargs)


def _root(figure: Figure | SubFigure) -> Figure:
    """The top-level figure holding ``figure`` (itself unless it is a subfigure)."""
    from matplotlib.figure import SubFigure

    return figure.figure if isinstance(figure, SubFigure) else figure


def require_matplotlib() -> None:
    """Raises ImportError, saying how to install it, unless matplotlib can be imported."""
    _new_figure()


# ---- learning curves ----------------------------------------------------------------------------


def learning_curves(history: Iterable[EpochResult], ax: Axes | None = None) -> Figure:
    """Draws the test accuracy after each epoch (left axis, best epoch marked) over grey bars of
    each epoch's training time (right axis); returns the figure."""
    epochs = list(history)
    if not epochs:
        raise ValueError("history: is empty; there is nothing to draw")
    if ax is None:
        ax = _new_figure(figsize=(7.0, 4.2), layout="constrained").add_subplot()
    figure = _root(ax.figure)
    epoch_numbers = [e.epoch for e in epochs]
    measured = [(e.epoch, 100 * e.accuracy) for e in epochs if e.accuracy is not None]

    seconds_ax = ax.twinx() if measured else ax
    bars = seconds_ax.bar(
        epoch_numbers,
        [e.seconds for e in epochs],
        width=0.6,
        color=_SECONDS_COLOR,
        alpha=0.45,
        label="training time",
    )
    seconds_ax.set_ylabel("seconds per epoch")
    seconds_ax.set_ylim(0, max(max(e.seconds for e in epochs), 1e-9) * 1.15)
    handles: list[Any] = [bars]

    if measured:
        # The accuracy axes is drawn above its twin, so the curve stays in front of the bars.
        ax.set_zorder(seconds_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        xs, ys = zip(*measured, strict=True)
        (line,) = ax.plot(
            xs, ys, marker="o", markersize=3.5, color=_ACCURACY_COLOR, label="test accuracy"
        )
        best_result = History(epochs).best()
        assert best_result is not None  # some epoch was measured
        best_epoch, best = best_result.epoch, 100 * (best_result.accuracy or 0.0)
        (star,) = ax.plot(
            [best_epoch],
            [best],
            marker="*",
            markersize=12,
            linestyle="none",
            color="C3",
            label=f"best: {best:.2f}% (epoch {best_epoch})",
        )
        ax.set_ylabel("test accuracy (%)", color=_ACCURACY_COLOR)
        low, high = min(ys), max(ys)
        margin = max((high - low) * 0.1, 0.1)
        ax.set_ylim(low - margin, high + margin)
        handles = [line, star, bars]

    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_title("Learning curve" if measured else "Training time (no test accuracy recorded)")
    ax.grid(True, alpha=0.3)
    ax.legend(handles=handles, loc="lower right", fontsize="small")
    return figure


# ---- confusion matrix ---------------------------------------------------------------------------


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    ax: Axes | None = None,
    normalize: bool = False,
    n_classes: int | None = None,
) -> Figure:
    """Draws the confusion matrix as a heat map, rows the true class and columns the predicted
    one, each cell annotated with its count (or, with ``normalize``, its percentage of the row);
    returns the figure."""
    truth, predicted = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if truth.shape != predicted.shape:
        raise ValueError(f"y_true and y_pred differ in length: {len(truth)} and {len(predicted)}")
    if truth.size == 0:
        raise ValueError("y_true: is empty; there is nothing to draw")
    needed = int(max(truth.max(), predicted.max())) + 1
    n = needed if n_classes is None else n_classes
    if n < needed:
        raise ValueError(f"n_classes: is {n_classes}, but the labels go up to {needed - 1}")
    counts = np.bincount(truth * n + predicted, minlength=n * n).reshape(n, n)
    rows = counts.sum(axis=1, keepdims=True)
    values = 100 * counts / np.maximum(rows, 1) if normalize else counts.astype(np.float64)
    top = 100.0 if normalize else max(float(counts.max()), 1.0)

    if ax is None:
        ax = _new_figure(figsize=(6.4, 5.4), layout="constrained").add_subplot()
    figure = _root(ax.figure)
    from matplotlib.colors import PowerNorm

    # A square-root colour scale: errors are a few dozen beside a diagonal of a thousand, and
    # would all be white on a linear one.
    shade = PowerNorm(gamma=0.5, vmin=0.0, vmax=top)
    image = ax.imshow(values, cmap="Blues", norm=shade)
    figure.colorbar(image, ax=ax, label="% of the true class" if normalize else "samples")
    size = max(5.0, min(9.0, 90.0 / n))
    for (i, j), count in np.ndenumerate(counts):
        text = f"{values[i, j]:.1f}" if normalize else str(count)
        color = "white" if shade(values[i, j]) > 0.6 else "black"
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=size)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    correct = int(np.trace(counts))
    ax.set_title(f"{correct} / {truth.size} correct ({100 * correct / truth.size:.2f}%)")
    return figure


def _labels(name: str, value: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {array.shape}")
    if array.size and (array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name}: expected integer class labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name}: class labels must be non-negative, got {array.min()}")
    return array.astype(np.int64)


# ---- accuracy curves: training against validation ---------------------------------------------


def accuracy_curves(
    history: Iterable[EpochResult], ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Draws each accuracy the history recorded after every epoch (training, evaluation —
    network2.py's name for the validation data — and test), in %, on one axes, so the gap
    between training and held-out accuracy (overfitting) shows; returns the figure."""
    epochs = list(history)
    curves = [
        ("training", [(e.epoch, e.training_correct, e.training_total) for e in epochs]),
        ("validation", [(e.epoch, e.evaluation_correct, e.evaluation_total) for e in epochs]),
        ("test", [(e.epoch, e.correct, e.total) for e in epochs]),
    ]
    drawn = [
        (name, [(epoch, 100 * c / t) for epoch, c, t in points if c is not None and t])
        for name, points in curves
    ]
    drawn = [(name, points) for name, points in drawn if points]
    if not drawn:
        raise ValueError(
            "history: records no accuracy; train with test_data or monitor_*_accuracy=True"
        )
    if ax is None:
        ax = _new_figure(figsize=(6.4, 4.0), layout="constrained").add_subplot()
    figure = _root(ax.figure)
    for name, points in drawn:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, label=f"{name} (last: {ys[-1]:.2f}%)", linewidth=1.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy after each epoch" if title is None else title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return figure


# ---- galleries: sample digits, first-layer weights -----------------------------------------


def digits(
    images: ArrayLike,
    labels: ArrayLike,
    max_images: int = 32,
    columns: int = 8,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Draws the first ``max_images`` images in a grid of ``columns``, each titled with its
    label; images are rows ``(n, 784)`` or squares ``(n, 28, 28)``. Returns the figure."""
    pictures = _square_images(images)
    truth = _labels("labels", labels)
    if len(pictures) != len(truth):
        raise ValueError(f"images and labels differ in length: {len(pictures)} and {len(truth)}")
    count = min(len(pictures), _positive_int("max_images", max_images))
    if count == 0:
        raise ValueError("images: is empty; there is nothing to draw")
    axes, root = _panels(fig, count, _positive_int("columns", columns), 1.2)
    for k, ax in enumerate(axes):
        ax.imshow(pictures[k], cmap="gray_r", interpolation="nearest")
        ax.set_title(str(truth[k]), fontsize=9)
    return root


def first_layer_weights(
    weights: ArrayLike,
    max_neurons: int = 100,
    columns: int = 10,
    fig: Figure | SubFigure | None = None,
    title: str | None = None,
) -> Figure:
    """Draws what each neuron of the first hidden layer looks for: its row of ``weights``
    (``net.weights[0]``, shape ``(neurons, 784)``) as a 28×28 image, red where a dark pixel
    excites it and blue where one inhibits it, each on its own symmetric scale, under ``title``
    (default: what is drawn). Returns the figure."""
    matrix = np.asarray(weights)
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise ValueError(
            "weights: expected the first layer's weight matrix (neurons, pixels), such as "
            f"net.weights[0], got shape {matrix.shape}"
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("weights: contains a non-finite value (NaN or infinity)")
    pictures = _square_images(matrix)
    count = min(len(pictures), _positive_int("max_neurons", max_neurons))
    if count == 0:
        raise ValueError("weights: has no neurons; there is nothing to draw")
    axes, root = _panels(fig, count, _positive_int("columns", columns), 1.1)
    for k, ax in enumerate(axes):
        scale = max(float(np.abs(pictures[k]).max()), 1e-12)
        ax.imshow(pictures[k], cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_title(f"neuron {k}", fontsize=7)
    if title is None:
        shown = f"the first {count} of {len(pictures)}" if count < len(pictures) else f"all {count}"
        title = f"First-layer weights of {shown} hidden neurons (red +, blue −)"
    (fig if fig is not None else root).suptitle(title, fontsize=10)
    return root


def _panels(
    fig: Figure | SubFigure | None, count: int, columns: int, inches: float
) -> tuple[list[Axes], Figure]:
    """``count`` image axes (no ticks) in rows of ``columns`` panels of about ``inches`` each,
    in ``fig`` or a new figure; returns them and the top-level figure."""
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    if fig is None:
        fig = _new_figure(
            figsize=(inches * columns + 0.3, inches * rows + 0.5), layout="constrained"
        )
    grid = fig.subplots(rows, columns, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[count:]:
        ax.remove()
    for ax in axes[:count]:
        ax.set_axis_off()
    return axes[:count], _root(fig)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return int(value)


# ---- misclassified digits -----------------------------------------------------------------------


def misclassified(
    images: ArrayLike,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    max_images: int = 36,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Draws a grid of the first ``max_images`` misclassified images, each titled
    "pred P / true T"; images are rows ``(n, 784)`` or squares ``(n, 28, 28)``. Returns the
    figure."""
    pictures = _square_images(images)
    truth, predicted = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if not len(pictures) == len(truth) == len(predicted):
        raise ValueError(
            f"images, y_true and y_pred differ in length: {len(pictures)}, {len(truth)} "
            f"and {len(predicted)}"
        )
    if (
        isinstance(max_images, bool)
        or not isinstance(max_images, numbers.Integral)
        or max_images < 1
    ):
        raise ValueError(f"max_images: must be a positive integer, got {max_images!r}")
    wrong = np.flatnonzero(truth != predicted)
    shown = wrong[:max_images]
    columns = max(1, math.ceil(math.sqrt(len(shown))))
    rows = max(1, math.ceil(len(shown) / columns))
    if fig is None:
        size = (max(1.15 * columns + 0.3, 3.6), 1.3 * rows + 0.5)
        fig = _new_figure(figsize=size, layout="constrained")
    root = _root(fig)
    if len(shown) == 0:
        fig.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return root
    grid = fig.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(grid.flat):
        if k >= len(shown):
            ax.remove()
            continue
        i = shown[k]
        ax.imshow(pictures[i], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"pred {predicted[i]} / true {truth[i]}", fontsize=7)
        ax.set_axis_off()
    fig.suptitle(f"{len(shown)} of {len(wrong)} misclassified (of {len(truth)} images)")
    return root


def _square_images(images: ArrayLike) -> NDArray[Any]:
    array = np.asarray(images)
    if array.ndim == 3:
        return array
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side * side == array.shape[1]:
            return array.reshape(array.shape[0], side, side)
    raise ValueError(
        "images: expected rows of square images (n, side*side) such as (n, 784), or (n, h, w), "
        f"got shape {array.shape}"
    )


# ---- saving and loading a history (kept here for the callers of digitnet < 0.3) -------------


def save_history(history: Iterable[EpochResult], path: str | os.PathLike[str]) -> None:
    """Writes ``history`` to ``path`` (see :meth:`digitnet.History.save`)."""
    kept = history if isinstance(history, History) else History(history)
    kept.save(path)


def load_history(path: str | os.PathLike[str]) -> History:
    """Reads a history file (see :meth:`digitnet.History.load`)."""
    return History.load(path)
