"""evaluate and predict: what the model makes of data it does not learn from.

    loss, accuracy = model.evaluate(x_test, y_test)     # [loss, accuracy], as Keras returns them
    probs = model.predict(x_test)                      # (10000, 10)

Both go through the data in batches of batch_size (32 by default, as in Keras) whenever someone
is watching - a progress line (verbose) or a callback with batch hooks - calling the same hooks
Keras calls (callbacks.py). With nobody watching they go in chunks of up to 10,000 images (fewer
when a layer's outputs are large: model.predict_chunk), which gives the same numbers (up to float
rounding) in fewer, larger matrix products. A prediction keeps nothing on the layers, so two
threads may predict with one model at once - and a large prediction is cut into pieces that run
on every core at once (threads.prediction_threads).

The loss is the mean over all images of the loss of each, and accuracy the share of images
whose most probable class is the true one - also what Keras's running means come to at the end.

Left out: Keras's steps= and sample_weight= (digitlens.keras refuses them by name).
"""

import contextlib

import numpy as np

from . import fast_dense, metrics
from .callbacks import CallbackList
from .progbar import ProgressPrinter
from .threads import batch_threads, prediction_threads
from ..errors import DigitlensError, NotBuiltError

KERAS_BATCH = 32


def predict(model, x, batch_size=None, verbose=0, callbacks=None):
    """The model's outputs (N, classes) for the images x."""
    quiet = verbose == 0 and not callbacks and batch_size is None
    fast = fast_dense.predictor(model) if quiet and model.built else None   # compiled, if it covers the model
    x = model.prepare_inputs(x, "x", keep_uint8=fast is not None)
    if fast is not None:
        return fast(x)
    if quiet:
        return _predict_quietly(model, x)
    hooks = _hooks(model, callbacks, verbose, len(x), batch_size)
    size = _batch_size(batch_size, _watched(hooks, "on_predict_batch"), model)
    hooks.on_predict_begin()
    outputs = []
    with batch_threads(size) if len(x) > size else contextlib.nullcontext():
        for step, start in enumerate(range(0, len(x), size)):
            hooks.on_predict_batch_begin(step)
            outputs.append(model.forward(x[start:start + size]))
            hooks.on_predict_batch_end(step, {"outputs": outputs[-1]})
    hooks.on_predict_end()
    if len(outputs) == 1:
        return outputs[0]
    return np.concatenate(outputs) if outputs else np.zeros((0,) + tuple(model.output_shape), np.float32)


def _predict_quietly(model, x):
    """predict with nobody watching: a few images in one pass; many in pieces of at most
    model.predict_chunk() images and at least one per core, the cores working at once."""
    if len(x) < 64 and len(x) <= model.predict_chunk():
        return model.forward(x)
    with prediction_threads(len(x)) as threads:
        chunk = min(model.predict_chunk(), -(-len(x) // threads.workers))
        if len(x) <= chunk:
            return model.forward(x)
        return np.concatenate(threads.map(model.forward, [x[i:i + chunk] for i in range(0, len(x), chunk)]))


def evaluate(model, x, y, batch_size=None, verbose=0, callbacks=None, return_dict=False, hooks=None):
    """The loss and metrics on (x, y): [loss, accuracy] (or the loss alone without metrics), or
    {"accuracy": ..., "loss": ...} with return_dict. `hooks`: fit's callbacks, when fit validates."""
    if model.loss is None:
        raise NotBuiltError("this model has not been compiled: call compile(optimizer, loss) first")
    x = model.prepare_inputs(x, "x")
    y = model.prepare_targets(y, len(x), "y")
    if not len(x):
        raise DigitlensError("x: expected at least one image to evaluate, received none")
    labels = model.loss.true_classes(y)
    in_fit = hooks is not None
    hooks = hooks or _hooks(model, callbacks, verbose, len(x), batch_size)
    size = _batch_size(batch_size, _watched(hooks, "on_test_batch", in_fit), model)
    hooks.on_test_begin()
    total_loss = correct = seen = 0
    with batch_threads(size) if len(x) > size and not in_fit else contextlib.nullcontext():
        for step, start in enumerate(range(0, len(x), size)):
            hooks.on_test_batch_begin(step)
            outputs = model.forward(x[start:start + size])
            total_loss += float(model.loss.per_example(outputs, y[start:start + size]).sum(dtype=np.float64))
            correct += int(np.count_nonzero(outputs.argmax(axis=1) == labels[start:start + size]))
            seen += len(outputs)
            logs = metrics.logs(model.metrics, total_loss / seen, correct / seen)
            hooks.on_test_batch_end(step, logs)
    hooks.on_test_end(logs)
    if return_dict:
        return dict(logs)
    if not model.metrics:
        return logs["loss"]
    return [logs["loss"]] + [logs[name] for name in model.metrics]


def _hooks(model, callbacks, verbose, n, batch_size):
    """A CallbackList for one evaluate or predict: the given callbacks, and the progress line."""
    callbacks = list(callbacks or [])
    if verbose != 0 and not any(isinstance(c, ProgressPrinter) for c in callbacks):
        callbacks.append(ProgressPrinter(verbose))
    steps = -(-n // (batch_size or KERAS_BATCH))
    return CallbackList(callbacks, model, {"verbose": verbose, "epochs": 1, "steps": steps})


def _watched(hooks, prefix, in_fit=False):
    """True if a callback wants to hear about each batch (fit's progress line does not, in fit)."""
    watchers = hooks.listening(prefix + "_begin") + hooks.listening(prefix + "_end")
    return any(not (in_fit and isinstance(c, ProgressPrinter)) for c in watchers)


def _batch_size(batch_size, watched, model):
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(f"batch_size: expected a positive integer, received {batch_size!r}")
    if watched:
        return int(batch_size or KERAS_BATCH)
    return int(batch_size or model.predict_chunk())
