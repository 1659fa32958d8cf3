"""Conv2D: small filters slid across the image, so that each unit looks at a neighbourhood.

A Dense layer wires every pixel to every unit and forgets which pixels were neighbours. A
convolution keeps them: each of its `filters` is a small kernel - 3 x 3 pixels x the input's
channels - laid on every position of the image in turn, and at each position it outputs the
weighted sum of the window under it plus its bias. One filter makes one feature map, (28, 28, 1)
-> (26, 26) for a 3 x 3 kernel without padding. The same 9 weights serve every position, so the
course's 32 filters cost 3 x 3 x 1 x 32 + 32 = 320 parameters.

How it is computed: im2col ("image to columns"). Every window the kernel visits is copied out as
one row of a matrix, (N, 26, 26, 3 x 3 x 1) -> (N x 676, 9), and the whole convolution becomes
ONE matrix product with the kernel seen as (9, filters) - exactly what a Dense layer does, once
per window. NumPy's sliding_window_view finds the windows without a Python loop. The copy costs
memory (each pixel is copied once per window it falls in), but it turns the work into a product
that BLAS does fastest, and makes backward that same product turned around: the kernel's gradient
is windows.T @ dz, and each window's gradient, dz @ kernel.T, is added back onto the pixels it
came from (col2im), one kernel offset at a time.

Arrays are channels_last, as in Keras: x (N, H, W, channels), kernel (KH, KW, channels, filters),
bias (filters,). Padding "valid" uses only windows inside the image (28 -> 26); "same" surrounds it
with zeros so the output is ceil(H / stride) (28 -> 28), with an odd total put at the bottom and
right, as Keras pads. conv_kernels.py holds a compiled version of the hot loops for the common
case; this file is the reference the tests hold it to. Left out: dilation and groups (refused
when a file asks for them), channels_first.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import activations, conv_kernels, initializers, threads
from .layer import Layer, plural, register, shape_text


def pair(value, what):
    """3 -> (3, 3); [3, 2] -> (3, 2): Keras's way of giving a size for both directions."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in value)):
        raise ValueError(f"{what}: expected a positive integer or two of them, received {value!r}")
    return int(value[0]), int(value[1])


def padding_name(value):
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f'has padding {value!r}; digitlens pads "valid" or "same"')
    return value.lower()


def output_size(size, window, stride, padding):
    """How many positions a window of `window` takes along `size` in steps of `stride`."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1 if size >= window else 0


def padding_amounts(size, window, stride, padding):
    """(before, after): the zeros "same" padding adds on each side (Keras: the extra one after)."""
    if padding == "valid":
        return 0, 0
    total = max((output_size(size, window, stride, padding) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def check_channels_last(config):
    if config.get("data_format", "channels_last") not in ("channels_last", None):
        raise ValueError(f"has data_format {config.get('data_format')!r}; digitlens computes channels_last")


@register
class Conv2D(Layer):
    """`filters` kernels of kernel_size x channels, slid over the input: a = activation(windows @ kernel + bias)."""

    trainable = True
    connectivity = "local"
    maps = "feature maps"    # one per filter: how strongly it matched at each position
    compiled = True          # use conv_kernels.py's compiled loops when numba is there

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"Conv2D filters: expected a positive integer, received {filters!r}")
        self.filters = int(filters)
        self.units = self.filters             # what a learner looks at: one feature map per filter
        self.kernel_size = pair(kernel_size, "Conv2D kernel_size")
        self.strides = pair(strides, "Conv2D strides")
        self.padding = padding_name(padding)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    # ---- shapes and parameters -------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D layer {self.name!r}: expected images of shape (N, height, width, "
                             f"channels), received (N, {', '.join(map(str, input_shape))}); for (N, 28, 28) "
                             "declare the input as (28, 28, 1)")
        height, width, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        out = (output_size(height, kh, sh, self.padding), output_size(width, kw, sw, self.padding))
        if min(out) < 1:
            raise ValueError(f"Conv2D layer {self.name!r}: its {kh}x{kw} kernel does not fit in the "
                             f"{height}x{width} input")
        return (*out, self.filters)

    @property
    def channels(self):
        return self.input_shape[-1]

    def param_shapes(self):
        shapes = {"kernel": (*self.kernel_size, self.channels, self.filters)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def weight_names(self):
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def initial_values(self, rng):
        shapes = self.param_shapes()
        return {key: initializers.get(self.kernel_initializer if key == "kernel" else self.bias_initializer)(
            shape, rng) for key, shape in shapes.items()}

    # ---- forward and backward --------------------------------------------------------------

    def windows(self, x, out=None):
        """Every window the kernel visits, one per row: (N, H, W, C) -> (N, OH, OW, KH * KW * C)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        x = self.pad(x)
        view = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]   # (N, OH, OW, C, KH, KW), no copy
        view = view.transpose(0, 1, 2, 4, 5, 3)                                # (N, OH, OW, KH, KW, C), the kernel's order
        n, oh, ow = view.shape[:3]
        if out is None:
            out = np.empty((n, oh, ow, kh * kw * self.channels), dtype=np.float32)
        out.reshape(view.shape)[...] = view                                     # the copy im2col is named for
        return out

    def pad(self, x):
        """x with "same" padding's zeros around it (x itself for "valid")."""
        (top, bottom), (left, right) = self.paddings()
        if top == bottom == left == right == 0:
            return x
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    def neighbourhood(self):
        return self.kernel_size, self.strides, self.paddings()

    def paddings(self):
        height, width, _ = self.input_shape
        return tuple(padding_amounts(size, k, s, self.padding)
                     for size, k, s in zip((height, width), self.kernel_size, self.strides))

    def weighted_sum(self, x, out=None):
        """z = windows @ kernel + bias at every position: (N, H, W, C) -> (N, OH, OW, filters)."""
        cols = self.windows(x)
        return self._weighted_sum(cols, out)

    def _weighted_sum(self, cols, out=None):
        n, oh, ow, k = cols.shape
        kernel = self.kernel.reshape(k, self.filters)                 # (KH, KW, C, F) -> (KH * KW * C, F)
        z = np.matmul(cols.reshape(-1, k), kernel,                    # (N * OH * OW, K) @ (K, F) -> (N * OH * OW, F)
                      out=None if out is None else out.reshape(-1, self.filters))
        if self.use_bias:
            z += self.bias                                            # one bias per filter
        return z.reshape(n, oh, ow, self.filters)

    def forward(self, x, training=False):
        if self.compiled and conv_kernels.available():
            return self.forward_compiled(x, training)
        n = len(x)
        oh, ow, f = self.output_shape
        cols = self.windows(x, out=self._buffer("cols", (n, oh, ow, int(np.prod(self.kernel.shape[:3]))), training))
        z = self._weighted_sum(cols, out=self._buffer("a", (n, oh, ow, f), training))
        a = self.activation.forward(z, out=z)
        if training:
            self.cols, self.a = cols, a       # kept for backward: dkernel needs the windows, f'(z) needs a
            self.compiled_forward = False
        return a

    def backward(self, da):
        """da = dL/da (N, OH, OW, F) -> dL/dx (N, H, W, C); stores dkernel and dbias."""
        if self.compiled_forward:
            return self.backward_compiled(da)
        dz = self.activation.backward(da, self.a, out=da)             # dL/dz = dL/da * f'(z)
        return self.backward_linear(dz)

    def backward_linear(self, dz):
        """dz = dL/dz (N, OH, OW, F) -> dL/dx (N, H, W, C), storing dkernel and dbias."""
        n, oh, ow, k = self.cols.shape
        f = self.filters
        dz = dz.reshape(-1, f)                                        # (N * OH * OW, F)
        np.matmul(self.cols.reshape(-1, k).T, dz,                     # (K, N * OH * OW) @ (N * OH * OW, F) -> (K, F)
                  out=self.dkernel.reshape(k, f))
        if self.use_bias:
            np.sum(dz, axis=0, out=self.dbias)                        # each bias gets the sum over every position
        if not self.needs_input_grad:
            return None                                               # nothing before this layer learns
        dcols = np.matmul(dz, self.kernel.reshape(k, f).T)            # (N * OH * OW, F) @ (F, K) -> (N * OH * OW, K)
        return self.col2im(dcols.reshape(n, oh, ow, *self.kernel.shape[:3]))

    # ---- the same arithmetic with its copies and passes compiled (conv_kernels.py) -----------

    def forward_compiled(self, x, training=False):
        n, (oh, ow, f) = len(x), self.output_shape
        split = threads.split_kernels(n, training)
        (top, _), (left, _) = self.paddings()
        k = int(np.prod(self.kernel.shape[:3]))
        cols = self._buffer("cols", (k, n, oh, ow), training)                # one kernel entry per row
        conv_kernels.run("im2col", split, np.ascontiguousarray(x, np.float32), *self.kernel_size, *self.strides,
                         top, left, cols)
        z = np.matmul(cols.reshape(k, -1).T, self.kernel.reshape(k, f),    # (N * OH * OW, K) @ (K, F)
                      out=self._buffer("a", (n, oh, ow, f), training).reshape(-1, f))
        relu = self.activation.name == "relu"                              # applied in the same pass
        bias = self.bias if self.use_bias else np.zeros(f, np.float32)
        conv_kernels.run("bias_relu", split, z, bias, relu)
        a = z.reshape(n, oh, ow, f)
        if not relu:
            a = self.activation.forward(a, out=a)
        if training:
            self.cols, self.a, self.compiled_forward = cols, a, True
        return a

    def backward_compiled(self, da):
        n, (oh, ow, f) = len(da), self.output_shape
        relu = self.activation.name == "relu"                              # its f'(z) is applied in the pass
        dz = da if relu else self.activation.backward(da, self.a, out=da)
        dz = np.ascontiguousarray(dz).reshape(-1, f)
        split = threads.split_kernels(n, True)
        bias_sums = np.zeros((2 if split else 1, f), np.float32)           # one partial sum per core
        conv_kernels.run("relu_mask_bias_sum", split, dz, self.a.reshape(-1, f), relu, bias_sums)
        if self.use_bias:
            np.sum(bias_sums, axis=0, out=self.dbias)
        k = self.cols.shape[0]
        np.matmul(self.cols.reshape(k, -1), dz, out=self.dkernel.reshape(k, f))   # (K, N * OH * OW) @ (N * OH * OW, F)
        if not self.needs_input_grad:
            return None
        dcols = np.matmul(self.kernel.reshape(k, f), dz.T)                # (K, F) @ (F, N * OH * OW)
        dx = np.zeros((n, *self.input_shape), np.float32)
        (top, _), (left, _) = self.paddings()
        conv_kernels.run("col2im", split, dcols.reshape(k, n, oh, ow), *self.kernel_size, *self.strides,
                         top, left, dx)
        return dx

    def col2im(self, dcols):
        """Add each window's gradient back onto the pixels it was copied from.

        dcols (N, OH, OW, KH, KW, C) -> dx (N, H, W, C). A pixel that sat in several windows
        collects the gradient of each: one kernel offset (i, j) at a time, every window's entry
        (i, j) lands on the pixel i rows and j columns below its window's corner.
        """
        n, oh, ow, kh, kw, c = dcols.shape
        sh, sw = self.strides
        (top, bottom), (left, right) = self.paddings()
        height, width, _ = self.input_shape
        dx = np.zeros((n, height + top + bottom, width + left + right, c), dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                dx[:, i:i + sh * oh:sh, j:j + sw * ow:sw, :] += dcols[:, :, :, i, j, :]
        return dx[:, top:top + height, left:left + width, :]

    # ---- describing itself -----------------------------------------------------------------

    def arithmetic(self):
        (kh, kw), c, f = self.kernel_size, self.channels, self.filters
        weights = kh * kw * c * f
        text = f"{kh} x {kw} kernel x {plural(c, 'channel')} x {plural(f, 'filter')} = {weights:,} weights"
        if self.use_bias:
            text += f" + {f:,} biases = {self.count_params():,}"
        return text

    def what(self):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        step = "steps of one pixel" if (sh, sw) == (1, 1) else f"steps of {sh} x {sw}"
        return (f"slides {plural(self.filters, 'filter')} of {kh} x {kw} x {plural(self.channels, 'channel')} "
                f"across the input in {step} ({self.padding} padding): {shape_text(self.input_shape)} -> "
                f"{shape_text(self.output_shape)}, a = {self.activation.name}(window . kernel + bias)")

    def label(self):
        kh, kw = self.kernel_size
        return f"Conv2D {self.filters:,} {kh}x{kw} {self.activation.name}"

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": [1, 1], "groups": 1, "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.keras_config(self.kernel_initializer),
                "bias_initializer": initializers.keras_config(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}

    @classmethod
    def from_config(cls, config):
        if "filters" not in config or "kernel_size" not in config:
            raise ValueError("does not say how many filters it has and how large they are")
        check_channels_last(config)
        if pair(config.get("dilation_rate", 1), "dilation_rate") != (1, 1):
            raise ValueError(f"has dilation_rate {config.get('dilation_rate')!r}; digitlens convolves "
                             "neighbouring pixels only (dilation 1)")
        if config.get("groups", 1) != 1:
            raise ValueError(f"has groups {config.get('groups')!r}; digitlens convolves all channels together (groups 1)")
        return cls(int(config["filters"]), config["kernel_size"], strides=config.get("strides", 1),
                   padding=config.get("padding", "valid"), activation=activations.from_config(config.get("activation")),
                   use_bias=bool(config.get("use_bias", True)), name=config.get("name"),
                   kernel_initializer=initializers.from_keras(config.get("kernel_initializer"), "glorot_uniform"),
                   bias_initializer=initializers.from_keras(config.get("bias_initializer"), "zeros"))
