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
  While training on small batches the pieces are shared between the cores (threads.each_piece).

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
        n, f = len(x), conv.filters
        x = np.ascontiguousarray(x, np.float32)
        out = np.empty((n, *pool.output_shape), np.float32)
        winner = np.empty(out.shape if training else (0, 1, 1, 1), np.int32)
        kernel = conv.kernel.reshape(-1, f)                                    # (KH, KW, C, F) -> (K, F)
        (top, _), (left, _) = conv.paddings()

        def one_piece(piece):
            m, (oh, ow, _), k = len(range(n)[piece]), conv.output_shape, kernel.shape[0]
            cols = np.empty((k, m, oh, ow), np.float32)                        # one kernel entry per row
            conv_kernels.run("im2col", False, x[piece], *conv.kernel_size, *conv.strides, top, left, cols)
            z = cols.reshape(k, -1).T @ kernel                                 # (M * OH * OW, K) @ (K, F)
            conv_kernels.run("max_pool_forward", False, z.reshape(m, oh, ow, f), *pool.pool_size, *pool.strides,
                             0, 0, out[piece], winner[piece] if training else winner)
            return cols if training else None

        cols_of = threads.each_piece(one_piece, self.pieces(n), training)
        bias = conv.bias if conv.use_bias else np.zeros(f, np.float32)
        conv_kernels.run("bias_relu", False, out.reshape(-1, f), bias, conv.activation.name == "relu")
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
        n, f = len(dout), conv.filters
        dv = np.ascontiguousarray(dout, np.float32).reshape(-1, f).copy()
        bias_sums = np.zeros((1, f), np.float32)
        conv_kernels.run("relu_mask_bias_sum", False, dv, self.out.reshape(-1, f),
                         conv.activation.name == "relu", bias_sums)              # through relu, on pooled values
        if conv.use_bias:
            conv.dbias[...] = bias_sums[0]
        dv = dv.reshape(dout.shape)
        kernel = conv.kernel.reshape(-1, f)
        dx = np.zeros((n, *conv.input_shape), np.float32) if conv.needs_input_grad else None
        (top, _), (left, _) = conv.paddings()

        def one_piece(piece, cols):
            m, (oh, ow, _), k = len(range(n)[piece]), conv.output_shape, kernel.shape[0]
            dz = np.zeros((m, oh, ow, f), np.float32)
            conv_kernels.run("max_pool_backward", False, dv[piece], self.winner[piece], *pool.pool_size,
                             *pool.strides, 0, 0, dz)                          # to the position that won
            dz = dz.reshape(-1, f)
            if dx is not None:
                dcols = kernel @ dz.T                                          # (K, F) @ (F, M * OH * OW)
                conv_kernels.run("col2im", False, dcols.reshape(k, m, oh, ow), *conv.kernel_size, *conv.strides,
                                 top, left, dx[piece])
            return cols.reshape(k, -1) @ dz                                    # (K, M * OH * OW) @ (M * OH * OW, F)

        parts = threads.each_piece(one_piece, self.pieces(n), True, self.cols_of)
        np.sum(parts, axis=0, out=conv.dkernel.reshape(-1, f))
        return dx
