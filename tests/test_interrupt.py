"""Ctrl-C during training raises KeyboardInterrupt promptly and leaves a usable network."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from conftest import interrupt_after

import digitnet

# A hang detector, not a speed claim: the binding checks for signals every 50 ms, so anything
# near this bound means the check is broken, not that the machine is slow.
PROMPT = 2.0


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_during_sgd_raises_keyboard_interrupt_promptly() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (20_000, 784)), rng.integers(0, 10, 20_000)
    net = digitnet.Network([784, 100, 10], seed=0)
    sent = interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        net.SGD((x, y), 1000, 10, 3.0, verbose=False)
    latency = time.perf_counter() - sent[0]
    print(f"KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT")
    assert latency < PROMPT, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"

    # The network holds the parameters of its last whole mini-batch: finite, changed, usable.
    assert all(np.all(np.isfinite(w)) for w in [*net.weights, *net.biases])
    assert not np.array_equal(net.weights[0], digitnet.Network([784, 100, 10], seed=0).weights[0])
    after_interrupt = net.copy()
    net.SGD((x[:100], y[:100]), 1, 10, 3.0, verbose=False)
    assert not np.array_equal(net.weights[0], after_interrupt.weights[0]), "it no longer trains"
    predicted = net.predict(x[:100])
    assert net.evaluate((x[:100], y[:100])) == int(np.count_nonzero(predicted == y[:100]))


def test_an_exception_in_a_callback_stops_training_cleanly() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (50, 4)), rng.integers(0, 2, 50)
    net = digitnet.Network([4, 2], seed=0)

    def boom(result: digitnet.EpochResult) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        net.SGD((x, y), 5, 10, 1.0, verbose=False, callback=boom)
    assert np.all(np.isfinite(net.weights[0]))
