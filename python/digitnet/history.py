"""What training reports: one record per epoch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpochResult:
    """One epoch of training: its number (from 0, as network.py prints it), its training time in
    seconds, the learning rate it used, how many test samples it classified correctly (when
    test data was given), and network2.py's monitored figures (when asked for)."""

    epoch: int
    seconds: float
    correct: int | None = None
    total: int | None = None
    eta: float | None = None
    training_cost: float | None = None
    training_correct: int | None = None
    training_total: int | None = None
    evaluation_cost: float | None = None
    evaluation_correct: int | None = None
    evaluation_total: int | None = None

    @property
    def accuracy(self) -> float | None:
        """The fraction of test samples classified correctly, or ``None`` without test data."""
        if self.correct is None or not self.total:
            return None
        return self.correct / self.total


class History(list[EpochResult]):
    """The per-epoch results that ``SGD`` returns, oldest first."""

    #: With early stopping, the epoch whose parameters the network was left with.
    best_epoch: int | None = None

    @property
    def evaluation_cost(self) -> list[float]:
        """network2.py's per-epoch cost on the evaluation data (when monitored)."""
        return [e.evaluation_cost for e in self if e.evaluation_cost is not None]

    @property
    def evaluation_accuracy(self) -> list[int]:
        """network2.py's per-epoch count of correct evaluation samples (when monitored)."""
        return [e.evaluation_correct for e in self if e.evaluation_correct is not None]

    @property
    def training_cost(self) -> list[float]:
        """network2.py's per-epoch cost on the training data (when monitored)."""
        return [e.training_cost for e in self if e.training_cost is not None]

    @property
    def training_accuracy(self) -> list[int]:
        """network2.py's per-epoch count of correct training samples (when monitored)."""
        return [e.training_correct for e in self if e.training_correct is not None]

    @property
    def accuracies(self) -> list[float | None]:
        """Test accuracy after each epoch (``None`` where there was no test data)."""
        return [epoch.accuracy for epoch in self]

    @property
    def seconds(self) -> list[float]:
        """Training time of each epoch in seconds."""
        return [epoch.seconds for epoch in self]

    def _repr_html_(self) -> str:
        from digitnet.reprs import history_html  # imported here: reprs imports this module

        return history_html(self)

    def best(self) -> EpochResult | None:
        """The epoch with the highest test accuracy (the earliest on ties), if any was measured."""
        measured = [epoch for epoch in self if epoch.accuracy is not None]
        return max(measured, key=lambda e: e.accuracy or 0.0) if measured else None
