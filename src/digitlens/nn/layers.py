"""The layers of the lesson's network, each with its forward and backward pass side by side.

A layer turns a batch of inputs into a batch of outputs (`forward`) and, during training, turns the
gradient of the loss with respect to its outputs back into the gradient with respect to its inputs
(`backward`), storing the gradients of its own weights on the way. Batches come first: an input
of 32 images of 28x28 pixels is an array of shape (32, 28, 28).

    Flatten   (N, 28, 28) -> (N, 784)     no weights: the 28 rows laid end to end
    Dense     (N, 784) -> (N, 256)        a = activation(x @ kernel + bias)
    Dropout   (N, 256) -> (N, 256)        zeroes a random fraction `rate` while training

What every layer has in common - its description, its Keras config, the registry of layer types -
is in layer.py. The weights are views into the model's one flat float32 array (see model.py).
The convolutional layers of the course's next lesson are in conv.py, pooling.py and friends.
"""

import math

import numpy as np

from . import activations, initializers
from .layer import Layer, plural, register, shape_text


@register
class InputLayer(Layer):
    """Declares the shape of one example; does nothing to the data."""

    def __init__(self, shape, name=None):
        super().__init__(name=name, input_shape=shape)

    def forward(self, x, training=False):
        return x

    def backward(self, dout):
        return dout

    def what(self):
        return f"one example is {shape_text(self.input_shape)} numbers"

    def get_config(self):
        return {"batch_shape": [None, *self.declared_input_shape], "dtype": "float32", "sparse": False,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        shape = shape[1:] if isinstance(shape, (list, tuple)) and len(shape) > 1 else config.get("shape")
        if not isinstance(shape, (list, tuple)) or not shape or not all(
                isinstance(d, int) and d > 0 for d in shape):
            raise ValueError(f"does not give its shape (received {shape!r})")
        return cls(tuple(shape), name=config.get("name"))


def Input(shape, name=None):
    """Keras's `keras.Input(shape=(28, 28))`: the first entry of a Sequential model."""
    return InputLayer(shape, name=name)


@register
class Flatten(Layer):
    """Lay the rows of each image end to end: pixel (row, col) becomes input 28 * row + col.

    For images with channels (N, H, W, C) the order is Keras's channels_last: all C channels of
    pixel (0, 0), then those of pixel (0, 1), and so on.
    """

    rearranges = True

    def __init__(self, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(len(x), -1)                        # (N, 28, 28) -> (N, 784), a view: no copy

    def backward(self, dout):
        return dout.reshape((len(dout),) + self.input_shape)  # (N, 784) -> (N, 28, 28)

    def arithmetic(self):
        what = "pixels" if len(self.input_shape) == 2 else "values"
        return (f"{shape_text(self.input_shape)} {what} laid end to end = "
                f"{self.output_shape[0]:,} inputs; no weights")

    def what(self):
        return (f"lays the {shape_text(self.input_shape)} input end to end as {self.output_shape[0]:,} "
                "numbers: the next layer no longer knows which were neighbours")

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}

    @classmethod
    def from_config(cls, config):
        if config.get("data_format", "channels_last") not in ("channels_last", None):
            raise ValueError(f"has data_format {config.get('data_format')!r}; digitlens flattens channels_last")
        return cls(name=config.get("name"))


@register
class Dense(Layer):
    """Every input wired to every unit: a = activation(x @ kernel + bias).

    kernel has shape (inputs, units): column j holds the weights of the connections into unit j,
    row i the weights of the connections out of input i. bias has shape (units,).
    """

    trainable = True
    connectivity = "full"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
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

    def weight_names(self):
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def initial_values(self, rng):
        values = {"kernel": initializers.get(self.kernel_initializer)((self.input_shape[0], self.units), rng)}
        if self.use_bias:
            values["bias"] = initializers.get(self.bias_initializer)((self.units,), rng)
        return values

    # ---- forward and backward --------------------------------------------------------------

    def weighted_sum(self, x, out=None):
        """z = x @ kernel + bias, the value each unit computes before its activation."""
        z = np.matmul(x, self.kernel, out=out)   # (N, 784) @ (784, 256) -> (N, 256)
        if self.use_bias:
            z += self.bias                       # (N, 256) + (256,): one bias per unit
        return z

    def forward(self, x, training=False):
        z = self.weighted_sum(x, out=self._buffer("a", (len(x), self.units), training))
        a = self.activation.forward(z, out=z)    # in place: z becomes the activation a
        if training:
            self.x, self.a = x, a                # kept for backward: dkernel needs x, f'(z) needs a
        return a

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

    # ---- describing itself -----------------------------------------------------------------

    def arithmetic(self):
        n_in, units = self.input_shape[0], self.units
        text = f"{n_in:,} inputs x {units:,} units = {n_in * units:,} weights"
        layout = self.input_layout
        if layout is not None and len(layout) >= 3:
            # Flattened feature maps (height x width x channels): say where the many inputs come
            # from. A flattened image's 28 x 28 is told by the Flatten row above it.
            text = f"{shape_text(layout)} = {text}"
        if self.use_bias:
            text += f" + {units:,} biases = {self.count_params():,}"
        return text

    def what(self):
        return (f"every one of its {self.input_shape[0]:,} inputs wired to each of its "
                f"{plural(self.units, 'unit')}: a = {self.activation.name}(x @ kernel + bias)")

    def label(self):
        return f"Dense {self.units:,} {self.activation.name}"

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.keras_config(self.kernel_initializer),
                "bias_initializer": initializers.keras_config(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}

    @classmethod
    def from_config(cls, config):
        if "units" not in config:
            raise ValueError("does not say how many units it has")
        return cls(int(config["units"]), activations.from_config(config.get("activation")),
                   use_bias=bool(config.get("use_bias", True)), name=config.get("name"),
                   kernel_initializer=initializers.from_keras(config.get("kernel_initializer"), "glorot_uniform"),
                   bias_initializer=initializers.from_keras(config.get("bias_initializer"), "zeros"))


@register
class Dropout(Layer):
    """While training, silence a random fraction `rate` of the inputs and scale the rest up by
    1 / (1 - rate), so the expected sum stays the same; at prediction time, do nothing."""

    rearranges = True             # passes its inputs on (scaled): their layout stays

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name=name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate: expected a number in [0, 1), received {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training:
            return x
        if self.rate == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.mask = keep * np.float32(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask

    def arithmetic(self):
        return f"drops {self.rate:.0%} of its inputs while training; no weights"

    def what(self):
        return (f"silences {self.rate:.0%} of its inputs at random while training (so no unit can rely "
                "on another); at prediction it passes everything on")

    def label(self):
        return f"Dropout {self.rate:.0%} (training only)"

    def deterministic_copy(self):
        twin = super().deterministic_copy()
        twin.rate = 0.0
        return twin

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": None}

    @classmethod
    def from_config(cls, config):
        if config.get("noise_shape") not in (None, []):
            raise ValueError(f"has noise_shape {config.get('noise_shape')!r}; digitlens drops single values")
        seed = config.get("seed")
        return cls(float(config.get("rate", 0.0)), seed=seed if isinstance(seed, int) else None,
                   name=config.get("name"))
