"""Writing a file all at once or not at all.

A model file that is half written - the disk filled up, the process was killed, an array had the
wrong type - must never replace a good one. So every writer in digitlens.io writes into a temporary
file in the destination's own directory and, only when that has succeeded, renames it over the
destination with `os.replace`, which is atomic on one file system. On any failure the temporary
file is removed and the destination is left as it was.

    with atomic_write("model.keras") as tmp:
        write_everything_to(tmp)
"""

import contextlib
import os
import tempfile

from ..errors import ModelFileError


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path next to `path`; move it onto `path` if the block succeeds."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ModelFileError(f"{path}: cannot save: the directory {directory} does not exist")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: cannot save: it is a directory")
    try:
        # e.g. ".k2x9_mnist.keras.tmp": hidden, and clearly the unfinished mnist.keras
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=f"_{os.path.basename(path)}.tmp")
    except OSError as e:
        raise ModelFileError(f"{path}: cannot save: {_reason(e)} in {directory}") from None
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise ModelFileError(f"{path}: cannot save: {_reason(e)}") from None
        raise


def _reason(error):
    return (error.strerror or str(error)).lower()
