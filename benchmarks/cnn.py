"""Benchmark the course's CNN: digitlens against PyTorch and Keras (TensorFlow), side by side.

    python benchmarks/cnn.py --data DIR [--peers pytorch,keras] [--epochs-timing 2] [--smoke]

The network is the course's next lesson (Vadikus/practicalDL, "MNIST and Convolutional Neural
Network"): Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu) ->
Dense(10, softmax), 693,962 parameters, trained with Adam 1e-3. One invocation runs every
framework one after another, each in its own process, on the same MNIST files and machine:

  1. seconds per epoch at batch 32 and at batch 128 (a fresh model for each; the median of
     --epochs-timing epochs), and the test accuracy after the first epoch (not timed),
  2. the 10,000 test images in one call (median of a few runs, after a warm-up),
  3. peak memory (RSS) after training.

It prints a table with each figure and each peer's ratio to digitlens, and writes JSON to
benchmarks/results/cnn-<time>.json. Peers run with the interpreter of benchmarks/.venv-peers
(setup_peers.sh) and are reported as missing if it lacks their framework. On a shared machine
timings are noisy: read the ratios of one run, and the load averages recorded beside them.

`--worker` runs digitlens's own side in this process and prints its JSON (the same keys as
peers/torch_cnn.py); benchmarks/run.py can call `measure()` and `ROWS` to add these rows to its
table. --smoke runs on 500 training and 500 test images with every count cut down (its numbers
mean nothing; the test suite runs it).
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
    "pytorch": {"script": HERE / "peers" / "torch_cnn.py", "module": "torch", "env": {}},
    "keras": {"script": HERE / "peers" / "keras_cnn.py", "module": "tensorflow",
              "env": {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}},
}
ROWS = [("epoch_32", "CNN s/epoch, batch 32 (Adam 1e-3)", "{:.2f}"), ("accuracy_32", "  test accuracy after it", "{:.2%}"),
        ("epoch_128", "CNN s/epoch, batch 128", "{:.2f}"), ("accuracy_128", "  test accuracy after it", "{:.2%}"),
        ("infer_10000_ms", "CNN ms, 10,000 images in one call", "{:.0f}"),
        ("rss_mb", "CNN peak RSS training, MB", "{:.0f}")]


# ---- digitlens's side (--worker) ------------------------------------------------------------------

def worker(args):
    import resource

    import numpy as np

    from digitlens import __version__
    from digitlens.datasets import mnist
    from digitlens.nn import Adam, cnn_model

    (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir=args.data)
    x_train, y_train = x_train[:args.slice], y_train[:args.slice]
    x_test, y_test = x_test[:args.test_slice], y_test[:args.test_slice]
    # As `digitlens train` does: the uint8 images as they are, each batch scaled as it is taken.
    result = {"framework": "digitlens", "version": __version__, "numpy": np.__version__, "cpu_count": os.cpu_count(),
              "seed": args.seed, "train_images": len(x_train), "test_images": len(x_test),
              "loadavg_start": [round(v, 2) for v in os.getloadavg()], "epoch_seconds": {}, "epoch_accuracy": {}}
    model = None
    for batch_size in (32, 128):
        model = cnn_model(seed=args.seed)
        model.compile(Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
        seconds = []
        for epoch in range(args.epochs_timing):
            seconds += model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0).seconds
            if epoch == 0:
                result["epoch_accuracy"][str(batch_size)] = round(model.evaluate(x_test, y_test)[1], 4)
        result["epoch_seconds"][str(batch_size)] = [round(s, 4) for s in seconds]
    result["epoch_seconds_median"] = {k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}
    result["peak_rss_mb_after_training"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    model.predict(x_test)                                     # warm-up
    runs = []
    for _ in range(args.infer_runs):
        start = time.perf_counter()
        model.predict(x_test).argmax(axis=1)
        runs.append(time.perf_counter() - start)
    result["infer"] = {"batch_10000_ms": round(1000 * statistics.median(runs), 3), "batch_runs": args.infer_runs,
                       "method": "model.predict(x_test).argmax(1) on the uint8 images"}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


# ---- the runner ---------------------------------------------------------------------------------

def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def summarise(name, run):
    return {"name": name, "version": run.get("version"), "run": run,
            "epoch_32": run["epoch_seconds_median"]["32"], "epoch_128": run["epoch_seconds_median"]["128"],
            "accuracy_32": run["epoch_accuracy"]["32"], "accuracy_128": run["epoch_accuracy"]["128"],
            "infer_10000_ms": run["infer"]["batch_10000_ms"], "rss_mb": run["peak_rss_mb_after_training"]}


def measure(data, peers=("pytorch", "keras"), peer_python=None, smoke=False, epochs_timing=2):
    """[digitlens's figures, then each peer's]; and the peers not measured (framework missing)."""
    options = ["--data", str(data), "--epochs-timing", str(1 if smoke else epochs_timing)]
    options += ["--slice", "500", "--test-slice", "500", "--quick"] if smoke else []
    results = [summarise("digitlens", run_json([sys.executable, str(Path(__file__).resolve()), "--worker", *options]))]
    missing = []
    peer_python = peer_python or str(HERE / ".venv-peers" / "bin" / "python")
    for name in peers:
        peer = PEERS[name]
        python = peer_python if Path(peer_python).exists() else sys.executable
        if subprocess.run([python, "-c", f"import {peer['module']}"], capture_output=True).returncode != 0:
            missing.append(name)
            continue
        results.append(summarise(name, run_json([python, str(peer["script"]), *options], peer["env"])))
    return results, missing


def table(results):
    from rich.console import Console
    from rich.table import Table

    ours, peers = results[0], results[1:]
    grid = Table(title="the course's CNN on MNIST (seconds and MB: lower is better)")
    grid.add_column("measure")
    for r in results:
        grid.add_column(f"{r['name']} {r['version'] or ''}".strip(), justify="right")
    for peer in peers:
        grid.add_column(f"{peer['name']} / digitlens", justify="right")
    for key, label, fmt in ROWS:
        cells = [fmt.format(r[key]) if r.get(key) is not None else "-" for r in results]
        for peer in peers:
            a, b = peer.get(key), ours.get(key)
            cells.append(f"{a / b:.1f}x" if a and b and not key.startswith("accuracy") else "")
        grid.add_row(label, *cells)
    Console(width=140).print(grid)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("DIGITLENS_DATA"), help="MNIST IDX directory")
    parser.add_argument("--peers", default="pytorch,keras")
    parser.add_argument("--peer-python", default=str(HERE / ".venv-peers" / "bin" / "python"))
    parser.add_argument("--epochs-timing", type=int, default=2)
    parser.add_argument("--infer-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slice", type=int, help="(--worker) use the first N training images")
    parser.add_argument("--test-slice", type=int, help="(--worker) use the first N test images")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a tiny slice, every count cut down")
    parser.add_argument("--worker", action="store_true", help="measure digitlens in this process, print JSON")
    parser.add_argument("--out", help="JSON file (default: benchmarks/results/cnn-<time>.json)")
    args = parser.parse_args()
    if not args.data:
        parser.error("--data DIR (or $DIGITLENS_DATA) is required")
    if args.worker:
        if args.quick:
            args.infer_runs = 2
        return worker(args)
    results, missing = measure(args.data, [p for p in args.peers.split(",") if p], args.peer_python, args.smoke,
                               args.epochs_timing)
    record = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu_count": os.cpu_count(), "loadavg": os.getloadavg(),
              "smoke": args.smoke, "missing_peers": missing, "results": results}
    out = Path(args.out) if args.out else HERE / "results" / time.strftime("cnn-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    table(results)
    if missing:
        print(f"not measured (framework not installed): {', '.join(missing)}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
