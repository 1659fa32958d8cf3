"""Checking and preparing what a model is given: images in, class labels out.

Images may be uint8 pixels 0-255 (scaled here to 0-1, once) or floats (used as given, as Keras
does), shaped (N, 28, 28) or (N, 784) - any shape with the right number of pixels per image, so a
convolutional network declared for (28, 28, 1) takes (N, 28, 28) images too.
Labels are integers 0..classes-1. Anything else is refused with a sentence that names the
argument, what was expected and what was received.
"""

import math

import numpy as np

from ..errors import DigitlensError


def prepare_inputs(x, input_shape, argument="x", keep_uint8=False):
    """float32 images shaped (N,) + input_shape; uint8 pixels are scaled from 0-255 to 0-1
    (or, with keep_uint8, left as they are for the caller to scale a batch at a time)."""
    x = np.asarray(x)
    if x.ndim < 2 or math.prod(x.shape[1:]) != math.prod(input_shape):
        want = " or ".join(str(("N",) + s).replace("'", "") for s in _spellings(input_shape))
        hint = "; for one image use x[None]" if x.shape == input_shape else ""
        raise DigitlensError(f"{argument}: expected images of shape {want}, received {x.shape}{hint}")
    if x.dtype == np.uint8 and keep_uint8:
        pass
    elif x.dtype == np.uint8:
        x = x.astype(np.float32)
        x *= np.float32(1.0 / 255.0)       # in place: no second copy of the data
    elif np.issubdtype(x.dtype, np.number):
        x = x.astype(np.float32, copy=False)
    else:
        raise DigitlensError(f"{argument}: expected numbers (uint8 0-255 or floats), received {x.dtype}")
    return np.ascontiguousarray(x.reshape((len(x),) + tuple(input_shape)))


def prepare_labels(y, n, classes, argument="y"):
    """Integer class labels of shape (n,), each in 0..classes-1."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise DigitlensError(f"{argument}: expected {n} integer labels of shape ({n},), received shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or np.any(y != np.round(y)):
            raise DigitlensError(f"{argument}: expected integer class labels, received {y.dtype}")
    if n and (y.min() < 0 or y.max() >= classes):
        raise DigitlensError(f"{argument}: expected labels 0..{classes - 1}, received values "
                             f"from {y.min()} to {y.max()}")
    return y.astype(np.intp, copy=False)


def _spellings(shape):
    """(28, 28) -> [(28, 28), (784,)]; (28, 28, 1) -> [(28, 28, 1), (28, 28), (784,)]: the shapes an
    input may come in (learners reshape images to one channel and back, so both are taken)."""
    shape = tuple(shape)
    spellings = [shape]
    if len(shape) == 3 and shape[-1] == 1:
        spellings.append(shape[:-1])
    flat = (math.prod(shape),)
    return spellings if shape == flat else spellings + [flat]
