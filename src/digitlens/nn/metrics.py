"""Metrics compile() accepts: accuracy, under the names Keras users give it.

    metrics=["accuracy"]                      the share of images whose most probable class is right
    metrics=["acc"]                           the same, logged as "acc"
    metrics=["sparse_categorical_accuracy"]   the same for digit labels, under its full name
    metrics=["categorical_accuracy"]          the same for one-hot labels

As in Keras, "accuracy" (or "acc") follows the loss's labels - digits for
sparse_categorical_crossentropy, one-hot rows for categorical_crossentropy - and the logs and
History use the name as it was given. Every other metric is refused by name.
"""

ACCURACY_NAMES = {"accuracy", "acc"}
# name -> (the loss whose labels it reads, what those labels are)
LABELLED = {"sparse_categorical_accuracy": ("sparse_categorical_crossentropy", "integer class labels"),
            "categorical_accuracy": ("categorical_crossentropy", "one-hot label rows")}


def names(metrics, loss):
    """The logs' names for compile's `metrics`, checked against the loss's kind of labels.

    A metric is a name above or a keras.metrics accuracy object (which says which labels it reads
    in `labels_for` and may carry a name of its own).
    """
    if metrics is None:
        return []
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    found = []
    for metric in metrics:
        name, kind = (metric, metric) if isinstance(metric, str) else (
            getattr(metric, "name", None), getattr(metric, "labels_for", None))
        if not isinstance(name, str) or (kind not in ACCURACY_NAMES and kind not in LABELLED):
            raise ValueError(f"unknown metric {metric!r}: digitlens has 'accuracy' (also spelled 'acc', "
                             "'sparse_categorical_accuracy' or 'categorical_accuracy')")
        if kind in LABELLED and loss is not None and loss.name != LABELLED[kind][0]:
            raise ValueError(f"the metric {kind!r} reads {LABELLED[kind][1]}, but the loss {loss.name!r} "
                             f"takes {loss.label_kind}: use metrics=['accuracy'], which follows the loss")
        if name not in found:
            found.append(name)
    return found


def logs(names, loss, accuracy):
    """Keras's logs for a loss and an accuracy: {"accuracy": ..., "loss": ...}, keys in alphabetical
    order as Keras gives them, one entry per metric name. (Called every training step: the usual
    cases are written out.)"""
    if not names:
        return {"loss": loss}
    if len(names) == 1:
        name = names[0]
        return {name: accuracy, "loss": loss} if name < "loss" else {"loss": loss, name: accuracy}
    found = {"loss": loss, **{name: accuracy for name in names}}
    return dict(sorted(found.items()))
