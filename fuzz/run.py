"""Fuzz digitlens for as long as asked, writing every input that breaks the invariant to a folder.

    .venv/bin/python fuzz/run.py --minutes 60                         # every target, an hour
    .venv/bin/python fuzz/run.py --minutes 5 --target keras --target upload --crashers crashers/
    .venv/bin/python fuzz/run.py --replay crashers/                    # run saved crashers again

The same harness as the suite's tests/test_fuzz_*.py (fuzz/harness.py: real seeds, format-aware
mutations, the invariant), with plain random mutations instead of Hypothesis's, so it goes as fast
as the readers do. Each target runs in a worker process of its own, which the parent watches: a
case that runs past the deadline (even inside C code, where a Python alarm cannot reach), dies
(a segfault) or passes the memory limit (the worker's address space is capped at --memory-mb) is a
crasher as much as an exception that is not digitlens's own. Each crasher is saved as its input
bytes beside a .txt saying what happened; the worker is then started again and fuzzing goes on.

Prints, at the end, one line per target: cases run, crashers, cases per second.
"""

import argparse
import multiprocessing
import os
import random
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("KERAS_BACKEND", "torch")

from fuzz import harness  # noqa: E402


def worker(target, mnist_dir, seed, memory_mb, tasks, results):
    """Run cases of `target` until told to stop; report (case number, name, data, failure)."""
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    corpus = harness.seeds(mnist_dir)
    rng = random.Random(seed)
    stream = harness.cases(target, corpus, rng)
    while tasks.get() is not None:
        name, data = next(stream)
        results.put(("start", name, data, None))
        failure = harness.check(target, name, data, measure_memory=False)
        results.put(("done", name, data, failure))


def fuzz_target(target, args, until):
    """Fuzz one target until `until` (a time.monotonic()); returns (cases, crashers)."""
    context = multiprocessing.get_context("fork")
    count = crashers = 0
    seed = args.seed
    while time.monotonic() < until:
        tasks, results = context.Queue(), context.Queue()
        # Not a daemon: the upload target reads files in a child process of its own (io/isolated.py).
        process = context.Process(target=worker, args=(target, args.data, seed, args.memory_mb, tasks, results))
        process.start()
        seed += 1                          # a restarted worker draws other cases
        current = None
        try:
            while time.monotonic() < until:
                tasks.put(True)
                kind, name, data, failure = get(results, process, harness.DEADLINE_SECONDS * 3 + 120)
                if kind == "start":
                    current = (name, data)
                    kind, name, data, failure = get(results, process, harness.DEADLINE_SECONDS + 5)
                count += 1
                if failure is not None:
                    crashers += 1
                    report(args, target, name, data, failure)
                current = None
        except WorkerLost as lost:
            if current is not None:
                count += 1
                crashers += 1
                report(args, target, current[0], current[1], str(lost))
        finally:
            tasks.put(None)
            process.join(1)
            if process.is_alive():
                process.kill()
                process.join()
    return count, crashers


class WorkerLost(Exception):
    pass


def get(results, process, timeout):
    """The worker's next message, or WorkerLost if it hangs, dies or runs out of memory."""
    import queue

    deadline = time.monotonic() + timeout
    while True:
        try:
            return results.get(timeout=0.5)
        except queue.Empty:
            if not process.is_alive():
                code = process.exitcode
                what = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with {code}"
                raise WorkerLost(f"the worker died ({what}): a crash in C code, or memory past the limit") from None
            if time.monotonic() > deadline:
                process.kill()
                raise WorkerLost(f"hung: no answer within {timeout:.0f} s (inside C code?)") from None


def report(args, target, name, data, failure):
    path = harness.save_crasher(args.crashers, target, name, data, failure)
    print(f"crasher: {target} {name}: {failure} -> {path}", flush=True)


def replay(folder):
    """Run every saved crasher again; print which still fail."""
    still = 0
    for path in sorted(Path(folder).glob("*")):
        if path.suffix == ".txt":
            continue
        target, _, name = path.name.split("-", 2)
        failure = harness.check(target, name, path.read_bytes(), measure_memory=True)
        still += failure is not None
        print(f"{'FAILS' if failure else 'fixed'}  {path.name}: {failure or ''}")
    return 1 if still else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long to fuzz in all (default 10)")
    parser.add_argument("--target", action="append", choices=sorted(harness.TARGETS),
                        help="what to fuzz (repeatable; default: every target, the time shared)")
    parser.add_argument("--crashers", default=str(REPO / "fuzz" / "crashers"), help="where to write crashers")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "mnist"),
                        help="MNIST's four IDX files, for the seeds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-mb", type=int, default=4096, help="the worker's address-space limit")
    parser.add_argument("--replay", metavar="DIR", help="run the crashers saved in DIR again, and stop")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    targets = args.target or sorted(harness.TARGETS)
    share = args.minutes * 60 / len(targets)
    total = found = 0
    for target in targets:
        started = time.monotonic()
        count, crashers = fuzz_target(target, args, started + share)
        seconds = time.monotonic() - started
        total, found = total + count, found + crashers
        print(f"{target:8s} {count:7,} cases  {crashers:3} crashers  {count / seconds:6.1f} cases/s", flush=True)
    print(f"all      {total:7,} cases  {found:3} crashers  (crashers in {args.crashers})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
