"""Benchmark digitlens against PyTorch and Keras (TensorFlow) on the lesson's network, side by side.

    ./dev bench                      # installs the peers, then runs everything (about 10 minutes)
    python benchmarks/run.py --data DIR [--seeds 3] [--peers pytorch,keras] [--smoke]

One invocation runs every framework one after another on the same MNIST files and machine:
  1. seconds per epoch at batch 32 and 128 (Adam 1e-3, the same optimizer for all),
  2. training seconds until test accuracy first reaches 98.0%, each with its best recipe
     (digitlens's default; the lesson's Keras recipe; Adam 1e-3 batch 64 for PyTorch), median
     over seeds,
  3. inference: the 10,000 test images in one call, and one image per call (median latency),
  4. peak memory (RSS) while training, and cold start-up: `import X` and `digitlens --help`.
It prints a table with each figure and the ratio of digitlens to each peer, and writes JSON to
benchmarks/results/. Every framework runs in its own process; peers run with the interpreter of
benchmarks/.venv-peers (see setup_peers.sh). Timings on a shared machine are noisy: read ratios
from one run, and look at the load averages recorded beside them.

--smoke runs a tiny slice with every count cut down (used by the test suite; its numbers mean
nothing). Peers whose interpreter lacks their framework are reported as missing, not as failures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = {
    "pytorch": {"script": HERE / "peers" / "torch_peer.py", "module": "torch", "env": {}},
    "keras": {"script": HERE / "peers" / "keras_peer.py", "module": "tensorflow",
              "env": {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}},
}


def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def cold_seconds(command, env=None, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env={**os.environ, **(env or {})}, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def has_module(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def measure(name, command, seeds, slice_args, env=None):
    """Seed 0 runs every part; further seeds only the time-to-98% part."""
    runs = [run_json(command + ["--seed", "0"] + slice_args, env)]
    for seed in range(1, seeds):
        runs.append(run_json(command + ["--seed", str(seed), "--parts", "target"] + slice_args, env))
    first = runs[0]
    targets = [run["target"] for run in runs]
    reached = [t["seconds"] for t in targets if t["reached"]]
    return {
        "name": name, "version": first.get("version"), "runs": runs,
        "epoch_32": first["epoch_seconds_median"]["32"], "epoch_128": first["epoch_seconds_median"]["128"],
        "target_seconds": statistics.median(reached) if len(reached) == len(targets) else None,
        "target_epochs": [t["epoch"] for t in targets],
        "infer_10000_ms": first["infer"]["batch_10000_ms"], "infer_single_ms": first["infer"]["single_ms_median"],
        "rss_mb": first["peak_rss_mb_after_training"],
    }


ROWS = [("epoch_32", "s/epoch, batch 32", "{:.2f}"), ("epoch_128", "s/epoch, batch 128", "{:.2f}"),
        ("target_seconds", "s to 98.0% test accuracy (median)", "{:.1f}"),
        ("infer_10000_ms", "ms, 10,000 images in one call", "{:.1f}"),
        ("infer_single_ms", "ms, one image (median)", "{:.3f}"), ("rss_mb", "peak RSS training, MB", "{:.0f}"),
        ("import_s", "s, cold import", "{:.2f}"), ("cli_help_s", "s, digitlens --help", "{:.2f}")]


def table(results):
    from rich.console import Console
    from rich.table import Table

    ours, peers = results[0], results[1:]
    grid = Table(title="digitlens vs peers, the lesson's network on MNIST (lower is better)")
    grid.add_column("measure")
    for r in results:
        grid.add_column(f"{r['name']} {r['version'] or ''}".strip(), justify="right")
    for peer in peers:
        grid.add_column(f"{peer['name']} / digitlens", justify="right")
    for key, label, fmt in ROWS:
        cells = [fmt.format(r[key]) if r.get(key) is not None else "-" for r in results]
        for peer in peers:
            a, b = peer.get(key), ours.get(key)
            cells.append(f"{a / b:.1f}x" if a and b else "-")
        grid.add_row(label, *cells)
    console = Console(width=140)
    console.print(grid)
    console.print("epochs to 98%: " + "; ".join(f"{r['name']} {r['target_epochs']}" for r in results))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("DIGITLENS_DATA"), help="MNIST IDX directory")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--peers", default="pytorch,keras")
    parser.add_argument("--peer-python", default=str(HERE / ".venv-peers" / "bin" / "python"))
    parser.add_argument("--smoke", action="store_true", help="a tiny slice, every count cut down")
    parser.add_argument("--out", help="JSON file (default: benchmarks/results/<time>.json)")
    args = parser.parse_args()
    if not args.data:
        parser.error("--data DIR (or $DIGITLENS_DATA) is required")
    slice_args = ["--slice", "2000", "--quick"] if args.smoke else []
    seeds = 1 if args.smoke else args.seeds

    results = [measure("digitlens", [sys.executable, str(HERE / "digitlens_bench.py"), "--data", args.data],
                       seeds, slice_args)]
    results[0]["import_s"] = cold_seconds([sys.executable, "-c", "import digitlens"])
    results[0]["cli_help_s"] = cold_seconds([sys.executable, "-m", "digitlens", "--help"])
    missing = []
    for name in [p for p in args.peers.split(",") if p]:
        peer = PEERS[name]
        python = args.peer_python if Path(args.peer_python).exists() else sys.executable
        if not has_module(python, peer["module"]):
            missing.append(name)
            continue
        result = measure(name, [python, str(peer["script"]), "--data", args.data], seeds, slice_args, peer["env"])
        result["import_s"] = cold_seconds([python, "-c", f"import {peer['module']}"], peer["env"])
        results.append(result)

    record = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "smoke": args.smoke,
              "missing_peers": missing, "results": results}
    out = Path(args.out) if args.out else HERE / "results" / time.strftime("%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    table(results)
    if missing:
        print(f"not measured (framework not installed): {', '.join(missing)}")
    print(f"wrote {out}")


def machine():
    import platform

    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "loadavg": os.getloadavg()}


if __name__ == "__main__":
    main()
