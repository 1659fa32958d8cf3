"""keras.losses: cross-entropy as Keras users name it - strings, objects or functions.

    model.compile(loss="sparse_categorical_crossentropy")                     # digits as labels
    model.compile(loss=keras.losses.CategoricalCrossentropy())                # one-hot labels
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # no softmax layer
    keras.losses.sparse_categorical_crossentropy(y_true, y_pred)              # (N,) per image

The arithmetic is digitlens.nn.losses'. Keras's loss objects are called loss(y_true, y_pred),
labels first; the objects here are thin wrappers that keep Keras's order and hand the nn loss
(`digitlens_loss`) to compile.
"""

import numpy as np

from digitlens.keras.missing import missing
from digitlens.nn import losses as nn_losses
from digitlens.nn.losses import categorical_crossentropy, sparse_categorical_crossentropy


class _Loss:
    nn_class = None

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None, **settings):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"{type(self).__name__}(reduction={reduction!r}) is not in digitlens: it "
                             "averages over the batch (reduction='sum_over_batch_size')")
        for key, value in settings.items():
            if value not in self.neutral.get(key, ()):
                raise ValueError(f"{type(self).__name__}({key}={value!r}) is not in digitlens")
        self.digitlens_loss = self.nn_class(from_logits, name)
        self.from_logits, self.name, self.reduction = from_logits, self.digitlens_loss.name, reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The batch's mean loss, as Keras's loss(y_true, y_pred) gives it."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not in digitlens")
        return self.digitlens_loss(np.asarray(y_pred), self._labels(y_true))

    def get_config(self):
        return {**self.digitlens_loss.get_config(), **self.extra_config}

    def __repr__(self):
        return f"<keras.losses.{type(self).__name__} from_logits={self.from_logits}>"


class SparseCategoricalCrossentropy(_Loss):
    """Labels are digits (N,): -log p[y]."""

    nn_class = nn_losses.SparseCategoricalCrossentropy
    neutral = {"ignore_class": (None,)}
    extra_config = {"ignore_class": None}

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", name=None):
        super().__init__(from_logits, reduction, name, ignore_class=ignore_class)

    def _labels(self, y_true):
        y = np.asarray(y_true)
        return (y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y).astype(np.intp)


class CategoricalCrossentropy(_Loss):
    """Labels are one-hot rows (N, classes): -sum t log p."""

    nn_class = nn_losses.CategoricalCrossentropy
    neutral = {"label_smoothing": (0, 0.0), "axis": (-1, 1)}
    extra_config = {"label_smoothing": 0.0, "axis": -1}

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name=None):
        super().__init__(from_logits, reduction, name, label_smoothing=label_smoothing, axis=axis)

    def _labels(self, y_true):
        return np.asarray(y_true, dtype=np.float32)


def get(identifier):
    """The loss for a name, an object or a function, as compile takes it."""
    return nn_losses.get(identifier)


__all__ = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "categorical_crossentropy", "get",
           "sparse_categorical_crossentropy"]
__getattr__ = missing("keras.losses", __all__)
