"""Does this picture look like one digit? One sentence of doubt to show beside the prediction.

The network answers for any picture, and its answer always sounds sure: ten probabilities that add
up to 1. A blank page, a dot, a crossed-out line or a photo whose shadow was taken for ink gets a
confident digit too. `doubt` looks at the ink the preparation found and says when it is not one
digit, in words a learner can act on:

    almost no ink     the mark is tiny next to the picture, or barely darker than the paper
    a dot             the mark is hardly longer than it is thick: a blob, not strokes
    a line            one straight stroke, far from upright (an upright one is a 1)
    every edge        the ink touches all four edges: cut off, or the background taken for ink
    a corner          the ink runs into two edges that meet: a shadow's point, or a digit cut off
    whole picture     the ink spans nearly the whole picture, both ways
    other ink         marks apart from it hold a lot of ink: more than one digit?

Returns None when none of these hold. What it leaves out: judging the shape itself (a well-drawn
letter A passes); that is the network's job, and its probabilities are the place to look.
"""

from __future__ import annotations

import numpy as np

FAINT = 24  # of 255: ink barely darker than its paper
TINY = 0.04  # the mark's longer side, as a fraction of the picture's longer side
DOT = 2.5  # a mark whose longer side is less than this many stroke widths is a dot
STRAIGHT = 1.6  # a mark no thicker across than this many stroke widths is one straight line
UPRIGHT = 40  # degrees from vertical within which a straight line is a 1
WHOLE = 0.95  # a crop this fraction of the picture's width and height is the whole picture
OTHER = 0.3  # ink apart from the digit, as a fraction of the digit's, that suggests a second mark

PREFIX = "this does not look like one digit: "


def doubt(mask: np.ndarray, *, stroke_width: float, strength: float = 255.0, other_ink: float = 0.0) -> str | None:
    """One sentence saying why `mask` does not look like one digit, or None.

    Args:
        mask: bool (H, W), the digit's pixels in the whole picture.
        stroke_width: the strokes' width in pixels of `mask`.
        strength: the contrast between ink and paper, 0-255.
        other_ink: ink in marks left out of the digit, as a fraction of the digit's ink.
    """
    reasons = []
    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return PREFIX + "there is no ink"
    height, width = int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1
    longer = max(height, width)
    if strength < FAINT:
        reasons.append(f"almost no ink (the ink is barely darker than the paper: {strength:.0f} of 255)")
    elif longer < TINY * max(h, w):
        reasons.append(f"almost no ink (a mark {width} x {height} pixels in a {w} x {h} picture)")
    elif longer < DOT * stroke_width:
        reasons.append("it is a dot or a blob, not strokes")
    else:
        line = _straight_line_angle(rows, cols, stroke_width)
        if line is not None and line > UPRIGHT:
            reasons.append(f"it is one straight line, {line:.0f} degrees from upright")
    edges = sum(int(touch) for touch in (rows.min() == 0, rows.max() == h - 1, cols.min() == 0, cols.max() == w - 1))
    if edges == 4:
        reasons.append("the ink touches every edge of the picture (is the digit cut off, or the background "
                       "taken for ink?)")
    elif edges >= 2 and (rows.min() == 0) != (rows.max() == h - 1) and (cols.min() == 0) != (cols.max() == w - 1):
        reasons.append("the ink runs into a corner of the picture (the point of a shadow, or a digit cut off?)")
    elif height >= WHOLE * h and width >= WHOLE * w:
        reasons.append(f"the ink fills nearly the whole picture ({width / w:.0%} of its width, "
                       f"{height / h:.0%} of its height)")
    if other_ink >= OTHER:
        reasons.append(f"there are other marks apart from it, with {other_ink:.0%} as much ink (more than one digit?)")
    return PREFIX + "; ".join(reasons) if reasons else None


def _straight_line_angle(rows: np.ndarray, cols: np.ndarray, stroke_width: float) -> float | None:
    """If the pixels lie along one straight line, its angle from vertical in degrees; else None.

    The spread of the pixels' positions (their covariance) has a long axis and a short one. A bar
    of length L and thickness T spreads L^2 / 12 along and T^2 / 12 across, so the mark is one
    straight stroke if the thickness across is hardly more than the stroke's width.
    """
    if rows.size < 3:
        return None
    spread = np.cov(np.stack([rows, cols]).astype(np.float64))  # (2, 2): rows and cols
    values, vectors = np.linalg.eigh(spread)  # ascending
    across = np.sqrt(12 * max(values[0], 0.0))
    if across > STRAIGHT * stroke_width:
        return None
    drow, dcol = vectors[:, 1]
    return float(np.degrees(np.arctan2(abs(dcol), abs(drow))))
