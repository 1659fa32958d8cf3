"""Pooling: shrink each feature map by summarising small windows of it. No weights.

    MaxPooling2D(2)           (N, 26, 26, 32) -> (N, 13, 13, 32)   the largest value of each 2 x 2 window
    AveragePooling2D(2)       (N, 26, 26, 32) -> (N, 13, 13, 32)   the mean of each 2 x 2 window
    GlobalAveragePooling2D    (N, 13, 13, 32) -> (N, 32)           the mean of each whole feature map

After a convolution, a feature map says how strongly its filter matched at each position. Max
pooling keeps only the strongest match in each window, so the next layer has a quarter of the
numbers to look at and a digit shifted by a pixel gives much the same answer.

How it is computed: NumPy's sliding_window_view shows every window of the (padded) maps at once,
(N, OH, OW, C, PH, PW), without copying, and max or mean reduces the window's two axes. Backward
sends each output's gradient back into its window: max pooling to the one position that won
(the first, in reading order, if several tie - as TensorFlow does), average pooling equally to
every position that counted. Both go one window offset at a time, as Conv2D's col2im does.

Padding "valid" uses only whole windows; "same" pads so the output is ceil(size / stride), and a
padded position never wins a max or counts in a mean, as in Keras. strides default to pool_size.
Left out: channels_first, 1-D and 3-D pooling.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import conv_kernels, threads
from .conv import check_channels_last, output_size, padding_amounts, padding_name, pair
from .layer import Layer, register, shape_text


class Pooling2D(Layer):
    """What max and average pooling share: the windows, their shapes, their Keras config."""

    verb = "pools"
    maps = "pooled maps"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.pool_size = pair(pool_size, f"{self.kind} pool_size")
        self.strides = pair(strides, f"{self.kind} strides") if strides is not None else self.pool_size
        self.padding = padding_name(padding)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.kind} layer {self.name!r}: expected feature maps of shape (N, height, "
                             f"width, channels), received (N, {', '.join(map(str, input_shape))})")
        height, width, channels = input_shape
        out = tuple(output_size(size, p, s, self.padding)
                    for size, p, s in zip((height, width), self.pool_size, self.strides))
        if min(out) < 1:
            raise ValueError(f"{self.kind} layer {self.name!r}: its {self.pool_size[0]}x{self.pool_size[1]} "
                             f"window does not fit in the {height}x{width} input")
        return (*out, channels)

    def neighbourhood(self):
        return self.pool_size, self.strides, self.paddings()

    def paddings(self):
        height, width, _ = self.input_shape
        return tuple(padding_amounts(size, p, s, self.padding)
                     for size, p, s in zip((height, width), self.pool_size, self.strides))

    def windows(self, x, fill=0.0):
        """Every window, as a view: (N, H, W, C) -> (N, OH, OW, C, PH, PW); padding holds `fill`."""
        (top, bottom), (left, right) = self.paddings()
        if top or bottom or left or right:
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
        (sh, sw), (oh, ow) = self.strides, self.output_shape[:2]
        return sliding_window_view(x, self.pool_size, axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]

    def spread(self, pieces):
        """Add each window's gradient back onto its positions, one window offset at a time.

        pieces(i, j) -> (N, OH, OW, C): the gradient for offset (i, j) of every window.
        Returns dx (N, H, W, C), the padding cut off again.
        """
        n = pieces(0, 0).shape[0]
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        (top, bottom), (left, right) = self.paddings()
        height, width, channels = self.input_shape
        oh, ow = self.output_shape[:2]
        dx = np.zeros((n, height + top + bottom, width + left + right, channels), dtype=np.float32)
        for i in range(ph):
            for j in range(pw):
                dx[:, i:i + sh * oh:sh, j:j + sw * ow:sw, :] += pieces(i, j)
        return dx[:, top:top + height, left:left + width, :]

    def arithmetic(self):
        ph, pw = self.pool_size
        return (f"{self.verb} each {ph} x {pw} window: {shape_text(self.input_shape)} -> "
                f"{shape_text(self.output_shape)}; no weights")

    def label(self):
        return f"{self.kind.replace('Pooling2D', 'Pool')} {self.pool_size[0]}x{self.pool_size[1]}"

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": "channels_last"}

    @classmethod
    def from_config(cls, config):
        check_channels_last(config)
        if "pool_size" not in config:
            raise ValueError("does not say its pool_size")
        return cls(config["pool_size"], strides=config.get("strides"), padding=config.get("padding", "valid"),
                   name=config.get("name"))


@register
class MaxPooling2D(Pooling2D):
    """Keep the largest value of each window: the strongest response of the filter near there."""

    verb = "keeps the largest of"
    pooling = "max"
    compiled = True          # use conv_kernels.py's compiled loops when numba is there

    def forward(self, x, training=False):
        if self.compiled and conv_kernels.available():
            return self.forward_compiled(x, training)
        n, (oh, ow, c) = len(x), self.output_shape
        ph, pw = self.pool_size
        windows = self.windows(x, fill=-np.inf).reshape(n, oh, ow, c, ph * pw)   # (N, OH, OW, C, PH * PW), a copy
        winner = windows.argmax(axis=-1)                                          # (N, OH, OW, C): which position won
        out = np.take_along_axis(windows, winner[..., None], axis=-1)[..., 0]
        if training:
            self.winner = winner.astype(np.uint8 if ph * pw < 256 else np.intp)   # kept for backward
            self.compiled_winner = False
        return out

    def backward(self, dout):
        """dout (N, OH, OW, C) -> dx (N, H, W, C): each gradient goes to the position that won its window."""
        if self.compiled_winner:
            return self.backward_compiled(dout)
        pw = self.pool_size[1]
        return self.spread(lambda i, j: dout * (self.winner == i * pw + j))

    # ---- the same arithmetic, compiled (conv_kernels.py): no window is copied -----------------

    def forward_compiled(self, x, training=False):
        n = len(x)
        out = self._buffer("out", (n, *self.output_shape), training)
        winner = np.empty(out.shape if training else (0, 1, 1, 1), np.int32)   # where each came from, for backward
        (top, _), (left, _) = self.paddings()
        conv_kernels.run("max_pool_forward", threads.split_kernels(n, training), np.ascontiguousarray(x, np.float32),
                         *self.pool_size, *self.strides, top, left, out, winner)
        if training:
            self.winner, self.compiled_winner = winner, True
        return out

    def backward_compiled(self, dout):
        dx = np.zeros((len(dout), *self.input_shape), np.float32)
        (top, _), (left, _) = self.paddings()
        conv_kernels.run("max_pool_backward", threads.split_kernels(len(dout), True),
                         np.ascontiguousarray(dout, np.float32), self.winner, *self.pool_size, *self.strides,
                         top, left, dx)
        return dx

    def what(self):
        ph, pw = self.pool_size
        return (f"keeps the strongest value in each {ph} x {pw} window of every feature map: "
                f"{shape_text(self.input_shape)} -> {shape_text(self.output_shape)}")


@register
class AveragePooling2D(Pooling2D):
    """The mean of each window (padded positions, with "same" padding, do not count)."""

    verb = "averages"
    pooling = "mean"

    def counts(self):
        """(OH, OW): how many real (not padded) positions each window covers."""
        height, width, _ = self.input_shape
        ones = np.ones((1, height, width, 1), dtype=np.float32)
        return self.windows(ones).sum(axis=(-2, -1))[0, :, :, 0]

    def forward(self, x, training=False):
        total = self.windows(x).sum(axis=(-2, -1), dtype=np.float32)              # (N, OH, OW, C)
        return total / self.counts()[:, :, None]

    def backward(self, dout):
        """dout (N, OH, OW, C) -> dx: each window's gradient shared equally by its positions."""
        share = dout / self.counts()[:, :, None]
        return self.spread(lambda i, j: share)

    def what(self):
        ph, pw = self.pool_size
        return (f"averages each {ph} x {pw} window of every feature map: "
                f"{shape_text(self.input_shape)} -> {shape_text(self.output_shape)}")


@register
class GlobalAveragePooling2D(Layer):
    """The mean of each whole feature map: (N, H, W, C) -> (N, C), one number per filter."""

    pooling = "mean"

    def __init__(self, keepdims=False, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"GlobalAveragePooling2D layer {self.name!r}: expected feature maps of shape "
                             f"(N, height, width, channels), received (N, {', '.join(map(str, input_shape))})")
        channels = input_shape[-1]
        return (1, 1, channels) if self.keepdims else (channels,)

    def neighbourhood(self):
        """One window, the whole map."""
        return self.input_shape[:2], self.input_shape[:2], ((0, 0), (0, 0))

    def forward(self, x, training=False):
        return x.mean(axis=(1, 2), keepdims=self.keepdims, dtype=np.float32)     # (N, H, W, C) -> (N, C)

    def backward(self, dout):
        """dout (N, C) -> dx (N, H, W, C): every position of a map gets 1 / (H x W) of its gradient."""
        height, width, channels = self.input_shape
        share = dout.reshape(len(dout), 1, 1, channels) / np.float32(height * width)
        return np.broadcast_to(share, (len(dout), height, width, channels)).copy()

    def arithmetic(self):
        height, width, channels = self.input_shape
        return (f"averages each {height} x {width} feature map to one number: {shape_text(self.input_shape)} -> "
                f"{shape_text(self.output_shape)}; no weights")

    def what(self):
        height, width, channels = self.input_shape
        return (f"averages each of the {channels:,} feature maps ({height} x {width} = {height * width:,} "
                "values) to one number: where in the image a filter matched no longer matters")

    def label(self):
        return "GlobalAvgPool"

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}

    @classmethod
    def from_config(cls, config):
        check_channels_last(config)
        return cls(keepdims=bool(config.get("keepdims", False)), name=config.get("name"))
