"""Big arrays for the page, packed as raw float32 bytes in base64.

The 256 weight pictures of the first layer are 200,704 numbers; written as JSON text they take
about 2 MB and a long time to parse, packed they take 1 MB and the page reads them straight into a
Float32Array. The values are exactly the model's float32 numbers.

    {"shape": [256, 28, 28], "dtype": "float32", "base64": "..."}

Pictures that are only looked at (a convolution's feature maps, ten times a second while a digit is
drawn) go as one byte a value instead (`pack_maps`): 0-255 on a scale sent beside them.
"""

import base64

import numpy as np


def pack(array):
    array = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(array.shape), "dtype": "float32",
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def pack_maps(values):
    """(H, W, C) float maps -> {"shape": [C, H, W], "dtype": "uint8", "base64", "signed", "limit"}.

    Channel first, so map c is bytes c*H*W .. (c+1)*H*W. One scale for every map of the layer, so
    a weak map looks weak beside a strong one: maps that are never negative (after relu) go from 0
    (0) to 255 (the layer's largest value, "limit"); maps with negative values are signed, 128 + 127
    x value / limit, where limit is the largest magnitude.
    """
    values = np.moveaxis(np.asarray(values, dtype=np.float32), -1, 0)             # (C, H, W)
    finite = np.where(np.isfinite(values), values, 0.0)
    signed = bool((finite < 0).any())
    limit = float(np.abs(finite).max()) or 1.0
    scaled = 128 + 127 * finite / limit if signed else 255 * finite / limit
    data = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return {"shape": list(data.shape), "dtype": "uint8", "base64": base64.b64encode(data.tobytes()).decode("ascii"),
            "signed": signed, "limit": limit}
