"""What training reports: one record per epoch, and the JSON file a history is kept in."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet._files import read_json, write_atomically
from digitnet.errors import HistoryFileError
from digitnet.reprs import best_index, history_html

__all__ = ["MAX_HISTORY_BYTES", "EpochResult", "History"]

#: The largest history file read; a history of a million epochs is far smaller.
MAX_HISTORY_BYTES = 1 << 26


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
        return history_html(self)

    def best(self) -> EpochResult | None:
        """The epoch with the highest test accuracy (the earliest on ties), if any was measured."""
        index = best_index(self)
        return None if index is None else self[index]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the history to ``path`` as a JSON list of epochs, atomically.

        Each epoch is an object with ``epoch``, ``seconds``, ``correct`` and ``total`` (as
        digitnet has always written them) and every other :class:`EpochResult` field that was
        measured; the epoch early stopping restored has ``"best": true``. :meth:`load` gives
        back an equal history."""
        records = []
        marked = False
        for epoch in self:
            fields = dataclasses.asdict(epoch)
            record = {key: fields.pop(key) for key in _ALWAYS}
            record.update((key, value) for key, value in fields.items() if value is not None)
            # One mark: histories joined from several runs repeat epoch numbers.
            if epoch.epoch == self.best_epoch and not marked:
                record["best"] = marked = True
            records.append(record)
        write_atomically(Path(path), (json.dumps(records, indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Reads a history written by :meth:`save` (or by digitnet before it kept every field);
        a malformed file is a :class:`~digitnet.errors.HistoryFileError`."""
        file = Path(path)
        data = read_json(file, MAX_HISTORY_BYTES, HistoryFileError, "history")
        if not isinstance(data, list):
            raise HistoryFileError(
                f"{file}: expected a JSON list of epochs, got {_json_type(data)}"
            )
        history = cls()
        for i, record in enumerate(data):
            where = f"{file}: [{i}]"
            result = _epoch_result(where, record)
            if record.get("best", False) is not False:
                if record["best"] is not True:
                    raise HistoryFileError(f"{where}: best must be true or absent")
                if history.best_epoch is not None:
                    raise HistoryFileError(f"{where}: a second epoch marked best")
                history.best_epoch = result.epoch
            history.append(result)
        return history


_FIELDS = {field.name: field for field in dataclasses.fields(EpochResult)}
#: The fields written even when null: the four every history file has had.
_ALWAYS = ("epoch", "seconds", "correct", "total")
_COUNTS = ("correct", "total", "training_correct", "training_total", "evaluation_correct",
           "evaluation_total")  # fmt: skip
_PAIRS = (("correct", "total"), ("training_correct", "training_total"),
          ("evaluation_correct", "evaluation_total"))  # fmt: skip


def _epoch_result(where: str, record: Any) -> EpochResult:
    if not isinstance(record, dict):
        raise HistoryFileError(f"{where}: expected an object, got {_json_type(record)}")
    unknown = sorted(set(record) - set(_FIELDS) - {"best"})
    if unknown:
        raise HistoryFileError(f"{where}: unknown key {unknown[0]!r}")
    for key in ("epoch", "seconds"):
        if key not in record:
            raise HistoryFileError(f"{where}: missing {key!r}")
    values: dict[str, Any] = {"epoch": _count(where, "epoch", record["epoch"])}
    seconds = record["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise HistoryFileError(f"{where}: seconds must be a non-negative number, got {seconds!r}")
    values["seconds"] = float(seconds)
    for key in _COUNTS:
        if record.get(key) is not None:
            values[key] = _count(where, key, record[key])
    for key in ("eta", "training_cost", "evaluation_cost"):
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HistoryFileError(f"{where}: {key} must be a number or null, got {value!r}")
        if key == "eta" and not value > 0:
            raise HistoryFileError(f"{where}: eta must be a positive number, got {value!r}")
        values[key] = float(value)
    for correct, total in _PAIRS:
        if (correct in values) != (total in values):
            raise HistoryFileError(
                f"{where}: {correct} and {total} must both be given or both null"
            )
        if correct in values and values[correct] > values[total]:
            raise HistoryFileError(
                f"{where}: {correct} ({values[correct]}) exceeds {total} ({values[total]})"
            )
    return EpochResult(**values)


def _count(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HistoryFileError(f"{where}: {key} must be a non-negative integer, got {value!r}")
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")
