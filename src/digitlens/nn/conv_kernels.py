"""The convolutional layers' hot loops, compiled (with numba), beside the readable NumPy versions.

conv.py and pooling.py compute with NumPy: windows copied out (im2col) and one matrix product,
sliding-window views and reductions. That is the clearest way to read the arithmetic, but for the
course's CNN at batch 32 a NumPy training step took about 19 ms, and the profile showed where:

    max pooling, forward          9.5 ms   copying every 2 x 2 window out, then argmax over it
    conv2d, backward              2.0 ms   windows.T @ dz, and dz through the relu first
    conv2d, forward               1.9 ms   copying the 9 values of each window, then the product
    max pooling, backward         1.8 ms   one masked add per window offset
    dense + dense_1, both ways    2.7 ms   BLAS: already as fast as these cores go
    Adam                          0.8 ms   already compiled (fused.py)

(2 shared cores, a busy machine: the ratios matter, not the milliseconds.) The products are
already BLAS's; the time goes to the copies and passes around them. So the loops below do those
in one pass each: im2col copies the windows out of the image a kernel entry at a time (stored as
(K, N, OH, OW), each row is a row of the image, copied side by side), bias_relu adds the bias and
applies relu in one pass, relu_mask_bias_sum applies relu's slope to the gradient and sums it for
the bias in one pass, col2im adds the windows' gradients back onto the pixels; max pooling finds
each window's largest value and where it was without copying the window, and sends the gradient
back there. The matrix products stay NumPy's (BLAS), exactly as in conv.py. fusion.py runs a
Conv2D and the MaxPooling2D after it through these loops as one step; with both, the course's
CNN trains in about 3.8 ms a step at batch 32 on one core (7 s an epoch), against 19 ms in NumPy.

Each loop runs on one core or split over every core, as threads.split_kernels decides: split
while training on small batches (BLAS has one core then), on one core when BLAS has every core,
at prediction (which splits its batch into pieces instead) or when the machine is busy. Sums are
taken in another order than NumPy's, so results agree to float32 rounding (tests/test_conv.py
holds the two versions equal to 1e-5 of the largest value).

numba is imported on first use and its compiled code cached on disk. If numba cannot be imported
(or DIGITLENS_NO_NUMBA is set), `available()` is False and the layers compute with NumPy.
"""

import types

from .compiled import Compiled


def available():
    return KERNELS.get() is not None


def run(name, all_cores, *args):
    """Run kernel `name` on one core, or split over every core (one split call at a time)."""
    KERNELS.run(name, all_cores, *args)


def _compile():
    import numba
    import numpy as np

    prange = numba.prange

    def im2col(x, kh, kw, sh, sw, top, left, cols):
        """cols[k, n, i, j] = the input under kernel entry k = (di, dj, c) when the kernel sits at
        output (i, j): the windows of conv.py's im2col, stored one kernel entry per row, (K, N, OH,
        OW), so that each row is copied from a row of the image side by side; zeros where a window
        hangs over the edge ("same" padding). The product takes it as cols.T: (N * OH * OW, K)."""
        n_images, height, width, channels = x.shape
        oh, ow = cols.shape[2], cols.shape[3]
        for n in prange(n_images):
            for di in range(kh):
                for dj in range(kw):
                    for c in range(channels):
                        k = (di * kw + dj) * channels + c
                        for i in range(oh):
                            r = i * sh + di - top
                            dst = cols[k, n, i]
                            if r < 0 or r >= height:
                                for j in range(ow):
                                    dst[j] = np.float32(0.0)
                                continue
                            src = x[n, r]
                            for j in range(ow):
                                col = j * sw + dj - left
                                dst[j] = src[col, c] if 0 <= col < width else np.float32(0.0)

    def col2im(dcols, kh, kw, sh, sw, top, left, dx):
        """The reverse of im2col: each window's gradient, dcols (K, N, OH, OW), added onto the
        pixels it was copied from."""
        n_images, height, width, channels = dx.shape
        oh, ow = dcols.shape[2], dcols.shape[3]
        for n in prange(n_images):
            for di in range(kh):
                for dj in range(kw):
                    for c in range(channels):
                        k = (di * kw + dj) * channels + c
                        for i in range(oh):
                            r = i * sh + di - top
                            if r < 0 or r >= height:
                                continue
                            for j in range(ow):
                                col = j * sw + dj - left
                                if 0 <= col < width:
                                    dx[n, r, col, c] += dcols[k, n, i, j]

    def bias_relu(z, bias, relu):
        """z += bias in place, one bias per column; then relu'd, if asked, in the same pass."""
        rows, filters = z.shape
        for i in prange(rows):
            for f in range(filters):
                v = z[i, f] + bias[f]
                z[i, f] = (v if v > 0 else np.float32(0.0)) if relu else v

    def relu_mask_bias_sum(da, a, relu, partial_bias):
        """dz = da where the unit fired (relu) - in place - and each column's sum of dz, summed per
        group of rows into partial_bias[group] (the caller adds the groups)."""
        rows, filters = da.shape
        groups = partial_bias.shape[0]
        for g in prange(groups):
            total = partial_bias[g]
            for i in range(g * rows // groups, (g + 1) * rows // groups):
                for f in range(filters):
                    d = da[i, f]
                    if relu and a[i, f] <= 0:
                        d = np.float32(0.0)
                        da[i, f] = d
                    total[f] += d

    def max_pool_forward(x, ph, pw, sh, sw, top, left, out, winner):
        """out = the largest value of each window; winner = its position di * pw + dj in the
        window (the first in reading order if several tie; not kept if winner has no rows);
        padding never wins."""
        n_images, height, width, channels = x.shape
        oh, ow = out.shape[1], out.shape[2]
        keep = winner.shape[0] > 0
        for n in prange(n_images):
            best = np.empty(channels, np.float32)
            at = np.empty(channels, np.int32)
            for i in range(oh):
                for j in range(ow):
                    for c in range(channels):
                        best[c] = -np.inf
                        at[c] = 0
                    for di in range(ph):
                        r = i * sh + di - top
                        if r < 0 or r >= height:
                            continue
                        for dj in range(pw):
                            col = j * sw + dj - left
                            if col < 0 or col >= width:
                                continue
                            here = di * pw + dj
                            for c in range(channels):          # channels innermost: side by side in memory
                                v = x[n, r, col, c]
                                if v > best[c]:
                                    best[c] = v
                                    at[c] = here
                    for c in range(channels):
                        out[n, i, j, c] = best[c]
                    if keep:
                        for c in range(channels):
                            winner[n, i, j, c] = at[c]

    def max_pool_backward(dout, winner, ph, pw, sh, sw, top, left, dx):
        """Each output's gradient added to the position that won its window (dx starts at 0)."""
        n_images, oh, ow, channels = dout.shape
        height, width = dx.shape[1], dx.shape[2]
        for n in prange(n_images):
            for i in range(oh):
                for j in range(ow):
                    for di in range(ph):
                        r = i * sh + di - top
                        if r < 0 or r >= height:
                            continue
                        for dj in range(pw):
                            col = j * sw + dj - left
                            if col < 0 or col >= width:
                                continue
                            here = di * pw + dj
                            for c in range(channels):          # channels innermost, as in forward
                                if winner[n, i, j, c] == here:
                                    dx[n, r, col, c] += dout[n, i, j, c]

    kernels = {}
    for name, loop in (("im2col", im2col), ("col2im", col2im), ("bias_relu", bias_relu),
                       ("relu_mask_bias_sum", relu_mask_bias_sum), ("max_pool_forward", max_pool_forward),
                       ("max_pool_backward", max_pool_backward)):
        for parallel in (False, True):   # prange is a plain range when not parallel
            # numba names its disk cache after the function: each variant gets its own name.
            variant = types.FunctionType(loop.__code__, loop.__globals__, name, None, loop.__closure__)
            variant.__qualname__ = f"{name}_{'all_cores' if parallel else 'one_core'}"
            kernels[name, parallel] = numba.njit(variant, parallel=parallel, fastmath=True, nogil=True,
                                                 error_model="numpy", cache=True)
    return kernels


KERNELS = Compiled(_compile)
