"""Turning what the page sends into the 28x28 digit the network reads.

The page sends either a picture - the drawing canvas as a PNG, or an image file the learner chose,
base64-encoded - which goes through `datasets.images.prepare_image`, the same MNIST-style
preparation the CLI's `predict` uses (it also decodes the file and says what is wrong with a bad
one); or `pixels`, 784 numbers 0-255 of a digit that is already prepared (one it got back earlier,
or an MNIST sample), used as they are.

What the web adds is stricter limits, because anyone's browser can send a picture: at most
MAX_IMAGE_BYTES of file and MAX_IMAGE_SIDE pixels on a side, checked before any pixel is decoded.
"""

import base64
import binascii
import io

import numpy as np

from ..datasets.images import NPY_MAGIC, SIZE, prepare_image
from ..errors import ImageError

MAX_IMAGE_BYTES = 8 * 1024 * 1024   # a phone photo fits; anything bigger is not a digit
MAX_IMAGE_SIDE = 6000               # read from the header, before any pixel is decoded


def decode_data_url(text, argument="image"):
    """'data:image/png;base64,iVBOR...' (or just the base64) -> the file's bytes."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise ImageError(f"{argument}: expected a base64 data URL (data:image/png;base64,...)")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{argument}: expected base64-encoded image bytes, received text that is not base64") from None
    if not data:
        raise ImageError(f"{argument}: the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{argument}: at most {MAX_IMAGE_BYTES // 2**20} MB, received {len(data):,} bytes")
    return data


def check_side(data, argument="image"):
    """Refuse a picture whose header claims more than MAX_IMAGE_SIDE pixels on a side.

    Pillow reads only the header here. A file it cannot make sense of is let through: prepare_image
    opens it again and raises the ImageError that says what is wrong with it.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageError(f"{argument}: at most {MAX_IMAGE_SIDE} pixels on a side, received {width}x{height}")


def from_picture(text):
    """A base64 picture -> (the 28x28 uint8 digit, the preparation steps from prepare_image)."""
    data = decode_data_url(text)
    if not data.startswith(NPY_MAGIC):
        check_side(data)
    return prepare_image(data, return_steps=True)


def from_pixels(pixels, argument="pixels"):
    """784 (or 28 rows of 28) prepared values 0-255 -> a (28, 28) uint8 digit.

    JSON numbers only: a string such as "7" or a true is refused, as the API's schema says."""
    flat = pixels
    if isinstance(pixels, list) and pixels and all(isinstance(row, list) for row in pixels):
        flat = [value for row in pixels for value in row]
    if not isinstance(flat, list) or not all(type(value) in (int, float) for value in flat):
        raise ImageError(f"{argument}: expected 28x28 or 784 numbers 0-255, "
                         "received ragged or non-numeric lists")
    try:
        values = np.asarray(pixels, dtype=np.float64)
    except OverflowError:           # a JSON integer with hundreds of digits
        raise ImageError(f"{argument}: expected values from 0 to 255, received a number too large "
                         "for a float") from None
    except (TypeError, ValueError):
        raise ImageError(f"{argument}: expected 28x28 or 784 numbers 0-255, "
                         "received ragged or non-numeric lists") from None
    if values.size != SIZE * SIZE or values.shape not in ((SIZE * SIZE,), (SIZE, SIZE)):
        raise ImageError(f"{argument}: expected 28x28 or 784 numbers 0-255, received shape {values.shape}")
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise ImageError(f"{argument}: expected values from 0 to 255, received {values.min():g} to {values.max():g}")
    return np.rint(values).astype(np.uint8).reshape(SIZE, SIZE)


def png_data_url(array):
    """A uint8 grayscale array as a PNG data URL, for the page's <img> tags."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
