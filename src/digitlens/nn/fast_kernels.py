"""The compiled loops of the fast path: whole training steps, and prediction, for Dense stacks.

layers.py, activations.py, losses.py and optimizers.py are the reference - the NumPy a learner
reads. The loops below compute the same numbers (tests/test_fast_dense.py holds them equal to
float32 tolerance) in a way the CPU likes better; fast_dense.py decides when they may run and
drives them. What makes them fast, as the profile of the reference asked for it:

- One compiled call runs whole training steps: no NumPy call per operation, no temporary
  arrays, no Python between the forward pass, the backward pass and the optimizer.
- The first layer reads only the pixels that are not zero. About 19% of an MNIST image is ink,
  so x @ kernel and the kernel's gradient x.T @ dz are ~5x less arithmetic when the zeros are
  skipped: z[i] = sum over the ink pixels p of x[i, p] * kernel[p]. A fit lists every training
  image's ink once (list_ink); prediction finds it as it goes (gather_ink). Later layers skip
  the zeros relu and dropout leave in their inputs in the same way. uint8 pixels are scaled by
  1/255 as they are read, so no float copy of the images is ever made.
- The bias and the activation are applied to each row while it is in the cache.
- The first kernel's gradient is computed one row at a time (one pixel: the images of the batch
  with ink there) and the optimizer updates that row at once, while it is in the cache, instead
  of in a second pass over all 203,530 numbers.
- With two or more cores, the first layer's kernel is cut into one stretch of rows (inputs)
  per core, and each core does everything for its rows: their share of every image's z, their
  gradient, their update. A core then only ever touches its own rows of the kernel and of the
  optimizer's state (1.2 MB of the 2.4 MB for two cores), which stay in its own cache; no row
  ever moves between cores. (Cutting by units instead - each core half of every row - was 3x
  slower: at the edges of the halves the cores fight over the same cache lines.) The rest of the
  network, the loss and the backward pass down to the first layer take a group of the batch's
  images per core instead: the rows of a batch do not meet until their gradients are summed.
  Shares and gradients are summed in the same order however many cores run the parts, so one
  core and all of them give the same numbers to the bit.

Arrays are flat and the model's layout is a small integer table (fast_dense.py builds it): row l
of `table` says where layer l's kernel and bias are in `params` (the same array whose views the
layers call `kernel` and `bias`), how many inputs and units it has, its activation, where its
input and output live in the step's work arrays, and which dropout masks apply to its input.
A matrix (N, units) is stored row by row.

numba is imported with this module, which fast_dense.py imports only when a model first trains
or predicts. Compiled code is cached on disk.
"""

import sys
import types

import numba
import numpy as np

# Activation codes (ACTIVATION_CODES in fast_dense.py).
LINEAR, RELU, SIGMOID, TANH, SOFTMAX = 0, 1, 2, 3, 4
# Optimizer codes.
ADAM, SGD, MOMENTUM, RMSPROP = 0, 1, 2, 3
# Columns of the layer table.
N_IN, N_OUT, KERNEL, BIAS, ACT, OUT, IN, DROP_FIRST, DROP_COUNT, KERNEL_T = range(10)
ROWS = 8       # rows of the first kernel whose gradient is made before the optimizer updates them
NARROW = 16    # a later layer with fewer units works on its kernel transposed (see dense_forward)

LITTLE_ENDIAN = sys.byteorder == "little"   # byte b of a uint64 word is pixel 8 * word + b
ONE = np.float32(1.0)
EPSILON = np.float32(1e-7)          # losses.EPSILON: probabilities are clipped to [1e-7, 1 - 1e-7]
TINY = np.float32(1.1754944e-38)    # fused.TINY: Adam's state is flushed to zero below it

# Fast-math lets the compiler reorder sums (and so vectorize them), but not assume that no
# number is NaN or infinite: a run that diverges must still report NaN, as the reference does.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
njit = numba.njit(fastmath=FASTMATH, error_model="numpy", cache=True, nogil=True)


# ---- the forward pass ----------------------------------------------------------------------

@njit
def matrix(flat, offset, rows, cols):
    """flat[offset:offset + rows * cols] seen as a (rows, cols) matrix."""
    return flat[offset:offset + rows * cols].reshape((rows, cols))


@njit
def gather_ink(data, lo, n, scale, begin, end, idx, val):
    """Images data[lo:lo + n] as lists of their non-zero values, scaled (x = data * scale): image
    i's positions are idx[begin[i]:end[i]], their values val[...] (begin[i] = i * width)."""
    width = data.shape[1]
    words = width // 8
    by_words = data.itemsize == 1 and LITTLE_ENDIAN
    for i in range(n):
        row = data[lo + i]
        k = i * width
        done = 0
        if by_words:
            # uint8 pixels eight at a time: most 8-pixel stretches of a digit are blank and are
            # skipped in one test; in the others, each pixel is stored and kept only if not 0
            # (a store is cheaper than a branch the CPU cannot predict).
            bits = row[:words * 8].view(np.uint64)
            for w in range(words):
                word = bits[w]
                if word != 0:
                    for b in range(8):
                        pixel = (word >> np.uint64(8 * b)) & np.uint64(255)
                        idx[k] = w * 8 + b
                        val[k] = np.float32(pixel) * scale
                        k += pixel != 0
            done = words * 8
        for p in range(done, width):
            v = np.float32(row[p]) * scale
            if v != 0.0:
                idx[k] = p
                val[k] = v
                k += 1
        begin[i], end[i] = i * width, k


@njit
def count_ink(data, starts):
    """Where each image's list of non-zero inputs starts (see list_ink); returns their total."""
    k = 0
    for r in range(data.shape[0]):
        starts[r] = k
        row = data[r]
        for p in range(data.shape[1]):
            if row[p] != 0:
                k += 1
    starts[data.shape[0]] = k
    return k


@njit
def list_ink(data, starts, positions, values):
    """Every image's non-zero inputs, found once per fit: image r's positions are
    positions[starts[r]:starts[r + 1]] and its raw values (uint8 pixels, or floats) values[...].
    Each input is stored and kept only if it is not 0 (a store is cheaper than a branch the CPU
    cannot predict), so the arrays have one spare place at the end."""
    for r in range(data.shape[0]):
        row = data[r]
        k = starts[r]
        for p in range(data.shape[1]):
            positions[k] = p
            values[k] = row[p]
            k += row[p] != 0


@njit
def split_ink(starts, positions, cuts, splits):
    """Where each image's list (list_ink) crosses the first layer's parts: image r's inputs in
    rows cuts[t]:cuts[t + 1] are positions[splits[r, t]:splits[r, t + 1]] (a list is in order of
    position). Found once per fit, as the lists are."""
    for r in range(starts.shape[0] - 1):
        k = starts[r]
        for t in range(cuts.shape[0] - 1):
            while k < starts[r + 1] and positions[k] < cuts[t]:
                k += 1
            splits[r, t] = k
        splits[r, cuts.shape[0] - 1] = starts[r + 1]


@njit
def take_ink(rows, n, width, r0, lo, hi, positions, values, scale, drop_first, drop_count, rates, scales,
             noise, noise_at, begin, end, idx, val):
    """The lists of gather_ink for a training batch's images (rows[i] of the data), inputs r0:r1
    only, taken from those list_ink made: their values scaled, and dropped out if a Dropout comes
    first, as the reference does (x = data * scale, then x *= mask for each Dropout). Image i's
    inputs r0:r1 are positions[lo[rows[i]]:hi[rows[i]]]; its list is written from
    idx[i * width + r0], so the parts of a batch never overlap."""
    for i in range(n):
        k = i * width + r0
        for e in range(lo[rows[i]], hi[rows[i]]):
            p = positions[e]
            v = np.float32(values[e]) * scale
            for d in range(drop_first, drop_first + drop_count):
                keep = noise[noise_at[d] + i * width + p] >= rates[d]
                v = v * (scales[d] if keep else np.float32(0.0))
            if v != 0.0:
                idx[k] = p
                val[k] = v
                k += 1
        begin[i], end[i] = i * width + r0, k


@njit
def add_rows(g, rows, which, values, scale, lo, hi, c0, c1):
    """g += values[k] * scale * rows[which[k], c0:c1] for k in lo .. hi - 1: the sum first_forward
    takes over an image's ink pixels (rows of the kernel) and first_backward over the images with
    ink at one pixel (rows of dz)."""
    # (Loops run over views from 0: numba then knows no index is negative, and vectorizes.)
    k = lo
    while k + 8 <= hi:                     # eight rows at a time: one pass over g for eight rows
        v0, v1 = np.float32(values[k]) * scale, np.float32(values[k + 1]) * scale
        v2, v3 = np.float32(values[k + 2]) * scale, np.float32(values[k + 3]) * scale
        v4, v5 = np.float32(values[k + 4]) * scale, np.float32(values[k + 5]) * scale
        v6, v7 = np.float32(values[k + 6]) * scale, np.float32(values[k + 7]) * scale
        r0, r1 = rows[which[k], c0:c1], rows[which[k + 1], c0:c1]
        r2, r3 = rows[which[k + 2], c0:c1], rows[which[k + 3], c0:c1]
        r4, r5 = rows[which[k + 4], c0:c1], rows[which[k + 5], c0:c1]
        r6, r7 = rows[which[k + 6], c0:c1], rows[which[k + 7], c0:c1]
        for j in range(g.shape[0]):
            g[j] += ((v0 * r0[j] + v1 * r1[j]) + (v2 * r2[j] + v3 * r3[j])
                     + (v4 * r4[j] + v5 * r5[j]) + (v6 * r6[j] + v7 * r7[j]))
        k += 8
    while k < hi:
        v, r = np.float32(values[k]) * scale, rows[which[k], c0:c1]
        for j in range(g.shape[0]):
            g[j] += v * r[j]
        k += 1


@njit
def first_forward(i0, i1, begin, end, idx, val, scale, kernel, bias, has_bias, z, c0, c1):
    """z[i, c0:c1] = x[i] @ kernel[:, c0:c1] + bias[c0:c1] for images i0 .. i1 - 1, reading only
    the non-zero values of x: x[i, idx[k]] = val[k] * scale for k in begin[i] .. end[i] - 1 (the
    lists of gather_ink or take_ink, scale 1; or list_ink's raw pixels themselves)."""
    for i in range(i0, i1):
        zi = z[i, c0:c1]
        zi[:] = 0.0
        add_rows(zi, kernel, idx, val, scale, begin[i], end[i], c0, c1)
        if has_bias:
            b = bias[c0:c1]
            for j in range(zi.shape[0]):
                zi[j] += b[j]


@njit
def dense_forward(n, x, kernel, bias, has_bias, z, kernel_t):
    """z = x @ kernel + bias for an input x (n, inputs) stored whole.

    With many units, row by row: z[i] += x[i, p] * kernel[p] for each non-zero x[i, p] (relu and
    dropout leave many zeros). With few (the 10 outputs), a row of 10 is too short to compute
    on fast, so each z[i, j] is the dot product of x[i] with column j of the kernel, read from
    kernel_t: the kernel transposed (units, inputs), made by `transpose` beforehand."""
    inputs, units = kernel.shape
    if units < NARROW:
        for i in range(n):                 # (N, inputs) @ (inputs, units) -> (N, units)
            xi = x[i]
            for j in range(units):
                column = kernel_t[j]
                total = np.float32(0.0)
                for p in range(inputs):
                    total += xi[p] * column[p]
                z[i, j] = total + bias[j] if has_bias else total
        return
    for i in range(n):
        zi, xi = z[i], x[i]
        zi[:] = 0.0
        for p in range(inputs):            # (N, inputs) @ (inputs, units) -> (N, units), by rows
            v = xi[p]
            if v != 0.0:
                w = kernel[p]
                for j in range(units):
                    zi[j] += v * w[j]
        if has_bias:
            for j in range(units):
                zi[j] += bias[j]


@njit
def transpose(table, params, kernels_t):
    """Each narrow layer's kernel (inputs, units) transposed into kernels_t (units, inputs)."""
    for l in range(1, table.shape[0]):
        n_in, n_out = table[l, N_IN], table[l, N_OUT]
        if n_out < NARROW:
            kernel = matrix(params, table[l, KERNEL], n_in, n_out)
            kernel_t = matrix(kernels_t, table[l, KERNEL_T], n_out, n_in)
            for p in range(n_in):
                for j in range(n_out):
                    kernel_t[j, p] = kernel[p, j]


@njit
def activate(i0, i1, z, act, c0, c1):
    """a = f(z) in place on rows i0 .. i1 - 1 of z, units c0:c1 (softmax: always whole rows)."""
    for i in range(i0, i1):
        zi = z[i, c0:c1]
        units = zi.shape[0]
        if act == RELU:
            for j in range(units):
                zi[j] = max(zi[j], np.float32(0.0))
        elif act == SIGMOID:               # 0.5 * (1 + tanh(z / 2)), as activations.py computes it
            for j in range(units):
                zi[j] = (np.tanh(zi[j] * np.float32(0.5)) + np.float32(1.0)) * np.float32(0.5)
        elif act == TANH:
            for j in range(units):
                zi[j] = np.tanh(zi[j])
        elif act == SOFTMAX:               # subtract the row's largest score, exp, divide by the sum
            top = zi[0]
            for j in range(units):
                top = max(top, zi[j])
            total = np.float32(0.0)
            for j in range(units):
                zi[j] = np.exp(zi[j] - top)
                total += zi[j]
            for j in range(units):
                zi[j] /= total


@njit
def dropped(n, a, out, drop_first, drop_count, rates, scales, noise, noise_at, row0=0):
    """out = a * mask for each Dropout in turn (mask = (noise >= rate) / (1 - rate)); a plain
    copy when there is none. a's row i is the batch's row row0 + i."""
    width = a.shape[1]
    for i in range(n):
        for p in range(width):
            v = a[i, p]
            for d in range(drop_first, drop_first + drop_count):
                keep = noise[noise_at[d] + (row0 + i) * width + p] >= rates[d]
                v = v * (scales[d] if keep else np.float32(0.0))
            out[i, p] = v


@njit
def layer_input(n, table, l, acts, inputs):
    """Layer l's input (l > 0): the previous layer's output, or, after Dropout, a copy masked."""
    if table[l, DROP_COUNT]:
        return matrix(inputs, table[l, IN], n, table[l, N_IN])
    return matrix(acts, table[l - 1, OUT], n, table[l, N_IN])


@njit
def forward_rest(i0, i1, n, table, params, acts, inputs, kernels_t, rates, scales, noise, noise_at):
    """Every layer after the first, for rows i0 .. i1 - 1 of a training step of n images (their
    inputs kept for backward); returns the last layer's output for those rows. kernels_t holds
    the narrow layers' kernels transposed (`transpose`)."""
    a = matrix(acts, table[0, OUT], n, table[0, N_OUT])[i0:i1]
    for l in range(1, table.shape[0]):
        n_in, n_out, b = table[l, N_IN], table[l, N_OUT], table[l, BIAS]
        x = layer_input(n, table, l, acts, inputs)[i0:i1]
        if table[l, DROP_COUNT]:
            dropped(i1 - i0, a, x, table[l, DROP_FIRST], table[l, DROP_COUNT], rates, scales, noise, noise_at, i0)
        z = matrix(acts, table[l, OUT], n, n_out)[i0:i1]
        dense_forward(i1 - i0, x, matrix(params, table[l, KERNEL], n_in, n_out),
                      params[max(b, 0):max(b, 0) + n_out], b >= 0, z, matrix(kernels_t, table[l, KERNEL_T], n_out, n_in))
        activate(0, i1 - i0, z, table[l, ACT], 0, n_out)
        a = z
    return a


@njit
def score(n, probs, labels):
    """(summed cross-entropy, number of right answers): losses.per_example and argmax."""
    loss = 0.0
    right = 0
    for i in range(n):
        y = labels[i]
        total = np.float32(0.0)                 # the outputs made to sum to 1, as Keras does
        for j in range(probs.shape[1]):
            total += probs[i, j]
        loss -= np.log(min(max(probs[i, y] / total, EPSILON), np.float32(1.0) - EPSILON))
        best = 0
        for j in range(1, probs.shape[1]):
            if probs[i, j] > probs[i, best]:
                best = j
        if best == y:
            right += 1
    return loss, right


@njit
def add_parts(i0, i1, z_parts, params, b0, z):
    """z[i] = z_parts[0, i] + z_parts[1, i] + ... (in that order), + the bias params[b0:] if
    b0 >= 0, for rows i0 .. i1 - 1."""
    units = z.shape[1]
    for i in range(i0, i1):
        zi, first = z[i], z_parts[0, i]
        for j in range(units):
            zi[j] = first[j]
        for t in range(1, z_parts.shape[0]):
            share = z_parts[t, i]
            for j in range(units):
                zi[j] += share[j]
        if b0 >= 0:
            bias = params[b0:b0 + units]
            for j in range(units):
                zi[j] += bias[j]


# ---- the backward pass ---------------------------------------------------------------------

@njit
def output_gradient(n, batch, probs, labels, act, dz):
    """dL/dz of the last layer for the mean cross-entropy over a batch of `batch` images, for
    n of its rows: (probs - onehot) / batch for a softmax (losses.logits_gradient); otherwise
    dL/dprobs (losses.gradient) through f'(z)."""
    classes = probs.shape[1]
    for i in range(n):
        y = labels[i]
        if act == SOFTMAX:
            for j in range(classes):
                dz[i, j] = probs[i, j]
            dz[i, y] -= np.float32(1.0)
            for j in range(classes):
                dz[i, j] *= np.float32(1.0 / batch)
        else:
            # p = outputs / S, S the row's sum; inside the clip dL/d(outputs_k) = 1/S - [k = y] / outputs_y
            total = np.float32(0.0)
            for j in range(classes):
                total += probs[i, j]
            p = probs[i, y] / total
            inside = p > EPSILON and p < np.float32(1.0) - EPSILON
            for j in range(classes):
                dz[i, j] = np.float32(1.0) / (total * np.float32(batch)) if inside else np.float32(0.0)
            if inside:
                dz[i, y] -= np.float32(1.0) / (np.float32(batch) * probs[i, y])
    if act != SOFTMAX:
        activation_gradient(n, dz, probs, act)


@njit
def activation_gradient(n, da, a, act):
    """dz = da * f'(z) in place on da[:n], from the activation's output a (activations.py)."""
    for i in range(n):
        di, ai = da[i], a[i]
        if act == RELU:
            for j in range(di.shape[0]):
                di[j] = di[j] if ai[j] > 0.0 else np.float32(0.0)
        elif act == SIGMOID:
            for j in range(di.shape[0]):
                di[j] = di[j] * (ai[j] * (np.float32(1.0) - ai[j]))
        elif act == TANH:
            for j in range(di.shape[0]):
                di[j] = di[j] * (np.float32(1.0) - ai[j] * ai[j])
        elif act == SOFTMAX:
            weighted = np.float32(0.0)
            for j in range(di.shape[0]):
                weighted += di[j] * ai[j]
            for j in range(di.shape[0]):
                di[j] = (di[j] - weighted) * ai[j]


@njit
def dense_backward(n, x, dz, kernel, dkernel, dbias, has_bias, dx, kernel_t, scratch):
    """dkernel = x.T @ dz, dbias = dz summed over the rows, dx = dz @ kernel.T (the kernel as it
    was before this step's update: kernel_t holds it transposed for a layer of few units, whose
    dkernel is made transposed in scratch (units, inputs) first)."""
    inputs, units = kernel.shape
    if has_bias:
        dbias[:] = 0.0
        for i in range(n):
            for j in range(units):
                dbias[j] += dz[i, j]
    if units < NARROW:                     # along the inputs, as in dense_forward
        for i in range(n):                 # (N, units) @ (units, inputs) -> (N, inputs)
            dxi, di = dx[i], dz[i]
            dxi[:] = 0.0
            for j in range(units):
                d, column = di[j], kernel_t[j]
                for p in range(inputs):
                    dxi[p] += d * column[p]
        for j in range(units):             # dkernel[:, j] = x.T @ dz[:, j], made in scratch[j]
            column = scratch[j]
            column[:] = 0.0
            for i in range(n):
                d, xi = dz[i, j], x[i]
                for p in range(inputs):
                    column[p] += d * xi[p]
        for p in range(inputs):
            for j in range(units):
                dkernel[p, j] = scratch[j, p]
        return
    dkernel[:, :] = 0.0
    for i in range(n):                     # (inputs, N) @ (N, units): only where x is not 0
        xi, di = x[i], dz[i]
        for p in range(inputs):
            v = xi[p]
            if v != 0.0:
                g = dkernel[p]
                for j in range(units):
                    g[j] += v * di[j]
    for i in range(n):                     # (N, units) @ (units, inputs) -> (N, inputs)
        di = dz[i]
        for p in range(inputs):
            w = kernel[p]
            total = np.float32(0.0)
            for j in range(units):
                total += di[j] * w[j]
            dx[i, p] = total


@njit
def backward_rest(i0, i1, n, labels, table, params, grads, acts, inputs, dacts, dinputs, kernels_t, rates,
                  scales, noise, noise_at):
    """The backward pass for rows i0 .. i1 - 1 of a step of n images, from the loss down to the
    first layer's dz (left in dacts): each later layer's gradient from these rows alone is
    written to `grads` (at the layer's place in params; the caller sums the parts' and updates).
    The kernels are not changed, so every part's dx is made with the kernels before the step."""
    last = table.shape[0] - 1
    rows = i1 - i0
    dz = matrix(dacts, table[last, OUT], n, table[last, N_OUT])[i0:i1]
    output_gradient(rows, n, matrix(acts, table[last, OUT], n, table[last, N_OUT])[i0:i1], labels[i0:i1],
                    table[last, ACT], dz)
    for l in range(last, 0, -1):
        n_in, n_out, k, b = table[l, N_IN], table[l, N_OUT], table[l, KERNEL], table[l, BIAS]
        below = table[l - 1, N_OUT]
        da = matrix(dacts, table[l - 1, OUT], n, below)[i0:i1]
        dx = matrix(dinputs, table[l, IN], n, n_in)[i0:i1] if table[l, DROP_COUNT] else da
        scratch = np.empty((n_out, n_in) if n_out < NARROW else (0, 0), dtype=np.float32)
        dense_backward(rows, layer_input(n, table, l, acts, inputs)[i0:i1], dz, matrix(params, k, n_in, n_out),
                       matrix(grads, k, n_in, n_out), grads[max(b, 0):max(b, 0) + n_out], b >= 0, dx,
                       matrix(kernels_t, table[l, KERNEL_T], n_out, n_in), scratch)
        # back through this layer's Dropouts (the same masks), then the previous activation
        if table[l, DROP_COUNT]:
            dropped(rows, dx, da, table[l, DROP_FIRST], table[l, DROP_COUNT], rates, scales, noise, noise_at, i0)
        activation_gradient(rows, da, matrix(acts, table[l - 1, OUT], n, below)[i0:i1], table[l - 1, ACT])
        dz = da


@njit
def update_rest(table, params, grads, part_grads, slot1, slot2, opt, hyper, rate):
    """Each later layer's gradient: the parts' (part_grads[t], each from its rows) summed in
    order into grads; then the optimizer's step on the layer."""
    for l in range(1, table.shape[0]):
        k, b, size = table[l, KERNEL], table[l, BIAS], table[l, N_IN] * table[l, N_OUT]
        for lo, hi in ((k, k + size), (b, b + table[l, N_OUT])):
            if lo < 0:
                continue
            g, first = grads[lo:hi], part_grads[0, lo:hi]
            for j in range(g.shape[0]):
                g[j] = first[j]
            for t in range(1, part_grads.shape[0]):
                share = part_grads[t, lo:hi]
                for j in range(g.shape[0]):
                    g[j] += share[j]
            update(params, g, slot1, slot2, lo, opt, hyper, rate)


@njit
def pixel_lists(n, begin, end, idx, val, scale, r0, r1, count, cimg, cval):
    """The non-zero inputs r0:r1 of a batch's images again (as first_forward reads them), by
    position: the images with a value at input p are cimg[p * n:][:count[p]], in order, with the
    values cval[...]."""
    count[r0:r1] = 0
    for i in range(n):
        for k in range(begin[i], end[i]):
            p = idx[k]
            at = p * n + count[p]
            cimg[at] = i
            cval[at] = np.float32(val[k]) * scale
            count[p] += 1


@njit
def first_backward(n, dz, count, cimg, cval, params, grads, slot1, slot2, k0, units, r0, r1, opt, hyper,
                   rate, keep):
    """The first layer's gradient for its kernel's rows r0:r1 (inputs r0:r1) - dkernel[p] = the
    sum over the images i with a value at input p of x[i, p] * dz[i] - a few rows at a time, each
    few updated by the optimizer while they are in the cache. The rows are stored in `grads`
    only if `keep` (the last step of a call: what model.grads holds after the reference's
    step); otherwise in a few rows of scratch, which spares the memory traffic."""
    scratch = np.empty(ROWS * units, dtype=np.float32)
    for p0 in range(r0, r1, ROWS):
        p1 = min(p0 + ROWS, r1)
        start = k0 + p0 * units
        block = grads[start:start + (p1 - p0) * units] if keep else scratch[:(p1 - p0) * units]
        block[:] = 0.0
        for p in range(p0, p1):
            add_rows(block[(p - p0) * units:(p - p0 + 1) * units], dz, cimg, cval, ONE, p * n, p * n + count[p], 0,
                     units)
        update(params, block, slot1, slot2, start, opt, hyper, rate)


@njit
def bias_backward(n, dz, params, grads, slot1, slot2, b0, units, opt, hyper, rate):
    """dbias = dz summed over the batch, and the optimizer's step on the bias."""
    db = grads[b0:b0 + units]
    db[:] = 0.0
    for i in range(n):
        d = dz[i]
        for j in range(units):
            db[j] += d[j]
    update(params, db, slot1, slot2, b0, opt, hyper, rate)


# ---- the optimizers: optimizers.py's (and fused.py's) arithmetic on params[lo:hi] ----------

@njit
def update(params, g, slot1, slot2, lo, opt, hyper, rate):
    """One optimizer step on params[lo:lo + len(g)], whose gradient is g; `rate` is Adam's lr_t,
    else the learning rate."""
    hi = lo + g.shape[0]
    w = params[lo:hi]
    if opt == ADAM:
        one_minus_beta_1, one_minus_beta_2, epsilon = hyper[0], hyper[1], hyper[2]
        m, v = slot1[lo:hi], slot2[lo:hi]
        for i in range(w.shape[0]):
            m_i = m[i] + (g[i] - m[i]) * one_minus_beta_1
            v_i = v[i] + (g[i] * g[i] - v[i]) * one_minus_beta_2
            m_i = np.float32(0.0) if abs(m_i) < TINY else m_i     # flush to zero: see fused.TINY
            v_i = np.float32(0.0) if v_i < TINY else v_i          # (a NaN stays NaN)
            m[i] = m_i
            v[i] = v_i
            w[i] -= rate * m_i / (np.sqrt(v_i) + epsilon)
    elif opt == SGD:
        for i in range(w.shape[0]):
            w[i] -= rate * g[i]
    elif opt == MOMENTUM:
        momentum, nesterov = hyper[0], hyper[1] != 0.0
        velocity = slot1[lo:hi]
        for i in range(w.shape[0]):
            vel = momentum * velocity[i] - rate * g[i]
            velocity[i] = vel
            if nesterov:
                w[i] += momentum * vel - rate * g[i]
            else:
                w[i] += vel
    else:   # RMSPROP
        rho, one_minus_rho, epsilon = hyper[0], hyper[1], hyper[2]
        velocity = slot1[lo:hi]
        for i in range(w.shape[0]):
            vel = velocity[i] * rho + one_minus_rho * (g[i] * g[i])
            velocity[i] = vel
            w[i] -= rate * g[i] / np.sqrt(vel + epsilon)


# ---- whole steps, and prediction: the two entry points (one-core and all-core variants) ----

def train_steps(positions, values, splits, cuts, order, labels, first, count, batch, scale, table,
                rates, scales, noise, noise_at,
                params, grads, slot1, slot2, opt, hyper, step_rates,
                begin, end, idx, val, counts, cimg, cval, z_parts, part_grads, acts, inputs, dacts, dinputs, kernels_t,
                losses, rights):
    """Training steps first .. first + count - 1 of an epoch whose images come in `order`,
    `batch` at a time (the last batch may be smaller): each one the reference's train_step -
    forward, loss, backward, optimizer. losses[s] and rights[s] receive step s's summed loss and
    number of right answers, before its update; noise_at[s] holds the offsets of its dropout
    noise in `noise`, step_rates[s] its learning rate (Adam: lr_t). The images are given by
    their non-zero inputs (list_ink, split_ink).

    The first layer's kernel is cut into stretches of rows (inputs) cuts[t]:cuts[t + 1], one per
    core (split_ink says where each image's list crosses them): part t computes its inputs' share
    of every image's z (z_parts[t]), their gradient and their update. A core then only ever
    touches its own rows of the kernel and of the optimizer's state - they stay in that core's
    cache, and no row moves between cores. The rest of the step takes a group of images per part
    (part_grads[t]: the later layers' gradients from its images). Shares and gradients are summed
    in the same order whether the parts run on one core or on all of them: the same numbers, to
    the bit."""
    total = order.shape[0]
    width, units = table[0, N_IN], table[0, N_OUT]
    k0, b0 = table[0, KERNEL], table[0, BIAS]
    kernel0 = matrix(params, k0, width, units)
    parts = cuts.shape[0] - 1
    part_losses = np.empty(parts, dtype=np.float64)
    part_rights = np.empty(parts, dtype=np.int64)
    for s in range(count):
        start = (first + s) * batch
        rows = order[start:min(start + batch, total)]
        n = rows.shape[0]
        y = labels[rows]
        at, rate = noise_at[s], step_rates[s]
        z0 = matrix(acts, table[0, OUT], n, units)
        # 1. predict: each part's inputs' share of the first layer's z, from the non-zero inputs
        #    alone, also listed by position for step 3
        for t in numba.prange(parts):
            r0, r1 = cuts[t], cuts[t + 1]
            b, e = begin[t], end[t]
            if table[0, DROP_COUNT] == 0:      # straight from the lists made for the whole fit
                for i in range(n):
                    b[i], e[i] = splits[rows[i], t], splits[rows[i], t + 1]
                first_forward(0, n, b, e, positions, values, scale, kernel0, params, False, z_parts[t], 0, units)
                pixel_lists(n, b, e, positions, values, scale, r0, r1, counts, cimg, cval)
            else:                              # dropped out first, into lists of this step's own
                take_ink(rows, n, width, r0, splits[:, t], splits[:, t + 1], positions, values, scale, table[0, DROP_FIRST],
                         table[0, DROP_COUNT], rates, scales, noise, at, b, e, idx, val)
                first_forward(0, n, b, e, idx, val, ONE, kernel0, params, False, z_parts[t], 0, units)
                pixel_lists(n, b, e, idx, val, ONE, r0, r1, counts, cimg, cval)
        # 2. and 3. the rest of the network, the loss and the backward pass down to the first
        #    layer's dz: a group of images per core (the rows of a batch do not meet until
        #    their gradients are summed)
        transpose(table, params, kernels_t)
        for t in numba.prange(parts):
            i0, i1 = n * t // parts, n * (t + 1) // parts
            add_parts(i0, i1, z_parts, params, b0, z0)     # z = the parts' shares, in order, + bias
            activate(i0, i1, z0, table[0, ACT], 0, units)
            probs = forward_rest(i0, i1, n, table, params, acts, inputs, kernels_t, rates, scales, noise, at)
            part_losses[t], part_rights[t] = score(i1 - i0, probs, y[i0:i1])
            backward_rest(i0, i1, n, y, table, params, part_grads[t], acts, inputs, dacts, dinputs, kernels_t,
                          rates, scales, noise, at)
        losses[s], rights[s] = part_losses[0], part_rights[0]
        for t in range(1, parts):
            losses[s] += part_losses[t]
            rights[s] += part_rights[t]
        # 4. nudge every weight: the later layers and the first layer's bias, then the first
        #    layer's kernel, each part its own rows
        update_rest(table, params, grads, part_grads, slot1, slot2, opt, hyper, rate)
        dz0 = matrix(dacts, table[0, OUT], n, units)
        if b0 >= 0:
            bias_backward(n, dz0, params, grads, slot1, slot2, b0, units, opt, hyper, rate)
        for t in numba.prange(parts):
            first_backward(n, dz0, counts, cimg, cval, params, grads, slot1, slot2, k0, units, cuts[t], cuts[t + 1],
                           opt, hyper, rate, s == count - 1)


def predict(data, scale, table, params, kernels_t, out, block):
    """out[i] = the model's output for image data[i], `block` images at a time (the cores take
    whole blocks). Reads params; writes only `out` and kernels_t, which the caller makes for
    this call: no side effects."""
    total = data.shape[0]
    width, units = table[0, N_IN], table[0, N_OUT]
    k0, b0 = table[0, KERNEL], table[0, BIAS]
    kernel0 = matrix(params, k0, width, units)
    bias0 = params[max(b0, 0):max(b0, 0) + units]
    transpose(table, params, kernels_t)
    for start in numba.prange((total + block - 1) // block):
        lo = start * block
        n = min(block, total - lo)
        begin = np.empty(n, dtype=np.int64)
        end = np.empty(n, dtype=np.int64)
        idx = np.empty(n * width, dtype=np.int32)
        val = np.empty(n * width, dtype=np.float32)
        gather_ink(data, lo, n, scale, begin, end, idx, val)     # (Dropout does nothing at prediction)
        a = np.empty((n, units), dtype=np.float32)
        first_forward(0, n, begin, end, idx, val, ONE, kernel0, bias0, b0 >= 0, a, 0, units)
        activate(0, n, a, table[0, ACT], 0, units)
        for l in range(1, table.shape[0]):
            n_in, n_out, b = table[l, N_IN], table[l, N_OUT], table[l, BIAS]
            z = np.empty((n, n_out), dtype=np.float32)
            dense_forward(n, a, matrix(params, table[l, KERNEL], n_in, n_out),
                          params[max(b, 0):max(b, 0) + n_out], b >= 0, z,
                          matrix(kernels_t, table[l, KERNEL_T], n_out, n_in))
            activate(0, n, z, table[l, ACT], 0, n_out)
            a = z
        out[lo:lo + n] = a


def _variant(function, parallel):
    # numba names its disk cache after the function: each variant gets a name of its own, or the
    # one-core variant would load the all-core one from the cache (as in fused.py).
    name = f"{function.__name__}_{'all_cores' if parallel else 'one_core'}"
    copy = types.FunctionType(function.__code__, function.__globals__, name, function.__defaults__)
    copy.__qualname__ = name
    return numba.njit(copy, parallel=parallel, fastmath=FASTMATH, error_model="numpy", cache=True, nogil=True)


KERNELS = {(name, parallel): _variant(function, parallel)
           for name, function in (("train_steps", train_steps), ("predict", predict))
           for parallel in (False, True)}
KERNELS["count_ink"], KERNELS["list_ink"], KERNELS["split_ink"] = count_ink, list_ink, split_ink


def row_cuts(width, parts):
    """Rows cuts[t]:cuts[t + 1] of the first kernel for each of `parts` parts (train_steps):
    about equal stretches, in whole blocks of ROWS rows."""
    return np.array([min(width, ROWS * ((width * t // parts) // ROWS)) for t in range(parts)] + [width], np.int64)


KERNELS["row_cuts"] = row_cuts


def one_at_a_time(kernel, *args):
    """Run an all-core kernel with its loop handed out one iteration at a time, each to the next
    core that is free (numba's default cuts it in equal shares up front, and a core that is
    held up then holds up the whole call)."""
    previous = numba.set_parallel_chunksize(1)
    try:
        kernel(*args)
    finally:
        numba.set_parallel_chunksize(previous)
