"""Running one trial: what ``digitnet train`` computes for the trial's options and seed, with
the validation split measured after every epoch to choose the epoch, and the test split
reported for the chosen epoch (never used to choose)."""

from __future__ import annotations

import argparse
import functools
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from digitnet import recipes
from digitnet.commands import train as train_command
from digitnet.datasets import mnist
from digitnet.errors import DivergenceError
from digitnet.history import EpochResult
from digitnet.sweep.spec import Trial

__all__ = ["KILL_ONCE_ENV", "TrialResult", "load_splits", "run_trial"]

#: A testing hook: when this names a file that does not exist yet, the first trial to finish
#: an epoch creates it and kills its own process (SIGKILL), as a crashing worker would.
KILL_ONCE_ENV = "DIGITNET_SWEEP_TEST_KILL_ONCE"


@dataclass(frozen=True)
class TrialResult:
    """What one trial measured: accuracies are fractions of the split (``None`` when no
    epoch finished); ``best_epoch`` counts from 1; ``status`` is ``ok``, ``diverged`` or
    ``error: ...``."""

    trial_id: str
    status: str
    best_validation: float | None = None
    final_validation: float | None = None
    test_at_best: float | None = None
    best_epoch: int | None = None
    epochs_run: int = 0
    seconds: float = 0.0


@functools.cache
def load_splits(data_dir: str | None, dtype: str) -> mnist.MnistSplits:
    """MNIST's splits in ``dtype``, loaded on this process's first call for that path and
    kept: a worker loads it once for all the trials it runs (``load_splits.cache_info()``
    counts the loads)."""
    return mnist.load_arrays(data_dir, dtype=dtype)


def run_trial(trial: Trial, data_dir: str | None = None) -> TrialResult:
    """Trains ``trial``; a divergence or an exception is recorded in the result, not raised.
    Its ``seconds`` are those of training and evaluation (loading MNIST excluded)."""
    epochs: list[EpochResult] = []
    started = time.perf_counter()
    try:
        run = _Run(trial.namespace())
        splits = load_splits(data_dir, run.dtype)
        started = time.perf_counter()
        run.train(splits, epochs.append)
        status = "ok"
    except DivergenceError:
        status = "diverged"
    except Exception as error:  # recorded in results.csv; the sweep goes on
        message = " ".join(str(error).split())
        status = f"error: {type(error).__name__}: {message}"
    return _result(trial.id, status, epochs, time.perf_counter() - started)


class _Run:
    """``digitnet train``'s network and ``SGD`` settings for one trial's arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.train_size: int | None = getattr(args, "train_size", None)
        if args.recipe is not None:
            recipe = recipes.RECIPES[args.recipe]
            self.net = recipe.build(args.seed)
            self.options: dict[str, Any] = recipe.sgd_options()
            self.epochs = self.options.pop("epochs")
            self.batch = self.options.pop("mini_batch_size")
            self.eta = self.options.pop("eta")
            self.dtype = recipe.dtype
            return
        self.net, self.options = train_command.build(args)
        self.epochs, self.batch, self.eta = args.epochs, args.batch_size, args.eta
        self.dtype = args.dtype

    def train(self, splits: mnist.MnistSplits, record: Callable[[EpochResult], None]) -> None:
        """Trains on ``splits.train`` (its first ``train_size`` images), measuring the
        validation and test splits after each epoch, each epoch's figures passed to
        ``record``."""
        kill_hook = os.environ.get(KILL_ONCE_ENV)

        def after_epoch(result: EpochResult) -> None:
            record(result)
            if kill_hook:
                _kill_once(kill_hook)

        train = splits.train
        if self.train_size is not None:
            if self.train_size > len(train.y):
                raise ValueError(
                    f"train_size: {self.train_size} is more than the {len(train.y)} images"
                )
            train = mnist.ArrayData(train.x[: self.train_size], train.y[: self.train_size])
        self.net.SGD(
            train,
            self.epochs,
            self.batch,
            self.eta,
            test_data=splits.test,
            evaluation_data=splits.validation,
            monitor_evaluation_accuracy=True,
            verbose=False,
            progress=False,
            callback=after_epoch,
            **self.options,
        )


def _result(trial_id: str, status: str, epochs: list[EpochResult], seconds: float) -> TrialResult:
    judged = [e for e in epochs if e.evaluation_correct is not None and e.evaluation_total]
    if not judged:
        return TrialResult(trial_id, status, epochs_run=len(epochs), seconds=seconds)
    # The earliest epoch of the best validation accuracy: chosen on validation alone.
    best = max(judged, key=lambda e: (e.evaluation_correct or 0, -e.epoch))
    last = judged[-1]
    return TrialResult(
        trial_id,
        status,
        best_validation=(best.evaluation_correct or 0) / (best.evaluation_total or 1),
        final_validation=(last.evaluation_correct or 0) / (last.evaluation_total or 1),
        test_at_best=best.accuracy,
        best_epoch=best.epoch + 1,
        epochs_run=len(epochs),
        seconds=seconds,
    )


def _kill_once(marker: str) -> None:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
