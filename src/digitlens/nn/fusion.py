"""Steps: the model's layers as its forward and backward loops run them, a few neighbours as one.

Every layer is a step of its own, except a Conv2D followed by a MaxPooling2D whose windows tile
its output (the course's Conv2D(32, 3x3, relu) -> MaxPooling2D(2)): that pair runs as one step,
ConvPool, with the compiled loops of conv_kernels.py. Two facts make it worth it:

- Pooling can come before the activation. A max picks the same window position whether it looks
  at z or at relu(z + bias), since adding one bias per filter and applying a rising activation
  keep the order: max(relu(z + bias)) = relu(max(z) + bias). So the step adds the bias and
  applies relu to the 13 x 13 pooled values instead of all 26 x 26, and backward applies relu's
  slope to them too.
- A few images at a time. The step computes the convolution and the pooling for a handful of
  images at once, so the 26 x 26 x 32 map of those images is still in the core's cache when the
  pooling reads it; the layers one by one write the whole batch's map out and read it back.

The layers themselves are unchanged: they are the reference (conv.py, pooling.py), model.activations
and digitlens.explain run them one by one, and tests/test_conv.py holds a model's outputs and
gradients through the fused step equal to those through its layers. Without numba, with a
Conv2D's `compiled` switched off, or for any other pair, the layers run one by one.
"""

import numpy as np

from . import conv_kernels, threads
from .conv import Conv2D
from .pooling import MaxPooling2D

RISING = {"linear", "relu"}         # activations that commute with a max (and that the loops apply)
PIECE_BYTES = 2**18                 # the convolution's output for this many bytes of images at a time


def steps(layers):
    """The layers as they run: each one a step, a Conv2D -> MaxPooling2D pair that can fuse one step."""
    out, i = [], 0
    while i < len(layers):
        if i + 1 < len(layers) and ConvPool.fits(layers[i], layers[i + 1]):
            out.append(ConvPool(layers[i], layers[i + 1]))
            i += 2
        else:
            out.append(layers[i])
            i += 1
    return out


class ConvPool:
    """Conv2D -> MaxPooling2D as one step: the convolution's z for a few images at a time, pooled
    at once, then the bias and the activation on the pooled values."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.name = f"{conv.name}+{pool.name}"

    @staticmethod
    def fits(conv, pool):
        return (isinstance(conv, Conv2D) and isinstance(pool, MaxPooling2D) and conv.activation.name in RISING
                and pool.padding == "valid" and pool.strides == pool.pool_size)

    @property
    def compiled(self):
        return self.conv.compiled and self.pool.compiled and conv_kernels.available()

    def pieces(self, n):
        """Slices of the batch, each small enough that its convolution output stays in cache."""
        size = max(1, PIECE_BYTES // (4 * int(np.prod(self.conv.output_shape))))
        return [slice(start, min(n, start + size)) for start in range(0, n, size)]

    def forward(self, x, training=False):
        if not self.compiled:
            return self.pool.forward(self.conv.forward(x, training), training)
        conv, pool = self.conv, self.pool
        n, (oh, ow, f), k = len(x), conv.output_shape, int(np.prod(conv.kernel.shape[:3]))
        (top, _), (left, _) = conv.paddings()
        split = threads.split_kernels(n, training)
        x = np.ascontiguousarray(x, np.float32)
        kernel = conv.kernel.reshape(k, f)                                     # (KH, KW, C, F) -> (K, F)
        out = np.empty((n, *pool.output_shape), np.float32)
        winner = np.empty(out.shape if training else (0, 1, 1, 1), np.int32)
        pieces = self.pieces(n)
        cols_of = []
        z = np.empty((len(range(n)[pieces[0]]) * oh * ow, f), np.float32)     # reused for every piece
        for piece in pieces:
            m = len(range(n)[piece])
            cols = np.empty((k, m, oh, ow), np.float32)                       # one kernel entry per row
            conv_kernels.run("im2col", split, x[piece], *conv.kernel_size, *conv.strides, top, left, cols)
            zm = np.matmul(cols.reshape(k, -1).T, kernel, out=z[:m * oh * ow])  # (M * OH * OW, K) @ (K, F)
            conv_kernels.run("max_pool_forward", split, zm.reshape(m, oh, ow, f), *pool.pool_size, *pool.strides,
                             0, 0, out[piece], winner[piece] if training else winner)
            if training:
                cols_of.append(cols)
        bias = conv.bias if conv.use_bias else np.zeros(f, np.float32)
        conv_kernels.run("bias_relu", split, out.reshape(-1, f), bias, conv.activation.name == "relu")
        if training:
            self.cols_of, self.out, self.winner = cols_of, out, winner
        return out

    def backward(self, dout):
        """dout (N, PH, PW, F) -> dL/dx (N, H, W, C) (None if nothing before learns); stores the
        convolution's dkernel and dbias."""
        if not self.compiled:
            grad = self.pool.backward(dout)
            return self.conv.backward(grad)
        conv, pool = self.conv, self.pool
        n, (oh, ow, f), k = len(dout), conv.output_shape, int(np.prod(conv.kernel.shape[:3]))
        split = threads.split_kernels(n, True)
        dv = np.ascontiguousarray(dout, np.float32).reshape(-1, f).copy()
        bias_sums = np.zeros((2 if split else 1, f), np.float32)
        conv_kernels.run("relu_mask_bias_sum", split, dv, self.out.reshape(-1, f),
                         conv.activation.name == "relu", bias_sums)              # through relu, on pooled values
        if conv.use_bias:
            np.sum(bias_sums, axis=0, out=conv.dbias)
        dv = dv.reshape(dout.shape)
        conv.dkernel[...] = 0.0
        dkernel = conv.dkernel.reshape(k, f)
        kernel = conv.kernel.reshape(k, f)
        dx = np.zeros((n, *conv.input_shape), np.float32) if conv.needs_input_grad else None
        (top, _), (left, _) = conv.paddings()
        pieces = self.pieces(n)
        dz = np.empty((len(range(n)[pieces[0]]), oh, ow, f), np.float32)     # reused for every piece
        for piece, cols in zip(pieces, self.cols_of):
            m = len(range(n)[piece])
            dzm = dz[:m]
            dzm[...] = 0.0
            conv_kernels.run("max_pool_backward", split, dv[piece], self.winner[piece], *pool.pool_size,
                             *pool.strides, 0, 0, dzm)                         # to the position that won
            dzm = dzm.reshape(-1, f)
            dkernel += cols.reshape(k, -1) @ dzm                             # (K, M * OH * OW) @ (M * OH * OW, F)
            if dx is not None:
                dcols = kernel @ dzm.T                                         # (K, F) @ (F, M * OH * OW)
                conv_kernels.run("col2im", split, dcols.reshape(k, m, oh, ow), *conv.kernel_size, *conv.strides,
                                 top, left, dx[piece])
        return dx

