"""Data sets for digitnet: MNIST (or any data set in its IDX format) and the IDX reader."""

from __future__ import annotations

from digitnet.datasets import mnist
from digitnet.datasets.idx import parse_idx, read_idx
from digitnet.datasets.mnist import (
    ArrayData,
    MnistSplits,
    load_arrays,
    load_data,
    load_data_wrapper,
)
from digitnet.errors import DatasetError

__all__ = [
    "ArrayData",
    "DatasetError",
    "MnistSplits",
    "load_arrays",
    "load_data",
    "load_data_wrapper",
    "mnist",
    "parse_idx",
    "read_idx",
]
