"""How much LiveTraining slows fit: the lesson's epoch with and without it, in a real kernel.

    python benchmarks/notebook_live.py [--repeats 3] [--epochs 1]

Starts a Jupyter kernel (ipykernel, as a notebook has), loads MNIST there ($DIGITLENS_DATA or
digitlens's cache) and times `model.fit` of the lesson (Adam 1e-3, batch 32, all 60,000 images)
with `callbacks=[LiveTraining()]` and without, alternating, from the same initial weights, and
adds up the time spent inside LiveTraining's own hooks (a figure the machine's noise moves less).
The widget's messages really go out on the kernel's IOPub channel to this client. Prints one JSON
object: the seconds of each run, the medians, the slowdown and the share of time in the hooks. A benchmark, not a test: the
numbers depend on the machine and on what else runs on it.
"""

import argparse
import json
import queue
import statistics
import time

from jupyter_client.manager import start_new_kernel

SETUP = """
import time, json
from digitlens import nn
from digitlens.datasets import mnist
import digitlens.notebook as dn
(x, y), _ = mnist.load_data()
class Timed(dn.LiveTraining):
    # LiveTraining, adding up the time spent in its own hooks
    spent = 0.0
    def on_train_batch_end(self, batch, logs=None):
        t = time.perf_counter()
        super().on_train_batch_end(batch, logs)
        Timed.spent += time.perf_counter() - t
    def on_epoch_end(self, epoch, logs=None):
        t = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        Timed.spent += time.perf_counter() - t
def run(live, epochs):
    model = nn.lesson_model(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    Timed.spent = 0.0
    callbacks = [Timed()] if live else []
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=callbacks)
    return time.perf_counter() - started, Timed.spent
"""


def execute(client, code, timeout=900):
    """Run code in the kernel; return its stdout, and how many widget messages it sent."""
    msg_id = client.execute(code)
    out, widget_messages, deadline = [], 0, time.time() + timeout
    while time.time() < deadline:
        try:
            message = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind == "stream":
            out.append(message["content"]["text"])
        elif kind in ("comm_msg", "comm_open"):
            widget_messages += 1
        elif kind == "error":
            raise RuntimeError("\n".join(message["content"]["traceback"]))
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            return "".join(out), widget_messages
    raise TimeoutError(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        execute(client, SETUP)
        execute(client, "run(False, 1)")                       # warm up: numba, caches
        runs = {"without": [], "with LiveTraining": []}
        messages, in_hooks = 0, []
        for _ in range(args.repeats):
            for live, key in ((False, "without"), (True, "with LiveTraining")):
                out, sent = execute(client, f"print(*run({live}, {args.epochs}))")
                seconds, spent = (float(v) for v in out.split())
                runs[key].append(round(seconds, 3))
                if live:
                    messages = max(messages, sent)
                    in_hooks.append(round(100 * spent / seconds, 2))
        plain, watched = statistics.median(runs["without"]), statistics.median(runs["with LiveTraining"])
        print(json.dumps({"epochs": args.epochs, "batch_size": 32, "images": 60000, "seconds": runs,
                          "median_without": plain, "median_with": watched,
                          "slowdown_percent": round(100 * (watched / plain - 1), 1),
                          "percent_of_fit_in_livetraining_hooks": in_hooks,
                          "widget_messages_per_fit": messages}, indent=2))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
