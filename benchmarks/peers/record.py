"""What every peer script does the same way: its options and their checks, its peak memory, the
single-image latencies, and the one JSON line it ends with (benchmarks/run.py reads it). Beside
the scripts, as mnist_files.py."""

import argparse
import json
import os
import platform
import resource
import statistics
import sys

import mnist_files

QUICK = {"epochs_timing": 1, "infer_runs": 3, "single_calls": 50}   # --quick: every count cut down


def options(description, epochs_target=15):
    """The options every peer takes (a peer adds its own to the parser, then calls `parse`)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parts", default="epoch,target,infer")
    p.add_argument("--epochs-timing", type=int, default=3)
    p.add_argument("--epochs-target", type=int, default=epochs_target)
    p.add_argument("--infer-runs", type=int, default=10)
    p.add_argument("--single-calls", type=int, default=500)
    p.add_argument("--slice", type=int, default=None, help="use the first N training images")
    p.add_argument("--quick", action="store_true", help="smoke run: cut every count down")
    return p


def parse(p, argv, quick=None):
    """(args, parts, json_out): the options checked (a bad one ends the run in one line, exit 2),
    cut down by --quick (QUICK, and the peer's own `quick` settings), and sys.stdout moved to
    stderr - everything but the JSON line goes there, C-level prints to fd 1 included; the JSON
    goes to json_out."""
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    unknown = set(parts) - {"epoch", "target", "infer"}
    if unknown:
        p.error(f"--parts: expected a comma list of epoch,target,infer, received {args.parts!r}")
    missing = mnist_files.missing_files(args.data)
    if missing:
        p.error(f"--data: expected a folder with the four MNIST IDX .gz files, "
                f"{args.data!r} lacks {', '.join(missing)}")
    if args.quick:
        for name, value in {**QUICK, **(quick or {})}.items():
            setattr(args, name, value)
        args.epochs_target = min(args.epochs_target, 2)
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return args, parts, json_out


def header(framework, version, args, parts, x_train, x_test, import_seconds, **own):
    """The start of a peer's JSON record: what ran, on what, and the framework's own facts (`own`)."""
    return {"framework": framework, "version": version, **own, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "seed": args.seed, "train_images": int(x_train.shape[0]),
            "test_images": int(x_test.shape[0]), "parts": parts, "quick": args.quick,
            "loadavg_start": [round(v, 2) for v in os.getloadavg()], "import_seconds": round(import_seconds, 3)}


def target(goal, batch_size, max_epochs, reached_at, epoch_times, accuracy, seconds=None,
           timing="training only; per-epoch test evaluation excluded", **own):
    """The record of a run to `goal` test accuracy: epoch_times and accuracy after each epoch, the
    epoch it was reached (1-based; None: not), and the training seconds until then (`seconds`:
    the sum of epoch_times unless given)."""
    return {"goal": goal, **own, "batch_size": batch_size, "max_epochs": max_epochs,
            "reached": reached_at is not None, "epoch": reached_at,
            "seconds": round(sum(epoch_times) if seconds is None else seconds, 3),
            "epoch_seconds": [round(t, 4) for t in epoch_times], "test_accuracy": [round(a, 4) for a in accuracy],
            "timing": timing}


def rss_mb():
    """The process's peak resident memory so far, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def single_latencies(singles):
    """The median and 90th percentile of one-image calls (seconds), in ms, as the table shows them."""
    singles = sorted(singles)
    return {"single_ms_median": round(1000 * statistics.median(singles), 4),
            "single_ms_p90": round(1000 * singles[int(0.9 * (len(singles) - 1))], 4)}


def finish(result, json_out):
    """Add the peak memory and the load average at the end, and write `result` as one JSON line."""
    result["peak_rss_mb"] = round(rss_mb(), 1)
    result["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    json.dump(result, json_out)
    json_out.write("\n")
    json_out.flush()
    return 0
