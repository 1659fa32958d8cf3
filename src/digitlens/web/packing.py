"""Big arrays for the page, packed as raw float32 bytes in base64.

The 256 weight pictures of the first layer are 200,704 numbers; written as JSON text they take
about 2 MB and a long time to parse, packed they take 1 MB and the page reads them straight into a
Float32Array. The values are exactly the model's float32 numbers.

    {"shape": [256, 28, 28], "dtype": "float32", "base64": "..."}
"""

import base64

import numpy as np


def pack(array):
    array = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(array.shape), "dtype": "float32",
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}
