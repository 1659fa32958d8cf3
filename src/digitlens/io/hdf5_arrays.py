"""Reading arrays out of an HDF5 file that came from anywhere - and nothing from anywhere else.

HDF5 can keep a dataset's numbers outside its own file: in a raw file the dataset names (external
storage), in other HDF5 files (a virtual dataset), or behind a link to another file or another
place (an external or a soft link). h5py follows all of them when it reads, even for an HDF5 file
held in memory, so a model file could make digitlens read, say, ~/.ssh/id_rsa into a "kernel"
and show it as weights. Keras never writes any of them. Both readers (keras_file.py for the
model.weights.h5 inside a .keras zip, keras_h5.py for a legacy .h5) therefore look things up
with `get` and read them with `ArrayReader.read`, which refuse all four:

    reader = ArrayReader("model.keras")
    kernel = reader.read(get(h5, "layers/dense/vars/0", "model.keras"))

A file can also claim more than it holds: an array declared (1_000_000, 784) whose chunks were
never written costs nothing on disk and gigabytes in memory. `read` compares what a dataset
declares with what the file stores, and keeps the total of one load under MAX_MODEL_BYTES,
before it reads a byte.
"""

import h5py
import numpy as np

from ..errors import ModelFileError
from .limits import MAX_MODEL_BYTES

# HDF5 filters that leave the size of the data as it is: Keras's files use none, digitlens's
# .h5 files a Fletcher-32 checksum. Any other filter may compress.
SIZE_KEEPING_FILTERS = {h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_FLETCHER32}


def get(group, path, where):
    """The dataset or group at `path` below `group` ("a/b/c"), or None if there is none.

    Every step of the path must be an ordinary entry of this file (a hard link); a soft link or
    a link into another file raises ModelFileError instead of being followed.
    """
    node = group.file if path.startswith("/") else group
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)      # what the entry is, without following it
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            kind = ("a link into another file" if isinstance(link, h5py.ExternalLink)
                    else f"a {type(link).__name__.replace('Link', '').lower()} link")
            raise ModelFileError(f"{where}: {_join(node.name, part)} is {kind}; "
                                 "refusing to follow it")
        node = node.get(part)
    return node


def get_dataset(group, name, where, path):
    """The dataset `name` below `group` (at `path` in the file), or a one-line error if missing."""
    dataset = get(group, name, where)
    if not isinstance(dataset, h5py.Dataset):
        raise ModelFileError(f"{where}: the file is missing the dataset {path}/{name}")
    return dataset


class ArrayReader:
    """Reads the numeric datasets of one load, refusing data outside the file and any total
    beyond `limit` bytes (MAX_MODEL_BYTES unless told)."""

    def __init__(self, where, limit=MAX_MODEL_BYTES):
        self.where = where
        self.limit = limit
        self.total = 0                            # bytes handed out so far

    def read(self, dataset):
        """The dataset's numbers as a NumPy array: float32 if they are floats, else as stored."""
        where, name = self.where, dataset.name
        if dataset.external or dataset.is_virtual:
            raise ModelFileError(f"{where}: dataset {name} stores its data outside the file; "
                                 "refusing to read it")
        dtype = dataset.dtype
        if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
                or dtype == np.bool_):
            raise ModelFileError(f"{where}: dataset {name} holds {dtype}, not numbers")
        if dataset.shape is None:
            raise ModelFileError(f"{where}: dataset {name} holds no array (an empty dataspace)")
        declared = dataset.size * dtype.itemsize
        self.total += declared
        if self.total > self.limit:
            raise ModelFileError(f"{where}: dataset {name} {dataset.shape} takes the model's arrays "
                                 f"past the {max(self.limit // 2**20, 1)} MB a model file may hold "
                                 f"({declared:,} bytes)")
        stored = dataset.id.get_storage_size()
        if stored < declared and not _may_compress(dataset):
            raise ModelFileError(f"{where}: dataset {name} declares shape {dataset.shape} "
                                 f"({declared:,} bytes), but the file stores {stored:,} bytes of it")
        try:
            value = np.asarray(dataset[()])
        except (OSError, ValueError, TypeError) as e:
            reason = ("its checksum does not match" if "filter returned failure" in str(e)
                      else (str(e).strip().splitlines() or [type(e).__name__])[0])
            raise ModelFileError(f"{where}: dataset {name} is damaged ({reason})") from None
        return value.astype(np.float32) if np.issubdtype(value.dtype, np.floating) else value


def _may_compress(dataset):
    plist = dataset.id.get_create_plist()
    return any(plist.get_filter(i)[0] not in SIZE_KEEPING_FILTERS for i in range(plist.get_nfilters()))


def _join(group_name, part):
    return f"{group_name.rstrip('/')}/{part}"
