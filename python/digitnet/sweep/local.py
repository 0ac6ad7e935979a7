"""Trials on this machine: a pool of worker processes, each loading MNIST once and running one
trial at a time on one thread. A worker that dies mid-trial is replaced and its trial run
again; Ctrl-C ends every worker at once.

The pool is hand-written rather than ``concurrent.futures.ProcessPoolExecutor`` because that
executor breaks as a whole when one worker dies (every running trial is lost with it) and has
no way to stop a running task on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

import digitnet
from digitnet.sweep.spec import Trial
from digitnet.sweep.trial import TrialResult, run_trial

__all__ = ["MAX_ATTEMPTS", "run_local"]

#: A trial whose worker dies this many times is recorded as an error instead of run again.
MAX_ATTEMPTS = 3
#: How long a worker asked to stop may take before it is killed.
_STOP_SECONDS = 1.0


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    trial: Trial | None = None


def run_local(
    trials: Sequence[Trial],
    workers: int,
    data_dir: str | None,
    on_result: Callable[[Trial, TrialResult], None],
) -> None:
    """Runs ``trials`` on ``workers`` processes, calling ``on_result`` (in this process) as
    each finishes."""
    context = multiprocessing.get_context("spawn")
    pending = deque(trials)
    deaths: Counter[str] = Counter()
    pool = [_start(context, data_dir) for _ in range(min(workers, len(trials)))]
    try:
        while pending or any(w.trial is not None for w in pool):
            for worker in pool:
                if worker.trial is None and pending:
                    worker.trial = pending.popleft()
                    worker.conn.send(worker.trial)
            busy = [w for w in pool if w.trial is not None]
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 0.5))
            for index, worker in enumerate(pool):
                trial = worker.trial
                if trial is None or not ready & {worker.conn, worker.process.sentinel}:
                    continue
                result = _receive(worker)
                if result is not None:
                    worker.trial = None
                    on_result(trial, result)
                    continue
                # The worker died mid-trial: replace it and run its trial again.
                worker.trial = None
                _stop([worker])
                deaths[trial.id] += 1
                if deaths[trial.id] >= MAX_ATTEMPTS:
                    code = worker.process.exitcode
                    status = f"error: its worker died {MAX_ATTEMPTS} times (exit code {code})"
                    on_result(trial, TrialResult(trial.id, status))
                else:
                    pending.appendleft(trial)
                pool[index] = _start(context, data_dir)
    finally:
        _stop(pool)


def _start(context: multiprocessing.context.SpawnContext, data_dir: str | None) -> _Worker:
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, data_dir), daemon=True)
    process.start()
    child.close()
    return _Worker(process, parent)


def _receive(worker: _Worker) -> TrialResult | None:
    """The worker's result, or ``None`` when it died without sending one."""
    try:
        if worker.conn.poll():
            result: TrialResult = worker.conn.recv()
            return result
    except (EOFError, OSError):
        pass
    return None


def _stop(workers: list[_Worker]) -> None:
    """Ends ``workers``: the idle ones are asked to, and given a moment; the busy ones, and
    any still running after it, are killed (Ctrl-C must not wait for a trial)."""
    for worker in workers:
        if worker.trial is None and worker.process.is_alive():
            with contextlib.suppress(OSError):  # the worker is gone already
                worker.conn.send(None)
    deadline = time.monotonic() + _STOP_SECONDS
    for worker in workers:
        if worker.trial is None:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()


def _serve(conn: Connection, data_dir: str | None) -> None:
    """A worker: runs each trial it receives and sends back its result, until ``None``."""
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    digitnet.set_num_threads(1)
    while True:
        try:
            trial = conn.recv()
        except EOFError:  # the parent is gone
            return
        if trial is None:
            return
        conn.send(run_trial(trial, data_dir))
