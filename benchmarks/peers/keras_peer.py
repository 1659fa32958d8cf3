"""Keras peer benchmark: the lesson's own code, on the TensorFlow backend.

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    KERAS_BACKEND=tensorflow benchmarks/.venv-peers/bin/python benchmarks/peers/keras_peer.py \\
        --data DIR [--seed 0] [--parts epoch,target,infer] [--epochs-timing 3]
        [--epochs-target 15] [--batch-target 32] [--slice N] [--quick]

KERAS_BACKEND defaults to tensorflow when unset. The model and training are the lesson's:

    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=..., batch_size=..., verbose=0)   # shuffles each epoch

with the data read from the four IDX .gz files in --data and made float32 /255 once, before any
timing. keras.utils.set_random_seed(--seed) seeds weights and shuffling. TensorFlow picks its own
thread counts (all cores).

Parts (--parts, comma-separated):
  epoch   seconds per epoch at batch 32 and at batch 128: one model.fit(epochs=--epochs-timing)
          per batch size on a fresh model, each epoch timed by a callback from on_epoch_begin to
          on_epoch_end. The first epoch includes tracing the tf.function, so it is reported in
          the list and the median is beside it.
  target  the lesson's recipe (batch --batch-target, default 32) until test accuracy >= 98.0%
          or --epochs-target epochs, in one model.fit. After every epoch a callback evaluates
          the 10,000 test images (model.predict_on_batch) after it has stopped the epoch's clock,
          so "seconds" counts training only.
  infer   all 10,000 test images in one call, median of --infer-runs runs after a warm-up:
          model.predict_on_batch(x) ("batch_10000_ms"), model(x, training=False) and
          model.predict(x, verbose=0) (the lesson's call; batch_size 32 inside); and one image
          at a time, median over --single-calls calls: model.predict_on_batch(x1)
          ("single_ms_median", the fastest of the three: it runs the traced predict function),
          model(x1, training=False) (eager, op by op), and model.predict(x1, verbose=0) over
          fewer calls (it sets up a data pipeline each call, slow by design).
          Uses the model trained by `target` when that part ran, else a fresh one.

--slice N uses only the first N training images (a smoke run); --quick cuts every count down
(1 timing epoch, at most 2 target epochs, 3 batch and 50 single inference runs).

Prints one JSON object to stdout and nothing else (TensorFlow's chatter goes to stderr):
  framework            "keras"
  version              keras.__version__
  backend, backend_version   "tensorflow", tf.__version__
  python               Python version
  threads              {"intra_op", "inter_op"} as TensorFlow reports them (0 = TF decides:
                       all cores) and cpu_count
  cpu_count, seed, train_images, test_images, parts, quick
  import_seconds       wall time of `import keras` (which imports TensorFlow) inside this
                       process; the runner measures the cold import itself
  epoch_seconds        {"32": [s, ...], "128": [s, ...]}   seconds of each timed epoch
  epoch_seconds_median {"32": s, "128": s}
  target               {"goal": 0.98, "batch_size", "max_epochs", "reached", "epoch" (1-based,
                       null if not reached), "seconds" (training seconds up to that epoch, or
                       all epochs if not reached), "epoch_seconds": [...], "test_accuracy": [...],
                       "timing": "training only; per-epoch test evaluation excluded"}
  infer                {"batch_10000_ms", "batch_runs", "batch_method", "call_10000_ms",
                       "predict_10000_ms", "single_ms_median", "single_ms_p90", "single_calls",
                       "single_method", "single_call_ms_median", "single_predict_ms_median",
                       "single_predict_calls"}
  peak_rss_mb_after_training   ru_maxrss after the training parts, MB
  peak_rss_mb          ru_maxrss at the end, MB
  loadavg_start, loadavg_end   os.getloadavg() (1, 5, 15 min) before and after: the machine
                       may be shared, and a busy second core skews every figure
Keys of parts that did not run are absent.
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_t0 = time.perf_counter()
import keras  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

GOAL = 0.98


import record  # noqa: E402  (beside this script)
from record import finish, rss_mb, single_latencies  # noqa: E402
from mnist_files import load_mnist  # noqa: E402


def make_model(seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class EpochClock(keras.callbacks.Callback):
    """Times each epoch; optionally evaluates on the test set after the clock stops."""

    def __init__(self, x_test=None, y_test=None, goal=None):
        super().__init__()
        self.x_test, self.y_test, self.goal = x_test, y_test, goal
        self.seconds, self.accuracy, self.reached_at = [], [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if self.goal is None:
            return
        probs = np.asarray(self.model.predict_on_batch(self.x_test))  # not timed
        self.accuracy.append(float((probs.argmax(axis=1) == self.y_test).mean()))
        if self.accuracy[-1] >= self.goal:
            self.reached_at = epoch + 1
            self.model.stop_training = True


def median_ms(fn, arg, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), sorted(times)



def main(argv=None):
    p = record.options("Keras peer benchmark (see module docstring).")
    p.add_argument("--batch-target", type=int, default=32)
    p.add_argument("--single-predict-calls", type=int, default=50)
    args, parts, json_out = record.parse(p, argv, quick={"single_predict_calls": 5})

    import tensorflow as tf  # already imported by keras on this backend

    x_train, y_train, x_test, y_test = load_mnist(args.data, args.slice)
    result = record.header("keras", keras.__version__, args, parts, x_train, x_test, IMPORT_SECONDS,
                           backend=keras.backend.backend(), backend_version=tf.__version__,
                           threads={"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()})

    if "epoch" in parts:
        result["epoch_seconds"] = {}
        for batch_size in (32, 128):
            model = make_model(args.seed)
            clock = EpochClock()
            model.fit(x_train, y_train, epochs=args.epochs_timing, batch_size=batch_size,
                      verbose=0, callbacks=[clock])
            result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in clock.seconds]
        result["epoch_seconds_median"] = {
            k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}

    model = None
    if "target" in parts:
        model = make_model(args.seed)
        clock = EpochClock(x_test, y_test, GOAL)
        model.fit(x_train, y_train, epochs=args.epochs_target, batch_size=args.batch_target,
                  verbose=0, callbacks=[clock])
        n = clock.reached_at or len(clock.seconds)
        result["target"] = record.target(GOAL, args.batch_target, args.epochs_target, clock.reached_at, clock.seconds,
                                         clock.accuracy, seconds=sum(clock.seconds[:n]))
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    if "infer" in parts:
        if model is None:
            model = make_model(args.seed)

        def call(x):
            return np.asarray(model(x, training=False)).argmax(axis=1)

        def on_batch(x):
            return np.asarray(model.predict_on_batch(x)).argmax(axis=1)

        def predict(x):
            return model.predict(x, verbose=0).argmax(axis=1)

        one = x_test[:1]  # (1, 28, 28)
        for fn in (call, on_batch, predict):  # warm-up: traces each path for both shapes
            fn(x_test)
            fn(one)
        batch_ms, _ = median_ms(on_batch, x_test, args.infer_runs)
        call_ms, _ = median_ms(call, x_test, args.infer_runs)
        predict_ms, _ = median_ms(predict, x_test, args.infer_runs)
        singles = []
        for i in range(args.single_calls):
            x1 = x_test[i % len(x_test)][None]  # (1, 28, 28)
            start = time.perf_counter()
            on_batch(x1)
            singles.append(time.perf_counter() - start)
        singles.sort()
        single_call_ms, _ = median_ms(call, one, args.single_calls)
        single_predict_ms, _ = median_ms(predict, one, args.single_predict_calls)
        result["infer"] = {
            "batch_10000_ms": round(batch_ms, 3),
            "batch_runs": args.infer_runs,
            "batch_method": "model.predict_on_batch(x).argmax(1)",
            "call_10000_ms": round(call_ms, 3),
            "predict_10000_ms": round(predict_ms, 3),
            **single_latencies(singles),
            "single_calls": args.single_calls,
            "single_method": "model.predict_on_batch(x1).argmax(1)",
            "single_call_ms_median": round(single_call_ms, 4),
            "single_predict_ms_median": round(single_predict_ms, 4),
            "single_predict_calls": args.single_predict_calls,
        }

    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
