"""Callbacks: code that watches training, with Keras's hook names.

`Sequential.fit` calls each callback's hooks as training goes: on_train_begin, on_epoch_begin,
on_train_batch_end (after every step), on_epoch_end, on_train_end. The command line's progress
bars and the web app's live curves are callbacks; so is `History`, which every fit returns.
A callback may set `self.model.stop_training = True` to end training after the current step.

The fast path (fast_dense.py) may run several steps in one compiled call and then call
on_train_batch_end for each of them, in order, with its own logs. `step_boundaries` is how a
callback says which steps it must see as they happen, with the model exactly as that step left
it: by default every step, if it listens to batches at all.
"""

import sys
import time


class Callback:
    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params            # {"epochs": ..., "steps": ..., "batch_size": ..., ...}

    def step_boundaries(self, epoch, steps):
        """The steps of this epoch (0 .. steps - 1) after which this callback must find the model
        exactly as that step left it - to read its weights, pause, or stop training at once.
        None means every step (the default for a callback with its own on_train_batch_end);
        () means none: it only reads the logs, which it gets for every step either way."""
        listens = type(self).on_train_batch_end is not Callback.on_train_batch_end
        return None if listens else ()

    def on_train_begin(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_end(self, logs=None): pass


class History(Callback):
    """What happened during training.

    history   {"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]},
              one value per epoch, as Keras's History has.
    epoch     the epoch numbers, from 0.
    batches   one record per step: {"epoch", "batch", "loss", "accuracy"} of that batch alone,
              for drawing the per-batch training curve.
    seconds   the training time of each epoch (without validation).
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.batches = []
        self.seconds = []

    def step_boundaries(self, epoch, steps):
        return ()                       # only records the logs

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append({"epoch": self._epoch, "batch": batch,
                             "loss": logs["batch_loss"], "accuracy": logs["batch_accuracy"]})

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        self.seconds.append(logs.get("seconds"))
        for key, value in logs.items():
            if key != "seconds":
                self.history.setdefault(key, []).append(value)

    def to_dict(self):
        return {"history": self.history, "epoch": self.epoch, "seconds": self.seconds,
                "batches": self.batches}


class ProgressPrinter(Callback):
    """Keras-style progress lines: `Epoch 1/5` then
    `1875/1875 - 1s 0.5ms/step - accuracy: 0.9312 - loss: 0.2345 - val_accuracy: ...`.
    On a terminal the line is redrawn while the epoch runs; elsewhere it is printed at the end."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step_boundaries(self, epoch, steps):
        return ()                       # only draws the logs

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self.stream)
        self.started = self.last_drawn = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.live and now - self.last_drawn > 0.1:
            self.last_drawn = now
            self.stream.write("\r" + self._line(batch + 1, logs, now))
            self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params["steps"]
        line = self._line(steps, logs, time.perf_counter())
        self.stream.write(("\r" if self.live else "") + line + "\n")
        self.stream.flush()

    def _line(self, done, logs, now):
        steps = self.params["steps"]
        elapsed = now - self.started
        per_step = elapsed / max(done, 1) * 1000
        width = len(str(steps))
        parts = [f"{done:>{width}}/{steps}", f"{elapsed:.0f}s {per_step:.2f}ms/step"]
        for key in ("accuracy", "loss", "val_accuracy", "val_loss"):
            if key in logs:
                parts.append(f"{key}: {logs[key]:.4f}")
        return " - ".join(parts)
