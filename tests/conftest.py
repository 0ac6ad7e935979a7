"""Shared test settings and helpers."""

from __future__ import annotations

import math
import os
import re
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, settings

# First calls pay for imports and buffer allocation, so Hypothesis's per-example deadline would
# measure noise; the suites bound their own size instead.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-10) -> None:
    """Normwise relative agreement: max|actual - expected| <= rtol * max|expected|.

    Element-wise relative error is the wrong measure for results of sums (a gradient entry that
    cancels to ~0 carries the rounding of its large terms), so, as is usual for matrix
    computations, the error is measured against the array's largest entry. The 1e-300 floor only
    matters for arrays that underflowed to zero.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), "non-finite values"
    scale = float(np.max(np.abs(expected), initial=0.0))
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    assert error <= rtol * scale + 1e-300, f"max error {error:.3e} vs scale {scale:.3e}"


#: A conditioning bound this large, relative to the parameters' own scale, proves nothing (any
#: two networks of that scale would pass it): such cases are excluded, and counted.
VACUOUS_BOUND = 0.1
#: How many cases each use of the conditioning bound checked, and how many it excluded.
CONDITIONING: dict[str, dict[str, int]] = {}


def assert_within_conditioning(
    where: str,
    engine: np.ndarray,
    ref: np.ndarray,
    nudged: np.ndarray,
    nudge: float,
    steps: int,
    unit: float,
    floor: float,
) -> None:
    """The engine's parameters after training (``engine``, flattened) differ from the
    reference's (``ref``) by no more than the reference moves when its start is nudged by a
    relative ``nudge`` (``nudged``), times 100 rounding units (``unit``) per mini-batch step,
    and at least ``floor``; all relative to the largest parameter.

    Rounding differences arise at every step, each at most a few hundred units of its step, and
    each is amplified at most as much as the nudge is. Where that amplification makes the bound
    reach :data:`VACUOUS_BOUND` of the parameters' scale, the case proves nothing: it is
    excluded (``hypothesis.assume``) and counted under ``where``."""
    scale = float(np.max(np.abs(ref)))
    moved = float(np.max(np.abs(nudged - ref)))
    # Divided by the scale first: for a subnormal scale (saturated sigmoids' gradients),
    # `nudge * scale` underflows to zero.
    growth = moved / scale / nudge if scale > 0 else 0.0 if moved == 0 else math.inf
    relative = max(floor, 100 * steps * max(growth, 1.0) * unit)
    counts = CONDITIONING.setdefault(where, {"checked": 0, "vacuous": 0})
    if relative >= VACUOUS_BOUND:
        counts["vacuous"] += 1
        assume(False)
    counts["checked"] += 1
    bound = relative * scale
    error = float(np.max(np.abs(engine - ref)))
    assert error <= bound, f"error {error:.3e}, bound {bound:.3e}, growth {growth:.3e}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Reports how many cases the conditioning bound checked and how many it found vacuous."""
    for where, counts in sorted(CONDITIONING.items()):
        terminalreporter.write_line(
            f"conditioning bound, {where}: {counts['checked']} cases checked, "
            f"{counts['vacuous']} excluded as vacuous (bound >= {VACUOUS_BOUND} of the scale)"
        )


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST directory named by DIGITNET_DATA; tests that need it skip without it."""
    value = os.environ.get("DIGITNET_DATA")
    if not value:
        pytest.skip("DIGITNET_DATA is not set")
    return Path(value)


def interrupt_after(seconds: float) -> list[float]:
    """Sends SIGINT to this process after ``seconds``; returns a list receiving the send time."""
    sent: list[float] = []

    def fire() -> None:
        time.sleep(seconds)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()
    return sent


def read_url(process: subprocess.Popen[str], timeout: float = 30) -> str:
    """The URL a ``digitnet serve`` process prints once it listens."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            found = re.search(r"http://\S+/", line)
            if found:
                return found.group(0)
            if not line:
                break
    process.kill()
    _, err = process.communicate()
    raise AssertionError(f"the server did not start: {err}")
