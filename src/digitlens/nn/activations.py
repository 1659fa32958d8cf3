"""Activation functions and their derivatives, looked up by the names Keras uses.

Each activation is a pair: `forward(z, out)` computes a = f(z), and `backward(da, a, out)` turns
the gradient with respect to the activation into the gradient with respect to the weighted sum,
dz = da * f'(z). Every derivative here is written in terms of the output `a`, which the layer
keeps from the forward pass, so nothing else has to be stored.

`out` lets a layer reuse its own buffers (no new arrays per batch); `out` may be `z` or `da`
itself, so the work happens in place.

    ACTIVATIONS["relu"].forward(np.array([-1.0, 2.0]), out=None)   # array([0., 2.])

The command line, the Keras file reader and the web app all look activations up in the one
table at the bottom, `ACTIVATIONS`.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np


def linear_forward(z, out=None):
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def linear_backward(da, a, out=None):
    return linear_forward(da, out)


def relu_forward(z, out=None):
    return np.maximum(z, 0.0, out=out)


def relu_backward(da, a, out=None):
    # d relu(z)/dz is 1 where the neuron fired (a > 0) and 0 where it was silent.
    return np.multiply(da, a > 0.0, out=out)


def sigmoid_forward(z, out=None):
    # 1 / (1 + exp(-z)), computed as 0.5 * (1 + tanh(z / 2)), which never overflows.
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_backward(da, a, out=None):
    # sigmoid'(z) = a * (1 - a)
    return np.multiply(da, a * (1.0 - a), out=out)


def tanh_forward(z, out=None):
    return np.tanh(z, out=out)


def tanh_backward(da, a, out=None):
    # tanh'(z) = 1 - a^2
    return np.multiply(da, 1.0 - a * a, out=out)


def softmax_forward(z, out=None):
    """Turn each row of scores into probabilities that sum to 1.

    Subtracting the row's largest score first changes nothing mathematically
    (exp(z - c) / sum(exp(z - c)) = exp(z) / sum(exp(z))) but keeps exp from overflowing.
    """
    out = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)  # z - max
    np.exp(out, out=out)                                         # exp
    out /= out.sum(axis=-1, keepdims=True)                       # divide by the sum
    return out


def softmax_backward(da, a, out=None):
    # The softmax mixes its inputs: dz_i = a_i * (da_i - sum_j da_j * a_j).
    # (With cross-entropy on top the model skips this and uses dz = probs - onehot; see losses.py.)
    weighted = (da * a).sum(axis=-1, keepdims=True)
    out = np.subtract(da, weighted, out=out)
    out *= a
    return out


@dataclass(frozen=True, repr=False)
class Activation:
    name: str
    forward: Callable
    backward: Callable

    def __call__(self, z):
        """f(z) on a copy: `keras.activations.relu(x)`, `tf.nn.relu(x)` as plain functions."""
        return self.forward(np.array(z, dtype=np.float32, copy=True))

    @property
    def __name__(self):                 # as Keras's functions: keras.activations.relu.__name__
        return self.name

    def __repr__(self):
        return f"<activation {self.name}>"


ACTIVATIONS = {
    "linear": Activation("linear", linear_forward, linear_backward),
    "relu": Activation("relu", relu_forward, relu_backward),
    "sigmoid": Activation("sigmoid", sigmoid_forward, sigmoid_backward),
    "tanh": Activation("tanh", tanh_forward, tanh_backward),
    "softmax": Activation("softmax", softmax_forward, softmax_backward),
}


def get(name):
    """The activation called `name` ("relu", "softmax", ...); None means "linear", as in Keras."""
    if name is None:
        name = "linear"
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        given = repr(name) if isinstance(name, str) else f"{getattr(name, '__name__', type(name).__name__)!r}"
        raise ValueError(f"unknown activation {given}: digitlens has {known} (as a name like 'relu', "
                         "keras.activations.relu or tf.nn.relu)")
    return ACTIVATIONS[name.lower()]


def from_config(value):
    """The activation's name from a Keras config entry: "relu", None, or a serialized object
    {"module": "keras.activations", "class_name": "function", "config": "relu", ...}."""
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner if isinstance(inner, str) else value.get("class_name")
    if value is None:
        return "linear"
    if not isinstance(value, str) or value.lower() not in ACTIVATIONS:
        raise ValueError(f"uses the activation {value!r}; digitlens has {', '.join(ACTIVATIONS)}")
    return value.lower()
