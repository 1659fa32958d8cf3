"""Mutation fuzzing of every file reader, in the suite: bounded, seeded, and shrunk by Hypothesis.

fuzz/harness.py holds the seeds (real IDX, .keras, .h5, PNG/JPEG/TIFF, .npy and .npz files), the
mutations and the invariant: only DigitlensError escapes, no case runs past the deadline, memory
stays under the limit, nothing is left behind. Here Hypothesis draws the mutations (st.randoms,
so a failure shrinks to the few changes that matter) for CASES cases per reader - a few hundred
each, seconds each reader. fuzz/run.py runs the same harness for as long as asked.
"""

import sys
import time

import pytest
from conftest import REPO

pytest.importorskip("hypothesis", reason="hypothesis is a test dependency: ./dev test installs it")
sys.path.insert(0, str(REPO))
from fuzz import harness  # noqa: E402

CASES = {"idx": 300, "npy": 300, "image": 300, "keras": 200, "h5": 200, "npz": 150}
pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def corpus(mnist_dir):
    return harness.seeds(str(mnist_dir))


def test_every_seed_is_read_as_it_is(corpus):
    """The unmutated seeds are honest files: each reads without any error at all."""
    for target in CASES:
        for name, data in corpus[target]:
            assert harness.check(target, name, data) is None, (target, name)


@pytest.mark.parametrize("target", sorted(CASES))
def test_mutated_files_meet_the_invariant(target, corpus):
    harness.hypothesis_test(target, corpus, CASES[target])()


def test_the_harness_catches_what_it_is_for(monkeypatch):
    """Each way of breaking the invariant is reported: another exception, a hang, too much memory,
    a file left behind, an error of two lines."""
    import numpy as np

    from digitlens.errors import DigitlensError

    def spin(path):
        while True:
            time.sleep(0.01)

    def leave(path):
        (path.parent / ".half_written.tmp").write_bytes(b"x")

    def two_lines(path):
        raise DigitlensError("one\ntwo")

    def hoard(path):
        hoard.kept = np.ones(harness.MEMORY_LIMIT // 4 + 2**20, np.float32)

    def crash(path):
        raise ValueError("not ours")

    for fake, words in ((crash, "ValueError"), (spin, "deadline"), (hoard, "MB limit"), (leave, "left files"),
                        (two_lines, "not one line")):
        monkeypatch.setattr(harness, "DEADLINE_SECONDS", 1 if fake is spin else 120)
        monkeypatch.setitem(harness.TARGETS, "fake", fake)
        failure = harness.check("fake", "x.bin", b"x")
        assert failure is not None and words in failure, (fake.__name__, failure)
    monkeypatch.setitem(harness.TARGETS, "fake", lambda path: None)
    assert harness.check("fake", "x.bin", b"x") is None
