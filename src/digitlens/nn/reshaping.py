"""Reshape: the same numbers in another shape, e.g. (N, 784) -> (N, 28, 28, 1). No weights.

Learners reshape both ways: a flat 784 back into an image for a convolution, or an image into the
channels a Conv2D expects. The values keep their order (row by row, channels last, as NumPy and
Keras lay them out); only the shape changes, so backward reshapes the gradient back. One entry of
the target may be -1, meaning "whatever is left", as in NumPy and Keras.

Flatten, the reshape every Dense network starts with, is in layers.py beside Dense.
"""

import math

import numpy as np

from .layer import Layer, register, shape_text


@register
class Reshape(Layer):
    """The input's values, in order, in the shape target_shape (per example, without the batch)."""

    rearranges = True

    def __init__(self, target_shape, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if (not isinstance(target_shape, (list, tuple)) or not target_shape
                or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d >= 1 or d == -1)
                           for d in target_shape)
                or sum(1 for d in target_shape if d == -1) > 1):
            raise ValueError(f"Reshape target_shape: expected positive sizes (one may be -1), "
                             f"received {target_shape!r}")
        self.target_shape = tuple(int(d) for d in target_shape)

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        shape = tuple(size // known if d == -1 else d for d in self.target_shape)
        if math.prod(shape) != size:
            raise ValueError(f"Reshape layer {self.name!r}: cannot lay {size:,} values "
                             f"({shape_text(input_shape)}) out as {shape_text(self.target_shape)}")
        return shape

    def forward(self, x, training=False):
        return x.reshape((len(x),) + self.output_shape)          # a view: no copy

    def backward(self, dout):
        return dout.reshape((len(dout),) + self.input_shape)

    def arithmetic(self):
        return (f"{shape_text(self.input_shape)} -> {shape_text(self.output_shape)}, the same "
                f"{math.prod(self.input_shape):,} values; no weights")

    def what(self):
        return (f"lays the same {math.prod(self.input_shape):,} numbers out as {shape_text(self.output_shape)} "
                f"instead of {shape_text(self.input_shape)}")

    def label(self):
        return f"Reshape {'x'.join(map(str, self.output_shape or self.target_shape))}"

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

    @classmethod
    def from_config(cls, config):
        if "target_shape" not in config:
            raise ValueError("does not say its target_shape")
        return cls(config["target_shape"], name=config.get("name"))
