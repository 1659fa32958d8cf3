"""What a path a user gave is, said in words - before digitlens opens it.

Opening a named pipe (FIFO) for reading waits until something writes into it, and /dev/zero or
/dev/urandom never end: "the file" a user typed may be neither a file nor missing. So every
reader asks here first, and a path that is not a regular file is reported as what it is:

    require_file("digits.png", "an image file", ImageError)    # -> its size in bytes
    ImageError: digits.png: is a named pipe (FIFO), not a file: expected an image file

`reason(error)` turns an OSError into the end of such a sentence, keeping the case of any path in
it ("No space left on device" -> "no space left on device"). Left out: reading anything.
"""

import os
import stat

from .errors import DigitlensError

KINDS = [  # (test, words), for what os.stat says a path is
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def kind_of(mode):
    """'a directory', 'a named pipe (FIFO)', ... for an st_mode; None for a regular file."""
    for test, words in KINDS:
        if test(mode):
            return words
    return None if stat.S_ISREG(mode) else "not a regular file"


def require_file(path, expected, error=DigitlensError):
    """The size of `path` if it is a regular file (or a link to one); else raise `error` with one
    line saying what it is instead. `expected` names what it should be: "an image file"."""
    where = os.fspath(path)
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except NotADirectoryError:
        raise error(f"{where}: no such file (a part of the path is a file, not a folder)") from None
    except (OSError, ValueError) as e:     # permission denied, a name too long, a NUL in the name
        raise error(f"{where}: cannot read: {reason(e)}") from None
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise error(f"{where}: is {kind}, not a file: expected {expected}")
    return info.st_size


def require_directory(path, expected, error=DigitlensError, given=None):
    """Raise `error` unless `path` is a directory (or a link to one); `given` is how the user
    spelled it, for the message."""
    where = given or os.fspath(path)
    try:
        info = os.stat(os.fspath(path))
    except FileNotFoundError:
        raise error(f"{where}: no such directory (expected {expected})") from None
    except (OSError, ValueError) as e:
        raise error(f"{where}: cannot read: {reason(e)}") from None
    if not stat.S_ISDIR(info.st_mode):
        kind = kind_of(info.st_mode) or "a file"
        raise error(f"{where}: is {kind}, not a directory: expected {expected}")


def reason(error):
    """"No space left on device" -> "no space left on device": the end of our sentence. Only the
    first letter is lowered, so a path inside the reason keeps its case; one line only."""
    text = getattr(error, "strerror", None) or (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text[:1].lower() + text[1:]
