"""The flatten step: how a 28x28 image becomes the 784 numbers the first Dense layer receives.

Flatten lays the image's rows end to end: row 0 is inputs 0-27, row 1 is inputs 28-55, and so on,
so pixel (row, col) becomes input 28 * row + col, and input i is pixel (i // 28, i % 28).

    pixel_to_index(5, 14)        # 154
    index_to_pixel(154)          # (5, 14)
    flatten_strip(image)["strip"]  # the same 784 values as image.reshape(-1)

Pictures of the strip live in digitlens.viz.flatten; this module only has the arithmetic.
"""

import numpy as np

from ..errors import DigitlensError


def pixel_to_index(row, col, width=28):
    """The input number of pixel (row, col) once the image is flattened: width * row + col."""
    row, col, width = int(row), int(col), int(width)
    if not 0 <= col < width or row < 0:
        raise DigitlensError(f"pixel: expected row >= 0 and 0 <= col < {width}, received ({row}, {col})")
    return width * row + col


def index_to_pixel(index, width=28):
    """The pixel (row, col) that input number `index` came from: (index // width, index % width)."""
    index, width = int(index), int(width)
    if index < 0:
        raise DigitlensError(f"index: expected a non-negative input number, received {index}")
    row, col = divmod(index, width)
    return row, col


def flatten_strip(image):
    """Cut an image into its rows and lay them end to end.

    image: (height, width) array, e.g. a (28, 28) digit (uint8 or float; values kept as given).
    Returns {"rows": list of `height` arrays of shape (width,), "strip": (height*width,) array,
    "height", "width", "starts": the input number where each row begins (0, 28, 56, ...)}.
    The strip is exactly what Flatten hands to the first Dense layer (before scaling to 0-1).
    """
    image = np.asarray(image)
    if image.ndim == 1:
        side = int(round(len(image) ** 0.5))
        if side * side != len(image):
            raise DigitlensError(f"image: expected a (height, width) image, received shape {image.shape}")
        image = image.reshape(side, side)
    if image.ndim != 2:
        raise DigitlensError(f"image: expected a (height, width) image, received shape {image.shape}")
    height, width = image.shape
    rows = [image[r].copy() for r in range(height)]
    return {"rows": rows, "strip": np.concatenate(rows), "height": height, "width": width,
            "starts": [r * width for r in range(height)]}
