"""Reading a digit image from anything a user has: a file, its bytes, a PIL image or a NumPy array.

`read_grayscale(source)` returns the picture as float32 grayscale 0 (black) to 255 (white), whatever
it was: PNG, JPEG or any format Pillow opens, 8- or 16-bit, palette, RGB, RGBA (transparent areas
laid on a background that contrasts with the strokes), a phone photo stored sideways, or a .npy
array of any size. Every way a file can be wrong - missing, not an image, damaged, too large,
pickled objects in a .npy - raises an `ImageError` that names it.

What it leaves out: preparing the digit (images.py) - this module only reads pixels.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitlens.errors import ImageError
from digitlens.paths import require_file

SIZE = 28  # MNIST's image side
MAX_SIDE = 1024  # larger inputs are shrunk first: plenty for a 20-pixel result, and fast
NPY_MAGIC = b"\x93NUMPY"
MAX_NPY_BYTES = 64 * 2**20  # an image given as an array: a 4000 x 4000 RGBA photo fits


def read_grayscale(source) -> tuple[np.ndarray, str]:
    """Any accepted source -> (float32 (H, W) grayscale 0-255, its name for messages).

    The longer side is at most MAX_SIDE pixels (larger pictures are shrunk, averaging pixels).
    """
    name = _name_of(source)
    gray = _to_grayscale(source, name)
    if not np.isfinite(gray).all():  # a float TIFF may hold NaN or infinity
        raise ImageError(f"{name}: holds pixel values that are not numbers (NaN or infinity)")
    return _shrink(gray), name


def read_prepared_npy(path: str | os.PathLike) -> np.ndarray:
    """A .npy file of an already prepared digit (28x28 or 784 values, 0-255 or floats 0-1) -> (28, 28) uint8."""
    require_file(path, "a .npy file", ImageError)
    array = _load_npy(Path(path), str(path)).squeeze()
    if array.shape not in ((SIZE, SIZE), (SIZE * SIZE,)):
        raise ImageError(f"{path}: expected 28x28 or 784 values, found an array of shape {array.shape}")
    image = np.rint(_to_0_255(array, str(path))).astype(np.uint8).reshape(SIZE, SIZE)
    if not image.any():
        raise ImageError(f"{path}: no ink found (the image is blank)")
    return image


def _name_of(source) -> str:
    """How errors refer to the source: its path as given, or what kind of object it is."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "image bytes"
    return "image array" if isinstance(source, np.ndarray) else "image"


def _to_grayscale(source, name: str) -> np.ndarray:
    """Any accepted source -> float32 (H, W) grayscale, 0 (black) to 255 (white)."""
    if isinstance(source, Image.Image):
        return _pil_to_gray(source, name)
    if isinstance(source, np.ndarray):
        return _array_to_gray(source, name)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        require_file(path, "an image file", ImageError)  # a FIFO or /dev/zero would never end
        if path.suffix.lower() == ".npy":
            return _array_to_gray(_load_npy(path, name), name)
        return _pil_to_gray(_open_image(path, name), name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if data.startswith(NPY_MAGIC):
            return _array_to_gray(_load_npy(io.BytesIO(data), name), name)
        return _pil_to_gray(_open_image(io.BytesIO(data), name), name)
    raise TypeError(f"source: expected a path, bytes, a PIL image or a NumPy array, received {type(source).__name__}")


def _open_image(file, name: str) -> Image.Image:
    """Open and fully decode an image with Pillow, so a damaged file fails here with its name."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; for a digit, both are too big.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file)
            image.load()
        return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: too large to be a digit image (over {Image.MAX_IMAGE_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (Pillow cannot identify the file's format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name}: damaged image ({e})") from None


def _load_npy(file, name: str) -> np.ndarray:
    """Read a .npy array: its header checked before anything is allocated, no pickled objects (a
    .npy from the internet could run code); see npy.py."""
    from digitlens.datasets.npy import read_npy

    return read_npy(file, name, ImageError, max_bytes=MAX_NPY_BYTES)


def _pil_to_gray(image: Image.Image, name: str) -> np.ndarray:
    """A PIL image of any mode -> float32 grayscale, with transparency composited (see `_composite`)."""
    image = ImageOps.exif_transpose(image)  # phone photos are often stored sideways
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):  # 16/32-bit or float pixels
        values = np.array(image, dtype=np.float32)
        top = float(values.max())
        if top > 255 or (image.mode == "F" and 0 < top <= 1):
            values *= 255.0 / top  # rescale to 0-255
        image = Image.fromarray(values)
    elif image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode != "L":
        try:
            image = image.convert("L")
        except ValueError as e:
            raise ImageError(f"{name}: cannot convert a {image.mode} image to grayscale ({e})") from None
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    values = np.asarray(image, dtype=np.float32)
    return _composite(values) if values.ndim == 3 else values


def _array_to_gray(array: np.ndarray, name: str) -> np.ndarray:
    """A NumPy image -> float32 grayscale 0-255."""
    a = np.asarray(array)
    if a.size == 0:
        raise ImageError(f"{name}: holds no pixels (an array of shape {a.shape})")
    if a.ndim == 1 and a.size == SIZE * SIZE:
        a = a.reshape(SIZE, SIZE)
    elif a.ndim == 3 and 1 in (a.shape[0], a.shape[-1]) and a.size > 1:
        a = a.reshape(a.shape[1:] if a.shape[0] == 1 else a.shape[:-1])
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))):
        raise ImageError(
            f"{name}: expected a grayscale (H, W), RGB (H, W, 3) or RGBA (H, W, 4) array or 784 values,"
            f" found shape {a.shape}"
        )
    values = _to_0_255(a, name)
    if values.ndim == 2:
        return values
    if values.shape[-1] == 4:
        return _composite(values)
    return values @ np.array([0.299, 0.587, 0.114], np.float32)  # the luminance Pillow's "L" uses


def _to_0_255(a: np.ndarray, name: str) -> np.ndarray:
    """Values as float32 0-255: uint8/ints as they are, floats in 0-1 stretched, anything else refused."""
    if a.dtype == bool:
        return a.astype(np.float32) * 255
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ImageError(f"{name}: expected numeric pixel values, found dtype {a.dtype}")
    values = a.astype(np.float32)
    if not np.isfinite(values).all():
        raise ImageError(f"{name}: expected pixel values 0-255 or 0-1, found NaN or infinity")
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 or hi > 255:
        raise ImageError(f"{name}: expected pixel values 0-255 (or floats 0-1), found {lo:g} to {hi:g}")
    if np.issubdtype(a.dtype, np.floating) and hi <= 1.0:
        values *= 255.0
    return values


def _composite(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) 0-255 -> grayscale, laying the visible strokes on the background that contrasts with them.

    A drawing exported from a canvas is often strokes on a transparent background. Dark strokes go
    onto white and light strokes onto black, so either way the digit stays visible.
    """
    gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3] / 255.0
    visible = float(alpha.sum())
    stroke_lightness = float((gray * alpha).sum()) / visible if visible else 0.0
    background = 0.0 if stroke_lightness > 127.5 else 255.0
    return gray * alpha + background * (1.0 - alpha)


def _shrink(gray: np.ndarray) -> np.ndarray:
    """At most MAX_SIDE pixels on the longer side (arrays too; Pillow images are shrunk when read)."""
    if max(gray.shape) <= MAX_SIDE:
        return gray
    image = Image.fromarray(gray)  # mode "F"
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32)
