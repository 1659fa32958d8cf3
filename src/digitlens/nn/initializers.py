"""How a layer's weights start: Keras's initializers, by name.

A fresh network knows nothing, so its weights start random - but not just any random. Glorot
(Xavier) uniform, Keras's default for Dense kernels, draws from U(-limit, limit) with
limit = sqrt(6 / (fan_in + fan_out)), which keeps the size of the signal about the same from
layer to layer. For the lesson's first layer (784 inputs, 256 units) the limit is 0.0760.
Biases start at zero.

A convolution's kernel (3, 3, channels, filters) counts its fans as Keras does: each filter sees
3 x 3 x channels inputs (fan_in), and each input reaches 3 x 3 x filters outputs (fan_out). For
the course's Conv2D(32, 3x3) on one channel: fan_in 9, fan_out 288, limit sqrt(6 / 297) = 0.142.
"""

import math

import numpy as np


def fans(shape):
    """(fan_in, fan_out) of a kernel: (inputs, units), or (kh, kw, channels, filters) as Keras counts."""
    if len(shape) < 2:
        return shape[0], shape[0]
    window = math.prod(shape[:-2])          # 1 for a Dense kernel, kh * kw for a convolution's
    return shape[-2] * window, shape[-1] * window


def glorot_uniform(shape, rng):
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def glorot_normal(shape, rng):
    fan_in, fan_out = fans(shape)
    stddev = np.sqrt(2.0 / (fan_in + fan_out))
    return _truncated_normal(shape, stddev, rng)


def he_uniform(shape, rng):
    limit = np.sqrt(6.0 / fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def he_normal(shape, rng):
    return _truncated_normal(shape, np.sqrt(2.0 / fans(shape)[0]), rng)


def zeros(shape, rng=None):
    return np.zeros(shape, dtype=np.float32)


def ones(shape, rng=None):
    return np.ones(shape, dtype=np.float32)


def _truncated_normal(shape, stddev, rng):
    # Keras's *_normal initializers redraw values beyond two standard deviations; the
    # 0.8796 factor restores the requested spread after that cut.
    stddev = stddev / 0.87962566103423978
    values = rng.normal(0.0, stddev, size=shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, size=int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values.astype(np.float32)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "ones": ones,
}


def get(name):
    if callable(name):
        return name
    key = name.lower() if isinstance(name, str) else name
    if key not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}: expected one of {', '.join(INITIALIZERS)}")
    return INITIALIZERS[key]


# Keras's class names for the same initializers, as they appear in model files.
KERAS_NAMES = {"glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
               "he_uniform": "HeUniform", "he_normal": "HeNormal", "zeros": "Zeros", "ones": "Ones"}


def keras_config(name):
    """Keras 3's serialized form of initializer `name`: {"module", "class_name", "config", ...}."""
    class_name = KERAS_NAMES.get(name, "GlorotUniform") if isinstance(name, str) else "GlorotUniform"
    config = {"seed": None} if class_name not in ("Zeros", "Ones") else {}
    return {"module": "keras.initializers", "class_name": class_name, "config": config,
            "registered_name": None}


def from_keras(value, default):
    """The initializer's name from a Keras config entry (a name or a serialized object).

    One digitlens does not have falls back to `default`: it only matters for training from
    scratch, never for the weights a file holds.
    """
    if isinstance(value, dict):
        value = value.get("class_name")
    if not isinstance(value, str):
        return default
    by_class = {v: k for k, v in KERAS_NAMES.items()}
    key = by_class.get(value, value.lower())
    return key if key in INITIALIZERS else default
