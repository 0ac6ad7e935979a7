"""digitnet.testing and ``digitnet check``: a correct network passes, each known mistake is caught
with the method named, a minimal case and its hint, programs in C and Python are checked over the
JSON-lines protocol, and programs that hang, crash or print nonsense are reported in time."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import digitnet
from digitnet import testing
from digitnet.cli import main
from digitnet.testing import strategies
from digitnet.testing.bounds import UNIT_ROUNDOFF, tolerances
from digitnet.testing.cases import Case
from digitnet.testing.compare import compare
from digitnet.testing.expected import expected
from digitnet.testing.python_impl import PythonImplementation
from digitnet.testing.report import AGREE

FIXTURES = Path(__file__).parent / "check_fixtures"
sys.path.insert(0, str(FIXTURES))
from broken_variants import MISTAKES, broken_source  # noqa: E402

#: Few cases per method keep the suite fast; every mistake is caught within the first ones.
EXAMPLES = 25


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mynet() -> ModuleType:
    return _module(FIXTURES / "mynet.py")


# ---- Python classes --------------------------------------------------------------------------


def test_a_correct_network_agrees_on_every_method(mynet: ModuleType) -> None:
    report = testing.check_network(mynet.Network, max_examples=30)
    assert report.passed, str(report)
    assert bool(report)
    checked = [r.label for r in report.results]
    assert checked == [
        "feedforward",
        "backprop (QuadraticCost)",
        "backprop (CrossEntropyCost)",
        "update_mini_batch (QuadraticCost)",
        "update_mini_batch (CrossEntropyCost)",
        "cost_derivative",
        "evaluate",
    ]
    assert all(r.examples == 30 for r in report.results)
    assert str(report).endswith(AGREE)
    report.assert_passed()


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_known_mistake_is_caught_with_a_minimal_case_and_a_hint(
    mistake: str, tmp_path: Path
) -> None:
    method, _, hint_word = MISTAKES[mistake]
    path = tmp_path / "broken.py"
    path.write_text(broken_source(mistake))
    module = _module(path)
    report = testing.check_network(
        module.Network,
        methods=[method],
        costs={"QuadraticCost": module.QuadraticCost},
        max_examples=EXAMPLES,
    )
    assert not report.passed
    [result] = report.results
    assert result.method == method
    assert result.status == "failed"
    assert result.case is not None
    assert result.shrunk
    # Minimal: no more layers and neurons than the mistake needs to show.
    assert len(result.case.sizes) <= 3
    assert max(result.case.sizes) <= 2
    assert len(result.case.x) <= 2
    assert any(hint_word in hint for hint in result.hints), result.details()
    text = str(report)
    verdict = "FAILED" if result.fault else "DISAGREES"  # an exception, or a wrong answer
    assert f"{method} (QuadraticCost) {verdict}" in " ".join(text.split())
    assert "the smallest case found" in text
    assert "reproduce" in text


def test_the_minimal_case_of_a_value_mistake_names_element_expected_and_got(
    tmp_path: Path,
) -> None:
    path = tmp_path / "broken.py"
    path.write_text(broken_source("missing sigma prime"))
    module = _module(path)
    report = testing.check_network(
        module.Network, methods=["backprop"], costs={}, max_examples=EXAMPLES
    )
    [result] = report.results
    assert result.case is not None
    assert result.case.sizes == (1, 1)
    # At z = 0 with y = 1: δ = (σ(0) − 1)·σ′(0) = −0.125, without σ′ −0.5.
    assert result.problem is not None
    assert result.problem.startswith("nabla_b[0][0]: digitnet -0.125, yours -0.5")
    assert result.differing == ["nabla_b[0]"]
    # The reproduction runs as it stands and shows the same numbers.
    assert result.reproduction is not None
    scope = {"np": np, "Network": module.Network}
    exec(result.reproduction.replace("net.backprop", "out = net.backprop"), scope)
    assert float(scope["out"][0][0][0, 0]) == -0.5


def test_the_update_of_a_broken_backprop_says_to_fix_backprop_first(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text(broken_source("wrong sign"))
    module = _module(path)
    report = testing.check_network(
        module.Network,
        methods=["backprop", "update_mini_batch"],
        costs={},
        max_examples=EXAMPLES,
    )
    update = report.results[-1]
    assert update.method == "update_mini_batch"
    assert any("fix it first" in hint for hint in update.hints)
    assert any("sign is wrong" in hint for hint in update.hints)


def test_an_exception_in_the_users_method_is_reported_with_its_line(
    mynet: ModuleType,
) -> None:
    class Broken(mynet.Network):  # type: ignore[misc,name-defined]
        def feedforward(self, a: np.ndarray) -> np.ndarray:
            raise KeyError("not written yet")

    report = testing.check_network(Broken, methods=["feedforward"], max_examples=EXAMPLES)
    [result] = report.results
    assert result.fault
    assert result.problem is not None
    assert "feedforward(...) raised KeyError: 'not written yet'" in result.problem
    assert "test_check.py, line" in result.problem
    assert "FAILED" in str(report)


def test_a_missing_method_fails_and_the_others_are_still_checked(mynet: ModuleType) -> None:
    class NoUpdate:
        def __init__(self, sizes: list[int]) -> None:
            self.inner = mynet.Network(sizes)

        def __setattr__(self, name: str, value: object) -> None:
            if name in ("weights", "biases"):
                setattr(self.inner, name, value)
            object.__setattr__(self, name, value)

        def feedforward(self, a: np.ndarray) -> np.ndarray:
            return self.inner.feedforward(a)  # type: ignore[no-any-return]

        def backprop(self, x: np.ndarray, y: np.ndarray) -> object:
            return self.inner.backprop(x, y)

    report = testing.check_network(NoUpdate, max_examples=EXAMPLES)
    statuses = {r.label: r.status for r in report.results}
    assert statuses == {"update_mini_batch": "failed", "feedforward": "passed",
                        "backprop": "passed"}  # fmt: skip
    assert not report.passed


def test_a_broadcast_bias_is_a_shape_error_with_its_hint(mynet: ModuleType) -> None:
    class VectorBias(mynet.Network):  # type: ignore[misc,name-defined]
        def feedforward(self, a: np.ndarray) -> np.ndarray:
            for w, b in zip(self.weights, self.biases, strict=True):
                a = mynet.sigmoid(w @ a + b.reshape(-1))
            return a  # type: ignore[no-any-return]

    report = testing.check_network(VectorBias, methods=["feedforward"], max_examples=EXAMPLES)
    [result] = report.results
    assert result.case is not None
    assert result.case.sizes[-1] == 2
    assert result.problem == "feedforward's output has shape (2, 2), expected (2, 1) or (2,)"
    assert any("broadcasts" in hint for hint in result.hints)


# ---- tolerances, float32, the reference ------------------------------------------------------


def test_digitnet_reference_and_float32_engine_pass_their_checks() -> None:
    """The NumPy reference (float64) and digitnet's own engine in float32 are correct
    implementations computed differently: each passes at its precision."""
    costs = {"QuadraticCost": digitnet.QuadraticCost, "CrossEntropyCost": digitnet.CrossEntropyCost}
    methods = ["feedforward", "backprop", "update_mini_batch"]
    reference = testing.check_network(
        digitnet.reference.Network, methods=methods, costs=costs, max_examples=20
    )
    assert reference.passed, str(reference)

    def float32(sizes: list[int], cost: object = digitnet.QuadraticCost) -> digitnet.Network:
        return digitnet.Network(sizes, dtype="float32", cost=cost)

    single = testing.check_network(
        float32,
        costs=costs,
        dtype="float32",
        methods=methods,
        max_examples=20,
    )
    assert single.passed, str(single)


def test_a_float32_implementation_fails_the_float64_check() -> None:
    """The float64 tolerances are tight: single precision's errors (~1e-7) exceed them."""

    def float32(sizes: list[int]) -> digitnet.Network:
        return digitnet.Network(sizes, dtype="float32")

    report = testing.check_network(float32, methods=["feedforward"], max_examples=100)
    [result] = report.results
    assert result.status == "failed"
    assert result.problem is not None
    assert "tolerance" in result.problem
    assert result.hints == []


def test_the_books_sigma_prime_passes_where_sigma_saturates(mynet: ModuleType) -> None:
    """At z = 40, σ(z) rounds to 1 and σ(z)(1 − σ(z)) to 0, while digitnet keeps σ′(z) ≈ 4e-18:
    the tolerance is absolute in σ′ so the book's formula passes; dropping σ′ does not."""
    case = Case("backprop", (1, 1), (np.array([[0.0]]),), (np.array([40.0]),),
                np.array([[1.0]]), np.array([[0.0]]))  # fmt: skip
    want = expected(case)
    assert 0 < abs(want["nabla_b"][0][0]) < 1e-17
    tol = tolerances(case, "float64")
    book = PythonImplementation(mynet.Network).answer(case)
    assert book["nabla_b"][0][0] == 0.0
    assert compare(book, want, tol) is None
    no_sigma_prime = {"nabla_b": [np.array([1.0])], "nabla_w": [np.array([[1.0]])]}
    mismatch = compare(no_sigma_prime, want, tol)
    assert mismatch is not None
    assert mismatch.element == "nabla_b[0][0]"


def test_tolerances_are_of_the_order_of_the_unit_roundoff() -> None:
    case = Case(
        "backprop",
        (2, 3, 1),
        (np.full((3, 2), 0.5), np.full((1, 3), -0.25)),
        (np.zeros(3), np.zeros(1)),
        np.array([[1.0, -1.0]]),
        np.array([[1.0]]),
    )
    f64 = tolerances(case, "float64")
    f32 = tolerances(case, "float32")
    for key in ("nabla_b", "nabla_w"):
        for small, large in zip(f64[key], f32[key], strict=True):
            assert np.all(small < 1e-14)
            assert np.all(large > 1e3 * small)
            assert np.all(large < 1e-5)
    assert UNIT_ROUNDOFF["float32"] == 2.0**-24


# ---- the report ------------------------------------------------------------------------------


def test_the_report_reads_well_in_jupyter(tmp_path: Path, mynet: ModuleType) -> None:
    good = testing.check_network(mynet.Network, methods=["feedforward"], max_examples=5)
    html = good._repr_html_()
    assert "<table" in html
    assert AGREE in html
    assert repr(good).endswith(f"{AGREE}>")
    path = tmp_path / "broken.py"
    path.write_text(broken_source("wrong sign"))
    module = _module(path)
    bad = testing.check_network(
        module.Network, methods=["backprop"], costs={}, max_examples=EXAMPLES
    )
    html = bad._repr_html_()
    assert "disagrees with digitnet" in html
    assert "<pre>" in html
    assert "y − a" in html
    with pytest.raises(AssertionError, match="the smallest case found"):
        bad.assert_passed()


# ---- the strategies --------------------------------------------------------------------------


@settings(max_examples=30)
@given(st.data())
def test_strategies_give_network_py_shapes_exact_in_their_dtype(data: st.DataObject) -> None:
    net = data.draw(strategies.networks(dtype="float32"))
    assert len(net.weights) == len(net.biases) == len(net.sizes) - 1
    for w, b, (n_in, n_out) in zip(
        net.weights, net.biases, zip(net.sizes, net.sizes[1:], strict=False), strict=True
    ):
        assert w.shape == (n_out, n_in)
        assert b.shape == (n_out, 1)
        assert np.array_equal(w.astype(np.float32).astype(np.float64), w)
    batch = data.draw(strategies.mini_batches(net.sizes[0], net.sizes[-1], max_size=3))
    assert 1 <= len(batch) <= 3
    for x, y in batch:
        assert x.shape == (net.sizes[0], 1)
        assert y.shape == (net.sizes[-1], 1)
        assert y.sum() == 1.0
        assert set(np.unique(y)) <= {0.0, 1.0}
    case = data.draw(strategies.cases("update_mini_batch", lmbda=True))
    assert case.n >= len(case.x)
    assert json.loads(case.to_json_line())["sizes"] == list(case.sizes)


# ---- the command, on Python files ------------------------------------------------------------


def test_command_exit_0_when_all_agree(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", str(FIXTURES / "mynet.py"), "--examples", "10"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.rstrip().endswith(AGREE)
    assert "update_mini_batch (CrossEntropyCost)" in out


def test_command_exit_1_with_the_smallest_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(broken_source("no division by batch size"))
    argv = ["check", str(path), "--examples", "20"]
    status = main([*argv, "--methods", "update_mini_batch"])
    out = capsys.readouterr().out
    assert status == 1
    assert (
        "update_mini_batch (QuadraticCost) disagrees with digitnet, the smallest case found" in out
    )
    assert "m times digitnet's" in out
    assert out.rstrip().endswith("2 of 2 checks disagree with digitnet (or could not run).")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(:\n", "SyntaxError: "),
        ("import numpy\nraise RuntimeError('no MNIST here')\n", "RuntimeError: no MNIST here"),
        ('print "hello"\n', "Python 2 code"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("class Net:\n    pass\n", "defines no class 'Network' (it defines Net"),
        (
            "class Network:\n    def __init__(self, sizes):\n        raise ValueError('nope')\n",
            "Network([2, 3, 1]) raised ValueError: nope (mine.py, line 3)",
        ),
    ],
)
def test_command_exit_2_with_one_line_for_a_file_it_cannot_load(
    source: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(source)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digitnet check: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_command_exit_2_for_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no/such/file.py"]) == 2
    assert "no/such/file.py: no such file" in capsys.readouterr().err


def test_command_names_the_missing_hypothesis(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from digitnet.cli import main\n"
        f"sys.exit(main(['check', {str(FIXTURES / 'mynet.py')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert "needs the package 'hypothesis'" in done.stderr
    assert "digitnet[check]" in done.stderr
    assert "Traceback" not in done.stderr


# ---- programs: C and Python over the JSON-lines protocol -------------------------------------


@pytest.fixture(scope="module")
def build_c(tmp_path_factory: pytest.TempPathFactory) -> object:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    folder = tmp_path_factory.mktemp("c")

    def build(*defines: str) -> str:
        out = folder / ("net" + "".join(d.lower() for d in defines))
        if not out.exists():
            flags = [f"-D{d}" for d in defines]
            subprocess.run(["gcc", "-O2", *flags, "-o", str(out), str(FIXTURES / "net.c"), "-lm"],
                           check=True, timeout=120)  # fmt: skip
        return str(out)

    return build


def test_a_correct_c_program_agrees(build_c: object) -> None:
    report = testing.check_program(
        build_c(),  # type: ignore[operator]
        costs=["QuadraticCost", "CrossEntropyCost"],
        lmbda=True,
        max_examples=EXAMPLES,
    )
    assert report.passed, str(report)
    assert len(report.results) == 5


@pytest.mark.parametrize(
    ("define", "method", "hint_word"),
    [("MISTAKE_NO_SIGMA_PRIME", "backprop", "lacks σ′(zᴸ)"),
     ("MISTAKE_SIGN", "update_mini_batch", "sign is wrong")],
)  # fmt: skip
def test_a_broken_c_program_is_caught(
    build_c: object, define: str, method: str, hint_word: str
) -> None:
    report = testing.check_program(
        build_c(define),  # type: ignore[operator]
        methods=[method],
        max_examples=EXAMPLES,
    )
    [result] = report.results
    assert result.status == "failed"
    assert result.case is not None
    assert result.case.sizes == (1, 1)
    assert any(hint_word in hint for hint in result.hints), result.details()
    assert result.reproduction is not None
    assert result.reproduction.startswith("echo '{")


def test_command_exec_exit_codes(build_c: object, capsys: pytest.CaptureFixture[str]) -> None:
    good = build_c()  # type: ignore[operator]
    assert main(["check", "--exec", good, "--examples", "10"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(AGREE)
    bad = build_c("MISTAKE_SIGN")  # type: ignore[operator]
    assert main(["check", "--exec", bad, "--examples", "10", "--methods", "update_mini_batch"]) == 1
    assert main(["check", "--exec", "./no-such-program"]) == 2
    err = capsys.readouterr().err
    assert "cannot run './no-such-program'" in err
    assert err.count("\n") == 1


def test_a_python_program_is_checked_too() -> None:
    script = f"{sys.executable} {FIXTURES / 'net_protocol.py'}"
    good = testing.check_program(script, max_examples=15)
    assert good.passed, str(good)
    bad = testing.check_program(
        f"{script} --mistake sign", methods=["update_mini_batch"], max_examples=15
    )
    [result] = bad.results
    assert result.status == "failed"
    assert any("sign is wrong" in hint for hint in result.hints)


@pytest.mark.parametrize(
    ("define", "problem"),
    [
        ("HANG", "gave no answer within 1 s (stopped it)"),
        ("CRASH", "was killed by signal SIGSEGV"),
        ("NONSENSE", "printed 'hello, digitnet', which is not a JSON object"),
        ("WRONG_SHAPE", "output has shape (1, 2), expected (1, 1)"),
    ],
)
def test_misbehaving_programs_are_reported_within_the_time_limit(
    build_c: object, define: str, problem: str
) -> None:
    started = time.monotonic()
    report = testing.check_program(
        build_c(define),  # type: ignore[operator]
        methods=["feedforward", "backprop"],
        timeout=1.0,
        startup_timeout=1.0,
        max_examples=EXAMPLES,
    )
    elapsed = time.monotonic() - started
    assert not report.passed
    first = report.results[0]
    assert first.method == "feedforward"
    assert first.problem is not None
    assert problem in first.problem
    if define == "HANG":
        assert report.results[1].status == "not checked"
        assert not first.shrunk
    assert elapsed < 15, f"took {elapsed:.1f} s"


def test_a_crash_on_some_cases_is_shrunk_to_the_smallest(build_c: object) -> None:
    report = testing.check_program(
        build_c("CRASH_DEEP"),  # type: ignore[operator]
        methods=["feedforward"],
        max_examples=EXAMPLES,
    )
    [result] = report.results
    assert result.fault
    assert result.case is not None
    assert result.case.sizes == (1, 1, 1)
    assert result.problem is not None
    assert "SIGABRT" in result.problem


def test_a_hung_program_and_its_children_are_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    command = f"echo $$ > {pid_file}; sleep 60 & sleep 60"
    started = time.monotonic()
    report = testing.check_program(command, timeout=0.5, startup_timeout=0.5, max_examples=5)
    assert time.monotonic() - started < 10
    assert not report.passed
    group = int(pid_file.read_text())
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc to list processes")
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it has just exited
        # Killed children may linger as zombies until init reaps them; they run no more.
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(stat.parent.name)
    assert alive == []


def test_a_python_method_that_never_returns_is_interrupted(mynet: ModuleType) -> None:
    class Forever(mynet.Network):  # type: ignore[misc,name-defined]
        def backprop(self, x: np.ndarray, y: np.ndarray) -> object:
            while True:
                with contextlib.suppress(Exception):  # must not swallow the timer
                    time.sleep(0.01)

    started = time.monotonic()
    report = testing.check_network(
        Forever, methods=["feedforward", "backprop"], costs={}, timeout=0.5, max_examples=EXAMPLES
    )
    assert time.monotonic() - started < 20
    feedforward, backprop = report.results
    assert feedforward.status == "passed"
    assert backprop.status == "failed"
    assert backprop.problem == "backprop(...) did not return within 0.5 s (interrupted it)"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ('{"error": "not written yet"}', "the program answered with an error: not written yet"),
        ('{"result": 1}', "the answer to feedforward lacks 'output' (it has 'result')"),
        ('{"output": "many"}', "output is not an array of numbers"),
    ],
)
def test_answers_that_are_objects_but_not_answers_are_reported(reply: str, problem: str) -> None:
    command = f"while read -r line; do echo '{reply}'; done"
    report = testing.check_program(command, methods=["feedforward"], max_examples=5)
    [result] = report.results
    assert result.status == "failed"
    assert result.problem is not None
    assert result.problem.startswith(problem)
