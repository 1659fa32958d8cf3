"""Giving a digit MNIST's stroke width: thin pens thickened, fat markers thinned.

MNIST's digits were written with similar pens and scaled to the same height, so their strokes are
all about as wide: 13% of the digit's longer side (2.6 pixels of the 20-pixel box). The network
learned digits drawn that wide. A ballpoint on a big photo comes out a hairline, a marker as fat
blobs (a marker's 1 is read as an 8), so `normalise_strokes` redraws strokes whose width is far
from MNIST's:

    1. mask      the inked pixels, as the crop was made (paper.ink_mask);
    2. width     the mask's area divided by the length of its skeleton (skimage.morphology.skeletonize
                 thins a shape to lines one pixel wide, down its middle): for a stroke of length L
                 and width W that is L x W / L = W;
    3. redrawn   if the width, as a fraction of the digit's longer side, is outside what MNIST's
                 digits have (MNIST_WIDTHS), the skeleton is drawn again with MNIST's typical width
                 (every pixel within half a width of the skeleton, with a one-pixel soft edge).

The constants were measured on MNIST's first 3,000 test digits with `stroke_width_ratio` itself
(tests/test_images.py measures them again). What it leaves out: strokes of different widths in one
digit keep their differences only if the digit is not redrawn.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MNIST_WIDTHS = (0.12, 0.34)  # MNIST's range, all but its thinnest and thickest 1% (width / longer side)
MNIST_WIDTH = 0.18  # the median
REDRAW_WIDTH = 0.11  # a skeleton redrawn this wide (of its longer side) measures MNIST_WIDTH once prepared
SIDE = (64, 192)  # strokes are measured (and redrawn) with the longer side in this range of pixels


def stroke_width_ratio(ink: np.ndarray) -> tuple[float, np.ndarray]:
    """(stroke width / the ink's longer side, the skeleton) of a soft ink image (light on dark).

    The strokes are the pixels paper.ink_mask calls ink (as the crop was made).
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    from digitlens.datasets.paper import ink_mask

    # Ragged edges (noise, JPEG) would give the skeleton a hair at every bump: smooth them first.
    smooth = ndimage.gaussian_filter(ink, max(1.0, 0.01 * max(ink.shape)))
    mask = ink_mask(smooth, float(smooth.max()), floor=0.0)
    rows, cols = np.nonzero(mask)
    longer = max(np.ptp(rows), np.ptp(cols)) + 1
    skeleton = skeletonize(mask)
    return float(mask.sum()) / max(int(skeleton.sum()), 1) / longer, skeleton


def measure_strokes(cropped: np.ndarray) -> tuple[float, np.ndarray]:
    """(stroke width / longer side, the skeleton) of a cropped digit, at a size where both are fair.

    The crop is first scaled so its longer side is within SIDE: on a 20-pixel crop a skeleton is
    too coarse to measure, and a 1000-pixel one takes long for nothing.
    """
    h, w = cropped.shape
    scale = min(max(max(h, w), SIDE[0]), SIDE[1]) / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow sizes are (width, height)
    resample = Image.Resampling.BILINEAR if scale > 1 else Image.Resampling.BOX
    work = np.asarray(Image.fromarray(cropped.astype(np.float32)).resize(size, resample), np.float32)
    return stroke_width_ratio(work)


def normalise_strokes(cropped: np.ndarray) -> tuple[np.ndarray, dict]:
    """Redraw a cropped digit's strokes at MNIST's width if they are much thinner or thicker.

    Args:
        cropped: float32 (h, w) ink, light on dark, cropped to the digit.

    Returns:
        (ink, about): the ink unchanged, or redrawn and cropped again; `about` holds "width" (the
        width found, as a fraction of the longer side) and "redrawn" (bool).
    """
    from scipy import ndimage

    ratio, skeleton = measure_strokes(cropped)
    about = {"width": round(ratio, 4), "redrawn": False}
    if MNIST_WIDTHS[0] <= ratio <= MNIST_WIDTHS[1]:
        return cropped, about
    rows, cols = np.nonzero(skeleton)
    longer = max(np.ptp(rows), np.ptp(cols)) + 1
    pieces, count = ndimage.label(skeleton, structure=np.ones((3, 3)))
    lengths = np.bincount(pieces.ravel(), minlength=count + 1)
    skeleton = (lengths >= 0.1 * longer)[pieces] & skeleton  # a speck's skeleton would become a fat dot
    width = REDRAW_WIDTH * longer
    skeleton = np.pad(skeleton, int(width) + 2)  # room for the new width around the skeleton
    radius = width / 2
    redrawn = np.clip(radius + 0.5 - ndimage.distance_transform_edt(~skeleton), 0.0, 1.0) * 255.0
    rows, cols = np.nonzero(redrawn)
    about["redrawn"] = True
    return redrawn[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].astype(np.float32), about
