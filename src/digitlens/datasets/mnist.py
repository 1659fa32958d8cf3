"""MNIST (and datasets shaped like it), loaded the way `keras.datasets.mnist.load_data()` returns it.

    from digitlens.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train.shape, x_train.dtype   # (60000, 28, 28) uint8, pixels 0-255
    y_train.shape, y_train.dtype   # (60000,) uint8, labels 0-9

Where the data comes from, first match wins:
  1. `data_dir`, or else $DIGITLENS_DATA: a directory with the four IDX files under MNIST's names
     (or its `<dataset>/` subdirectory), each .gz or uncompressed; or a Keras-style .npz file.
     If given, it must hold them - digitlens does not silently look elsewhere.
  2. digitlens's cache, $XDG_CACHE_HOME/digitlens/<dataset>/ (default ~/.cache/digitlens/...).
  3. For MNIST, Keras's own cache, $KERAS_HOME/datasets/mnist.npz (default ~/.keras/...).
  4. For MNIST, a download from public mirrors into digitlens's cache (see fetch.py).

Every copy of MNIST is checked against the published SHA-256 of its files (about 0.04 s). A file in
digitlens's cache that fails is deleted and downloaded again (or, with downloads off, an error); a directory the user points at may hold any dataset in
MNIST's form, so a mismatch there only marks it "unverified". `load_dataset` also says where the
data came from, for lines like "MNIST from /data/mnist (verified)". Image preparation lives in
images.py; this module only loads arrays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlens.datasets import fetch
from digitlens.datasets.idx import idx_header, read_images, read_labels
from digitlens.errors import DataError
from digitlens.paths import require_directory, require_file

DATA_ENV = "DIGITLENS_DATA"

# The four files, in Keras's order: x_train, y_train, x_test, y_test.
FILE_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: its name, how to print it, and what its labels mean."""

    name: str  # as passed to load_data, e.g. "fashion_mnist"
    title: str  # for people, e.g. "Fashion-MNIST"
    class_names: tuple[str, ...]  # class_names[label]
    downloadable: bool  # digitlens knows mirrors and checksums for it


DATASETS = {
    "mnist": DatasetInfo("mnist", "MNIST", tuple("0123456789"), downloadable=True),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        downloadable=False,
    ),
}


@dataclass
class Dataset:
    """The four arrays plus what they are and where they came from."""

    x_train: np.ndarray  # (60000, 28, 28) uint8 for MNIST
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    info: DatasetInfo
    path: Path  # the directory or .npz file read
    origin: str  # "data_dir", "cache", "keras" or "download"
    verified: bool  # the content matches MNIST's published checksums

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def as_keras(self):
        """((x_train, y_train), (x_test, y_test)), exactly what keras.datasets.mnist.load_data() returns."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)

    def describe(self) -> str:
        """One line for people, e.g. "MNIST from /root/.cache/digitlens/mnist (verified)"."""
        how = "downloaded to" if self.origin == "download" else "from"
        check = "verified" if self.verified else "not checked against MNIST's published checksums"
        if not self.verified and self.info.name == "mnist":
            check = "unverified: differs from the published MNIST files"
        return f"{self.info.title} {how} {self.path} ({check})"


def dataset_info(dataset: str = "mnist") -> DatasetInfo:
    """The `DatasetInfo` for "mnist" or "fashion_mnist"."""
    try:
        return DATASETS[dataset]
    except KeyError:
        raise DataError(f"dataset: expected one of {', '.join(map(repr, DATASETS))}, received {dataset!r}") from None


def cache_dir(dataset: str = "mnist") -> Path:
    """digitlens's cache for a dataset: $XDG_CACHE_HOME/digitlens/<dataset>, default ~/.cache/..."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the XDG spec ignores relative paths
    return base / "digitlens" / dataset


def keras_npz_path() -> Path:
    """Where Keras caches MNIST: $KERAS_HOME/datasets/mnist.npz, default ~/.keras/datasets/mnist.npz."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / "mnist.npz"


def load_data(data_dir: str | os.PathLike | None = None, dataset: str = "mnist"):
    """Load a dataset as `((x_train, y_train), (x_test, y_test))`, like Keras's load_data().

    Args:
        data_dir: a directory with the four IDX files, or a .npz file; None searches $DIGITLENS_DATA,
            the caches, and finally downloads MNIST (see the module docstring).
        dataset: "mnist" or "fashion_mnist" (which is never downloaded: give its files by data_dir).

    Returns:
        uint8 arrays shaped (60000, 28, 28), (60000,), (10000, 28, 28), (10000,) for MNIST.
    """
    return load_dataset(data_dir, dataset).as_keras()


def load_dataset(
    data_dir: str | os.PathLike | None = None, dataset: str = "mnist", *, download: bool = True, progress: bool = True
) -> Dataset:
    """Like `load_data`, but returns a `Dataset` that also says what was loaded and from where.

    `download=False` turns step 4 into an error; `progress` shows a download bar on stderr.
    """
    info = dataset_info(dataset)
    if data_dir is not None:
        return _from_user_path(Path(data_dir), str(data_dir), info)
    if os.environ.get(DATA_ENV):
        return _from_user_path(Path(os.environ[DATA_ENV]), f"${DATA_ENV}={os.environ[DATA_ENV]}", info)

    cache = cache_dir(info.name)
    files, missing = _find_files(cache)
    if not missing:
        try:
            return _from_idx_files(files, info, cache, "cache", mismatch_is_error=True)
        except DataError as error:
            if not (download and info.downloadable):
                raise
            missing = _remove_damaged(files, error)   # repaired below by downloading those again
    if info.name == "mnist" and keras_npz_path().is_file():
        return _from_npz(keras_npz_path(), info, "keras")
    if not info.downloadable:
        raise DataError(
            f"{info.title} not found: put its four IDX files ({', '.join(FILE_NAMES)}, .gz or not) in {cache}"
            f" or pass --data DIR / set {DATA_ENV} (digitlens downloads only MNIST)"
        )
    if not download:
        raise DataError(
            f"{info.title} not found in {cache}, and downloading is turned off: pass --data DIR / set {DATA_ENV}"
        )
    fetch.download_mnist(cache, missing, progress=progress)
    files, _ = _find_files(cache)
    return _from_idx_files(files, info, cache, "download", mismatch_is_error=True)


def _remove_damaged(files: list[Path], error: DataError) -> list[str]:
    """Delete the cached files that do not read or do not match MNIST's checksums (a disk error,
    a copy cut short); return their names, for download_mnist to fetch again. If none can be
    found or deleted, the original error stands."""
    damaged = []
    for path, name in zip(files, FILE_NAMES):
        try:
            array = read_images(path) if "images" in name else read_labels(path)
            if fetch.sha256_of(idx_header(array), np.ascontiguousarray(array)) == fetch.MNIST_FILES[name][1]:
                continue
        except DataError:
            pass
        try:
            path.unlink()
        except OSError:
            raise error from None
        damaged.append(name)
    if not damaged:
        raise error
    return damaged


def _from_user_path(path: Path, given: str, info: DatasetInfo) -> Dataset:
    """Load from a path the user chose: a .npz file, a directory, or the directory's <dataset>/ folder."""
    if path.is_file() and path.suffix == ".npz":
        return _from_npz(path, info, "data_dir")
    if path.is_file():
        raise DataError(f"{given}: is a file (expected a directory holding the four {info.title} IDX files, or a .npz)")
    require_directory(path, f"a directory holding the four {info.title} IDX files", DataError, given)
    subdir = path / info.name
    if subdir.is_dir() and not _find_files(subdir)[1]:
        path = subdir
    files, missing = _find_files(path)
    if missing:
        raise DataError(
            f"{given}: missing {', '.join(name + '[.gz]' for name in missing)}"
            f" (expected the four {info.title} IDX files, .gz or uncompressed)"
        )
    return _from_idx_files(files, info, path, "data_dir", mismatch_is_error=False)


def _find_files(directory: Path) -> tuple[list[Path], list[str]]:
    """The four files found in `directory` (uncompressed preferred: faster) and the names missing.

    Both MNIST's names and the dotted spelling some copies use ("train-images.idx3-ubyte") count.
    """
    found, missing = [], []
    for name in FILE_NAMES:
        stems = (name, name.replace("-idx", ".idx"))
        candidates = [directory / f"{stem}{ext}" for ext in ("", ".gz") for stem in stems]
        # Anything by that name that is not a folder counts: read_idx says what a FIFO or device is.
        path = next((p for p in candidates if os.path.lexists(p) and not p.is_dir()), None)
        if path is None:
            missing.append(name)
        else:
            found.append(path)
    return found, missing


def _from_idx_files(
    files: list[Path], info: DatasetInfo, directory: Path, origin: str, *, mismatch_is_error: bool
) -> Dataset:
    """Read the four IDX files, check them against each other and, for MNIST, against the checksums."""
    x_train, y_train = read_images(files[0]), read_labels(files[1])
    x_test, y_test = read_images(files[2]), read_labels(files[3])
    arrays = (x_train, y_train, x_test, y_test)
    _check(arrays, [str(f) for f in files], info)
    verified = _verify(arrays, [str(f) for f in files], info, mismatch_is_error)
    return Dataset(*arrays, info=info, path=directory, origin=origin, verified=verified)


def _from_npz(path: Path, info: DatasetInfo, origin: str) -> Dataset:
    """Read a Keras-style .npz with arrays x_train, y_train, x_test, y_test.

    Each member's .npy header is checked against its size in the zip before anything is
    allocated (see npy.py), so a small .npz cannot make digitlens allocate gigabytes."""
    import zipfile  # only .npz files need it
    import zlib

    from digitlens.datasets.idx import MAX_IDX_BYTES
    from digitlens.datasets.npy import read_npy

    require_file(path, "a .npz file", DataError)
    try:
        with zipfile.ZipFile(path) as npz:
            members = {name.removesuffix(".npy"): npz.getinfo(name) for name in npz.namelist()}
            missing = [k for k in NPZ_KEYS if k not in members]
            if missing:
                raise DataError(f"{path}: missing arrays {', '.join(missing)} (expected {', '.join(NPZ_KEYS)})")
            arrays = []
            for key in NPZ_KEYS:
                member = members[key]
                with npz.open(member) as f:
                    arrays.append(read_npy(f, f"{path}[{key}]", DataError, MAX_IDX_BYTES, size=member.file_size))
            arrays = tuple(arrays)
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, zlib.error) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a readable .npz file ({reason})") from None
    names = [f"{path}[{k}]" for k in NPZ_KEYS]
    for array, name, ndim in zip(arrays, names, (3, 1, 3, 1)):
        if array.ndim != ndim or (ndim == 3 and array.shape[1:] != (28, 28)):
            expected = "(N, 28, 28)" if ndim == 3 else "(N,)"
            raise DataError(f"{name}: expected shape {expected}, found {array.shape}")
        if array.dtype != np.uint8:
            raise DataError(f"{name}: expected uint8 values, found {array.dtype}")
    _check(arrays, names, info)
    verified = _verify(arrays, names, info, mismatch_is_error=False)
    return Dataset(*arrays, info=info, path=path, origin=origin, verified=verified)


def _check(arrays, names: list[str], info: DatasetInfo) -> None:
    """Images and labels must pair up, each set must hold some, and every label must name a class."""
    for (images, labels), (images_name, labels_name) in zip((arrays[:2], arrays[2:]), (names[:2], names[2:])):
        if len(images) == 0:
            kind = "training" if images_name == names[0] else "test"
            raise DataError(f"{images_name}: holds 0 images; a dataset needs at least one {kind} image")
        if len(images) != len(labels):
            raise DataError(
                f"{labels_name}: expected {len(images):,} labels, one per image in {images_name}, found {len(labels):,}"
            )
        if labels.size and labels.max() >= len(info.class_names):
            raise DataError(
                f"{labels_name}: label {labels.max()} is out of range"
                f" (expected 0..{len(info.class_names) - 1} for {info.title})"
            )


def _verify(arrays, names: list[str], info: DatasetInfo, mismatch_is_error: bool) -> bool:
    """True if all four arrays hold exactly MNIST's published files (hashed as IDX, header included)."""
    if info.name != "mnist":
        return False
    for array, name, file_name in zip(arrays, names, FILE_NAMES):
        expected = fetch.MNIST_FILES[file_name][1]
        found = fetch.sha256_of(idx_header(array), np.ascontiguousarray(array))
        if found != expected:
            if mismatch_is_error:
                raise DataError(
                    f"{name}: checksum mismatch (expected SHA-256 {expected} for {file_name}, found {found}):"
                    " delete the file and digitlens will download it again"
                )
            return False
    return True
