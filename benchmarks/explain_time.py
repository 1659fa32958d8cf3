"""How long `digitlens explain` takes for a model, and where the time goes.

    .venv/bin/python benchmarks/explain_time.py MODEL.keras [--runs 3] [--data DIR]

Runs the real command (`digitlens explain MODEL --out ...`) a few times in fresh processes and
prints the median wall time, the CPU time of the command and of the processes that drew its
figures, and the report's size; then, in this process, the time of each phase: importing,
reading the model and MNIST, the numbers, the figures (each one), and assembling the page.

A script, not a test: the machine may be shared, so the figures are for reading, not judging.
The load average is printed beside them.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command_runs(model, data, runs, workers=None):
    env = dict(os.environ)
    if data:
        env["DIGITLENS_DATA"] = data
    if workers is not None:
        env["DIGITLENS_WORKERS"] = str(workers)
    digitlens = Path(sys.executable).with_name("digitlens")
    walls, cpus, children, sizes = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.html"
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([str(digitlens), "explain", str(model), "--out", str(out)], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            sizes.append(out.stat().st_size)
    return statistics.median(walls), statistics.median(cpus), sizes[-1]


def phases(model_path, data):
    """The same work in this process, phase by phase (CPU seconds)."""
    timings = {}
    clock = time.process_time
    t = clock()
    import numpy  # noqa: F401
    import matplotlib.figure  # noqa: F401

    from digitlens.datasets import mnist
    from digitlens.io import load_model
    from digitlens.viz import render, report
    timings["imports"] = clock() - t
    t = clock()
    model = load_model(model_path)
    ds = mnist.load_dataset(data)
    timings["model and data"] = clock() - t

    drawn = []
    original = render.draw_all

    def timed_draw_all(makers, workers=None):
        for make in makers:
            started = clock()
            figure = make()
            built = clock() - started
            started = clock()
            render.data_uri(figure)
            drawn.append((getattr(make, "__qualname__", "figure"), built, clock() - started))
        return original(makers, 1)

    render.draw_all = timed_draw_all
    with tempfile.TemporaryDirectory() as folder:
        t = clock()
        report.write_report(model, Path(folder) / "r.html", x_test=ds.x_test, y_test=ds.y_test, x_train=ds.x_train,
                            class_names=list(ds.class_names), workers=1)
        total = clock() - t
    render.draw_all = original
    figures = sum(b + s for _, b, s in drawn)
    timings["numbers, tiles, tables, page"] = total - 2 * figures     # draw_all drew each twice here
    timings["figures"] = figures
    return timings, drawn


def critical_path(model, data):
    """The command's own work, in a fresh process with the figures drawn side by side: CPU seconds
    of this process before the workers fork and after, and of the workers together. On an idle
    machine with c cores the command takes about before + (after + workers) / c when the workers
    keep every core busy - the figure to compare with 3 s when the machine is shared and busy."""
    code = """
import resource, sys, time
import digitlens.viz.render as render
from digitlens.cli.main import main
marks = {}
warm_up = render.warm_up
def timed():                    # the workers fork right after the warm-up
    warm_up(); marks['fork'] = time.process_time()
render.warm_up = timed
main(['explain', sys.argv[1], '--out', sys.argv[2]])
end = time.process_time()
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
print(marks.get('fork', end), end, workers.ru_utime + workers.ru_stime)
"""
    env = dict(os.environ, **({"DIGITLENS_DATA": data} if data else {}))
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run([sys.executable, "-c", code, str(model), str(Path(folder) / "r.html")], env=env,
                             check=True, capture_output=True, text=True).stdout.split()
    before, total, workers = (float(v) for v in out[-3:])
    return before, total - before, workers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", default=os.environ.get("DIGITLENS_DATA"))
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.2f}")
    for workers in (None, 1):
        wall, cpu, size = command_runs(args.model, args.data, args.runs, workers)
        what = "figures drawn side by side" if workers is None else "figures drawn in turn"
        print(f"digitlens explain ({what}): median {wall:.2f} s wall, {cpu:.2f} s CPU (all processes), "
              f"report {size / 1e6:.2f} MB")
    before, after, workers = critical_path(args.model, args.data)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"the command's CPU time: {before:.2f} s before the workers fork, {after:.2f} s after it, and "
          f"{workers:.2f} s in the workers; on an idle machine with {cores} cores about "
          f"{before + (after + workers) / cores:.2f} s")
    timings, drawn = phases(args.model, args.data)
    print("where the CPU time goes (one process, figures in turn):")
    for name, seconds in timings.items():
        print(f"  {name:30s} {seconds:6.2f} s")
    for name, built, saved in drawn:
        print(f"    {name[:60]:60s} build {built:.2f} s, PNG {saved:.2f} s")


if __name__ == "__main__":
    main()
