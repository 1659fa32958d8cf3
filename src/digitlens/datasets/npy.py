"""Reading one NumPy .npy array that came from anywhere: its header is checked before its data.

A .npy file is a short text header - the dtype, the shape, the order - followed by the raw bytes:

    \\x93NUMPY  1 0  HEADER_LEN  {'descr': '|u1', 'fortran_order': False, 'shape': (28, 28), }  ...784 bytes

`np.load` trusts the header: a 200-byte file that declares shape (10**12,) makes it try to allocate
terabytes, and one that declares a pickled object dtype would run code. So `read_npy` reads the
header first and refuses, in one line naming the file, anything but plain numbers (no objects, no
structured records), any shape whose data would pass `max_bytes`, and any shape that needs more
bytes than the file holds - and only then allocates exactly what the header declares.

    image = read_npy("seven.npy", "seven.npy", ImageError, max_bytes=2**26)

Left out: .npz archives (mnist.py opens those, reading each member through `read_npy`) and
memory-mapping.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
from numpy.lib import format as npy_format

HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}


def read_npy(source, name: str, error: type[Exception], max_bytes: int, size: int | None = None) -> np.ndarray:
    """The array in `source` (a path, bytes or a binary file positioned at its start).

    name: how errors refer to it. error: the exception class to raise (one line). max_bytes: the
    most data the header may declare. size: the bytes `source` holds from its start, if it is a
    file object whose size cannot be found by seeking (a zip member gives its own).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return read_npy(f, name, error, max_bytes, os.fstat(f.fileno()).st_size)
    start = source.tell() if size is None else 0
    if size is None:
        size = source.seek(0, io.SEEK_END) - start
        source.seek(start)
    try:
        version = npy_format.read_magic(source)
        reader = HEADER_READERS.get(version)
        if reader is None:
            raise error(f"{name}: a .npy file of format {version[0]}.{version[1]}; digitlens reads "
                        "formats 1.0 and 2.0 (plain arrays of numbers)")
        shape, fortran_order, dtype = reader(source)
    except error:
        raise
    except Exception as e:   # NumPy parses the header text with ast and tokenize: any of a dozen errors
        raise error(f"{name}: not a readable .npy array ({_first_line(e) or 'damaged header'})") from None
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        raise error(f"{name}: not a readable .npy array: it holds {dtype}, not plain numbers "
                    "(digitlens never unpickles)")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise error(f"{name}: the header declares an impossible shape {shape}")
    needed = math.prod(shape) * dtype.itemsize
    declared = math.prod(d for d in shape if d) * dtype.itemsize   # NumPy's own size limit
    if max(needed, declared) > max_bytes:
        raise error(f"{name}: the header declares an array of shape {shape} ({declared:,} bytes), "
                    f"more than the {_size(max_bytes)} digitlens reads here")
    present = size - (source.tell() - start)
    if needed > present:
        raise error(f"{name}: the header declares shape {shape} ({needed:,} bytes of {dtype}), "
                    f"but the file holds {max(present, 0):,} bytes after it (cut short?)")
    array = np.empty(shape, dtype=dtype, order="F" if fortran_order else "C")
    buffer = memoryview(array.reshape(-1, order="A").view(np.uint8)) if needed else None
    filled = 0
    while buffer is not None and filled < needed:
        n = source.readinto(buffer[filled:])
        if not n:
            raise error(f"{name}: the array's data ends early ({filled:,} of {needed:,} bytes)")
        filled += n
    return array


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def _size(n: int) -> str:
    return f"{n // 2**30} GB" if n >= 2**30 else f"{n // 2**20} MB" if n >= 2**20 else f"{n:,} bytes"
