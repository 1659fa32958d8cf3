"""Small random shifts and rotations of training digits (`digitlens train --augment`).

People never write a digit twice the same way. Showing the network each training digit moved by a
pixel or two and turned by a few degrees - a different copy every epoch - teaches it that those
changes do not change the digit, and takes the lesson's network from about 98.2% to about 98.8%
on the test set without changing its architecture.

The whole batch is transformed at once: for every output pixel, find where it comes from in the
source image (rotation about the centre, then the shift) and blend the four nearest source pixels
(bilinear interpolation). Pixels from outside the image are background (0).
"""

import numpy as np


def shift(x, rows=0, cols=0):
    """The images x (N, H, W), any dtype, moved by whole pixels: `cols` to the right (negative: to
    the left) and `rows` down; what comes in from outside is background (0). The same digit, only
    in another place - what a network that forgot which pixels were neighbours may misread."""
    x = np.asarray(x)
    moved = np.zeros_like(x)
    height, width = x.shape[1:3]
    if abs(rows) >= height or abs(cols) >= width:
        return moved
    into_r, from_r = slice(max(rows, 0), height + min(rows, 0)), slice(max(-rows, 0), height + min(-rows, 0))
    into_c, from_c = slice(max(cols, 0), width + min(cols, 0)), slice(max(-cols, 0), width + min(-cols, 0))
    moved[:, into_r, into_c] = x[:, from_r, from_c]
    return moved


class RandomShiftRotate:
    """augment(x, rng) -> a moved copy of the batch x (N, 28, 28) float32."""

    def __init__(self, max_shift=2.0, max_degrees=12.0):
        self.max_shift = float(max_shift)
        self.max_degrees = float(max_degrees)

    def __call__(self, x, rng):
        n, height, width = x.shape
        angle = np.radians(rng.uniform(-self.max_degrees, self.max_degrees, n)).astype(np.float32)
        shift = rng.uniform(-self.max_shift, self.max_shift, (n, 2)).astype(np.float32)
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
        cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
        # Source coordinates of each output pixel: undo the shift, then undo the rotation.
        dy = rows[None] - cy - shift[:, 0, None, None]
        dx = cols[None] - cx - shift[:, 1, None, None]
        src_y = cos * dy - sin * dx + cy          # (N, 28, 28)
        src_x = sin * dy + cos * dx + cx
        return _bilinear(x, src_y, src_x)


def _bilinear(x, src_y, src_x):
    n, height, width = x.shape
    padded = np.zeros((n, height + 2, width + 2), dtype=np.float32)   # a border of background
    padded[:, 1:-1, 1:-1] = x
    y = np.clip(src_y + 1.0, 0.0, height + 0.999)   # +1: coordinates in the padded image
    xx = np.clip(src_x + 1.0, 0.0, width + 0.999)
    y0, x0 = np.floor(y).astype(np.intp), np.floor(xx).astype(np.intp)
    fy, fx = y - y0, xx - x0
    flat = padded.reshape(n, -1)
    stride = width + 2
    base = (np.arange(n) * flat.shape[1])[:, None, None]
    idx = base + y0 * stride + x0
    flat_all = flat.ravel()
    top = flat_all[idx] * (1 - fx) + flat_all[idx + 1] * fx
    bottom = flat_all[idx + stride] * (1 - fx) + flat_all[idx + stride + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)
