"""`fit`: the training loop around the model's four-line `train_step` (model.py).

    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test))

An epoch is one pass over the training images in a new random order, a batch at a time: take the
batch, scale its pixels to 0-1, run `train_step` (forward, loss, backward, optimizer), and tell the
callbacks how it went. At the end of the epoch the validation data, if any, is scored. As in Keras:
batch_size defaults to 32, the data is shuffled every epoch, and validation_split holds out the
last fraction of the data (before shuffling).

Left out: everything the step itself does (model.py), and how the cores are shared (threads.py).
"""

import math
import time

import numpy as np

from . import callbacks as callbacks_module
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
        val_x = model.prepare_inputs(validation_data[0], "validation_data x")
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

    x_batch = np.empty((batch_size,) + x.shape[1:], dtype=np.float32)
    xb = yb = None
    with training_threads(batch_size, model.optimizer):
        for epoch in range(initial_epoch, initial_epoch + epochs):
            for hook in hooks:
                hook.on_epoch_begin(epoch)
            order = model.rng.permutation(n) if shuffle else np.arange(n)
            total_loss = total_correct = seen = 0.0
            started = time.perf_counter()
            for step in range(steps):
                idx = order[step * batch_size:(step + 1) * batch_size]
                xb = x_batch[:len(idx)]
                if x.dtype == np.uint8:
                    np.multiply(x[idx], np.float32(1.0 / 255.0), out=xb)   # pixels 0-255 -> 0-1
                else:
                    np.take(x, idx, axis=0, out=xb)
                yb = y[idx]
                if augment is not None:
                    xb = augment(xb, model.rng)
                loss, probs = model.train_step(xb, yb)
                correct = int(np.count_nonzero(probs.argmax(axis=1) == yb))
                total_loss += loss * len(idx)
                total_correct += correct
                seen += len(idx)
                logs = {"loss": total_loss / seen, "accuracy": total_correct / seen,
                        "batch_loss": loss, "batch_accuracy": correct / len(idx)}
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
    if xb is not None:
        model.last_batch = {"x": xb.copy(), "y": yb.copy()}   # for explaining after training
    for hook in hooks:
        hook.on_train_end()
    return history
