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
import secrets
import stat

from ..errors import ModelFileError


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path next to `path`; move it onto `path` if the block succeeds.

    The file ends up with the permissions writing it directly would give: an existing file's
    own, or for a new one the usual 0o666 less the umask (tempfile.mkstemp would leave 0o600).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ModelFileError(f"{path}: cannot save: the directory {directory} does not exist")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: cannot save: it is a directory")
    try:
        tmp = _new_file(directory, os.path.basename(path))
    except OSError as e:
        raise ModelFileError(f"{path}: cannot save: {_reason(e)} in {directory}") from None
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):     # replacing a file: keep its mode
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise ModelFileError(f"{path}: cannot save: {_reason(e)}") from None
        raise


def _new_file(directory, name):
    """Create an empty, hidden file such as ".k2x9a1b3_mnist.keras.tmp" - clearly the unfinished
    mnist.keras - as open() would: mode 0o666, which the operating system narrows by the umask."""
    for _ in range(100):
        tmp = os.path.join(directory, f".{secrets.token_hex(4)}_{name}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue                      # another save picked the same name: draw again
    raise FileExistsError(f"no free temporary name for {name}")


def _reason(error):
    return (error.strerror or str(error)).lower()
