"""What a sweep shows: a line per finished trial (count, running best, time left), the summary
table, and ``sweep.png``, validation accuracy against each swept option."""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from digitnet.persistence import write_atomically
from digitnet.sweep.results import ConfigSummary, Row
from digitnet.sweep.spec import Trial
from digitnet.sweep.trial import TrialResult

__all__ = ["SWEEP_PNG", "Progress", "format_table", "plot_sweep"]

SWEEP_PNG = "sweep.png"


class Progress:
    """Prints one line per finished trial: how many of the sweep are done, the trial's
    figures, the best validation accuracy so far and the time left at the pace so far.
    ``done`` and ``best`` start from the trials finished before this run."""

    def __init__(self, total: int, done: int, best: float | None, file: TextIO | None = None):
        self.total, self.done, self.best = total, done, best
        self.file = file
        self._started, self.finished_here = time.perf_counter(), 0

    def trial_done(self, trial: Trial, result: TrialResult, swept: Sequence[str]) -> None:
        """Reports ``result``."""
        self.done += 1
        self.finished_here += 1
        if result.status == "ok" and result.best_validation is not None:
            self.best = max(self.best or 0.0, result.best_validation)
        texts = trial.texts()
        label = " ".join(f"{name}={texts[name]}" for name in swept if name in texts)
        figures = (
            f"validation {_percent(result.best_validation)}, test {_percent(result.test_at_best)}"
            if result.best_validation is not None
            else "no epoch finished"
        )
        elapsed = time.perf_counter() - self._started
        left = elapsed / self.finished_here * (self.total - self.done)
        width = len(str(self.total))
        print(
            f"[{self.done:>{width}}/{self.total}] {label} seed={trial.seed}: {figures} "
            f"({result.status}, {result.seconds:.1f} s) | best {_percent(self.best)} | "
            f"{_duration(left)} left",
            file=self.file or sys.stderr,
            flush=True,
        )


def format_table(summaries: Sequence[ConfigSummary], swept: Sequence[str]) -> str:
    """The summary as a text table: one line per configuration, best first, with its swept
    options and its mean ± standard deviation over the seeds."""
    header = ["rank", *swept, "seeds", "validation %", "test %", "s/trial"]
    lines = []
    for rank, s in enumerate(summaries, 1):
        seeds = f"{s.ok}/{s.trials}" + (f" ({s.diverged} diverged)" if s.diverged else "")
        lines.append(
            [
                str(rank),
                *(s.options.get(name, "") for name in swept),
                seeds,
                _mean_std(s.validation_mean, s.validation_std),
                _mean_std(s.test_mean, s.test_std),
                f"{s.seconds_mean:.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    )


def plot_sweep(path: Path, rows: Sequence[Row], swept: Sequence[str]) -> bool:
    """Draws each ``ok`` trial's best validation accuracy against each swept option (numbers
    on a numeric axis, other values side by side), with each value's mean, to ``path``.
    Returns ``False`` (and draws nothing) without matplotlib or with nothing to draw."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    ok = [row for row in rows if row["status"] == "ok"]
    names = [name for name in swept if any(row.get(name) for row in ok)]
    if not names:
        return False
    figure = Figure(figsize=(4 * len(names), 3.4), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        texts = list(dict.fromkeys(row[name] for row in ok))  # names in the spec's order
        numeric = all(_is_number(t) for t in texts)
        if numeric:
            texts.sort(key=float)
        position = {t: float(t) if numeric else float(i) for i, t in enumerate(texts)}
        xs = [position[row[name]] for row in ok]
        ys = [100 * float(row["best_validation"]) for row in ok]
        ax.scatter(xs, ys, s=14, alpha=0.5, color="C0", label="trials")
        means = [
            sum(100 * float(r["best_validation"]) for r in ok if r[name] == t)
            / sum(r[name] == t for r in ok)
            for t in texts
        ]
        ax.plot([position[t] for t in texts], means, "o-", color="C1", label="mean")
        if numeric and len(texts) > 1 and min(position.values()) > 0:
            span = max(position.values()) / min(position.values())
            if span >= 100:
                ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(list(position.values()), texts, rotation=20)
        ax.set_xlabel(name)
        ax.set_ylabel("best validation accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomically(path, buffer.getvalue())
    return True


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _mean_std(mean: float, std: float) -> str:
    return "-" if math.isnan(mean) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def _duration(seconds: float) -> str:
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
