"""LiveTraining: watch `fit` learn in the cell's output, and stop it with a button.

    model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test),
              callbacks=[digitlens.notebook.LiveTraining()])

A Keras callback (the same hooks digitlens.nn.Callback has) that shows, while fit runs: a progress
bar with the step, the epoch and the time left; the loss and accuracy of every batch (thin), their
moving average (bold) and each epoch's mean and test values (dots); the first layer's weights as
28 x 28 pictures, changing as they learn; and a Stop button. Stop sets `model.stop_training`,
Keras's own way to end training: fit finishes the step it is on, scores the epoch so far and
returns its History as usual. Interrupting the kernel (the notebook's own stop button) does the
same the first time; a second interrupt stops at once, as always.

Throttled so that watching does not slow the training: the numbers go to the browser at most
every PROGRESS_EVERY seconds and the weight pictures every WEIGHTS_EVERY seconds; the curve sent
is at most MAX_POINTS points (every k-th batch once there are more). Between two steps the
callback only appends two numbers to a list. Clicks reach Python while fit runs through
events.deliver().

Left out: pausing (the web app's training tab has it) and anything that changes the training.
"""

import signal
import threading
import time

import anywidget
import numpy as np
import traitlets

from ..errors import DigitlensError
from ..explain.history import moving_average
from ..explain.neurons import weight_images
from ..nn import Callback
from ..viz.style import LIMIT_PERCENTILE, symmetric_limit
from ..web.training import smoothing_window
from . import assets, events, payloads

PROGRESS_EVERY = 0.25   # seconds between two updates of the numbers and curves
WEIGHTS_EVERY = 1.0     # seconds between two weight pictures
LISTEN_EVERY = 0.1      # seconds between two looks for a click on Stop
MAX_POINTS = 1000       # batch points in the curve sent to the browser
WEIGHT_IMAGES = 64      # first-layer neurons shown


class TrainingView(anywidget.AnyWidget):
    """What LiveTraining shows; its state is plain numbers, so a view opened later shows it all."""

    _esm = assets.module_text("notebook/static/live.js")
    _css = assets.style_text()

    setup = traitlets.Dict().tag(sync=True)         # epochs, steps, batch size, colours, ...
    progress = traitlets.Dict().tag(sync=True)      # state, step, times, running loss, epochs
    curve = traitlets.Bytes(b"").tag(sync=True)     # float32 (n, 5): x, loss, accuracy, smoothed both
    weights = traitlets.Bytes(b"").tag(sync=True)   # float32 (count, 28, 28)
    weights_info = traitlets.Dict().tag(sync=True)  # count, shape, limit, step

    def __init__(self, on_stop, **kwargs):
        super().__init__(**kwargs)
        self._on_stop = on_stop
        self.on_msg(self._message)
        events.listen(self)

    def _message(self, widget, content, buffers):
        if isinstance(content, dict) and content.get("type") == "stop":
            self._on_stop("the Stop button")


class LiveTraining(Callback):
    """Show fit's progress live in the notebook (see the module docstring).

    weights: how many of the first layer's neurons to draw (0 for none).
    """

    def __init__(self, weights=WEIGHT_IMAGES):
        self.weight_count = int(weights)
        self.view = TrainingView(self.stop)
        self._shown = False
        self._previous_handler = None
        self.stop_reason = None
        self._running = False

    # ---- displaying --------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        self._shown = True
        return self.view._repr_mimebundle_(**kwargs)

    def _show(self):
        if self._shown:
            return
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is not None:
            display(self.view)
            self._shown = True

    # ---- stopping ------------------------------------------------------------------------------

    def stop(self, reason="stop()"):
        """End training cleanly after the current step (Keras's model.stop_training)."""
        if getattr(self, "model", None) is None or not self._running:
            return
        self.model.stop_training = True
        if self.stop_reason is None:
            self.stop_reason = reason
            self._publish("stopping", force=True)

    def _interrupted(self, signum, frame):
        if self.stop_reason is None and self._running:
            self.stop("an interrupt of the kernel")
            return
        self._restore_interrupt()
        raise KeyboardInterrupt

    def _catch_interrupt(self):
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self._previous_handler = signal.signal(signal.SIGINT, self._interrupted)
        except (ValueError, OSError):
            self._previous_handler = None
            return
        try:                            # if fit fails, the handler goes when the cell ends
            from IPython import get_ipython
            shell = get_ipython()
            if shell is not None:
                shell.events.register("post_run_cell", self._cell_ended)
        except ImportError:
            pass

    def _restore_interrupt(self):
        if self._previous_handler is not None:
            try:
                signal.signal(signal.SIGINT, self._previous_handler)
            except (ValueError, OSError):
                pass
            self._previous_handler = None

    def _cell_ended(self, *args):
        from IPython import get_ipython
        get_ipython().events.unregister("post_run_cell", self._cell_ended)
        self._restore_interrupt()
        if self._running:                 # fit raised: say so instead of looking busy forever
            self._running = False
            self._publish("ended by an error", force=True)

    # ---- Keras's hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        p = self.params
        self.steps, self.total = p["steps"], p["epochs"] * p["steps"]
        self.first_epoch = None
        self.window = smoothing_window(self.steps)
        self.x, self.losses, self.accuracies = [], [], []
        self.epochs = []
        self.done = 0
        self.stop_reason = None
        self._running = True
        self.started = self.last_progress = self.last_weights = self.last_listen = time.perf_counter()
        self.epoch = 0
        self.logs = {}
        with self.view.hold_sync():
            self.view.setup = {"epochs": p["epochs"], "steps": self.steps, "total": self.total,
                               "batch_size": p["batch_size"], "samples": p["samples"],
                               "colors": payloads.colour_table(), "window": self.window,
                               "model": self.model.name}
            self.view.curve = b""
            self._weights()
            self._publish("running", force=True)
        self._show()
        self._catch_interrupt()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.first_epoch is None:
            self.first_epoch = epoch
            self.total = (self.params["epochs"] - epoch) * self.steps

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        self.x.append(self.epoch + (batch + 1) / self.steps)
        self.losses.append(float(logs["batch_loss"]))
        self.accuracies.append(float(logs["batch_accuracy"]))
        self.logs = logs
        now = time.perf_counter()
        if now - self.last_listen >= LISTEN_EVERY:
            self.last_listen = now
            events.deliver()
        if now - self.last_weights >= WEIGHTS_EVERY:
            self.last_weights = now
            self._weights()
        if now - self.last_progress >= PROGRESS_EVERY:
            self._publish("stopping" if self.stop_reason else "running")

    def on_epoch_end(self, epoch, logs=None):
        # x: where the epoch's mean is drawn - its end, or the last step taken if training stopped
        self.epochs.append({"epoch": epoch + 1, "x": self.x[-1] if self.x else epoch + 1,
                            **{k: _number(v) for k, v in logs.items()}})
        self._publish("stopping" if self.stop_reason else "running", force=True)

    def on_train_end(self, logs=None):
        self._running = False
        self._restore_interrupt()
        with self.view.hold_sync():
            self._weights()
            self._publish("stopped" if self.stop_reason else "finished", force=True)

    # ---- what the browser gets -------------------------------------------------------------------

    def _publish(self, state, force=False):
        now = time.perf_counter()
        if not force and now - self.last_progress < PROGRESS_EVERY:
            return
        self.last_progress = now
        elapsed = now - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        with self.view.hold_sync():
            self.view.curve = self._curve()
            self.view.progress = {
                "state": state, "reason": self.stop_reason, "done": self.done, "total": self.total,
                "epoch": self.epoch + 1, "step": (self.done - 1) % self.steps + 1 if self.done else 0,
                "elapsed": round(elapsed, 2), "eta": None if eta is None or not self._running else round(eta, 2),
                "loss": _number(self.logs.get("loss")), "accuracy": _number(self.logs.get("accuracy")),
                "epochs": self.epochs, "points": len(self.losses), "listening": events.available()}

    def _curve(self):
        """Every batch so far (every k-th past MAX_POINTS, the latest always): x, loss, accuracy and their moving
        averages over `window` batches, as explain.history.curves smooths them."""
        n = len(self.losses)
        if n == 0:
            return b""
        stride = -(-n // MAX_POINTS)
        keep = np.arange(n - 1, -1, -stride)[::-1]          # every stride-th, ending at the latest
        columns = [np.asarray(self.x)[keep], np.asarray(self.losses)[keep], np.asarray(self.accuracies)[keep],
                   np.asarray(moving_average(self.losses, self.window))[keep],
                   np.asarray(moving_average(self.accuracies, self.window))[keep]]
        return np.ascontiguousarray(np.stack(columns, axis=1), dtype="<f4").tobytes()

    def _weights(self):
        if not self.weight_count:
            return
        try:
            images = weight_images(self.model)[:self.weight_count]
        except DigitlensError:           # the first Dense layer does not see the pixels
            self.weight_count = 0
            return
        self.view.weights = np.ascontiguousarray(images, dtype="<f4").tobytes()
        self.view.weights_info = {"count": len(images), "shape": list(images.shape[1:]), "step": self.done,
                                  "limit": symmetric_limit(images, LIMIT_PERCENTILE),
                                  "layer": payloads.layer_list(self.model)[0]["name"]}


def _number(value):
    """A float for JSON, or None for a missing value or one that is not a number (a diverged run)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
