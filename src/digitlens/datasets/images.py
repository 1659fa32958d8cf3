"""Turning a photo or drawing of one digit into a 28x28 image prepared the way MNIST's digits were.

The network only ever saw MNIST, so a new image has to look like MNIST before the prediction means
anything. MNIST's digits were prepared in four steps, which `prepare_image` repeats:

    1. grayscale, light ink on a dark background (a photo of dark ink on paper is inverted);
    2. cropped to the ink's bounding box;
    3. scaled, keeping the aspect ratio, to fit a 20x20 box (antialiased, so edges are grey);
    4. pasted into a 28x28 image so the ink's centre of mass sits on pixel (14, 14).

Step 4 is why an MNIST digit's bounding box is rarely centred: a "7" sits high because its mass is
in the top bar. `prepare_image(..., return_steps=True)` also returns each step, for pictures.

What it leaves out: finding a digit in a cluttered photo. It expects one digit on a plain
background; specks and shadows darker than a fifth of the ink's strength are ignored, stronger
ones widen the crop. Very thin pen strokes on a large page come out faint - draw thicker.
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
BOX = 20  # the digit is scaled to fit a BOX x BOX square inside it
INK_THRESHOLD = 0.2  # a pixel is ink if it is at least this fraction of the strongest ink
MIN_CONTRAST = 16  # of 255: less than this between ink and background is a blank image
MAX_SIDE = 1024  # larger inputs are shrunk first: plenty for a 20-pixel result, and fast
NPY_MAGIC = b"\x93NUMPY"
MAX_NPY_BYTES = 64 * 2**20  # an image given as an array: a 4000 x 4000 RGBA photo fits


def prepare_image(source, *, return_steps: bool = False):
    """Prepare one digit image the way MNIST was prepared.

    Args:
        source: a path (PNG, JPEG, ... anything Pillow opens, or a .npy), the file's bytes, a PIL
            image, or a NumPy array: grayscale (H, W), RGB (H, W, 3), RGBA (H, W, 4) or 784 values,
            uint8 0-255 or float 0-1. Any size; transparent areas count as background.
        return_steps: also return the intermediate images.

    Returns:
        A (28, 28) uint8 array, light ink (up to 255) on black (0), like one of MNIST's x_train.
        With return_steps, `(image, steps)` where steps holds uint8 arrays "grayscale" (the input),
        "ink" (light on dark, background removed), "cropped", "scaled" (fits 20x20) and "final",
        plus "inverted" (bool: the input was dark on light) and "box" ((top, bottom, left, right)
        of the crop in "grayscale").

    Raises:
        ImageError: the source cannot be read as an image, or holds no ink.

    Example: `prepare_image("seven.png")` -> a (28, 28) array ready for `model.predict(image[None])`.
    """
    name = _name_of(source)
    gray = _to_grayscale(source, name)  # float32 (H, W), 0-255
    if not np.isfinite(gray).all():  # a float TIFF may hold NaN or infinity
        raise ImageError(f"{name}: holds pixel values that are not numbers (NaN or infinity)")
    ink, inverted = _light_ink_on_dark(gray, name)
    top, bottom, left, right = _ink_box(ink)
    cropped = ink[top:bottom, left:right]
    scaled = _fit_in_box(cropped)  # (h, w) with max(h, w) == BOX
    final = _centre_by_mass(scaled)
    final = np.rint(final * (255.0 / final.max())).astype(np.uint8)  # MNIST's ink reaches 255
    if not return_steps:
        return final
    steps = {
        "grayscale": _as_uint8(gray),
        "ink": _as_uint8(ink),
        "cropped": _as_uint8(cropped),
        "scaled": _as_uint8(scaled),
        "final": final,
        "inverted": inverted,
        "box": (int(top), int(bottom), int(left), int(right)),
    }
    return final, steps


def load_image_file(path: str | os.PathLike) -> np.ndarray:
    """Read a digit for the network: a (28, 28) uint8 array.

    A .npy file is taken as already prepared (it must hold 28x28 or 784 values, 0-255 or floats
    0-1) and used as is; any other file is an image and goes through `prepare_image`.
    """
    if Path(path).suffix.lower() != ".npy":
        return prepare_image(path)
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
    """Read a .npy array: its header checked first, no pickled objects (see npy.py)."""
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


def _light_ink_on_dark(gray: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """Make the ink light and the background 0; return the result and whether it was inverted.

    The background is the median of the image's outer ring of pixels: if it is lighter than the
    midpoint between the darkest and lightest pixel, the ink is dark and the image is inverted.
    """
    lo, hi = float(gray.min()), float(gray.max())
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    background = float(np.median(border))
    inverted = background > (lo + hi) / 2
    ink = np.clip(background - gray if inverted else gray - background, 0.0, None)
    if hi - lo < MIN_CONTRAST or ink.max() < MIN_CONTRAST:
        raise ImageError(f"{name}: no ink found (the image is blank)")
    return ink, inverted


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), exclusive ends, of the pixels at least INK_THRESHOLD of the strongest."""
    mask = ink >= INK_THRESHOLD * ink.max()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _fit_in_box(cropped: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX pixels, keeping the aspect ratio (Lanczos, antialiased)."""
    h, w = cropped.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow sizes are (width, height)
    resized = Image.fromarray(cropped.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 255.0)  # Lanczos overshoots a little


def _centre_by_mass(scaled: np.ndarray) -> np.ndarray:
    """Paste into a SIZE x SIZE canvas so the centre of mass lands on pixel (14, 14).

    MNIST shifted by whole pixels, so its centres of mass are within half a pixel of (14, 14). The
    shift is limited so the digit never leaves the canvas.
    """
    h, w = scaled.shape
    mass = float(scaled.sum())
    if mass <= 0:
        raise ImageError("image: no ink found (the image is blank)")
    row = float(scaled.sum(axis=1) @ np.arange(h)) / mass  # (h,) @ (h,) -> centre row within the box
    col = float(scaled.sum(axis=0) @ np.arange(w)) / mass
    top = min(max(int(np.floor(SIZE / 2 - row + 0.5)), 0), SIZE - h)
    left = min(max(int(np.floor(SIZE / 2 - col + 0.5)), 0), SIZE - w)
    canvas = np.zeros((SIZE, SIZE), np.float32)
    canvas[top : top + h, left : left + w] = scaled
    return canvas


def _as_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
