"""The house look of every picture: colours, colour scales and matplotlib set-up.

Two colour scales and a few named colours, used the same way everywhere (orange always means
the prediction; green the right answer; purple what a picture follows; teal the test set):
  - weights, changes and contributions: a diverging scale centred on zero, red for negative,
    white for zero, blue for positive (matplotlib's "RdBu"), always symmetric (-m .. +m) so that
    white means exactly zero;
  - images (pixels): dark ink on white paper, 0 = blank, 1 = full ink.

matplotlib is imported on first use and figures are made without pyplot (no window, no global
state), so importing digitlens.viz is cheap and works on a server.
"""

import numpy as np

DIVERGING = "RdBu"
INK = "Greys"
POSITIVE = "#2166ac"      # the blue end of RdBu
NEGATIVE = "#b2182b"      # the red end
NEUTRAL = "#8c8c8c"
HIGHLIGHT = "#e08214"     # orange: the prediction - and nothing else, in every picture
RIGHT = "#1a9850"         # green: the right answer
FOCUS = "#6a3d9a"         # purple: the one thing a picture follows (a pixel, the hardest digit)
TEST_SET = "#0f766e"      # teal: the test set's curve (the web page's too)
TEXT = "#222222"
FONT = "DejaVu Sans"

RC = {"font.family": FONT, "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold",
      "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 100,
      "svg.fonttype": "none", "image.interpolation": "nearest"}


def drawn_in_house_style(function):
    """Decorator: run a picture function with the house matplotlib settings, leaving the user's
    own settings (in a notebook, say) as they were."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(RC):
            return function(*args, **kwargs)
    return wrapper


def new_figure(width, height):
    """A matplotlib Figure of width x height inches, laid out automatically.

    Made without pyplot, so nothing is kept in a global figure list and no window opens; it
    saves through the Agg renderer and displays itself in Jupyter.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


# The ends of the colour scale for many weights at once (a grid of weight pictures, a layer's
# kernel) sit at this percentile of their sizes, so a few extreme weights do not wash out the rest.
LIMIT_PERCENTILE = 99.5


def symmetric_limit(values, percentile=100.0):
    """m for a colour scale -m..+m centred on zero: the largest |value| (or a high percentile of
    |values|, so that a few extreme weights do not wash out the rest). Never 0."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    if magnitude.size == 0:
        return 1.0
    m = np.percentile(magnitude, percentile) if percentile < 100 else magnitude.max()
    return float(m) if m > 0 else 1.0


def colorize(values, limit=None, cmap=DIVERGING):
    """Values -> RGB uint8 (..., 3) on the diverging scale -limit..+limit (white = 0)."""
    from matplotlib import colormaps

    limit = symmetric_limit(values) if limit is None else float(limit)
    scaled = (np.asarray(values, dtype=np.float64) / limit + 1.0) / 2.0     # -limit..limit -> 0..1
    rgba = colormaps[cmap](np.clip(scaled, 0.0, 1.0))
    return (rgba[..., :3] * 255 + 0.5).astype(np.uint8)


def ink(pixels):
    """Pixels 0-1 (or uint8 0-255) -> RGB uint8: dark ink on white paper."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        pixels = pixels / 255.0
    level = (255 * (1.0 - np.clip(pixels, 0.0, 1.0)) + 0.5).astype(np.uint8)
    return np.repeat(level[..., None], 3, axis=-1)


RARE_PIXEL = 0.01             # pixels inked in fewer than 1% of images are faded out
FADED = np.array([214, 214, 214], dtype=np.float64)


def fade_rare_pixels(rgb, usage, threshold=RARE_PIXEL):
    """Grey out the pixels of an (..., 28, 28, 3) picture that the data almost never inks."""
    if usage is None:
        return rgb
    rare = np.asarray(usage) < threshold
    out = np.array(rgb, dtype=np.float64)
    out[..., rare, :] = 0.3 * out[..., rare, :] + 0.7 * FADED
    return out.astype(np.uint8)


def diverging_colorbar(fig, mappable, limit, label=None, ax=None, **kwargs):
    """A colour bar for the diverging scale, with its ends and zero marked."""
    bar = fig.colorbar(mappable, ax=ax, **kwargs)
    bar.set_ticks([-limit, 0.0, limit])
    bar.set_ticklabels([f"-{_short(limit)}", "0", f"+{_short(limit)}"])
    if label:
        bar.set_label(label)
    bar.outline.set_linewidth(0.5)
    return bar


def image_axes(ax):
    """Axes showing a picture: no ticks, no frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _short(value):
    return f"{value:.2g}" if value < 0.01 or value >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
