"""The errors digitlens raises for problems a user can fix.

Every expected failure - a missing or damaged file, a bad argument, a model file with a layer
digitlens does not support - is a `DigitlensError` whose message is one line that names the file
or argument, what was expected and what was found. The CLI prints that line and exits with code 2;
anything else escaping is a bug.
"""


class DigitlensError(Exception):
    """A problem the user can fix; its message is one clear line."""


class DataError(DigitlensError):
    """A dataset file is missing, damaged or not what it claims to be."""


class ModelFileError(DigitlensError):
    """A model file cannot be read or written, or holds something digitlens does not support."""


class ImageError(DigitlensError):
    """An input image cannot be read or is not a digit image."""


class NotBuiltError(DigitlensError):
    """A model was used before it has weights."""
