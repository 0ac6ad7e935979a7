"""``digitnet.sklearn``: scikit-learn's own estimator checks for both estimators, and what a
scikit-learn user relies on: pipelines, accuracy on real data level with scikit-learn's,
warnings, verbose lines, pickling, the book's settings, and the import without scikit-learn."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import digitnet
from digitnet.sklearn import MLPClassifier, MLPRegressor


# scikit-learn's MLPs warn that 100 epochs do not converge on the checks' data; so do ours.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    # max_iter=100, as scikit-learn's own test suite runs its MLPs through these checks.
    check(estimator)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits scaled to [0, 1], split 75/25."""
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x / 16.0, y, test_size=0.25, random_state=0))


def test_the_import_is_the_only_change() -> None:
    assert digitnet.MLPClassifier is MLPClassifier
    assert digitnet.MLPRegressor is MLPRegressor
    for ours, theirs in [
        (MLPClassifier, neural_network.MLPClassifier),
        (MLPRegressor, neural_network.MLPRegressor),
    ]:
        defaults = ours().get_params()
        for name, value in theirs().get_params().items():
            assert defaults.pop(name) == value, name
        assert set(defaults) <= {"loss", "init"}  # ours alone


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_accuracy_is_scikit_learns(digits: tuple[np.ndarray, ...], seed: int) -> None:
    x_train, x_test, y_train, y_test = digits
    params = {"hidden_layer_sizes": (50,), "max_iter": 30, "random_state": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**params).fit(x_train, y_train).score(x_test, y_test)
        theirs = neural_network.MLPClassifier(**params).fit(x_train, y_train)
    # Measured, seeds 0-4: digitnet 0.924-0.936, scikit-learn 0.927-0.938.
    assert ours > 0.9
    assert abs(ours - theirs.score(x_test, y_test)) < 0.03


@pytest.mark.parametrize(
    ("params", "low", "gap"),
    [
        # Measured, seeds 0-4: R² 0.378-0.380 for both.
        ({"solver": "lbfgs", "alpha": 30.0, "hidden_layer_sizes": (10,)}, 0.35, 0.02),
        # Measured, seeds 0-4: digitnet 0.267-0.336, scikit-learn 0.178-0.299.
        (
            {
                "solver": "adam",
                "learning_rate_init": 0.01,
                "hidden_layer_sizes": (20,),
                "early_stopping": True,
                "max_iter": 300,
            },
            0.2,
            0.15,
        ),
    ],
)
def test_diabetes_r2_is_scikit_learns(params: dict[str, Any], low: float, gap: float) -> None:
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    scores = {}
    for name, cls in [("ours", MLPRegressor), ("theirs", neural_network.MLPRegressor)]:
        model = TransformedTargetRegressor(
            make_pipeline(StandardScaler(), cls(random_state=0, **params)),
            transformer=StandardScaler(),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[name] = model.fit(x_train, y_train).score(x_test, y_test)
    assert scores["ours"] > low
    assert abs(scores["ours"] - scores["theirs"]) < gap


def test_pipeline_cross_validation() -> None:
    x, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(MinMaxScaler(), MLPClassifier((30,), max_iter=20, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipeline, x, y, cv=3)
    assert scores.min() > 0.75  # measured: 0.815-0.821 (scikit-learn's folds are as hard)


def test_the_books_settings_train_the_books_network(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, y_test = digits
    book = MLPClassifier((30,), "logistic", solver="sgd", loss="quadratic", init="large",
                         alpha=0, batch_size=10, learning_rate_init=3.0, momentum=0,
                         max_iter=10, n_iter_no_change=np.inf, random_state=0)  # fmt: skip
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(10\)"):
        book.fit(x_train, y_train)
    assert book.n_iter_ == 10
    assert len(book.loss_curve_) == 10
    assert book.out_activation_ == "logistic"
    # Measured, random_state 0-4: 0.967, 0.962, 0.958, 0.858 (a run with saturated units, as
    # the book's N(0, 1) start sometimes gives), 0.964.
    assert book.score(x_test, y_test) > 0.9
    # loss_ is network.py's quadratic cost, the mean over the samples of ½‖a − y‖².
    outputs = book._forward_pass_fast(x_train)
    one_hot = (y_train[:, None] == book.classes_).astype(float)
    final_cost = np.mean(0.5 * np.sum((outputs - one_hot) ** 2, axis=1))
    assert final_cost < book.loss_curve_[0]
    proba = book.predict_proba(x_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(book.classes_[proba.argmax(axis=1)], book.predict(x_test))


def test_init_large_starts_from_unit_normal_weights() -> None:
    x, y = np.random.default_rng(0).normal(size=(500, 20)), np.resize([0, 1], 500)
    model = MLPClassifier((200,), init="large", solver="sgd", learning_rate_init=1e-12,
                          max_iter=1, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    assert model.coefs_[0].std() == pytest.approx(1.0, abs=0.03)
    glorot = MLPClassifier((200,), activation="logistic", solver="sgd", learning_rate_init=1e-12,
                           max_iter=1, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        glorot.fit(x, y)
    bound = np.sqrt(2.0 / (20 + 200))  # scikit-learn's factor 2 for logistic networks
    assert np.abs(glorot.coefs_[0]).max() <= bound * 1.01
    assert np.abs(glorot.coefs_[0]).max() > bound * 0.9


def test_verbose_lines_are_scikit_learns(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), np.resize([0, 1], 40)
    params = {"solver": "sgd", "learning_rate": "adaptive", "tol": 10.0, "n_iter_no_change": 1,
              "max_iter": 6, "verbose": True, "random_state": 0}  # fmt: skip
    outputs = []
    for cls in (neural_network.MLPClassifier, MLPClassifier):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cls(**params).fit(x, y)
        outputs.append(capsys.readouterr().out)
    theirs, ours = (out.splitlines() for out in outputs)
    assert len(ours) == len(theirs)
    assert len(ours) > 6
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.split("=")[0].split(",")[0] == other.split("=")[0].split(",")[0]
    assert "Setting learning rate to" in outputs[1]


def test_keyboard_interrupt_stops_with_scikit_learns_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = np.random.default_rng(0).normal(size=(30, 3)), np.resize([0, 1, 2], 30)
    model = MLPClassifier((4,), max_iter=50, random_state=0, early_stopping=True)

    def interrupted(*args: Any, **kwargs: Any) -> float:
        raise KeyboardInterrupt  # Ctrl-C after the first epoch

    monkeypatch.setattr(model, "_score", interrupted)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        model.fit(x, y)
    assert model.n_iter_ == 1
    assert all(np.all(np.isfinite(c)) for c in model.coefs_)


def test_lbfgs_warns_when_it_stops_short() -> None:
    x, y = np.random.default_rng(0).normal(size=(30, 3)), np.resize([0, 1, 2], 30)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 2 iteration"):
        MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(x, y)


def test_partial_fit_needs_a_stochastic_solver_and_classes() -> None:
    x, y = np.zeros((4, 2)), [0, 1, 0, 1]
    for cls in (MLPClassifier, neural_network.MLPClassifier):  # the same error as scikit-learn
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
            cls(solver="lbfgs").partial_fit(x, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(x, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(x, [0.0, 1.0, 0.0, 1.0])


def test_string_labels_multilabel_and_predict_log_proba() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    labels = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 60)]
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(x, labels)
    assert set(model.predict(x)) <= set(labels)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(x)), model.predict_proba(x))
    multilabel = rng.integers(0, 2, (60, 3))
    model = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(x, multilabel)
    assert model.predict(x).shape == (60, 3)
    assert model.out_activation_ == "logistic"


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "adam"},
        {"solver": "sgd"},
        {"solver": "sgd", "nesterovs_momentum": False},
        {"solver": "sgd", "momentum": 0.0},
    ],
    ids=["adam", "nesterov", "momentum", "plain-sgd"],
)
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_pickle_round_trip_predicts_the_same_and_continues_exactly(
    estimator: Any, params: dict[str, Any]
) -> None:
    """As scikit-learn's pickles keep the optimizer (velocities, Adam's moments and step), so
    do digitnet's: the copy's next partial_fit gives the original's parameters exactly."""
    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.resize([0, 1, 2], 40)
    model = estimator(hidden_layer_sizes=(5,), random_state=0, **params)
    model = (
        model.partial_fit(x, y, classes=[0, 1, 2])
        if estimator is MLPClassifier
        else model.partial_fit(x, y)
    )
    model.partial_fit(x, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(x), model.predict(x))
    for fitted in (copy, model):
        fitted.partial_fit(x, y)
    assert copy.t_ == model.t_ == 120
    for a, b in zip(
        [*copy.coefs_, *copy.intercepts_], [*model.coefs_, *model.intercepts_], strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_coefs_set_by_hand_are_used_for_prediction() -> None:
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.random.default_rng(1).normal(size=20)
    model = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(x, y)
    model.coefs_ = [np.array([[1.0], [2.0], [3.0]])]
    model.intercepts_ = [np.array([0.5])]
    np.testing.assert_allclose(model.predict(x), x @ [1.0, 2.0, 3.0] + 0.5)


def test_importing_without_scikit_learn_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None\n"
        "import digitnet\n"
        "try:\n"
        "    import digitnet.sklearn\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pip install digitnet[sklearn]" in result.stdout
