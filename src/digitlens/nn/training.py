"""`fit`: the training loop around the model's four-line `train_step` (model.py).

    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test))

An epoch is one pass over the training images in a new random order, a batch at a time: take the
batch, scale its pixels to 0-1, run `train_step` (forward, loss, backward, optimizer), and tell the
callbacks how it went. At the end of the epoch the validation data, if any, is scored. As in Keras:
batch_size defaults to 32, the data is shuffled every epoch, and validation_split holds out the
last fraction of the data (before shuffling).

The steps come from `ReferenceSteps` below (model.train_step on each batch) or, when it covers
the model, from the compiled fast path (fast_dense.py), which computes the same numbers.

Left out: everything the step itself does (model.py), and how the cores are shared (threads.py).
"""

import math
import time

import numpy as np

from . import callbacks as callbacks_module
from . import fast_dense
from .threads import training_threads
from ..errors import NotBuiltError


def fit(model, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0, augment=None):
    """Train `model` for `epochs` passes over (x, y); returns a History (also kept as model.history).

    `augment(x_batch, rng) -> x_batch`, if given, changes each batch before the step (digitlens's
    own addition, for random shifts and rotations).
    """
    if model.optimizer is None:
        raise NotBuiltError("this model has not been compiled: call compile(optimizer, loss) first")
    x = model.prepare_inputs(x, "x", keep_uint8=True)   # scaled batch by batch: 4x less memory
    y = model.prepare_labels(y, len(x), "y")
    if validation_split and validation_data is None:
        keep = int(len(x) * (1.0 - validation_split))
        validation_data = (x[keep:], y[keep:])
        x, y = x[:keep], y[:keep]
    if validation_data is not None:
        val_x = model.prepare_inputs(validation_data[0], "validation_data x", keep_uint8=True)
        val_y = model.prepare_labels(validation_data[1], len(val_x), "validation_data y")
    batch_size = int(batch_size or 32)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, received {batch_size}")
    n = len(x)
    steps = math.ceil(n / batch_size)

    history = callbacks_module.History()
    hooks = [history] + list(callbacks or [])
    if verbose == "auto" or verbose == 1:
        hooks.append(callbacks_module.ProgressPrinter())
    for hook in hooks:
        hook.set_model(model)
        hook.set_params({"epochs": initial_epoch + epochs, "steps": steps, "batch_size": batch_size,
                         "samples": n})
    model.history = history
    model.stop_training = False
    for hook in hooks:
        hook.on_train_begin()

    # The steps themselves: the compiled fast path when it covers the model, else the reference.
    steps_of = fast_dense.steps_for(model, x, y, batch_size, hooks, augment) or \
        ReferenceSteps(model, x, y, batch_size, augment)
    with training_threads(batch_size, model.optimizer):
        for epoch in range(initial_epoch, initial_epoch + epochs):
            for hook in hooks:
                hook.on_epoch_begin(epoch)
            order = model.rng.permutation(n) if shuffle else np.arange(n)
            total_loss = total_correct = seen = 0.0
            started = time.perf_counter()
            for step, size, loss, correct in steps_of.run(epoch, order):
                total_loss += loss * size
                total_correct += correct
                seen += size
                logs = {"loss": total_loss / seen, "accuracy": total_correct / seen,
                        "batch_loss": loss, "batch_accuracy": correct / size}
                for hook in hooks:
                    hook.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            seconds = time.perf_counter() - started
            logs = {"loss": total_loss / max(seen, 1)}
            if model.metrics:
                logs["accuracy"] = total_correct / max(seen, 1)
            if validation_data is not None:
                val_loss, val_accuracy = model._loss_and_accuracy(val_x, val_y)
                logs["val_loss"] = val_loss
                if model.metrics:
                    logs["val_accuracy"] = val_accuracy
            logs["seconds"] = seconds
            for hook in hooks:
                hook.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    last = steps_of.last_batch()
    if last is not None:
        model.last_batch = last                 # for explaining after training
    for hook in hooks:
        hook.on_train_end()
    return history


class ReferenceSteps:
    """An epoch's training steps the readable way: take each batch, scale its pixels to 0-1, and
    run the model's four-line train_step on it. `run(epoch, order)` yields (step, batch size,
    loss, right answers) after each step; fast_dense.FastSteps does the same, compiled."""

    def __init__(self, model, x, y, batch_size, augment=None):
        self.model, self.x, self.y, self.batch_size, self.augment = model, x, y, batch_size, augment
        self.x_batch = np.empty((batch_size,) + x.shape[1:], dtype=np.float32)
        self.xb = self.yb = None

    def run(self, epoch, order):
        for step in range(math.ceil(len(order) / self.batch_size)):
            idx = order[step * self.batch_size:(step + 1) * self.batch_size]
            xb = self.x_batch[:len(idx)]
            if self.x.dtype == np.uint8:
                np.multiply(self.x[idx], np.float32(1.0 / 255.0), out=xb)   # pixels 0-255 -> 0-1
            else:
                np.take(self.x, idx, axis=0, out=xb)
            yb = self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.model.rng)
            loss, probs = self.model.train_step(xb, yb)
            self.xb, self.yb = xb, yb
            yield step, len(idx), loss, int(np.count_nonzero(probs.argmax(axis=1) == yb))

    def last_batch(self):
        return None if self.xb is None else {"x": self.xb.copy(), "y": self.yb.copy()}
