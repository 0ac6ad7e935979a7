"""The notebooks in notebooks/: each executed top to bottom on a kernel of this environment, on
the real MNIST, with what it prints checked; and the committed copies checked to be valid
nbformat holding the outputs of exactly these cells."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from run_notebooks import (  # noqa: E402
    NOTEBOOKS,
    NOTEBOOKS_DIR,
    WIDGET_VIEW,
    execute,
    outline,
    without_live_outputs,
)

#: The lowest final test accuracy each notebook may print, in %.
FINAL_ACCURACY = {"digits_recognition.ipynb": 94.5, "chapter3.ipynb": 97.8}

pytestmark = pytest.mark.slow

#: A notebook's name, its committed copy and the copy this test run executed.
Run = tuple[str, Any, Any]


@pytest.fixture(scope="module", params=NOTEBOOKS)
def runs(request: pytest.FixtureRequest, mnist_dir: Path) -> Run:
    """(name, the committed notebook, the same notebook as this test run executed it)."""
    name: str = request.param
    path = NOTEBOOKS_DIR / name
    committed = nbformat.read(path, as_version=4)
    return name, committed, execute(path)  # raises at the first cell that fails


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def printed(notebook: Any) -> str:
    return "".join(
        output.text
        for cell in code_cells(notebook)
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def test_runs_without_errors_or_warnings(runs: Run) -> None:
    _, _, executed = runs
    for cell in code_cells(executed):
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
            if output.output_type == "stream":
                assert output.name == "stdout", f"{cell.source}\n{output.text}"


def test_final_accuracy(runs: Run) -> None:
    name, _, executed = runs
    found = re.findall(r"Final test accuracy: (\d+\.\d+)%", printed(executed))
    assert len(found) == 1, "the notebook prints its final accuracy once"
    assert float(found[0]) >= FINAL_ACCURACY[name]


def test_every_figure_is_drawn(runs: Run) -> None:
    """A cell ending in a figure shows it as a PNG (not as "<Figure size ...>" text)."""
    _, _, executed = runs
    figures = 0
    for cell in code_cells(executed):
        for output in cell.outputs:
            text = "".join(output.get("data", {}).get("text/plain", ""))
            if text.startswith("<Figure size"):
                assert "image/png" in output.data, cell.source
                figures += 1
    assert figures >= 4


def test_committed_notebook_holds_the_outputs_of_these_cells(
    runs: Run,
) -> None:
    """The committed notebook is valid nbformat, ran top to bottom in one kernel, and its cells
    and outputs are the ones this run produced, up to the numbers (timings, last bits) printed:
    re-run scripts/run-notebooks after changing a notebook or what it prints."""
    _, committed, executed = runs
    nbformat.validate(committed)
    cells = code_cells(committed)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert outline(committed) == outline(without_live_outputs(executed))
    sources = "\n".join(cell.source for cell in cells)
    assert not re.search(r"^\s*(!|%pip|%conda)", sources, re.MULTILINE), "installs nothing"


def test_training_shows_a_notebook_progress_bar(runs: Run) -> None:
    """Under a Jupyter kernel training draws tqdm's notebook bar (a widget), never text bars on
    stderr; the committed copy leaves the bars out, as they draw nothing once the kernel is
    gone."""
    name, committed, executed = runs
    if name != "digits_recognition.ipynb":
        pytest.skip("checked on the chapter 1 notebook's training cell")
    (training,) = [cell for cell in code_cells(executed) if "net.SGD(" in cell.source]
    bars = [o for o in training.outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(bars) == 30  # one per epoch
    assert all("batch" in "".join(bar.data["text/plain"]) for bar in bars)
    for cell in code_cells(committed):
        assert not [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
