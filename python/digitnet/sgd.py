"""What ``SGD`` does around the engine's epochs: measuring and printing after each epoch, the
progress bar, the learning-rate schedule, early stopping and the user's callback.

The engine trains; this module decides, after each epoch, whether to go on and at what rate.
It keeps every run's state itself: the schedule and early-stopping options it is given are
never changed, so one instance can serve any number of runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from digitnet import _convert
from digitnet._convert import FloatArray, IntArray
from digitnet.history import EpochResult, History
from digitnet.progress import new_bar, shown_by_default

if TYPE_CHECKING:
    import tqdm
from digitnet.training import Augment, EarlyStopping, HalveOnPlateau, Optimizer, PlateauState

__all__ = [
    "EpochCallback",
    "Monitoring",
    "ProgressCallback",
    "StepOptions",
    "Trainee",
    "run",
]

#: ``on_progress(batches_done, batches_total)``, called during an epoch.
ProgressCallback = Callable[[int, int], object]
#: ``on_epoch(epoch)`` after each epoch: ``None`` goes on, ``True`` stops, a number goes on at
#: that learning rate.
EpochCallback = Callable[[int], bool | float | None]


@dataclass(frozen=True)
class StepOptions:
    """How one training call moves the parameters (what the primitives receive; the engine
    reads these attributes by name).

    The L2 term adds ``c·w`` to each weight's mean gradient, with ``c = lmbda/n`` for a
    training set of ``n`` samples (network2.py) or, with ``batch_l2``, ``c = lmbda/s`` for the
    mini-batch's own size or total sample weight ``s`` (scikit-learn's ``alpha``).
    """

    eta: float
    lmbda: float = 0.0
    optimizer: Optimizer | None = None
    dropout: float = 0.0
    augment: Augment | None = None
    batch_l2: bool = False


#: ``plan(record)`` before each epoch of a ``_fit_epochs`` call: the last epoch's ``(data, l2)``
#: loss sums (``None`` before the first) in, ``(order, options)`` for the next epoch or ``None``
#: to stop out.
EpochPlan = Callable[[tuple[float, float] | None], tuple[IntArray, StepOptions] | None]


@dataclass(frozen=True)
class Monitoring:
    """What to measure after each epoch (network2.py's ``monitor_*`` flags) and whether to
    print it."""

    evaluation_cost: bool = False
    evaluation_accuracy: bool = False
    training_cost: bool = False
    training_accuracy: bool = False
    verbose: bool = True

    def any(self) -> bool:
        """Whether any figure is monitored."""
        return (
            self.evaluation_cost
            or self.evaluation_accuracy
            or self.training_cost
            or self.training_accuracy
        )


class Trainee(Protocol):
    """What a run needs of the network it trains: the primitives of
    :class:`digitnet.network_api.NetworkAPI`."""

    _network2_output: bool

    @property
    def sizes(self) -> list[int]: ...
    def _evaluate(self, x: FloatArray, labels: IntArray) -> int: ...
    def _total_cost(self, x: FloatArray, targets: FloatArray, lmbda: float) -> float: ...
    def _get_weights(self) -> list[FloatArray]: ...
    def _get_biases(self) -> list[FloatArray]: ...
    def _set_weights(self, weights: list[FloatArray]) -> None: ...
    def _set_biases(self, biases: list[FloatArray]) -> None: ...
    def _sgd(
        self,
        x: FloatArray,
        y: FloatArray,
        epochs: int,
        mini_batch_size: int,
        options: StepOptions,
        on_progress: ProgressCallback | None,
        on_epoch: EpochCallback,
    ) -> int: ...


def run(
    net: Trainee,
    training: tuple[FloatArray, FloatArray],
    epochs: int,
    mini_batch_size: int,
    options: StepOptions,
    *,
    test: tuple[FloatArray, IntArray] | None,
    evaluation: tuple[FloatArray, IntArray] | None,
    monitoring: Monitoring,
    schedule: HalveOnPlateau | None,
    early_stopping: EarlyStopping | None,
    progress: bool | None,
    callback: Callable[[EpochResult], object] | None,
) -> History:
    """Trains ``net`` for up to ``epochs`` epochs and returns what each epoch measured."""
    if (schedule is not None or early_stopping is not None) and evaluation is None:
        raise ValueError("schedule and early_stopping judge progress on evaluation_data")
    if schedule is not None and not isinstance(schedule, HalveOnPlateau):
        raise TypeError(f"schedule: expected a HalveOnPlateau, got {type(schedule).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable, got {type(callback).__name__}")
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"early_stopping: expected an EarlyStopping, got {type(early_stopping).__name__}"
        )
    if schedule is not None or early_stopping is not None:
        # Both judge on the evaluation accuracy, so it is measured even if not asked for.
        monitoring = Monitoring(
            monitoring.evaluation_cost,
            True,
            monitoring.training_cost,
            monitoring.training_accuracy,
            monitoring.verbose,
        )
    x, y = training
    monitor = _Monitor(net, x, y, options.lmbda, test, evaluation, monitoring)
    show_bar = shown_by_default() if progress is None else progress
    bar = _EpochBar(show_bar)
    state = _RunState(net, options.eta, monitor, bar, schedule, early_stopping, callback)
    try:
        net._sgd(
            x, y, epochs, mini_batch_size, options, bar.update if show_bar else None, state.after
        )
    finally:
        bar.close()
    state.finish()
    return state.history


class _RunState:
    """One run's state: its history, current learning rate, best epoch and schedule."""

    def __init__(
        self,
        net: Trainee,
        eta: float,
        monitor: _Monitor,
        bar: _EpochBar,
        schedule: HalveOnPlateau | None,
        early_stopping: EarlyStopping | None,
        callback: Callable[[EpochResult], object] | None,
    ) -> None:
        self.net, self.monitor, self.bar = net, monitor, bar
        self.start_eta = self.eta = eta
        self.plateau: PlateauState | None = None if schedule is None else schedule.start()
        self.early_stopping = early_stopping
        self.callback = callback
        self.history = History()
        self.best: tuple[int, int, list[FloatArray], list[FloatArray]] | None = None
        self.started = time.perf_counter()

    def after(self, epoch: int) -> bool | float | None:
        """Records epoch ``epoch`` and answers the engine: go on, stop, or a new rate."""
        seconds = time.perf_counter() - self.started
        self.bar.close()
        result = self.monitor.after_epoch(epoch, seconds, self.eta)
        self.history.append(result)
        answer: bool | float | None = None
        correct = result.evaluation_correct
        if self.early_stopping is not None and correct is not None:
            if self.best is None or correct > self.best[1]:
                net = self.net
                self.best = (epoch, correct, net._get_weights(), net._get_biases())
            elif epoch - self.best[0] >= self.early_stopping.patience:
                answer = True
        if self.plateau is not None and answer is None and correct is not None:
            new_eta = self.plateau.next_eta(self.eta, self.start_eta, correct)
            if new_eta is None:
                answer = True
            elif new_eta != self.eta:
                self.eta = answer = new_eta
        if self.callback is not None and self.callback(result):
            answer = True
        self.started = time.perf_counter()
        return answer

    def finish(self) -> None:
        """Restores the best epoch's parameters when early stopping asks for it."""
        stopping = self.early_stopping
        if self.best is not None and stopping is not None and stopping.restore_best:
            self.net._set_weights(self.best[2])
            self.net._set_biases(self.best[3])
            self.history.best_epoch = self.best[0]


class _Monitor:
    """What ``SGD`` measures and prints after each epoch."""

    def __init__(
        self,
        net: Trainee,
        x: FloatArray,
        y: FloatArray,
        lmbda: float,
        test: tuple[FloatArray, IntArray] | None,
        evaluation: tuple[FloatArray, IntArray] | None,
        monitoring: Monitoring,
    ) -> None:
        self.net, self.x, self.y, self.lmbda = net, x, y, lmbda
        self.test, self.evaluation, self.monitoring = test, evaluation, monitoring
        self.network2_style = net._network2_output or monitoring.any() or evaluation is not None
        self.labels = y.argmax(axis=1) if monitoring.training_accuracy else None

    def after_epoch(self, epoch: int, seconds: float, eta: float) -> EpochResult:
        net, watch = self.net, self.monitoring
        correct = total = None
        if self.test is not None:
            correct, total = net._evaluate(*self.test), self.test[0].shape[0]
        figures: dict[str, Any] = {}
        if watch.training_cost:
            figures["training_cost"] = net._total_cost(self.x, self.y, self.lmbda)
        if watch.training_accuracy and self.labels is not None:
            figures["training_correct"] = net._evaluate(self.x, self.labels)
            figures["training_total"] = self.x.shape[0]
        if self.evaluation is not None and (watch.evaluation_cost or watch.evaluation_accuracy):
            ex, labels = self.evaluation
            if watch.evaluation_cost:
                targets = _convert.one_hot(labels, net.sizes[-1])
                figures["evaluation_cost"] = net._total_cost(ex, targets, self.lmbda)
            if watch.evaluation_accuracy:
                figures["evaluation_correct"] = net._evaluate(ex, labels)
                figures["evaluation_total"] = ex.shape[0]
        result = EpochResult(epoch, seconds, correct, total, eta=eta, **figures)
        if watch.verbose:
            self._print(result)
        return result

    def _print(self, r: EpochResult) -> None:
        if not self.network2_style:
            if r.correct is not None:
                print(f"Epoch {r.epoch}: {r.correct} / {r.total}", flush=True)
            else:
                print(f"Epoch {r.epoch} complete", flush=True)
            return
        print(f"Epoch {r.epoch} training complete", flush=True)  # network2.py's lines
        if r.training_cost is not None:
            print(f"Cost on training data: {r.training_cost}")
        if r.training_correct is not None:
            print(f"Accuracy on training data: {r.training_correct} / {r.training_total}")
        if r.evaluation_cost is not None:
            print(f"Cost on evaluation data: {r.evaluation_cost}")
        if r.evaluation_correct is not None:
            print(f"Accuracy on evaluation data: {r.evaluation_correct} / {r.evaluation_total}")
        if r.correct is not None:
            print(f"Accuracy on test data: {r.correct} / {r.total}")
        print(flush=True)


class _EpochBar:
    """A tqdm progress bar over the mini-batches of the current epoch, made on first update."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: tqdm.tqdm[Any] | None = None

    def update(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._bar = new_bar(total=total, unit="batch", leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
