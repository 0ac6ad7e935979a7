"""Executes the project's notebooks top to bottom on a Jupyter kernel of this very Python (the
project's ``.venv``), as ``scripts/run-notebooks`` (which saves the outputs in place) and
``tests/test_notebooks.py`` (which checks them) do.

Usage: ``python tests/run_notebooks.py [NOTEBOOK.ipynb ...]`` (default: every notebook).
"""

from __future__ import annotations

import copy
import gc
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
#: The notebooks, in reading order.
NOTEBOOKS = ("digits_recognition.ipynb", "chapter3.ipynb")
#: What a committed notebook names as its kernel: the usual one, for readers' Jupyter.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
#: The output of an ipywidgets widget (tqdm's notebook progress bar).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Longest a cell may run, in seconds.
CELL_TIMEOUT = 600


def execute(path: Path) -> NotebookNode:
    """The notebook at ``path`` executed top to bottom, in its own directory, on a kernel of
    ``sys.executable``; raises nbclient's ``CellExecutionError`` at the first failing cell."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="digitnet-kernel-") as kernels:
        # A kernel spec of our own: the Python running this, not whichever "python3" kernel
        # the machine's Jupyter would find first.
        spec = Path(kernels) / "digitnet"
        spec.mkdir()
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "digitnet", "language": "python"})
        )
        manager = KernelManager(
            kernel_name="digitnet",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]),
            # Local sockets rather than TCP: nothing listens on the network.
            transport="ipc",
            ip=str(Path(kernels) / "ipc"),
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=CELL_TIMEOUT,
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            client.execute()
        finally:
            # nbclient leaves the kernel client's sockets to the garbage collector, whose
            # closing them warns (an error under pytest -W error): collect them now, quietly.
            del client, manager
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
    return notebook


def without_live_outputs(notebook: NotebookNode) -> NotebookNode:
    """A copy of ``notebook`` without its widget outputs (the progress bars, which only draw
    while the kernel runs) and widget state, its consecutive prints merged, with the usual
    kernel named: what is committed."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[NotebookNode] = []
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                continue
            previous = outputs[-1] if outputs else None
            if (
                previous is not None
                and output.output_type == previous.output_type == "stream"
                and output.name == previous.name
            ):
                previous.text += output.text  # as Jupyter shows them: one block of text
            else:
                outputs.append(output)
        cell.outputs = outputs
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook


def outline(notebook: NotebookNode) -> list[tuple[str, list[tuple[str, ...]]]]:
    """Each code cell's source and its outputs' kinds and text with every number masked: what
    two runs of the same cells share, whatever their timings and last bits."""

    def masked(text: Any) -> str:
        text = "".join(text) if isinstance(text, list) else str(text)
        return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text)).strip()

    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[tuple[str, ...]] = []
        for output in cell.outputs:
            if output.output_type == "stream":
                outputs.append(("stream", output.name, masked(output.text)))
            elif output.output_type in ("display_data", "execute_result"):
                data = output.get("data", {})
                outputs.append(
                    (output.output_type, *sorted(data), masked(data.get("text/plain", "")))
                )
            else:
                outputs.append((output.output_type, output.get("ename", "")))
        cells.append((cell.source, outputs))
    return cells


def write(notebook: NotebookNode, path: Path) -> None:
    """Writes ``notebook`` to ``path`` atomically, after checking it is valid nbformat."""
    nbformat.validate(notebook)
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)


def main(argv: list[str]) -> int:
    """Re-executes the named notebooks (default: all) in place."""
    paths = [Path(a) for a in argv] or [NOTEBOOKS_DIR / name for name in NOTEBOOKS]
    for path in paths:
        started = time.perf_counter()
        notebook = without_live_outputs(execute(path))
        write(notebook, path)
        print(f"{path}: executed and saved in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
