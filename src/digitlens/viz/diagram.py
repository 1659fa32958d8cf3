"""The lesson's drawing of the network, as SVG or PNG.

    write_diagram(None, "net.svg")                  # the lesson's architecture, no weights
    write_diagram(model, "net.png")                 # a trained model: connections coloured by weight
    write_diagram(model, "net.svg", image=digit)    # ... and one image's path through it

Left to right: the 28x28 image; its rows, fanned out and laid end to end as the 784-input strip;
one column of circles per Dense layer (256 neurons, then the 10 outputs); the connections between
them, with the counts and parameter arithmetic under each layer.

There are far too many connections to draw (200,704 from the strip to the hidden layer), so a
sample is drawn and the caption says how many. With a model, each drawn connection is coloured by
its weight (blue positive, red negative, fainter when small). With an image, the connections drawn
are the ones that pushed hardest for this image (pixel x weight, activation x weight), neurons are
shaded by how strongly they fire, and the outputs show their probabilities.

A network whose first layers keep the image's rows and columns (a CNN) is drawn by
stack_diagram.py instead: its layers in a row, each as the feature maps or numbers it hands on.
"""

from pathlib import Path

import numpy as np

from ..errors import DigitlensError
from ..explain.common import dense_layers, image_shape, is_fully_connected, reads_pixels_first
from ..explain.parameters import parameter_table
from ..explain.path import first_layer_contributions, layer_contributions, trace
from .output import save, write_atomic
from .scene import Scene, hex_colour
from .stack_diagram import stack_scene
from .style import HIGHLIGHT, NEUTRAL, TEXT, colorize, ink, symmetric_limit

WIDTH, TOP, STRIP_HEIGHT, BOTTOM = 1280, 96, 784, 160
MAX_DRAWN_UNITS = 256        # a wider layer is drawn with every k-th neuron
INPUT_LINES = 900            # connections drawn from the strip into the first layer
MAX_LINES = 3000             # at most this many per later pair of layers


def diagram_scene(model=None, image=None, seed=0):
    """The drawing as a Scene (see scene.py). model None: the lesson's network, without weights."""
    weighted = model is not None
    if model is None:
        from ..nn import lesson_model

        model = lesson_model(seed=seed).build()
    if not reads_pixels_first(model):
        return stack_scene(model, image)         # a CNN: its layers drawn as what they hand on
    table = parameter_table(model)
    height, width = image_shape(model)
    t = trace(model, image) if image is not None and weighted else None
    rng = np.random.default_rng(seed)

    dense = [layer for _, layer in dense_layers(model)]
    scene = Scene(WIDTH, TOP + STRIP_HEIGHT + BOTTOM + (20 if len(dense) > 2 else 0))
    columns = _column_positions(len(dense))
    middle = TOP + STRIP_HEIGHT / 2

    # -- the image, its rows fanned out into the strip ------------------------------------------
    cell = min(9.0, 252.0 / max(height, width))
    gx, gy = 36.0, middle - cell * height / 2
    pixels = np.zeros((height, width)) if image is None else np.asarray(t["input"]).reshape(height, width)
    strip_x, strip_w = 392.0, 16.0
    step = STRIP_HEIGHT / (height * width)
    for r in range(height):
        scene.curve(gx + cell * width + 2, gy + cell * (r + 0.5), strip_x - 2,
                    TOP + step * (r * width + width / 2), stroke="#9aa5b1", stroke_width=0.6, opacity=0.8)
    _draw_grid(scene, gx, gy, cell, pixels)
    _draw_strip(scene, strip_x, strip_w, step, pixels.reshape(-1), width)
    scene.text(gx + cell * width / 2, gy - 34, f"{height} x {width} image", 15, anchor="middle", weight="bold")
    scene.text(gx + cell * width / 2, gy - 15, f"{height * width} pixels, 0 (blank) to 1 (ink)", 11.5,
               anchor="middle")
    scene.text(gx + cell * width / 2, gy + cell * height + 18, "each row is cut out and", 11.5, anchor="middle")
    scene.text(gx + cell * width / 2, gy + cell * height + 34, "laid end to end (Flatten)", 11.5,
               anchor="middle")
    scene.text(strip_x + strip_w / 2, TOP - 42, "Flatten", 15, anchor="middle", weight="bold")
    scene.text(strip_x + strip_w / 2, TOP - 24, f"{height * width} inputs", 11.5, anchor="middle")

    # -- the Dense layers ------------------------------------------------------------------------
    positions = []                       # per Dense layer: (x, y of each unit, radius, drawn units)
    for i, layer in enumerate(dense):
        positions.append(_unit_positions(layer.units, columns[i], last=(i == len(dense) - 1)))
    sources = [(strip_x + strip_w, TOP + step * (np.arange(height * width) + 0.5))]
    sources += [(xs + r, ys) for xs, ys, r, _ in positions[:-1]]
    activations = None
    if t is not None:
        activations = [np.asarray(row["activation"]) for row in t["layers"] if row["fully_connected"]]
    for i, layer in enumerate(dense):
        xs, ys, radius, drawn = positions[i]
        sx, sys_ = sources[i]
        inputs = (np.asarray(t["input"]) if i == 0 else activations[i - 1]) if t else None
        focus = t["prediction"] if t and i == len(dense) - 1 else None
        active = activations[i] != 0 if t and i < len(dense) - 1 else np.ones(layer.units, bool)
        _draw_connections(scene, layer, sx, sys_, xs - radius, ys, drawn, weighted, inputs, rng,
                          INPUT_LINES if i == 0 else MAX_LINES, model, image, i == 0, focus, active)
    for i, layer in enumerate(dense):
        xs, ys, radius, drawn = positions[i]
        x = columns[i]
        last = i == len(dense) - 1
        values = activations[i] if t else None
        _draw_units(scene, layer, xs, ys, radius, drawn, values, t if last else None)
        kind = "outputs" if last else "neurons"
        scene.text(x, TOP - 42, f"{layer.units:,} {kind}", 15, anchor="middle", weight="bold")
        scene.text(x, TOP - 24, f"{layer.name}, {layer.activation.name}", 11.5, anchor="middle")
        if len(drawn) < layer.units:
            scene.text(x, TOP + STRIP_HEIGHT + 14, f"every {layer.units // len(drawn)}th drawn", 10,
                       anchor="middle", fill=NEUTRAL)

    # -- counts under each set of connections: each layer's own arithmetic sentence ---------------
    rows = {row["name"]: row for row in table["layers"]}
    left = strip_x + strip_w
    for i, layer in enumerate(dense):
        right = columns[i]
        centre = (left + right) / 2
        weights, _, biases = rows[layer.name]["arithmetic"].partition(" + ")
        lines = [weights] if len(dense) <= 2 else [part.strip() for part in weights.replace(" = ", " =| ").split("|")]
        if biases:
            lines.append(f"+ {biases}")
        size = 12.5 if len(dense) <= 2 else 11
        for k, line in enumerate(lines):        # narrow columns (three layers or more): shorter lines
            scene.text(centre, TOP + STRIP_HEIGHT + 38 + 17 * k, line, size, anchor="middle",
                       weight="bold" if k < len(lines) - (1 if biases else 0) else "normal")
        left = right + positions[i][2]
    # Layers between two columns of neurons (Dropout, say) are a dashed line with their label.
    for layer_index, layer in enumerate(model.layers):
        if is_fully_connected(layer):
            continue
        before = sum(is_fully_connected(l) for l in model.layers[:layer_index])
        if 0 < before < len(dense):
            x = (columns[before - 1] + columns[before]) / 2
            scene.line(x, TOP, x, TOP + STRIP_HEIGHT, stroke=NEUTRAL, stroke_width=1.5, dash="6,5")
            scene.text(x, TOP - 8, layer.describe().label, 10.5, anchor="middle", fill=NEUTRAL)
    _draw_caption(scene, table, weighted, t, dense)
    return scene


def diagram_svg(model=None, image=None):
    """The drawing as an SVG document (a string)."""
    return diagram_scene(model, image).svg(title="digitlens: the network")


def diagram_png(model=None, image=None):
    """The drawing as an (H, W, 3) uint8 array."""
    return diagram_scene(model, image).png()


def write_diagram(model, path, image=None):
    """Write the diagram to `path`: SVG for .svg, PNG for .png (written atomically).

    model: a built Sequential, or None for the lesson's architecture without weights.
    image: optional (28, 28) digit whose path to draw (needs a model).
    Returns the path.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        write_atomic(path, diagram_svg(model, image).encode("utf-8"))
    elif suffix == ".png":
        save(diagram_png(model, image), path)
    else:
        raise DigitlensError(f"{path}: expected a file name ending in .svg or .png")
    return path


# ---- pieces -----------------------------------------------------------------------------------

def _column_positions(count):
    """x of each Dense layer's column: spread between the strip and the right margin."""
    first, last = 760.0, 1090.0
    if count == 1:
        return [last]
    return list(np.linspace(600.0 if count > 2 else first, last, count))


def _unit_positions(units, x, last):
    """(x, y of each drawn unit, radius, indices of the drawn units) for one column."""
    if last and units <= 20:
        gap = min(66.0, STRIP_HEIGHT / units)
        radius = min(19.0, gap * 0.36)
    else:
        every = int(np.ceil(units / MAX_DRAWN_UNITS))
        drawn = np.arange(0, units, every)
        gap = STRIP_HEIGHT / len(drawn)
        ys = TOP + gap * (np.arange(len(drawn)) + 0.5)
        if gap < 6:                  # too tight for one file of circles: zigzag in two
            xs = x + np.where(np.arange(len(drawn)) % 2 == 0, -4.0, 4.0)
            return xs, ys, min(3.0, gap * 0.9), drawn
        return np.full(len(drawn), x), ys, max(1.2, min(8.0, gap * 0.42)), drawn
    drawn = np.arange(units)
    ys = TOP + STRIP_HEIGHT / 2 + gap * (drawn - (units - 1) / 2)
    return np.full(units, x), ys, radius, drawn


def _draw_grid(scene, x, y, cell, pixels):
    h, w = pixels.shape
    scene.rect(x, y, cell * w, cell * h, fill="#ffffff", stroke="#9aa5b1", stroke_width=1)
    colours = ink(pixels)
    for r in range(h):
        for c in range(w):
            if pixels[r, c] > 0:
                scene.rect(x + c * cell, y + r * cell, cell, cell, fill=hex_colour(colours[r, c]))
    for k in range(1, max(h, w)):
        if k < h:
            scene.line(x, y + k * cell, x + w * cell, y + k * cell, stroke="#d5dbe1", stroke_width=0.5)
        if k < w:
            scene.line(x + k * cell, y, x + k * cell, y + h * cell, stroke="#d5dbe1", stroke_width=0.5)


def _draw_strip(scene, x, w, step, values, width):
    scene.rect(x, TOP, w, step * len(values), fill="#ffffff", stroke="#9aa5b1", stroke_width=1)
    colours = ink(values)
    for i, v in enumerate(values):
        if v > 0:
            scene.rect(x, TOP + i * step, w, max(step, 1.0), fill=hex_colour(colours[i]))
    rows = len(values) // width
    for r in range(0, rows + 1, 7):
        y = TOP + r * width * step
        scene.line(x - 4, y, x, y, stroke=TEXT, stroke_width=0.8)
        label = str(min(r * width, len(values) - 1)) if r < rows else str(len(values) - 1)
        scene.text(x - 6, y, label, 9.5, anchor="end", fill=TEXT)


def _draw_connections(scene, layer, sx, sys_, txs, tys, drawn, weighted, inputs, rng, budget, model,
                      image, from_pixels, focus, active=None):
    """Lines from the previous column (x sx, y sys_ per input) to this layer's drawn units.

    With an image (inputs given) the strongest pushes are drawn; focus: the unit whose lines stay
    strong (the prediction), the others' fade.
    """
    kernel = layer.kernel
    n_in = kernel.shape[0]
    sx = np.broadcast_to(sx, (n_in,))
    position = {int(j): k for k, j in enumerate(drawn)}
    if inputs is not None:                               # one image: the strongest pushes
        strength = (first_layer_contributions(model, image) if from_pixels
                    else layer_contributions(inputs, layer))
        strength = strength[:, drawn] * active[drawn]    # silent neurons pass nothing on: skip them
        flat = np.argsort(-np.abs(strength), axis=None, kind="stable")[:budget]
        flat = flat[np.abs(strength).flat[flat] > 0]
        sources, targets = np.unravel_index(flat, strength.shape)
        values = strength[sources, targets]
        targets = drawn[targets]
    elif n_in * len(drawn) <= budget:                    # every connection
        sources, targets = np.meshgrid(np.arange(n_in), drawn, indexing="ij")
        sources, targets = sources.ravel(), targets.ravel()
        values = kernel[sources, targets]
    else:                                                # a random sample
        sources = rng.integers(0, n_in, budget)
        targets = drawn[rng.integers(0, len(drawn), budget)]
        values = kernel[sources, targets]
    focused = values[targets == focus] if focus is not None else values
    limit = symmetric_limit(focused if len(focused) else values, 99) if weighted else 1.0
    colours = colorize(values, limit) if weighted else None
    order = np.argsort(np.abs(values), kind="stable") if weighted else np.arange(len(values))
    for k in order:                                      # strongest drawn last, on top
        i, j = int(sources[k]), int(targets[k])
        if weighted:
            strength = min(1.0, abs(values[k]) / limit)
            colour, opacity = hex_colour(colours[k]), 0.08 + 0.6 * strength
            if focus is not None and j != focus:
                opacity *= 0.3
        else:
            colour, opacity = "#8c96a0", 0.18
        scene.line(sx[i], sys_[i], txs[position[j]], tys[position[j]], stroke=colour, stroke_width=0.7,
                   opacity=opacity)


def _draw_units(scene, layer, xs, ys, radius, drawn, values, t):
    """One circle per drawn unit. With an image: a hidden neuron is shaded by its output - grey for
    positive, red for negative (tanh, linear), darker = larger; white = 0 - and an output by its
    probability (orange: the prediction, ringed)."""
    peak = float(np.abs(values).max()) if values is not None and np.abs(values).max() > 0 else 1.0
    for k, j in enumerate(drawn):
        fill = "#ffffff"
        if values is not None and t is None and values[j] != 0:
            strength = 0.85 * min(1.0, abs(values[j]) / peak)
            if values[j] > 0:
                fill = hex_colour([255 * (1.0 - strength)] * 3)
            else:                                # a negative output pushes the next layer the other way
                fill = hex_colour(np.array([255, 255, 255]) * (1 - strength) + np.array([178, 24, 43]) * strength)
        stroke = "#4d5660"
        width = 0.5 if radius < 4 else 1.3
        if t is not None:
            p = float(t["probabilities"][j])
            hue = np.array([224, 130, 20]) if j == t["prediction"] else np.array([140, 140, 140])  # orange: the prediction
            fill = hex_colour(np.array([255, 255, 255]) * (1 - p) + hue * p)
            if j == t["prediction"]:
                stroke, width = HIGHLIGHT, 3.0
        x = xs[k]
        scene.circle(x, ys[k], radius, fill=fill, stroke=stroke, stroke_width=width)
        if radius >= 9:
            scene.text(x, ys[k], str(j), radius * 0.95, anchor="middle", weight="bold", fill=TEXT)
            if t is not None:
                scene.text(x + radius + 10, ys[k], f"{t['probabilities'][j]:.1%}", 12, fill=TEXT,
                           weight="bold" if j == t["prediction"] else "normal")


def _draw_caption(scene, table, weighted, t, dense):
    y = TOP + STRIP_HEIGHT + (92 if len(dense) <= 2 else 110)
    scene.text(36, y, f"{table['total']:,} parameters in all ({table['sum_text']}), {table['size']} "
                      "as 4-byte floats", 14, weight="bold")
    first = table["layers"][[r["name"] for r in table["layers"]].index(dense[0].name)]
    if t is not None:
        note = (f"This image's path: the {INPUT_LINES} largest pushes (pixel x weight) into the neurons that "
                f"fire, then every push (activation x weight) on to the outputs; those into the prediction, "
                f"{t['prediction']}, in full colour.|Filled neurons have an output for this image (grey: positive, "
                "red: negative, darker = larger); white ones output 0 and pass nothing on.")
    elif weighted:
        note = (f"Every input is wired to every neuron ({first['weights']:,} connections into "
                f"{dense[0].name}; {INPUT_LINES} drawn at random, all of the later ones).|Colour: the "
                "weight learnt in training; faint lines are weights near 0.")
    else:
        note = (f"Every input is wired to every neuron ({first['weights']:,} connections into the first "
                f"layer; {INPUT_LINES} drawn at random, all of the later ones).|Before training the "
                "weights are small random numbers; training strengthens some pathways and weakens others.")
    for k, line in enumerate(note.split("|")):
        scene.text(36, y + 22 + 17 * k, line, 11.5, fill=TEXT)
    if weighted:
        _legend(scene, WIDTH - 270, y - 8, "push" if t else "weight")


def _legend(scene, x, y, label):
    values = np.linspace(-1, 1, 41)
    colours = colorize(values, 1.0)
    for k, c in enumerate(colours):
        scene.rect(x + k * 5, y, 5, 10, fill=hex_colour(c))
    scene.text(x - 6, y + 5, "-", 13, anchor="end")
    scene.text(x + 41 * 5 + 6, y + 5, "+", 13)
    scene.text(x + 41 * 5 / 2, y + 20, f"{label}: red negative, blue positive", 10.5, anchor="middle")
