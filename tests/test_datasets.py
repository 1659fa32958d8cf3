"""Tests for digitlens.datasets: reading IDX files, finding MNIST, downloading and verifying it.

Real MNIST comes from ../shared/datasets/mnist beside the repository (or $DIGITLENS_TEST_MNIST).
Every test runs with its own empty caches and no configured data directory, so nothing here reads
the real ~/.cache or ~/.keras, and downloads go only to local servers.
"""

from __future__ import annotations

import gzip
import http.server
import shutil
import socket
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from digitlens.datasets import fetch, idx, mnist
from digitlens.datasets import load_data, load_dataset
from digitlens.errors import DataError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = mnist.FILE_NAMES  # train-images, train-labels, t10k-images, t10k-labels


@pytest.fixture(scope="module")
def real(mnist_dir) -> mnist.Dataset:
    return load_dataset(mnist_dir)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty digitlens and Keras caches under tmp_path; no data directory or mirrors configured."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("DIGITLENS_DATA", raising=False)
    monkeypatch.delenv("DIGITLENS_MNIST_MIRRORS", raising=False)


def write_idx(path: Path, array: np.ndarray, *, magic: bytes | None = None, compress: bool = True) -> Path:
    """Write `array` as an IDX file (gzip-compressed unless told otherwise), optionally with a forged magic."""
    data = (magic or idx.idx_header(array)[:4]) + idx.idx_header(array)[4:] + array.tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    return path


@pytest.fixture
def small_dir(tmp_path, real) -> Path:
    """A tiny dataset in MNIST's form: 100 training and 50 test digits from real MNIST."""
    directory = tmp_path / "small"
    directory.mkdir()
    for name, array in zip(NAMES, (real.x_train[:100], real.y_train[:100], real.x_test[:50], real.y_test[:50])):
        write_idx(directory / f"{name}.gz", array)
    return directory


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- real MNIST, as Keras returns it -------------------------------------------------------------


def test_load_data_returns_keras_shapes_and_dtypes(mnist_dir):
    (x_train, y_train), (x_test, y_test) = load_data(mnist_dir)
    shapes = [a.shape for a in (x_train, y_train, x_test, y_test)]
    assert shapes == [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]
    assert all(a.dtype == np.uint8 and a.flags.writeable for a in (x_train, y_train, x_test, y_test))


def test_real_mnist_matches_published_facts(real):
    assert np.bincount(real.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(real.y_test).tolist() == TEST_COUNTS
    assert real.x_train.mean() == pytest.approx(33.3184, abs=1e-4)
    assert real.x_train.std() == pytest.approx(78.5675, abs=1e-4)


def test_dataset_says_what_and_where(real, mnist_dir):
    assert real.verified and real.origin == "data_dir" and real.path == mnist_dir
    assert real.describe() == f"MNIST from {mnist_dir} (verified)"
    assert real.class_names == tuple("0123456789")


def test_uncompressed_files_load_the_same(tmp_path, mnist_dir, real):
    for name in NAMES:
        (tmp_path / name).write_bytes(gzip.decompress((mnist_dir / f"{name}.gz").read_bytes()))
    loaded = load_dataset(tmp_path)
    assert loaded.verified
    for a, b in zip(loaded.as_keras(), real.as_keras()):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_env_var_names_the_data_directory(monkeypatch, small_dir):
    monkeypatch.setenv("DIGITLENS_DATA", str(small_dir))
    loaded = load_dataset()
    assert loaded.x_train.shape == (100, 28, 28) and loaded.origin == "data_dir"
    assert not loaded.verified and "differs from the published MNIST" in loaded.describe()


def test_dotted_file_names_and_dataset_subdirectory(tmp_path, small_dir):
    sub = tmp_path / "data" / "mnist"
    sub.mkdir(parents=True)
    for name in NAMES:
        shutil.copy(small_dir / f"{name}.gz", sub / f"{name.replace('-idx', '.idx')}.gz")
    assert load_dataset(tmp_path / "data").x_test.shape == (50, 28, 28)


# --- damaged or wrong files -------------------------------------------------------------------------


def test_truncated_gzip(small_dir):
    path = small_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    message = one_line_error(load_dataset, small_dir)
    assert str(path) in message and "truncated gzip" in message


def test_corrupt_gzip(small_dir):
    path = small_dir / "t10k-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[2000:2100] = bytes(100)  # zeros in the middle of the compressed stream
    path.write_bytes(bytes(data))
    message = one_line_error(load_dataset, small_dir)
    assert str(path) in message and "damaged gzip file" in message


def test_file_named_gz_that_is_not_gzip(small_dir):
    path = small_dir / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>Not Found</html>")
    assert "not a gzip file" in one_line_error(load_dataset, small_dir)


def test_wrong_magic_number(small_dir):
    # An image file where the training labels should be.
    shutil.copy(small_dir / "t10k-images-idx3-ubyte.gz", small_dir / "train-labels-idx1-ubyte.gz")
    message = one_line_error(load_dataset, small_dir)
    assert "train-labels-idx1-ubyte.gz" in message
    assert "wrong magic number (expected 0x00000801 for labels, found 0x00000803)" in message


def test_not_an_idx_file(small_dir):
    path = write_idx(small_dir / "t10k-labels-idx1-ubyte.gz", np.zeros(50, np.uint8), magic=b"PK\x03\x04")
    message = one_line_error(load_dataset, small_dir)
    assert str(path) in message and "not an IDX file" in message


def test_wrong_image_dimensions(small_dir):
    path = write_idx(small_dir / "train-images-idx3-ubyte.gz", np.zeros((100, 27, 28), np.uint8))
    message = one_line_error(load_dataset, small_dir)
    assert message == f"{path}: expected images of shape (N, 28, 28), found (100, 27, 28)"


@pytest.mark.parametrize("change, words", [(-10, "data ends early"), (+3, "data length does not match")])
def test_data_length_differs_from_header(small_dir, real, change, words):
    path = small_dir / "t10k-labels-idx1-ubyte"
    (small_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    data = idx.idx_header(real.y_test[:50]) + real.y_test[:50].tobytes()
    path.write_bytes(data[:change] if change < 0 else data + bytes(change))
    message = one_line_error(load_dataset, small_dir)
    assert str(path) in message and "data length does not match the header" in message
    # The same damage inside a gzip file is found while reading.
    path.unlink()
    gz = small_dir / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(data[:change] if change < 0 else data + bytes(change)))
    message = one_line_error(load_dataset, small_dir)
    assert str(gz) in message and words in message


def test_image_and_label_counts_disagree(small_dir, real):
    path = write_idx(small_dir / "train-labels-idx1-ubyte.gz", real.y_train[:99])
    message = one_line_error(load_dataset, small_dir)
    assert message.startswith(f"{path}: expected 100 labels, one per image in ") and message.endswith("found 99")


def test_label_out_of_range(small_dir, real):
    labels = real.y_test[:50].copy()
    labels[7] = 10
    path = write_idx(small_dir / "t10k-labels-idx1-ubyte.gz", labels)
    assert one_line_error(load_dataset, small_dir) == f"{path}: label 10 is out of range (expected 0..9 for MNIST)"


def test_missing_file_in_data_dir_is_an_error_not_a_fallback(small_dir, monkeypatch):
    (small_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    message = one_line_error(load_dataset, small_dir)
    assert message.startswith(f"{small_dir}: missing t10k-labels-idx1-ubyte[.gz]")
    monkeypatch.setenv("DIGITLENS_DATA", str(small_dir))
    assert f"$DIGITLENS_DATA={small_dir}: missing" in one_line_error(load_dataset)


def test_data_dir_that_does_not_exist(tmp_path):
    assert one_line_error(load_dataset, tmp_path / "nowhere").startswith(f"{tmp_path / 'nowhere'}: no such directory")


def test_unknown_dataset_name():
    assert one_line_error(load_dataset, dataset="cifar10") == (
        "dataset: expected one of 'mnist', 'fashion_mnist', received 'cifar10'"
    )


# --- other datasets in MNIST's form ----------------------------------------------------------------


def test_fashion_mnist_from_a_directory(small_dir):
    loaded = load_dataset(small_dir, "fashion_mnist")
    assert loaded.class_names[9] == "Ankle boot" and len(loaded.class_names) == 10
    assert loaded.describe() == f"Fashion-MNIST from {small_dir} (not checked against MNIST's published checksums)"
    assert mnist.dataset_info("fashion_mnist").class_names[0] == "T-shirt/top"


def test_fashion_mnist_is_not_downloaded(tmp_path):
    message = one_line_error(load_dataset, dataset="fashion_mnist")
    assert str(tmp_path / "xdg" / "digitlens" / "fashion_mnist") in message
    assert "digitlens downloads only MNIST" in message and "--data DIR" in message


# --- caches: digitlens's own and Keras's ----------------------------------------------------------


def test_digitlens_cache_is_used_and_verified(tmp_path, mnist_dir):
    cache = mnist.cache_dir()
    assert cache == tmp_path / "xdg" / "digitlens" / "mnist"
    shutil.copytree(mnist_dir, cache, ignore=shutil.ignore_patterns("*.md"))
    loaded = load_dataset(download=False)
    assert loaded.origin == "cache" and loaded.verified and loaded.path == cache


def test_damaged_cache_names_the_file_and_both_checksums(mnist_dir, small_dir):
    cache = mnist.cache_dir()
    shutil.copytree(mnist_dir, cache, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(small_dir / "t10k-labels-idx1-ubyte.gz", cache)
    shutil.copy(small_dir / "t10k-images-idx3-ubyte.gz", cache)  # so the counts still agree
    message = one_line_error(load_dataset, download=False)
    assert message.startswith(f"{cache / 't10k-images-idx3-ubyte.gz'}: checksum mismatch")
    assert fetch.MNIST_FILES["t10k-images-idx3-ubyte"][1] in message and "delete the file" in message


def test_keras_cache_is_used(tmp_path, real):
    npz = tmp_path / "keras" / "datasets" / "mnist.npz"
    npz.parent.mkdir(parents=True)
    x_train, y_train, x_test, y_test = real.x_train[:100], real.y_train[:100], real.x_test[:50], real.y_test[:50]
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    loaded = load_dataset(download=False)
    assert loaded.origin == "keras" and loaded.path == npz and loaded.x_train.shape == (100, 28, 28)


def test_keras_cache_with_all_of_mnist_is_verified(tmp_path, real):
    npz = tmp_path / "keras" / "datasets" / "mnist.npz"
    npz.parent.mkdir(parents=True)
    np.savez(npz, x_train=real.x_train, y_train=real.y_train, x_test=real.x_test, y_test=real.y_test)
    assert load_dataset(download=False).describe() == f"MNIST from {npz} (verified)"


def test_keras_home_defaults_to_dot_keras(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist.keras_npz_path() == tmp_path / ".keras" / "datasets" / "mnist.npz"


def test_damaged_keras_npz(tmp_path):
    npz = tmp_path / "keras" / "datasets" / "mnist.npz"
    npz.parent.mkdir(parents=True)
    npz.write_bytes(b"PK\x03\x04 not really a zip")
    assert one_line_error(load_dataset, download=False).startswith(f"{npz}: not a readable .npz file")


# --- downloading ---------------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path):
    """serve(directory) -> base URL of an HTTP server on 127.0.0.1 serving that directory."""
    servers = []

    def start(directory: Path) -> str:
        handler = partial(QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def cache_files() -> list[str]:
    cache = mnist.cache_dir()
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_from_http_mirror_fills_the_cache(monkeypatch, serve, mnist_dir, real):
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", serve(mnist_dir))
    loaded = load_dataset(progress=False)
    assert loaded.origin == "download" and loaded.verified
    assert loaded.describe() == f"MNIST downloaded to {mnist.cache_dir()} (verified)"
    assert cache_files() == sorted(f"{name}.gz" for name in NAMES)
    assert np.array_equal(loaded.y_train, real.y_train)
    assert load_dataset(download=False).origin == "cache"  # the second load finds the files


def test_download_from_file_urls(monkeypatch, mnist_dir):
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", mnist_dir.as_uri())
    fetch.download_mnist(mnist.cache_dir(), ["t10k-labels-idx1-ubyte"], progress=True)
    assert cache_files() == ["t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("damage", ["different content", "truncated"])
def test_damaged_download_leaves_nothing_in_the_cache(tmp_path, monkeypatch, serve, real, damage):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    labels = real.y_train.copy()
    labels[0] = (labels[0] + 1) % 10
    data = gzip.compress(idx.idx_header(labels) + labels.tobytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    (mirror / "train-labels-idx1-ubyte.gz").write_bytes(data)
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", serve(mirror))
    message = one_line_error(fetch.download_mnist, mnist.cache_dir(), ["train-labels-idx1-ubyte"], progress=False)
    assert message.startswith("train-labels-idx1-ubyte.gz from http://127.0.0.1:")
    assert message.endswith("nothing was saved")
    if damage == "different content":
        assert "checksum mismatch" in message and fetch.MNIST_FILES["train-labels-idx1-ubyte"][1] in message
    assert cache_files() == []  # neither the file nor its temporary .part


def test_unreachable_mirror_says_where_to_put_the_files(monkeypatch):
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", closed_port_url())
    message = one_line_error(load_dataset, progress=False)
    assert message.startswith("could not download MNIST (http://127.0.0.1:")
    assert f"put the four MNIST .gz files in {mnist.cache_dir()}" in message and "DIGITLENS_DATA" in message
    assert cache_files() == []


def test_missing_file_on_mirror(monkeypatch, serve, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", serve(tmp_path / "empty"))
    message = one_line_error(fetch.download_mnist, mnist.cache_dir(), ["t10k-labels-idx1-ubyte"], progress=False)
    assert "t10k-labels-idx1-ubyte.gz: HTTP 404" in message


def test_second_mirror_is_tried_when_the_first_fails(monkeypatch, serve, mnist_dir):
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", f"{closed_port_url()}, {serve(mnist_dir)}")
    fetch.download_mnist(mnist.cache_dir(), ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"], progress=False)
    assert cache_files() == ["t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_download_can_be_turned_off():
    assert "downloading is turned off" in one_line_error(load_dataset, download=False)


def test_mirrors_from_the_environment(monkeypatch):
    assert fetch.mirrors() == fetch.MIRRORS
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", " http://a/mnist , file:///b/ ,")
    assert fetch.mirrors() == ("http://a/mnist/", "file:///b/")
