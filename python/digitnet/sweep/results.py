"""``results.csv`` (one row per finished trial) and ``summary.csv`` (one row per
configuration, ranked by validation accuracy), each rewritten atomically so a crash or Ctrl-C
never leaves a torn file."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from digitnet.errors import DigitnetError
from digitnet.persistence import write_atomically
from digitnet.sweep.spec import Trial
from digitnet.sweep.trial import TrialResult

__all__ = [
    "FIGURES",
    "RESULTS_CSV",
    "SUMMARY_CSV",
    "ConfigSummary",
    "read_results",
    "result_row",
    "summarize",
    "write_results",
    "write_summary",
]

RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
#: The measured columns of results.csv, after the trial id, its options and its seed.
FIGURES = (
    "status",
    "best_validation",
    "final_validation",
    "test_at_best",
    "best_epoch",
    "epochs_run",
    "seconds",
)

Row = dict[str, str]


def result_row(trial: Trial, result: TrialResult) -> Row:
    """The results.csv row of ``trial``: its id, options, seed and figures, as text."""
    figures = {
        "status": result.status,
        "best_validation": _number(result.best_validation),
        "final_validation": _number(result.final_validation),
        "test_at_best": _number(result.test_at_best),
        "best_epoch": "" if result.best_epoch is None else str(result.best_epoch),
        "epochs_run": str(result.epochs_run),
        "seconds": f"{result.seconds:.3f}",
    }
    return {"trial": trial.id, **trial.texts(), "seed": str(trial.seed), **figures}


def read_results(path: Path) -> list[Row]:
    """The rows of a results.csv (none when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise DigitnetError(f"{path}: cannot read the results: {error}") from error
    reader = csv.DictReader(io.StringIO(text))
    missing = {"trial", "seed", *FIGURES} - set(reader.fieldnames or ())
    if missing:
        raise DigitnetError(
            f"{path}: not a sweep's results file (no column {sorted(missing)[0]}); "
            "move it away or choose another --out"
        )
    rows = list(reader)
    if any(None in row or any(v is None for v in row.values()) for row in rows):
        raise DigitnetError(f"{path}: a row has the wrong number of columns")
    return rows


def write_results(path: Path, rows: Sequence[Row]) -> None:
    """Writes ``rows`` to results.csv atomically: the trial id, the options (sorted), the
    seed, then :data:`FIGURES`."""
    options = sorted({key for row in rows for key in row} - {"trial", "seed", *FIGURES})
    _write_csv(path, ["trial", *options, "seed", *FIGURES], rows)


@dataclass(frozen=True)
class ConfigSummary:
    """One configuration's figures over its seeds (``ok`` trials only; NaN when none)."""

    options: dict[str, str]
    trials: int
    ok: int
    diverged: int
    errors: int
    validation_mean: float
    validation_std: float
    test_mean: float
    test_std: float
    seconds_mean: float


def summarize(trials: Iterable[Trial], rows: Iterable[Row]) -> list[ConfigSummary]:
    """Each configuration of ``trials`` with a row in ``rows``, best mean validation accuracy
    first (configurations with no ``ok`` trial last)."""
    by_id = {row["trial"]: row for row in rows}
    groups: dict[str, tuple[dict[str, str], list[Row]]] = {}
    for trial in trials:
        group = groups.setdefault(trial.config_id, (trial.texts(), []))
        if trial.id in by_id:
            group[1].append(by_id[trial.id])
    summaries = [_summary(options, found) for options, found in groups.values() if found]
    return sorted(
        summaries,
        key=lambda s: -math.inf if math.isnan(s.validation_mean) else s.validation_mean,
        reverse=True,
    )


def write_summary(path: Path, summaries: Sequence[ConfigSummary]) -> None:
    """Writes summary.csv atomically: rank, the options, then the figures of
    :class:`ConfigSummary`."""
    options = sorted({key for s in summaries for key in s.options})
    figures = ["trials", "ok", "diverged", "errors", "validation_mean", "validation_std",
               "test_mean", "test_std", "seconds_mean"]  # fmt: skip
    rows = [
        {
            "rank": str(rank),
            **s.options,
            **{name: _number(getattr(s, name)) for name in figures},
        }
        for rank, s in enumerate(summaries, 1)
    ]
    _write_csv(path, ["rank", *options, *figures], rows)


def _summary(options: dict[str, str], rows: list[Row]) -> ConfigSummary:
    ok = [row for row in rows if row["status"] == "ok"]
    validation = [float(row["best_validation"]) for row in ok]
    test = [float(row["test_at_best"]) for row in ok]
    return ConfigSummary(
        options=options,
        trials=len(rows),
        ok=len(ok),
        diverged=sum(row["status"] == "diverged" for row in rows),
        errors=sum(row["status"].startswith("error") for row in rows),
        validation_mean=_mean(validation),
        validation_std=_std(validation),
        test_mean=_mean(test),
        test_std=_std(test),
        seconds_mean=_mean([float(row["seconds"]) for row in rows]),
    )


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _std(values: list[float]) -> float:
    """The sample standard deviation (0 for one value, NaN for none)."""
    if not values:
        return math.nan
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _number(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    try:
        write_atomically(path, buffer.getvalue().encode("utf-8"))
    except OSError as error:
        raise DigitnetError(f"{path}: cannot write: {error.strerror or error}") from error
