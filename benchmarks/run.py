"""Benchmark digitlens against JAX, PyTorch, Keras (TensorFlow) and scikit-learn on the lesson's
network, side by side.

    ./dev bench                      # installs the peers, then runs everything (about 15 minutes)
    python benchmarks/run.py --data DIR [--seeds 3] [--peers jax,pytorch,keras,sklearn] [--smoke]

One invocation runs every framework one after another on the same MNIST files and machine:
  1. seconds per epoch at batch 32 and 128 (Adam 1e-3, the same optimizer for all),
  2. training seconds until test accuracy first reaches 98.0%, each with its best recipe
     (digitlens's default; the lesson's Keras recipe; Adam 1e-3 batch 64 for PyTorch and for JAX;
     scikit-learn's defaults), median over seeds - and, apart, JAX with
     digitlens's own recipe, to show how much of that lead is the recipe,
  3. inference: the 10,000 test images in one call, and one image per call (median latency),
  4. peak memory (RSS) while training, and cold start-up: `import X` and `digitlens --help`.
It prints a table with each figure and the ratio of each peer to digitlens (above 1: digitlens is
ahead), the load average beside each framework's run, and the issue's goals met or not, and
writes JSON to benchmarks/results/. Every framework runs in its own process; peers run with the
interpreter of benchmarks/.venv-peers (see setup_peers.sh). Timings on a shared machine are
noisy: read ratios from one run, and look at the load averages recorded beside them.

--smoke runs a tiny slice with every count cut down (used by the test suite; its numbers mean
nothing). Peers whose interpreter lacks their framework are reported as missing, not as failures.

Another benchmark (the course's CNN, say) reuses the pieces: `Peer`, `measure`, `cold_seconds`,
`table`, `check_goals` and `save` take their rows, peers and goals as arguments.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Peer:
    """A framework measured by its own script (same JSON keys as digitlens_bench.py)."""

    label: str                      # for the table: "JAX"
    script: Path
    module: str                     # what a user imports: timed cold, and checked to decide "missing"
    env: dict = field(default_factory=dict)
    args: tuple = ()                # extra arguments for every run of the script


PEERS = {
    "jax": Peer("JAX", HERE / "peers" / "jax_peer.py", "jax"),
    "pytorch": Peer("PyTorch", HERE / "peers" / "torch_peer.py", "torch"),
    "keras": Peer("Keras", HERE / "peers" / "keras_peer.py", "keras",
                  {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}),
    "sklearn": Peer("scikit-learn", HERE / "peers" / "sklearn_peer.py", "sklearn.neural_network"),
}

# (key, label, format) of the lesson's table.
ROWS = [("epoch_32", "s/epoch, batch 32", "{:.2f}"), ("epoch_128", "s/epoch, batch 128", "{:.2f}"),
        ("target_seconds", "s to 98.0% test accuracy (median)", "{:.1f}"),
        ("infer_10000_ms", "ms, 10,000 images in one call", "{:.1f}"),
        ("infer_single_ms", "ms, one image (median)", "{:.3f}"), ("rss_mb", "peak RSS training, MB", "{:.0f}"),
        ("import_s", "s, cold import", "{:.2f}"), ("cli_help_s", "s, digitlens --help", "{:.2f}")]

# Issue 13's goals: (key, peers, at least this ratio peer / digitlens) and absolute limits.
GOALS = [("epoch_32", ["jax"], 1.3), ("epoch_32", ["pytorch"], 2.5), ("epoch_32", ["keras"], 4.0),
         ("epoch_128", ["jax"], 1.5), ("epoch_128", ["pytorch"], 2.0),
         ("target_seconds", list(PEERS), 4.0), ("infer_10000_ms", list(PEERS), 1.0),
         ("rss_mb", list(PEERS), 1.0), ("import_s", list(PEERS), 1.0)]
LIMITS = [("target_seconds", 2.0), ("infer_single_ms", 0.05)]


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


def has_module(python, module, env=None):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                          env={**os.environ, **(env or {})}).returncode == 0


def measure(name, command, seeds, slice_args, env=None):
    """Seed 0 runs every part; further seeds only the time-to-98% part.

    A seed that never reached 98% counts with the seconds it trained (all its epochs): the
    median is then a lower bound of the time to 98%, marked "target_lower_bound"."""
    runs = [run_json(command + ["--seed", "0"] + slice_args, env)]
    for seed in range(1, seeds):
        runs.append(run_json(command + ["--seed", str(seed), "--parts", "target"] + slice_args, env))
    first = runs[0]
    targets = [run["target"] for run in runs]
    return {
        "name": name, "version": first.get("version"), "runs": runs,
        "epoch_32": first["epoch_seconds_median"]["32"], "epoch_128": first["epoch_seconds_median"]["128"],
        "target_seconds": statistics.median(t["seconds"] for t in targets),
        "target_lower_bound": not all(t["reached"] for t in targets),
        "target_recipe": targets[0].get("recipe"),
        "target_epochs": [t["epoch"] for t in targets],
        "infer_10000_ms": first["infer"]["batch_10000_ms"], "infer_single_ms": first["infer"]["single_ms_median"],
        "rss_mb": first["peak_rss_mb_after_training"],
        "loadavg": [first["loadavg_start"][0], max(run["loadavg_end"][0] for run in runs)],
    }


def ratio(peer, ours, key):
    a, b = peer.get(key), ours.get(key)
    return a / b if a and b else None


def table(results, rows=ROWS, title="digitlens vs peers, the lesson's network on MNIST (lower is better)"):
    """Each framework's figures, and beside each peer's the ratio peer / digitlens (>1: digitlens ahead)."""
    from rich.console import Console
    from rich.table import Table

    ours = results[0]
    grid = Table(title=title)
    grid.add_column("measure")
    for r in results:
        grid.add_column(f"{r.get('label', r['name'])} {r['version'] or ''}".strip(), justify="right")
    for key, label, fmt in rows:
        cells = []
        for r in results:
            text = fmt.format(r[key]) if r.get(key) is not None else "-"
            if key == "target_seconds" and r.get("target_lower_bound"):
                text = ">" + text            # some seed never reached 98%: at least this long
            if r is not ours and ratio(r, ours, key):
                text += f" ({ratio(r, ours, key):.1f}x)"
            cells.append(text)
        grid.add_row(label, *cells)
    grid.add_row("load average, 1 min (start, max end)",
                 *[" / ".join(f"{v:.1f}" for v in r["loadavg"]) if r.get("loadavg") else "-" for r in results])
    console = Console(width=160)
    console.print(grid)
    console.print("epochs to 98%: " + "; ".join(f"{r['name']} {r['target_epochs']}" for r in results))


def check_goals(results, goals=GOALS, limits=LIMITS):
    """[(text, met)] for every goal a measured peer takes part in, and every absolute limit."""
    ours, by_name = results[0], {r["name"]: r for r in results[1:]}
    checks = []
    for key, names, least in goals:
        for name in names:
            if name in by_name:
                value = ratio(by_name[name], ours, key)
                text = f"{key}: {name} / digitlens = " + (f"{value:.2f}x" if value else "-") + f" (goal >= {least}x)"
                checks.append((text, value is not None and value >= least))
    for key, limit in limits:
        value = ours.get(key)
        checks.append((f"{key}: digitlens {value if value is None else round(value, 3)} (goal <= {limit})",
                       value is not None and value <= limit))
    return checks


def save(record, out=None):
    out = Path(out) if out else HERE / "results" / time.strftime("%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    return out


def measure_peers(names, peer_python, data, seeds, slice_args, peers=PEERS):
    """Run each named peer's script; returns (results, names of peers whose framework is missing)."""
    results, missing = [], []
    for name in names:
        peer = peers[name]
        python = peer_python if Path(peer_python).exists() else sys.executable
        if not has_module(python, peer.module, peer.env):
            missing.append(name)
            continue
        result = measure(name, [python, str(peer.script), "--data", str(data), *peer.args], seeds, slice_args,
                         peer.env)
        result["label"] = peer.label
        result["import_s"] = cold_seconds([python, "-c", f"import {peer.module}"], peer.env)
        results.append(result)
    return results, missing


def same_recipe(peer_python, data, seeds, slice_args):
    """JAX trained with digitlens's own recipe (its warm-up + cosine schedule in optax, batch 128):
    how much of the time-to-98% lead is the recipe and how much the engine."""
    peer = PEERS["jax"]
    python = peer_python if Path(peer_python).exists() else sys.executable
    runs = [run_json([python, str(peer.script), "--data", str(data), "--parts", "target", "--recipe", "cosine-128",
                      "--seed", str(seed)] + slice_args, peer.env) for seed in range(seeds)]
    return {"recipe": "cosine-128", "target_seconds": statistics.median(r["target"]["seconds"] for r in runs),
            "target_epochs": [r["target"]["epoch"] for r in runs],
            "reached": all(r["target"]["reached"] for r in runs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("DIGITLENS_DATA"), help="MNIST IDX directory")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma list of {', '.join(PEERS)}")
    parser.add_argument("--peer-python", default=str(HERE / ".venv-peers" / "bin" / "python"))
    parser.add_argument("--smoke", action="store_true", help="a tiny slice, every count cut down")
    parser.add_argument("--out", help="JSON file (default: benchmarks/results/<time>.json)")
    args = parser.parse_args()
    if not args.data:
        parser.error("--data DIR (or $DIGITLENS_DATA) is required")
    names = [p for p in args.peers.split(",") if p]
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        parser.error(f"--peers: expected names from {', '.join(PEERS)}, received {', '.join(unknown)}")
    slice_args = ["--slice", "2000", "--quick"] if args.smoke else []
    seeds = 1 if args.smoke else args.seeds

    ours = measure("digitlens", [sys.executable, str(HERE / "digitlens_bench.py"), "--data", args.data],
                   seeds, slice_args)
    ours["import_s"] = cold_seconds([sys.executable, "-c", "import digitlens"])
    ours["cli_help_s"] = cold_seconds([sys.executable, "-m", "digitlens", "--help"])
    peers, missing = measure_peers(names, args.peer_python, args.data, seeds, slice_args)
    results = [ours] + peers

    jax_same = None
    if "jax" in [r["name"] for r in peers]:
        jax_same = same_recipe(args.peer_python, args.data, seeds, slice_args)

    goals = check_goals(results)
    record = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "smoke": args.smoke,
              "missing_peers": missing, "results": results, "jax_with_digitlens_recipe": jax_same,
              "goals": [{"goal": text, "met": met} for text, met in goals]}
    out = save(record, args.out)
    table(results)
    if jax_same:
        print(f"JAX with digitlens's recipe (warm-up + cosine, batch 128): {jax_same['target_seconds']:.1f} s "
              f"to 98% (epochs {jax_same['target_epochs']}), {jax_same['target_seconds'] / ours['target_seconds']:.1f}x "
              "digitlens's time: the rest of the lead above is the recipe")
    for text, met in goals:
        print(("  met   " if met else "  MISSED ") + text)
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
