"""Models saved and loaded in network2.py's JSON format; hostile files are refused, not run."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import digitnet
from digitnet import persistence
from digitnet.errors import ModelFileError
from digitnet.sgd import StepOptions


def network2_file(path: Path, sizes: list[int], seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """Writes a model exactly as network2.py's ``Network.save`` does: ``json.dump`` of a dict of
    sizes, weights and biases as nested lists (biases as columns), and the cost's class name."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        "sizes": sizes,
        "weights": [rng.standard_normal((y, x)).tolist() for x, y in itertools.pairwise(sizes)],
        "biases": [rng.standard_normal((y, 1)).tolist() for y in sizes[1:]],
        "cost": "CrossEntropyCost",
    }
    data.update(overrides)
    with path.open("w") as f:
        json.dump(data, f)
    return data


def test_round_trip_is_exact(tmp_path: Path) -> None:
    net = digitnet.Network([5, 4, 3], seed=1)
    net.save(tmp_path / "model.json")
    loaded = digitnet.load(tmp_path / "model.json")
    assert loaded.sizes == [5, 4, 3]
    for a, b in zip([*net.weights, *net.biases], [*loaded.weights, *loaded.biases], strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).standard_normal((3, 5))
    np.testing.assert_array_equal(net.feedforward(x), loaded.feedforward(x))


def test_reads_a_network2_file(tmp_path: Path) -> None:
    data = network2_file(tmp_path / "n2.json", [6, 4, 2])
    net = digitnet.load(tmp_path / "n2.json")
    np.testing.assert_array_equal(net.weights[1], np.array(data["weights"][1]))
    np.testing.assert_array_equal(net.biases[0], np.array(data["biases"][0]))
    assert net.cost is digitnet.CrossEntropyCost


def test_writes_what_network2_reads(tmp_path: Path) -> None:
    """network2.py's ``load`` does ``json.load`` and then ``np.array`` of each list."""
    net = digitnet.Network([3, 2], seed=4)
    net.save(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert set(data) == {"sizes", "weights", "biases", "cost"}
    assert data["cost"] == "QuadraticCost"
    assert np.array(data["biases"][0]).shape == (2, 1)
    np.testing.assert_array_equal(np.array(data["weights"][0]), net.weights[0])


def test_a_failed_save_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "m.json"
    target.write_text("old")

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        digitnet.Network([3, 2], seed=0).save(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def _malformed() -> list[tuple[str, bytes, str]]:
    good = {"sizes": [2, 1], "weights": [[[1.0, 2.0]]], "biases": [[[0.5]]]}

    def with_(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    return [
        ("empty file", b"", "not valid JSON"),
        ("not JSON", b"\x00\x01garbage", "not valid JSON"),
        ("a pickle", pickle.dumps({"sizes": [2, 1]}), "not valid JSON"),
        ("a list", b"[1, 2]", "JSON object"),
        ("no sizes", json.dumps({"weights": [], "biases": []}).encode(), "missing sizes"),
        ("bad sizes", with_(sizes=[2, "x"]), r"sizes\[1\]"),
        ("one layer", with_(sizes=[2]), "at least 2 layers"),
        ("huge sizes", with_(sizes=[10**9, 10**9]), "too many"),
        ("wrong shape", with_(weights=[[[1.0]]]), r"weights\[0\] must be a 1x2"),
        ("ragged", with_(weights=[[[1.0, 2.0], [3.0]]]), r"weights\[0\]"),
        ("strings", with_(weights=[[["1.0", "2.0"]]]), "only numbers"),
        ("booleans", with_(biases=[[[True]]]), "only numbers"),
        ("NaN", b'{"sizes": [2, 1], "weights": [[[NaN, 1.0]]], "biases": [[[0.5]]]}', "non-finite"),
        ("huge integer", with_(weights=[[[10**400, 1]]]), "non-finite"),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        ("unknown cost", with_(cost="os.system('echo pwned')"), "cost must be one of"),
        ("too few biases", with_(biases=[]), "biases must be a list of 1"),
    ]


MALFORMED = _malformed()


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        digitnet.load(path)
    assert str(path) in str(info.value), name


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        digitnet.load(tmp_path / "absent.json")


def test_model_file_error_is_a_digitnet_error() -> None:
    assert issubclass(ModelFileError, digitnet.DigitnetError)


def test_saved_files_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        digitnet.Network([3, 2], seed=0).save(tmp_path / "m.json")
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "optimizer",
    [None, digitnet.Momentum(0.9), digitnet.Nesterov(0.5), digitnet.Adam(form="efficient")],
    ids=["sgd", "momentum", "nesterov", "adam"],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_pickled_network_keeps_its_optimizer_state(optimizer: Any, dtype: str) -> None:
    """Pickling keeps the velocities and Adam's moments and step count: the copy's next epoch
    (in the same order) gives the original's parameters bit for bit."""
    rng = np.random.default_rng(4)
    x = rng.random((40, 6)).astype(dtype)
    y = rng.integers(0, 3, 40)
    net = digitnet.Network([6, 5, 3], seed=2, dtype=dtype)
    net.SGD((x, y), 2, 8, 0.5, optimizer=optimizer, verbose=False, progress=False)
    copy = pickle.loads(pickle.dumps(net))
    # One more epoch in a fixed order (the random stream is not pickled), as the scikit-learn
    # estimators train.
    targets = np.eye(3, dtype=dtype)[y]
    order = np.arange(40, dtype=np.int64)[::-1].copy()
    options = StepOptions(0.5, optimizer=optimizer)
    for n in (net, copy):
        n._fit_epoch(x, targets, order, 8, options, None)
    for a, b in zip([*net.weights, *net.biases], [*copy.weights, *copy.biases], strict=True):
        assert np.array_equal(a, b)


def test_a_malformed_optimizer_state_is_a_value_error() -> None:
    net = digitnet.Network([3, 2, 2], seed=1)
    x = np.random.default_rng(0).random((4, 3))
    net.SGD(
        (x, np.array([0, 1, 1, 0])),
        1,
        2,
        0.5,
        optimizer=digitnet.Adam(),
        progress=False,
        verbose=False,
    )
    state = net._core.optimizer_state()
    assert state is not None
    kind, values, steps, first_w, first_b, second_w, second_b = state
    assert kind == "adam"
    assert steps == 2
    for bad, match in [
        (("adam", values, steps, first_w[:1], first_b, second_w, second_b), "first_w"),
        (("adam", values, steps, first_w, first_b, [w.T for w in second_w], second_b), "second_w"),
        (("rmsprop", [], steps, [], [], [], []), "unknown optimizer"),
        (
            ("adam", values, steps, first_w, first_b, [-w for w in second_w], second_b),
            "non-negative",
        ),
        ((1, 2), "tuple"),
    ]:
        with pytest.raises(ValueError, match=match):
            net._core.set_optimizer_state(bad)  # type: ignore[arg-type]
