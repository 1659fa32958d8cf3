"""What the commands share: options, the model they work on, output for people and for scripts."""

import json
import os
import sys
from pathlib import Path

from ..errors import DigitlensError

DEFAULT_MODEL = "digitlens-mnist.keras"


def add_data_option(parser):
    parser.add_argument("--data", metavar="DIR", help="directory with the four MNIST IDX files "
                        "(.gz or not); default: $DIGITLENS_DATA, then the cache, then download")
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion_mnist"),
                        help="which dataset the files hold (default: mnist)")


def add_json_option(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def load_dataset(args):
    from ..datasets import mnist

    return mnist.load_dataset(args.data, dataset=args.dataset, progress=sys.stderr.isatty())


def state_file():
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "digitlens" / "last-model"


def remember_model(path):
    """Note the last trained model, so later commands can leave MODEL out."""
    try:
        target = state_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(Path(path).resolve()))
    except OSError:
        pass   # only a convenience


def last_model():
    try:
        path = Path(state_file().read_text().strip())
    except OSError:
        return None
    return path if path.is_file() else None


def model_path(given, required=True):
    """MODEL as given, else the last model `digitlens train` saved."""
    if given:
        return Path(given)
    path = last_model()
    if path is None and required:
        raise DigitlensError("no MODEL given and no trained model found: run 'digitlens train' "
                             "first or pass a .keras/.h5 file")
    return path


def load_model(path):
    from ..io import load_model as load

    path = Path(path)
    if not path.exists():
        raise DigitlensError(f"{path}: no such model file")
    if path.is_dir():
        raise DigitlensError(f"{path}: is a directory, expected a .keras or .h5 model file")
    return load(path)


def check_output(path, suffixes, argument):
    """Refuse an output file we could not write - before doing the work, not after."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise DigitlensError(f"{argument}: expected a file name ending in {' or '.join(suffixes)}, "
                             f"received {str(path)!r}")
    if path.is_dir():
        raise DigitlensError(f"{argument}: {path} is a directory, expected a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DigitlensError(f"{argument}: {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK):
        raise DigitlensError(f"{argument}: cannot write to {folder} (permission denied)")
    return path


def how_to_run():
    """The words that run digitlens again from this shell, as it was started.

    "digitlens" if that is on PATH and is this program; else the path it was started by (after
    `./dev train` that is .venv/bin/digitlens, which is not on PATH until `source
    .venv/bin/activate`), or "python -m digitlens" with this Python. Quoted for the shell.
    """
    import shlex
    import shutil

    started = Path(sys.argv[0])
    if started.name != "digitlens":   # python -m digitlens, or a test calling main()
        return f"{shlex.quote(_short(Path(sys.executable)))} -m digitlens"
    on_path = shutil.which("digitlens")
    if on_path and Path(on_path).resolve() == started.resolve():
        return "digitlens"
    return shlex.quote(_short(started))


def _short(path):
    """A path relative to the current folder if it is inside it ("./" kept off: a path with a "/" runs as it is)."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path.resolve())
    return str(relative) if "/" in str(relative) else f"./{relative}"
def print_json(obj):
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def console(stderr=False):
    """A rich console for people. Text from users or files goes through `literal` before it is
    put in a line with markup, and emoji codes stay as typed (":seven:.png" is a file name)."""
    from rich.console import Console

    # soft_wrap: long lines are not broken at 80 columns when the output goes to a file or pipe
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def literal(value):
    """`value` as text that rich prints exactly as it is: "scan [v2].png" stays "scan [v2].png",
    a class named "[/bold]" is a name, not markup."""
    from rich.markup import escape

    return escape(str(value))


def percent(value):
    return f"{100 * value:.2f}%"
