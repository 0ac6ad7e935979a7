"""What training reports: one record per epoch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpochResult:
    """One epoch of training: its number (from 0, as network.py prints it), its training time in
    seconds, and, when test data was given, how many test samples it classified correctly."""

    epoch: int
    seconds: float
    correct: int | None = None
    total: int | None = None

    @property
    def accuracy(self) -> float | None:
        """The fraction of test samples classified correctly, or ``None`` without test data."""
        if self.correct is None or not self.total:
            return None
        return self.correct / self.total


class History(list[EpochResult]):
    """The per-epoch results that ``SGD`` returns, oldest first."""

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
