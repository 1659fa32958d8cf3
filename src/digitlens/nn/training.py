"""`fit`: the training loop around the model's four-line `train_step` (model.py).

    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test))

An epoch is one pass over the training images in a new random order, a batch at a time: take the
batch, scale its pixels to 0-1, run `train_step` (forward, loss, backward, optimizer), and tell the
callbacks how it went. At the end of the epoch the validation data, if any, is scored. As in Keras:
- batch_size defaults to 32, and the data is shuffled every epoch (shuffle=False keeps the order);
- validation_split=0.25 holds out the LAST quarter of the data, taken before any shuffling;
- epochs is the number of the last epoch: fit(epochs=5, initial_epoch=3) trains epochs 4 and 5;
- the callbacks are called as Keras calls them (callbacks.py), History and the progress line
  (progbar.py, verbose=1 or 2) after the ones given; the logs are the epoch's running means.

The steps come from `ReferenceSteps` below (model.train_step on each batch) or, when it covers
the model, from the compiled fast path (fast_dense.py), which computes the same numbers.

Left out: everything the step itself does (model.py), how the cores are shared (threads.py), and
Keras's class_weight, sample_weight, steps_per_epoch and validation_freq.
"""

import math
import time

import numpy as np

from . import fast_dense, metrics
from .callbacks import CallbackList, History
from .evaluation import evaluate
from .progbar import ProgressPrinter
from .threads import training_threads
from ..errors import DigitlensError, NotBuiltError


def fit(model, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0, augment=None):
    """Train `model` until epoch `epochs`; returns a History (also kept as model.history).

    `augment(x_batch, rng) -> x_batch`, if given, changes each batch before the step (digitlens's
    own addition, for random shifts and rotations).
    """
    if model.optimizer is None or model.loss is None:
        raise NotBuiltError("this model has not been compiled: call compile(optimizer, loss) first")
    x = model.prepare_inputs(x, "x", keep_uint8=True)   # scaled batch by batch: 4x less memory
    y = model.prepare_targets(y, len(x), "y")
    if validation_split and validation_data is None:
        (x, y), validation_data = split_validation(x, y, validation_split)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise DigitlensError("validation_data: expected a pair (x_val, y_val)")
        val_x = model.prepare_inputs(validation_data[0], "validation_data x")
        val_y = model.prepare_targets(validation_data[1], len(val_x), "validation_data y")
    labels = model.loss.true_classes(y)        # the right answer of each image, for accuracy
    batch_size = int(batch_size or 32)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, received {batch_size}")
    n = len(x)
    steps = math.ceil(n / batch_size)

    hooks = _callbacks(model, callbacks, verbose, epochs, steps, batch_size, n)
    starts_batch = bool(hooks.listening("on_train_batch_begin"))
    model.stop_training = False
    hooks.on_train_begin()

    # The steps themselves: the compiled fast path when it covers the model, else the reference.
    steps_of = fast_dense.steps_for(model, x, y, batch_size, hooks, augment) or \
        ReferenceSteps(model, x, y, labels, batch_size, augment)
    before = hooks.on_train_batch_begin if starts_batch else None   # (most runs have no such callback)
    logs = {}
    with training_threads(batch_size, model.optimizer):
        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            order = model.rng.permutation(n) if shuffle else np.arange(n)
            total_loss = total_correct = seen = 0.0
            started = time.perf_counter()
            for step, size, loss, correct in steps_of.run(epoch, order, before):
                total_loss += loss * size
                total_correct += correct
                seen += size
                logs = metrics.logs(model.metrics, total_loss / seen, total_correct / seen)
                logs["batch_loss"], logs["batch_accuracy"] = loss, correct / size
                hooks.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            seconds = time.perf_counter() - started
            logs = metrics.logs(model.metrics, total_loss / max(seen, 1), total_correct / max(seen, 1))
            if validation_data is not None:
                scored = evaluate(model, val_x, val_y, batch_size=batch_size, hooks=hooks, return_dict=True)
                logs.update({"val_" + key: value for key, value in scored.items()})
            logs["seconds"] = seconds
            hooks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    last = steps_of.last_batch()
    if last is not None:
        model.last_batch = last                 # for explaining after training
    hooks.on_train_end(logs)
    return model.history


class ReferenceSteps:
    """An epoch's training steps the readable way: take each batch, scale its pixels to 0-1, and
    run the model's four-line train_step on it. `run(epoch, order, before)` calls before(step),
    if given, ahead of each step and yields (step, batch size, loss, right answers) after it;
    fast_dense.FastSteps does the same, compiled. labels: each image's right class (y itself,
    or the class of each one-hot row)."""

    def __init__(self, model, x, y, labels, batch_size, augment=None):
        self.model, self.x, self.y, self.labels = model, x, y, labels
        self.batch_size, self.augment = batch_size, augment
        self.x_batch = np.empty((batch_size,) + x.shape[1:], dtype=np.float32)
        self.xb = self.yb = None

    def run(self, epoch, order, before=None):
        for step in range(math.ceil(len(order) / self.batch_size)):
            if before is not None:
                before(step)
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
            yield step, len(idx), loss, int(np.count_nonzero(probs.argmax(axis=1) == self.labels[idx]))

    def last_batch(self):
        return None if self.xb is None else {"x": self.xb.copy(), "y": self.yb.copy()}


def split_validation(x, y, fraction):
    """((x_train, y_train), (x_val, y_val)): Keras's split, the last `fraction` of the rows held out
    (rows floor(n * (1 - fraction)) onwards), taken before any shuffling."""
    if isinstance(fraction, bool) or not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split: expected a number between 0 and 1, received {fraction!r}")
    n = len(x)
    keep = int(math.floor(n * (1.0 - fraction)))
    if keep == 0 or keep == n:
        raise DigitlensError(f"validation_split={fraction}: {n} images are not enough to hold some out "
                             "for validation and train on the rest")
    return (x[:keep], y[:keep]), (x[keep:], y[keep:])


def _callbacks(model, callbacks, verbose, epochs, steps, batch_size, samples):
    """fit's callbacks in Keras's order: the ones given, then History, then the progress line."""
    callbacks = list(callbacks or [])
    history = next((c for c in callbacks if isinstance(c, History)), None)
    if history is None:
        history = History()
        callbacks.append(history)
    if verbose != 0 and not any(isinstance(c, ProgressPrinter) for c in callbacks):
        callbacks.append(ProgressPrinter(verbose))
    model.history = history
    # Keras's params, and what digitlens's own callbacks also read (batch_size, samples).
    params = {"verbose": verbose, "epochs": epochs, "steps": steps, "batch_size": batch_size,
              "samples": samples}
    return CallbackList(callbacks, model, params)
