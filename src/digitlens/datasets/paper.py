"""Telling ink from paper in a photo of a digit, even when the light is uneven.

A photo of a digit on paper is rarely lit evenly: one side is brighter, the corners are darker
(vignetting), a hand or a phone casts a shadow over a corner, and the page may be ruled. Comparing
every pixel with one background level counts the darker paper as ink. So `find_ink` estimates the
paper *around each pixel* and takes it away:

    1. darkness   the ink made the bright thing: 255 - gray for dark ink on light paper;
    2. paper      how dark the paper itself is around each pixel: a grey-level *opening* over a
                  square window wider than any pen stroke (scipy.ndimage.grey_opening). An opening
                  is a minimum filter followed by a maximum filter: it erases everything bright that
                  is narrower than the window - the strokes - and keeps what is wider: a gradient,
                  vignetting, a shadow, with its sharp edge. Evenly lit paper gets one level;
    3. ink        darkness - paper: the strokes, on 0;
    4. ruled lines faint straight lines across the whole picture are printed on the paper, not
                  written: found with a Hough transform (skimage.transform.hough_line) and erased
                  where they are as faint as the line, so where the pen crosses one, its ink stays;
    5. the digit  pixels with enough ink - strong ones, and weaker ones joined to them (hysteresis,
                  skimage.filters.apply_hysteresis_threshold) - and of the pieces they form, the one
                  with the most ink and those near it. Specks and marks far away are dropped.

Why subtracting the paper rather than a local threshold such as Sauvola's: a threshold answers
only "ink or not" per pixel, while the paper estimate is a picture a learner can look at (the
"paper" step), keeps the ink's soft edges for the antialiased 28x28 result, and both need a window
wider than the strokes all the same. Why scikit-image and SciPy (which it is built on) rather than
OpenCV: measured here, scikit-image with SciPy and its other needs installs 154 MB and
opencv-python-headless 153 MB - the same - but scikit-image's functions are named after the
textbook steps a learner can look up (`hough_line`, `apply_hysteresis_threshold`, `skeletonize`)
and take and return plain NumPy arrays, while OpenCV keeps thinning and Sauvola in its contrib
build and speaks in flags like cv2.MORPH_OPEN. Both are imported only when a picture is prepared
(about 0.5 s, once), so `digitlens --help` stays fast.

What it leaves out: finding a digit in a cluttered scene (text, several digits, objects); it
expects one digit on a page. Ink lighter than its paper (chalk on a blackboard, a drawing on black)
works the same way, mirrored. Where a shadow narrows to a point in a corner, narrower than the
window, that point looks like ink; it touches the picture's edge, so it counts for little when the
digit is chosen, but next to a very thin, faint pen it can still win (then the doubt says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

LOW, HIGH = 0.2, 0.5  # hysteresis: ink is >= LOW of the strongest ink, joined to a pixel >= HIGH
LINE_ANGLES = 15  # ruled lines are within this many degrees of horizontal or vertical
LINE_COVERS = 0.7  # ... and inked along at least this fraction of the picture's width (or height)
LINE_ALONG = 0.9  # ... and, step by step, inked along this fraction of its length
LINE_FAINT = 0.8  # ... and fainter than this fraction of the strongest ink (a drawn 1 is not erased)
NEAR = 0.5  # a piece belongs to the digit if its gap to it is at most this fraction of the digit's size
SPECK = 0.05  # pieces with less than this fraction of the digit's ink are specks
PAPER_SIDE = 256  # the paper is estimated on a copy this size (it changes slowly)
EVEN = 12  # of 255: paper whose estimate varies less than this is evenly lit


@dataclass
class Ink:
    """What `find_ink` found; every array has the picture's shape."""

    inverted: bool  # the ink was darker than the paper (and was made light)
    paper: np.ndarray  # float32: how dark the paper is at each pixel (the estimate of step 2)
    ink: np.ndarray  # float32 0-255: darkness above the paper (step 3)
    digit: np.ndarray  # float32 0-255: the ink of the digit's pieces only (step 5), 0 elsewhere
    mask: np.ndarray  # bool: the digit's pixels
    strength: float  # the strongest ink, 0-255 (the contrast between pen and paper)
    ruled_lines: int  # how many ruled lines were erased
    other_ink: float  # ink in pieces left out, as a fraction of the digit's ink


def find_ink(gray: np.ndarray) -> Ink | None:
    """Separate the digit's ink from the paper in a float32 (H, W) grayscale picture, 0-255.

    Returns None if there is no ink at all (a blank picture).
    """
    from scipy import ndimage

    inverted = ink_is_dark(gray)
    darkness = 255.0 - gray if inverted else gray
    paper = estimate_paper(darkness)
    ink = np.clip(darkness - paper, 0.0, 255.0)
    strength = float(ndimage.uniform_filter(ink, 3).max())  # averaged over 3x3: one hot pixel is not the pen
    sample = ink[::3, ::3]  # a ninth of the pixels is plenty to measure the noise
    noise = 1.4826 * float(np.median(np.abs(sample - np.median(sample))))  # a robust standard deviation
    if strength < max(8 * noise, 1.0):
        return None
    ink, lines = erase_ruled_lines(ink, strength, floor=4 * noise)
    mask = ink_mask(ink, strength, floor=4 * noise)
    mask, other = digit_pieces(mask, ink)
    if not mask.any():
        return None
    near = ndimage.maximum_filter(mask, size=5)  # the soft edges of the strokes too
    digit = np.where(near, ink, 0.0).astype(np.float32)
    return Ink(inverted, paper.astype(np.float32), ink.astype(np.float32), digit, mask, strength, lines, other)


def estimate_paper(darkness: np.ndarray) -> np.ndarray:
    """How dark the paper is around each pixel, with the strokes taken out (see `_paper_of`).

    Where the light is even - the paper's estimate varies by less than EVEN over 80% of the
    picture - one level serves for all of it, so a thick stroke the window cannot quite erase
    stays ink. Otherwise the estimate is made on a copy at most PAPER_SIDE pixels on a side (fast:
    the light changes slowly),
    then enlarged; a small maximum filter restores the sharp shadow edges the enlarging softens,
    and the paper is never darker than the picture itself.
    """
    from scipy import ndimage

    h, w = darkness.shape
    scale = min(1.0, PAPER_SIDE / max(h, w))
    small = _resize(darkness, (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    paper = _paper_of(small)
    low, high = np.percentile(paper, [10, 90])
    if high - low < EVEN:  # evenly lit (a scan, a drawing, MNIST): one level for all the paper
        return np.full(darkness.shape, float(np.median(paper)), np.float32)
    paper = _resize(paper, (w, h), Image.Resampling.BILINEAR)
    if scale < 1:
        paper = ndimage.grey_dilation(paper, size=2 * int(np.ceil(1 / scale)) + 1)
    return np.minimum(paper, ndimage.uniform_filter(darkness, 3))  # averaged: the camera's noise is not paper


def _paper_of(darkness: np.ndarray) -> np.ndarray:
    """A grey-level *opening* of `darkness`: a minimum filter, then a maximum filter, same window.

    The minimum over a window wider than any stroke erases the strokes (the window never fits
    inside one) and keeps the paper's slow changes, a little lowered; the maximum then gives the
    paper back what the minimum took. A region darker than the paper around it and wider than the
    window - a shadow - comes back whole, sharp edge included. Where a shadow narrows to a point in
    a corner, narrower than the window, its point does not come back and looks like ink; that piece
    touches the picture's edge, which `digit_pieces` holds against it.
    """
    from scipy import ndimage

    window = paper_window(darkness.shape)
    return ndimage.grey_opening(darkness, size=(window, window), mode="nearest").astype(np.float32)


def ink_is_dark(gray: np.ndarray) -> bool:
    """True if the ink is darker than its paper.

    The picture's edges are paper, in whatever light falls there: a shadow may cover part of
    them, but rarely nine tenths. So the brighter part of the edges (their 90th percentile) is
    paper in good light. Dark ink on light paper puts it near the picture's lightest pixel, light
    strokes on a dark background (a drawing, MNIST) near the darkest; the line between the two is
    drawn at a third of the way up, not half, because vignetting can dim the edges of a page by a
    third or more. (The extremes leave out one pixel in 10,000: a few hot pixels do not count.)
    """
    lo, hi = (float(v) for v in np.percentile(gray, [0.01, 99.99]))
    edges = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.percentile(edges, 90)) > lo + (hi - lo) / 3


def paper_window(shape: tuple[int, int]) -> int:
    """The side of the paper's window: a third of the picture's shorter side (odd, at least 3).

    Wider than any pen stroke in a photo of a digit on a page (a fat marker's stroke is about a
    quarter of the digit's height, and the digit less than the picture's height).
    """
    return max(3, min(shape) // 3) | 1


def erase_ruled_lines(ink: np.ndarray, strength: float, floor: float = 0.0) -> tuple[np.ndarray, int]:
    """Find faint straight lines across the picture (ruled paper) and erase them; -> (ink, how many).

    A Hough transform counts, for every straight line, how many inked pixels lie on it. A ruled line
    within LINE_ANGLES of horizontal (or vertical, on squared paper) is inked along most of the
    picture; a digit's stroke is not. Along a line found, the pixels no darker than the line itself
    are erased, so a stroke crossing it keeps its ink.
    """
    from scipy import ndimage
    from skimage.transform import hough_line, hough_line_peaks

    candidates = ink >= max(LOW / 2 * strength, floor)  # lines in the shade are fainter
    # A hairline falls between two of the transform's distance steps and splits its votes: thicken it.
    candidates = ndimage.maximum_filter(candidates, size=3)
    h, w = ink.shape
    near = np.radians(np.linspace(-LINE_ANGLES, LINE_ANGLES, 4 * LINE_ANGLES + 1))
    # skimage's angle is that of the line's normal: 0 for a vertical line, +-90 degrees for a horizontal one.
    horizontal = np.concatenate([-np.pi / 2 + near[near >= 0], np.pi / 2 + near[near < 0]])
    found = 0
    cleaned = ink.copy()
    for angles, extent, axis in ((horizontal, w, 0), (near, h, 1)):
        if candidates.any(axis=axis).sum() < LINE_COVERS * extent:  # nothing spans the picture: no line
            continue
        votes, theta, dist = hough_line(candidates, theta=angles)
        for _, angle, distance in zip(*hough_line_peaks(votes, theta, dist, threshold=LINE_COVERS * extent,
                                                        min_distance=3, num_peaks=60)):
            found += _erase_line(cleaned, ink, angle, distance, strength)
    return cleaned, found


def _erase_line(cleaned, ink, angle, distance, strength) -> int:
    """Erase one candidate line (x cos(angle) + y sin(angle) = distance) if it is a ruled line; -> 1 or 0.

    It is one if it is inked along nearly all its length (LINE_ALONG), but more faintly than the pen.
    """
    from scipy import ndimage

    rows, cols, along = _line_pixels(ink.shape, angle, distance, 3)
    if along.size == 0:
        return 0
    profile = np.zeros(along.max() + 1, np.float32)
    np.maximum.at(profile, along, ink[rows, cols])  # the line's ink at each step along it
    typical = float(np.median(profile))
    if np.mean(profile >= LOW / 2 * strength) < LINE_ALONG:  # gaps: strokes it happens to cross, no line
        return 0
    if typical >= LINE_FAINT * strength:  # as strong as the pen: a stroke, kept
        return 0
    # The line's own strength step by step (in shade it is fainter); a pen crossing it is stronger.
    level = ndimage.percentile_filter(profile, 20, size=max(3, profile.size // 2) | 1, mode="nearest")
    faint = ink[rows, cols] <= 1.3 * level[along] + 0.1 * strength
    cleaned[rows[faint], cols[faint]] = 0.0
    return 1


def _line_pixels(shape, angle, distance, reach):
    """(rows, cols, step along the line) of the pixels within `reach` pixels across a line."""
    h, w = shape
    cos, sin = np.cos(angle), np.sin(angle)
    horizontal = abs(sin) >= abs(cos)
    steps = np.arange(w if horizontal else h)
    # on the line, y = (distance - x cos) / sin for a horizontal-ish line, x = (distance - y sin) / cos otherwise
    centre = np.rint((distance - steps * (cos if horizontal else sin)) / (sin if horizontal else cos)).astype(int)
    across = (centre[None, :] + np.arange(-reach, reach + 1)[:, None]).ravel()
    steps = np.tile(steps, 2 * reach + 1)
    inside = (across >= 0) & (across < (h if horizontal else w))
    steps, across = steps[inside], across[inside]
    return (across, steps, steps) if horizontal else (steps, across, steps)


def ink_mask(ink: np.ndarray, strength: float, floor: float) -> np.ndarray:
    """The inked pixels: at least LOW of the strongest ink, and joined to one at least HIGH of it."""
    from skimage.filters import apply_hysteresis_threshold

    return apply_hysteresis_threshold(ink, max(LOW * strength, floor), max(HIGH * strength, floor))


def digit_pieces(mask: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, float]:
    """Keep the piece with the most ink and the pieces near it; -> (mask, ink left out / ink kept).

    A digit can be several pieces (a 5's top bar, a pen that skipped); a speck, a smudge or a mark
    at the far side of the page is not part of it.
    """
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask, 0.0
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]  # ink per piece
    boxes = ndimage.find_objects(labels)
    h, w = mask.shape
    # The digit is the piece with the most ink - but a piece that runs into the picture's edge is
    # more likely the edge of a shadow or the page than writing, so it counts a quarter.
    touches = np.array([b[0].start == 0 or b[1].start == 0 or b[0].stop == h or b[1].stop == w for b in boxes])
    order = np.argsort(-(masses * np.where(touches, 0.25, 1.0)))
    main = order[0]
    top, left = boxes[main][0].start, boxes[main][1].start
    bottom, right = boxes[main][0].stop, boxes[main][1].stop
    kept = {main}
    changed = True
    while changed:  # grow the digit by every piece close enough to what is kept so far
        changed = False
        size = max(bottom - top, right - left)
        for i in order[1:]:
            if i in kept or touches[i] or masses[i] < SPECK * masses[main]:
                continue
            rows, cols = boxes[i]
            gap = max(top - rows.stop, rows.start - bottom, left - cols.stop, cols.start - right, 0)
            if gap <= NEAR * size:
                kept.add(i)
                top, bottom = min(top, rows.start), max(bottom, rows.stop)
                left, right = min(left, cols.start), max(right, cols.stop)
                changed = True
    keep = np.zeros(count + 1, bool)
    keep[[i + 1 for i in kept]] = True
    kept_mass = float(masses[list(kept)].sum())
    others = [masses[i] for i in range(count) if i not in kept and not touches[i] and masses[i] >= SPECK * masses[main]]
    return keep[labels], float(sum(others)) / kept_mass


def _resize(values: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Resize float32 values to size (width, height) with Pillow."""
    if values.shape[::-1] == tuple(size):
        return values.astype(np.float32)
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize(size, resample), dtype=np.float32)
