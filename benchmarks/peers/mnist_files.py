"""MNIST for the peer benchmarks, read straight from the four IDX .gz files with numpy alone.

The peers run in their own environment (benchmarks/.venv-peers) without digitlens, so they read
the files themselves: x as float32 /255 (N, 28, 28), y as uint8 (N,), prepared once before timing.
"""

import gzip
import pathlib

import numpy as np


FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def missing_files(folder):
    """The MNIST files `folder` lacks (empty when it holds all four)."""
    return [name for name in FILES if not (pathlib.Path(folder) / name).is_file()]


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_mnist(folder, n_train=None):
    """(x_train, y_train, x_test, y_test): float32 /255 (N, 28, 28) and uint8 labels (N,)."""
    folder = pathlib.Path(folder)
    x_train = read_idx(folder / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    y_train = read_idx(folder / "train-labels-idx1-ubyte.gz", 8)
    x_test = read_idx(folder / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz", 8)
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    scale = np.float32(255.0)
    return x_train.astype(np.float32) / scale, y_train, x_test.astype(np.float32) / scale, y_test
