"""digitnet.progress: which bar is drawn where (a real kernel's bar is checked by running the
notebooks, in test_notebooks.py)."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace

import pytest
from tqdm.std import tqdm

from digitnet import progress

IPython = pytest.importorskip("IPython")


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes this process look like a Jupyter kernel to ``digitnet.progress``."""
    shell = SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


def test_outside_jupyter_a_text_bar_on_stderr_shown_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not progress.in_jupyter()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.shown_by_default()
    bar = progress.new_bar(total=3, disable=False)
    bar.update(3)
    bar.close()
    assert type(bar) is tqdm
    assert "3/3" in sys.stderr.getvalue()


def test_an_ipython_terminal_is_not_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(config={}))
    assert not progress.in_jupyter()


@pytest.mark.usefixtures("kernel")
def test_under_a_kernel_the_notebook_bar_shown_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tqdm.notebook import tqdm as notebook_tqdm

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.in_jupyter()
    assert progress.shown_by_default()
    bar = progress.new_bar(total=3, leave=False)
    bar.update(3)
    bar.close()
    assert isinstance(bar, notebook_tqdm)
    assert sys.stderr.getvalue() == ""  # no escape codes


@pytest.mark.usefixtures("kernel")
def test_under_a_kernel_without_ipywidgets_no_bar_by_default_and_text_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "_notebook_bars_work", lambda: False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.shown_by_default()
    assert type(progress.new_bar(total=1, disable=True)) is tqdm
