"""scikit-learn peer benchmark: the lesson's network as MLPClassifier(hidden_layer_sizes=(256,)).

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    benchmarks/.venv-peers/bin/python benchmarks/peers/sklearn_peer.py --data DIR [--seed 0]
        [--parts epoch,target,infer] [--epochs-timing 3] [--epochs-target 30]
        [--batch-target auto] [--slice N] [--quick]

MLPClassifier(hidden_layer_sizes=(256,), activation="relu", solver="adam",
learning_rate_init=1e-3, random_state=seed) is the same network (784 -> 256 relu -> 10 softmax,
cross-entropy, Adam); scikit-learn adds its default L2 penalty alpha=1e-4 and initialises with
Glorot's uniform rule as Keras does. The images go in as float32 (N, 784) /255, made once before
any timing; scikit-learn keeps float32 all the way (coefs_ are float32). `partial_fit` runs
exactly one epoch (a fresh shuffle, then every batch, the last one smaller), so each epoch is
one partial_fit call, timed, with the test accuracy measured between calls - how scikit-learn's
own documentation watches an MLP learn. The matrix products run in the BLAS library numpy
uses, with its default threads (all cores).

Parts (--parts, comma-separated):
  epoch   seconds per epoch at batch_size 32 and 128 (--epochs-timing partial_fit calls each on
          a fresh classifier, Adam 1e-3 as for every framework).
  target  scikit-learn's own recipe - its defaults: batch_size "auto" = 200, Adam 1e-3 - until
          test accuracy >= 98.0% or --epochs-target epochs; the per-epoch test evaluation
          (clf.score) is NOT counted: "seconds" is training time only.
  infer   clf.predict (the labels) for the 10,000 test images in one call (median of
          --infer-runs runs after a warm-up), and for one image per call (median over
          --single-calls calls), each image a (1, 784) NumPy row.

--slice N uses only the first N training images (a smoke run); --quick cuts every count down
(1 timing epoch, at most 2 target epochs, 3 batch and 50 single inference runs).

Prints one JSON object to stdout, with the keys of peers/torch_peer.py ("framework": "sklearn",
"version": sklearn.__version__, "dtype": the classifier's weight dtype).
"""

import time

_t0 = time.perf_counter()
from sklearn.neural_network import MLPClassifier  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402

import mnist_files  # noqa: E402  (beside this script)
import record  # noqa: E402  (beside it too)
from record import finish, rss_mb, single_latencies  # noqa: E402

GOAL = 0.98
CLASSES = np.arange(10)


def make_classifier(seed, batch_size):
    return MLPClassifier(hidden_layer_sizes=(256,), activation="relu", solver="adam",
                         learning_rate_init=1e-3, batch_size=batch_size, shuffle=True,
                         random_state=seed)


def timed_epoch(clf, x, y):
    start = time.perf_counter()
    clf.partial_fit(x, y, classes=CLASSES)
    return time.perf_counter() - start



def main(argv=None):
    p = record.options("scikit-learn peer benchmark (see module docstring).", epochs_target=30)
    p.add_argument("--batch-target", default="auto", help='"auto" (scikit-learn\'s 200) or a size')
    args, parts, json_out = record.parse(p, argv)
    batch_target = args.batch_target if args.batch_target == "auto" else int(args.batch_target)
    warnings.simplefilter("ignore")   # ConvergenceWarning would go to stderr anyway

    x_train, y_train, x_test, y_test = mnist_files.load_mnist(args.data, args.slice)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    result = record.header("sklearn", sklearn.__version__, args, parts, x_train, x_test, IMPORT_SECONDS)

    if "epoch" in parts:
        result["epoch_seconds"] = {}
        for batch_size in (32, 128):
            clf = make_classifier(args.seed, batch_size)
            times = [timed_epoch(clf, x_train, y_train) for _ in range(args.epochs_timing)]
            result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in times]
        result["dtype"] = str(clf.coefs_[0].dtype)
        result["epoch_seconds_median"] = {
            k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}

    clf = None
    if "target" in parts:
        clf = make_classifier(args.seed, batch_target)
        epoch_times, accs, reached_at = [], [], None
        for epoch in range(1, args.epochs_target + 1):
            epoch_times.append(timed_epoch(clf, x_train, y_train))
            accs.append(float(clf.score(x_test, y_test)))   # not timed
            if accs[-1] >= GOAL:
                reached_at = epoch
                break
        result["dtype"] = str(clf.coefs_[0].dtype)
        result["target"] = record.target(GOAL, batch_target, args.epochs_target, reached_at, epoch_times, accs)
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    if "infer" in parts:
        if clf is None:
            clf = make_classifier(args.seed, "auto")
            clf.partial_fit(x_train[:1000], y_train[:1000], classes=CLASSES)
        clf.predict(x_test)   # warm-up
        batch = []
        for _ in range(args.infer_runs):
            start = time.perf_counter()
            clf.predict(x_test)
            batch.append(time.perf_counter() - start)
        singles = []
        for i in range(args.single_calls):
            x1 = x_test[i % len(x_test)][None]   # (1, 784)
            start = time.perf_counter()
            clf.predict(x1)
            singles.append(time.perf_counter() - start)
        singles.sort()
        result["infer"] = {
            "batch_10000_ms": round(1000 * statistics.median(batch), 3),
            "batch_runs": args.infer_runs,
            **single_latencies(singles),
            "single_calls": args.single_calls,
            "method": "clf.predict(x)",
        }

    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
