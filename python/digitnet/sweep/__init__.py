"""Hyperparameter sweeps: many ``digitnet train`` runs from one TOML spec, on every core of
this machine or on a Dask cluster, resumable and fault-tolerant.

>>> from digitnet import sweep
>>> summaries = sweep.run("examples/sweep.toml", out="runs/sweep")  # doctest: +SKIP

``DIR/results.csv`` gets one row per trial as it finishes, ``DIR/summary.csv`` each
configuration's mean and standard deviation over its seeds, ranked by validation accuracy, and
``DIR/sweep.png`` accuracy against each swept option. See :mod:`digitnet.sweep.spec` for the
spec's format.
"""

from __future__ import annotations

from digitnet.sweep.results import ConfigSummary
from digitnet.sweep.runner import default_workers, run
from digitnet.sweep.spec import SweepSpec, Trial, load_spec, parse_spec
from digitnet.sweep.trial import TrialResult, run_trial

__all__ = [
    "ConfigSummary",
    "SweepSpec",
    "Trial",
    "TrialResult",
    "default_workers",
    "load_spec",
    "parse_spec",
    "run",
    "run_trial",
]
