"""keras.layers: the layers of the lesson's network, which are digitlens.nn's layers.

    keras.layers.Flatten(input_shape=(28, 28))
    keras.layers.Dense(256, activation="relu")          # or keras.activations.relu, or tf.nn.relu
    keras.layers.Dropout(0.2)

They take Keras's arguments. As Keras 3 does, a layer given input_shape= (or input_dim=) warns
that an Input is the preferred first entry - and the model is built at once, so summary() works
straight away. Settings digitlens does not have (regularizers, constraints, another dtype, a
frozen layer) are refused by name.
"""

import warnings

from digitlens.keras import utils
from digitlens.keras.missing import missing
from digitlens.nn import layers as nn_layers
from digitlens.nn.layers import InputLayer

INPUT_SHAPE_WARNING = ("Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
                       "Sequential models, prefer using an `Input(shape)` object as the first layer in "
                       "the model instead.")


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, **kwargs):
    """Keras's `keras.Input(shape=(28, 28))`: the first entry of a Sequential model."""
    _refuse("Input", {"sparse": (sparse, (None, False)), "dtype": (dtype, (None, "float32")),
                      **{k: (v, (None, False)) for k, v in kwargs.items()}})
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None:
        raise ValueError("Input: expected shape=(28, 28) (one example's shape, without the batch)")
    return InputLayer(tuple(shape), name=name)


class Flatten(nn_layers.Flatten):
    def __init__(self, data_format=None, input_shape=None, name=None, **kwargs):
        _layer_settings("Flatten", kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten data_format={data_format!r}: digitlens flattens channels_last")
        super().__init__(name=name, input_shape=_input_shape(input_shape))


class Dense(nn_layers.Dense):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 input_shape=None, input_dim=None, name=None, **kwargs):
        _refuse("Dense", {"kernel_regularizer": (kernel_regularizer, (None,)),
                          "bias_regularizer": (bias_regularizer, (None,)),
                          "activity_regularizer": (activity_regularizer, (None,)),
                          "kernel_constraint": (kernel_constraint, (None,)),
                          "bias_constraint": (bias_constraint, (None,))})
        _layer_settings("Dense", kwargs)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        super().__init__(units, activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, name=name, input_shape=_input_shape(input_shape))


class Dropout(nn_layers.Dropout):
    """nn's Dropout; without a seed it takes one from keras.utils.set_random_seed, if called."""

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        _refuse("Dropout", {"noise_shape": (noise_shape, (None,))})
        _layer_settings("Dropout", kwargs)
        super().__init__(rate, seed=utils.next_seed() if seed is None else seed, name=name)


def _input_shape(shape):
    if shape is not None:
        warnings.warn(INPUT_SHAPE_WARNING, UserWarning, stacklevel=3)
    return shape


def _layer_settings(layer, kwargs):
    """Keras's base-layer keywords: a float32, trainable layer is all digitlens has."""
    known = {"dtype": (None, "float32"), "trainable": (True,), "autocast": (True, False)}
    for key, value in kwargs.items():
        if key not in known:
            raise TypeError(f"{layer}: unknown argument {key!r}")
    _refuse(layer, {key: (value, known[key]) for key, value in kwargs.items()})


def _refuse(layer, settings):
    for key, (value, fine) in settings.items():
        if not any(value is f or (type(value) is type(f) and value == f) for f in fine):
            raise ValueError(f"{layer}({key}={value!r}) is not in digitlens: it has {key}="
                             + " or ".join(repr(f) for f in fine if f is not None or len(fine) == 1))


__all__ = ["Dense", "Dropout", "Flatten", "Input", "InputLayer"]
__getattr__ = missing("keras.layers", __all__, {
    "Activation": "give the activation to the Dense layer instead, Dense(10, activation='softmax')",
    "Conv2D": "the convolutional layers are not in this version of digitlens yet",
    "MaxPooling2D": "the convolutional layers are not in this version of digitlens yet",
})
