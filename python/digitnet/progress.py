"""Progress bars that suit where they are shown: a tqdm bar on a terminal, tqdm's notebook bar
(an ipywidgets progress bar) under a Jupyter kernel, and none by default anywhere else (a log
file or a pipe gets no escape codes)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import tqdm

__all__ = ["in_jupyter", "new_bar", "shown_by_default"]


def in_jupyter() -> bool:
    """Whether this Python runs under a Jupyter (IPython) kernel, as tqdm.auto decides it."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _notebook_bars_work() -> bool:
    """Jupyter's bars need ipywidgets (``pip install digitnet[notebook]``)."""
    return importlib.util.find_spec("ipywidgets") is not None


def shown_by_default() -> bool:
    """Whether progress is shown unless asked otherwise: on a terminal, or in a Jupyter notebook
    that can draw the bar."""
    return sys.stderr.isatty() or (in_jupyter() and _notebook_bars_work())


def new_bar(**kwargs: Any) -> tqdm.tqdm[Any]:
    """A tqdm bar with ``kwargs``: the notebook bar under a Jupyter kernel with ipywidgets,
    else the text bar on stderr."""
    if in_jupyter() and _notebook_bars_work():
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm(**kwargs)
    return tqdm.tqdm(file=sys.stderr, **kwargs)  # looked up now, so tests can replace it
