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

(2 shared cores, a busy machine: the ratios matter, not the milliseconds.) The loops below do the
same arithmetic in one pass each, with no window copied: a convolution output is its bias plus
the kernel's weights times the pixels under it, read where they lie; a pooled output is the
largest value of its window and the position it was at. Two facts make backward cheap: after max
pooling, only the position that won each window gets a gradient, and after a relu only positions
that fired do - so the kernel's gradient loop skips every position whose gradient is zero (3 in 4
and more, for the course's CNN).

Each loop runs on one core or split over every core; which is chosen by the caller: split for
prediction and large batches, one core while training on small batches, where BLAS and these
threads would otherwise wait on each other (see threads.py). Sums are taken in another order than
NumPy's, so results agree to float32 rounding (tests/test_conv.py holds them within 1e-5).

numba is imported on first use and its compiled code cached on disk. If numba cannot be imported
(or DIGITLENS_NO_NUMBA is set), `available()` is False and the layers compute with NumPy.
"""

import os
import threading
import types

_kernels = None
_compiling = threading.Lock()


def available():
    return _load() is not None


def run(name, all_cores, *args):
    """Run kernel `name` on one core, or split over every core (one split call at a time)."""
    from .fused import one_parallel_call_at_a_time

    kernel = _load()[name, bool(all_cores)]
    if all_cores:
        with one_parallel_call_at_a_time:
            kernel(*args)
    else:
        kernel(*args)


def _load():
    global _kernels
    with _compiling:
        if _kernels is None:
            if os.environ.get("DIGITLENS_NO_NUMBA"):
                _kernels = False
            else:
                try:
                    _kernels = _compile()
                except Exception:  # numba missing or unable to compile here: the NumPy versions
                    _kernels = False
    return _kernels or None


def _compile():
    import numba
    import numpy as np

    prange = numba.prange

    def conv_forward(x, kernel, bias, top, left, sh, sw, relu, out):
        """out[n, i, j, f] = bias[f] + sum over (di, dj, c) of x[n, i*sh + di - top, j*sw + dj - left, c]
        * kernel[di, dj, c, f], pixels outside the image counting as 0; relu'd if asked."""
        n_images, height, width, channels = x.shape
        kh, kw, _, filters = kernel.shape
        oh, ow = out.shape[1], out.shape[2]
        for n in prange(n_images):
            acc = np.empty(filters, np.float32)
            for i in range(oh):
                for j in range(ow):
                    for f in range(filters):
                        acc[f] = bias[f]
                    for di in range(kh):
                        r = i * sh + di - top
                        if r < 0 or r >= height:
                            continue
                        for dj in range(kw):
                            col = j * sw + dj - left
                            if col < 0 or col >= width:
                                continue
                            for c in range(channels):
                                v = x[n, r, col, c]
                                for f in range(filters):
                                    acc[f] += v * kernel[di, dj, c, f]
                    for f in range(filters):
                        out[n, i, j, f] = max(acc[f], np.float32(0.0)) if relu else acc[f]

    def conv_backward(x, a, da, kernel, top, left, sh, sw, relu, partial_kernel, partial_bias, dx):
        """The kernel's and bias's gradients, summed per group of images into partial_*[group]
        (the caller adds the groups), and dx if it has any rows; a position whose gradient is
        zero everywhere is skipped."""
        n_images, height, width, channels = x.shape
        kh, kw, _, filters = kernel.shape
        oh, ow = a.shape[1], a.shape[2]
        groups = partial_kernel.shape[0]
        need_dx = dx.shape[0] > 0
        for g in prange(groups):
            dz = np.empty(filters, np.float32)
            dk = partial_kernel[g]
            db = partial_bias[g]
            for n in range(g * n_images // groups, (g + 1) * n_images // groups):
                for i in range(oh):
                    for j in range(ow):
                        any_blame = False
                        for f in range(filters):
                            d = da[n, i, j, f]
                            if relu and a[n, i, j, f] <= 0:
                                d = np.float32(0.0)
                            dz[f] = d
                            any_blame = any_blame or d != 0
                        if not any_blame:
                            continue
                        for f in range(filters):
                            db[f] += dz[f]
                        for di in range(kh):
                            r = i * sh + di - top
                            if r < 0 or r >= height:
                                continue
                            for dj in range(kw):
                                col = j * sw + dj - left
                                if col < 0 or col >= width:
                                    continue
                                for c in range(channels):
                                    v = x[n, r, col, c]
                                    for f in range(filters):
                                        dk[di, dj, c, f] += v * dz[f]
                                    if need_dx:
                                        total = np.float32(0.0)
                                        for f in range(filters):
                                            total += dz[f] * kernel[di, dj, c, f]
                                        dx[n, r, col, c] += total

    def max_pool_forward(x, ph, pw, sh, sw, top, left, out, winner):
        """out = the largest value of each window; winner = its position di * pw + dj in the
        window (the first in reading order if several tie); padding never wins."""
        n_images, height, width, channels = x.shape
        oh, ow = out.shape[1], out.shape[2]
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
    for name, loop in (("conv_forward", conv_forward), ("conv_backward", conv_backward),
                       ("max_pool_forward", max_pool_forward), ("max_pool_backward", max_pool_backward)):
        for parallel in (False, True):   # prange is a plain range when not parallel
            # numba names its disk cache after the function: each variant gets its own name.
            variant = types.FunctionType(loop.__code__, loop.__globals__, name, None, loop.__closure__)
            variant.__qualname__ = f"{name}_{'all_cores' if parallel else 'one_core'}"
            kernels[name, parallel] = numba.njit(variant, parallel=parallel, fastmath=True,
                                                 error_model="numpy", cache=True)
    return kernels
