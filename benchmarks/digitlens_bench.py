"""digitlens's side of the benchmark: the same measurements as peers/torch_peer.py, same JSON keys.

    .venv/bin/python benchmarks/digitlens_bench.py --data DIR [--seed 0] [--parts epoch,target,infer]
        [--epochs-timing 3] [--slice N] [--quick]

  epoch   seconds per epoch of the lesson's model at batch 32 and at batch 128, Adam 1e-3 (the
          same optimizer as the peers), on the uint8 images as `digitlens train` uses them; and
          the seconds each fit spends before its first epoch (listing the images' non-zero
          pixels, loading the compiled code), as the peers' data preparation and JAX's compile
          are kept apart.
  target  digitlens's default recipe (`digitlens train`), test accuracy after every epoch (not
          timed): training seconds until it first reaches 98.0%.
  infer   the 10,000 test images in one predict call (median of runs), and one image per call
          (median latency), through the public `model.predict`.
Prints one JSON object (see peers/torch_peer.py for the keys).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

_t0 = time.perf_counter()
import digitlens.nn  # noqa: E402  (timed: the engine's import)
import_seconds = time.perf_counter() - _t0

import numpy as np  # noqa: E402

from digitlens import __version__, recipes  # noqa: E402
from digitlens.datasets import mnist  # noqa: E402
from digitlens.nn import Adam  # noqa: E402


def epoch_seconds(x, y, batch_size, epochs, seed):
    """Each epoch's seconds, and the seconds fit spent outside its epochs (checking the data,
    listing every image's non-zero pixels, loading the compiled code from its disk cache)."""
    model = recipes.build_model(seed=seed)
    model.compile(Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return history.seconds, time.perf_counter() - start - sum(history.seconds)


def time_to_target(x, y, x_test, y_test, seed, max_epochs=None):
    recipe = recipes.get_recipe("default", epochs=max_epochs)
    model = recipes.build_model(seed=seed)
    history = recipes.train(model, x, y, recipe, validation_data=(x_test, y_test))
    accuracy = history.history["val_accuracy"]
    reached = next((i for i, a in enumerate(accuracy) if a >= 0.98), None)
    upto = len(accuracy) if reached is None else reached + 1
    return model, {"goal": 0.98, "recipe": recipe.to_dict(), "batch_size": recipe.batch_size,
                   "max_epochs": recipe.epochs, "reached": reached is not None,
                   "epoch": None if reached is None else reached + 1,
                   "seconds": sum(history.seconds[:upto]), "epoch_seconds": history.seconds,
                   "test_accuracy": accuracy, "timing": "training only; per-epoch test evaluation excluded"}


def inference(model, x_test, runs, singles):
    model.predict(x_test)
    batch = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict(x_test)
        batch.append(time.perf_counter() - start)
    single = []
    for i in range(singles):
        image = x_test[i % len(x_test)][None]
        start = time.perf_counter()
        model.predict(image)
        single.append(time.perf_counter() - start)
    single.sort()
    return {"batch_10000_ms": statistics.median(batch) * 1000, "batch_runs": runs,
            "single_ms_median": statistics.median(single) * 1000,
            "single_ms_p90": single[int(0.9 * len(single))] * 1000, "single_calls": singles,
            "method": "model.predict on uint8 images"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default="epoch,target,infer")
    parser.add_argument("--epochs-timing", type=int, default=3)
    parser.add_argument("--slice", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    parts = args.parts.split(",")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir=args.data)
    if args.slice:
        x_train, y_train = x_train[:args.slice], y_train[:args.slice]
    # digitlens takes the uint8 images as they are and scales each batch as it takes it: the
    # training set stays 47 MB instead of 188 MB as float32. The peers convert once to float32.
    x, xt = x_train, x_test
    result = {"framework": "digitlens", "version": __version__, "python": platform.python_version(),
              "numpy": np.__version__, "cpu_count": os.cpu_count(), "seed": args.seed,
              "train_images": len(x), "test_images": len(xt), "parts": parts, "quick": args.quick,
              "import_seconds": import_seconds, "loadavg_start": os.getloadavg()}
    epochs = 1 if args.quick else args.epochs_timing
    if "epoch" in parts:
        measured = {str(b): epoch_seconds(x, y_train, b, epochs, args.seed) for b in (32, 128)}
        timings = {b: seconds for b, (seconds, _) in measured.items()}
        result["epoch_seconds"] = timings
        result["fit_seconds_outside_epochs"] = {b: outside for b, (_, outside) in measured.items()}
        result["epoch_seconds_median"] = {b: statistics.median(s) for b, s in timings.items()}
    model = None
    if "target" in parts:
        model, result["target"] = time_to_target(x, y_train, xt, y_test, args.seed,
                                                 max_epochs=2 if args.quick else None)
    result["peak_rss_mb_after_training"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if "infer" in parts:
        model = model or recipes.build_model(seed=args.seed).build()
        result["infer"] = inference(model, xt, 3 if args.quick else 20, 50 if args.quick else 500)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["loadavg_end"] = os.getloadavg()
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
