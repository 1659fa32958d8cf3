"""Writing a file all at once or not at all: the one writer every file of digitlens goes through.

A file that is half written - the disk filled up, the process was killed, an array had the wrong
type - must never replace a good one. So model files, reports, pictures and downloads are all
written into a temporary file in the destination's own directory and, only when that has
succeeded, renamed over the destination with `os.replace`, which is atomic on one file system.
On any failure the temporary file is removed and the destination is left as it was.

A process killed outright (SIGKILL, a power cut) cannot remove its temporary file. So before each
save, temporary files of the same destination that nobody has written to for STALE_SECONDS are
removed: an unfinished save of mnist.keras is cleaned up by the next save of mnist.keras.

    with atomic_write("model.keras") as tmp:     # a path to write to
        write_everything_to(tmp)
    write_bytes("report.html", document)         # or the bytes at once
"""

import contextlib
import os
import re
import secrets
import stat
import time

from .errors import DigitlensError
from .paths import reason as _reason

TEMPORARY_SUFFIX = ".tmp"
STALE_SECONDS = 15 * 60     # a save or download still running writes far more often than this


@contextlib.contextmanager
def atomic_write(path, error=DigitlensError, make_parents=False):
    """Yield a temporary path next to `path`; move it onto `path` if the block succeeds.

    The file ends up with the permissions writing it directly would give: an existing file's
    own, or for a new one the usual 0o666 less the umask (tempfile.mkstemp would leave 0o600).
    An OSError (full disk, no permission) becomes `error` with one line naming `path`; any other
    exception from the block passes through, after the temporary file is removed.
    make_parents: create missing folders first (else a missing folder is an error).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if make_parents:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            raise error(f"{path}: cannot save: {_reason(e)}") from None
    if not os.path.isdir(directory):
        raise error(f"{path}: cannot save: the directory {directory} does not exist")
    if os.path.isdir(path):
        raise error(f"{path}: cannot save: it is a directory")
    remove_stale(directory, os.path.basename(path))
    try:
        tmp = _new_file(directory, os.path.basename(path))
    except OSError as e:
        raise error(f"{path}: cannot save: {_reason(e)} in {directory}") from None
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):     # replacing a file: keep its mode
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise error(f"{path}: cannot save: {_reason(e)}") from None
        raise


def write_bytes(path, data, error=DigitlensError, make_parents=False):
    """Write `data` to `path` all at once or not at all (see atomic_write)."""
    with atomic_write(path, error=error, make_parents=make_parents) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def remove_stale(directory, name, older_than=STALE_SECONDS):
    """Remove the temporary files of unfinished saves of `name` in `directory` that have not been
    written to for `older_than` seconds; returns how many. Errors are ignored: only tidying."""
    pattern = re.compile(r"\.[0-9a-f]{8}_" + re.escape(name) + re.escape(TEMPORARY_SUFFIX))
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                os.remove(entry.path)
                removed += 1
    return removed


def _new_file(directory, name):
    """Create an empty, hidden file such as ".k2x9a1b3_mnist.keras.tmp" - clearly the unfinished
    mnist.keras - as open() would: mode 0o666, which the operating system narrows by the umask."""
    for _ in range(100):
        tmp = os.path.join(directory, f".{secrets.token_hex(4)}_{name}{TEMPORARY_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue                      # another save picked the same name: draw again
    raise FileExistsError(f"no free temporary name for {name}")
