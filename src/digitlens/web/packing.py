"""Big arrays for the page, packed as raw float32 bytes in base64.

The 256 weight pictures of the first layer are 200,704 numbers; written as JSON text they take
about 2 MB and a long time to parse, packed they take 1 MB and the page reads them straight into a
Float32Array. The values are exactly the model's float32 numbers.

    {"shape": [256, 28, 28], "dtype": "float32", "base64": "..."}

Pictures that are only looked at (a convolution's feature maps, ten times a second while a digit is
drawn) go as one byte a value in a PNG instead (`pack_maps`): 0-255 on a scale sent beside them.
"""

import base64
import io

import numpy as np
from PIL import Image


def pack(array):
    array = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(array.shape), "dtype": "float32",
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def pack_maps(values):
    """(H, W, C) float maps -> {"shape": [C, H, W], "png", "signed", "limit"}: one grayscale PNG
    (a data URL) of H rows and C x W columns, map c in columns c*W .. (c+1)*W - 1.

    One byte a value, on one scale for every map of the layer, so a weak map looks weak beside a
    strong one: maps that are never negative (after relu) go from 0 (0) to 255 (the layer's
    largest value, "limit"); maps with negative values are signed, 128 + 127 x value / limit, where
    limit is the largest magnitude. PNG because feature maps are mostly 0 after relu: the course's
    32 maps of 26 x 26 take about 5 KB instead of 29 KB of raw bytes in base64.
    """
    values = np.moveaxis(np.asarray(values, dtype=np.float32), -1, 0)             # (C, H, W)
    finite = np.where(np.isfinite(values), values, 0.0)
    signed = bool((finite < 0).any())
    limit = float(np.abs(finite).max()) or 1.0
    scaled = 128 + 127 * finite / limit if signed else 255 * finite / limit
    data = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    channels, height, width = data.shape
    side_by_side = data.transpose(1, 0, 2).reshape(height, channels * width)     # (H, C x W)
    buffer = io.BytesIO()
    Image.fromarray(side_by_side).save(buffer, format="PNG", compress_level=6)
    return {"shape": list(data.shape), "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
            "signed": signed, "limit": limit}


def unpack_maps(packed):
    """pack_maps' bytes back as a (C, H, W) uint8 array (for tests and notebooks)."""
    channels, height, width = packed["shape"]
    data = base64.b64decode(packed["png"].split(",", 1)[1])
    strip = np.asarray(Image.open(io.BytesIO(data)), dtype=np.uint8)              # (H, C x W)
    return strip.reshape(height, channels, width).transpose(1, 0, 2)
