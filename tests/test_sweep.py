"""digitnet.sweep and ``digitnet sweep``: specs checked before anything runs, trials that
compute what ``digitnet train`` computes, the local pool (resume, a worker killed mid-trial,
Ctrl-C), and the same sweep on a real Dask cluster on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from digitnet import cli, sweep
from digitnet.datasets import mnist
from digitnet.errors import SweepSpecError
from digitnet.sweep import dask_runner, local, trial
from digitnet.sweep.results import RESULTS_CSV, SUMMARY_CSV, read_results, write_results

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sweep.toml"

#: A small real-MNIST sweep: 3 learning rates x 2 seeds on 1,000 training images, 2 epochs;
#: eta = 1e300 makes this ReLU/softmax network's parameters overflow at once.
SPEC: dict[str, Any] = {
    "base": {
        "epochs": 2,
        "train_size": 1000,
        "sizes": [784, 16, 10],
        "activation": "relu",
        "cost": "LogLikelihoodCost",
        "init": "scaled",
    },
    "grid": {"eta": [0.05, 0.2, 1e300], "seeds": [1, 2]},
}
DIVERGING = "1e+300"


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fails the test (TimeoutError in the main thread) if the block takes longer."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def without_seconds(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows sorted by trial id, without the one column that depends on the machine."""
    return sorted(({k: v for k, v in row.items() if k != "seconds"} for row in rows),
                  key=lambda row: row["trial"])  # fmt: skip


# ---- specs ----------------------------------------------------------------------------------


def test_a_grid_crosses_every_option_with_every_seed() -> None:
    spec = sweep.parse_spec(
        {
            "base": {"epochs": 3},
            "grid": {"eta": [0.5, 3], "sizes": [[784, 30, 10], "784,100,10"], "seeds": [1, 2, 3]},
        }
    )
    trials = spec.trials()
    assert len(trials) == 12
    assert len({t.id for t in trials}) == 12
    assert len({t.config_id for t in trials}) == 4
    assert spec.swept == ["eta", "sizes"]
    args = trials[-1].namespace()
    assert (args.eta, args.sizes, args.seed, args.epochs) == (3.0, [784, 100, 10], 3, 3)
    # Everything else is digitnet train's default.
    assert (args.batch_size, args.cost, args.dtype) == (10, "QuadraticCost", "float64")


def test_options_take_train_spellings_and_a_trial_is_its_options_and_seed() -> None:
    a = sweep.parse_spec({"base": {"batch-size": 20, "eta": 3}, "grid": {"seeds": [4, 5]}})
    b = sweep.parse_spec({"base": {"eta": 3.0, "batch_size": 20}, "grid": {"seeds": [5, 4]}})
    assert {t.id for t in a.trials()} == {t.id for t in b.trials()}
    first, second = a.trials()
    assert first.config_id == second.config_id
    assert first.id != second.id
    assert first.texts() == {"batch_size": "20", "eta": "3.0"}


def test_without_seeds_a_trial_has_digitnet_trains_default_seed() -> None:
    (only,) = sweep.parse_spec({"base": {"epochs": 1}}).trials()
    assert only.seed == cli.DEFAULT_SEED


def test_random_points_are_drawn_reproducibly_within_their_ranges() -> None:
    document = {
        "random": {
            "trials": 6,
            "seed": 4,
            "eta": {"log_uniform": [0.01, 1.0]},
            "batch_size": {"uniform": [5, 20]},
            "cost": {"choice": ["QuadraticCost", "CrossEntropyCost"]},
        },
        "grid": {"seeds": [1, 2]},
    }
    trials = sweep.parse_spec(document).trials()
    assert trials == sweep.parse_spec(document).trials()
    assert len(trials) == 12
    args = [t.namespace() for t in trials]
    assert all(0.01 <= a.eta <= 1.0 and isinstance(a.batch_size, int) for a in args)
    assert all(5 <= a.batch_size <= 20 for a in args)
    assert len({a.eta for a in args}) == 6
    other = sweep.parse_spec({**document, "random": {**document["random"], "seed": 5}})
    assert {t.id for t in other.trials()} != {t.id for t in trials}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"base": {"etta": 1.0}}, r"\[base\] etta: unknown option"),
        ({"gird": {"eta": [1.0]}}, r"unknown section \[gird\]"),
        ({"grid": {"eta": []}}, r"\[grid\] eta: the list is empty"),
        ({"grid": {}}, r"\[grid\] is empty"),
        ({"grid": {"eta": 3.0}}, r"\[grid\] eta: expected a list"),
        ({"grid": {"eta": [0.5, -1]}}, r"\[grid\] eta = -1: must be a positive finite number"),
        ({"base": {"cost": "HingeCost"}}, r"\[base\] cost = \"HingeCost\": expected one of"),
        ({"base": {"sizes": [784, 30]}}, r"\[base\] sizes = \[784, 30\]: .*not for MNIST"),
        ({"base": {"epochs": True}}, r"\[base\] epochs = true: expected a number"),
        ({"base": {"dropout": 1.5}}, r"\[base\] dropout = 1.5: must be a probability"),
        ({"base": {"train_size": 0}}, r"\[base\] train_size = 0: expected a positive integer"),
        ({"base": {"save": "model.json"}}, r"\[base\] save: not a sweep option"),
        ({"grid": {"seed": [1, 2]}}, r"\[grid\] seed: not swept; list seeds in \[grid\] seeds"),
        ({"grid": {"seeds": [1, 1]}}, r"\[grid\] seeds: a seed is listed twice"),
        ({"grid": {"seeds": [-1]}}, r"\[grid\] seed -1: must be in \[0, 2\*\*64\)"),
        ({"base": {"eta": 1.0}, "grid": {"eta": [2.0]}}, r"eta is in both \[base\] and \[grid\]"),
        (
            {"base": {"cost": "CrossEntropyCost"}, "grid": {"output": ["sigmoid", "softmax"]}},
            r"output = softmax: cost: CrossEntropyCost does not suit a softmax output",
        ),
        (
            {"base": {"recipe": "best-mlp", "eta": 0.1}},
            r"eta with recipe best-mlp: a recipe sets its own options",
        ),
        ({"random": {"eta": {"log_uniform": [0.1, 1.0]}}}, r"\[random\] trials: expected a pos"),
        ({"random": {"trials": 2, "eta": {"uniform": [1.0, 0.5]}}}, r"\[random\] eta: uniform"),
        ({"random": {"trials": 2, "eta": {"normal": [1.0, 0.5]}}}, r"\[random\] eta: expected"),
        (
            {"random": {"trials": 3, "batch_size": {"uniform": [0.5, 2.5]}}},
            r"\[random\] batch_size = [\d.]+: expected an integer",
        ),
    ],
)
def test_a_bad_spec_is_refused_naming_the_option(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SweepSpecError, match=message) as info:
        sweep.parse_spec(document)
    assert isinstance(info.value, ValueError)


def test_a_spec_file_that_is_not_toml_or_missing_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\neta = [1.0]\n")
    with pytest.raises(SweepSpecError, match=r"bad\.toml: not valid TOML"):
        sweep.load_spec(bad)
    with pytest.raises(SweepSpecError, match=r"missing\.toml: cannot read") as info:
        sweep.load_spec(tmp_path / "missing.toml")
    assert isinstance(info.value.__cause__, OSError)


def test_the_command_refuses_a_bad_spec_before_any_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text('[base]\nepochs = 1\n\n[grid]\neta = [0.5, "fast"]\n')
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("digitnet: error: ")
    assert '[grid] eta = "fast"' in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_example_spec_in_the_readme_is_valid() -> None:
    spec = sweep.load_spec(EXAMPLE)
    assert len(spec.trials()) == 30
    assert len(spec.seeds) == 5
    readme = (EXAMPLE.parent.parent / "README.md").read_text()
    assert EXAMPLE.read_text().split("\n[base]")[1].split("\n# [random]")[0] in readme


# ---- one trial ------------------------------------------------------------------------------


def fake_splits(n: int) -> mnist.MnistSplits:
    rng = np.random.default_rng(0)

    def split(k: int) -> mnist.ArrayData:
        return mnist.ArrayData(rng.random((k, 784)), rng.integers(0, 10, k))

    return mnist.MnistSplits(split(n), split(50), split(50))


def test_mnist_is_loaded_once_per_process_and_a_failing_trial_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str | None] = []

    def load(path: str | None, dtype: str) -> mnist.MnistSplits:
        loads.append(path)
        return fake_splits(100)

    trial.load_splits.cache_clear()
    monkeypatch.setattr(trial.mnist, "load_arrays", load)
    try:
        spec = sweep.parse_spec(
            {"base": {"sizes": [784, 5, 10], "epochs": 1}, "grid": {"train_size": [50, 200]}}
        )
        small, large = spec.trials()
        first, again = sweep.run_trial(small, "data"), sweep.run_trial(small, "data")
        failed = sweep.run_trial(large, "data")
    finally:
        trial.load_splits.cache_clear()
    assert loads == ["data"]
    assert first.status == "ok"
    assert first == sweep.TrialResult(**{**again.__dict__, "seconds": first.seconds})
    assert first.epochs_run == 1
    assert first.best_epoch == 1
    assert failed.status == "error: ValueError: train_size: 200 is more than the 100 images"


@pytest.mark.slow
def test_a_trial_computes_what_digitnet_train_computes(
    mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--sizes", "784,10,10", "--epochs", "2", "--eta", "0.5", "--lmbda", "1",
               "--cost", "CrossEntropyCost", "--init", "scaled", "--optimizer", "momentum",
               "--halve-on-plateau", "1", "--seed", "7"]  # fmt: skip
    assert cli.main(["train", *options, "--data-dir", str(mnist_dir), "--no-progress"]) == 0
    printed = re.findall(r"test accuracy .*\((\d+) / 10000\), validation +([\d.]+)%",
                         capsys.readouterr().out)  # fmt: skip
    assert len(printed) == 2
    spec = sweep.parse_spec(
        {
            "base": {
                "sizes": [784, 10, 10],
                "epochs": 2,
                "eta": 0.5,
                "lmbda": 1,
                "cost": "CrossEntropyCost",
                "init": "scaled",
                "optimizer": "momentum",
                "halve_on_plateau": 1,
                "seed": 7,
            },
        }
    )
    (only,) = spec.trials()
    result = sweep.run_trial(only, str(mnist_dir))
    assert result.status == "ok"
    assert result.epochs_run == 2
    assert result.best_validation is not None
    assert result.test_at_best is not None
    validation = [float(v) for _, v in printed]
    assert result.best_epoch == 1 + validation.index(max(validation))
    chosen = printed[result.best_epoch - 1]
    assert round(10000 * result.test_at_best) == int(chosen[0])
    assert f"{100 * result.best_validation:.2f}" == chosen[1]
    assert f"{100 * (result.final_validation or 0):.2f}" == printed[-1][1]


# ---- the local pool -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """SPEC run on two local worker processes."""
    out = tmp_path_factory.mktemp("local")
    with time_limit(60):
        sweep.run(spec_for(mnist_dir), out, workers=2, verbose=False)
    return out


def spec_for(mnist_dir: Path) -> dict[str, Any]:
    return {**SPEC, "base": {**SPEC["base"], "data_dir": str(mnist_dir)}}


@pytest.mark.slow
def test_a_local_sweep_records_every_trial_and_ranks_the_configurations(
    local_run: Path, mnist_dir: Path
) -> None:
    rows = read_results(local_run / RESULTS_CSV)
    trials = sweep.parse_spec(spec_for(mnist_dir)).trials()
    assert sorted(r["trial"] for r in rows) == sorted(t.id for t in trials)
    for row in rows:
        if row["eta"] == DIVERGING:
            assert row["status"] == "diverged"
            assert row["best_validation"] == ""
        else:
            assert row["status"] == "ok"
            assert row["epochs_run"] == "2"
            assert 0.5 < float(row["best_validation"]) <= 1
            assert 0.5 < float(row["test_at_best"]) <= 1
            assert float(row["final_validation"]) <= float(row["best_validation"])
    summary = read_summary(local_run)
    assert [s["eta"] for s in summary][-1] == DIVERGING
    means = [float(s["validation_mean"]) for s in summary[:-1]]
    assert means == sorted(means, reverse=True)
    for s in summary[:-1]:
        of_config = [float(r["best_validation"]) for r in rows if r["eta"] == s["eta"]]
        assert float(s["validation_mean"]) == pytest.approx(np.mean(of_config), rel=1e-12)
        assert float(s["validation_std"]) == pytest.approx(np.std(of_config, ddof=1), rel=1e-9)
    assert (local_run / "sweep.png").read_bytes().startswith(b"\x89PNG")


def read_summary(out: Path) -> list[dict[str, str]]:
    import csv

    with open(out / SUMMARY_CSV, newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_a_rerun_runs_only_the_trials_missing_from_results_csv_or_failed(
    local_run: Path, mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "resumed"
    out.mkdir()
    kept = read_results(local_run / RESULTS_CSV)[:3]
    kept[2] = {**kept[2], "status": "error: OSError: a disk that filled up"}
    write_results(out / RESULTS_CSV, kept)
    ran: list[str] = []
    run_local = local.run_local

    def recording(trials: list[sweep.Trial], *args: Any) -> None:
        ran.extend(t.id for t in trials)
        run_local(trials, *args)

    monkeypatch.setattr(local, "run_local", recording)
    with time_limit(60):
        sweep.run(spec_for(mnist_dir), out, workers=1, verbose=False)
    assert len(ran) == 4
    assert kept[2]["trial"] in ran
    assert not {kept[0]["trial"], kept[1]["trial"]} & set(ran)
    assert without_seconds(read_results(out / RESULTS_CSV)) == without_seconds(
        read_results(local_run / RESULTS_CSV)
    )
    # Once complete, a rerun does no work and leaves the results as they are.
    before = (out / RESULTS_CSV).read_bytes()
    monkeypatch.setattr(local, "run_local", pytest.fail)
    sweep.run(spec_for(mnist_dir), out, verbose=False)
    assert (out / RESULTS_CSV).read_bytes() == before


@pytest.mark.slow
def test_a_worker_killed_mid_trial_has_its_trial_run_again(
    local_run: Path,
    mnist_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "killed"
    monkeypatch.setenv(trial.KILL_ONCE_ENV, str(marker))
    with time_limit(60):
        sweep.run(spec_for(mnist_dir), tmp_path / "out", workers=2)
    assert marker.exists(), "no worker was killed"
    assert without_seconds(read_results(tmp_path / "out" / RESULTS_CSV)) == without_seconds(
        read_results(local_run / RESULTS_CSV)
    )
    captured = capsys.readouterr()
    assert re.search(r"\[6/6\] .*\| best [\d.]+% \| 0:00:00 left", captured.err)
    # The table ranks by validation accuracy (which eta wins is the engine's business).
    assert re.search(r"^ +1 +\S+ +2/2 +[\d.]+ ± [\d.]+", captured.out, re.MULTILINE)


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_at_once_and_keeps_the_finished_trials(
    mnist_dir: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        "[base]\nepochs = 2\ntrain_size = 500\nsizes = [784, 8, 10]\n\n"
        "[grid]\neta = [1.0, 2.0, 3.0, 4.0]\nseeds = [1, 2, 3, 4, 5]\n"
    )
    out = tmp_path / "out"
    env = {**os.environ, "DIGITNET_DATA": str(mnist_dir)}
    command = [sys.executable, "-m", "digitnet", "sweep", str(spec), "--out", str(out),
               "--workers", "2"]  # fmt: skip
    # A session of its own, so that Ctrl-C (SIGINT to the group) reaches the workers too.
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while len(read_results(out / RESULTS_CSV)) < 2:
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        sent = time.monotonic()
        _, err = process.communicate(timeout=10)
        stopped = time.monotonic() - sent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert stopped < 2.0, f"took {stopped:.1f} s to stop"
    assert "Interrupted" in err
    assert "Traceback" not in err
    rows = read_results(out / RESULTS_CSV)
    assert 2 <= len(rows) < 20
    assert all(r["status"] == "ok" for r in rows)
    # Every worker is gone with it. A process that has exited but that nobody reaped yet (a
    # zombie: an orphan whose new parent, the machine's PID 1, may never reap it) runs nothing
    # and is gone too.
    deadline = time.monotonic() + 2
    while _running_in_group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running_in_group(process.pid) == []


def _running_in_group(group: int) -> list[int]:
    """The processes of process group ``group`` that have not exited (from /proc)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            running.append(int(stat.parent.name))
    return running


# ---- on a Dask cluster ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """A real two-worker Dask cluster on 127.0.0.1 (worker processes with nannies) and its
    client; the first trial to finish an epoch on it kills its worker (the marker file
    records it)."""
    distributed = pytest.importorskip("distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # for client.run(a test's function)
    marker = tmp_path_factory.mktemp("dask") / "killed"
    os.environ[trial.KILL_ONCE_ENV] = str(marker)  # the worker processes inherit it
    try:
        with time_limit(60):
            local_cluster = distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=50,
            )  # fmt: skip
    finally:
        del os.environ[trial.KILL_ONCE_ENV]
    client = distributed.Client(local_cluster)
    try:
        yield client, marker
    finally:
        with time_limit(30):
            client.close()
            local_cluster.close()


@pytest.fixture(scope="module")
def dask_run(cluster: tuple[Any, Path], tmp_path_factory: pytest.TempPathFactory,
             mnist_dir: Path) -> Path:  # fmt: skip
    client, _ = cluster
    out = tmp_path_factory.mktemp("on-dask")
    with time_limit(90):
        sweep.run(spec_for(mnist_dir), out, client=client, verbose=False)
    return out


@pytest.mark.slow
def test_a_dask_sweep_gives_the_local_runs_rows(local_run: Path, dask_run: Path) -> None:
    on_dask = read_results(dask_run / RESULTS_CSV)
    assert len(on_dask) == 6
    assert without_seconds(on_dask) == without_seconds(read_results(local_run / RESULTS_CSV))
    assert sum(r["status"] == "diverged" for r in on_dask) == 2
    assert {r["eta"] for r in on_dask if r["status"] == "diverged"} == {DIVERGING}


@pytest.mark.slow
def test_a_dask_worker_killed_mid_sweep_loses_no_trial(
    cluster: tuple[Any, Path], dask_run: Path
) -> None:
    client, marker = cluster
    assert marker.exists(), "no worker was killed"
    rows = read_results(dask_run / RESULTS_CSV)
    assert all(r["status"] in ("ok", "diverged") for r in rows)
    assert len(rows) == 6
    # Each worker process loaded MNIST once at most, however many trials it ran.
    with time_limit(30):
        client.wait_for_workers(2, timeout=20)
        loads = client.run(_splits_loaded)
    assert all(count <= 1 for count in loads.values())
    assert sum(loads.values()) >= 1


def _splits_loaded() -> int:
    return int(trial.load_splits.cache_info().misses)


@pytest.mark.slow
def test_a_resumed_dask_sweep_does_no_work(
    cluster: tuple[Any, Path], dask_run: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = cluster
    before = (dask_run / RESULTS_CSV).read_bytes()
    monkeypatch.setattr(dask_runner, "run_on_dask", pytest.fail)
    with time_limit(30):
        summaries = sweep.run(spec_for(mnist_dir), dask_run, client=client, verbose=False)
    assert (dask_run / RESULTS_CSV).read_bytes() == before
    assert [s.options["eta"] for s in summaries][-1] == DIVERGING


@pytest.mark.slow
def test_the_command_takes_the_schedulers_address(
    cluster: tuple[Any, Path],
    dask_run: Path,
    mnist_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, _ = cluster
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        f'[base]\nepochs = 2\ntrain_size = 1000\nsizes = [784, 16, 10]\nactivation = "relu"\n'
        f'cost = "LogLikelihoodCost"\ninit = "scaled"\ndata_dir = "{mnist_dir}"\n\n'
        "[grid]\neta = [0.05, 0.2, 1e300]\nseeds = [1, 2]\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    rows = read_results(dask_run / RESULTS_CSV)
    write_results(out / RESULTS_CSV, [r for r in rows if r["eta"] != "0.05"])
    with time_limit(60):
        status = cli.main(["sweep", str(spec), "--out", str(out), "--scheduler",
                           client.scheduler.address])  # fmt: skip
    assert status == 0
    err = capsys.readouterr().err
    assert f"running 2 on the Dask cluster at {client.scheduler.address}" in err
    assert without_seconds(read_results(out / RESULTS_CSV)) == without_seconds(rows)


@pytest.mark.slow
def test_a_bad_spec_is_refused_before_anything_reaches_the_cluster(
    cluster: tuple[Any, Path], tmp_path: Path
) -> None:
    client, _ = cluster
    with pytest.raises(SweepSpecError, match=r"\[grid\] lr: unknown option"):
        sweep.run({"grid": {"lr": [0.1]}}, tmp_path / "out", client=client, verbose=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_grid_search_cv_runs_mlp_classifier_on_the_dask_cluster(
    cluster: tuple[Any, Path], mnist_dir: Path
) -> None:
    pytest.importorskip("sklearn")
    import joblib
    from distributed import get_task_stream
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from digitnet import MLPClassifier

    splits = trial.load_splits(str(mnist_dir), "float64")
    x, y = splits.train.x[:600], splits.train.y[:600]
    grid = {"learning_rate_init": [0.001, 0.01], "hidden_layer_sizes": [(10,), (20,)]}

    def search() -> Any:
        model = MLPClassifier(max_iter=2, batch_size=20, random_state=0)
        return GridSearchCV(model, grid, cv=3)

    client, _ = cluster
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two epochs do not converge
        with time_limit(60), get_task_stream(client) as tasks, joblib.parallel_config("dask"):
            on_dask = search().fit(x, y)
        here = search().fit(x, y)
    assert len(tasks.data) >= 12, "the fits did not run on the cluster"
    assert on_dask.best_params_ == here.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"]
    )
    assert on_dask.best_score_ > 0.3  # two epochs on 400 images: well above chance (0.1)
