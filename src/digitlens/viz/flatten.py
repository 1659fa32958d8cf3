"""The flatten step as a picture: the image cut into its rows, laid end to end as one strip.

    fig = flatten_figure(image, pixel=(5, 14))
    save(fig, "flatten.png")

One pixel is followed all the way: marked in the image, and again at its place in the strip,
input 28 * row + col. The arithmetic comes from digitlens.explain.flatten.
"""

import numpy as np

from ..explain.flatten import flatten_strip, pixel_to_index
from .style import FOCUS, TEXT, drawn_in_house_style, ink, new_figure

ROW_TINT = np.array([236, 242, 250], dtype=np.uint8)   # blank pixels of every other row


@drawn_in_house_style
def flatten_figure(image, pixel=None, width=12.0):
    """Figure: the image (left) and its 784-value strip (below), with one pixel followed.

    image: (28, 28) uint8 0-255 or floats 0-1 (or None for a blank grid).
    pixel: (row, col) to follow; default the inked pixel nearest the centre.
    """
    image = np.zeros((28, 28), np.float32) if image is None else np.asarray(image)
    if image.ndim == 1:
        image = flatten_strip(image)["strip"].reshape(int(len(image) ** 0.5), -1)
    height, cols = image.shape
    flat = flatten_strip(image)
    pixel = _default_pixel(image) if pixel is None else tuple(int(p) for p in pixel)
    row, col = pixel
    index = pixel_to_index(row, col, cols)

    picture = _tinted(image)
    strip = _tinted(image).reshape(1, height * cols, 3)

    fig = new_figure(width, 5.8)
    grid = fig.add_gridspec(3, 2, width_ratios=[1, 2.4], height_ratios=[3, 0.9, 0.7])
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(picture, extent=(-0.5, cols - 0.5, height - 0.5, -0.5))
    ax.add_patch(_box(-0.5, row - 0.5, cols, 1, FOCUS, 1.2))
    ax.add_patch(_box(col - 0.5, row - 0.5, 1, 1, FOCUS, 3))
    ax.set_yticks(range(0, height, 4))
    ax.set_xticks(range(0, cols, 4))
    ax.set_ylabel("row")
    ax.set_xlabel("column")
    ax.set_title(f"the image: {height} rows x {cols} columns")

    note = fig.add_subplot(grid[0, 1])
    note.axis("off")
    note.text(0.0, 0.92, "Flatten lays the rows end to end:", fontsize=12, color=TEXT, weight="bold",
              transform=note.transAxes)
    lines = [f"row 0 becomes inputs 0 to {cols - 1},",
             f"row 1 becomes inputs {cols} to {2 * cols - 1}, and so on:",
             f"pixel (row, col) becomes input {cols} x row + col.",
             "",
             f"The marked pixel ({row}, {col}) becomes input {cols} x {row} + {col} = {index},",
             f"with value {_value(flat['strip'][index])}.",
             "",
             f"Nothing else changes: the same {height * cols} numbers, in one line,",
             "and the network no longer knows which pixels were neighbours."]
    for i, line in enumerate(lines):
        note.text(0.0, 0.78 - i * 0.095, line, fontsize=11, color=TEXT, transform=note.transAxes)

    ax = fig.add_subplot(grid[1, :])
    ax.imshow(strip, aspect="auto", extent=(-0.5, height * cols - 0.5, 1, 0))
    ax.add_patch(_box(row * cols - 0.5, 0, cols, 1, FOCUS, 1.2))
    ax.axvline(index, color=FOCUS, lw=2.2)
    ax.set_yticks([])
    starts = flat["starts"]
    ax.set_xticks(starts[::2] + [height * cols - 1])
    ax.set_xticks(starts, minor=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"input number (0 to {height * cols - 1}); tick marks where each row starts, "
                  f"every other row tinted")
    ax.set_title(f"the strip the first Dense layer receives: {height} rows laid end to end = "
                 f"{height * cols} inputs", loc="left")

    ax = fig.add_subplot(grid[2, :])                      # the followed row, close up
    ax.imshow(picture[row:row + 1], aspect="auto", extent=(-0.5, cols - 0.5, 1, 0))
    for c in range(cols):
        ax.text(c, 0.5, str(row * cols + c), ha="center", va="center", fontsize=7,
                color="white" if picture[row, c, 0] < 110 else TEXT)
    ax.vlines(np.arange(cols) - 0.5, 0, 1, color="#bbbbbb", lw=0.5)
    ax.add_patch(_box(col - 0.5, 0.02, 1, 0.96, FOCUS, 2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"close up: row {row} is inputs {row * cols} to {row * cols + cols - 1} "
                 f"(the purple box in the strip); pixel ({row}, {col}) is input {index}", loc="left")
    return fig


def _tinted(image):
    """Ink on white, with blank pixels of every other row tinted so the rows can be told apart."""
    rgb = ink(image).copy()
    blank = (rgb == 255).all(axis=-1)
    odd = np.zeros_like(blank)
    odd[1::2] = True
    rgb[blank & odd] = ROW_TINT
    return rgb


def _default_pixel(image):
    inked = np.argwhere(np.asarray(image, dtype=np.float64) > 0.5 * float(np.max(image) or 1))
    if len(inked) == 0:
        return (image.shape[0] // 2, image.shape[1] // 2)
    centre = np.array(image.shape) / 2
    return tuple(int(v) for v in inked[np.argmin(((inked - centre) ** 2).sum(axis=1))])


def _value(v):
    return f"{int(v)} of 255" if isinstance(v, (np.integer, int)) else f"{float(v):.2f}"


def _box(x, y, w, h, color, lw):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, edgecolor=color, linewidth=lw)
