"""Pictures of what neurons look for: weight images, output templates, one neuron in detail.

    weight_grid(model, x_test)          # every first-layer neuron's 784 weights as a 28x28 tile
    weight_mosaic(model)                # the same tiles as one RGB array, no labels
    templates_figure(model, x_test)     # each output's effective template through the hidden layer
    neuron_figure(model, image, 17)     # one neuron of any hidden layer: what drove it, which pixels,
                                        # what it pushes above (its votes)
    layer_templates_figure(model, x, 1) # what each neuron of a deeper hidden layer looks for

Colours: blue = positive weight (ink there raises the neuron's sum), red = negative (ink there
lowers it), white = 0. The numbers come from digitlens.explain.neurons.
"""

import textwrap

import numpy as np

from ..explain import neurons as numbers
from ..explain.common import dense_layer, dense_layers
from .style import (DIVERGING, HIGHLIGHT, LIMIT_PERCENTILE, NEUTRAL, RARE_PIXEL, TEXT, colorize,
                    diverging_colorbar, drawn_in_house_style, fade_rare_pixels, image_axes, ink,
                    new_figure, symmetric_limit)

DEAD_TINT = np.array([200, 200, 200], dtype=np.uint8)


def weight_mosaic(model, order=None, columns=16, gap=1, dead=None, usage=None):
    """All first-layer weight images as one RGB uint8 array, each tile on its own symmetric scale.

    order: neuron numbers to draw (default all, in index order). dead: optional (units,) bool;
    dead neurons are drawn greyed out. usage: optional (28, 28) share of images inking each pixel
    (explain.neurons.pixel_usage); rarely inked pixels are faded and left out of each tile's scale.
    Returns (rows * (28 + gap) - gap, columns * (28 + gap) - gap, 3).
    """
    return tile_mosaic(numbers.weight_images(model, 0), order, columns, gap, dead, usage)


def weight_tiles(images, dead=None, usage=None, limit=None):
    """(units, 28, 28) signed pictures -> (units, 28, 28, 3) RGB tiles, each on its own symmetric
    scale (or all on `limit`), dead ones greyed out, rarely inked pixels faded (as weight_mosaic)."""
    images = np.asarray(images)
    used = np.ones(images.shape[1:], bool) if usage is None else np.asarray(usage) >= RARE_PIXEL
    if limit is not None:
        limits = np.full(len(images), float(limit))
    else:                                   # each tile's own largest |value| over the pixels used
        limits = (np.abs(images[:, used]).max(axis=1) if used.any() else np.ones(len(images))).astype(np.float64)
        limits[limits <= 0] = 1.0
    tiles = fade_rare_pixels(colorize(images / limits[:, None, None], 1.0), usage)   # one colour lookup for all
    if dead is not None and np.any(dead):
        tiles[dead] = (0.35 * tiles[dead] + 0.65 * DEAD_TINT).astype(np.uint8)
    return tiles


def tile_mosaic(images, order=None, columns=16, gap=1, dead=None, usage=None):
    """(units, 28, 28) signed pictures as one RGB uint8 array, each on its own symmetric scale
    (weight_mosaic's drawing, for any pictures of weights: first-layer weights, effective weights)."""
    order = np.arange(len(images)) if order is None else np.asarray(order)
    tiles = weight_tiles(images, dead, usage)
    h, w = images.shape[1:]
    rows = -(-len(order) // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for slot, neuron in enumerate(order):
        r, c = divmod(slot, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[neuron]
    return out


@drawn_in_house_style
def weight_grid(model, x=None, by="output", neurons=None, columns=16, width=12.0):
    """Figure: every first-layer neuron's incoming weights as a 28x28 tile, labelled.

    x: images to find dead neurons on (optional). by: "output" (grouped by the digit each neuron
    pushes up most), "activity" (most often active first; needs x) or "index".
    neurons: only these neuron numbers (a filter), in the chosen order.
    """
    info = numbers.neuron_order(model, x, by)
    order = info["order"]
    if neurons is not None:
        keep = set(int(n) for n in neurons)
        order = np.array([n for n in order if n in keep], dtype=int)
    dead = info["dead"]
    usage = numbers.pixel_usage(model, x) if x is not None else None
    gap = 9
    mosaic = weight_mosaic(model, order, columns, gap, dead, usage)
    fig = new_figure(width, width * mosaic.shape[0] / mosaic.shape[1] + 1.9)
    ax = fig.add_subplot()
    ax.imshow(mosaic, extent=(0, mosaic.shape[1], mosaic.shape[0], 0))
    ax.set_xlim(0, mosaic.shape[1])
    ax.set_ylim(mosaic.shape[0], -gap)
    ax.axis("off")
    favourite = info["favourite_output"]
    for slot, neuron in enumerate(order):
        r, c = divmod(slot, columns)
        label = f"{neuron}" + (f" \u2192{favourite[neuron]}" if favourite[neuron] >= 0 else "")
        is_dead = dead is not None and dead[neuron]
        ax.text(c * (28 + gap) + 14, r * (28 + gap) - 1.5, label + (" dead" if is_dead else ""),
                ha="center", va="bottom", fontsize=6.5, color=NEUTRAL if is_dead else TEXT)
    units = dense_layer(model, 0).units
    shown = f"{len(order)} of {units}" if len(order) != units else f"all {units}"
    grouped = {"output": "grouped by the digit each one pushes up most (label: neuron \u2192digit)",
               "activity": "most often active first", "index": "in order"}[by]
    if by == "output" and (favourite < 0).all():
        grouped = "in order (their outputs feed another hidden layer, not the digits)"
    fig.suptitle(f"What each hidden neuron looks for: {shown} neurons' incoming weights, each drawn "
                 f"as a 28x28 image", x=0.01, ha="left", weight="bold", fontsize=11)
    title = f"Tiles {grouped}."
    if dead is not None:
        title += (f" {int(dead.sum())} dead neuron(s), greyed out: never active on the {len(x):,} "
                  "images given, so they never affect a prediction. Faded grey pixels are inked in "
                  "under 1% of those images: their weights hardly ever matter.")
    ax.set_title(textwrap.fill(title, 150), loc="left", fontsize=9.5, fontweight="normal")
    _relative_colorbar(fig, ax)
    return fig


@drawn_in_house_style
def templates_figure(model, x=None, class_names=None, width=12.0):
    """Figure: each output's effective template (see explain.neurons.output_templates), one shared
    colour scale so the templates can be compared."""
    templates = numbers.output_templates(model, x)
    usage = numbers.pixel_usage(model, x) if x is not None else None
    used = templates[:, usage >= RARE_PIXEL] if usage is not None else templates
    limit = symmetric_limit(used, LIMIT_PERCENTILE)
    classes = len(templates)
    columns = min(classes, 10)
    rows = -(-classes // columns)
    fig = new_figure(width, 1.3 * rows * width / 12 + 0.7)
    axes = fig.subplots(rows, columns, squeeze=False)
    names = class_names or [str(k) for k in range(classes)]
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < classes:
            ax.imshow(fade_rare_pixels(colorize(templates[k], limit), usage))
            ax.set_title(names[k], fontsize=12)
    how = (f"averaged over {len(x):,} images" if x is not None and len(x) > 1 else
           "for this image" if x is not None else
           "no images given: the product of the kernels, as if every hidden neuron passed its sum on")
    hidden = "layers" if len(dense_layers(model)) > 2 else "layer"
    fig.suptitle(f"What each output looks for: its effective template through the hidden {hidden} "
                 f"({how}).\nBlue: ink there raises that digit's score; red: ink there lowers it."
                 + (" Faded grey: pixels inked in under 1% of the images." if usage is not None else ""),
                 x=0.01, ha="left", fontsize=11)
    diverging_colorbar(fig, _mappable(limit), limit, ax=axes.ravel().tolist(), shrink=0.9, pad=0.01)
    return fig


@drawn_in_house_style
def neuron_figure(model, image, neuron, layer=0, class_names=None, width=12.0):
    """Figure: one neuron of hidden layer `layer` and one image, left to right - what drove it from
    the layer below (for a deeper neuron: activation x weight from each neuron below), which pixels
    drove it (its weights per pixel: its own for layer 0, d z / d pixels for this image deeper up,
    and pixel x those weights), and what it pushes above (its weights to the next layer; orange marks
    the prediction among the outputs)."""
    d = numbers.neuron_detail(model, image, neuron, layer)
    deeper = d["layer_index"] > 0
    ratios = ([1.5] if deeper else []) + [1, 1, 1, 1.4]
    fig = new_figure(width, 3.9 if deeper else 3.6)
    axes = list(fig.subplots(1, len(ratios), width_ratios=ratios))
    if deeper:
        bar_axes(axes.pop(0), d["incoming"]["contributions"], f"driven by {d['incoming']['from_layer_name']}",
                 f"neuron of {d['incoming']['from_layer_name']}", "activation x weight")
    pixels = np.asarray(image)
    axes[0].imshow(ink(pixels.reshape(d["weights"].shape)))
    axes[0].set_title("the image (x)")
    limit = symmetric_limit(d["weights"])
    shown = axes[1].imshow(d["weights"], cmap=DIVERGING, vmin=-limit, vmax=limit)
    axes[1].set_title(f"neuron {neuron}'s weights (w)" if not deeper else "d z / d pixel (w)")
    if deeper:
        axes[1].set_xlabel("through the layers\nbelow, for this image", fontsize=8)
    diverging_colorbar(fig, shown, limit, ax=axes[1], shrink=0.8)
    contributions = d["pixel_contributions"]
    climit = symmetric_limit(contributions)
    shown = axes[2].imshow(contributions, cmap=DIVERGING, vmin=-climit, vmax=climit)
    axes[2].set_title("x times w")
    diverging_colorbar(fig, shown, climit, ax=axes[2], shrink=0.8)
    for ax in axes[:3]:
        image_axes(ax)
    total = float(contributions.sum())
    rest = "bias" if not deeper else ("biases" if d["weights_exact"] else "rest")
    axes[2].set_xlabel(f"sum {total:+.2f}, {rest} {d['pixel_rest']:+.2f}\nz = {d['z']:+.2f}, "
                       f"{d['activation_name']} {d['activation']:.2f}"
                       + (" (silent)" if d["activation_name"] == "relu" and d["z"] <= 0 else ""), fontsize=8.5)
    ax = axes[3]
    outgoing = np.asarray(d["outgoing"])
    if d["next_is_output"]:
        names = class_names or [str(k) for k in range(len(outgoing))]
        ax.bar(range(len(outgoing)), outgoing, color=colorize(outgoing, symmetric_limit(outgoing)) / 255,
               edgecolor="#555555", linewidth=0.5)
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xticks(range(len(outgoing)), names)
        ax.set_title("its votes: weights\nto the outputs")
        ax.set_ylabel("weight")
        predicted = int(np.argmax(model.predict(np.asarray(image)[None])[0]))
        ax.get_xticklabels()[predicted].set_color(HIGHLIGHT)        # orange: the prediction
        ax.get_xticklabels()[predicted].set_fontweight("bold")
        ax.set_xlabel("orange: the prediction", fontsize=8)
    else:
        bar_axes(ax, outgoing, f"its weights to {d['next_layer']}", f"neuron of {d['next_layer']}", "weight")
    fig.suptitle(f"{d['layer']} (hidden layer {d['layer_index'] + 1}), neuron {neuron}", x=0.01, ha="left",
                 fontsize=10, fontweight="bold")
    return fig


def bar_axes(ax, values, title, xlabel, ylabel):
    """One bar per unit, blue up for positive and red down for negative."""
    values = np.asarray(values)
    ax.bar(range(len(values)), values, width=1.0 if len(values) > 40 else 0.8,
           color=np.where(values >= 0, "#2166ac", "#b2182b"))
    ax.axhline(0, color="#555555", lw=0.8)
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_title(title)
    ax.set_xlabel(f"{xlabel} (0 to {len(values) - 1})", fontsize=8.5)
    ax.set_ylabel(ylabel, fontsize=8.5)


@drawn_in_house_style
def layer_templates_figure(model, x=None, layer=1, columns=16, width=12.0):
    """Figure: what each neuron of a deeper hidden layer looks for in the pixels - its d z / d pixels
    through the layers below, averaged over the images x (explain.neurons.layer_templates) - one
    28x28 tile per neuron, each on its own scale."""
    k = layer % len(dense_layers(model))
    templates = numbers.layer_templates(model, x, k)
    usage = numbers.pixel_usage(model, x) if x is not None else None
    activity = numbers.neuron_activity(model, x, k) if x is not None else None
    dead = activity["dead"] if activity is not None else None
    columns = min(columns, len(templates))
    gap = 9
    mosaic = tile_mosaic(templates, None, columns, gap, dead, usage)
    fig = new_figure(width, width * mosaic.shape[0] / mosaic.shape[1] + 1.6)
    ax = fig.add_subplot()
    ax.imshow(mosaic, extent=(0, mosaic.shape[1], mosaic.shape[0], 0))
    ax.set_xlim(0, mosaic.shape[1])
    ax.set_ylim(mosaic.shape[0], -gap)
    ax.axis("off")
    for j in range(len(templates)):
        r, c = divmod(j, columns)
        ax.text(c * (28 + gap) + 14, r * (28 + gap) - 1.5, str(j) + (" dead" if dead is not None and dead[j] else ""),
                ha="center", va="bottom", fontsize=6.5, color=TEXT)
    name = dense_layer(model, k).name
    how = f"averaged over {len(x):,} images" if x is not None else "as if every neuron below passed its sum on"
    fig.suptitle(f"What each neuron of {name} (hidden layer {k + 1}) looks for in the pixels: its d z / d pixels "
                 f"through the layers below, {how}", x=0.01, ha="left", weight="bold", fontsize=10.5)
    ax.set_title("It sees only the neurons below it; tracing back through them gives one effective weight per "
                 "pixel. Blue: ink there raises its weighted sum; red: lowers it. Each tile on its own scale.",
                 loc="left", fontsize=9)
    _relative_colorbar(fig, ax)
    return fig


def _mappable(limit):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    return ScalarMappable(Normalize(-limit, limit), DIVERGING)


def _relative_colorbar(fig, ax):
    bar = fig.colorbar(_mappable(1.0), ax=ax, orientation="horizontal", shrink=0.45, aspect=40, pad=0.03)
    bar.set_ticks([-1, 0, 1])
    bar.set_ticklabels(["most negative", "0", "most positive"])
    bar.set_label("weight, each tile on its own scale: blue = ink here excites the neuron, "
                  "red = ink here inhibits it")
