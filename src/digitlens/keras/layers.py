"""keras.layers: the layers of the lesson's network and of the course's CNN, which are digitlens.nn's layers.

    keras.layers.Flatten(input_shape=(28, 28))
    keras.layers.Dense(256, activation="relu")          # or keras.activations.relu, or tf.nn.relu
    keras.layers.Dropout(0.2)
    keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))
    keras.layers.MaxPooling2D(2, 2)

They take Keras's arguments. As Keras 3 does, a layer given input_shape= (or input_dim=) warns
that an Input is the preferred first entry - and the model is built at once, so summary() works
straight away. Settings digitlens does not have (regularizers, constraints, dilation, another
dtype, a frozen layer) are refused by name.
"""

import warnings

from digitlens.keras import utils
from digitlens.keras.missing import missing
from digitlens.nn import layers as nn_layers
from digitlens.nn import conv as nn_conv, normalization as nn_normalization, pooling as nn_pooling, \
    reshaping as nn_reshaping
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


class Conv2D(nn_conv.Conv2D):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, input_shape=None, name=None, **kwargs):
        _refuse("Conv2D", {"data_format": (data_format, (None, "channels_last")),
                           "dilation_rate": (_pair(dilation_rate), ((1, 1),)), "groups": (groups, (1,)),
                           "kernel_regularizer": (kernel_regularizer, (None,)),
                           "bias_regularizer": (bias_regularizer, (None,)),
                           "activity_regularizer": (activity_regularizer, (None,)),
                           "kernel_constraint": (kernel_constraint, (None,)),
                           "bias_constraint": (bias_constraint, (None,))})
        _layer_settings("Conv2D", kwargs)
        super().__init__(filters, kernel_size, strides=strides, padding=padding, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, name=name, input_shape=_input_shape(input_shape))


class MaxPooling2D(nn_pooling.MaxPooling2D):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, input_shape=None,
                 name=None, **kwargs):
        _refuse("MaxPooling2D", {"data_format": (data_format, (None, "channels_last"))})
        _layer_settings("MaxPooling2D", kwargs)
        super().__init__(pool_size, strides=strides, padding=padding, name=name,
                         input_shape=_input_shape(input_shape))


class AveragePooling2D(nn_pooling.AveragePooling2D):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, input_shape=None,
                 name=None, **kwargs):
        _refuse("AveragePooling2D", {"data_format": (data_format, (None, "channels_last"))})
        _layer_settings("AveragePooling2D", kwargs)
        super().__init__(pool_size, strides=strides, padding=padding, name=name,
                         input_shape=_input_shape(input_shape))


class GlobalAveragePooling2D(nn_pooling.GlobalAveragePooling2D):
    def __init__(self, data_format=None, keepdims=False, input_shape=None, name=None, **kwargs):
        _refuse("GlobalAveragePooling2D", {"data_format": (data_format, (None, "channels_last"))})
        _layer_settings("GlobalAveragePooling2D", kwargs)
        super().__init__(keepdims=keepdims, name=name, input_shape=_input_shape(input_shape))


class BatchNormalization(nn_normalization.BatchNormalization):
    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, input_shape=None, name=None,
                 **kwargs):
        _refuse("BatchNormalization", {"beta_initializer": (beta_initializer, ("zeros",)),
                                       "gamma_initializer": (gamma_initializer, ("ones",)),
                                       "moving_mean_initializer": (moving_mean_initializer, ("zeros",)),
                                       "moving_variance_initializer": (moving_variance_initializer, ("ones",)),
                                       "beta_regularizer": (beta_regularizer, (None,)),
                                       "gamma_regularizer": (gamma_regularizer, (None,)),
                                       "beta_constraint": (beta_constraint, (None,)),
                                       "gamma_constraint": (gamma_constraint, (None,)),
                                       "synchronized": (synchronized, (False,))})
        _layer_settings("BatchNormalization", kwargs)
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale, name=name,
                         input_shape=_input_shape(input_shape))


class Reshape(nn_reshaping.Reshape):
    def __init__(self, target_shape, input_shape=None, name=None, **kwargs):
        _layer_settings("Reshape", kwargs)
        super().__init__(target_shape, name=name, input_shape=_input_shape(input_shape))


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


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _refuse(layer, settings):
    for key, (value, fine) in settings.items():
        if not any(value is f or (type(value) is type(f) and value == f) for f in fine):
            raise ValueError(f"{layer}({key}={value!r}) is not in digitlens: it has {key}="
                             + " or ".join(repr(f) for f in fine if f is not None or len(fine) == 1))


__all__ = ["AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "Input", "InputLayer", "MaxPooling2D", "Reshape"]
__getattr__ = missing("keras.layers", __all__, {
    "Activation": "give the activation to the Dense layer instead, Dense(10, activation='softmax')",
})
