"""Mutation fuzzing through the web app: model uploads, pictures and near-valid JSON requests.

The same seeds and mutations as test_fuzz_files.py (fuzz/harness.py), sent to the app in process:
every answer must be a 2xx, or a 4xx whose detail is one line - never a 5xx. schemathesis
(test_api_schema.py) fuzzes the requests the schema describes; this fuzzes what the schema
cannot: the contents of the files and pictures, and values near the valid ones.
"""

import sys

import pytest
from conftest import REPO

pytest.importorskip("hypothesis", reason="hypothesis is a test dependency: ./dev test installs it")
sys.path.insert(0, str(REPO))
from fuzz import harness  # noqa: E402

CASES = {"upload": 200, "picture": 250, "request": 300}
pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def corpus(mnist_dir):
    return harness.seeds(str(mnist_dir))


@pytest.mark.parametrize("target", sorted(CASES))
def test_the_server_answers_every_mutated_request_with_at_most_a_4xx(target, corpus):
    for name, data in corpus[target]:
        assert harness.check(target, name, data) is None, (target, name)
    harness.hypothesis_test(target, corpus, CASES[target])()
