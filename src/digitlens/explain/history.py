"""Training curves from a model's History: loss and accuracy per epoch and per batch.

Per epoch, Keras's numbers: the mean over the epoch's batches (as the weights kept changing), and
val_* measured on the validation data at the epoch's end. Per batch, each step's own loss and
accuracy, which jump around because each batch holds different images; `smooth` averages them
over a sliding window so the trend is visible.

Positions are counted in epochs so both curves share one axis: an epoch's mean sits at its end
(epoch 1 at x = 1), batch b of epoch e at x = e + (b + 1) / steps.
"""

import numpy as np

from ..errors import DigitlensError


def curves(history, smooth=None):
    """{"epoch": {"x", "epoch", <every key of history.history>}, "batch": {"x", "epoch", "batch",
    "loss", "accuracy", "smoothed_loss", "smoothed_accuracy", "window"}} as lists.

    history: a History (model.history), its to_dict(), or Keras's plain {"loss": [...], ...}.
    smooth: the window for the smoothed batch curves (default: about 1/40 of an epoch, at least 1).
    """
    if history is None:
        raise DigitlensError("history: this model has no training history: train it with fit() first")
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    if "history" in history:
        per_epoch, batches = history["history"], history.get("batches") or []
        epochs = history.get("epoch") or list(range(len(next(iter(per_epoch.values()), []))))
        seconds = history.get("seconds")
    else:
        per_epoch, batches, seconds = history, [], None
        epochs = list(range(len(next(iter(per_epoch.values()), []))))
    epoch = {"x": [e + 1 for e in epochs], "epoch": [e + 1 for e in epochs]}
    epoch.update({key: [float(v) for v in values] for key, values in per_epoch.items()})
    if seconds:
        epoch["seconds"] = [float(s) if s is not None else None for s in seconds]

    steps = {}
    for record in batches:
        steps[record["epoch"]] = max(steps.get(record["epoch"], 0), record["batch"] + 1)
    # Every epoch has the same number of steps; one cut short by a stop has fewer records, and
    # must not be stretched over a whole epoch: the longest epoch gives the length of all.
    per_epoch = max(steps.values()) if steps else 1
    x = [r["epoch"] + (r["batch"] + 1) / per_epoch for r in batches]
    loss = [float(r["loss"]) for r in batches]
    accuracy = [float(r["accuracy"]) for r in batches]
    window = smooth or max(1, (max(steps.values()) if steps else 1) // 40)
    batch = {"x": x, "epoch": [r["epoch"] + 1 for r in batches], "batch": [r["batch"] for r in batches],
             "loss": loss, "accuracy": accuracy, "window": window,
             "smoothed_loss": moving_average(loss, window), "smoothed_accuracy": moving_average(accuracy, window)}
    return {"epoch": epoch, "batch": batch}


def moving_average(values, window):
    """The mean of each value and the (window - 1) before it (fewer at the start)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return []
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return ((sums[ends] - sums[starts]) / (ends - starts)).tolist()
