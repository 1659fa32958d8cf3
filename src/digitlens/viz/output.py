"""Saving and embedding pictures: matplotlib figures, RGB arrays and SVG text.

    save(picture, "weights.png")     # a Figure, an (H, W, 3) uint8 array, or SVG text
    png_bytes(picture)               # the PNG file's bytes
    data_uri(picture)                # "data:image/png;base64,..." for an <img> in a report

Files are written atomically: to a temporary file beside the target, then renamed over it, so a
reader never sees half a picture.
"""

import base64
import io
from pathlib import Path

import numpy as np

from ..atomic import write_bytes
from ..errors import DigitlensError


def png_bytes(picture, dpi=None):
    """PNG bytes of a matplotlib Figure or an RGB/RGBA uint8 array."""
    buffer = io.BytesIO()
    if isinstance(picture, np.ndarray):
        from PIL import Image

        # optimize=True would search for a few per cent smaller files at twice the time
        Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG", compress_level=6)
    elif hasattr(picture, "savefig"):
        # bbox_inches="tight" costs a second drawing pass, but a title wider than its column would
        # otherwise be cut off at the figure's edge: constrained layout does not move it inside.
        picture.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    else:
        raise TypeError(f"picture: expected a matplotlib Figure or an image array, received "
                        f"{type(picture).__name__}")
    return buffer.getvalue()


def svg_text(figure):
    """An SVG document for a matplotlib Figure (text stays text)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def data_uri(picture, dpi=None):
    """A base64 data: URI of the picture as PNG, for <img src=...> with no file beside it."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture, dpi)).decode("ascii")


def save(picture, path, dpi=None):
    """Write a picture to `path`; the suffix chooses the format (.png, or .svg for figures/SVG)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if isinstance(picture, str):
        if suffix != ".svg":
            raise DigitlensError(f"{path}: SVG text can only be saved as .svg")
        data = picture.encode("utf-8")
    elif suffix == ".svg" and hasattr(picture, "savefig"):
        data = svg_text(picture).encode("utf-8")
    elif suffix == ".png":
        data = png_bytes(picture, dpi)
    else:
        raise DigitlensError(f"{path}: expected a .png or .svg file name")
    write_atomic(path, data)
    return path


def write_atomic(path, data):
    """Write bytes to path all at once or not at all (digitlens.atomic), creating its folder.

    Raises DigitlensError with one line if the file cannot be written.
    """
    return write_bytes(path, data, error=DigitlensError, make_parents=True)
