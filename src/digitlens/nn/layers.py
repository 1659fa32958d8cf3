"""The layers of the lesson's network, each with its forward and backward pass side by side.

A layer turns a batch of inputs into a batch of outputs (`forward`) and, during training, turns the
gradient of the loss with respect to its outputs back into the gradient with respect to its inputs
(`backward`), storing the gradients of its own weights on the way. Batches come first: an input
of 32 images of 28x28 pixels is an array of shape (32, 28, 28).

    Flatten   (N, 28, 28) -> (N, 784)     no weights: the 28 rows laid end to end
    Dense     (N, 784) -> (N, 256)        a = activation(x @ kernel + bias)
    Dropout   (N, 256) -> (N, 256)        zeroes a random fraction `rate` while training

The weights themselves are not owned by the layers: the model keeps every parameter in one flat
float32 array and gives each layer named views of it (`self.kernel`, `self.bias`), so the
optimizer can update all 203,530 numbers of the lesson's model in one pass. See model.py.

Left out: convolutions, recurrent layers and anything else the lesson does not use.
"""

import math

import numpy as np

from . import activations, initializers


class Layer:
    """What every layer has: a name, shapes, its parameters' shapes, forward and backward."""

    trainable = False

    def __init__(self, name=None, input_shape=None):
        self.name = name                  # the model names unnamed layers: dense, dense_1, ...
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_shape = None           # per example, without the batch: (28, 28)
        self.output_shape = None          # per example: (784,)
        self.needs_input_grad = True      # the first weighted layer need not compute dx
        self._buffers = {}

    def build(self, input_shape):
        """Fix the input shape (without the batch dimension) and return the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return input_shape

    def param_shapes(self):
        """{parameter name: shape}, in Keras's order; empty for layers without weights."""
        return {}

    def count_params(self):
        return sum(math.prod(shape) for shape in self.param_shapes().values())

    def bind(self, weights, grads):
        """Receive views of the model's flat parameter and gradient arrays, by name."""
        for key, view in weights.items():
            setattr(self, key, view)
        for key, view in grads.items():
            setattr(self, "d" + key, view)

    def initial_values(self, rng):
        return {}

    def get_config(self):
        return {"name": self.name}

    def _buffer(self, key, shape, training):
        # While training, reuse one array per (key, shape) instead of allocating every batch.
        # Outside training, always hand out a fresh array so callers may keep what they get.
        if not training:
            return np.empty(shape, dtype=np.float32)
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self._buffers[key] = np.empty(shape, dtype=np.float32)
        return buf

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} output_shape={self.output_shape}>"


class InputLayer(Layer):
    """Declares the shape of one example; does nothing to the data."""

    def __init__(self, shape, name=None):
        super().__init__(name=name, input_shape=shape)

    def forward(self, x, training=False):
        return x

    def backward(self, dout):
        return dout

    def get_config(self):
        return {"name": self.name, "shape": list(self.declared_input_shape)}


def Input(shape, name=None):
    """Keras's `keras.Input(shape=(28, 28))`: the first entry of a Sequential model."""
    return InputLayer(shape, name=name)


class Flatten(Layer):
    """Lay the rows of each image end to end: pixel (row, col) becomes input 28 * row + col."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.reshape(len(x), -1)        # (N, 28, 28) -> (N, 784), a view: no copy

    def backward(self, dout):
        return dout.reshape(self.x_shape)  # (N, 784) -> (N, 28, 28)


class Dense(Layer):
    """Every input wired to every unit: a = activation(x @ kernel + bias).

    kernel has shape (inputs, units): column j holds the weights of the connections into unit j,
    row i the weights of the connections out of input i. bias has shape (units,).
    """

    trainable = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units: expected a positive integer, received {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Dense layer {self.name!r}: expected flat inputs of shape (N, features), "
                             f"received (N, {', '.join(map(str, input_shape))}); put a Flatten layer first")
        return (self.units,)

    def param_shapes(self):
        shapes = {"kernel": (self.input_shape[0], self.units)}
        if self.use_bias:
            shapes["bias"] = (self.units,)
        return shapes

    def initial_values(self, rng):
        values = {"kernel": initializers.get(self.kernel_initializer)(self.param_shapes()["kernel"], rng)}
        if self.use_bias:
            values["bias"] = initializers.get(self.bias_initializer)((self.units,), rng)
        return values

    def weighted_sum(self, x):
        """z = x @ kernel + bias, the value each unit computes before its activation."""
        z = x @ self.kernel                 # (N, 784) @ (784, 256) -> (N, 256)
        if self.use_bias:
            z += self.bias                  # (N, 256) + (256,): one bias per unit
        return z

    def forward(self, x, training=False):
        self.x = x                          # kept: backward needs it for dkernel
        z = np.matmul(x, self.kernel, out=self._buffer("a", (len(x), self.units), training))
        if self.use_bias:
            z += self.bias
        self.a = self.activation.forward(z, out=z)  # in place: z becomes the activation a
        return self.a

    def backward(self, da):
        """da = dL/da (N, units) -> dL/dx (N, inputs); stores dkernel and dbias."""
        dz = self.activation.backward(da, self.a, out=da)   # dL/dz = dL/da * f'(z)
        return self.backward_linear(dz)

    def backward_linear(self, dz):
        """The part of backward after the activation: dz = dL/dz (N, units) -> dL/dx (N, inputs)."""
        np.matmul(self.x.T, dz, out=self.dkernel)   # (784, N) @ (N, 256) -> (784, 256)
        if self.use_bias:
            np.sum(dz, axis=0, out=self.dbias)      # each bias gets the sum over the batch
        if not self.needs_input_grad:
            return None                             # nothing before this layer learns
        dx = self._buffer("dx", self.x.shape, True)
        return np.matmul(dz, self.kernel.T, out=dx)  # (N, 256) @ (256, 784) -> (N, 784)

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias}


class Dropout(Layer):
    """While training, silence a random fraction `rate` of the inputs and scale the rest up by
    1 / (1 - rate), so the expected sum stays the same; at prediction time, do nothing."""

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name=name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate: expected a number in [0, 1), received {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.mask = keep * np.float32(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}


LAYERS = {"InputLayer": InputLayer, "Flatten": Flatten, "Dense": Dense, "Dropout": Dropout}
