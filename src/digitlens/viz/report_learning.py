"""Two sections of the report (report.py) about what training did: the hidden space and the timeline.

    hidden-space   the test images as points on two maps: by their raw pixels and by the last
                   hidden layer's activations (explain/hidden_space.py, drawn by hidden_space.py)
    timeline       how it learned, from the training timeline the model carries (nn/timeline.py):
                   the filmstrip, the probe images' probabilities, the slider (timeline_html.py)

Each builder takes an Explanation (and the hidden space the report's Pictures, render.py, which
draw figures side by side) and returns the section's HTML; without what it needs (a test set, a
hidden layer, a timeline) the section says what is missing. The maps' numbers are computed in the
drawing worker with the figure, since nothing else on the page needs them: two SVDs over 2,000
images are the report's slowest numbers. The timeline has no matplotlib figure at all - tiles and
a small SVG chart - so the report builds it while the figures are being drawn.
"""

from html import escape

from ..explain.common import dense_layers
from ..explain.hidden_space import hidden_map
from . import html as h
from .hidden_space import maps_figure
from .timeline_html import filmstrip_html, probes_svg, slider_html

MAP_IMAGES = 2000            # test images on the hidden-space maps


def hidden_space_section(pics, e):
    """The hidden-space section: the pixel map beside the last hidden layer's (figure drawn by `pics`)."""
    title = "The hidden space: the network pulls the digits apart"
    if e.x is None or e.y is None:
        return h.section("hidden-space", title, h.para(
            "Give a test set (x_test, y_test) to see where the network puts each image.", "note"))
    if len(dense_layers(e.model)) < 2:
        return h.section("hidden-space", title, h.para(
            "This model has no hidden layer: its only Dense layer is the output, so there is no hidden space to map.",
            "note"))
    model, names = e.model, e.class_names
    x, y = e.x[:MAP_IMAGES], e.y[:MAP_IMAGES]
    hidden = dense_layers(model)[-2][1]
    text = (f"Each of {len(x):,} test images is a point, coloured by its digit. Left: placed by its "
            f"{x[0].size} raw pixels, projected onto the two directions along which the images differ most "
            "(principal component analysis, through NumPy's SVD). Right: the same images placed by the "
            f"{hidden.units} activations of {escape(hidden.name)}, the last hidden layer, projected the same way. "
            "Digits that overlap in pixel space are pulled apart in the hidden space, so that the last layer "
            "can tell them apart with straight lines. Separation: the mean distance between the digits' centres "
            "over the mean spread within a digit.")
    return h.section("hidden-space", title, h.para(text), pics.img(
        lambda: maps_figure(hidden_map(model, x, y), names),
        "the test images on a map of their pixels and of the last hidden layer"))


def timeline_section(e):
    """The "How it learned" section, from the model's training timeline (if it carries one)."""
    title = "How it learned"
    t = getattr(e.model, "timeline", None)
    if t is None or not len(t):
        return h.section("timeline", title, h.para(
            "This model carries no training timeline. <code>digitlens train</code> records one (snapshots of the "
            "weights at steps 0, 1, 2, 5, 10, 20, 50, ... and each epoch's end) and keeps it in the model file.",
            "note"))
    names = e.class_names
    steps = ", ".join(f"{s:,}" for s in t.steps)
    parts = [h.para(f"Training started from random weights and changed every one of them a little at each step. "
                    f"This model recorded {len(t)} snapshots of itself on the way, at steps {steps} (log-spaced, "
                    "and each epoch's end): its first-layer neurons' weights, each output's template, and what it "
                    "said about a fixed set of probe images (one test image of each digit, and the least typical ones)."),
             filmstrip_html(t)]
    if t.probe_labels:
        parts += ["<h3>Watch the probe images get recognised</h3>",
                  h.para("The probability of the right digit for each probe image (shown under the slider below), "
                         "at every recorded step: one test image of each digit in grey, the least typical ones dark "
                         "and dashed. Point at a line to see which image it is.", "note"),
                  probes_svg(t, names)]
    parts += ["<h3>Every recorded step</h3>",
              h.para("Move the slider to go through the snapshots, from the random start to the trained network.",
                     "note"),
              slider_html(t, names)]
    return h.section("timeline", title, *parts)
