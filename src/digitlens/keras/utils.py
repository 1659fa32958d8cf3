"""keras.utils: the helpers learners' MNIST code reaches for.

    keras.utils.set_random_seed(7)                          # the same run every time
    y_onehot = keras.utils.to_categorical(y_train, 10)      # digits -> one-hot rows
    keras.utils.plot_model(model, to_file="model.png")      # digitlens's drawing of the network

set_random_seed: Keras seeds Python's, NumPy's and its backend's generators. digitlens models
and Dropout layers draw from their own generators; after set_random_seed(n) the Keras facade
gives each new model and Dropout layer a seed taken, in order, from a generator seeded with n,
so the same script gives the same weights, batches and results.

plot_model draws digitlens's own picture of the network (digitlens.viz.diagram: the image, the
flattened strip, every neuron and a sample of the connections, with the parameter arithmetic)
instead of Keras's Graphviz boxes, so it needs no Graphviz. It always shows the layer names,
sizes and activations; Keras's options about what its boxes show (show_shapes, show_dtype,
rankdir, dpi, ...) are accepted and change nothing in this drawing.
"""

import os
import random

import numpy as np

from digitlens.keras.missing import missing

_seeds = None


def set_random_seed(seed):
    global _seeds
    random.seed(seed)
    np.random.seed(seed)
    _seeds = np.random.default_rng(seed)


def next_seed():
    """The next seed for a new model or layer, or None if set_random_seed has not been called."""
    return None if _seeds is None else int(_seeds.integers(2**63))


def to_categorical(x, num_classes=None):
    """One-hot rows for class numbers, as Keras's: [1, 2] -> [[0, 1, 0], [0, 0, 1]] (float64).

    x: integer labels of any shape; the result has one more axis, of size num_classes (by default
    the largest label + 1). A trailing axis of size 1 is dropped first, as Keras does.
    """
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: expected class numbers 0 or more, received {x.min()}")
    num_classes = int(np.max(x) + 1) if not num_classes else int(num_classes)
    if x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical: label {x.max()} does not fit num_classes={num_classes}")
    onehot = np.zeros((len(x), num_classes))
    onehot[np.arange(len(x)), x] = 1
    return onehot.reshape(shape + (num_classes,))


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, **kwargs):
    """Draw `model` into `to_file` (.png or .svg) with digitlens's diagram (see above).

    Returns the picture for a notebook to show (IPython's Image or SVG) when IPython is there,
    as Keras does; otherwise None.
    """
    from digitlens.viz.diagram import write_diagram

    unknown = sorted(set(kwargs) - {"layer_range"})
    if unknown:
        raise TypeError(f"plot_model: unknown argument {unknown[0]!r}")
    path = write_diagram(model, os.fspath(to_file))
    try:
        from IPython import display
    except ImportError:
        return None
    if path.suffix.lower() == ".svg":
        return display.SVG(filename=str(path))
    return display.Image(filename=str(path))


def model_to_dot(model, *args, **kwargs):
    """Keras draws with Graphviz (pydot); digitlens does not. Refused, pointing at plot_model."""
    raise NotImplementedError("keras.utils.model_to_dot builds a Graphviz graph, which digitlens does "
                              "not use: draw the model with keras.utils.plot_model(model, "
                              "to_file='model.svg') instead")


def clear_session(free_memory=True):
    """Keras forgets its layer names and graphs; digitlens keeps nothing between models, so there is
    nothing to clear (the seeds of set_random_seed stay)."""


__all__ = ["clear_session", "model_to_dot", "next_seed", "plot_model", "set_random_seed", "to_categorical"]
__getattr__ = missing("keras.utils", __all__)
