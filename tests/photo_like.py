"""Photo-like pictures of handwritten digits, made from a seed, for testing image preparation.

Each picture is one digit written on paper and photographed the way people do it: the light
brighter on one side, dark corners (vignetting), a shadow over a corner, ruled lines, a thin pen or
a thick marker, the page turned a little, sensor noise, blur and JPEG. The digit's shape is either a
real MNIST test digit, re-inked with the chosen pen, or pen strokes drawn here, so every picture's
label is known.

    photos = photo_set(x_test, y_test, count=100, seed=0)   # [Photo(image, label, how), ...]

How a photo is made (`photograph`): the page's reflectance (paper, ruled lines, ink) is rotated as
the page would be, then multiplied by the light falling on it, then the camera adds blur, noise and
compression. Everything random comes from one numpy Generator, so the same seed gives the same set.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import distance_transform_edt
from skimage.morphology import skeletonize

PENS = ("natural", "thin", "thick")
LIGHTS = ("gradient", "vignette", "shadow", "gradient+shadow")


@dataclass
class Photo:
    image: Image.Image  # RGB
    label: int
    how: dict  # what went into it: source, pen, light, ruled, angle, size


# ---- the ink: an opacity map (h, w) in 0-1, the digit `height` pixels tall --------------------------


def ink_from_mnist(digit: np.ndarray, height: int, pen: str, rng) -> np.ndarray:
    """A real MNIST digit enlarged to `height` pixels and re-inked with `pen`."""
    rows, cols = np.nonzero(digit > 30)
    crop = digit[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    width = max(2, round(crop.shape[1] * height / crop.shape[0]))
    big = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255
    big = np.pad(np.clip(big, 0, 1), height // 5)
    if pen == "natural":
        return big
    mask = big >= 0.5
    if pen == "thin":  # a ballpoint: a line 1-3 pixels wide along the middle of the stroke
        radius = rng.uniform(0.5, 1.3)
        return np.clip(radius + 0.5 - distance_transform_edt(~skeletonize(mask)), 0, 1)
    radius = rng.uniform(0.03, 0.06) * height  # a marker: every stroke much wider
    return np.clip(radius + 0.5 - distance_transform_edt(~mask), 0, 1)


def _arc(cx, cy, rx, ry, start, end, n=24):
    t = np.radians(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Strokes in a unit box (x right, y down), one list of polylines per style; several styles per digit.
STROKES = {
    0: [[_arc(0.5, 0.5, 0.32, 0.48, -90, 275)]],
    1: [[[(0.55, 0.02), (0.45, 0.98)]], [[(0.32, 0.2), (0.58, 0.02), (0.5, 0.98)]]],
    2: [[_arc(0.5, 0.3, 0.35, 0.28, 190, 360) + [(0.82, 0.45), (0.12, 0.98), (0.9, 0.98)]]],
    3: [[_arc(0.48, 0.27, 0.32, 0.25, 200, 450) + _arc(0.48, 0.73, 0.36, 0.25, 270, 520)]],
    4: [[[(0.62, 0.02), (0.12, 0.65), (0.92, 0.65)], [(0.68, 0.3), (0.68, 0.98)]]],
    5: [[[(0.85, 0.03), (0.25, 0.03), (0.2, 0.45)] + _arc(0.5, 0.68, 0.36, 0.3, 230, 505)]],
    6: [[[(0.7, 0.02), (0.4, 0.3)] + _arc(0.5, 0.7, 0.33, 0.28, 190, 540)]],
    7: [[[(0.08, 0.04), (0.92, 0.04), (0.38, 0.98)]]],
    8: [[_arc(0.5, 0.26, 0.27, 0.24, 90, 450), _arc(0.5, 0.74, 0.33, 0.25, -90, 270)]],
    9: [[_arc(0.5, 0.3, 0.33, 0.28, 0, 360), [(0.83, 0.3), (0.75, 0.98)]]],
}


def ink_from_strokes(label: int, height: int, pen: str, rng) -> np.ndarray:
    """Pen strokes of `label`, slanted and squeezed a little at random, `height` pixels tall."""
    styles = STROKES[label]
    polylines = styles[rng.integers(len(styles))]
    aspect = rng.uniform(0.55, 0.8) if label != 1 else rng.uniform(0.3, 0.45)
    slant = rng.uniform(-0.2, 0.25)
    width_of_pen = {"natural": rng.uniform(0.09, 0.13), "thin": rng.uniform(0.012, 0.025),
                    "thick": rng.uniform(0.18, 0.26)}[pen] * height
    scale = 4  # drawn 4x larger, then shrunk: smooth edges
    margin = int(width_of_pen + height * 0.2)
    w, h = int(height * aspect) + 2 * margin, height + 2 * margin
    canvas = Image.new("L", (w * scale, h * scale), 0)
    draw = ImageDraw.Draw(canvas)
    for line in polylines:
        points = []
        for x, y in line:
            x = x + slant * (0.5 - y) + rng.normal(0, 0.01)
            points.append(((margin + x * height * aspect) * scale, (margin + y * height) * scale))
        draw.line(points, fill=255, width=max(1, round(width_of_pen * scale)), joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            r = width_of_pen * scale / 2
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return np.asarray(canvas.resize((w, h), Image.Resampling.BOX), np.float32) / 255


# ---- the photograph -----------------------------------------------------------------------------------


def light_field(shape, kind: str, rng) -> np.ndarray:
    """How much light falls on each pixel (about 0.4-1), as a camera would see it."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    light = np.ones(shape, np.float32)
    if "gradient" in kind:  # one side brighter by 20-50%
        angle = rng.uniform(0, 2 * np.pi)
        t = (x - w / 2) * np.cos(angle) + (y - h / 2) * np.sin(angle)
        t = (t - t.min()) / (t.max() - t.min())
        light *= 1 - rng.uniform(0.2, 0.5) * t
    if "vignette" in kind:  # corners 30-50% darker
        r2 = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
        light *= 1 - rng.uniform(0.3, 0.5) * r2 / 2
    if "shadow" in kind:  # a soft-edged shadow across one corner, 30-55% darker
        corner = rng.integers(4)
        cx, cy = (w if corner % 2 else 0), (h if corner >= 2 else 0)
        reach = rng.uniform(0.35, 0.6) * (w + h)
        inside = (np.abs(x - cx) + np.abs(y - cy)) < reach
        shade = Image.fromarray((inside * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(2, 12)))
        light *= 1 - rng.uniform(0.3, 0.55) * np.asarray(shade, np.float32) / 255
    return light


def photograph(ink: np.ndarray, rng, *, light: str, ruled: bool, size: tuple[int, int]) -> tuple[Image.Image, float]:
    """Write `ink` (opacity, h x w) on a page and photograph it at `size` (width, height); -> (RGB image, angle)."""
    width, height = size
    page_w, page_h = int(width * 1.25), int(height * 1.25)  # larger than the photo, so turning it leaves no gaps
    paper = np.array([rng.uniform(0.8, 0.95), rng.uniform(0.78, 0.93), rng.uniform(0.7, 0.9)], np.float32)
    page = np.ones((page_h, page_w, 3), np.float32) * paper
    if ruled:  # faint blue lines every 7-11% of the photo's height, 1-3 pixels thick
        spacing, thick = rng.uniform(0.07, 0.11) * height, rng.uniform(1, 3)
        rows = np.arange(page_h, dtype=np.float32)[:, None]
        offset = rng.uniform(0, spacing)
        near = np.clip(thick / 2 + 0.5 - np.abs((rows - offset + spacing / 2) % spacing - spacing / 2), 0, 1)
        line_colour = np.array([0.55, 0.68, 0.85], np.float32) * paper
        page = page * (1 - near[..., None]) + line_colour * near[..., None]
    pen = np.array([0.08, 0.08, 0.1] if rng.random() < 0.6 else [0.1, 0.15, 0.45], np.float32) * rng.uniform(0.6, 1.6)
    ih, iw = ink.shape
    top = (page_h - ih) // 2 + int(rng.uniform(-0.12, 0.12) * height)
    left = (page_w - iw) // 2 + int(rng.uniform(-0.12, 0.12) * width)
    a = ink[..., None]
    page[top : top + ih, left : left + iw] = page[top : top + ih, left : left + iw] * (1 - a) + pen * a
    angle = float(rng.uniform(-12, 12))
    turned = Image.fromarray(np.uint8(np.clip(page, 0, 1) * 255)).rotate(angle, Image.Resampling.BILINEAR)
    x0, y0 = (page_w - width) // 2, (page_h - height) // 2
    reflectance = np.asarray(turned.crop((x0, y0, x0 + width, y0 + height)), np.float32) / 255
    exposure = rng.uniform(0.9, 1.15)
    photo = 255 * reflectance * (exposure * light_field((height, width), light, rng))[..., None]
    photo = Image.fromarray(np.uint8(np.clip(photo, 0, 255))).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    noisy = np.asarray(photo, np.float32) + rng.normal(0, rng.uniform(2, 6), (height, width, 1))
    photo = Image.fromarray(np.uint8(np.clip(noisy, 0, 255)))
    if rng.random() < 0.5:  # as a phone would save it
        buffer = io.BytesIO()
        photo.save(buffer, format="JPEG", quality=int(rng.integers(70, 93)))
        photo = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return photo, angle


def photo_set(x_test: np.ndarray, y_test: np.ndarray, count: int = 100, seed: int = 0) -> list[Photo]:
    """`count` photos, half from real MNIST test digits (taken in order), half from strokes.

    Pens, lights and ruled paper take turns, so every combination appears in a set of 24 or more.
    """
    rng = np.random.default_rng(seed)
    photos = []
    for i in range(count):
        pen, light, ruled = PENS[i % 3], LIGHTS[(i // 3) % 4], (i // 12) % 2 == 1
        width = int(rng.integers(320, 900))
        size = (width, int(width * rng.uniform(0.7, 1.3)))
        digit_height = int(min(size) * rng.uniform(0.3, 0.55))
        if i % 2 == 0:
            index = i // 2
            source, label = f"MNIST test #{index}", int(y_test[index])
            ink = ink_from_mnist(x_test[index], digit_height, pen, rng)
        else:
            label = int(rng.integers(10))
            source, ink = "strokes", ink_from_strokes(label, digit_height, pen, rng)
        image, angle = photograph(ink, rng, light=light, ruled=ruled, size=size)
        photos.append(Photo(image, label, {"source": source, "pen": pen, "light": light, "ruled": ruled,
                                           "angle": round(angle, 1), "size": size}))
    return photos
