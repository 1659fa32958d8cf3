"""Pictures of one image's path through the network.

    path_figure(model, image)              input -> every layer's weighted sums and activations
                                           -> probabilities
    softmax_figure(trace(model, image))    the softmax step by step: z, z - max, exp, / sum
    contributions_figure(model, image)     which neurons of the last hidden layer pushed the prediction
                                           up or down, and which pixels drove the strongest of them
                                           (through the layers below, for a deeper network)

All numbers come from digitlens.explain.path; these functions only draw them.
"""

import textwrap

import numpy as np

from ..explain.common import reads_pixels_first
from ..explain.path import output_contributions, pixel_contributions, trace
from .style import (DIVERGING, HIGHLIGHT, NEGATIVE, NEUTRAL, POSITIVE, RIGHT, TEXT, diverging_colorbar,
                    drawn_in_house_style, image_axes, ink, new_figure, symmetric_limit)


@drawn_in_house_style
def path_figure(model, image, label=None, class_names=None, width=12.0):
    """Figure: the input, then for each Dense layer its weighted sums z (bars) and which units
    fire, then the output probabilities with the prediction (and the right answer) marked."""
    t = image if isinstance(image, dict) else trace(model, image, class_names)
    dense = [row for row in t["layers"] if row["fully_connected"]]
    hidden, output = dense[:-1], dense[-1]
    fig = new_figure(width, 2.6 * max(1, len(hidden)) + 0.4)
    grid = fig.add_gridspec(max(1, len(hidden)), 3, width_ratios=[1, 3, 2.2])
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(ink(np.asarray(t["input"]).reshape(t["image_shape"])))
    image_axes(ax)
    ax.set_title("input: 784 pixels, 0 to 1")

    for i, row in enumerate(hidden):
        ax = fig.add_subplot(grid[i, 1] if i == 0 else grid[i, :2])
        z = np.asarray(row["z"])
        name = row["activation_name"]
        active = np.asarray(row["activation"]) > 0
        # one bar per neuron, drawn as one collection of thick lines (hundreds of bar patches are slow)
        positions = np.arange(len(z))
        thick = max(0.6, 360 / max(len(z), 1))
        colours = np.where(z > 0, POSITIVE, NEGATIVE)
        if name == "relu":                     # only relu silences: pale red marks what it set to 0
            colours = np.where(active, colours, "#f0c8c8")
        ax.vlines(positions, 0, z, colors=colours, linewidth=thick)
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xlim(-0.5, len(z) - 0.5)
        ax.set_xlabel(f"neuron (0 to {len(z) - 1})")
        ax.set_ylabel("weighted sum z")
        ax.set_title(f"{row['name']}: weighted sums z = x @ kernel + bias of its {len(z)} neurons",
                     loc="left")
        positive = z > 0
        note = {"tanh": f"blue: z > 0, tanh(z) between 0 and +1 ({int(positive.sum())} neurons)\n"
                        f"red: z < 0, tanh(z) between -1 and 0: pushes the other way ({int((~positive).sum())})",
                "sigmoid": f"sigmoid squashes every z into 0..1: none is silenced;\n"
                           f"blue: z > 0, more than half on ({int(positive.sum())}); red: less ({int((~positive).sum())})",
                "linear": "no activation: each z is passed on as it is"}.get(name)
        if note:
            ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
                    bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})
        if name == "relu":
            ax.text(0.99, 0.97, f"blue: z > 0, passed on by relu ({int(active.sum())} neurons)\n"
                    f"pale red: z <= 0, silenced to 0 ({int((~active).sum())} neurons)",
                    transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
                    bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})

    ax = fig.add_subplot(grid[0, 2])
    probs = np.asarray(t["probabilities"])
    names = t["class_names"]
    colours = [NEUTRAL] * len(probs)
    colours[t["prediction"]] = HIGHLIGHT
    ax.barh(np.arange(len(probs)), probs, color=colours)
    for k, p in enumerate(probs):
        ax.text(min(p, 1.0) + 0.02, k, f"{p:.1%}" if p >= 0.0005 else "<0.1%", va="center", fontsize=8)
    ax.set_yticks(range(len(probs)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.25)
    ax.set_xticks([0, 0.5, 1.0], ["0", "50%", "100%"])
    ax.set_xlabel("probability (softmax of z)")
    guess = names[t["prediction"]]
    title = f"{output['name']}: prediction {guess}"
    if label is not None:
        title += f"\n(right answer: {names[int(label)]}, in green)"
        ax.get_yticklabels()[int(label)].set_color(RIGHT)
        ax.get_yticklabels()[int(label)].set_fontweight("bold")
    ax.set_title(title)
    return fig


@drawn_in_house_style
def softmax_figure(t, width=12.0):
    """Figure: the softmax of the output scores, one step per panel, every value written."""
    s = t["softmax"]
    names = t["class_names"]
    steps = [("1. scores z (weighted sums)", s["z"], "{:.2f}"),
             (f"2. z - max  (max = {s['max']:.2f})", s["z_minus_max"], "{:.2f}"),
             ("3. exp(z - max)", s["exp"], "{:.3g}"),
             (f"4. divide by the sum {s['sum']:.4g}", s["probs"], "{:.1%}")]
    fig = new_figure(width, 3.0)
    axes = fig.subplots(1, 4, sharey=True)
    for ax, (title, values, fmt) in zip(axes, steps):
        values = np.asarray(values)
        colours = [HIGHLIGHT if k == t["prediction"] else NEUTRAL for k in range(len(values))]
        ax.barh(np.arange(len(values)), values, color=colours)
        ax.axvline(0, color="#555555", lw=0.8)
        span = max(values.max(), 0) - min(values.min(), 0) or 1.0
        for k, v in enumerate(values):
            ax.text(v + (0.02 * span if v >= 0 else -0.02 * span), k, fmt.format(v), va="center",
                    ha="left" if v >= 0 else "right", fontsize=7.5, color=TEXT)
        ax.set_xlim(min(values.min(), 0) - 0.3 * span * (values.min() < 0), max(values.max(), 0) + 0.35 * span)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    fig.suptitle("Softmax, step by step: the scores become probabilities that add up to 1 "
                 "(subtracting the max changes nothing but keeps exp from overflowing)",
                 x=0.01, ha="left", fontsize=10)
    return fig


@drawn_in_house_style
def contributions_figure(model, image, output=None, top=7, maps=4, class_names=None, width=12.0):
    """Figure: for output `output` (default: the prediction), the hidden neurons that pushed its
    score up and down most (activation x weight), then the pixel x weight maps of the strongest
    pushers: which pixels made those neurons fire."""
    if output is None:
        output = trace(model, image)["prediction"]
    c = output_contributions(model, image, output, top)
    names = class_names or [str(k) for k in range(model.output_shape[-1])]
    rows = c["top_up"] + c["top_down"][::-1]
    if not reads_pixels_first(model) or c["from_layer"] is None:
        maps = 0                  # its first Dense layer does not read the pixels, or it is the first
    fig = new_figure(width, 3.4 + (2.4 if maps else 0))
    grid = fig.add_gridspec(2 if maps else 1, max(maps, 1), height_ratios=[1.4, 1] if maps else [1])
    ax = fig.add_subplot(grid[0, :])
    values = [r["contribution"] for r in rows]
    labels = [f"#{r['neuron']}\n{r['activation']:.2f}\nx {r['weight']:+.2f}" for r in rows]
    ax.bar(range(len(rows)), values, color=[POSITIVE if v > 0 else NEGATIVE for v in values])
    ax.axhline(0, color="#555555", lw=0.8)
    ax.set_xticks(range(len(rows)), labels, fontsize=7.5)
    layer = c["from_layer_name"] or "its inputs"      # no Dense layer below: what the layers before it give
    ax.set_ylabel("push = activation x weight")
    ax.set_xlabel(f"neuron of {layer}: its activation x its weight to this output", fontsize=8.5)
    silent = sum(1 for a in c["activations"] if a == 0)
    pushers = (f"neurons of {layer}, the last hidden layer" if c["from_layer_name"] else "inputs it reads")
    ax.set_title(textwrap.fill(
        f"Why output {names[output]} scored z = {c['z']:.2f}: its bias ({c['bias']:+.2f}) plus one push from "
        f"each of the {len(c['activations'])} {pushers}. The "
        f"{len(c['top_up'])} strongest pushes up (blue) and down (red) are shown"
        + (f"; the {silent} silent neurons push 0." if silent else "."), 130), loc="left", fontsize=10)
    deeper = c["from_layer"] is not None and c["from_layer"] > 0
    chosen = c["top_up"][:maps]
    pictures = [pixel_contributions(model, image, r["neuron"], layer=c["from_layer"]) for r in chosen]
    limit = symmetric_limit(np.stack(pictures)) if pictures else 1.0    # one scale: their pushes compare
    axes = []
    for i, (r, contributions) in enumerate(zip(chosen, pictures)):
        ax = fig.add_subplot(grid[1, i])
        shown = ax.imshow(contributions, cmap=DIVERGING, vmin=-limit, vmax=limit)
        image_axes(ax)
        ax.set_title(f"which pixels drove\n{layer} neuron {r['neuron']}", fontsize=9)
        ax.set_xlabel("pixel x d z / d pixel, through\nthe layers below (this image)" if deeper else
                      "pixel x weight (sums with the bias\nto the neuron's z)", fontsize=8)
        axes.append(ax)
    if axes:
        diverging_colorbar(fig, shown, limit, ax=axes, shrink=0.8, pad=0.01)
    return fig
