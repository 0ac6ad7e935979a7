"""Summaries of networks and training histories for people: HTML tables for Jupyter's
``_repr_html_`` and plain-text counterparts for consoles.

Every value put into the HTML is escaped, and the markup is well-formed XHTML, so a summary can be
embedded in any page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from digitnet.costs import Cost

__all__ = [
    "Summarised",
    "SummarisedEpoch",
    "best_index",
    "history_html",
    "history_text",
    "network_html",
    "network_text",
]


class Summarised(Protocol):
    """What a network summary reads (any :class:`digitnet.network_api.NetworkAPI`); a protocol,
    so that this module depends on nothing of the classes it describes."""

    @property
    def sizes(self) -> list[int]: ...
    @property
    def activations(self) -> list[str]: ...
    @property
    def cost(self) -> Cost: ...
    @property
    def weights(self) -> Sequence[NDArray[Any]]: ...
    @property
    def biases(self) -> Sequence[NDArray[Any]]: ...


class SummarisedEpoch(Protocol):
    """What a history summary reads of each epoch (a :class:`digitnet.SummarisedEpoch`)."""

    @property
    def epoch(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def correct(self) -> int | None: ...
    @property
    def total(self) -> int | None: ...
    @property
    def accuracy(self) -> float | None: ...


#: Histories longer than this show their first and last epochs around an ellipsis row.
MAX_ROWS = 60

_DASH = "\u2014"
_BEST_STYLE = "font-weight:bold;background-color:rgba(255,200,0,0.3)"
_TABLE_STYLE = "border-collapse:collapse;font-variant-numeric:tabular-nums"


# ---- networks -----------------------------------------------------------------------------------


def network_html(net: Summarised) -> str:
    """An HTML summary of ``net``: its sizes, parameter count, dtype, seed and cost, and a table of
    its layers with their weight shapes and parameter statistics."""
    head = ["layer", "neurons", "weights", "biases", "parameters"]
    head += ["w mean", "w std", "w min", "w max", "b mean", "b std"]
    rows = [_cells(row) for row in _layer_rows(net)]
    return (
        '<div class="digitnet-network">'
        f"<p><strong>{_e(_class_name(net))}</strong> {_e(str(list(net.sizes)))}: "
        f"{_e(_network_facts(net))}</p>"
        f"{_table(head, rows)}</div>"
    )


def network_text(net: Summarised) -> str:
    """A plain-text summary of ``net``: a header line like :func:`network_html`'s and one line
    per layer."""
    head = ["layer", "neurons", "weights", "biases", "parameters", "w mean", "w std", "b mean"]
    rows = [[row[i] for i in (0, 1, 2, 3, 4, 5, 6, 9)] for row in _layer_rows(net)]
    title = f"{_class_name(net)}({list(net.sizes)}): {_network_facts(net)}"
    return "\n".join([title, *_text_table(head, rows)])


def _class_name(net: Summarised) -> str:
    return f"{type(net).__module__}.{type(net).__qualname__}"


def _network_facts(net: Summarised) -> str:
    weights = list(net.weights)
    count = sum(w.size + w.shape[0] for w in weights)
    dtype = str(weights[0].dtype) if weights else "float64"
    seed = getattr(net, "seed", None)
    facts = [f"{count:,} parameters", dtype, f"seed {_DASH if seed is None else seed}"]
    facts.append(net.cost.name)
    if any(a != "sigmoid" for a in net.activations):
        facts.append(" / ".join(net.activations))
    return ", ".join(facts)


def _layer_rows(net: Summarised) -> list[list[str]]:
    sizes = list(net.sizes)
    rows = [["0 (input)", f"{sizes[0]:,}", *[_DASH] * 9]]
    for layer, (w, b) in enumerate(zip(net.weights, net.biases, strict=True), start=1):
        stats = [w.mean(), w.std(), w.min(), w.max(), b.mean(), b.std()]
        rows.append(
            [
                str(layer),
                f"{w.shape[0]:,}",
                str(tuple(w.shape)),
                str(tuple(b.shape)),
                f"{w.size + b.size:,}",
                *(_number(float(s)) for s in stats),
            ]
        )
    return rows


def _number(value: float) -> str:
    return f"{value:.4g}" if np.isfinite(value) else str(value)


# ---- histories ----------------------------------------------------------------------------------


def history_html(history: Sequence[SummarisedEpoch], max_rows: int = MAX_ROWS) -> str:
    """An HTML summary of a training history: a line with the best epoch and the time taken, and
    a table of the epochs' test accuracy and seconds with the best epoch highlighted."""
    head = ["epoch", "correct", "accuracy", "seconds", ""]
    best = best_index(history)
    body = []
    for index in _shown(len(history), max_rows):
        if index is None:
            body.append(f'<tr><td colspan="{len(head)}" style="text-align:center">\u2026</td></tr>')
            continue
        cells = [*_epoch_cells(history[index]), "best" if index == best else ""]
        attributes = f' class="best" style="{_BEST_STYLE}"' if index == best else ""
        body.append(_cells(cells, attributes))
    return (
        '<div class="digitnet-history">'
        f"<p><strong>History</strong>: {_e(_history_facts(history))}</p>"
        f"{_table(head, body) if len(history) else ''}</div>"
    )


def history_text(history: Sequence[SummarisedEpoch], max_rows: int = MAX_ROWS) -> str:
    """A plain-text summary of a training history, like :func:`history_html`, with the best
    epoch marked by an asterisk."""
    best = best_index(history)
    rows = []
    for index in _shown(len(history), max_rows):
        if index is None:
            rows.append(["\u2026", "", "", "", ""])
        else:
            rows.append([*_epoch_cells(history[index]), "*" if index == best else ""])
    lines = [f"History: {_history_facts(history)}"]
    if len(history):
        lines += _text_table(["epoch", "correct", "accuracy", "seconds", ""], rows)
    return "\n".join(lines)


def best_index(history: Sequence[SummarisedEpoch]) -> int | None:
    """The index of the most accurate epoch (the earliest on ties), if any was measured: the
    one definition of "the best epoch" (``History.best`` and the plots use it too)."""
    best: int | None = None
    for index, epoch in enumerate(history):
        accuracy = epoch.accuracy
        if accuracy is not None and (best is None or accuracy > (history[best].accuracy or 0.0)):
            best = index
    return best


def _history_facts(history: Sequence[SummarisedEpoch]) -> str:
    if not len(history):
        return "no epochs"
    seconds = sum(epoch.seconds for epoch in history)
    facts = [f"{len(history)} epoch{'s' if len(history) != 1 else ''}"]
    best = best_index(history)
    if best is not None:
        result = history[best]
        facts.append(f"best {_percent(result.accuracy)} after epoch {result.epoch}")
    facts.append(f"{seconds / len(history):.3g} s per epoch, {seconds:.3g} s in all")
    return "; ".join(facts)


def _epoch_cells(result: SummarisedEpoch) -> list[str]:
    correct = _DASH if result.correct is None else f"{result.correct:,} / {result.total:,}"
    return [str(result.epoch), correct, _percent(result.accuracy), f"{result.seconds:.3f}"]


def _percent(accuracy: float | None) -> str:
    return _DASH if accuracy is None else f"{100 * accuracy:.2f}%"


def _shown(length: int, max_rows: int) -> list[int | None]:
    """The indices of the rows to show; ``None`` stands for the rows left out."""
    if length <= max_rows:
        return list(range(length))
    half = max(1, max_rows // 2)
    return [*range(half), None, *range(length - half, length)]


# ---- markup -------------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _cells(values: Sequence[str], attributes: str = "") -> str:
    """A table row of the escaped ``values``; ``attributes`` is markup for the ``tr`` tag."""
    cells = "".join(f"<td>{_e(value)}</td>" for value in values)
    return f"<tr{attributes}>{cells}</tr>"


def _table(head: Sequence[str], rows: Sequence[str]) -> str:
    """A table with the escaped column names ``head`` over ``rows`` of markup."""
    header = "".join(f"<th>{_e(name)}</th>" for name in head)
    return (
        f'<table style="{_TABLE_STYLE}"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _text_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head))]
    lines = []
    for row in [list(head), *rows]:
        cells = [value.rjust(width) for value, width in zip(row, widths, strict=True)]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines
