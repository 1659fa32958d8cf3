"""`digitlens`: every step of the lesson from the command line.

    digitlens data                      what MNIST looks like: shapes, pixel range, digits per class
    digitlens train                     train the lesson's network (or --arch cnn), show progress, save it
    digitlens summary [MODEL]           Keras's summary plus where each parameter count comes from
    digitlens evaluate [MODEL]          test loss and accuracy, per digit
    digitlens predict MODEL IMAGE...    read your own digits
    digitlens explain [MODEL] [IMAGE]   an HTML report of what the network learned
    digitlens diagram [MODEL]           the lesson's drawing of the network
    digitlens export MODEL OUT          to .onnx, .keras or .h5
    digitlens timeline [MODEL]          replay how it learned, as an animated GIF
    digitlens compare A B               two models side by side on the test set
    digitlens serve [MODEL]             the web app: draw a digit and watch the network think

Every command takes --json for scripts. Problems a user can fix (a missing file, damaged data, a
bad option) print one line on stderr and exit with code 2; a traceback is a bug.
"""

import argparse
import os
import sys
import warnings

from .. import __version__
from ..errors import DigitlensError
from . import data_cmd, files_cmd, inspect_cmd, predict_cmd, serve_cmd, time_cmd, train_cmd

COMMANDS = (data_cmd, train_cmd, inspect_cmd, predict_cmd, files_cmd, time_cmd, serve_cmd)


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake prints one line that says where to look, not the whole usage."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def build_parser():
    parser = Parser(prog="digitlens", description="Build, train and see inside the neural network "
                    "that reads handwritten digits.", formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog="Run 'digitlens COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"digitlens {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS:
        module.add_parsers(commands)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    noticed = Warnings(args.command, immediately=args.command == "serve")
    try:
        with noticed:
            status = args.run(args) or 0
        noticed.show()
        return status
    except DigitlensError as error:
        sys.stderr.write(f"digitlens {args.command}: error: {error}\n")
        return 2
    except MemoryError:
        sys.stderr.write(f"digitlens {args.command}: error: not enough memory for this (try a smaller "
                         "model, dataset or batch)\n")
        return 2
    except OSError as error:  # a file we were asked to read or write
        where = f"{error.filename}: " if error.filename else ""
        sys.stderr.write(f"digitlens {args.command}: error: {where}{error.strerror or error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"digitlens {args.command}: interrupted\n")
        return 130
    except Exception as error:  # a bug: say so plainly, full traceback only on request
        if os.environ.get("DIGITLENS_DEBUG"):
            raise
        sys.stderr.write(f"digitlens {args.command}: internal error: {type(error).__name__}: {error} "
                         "(this is a bug; set DIGITLENS_DEBUG=1 for the traceback)\n")
        return 1


class Warnings:
    """Warnings from digitlens and the libraries it uses (a damaged EXIF block, an overflow in a
    diverging run), each shown once as one line - "digitlens train: warning: ..." - after the
    command's output, and not at all when the command fails: its error line says what matters.
    A long-running command (serve) shows them as they come."""

    def __init__(self, command, immediately=False):
        self.command = command
        self.immediately = immediately
        self.lines = []

    def __enter__(self):
        self.saved = warnings.catch_warnings()
        self.saved.__enter__()
        warnings.simplefilter("default")         # each message once per place it comes from
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.showwarning = self.note
        return self

    def __exit__(self, *exc):
        self.saved.__exit__(*exc)
        return False

    def note(self, message, category, filename, lineno, file=None, line=None):
        text = (str(message).strip().splitlines() or [category.__name__])[0]
        line = f"digitlens {self.command}: warning: {text}\n"
        if self.immediately:
            sys.stderr.write(line)
        elif line not in self.lines:
            self.lines.append(line)

    def show(self):
        for line in self.lines:
            sys.stderr.write(line)


if __name__ == "__main__":
    sys.exit(main())
