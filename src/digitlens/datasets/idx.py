"""Reading IDX files, the simple binary format MNIST is distributed in.

An IDX file is a header followed by raw array data, every number big-endian:

    bytes 0-1   0x00 0x00
    byte  2     type of each value: 0x08 = unsigned byte (the only one MNIST uses)
    byte  3     number of dimensions, d
    then        d sizes, each an int32          e.g. 60000, 28, 28
    then        the values, last dimension fastest (C order)

So MNIST's image files start with the "magic number" 0x00000803 (unsigned bytes, 3 dimensions)
and its label files with 0x00000801 (unsigned bytes, 1 dimension). A file may be gzip-compressed;
it is recognised by its first bytes, not by its name.

The data is read straight into a NumPy array - no Python loop touches a pixel - and every problem
(a truncated download, a wrong file, a header that does not match the data) raises `DataError`
with one line that names the file. A header is checked before anything is allocated: at most
MAX_DIMENSIONS sizes, at most MAX_IDX_BYTES of data (MNIST's largest file holds 47 MB), and no more
than the file can hold (its size, or for a .gz file what deflate can expand it to). Writing IDX files is left out; `idx_header` builds just the
header, which is what checksums and tests need.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from digitlens.errors import DataError
from digitlens.paths import reason, require_file

# IDX type byte -> NumPy dtype (big-endian, as the format stores them).
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions: (N, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension: (N,)
_KINDS = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
GZIP_MAGIC = b"\x1f\x8b"
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand data more than this, so a header can be sanity-checked
MAX_IDX_BYTES = 2**30  # 1 GB of data in one file: EMNIST's largest is half that
MAX_DIMENSIONS = 16  # MNIST's files have 1 or 3


def read_idx(
    path: str | os.PathLike, *, magic: int | None = None, item_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Read an IDX file (.gz or not) into a NumPy array of the shape its header declares.

    Args:
        path: the file, e.g. "train-labels-idx1-ubyte.gz".
        magic: the magic number the file must have, e.g. IMAGES_MAGIC; None accepts any IDX file.
        item_shape: the shape each item must have, e.g. (28, 28) for MNIST images; None accepts any.

    Returns:
        A writable array in native byte order, e.g. uint8 of shape (60000,) for MNIST's training labels.

    Raises:
        DataError: the file is missing, not IDX, a damaged gzip, of the wrong kind or shape, or holds
            more or less data than its header says.
    """
    path = Path(path)
    try:
        require_file(path, "an IDX file", DataError)   # a FIFO or /dev/zero would never end
        with _open(path) as f:
            start = f.read(4)
            if len(start) < 4 or start[:2] != b"\x00\x00" or start[2] not in IDX_TYPES:
                found = f"0x{start.hex()}" if start else "an empty file"
                raise DataError(f"{path}: not an IDX file (expected a magic number like 0x00000803, found {found})")
            found_magic = int.from_bytes(start, "big")
            if magic is not None and found_magic != magic:
                kind = _KINDS.get(magic, "this file")
                raise DataError(
                    f"{path}: wrong magic number (expected 0x{magic:08x} for {kind}, found 0x{found_magic:08x})"
                )
            dtype, ndim = IDX_TYPES[start[2]], start[3]
            if ndim > MAX_DIMENSIONS:
                raise DataError(f"{path}: the header declares {ndim} dimensions; digitlens reads IDX files "
                                f"of at most {MAX_DIMENSIONS} (MNIST's have 1 or 3)")
            dims_bytes = f.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise DataError(f"{path}: the header ends early (expected {ndim} sizes after the magic number)")
            shape = struct.unpack(f">{ndim}I", dims_bytes)
            if item_shape is not None and shape[1:] != tuple(item_shape):
                expected = str(("N", *item_shape)).replace("'", "")
                raise DataError(f"{path}: expected {_KINDS.get(magic, 'items')} of shape {expected}, found {shape}")
            array = _read_data(f, path, shape, dtype)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (the compressed data ends early; download it again)") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: damaged gzip file ({reason(e)})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({reason(e)})") from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX image file: uint8 array of shape (N, 28, 28), like MNIST's x_train."""
    return read_idx(path, magic=IMAGES_MAGIC, item_shape=(28, 28))


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX label file: uint8 array of shape (N,), like MNIST's y_train."""
    return read_idx(path, magic=LABELS_MAGIC, item_shape=())


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header for a uint8 array, e.g. b"\\x00\\x00\\x08\\x03" + sizes for (N, 28, 28).

    Hashing `idx_header(a) + a.tobytes()` gives the checksum of the IDX file `a` came from, which
    lets arrays from any source (a .gz, Keras's mnist.npz) be checked against MNIST's published files.
    """
    if array.dtype != np.uint8:
        raise ValueError(f"idx_header: expected a uint8 array, received {array.dtype}")
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)


def _open(path: Path):
    """Open `path` for reading bytes, decompressing it if it starts like a gzip file."""
    with open(path, "rb") as f:
        start = f.read(2)
    if not start:
        raise DataError(f"{path}: empty file (expected an IDX file)")
    if start == GZIP_MAGIC:
        return gzip.open(path, "rb")
    if path.suffix == ".gz":
        raise DataError(f"{path}: not a gzip file (the name ends in .gz but the content does not start with 1f 8b)")
    return open(path, "rb")


def _read_data(f, path: Path, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Read exactly the data the header promises into a new array, and check nothing follows."""
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a damaged header cannot overflow this
    # NumPy refuses shapes whose non-zero sizes multiply past its limit, even with a 0 among them.
    declared = math.prod(d for d in shape if d) * dtype.itemsize
    if max(expected, declared) > MAX_IDX_BYTES:
        raise DataError(
            f"{path}: the header declares {' x '.join(map(str, shape))} values ({declared:,} bytes), more than"
            f" the {MAX_IDX_BYTES // 2**30} GB digitlens reads from one IDX file"
        )
    header_size = 4 + 4 * len(shape)
    file_size = path.stat().st_size
    compressed = isinstance(f, gzip.GzipFile)
    # Refuse an impossible header before allocating memory for it (a damaged header can claim terabytes).
    impossible = expected > MAX_DEFLATE_RATIO * file_size if compressed else header_size + expected != file_size
    if impossible:
        holds = f"{file_size - header_size:,}" if not compressed else f"only {file_size:,} compressed"
        raise DataError(
            f"{path}: data length does not match the header (header says {' x '.join(map(str, shape))} values"
            f" = {expected:,} bytes, the file holds {holds} bytes)"
        )
    array = np.empty(shape, dtype)
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    filled = 0
    while filled < expected:
        n = f.readinto(buffer[filled:])
        if not n:
            raise DataError(
                f"{path}: data ends early (header says {' x '.join(map(str, shape))} values"
                f" = {expected:,} bytes, found {filled:,})"
            )
        filled += n
    # Reading on to the end also makes gzip check its CRC, so a corrupted member is caught here.
    extra = len(f.read(1 << 20))
    if extra:
        while chunk := f.read(1 << 20):
            extra += len(chunk)
        raise DataError(
            f"{path}: data length does not match the header ({extra:,} bytes follow the"
            f" {' x '.join(map(str, shape))} values the header declares)"
        )
    return array
