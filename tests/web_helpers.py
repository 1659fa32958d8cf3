"""What the web API tests share: reading the arrays the API sends, and checking its errors."""

import base64

import numpy as np


def unpack(packed):
    """An array as the API sends it: {"base64": little-endian float32 bytes, "shape": [...]}."""
    return np.frombuffer(base64.b64decode(packed["base64"]), dtype="<f4").reshape(packed["shape"])


def one_line_error(response, status, *words):
    """The response is `status` with a one-line detail that contains every one of `words`."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert "\n" not in detail and all(word in detail for word in words), detail
