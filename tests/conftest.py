"""Shared test set-up: real MNIST from ../shared/datasets/mnist, and a clean home for each test.

The offline copy of MNIST lies beside the checkout (../shared/datasets/mnist); DIGITLENS_TEST_MNIST
overrides where. Tests point digitlens at it through the documented option or $DIGITLENS_DATA.
"""

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
MNIST_DIR = Path(os.environ.get("DIGITLENS_TEST_MNIST", REPO.parent / "shared" / "datasets" / "mnist"))


@pytest.fixture(scope="session")
def mnist_dir():
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the offline MNIST copy is missing: expected it in {MNIST_DIR} "
                    "(or set DIGITLENS_TEST_MNIST)")
    return MNIST_DIR


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """((x_train, y_train), (x_test, y_test)) of real MNIST, loaded once."""
    from digitlens.datasets import mnist as loader

    return loader.load_data(data_dir=mnist_dir)


@pytest.fixture(scope="session")
def small_trained_model(mnist):
    """The lesson's network after one quick epoch on 12,000 real training images (about 96%)."""
    from digitlens import recipes

    (x_train, y_train), _ = mnist
    model = recipes.build_model(seed=0)
    recipes.train(model, x_train[:12000], y_train[:12000], recipes.get_recipe("default", epochs=2))
    model.class_names = [str(i) for i in range(10)]
    return model


@pytest.fixture
def clean_home(tmp_path, monkeypatch):
    """A fresh HOME, cache and state dir, so a test never sees the developer's own files."""
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "KERAS_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("DIGITLENS_DATA", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def keras():
    """Real Keras 3 on its torch backend (CPU), imported once: the thing digitlens is checked against.
    `./dev test` installs it (keras + torch==2.13.0)."""
    os.environ["KERAS_BACKEND"] = "torch"    # must be set before Keras is first imported
    try:
        import keras
    except ImportError:
        pytest.fail("real Keras is not installed: `./dev test` installs keras and torch==2.13.0")
    return keras


@pytest.fixture(scope="session")
def expected():
    """Inputs and real Keras's predictions for the fixture files (tests/fixtures/README.md)."""
    with np.load(FIXTURES / "keras_expected.npz") as data:
        return dict(data)


@pytest.fixture(scope="session")
def real_keras(keras):
    """The same, under a name that cannot be mistaken for `from digitlens import keras`."""
    return keras


def peak_memory(load):
    """The most memory (bytes, NumPy arrays included) Python held while running load()."""
    tracemalloc.start()
    try:
        load()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def numerical_gradient(f, x, eps):
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
