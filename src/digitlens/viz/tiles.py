"""Pictures made of many small tiles, for HTML pages: one PNG holds them all, each caption is text.

A grid of 256 weight pictures is 256 small images with a caption each. Drawn as one matplotlib
figure it takes about a second and a megabyte; here the tiles go into one PNG at their own size
(28 x 28 pixels each, side by side - a sprite), and the page shows each tile as its piece of that
PNG, enlarged pixel for pixel by the browser (`image-rendering: pixelated`), with its caption as
HTML text a reader can select and search. The colours are viz.style's, so a weight has the same
colour here as in every other picture.

    tile_grid(tiles, captions)       the HTML of a grid of tiles ((n, h, w, 3) uint8), one caption each
    gradient_legend(stops, labels)   a colour bar as HTML: the scale the tiles are painted with

Left out: axes and ticks. A picture that needs them is a matplotlib figure (the rest of viz).
"""

import hashlib
from html import escape

import numpy as np

from .output import data_uri


def sprite(tiles, columns):
    """(n, h, w, 3) tiles -> one (rows * h, columns * w, 3) array, tile i at row i // columns."""
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, h, w = tiles.shape[:3]
    rows = -(-n // columns)
    out = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return out


def tile_grid(tiles, captions=None, columns=16, size=52, titles=None, dim=None, label=""):
    """HTML: the tiles in a grid of `columns`, each shown `size` CSS pixels wide, with its caption.

    tiles: (n, h, w, 3) uint8 RGB. captions: n strings (plain text) or None. titles: n strings
    shown on hovering. dim: n bools, True for a caption drawn greyed (a dead neuron). label: what
    the grid shows, for a screen reader.
    """
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, h, w = tiles.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    uri = data_uri(sprite(tiles, columns))
    name = "tiles-" + hashlib.sha1(uri.encode("ascii")).hexdigest()[:12]      # the same page every time
    x_step = 100.0 / (columns - 1) if columns > 1 else 0.0
    y_step = 100.0 / (rows - 1) if rows > 1 else 0.0
    style = (f"<style>.{name} .px {{ background-image: url({uri}); "
             f"background-size: {columns * 100}% {rows * 100}%; width: {size}px; height: {size * h / w:.0f}px; }}</style>")
    cells = []
    for i in range(n):
        r, c = divmod(i, columns)
        caption = escape(captions[i]) if captions is not None else ""
        title = f' title="{escape(titles[i])}"' if titles is not None else ""
        cls = ' class="dim"' if dim is not None and dim[i] else ""
        cells.append(f'<figure{title}><div class="px" style="background-position: {c * x_step:.4f}% {r * y_step:.4f}%">'
                     f"</div><figcaption{cls}>{caption}</figcaption></figure>")
    return (f'{style}<div class="tile-grid {name}" role="img" aria-label="{escape(label)}" '
            f'style="grid-template-columns: repeat({columns}, {size}px)">' + "".join(cells) + "</div>")


def gradient_legend(colours, labels):
    """HTML: a horizontal colour bar (colours: (k, 3) uint8, left to right) with labels under it
    (labels: strings for the left end, the middle and the right end)."""
    stops = ", ".join(f"rgb({r},{g},{b})" for r, g, b in np.asarray(colours, dtype=int))
    spans = "".join(f"<span>{escape(text)}</span>" for text in labels)
    return (f'<div class="legend"><div class="legend-bar" style="background: linear-gradient(90deg, {stops})"></div>'
            f'<div class="legend-labels">{spans}</div></div>')
