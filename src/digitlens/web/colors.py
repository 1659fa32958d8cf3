"""The colours the page paints weights with, taken from digitlens.viz: a weight has the same colour
on the page as in a report.

    GET /api/colormap  ->  {"name": "RdBu", "colors": [[r, g, b], ...256 rows]}     (api_model.py)

The page looks a value v up the way matplotlib does: row floor((v / limit + 1) / 2 * 256), kept
within 0..255. So its pixels are exactly viz.style.colorize(v, limit), with no matplotlib in the
browser. Left out: the page's other scales (a neuron lit by its activation), which have no
counterpart in the reports.
"""

import functools

import numpy as np

from ..viz.style import DIVERGING, LIMIT_PERCENTILE, colorize  # noqa: F401  (used by the API modules)

ROWS = 256          # matplotlib's colormaps have 256 entries

@functools.lru_cache(maxsize=1)
def diverging_table():
    """viz.style's diverging scale as ROWS [r, g, b] rows (0-255), from -limit (row 0, red)
    through white to +limit (row 255, blue). Row k is colorize of a value inside its own bin."""
    inside = (np.arange(ROWS) + 0.5) / ROWS * 2.0 - 1.0      # -1..+1, the middle of each row's bin
    return {"name": DIVERGING, "colors": colorize(inside, limit=1.0).tolist()}
