"""Mutation fuzzing through the command line: `digitlens predict` and `summary` on damaged files.

The entry point itself (cli.main.main) in process, on the harness's mutated pictures, arrays and
model files: the exit code must be 0, or 2 with exactly one "digitlens COMMAND: error: ..." line;
never 1 (the "internal error" of a bug) and never a traceback.
"""

import sys

import pytest
from conftest import REPO

pytest.importorskip("hypothesis", reason="hypothesis is a test dependency: ./dev test installs it")
sys.path.insert(0, str(REPO))
from fuzz import harness  # noqa: E402

CASES = 200
pytestmark = pytest.mark.fuzz


def test_the_command_line_exits_0_or_2_with_one_line(mnist_dir):
    corpus = harness.seeds(str(mnist_dir))
    harness.hypothesis_test("cli", corpus, CASES)()
