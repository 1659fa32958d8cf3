"""The report's many-small-pictures and tables, as HTML: quick to make and light to carry.

    weight_grid_html(model, x)            every first-layer neuron's 784 weights, one tile each
    layer_templates_html(model, x, 1)     what each neuron of a deeper hidden layer looks for
    templates_html(model, x, names)       each output's effective template, on one shared scale
    mistakes_html(evaluation, x)          the mistakes the model was surest of
    confusion_html(evaluation)            the confusion matrix, a count in every cell
    per_class_html(evaluation)            accuracy per class, with bars from 0 to 100%

These show the same numbers as viz.neurons' and viz.evaluation's matplotlib figures (which
notebooks display), drawn as tiles of one PNG with text captions (tiles.py) and as HTML tables,
because a report holds hundreds of tiles: a figure of them takes a second to draw and a megabyte
to keep. The numbers come from digitlens.explain; the colours are viz.style's.
"""

from html import escape

import numpy as np

from .. import explain
from ..explain.common import dense_layer
from .style import LIMIT_PERCENTILE, RARE_PIXEL, colorize, fade_rare_pixels, ink, symmetric_limit
from .neurons import weight_tiles
from .tiles import gradient_legend, tile_grid

RELATIVE = ("most negative", "0", "most positive")


def _scale(limit=None):
    """The diverging colour bar, labelled with its ends (or, without a limit, relative words)."""
    colours = colorize(np.linspace(-1.0, 1.0, 17), 1.0)
    labels = RELATIVE if limit is None else (f"-{limit:.2g}", "0", f"+{limit:.2g}")
    return gradient_legend(colours, labels)


def weight_grid_html(model, x=None, activity=None):
    """Every first-layer neuron's incoming weights as a 28x28 tile, grouped by the digit each
    pushes up most (when the next layer is the output), dead ones greyed (with images x; pass
    `activity`, explain.neuron_activity of the first layer on x, if it is already known)."""
    hidden = len(explain.common.dense_layers(model)) - 1
    info = explain.neuron_order(model, None, "output" if hidden == 1 else "index")
    order = info["order"]
    if x is not None and activity is None:
        activity = explain.neuron_activity(model, x, 0)
    dead = activity["dead"] if activity is not None else None
    usage = explain.pixel_usage(model, x) if x is not None else None
    tiles = weight_tiles(explain.weight_images(model, 0), dead, usage)[order]
    favourite = info["favourite_output"]
    captions = [f"{j}" + (f" \u2192{favourite[j]}" if favourite[j] >= 0 else "") + (" dead" if dead is not None and dead[j] else "")
                for j in order]
    units = dense_layer(model, 0).units
    how = ("grouped by the digit each pushes up most (caption: neuron \u2192digit)" if hidden == 1 else
           "in order (they feed another hidden layer, not the digits)")
    text = (f"What each neuron of the first hidden layer looks for: all {units} neurons' 784 incoming weights, each drawn "
            f"as a 28x28 tile, {how}. Each tile on its own scale: blue = ink here excites the neuron, red = inhibits it.")
    if dead is not None:
        text += (f" {int(dead.sum())} dead neuron(s), greyed out: never active on the {len(x):,} images given. Faded grey "
                 "pixels are inked in under 1% of those images: their weights hardly ever matter.")
    return (f'<p class="caption">{escape(text)}</p>' + tile_grid(tiles, captions, dim=dead[order] if dead is not None else None,
                                                              label="every first-layer neuron's weights") + _scale())


def layer_templates_html(model, x, layer, activity=None):
    """What each neuron of hidden layer `layer` looks for: its d z / d pixels through the layers
    below, averaged over x (explain.layer_templates), a tile each."""
    templates = explain.layer_templates(model, x, layer)
    usage = explain.pixel_usage(model, x) if x is not None else None
    if x is not None and activity is None:
        activity = explain.neuron_activity(model, x, layer)
    dead = activity["dead"] if activity is not None else None
    captions = [f"{j}" + (" dead" if dead is not None and dead[j] else "") for j in range(len(templates))]
    name = dense_layer(model, layer).name
    how = f"averaged over {len(x):,} images" if x is not None else "as if every neuron below passed its sum on"
    text = (f"What each neuron of {name} (hidden layer {layer + 1}) looks for in the pixels: its d z / d pixels through the "
            f"layers below, {how}. Blue: ink there raises its weighted sum; red: lowers it. Each tile on its own scale.")
    return (f'<p class="caption">{escape(text)}</p>' + tile_grid(weight_tiles(templates, dead, usage), captions, dim=dead,
                                                              label=f"what each neuron of {name} looks for") + _scale())


def templates_html(model, x=None, class_names=None):
    """Each output's effective template (explain.output_templates), on one shared colour scale."""
    templates = explain.output_templates(model, x)
    usage = explain.pixel_usage(model, x) if x is not None else None
    used = templates[:, usage >= RARE_PIXEL] if usage is not None else templates
    limit = symmetric_limit(used, LIMIT_PERCENTILE)
    tiles = np.stack([fade_rare_pixels(colorize(t, limit), usage) for t in templates])
    names = class_names or [str(k) for k in range(len(templates))]
    how = (f"averaged over {len(x):,} images" if x is not None and len(x) > 1 else "for this image" if x is not None
           else "no images given: the product of the kernels")
    text = (f"What each output looks for: its effective template through the hidden layers ({how}). Blue: ink there "
            "raises that digit's score; red: ink there lowers it. One scale for all, so they can be compared.")
    return (f'<p class="caption">{escape(text)}</p>' + tile_grid(tiles, names, columns=10, size=84,
                                                              label="each output's effective template") + _scale(limit))


def mistakes_html(e, x, count=16):
    """The mistakes the model was surest of: the image, what it is, what the model said."""
    names = e["class_names"]
    mistakes = e["confident_mistakes"][:count]
    if not mistakes:
        return "<p>No mistakes on these images.</p>"
    tiles = np.stack([ink(np.asarray(x[m["index"]])) for m in mistakes])
    captions = [f"#{m['index']}: a {names[m['label']]}, said {names[m['predicted']]} ({m['confidence']:.1%})" for m in mistakes]
    titles = [f"p({names[m['label']]}) = {m['probability_of_label']:.2%}" for m in mistakes]
    return (f'<p class="caption">The mistakes the model was most sure of (test image number, the right answer, what it '
            "said and how sure it was).</p>" + tile_grid(tiles, captions, columns=8, size=84, titles=titles,
                                                         label="the most confident mistakes"))


def confusion_html(e):
    """The confusion matrix as a table: row = the right answer, column = what the model said; the
    diagonal (right answers) green, the mistakes redder the more there are."""
    confusion = np.asarray(e["confusion"])
    names = e["class_names"]
    classes = len(confusion)
    off = confusion * (1 - np.eye(classes, dtype=confusion.dtype))
    most = max(int(off.max()), 1)
    head = "<tr><th class=\"text\">right answer \u2193, said \u2192</th>" + "".join(f"<th>{escape(n)}</th>" for n in names) + "</tr>"
    rows = []
    for r in range(classes):
        cells = []
        for c in range(classes):
            n = int(confusion[r, c])
            if r == c:
                colour = "#d9f0d3"
            elif n:
                t = np.sqrt(n / most)                   # mistakes: white -> orange -> red, like the figure
                colour = f"rgba(215, 48, 39, {0.08 + 0.5 * t:.3f})"
            else:
                colour = "#ffffff"
            cells.append(f'<td style="background:{colour}" title="{n} images of {escape(names[r])} said to be '
                         f'{escape(names[c])}">{n if n else ""}</td>')
        rows.append(f"<tr><th>{escape(names[r])}</th>" + "".join(cells) + "</tr>")
    return (f'<p class="caption">Confusion matrix: {e["count"]:,} test images, accuracy {e["accuracy"]:.2%}. The green '
            "diagonal holds the right answers; off it, the mistakes (redder = more).</p>"
            f'<table class="confusion">{head}{"".join(rows)}</table>')


def per_class_html(e):
    """Accuracy per class as a table with a bar from 0 to 100% for each class; the hardest marked."""
    names = e["class_names"]
    accuracy = e["per_class_accuracy"]
    known = [a for a in accuracy if a is not None]
    worst = accuracy.index(min(known)) if known else None
    rows = []
    for k, (n, a) in enumerate(zip(e["per_class_count"], accuracy)):
        width = 0.0 if a is None else 100 * a
        focus = ' class="focus"' if k == worst else ""
        hardest = " (hardest)" if k == worst else ""
        shown = "-" if a is None else f"{a:.2%}"
        bar = f'<div class="bar"><span style="width:{width:.2f}%"{focus}></span></div>'
        rows.append(f'<tr><td class="text">{escape(names[k])}{hardest}</td><td>{n:,}</td>'
                    f'<td>{shown}</td><td class="text barcell">{bar}</td></tr>')
    return ('<table class="per-class"><tr><th class="text">class</th><th>test images</th><th>accuracy</th>'
            f'<th class="text">0 to 100%</th></tr>{"".join(rows)}</table>')
