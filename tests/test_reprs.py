"""``digitnet.reprs``: the HTML and text summaries of networks and histories hold the right
numbers, and the HTML is well-formed with every value escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import digitnet
from digitnet import reference
from digitnet.history import EpochResult, History
from digitnet.reprs import history_html, history_text, network_html, network_text


def parse(markup: str) -> ET.Element:
    """The markup as an element tree; fails unless it is well-formed."""
    return ET.fromstring(markup)


def body_rows(markup: str) -> list[list[str]]:
    tbody = parse(markup).find(".//tbody")
    assert tbody is not None
    return [["".join(td.itertext()) for td in tr.findall("td")] for tr in tbody.findall("tr")]


def history(accuracies: list[int | None], seconds: float = 1.5) -> History:
    return History(
        EpochResult(i, seconds + i, c, None if c is None else 10_000)
        for i, c in enumerate(accuracies)
    )


# ---- networks -----------------------------------------------------------------------------------


def test_network_html_has_sizes_parameters_dtype_seed_and_layer_statistics() -> None:
    net = digitnet.Network([784, 30, 10], seed=3)
    markup = network_html(net)
    summary = "".join(parse(markup).find("p").itertext())  # type: ignore[union-attr]
    assert summary == (
        "digitnet.network.Network [784, 30, 10]: 23,860 parameters, float64, seed 3, QuadraticCost"
    )
    rows = body_rows(markup)
    assert [row[:5] for row in rows] == [
        ["0 (input)", "784", "\u2014", "\u2014", "\u2014"],
        ["1", "30", "(30, 784)", "(30, 1)", "23,550"],
        ["2", "10", "(10, 30)", "(10, 1)", "310"],
    ]
    w, b = net.weights[0], net.biases[0]
    expected = [w.mean(), w.std(), w.min(), w.max(), b.mean(), b.std()]
    assert rows[1][5:] == [f"{v:.4g}" for v in expected]
    header = [th.text for th in parse(markup).iter("th")]
    assert header[:5] == ["layer", "neurons", "weights", "biases", "parameters"]
    assert len(header) == len(rows[1])


def test_network_text_has_a_header_and_a_line_per_layer() -> None:
    net = digitnet.Network([4, 3, 2], seed=11)
    lines = network_text(net).splitlines()
    assert (
        lines[0]
        == "digitnet.network.Network([4, 3, 2]): 23 parameters, float64, seed 11, QuadraticCost"
    )
    columns = [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]
    assert columns[0] == [
        "layer",
        "neurons",
        "weights",
        "biases",
        "parameters",
        "w mean",
        "w std",
        "b mean",
    ]
    assert columns[2][:5] == ["1", "3", "(3, 4)", "(3, 1)", "15"]
    assert columns[3][:5] == ["2", "2", "(2, 3)", "(2, 1)", "8"]
    w, b = net.weights[1], net.biases[1]
    assert columns[3][5:] == [f"{w.mean():.4g}", f"{w.std():.4g}", f"{b.mean():.4g}"]
    assert len(lines) == 5


def test_the_numpy_reference_network_is_summarised_too() -> None:
    net = reference.Network([5, 2], seed=4)
    assert "12 parameters, float64, seed 4" in network_html(net)
    assert network_text(net).startswith("digitnet.reference.Network([5, 2]): 12 parameters")


def test_network_html_escapes_names_and_cost() -> None:
    # A network's cost is fixed when it is made (a read-only property): a subclass stands in.
    cost = type("Cost", (), {"name": "<script>alert('x')</script>"})
    hostile = type("Net<b>&'\"", (digitnet.Network,), {"cost": property(lambda self: cost)})
    net = hostile([2, 2], seed=0)
    markup = network_html(net)
    assert "<script>" not in markup
    assert "<b>" not in markup
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in markup
    text = "".join(parse(markup).itertext())  # well-formed, and the text is what was given
    assert "Net<b>&'\"" in text
    assert "<script>alert('x')</script>" in text


def test_network_statistics_follow_changed_parameters() -> None:
    net = digitnet.Network([2, 2], seed=0)
    net.weights = [np.array([[1.0, 2.0], [3.0, 4.0]])]
    net.biases = [np.array([[-1.0], [1.0]])]
    row = body_rows(network_html(net))[1]
    assert row[5:] == ["2.5", "1.118", "1", "4", "0", "1"]


# ---- histories ----------------------------------------------------------------------------------


def test_history_html_highlights_the_best_epoch() -> None:
    markup = history_html(history([9000, 9500, 9400, 9500]))
    rows = body_rows(markup)
    assert rows[1] == ["1", "9,500 / 10,000", "95.00%", "2.500", "best"]
    assert [row[4] for row in rows] == ["", "best", "", ""]  # the earliest of the tied best
    highlighted = [tr for tr in parse(markup).iter("tr") if tr.get("class") == "best"]
    assert len(highlighted) == 1
    assert "font-weight:bold" in (highlighted[0].get("style") or "")
    summary = "".join(parse(markup).find("p").itertext())  # type: ignore[union-attr]
    assert summary == "History: 4 epochs; best 95.00% after epoch 1; 3 s per epoch, 12 s in all"


def test_history_without_test_data_has_no_best() -> None:
    markup = history_html(history([None, None]))
    assert [row[1:3] for row in body_rows(markup)] == [["\u2014", "\u2014"]] * 2
    assert 'class="best"' not in markup
    assert "best" not in "".join(parse(markup).itertext())


def test_empty_history() -> None:
    assert "".join(parse(history_html(History())).itertext()) == "History: no epochs"
    assert history_text(History()) == "History: no epochs"


def test_long_histories_are_cut_in_the_middle() -> None:
    markup = history_html(history(list(range(9000, 9100))), max_rows=10)
    rows = body_rows(markup)
    assert len(rows) == 11
    assert [row[0] for row in rows] == [*map(str, range(5)), "\u2026", *map(str, range(95, 100))]
    assert "100 epochs" in markup
    assert rows[-1][4] == "best"


def test_history_text_marks_the_best_epoch() -> None:
    lines = history_text(history([9000, 9700, 9600])).splitlines()
    assert lines[0] == "History: 3 epochs; best 97.00% after epoch 1; 2.5 s per epoch, 7.5 s in all"
    assert lines[1].split() == ["epoch", "correct", "accuracy", "seconds"]
    assert lines[3].split() == ["1", "9,700", "/", "10,000", "97.00%", "2.500", "*"]
    assert not lines[2].endswith("*")
    assert not lines[4].endswith("*")


def test_a_real_training_history(rng_data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = rng_data
    result = digitnet.Network([8, 5, 3], seed=1).SGD(
        (x, y), 3, 10, 1.0, test_data=(x, y), verbose=False, progress=False
    )
    markup = history_html(result)
    best = result.best()
    assert best is not None
    assert f"best {100 * (best.accuracy or 0):.2f}% after epoch {best.epoch}" in markup
    assert len(body_rows(markup)) == 3
    assert re.search(r"\d+ / 60", markup)


@pytest.fixture
def rng_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((60, 8)), rng.integers(0, 3, 60)


def test_a_float32_network_says_so() -> None:
    net = digitnet.Network([3, 2], seed=0, dtype=np.float32)
    assert "8 parameters, float32, seed 0" in network_html(net)
    assert "float32" in network_text(net).splitlines()[0]
