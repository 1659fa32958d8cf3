"""Pictures of one step of learning (digitlens.explain.backprop.backprop_step).

    step = backprop_step(model, image, label)
    backprop_figure(step, image)     # probabilities before/after, the output layer's changes,
                                     # and the change maps of the hidden neurons that moved most
    change_mosaic(step)              # every hidden neuron's 28x28 change map as one RGB array

Blue = the weight grew (strengthened), red = it shrank (weakened), white = unchanged. One colour
scale per panel, centred on zero.
"""

import textwrap

import numpy as np

from .style import (DIVERGING, HIGHLIGHT, RIGHT, colorize, diverging_colorbar,
                    drawn_in_house_style, image_axes, ink, new_figure, symmetric_limit)


@drawn_in_house_style
def backprop_figure(step, image, class_names=None, maps=6, width=12.0):
    """Figure: one training step on one image, top to bottom - what it did to the probabilities,
    how every hidden -> output connection changed, and how the busiest hidden neurons' 784
    incoming weights changed."""
    names = class_names or [str(k) for k in range(len(step["probs_before"]))]
    if step["change_maps"] is None:        # the first Dense layer does not read the pixels (a CNN)
        fig = new_figure(width, 10.2 * 2.15 / 3.2)
        top, middle = fig.subfigures(2, 1, height_ratios=[1.15, 1.0])
    else:
        fig = new_figure(width, 10.2)
        top, middle, bottom = fig.subfigures(3, 1, height_ratios=[1.15, 1.0, 1.05])
    left, right = top.subplots(1, 2, width_ratios=[1, 3.2])
    shape = step["change_maps"].shape[1:] if step["change_maps"] is not None else (28, 28)
    left.imshow(ink(np.asarray(image).reshape(shape)))
    image_axes(left)
    left.set_title(f"the image, labelled {names[step['label']]}")
    probabilities_axes(right, step, names)
    output_changes_axes(middle, middle.subplots(), step, names)
    if step["change_maps"] is not None:
        change_map_axes(bottom, bottom.subplots(1, maps), step)
    return fig


def probabilities_axes(ax, step, names):
    """Paired bars: each class's probability before (grey) and after (colour) the step."""
    before, after = np.asarray(step["probs_before"]), np.asarray(step["probs_after"])
    k = np.arange(len(before))
    ax.bar(k - 0.2, before, 0.4, color="#bbbbbb", label="before the step")
    colours = [RIGHT if i == step["label"] else "#555f6d" for i in k]
    ax.bar(k + 0.2, after, 0.4, color=colours, label="after (green: the right digit)")
    ax.set_xticks(k, names)
    predicted = step["prediction_after"]
    if predicted != step["label"]:          # orange: the prediction, as in every picture
        ax.get_xticklabels()[predicted].set_color(HIGHLIGHT)
        ax.get_xticklabels()[predicted].set_fontweight("bold")
    ax.get_xticklabels()[step["label"]].set_color(RIGHT)
    ax.get_xticklabels()[step["label"]].set_fontweight("bold")
    ax.set_ylim(0, 1.0)
    ax.set_yticks([0, 0.5, 1], ["0", "50%", "100%"])
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    label = step["label"]
    p0, p1 = step["probs_before"][label], step["probs_after"][label]
    opt = step["optimizer"]
    ax.set_title(f"One step of {opt['name']} (learning rate {opt['learning_rate']:g}) on this image alone:\n"
                 f"p({names[label]}) {p0:.2%} -> {p1:.2%},  loss {step['loss_before']:.4f} -> "
                 f"{step['loss_after']:.4f}", loc="left", fontsize=10)


def output_changes_axes(fig, ax, step, names):
    # fig may be a matplotlib SubFigure
    """Heat map of the output layer's weight changes: one row per output, one column per hidden
    neuron. For the right digit the active neurons' connections grow; for the others they shrink."""
    layer = step["layers"][-1]
    delta = np.asarray(layer["delta"]["kernel"]).T          # (classes, hidden units)
    limit = symmetric_limit(delta)
    shown = ax.imshow(delta, cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto",
                      interpolation="nearest")
    ax.set_yticks(range(len(names)), names)
    ax.get_yticklabels()[step["label"]].set_color(RIGHT)
    ax.get_yticklabels()[step["label"]].set_fontweight("bold")
    if step["optimizer"]["plain_gradient"]:
        ax.set_xlabel(f"hidden neuron (0 to {delta.shape[1] - 1}); white columns: neurons that were "
                      "silent on this image, so their connections did not change")
    else:
        ax.set_xlabel(f"hidden neuron (0 to {delta.shape[1] - 1}); {step['optimizer']['name']} remembers "
                      "earlier batches, so even silent neurons' connections move a little")
    ax.set_ylabel("output")
    ax.set_title(textwrap.fill(
        f"{layer['name']}: the change of each of its {delta.size:,} hidden -> output weights. "
        f"Connections into the right digit ({names[step['label']]}) are strengthened (blue), "
        "connections into the digits it wrongly favoured are weakened (red).", 125),
        loc="left", fontsize=10)
    diverging_colorbar(fig, shown, limit, "change of weight", ax=ax, shrink=0.9, pad=0.01)


_MAPS_NOTE = {True: "With plain gradient descent each map is the image itself, scaled by how much the "
                    "neuron should have fired more (blue) or less (red); blank pixels' weights do not change.",
              False: "Each map is mostly the image, scaled by how much the neuron should have fired more "
                     "(blue) or less (red); the optimizer's memory of earlier batches adds the rest."}


def change_map_axes(fig, axes, step):
    """The first layer's change maps for the hidden neurons whose weights moved most."""
    maps = step["change_maps"]
    blame = np.asarray(step["layers"][0]["blame"])
    moved = np.abs(maps).reshape(len(maps), -1).sum(axis=1)
    chosen = np.argsort(-moved, kind="stable")[:len(axes)]
    limit = symmetric_limit(maps[chosen])
    for ax, neuron in zip(axes, chosen):
        shown = ax.imshow(maps[neuron], cmap=DIVERGING, vmin=-limit, vmax=limit)
        image_axes(ax)
        should = "fire less" if blame[neuron] > 0 else "fire more"
        ax.set_title(f"neuron {neuron}\nshould {should}", fontsize=9)
    diverging_colorbar(fig, shown, limit, "change of weight", ax=list(axes), shrink=0.85, pad=0.01)
    fig.suptitle(textwrap.fill(
        f"{step['layers'][0]['name']}: the change of the 784 weights from the pixels into each of the "
        f"{len(axes)} hidden neurons that changed most. "
        + _MAPS_NOTE[bool(step["optimizer"]["plain_gradient"])], 125),
        x=0.01, ha="left", fontsize=10, fontweight="bold")


def change_mosaic(step, columns=16, gap=2, scale=1):
    """Every first-layer neuron's change map as one RGB uint8 array, on one shared scale."""
    maps = step["change_maps"]
    limit = symmetric_limit(maps)
    h, w = maps.shape[1:]
    rows = -(-len(maps) // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for j, change in enumerate(maps):
        r, c = divmod(j, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = colorize(change, limit)
    return np.repeat(np.repeat(out, scale, axis=0), scale, axis=1)
