"""Keras peer benchmark: the course's CNN notebook's own code, on the TensorFlow backend.

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    KERAS_BACKEND=tensorflow benchmarks/.venv-peers/bin/python benchmarks/peers/keras_cnn.py \\
        --data DIR [--seed 0] [--epochs-timing 2] [--infer-runs 5] [--slice N] [--test-slice N] [--quick]

The model and training are the course's notebook's (Vadikus/practicalDL, "01 - 02 - MNIST and
Convolutional Neural Network"), with Adam's learning rate written out:

    model = keras.Sequential([keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                              keras.layers.MaxPooling2D(2, 2), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=..., batch_size=..., verbose=0)     # shuffles each epoch

(an Input layer instead of input_shape=, which Keras 3 warns about), images (N, 28, 28, 1)
float32 /255 prepared once before any timing, keras.utils.set_random_seed(--seed). TensorFlow
picks its own thread counts (all cores). Each epoch is timed by a callback from on_epoch_begin to
on_epoch_end; the first includes tracing the tf.function, as a learner's first epoch does.

Measured: the same keys as peers/torch_cnn.py (see there); inference is
model.predict_on_batch(x_test) (the fastest of Keras's calls for one big batch, see keras_peer.py).
Prints one JSON object to stdout and nothing else.
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_t0 = time.perf_counter()
import keras  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import mnist_files  # noqa: E402  (beside this script)
from record import finish, rss_mb  # noqa: E402  (beside it too)


def make_model(seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D(2, 2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class EpochClock(keras.callbacks.Callback):
    """Times each epoch, and scores the test set after the first one, once its clock has stopped."""

    def __init__(self, x_test, y_test):
        super().__init__()
        self.x_test, self.y_test = x_test, y_test
        self.seconds, self.first_accuracy = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if epoch == 0:
            probs = np.asarray(self.model.predict_on_batch(self.x_test))
            self.first_accuracy = float((probs.argmax(axis=1) == self.y_test).mean())



def main(argv=None):
    p = argparse.ArgumentParser(description="Keras CNN peer benchmark (see module docstring).")
    p.add_argument("--data", required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs-timing", type=int, default=2)
    p.add_argument("--infer-runs", type=int, default=5)
    p.add_argument("--slice", type=int, default=None, help="use the first N training images")
    p.add_argument("--test-slice", type=int, default=None, help="use the first N test images")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 2 inference runs")
    args = p.parse_args(argv)
    missing = mnist_files.missing_files(args.data)
    if missing:
        p.error(f"--data: expected a folder with the four MNIST IDX .gz files, "
                f"{args.data!r} lacks {', '.join(missing)}")
    if args.quick:
        args.epochs_timing, args.infer_runs = 1, 2

    json_out = os.fdopen(os.dup(1), "w")       # everything but the JSON goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    import tensorflow as tf  # already imported by keras on this backend

    x_train, y_train, x_test, y_test = mnist_files.load_mnist(args.data, args.slice)
    x_test, y_test = x_test[:args.test_slice], y_test[:args.test_slice]
    x_train, x_test = x_train[..., None], x_test[..., None]                  # (N, 28, 28, 1)
    result = {"framework": "keras", "version": keras.__version__, "backend": keras.backend.backend(),
              "backend_version": tf.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "seed": args.seed, "train_images": int(x_train.shape[0]),
              "test_images": int(x_test.shape[0]), "quick": args.quick,
              "loadavg_start": [round(v, 2) for v in os.getloadavg()],
              "import_seconds": round(IMPORT_SECONDS, 3), "epoch_seconds": {}, "epoch_accuracy": {}}

    model = None
    for batch_size in (32, 128):
        model = make_model(args.seed)
        clock = EpochClock(x_test, y_test)
        model.fit(x_train, y_train, epochs=args.epochs_timing, batch_size=batch_size, verbose=0,
                  callbacks=[clock])
        result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in clock.seconds]
        result["epoch_accuracy"][str(batch_size)] = round(clock.first_accuracy, 4)
    result["epoch_seconds_median"] = {k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    model.predict_on_batch(x_test)                            # warm-up: traces the predict function
    batch = []
    for _ in range(args.infer_runs):
        start = time.perf_counter()
        np.asarray(model.predict_on_batch(x_test)).argmax(axis=1)
        batch.append(time.perf_counter() - start)
    result["infer"] = {"batch_10000_ms": round(1000 * statistics.median(batch), 3), "batch_runs": args.infer_runs,
                       "method": "model.predict_on_batch(x).argmax(1)"}
    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
