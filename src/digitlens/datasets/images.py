"""Turning a photo or drawing of one digit into a 28x28 image prepared the way MNIST's digits were.

The network only ever saw MNIST, so a new image has to look like MNIST before the prediction means
anything. MNIST's digits were written on forms, scanned, cropped to the ink, scaled into a 20x20
box and centred by centre of mass in 28x28. `prepare_image` repeats that, after first finding the
ink on a page that a phone photographed in uneven light:

    1. grayscale  any file or array, as gray 0-255 (image_files.py);
    2. ink        the paper estimated around each pixel and taken away, so gradients, vignetting and
                  shadows are not ink; ruled lines erased; the digit's pieces kept, specks and far
                  marks dropped; light ink on 0 (paper.py);
    3. cropped    to the digit's bounding box;
    4. strokes    redrawn at MNIST's width if the pen was much thinner or thicker (strokes.py);
    5. scaled     keeping the aspect ratio, to fit a 20x20 box (antialiased, so edges are grey);
    6. final      pasted into 28x28 so the ink's centre of mass sits on pixel (14, 14).

Step 6 is why an MNIST digit's bounding box is rarely centred: a "7" sits high because its mass is
in the top bar. Along the way it notes when the picture does not look like one digit (doubt.py):
`prepare_image(..., return_steps=True)` returns every step, and that sentence, for pictures.

What it leaves out: finding a digit in a cluttered scene, straightening a slanted one (MNIST's
digits keep their slant too), and reading more than one digit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from digitlens.datasets.doubt import doubt
from digitlens.datasets.image_files import MAX_SIDE, NPY_MAGIC, SIZE, read_grayscale, read_prepared_npy
from digitlens.errors import ImageError

__all__ = ["BOX", "MAX_SIDE", "NPY_MAGIC", "SIZE", "doubt_of_prepared", "load_image_file", "prepare_image"]

BOX = 20  # the digit is scaled to fit a BOX x BOX square inside it
MIN_CONTRAST = 16  # of 255: less than this between ink and paper is a blank image


def prepare_image(source, *, return_steps: bool = False):
    """Prepare one digit image the way MNIST was prepared.

    Args:
        source: a path (PNG, JPEG, ... anything Pillow opens, or a .npy), the file's bytes, a PIL
            image, or a NumPy array: grayscale (H, W), RGB (H, W, 3), RGBA (H, W, 4) or 784 values,
            uint8 0-255 or float 0-1. Any size; transparent areas count as background.
        return_steps: also return the intermediate images.

    Returns:
        A (28, 28) uint8 array, light ink (up to 255) on black (0), like one of MNIST's x_train.
        With return_steps, `(image, steps)` where steps holds uint8 arrays "grayscale" (the input,
        at most MAX_SIDE on a side), "paper" (the paper as estimated, lit as in the input), "ink"
        (everything inked, light on dark, paper and ruled lines taken away), "digit" (only the
        digit's pieces), "cropped", "strokes" (after stroke width normalisation), "scaled" (fits
        20x20) and "final"; "inverted" (bool: the ink was dark on light), "box" ((top, bottom,
        left, right) of the crop in "grayscale"), "stroke_width" (the width found, as a fraction
        of the digit's longer side; MNIST's is about 0.13), "redrawn" (bool: the strokes were
        redrawn at MNIST's width), "ruled_lines" (how many were erased) and "doubt" (None, or one
        sentence saying why this does not look like one digit).

    Raises:
        ImageError: the source cannot be read as an image, or holds no ink.

    Example: `prepare_image("seven.png")` -> a (28, 28) array ready for `model.predict(image[None])`.
    """
    from digitlens.datasets.paper import find_ink
    from digitlens.datasets.strokes import normalise_strokes

    gray, name = read_grayscale(source)  # float32 (H, W), 0-255
    contrast = float(gray.max() - gray.min())
    found = find_ink(gray) if contrast >= MIN_CONTRAST else None
    if found is None and contrast >= MIN_CONTRAST * 4:  # plenty of contrast, but no strokes on paper
        raise ImageError(f"{name}: no digit found (nothing stands out from its background: expected one digit "
                         "on plain paper or a plain background)")
    if found is None or found.strength < MIN_CONTRAST:
        raise ImageError(f"{name}: no ink found (the image is blank)")
    top, bottom, left, right = _box(found.mask)
    cropped = found.digit[top:bottom, left:right]
    strokes, about = normalise_strokes(cropped)
    scaled = _fit_in_box(strokes)  # (h, w) with max(h, w) == BOX
    final = _centre_by_mass(scaled, name)
    final = np.rint(final * (255.0 / final.max())).astype(np.uint8)  # MNIST's ink reaches 255
    if not return_steps:
        return final
    width_in_pixels = about["width"] * max(bottom - top, right - left)
    paper = 255.0 - found.paper if found.inverted else found.paper
    steps = {
        "grayscale": _as_uint8(gray),
        "paper": _as_uint8(paper),
        "ink": _as_uint8(found.ink),
        "digit": _as_uint8(found.digit),
        "cropped": _as_uint8(cropped),
        "strokes": _as_uint8(strokes),
        "scaled": _as_uint8(scaled),
        "final": final,
        "inverted": found.inverted,
        "box": (int(top), int(bottom), int(left), int(right)),
        "stroke_width": about["width"],
        "redrawn": about["redrawn"],
        "ruled_lines": found.ruled_lines,
        "doubt": doubt(found.mask, stroke_width=width_in_pixels, strength=found.strength,
                       other_ink=found.other_ink),
    }
    return final, steps


def load_image_file(path: str | os.PathLike, *, return_steps: bool = False):
    """Read a digit for the network: a (28, 28) uint8 array (with return_steps, `(image, steps)`).

    A .npy file is taken as already prepared (it must hold 28x28 or 784 values, 0-255 or floats
    0-1) and used as is - its steps are only "final" and "doubt"; any other file is an image and
    goes through `prepare_image`.
    """
    if Path(path).suffix.lower() != ".npy":
        return prepare_image(path, return_steps=return_steps)
    image = read_prepared_npy(path)
    return (image, {"final": image, "doubt": doubt_of_prepared(image)}) if return_steps else image


def doubt_of_prepared(image: np.ndarray) -> str | None:
    """The doubt (see doubt.py) about a digit that is already 28x28, e.g. an MNIST image; None if it looks fine."""
    from digitlens.datasets.paper import ink_mask
    from digitlens.datasets.strokes import measure_strokes

    ink = np.asarray(image, dtype=np.float32).reshape(SIZE, SIZE)
    strength = float(ink.max())
    if strength <= 0:
        return doubt(np.zeros((SIZE, SIZE), bool), stroke_width=1.0)
    mask = ink_mask(ink, strength, floor=0.0)
    top, bottom, left, right = _box(mask)
    ratio, _ = measure_strokes(ink[top:bottom, left:right])
    return doubt(mask, stroke_width=ratio * max(bottom - top, right - left), strength=strength)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), exclusive ends, of the True pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _fit_in_box(cropped: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX pixels, keeping the aspect ratio (Lanczos, antialiased)."""
    h, w = cropped.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow sizes are (width, height)
    resized = Image.fromarray(cropped.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 255.0)  # Lanczos overshoots a little


def _centre_by_mass(scaled: np.ndarray, name: str = "image") -> np.ndarray:
    """Paste into a SIZE x SIZE canvas so the centre of mass lands on pixel (14, 14).

    MNIST shifted by whole pixels, so its centres of mass are within half a pixel of (14, 14). The
    shift is limited so the digit never leaves the canvas.
    """
    h, w = scaled.shape
    mass = float(scaled.sum())
    if mass <= 0:
        raise ImageError(f"{name}: no ink found (the image is blank)")
    row = float(scaled.sum(axis=1) @ np.arange(h)) / mass  # (h,) @ (h,) -> centre row within the box
    col = float(scaled.sum(axis=0) @ np.arange(w)) / mass
    top = min(max(int(np.floor(SIZE / 2 - row + 0.5)), 0), SIZE - h)
    left = min(max(int(np.floor(SIZE / 2 - col + 0.5)), 0), SIZE - w)
    canvas = np.zeros((SIZE, SIZE), np.float32)
    canvas[top : top + h, left : left + w] = scaled
    return canvas


def _as_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
