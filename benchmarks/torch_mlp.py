"""network.py's network and update in PyTorch on the CPU, for the benchmarks.

The same fully connected sigmoid network, quadratic cost ``|a - y|² / 2`` summed over the
mini-batch, and step ``w -= eta / m * nabla_w`` (and for ``b``), written two ways:

- ``autograd``: the forward pass and the cost as tensors, ``loss.backward()``, then the step;
- ``manual``: backpropagation written out with torch operations (no autograd), each layer's
  weight step fused into one ``addmm_``.

Samples are rows, as in ``digitnet.reference``. Importing this module needs ``torch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch as torch  # re-exported: bench.py reads the version and threads through it

VARIANTS: tuple[str, ...] = ("manual", "autograd")


class TorchMLP:
    """A sigmoid network with network.py's parameters, trained by mini-batch SGD in torch."""

    def __init__(
        self,
        weights: Sequence[npt.ArrayLike],
        biases: Sequence[npt.ArrayLike],
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        """Starts from the given parameters (copied): weights ``(n_out, n_in)``, biases
        ``(n_out, 1)`` or ``(n_out,)``."""
        self.dtype = dtype
        self.weights = [torch.tensor(np.asarray(w), dtype=dtype) for w in weights]
        self.biases = [torch.tensor(np.asarray(b).reshape(-1), dtype=dtype) for b in biases]
        self.generator = torch.Generator().manual_seed(seed)

    def numpy_parameters(self) -> tuple[list[npt.NDArray[Any]], list[npt.NDArray[Any]]]:
        """The weights and the biases (as ``(n_out, 1)`` columns) as NumPy arrays."""
        weights = [w.detach().numpy().copy() for w in self.weights]
        biases = [b.detach().numpy().reshape(-1, 1).copy() for b in self.biases]
        return weights, biases

    def feedforward(self, x: torch.Tensor) -> torch.Tensor:
        """The output rows for the input rows ``x``."""
        a = x
        for w, b in zip(self.weights, self.biases, strict=True):
            a = torch.sigmoid(torch.addmm(b, a, w.t()))
        return a

    def update_manual(self, x: torch.Tensor, y: torch.Tensor, eta: float) -> None:
        """One SGD step on the mini-batch ``(x, y)`` (one-hot ``y``) by hand-written backprop."""
        activations = [x]
        a = x
        for w, b in zip(self.weights, self.biases, strict=True):
            a = torch.sigmoid(torch.addmm(b, a, w.t()))
            activations.append(a)
        step = -eta / x.shape[0]
        # Output error (a - y) * σ'(z), with σ'(z) = a (1 - a).
        delta = (a - y) * a * (1.0 - a)
        for layer in range(len(self.weights) - 1, -1, -1):
            below = activations[layer]
            w = self.weights[layer]
            if layer > 0:
                # Uses the weights before their step, as network.py's gradient does.
                next_delta = torch.mm(delta, w) * below * (1.0 - below)
            w.addmm_(delta.t(), below, alpha=step)
            self.biases[layer].add_(delta.sum(dim=0), alpha=step)
            if layer > 0:
                delta = next_delta

    def update_autograd(self, x: torch.Tensor, y: torch.Tensor, eta: float) -> None:
        """One SGD step on the mini-batch ``(x, y)`` (one-hot ``y``) with autograd."""
        params = [*self.weights, *self.biases]
        for p in params:
            p.requires_grad_(True)
        a = x
        for w, b in zip(self.weights, self.biases, strict=True):
            a = torch.sigmoid(torch.addmm(b, a, w.t()))
        loss = 0.5 * torch.sum((a - y) ** 2)
        loss.backward()
        step = -eta / x.shape[0]
        with torch.no_grad():
            for p in params:
                assert p.grad is not None
                p.add_(p.grad, alpha=step)
                p.grad = None
                p.requires_grad_(False)

    def train_epoch(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        mini_batch_size: int,
        eta: float,
        variant: str = "manual",
        shuffle: bool = True,
    ) -> None:
        """One pass of SGD over the rows of ``(x, y)``, in a random order unless ``shuffle`` is
        false, cut into mini-batches of ``mini_batch_size``."""
        if variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
        update = self.update_manual if variant == "manual" else self.update_autograd
        n = x.shape[0]
        if shuffle:
            order = torch.randperm(n, generator=self.generator)
            x, y = x[order], y[order]
        for start in range(0, n, mini_batch_size):
            update(x[start : start + mini_batch_size], y[start : start + mini_batch_size], eta)


def tensors(
    x: npt.NDArray[np.floating[Any]],
    labels: npt.NDArray[np.integer[Any]],
    dtype: torch.dtype = torch.float32,
    classes: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs as a ``(n, n_in)`` tensor and the labels as one-hot ``(n, classes)`` rows."""
    xs = torch.as_tensor(np.ascontiguousarray(x)).to(dtype)
    ys = torch.zeros((len(labels), classes), dtype=dtype)
    ys[torch.arange(len(labels)), torch.as_tensor(labels, dtype=torch.int64)] = 1.0
    return xs, ys


def parallel_info() -> str:
    """``torch.__config__.parallel_info()`` when torch has it, else the thread count."""
    config = getattr(torch, "__config__", None)
    if config is not None and hasattr(config, "parallel_info"):
        info: str = config.parallel_info()
        return info
    return f"torch.get_num_threads() : {torch.get_num_threads()}"
