"""Running a sweep: the trials not yet in ``results.csv``, on local worker processes or a Dask
cluster, each row written as its trial finishes; then ``summary.csv``, the table and
``sweep.png``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from digitnet.errors import DigitnetError
from digitnet.sweep import dask_runner, local
from digitnet.sweep.report import SWEEP_PNG, Progress, format_table, plot_sweep
from digitnet.sweep.results import (
    RESULTS_CSV,
    SUMMARY_CSV,
    ConfigSummary,
    read_results,
    result_row,
    summarize,
    write_results,
    write_summary,
)
from digitnet.sweep.spec import SweepSpec, Trial, load_spec, parse_spec
from digitnet.sweep.trial import TrialResult

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["default_workers", "run"]


def default_workers() -> int:
    """One local worker per CPU this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(
    spec: SweepSpec | Mapping[str, Any] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    client: Client | str | None = None,
    workers: int | None = None,
    verbose: bool = True,
) -> list[ConfigSummary]:
    """Runs the sweep ``spec`` (a checked spec, TOML's tables, or a TOML file) into the
    directory ``out``, skipping the trials already in its results.csv (except those recorded
    as an error, which run again). Trials run on
    ``workers`` local processes (default: one per CPU), or on the Dask cluster of ``client``
    (a ``distributed.Client`` or a scheduler address). Returns the summary, best first."""
    if isinstance(spec, (str, os.PathLike)):
        spec = load_spec(spec)
    elif not isinstance(spec, SweepSpec):
        spec = parse_spec(spec)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):  # fmt: skip
        raise ValueError(f"workers: must be a positive integer, got {workers!r}")
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigitnetError(f"--out {directory}: cannot make the directory: {error}") from error
    results_path = directory / RESULTS_CSV
    trials = spec.trials()
    # By trial id: a trial recorded as an error (its worker died, the cluster lacked a
    # package...) is run again and its row replaced; ok and diverged trials are kept.
    rows = {row["trial"]: row for row in read_results(results_path)}
    finished = {key for key, row in rows.items() if not row["status"].startswith("error")}
    todo = [trial for trial in trials if trial.id not in finished]
    say = _printer(verbose)
    own_client = isinstance(client, str)
    if isinstance(client, str):
        client = dask_runner.connect(client)
    where = (
        f"the Dask cluster at {client.scheduler.address if client.scheduler else '?'}"
        if client is not None
        else f"{min(workers or default_workers(), len(todo))} local worker processes"
    )
    configurations = len({trial.config_id for trial in trials})
    say(
        f"Sweep: {len(trials)} trials ({configurations} configurations, {len(spec.seeds)} "
        f"seeds); {len(trials) - len(todo)} already in {results_path}"
        + (f"; running {len(todo)} on {where}" if todo else "; nothing to run")
    )
    ids = {trial.id for trial in trials}
    best = [float(rows[i]["best_validation"]) for i in finished & ids if rows[i]["status"] == "ok"]
    progress = Progress(len(trials), len(trials) - len(todo), max(best, default=None))

    def on_result(trial: Trial, result: TrialResult) -> None:
        rows[trial.id] = result_row(trial, result)
        write_results(results_path, list(rows.values()))
        if verbose:
            progress.trial_done(trial, result, spec.swept)

    try:
        if todo and client is not None:
            dask_runner.run_on_dask(client, todo, spec.data_dir, on_result)
        elif todo:
            local.run_local(todo, workers or default_workers(), spec.data_dir, on_result)
    except KeyboardInterrupt:
        write_summary(directory / SUMMARY_CSV, summarize(trials, rows.values()))
        say(f"Interrupted: {len(finished & ids) + progress.finished_here} of {len(trials)} "
            f"trials are in {results_path}; run the same command again to go on")  # fmt: skip
        raise
    finally:
        if own_client and client is not None:
            cast(Any, client).close()  # distributed leaves close untyped
    summaries = summarize(trials, rows.values())
    write_summary(directory / SUMMARY_CSV, summaries)
    if verbose:
        print(format_table(summaries, spec.swept), flush=True)
    ours = [rows[trial.id] for trial in trials if trial.id in rows]
    drawn = plot_sweep(directory / SWEEP_PNG, ours, spec.swept)
    say(
        f"Wrote {results_path}, {directory / SUMMARY_CSV}"
        + (f" and {directory / SWEEP_PNG}" if drawn else "")
    )
    return summaries


def _printer(verbose: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return say
