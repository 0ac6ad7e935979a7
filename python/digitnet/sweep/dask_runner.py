"""Trials on a Dask cluster (``dask.distributed``): one task per trial. Each worker process
loads MNIST once (the trial module's cache lives in the worker) and runs each trial on one
thread; the scheduler reruns the task of a worker that dies. Needs ``pip install
digitnet[sweep]``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import digitnet
from digitnet.errors import DigitnetError
from digitnet.sweep.spec import Trial
from digitnet.sweep.trial import TrialResult, run_trial

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["connect", "run_on_dask"]

#: How long connecting to a scheduler may take.
CONNECT_SECONDS = 10


def connect(address: str) -> Client:
    """A client of the Dask scheduler at ``address`` (like ``tcp://host:8786``)."""
    distributed = _distributed()
    try:
        client: Client = distributed.Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        raise DigitnetError(f"--scheduler {address}: cannot connect: {error}") from error
    return client


def run_on_dask(
    client: Client,
    trials: Sequence[Trial],
    data_dir: str | None,
    on_result: Callable[[Trial, TrialResult], None],
) -> None:
    """Runs ``trials`` as tasks on ``client``'s cluster, calling ``on_result`` here as each
    finishes; on Ctrl-C the remaining tasks are cancelled."""
    distributed = _distributed()
    run = uuid.uuid4().hex[:8]  # a fresh key per run: a cancelled task's key is not reused
    futures = {
        client.submit(_trial_on_worker, trial, data_dir, key=f"digitnet-trial-{trial.id}-{run}"): (
            trial
        )
        for trial in trials
    }
    try:
        for future in distributed.as_completed(futures):
            trial = futures[future]
            try:
                result = future.result()
            except Exception as error:  # KilledWorker, or a worker that cannot run digitnet
                message = " ".join(str(error).split())
                result = TrialResult(trial.id, f"error: {type(error).__name__}: {message}")
            on_result(trial, result)
    except BaseException:
        cast(Any, client).cancel(list(futures))  # distributed leaves cancel untyped
        raise


def _trial_on_worker(trial: Trial, data_dir: str | None) -> TrialResult:
    """A task: the trial, computed on one thread of the worker it lands on."""
    digitnet.set_num_threads(1)
    return run_trial(trial, data_dir)


def _distributed() -> ModuleType:
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            f"digitnet sweep on a cluster needs dask.distributed ({error}); "
            "install it with: pip install digitnet[sweep]"
        ) from error
    return distributed
