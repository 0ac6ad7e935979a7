"""The package's structure: no import cycles, one home per concept, state kept once, and the
bugs found by reading the code (issue 13), each pinned by a test that failed before its fix."""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import digitnet
from digitnet import _core, errors, network2, plots
from digitnet.history import EpochResult, History
from digitnet.sgd import StepOptions
from digitnet.training import EarlyStopping, HalveOnPlateau

PACKAGE = Path(digitnet.__file__).parent


def all_modules() -> list[str]:
    """Every module of the installed package, subpackages included (but ``__main__``, which
    runs the command line when imported)."""
    names = ["digitnet"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="digitnet."):
        names.append(info.name)
    return sorted(names)


def importable_modules() -> list[str]:
    return [name for name in all_modules() if name != "digitnet.__main__"]


def module_file(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package = PACKAGE / relative / "__init__.py"
    return package if package.exists() else (PACKAGE / relative).with_suffix(".py")


def digitnet_imports(name: str) -> set[str]:
    """The digitnet modules ``name`` imports anywhere in its code (at module level or inside
    functions), except under ``if TYPE_CHECKING:``, which never runs."""
    if name == "digitnet._core":
        # The compiled binding imports the exception classes it raises (import_exception!).
        return {"digitnet.errors"}
    tree = ast.parse(module_file(name).read_text())
    found: set[str] = set()
    known = set(all_modules())
    package = name if module_file(name).name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("digitnet"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            if base.startswith("digitnet"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    # Importing a submodule runs its packages' __init__ first, but that is no edge of ours:
    # a package's __init__ importing its own submodules is how packages work.
    found.discard(name)
    return {m for m in found if m in known}


def test_the_import_walker_sees_module_and_function_level_imports() -> None:
    """The cycle test below is only as good as this walker: it must see lazy imports too."""
    # network_api's _repr_html_ used to import reprs inside a function; reprs is imported now
    # at module level, and cli imports its subcommands: both kinds are edges.
    assert "digitnet.reprs" in digitnet_imports("digitnet.network_api")
    assert "digitnet.commands.train" in digitnet_imports("digitnet.cli")
    # digitnet/__init__ imports MLPClassifier inside __getattr__ (function level).
    assert "digitnet.sklearn" in digitnet_imports("digitnet")


def test_no_import_cycles() -> None:
    graph = {name: digitnet_imports(name) for name in all_modules()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            # Edges into the package root: every module's import starts there; only the root's
            # own imports count as its edges.
            if nxt == "digitnet":
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_module_imports_alone_and_public_ones_declare_all() -> None:
    """Each module imported first, in a fresh interpreter (the order a cycle would break in);
    the interpreters run side by side."""
    names = importable_modules()
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}, sys; print(hasattr(sys.modules[{name!r}], "
             "'__all__'))"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    }  # fmt: skip
    failed, without_all, optional = [], [], []
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            if "ModuleNotFoundError" in last and "digitnet" not in last:
                optional.append(name)  # Flask, scikit-learn... not installed here
            else:
                failed.append(f"{name}: {last}")
        elif not any(p.startswith("_") for p in name.split(".")) and out.strip() != "True":
            without_all.append(name)
    assert failed == []
    assert without_all == []
    assert len(optional) < len(names) // 2, optional


def test_every_exception_class_lives_in_errors() -> None:
    outside = []
    for name in importable_modules():
        if name == "digitnet.errors":
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # an optional dependency (Flask, scikit-learn) is not installed
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name  # private control flow included
            ):
                outside.append(f"{name}.{attribute}")
    assert outside == []
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DigitnetError)
        assert getattr(digitnet, name) is getattr(errors, name)


@pytest.mark.parametrize(
    "name",
    ["DatasetError", "ModelFileError", "HistoryFileError", "ImageError", "UnsuitableNetworkError"],
)
def test_errors_about_contents_are_value_errors(name: str) -> None:
    assert issubclass(getattr(errors, name), ValueError)


def test_the_old_homes_of_moved_exceptions_still_name_them() -> None:
    from digitnet import images

    assert images.ImageError is errors.ImageError
    assert plots.HistoryFileError is errors.HistoryFileError


def test_an_os_error_is_chained_not_discarded(tmp_path: Path) -> None:
    with pytest.raises(digitnet.ModelFileError, match="cannot read") as info:
        digitnet.load(tmp_path / "absent.json")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(digitnet.HistoryFileError, match="cannot read") as caught:
        History.load(tmp_path / "absent.json")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_the_binding_raises_digitnets_own_divergence_error() -> None:
    """No translation layer: the engine's divergence arrives as digitnet.DivergenceError."""
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((64, 10)), rng.integers(0, 5, 64)
    core = _core.Network([10, 20, 5], 1, "float64", ["relu", "softmax"], "LogLikelihoodCost")
    y = np.eye(5)[labels]

    def train_until_it_diverges() -> None:
        for _ in range(50):
            core.update_mini_batch(x, y, StepOptions(1e30))

    with pytest.raises(digitnet.DivergenceError, match="training diverged"):
        train_until_it_diverges()
    assert not hasattr(_core, "DivergedError")
    from digitnet import network

    assert not hasattr(network, "_diverged_as_error")


def test_a_panic_is_digitnets_internal_error() -> None:
    with pytest.raises(digitnet.InternalError, match="internal error") as info:
        _core._panic_for_tests("on purpose")
    assert type(info.value) is errors.InternalError
    assert isinstance(info.value, RuntimeError)


# ---- bug: copying a network2.Network made a digitnet.Network -----------------------------------


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy, lambda n: n.copy()])
def test_a_copy_of_a_network2_network_is_a_network2_network(how: object) -> None:
    assert callable(how)
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(0, 1, (40, 6)), rng.integers(0, 3, 40)
    data = list(zip(x.reshape(-1, 6, 1), labels, strict=True))
    net = network2.Network([6, 5, 3], seed=4)
    clone = how(net)
    assert type(clone) is network2.Network
    # network2's SGD: the fifth positional argument is lmbda, and it returns four lists.
    expected = net.SGD(data, 2, 10, 0.5, 0.1, monitor_training_cost=True)
    result = clone.SGD(data, 2, 10, 0.5, 0.1, monitor_training_cost=True)
    assert isinstance(result, tuple)
    assert len(result) == 4
    assert result == expected
    np.testing.assert_array_equal(clone.weights[0], net.weights[0])


# ---- bug: sizes kept beside the engine's could drift from it -----------------------------------


@pytest.mark.parametrize("cls", [digitnet.Network, network2.Network, digitnet.reference.Network])
def test_sizes_cannot_drift_from_the_network(cls: type[digitnet.Network]) -> None:
    net = cls([4, 3, 2], seed=1)
    net.sizes.append(5)
    net.activations.append("relu")
    assert net.sizes == [4, 3, 2]
    assert net.num_layers == 3
    assert net.activations == ["sigmoid", "sigmoid"]
    with pytest.raises(AttributeError):
        net.sizes = [4, 3, 2, 5]  # type: ignore[misc]
    with pytest.raises(AttributeError):
        net.cost = digitnet.LogLikelihoodCost  # type: ignore[misc]
    assert net.feedforward(np.zeros(4)).shape == (2,)


def test_a_networks_sizes_are_the_engines() -> None:
    net = digitnet.Network([5, 4, 3], seed=0, activation="tanh", cost="LogLikelihoodCost")
    assert net.sizes == net._core.sizes
    assert net.activations == net._core.activations
    assert net.cost.name == net._core.cost
    assert net.dtype.name == net._core.dtype


# ---- bug: the history file kept 4 of EpochResult's 11 fields -----------------------------------


def full_history() -> History:
    history = History(
        [
            EpochResult(
                0,
                1.5,
                7,
                10,
                eta=0.5,
                training_cost=0.25,
                training_correct=30,
                training_total=40,
                evaluation_cost=0.5,
                evaluation_correct=8,
                evaluation_total=12,
            ),
            EpochResult(1, 1.25, 8, 10, eta=0.25, evaluation_correct=9, evaluation_total=12),
            EpochResult(2, 1.0),
        ]
    )
    history.best_epoch = 1
    return history


def test_a_history_file_keeps_every_field(tmp_path: Path) -> None:
    history = full_history()
    history.save(tmp_path / "history.json")
    loaded = History.load(tmp_path / "history.json")
    assert list(loaded) == list(history)
    assert loaded.best_epoch == 1
    assert [dataclasses.asdict(e) for e in loaded] == [dataclasses.asdict(e) for e in history]
    # The plots module's functions are the same file format.
    plots.save_history(history, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "history.json").read_bytes()
    assert list(plots.load_history(tmp_path / "again.json")) == list(history)


def test_a_trained_history_survives_its_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(0, 1, (60, 4)), rng.integers(0, 2, 60)
    history = digitnet.Network([4, 5, 2], seed=1).SGD(
        (x, labels),
        3,
        10,
        0.5,
        test_data=(x[:20], labels[:20]),
        evaluation_data=(x[20:], labels[20:]),
        monitor_evaluation_cost=True,
        monitor_training_accuracy=True,
        verbose=False,
    )
    history.save(tmp_path / "h.json")
    assert list(History.load(tmp_path / "h.json")) == list(history)


def test_a_history_file_is_a_list_of_epochs_with_what_was_measured(tmp_path: Path) -> None:
    full_history().save(tmp_path / "h.json")
    records = json.loads((tmp_path / "h.json").read_text())
    assert records[1] == {
        "epoch": 1,
        "seconds": 1.25,
        "correct": 8,
        "total": 10,
        "eta": 0.25,
        "evaluation_correct": 9,
        "evaluation_total": 12,
        "best": True,
    }
    assert records[2] == {"epoch": 2, "seconds": 1.0, "correct": None, "total": None}


def test_a_joined_history_with_repeated_epoch_numbers_round_trips(tmp_path: Path) -> None:
    history = History([EpochResult(0, 1.0, 5, 10), EpochResult(0, 1.0, 6, 10)])
    history.best_epoch = 0
    history.save(tmp_path / "joined.json")
    loaded = History.load(tmp_path / "joined.json")
    assert list(loaded) == list(history)
    assert loaded.best_epoch == 0


def test_history_files_written_before_still_load(tmp_path: Path) -> None:
    old = [
        {"epoch": 0, "seconds": 1.5, "correct": 7, "total": 10},
        {"epoch": 1, "seconds": 2.0, "correct": None, "total": None},
    ]
    (tmp_path / "old.json").write_text(json.dumps(old, indent=1) + "\n")
    loaded = History.load(tmp_path / "old.json")
    assert list(loaded) == [EpochResult(0, 1.5, 7, 10), EpochResult(1, 2.0)]
    assert loaded.best_epoch is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"eta": 0}, "eta must be a positive number"),
        ({"eta": "fast"}, "eta must be a number or null"),
        ({"training_cost": True}, "training_cost must be a number or null"),
        ({"training_correct": 3}, "training_correct and training_total must both be given"),
        ({"evaluation_correct": 5, "evaluation_total": 4}, "evaluation_correct .5. exceeds"),
        ({"evaluation_total": -1, "evaluation_correct": 0}, "evaluation_total must be a non-neg"),
    ],
)
def test_new_history_fields_are_checked(
    tmp_path: Path, record: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"epoch": 0, "seconds": 1.0, **record}]))
    with pytest.raises(digitnet.HistoryFileError, match=message):
        History.load(path)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"epoch": 0, "seconds": 1, "best": 1}], "best must be true or absent"),
        ([{"epoch": 0, "seconds": 1, "best": True}] * 2, "a second epoch marked best"),
    ],
)
def test_the_best_epochs_mark_is_checked(
    tmp_path: Path, records: list[dict[str, object]], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records))
    with pytest.raises(digitnet.HistoryFileError, match=message):
        History.load(path)


# ---- bug: a bad DIGITNET_NUM_THREADS made `import digitnet` fail -------------------------------


@pytest.mark.parametrize("value", ["many", "0", "-2", "99999999999999999999999999"])
def test_a_bad_thread_count_in_the_environment_warns_and_keeps_the_default(value: str) -> None:
    code = "import digitnet; print(digitnet.get_num_threads())"
    env = {k: v for k, v in __import__("os").environ.items() if k != "DIGITNET_NUM_THREADS"}
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    env["DIGITNET_NUM_THREADS"] = value
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode == 0, bad.stderr
    assert "RuntimeWarning: DIGITNET_NUM_THREADS: must be a positive integer" in bad.stderr
    assert bad.stdout == default.stdout
    with pytest.raises(ValueError, match="threads: must be a positive integer"):
        digitnet.set_num_threads(0)


# ---- persistence: each class loads as itself ----------------------------------------------------


def test_each_network_class_loads_as_itself(tmp_path: Path) -> None:
    saved = digitnet.Network([3, 4, 2], seed=5, activation="relu")
    saved.save(tmp_path / "m.json")
    for cls in (digitnet.Network, network2.Network):
        loaded = cls.load(tmp_path / "m.json")
        assert type(loaded) is cls
        assert loaded.activations == ["relu", "sigmoid"]
        np.testing.assert_array_equal(loaded.weights[1], saved.weights[1])
    assert type(network2.load(tmp_path / "m.json")) is network2.Network
    assert type(digitnet.load(tmp_path / "m.json")) is digitnet.Network


def test_network2_load_builds_one_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digitnet.Network([3, 2], seed=1).save(tmp_path / "m.json")
    made: list[type] = []
    original = digitnet.Network.__init__

    def counting(self: digitnet.Network, *args: object, **kwargs: object) -> None:
        made.append(type(self))
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(digitnet.Network, "__init__", counting)
    network2.load(tmp_path / "m.json")
    assert made == [network2.Network]


def test_persistence_reads_a_plain_description(tmp_path: Path) -> None:
    from digitnet import persistence

    digitnet.Network([3, 4, 2], seed=5, cost="CrossEntropyCost").save(tmp_path / "m.json")
    model = persistence.read_model(tmp_path / "m.json")
    assert isinstance(model, persistence.ModelDescription)
    assert model.sizes == [3, 4, 2]
    assert model.cost == "CrossEntropyCost"
    assert [w.shape for w in model.weights] == [(4, 3), (2, 4)]
    assert [b.shape for b in model.biases] == [(4, 1), (2, 1)]


# ---- schedules and early stopping are configurations, never changed by SGD --------------------


def test_sgd_never_changes_its_schedule_or_early_stopping() -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(0, 1, (60, 4)), rng.integers(0, 2, 60)
    evaluation = (np.full((10, 4), 0.5), np.repeat([0, 1], 5))  # always a plateau
    schedule = HalveOnPlateau(patience=1, min_factor=4)
    stopping = EarlyStopping(patience=50)
    before = (copy.deepcopy(schedule), copy.deepcopy(stopping))
    runs = []
    for _ in range(2):
        net = digitnet.Network([4, 3, 2], seed=3)
        history = net.SGD((x, labels), 20, 10, 1.0, evaluation_data=evaluation, verbose=False,
                          schedule=schedule, early_stopping=stopping)  # fmt: skip
        runs.append([r.eta for r in history])
    assert (schedule, stopping) == before
    # The same instance gives the second run the same schedule as the first (no carried state).
    assert runs[0] == runs[1] == [1.0, 1.0, 0.5]
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.patience = 3  # type: ignore[misc]


def test_recipes_share_their_options_without_copies() -> None:
    from digitnet import recipes

    recipe = recipes.RECIPES["network2-ch3"]
    assert recipe.sgd_options()["schedule"] is recipe.sgd["schedule"]


# ---- one implementation of each repeated check -------------------------------------------------


def test_one_mnist_network_check_everywhere(tmp_path: Path) -> None:
    from digitnet import images
    from digitnet.datasets import mnist

    small = digitnet.Network([100, 10], seed=0)
    with pytest.raises(errors.UnsuitableNetworkError, match=r"^net: .*784 inputs and 10 outputs"):
        images.probabilities(small, np.zeros((1, 100)))
    with pytest.raises(errors.UnsuitableNetworkError, match=r"^model.json: "):
        mnist.check_network(small.sizes, name="model.json")
    mnist.check_network([784, 30, 10])


def test_probabilities_are_normalised_in_one_place() -> None:
    from digitnet.activations import as_probabilities

    shares = as_probabilities(np.array([[1.0, 3.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(shares, [[0.25, 0.75], [0.5, 0.5]])


def test_each_cost_is_written_once() -> None:
    """``fn`` and ``per_sample`` are sums of one element-wise formula."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.01, 0.99, (5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    for cost in (digitnet.QuadraticCost, digitnet.CrossEntropyCost, digitnet.LogLikelihoodCost):
        from digitnet import costs

        rows = costs.per_sample(cost, a, y)
        assert rows == pytest.approx([cost.fn(a[i], y[i]) for i in range(5)], rel=1e-15)
    assert digitnet.QuadraticCost.fn(a[0], y[0]) == pytest.approx(
        0.5 * float(np.sum((a[0] - y[0]) ** 2)), rel=1e-15
    )
    assert digitnet.CrossEntropyCost.fn(a[0], y[0]) == pytest.approx(
        float(-np.sum(y[0] * np.log(a[0]) + (1 - y[0]) * np.log(1 - a[0]))), rel=1e-15
    )


def test_the_command_lines_choices_come_from_the_tables() -> None:
    from digitnet import architecture, cli, training

    parser = cli._parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    choices = {a.dest: a.choices for a in train._actions if a.choices is not None}
    assert list(choices["activation"]) == list(architecture.HIDDEN_ACTIVATIONS)
    assert list(choices["init"]) == list(architecture.INITS)
    assert list(choices["optimizer"]) == list(training.OPTIMIZERS)
    assert set(choices["cost"]) == set(digitnet.costs.COSTS)
